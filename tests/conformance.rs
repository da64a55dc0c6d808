//! What a connector or agent written from docs/protocol.md alone expects, over real sockets:
//! acks for every seq, wall-clock times, the error codes the doc lists, the hello deadline,
//! light customer messages, and a refused customer offered again after the cooldown.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::gateway::*;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn opening(conversation: &str, message_id: &str, text: &str) -> Value {
    json!({
        "type": "customer_message", "conversation": conversation, "message_id": message_id,
        "text": text, "customer": {"id": "buyer-1", "tier": "standard"}, "channel": "app"
    })
}

fn follow_up(conversation: &str, message_id: &str, text: &str) -> Value {
    json!({
        "type": "customer_message", "conversation": conversation, "message_id": message_id,
        "text": text
    })
}

/// Reads until an ack covering `seq`, and checks that no error came before it.
async fn acked_without_error(client: &mut Client, seq: u64) {
    client.expect_ack(seq).await;
    let errors: Vec<_> = client
        .seen
        .iter()
        .filter(|f| f["type"] == "error")
        .collect();
    assert!(errors.is_empty(), "refused: {errors:?}");
}

#[tokio::test]
async fn the_hello_and_frames_of_pings_are_acked() {
    let server = Server::start(test_config()).await;
    let mut connector = connect(&server.addr, "/v1/connector", CONNECTOR_KEY)
        .await
        .expect("accepted");
    connector
        .send(json!({"type": "hello", "protocol": 1, "client": "docs-only"}))
        .await;
    assert_eq!(connector.expect_any().await["type"], "welcome");
    assert_eq!(
        connector.expect_any().await,
        json!({"type": "ack", "seq": 1})
    );
    let ping = connector.send(json!({"type": "ping"})).await;
    assert_eq!(
        connector.expect_any().await,
        json!({"type": "pong", "seq": ping})
    );
    assert_eq!(
        connector.expect_any().await,
        json!({"type": "ack", "seq": ping})
    );
    connector
        .send_raw(r#"[{"type":"ping","seq":10},{"type":"ping","seq":11}]"#)
        .await;
    let ack = connector.expect("ack").await;
    assert_eq!(ack["seq"], 11, "a batch of pings is acked through its last");
    server.stop(switchboard::gateway::Stop::Fast).await;
}

#[tokio::test]
async fn transcript_times_are_unix_milliseconds() {
    let server = Server::start(test_config()).await;
    let (mut connector, _) = Client::connector(&server.addr).await;
    let before = unix_ms();
    connector
        .send(opening("conv-t", "m1", "我的订单还没发货"))
        .await;
    acked_without_error(&mut connector, 2).await;
    let after = unix_ms();
    let token = server.token("default", "alice", "agent", &[("general", 5)], 1);
    let (mut agent, _) = Client::agent(&server.addr, &token).await;
    let offer = agent.expect("offer").await;
    let at = offer["context"]["transcript"][0]["at"]
        .as_u64()
        .expect("at is an integer");
    // The gateway's clock is anchored on the system clock once per shard, so it may lag the
    // test's reading by the anchoring's rounding: a millisecond either side.
    assert!(
        before.saturating_sub(1) <= at && at <= after + 1,
        "at {at} is not between {before} and {after}"
    );
    server.stop(switchboard::gateway::Stop::Fast).await;
}

#[tokio::test]
async fn an_ended_conversation_and_an_offline_agent_get_the_documented_codes() {
    let server = Server::start(test_config()).await;
    let (mut connector, _) = Client::connector(&server.addr).await;
    let token = server.token("default", "alice", "agent", &[("general", 5)], 2);
    let (mut agent, _) = Client::agent(&server.addr, &token).await;
    let mut ours = Vec::new();
    for (conversation, id) in [("conv-a", "m1"), ("conv-b", "m2")] {
        connector.send(opening(conversation, id, "你好")).await;
        let offer = agent.expect("offer").await;
        agent
            .send(json!({"type": "accept", "conversation": offer["conversation"]}))
            .await;
        ours.push(offer["conversation"].clone());
    }
    // Close the first, then act on it: it has ended, and the error says so.
    agent
        .send(json!({"type": "close", "conversation": ours[0]}))
        .await;
    agent.expect("closed").await;
    agent
        .send(json!({"type": "message", "conversation": ours[0], "message_id": "a-1", "text": "还在吗"}))
        .await;
    let error = agent.expect("error").await;
    assert_eq!(error["code"], "conversation_ended");
    assert_eq!(error["conversation"], ours[0]);
    agent
        .send(json!({"type": "accept", "conversation": "999"}))
        .await;
    assert_eq!(agent.expect("error").await["code"], "unknown_conversation");
    // Offline, the agent is not logged in: forbidden, until it is available again.
    agent
        .send(json!({"type": "status", "status": "offline"}))
        .await;
    agent.expect("status").await;
    for command in [
        json!({"type": "accept", "conversation": ours[1]}),
        json!({"type": "message", "conversation": ours[1], "message_id": "a-2", "text": "在的"}),
        json!({"type": "transfer", "conversation": ours[1], "to_queue": "general"}),
    ] {
        agent.send(command).await;
        assert_eq!(agent.expect("error").await["code"], "forbidden");
    }
    server.stop(switchboard::gateway::Stop::Fast).await;
}

#[tokio::test]
async fn a_connection_that_never_says_hello_is_closed_with_1008() {
    let server = Server::start(test_config()).await;
    let mut silent = connect(&server.addr, "/v1/connector", CONNECTOR_KEY)
        .await
        .expect("accepted");
    assert_eq!(silent.closed().await, Some(CloseCode::Policy));
    assert!(
        silent.close_reason().contains("hello"),
        "the reason names the hello deadline: {}",
        silent.close_reason()
    );
    server.stop(switchboard::gateway::Stop::Fast).await;
}

#[tokio::test]
async fn later_messages_may_omit_the_customer_and_a_new_description_is_what_agents_see() {
    let server = Server::start(test_config()).await;
    let (mut connector, _) = Client::connector(&server.addr).await;
    // The message that opens a conversation must describe the customer.
    let seq = connector
        .send(follow_up("conv-light", "m0", "没说我是谁"))
        .await;
    let error = connector.expect("error").await;
    assert_eq!(error["code"], "missing_field");
    assert_eq!(error["seq"], seq);
    assert!(error["message"]
        .as_str()
        .unwrap_or("")
        .contains("`customer`"));
    connector
        .send(opening("conv-light", "m1", "我要退货"))
        .await;
    let seq = connector
        .send(follow_up("conv-light", "m2", "订单 2023111112345678"))
        .await;
    acked_without_error(&mut connector, seq).await;
    // Described again, now as a VIP with a name: it waits in the VIP lane and agents see it.
    let seq = connector
        .send(json!({
            "type": "customer_message", "conversation": "conv-light", "message_id": "m3",
            "text": "还在吗", "customer": {"id": "buyer-1", "tier": "vip", "vip_level": 2, "name": "李女士"}
        }))
        .await;
    acked_without_error(&mut connector, seq).await;
    let token = server.token(
        "default",
        "alice",
        "agent",
        &[("general", 5), ("vip", 5)],
        1,
    );
    let (mut agent, _) = Client::agent(&server.addr, &token).await;
    let offer = agent.expect("offer").await;
    let context = &offer["context"];
    assert_eq!(context["class"], "vip");
    assert_eq!(context["customer"]["name"], "李女士");
    assert_eq!(context["channel"], "app", "the channel is kept");
    let texts: Vec<&str> = context["transcript"]
        .as_array()
        .expect("transcript")
        .iter()
        .filter_map(|line| line["text"].as_str())
        .collect();
    assert_eq!(texts, ["我要退货", "订单 2023111112345678", "还在吗"]);
    server.stop(switchboard::gateway::Stop::Fast).await;
}

#[tokio::test]
async fn a_lone_agent_who_rejects_is_offered_the_customer_again_after_the_cooldown() {
    let mut config = test_config();
    for tenant in &mut config.tenants {
        tenant.timing.refusal_cooldown_secs = 1;
    }
    let server = Server::start(config).await;
    let (mut connector, _) = Client::connector(&server.addr).await;
    let token = server.token("default", "alice", "agent", &[("general", 5)], 1);
    let (mut agent, _) = Client::agent(&server.addr, &token).await;
    connector.send(opening("conv-night", "m1", "有人吗")).await;
    let offer = agent.expect("offer").await;
    agent
        .send(json!({"type": "reject", "conversation": offer["conversation"]}))
        .await;
    let again = agent.expect("offer").await;
    assert_eq!(again["conversation"], offer["conversation"]);
    agent
        .send(json!({"type": "accept", "conversation": again["conversation"]}))
        .await;
    assert_eq!(
        connector.expect("agent_joined").await["conversation"],
        "conv-night"
    );
    server.stop(switchboard::gateway::Stop::Fast).await;
}

#[tokio::test]
async fn messages_behind_hello_are_answered_after_the_welcome() {
    let server = Server::start(test_config()).await;
    // In the hello's own frame.
    let mut batched = connect(&server.addr, "/v1/connector", CONNECTOR_KEY)
        .await
        .expect("accepted");
    batched
        .send_raw(r#"[{"type":"hello","seq":1,"protocol":1,"client":"t"},{"type":"ping","seq":2}]"#)
        .await;
    assert_eq!(batched.expect_any().await["type"], "welcome");
    // The hello's own ack may come first; the ping's comes after its pong.
    let mut next = batched.expect_any().await;
    if next == json!({"type": "ack", "seq": 1}) {
        next = batched.expect_any().await;
    }
    assert_eq!(next, json!({"type": "pong", "seq": 2}));
    assert_eq!(batched.expect_any().await, json!({"type": "ack", "seq": 2}));
    // In the next frame, sent without waiting for the welcome.
    let mut eager = connect(
        &server.addr,
        "/v1/agent",
        &server.token("default", "a", "agent", &[("general", 5)], 1),
    )
    .await
    .expect("accepted");
    eager
        .send(json!({"type": "hello", "protocol": 1, "client": "t"}))
        .await;
    let ping = eager.send(json!({"type": "ping"})).await;
    assert_eq!(eager.expect_any().await["type"], "welcome");
    let pong = eager.expect("pong").await;
    assert_eq!(pong["seq"], ping);
    server.stop(switchboard::gateway::Stop::Fast).await;
}

#[tokio::test]
async fn broken_websocket_frames_close_with_the_rfc_codes() {
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    let server = Server::start(test_config()).await;
    let (mut bad_utf8, _) = Client::connector(&server.addr).await;
    bad_utf8
        .send_frame(Frame::message(
            vec![0x7b, 0xff, 0xfe, 0x7d],
            OpCode::Data(Data::Text),
            true,
        ))
        .await;
    assert_eq!(bad_utf8.closed().await, Some(CloseCode::Invalid));
    let token = server.token("default", "b", "agent", &[("general", 5)], 1);
    let (mut reserved_bits, _) = Client::agent(&server.addr, &token).await;
    let mut frame = Frame::message(
        br#"{"type":"ping","seq":9}"#.to_vec(),
        OpCode::Data(Data::Text),
        true,
    );
    frame.header_mut().rsv1 = true;
    reserved_bits.send_frame(frame).await;
    assert_eq!(reserved_bits.closed().await, Some(CloseCode::Protocol));
    // Both are counted by their code, once their writers have finished (just after the close
    // frame left).
    for code in ["1002", "1007"] {
        let wanted = format!("code=\"{code}\"");
        let mut counted = false;
        for _ in 0..200 {
            let (_, metrics) = server.admin_get("/metrics").await;
            counted = metrics.lines().any(|l| {
                l.starts_with("switchboard_connections_closed_total") && l.contains(&wanted)
            });
            if counted {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert!(counted, "no close counted with code {code}");
    }
    server.stop(switchboard::gateway::Stop::Fast).await;
}
