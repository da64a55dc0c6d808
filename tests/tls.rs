//! TLS on both listeners, with certificates the tests make: `wss://` round trips, certificate
//! reloads that leave open connections alone, bad files refused at startup and on reload, and
//! the admin listener over `https://`.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::gateway::*;
use common::tls::{tls_table, Authority, Scratch};
use serde_json::json;
use switchboard::gateway::{run, Listeners, Stop};
use switchboard_config::Config;
use tokio::net::{TcpListener, TcpStream};

/// A customer's first message on `conversation`.
fn customer_message(conversation: &str, text: &str) -> serde_json::Value {
    json!({
        "type": "customer_message", "conversation": conversation, "message_id": "m1",
        "text": text, "customer": {"id": "c1", "tier": "standard"}, "channel": "app"
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wss_round_trip_carries_the_welcome_and_a_customer_message_to_the_agent() {
    let ca = Authority::new();
    let issued = ca.issue("first");
    let scratch = Scratch::new("round-trip");
    let (cert, key) = scratch.write_issued("server", &issued);
    let server =
        Server::start_from_file(&scratch.config(&tls_table("gateway.tls", &cert, &key))).await;
    let tls = ca.transport();

    let (mut connector, welcome) = Client::connector_via(&tls, &server.addr).await;
    assert_eq!(welcome["type"], "welcome");
    assert_eq!(connector.server_certificate(), Some(issued.der.clone()));
    assert_eq!(connector.alpn().as_deref(), Some(&b"http/1.1"[..]));
    let token = server.token("default", "alice", "agent", &[("general", 5)], 1);
    let (mut agent, _) = Client::agent_via(&tls, &server.addr, &token).await;
    connector
        .send(customer_message("conv-1", "你好，我的订单还没到"))
        .await;
    let offer = agent.expect("offer").await;
    assert_eq!(
        offer["context"]["transcript"][0]["text"],
        "你好，我的订单还没到"
    );
    server.stop(Stop::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_stall_their_handshake_hold_up_nobody() {
    let ca = Authority::new();
    let scratch = Scratch::new("stall");
    let (cert, key) = scratch.write_issued("server", &ca.issue("server"));
    let server =
        Server::start_from_file(&scratch.config(&tls_table("gateway.tls", &cert, &key))).await;
    // Connected, and silent: each holds a handshake open for up to its timeout.
    let mut silent = Vec::new();
    for _ in 0..8 {
        silent.push(TcpStream::connect(&server.addr).await.expect("accepted"));
    }
    let (_connector, welcome) = Client::connector_via(&ca.transport(), &server.addr).await;
    assert_eq!(welcome["type"], "welcome");
    drop(silent);
    server.stop(Stop::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reloaded_certificate_is_served_to_new_connections_while_open_ones_keep_working() {
    let ca = Authority::new();
    let (old, new) = (ca.issue("old"), ca.issue("new"));
    let scratch = Scratch::new("reload");
    let (cert, key) = scratch.write_issued("server", &old);
    let server =
        Server::start_from_file(&scratch.config(&tls_table("gateway.tls", &cert, &key))).await;
    let tls = ca.transport();
    let (mut connector, _) = Client::connector_via(&tls, &server.addr).await;
    assert_eq!(connector.server_certificate(), Some(old.der.clone()));

    // Renewed in place, as certbot and friends do.
    scratch.write_issued("server", &new);
    let (status, body) = server.api("POST", "/api/v1/reload", "").await;
    assert_eq!(status, 200, "{body}");
    let outcome: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(outcome["applied"], json!(["gateway.tls"]));

    let token = server.token("default", "alice", "agent", &[("general", 5)], 1);
    let (mut agent, _) = Client::agent_via(&tls, &server.addr, &token).await;
    assert_eq!(agent.server_certificate(), Some(new.der.clone()));
    // The connection made before the reload still carries traffic both ways.
    connector.send(json!({"type": "ping"})).await;
    connector.expect("pong").await;
    connector.send(customer_message("conv-1", "在吗")).await;
    assert_eq!(
        agent.expect("offer").await["context"]["transcript"][0]["text"],
        "在吗"
    );
    server.stop(Stop::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_file_on_reload_is_refused_naming_its_key_and_the_old_certificate_stays() {
    let ca = Authority::new();
    let (old, other) = (ca.issue("old"), ca.issue("other"));
    let scratch = Scratch::new("bad-reload");
    let (cert, key) = scratch.write_issued("server", &old);
    let server =
        Server::start_from_file(&scratch.config(&tls_table("gateway.tls", &cert, &key))).await;
    let tls = ca.transport();

    scratch.write("server.crt", "not a certificate\n");
    let (status, body) = server.api("POST", "/api/v1/reload", "").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("gateway.tls.cert_file"), "{body}");
    let (client, _) = Client::connector_via(&tls, &server.addr).await;
    assert_eq!(client.server_certificate(), Some(old.der.clone()));
    drop(client);

    // A valid certificate whose key is not the one in key_file.
    scratch.write("server.crt", &other.cert_pem);
    let (status, body) = server.api("POST", "/api/v1/reload", "").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("gateway.tls.key_file"), "{body}");
    let (client, _) = Client::connector_via(&tls, &server.addr).await;
    assert_eq!(client.server_certificate(), Some(old.der.clone()));
    server.stop(Stop::Fast).await;
}

/// Runs `switchboard serve` with this configuration file, expecting it to exit by itself:
/// (exit code, stderr). A process still running after the patience is killed and fails the test.
fn serve_until_it_exits(config: &Path) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("serve")
        .arg("--config")
        .arg(config)
        .args(["--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("switchboard starts");
    let patience = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > patience {
            let _ = child.kill();
            let _ = child.wait();
            panic!("switchboard kept running with an unusable certificate");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("output");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_invalid_file_stops_startup_naming_its_key() {
    let ca = Authority::new();
    let (issued, other) = (ca.issue("server"), ca.issue("other"));
    let scratch = Scratch::new("startup");
    let (cert, key) = scratch.write_issued("server", &issued);

    let missing = scratch.dir.join("missing.crt");
    let config = scratch.config(&tls_table("gateway.tls", &missing, &key));
    let (code, stderr) = serve_until_it_exits(&config);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("gateway.tls.cert_file"), "{stderr}");
    assert!(stderr.contains("missing.crt"), "{stderr}");

    // The library refuses too: an admin certificate whose key belongs to another certificate.
    let (_, other_key) = scratch.write_issued("other", &other);
    let config = Config::load(&scratch.config(&tls_table("gateway.admin_tls", &cert, &other_key)))
        .expect("the file itself is valid");
    let listeners = Listeners {
        public: TcpListener::bind("127.0.0.1:0").await.expect("bind"),
        admin: TcpListener::bind("127.0.0.1:0").await.expect("bind"),
    };
    let started = tokio::time::timeout(
        Duration::from_secs(15),
        run(config, listeners, std::future::pending()),
    )
    .await
    .expect("run returns at once");
    let error = started.expect_err("an unusable key is refused");
    assert!(
        error.to_string().contains("gateway.admin_tls.key_file"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_listener_speaks_https_and_reloads_its_certificate() {
    let ca = Authority::new();
    let (old, new) = (ca.issue("admin-old"), ca.issue("admin-new"));
    let scratch = Scratch::new("admin");
    let (cert, key) = scratch.write_issued("admin", &old);
    let mut server =
        Server::start_from_file(&scratch.config(&tls_table("gateway.admin_tls", &cert, &key)))
            .await;
    server.admin_transport = ca.transport();

    assert_eq!(server.admin_get("/healthz").await, (200, "ok\n".into()));
    let plain = http_exchange(
        &Transport::Plain,
        &server.admin,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap_or_default();
    assert!(!plain.starts_with("HTTP/"), "plain HTTP answered: {plain}");

    scratch.write_issued("admin", &new);
    let (status, body) = server.api("POST", "/api/v1/reload", "").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("gateway.admin_tls"), "{body}");
    assert_eq!(server.admin_get("/readyz").await.0, 200);
    // The public listener is untouched: still plain ws://.
    let (connector, _) = Client::connector(&server.addr).await;
    assert_eq!(connector.server_certificate(), None);
    server.stop(Stop::Fast).await;
}
