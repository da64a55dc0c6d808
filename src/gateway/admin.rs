//! The admin listener, on its own port so it answers even when the data plane is saturated:
//! health and readiness, Prometheus metrics, the admin API (documented in `docs/openapi.yaml`),
//! and the live dashboard.
//!
//! `/healthz`, `/readyz`, `/metrics` and the dashboard's static files need no token: they reveal
//! nothing about customers. Everything under `/api/v1/` needs `gateway.admin_token`, as
//! `Authorization: Bearer TOKEN` or `?token=TOKEN` (browsers' `EventSource` cannot set headers).

use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderValue, ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::auth::{credential, presented, verify_admin, AuthError, Endpoint};
use super::limits::{self, Acceptor};
use super::{throttle, tls, Shared};
use crate::engine::observe::TenantStats;
use crate::engine::{AdminQuery, ShardInput};
use switchboard_router::AgentStatus;

const INDEX_HTML: &str = include_str!("dashboard/index.html");
const DASHBOARD_JS: &str = include_str!("dashboard/dashboard.js");
const DASHBOARD_CSS: &str = include_str!("dashboard/dashboard.css");

/// Largest admin request body read.
const MAX_BODY: usize = 16 * 1024;

type Body = BoxBody<Bytes, Infallible>;

fn full(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()).boxed());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// The dashboard's files: revalidated on every load (a redeployed binary replaces them), and
/// locked down to themselves — the page needs nothing from anywhere else.
fn page(mut response: Response<Body>) -> Response<Body> {
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
             img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    response
}

fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    full(
        status,
        "text/plain; charset=utf-8",
        Bytes::from_static(body.as_bytes()),
    )
}

fn json(status: StatusCode, value: &impl Serialize) -> Response<Body> {
    let body = serde_json::to_vec(value).unwrap_or_default();
    let mut response = full(status, "application/json", body);
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[derive(Serialize)]
struct Problem<'a> {
    error: &'a str,
}

fn problem(status: StatusCode, error: &str) -> Response<Body> {
    json(status, &Problem { error })
}

/// 405 for a path that exists under another method, which `Allow` names (RFC 9110 §15.5.6).
fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut response = problem(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    response
}

/// The method a public (token-free) path answers, if it is one.
fn public_method(path: &str) -> Option<&'static str> {
    matches!(
        path,
        "/healthz"
            | "/readyz"
            | "/metrics"
            | "/"
            | "/index.html"
            | "/dashboard.js"
            | "/dashboard.css"
    )
    .then_some("GET")
}

/// The method an admin API path answers, if it is one (`segments` follow `/api/v1/`).
fn api_method(segments: &[&str]) -> Option<&'static str> {
    match segments {
        ["stats"] | ["events"] | ["agents"] | ["conversations", _] => Some("GET"),
        ["agents", _, "status"] | ["reload"] | ["drain"] => Some("POST"),
        _ => None,
    }
}

/// Serves the admin listener until the task is aborted; over TLS when `[gateway.admin_tls]` is
/// set, each handshake in its connection's own task. Its connections are capped by
/// `gateway.admin_max_connections` alone: a connection here holds its place until it closes, so
/// a handshake cap of its own would add nothing.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let cap = shared.config.gateway.admin_max_connections;
    let mut acceptor = Acceptor::new(listener, "admin", cap, cap, &shared.metrics);
    loop {
        let (stream, peer, admission) = acceptor.next().await;
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            // Freed when the connection ends.
            let _admission = admission;
            match shared.tls.admin.as_ref().map(tls::Certificate::acceptor) {
                None => serve_http(stream, peer.ip(), shared).await,
                Some(acceptor) => {
                    if let Some(stream) = tls::handshake(acceptor, stream).await {
                        serve_http(stream, peer.ip(), shared).await;
                    }
                }
            }
        });
    }
}

async fn serve_http<S>(stream: S, ip: IpAddr, shared: Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let builder = limits::http1(&shared.config.gateway);
    let service = service_fn(move |req| handle(req, Arc::clone(&shared), ip));
    let _ = builder
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
    ip: IpAddr,
) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    Ok(match (&method, path.as_str()) {
        (&Method::GET, "/healthz") => text(StatusCode::OK, "ok\n"),
        (&Method::GET, "/readyz") if shared.ready.load(Ordering::SeqCst) => {
            text(StatusCode::OK, "ready\n")
        }
        (&Method::GET, "/readyz") => text(StatusCode::SERVICE_UNAVAILABLE, "draining\n"),
        (&Method::GET, "/metrics") => {
            shared
                .metrics
                .uptime
                .set(shared.started.elapsed().as_secs_f64());
            full(
                StatusCode::OK,
                "text/plain; version=0.0.4; charset=utf-8",
                shared.metrics.render(),
            )
        }
        (&Method::GET, "/") | (&Method::GET, "/index.html") => {
            page(full(StatusCode::OK, "text/html; charset=utf-8", INDEX_HTML))
        }
        (&Method::GET, "/dashboard.js") => page(full(
            StatusCode::OK,
            "text/javascript; charset=utf-8",
            DASHBOARD_JS,
        )),
        (&Method::GET, "/dashboard.css") => page(full(
            StatusCode::OK,
            "text/css; charset=utf-8",
            DASHBOARD_CSS,
        )),
        (_, p) if p.starts_with("/api/v1/") => {
            let expected = shared.live.read().gateway.admin_token.clone();
            if expected.is_empty() {
                return Ok(problem(
                    StatusCode::FORBIDDEN,
                    "a valid admin token is required",
                ));
            }
            if let Err(error) = authorise(&req, &expected) {
                let retry_after = throttle::auth_failed(&shared, Endpoint::Admin, &error, ip);
                return Ok(unauthorised(retry_after));
            }
            api(req, &shared).await
        }
        (_, p) => match public_method(p) {
            Some(allow) => method_not_allowed(allow),
            None => problem(StatusCode::NOT_FOUND, "not found"),
        },
    })
}

fn authorise(req: &Request<Incoming>, expected: &str) -> Result<(), AuthError> {
    let given = presented(credential(
        req.headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
        req.uri().query(),
    ))?;
    verify_admin(given, expected)
}

/// 401, or 429 with `Retry-After` once the source is throttled.
fn unauthorised(retry_after_secs: Option<u64>) -> Response<Body> {
    let Some(secs) = retry_after_secs else {
        return problem(StatusCode::UNAUTHORIZED, "a valid admin token is required");
    };
    let mut response = problem(
        StatusCode::TOO_MANY_REQUESTS,
        "too many failed authentications",
    );
    super::retry_after(&mut response, HeaderValue::from(secs));
    response
}

/// A query parameter's value.
fn param<'a>(req: &'a Request<Incoming>, name: &str) -> Option<&'a str> {
    req.uri().query()?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then_some(value)
    })
}

async fn api(req: Request<Incoming>, shared: &Arc<Shared>) -> Response<Body> {
    let path = req.uri().path().to_string();
    let segments: Vec<&str> = path.trim_start_matches("/api/v1/").split('/').collect();
    match (req.method().clone(), segments.as_slice()) {
        (Method::GET, ["stats"]) => json(StatusCode::OK, &stats(shared)),
        (Method::GET, ["events"]) => events(Arc::clone(shared)),
        (Method::GET, ["agents"]) => {
            let agents: Vec<_> = shared
                .engine
                .snapshots()
                .all()
                .iter()
                .flat_map(|s| s.agents.clone())
                .collect();
            json(StatusCode::OK, &agents)
        }
        (Method::GET, ["conversations", id]) => {
            let tenant = param(&req, "tenant").map(str::to_string);
            conversation(shared, tenant.as_deref(), id).await
        }
        (Method::POST, ["agents", id, "status"]) => {
            let id = id.to_string();
            let tenant = param(&req, "tenant").map(str::to_string);
            set_status(req, shared, tenant.as_deref(), &id).await
        }
        (Method::POST, ["reload"]) => match super::reload(shared) {
            Ok(outcome) => json(StatusCode::OK, &outcome),
            Err(error) => problem(StatusCode::BAD_REQUEST, error.as_str()),
        },
        (Method::POST, ["drain"]) => {
            shared.ready.store(false, Ordering::SeqCst);
            json(
                StatusCode::ACCEPTED,
                &Problem {
                    error: "draining: /readyz answers 503 and new connections are refused; existing ones are served",
                },
            )
        }
        (_, segments) => match api_method(segments) {
            Some(allow) => method_not_allowed(allow),
            None => problem(StatusCode::NOT_FOUND, "no such endpoint"),
        },
    }
}

/// `GET /api/v1/stats`.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    /// Unix milliseconds.
    pub generated_at_ms: u64,
    /// Seconds since the gateway started.
    pub uptime_secs: u64,
    /// Gateway-wide figures.
    pub gateway: GatewayStats,
    /// Per tenant.
    pub tenants: Vec<TenantStats>,
}

/// Gateway-wide figures in `Stats`.
#[derive(Debug, Clone, Serialize)]
pub struct GatewayStats {
    /// Open connections by role.
    pub connections: Connections,
    /// Client messages per second (last 5 s).
    pub messages_in_per_sec: f64,
    /// Frames sent per second (since the previous sample).
    pub messages_out_per_sec: f64,
    /// False while draining.
    pub ready: bool,
}

/// Open connections by role.
#[derive(Debug, Clone, Serialize)]
pub struct Connections {
    /// Channel connectors.
    pub connector: i64,
    /// Human agents.
    pub agent: i64,
    /// Bots.
    pub bot: i64,
}

fn stats(shared: &Shared) -> Stats {
    // To the millisecond, as documented: consecutive events are a second apart, not "the same
    // second or the next".
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let metrics = &shared.metrics;
    let connections = |role: &str| metrics.connections.with_label_values(&[role]).get();
    let mut tenants = Vec::new();
    for snapshot in shared.engine.snapshots().all() {
        tenants.extend(snapshot.tenants.iter().cloned());
    }
    let sent: u64 = ["connector", "agent", "bot"]
        .iter()
        .map(|r| metrics.messages_sent.with_label_values(&[r]).get())
        .sum();
    Stats {
        generated_at_ms: now_ms,
        uptime_secs: shared.started.elapsed().as_secs(),
        gateway: GatewayStats {
            connections: Connections {
                connector: connections("connector"),
                agent: connections("agent"),
                bot: connections("bot"),
            },
            messages_in_per_sec: tenants.iter().map(|t| t.messages_per_sec).sum(),
            messages_out_per_sec: shared.sent_rate.lock().sample(sent),
            ready: shared.ready.load(Ordering::SeqCst),
        },
        tenants,
    }
}

/// `GET /api/v1/events`: the stats once a second as Server-Sent Events, until the client goes.
fn events(shared: Arc<Shared>) -> Response<Body> {
    let ticks = tokio::time::interval(Duration::from_secs(1));
    let body = stream::unfold(
        (ticks, shared, true),
        |(mut ticks, shared, first)| async move {
            ticks.tick().await;
            let data = serde_json::to_string(&stats(&shared)).unwrap_or_default();
            // The first event also tells the browser to reconnect after 2 s, not its default 3.
            let retry = if first { "retry: 2000\n" } else { "" };
            let frame = Frame::data(Bytes::from(format!(
                "{retry}event: stats\ndata: {data}\n\n"
            )));
            Some((Ok::<_, Infallible>(frame), (ticks, shared, false)))
        },
    );
    let mut response = Response::new(BodyExt::boxed(StreamBody::new(body)));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // A buffering reverse proxy would hold events back; this asks nginx not to.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

async fn conversation(shared: &Shared, tenant: Option<&str>, id: &str) -> Response<Body> {
    let tenant = tenant.unwrap_or(&shared.config.default_tenant().id);
    let (Some(route), Ok(id)) = (shared.engine.route(tenant), id.parse::<u64>()) else {
        return problem(StatusCode::NOT_FOUND, "no such conversation");
    };
    let (reply, answer) = oneshot::channel();
    let query = AdminQuery::Conversation {
        tenant: route.tenant,
        id,
        reply,
    };
    if !route.send(ShardInput::Admin(query)).await {
        return problem(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    }
    match answer.await {
        Ok(Some(info)) => json(StatusCode::OK, &info),
        _ => problem(StatusCode::NOT_FOUND, "no such conversation"),
    }
}

#[derive(Deserialize)]
struct StatusBody {
    status: String,
}

async fn set_status(
    req: Request<Incoming>,
    shared: &Shared,
    tenant: Option<&str>,
    agent: &str,
) -> Response<Body> {
    let tenant = tenant
        .unwrap_or(&shared.config.default_tenant().id)
        .to_string();
    let Some(route) = shared.engine.route(&tenant) else {
        return problem(StatusCode::NOT_FOUND, "no such tenant");
    };
    let limited = http_body_util::Limited::new(req.into_body(), MAX_BODY);
    let Ok(body) = limited.collect().await.map(|b| b.to_bytes()) else {
        return problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body too large or unreadable",
        );
    };
    let status = match serde_json::from_slice::<StatusBody>(&body).map(|b| b.status) {
        Ok(s) if s == "available" => AgentStatus::Available,
        Ok(s) if s == "away" => AgentStatus::Away,
        Ok(s) if s == "offline" => AgentStatus::Offline,
        _ => {
            return problem(
                StatusCode::BAD_REQUEST,
                "body must be {\"status\": \"available\" | \"away\" | \"offline\"}",
            )
        }
    };
    let (reply, answer) = oneshot::channel();
    let query = AdminQuery::SetStatus {
        tenant: route.tenant,
        agent: agent.to_string(),
        status,
        reply,
    };
    if !route.send(ShardInput::Admin(query)).await {
        return problem(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    }
    match answer.await {
        Ok(Ok(())) => json(
            StatusCode::OK,
            &serde_json::json!({"agent": agent, "status": status.as_str()}),
        ),
        Ok(Err(why)) => problem(StatusCode::NOT_FOUND, why),
        Err(_) => problem(StatusCode::SERVICE_UNAVAILABLE, "shutting down"),
    }
}
