//! The imperative shell: listeners, the WebSocket upgrade, authentication, sessions, shutdown.
//!
//! The gateway makes no routing decision. It accepts a socket, checks who is connecting, upgrades
//! to WebSocket, decodes frames and forwards them to the owning router shard (`crate::engine`);
//! the shard's frames come back through a bounded per-connection outbox that one writer task
//! drains. See `ARCHITECTURE.md` for the threads and who owns what.

pub mod admin;
pub mod auth;
pub mod limits;
pub mod session;
pub mod throttle;
pub mod tls;

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{
    HeaderValue, AUTHORIZATION, CONNECTION, RETRY_AFTER, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY,
    SEC_WEBSOCKET_VERSION, UPGRADE,
};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use parking_lot::{Mutex, RwLock};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role as WsRole;
use tokio_tungstenite::WebSocketStream;

use crate::engine::{Engine, Probe};
use crate::metrics::Metrics;
use auth::{credential, presented, verify_agent, verify_connector, Endpoint};
use limits::{Acceptor, Admission};
use session::Identity;
use switchboard_config::Config;
use throttle::{auth_failed, AuthThrottle};
use tls::Tls;

/// The two bound listeners: data plane and admin.
#[derive(Debug)]
pub struct Listeners {
    /// Connectors and agents.
    pub public: TcpListener,
    /// Health, readiness, metrics, admin API.
    pub admin: TcpListener,
}

/// How to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGTERM: readiness off, stop accepting, drain, close every socket with 1001, exit.
    Graceful,
    /// SIGINT: exit now.
    Fast,
}

/// Shared by every task of a running gateway.
#[derive(Debug)]
pub struct Shared {
    /// The configuration the gateway started with (restart-only settings are read here).
    pub config: Config,
    /// The current configuration for reloadable settings: connectors' API keys, tenants' JWT
    /// secrets, the admin token. Read briefly, never across an `.await`.
    pub live: RwLock<Arc<Config>>,
    /// Where the configuration came from, for reloads.
    pub config_path: Option<PathBuf>,
    /// Frames sent per second, sampled by the stats endpoint.
    pub sent_rate: Mutex<RateSampler>,
    /// Router shards.
    pub engine: Engine,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// When the gateway started.
    pub started: std::time::Instant,
    /// False once draining: `/readyz` answers 503 and new upgrades are refused.
    pub ready: AtomicBool,
    /// Open WebSocket sessions, so shutdown can wait for them: hyper does not track upgraded
    /// connections.
    pub sessions: SessionCount,
    /// The listeners' certificates, swapped by a reload.
    pub tls: Tls,
    /// Failed authentications per source address, on both listeners.
    pub auth_throttle: AuthThrottle,
}

/// A per-second rate from a growing total, sampled on demand.
#[derive(Debug)]
pub struct RateSampler {
    at: std::time::Instant,
    total: u64,
    rate: f64,
}

impl Default for RateSampler {
    fn default() -> Self {
        RateSampler {
            at: std::time::Instant::now(),
            total: 0,
            rate: 0.0,
        }
    }
}

impl RateSampler {
    /// The rate since the previous sample at least a second ago (the last one otherwise).
    pub fn sample(&mut self, total: u64) -> f64 {
        let elapsed = self.at.elapsed().as_secs_f64();
        if elapsed >= 1.0 {
            self.rate = total.saturating_sub(self.total) as f64 / elapsed;
            self.total = total;
            self.at = std::time::Instant::now();
        }
        self.rate
    }
}

/// What a reload changed.
#[derive(Debug, Clone, serde::Serialize, PartialEq, Eq)]
pub struct ReloadOutcome {
    /// Keys that changed and now apply.
    pub applied: Vec<String>,
    /// Keys that changed but only take effect after a restart.
    pub restart_required: Vec<String>,
}

/// Re-reads the configuration file and applies what can change live: connectors, tenants' JWT
/// secrets, the admin token. An invalid file, or one that adds or removes tenants, is refused
/// and the running configuration kept.
pub fn reload(shared: &Shared) -> Result<ReloadOutcome, String> {
    let Some(path) = &shared.config_path else {
        return Err("the gateway runs on its embedded defaults: there is no file to reload".into());
    };
    let kept = |e: &dyn std::fmt::Display| format!("kept the running configuration: {e}");
    let mut fresh = Config::load(path).map_err(|e| kept(&e))?;
    fresh.apply_env().map_err(|e| kept(&e))?;
    let current = shared.live.read().clone();
    let ids = |c: &Config| c.tenants.iter().map(|t| t.id.clone()).collect::<Vec<_>>();
    if ids(&fresh) != ids(&current) {
        // Tenants' routers live on shards; they cannot appear or vanish while running.
        return Err(kept(
            &"tenants cannot be added or removed without a restart",
        ));
    }
    let mut outcome = ReloadOutcome {
        applied: Vec::new(),
        restart_required: Vec::new(),
    };
    if fresh.connectors != current.connectors {
        outcome.applied.push("connectors".into());
    }
    if fresh.gateway.admin_token != current.gateway.admin_token {
        outcome.applied.push("gateway.admin_token".into());
    }
    // Certificate files may change live (see below); turning TLS on or off may not.
    let restart_only = |c: &Config| switchboard_config::GatewayConfig {
        admin_token: String::new(),
        tls: None,
        admin_tls: None,
        ..c.gateway.clone()
    };
    if restart_only(&fresh) != restart_only(&current) {
        outcome
            .restart_required
            .push("gateway (listeners, limits, timeouts)".into());
    }
    // `dir` is left out: `serve --data-dir` overrides it, and a reload re-reads only the file.
    let journal = |c: &Config| switchboard_config::JournalConfig {
        dir: std::path::PathBuf::new(),
        ..c.journal.clone()
    };
    if journal(&fresh) != journal(&current) {
        outcome.restart_required.push("journal".into());
    }
    let tls_on = |c: &Config| (c.gateway.tls.is_some(), c.gateway.admin_tls.is_some());
    if tls_on(&fresh) != tls_on(&current) {
        outcome
            .restart_required
            .push("gateway.tls, gateway.admin_tls (TLS on or off)".into());
    }
    let secrets = |c: &Config| {
        c.tenants
            .iter()
            .map(|t| t.jwt_secret.clone())
            .collect::<Vec<_>>()
    };
    if secrets(&fresh) != secrets(&current) {
        outcome.applied.push("tenants[].jwt_secret".into());
    }
    let policies = |c: &Config| {
        c.tenants
            .iter()
            .map(|t| switchboard_config::TenantConfig {
                jwt_secret: String::new(),
                ..t.clone()
            })
            .collect::<Vec<_>>()
    };
    if policies(&fresh) != policies(&current) {
        outcome
            .restart_required
            .push("tenants (queues, routing, priority, timing, handoff)".into());
    }
    // Last, so that whatever it returns the reload has not half-applied: it swaps the
    // certificates only if every one loads, and nothing below can fail.
    let certificates = shared.tls.reload(&fresh.gateway).map_err(|e| kept(&e))?;
    outcome.applied.extend(certificates);
    *shared.live.write() = Arc::new(fresh);
    tracing::info!(
        applied = ?outcome.applied,
        restart_required = ?outcome.restart_required,
        "configuration reloaded"
    );
    Ok(outcome)
}

/// Counts live sessions and wakes a waiter when the last one ends.
#[derive(Debug, Default)]
pub struct SessionCount {
    live: AtomicUsize,
    idle: Notify,
}

impl SessionCount {
    /// A session started.
    pub fn enter(&self) {
        self.live.fetch_add(1, Ordering::SeqCst);
    }

    /// A session ended.
    pub fn leave(&self) {
        if self.live.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
    }

    /// Live sessions.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    /// Waits until none is live.
    pub async fn drained(&self) {
        loop {
            let notified = self.idle.notified();
            if self.live() == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// Seconds since the Unix epoch, for the expiry `switchboard token` writes and the admin API's
/// times. A clock before 1970 reads as 0.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Runs the gateway until `stop` resolves, then shuts down as it says.
///
/// Tests bind both listeners on `127.0.0.1:0`, drive real clients, and resolve `stop` themselves.
/// A certificate or key that cannot be loaded is an `InvalidInput` error naming its key.
pub async fn run(
    config: Config,
    listeners: Listeners,
    stop: impl Future<Output = Stop>,
) -> std::io::Result<()> {
    let tls = Tls::load(&config.gateway)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    run_with_reload(config, None, tls, listeners, stop, || {}).await
}

/// [`run`] with certificates already loaded (`switchboard serve` loads them before it binds),
/// reloading reloadable settings and the certificates from `config_path` on SIGHUP and
/// `POST /api/v1/reload`.
///
/// `announce` is called once the journal is recovered and the shards run, before the first
/// connection is accepted (`switchboard serve` prints its addresses then).
///
/// A shard thread that panics stops the gateway at once (as SIGINT would): the result is then
/// an error naming the shard and its panic message, and `switchboard serve` exits 1.
pub async fn run_with_reload(
    config: Config,
    config_path: Option<PathBuf>,
    tls: Tls,
    listeners: Listeners,
    stop: impl Future<Output = Stop>,
    announce: impl FnOnce(),
) -> std::io::Result<()> {
    serve(config, config_path, tls, listeners, stop, |_| announce()).await
}

/// [`run_with_reload`], handing `probe` the engine's [`Probe`] once the shards run: how the
/// integration tests ask the live routers to check their invariants. The probe exists only in
/// this process; no listener exposes it.
pub async fn run_with_probe(
    config: Config,
    config_path: Option<PathBuf>,
    tls: Tls,
    listeners: Listeners,
    stop: impl Future<Output = Stop>,
    probe: tokio::sync::oneshot::Sender<Probe>,
) -> std::io::Result<()> {
    let started = move |engine: &Engine| {
        let _ = probe.send(engine.probe());
    };
    serve(config, config_path, tls, listeners, stop, started).await
}

async fn serve(
    config: Config,
    config_path: Option<PathBuf>,
    tls: Tls,
    listeners: Listeners,
    stop: impl Future<Output = Stop>,
    started: impl FnOnce(&Engine),
) -> std::io::Result<()> {
    let metrics = Arc::new(Metrics::new());
    let engine = Engine::start(&config, Arc::clone(&metrics)).map_err(std::io::Error::other)?;
    started(&engine);
    let gateway = &config.gateway;
    let descriptors = limits::descriptor_limit();
    let max_connections = limits::public_cap(
        gateway.max_connections,
        gateway.admin_max_connections,
        descriptors,
    );
    if max_connections < gateway.max_connections {
        tracing::warn!(
            configured = gateway.max_connections,
            max_connections,
            descriptors,
            "gateway.max_connections lowered to what the descriptor limit allows"
        );
    }
    let mut public = Acceptor::new(
        listeners.public,
        "public",
        max_connections,
        gateway.max_handshaking_connections,
        &metrics,
    );
    let shared = Arc::new(Shared {
        auth_throttle: AuthThrottle::new(gateway.auth_failures_per_minute),
        live: RwLock::new(Arc::new(config.clone())),
        config_path,
        sent_rate: Mutex::new(RateSampler::default()),
        config,
        engine,
        metrics,
        started: std::time::Instant::now(),
        ready: AtomicBool::new(true),
        sessions: SessionCount::default(),
        tls,
    });
    let admin = tokio::spawn(admin::serve(listeners.admin, Arc::clone(&shared)));
    let hangups = tokio::spawn(reload_on_hangup(Arc::clone(&shared)));
    let stop_or_crash = async {
        tokio::select! {
            how = stop => how,
            () = shared.engine.panicked() => Stop::Fast,
        }
    };
    let how = accept_until(&mut public, &shared, stop_or_crash).await;
    shared.ready.store(false, Ordering::SeqCst);
    if how == Stop::Graceful {
        let drain = Duration::from_millis(u64::from(shared.config.gateway.shutdown_drain_ms));
        // Still accepting, so that a new client gets the 503 `handle` answers while not ready,
        // which a load balancer retries elsewhere, rather than a refused connection it cannot
        // tell from a crash.
        accept_until(&mut public, &shared, tokio::time::sleep(drain)).await;
        drop(public);
        let grace = Duration::from_secs(u64::from(shared.config.gateway.shutdown_grace_secs));
        // The shards finish what is queued, then close every session with 1001 after its
        // outbox has been written; sessions end when their clients acknowledge the close.
        shared.engine.shutdown(grace);
        let _ = tokio::time::timeout(grace, shared.sessions.drained()).await;
    }
    admin.abort();
    hangups.abort();
    let joiner = Arc::clone(&shared);
    let joined = tokio::task::spawn_blocking(move || joiner.engine.join())
        .await
        .map_err(std::io::Error::other)?;
    joined.map_err(|panics| {
        tracing::error!(%panics, "the gateway stopped after a shard thread panicked");
        std::io::Error::other(format!("a shard thread panicked: {panics}"))
    })
}

/// Serves the public listener until `until` resolves. Each connection, its TLS handshake
/// included, runs in a task of its own: nothing a client does can hold up the next accept.
async fn accept_until<T>(
    public: &mut Acceptor,
    shared: &Arc<Shared>,
    until: impl Future<Output = T>,
) -> T {
    tokio::pin!(until);
    loop {
        tokio::select! {
            done = &mut until => return done,
            (stream, peer, admission) = public.next() => {
                // Small chat frames must not wait for Nagle's algorithm.
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve_public(stream, peer, admission, Arc::clone(shared)));
            }
        }
    }
}

async fn serve_public(
    stream: TcpStream,
    peer: SocketAddr,
    admission: Admission,
    shared: Arc<Shared>,
) {
    match shared.tls.public.as_ref().map(tls::Certificate::acceptor) {
        None => serve_http(stream, peer, admission, shared).await,
        Some(acceptor) => {
            if let Some(stream) = tls::handshake(acceptor, stream).await {
                serve_http(stream, peer, admission, shared).await;
            }
        }
    }
}

/// The connection's place under the caps, until `handle` hands it to the session it upgrades
/// to; dropped with the connection otherwise.
type Held = Arc<Mutex<Option<Admission>>>;

async fn serve_http<S>(stream: S, peer: SocketAddr, admission: Admission, shared: Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let held: Held = Arc::new(Mutex::new(Some(admission)));
    let builder = limits::http1(&shared.config.gateway);
    let service =
        service_fn(move |req| handle(req, Arc::clone(&shared), peer.ip(), Arc::clone(&held)));
    let _ = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades()
        .await;
}

/// Reloads on every SIGHUP until aborted.
async fn reload_on_hangup(shared: Arc<Shared>) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        return;
    };
    while hangups.recv().await.is_some() {
        if let Err(error) = reload(&shared) {
            tracing::warn!(%error, "reload refused");
        }
    }
}

type Body = Full<Bytes>;

fn respond(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response
}

/// The answer to a failed authentication: 401, or 429 once the source is throttled.
fn unauthorised(retry_after_secs: Option<u64>) -> Response<Body> {
    let Some(secs) = retry_after_secs else {
        return respond(StatusCode::UNAUTHORIZED, "unauthorized\n");
    };
    let mut response = respond(
        StatusCode::TOO_MANY_REQUESTS,
        "too many failed authentications\n",
    );
    retry_after(&mut response, HeaderValue::from(secs));
    response
}

/// Asks the client to come back after `secs`, on a new connection: a prober pays a TCP
/// handshake per attempt, and a load balancer picks another instance.
pub(crate) fn retry_after<B>(response: &mut Response<B>, secs: HeaderValue) {
    let h = response.headers_mut();
    h.insert(RETRY_AFTER, secs);
    h.insert(CONNECTION, HeaderValue::from_static("close"));
}

/// The answer to an upgrade while draining: try again shortly (behind a load balancer, another
/// instance; alone, this one after its restart), on a new connection.
fn draining() -> Response<Body> {
    let mut response = respond(StatusCode::SERVICE_UNAVAILABLE, "draining\n");
    retry_after(&mut response, HeaderValue::from_static("1"));
    response
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
    ip: IpAddr,
    held: Held,
) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path();
    let agent_path = path == "/v1/agent";
    if path != "/v1/connector" && !agent_path {
        return Ok(respond(StatusCode::NOT_FOUND, "not found\n"));
    }
    if !shared.ready.load(Ordering::SeqCst) {
        return Ok(draining());
    }
    let headers = req.headers();
    let is_upgrade = headers
        .get(UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let version_ok = headers
        .get(SEC_WEBSOCKET_VERSION)
        .is_some_and(|v| v.as_bytes() == b"13");
    let Some(key) = headers
        .get(SEC_WEBSOCKET_KEY)
        .filter(|_| is_upgrade && version_ok)
    else {
        return Ok(respond(
            StatusCode::UPGRADE_REQUIRED,
            "a WebSocket upgrade (version 13) is required\n",
        ));
    };
    let accept = derive_accept_key(key.as_bytes());
    let token = presented(credential(
        headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()),
        req.uri().query(),
    ));
    let live = shared.live.read().clone();
    let (endpoint, verified) = if agent_path {
        let verified = token.and_then(|t| verify_agent(t, &live).map(Identity::Agent));
        (Endpoint::Agent, verified)
    } else {
        let verified = token.and_then(|t| {
            verify_connector(t, &live).map(|(name, tenant)| Identity::Connector {
                name: name.to_string(),
                tenant: tenant.to_string(),
            })
        });
        (Endpoint::Connector, verified)
    };
    let identity = match verified {
        Ok(identity) => identity,
        Err(error) => {
            let retry_after = auth_failed(&shared, endpoint, &error, ip);
            return Ok(unauthorised(retry_after));
        }
    };
    let connected = held.lock().take().map(Admission::upgraded);

    let ws_config = session::socket_config(&shared.config.gateway);
    let upgrade = hyper::upgrade::on(req);
    let task_shared = Arc::clone(&shared);
    task_shared.sessions.enter();
    tokio::spawn(async move {
        // The session's place under `gateway.max_connections`, freed when it ends.
        let _connected = connected;
        if let Ok(upgraded) = upgrade.await {
            let ws = WebSocketStream::from_raw_socket(
                TokioIo::new(upgraded),
                WsRole::Server,
                Some(ws_config),
            )
            .await;
            session::run(ws, identity, Arc::clone(&task_shared)).await;
        }
        task_shared.sessions.leave();
    });

    let mut response = respond(StatusCode::SWITCHING_PROTOCOLS, "");
    let h = response.headers_mut();
    h.insert(UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(value) = HeaderValue::from_str(&accept) {
        h.insert(SEC_WEBSOCKET_ACCEPT, value);
    }
    Ok(response)
}
