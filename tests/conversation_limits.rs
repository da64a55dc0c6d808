//! One connector cannot fill a tenant: new conversations are limited per connector (a rate and
//! a cap) and per tenant (a cap), refused with `rate_limited` and a retry-after, and a connector
//! that vanishes does not hold its customers' places for ever.

mod common;

use common::gateway::*;
use serde_json::{json, Value};
use switchboard::gateway::Stop;
use switchboard_config::{Config, ConnectorConfig};

const SECOND_KEY: &str = "second-connector-key-0001";

fn two_connectors() -> Config {
    let mut config = test_config();
    config.connectors.push(ConnectorConfig {
        name: "second".into(),
        tenant: "default".into(),
        api_key: SECOND_KEY.into(),
    });
    config
}

fn opening(conversation: &str) -> Value {
    json!({
        "type": "customer_message", "conversation": conversation, "message_id": "m1",
        "text": "你好", "customer": {"id": "buyer", "tier": "standard"}, "channel": "app"
    })
}

/// Opens each conversation in one batch; returns the error frames, in order.
async fn open_all(connector: &mut Client, conversations: &[&str]) -> Vec<Value> {
    let last = connector
        .send_batch(conversations.iter().map(|c| opening(c)).collect())
        .await;
    connector.seen.clear();
    connector.expect_ack(last).await;
    connector
        .seen
        .drain(..)
        .filter(|f| f["type"] == "error")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_past_its_rate_is_refused_with_a_retry_after_and_others_are_not() {
    let mut config = two_connectors();
    config.tenants[0].limits.new_conversations_per_sec = 1;
    config.tenants[0].limits.new_conversations_burst = 3;
    let server = Server::start(config).await;
    let series = |reason: &str| {
        format!("switchboard_conversations_refused_total{{reason=\"{reason}\",tenant=\"default\"}}")
    };
    let (mut first, _) = Client::connector(&server.addr).await;
    // The tenant's shard is running once a connector is welcomed.
    for reason in ["rate", "connector_cap", "tenant_cap"] {
        assert_eq!(
            server.metric(&series(reason)).await,
            Some(0.0),
            "exported from the start"
        );
    }
    let errors = open_all(&mut first, &["c1", "c2", "c3", "c4", "c5"]).await;
    let refused: Vec<&str> = errors
        .iter()
        .map(|e| e["conversation"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(refused, ["c4", "c5"], "{errors:#?}");
    for error in &errors {
        assert_eq!(error["code"], "rate_limited");
        assert!(error["retry_after_ms"].as_u64().unwrap_or(0) > 0, "{error}");
    }
    // Open conversations are never limited.
    let seq = first
        .send(json!({"type": "customer_message", "conversation": "c1", "message_id": "m2", "text": "还在吗"}))
        .await;
    first.expect_ack(seq).await;
    assert!(
        first.seen.iter().all(|f| f["type"] != "error"),
        "{:#?}",
        first.seen
    );
    // Another connector has its own allowance.
    let mut second = connect(&server.addr, "/v1/connector", SECOND_KEY)
        .await
        .expect("accepted");
    second.hello(None).await;
    assert!(open_all(&mut second, &["d1"]).await.is_empty());
    assert_eq!(server.metric(&series("rate")).await, Some(2.0));
    server.stop(Stop::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caps_on_open_conversations_hold_per_connector_and_per_tenant_until_one_ends() {
    let mut config = two_connectors();
    config.tenants[0].limits.open_conversations_per_connector = 2;
    config.tenants[0].limits.open_conversations = 3;
    let server = Server::start(config).await;
    let (mut first, _) = Client::connector(&server.addr).await;
    let errors = open_all(&mut first, &["c1", "c2", "c3"]).await;
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0]["code"], "rate_limited");
    assert_eq!(errors[0]["conversation"], "c3");
    let mut second = connect(&server.addr, "/v1/connector", SECOND_KEY)
        .await
        .expect("accepted");
    second.hello(None).await;
    let errors = open_all(&mut second, &["d1", "d2"]).await;
    assert_eq!(errors.len(), 1, "the tenant holds 3 at most: {errors:#?}");
    assert_eq!(errors[0]["conversation"], "d2");
    // One ends: its place frees for the connector that held it.
    let seq = first
        .send(json!({"type": "customer_left", "conversation": "c1"}))
        .await;
    first.expect_ack(seq).await;
    assert!(open_all(&mut first, &["c3"]).await.is_empty());
    server.stop(Stop::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_that_never_comes_back_has_its_conversations_ended() {
    let mut config = test_config();
    config.tenants[0].timing.agent_grace_secs = 1;
    config.gateway.session_resume_secs = 1;
    let server = Server::start(config).await;
    let (mut connector, _) = Client::connector(&server.addr).await;
    let token = server.token("default", "alice", "agent", &[("general", 5)], 2);
    let (mut agent, _) = Client::agent(&server.addr, &token).await;
    connector.send(opening("c-gone")).await;
    let offer = agent.expect("offer").await;
    agent
        .send(json!({"type": "accept", "conversation": offer["conversation"]}))
        .await;
    connector.expect("agent_joined").await;
    drop(connector);
    // Past the resume window the customer cannot be reached: the agent's slot frees.
    let closed = agent.expect("closed").await;
    assert_eq!(closed["conversation"], offer["conversation"]);
    assert_eq!(closed["reason"], "connector");
    server.stop(Stop::Fast).await;
}
