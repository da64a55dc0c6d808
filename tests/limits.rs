//! Connections that never finish cost bounded resources: the request head has a deadline, the
//! public listener caps connections and handshakes in progress, the admin listener keeps its own
//! budget, and running out of descriptors neither spins the accept loop nor silences `/healthz`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::gateway::*;
use common::tls::Scratch;
use serde_json::json;
use switchboard::gateway::Stop;
use switchboard_config::EMBEDDED_TOML;
use tokio::io::AsyncWriteExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_request_headers_are_closed_after_the_header_timeout_on_both_listeners() {
    let mut config = test_config();
    config.gateway.header_read_timeout_ms = 200;
    let server = Server::start(config).await;
    for addr in [&server.addr, &server.admin] {
        let mut half = silent(addr).await;
        half.write_all(b"GET /v1/connector HTTP/1.1\r\nHost: x\r\n")
            .await
            .expect("send part of the head");
        closed_by_server(half).await;
        closed_by_server(silent(addr).await).await;
    }
    // A client that sends its head in time is served as before.
    let (mut connector, _) = Client::connector(&server.addr).await;
    connector.send(json!({"type": "ping"})).await;
    connector.expect("pong").await;
    server.stop(Stop::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_handshake_cap_a_new_connection_is_closed_while_sessions_keep_working() {
    let mut config = test_config();
    config.gateway.max_handshaking_connections = 2;
    // Longer than the test, so only the cap can close the sockets below.
    config.gateway.header_read_timeout_ms = 600_000;
    let server = Server::start(config).await;
    let (mut connector, _) = Client::connector(&server.addr).await;

    // The connector finished its handshake, so both places are free for these two.
    let _stalled = [silent(&server.addr).await, silent(&server.addr).await];
    closed_by_server(silent(&server.addr).await).await;

    connector.send(json!({"type": "ping"})).await;
    connector.expect("pong").await;
    let refused = |reason: &str| {
        format!("switchboard_connections_refused_total{{listener=\"public\",reason=\"{reason}\"}}")
    };
    assert_eq!(server.metric(&refused("handshake_cap")).await, Some(1.0));
    assert_eq!(server.metric(&refused("total_cap")).await, Some(0.0));
    server.stop(Stop::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_a_new_connection_is_closed_and_the_admin_listener_answers() {
    let mut config = test_config();
    config.gateway.max_connections = 2;
    config.gateway.max_handshaking_connections = 2;
    let server = Server::start(config).await;
    let (mut connector, _) = Client::connector(&server.addr).await;
    let token = server.token("default", "alice", "agent", &[("general", 5)], 1);
    let (mut agent, _) = Client::agent(&server.addr, &token).await;

    closed_by_server(silent(&server.addr).await).await;

    assert_eq!(
        server.admin_get("/healthz").await,
        (200, "ok\n".to_string())
    );
    for client in [&mut connector, &mut agent] {
        client.send(json!({"type": "ping"})).await;
        client.expect("pong").await;
    }
    let series = "switchboard_connections_refused_total{listener=\"public\",reason=\"total_cap\"}";
    assert_eq!(server.metric(series).await, Some(1.0));

    // A session that ends gives its place back.
    drop(connector);
    let (mut connector, _) = connector_once_admitted(&server.addr).await;
    connector.send(json!({"type": "ping"})).await;
    connector.expect("pong").await;
    server.stop(Stop::Fast).await;
}

/// Silent sockets beyond what the descriptor limit allows: the gateway keeps answering
/// `/healthz`, and serves a normal client once they are gone. The real binary, with soft and hard
/// limits of 64 (it raises soft to hard at start, so both are lowered).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_descriptors_the_admin_listener_answers_and_the_gateway_recovers() {
    let scratch = Scratch::new("descriptors");
    let text = EMBEDDED_TOML
        .replace(
            "header_read_timeout_ms = 10000",
            "header_read_timeout_ms = 600000",
        )
        .replace("admin_max_connections = 64", "admin_max_connections = 8");
    assert_ne!(text, EMBEDDED_TOML, "the embedded file sets both keys");
    let config = scratch.write("switchboard.toml", &text);
    let mut child = Running(Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -n 64 && exec "$0" serve --config "$1" --data-dir "$2" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0"#)
        .arg(env!("CARGO_BIN_EXE_switchboard"))
        .arg(&config)
        .arg(config.with_extension("data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("switchboard starts"));
    let (public, admin) = addresses(child.0.stdout.take().expect("stdout is piped"));

    let mut held = Vec::new();
    for _ in 0..100 {
        held.push(silent(&public).await);
    }
    let response = http_exchange(
        &Transport::Plain,
        &admin,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await
    .expect("the admin listener accepts");
    assert_eq!(status_of(&response), 200, "{response}");

    drop(held);
    let (mut connector, _) = connector_once_admitted(&public).await;
    connector.send(json!({"type": "ping"})).await;
    connector.expect("pong").await;
}

/// A child process, killed when the test ends however it ends.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The public and admin addresses `switchboard serve` prints.
fn addresses(stdout: std::process::ChildStdout) -> (String, String) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut public = None;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let words: Vec<&str> = line.split_whitespace().collect();
            let host = |url: &str| url.split('/').nth(2).map(str::to_string);
            match words.as_slice() {
                ["connectors:", url, ..] => public = host(url),
                ["admin:", url, ..] => {
                    let _ = tx.send((public.take(), host(url)));
                    return;
                }
                _ => {}
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok((Some(public), Some(admin))) => (public, admin),
        other => panic!("switchboard did not print its addresses: {other:?}"),
    }
}
