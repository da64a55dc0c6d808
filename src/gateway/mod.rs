//! The imperative shell: listeners, the WebSocket upgrade, authentication, sessions, shutdown.
//!
//! The gateway makes no routing decision. It accepts a socket, checks who is connecting, upgrades
//! to WebSocket, decodes frames and forwards them to the owning router shard (`crate::engine`);
//! the shard's frames come back through a bounded per-connection outbox that one writer task
//! drains. See `ARCHITECTURE.md` for the threads and who owns what.

pub mod admin;
pub mod auth;
pub mod session;

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{
    HeaderValue, AUTHORIZATION, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY,
    SEC_WEBSOCKET_VERSION, UPGRADE,
};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role as WsRole, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

use crate::config::Config;
use crate::engine::Engine;
use auth::{credential, verify_agent, verify_connector};
use session::Identity;

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
    /// The validated configuration.
    pub config: Config,
    /// Router shards.
    pub engine: Engine,
    /// False once draining: `/readyz` answers 503 and new upgrades are refused.
    pub ready: AtomicBool,
    /// Open WebSocket sessions, so shutdown can wait for them: hyper does not track upgraded
    /// connections.
    pub sessions: SessionCount,
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

/// Seconds since the Unix epoch, for token expiry. A clock before 1970 reads as 0.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Runs the gateway until `stop` resolves, then shuts down as it says.
///
/// Tests bind both listeners on `127.0.0.1:0`, drive real clients, and resolve `stop` themselves.
pub async fn run(
    config: Config,
    listeners: Listeners,
    stop: impl Future<Output = Stop>,
) -> std::io::Result<()> {
    let engine = Engine::start(&config);
    let shared = Arc::new(Shared {
        config,
        engine,
        ready: AtomicBool::new(true),
        sessions: SessionCount::default(),
    });
    let admin = tokio::spawn(admin::serve(listeners.admin, Arc::clone(&shared)));
    tokio::pin!(stop);
    let how = loop {
        tokio::select! {
            how = &mut stop => break how,
            accepted = listeners.public.accept() => {
                let Ok((stream, _peer)) = accepted else { continue };
                // Small chat frames must not wait for Nagle's algorithm.
                let _ = stream.set_nodelay(true);
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(req, Arc::clone(&shared)));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .with_upgrades()
                        .await;
                });
            }
        }
    };
    shared.ready.store(false, Ordering::SeqCst);
    drop(listeners.public);
    if how == Stop::Graceful {
        let drain = Duration::from_millis(u64::from(shared.config.gateway.shutdown_drain_ms));
        tokio::time::sleep(drain).await;
        let grace = Duration::from_secs(u64::from(shared.config.gateway.shutdown_grace_secs));
        // The shards finish what is queued, then close every session with 1001 after its
        // outbox has been written; sessions end when their clients acknowledge the close.
        shared.engine.shutdown(grace);
        let _ = tokio::time::timeout(grace, shared.sessions.drained()).await;
    }
    admin.abort();
    let joiner = Arc::clone(&shared);
    let _ = tokio::task::spawn_blocking(move || joiner.engine.join()).await;
    Ok(())
}

type Body = Full<Bytes>;

fn respond(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response
}

async fn handle(req: Request<Incoming>, shared: Arc<Shared>) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path();
    let agent_path = path == "/v1/agent";
    if path != "/v1/connector" && !agent_path {
        return Ok(respond(StatusCode::NOT_FOUND, "not found\n"));
    }
    if !shared.ready.load(Ordering::SeqCst) {
        return Ok(respond(StatusCode::SERVICE_UNAVAILABLE, "draining\n"));
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
    let token = credential(
        headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()),
        req.uri().query(),
    );
    let identity = match (token, agent_path) {
        (None, _) => None,
        (Some(token), true) => verify_agent(token, &shared.config, unix_now())
            .ok()
            .map(Identity::Agent),
        (Some(token), false) => {
            verify_connector(token, &shared.config)
                .ok()
                .map(|(name, tenant)| Identity::Connector {
                    name: name.to_string(),
                    tenant: tenant.to_string(),
                })
        }
    };
    let Some(identity) = identity else {
        return Ok(respond(StatusCode::UNAUTHORIZED, "unauthorized\n"));
    };

    let gateway = &shared.config.gateway;
    let ws_config = WebSocketConfig::default()
        .read_buffer_size(gateway.read_buffer_bytes)
        .write_buffer_size(8 * 1024)
        .max_write_buffer_size(gateway.max_message_bytes * 4)
        .max_message_size(Some(gateway.max_message_bytes))
        .max_frame_size(Some(gateway.max_message_bytes));
    let upgrade = hyper::upgrade::on(req);
    let task_shared = Arc::clone(&shared);
    task_shared.sessions.enter();
    tokio::spawn(async move {
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
