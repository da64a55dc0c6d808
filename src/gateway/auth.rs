//! Who is connecting: connectors by API key, agents and bots by an HS256 JWT signed per tenant.
//!
//! Checked before the WebSocket upgrade; any failure answers 401 and the socket is never
//! upgraded. Secrets are compared in constant time. Nothing here logs a token or a key.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::config::{Config, MAX_CAPACITY};

type HmacSha256 = Hmac<Sha256>;

/// The claims of an agent or bot token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The agent's id within the tenant.
    pub sub: String,
    /// The tenant whose secret signed the token.
    pub tenant: String,
    /// `agent` (a human) or `bot`.
    pub role: String,
    /// Skill name → level 1–10.
    #[serde(default)]
    pub skills: BTreeMap<String, u8>,
    /// Most conversations at once.
    pub capacity: u32,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Display name shown to customers, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Accept offers without an explicit `accept` (bots always do).
    #[serde(default)]
    pub auto_accept: bool,
}

/// Why a client was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No credentials were presented.
    #[error("no credentials")]
    Missing,
    /// The token is not three base64url parts of JSON.
    #[error("malformed token")]
    Malformed,
    /// Not HS256.
    #[error("unsupported algorithm")]
    Algorithm,
    /// The tenant is unknown or takes no agents.
    #[error("unknown tenant")]
    UnknownTenant,
    /// The signature does not match.
    #[error("bad signature")]
    BadSignature,
    /// Past its `exp`.
    #[error("expired")]
    Expired,
    /// A claim is out of range.
    #[error("invalid claim: {0}")]
    InvalidClaim(&'static str),
    /// No connector has this key.
    #[error("unknown API key")]
    UnknownKey,
}

/// Signs claims with a tenant's secret (for `switchboard token` and tests).
pub fn sign(claims: &Claims, secret: &[u8]) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signing_input = format!("{header}.{payload}");
    let signature = mac(secret, signing_input.as_bytes())
        .finalize()
        .into_bytes();
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn mac(secret: &[u8], data: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => unreachable_hmac(),
    };
    mac.update(data);
    mac
}

#[cold]
fn unreachable_hmac() -> ! {
    panic!("HMAC-SHA256 takes keys of any length")
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

/// Verifies an agent token against the configuration at `now` (seconds since the Unix epoch).
pub fn verify_agent(token: &str, config: &Config, now: u64) -> Result<Claims, AuthError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Malformed);
    };
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| AuthError::Malformed)
    };
    let header: Header =
        serde_json::from_slice(&decode(header)?).map_err(|_| AuthError::Malformed)?;
    if header.alg != "HS256" {
        return Err(AuthError::Algorithm);
    }
    let claims: Claims =
        serde_json::from_slice(&decode(payload)?).map_err(|_| AuthError::Malformed)?;
    let secret = config
        .tenants
        .iter()
        .find(|t| t.id == claims.tenant)
        .map(|t| t.jwt_secret.as_bytes())
        .filter(|s| !s.is_empty())
        .ok_or(AuthError::UnknownTenant)?;
    let signing_input = &token[..token.len() - signature.len() - 1];
    mac(secret, signing_input.as_bytes())
        .verify_slice(&decode(signature)?)
        .map_err(|_| AuthError::BadSignature)?;
    if claims.exp <= now {
        return Err(AuthError::Expired);
    }
    if claims.sub.is_empty() || claims.sub.len() > 128 {
        return Err(AuthError::InvalidClaim("sub"));
    }
    if claims.role != "agent" && claims.role != "bot" {
        return Err(AuthError::InvalidClaim("role"));
    }
    if claims.capacity == 0 || claims.capacity > MAX_CAPACITY {
        return Err(AuthError::InvalidClaim("capacity"));
    }
    if claims.skills.values().any(|l| !(1..=10).contains(l)) {
        return Err(AuthError::InvalidClaim("skills"));
    }
    Ok(claims)
}

/// Finds the connector presenting `key`: (connector name, tenant id).
pub fn verify_connector<'a>(
    key: &str,
    config: &'a Config,
) -> Result<(&'a str, &'a str), AuthError> {
    let mut found = None;
    // Compare against every key, in constant time each, so timing says nothing about which
    // key was close.
    for connector in &config.connectors {
        if constant_time_eq(connector.api_key.as_bytes(), key.as_bytes()) {
            found = Some((connector.name.as_str(), connector.tenant.as_str()));
        }
    }
    found.ok_or(AuthError::UnknownKey)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The credential of a request: `Authorization: Bearer X`, else the `token` query parameter.
pub fn credential<'a>(authorization: Option<&'a str>, query: Option<&'a str>) -> Option<&'a str> {
    if let Some(value) = authorization {
        if let Some(token) = value.strip_prefix("Bearer ") {
            return Some(token.trim());
        }
    }
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::embedded()
    }

    fn claims() -> Claims {
        Claims {
            sub: "alice".into(),
            tenant: "default".into(),
            role: "agent".into(),
            skills: [("general".to_string(), 7)].into_iter().collect(),
            capacity: 3,
            exp: 2_000_000_000,
            name: None,
            auto_accept: false,
        }
    }

    #[test]
    fn a_signed_token_verifies_and_a_tampered_one_does_not() {
        let config = config();
        let secret = config.tenants[0].jwt_secret.as_bytes();
        let token = sign(&claims(), secret);
        assert_eq!(verify_agent(&token, &config, 1_000), Ok(claims()));
        let mut forged = claims();
        forged.capacity = 500;
        let forged_payload = sign(&forged, b"some-other-secret-entirely");
        let parts: Vec<&str> = token.split('.').collect();
        let forged_parts: Vec<&str> = forged_payload.split('.').collect();
        let spliced = format!("{}.{}.{}", parts[0], forged_parts[1], parts[2]);
        assert_eq!(
            verify_agent(&spliced, &config, 1_000),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            verify_agent(&token, &config, 2_000_000_000),
            Err(AuthError::Expired)
        );
        assert_eq!(verify_agent("a.b", &config, 0), Err(AuthError::Malformed));
    }

    #[test]
    fn claims_are_checked() {
        let config = config();
        let secret = config.tenants[0].jwt_secret.as_bytes();
        let mut c = claims();
        c.capacity = 0;
        assert_eq!(
            verify_agent(&sign(&c, secret), &config, 0),
            Err(AuthError::InvalidClaim("capacity"))
        );
        let mut c = claims();
        c.tenant = "elsewhere".into();
        assert_eq!(
            verify_agent(&sign(&c, secret), &config, 0),
            Err(AuthError::UnknownTenant)
        );
    }

    #[test]
    fn credentials_come_from_the_header_or_the_query() {
        assert_eq!(credential(Some("Bearer abc"), None), Some("abc"));
        assert_eq!(credential(None, Some("x=1&token=def")), Some("def"));
        assert_eq!(credential(Some("Basic zzz"), Some("token=q")), Some("q"));
        assert_eq!(credential(None, Some("token=")), None);
        let config = config();
        assert_eq!(
            verify_connector("dev-connector-key-change-me", &config),
            Ok(("demo-app", "default"))
        );
        assert_eq!(
            verify_connector("nope", &config),
            Err(AuthError::UnknownKey)
        );
    }
}
