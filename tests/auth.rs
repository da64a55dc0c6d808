//! Agent JWTs over real sockets, claim by claim as docs/protocol.md ("Connecting") states them:
//! HS256 only, 30 s leeway on `exp` and `nbf`, every required claim present. A refusal is an
//! HTTP 401 before the upgrade.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::gateway::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use switchboard::gateway::{unix_now, Stop};

/// The claims of a token the doc says is good, expiring `exp_in_secs` from now (negative: past).
fn claims(exp_in_secs: i64) -> Value {
    json!({
        "sub": "alice",
        "tenant": "default",
        "role": "agent",
        "skills": {"general": 5},
        "capacity": 2,
        "exp": unix_now().saturating_add_signed(exp_in_secs),
    })
}

fn secret(server: &Server) -> Vec<u8> {
    server.config.tenants[0].jwt_secret.as_bytes().to_vec()
}

/// A token as a standard JWT library signs it.
fn signed(alg: Algorithm, claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret))
        .expect("HMAC signs any claims")
}

/// A token with any header at all, signed HMAC-SHA256 with `secret` whatever the header says:
/// what an attacker who knows a public key, or none, would try.
fn forged(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = jsonwebtoken::crypto::sign(
        input.as_bytes(),
        &EncodingKey::from_secret(secret),
        Algorithm::HS256,
    )
    .expect("HMAC signs anything");
    format!("{input}.{signature}")
}

/// The status of an agent connection with this token: Ok after a welcome, else the HTTP status.
async fn outcome(server: &Server, token: &str) -> Result<(), u16> {
    let mut client = connect(&server.addr, "/v1/agent", token).await?;
    let welcome = client.hello(None).await;
    assert_eq!(welcome["type"], "welcome", "{welcome}");
    assert_eq!(welcome["tenant"], "default");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_token_is_welcomed() {
    let server = Server::start(test_config()).await;
    let token = signed(Algorithm::HS256, &claims(3600), &secret(&server));
    assert_eq!(outcome(&server, &token).await, Ok(()));
    server.stop(Stop::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_expired_within_the_leeway_is_accepted() {
    let server = Server::start(test_config()).await;
    let token = signed(Algorithm::HS256, &claims(-10), &secret(&server));
    assert_eq!(
        outcome(&server, &token).await,
        Ok(()),
        "10 s past exp is inside the 30 s leeway"
    );
    server.stop(Stop::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_expired_beyond_the_leeway_is_refused() {
    let server = Server::start(test_config()).await;
    let token = signed(Algorithm::HS256, &claims(-60), &secret(&server));
    assert_eq!(outcome(&server, &token).await, Err(401));
    server.stop(Stop::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_not_valid_before_an_hour_from_now_is_refused() {
    let server = Server::start(test_config()).await;
    let mut early = claims(7200);
    early["nbf"] = json!(unix_now() + 3600);
    let token = signed(Algorithm::HS256, &early, &secret(&server));
    assert_eq!(outcome(&server, &token).await, Err(401));
    let mut just_in_time = claims(7200);
    just_in_time["nbf"] = json!(unix_now() + 10);
    let token = signed(Algorithm::HS256, &just_in_time, &secret(&server));
    assert_eq!(
        outcome(&server, &token).await,
        Ok(()),
        "10 s before nbf is inside the 30 s leeway"
    );
    server.stop(Stop::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_missing_any_required_claim_is_refused() {
    let server = Server::start(test_config()).await;
    for claim in ["sub", "tenant", "role", "skills", "capacity", "exp"] {
        let mut partial = claims(3600);
        if let Some(object) = partial.as_object_mut() {
            object.remove(claim);
        }
        let token = signed(Algorithm::HS256, &partial, &secret(&server));
        assert_eq!(
            outcome(&server, &token).await,
            Err(401),
            "a token without {claim:?} must be refused"
        );
    }
    let mut no_skills = claims(3600);
    no_skills["skills"] = json!({});
    let token = signed(Algorithm::HS256, &no_skills, &secret(&server));
    assert_eq!(
        outcome(&server, &token).await,
        Ok(()),
        "an empty skills object is present: a bot needs none"
    );
    server.stop(Stop::Fast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_hs256_with_the_tenants_secret_is_accepted() {
    let server = Server::start(test_config()).await;
    let secret = secret(&server);
    let good = claims(3600);
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string()),
        URL_SAFE_NO_PAD.encode(good.to_string())
    );
    let refused = [
        ("alg none, no signature", unsigned),
        (
            "alg none, with an HMAC signature",
            forged(&json!({"alg": "none", "typ": "JWT"}), &good, &secret),
        ),
        (
            "alg RS256, signed HMAC with the secret",
            forged(&json!({"alg": "RS256", "typ": "JWT"}), &good, &secret),
        ),
        (
            "HS384 with the right secret",
            signed(Algorithm::HS384, &good, &secret),
        ),
        (
            "HS256 with the wrong secret",
            signed(Algorithm::HS256, &good, b"not-the-tenants-secret-at-all"),
        ),
    ];
    for (what, token) in refused {
        assert_eq!(outcome(&server, &token).await, Err(401), "{what}");
    }
    assert_eq!(
        outcome(
            &server,
            &forged(&json!({"alg": "HS256", "typ": "JWT"}), &good, &secret)
        )
        .await,
        Ok(()),
        "the forging helper itself makes good tokens when the header is honest"
    );
    server.stop(Stop::Fast).await;
}
