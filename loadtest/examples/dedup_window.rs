//! Demonstrates how far back Switchboard recognises a resent `customer_message`.
//!
//! The protocol (docs/protocol.md, "Duplicates") promises that the gateway remembers "at least
//! the 16 most recent `message_id`s per conversation and sender side". This program checks that
//! promise against a real `switchboard serve`: it resends message `a-2` of conversation A
//!
//! 1. right away (control: must be refused with `duplicate`), and
//! 2. after `--others N` (default 1100) messages in a *different* conversation B of the same
//!    connector. Conversation A has had only two messages, so by the protocol `a-2` is still
//!    among its 16 most recent and must again be refused.
//!
//! It prints what happened and exits 0 when the promise held, 1 when the resent message was
//! delivered to the agent a second time.
//!
//! Run: `cargo run --release -p loadtest --example dedup_window` (after building `switchboard`
//! in release: it spawns `target/release/switchboard`, or `$SWITCHBOARD_BIN` with
//! `$SWITCHBOARD_CONFIG_BASE` as its configuration's base when that build is another version).

use std::process::ExitCode;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use loadtest::client::{self, Ws};
use loadtest::target::{self, agent_token, bench_config, connector_key};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// Long enough for anything on loopback; short enough that a missing frame ends the run.
const WAIT: Duration = Duration::from_secs(3);

struct Conn {
    ws: Ws,
    seq: u64,
}

impl Conn {
    async fn send(&mut self, mut message: Value) -> Result<u64, String> {
        self.seq += 1;
        message["seq"] = json!(self.seq);
        self.ws
            .send(Message::text(message.to_string()))
            .await
            .map_err(|e| format!("send failed: {e}"))?;
        Ok(self.seq)
    }

    /// Every message received until `pred` matches one (returned last) or [`WAIT`] passes.
    async fn until(&mut self, pred: impl Fn(&Value) -> bool) -> (Vec<Value>, bool) {
        let mut seen = Vec::new();
        loop {
            let frame = match tokio::time::timeout(WAIT, self.ws.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => text,
                Ok(Some(Ok(_))) => continue,
                _ => return (seen, false),
            };
            for message in client::messages(&frame) {
                let hit = pred(&message);
                seen.push(message);
                if hit {
                    return (seen, true);
                }
            }
        }
    }
}

fn customer_message(conversation: &str, id: &str) -> Value {
    json!({"type": "customer_message", "conversation": conversation, "message_id": id,
           "text": "你好，请问我的订单什么时候发货？", "channel": "app",
           "customer": {"id": format!("u-{conversation}"), "tier": "standard"}})
}

fn is(kind: &'static str) -> impl Fn(&Value) -> bool {
    move |m| m["type"] == kind
}

async fn run(others: usize) -> Result<bool, String> {
    // SWITCHBOARD_CONFIG_BASE: that build's config/switchboard.toml, when it is another version.
    let base = match std::env::var_os("SWITCHBOARD_CONFIG_BASE") {
        Some(path) => Some(std::fs::read_to_string(&path).map_err(|e| format!("{path:?}: {e}"))?),
        None => None,
    };
    let (text, config) = bench_config(base.as_deref(), 1)?;
    // Examples live in target/<profile>/examples/, the gateway one level up; SWITCHBOARD_BIN
    // points at another build.
    let bin = std::env::var_os("SWITCHBOARD_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| target::sibling_binary("../switchboard"));
    let server = target::spawn_switchboard(&bin, &text)?;
    let base = server.base.clone();
    let mut agent = Conn {
        ws: client::open(
            &base,
            "/v1/agent",
            &agent_token(&config, 0, 100)?,
            client::ws_config(false),
        )
        .await?,
        seq: 1,
    };
    let mut connector = Conn {
        ws: client::open(
            &base,
            "/v1/connector",
            &connector_key(0),
            client::ws_config(false),
        )
        .await?,
        seq: 1,
    };
    // Open A and B; the agent accepts both offers.
    for (conversation, id) in [("A", "a-1"), ("B", "b-0")] {
        connector.send(customer_message(conversation, id)).await?;
        let (seen, found) = agent.until(is("offer")).await;
        let offer = seen.last().filter(|_| found).ok_or("no offer arrived")?;
        let ours = offer["conversation"].clone();
        agent
            .send(json!({"type": "accept", "conversation": ours}))
            .await?;
        let (_, joined) = connector.until(is("agent_joined")).await;
        if !joined {
            return Err(format!("conversation {conversation} was not assigned"));
        }
    }
    // a-2 once: delivered.
    connector.send(customer_message("A", "a-2")).await?;
    let (_, delivered) = agent
        .until(|m| m["type"] == "customer_message" && m["message_id"] == "a-2")
        .await;
    if !delivered {
        return Err("a-2 was not delivered the first time".into());
    }
    // Control: resent at once, it is a duplicate.
    let seq = connector.send(customer_message("A", "a-2")).await?;
    let (seen, _) = connector
        .until(|m| m["type"] == "ack" && m["seq"] == seq)
        .await;
    let control = seen
        .iter()
        .any(|m| m["type"] == "error" && m["code"] == "duplicate");
    println!("resent at once:                 refused as duplicate: {control}");
    // N messages in B, then a-2 again in A.
    for i in 1..=others {
        connector
            .send(customer_message("B", &format!("b-{i}")))
            .await?;
    }
    let last_b = format!("b-{others}");
    let (_, drained) = agent
        .until(|m| m["type"] == "customer_message" && m["message_id"] == last_b.as_str())
        .await;
    if !drained {
        return Err("the messages in B were not all delivered".into());
    }
    let seq = connector.send(customer_message("A", "a-2")).await?;
    let (seen, _) = connector
        .until(|m| m["type"] == "ack" && m["seq"] == seq)
        .await;
    let refused = seen
        .iter()
        .any(|m| m["type"] == "error" && m["code"] == "duplicate");
    let (_, redelivered) = agent
        .until(|m| m["type"] == "customer_message" && m["message_id"] == "a-2")
        .await;
    println!(
        "resent after {others} messages in B: refused as duplicate: {refused}; \
         delivered to the agent again: {redelivered}"
    );
    Ok(control && refused && !redelivered)
}

fn main() -> ExitCode {
    let others = std::env::args()
        .skip_while(|a| a != "--others")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1100);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("dedup_window: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(others)) {
        Ok(true) => {
            println!("the protocol's duplicate promise held");
            ExitCode::SUCCESS
        }
        Ok(false) => {
            println!(
                "the protocol's duplicate promise did NOT hold (\"at least the 16 most recent \
                 message_ids per conversation\")"
            );
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("dedup_window: {e}");
            ExitCode::from(2)
        }
    }
}
