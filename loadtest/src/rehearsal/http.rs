//! A minimal HTTP/1.1 GET for the gateway's admin listener (`/metrics`, `/readyz`, the admin
//! API): one request per connection, `Connection: close`, the body read to the end. The admin
//! listener answers with a `Content-Length` body, so no chunked decoding is needed.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Most bytes read from one response.
const MAX_BODY: u64 = 16 << 20;

/// How long one request may take.
const PATIENCE: Duration = Duration::from_secs(5);

/// `GET path` on `http://HOST:PORT` (with `Authorization: Bearer token` when given): the status
/// code and the body.
pub async fn get(base: &str, path: &str, token: Option<&str>) -> Result<(u16, String), String> {
    let host = base
        .strip_prefix("http://")
        .unwrap_or(base)
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let auth = token.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n"));
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Connection: close\r\n\r\n");
    let fetch = async {
        let mut stream = TcpStream::connect(&host)
            .await
            .map_err(|e| format!("cannot connect to {host}: {e}"))?;
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("cannot ask {host}{path}: {e}"))?;
        let mut response = Vec::new();
        stream
            .take(MAX_BODY)
            .read_to_end(&mut response)
            .await
            .map_err(|e| format!("cannot read {host}{path}: {e}"))?;
        Ok::<_, String>(String::from_utf8_lossy(&response).into_owned())
    };
    let response = tokio::time::timeout(PATIENCE, fetch)
        .await
        .map_err(|_| format!("{host}{path} did not answer within {PATIENCE:?}"))??;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{host}{path}: not an HTTP response"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("{host}{path}: no status in {:?}", head.lines().next()))?;
    Ok((status, body.to_string()))
}
