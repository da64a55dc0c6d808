//! The gateway over real sockets: priority, grace and resume, exactly-once replay, auth, tenant
//! isolation, bad input, and graceful shutdown.

mod common;

use common::gateway::*;
use serde_json::{json, Value};
use switchboard::gateway::Stop;
use switchboard_config::{ConnectorConfig, TenantConfig};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

fn customer(id: &str, tier: &str) -> Value {
    json!({"id": id, "tier": tier})
}

async fn say(
    connector: &mut Client,
    conversation: &str,
    message_id: &str,
    text: &str,
    who: Value,
) -> u64 {
    connector
        .send(json!({
            "type": "customer_message", "conversation": conversation, "message_id": message_id,
            "text": text, "customer": who, "channel": "app"
        }))
        .await
}

/// An offer's conversation id.
fn id_of(offer: &Value) -> String {
    offer["conversation"]
        .as_str()
        .expect("conversation")
        .to_string()
}

/// A connector and agent alice (capacity 1, skill general), who has accepted the connector's
/// conversation `conv-1` (customer c1's first message `m1`).
struct Served {
    connector: Client,
    connector_welcome: Value,
    agent: Client,
    agent_welcome: Value,
    token: String,
    offer: Value,
    /// Our id of `conv-1`, as the agent knows it.
    conversation: String,
    /// The connector's `agent_joined`.
    joined: Value,
}

/// A connector, and agent alice (capacity 1, skill general) holding an offer of the connector's
/// conversation `conv-1`: (connector, its welcome, agent, its welcome, agent token, offer).
async fn alice_offered_conv_1(server: &Server) -> (Client, Value, Client, Value, String, Value) {
    let (mut connector, connector_welcome) = Client::connector(&server.addr).await;
    let token = server.token("default", "alice", "agent", &[("general", 5)], 1);
    let (mut agent, agent_welcome) = Client::agent(&server.addr, &token).await;
    say(
        &mut connector,
        "conv-1",
        "m1",
        "你好",
        customer("c1", "standard"),
    )
    .await;
    let offer = agent.expect("offer").await;
    (
        connector,
        connector_welcome,
        agent,
        agent_welcome,
        token,
        offer,
    )
}

async fn alice_serves_conv_1(server: &Server) -> Served {
    let (mut connector, connector_welcome, mut agent, agent_welcome, token, offer) =
        alice_offered_conv_1(server).await;
    let conversation = id_of(&offer);
    agent
        .send(json!({"type": "accept", "conversation": conversation}))
        .await;
    let joined = connector.expect("agent_joined").await;
    Served {
        connector,
        connector_welcome,
        agent,
        agent_welcome,
        token,
        offer,
        conversation,
        joined,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vip_overtakes_a_queue_of_standard_customers() {
    let mut config = test_config();
    config.tenants[0].timing.wrap_up_secs = 0;
    let server = Server::start(config).await;
    let (mut connector, _) = Client::connector(&server.addr).await;
    let token = server.token(
        "default",
        "alice",
        "agent",
        &[("general", 5), ("vip", 5)],
        1,
    );
    let (mut agent, _) = Client::agent(&server.addr, &token).await;
    say(
        &mut connector,
        "busy",
        "m0",
        "在吗",
        customer("c0", "standard"),
    )
    .await;
    let first = agent.expect("offer").await;
    agent
        .send(json!({"type": "accept", "conversation": id_of(&first)}))
        .await;
    for n in 1..=3 {
        say(
            &mut connector,
            &format!("std-{n}"),
            "m",
            "在吗",
            customer(&format!("c{n}"), "standard"),
        )
        .await;
    }
    say(
        &mut connector,
        "vip-1",
        "m",
        "在吗",
        customer("boss", "vip"),
    )
    .await;
    // Wait until the VIP has been told its position, so it is surely queued.
    loop {
        let update = connector.expect("queue").await;
        if update["conversation"] == "vip-1" {
            assert_eq!(update["position"], 1, "first in its queue at once");
            break;
        }
    }
    agent
        .send(json!({"type": "close", "conversation": id_of(&first)}))
        .await;
    let next = agent.expect("offer").await;
    assert_eq!(next["context"]["class"], "vip");
    assert_eq!(next["context"]["customer"]["id"], "boss");
    server.stop(Stop::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_who_reconnects_within_grace_resumes_and_gets_what_it_missed() {
    let server = Server::start(test_config()).await;
    let Served {
        mut connector,
        agent,
        agent_welcome,
        token,
        offer,
        conversation,
        ..
    } = alice_serves_conv_1(&server).await;
    let session = agent_welcome["session"]
        .as_str()
        .expect("session")
        .to_string();
    let last_seq = offer["seq"].as_u64().expect("seq");
    drop(agent);

    // While the agent is away the customer keeps writing.
    let sent = say(
        &mut connector,
        "conv-1",
        "m2",
        "还在吗",
        customer("c1", "standard"),
    )
    .await;
    connector.expect_ack(sent).await;

    let (mut agent, welcome) = {
        let mut client = connect(&server.addr, "/v1/agent", &token)
            .await
            .expect("accepted");
        let welcome = client.hello(Some((&session, last_seq))).await;
        (client, welcome)
    };
    assert_eq!(welcome["resumed"], true, "{welcome}");
    assert_eq!(welcome["gap"], false, "{welcome}");
    assert_eq!(
        welcome["replayed"], 1,
        "the one message it missed: {welcome}"
    );
    // The replay follows the welcome at once, with its original seq.
    let missed = agent.expect_next("customer_message").await;
    assert_eq!(missed["message_id"], "m2");
    assert_eq!(missed["seq"], last_seq + 1);
    let resumed = agent.expect_next("resumed").await;
    assert_eq!(resumed["conversations"], json!([conversation]));
    assert_eq!(resumed["seq"], last_seq + 2, "the sequence continues");
    // Still assigned: the agent can reply.
    agent
        .send(json!({"type": "message", "conversation": conversation, "message_id": "a1", "text": "在的"}))
        .await;
    assert_eq!(connector.expect("reply").await["message_id"], "a1");
    // The missed message came once: nothing else reached the agent since, m2 included.
    agent.assert_no_stray_frames(&[]).await;
    connector.assert_no_stray_frames(&[]).await;
    server.stop(Stop::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_grace_the_conversation_goes_to_another_agent_with_nothing_lost() {
    let mut config = test_config();
    config.tenants[0].timing.agent_grace_secs = 1;
    let server = Server::start(config).await;
    let (mut connector, _) = Client::connector(&server.addr).await;
    let alice = server.token("default", "alice", "agent", &[("general", 5)], 2);
    let (mut first, _) = Client::agent(&server.addr, &alice).await;
    say(
        &mut connector,
        "conv-1",
        "m1",
        "我要退货",
        customer("c1", "standard"),
    )
    .await;
    let offer = first.expect("offer").await;
    first
        .send(json!({"type": "accept", "conversation": id_of(&offer)}))
        .await;
    connector.expect("agent_joined").await;
    let bob = server.token("default", "bob", "agent", &[("general", 5)], 2);
    let (mut second, _) = Client::agent(&server.addr, &bob).await;
    say(
        &mut connector,
        "conv-1",
        "m2",
        "怎么退",
        customer("c1", "standard"),
    )
    .await;
    first.expect("customer_message").await;
    drop(first);

    let offer = second.expect("offer").await;
    let ids: Vec<&str> = offer["context"]["transcript"]
        .as_array()
        .expect("transcript")
        .iter()
        .filter_map(|l| l["message_id"].as_str())
        .collect();
    assert_eq!(
        ids,
        vec!["m1", "m2"],
        "the whole transcript follows the conversation"
    );
    second
        .send(json!({"type": "accept", "conversation": id_of(&offer)}))
        .await;
    let joined = connector.expect("agent_joined").await;
    assert_eq!(joined["agent"]["id"], "bob");
    server.stop(Stop::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_that_reconnects_gets_what_it_missed_exactly_once() {
    let server = Server::start(test_config()).await;
    let Served {
        connector,
        connector_welcome,
        mut agent,
        conversation,
        joined,
        ..
    } = alice_serves_conv_1(&server).await;
    let session = connector_welcome["session"]
        .as_str()
        .expect("session")
        .to_string();
    let last_seq = joined["seq"].as_u64().expect("seq");
    drop(connector);

    for n in 1..=3 {
        let sent = agent
            .send(json!({"type": "message", "conversation": conversation,
                         "message_id": format!("a{n}"), "text": format!("第{n}条")}))
            .await;
        // The ack that covers this message (an earlier one, e.g. the accept's, may come first).
        agent.expect_ack(sent).await;
    }
    let mut connector = connect(&server.addr, "/v1/connector", CONNECTOR_KEY)
        .await
        .expect("accepted");
    let welcome = connector.hello(Some((&session, last_seq))).await;
    assert_eq!(welcome["resumed"], true);
    assert_eq!(welcome["replayed"], 3);
    assert_eq!(welcome["gap"], false);
    let a4 = agent
        .send(json!({"type": "message", "conversation": conversation, "message_id": "a4", "text": "还有吗"}))
        .await;
    // Once a4 is acked its reply is queued for the connector, behind everything before it.
    agent.expect_ack(a4).await;
    let mut replies = Vec::new();
    let mut seqs = Vec::new();
    // The three replayed replies follow the welcome at once, then the live one.
    while replies.len() < 4 {
        let reply = connector.expect_next("reply").await;
        replies.push(reply["message_id"].as_str().unwrap_or("").to_string());
        seqs.push(reply["seq"].as_u64().unwrap_or(0));
    }
    assert_eq!(
        replies,
        vec!["a1", "a2", "a3", "a4"],
        "in order, none twice"
    );
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "server seq has no holes: {seqs:?}"
    );
    assert_eq!(seqs[0], last_seq + 1);
    // No fifth: nothing else reached the connector, no replay repeated live.
    connector.assert_no_stray_frames(&[]).await;
    // The agent's own: its status at login, then only acks.
    agent.assert_no_stray_frames(&["status"]).await;
    server.stop(Stop::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_are_refused_before_the_upgrade() {
    let server = Server::start(test_config()).await;
    assert_eq!(
        connect(&server.addr, "/v1/connector", "wrong-key-wrong-key")
            .await
            .err(),
        Some(401)
    );
    assert_eq!(
        connect(&server.addr, "/v1/agent", "not.a.jwt").await.err(),
        Some(401)
    );
    let connector_key_as_agent = connect(&server.addr, "/v1/agent", CONNECTOR_KEY)
        .await
        .err();
    assert_eq!(connector_key_as_agent, Some(401));
    let mut other = test_config();
    other.tenants[0].jwt_secret = "someone-elses-secret-entirely".into();
    let forger = Server::start(other).await;
    let forged = forger.token("default", "mallory", "agent", &[("general", 9)], 50);
    assert_eq!(
        connect(&server.addr, "/v1/agent", &forged).await.err(),
        Some(401)
    );
    let token = server.token("default", "alice", "agent", &[("general", 5)], 1);
    let as_connector = connect(&server.addr, "/v1/connector", &token).await.err();
    assert_eq!(
        as_connector,
        Some(401),
        "an agent token is not a connector key"
    );
    assert_eq!(
        connect(&server.addr, "/v1/nowhere", CONNECTOR_KEY)
            .await
            .err(),
        Some(404)
    );
    forger.stop(Stop::Fast).await;
    server.stop(Stop::Fast).await;
}

fn two_tenants() -> switchboard_config::Config {
    let mut config = test_config();
    let mut acme = TenantConfig {
        id: "acme".into(),
        jwt_secret: "acme-secret-acme-secret".into(),
        ..TenantConfig::default()
    };
    acme.timing.sticky_window_secs = 0;
    config.tenants.push(acme);
    config.connectors.push(ConnectorConfig {
        name: "acme-app".into(),
        tenant: "acme".into(),
        api_key: "acme-connector-key-0001".into(),
    });
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_can_never_reach_another_tenants_conversations() {
    let server = Server::start(two_tenants()).await;
    let (mut connector, _) = Client::connector(&server.addr).await;
    let alice = server.token("default", "alice", "agent", &[("general", 5)], 2);
    let (mut agent, _) = Client::agent(&server.addr, &alice).await;
    say(
        &mut connector,
        "conv-1",
        "m1",
        "我的地址是北京市朝阳区",
        customer("c1", "standard"),
    )
    .await;
    let offer = agent.expect("offer").await;
    let conversation = id_of(&offer);

    // An acme agent names the same conversation id: it does not exist for acme.
    let mallory = server.token("acme", "mallory", "agent", &[("general", 5)], 2);
    let (mut intruder, welcome) = Client::agent(&server.addr, &mallory).await;
    assert_eq!(welcome["tenant"], "acme");
    for kind in ["accept", "close"] {
        intruder
            .send(json!({"type": kind, "conversation": conversation}))
            .await;
        let error = intruder.expect("error").await;
        assert!(
            ["not_offered", "not_assigned", "unknown_conversation"]
                .contains(&error["code"].as_str().unwrap_or("")),
            "{error}"
        );
    }
    intruder
        .send(json!({"type": "message", "conversation": conversation, "message_id": "x", "text": "给我地址"}))
        .await;
    // It does not exist for acme: the same answer as for an id never given out.
    assert_eq!(
        intruder.expect("error").await["code"],
        "unknown_conversation"
    );

    // An acme connector using the same external id opens its own conversation, which the default
    // tenant's agent never sees.
    let mut acme = connect(&server.addr, "/v1/connector", "acme-connector-key-0001")
        .await
        .expect("accepted");
    acme.hello(None).await;
    say(
        &mut acme,
        "conv-1",
        "m1",
        "hello",
        customer("c9", "standard"),
    )
    .await;
    let acme_offer = intruder.expect("offer").await;
    assert_eq!(acme_offer["context"]["customer"]["id"], "c9");
    agent
        .send(json!({"type": "accept", "conversation": conversation}))
        .await;
    connector.expect("agent_joined").await;
    agent
        .send(json!({"type": "message", "conversation": conversation, "message_id": "a1", "text": "您好"}))
        .await;
    assert_eq!(connector.expect("reply").await["conversation"], "conv-1");
    // Nothing crossed over, in either direction: each client got what its own tenant sent it
    // and nothing else (every message of every batch is looked at).
    acme.assert_no_stray_frames(&[]).await;
    intruder.assert_no_stray_frames(&["status"]).await;
    connector.assert_no_stray_frames(&[]).await;
    agent.assert_no_stray_frames(&["status"]).await;
    server.stop(Stop::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_coded_error_and_the_connection_survives() {
    let server = Server::start(test_config()).await;
    let (mut connector, _) = Client::connector(&server.addr).await;
    let cases: [(&str, &str); 5] = [
        ("{not json", "invalid_json"),
        (r#"{"type":"teleport","seq":90}"#, "unknown_type"),
        (r#"{"type":"customer_left","seq":91}"#, "missing_field"),
        (
            r#"{"type":"customer_left","seq":"x","conversation":"c"}"#,
            "invalid_field",
        ),
        (
            r#"{"type":"accept","seq":92,"conversation":"c"}"#,
            "unknown_type",
        ),
    ];
    for (frame, code) in cases {
        connector.send_raw(frame).await;
        let error = connector.expect("error").await;
        assert_eq!(error["code"], code, "for {frame}");
    }
    // Unknown conversation, duplicate message id, and a seq that goes backwards.
    connector
        .send(json!({"type": "close", "conversation": "nope"}))
        .await;
    assert_eq!(
        connector.expect("error").await["code"],
        "unknown_conversation"
    );
    for _ in 0..2 {
        say(
            &mut connector,
            "conv-1",
            "same-id",
            "你好",
            customer("c1", "standard"),
        )
        .await;
    }
    assert_eq!(connector.expect("error").await["code"], "duplicate");
    connector.send_raw(r#"{"type":"ping","seq":1}"#).await;
    assert_eq!(connector.expect("error").await["code"], "out_of_order");
    // Still alive.
    connector.send_raw(r#"{"type":"ping","seq":1000}"#).await;
    assert_eq!(connector.expect("pong").await["seq"], 1000);
    server.stop(Stop::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversize_message_closes_with_1009() {
    let server = Server::start(test_config()).await;
    let (mut connector, _) = Client::connector(&server.addr).await;
    let huge = "字".repeat(30_000); // 90 KB of UTF-8, over the 64 KiB limit
    say(
        &mut connector,
        "conv-1",
        "m1",
        &huge,
        customer("c1", "standard"),
    )
    .await;
    assert_eq!(connector.closed().await, Some(CloseCode::Size));
    server.stop(Stop::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_its_error_budget_is_closed_with_1008() {
    let mut config = test_config();
    config.gateway.error_budget_per_minute = 3;
    let server = Server::start(config).await;
    let (mut connector, _) = Client::connector(&server.addr).await;
    for _ in 0..4 {
        connector.send_raw("garbage").await;
    }
    assert_eq!(connector.closed().await, Some(CloseCode::Policy));
    let errors = connector
        .seen
        .iter()
        .filter(|f| f["type"] == "error")
        .count();
    assert_eq!(errors, 4, "each bad frame was answered before the close");
    server.stop(Stop::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_message_must_be_hello() {
    let server = Server::start(test_config()).await;
    let mut client = connect(&server.addr, "/v1/connector", CONNECTOR_KEY)
        .await
        .expect("accepted");
    client.send(json!({"type": "ping"})).await;
    assert_eq!(client.expect("error").await["code"], "not_hello");
    assert_eq!(client.closed().await, Some(CloseCode::Policy));
    server.stop(Stop::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_turns_readiness_off_and_closes_every_socket_with_1001() {
    let mut config = test_config();
    config.gateway.shutdown_grace_secs = 5;
    config.gateway.shutdown_drain_ms = 3000;
    let mut server = Server::start(config).await;
    assert_eq!(server.admin_get("/readyz").await.0, 200);
    assert_eq!(server.admin_get("/healthz").await.0, 200);
    let (mut connector, _, mut agent, _, _, offer) = alice_offered_conv_1(&server).await;

    server.signal(Stop::Graceful).await;
    // While draining, readiness says 503 and existing sockets are still served.
    let mut readiness = 200;
    while readiness == 200 {
        readiness = server.admin_get("/readyz").await.0;
        tokio::task::yield_now().await;
    }
    assert_eq!(readiness, 503);
    agent
        .send(json!({"type": "accept", "conversation": id_of(&offer)}))
        .await;
    assert_eq!(
        connector.expect("agent_joined").await["conversation"],
        "conv-1"
    );
    assert_eq!(
        connect(&server.addr, "/v1/connector", CONNECTOR_KEY)
            .await
            .err(),
        Some(503),
        "new connections are answered 503"
    );
    assert_eq!(connector.closed().await, Some(CloseCode::Away));
    assert_eq!(agent.closed().await, Some(CloseCode::Away));
    server.stopped().await;
}

/// The duplicate window belongs to each conversation and sender side: a busy connector's other
/// conversations, or the agent's own replies, never push a customer's message id out of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resent_message_is_recognised_however_busy_the_connector_is() {
    let server = Server::start(test_config()).await;
    let Served {
        mut connector,
        mut agent,
        conversation: a,
        ..
    } = alice_serves_conv_1(&server).await;
    // More messages in another conversation than any per-connector window would hold.
    for n in 0..1100 {
        say(
            &mut connector,
            "b",
            &format!("b-{n}"),
            "还在吗",
            customer("c2", "standard"),
        )
        .await;
    }
    let resent = connector
        .send(json!({
            "type": "customer_message", "conversation": "conv-1", "message_id": "m1",
            "text": "你好", "customer": customer("c1", "standard"), "channel": "app"
        }))
        .await;
    let error = connector.expect("error").await;
    assert_eq!(error["code"], "duplicate");
    assert_eq!(error["seq"], resent);
    assert_eq!(error["conversation"], "conv-1");

    // The agent's side: a resent reply is refused too, and the customer sees each reply once.
    let mut agent_seq = 0;
    for message_id in ["r-1", "r-1", "r-2"] {
        agent_seq = agent
            .send(json!({"type": "message", "conversation": a, "message_id": message_id, "text": "您好"}))
            .await;
    }
    assert_eq!(agent.expect("error").await["code"], "duplicate");
    let r2 = agent.expect_ack(agent_seq).await;
    assert!(r2["seq"].as_u64() >= Some(agent_seq));
    let replies = [
        connector.expect("reply").await,
        connector.expect("reply").await,
    ];
    assert_eq!(replies[0]["message_id"], "r-1");
    assert_eq!(replies[1]["message_id"], "r-2");
    assert!(replies.iter().all(|r| r["conversation"] == "conv-1"));
    // The resent r-1 reached nobody: nothing but the waiting conversation's queue updates is
    // left for the connector.
    connector.assert_no_stray_frames(&["queue"]).await;

    // A new message after the window moved on is still delivered, not mistaken for a resend.
    say(
        &mut connector,
        "conv-1",
        "m2",
        "谢谢",
        customer("c1", "standard"),
    )
    .await;
    let delivered = loop {
        let frame = agent.expect("customer_message").await;
        if frame["message_id"] == "m2" {
            break frame;
        }
    };
    assert_eq!(delivered["conversation"], a);
    server.stop(Stop::Fast).await;
}

/// A session is resumable for `session_resume_secs` after its connection goes; after that it is
/// forgotten, its replay buffer with it (memory is bounded by who is connected, not by who ever
/// connected, as the stats' session counts show), and a resume starts afresh with `gap: true`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_nobody_resumes_is_forgotten_after_the_resume_window() {
    let mut config = test_config();
    config.gateway.session_resume_secs = 1;
    config.tenants[0].timing.agent_grace_secs = 1;
    let server = Server::start(config).await;
    let (mut connector, welcome) = Client::connector(&server.addr).await;
    let session = welcome["session"].as_str().expect("session").to_string();
    say(
        &mut connector,
        "conv-1",
        "m1",
        "在吗",
        customer("c1", "standard"),
    )
    .await;
    let queued = connector.expect("queue").await;
    let last_seq = queued["seq"].as_u64().expect("seq");
    // Its one message is kept for a resume.
    sessions_until(&server, |s| s["connected"] == 1 && s["replay_frames"] == 1).await;
    drop(connector);

    // Back at once: resumed.
    let mut again = connect(&server.addr, "/v1/connector", CONNECTOR_KEY)
        .await
        .expect("accepted");
    let welcome = again.hello(Some((&session, last_seq))).await;
    assert_eq!(welcome["resumed"], true, "{welcome}");
    assert_eq!(welcome["gap"], false, "{welcome}");
    drop(again);

    // Nobody comes back: after the window (and the once-a-second sweep) the shard keeps
    // nothing of the session, and its conversation is ended.
    let released = sessions_until(&server, |s| s["connected"] == 0 && s["resumable"] == 0).await;
    assert_eq!(released["replay_frames"], 0, "{released}");
    let mut late = connect(&server.addr, "/v1/connector", CONNECTOR_KEY)
        .await
        .expect("accepted");
    let welcome = late.hello(Some((&session, last_seq))).await;
    assert_eq!(welcome["resumed"], false, "{welcome}");
    assert_eq!(welcome["gap"], true, "{welcome}");
    assert_ne!(welcome["session"], session.as_str());
    let fresh = sessions_until(&server, |s| s["connected"] == 1).await;
    assert_eq!(fresh["resumable"], 0, "{fresh}");
    let stats = server.api("GET", "/api/v1/stats", "").await.1;
    let stats: Value = serde_json::from_str(&stats).expect("stats JSON");
    assert_eq!(
        stats["tenants"][0]["queues"][0]["waiting"]["standard"], 0,
        "the forgotten connector's conversation was ended: {stats:#}"
    );
    server.stop(Stop::Fast).await;
}

/// Polls the default tenant's `sessions` in the stats (published once a second) until `check`
/// holds; panics with the last figures if it never does within the test's patience.
async fn sessions_until(server: &Server, check: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..150 {
        let (status, body) = server.api("GET", "/api/v1/stats", "").await;
        assert_eq!(status, 200, "{body}");
        let stats: Value = serde_json::from_str(&body).expect("stats JSON");
        last = stats["tenants"][0]["sessions"].clone();
        if check(&last) {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the sessions never matched: {last}");
}

/// An agent that stops reading: its frames wait in the replay buffer; once it falls further
/// behind than the buffer holds it is closed with 1013 (counted as a slow-consumer close), and
/// its resume says `gap: true` while its conversation is still its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_that_stops_reading_is_closed_with_1013_and_resumes_with_a_gap() {
    let mut config = test_config();
    config.gateway.outbox_frames = 16;
    config.gateway.replay_frames = 64;
    let server = Server::start(config).await;
    let Served {
        mut connector,
        mut agent,
        agent_welcome,
        token,
        conversation,
        ..
    } = alice_serves_conv_1(&server).await;
    let session = agent_welcome["session"]
        .as_str()
        .expect("session")
        .to_string();
    // Far more than the sockets' kernel buffers, the outbox and the replay buffer together.
    let long = "很长的消息".repeat(1600); // 8000 characters (the limit is 8192), 24 KB
    for n in 1..=800 {
        say(
            &mut connector,
            "conv-1",
            &format!("m{n}"),
            &long,
            customer("c1", "standard"),
        )
        .await;
    }
    // Everything sent has been applied (acks are cumulative) before the agent looks.
    let sent = connector
        .send(json!({
            "type": "customer_message", "conversation": "conv-1", "message_id": "last",
            "text": "还在吗", "customer": customer("c1", "standard"), "channel": "app"
        }))
        .await;
    connector.expect_ack(sent).await;
    let mut last_seq = 0;
    while let Some(frame) = agent.next().await {
        if let Some(seq) = frame["seq"].as_u64() {
            if frame["type"] != "ack" && frame["type"] != "pong" {
                last_seq = last_seq.max(seq);
            }
        }
    }
    assert_eq!(agent.closed().await, Some(CloseCode::Again));

    let mut back = connect(&server.addr, "/v1/agent", &token)
        .await
        .expect("accepted");
    let welcome = back.hello(Some((&session, last_seq))).await;
    assert_eq!(welcome["resumed"], true, "{welcome}");
    assert_eq!(welcome["gap"], true, "{welcome}");
    // What the buffer still holds is replayed: all of it, since it no longer reaches back to
    // what the agent had, right after the welcome, in order, each with its original seq.
    let replay_frames = server.config.gateway.replay_frames as u64;
    assert_eq!(welcome["replayed"], replay_frames, "{welcome}");
    let mut replayed = Vec::new();
    for _ in 0..replay_frames {
        replayed.push(back.expect_next("customer_message").await);
    }
    let seqs: Vec<u64> = replayed.iter().filter_map(|m| m["seq"].as_u64()).collect();
    assert_eq!(
        seqs.len(),
        replayed.len(),
        "every replayed message has its seq"
    );
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "replayed in order, none missing: {seqs:?}"
    );
    assert!(
        seqs[0] > last_seq + 1,
        "a gap: the first replayed ({}) is past the one after the last received ({last_seq})",
        seqs[0]
    );
    // The newest messages, the last one sent included, in the order they were sent.
    let ids: Vec<&str> = replayed
        .iter()
        .filter_map(|m| m["message_id"].as_str())
        .collect();
    let expected: Vec<String> = (802 - replay_frames..=800)
        .map(|n| format!("m{n}"))
        .chain(["last".to_string()])
        .collect();
    assert_eq!(ids, expected);
    // Then the sequence continues: the conversations it holds, and new messages.
    let resumed = back.expect_next("resumed").await;
    assert_eq!(resumed["conversations"], json!([conversation]));
    assert_eq!(resumed["seq"], seqs[seqs.len() - 1] + 1);
    say(
        &mut connector,
        "conv-1",
        "after",
        "好了吗",
        customer("c1", "standard"),
    )
    .await;
    let after = back.expect_next("customer_message").await;
    assert_eq!(after["message_id"], "after");
    assert_eq!(after["seq"], seqs[seqs.len() - 1] + 2);
    back.assert_no_stray_frames(&[]).await;
    let (_, metrics) = server.admin_get("/metrics").await;
    assert!(
        metrics.contains("switchboard_slow_consumer_closes_total{role=\"agent\"} 1"),
        "{}",
        metrics
            .lines()
            .filter(|l| l.contains("slow_consumer"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    server.stop(Stop::Fast).await;
}

/// A client that reconnects without resuming gets a fresh session whose server sequence starts
/// again at 1, as `welcome.resumed: false` promises, even while its old session is still kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_session_numbers_server_messages_from_1_again() {
    let server = Server::start(test_config()).await;
    let (mut connector, _) = Client::connector(&server.addr).await;
    say(
        &mut connector,
        "conv-1",
        "m1",
        "在吗",
        customer("c1", "standard"),
    )
    .await;
    assert_eq!(connector.expect("queue").await["seq"], 1);
    say(
        &mut connector,
        "conv-2",
        "m1",
        "在吗",
        customer("c2", "standard"),
    )
    .await;
    assert_eq!(connector.expect("queue").await["seq"], 2);
    drop(connector);

    let (mut fresh, welcome) = Client::connector(&server.addr).await;
    assert_eq!(welcome["resumed"], false);
    say(
        &mut fresh,
        "conv-3",
        "m1",
        "在吗",
        customer("c3", "standard"),
    )
    .await;
    let first = loop {
        let frame = fresh.next().await.expect("open");
        if frame["type"] != "ack" && frame["seq"].is_u64() {
            break frame;
        }
    };
    assert_eq!(first["seq"], 1, "{first}");
    server.stop(Stop::Fast).await;
}
