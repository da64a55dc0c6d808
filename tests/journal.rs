//! The journal, end to end, on the real binary: a gateway killed with SIGKILL or stopped with
//! SIGTERM and started again on the same data directory keeps every conversation, every waiting
//! customer's place and wait, and every acknowledged message; clients resume as after a network
//! drop. Damage and a wrong key stop startup with a message naming what is wrong.

mod common;

use std::path::Path;
use std::process::Command;

use common::gateway::*;
use common::process::{scratch_dir, Process};
use serde_json::{json, Value};
use switchboard_config::{Config, EMBEDDED_TOML};

fn opening(conversation: &str, customer: &str) -> Value {
    json!({
        "type": "customer_message", "conversation": conversation, "message_id": "m1",
        "text": "你好", "customer": {"id": customer, "tier": "standard"}, "channel": "app"
    })
}

fn token(sub: &str, capacity: u32) -> String {
    token_for(
        &Config::embedded(),
        "default",
        sub,
        "agent",
        &[("general", 5)],
        capacity,
    )
}

/// The highest server seq among frames a client has handled (unnumbered frames have none).
fn last_seq(frames: &[Value]) -> u64 {
    frames
        .iter()
        .filter(|f| {
            !["ack", "welcome", "error", "pong"].contains(&f["type"].as_str().unwrap_or(""))
        })
        .filter_map(|f| f["seq"].as_u64())
        .max()
        .unwrap_or(0)
}

/// A client that reconnects to `addr` and resumes `session` from `last_seq`.
async fn resume(
    addr: &str,
    path: &str,
    credential: &str,
    session: &Value,
    last_seq: u64,
) -> (Client, Value) {
    let mut client = connect(addr, path, credential).await.expect("accepted");
    let welcome = client
        .hello(Some((session.as_str().unwrap_or(""), last_seq)))
        .await;
    (client, welcome)
}

/// Before: alice (capacity 1) holds conv-1; conv-2 and conv-3 wait; the customer's second
/// message in conv-1 is acked but alice has not read it. Returns what each client must resume
/// from.
struct Before {
    connector_session: Value,
    connector_seq: u64,
    agent_session: Value,
    agent_seq: u64,
    assigned: Value,
}

async fn busy_floor(gateway: &Process) -> (Client, Client, Before) {
    let (mut connector, connector_welcome) = Client::connector(&gateway.addr).await;
    let (mut agent, agent_welcome) = Client::agent(&gateway.addr, &token("alice", 1)).await;
    connector.send(opening("conv-1", "buyer-1")).await;
    let offer = agent.expect("offer").await;
    let assigned = offer["conversation"].clone();
    agent
        .send(json!({"type": "accept", "conversation": assigned}))
        .await;
    connector.expect("agent_joined").await;
    connector.send(opening("conv-2", "buyer-2")).await;
    connector.send(opening("conv-3", "buyer-3")).await;
    let said = connector.customer_says("conv-1", "m-2", "还在吗").await;
    connector.expect_ack(said).await;
    let mut agent_frames = agent.take_seen();
    agent_frames.push(offer);
    let connector_frames = connector.take_seen();
    let before = Before {
        connector_session: connector_welcome["session"].clone(),
        connector_seq: last_seq(&connector_frames),
        agent_session: agent_welcome["session"].clone(),
        agent_seq: last_seq(&agent_frames),
        assigned,
    };
    (connector, agent, before)
}

/// After the restart: both clients resume without a gap; alice gets the acked message she had
/// not read, once, and `resumed` lists her conversation; bob is then offered the waiting
/// customers in their order, with waits that count from before the restart; her reply reaches
/// the customer; a new conversation gets an id never given out before.
async fn everyone_resumes(gateway: &Process, before: &Before) {
    let (mut connector, welcome) = resume(
        &gateway.addr,
        "/v1/connector",
        CONNECTOR_KEY,
        &before.connector_session,
        before.connector_seq,
    )
    .await;
    assert_eq!(
        (welcome["resumed"].clone(), welcome["gap"].clone()),
        (json!(true), json!(false)),
        "{welcome}"
    );
    let (mut alice, welcome) = resume(
        &gateway.addr,
        "/v1/agent",
        &token("alice", 1),
        &before.agent_session,
        before.agent_seq,
    )
    .await;
    assert_eq!(
        (welcome["resumed"].clone(), welcome["gap"].clone()),
        (json!(true), json!(false)),
        "{welcome}"
    );
    let resumed = alice.expect("resumed").await;
    assert_eq!(resumed["conversations"], json!([before.assigned]));
    let missed: Vec<Value> = alice
        .take_seen()
        .into_iter()
        .filter(|f| f["type"] == "customer_message" && f["message_id"] == "m-2")
        .collect();
    assert_eq!(
        missed.len(),
        1,
        "the acked message reaches alice exactly once"
    );
    assert!(missed[0]["seq"].as_u64() > Some(before.agent_seq));

    let (mut bob, _) = Client::agent(&gateway.addr, &token("bob", 2)).await;
    let mut offered = Vec::new();
    for _ in 0..2 {
        let offer = bob.expect("offer").await;
        assert!(
            offer["context"]["waited_secs"].as_u64() >= Some(2),
            "the wait counts from before the restart: {offer}"
        );
        offered.push(offer["context"]["customer"]["id"].clone());
    }
    assert_eq!(
        offered,
        [json!("buyer-2"), json!("buyer-3")],
        "the line kept its order"
    );

    alice
        .send(json!({"type": "message", "conversation": before.assigned, "message_id": "a-1", "text": "在的"}))
        .await;
    let reply = connector.expect("reply").await;
    assert_eq!(reply["conversation"], "conv-1");
    connector.send(opening("conv-4", "buyer-4")).await;
    bob.send(json!({"type": "ping"})).await;
    let late = connector.customer_says("conv-4", "m-2", "有人吗").await;
    connector.expect_ack(late).await;
    let (mut carol, _) = Client::agent(&gateway.addr, &token("carol", 1)).await;
    let offer = carol.expect("offer").await;
    assert_ne!(
        offer["conversation"], before.assigned,
        "an id was given out twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_loses_no_acknowledged_message_and_nobody_loses_their_place() {
    let data = scratch_dir("kill9");
    let first = Process::start(&data, &[]);
    let (_connector, _agent, before) = busy_floor(&first).await;
    // Long enough that a wait restarted at zero would show.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    first.kill();
    let second = Process::start(&data, &[]);
    everyone_resumes(&second, &before).await;
    assert!(
        second.log().contains("journal recovered"),
        "{}",
        second.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_fsync_interval_a_kill_9_loses_nothing_either() {
    // "interval" releases a frame's outputs once it is written, and syncs every interval_ms:
    // the kernel holds what a killed process wrote.
    let data = scratch_dir("interval");
    let config = data.with_extension("toml");
    let text = EMBEDDED_TOML.replace("fsync = \"batch\"", "fsync = \"interval\"");
    std::fs::write(&config, text).expect("config written");
    let args = ["--config", config.to_str().unwrap_or("")];
    let first = Process::start(&data, &args);
    let (_connector, _agent, before) = busy_floor(&first).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    first.kill();
    let second = Process::start(&data, &args);
    everyone_resumes(&second, &before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_by_sigterm_closes_with_1001_and_everyone_resumes_after_it() {
    let data = scratch_dir("deploy");
    let first = Process::start(&data, &[]);
    let (mut connector, mut agent, before) = busy_floor(&first).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let status = first.terminate();
    assert!(status.success(), "a graceful stop exits 0: {status:?}");
    for client in [&mut connector, &mut agent] {
        assert_eq!(client.closed().await, Some(1001.into()));
    }
    let second = Process::start(&data, &[]);
    everyone_resumes(&second, &before).await;
}

/// A gateway that took some traffic and was killed: its journal is all frames, no snapshot
/// after the first.
async fn journal_with_traffic(data: &Path) {
    let gateway = Process::start(data, &[]);
    let (mut connector, _) = Client::connector(&gateway.addr).await;
    for i in 0..20 {
        let seq = connector
            .send(opening(&format!("conv-{i}"), &format!("buyer-{i}")))
            .await;
        connector.expect_ack(seq).await;
    }
    gateway.kill();
}

/// Flips one bit in the payload of the first frame of the first segment of shard 0.
fn flip_a_bit_in_the_first_frame(data: &Path) -> std::path::PathBuf {
    let current = std::fs::read_to_string(data.join("CURRENT")).expect("CURRENT");
    let shard = data.join(current.trim()).join("shard-0");
    let mut segments: Vec<_> = std::fs::read_dir(&shard)
        .expect("shard dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    segments.sort();
    let segment = segments.first().expect("a segment").clone();
    let mut bytes = std::fs::read(&segment).expect("segment");
    // Past the header and the first frame's own header: inside its payload.
    let at = 128.min(bytes.len() - 1);
    bytes[at] ^= 0x10;
    std::fs::write(&segment, bytes).expect("written back");
    segment
}

fn verify(data: &Path) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["journal", "verify"])
        .arg(data)
        .output()
        .expect("switchboard journal verify runs");
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damage_before_the_tail_stops_startup_naming_the_segment_unless_truncation_is_asked() {
    let data = scratch_dir("damage");
    journal_with_traffic(&data).await;
    let (healthy, report) = verify(&data);
    assert!(healthy, "{report}");
    assert!(
        report.contains("frames") && report.contains("tenants: 1 (default)"),
        "{report}"
    );
    let segment = flip_a_bit_in_the_first_frame(&data);
    let name = segment
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let (healthy, report) = verify(&data);
    assert!(!healthy, "verify finds the flipped bit: {report}");
    match Process::try_start(&data, &[]) {
        Ok(started) => panic!("a damaged journal must stop startup:\n{}", started.log()),
        Err((status, log)) => {
            assert_eq!(status.and_then(|s| s.code()), Some(1), "{log}");
            assert!(log.contains(&name), "the message names the segment: {log}");
        }
    }
    let truncated = Process::start(&data, &["--journal-recovery", "truncate"]);
    let (status, _) = truncated.api_get("/api/v1/stats").await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encrypted_journal_recovers_with_its_key_and_a_wrong_key_stops_startup() {
    let data = scratch_dir("encrypted");
    let key = data.join("journal.key");
    std::fs::write(&key, "11".repeat(32)).expect("key written");
    let config = data.join("switchboard.toml");
    let with_key = |path: &Path| {
        EMBEDDED_TOML.replace(
            "# encryption_key_file = \"journal.key\"",
            &format!("encryption_key_file = {:?}", path.display().to_string()),
        )
    };
    std::fs::write(&config, with_key(&key)).expect("config written");
    let journal = data.join("journal");
    let args = ["--config", config.to_str().unwrap_or("")];
    let first = Process::start(&journal, &args);
    let (mut connector, _) = Client::connector(&first.addr).await;
    let seq = connector
        .customer_says("conv-secret", "m1", "我的订单号 SO20261111")
        .await;
    connector.expect_ack(seq).await;
    first.kill();
    let stored = std::fs::read_dir(&journal)
        .expect("journal dir")
        .filter_map(|e| e.ok())
        .flat_map(|gen| std::fs::read_dir(gen.path()).into_iter().flatten())
        .filter_map(|e| e.ok())
        .flat_map(|shard| std::fs::read_dir(shard.path()).into_iter().flatten())
        .filter_map(|e| e.ok())
        .filter_map(|f| std::fs::read(f.path()).ok())
        .any(|bytes| {
            bytes
                .windows(b"conv-secret".len())
                .any(|w| w == b"conv-secret")
        });
    assert!(!stored, "nothing is stored in the clear");
    let again = Process::start(&journal, &args);
    drop(again);
    let wrong = data.join("wrong.key");
    std::fs::write(&wrong, "22".repeat(32)).expect("key written");
    std::fs::write(&config, with_key(&wrong)).expect("config written");
    match Process::try_start(&journal, &args) {
        Ok(started) => panic!("a wrong key must stop startup:\n{}", started.log()),
        Err((status, log)) => {
            assert_eq!(status.and_then(|s| s.code()), Some(1), "{log}");
            assert!(
                log.to_lowercase().contains("key"),
                "the message says the key is wrong: {log}"
            );
        }
    }
}
