//! Failed authentications are counted by endpoint and reason, and a source that keeps failing
//! is answered 429 with `Retry-After`, while a valid credential from it is still accepted.

mod common;

use common::gateway::*;
use serde_json::json;
use switchboard::gateway::auth::MAX_CREDENTIAL_BYTES;
use switchboard::gateway::Stop;

const PER_MINUTE: u32 = 3;

/// Attempts that may pass before the throttle must have answered 429: far more than the
/// allowance, so only a machine taking minutes per request could miss it.
const ATTEMPTS: usize = 50;

fn failures(endpoint: &str, reason: &str) -> String {
    format!("switchboard_auth_failures_total{{endpoint=\"{endpoint}\",reason=\"{reason}\"}}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_upgrades_are_counted_and_throttled_while_a_valid_key_still_gets_in() {
    let mut config = test_config();
    config.gateway.auth_failures_per_minute = PER_MINUTE;
    let server = Server::start(config).await;

    // The allowance: each failure is a 401, whatever its reason.
    let huge = "k".repeat(MAX_CREDENTIAL_BYTES + 1);
    assert_eq!(
        connect(&server.addr, "/v1/connector", &huge).await.err(),
        Some(401)
    );
    assert_eq!(
        connect(&server.addr, "/v1/agent", "not.a.jwt").await.err(),
        Some(401)
    );
    assert_eq!(
        connect(&server.addr, "/v1/connector", "wrong-key-0000000")
            .await
            .err(),
        Some(401)
    );

    let mut wrong_keys = 1.0;
    let throttled = loop {
        let request = upgrade_request("/v1/connector", "wrong-key-0000000");
        let response = http_exchange(&Transport::Plain, &server.addr, &request)
            .await
            .expect("the connection is accepted");
        wrong_keys += 1.0;
        if status_of(&response) == 429 {
            break response;
        }
        assert!(wrong_keys < ATTEMPTS as f64, "never throttled: {response}");
    };
    let head = throttled.to_ascii_lowercase();
    assert!(head.contains("\r\nretry-after: "), "{throttled}");
    assert!(head.contains("\r\nconnection: close\r\n"), "{throttled}");

    // A valid key from the same address is accepted and served.
    let (mut connector, _) = Client::connector(&server.addr).await;
    connector.send(json!({"type": "ping"})).await;
    connector.expect("pong").await;

    for (series, count) in [
        (failures("connector", "too_large"), 1.0),
        (failures("agent", "malformed"), 1.0),
        (failures("connector", "unknown_key"), wrong_keys),
        (failures("admin", "wrong_token"), 0.0),
    ] {
        assert_eq!(server.metric(&series).await, Some(count), "{series}");
    }
    server.stop(Stop::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_counts_and_throttles_wrong_tokens_but_takes_the_right_one() {
    let mut config = test_config();
    config.gateway.auth_failures_per_minute = PER_MINUTE;
    let server = Server::start(config).await;

    for _ in 0..PER_MINUTE {
        let (status, _) = server
            .admin_request("GET", "/api/v1/stats", Some("wrong"), "")
            .await;
        assert_eq!(status, 401);
    }
    let mut attempts = PER_MINUTE as usize;
    let throttled = loop {
        let response = server
            .admin_exchange("GET", "/api/v1/stats", None, "")
            .await;
        attempts += 1;
        if status_of(&response) == 429 {
            break response;
        }
        assert!(attempts < ATTEMPTS, "never throttled: {response}");
    };
    assert!(
        throttled.to_ascii_lowercase().contains("\r\nretry-after: "),
        "{throttled}"
    );

    let (status, body) = server.api("GET", "/api/v1/stats", "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        server.metric(&failures("admin", "wrong_token")).await,
        Some(f64::from(PER_MINUTE))
    );
    assert_eq!(
        server.metric(&failures("admin", "missing")).await,
        Some((attempts - PER_MINUTE as usize) as f64)
    );
    server.stop(Stop::Fast).await;
}
