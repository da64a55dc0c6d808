//! Who is connecting: connectors by API key, agents and bots by an HS256 JWT signed per tenant.
//!
//! Checked before the WebSocket upgrade; any failure answers 401 and the socket is never
//! upgraded. API keys are compared here in constant time; JWTs are signed and verified by the
//! `jsonwebtoken` crate, whose HMAC check is constant-time too. Nothing here logs a token or a key.
//! docs/protocol.md ("Connecting") lists every check made here, claim by claim.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Deserialize;

use switchboard_config::{Config, MAX_CAPACITY};
pub use switchboard_tenant::{Claims, Role};

/// Clock skew tolerated on `exp` and `nbf`: the issuer's clock and ours may disagree a little.
pub const LEEWAY_SECS: u64 = 30;

/// Longest `sub`, in bytes.
pub const MAX_SUB_BYTES: usize = 128;

/// Longest credential looked at, in bytes: far above any key or token we issue, and small
/// enough that a huge one costs no parsing or hashing before it is refused.
pub const MAX_CREDENTIAL_BYTES: usize = 4096;

/// Why a client was refused. Never told to the client: every refusal is the same 401.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No credentials were presented.
    #[error("no credentials")]
    Missing,
    /// Not three base64url parts of JSON, or a header naming no algorithm we know (`none`).
    #[error("malformed token")]
    Malformed,
    /// A known algorithm other than HS256.
    #[error("unsupported algorithm")]
    Algorithm,
    /// The tenant is unknown or takes no agents.
    #[error("unknown tenant")]
    UnknownTenant,
    /// The signature does not match.
    #[error("bad signature")]
    BadSignature,
    /// Past its `exp` by more than the leeway.
    #[error("expired")]
    Expired,
    /// Before its `nbf` by more than the leeway.
    #[error("not yet valid")]
    NotYetValid,
    /// A required claim is missing, or a claim is not of its documented type.
    #[error("missing or mistyped claim")]
    BadClaims,
    /// A claim is out of range.
    #[error("invalid claim: {0}")]
    InvalidClaim(&'static str),
    /// No connector has this key.
    #[error("unknown API key")]
    UnknownKey,
    /// Not the admin token.
    #[error("wrong admin token")]
    WrongToken,
    /// Longer than [`MAX_CREDENTIAL_BYTES`].
    #[error("credential too large")]
    TooLarge,
}

impl AuthError {
    /// The `reason` label of `switchboard_auth_failures_total`: a closed set.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::Missing => "missing",
            AuthError::Malformed => "malformed",
            AuthError::Algorithm => "algorithm",
            AuthError::UnknownTenant => "unknown_tenant",
            AuthError::BadSignature => "bad_signature",
            AuthError::Expired => "expired",
            AuthError::NotYetValid => "not_yet_valid",
            AuthError::BadClaims => "bad_claims",
            AuthError::InvalidClaim(_) => "invalid_claim",
            AuthError::UnknownKey => "unknown_key",
            AuthError::WrongToken => "wrong_token",
            AuthError::TooLarge => "too_large",
        }
    }
}

/// Where a client authenticated: the `endpoint` label of `switchboard_auth_failures_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/v1/connector`, by API key.
    Connector,
    /// `/v1/agent`, by JWT.
    Agent,
    /// The admin API, by the admin token.
    Admin,
}

impl Endpoint {
    /// Every endpoint.
    pub const ALL: [Endpoint; 3] = [Endpoint::Connector, Endpoint::Agent, Endpoint::Admin];

    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Connector => "connector",
            Endpoint::Agent => "agent",
            Endpoint::Admin => "admin",
        }
    }

    /// The ways authenticating here can fail, so their series exist from the start.
    pub fn reasons(self) -> &'static [&'static str] {
        match self {
            Endpoint::Connector => &["missing", "too_large", "unknown_key"],
            Endpoint::Agent => &[
                "missing",
                "too_large",
                "malformed",
                "algorithm",
                "unknown_tenant",
                "bad_signature",
                "expired",
                "not_yet_valid",
                "bad_claims",
                "invalid_claim",
            ],
            Endpoint::Admin => &["missing", "too_large", "wrong_token"],
        }
    }
}

/// The credential, if there is one and it is not too large to look at.
pub fn presented(credential: Option<&str>) -> Result<&str, AuthError> {
    match credential {
        None => Err(AuthError::Missing),
        Some(c) if c.len() > MAX_CREDENTIAL_BYTES => Err(AuthError::TooLarge),
        Some(c) => Ok(c),
    }
}

/// Checks the admin token in constant time; `expected` must not be empty (an empty admin token
/// disables the API before any credential is looked at).
pub fn verify_admin(given: &str, expected: &str) -> Result<(), AuthError> {
    if constant_time_eq(given.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(AuthError::WrongToken)
    }
}

/// Why a token could not be signed.
#[derive(Debug, thiserror::Error)]
#[error("cannot sign the token")]
pub struct SignError(#[source] jsonwebtoken::errors::Error);

/// Signs claims with a tenant's secret, HS256 (for `switchboard token` and tests).
pub fn sign(claims: &Claims, secret: &[u8]) -> Result<String, SignError> {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .map_err(SignError)
}

/// Verifies an agent token against the configuration, at the wall clock's time.
pub fn verify_agent(token: &str, config: &Config) -> Result<Claims, AuthError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Malformed)?;
    if header.alg != Algorithm::HS256 {
        return Err(AuthError::Algorithm);
    }
    let secret = tenant_secret(token, config)?;
    let claims = jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(secret), &rules())
        .map_err(|e| refusal(e.kind()))?
        .claims;
    check_ranges(&claims)?;
    Ok(claims)
}

/// The secret of the tenant the token names. The key depends on the `tenant` claim, so that one
/// claim is read before the signature is checked; nothing else unverified is used.
fn tenant_secret<'a>(token: &str, config: &'a Config) -> Result<&'a [u8], AuthError> {
    #[derive(Deserialize)]
    struct Unverified {
        tenant: Option<String>,
    }
    let unverified = jsonwebtoken::dangerous::insecure_decode::<Unverified>(token)
        .map_err(|_| AuthError::Malformed)?
        .claims;
    let tenant = unverified.tenant.ok_or(AuthError::BadClaims)?;
    config
        .tenants
        .iter()
        .find(|t| t.id == tenant)
        .map(|t| t.jwt_secret.as_bytes())
        .filter(|s| !s.is_empty())
        .ok_or(AuthError::UnknownTenant)
}

/// What `jsonwebtoken` checks for us: HS256 only, `exp` and `sub` present, `exp` and `nbf`
/// within the leeway. `aud` and `iss` are ignored, as docs/protocol.md says: a tenant's secret
/// already fixes who the token is for.
fn rules() -> Validation {
    let mut rules = Validation::new(Algorithm::HS256);
    rules.leeway = LEEWAY_SECS;
    rules.validate_exp = true;
    rules.validate_nbf = true;
    rules.validate_aud = false;
    rules.set_required_spec_claims(&["exp", "sub"]);
    rules
}

fn refusal(kind: &ErrorKind) -> AuthError {
    match kind {
        ErrorKind::InvalidSignature => AuthError::BadSignature,
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::InvalidAlgorithm => AuthError::Algorithm,
        // The header was decoded before, so a JSON error here is in the claims.
        ErrorKind::MissingRequiredClaim(_)
        | ErrorKind::InvalidClaimFormat(_)
        | ErrorKind::Json(_) => AuthError::BadClaims,
        _ => AuthError::Malformed,
    }
}

/// The ranges docs/protocol.md gives, which types alone do not hold.
fn check_ranges(claims: &Claims) -> Result<(), AuthError> {
    if claims.sub.is_empty() || claims.sub.len() > MAX_SUB_BYTES {
        return Err(AuthError::InvalidClaim("sub"));
    }
    if claims.capacity == 0 || claims.capacity > MAX_CAPACITY {
        return Err(AuthError::InvalidClaim("capacity"));
    }
    if claims.skills.values().any(|l| !(1..=10).contains(l)) {
        return Err(AuthError::InvalidClaim("skills"));
    }
    Ok(())
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
    use crate::gateway::unix_now;

    fn config() -> Config {
        Config::embedded()
    }

    fn claims() -> Claims {
        Claims {
            sub: "alice".into(),
            tenant: "default".into(),
            role: Role::Agent,
            skills: [("general".to_string(), 7)].into_iter().collect(),
            capacity: 3,
            exp: unix_now() + 3600,
            name: None,
            auto_accept: false,
        }
    }

    fn signed(claims: &Claims, secret: &[u8]) -> String {
        sign(claims, secret).expect("HS256 signs any claims")
    }

    /// A token of arbitrary JSON claims and algorithm, for what `Claims` cannot express.
    fn raw(alg: Algorithm, claims: &serde_json::Value, secret: &[u8]) -> String {
        jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret))
            .expect("HMAC signs any claims")
    }

    #[test]
    fn a_signed_token_verifies_and_a_tampered_one_does_not() {
        let config = config();
        let secret = config.tenants[0].jwt_secret.as_bytes();
        let token = signed(&claims(), secret);
        assert_eq!(verify_agent(&token, &config), Ok(claims()));
        let mut forged = claims();
        forged.capacity = 500;
        let forged_token = signed(&forged, b"some-other-secret-entirely");
        let parts: Vec<&str> = token.split('.').collect();
        let forged_parts: Vec<&str> = forged_token.split('.').collect();
        let spliced = format!("{}.{}.{}", parts[0], forged_parts[1], parts[2]);
        assert_eq!(
            verify_agent(&spliced, &config),
            Err(AuthError::BadSignature)
        );
        assert_eq!(verify_agent("a.b", &config), Err(AuthError::Malformed));
    }

    #[test]
    fn each_refusal_has_its_reason() {
        let config = config();
        let secret = config.tenants[0].jwt_secret.as_bytes();
        let now = unix_now();
        let mut c = claims();
        c.exp = now - LEEWAY_SECS / 3;
        assert_eq!(verify_agent(&signed(&c, secret), &config), Ok(c.clone()));
        c.exp = now - 2 * LEEWAY_SECS;
        assert_eq!(
            verify_agent(&signed(&c, secret), &config),
            Err(AuthError::Expired)
        );
        let mut json = serde_json::to_value(claims()).expect("claims are JSON");
        json["nbf"] = (now + 3600).into();
        assert_eq!(
            verify_agent(&raw(Algorithm::HS256, &json, secret), &config),
            Err(AuthError::NotYetValid)
        );
        let mut json = serde_json::to_value(claims()).expect("claims are JSON");
        if let Some(object) = json.as_object_mut() {
            object.remove("skills");
        }
        assert_eq!(
            verify_agent(&raw(Algorithm::HS256, &json, secret), &config),
            Err(AuthError::BadClaims)
        );
        let json = serde_json::to_value(claims()).expect("claims are JSON");
        assert_eq!(
            verify_agent(&raw(Algorithm::HS384, &json, secret), &config),
            Err(AuthError::Algorithm)
        );
        // A role is `agent` or `bot`: serde refuses anything else, as a mistyped claim.
        let mut json = serde_json::to_value(claims()).expect("claims are JSON");
        json["role"] = "admin".into();
        assert_eq!(
            verify_agent(&raw(Algorithm::HS256, &json, secret), &config),
            Err(AuthError::BadClaims)
        );
        json["role"] = "bot".into();
        let bot = verify_agent(&raw(Algorithm::HS256, &json, secret), &config);
        assert_eq!(bot.map(|c| c.role), Ok(Role::Bot));
    }

    #[test]
    fn claims_are_checked() {
        let config = config();
        let secret = config.tenants[0].jwt_secret.as_bytes();
        let mut c = claims();
        c.capacity = 0;
        assert_eq!(
            verify_agent(&signed(&c, secret), &config),
            Err(AuthError::InvalidClaim("capacity"))
        );
        let mut c = claims();
        c.sub = "x".repeat(MAX_SUB_BYTES + 1);
        assert_eq!(
            verify_agent(&signed(&c, secret), &config),
            Err(AuthError::InvalidClaim("sub"))
        );
        let mut c = claims();
        c.tenant = "elsewhere".into();
        assert_eq!(
            verify_agent(&signed(&c, secret), &config),
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

    #[test]
    fn a_credential_is_looked_at_only_when_present_and_small() {
        assert_eq!(presented(None), Err(AuthError::Missing));
        let huge = "k".repeat(MAX_CREDENTIAL_BYTES + 1);
        assert_eq!(presented(Some(&huge)), Err(AuthError::TooLarge));
        let largest = "k".repeat(MAX_CREDENTIAL_BYTES);
        assert_eq!(presented(Some(&largest)), Ok(largest.as_str()));
        for endpoint in Endpoint::ALL {
            assert!(endpoint.reasons().contains(&AuthError::TooLarge.reason()));
        }
        assert_eq!(verify_admin("token", "token"), Ok(()));
        assert_eq!(verify_admin("tokem", "token"), Err(AuthError::WrongToken));
    }
}
