//! The graceful drain as a load balancer sees it: new upgrades answered 503 while the sessions
//! already open are still served.

mod common;

use common::gateway::*;
use serde_json::json;
use switchboard::gateway::Stop;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn during_the_drain_a_new_upgrade_gets_503_while_open_sessions_are_served() {
    let mut config = test_config();
    // Far longer than the test: the drain is still on when the test ends, whatever the speed of
    // the machine, so no assertion races its end.
    config.gateway.shutdown_drain_ms = 600_000;
    let mut server = Server::start(config).await;
    let (mut connector, _) = Client::connector(&server.addr).await;

    server.signal(Stop::Graceful).await;
    while server.admin_get("/readyz").await.0 == 200 {
        tokio::task::yield_now().await;
    }

    let upgrade = format!(
        "GET /v1/connector HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Authorization: Bearer {CONNECTOR_KEY}\r\n\r\n",
        server.addr
    );
    // The server closes the connection after its answer, or `http_exchange` would not return.
    let response = http_exchange(&Transport::Plain, &server.addr, &upgrade)
        .await
        .expect("the connection is accepted, not refused");
    let head = response.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 503"), "{response}");
    assert!(head.contains("\r\nretry-after: 1\r\n"), "{response}");
    assert!(head.contains("\r\nconnection: close\r\n"), "{response}");
    assert_eq!(
        connect(&server.addr, "/v1/agent", "any-token").await.err(),
        Some(503)
    );

    connector.send(json!({"type": "ping"})).await;
    connector.expect("pong").await;
    // The drain outlasts the test, so the shards still run: their routers are checked here
    // rather than by a stop.
    server.check_invariants().await;
}
