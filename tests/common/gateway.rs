//! A real gateway on 127.0.0.1:0 and real WebSocket clients for it.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use switchboard::engine::Probe;
use switchboard::gateway::auth::{sign, Claims};
use switchboard::gateway::tls::Tls;
use switchboard::gateway::{run_with_probe, unix_now, Listeners, Stop};
use switchboard_config::Config;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

/// The embedded development connector key.
pub const CONNECTOR_KEY: &str = "dev-connector-key-change-me";

/// The embedded development admin token.
pub const ADMIN_TOKEN: &str = "dev-admin-token-change-me";

/// How long a test waits for a frame before it calls the server hung. A guard against hangs,
/// not a speed assertion: nothing in these tests depends on how fast frames arrive.
const PATIENCE: Duration = Duration::from_secs(15);

/// How a test client reaches a listener: in the clear, or over TLS with a configuration that
/// trusts the test's own certificates (`common::tls`).
#[derive(Clone, Default)]
pub enum Transport {
    #[default]
    Plain,
    Tls(Arc<ClientConfig>),
}

impl Transport {
    /// The WebSocket URL scheme.
    fn ws(&self) -> &'static str {
        match self {
            Transport::Plain => "ws",
            Transport::Tls(_) => "wss",
        }
    }
}

/// A running gateway.
pub struct Server {
    pub addr: String,
    pub admin: String,
    pub config: Config,
    /// How `admin_request` reaches the admin listener.
    pub admin_transport: Transport,
    stop: Option<oneshot::Sender<Stop>>,
    task: JoinHandle<std::io::Result<()>>,
    /// Asks the live shards to check their routers' invariants.
    probe: Probe,
}

/// The embedded configuration, made deterministic for tests.
pub fn test_config() -> Config {
    let mut config = Config::embedded();
    config.gateway.heartbeat_secs = 30;
    config
}

impl Server {
    /// Starts a gateway with this configuration.
    pub async fn start(config: Config) -> Server {
        Self::spawn(config, None).await
    }

    /// Starts a gateway with the configuration in this file, which reloads re-read.
    pub async fn start_from_file(path: &Path) -> Server {
        let config = Config::load(path).expect("a valid configuration file");
        Self::spawn(config, Some(path)).await
    }

    async fn spawn(mut config: Config, path: Option<&Path>) -> Server {
        // Every test gateway journals, as a deployed one does (so every test also exercises the
        // hold-back of outputs until durable), each into a directory of its own.
        if config.journal.enabled() && config.journal.dir.is_relative() {
            config.journal.dir = super::process::scratch_dir("journal");
        }
        let tls = Tls::load(&config.gateway).expect("the certificates load");
        let public = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let admin = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = public.local_addr().expect("addr").to_string();
        let admin_addr = admin.local_addr().expect("addr").to_string();
        let (tx, rx) = oneshot::channel();
        let (probe_tx, probe_rx) = oneshot::channel();
        // In this process, so the test holds the engine's probe.
        let task = tokio::spawn(run_with_probe(
            config.clone(),
            path.map(Path::to_path_buf),
            tls,
            Listeners { public, admin },
            async move { rx.await.unwrap_or(Stop::Fast) },
            probe_tx,
        ));
        let probe = probe_rx.await.expect("the gateway started its shards");
        Server {
            addr,
            admin: admin_addr,
            config,
            admin_transport: Transport::Plain,
            stop: Some(tx),
            task,
            probe,
        }
    }

    /// Asks the live router of every tenant to check its invariants
    /// (`Router::check_invariants`); panics naming each tenant and its first violation. The
    /// shards answer after the inputs already queued, so what the test did is included.
    pub async fn check_invariants(&self) {
        if let Err(error) = self.invariants().await {
            panic!("{error}");
        }
    }

    async fn invariants(&self) -> Result<(), String> {
        let checked = tokio::time::timeout(PATIENCE, self.probe.check_invariants())
            .await
            .expect("the shards answered the invariant check within the test's patience");
        checked.map_err(|error| format!("the live gateway is inconsistent: {error}"))
    }

    /// Checks the routers' invariants, stops the gateway and waits until it has: panics if an
    /// invariant is broken, if it is not stopped by the deadline, or if it stopped with an
    /// error or a panic (a shard thread's included).
    pub async fn stop(mut self, how: Stop) {
        let checked = match self.stop {
            Some(_) => self.invariants().await,
            None => Ok(()),
        };
        self.signal_unchecked(how);
        // A shard that stopped answering panicked: the gateway's own error names the panic.
        self.wait(how).await;
        if let Err(error) = checked {
            panic!("{error}");
        }
    }

    /// Checks the routers' invariants, then asks the gateway to stop without waiting; the test
    /// ends with [`Server::stopped`].
    pub async fn signal(&mut self, how: Stop) {
        self.check_invariants().await;
        self.signal_unchecked(how);
    }

    fn signal_unchecked(&mut self, how: Stop) {
        if let Some(stop) = self.stop.take() {
            // Refused only if the gateway has already ended; `wait` reports how.
            let _ = stop.send(how);
        }
    }

    /// Waits for a gracefully signalled gateway to have stopped, with [`Server::stop`]'s checks
    /// of how it ended.
    pub async fn stopped(self) {
        self.wait(Stop::Graceful).await;
    }

    /// Waits for the gateway task: a guard against hangs (the configured drain and grace, plus
    /// the test's patience), never a speed assertion.
    async fn wait(self, how: Stop) {
        let gateway = &self.config.gateway;
        let deadline = match how {
            Stop::Fast => PATIENCE,
            Stop::Graceful => {
                PATIENCE
                    + Duration::from_millis(u64::from(gateway.shutdown_drain_ms))
                    + Duration::from_secs(u64::from(gateway.shutdown_grace_secs))
            }
        };
        let ended = tokio::time::timeout(deadline, self.task)
            .await
            .unwrap_or_else(|_| panic!("the gateway was still running {deadline:?} after {how:?}"));
        match ended {
            Ok(Ok(())) => {}
            Ok(Err(error)) => panic!("the gateway stopped with an error: {error}"),
            Err(join) => panic!("the gateway task failed: {join}"),
        }
    }

    /// A token for an agent or bot of a tenant.
    pub fn token(
        &self,
        tenant: &str,
        sub: &str,
        role: &str,
        skills: &[(&str, u8)],
        capacity: u32,
    ) -> String {
        token_for(&self.config, tenant, sub, role, skills, capacity)
    }

    /// A plain HTTP GET on the admin listener: (status, body).
    pub async fn admin_get(&self, path: &str) -> (u16, String) {
        self.admin_request("GET", path, None, "").await
    }

    /// An admin API request with the development admin token: (status, body).
    pub async fn api(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        self.admin_request(method, path, Some(ADMIN_TOKEN), body)
            .await
    }

    /// Any HTTP/1.1 request on the admin listener, over `admin_transport`: (status, body).
    /// (0, "") if it is gone or the TLS handshake fails.
    pub async fn admin_request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &str,
    ) -> (u16, String) {
        let response = self.admin_exchange(method, path, token, body).await;
        let body = response.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
        (status_of(&response), body)
    }

    /// [`Server::admin_request`]'s whole response, headers included; empty if it is gone.
    pub async fn admin_exchange(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &str,
    ) -> String {
        let request = admin_request_text(method, path, token, body);
        http_exchange(&self.admin_transport, &self.admin, &request)
            .await
            .unwrap_or_default()
    }

    /// An HTTP/1.1 request on the admin listener, over `admin_transport`, read only up to the
    /// end of the response's head (status line and headers), so an endless body such as the
    /// event stream does not hold the test: the head, lower-cased. Panics if the server does
    /// not answer within the test's patience.
    pub async fn admin_head(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &str,
    ) -> String {
        let request = admin_request_text(method, path, token, body);
        let stream = TcpStream::connect(&self.admin)
            .await
            .expect("admin listener");
        let head = match &self.admin_transport {
            Transport::Plain => read_head(stream, &request).await,
            Transport::Tls(config) => {
                let connector = TlsConnector::from(Arc::clone(config));
                let name = ServerName::try_from("127.0.0.1").expect("an IP address");
                let stream = connector
                    .connect(name, stream)
                    .await
                    .expect("TLS handshake");
                read_head(stream, &request).await
            }
        };
        head.to_ascii_lowercase()
    }

    /// The value of one series in `/metrics`, e.g.
    /// `switchboard_auth_failures_total{endpoint="admin",reason="missing"}`; None if absent.
    pub async fn metric(&self, series: &str) -> Option<f64> {
        let (status, text) = self.admin_get("/metrics").await;
        assert_eq!(status, 200, "/metrics answers");
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }
}

/// An HTTP/1.1 request for the admin listener, with the token as a bearer header when given.
pub fn admin_request_text(method: &str, path: &str, token: Option<&str>, body: &str) -> String {
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// The status code of a raw HTTP response; 0 if there is none.
pub fn status_of(response: &str) -> u16 {
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// A WebSocket upgrade request for `path`, with this bearer credential, asking the server to
/// close the connection if it refuses.
pub fn upgrade_request(path: &str, credential: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Authorization: Bearer {credential}\r\n\r\n"
    )
}

/// A TCP connection that sends nothing, held open by the test.
pub async fn silent(addr: &str) -> TcpStream {
    TcpStream::connect(addr)
        .await
        .expect("the kernel accepts the connection")
}

/// Waits for the server to close `stream` (end of file or reset), ignoring what it sends first.
/// Panics if it is still open after the test's patience.
pub async fn closed_by_server(mut stream: TcpStream) {
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut sink))
        .await
        .expect("the server closed the connection within the test's patience");
}

/// Sends a raw HTTP/1.1 request and reads until the server closes: the whole response, headers
/// included. None if the connection or its TLS handshake fails.
pub async fn http_exchange(transport: &Transport, addr: &str, request: &str) -> Option<String> {
    let stream = TcpStream::connect(addr).await.ok()?;
    match transport {
        Transport::Plain => exchange(stream, request).await,
        Transport::Tls(config) => {
            let connector = TlsConnector::from(Arc::clone(config));
            let name = ServerName::try_from("127.0.0.1").expect("an IP address");
            let stream = connector.connect(name, stream).await.ok()?;
            exchange(stream, request).await
        }
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &str,
) -> Option<String> {
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = Vec::new();
    // rustls reports a peer that closes without close_notify as an error; what was read counts.
    let _ = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut response))
        .await
        .expect("the server answered and closed within the test's patience");
    Some(String::from_utf8_lossy(&response).into_owned())
}

/// Sends a request and reads the response up to the end of its head.
async fn read_head<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, request: &str) -> String {
    stream
        .write_all(request.as_bytes())
        .await
        .expect("request sent");
    let mut head = Vec::new();
    let reading = async {
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match stream.read(&mut byte).await {
                Ok(1) => head.push(byte[0]),
                _ => break,
            }
        }
    };
    tokio::time::timeout(PATIENCE, reading)
        .await
        .expect("the server answered within the test's patience");
    String::from_utf8_lossy(&head).into_owned()
}

/// A token for an agent or bot of a tenant of `config`, valid for an hour.
pub fn token_for(
    config: &Config,
    tenant: &str,
    sub: &str,
    role: &str,
    skills: &[(&str, u8)],
    capacity: u32,
) -> String {
    let secret = config
        .tenants
        .iter()
        .find(|t| t.id == tenant)
        .map(|t| t.jwt_secret.clone())
        .expect("tenant");
    sign(
        &Claims {
            sub: sub.into(),
            tenant: tenant.into(),
            role: role.parse().expect("a role is agent or bot"),
            skills: skills.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            capacity,
            exp: unix_now() + 3600,
            name: Some(format!("{sub} (test)")),
            auto_accept: false,
        },
        secret.as_bytes(),
    )
    .expect("HS256 signs any claims")
}

/// A WebSocket client speaking the protocol.
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    seq: u64,
    /// Messages of a server batch not yet returned by `next`.
    batched: VecDeque<Value>,
    /// Messages read while looking for something else, in order.
    pub seen: Vec<Value>,
    close_code: Option<CloseCode>,
    close_reason: String,
}

/// Connects with a bearer credential; Err carries the HTTP status on refusal.
pub async fn connect(addr: &str, path: &str, credential: &str) -> Result<Client, u16> {
    connect_via(&Transport::Plain, addr, path, credential).await
}

/// [`connect`] over a transport: `wss://` to the gateway's IP address, verified against the
/// transport's trusted certificates.
pub async fn connect_via(
    transport: &Transport,
    addr: &str,
    path: &str,
    credential: &str,
) -> Result<Client, u16> {
    let mut request = format!("{}://{addr}{path}", transport.ws())
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "Authorization",
        format!("Bearer {credential}").parse().expect("header"),
    );
    let connector = match transport {
        Transport::Plain => Connector::Plain,
        Transport::Tls(config) => Connector::Rustls(Arc::clone(config)),
    };
    let connecting =
        tokio_tungstenite::connect_async_tls_with_config(request, None, false, Some(connector));
    match connecting.await {
        Ok((ws, _)) => Ok(Client {
            ws,
            seq: 0,
            batched: VecDeque::new(),
            seen: Vec::new(),
            close_code: None,
            close_reason: String::new(),
        }),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(other) => panic!("connect failed: {other}"),
    }
}

/// Connects as the development connector and says hello, retrying while the server closes new
/// sockets at once (a connection cap that has not yet seen its places freed). Panics if it is
/// not admitted within the test's patience.
pub async fn connector_once_admitted(addr: &str) -> (Client, Value) {
    let url = format!("ws://{addr}/v1/connector");
    let admitted = async {
        loop {
            let mut request = url.as_str().into_client_request().expect("request");
            request.headers_mut().insert(
                "Authorization",
                format!("Bearer {CONNECTOR_KEY}").parse().expect("header"),
            );
            match tokio_tungstenite::connect_async(request).await {
                Ok((ws, _)) => return ws,
                Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                    panic!("refused with HTTP {}", response.status())
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    };
    let ws = tokio::time::timeout(PATIENCE, admitted)
        .await
        .expect("a connection was admitted within the test's patience");
    let mut client = Client {
        ws,
        seq: 0,
        batched: VecDeque::new(),
        seen: Vec::new(),
        close_code: None,
        close_reason: String::new(),
    };
    let welcome = client.hello(None).await;
    (client, welcome)
}

impl Client {
    /// Connects as a connector and says hello; returns the welcome.
    pub async fn connector(addr: &str) -> (Client, Value) {
        Self::connector_via(&Transport::Plain, addr).await
    }

    /// [`Client::connector`] over a transport.
    pub async fn connector_via(transport: &Transport, addr: &str) -> (Client, Value) {
        let mut client = connect_via(transport, addr, "/v1/connector", CONNECTOR_KEY)
            .await
            .expect("connector accepted");
        let welcome = client.hello(None).await;
        (client, welcome)
    }

    /// Connects as an agent or bot with this token and says hello; returns the welcome.
    pub async fn agent(addr: &str, token: &str) -> (Client, Value) {
        Self::agent_via(&Transport::Plain, addr, token).await
    }

    /// [`Client::agent`] over a transport.
    pub async fn agent_via(transport: &Transport, addr: &str, token: &str) -> (Client, Value) {
        let mut client = connect_via(transport, addr, "/v1/agent", token)
            .await
            .expect("agent accepted");
        let welcome = client.hello(None).await;
        (client, welcome)
    }

    /// The certificate the server presented (DER), if this is a TLS connection.
    pub fn server_certificate(&self) -> Option<Vec<u8>> {
        self.tls()?
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|cert| cert.to_vec())
    }

    /// The application protocol the TLS handshake agreed, if any.
    pub fn alpn(&self) -> Option<Vec<u8>> {
        self.tls()?.alpn_protocol().map(<[u8]>::to_vec)
    }

    fn tls(&self) -> Option<&tokio_rustls::rustls::ClientConnection> {
        match self.ws.get_ref() {
            MaybeTlsStream::Rustls(tls) => Some(tls.get_ref().1),
            _ => None,
        }
    }

    /// Sends hello (optionally resuming) and returns the welcome.
    pub async fn hello(&mut self, resume: Option<(&str, u64)>) -> Value {
        let mut hello = json!({"type": "hello", "protocol": 1, "client": "switchboard-tests"});
        if let Some((session, last_seq)) = resume {
            hello["resume"] = json!({"session": session, "last_seq": last_seq});
        }
        self.send(hello).await;
        self.expect("welcome").await
    }

    /// Sends one message, numbering it.
    pub async fn send(&mut self, mut message: Value) -> u64 {
        self.seq += 1;
        message["seq"] = json!(self.seq);
        self.send_raw(&message.to_string()).await;
        self.seq
    }

    /// (Connectors) a standard customer `c1` on the app channel writes in a conversation.
    pub async fn customer_says(&mut self, conversation: &str, message_id: &str, text: &str) -> u64 {
        self.send(json!({
            "type": "customer_message", "conversation": conversation, "message_id": message_id,
            "text": text, "customer": {"id": "c1", "tier": "standard"}, "channel": "app"
        }))
        .await
    }

    /// Sends messages as one batch frame, numbering each; returns the last seq.
    pub async fn send_batch(&mut self, messages: Vec<Value>) -> u64 {
        let batch: Vec<Value> = messages
            .into_iter()
            .map(|mut message| {
                self.seq += 1;
                message["seq"] = json!(self.seq);
                message
            })
            .collect();
        self.send_raw(&Value::Array(batch).to_string()).await;
        self.seq
    }

    /// Sends a text frame as is.
    pub async fn send_raw(&mut self, text: &str) {
        self.ws
            .send(Message::text(text.to_string()))
            .await
            .expect("send");
    }

    /// Sends a WebSocket frame as built, bypassing the client's own checks: for frames a
    /// careless or hostile client would send.
    pub async fn send_frame(
        &mut self,
        frame: tokio_tungstenite::tungstenite::protocol::frame::Frame,
    ) {
        self.ws.send(Message::Frame(frame)).await.expect("send");
    }

    /// The next protocol message: a server batch (docs/protocol.md, "Frames and batches") is
    /// split and its messages returned one at a time, in order. None when the socket closed;
    /// then `closed_with` tells the code.
    pub async fn next(&mut self) -> Option<Value> {
        if let Some(message) = self.batched.pop_front() {
            return Some(message);
        }
        loop {
            let frame = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .expect("the server answered within the test's patience");
            match frame {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text).expect("server sends JSON");
                    let Value::Array(batch) = value else {
                        return Some(value);
                    };
                    assert!(
                        (1..=256).contains(&batch.len()),
                        "a server batch holds 1 to 256 messages: {}",
                        batch.len()
                    );
                    assert!(
                        batch.iter().all(Value::is_object),
                        "a server batch holds message objects: {text}"
                    );
                    self.batched.extend(batch);
                    return self.batched.pop_front();
                }
                Some(Ok(Message::Close(frame))) => {
                    self.close_code = frame.as_ref().map(|f| f.code);
                    self.close_reason = frame.map_or(String::new(), |f| f.reason.to_string());
                    return None;
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// The next frame, whatever it is; the connection must stay open.
    pub async fn expect_any(&mut self) -> Value {
        match self.next().await {
            Some(frame) => frame,
            None => panic!("connection closed; seen: {:#?}", self.seen),
        }
    }

    /// Reads until an ack that covers `seq` (acks are cumulative); other frames are kept in
    /// `seen`.
    pub async fn expect_ack(&mut self, seq: u64) -> Value {
        loop {
            let ack = self.expect("ack").await;
            if ack["seq"].as_u64() >= Some(seq) {
                return ack;
            }
        }
    }

    /// The reason the server gave when it closed the connection.
    pub fn close_reason(&self) -> &str {
        &self.close_reason
    }

    /// Reads until a frame of this type; the others are kept in `seen`.
    pub async fn expect(&mut self, kind: &str) -> Value {
        loop {
            let Some(frame) = self.next().await else {
                panic!(
                    "connection closed while waiting for {kind}; seen: {:#?}",
                    self.seen
                );
            };
            if frame["type"] == kind {
                return frame;
            }
            self.seen.push(frame);
        }
    }

    /// The very next message, skipping only `ack`s (their place among the messages their
    /// messages cause is not fixed): it must be of this type.
    pub async fn expect_next(&mut self, kind: &str) -> Value {
        loop {
            let Some(frame) = self.next().await else {
                panic!("connection closed while waiting for {kind}");
            };
            if frame["type"] == "ack" {
                continue;
            }
            assert_eq!(frame["type"], kind, "expected {kind} next, got {frame:#}");
            return frame;
        }
    }

    /// The messages set aside by `expect` and `expect_ack` so far, which are forgotten.
    pub fn take_seen(&mut self) -> Vec<Value> {
        std::mem::take(&mut self.seen)
    }

    /// Proves nothing else has reached or is on its way to this client: sends a `ping` and
    /// reads through the ack that covers it. The shard answers inputs in order, so anything
    /// caused by an input it processed before the ping (e.g. another client's message that has
    /// been acked) is read first. Panics if any message other than an `ack`, a `pong` or one of
    /// `tolerated` types (a queue position a test does not care about) is among those or among
    /// the messages `expect` set aside since the last `take_seen`. Assumes the client has kept
    /// reading (a lagging connection's frames may be held back behind its acks).
    pub async fn assert_no_stray_frames(&mut self, tolerated: &[&str]) {
        let ping = self.send(json!({"type": "ping"})).await;
        self.expect_ack(ping).await;
        let stray: Vec<Value> = self
            .take_seen()
            .into_iter()
            .filter(|f| {
                let kind = f["type"].as_str().unwrap_or("");
                kind != "ack" && kind != "pong" && !tolerated.contains(&kind)
            })
            .collect();
        assert!(stray.is_empty(), "unexpected messages: {stray:#?}");
    }

    /// Reads until the server closes; returns the close code.
    pub async fn closed(&mut self) -> Option<CloseCode> {
        while let Some(frame) = self.next().await {
            self.seen.push(frame);
        }
        self.close_code
    }
}
