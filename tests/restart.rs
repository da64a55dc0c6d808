//! A gateway killed with SIGKILL and started again: no conversation or session id from before
//! is given out again, and an agent still holding an old id cannot reach a new customer with it.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

use common::gateway::*;
use serde_json::{json, Value};
use switchboard_config::Config;

/// The real binary on ephemeral ports; killed when dropped.
struct Gateway {
    child: Child,
    addr: String,
    /// Kept open: a gateway whose stdout is closed would fail its next print.
    _stdout: BufReader<ChildStdout>,
}

impl Gateway {
    fn start() -> Gateway {
        let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--admin-listen",
                "127.0.0.1:0",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("switchboard starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut addr = None;
        // The banner ends with the admin line; the gateway serves once it is printed.
        for _ in 0..10 {
            let mut line = String::new();
            if stdout.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            if let Some(rest) = line.split("connectors: ws://").nth(1) {
                addr = rest.split('/').next().map(str::to_string);
            }
            if line.contains("admin:") {
                break;
            }
        }
        Gateway {
            child,
            addr: addr.expect("the gateway printed its address"),
            _stdout: stdout,
        }
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
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
