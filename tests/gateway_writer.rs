//! What the gateway writes reaches the client, however large (up to the documented 2 MiB), or
//! the connection is closed and its agent handled as disconnected: a writer never leaves a
//! session the router still counts on.

mod common;

use common::gateway::*;
use serde_json::{json, Value};

/// The message ids of an offer's transcript, in order.
fn transcript_ids(offer: &Value) -> Vec<String> {
    offer["context"]["transcript"]
        .as_array()
        .expect("transcript")
        .iter()
        .filter_map(|line| line["message_id"].as_str().map(str::to_string))
        .collect()
}

/// The reproduction: with no agent free, a customer sends 11 messages of 8,192 CJK
/// characters. The agent who logs in gets the offer, cut to `transcript_bytes` with the cut
/// counted, accepts it, and is still answered: a `pong` for its `ping`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offer_of_eleven_long_cjk_messages_reaches_the_agent_who_is_still_served() {
    let server = Server::start(test_config()).await;
    let (mut connector, _) = Client::connector(&server.addr).await;
    let long = "我".repeat(8192);
    let mut last = 0;
    for n in 1..=11 {
        last = connector
            .customer_says("conv-1", &format!("m{n}"), &long)
            .await;
    }
    connector.expect_ack(last).await;

    let token = server.token("default", "alice", "agent", &[("general", 5)], 1);
    let (mut agent, welcome) = Client::agent(&server.addr, &token).await;
    assert_eq!(welcome["resumed"], false);
    let offer = agent.expect("offer").await;
    let newest: Vec<String> = (2..=11).map(|n| format!("m{n}")).collect();
    assert_eq!(
        transcript_ids(&offer),
        newest,
        "the oldest line is left out"
    );
    assert_eq!(offer["context"]["transcript_truncated"], 1);

    let conversation = offer["conversation"].as_str().expect("id").to_string();
    agent
        .send(json!({"type": "accept", "conversation": conversation}))
        .await;
    assert_eq!(
        connector.expect("agent_joined").await["agent"]["id"],
        "alice"
    );
    let ping = agent.send(json!({"type": "ping"})).await;
    assert_eq!(agent.expect("pong").await["seq"], ping);
    server.stop(switchboard::gateway::Stop::Fast).await;
}

/// An agent whose client stops reading while customer messages keep coming: once a write has
/// made no progress for `slow_consumer_secs` the connection is dropped and the agent handled as
/// disconnected, so after its grace the conversation is offered to another agent. The backlog
/// is more than the kernel buffers hold but far less than the outbox, so only the write timeout
/// can notice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_whose_socket_takes_no_more_writes_is_disconnected_and_its_conversation_moves_on()
{
    let mut config = test_config();
    config.gateway.slow_consumer_secs = 1;
    config.tenants[0].timing.agent_grace_secs = 1;
    assert!(config.gateway.outbox_frames >= 1024 && config.gateway.replay_frames >= 1024);
    let server = Server::start(config).await;
    let (mut connector, _) = Client::connector(&server.addr).await;
    let alice = server.token("default", "alice", "agent", &[("general", 5)], 1);
    let (mut stalled, _) = Client::agent(&server.addr, &alice).await;
    connector.customer_says("conv-1", "m0", "你好").await;
    let offer = stalled.expect("offer").await;
    let conversation = offer["conversation"].as_str().expect("id").to_string();
    stalled
        .send(json!({"type": "accept", "conversation": conversation}))
        .await;
    connector.expect("agent_joined").await;
    let bob = server.token("default", "bob", "agent", &[("general", 5)], 1);
    let (mut other, _) = Client::agent(&server.addr, &bob).await;

    // From here on alice's client reads nothing, yet its socket stays open.
    let long = "很长的消息".repeat(1600); // 8000 characters, 24 KB
    let mut last = 0;
    for n in 1..=400 {
        last = connector
            .customer_says("conv-1", &format!("m{n}"), &long)
            .await;
    }
    connector.expect_ack(last).await;

    let offer = other.expect("offer").await;
    assert_eq!(offer["conversation"], conversation.as_str());
    other
        .send(json!({"type": "accept", "conversation": conversation}))
        .await;
    assert_eq!(connector.expect("agent_joined").await["agent"]["id"], "bob");
    drop(stalled);
    server.stop(switchboard::gateway::Stop::Fast).await;
}
