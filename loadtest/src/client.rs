//! The client side of the protocol, as much as the bench needs: connect, hello, build
//! `customer_message` frames, and scan what comes back without a full JSON parse on the hot path.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

/// A client socket.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long any single network step (connect, handshake) may take before the bench gives up.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// What every bench client says first.
pub const HELLO: &str = r#"{"type":"hello","seq":1,"protocol":1,"client":"gateway-bench/0.1"}"#;

/// The customer's text: an ordinary Chinese question, so the gateway's sentiment scorer, order
/// number extraction and human-request detection do their usual work on it.
pub const TEXT: &str = "你好，请问我的订单什么时候发货？谢谢";

/// Socket settings for a bench client.
///
/// `small` is for idle connections: a 4 KiB read buffer instead of tungstenite's 128 KiB, so
/// 10,000 of them fit in the generator. Active sockets keep the larger buffer: the generator
/// should be as cheap as possible per message, whichever target it drives. Incoming frames may
/// be large (an offer carries a transcript), hence the 16 MiB limit.
pub fn ws_config(small: bool) -> WebSocketConfig {
    let config = WebSocketConfig::default()
        .max_message_size(Some(16 << 20))
        .max_frame_size(Some(16 << 20));
    if small {
        config.read_buffer_size(4096).write_buffer_size(4096)
    } else {
        config
    }
}

/// What `wss://` targets are verified against, set once from `--tls-cert`. Process-wide because
/// every socket of a run (rig, idle pool, background pool) needs the same trust and carries
/// only its target's base URL.
static TRUST: OnceLock<Arc<ClientConfig>> = OnceLock::new();

/// Trusts the certificates in this PEM file (a CA, or the server's self-signed certificate) for
/// every `wss://` connection from now on; it offers ALPN `http/1.1`, as a browser would.
pub fn trust(pem_file: &Path) -> Result<(), String> {
    let shown = pem_file.display();
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(pem_file)
        .map_err(|e| format!("--tls-cert: cannot read {shown}: {e}"))?
    {
        let cert = cert.map_err(|e| format!("--tls-cert: {shown}: {e}"))?;
        roots
            .add(cert)
            .map_err(|e| format!("--tls-cert: {shown}: not usable as a trust anchor: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("--tls-cert: {shown} holds no PEM certificate"));
    }
    let mut config = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    TRUST
        .set(Arc::new(config))
        .map_err(|_| "the TLS trust is already set".to_string())
}

/// Opens a WebSocket to `base` + `path` with a bearer credential, TCP_NODELAY on; over TLS when
/// `base` is `wss://` (after [`trust`]).
pub async fn connect(
    base: &str,
    path: &str,
    credential: &str,
    config: WebSocketConfig,
) -> Result<Ws, String> {
    let url = format!("{base}{path}");
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| format!("bad URL {url}: {e}"))?;
    let bearer = HeaderValue::from_str(&format!("Bearer {credential}"))
        .map_err(|e| format!("bad credential: {e}"))?;
    request.headers_mut().insert("Authorization", bearer);
    let connector = if url.starts_with("wss://") {
        let trust = TRUST.get().ok_or("a wss:// target needs --tls-cert")?;
        Some(Connector::Rustls(Arc::clone(trust)))
    } else {
        None
    };
    let connecting =
        tokio_tungstenite::connect_async_tls_with_config(request, Some(config), true, connector);
    match tokio::time::timeout(PATIENCE, connecting).await {
        Err(_) => Err(format!("connecting to {url} timed out after {PATIENCE:?}")),
        Ok(Err(e)) => Err(format!("connecting to {url} failed: {e}")),
        Ok(Ok((ws, _response))) => Ok(ws),
    }
}

/// Sends `hello` and reads until `welcome`. Anything that closes the socket or an `error` first
/// is a failure with the server's words.
pub async fn handshake(ws: &mut Ws) -> Result<(), String> {
    ws.send(Message::text(HELLO))
        .await
        .map_err(|e| format!("sending hello failed: {e}"))?;
    loop {
        let frame = tokio::time::timeout(PATIENCE, ws.next())
            .await
            .map_err(|_| format!("no welcome within {PATIENCE:?}"))?;
        match frame {
            Some(Ok(Message::Text(text))) => match frame_type(&text).as_deref() {
                Some("welcome") => return Ok(()),
                Some("error") => return Err(format!("hello refused: {text}")),
                _ => {}
            },
            Some(Ok(Message::Close(frame))) => {
                return Err(format!("closed before welcome: {frame:?}"));
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(format!("reading welcome failed: {e}")),
            None => return Err("closed before welcome".into()),
        }
    }
}

/// Connects and completes the handshake.
pub async fn open(
    base: &str,
    path: &str,
    credential: &str,
    config: WebSocketConfig,
) -> Result<Ws, String> {
    let mut ws = connect(base, path, credential, config).await?;
    handshake(&mut ws).await?;
    Ok(ws)
}

/// The `type` of a single-object frame; `None` for a batch or anything unexpected.
///
/// Both servers put `type` first, so this is a prefix check; the fallback parses.
pub fn frame_type(text: &str) -> Option<String> {
    if let Some(rest) = text.strip_prefix(r#"{"type":""#) {
        return rest.split('"').next().map(str::to_string);
    }
    let value: Value = serde_json::from_str(text).ok()?;
    value.get("type")?.as_str().map(str::to_string)
}

/// The conversation id of connector `connector`'s conversation `index`.
pub fn conversation_id(connector: usize, index: usize) -> String {
    format!("c{connector}-{index}")
}

/// What a message id says: which connector sent it, when it was meant to be sent and when it
/// actually was.
///
/// Format `m{connector}-{counter}-{intended_ns}-{sent_ns}`: the counter keeps ids unique within
/// the conversation (the gateway refuses a repeated id as a duplicate); the `m` marks a measured
/// message, apart from conversation-opening ones (`o…`, delivered inside an offer instead).
/// `sent_ns` is taken when the frame is built, just before it is handed to the socket, so
/// receipt − sent is the latency through the target alone, without the generator's lateness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Index of the sending connector.
    pub connector: usize,
    /// Intended send time, nanoseconds since the bench epoch.
    pub intended_ns: u64,
    /// Actual send time, nanoseconds since the bench epoch.
    pub sent_ns: u64,
}

/// Appends one `customer_message` (no framing) to `out`.
#[allow(clippy::too_many_arguments)]
pub fn push_customer_message(
    out: &mut String,
    seq: u64,
    connector: usize,
    conversation: usize,
    marker: char,
    counter: u64,
    intended_ns: u64,
    sent_ns: u64,
) {
    // `write!` into a String cannot fail.
    let _ = write!(
        out,
        r#"{{"type":"customer_message","seq":{seq},"conversation":"c{connector}-{conversation}","message_id":"{marker}{connector}-{counter}-{intended_ns}-{sent_ns}","text":"{TEXT}","customer":{{"id":"u{connector}-{conversation}","tier":"standard"}},"channel":"app"}}"#
    );
}

/// Finds the stamp of a measured message in a `customer_message` frame (object form).
pub fn find_stamp(text: &str) -> Option<Stamp> {
    const KEY: &str = r#""message_id":"m"#;
    let at = text.find(KEY)? + KEY.len();
    parse_stamp_digits(&text[at..])
}

/// Parses `{connector}-{counter}-{intended_ns}-{sent_ns}` (after the `m`), up to the closing
/// quote.
fn parse_stamp_digits(rest: &str) -> Option<Stamp> {
    let end = rest.find('"').unwrap_or(rest.len());
    let mut parts = rest[..end].split('-');
    let connector = parts.next()?.parse().ok()?;
    let _counter: u64 = parts.next()?.parse().ok()?;
    let intended_ns = parts.next()?.parse().ok()?;
    let sent_ns = parts.next()?.parse().ok()?;
    Some(Stamp {
        connector,
        intended_ns,
        sent_ns,
    })
}

/// The stamp in a message id, when it is a measured one.
pub fn stamp_of_id(id: &str) -> Option<Stamp> {
    parse_stamp_digits(id.strip_prefix('m')?)
}

/// Splits a frame into its messages: one object, or the elements of a batch.
pub fn messages(text: &str) -> Vec<Value> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => items,
        Ok(value @ Value::Object(_)) => vec![value],
        _ => Vec::new(),
    }
}

/// The `seq` of an `{"type":"ack","seq":N}` frame.
pub fn ack_seq(text: &str) -> Option<u64> {
    let rest = text.strip_prefix(r#"{"type":"ack","seq":"#)?;
    let end = rest.find(|c: char| !c.is_ascii_digit())?;
    rest[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_message_is_valid_json_and_its_stamp_reads_back() {
        let mut out = String::new();
        push_customer_message(&mut out, 7, 3, 41, 'm', 99, 123_456_789, 123_456_999);
        let value: Value = serde_json::from_str(&out).expect("valid JSON");
        assert_eq!(value["conversation"], "c3-41");
        let stamp = find_stamp(&out).expect("stamp");
        assert_eq!(stamp.connector, 3);
        assert_eq!(stamp.intended_ns, 123_456_789);
        assert_eq!(stamp.sent_ns, 123_456_999);
        assert_eq!(
            stamp_of_id(value["message_id"].as_str().unwrap()),
            Some(stamp)
        );
        // Opening messages are not measured.
        let mut open = String::new();
        push_customer_message(&mut open, 1, 0, 0, 'o', 0, 5, 5);
        assert_eq!(find_stamp(&open), None);
    }

    #[test]
    fn acks_and_types_are_read_from_the_prefix() {
        assert_eq!(ack_seq(r#"{"type":"ack","seq":12}"#), Some(12));
        assert_eq!(ack_seq(r#"{"type":"error","seq":12}"#), None);
        assert_eq!(
            frame_type(r#"{"type":"welcome","x":1}"#).as_deref(),
            Some("welcome")
        );
        assert_eq!(
            frame_type(r#"{"seq":1,"type":"offer"}"#).as_deref(),
            Some("offer")
        );
    }
}
