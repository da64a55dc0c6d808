//! Shards: each on its own thread, owning some tenants' cores (`switchboard_tenant::TenantCore`:
//! the router, sessions, replay buffers, acks, duplicate and staffing windows) and doing their
//! I/O: inputs from the inbox, the clock read once per batch and passed in, outputs to
//! outboxes and metrics. Everything a tenant decides is decided in its core.
//!
//! Owner and bounds, as everywhere in Switchboard:
//! - a shard's **inbox** is a bounded crossbeam channel (`INBOX_CAPACITY`); a connection's reader
//!   that finds it full waits (it stops reading its socket), so backpressure reaches the client
//!   instead of memory;
//! - a connection's **outbox** is a bounded tokio channel (`gateway.outbox_frames`) drained by its
//!   writer task; when it is full the shard tells the core, which keeps the frames in the
//!   session's replay buffer and hands them out in order as the outbox drains; the shard closes
//!   the connection with 1013 if it stays full for `gateway.slow_consumer_secs`;
//! - a session's **replay buffer** holds its last `gateway.replay_frames` frames; past that the
//!   oldest are dropped and the next resume is told `gap: true` (a live connection that had not
//!   received a dropped frame yet is closed with 1013);
//! - a disconnected session is kept `gateway.session_resume_secs` for a resume, then forgotten.
//!
//! The shard thread never blocks on a socket and nothing holds a lock across an `.await`: the
//! only way in is the inbox, the only way out is `try_send` on outboxes.

mod clock;
mod hold;
mod journal;
pub mod observe;
pub mod records;
mod recover;
mod shard;

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Sender, TrySendError};
use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use serde::Serialize;
use tokio::sync::oneshot;

use std::time::{SystemTime, UNIX_EPOCH};

use crate::metrics::Metrics;
use observe::Snapshots;
use switchboard_config::Config;
use switchboard_protocol::{ClientMessage, CloseCode, Hello};
use switchboard_router::AgentStatus;
use switchboard_tenant::{CoreLimits, TenantCore};

/// Inputs a shard holds before readers must wait.
pub const INBOX_CAPACITY: usize = 65_536;

pub use switchboard_tenant::Identity;

/// Whether, and why, a connection is to be closed.
pub type CloseOrder = Option<CloseCode>;

/// The shard's handle on one connection's writer.
#[derive(Debug, Clone)]
pub struct Outbox {
    /// Frames to write, in order.
    pub frames: mpsc::Sender<Utf8Bytes>,
    /// Set once to close the connection with a code, after the frames already queued.
    pub close: Arc<watch::Sender<CloseOrder>>,
}

impl Outbox {
    /// Asks the writer to close, for `why`, after what is queued.
    pub fn close(&self, why: CloseCode) {
        self.close.send_replace(Some(why));
    }
}

/// What a shard is asked to do.
#[derive(Debug)]
pub enum ShardInput {
    /// A connection finished its hello: bind it to its session (resuming if asked).
    Attach {
        /// The tenant's index on its shard.
        tenant: usize,
        /// The connection.
        conn: u64,
        /// Who it is.
        identity: Identity,
        /// Its hello.
        hello: Hello,
        /// Where its frames go.
        outbox: Outbox,
    },
    /// Decoded messages from one frame of a connection, in order.
    Client {
        /// The tenant's index on its shard.
        tenant: usize,
        /// The connection.
        conn: u64,
        /// The messages (none for a frame of pings).
        messages: Vec<ClientMessage>,
        /// The highest seq the frame carried, pings included: acked once the messages are done.
        through: u64,
        /// When the frame was read, for the handoff latency.
        received: std::time::Instant,
    },
    /// A question or an order from the admin API.
    Admin(AdminQuery),
    /// The connection is gone.
    Detach {
        /// The tenant's index on its shard.
        tenant: usize,
        /// The connection.
        conn: u64,
    },
    /// Run every tenant's `Router::check_invariants` now and answer with the violations
    /// (see [`Probe`]).
    CheckInvariants {
        /// Each failing tenant with its first violation; empty when all hold.
        reply: oneshot::Sender<Vec<Violation>>,
    },
    /// Finish what is queued, then close every connection with 1001 and stop.
    Shutdown,
    /// Panics the shard thread: how the engine's own tests prove a shard panic is reported.
    #[cfg(test)]
    Crash,
}

/// A tenant whose router's self-check failed: what [`Probe::check_invariants`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The tenant's id.
    pub tenant: String,
    /// The first invariant `Router::check_invariants` found broken.
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "tenant {}: {}", self.tenant, self.message)
    }
}

/// Why [`Probe::check_invariants`] could not say all is well.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// At least one tenant's router broke an invariant.
    #[error("router invariants broken: {}", list(.0))]
    Broken(Vec<Violation>),
    /// A shard no longer answers (it stopped or panicked).
    #[error("shard {0} did not answer: it has stopped")]
    Gone(usize),
}

fn list(items: &[impl std::fmt::Display]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// One or more shard threads panicked: their tenants were no longer served.
#[derive(Debug, thiserror::Error)]
#[error("{}", list(.0))]
pub struct ShardsPanicked(pub Vec<ShardPanic>);

/// A shard thread that panicked, and its panic message.
#[derive(Debug, Clone)]
pub struct ShardPanic {
    /// Its thread's name (`shard-N`).
    pub thread: String,
    /// The panic's payload when it is a string.
    pub message: String,
}

impl std::fmt::Display for ShardPanic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} panicked: {}", self.thread, self.message)
    }
}

/// A handle on the live shards that asks each to check its tenants' routers
/// (`Router::check_invariants`) between two inputs, where the state is whole.
///
/// For tests and diagnostics: it is reachable only in the process that runs the engine
/// (`gateway::run_with_probe`), never over a listener. Cheap to clone; it does not keep the
/// shards running (they stop on `Shutdown` whoever holds an inbox).
#[derive(Debug, Clone)]
pub struct Probe {
    inboxes: Vec<Sender<ShardInput>>,
}

impl Probe {
    /// Asks every shard and waits for all answers: Ok when every tenant's invariants hold.
    /// A shard's answer comes after the inputs queued before the question.
    pub async fn check_invariants(&self) -> Result<(), ProbeError> {
        let mut violations = Vec::new();
        for (shard, inbox) in self.inboxes.iter().enumerate() {
            let (reply, answer) = oneshot::channel();
            let route = Route {
                inbox: inbox.clone(),
                tenant: 0,
            };
            if !route.send(ShardInput::CheckInvariants { reply }).await {
                return Err(ProbeError::Gone(shard));
            }
            violations.extend(answer.await.map_err(|_| ProbeError::Gone(shard))?);
        }
        if violations.is_empty() {
            Ok(())
        } else {
            Err(ProbeError::Broken(violations))
        }
    }
}

/// Set when a shard thread unwinds: the gateway stops at once and reports it instead of
/// serving on with some tenants' routers gone.
#[derive(Debug, Default)]
struct Casualties {
    panicked: std::sync::atomic::AtomicBool,
    notify: tokio::sync::Notify,
}

/// Held by a shard thread for its whole life; dropped while unwinding, it raises the alarm.
struct Alarm(Arc<Casualties>);

impl Drop for Alarm {
    fn drop(&mut self) {
        if std::thread::panicking() {
            tracing::error!(
                thread = std::thread::current().name().unwrap_or("shard"),
                "a shard thread panicked: its tenants are not served; stopping the gateway"
            );
            self.0
                .panicked
                .store(true, std::sync::atomic::Ordering::SeqCst);
            self.0.notify.notify_waiters();
        }
    }
}

/// Admin API requests a shard answers (they need state only the shard owns).
#[derive(Debug)]
pub enum AdminQuery {
    /// Where a conversation stands.
    Conversation {
        /// The tenant's index on its shard.
        tenant: usize,
        /// The gateway's conversation id.
        id: u64,
        /// The answer.
        reply: oneshot::Sender<Option<ConversationInfo>>,
    },
    /// A supervisor sets an agent's status.
    SetStatus {
        /// The tenant's index on its shard.
        tenant: usize,
        /// The agent's id (token `sub`).
        agent: String,
        /// The new status.
        status: AgentStatus,
        /// Ok, or why not.
        reply: oneshot::Sender<Result<(), &'static str>>,
    },
}

/// `GET /api/v1/conversations/{id}`: where a conversation stands. Never message bodies.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConversationInfo {
    /// Tenant id.
    pub tenant: String,
    /// The gateway's id.
    pub id: String,
    /// `with_bot`, `waiting`, `offered`, `assigned`, `wrap_up`.
    pub state: &'static str,
    /// Its queue.
    pub queue: String,
    /// `vip`, `complaint`, `urgent`, `standard`.
    pub class: &'static str,
    /// 1-based position while waiting in the queue.
    pub position: Option<u32>,
    /// The agent or bot holding it.
    pub agent: Option<String>,
    /// Seconds since it started waiting for a human (or arrived).
    pub waiting_secs: u64,
    /// Why it left the bot, if it did.
    pub handoff: Option<&'static str>,
    /// Smoothed customer sentiment.
    pub sentiment: Option<f32>,
}

/// Where a tenant lives: its shard's inbox and its index there.
#[derive(Debug, Clone)]
pub struct Route {
    inbox: Sender<ShardInput>,
    /// The tenant's index on its shard.
    pub tenant: usize,
}

impl Route {
    /// Sends to the shard, waiting (without blocking the runtime) while its inbox is full.
    /// Returns false once the shard has stopped.
    pub async fn send(&self, mut input: ShardInput) -> bool {
        loop {
            match self.inbox.try_send(input) {
                Ok(()) => return true,
                Err(TrySendError::Disconnected(_)) => return false,
                Err(TrySendError::Full(back)) => {
                    input = back;
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        }
    }

    /// Sends without waiting; for teardown paths that must not stall. Returns false if full or
    /// stopped.
    pub fn send_now(&self, input: ShardInput) -> bool {
        self.inbox.try_send(input).is_ok()
    }
}

/// The running shards.
#[derive(Debug)]
pub struct Engine {
    snapshots: Arc<Snapshots>,
    inboxes: Vec<Sender<ShardInput>>,
    routes: FxHashMap<String, Route>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    next_conn: std::sync::atomic::AtomicU64,
    casualties: Arc<Casualties>,
}

impl Engine {
    /// Starts one thread per shard and gives each its tenants (round robin in config order).
    /// With a journal (`journal.fsync` not "off") the tenants are first recovered from it, and
    /// each shard journals its inputs from then on. Err says why the journal cannot be
    /// recovered or written: the gateway must not start.
    pub fn start(config: &Config, metrics: Arc<Metrics>) -> Result<Self, String> {
        let shards = match config.gateway.shards {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
        .min(config.tenants.len().max(1));
        let mut plans: Vec<Vec<switchboard_config::TenantConfig>> = vec![Vec::new(); shards];
        let mut routes = FxHashMap::default();
        let mut inboxes = Vec::with_capacity(shards);
        let mut receivers = Vec::with_capacity(shards);
        for _ in 0..shards {
            let (tx, rx) = crossbeam_channel::bounded(INBOX_CAPACITY);
            inboxes.push(tx);
            receivers.push(rx);
        }
        for (i, tenant) in config.tenants.iter().enumerate() {
            let shard = i % shards;
            routes.insert(
                tenant.id.clone(),
                Route {
                    inbox: inboxes[shard].clone(),
                    tenant: plans[shard].len(),
                },
            );
            plans[shard].push(tenant.clone());
        }
        let (cores, place) = cores(config, plans)?;
        let snapshots = Arc::new(Snapshots::new(shards));
        let casualties = Arc::new(Casualties::default());
        let mut threads = Vec::with_capacity(shards);
        for (i, (rx, tenants)) in receivers.into_iter().zip(cores).enumerate() {
            let journal = place
                .as_ref()
                .map(|place| durability(place, i, config, &metrics))
                .transpose()?;
            let gateway = config.gateway.clone();
            let metrics = Arc::clone(&metrics);
            let snapshots = Arc::clone(&snapshots);
            let alarm = Alarm(Arc::clone(&casualties));
            let thread = std::thread::Builder::new()
                .name(format!("shard-{i}"))
                .spawn(move || {
                    let _alarm = alarm;
                    shard::Shard::new(i, tenants, gateway, rx, metrics, snapshots, journal).run()
                })
                .map_err(|e| format!("cannot start shard {i}: {e}"))?;
            threads.push(thread);
        }
        Ok(Engine {
            snapshots,
            inboxes,
            routes,
            threads: Mutex::new(threads),
            next_conn: std::sync::atomic::AtomicU64::new(1),
            casualties,
        })
    }

    /// A handle that asks the shards to check their routers' invariants.
    pub fn probe(&self) -> Probe {
        Probe {
            inboxes: self.inboxes.clone(),
        }
    }

    /// Resolves once a shard thread has panicked (never, in a healthy gateway).
    pub async fn panicked(&self) {
        loop {
            let notified = self.casualties.notify.notified();
            if self
                .casualties
                .panicked
                .load(std::sync::atomic::Ordering::SeqCst)
            {
                return;
            }
            notified.await;
        }
    }

    /// What the shards last published for the admin API.
    pub fn snapshots(&self) -> &Snapshots {
        &self.snapshots
    }

    /// The route to a tenant.
    pub fn route(&self, tenant: &str) -> Option<Route> {
        self.routes.get(tenant).cloned()
    }

    /// A fresh connection number.
    pub fn next_conn(&self) -> u64 {
        self.next_conn
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Asks every shard to finish its queue and close all connections with 1001. Waits up to
    /// `grace` for room in a full inbox.
    pub fn shutdown(&self, grace: Duration) {
        for inbox in &self.inboxes {
            let _ = inbox.send_timeout(ShardInput::Shutdown, grace);
        }
    }

    /// Waits for the shard threads to stop (after `shutdown`, or once every route is dropped).
    /// Err names every shard thread that panicked, with its message: the caller must not
    /// report a clean stop (`switchboard serve` exits 1).
    pub fn join(&self) -> Result<(), ShardsPanicked> {
        for inbox in &self.inboxes {
            let _ = inbox.try_send(ShardInput::Shutdown);
        }
        let threads = std::mem::take(&mut *self.threads.lock());
        let mut panics = Vec::new();
        for thread in threads {
            let name = thread.thread().name().unwrap_or("shard").to_string();
            if let Err(payload) = thread.join() {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(a non-string payload)".to_string());
                panics.push(ShardPanic {
                    thread: name,
                    message,
                });
            }
        }
        if panics.is_empty() {
            Ok(())
        } else {
            Err(ShardsPanicked(panics))
        }
    }
}

type ShardCores = Vec<Vec<(switchboard_config::TenantConfig, TenantCore<Utf8Bytes>)>>;

/// Each shard's cores: recovered from the journal when there is one, fresh otherwise.
fn cores(
    config: &Config,
    plans: Vec<Vec<switchboard_config::TenantConfig>>,
) -> Result<(ShardCores, Option<journal::Place>), String> {
    if !config.journal.enabled() {
        let limits = CoreLimits::of(&config.gateway);
        let fresh = plans
            .into_iter()
            .map(|plan| {
                plan.into_iter()
                    .map(|tenant| {
                        // A fresh seed per tenant and process: ids never repeat across restarts.
                        let core = TenantCore::new(&tenant, limits, rand::random());
                        (tenant, core)
                    })
                    .collect()
            })
            .collect();
        return Ok((fresh, None));
    }
    let recovered = recover::recover(config, plans)?;
    let place = journal::Place {
        generation: recovered.generation,
        shard: 0,
        key: recovered.key,
        fsync: config.journal.fsync,
        interval: Duration::from_millis(u64::from(config.journal.interval_ms)),
    };
    Ok((recovered.shards, Some(place)))
}

/// Shard `i`'s journal threads and hold-back.
fn durability(
    place: &journal::Place,
    i: usize,
    config: &Config,
    metrics: &Metrics,
) -> Result<hold::Durability, String> {
    let place = journal::Place {
        shard: i as u32,
        ..place.clone()
    };
    let threads = journal::Threads::start(place, metrics)?;
    let every_ms = u64::from(config.journal.snapshot_secs) * 1000;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Ok(hold::Durability::new(threads, every_ms, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        let mut config = Config::embedded();
        config.gateway.shards = 1;
        config.journal.fsync = switchboard_config::FsyncMode::Off;
        Engine::start(&config, Arc::new(Metrics::new())).unwrap()
    }

    #[test]
    fn a_clean_stop_joins_ok() {
        let engine = engine();
        engine.shutdown(Duration::from_secs(1));
        assert!(engine.join().is_ok());
    }

    #[test]
    fn a_shard_panic_is_announced_and_reported_by_join() {
        let engine = engine();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            assert!(engine.probe().check_invariants().await.is_ok());
            assert!(engine.inboxes[0].send(ShardInput::Crash).is_ok());
            tokio::time::timeout(Duration::from_secs(10), engine.panicked())
                .await
                .expect("the panic is announced");
            assert!(matches!(
                engine.probe().check_invariants().await,
                Err(ProbeError::Gone(0))
            ));
        });
        let error = engine.join().expect_err("the panic is reported");
        assert_eq!(error.0.len(), 1);
        assert_eq!(error.0[0].thread, "shard-0");
        assert!(error.to_string().contains("crash requested"), "{error}");
    }
}
