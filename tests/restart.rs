//! A gateway with its journal off, killed with SIGKILL and started again: it starts empty, no
//! conversation or session id from before is given out again, and an agent still holding an old
//! id cannot reach a new customer with it. (With the journal on, `journal.rs` shows everything
//! survives.)

mod common;

use common::gateway::*;
use common::process::{scratch_dir, Process};
use serde_json::{json, Value};
use switchboard_config::{Config, EMBEDDED_TOML};

/// The real binary with its journal off (`journal.fsync = "off"`): a restart starts empty.
struct Gateway;

impl Gateway {
    fn start() -> Process {
        let dir = scratch_dir("no-journal");
        let config = dir.join("switchboard.toml");
        let text = EMBEDDED_TOML.replace("fsync = \"batch\"", "fsync = \"off\"");
        std::fs::write(&config, text).expect("config written");
        Process::start(
            &dir.join("data"),
            &["--config", config.to_str().unwrap_or("")],
        )
    }
}

fn opening(conversation: &str, customer: &str) -> Value {
    json!({
        "type": "customer_message", "conversation": conversation, "message_id": "m1",
        "text": "你好", "customer": {"id": customer, "tier": "standard"}, "channel": "app"
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_crash_no_id_repeats_and_a_stale_reply_reaches_nobody() {
    let token = token_for(
        &Config::embedded(),
        "default",
        "alice",
        "agent",
        &[("general", 5)],
        2,
    );
    let before = Gateway::start();
    let (mut connector, first_connector) = Client::connector(&before.addr).await;
    let (mut agent, first_agent) = Client::agent(&before.addr, &token).await;
    connector.send(opening("conv-old", "buyer-old")).await;
    let old = agent.expect("offer").await["conversation"].clone();
    agent
        .send(json!({"type": "accept", "conversation": old}))
        .await;
    connector.expect("agent_joined").await;
    let last_seq = agent.expect_any().await["seq"].as_u64().unwrap_or(0);
    before.kill();

    let after = Gateway::start();
    let (mut connector, second_connector) = Client::connector(&after.addr).await;
    assert_ne!(first_connector["session"], second_connector["session"]);
    connector.send(opening("conv-new", "buyer-new")).await;
    let mut agent = connect(&after.addr, "/v1/agent", &token)
        .await
        .expect("accepted");
    let session = first_agent["session"].as_str().unwrap_or("");
    let welcome = agent.hello(Some((session, last_seq))).await;
    assert_eq!(welcome["resumed"], false);
    assert_eq!(welcome["gap"], true);
    assert_ne!(welcome["session"], first_agent["session"]);
    // Told authoritatively that nothing from before is still its own.
    let resumed = agent.expect("resumed").await;
    assert_eq!(resumed["conversations"], json!([]));
    let new = agent.expect("offer").await["conversation"].clone();
    assert_ne!(
        new, old,
        "a conversation id was given out again after the restart"
    );
    // The reply meant for the old customer is refused and reaches no one.
    agent
        .send(json!({"type": "message", "conversation": old, "message_id": "a-1", "text": "您的退款已办理"}))
        .await;
    let error = agent.expect("error").await;
    assert_eq!(error["code"], "unknown_conversation");
    agent
        .send(json!({"type": "accept", "conversation": new}))
        .await;
    connector.expect("agent_joined").await;
    // The stale reply was refused before the accept was sent, so had it reached the new
    // customer it would be here, ahead of the ping's ack: nothing but queue updates is.
    connector.assert_no_stray_frames(&["queue"]).await;
}
