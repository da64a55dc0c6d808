//! The three modes: saturated throughput, fixed-rate latency, idle connections.
//!
//! # Roles in the generator
//!
//! - A **connector** is two tasks over one socket: a writer that runs jobs the controller sends
//!   it (open conversations, saturate, send at a fixed rate) and a reader that counts acks,
//!   `agent_joined` and errors. Connectors never wait for acks: Switchboard acks and the baseline
//!   does not, so flow control that both share is needed (the delivery window, below).
//! - An **agent** is one task that reads its socket, accepts every offer (Switchboard only: the
//!   baseline makes none) and, for each `customer_message`, records the latency from the stamp in
//!   the message id and counts the delivery against the sending connector.
//!
//! # Flow control in the saturation mode
//!
//! Each connector keeps at most `window` messages sent but not yet received by an agent, end to
//! end. That is a closed loop that keeps the target busy all the time (the window is far larger
//! than what one round trip needs) without letting queues inside the target grow without bound,
//! so "delivered per second" is the target's capacity and the latency is that of a full but
//! bounded pipeline. It is measured the same way against both targets.
//!
//! # The open model in the latency mode
//!
//! Message `k` of a connector is *intended* at `start + offset + k × interval`, whatever happened
//! to the previous ones; a pacer thread wakes the connectors every `tick` and each writes every
//! message already due, stamped with its intended time. Latency is receipt − intended, so a
//! stall anywhere (target, socket, generator) shows in the figures instead of silently delaying
//! the next sends (coordinated omission). The generator's own lateness is reported beside it.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use switchboard_config::Config;
use tokio::sync::{mpsc, oneshot, watch, Notify, Semaphore};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, Stamp, Ws};
use crate::clock::{now_ns, secs_ns, sleep_until_ns};
use crate::procfs::{self, CpuMeter};
use crate::report::{histogram, Idle, Latency, Rate, Throughput};
use crate::target::{agent_token, connector_key, Kind, Target};

/// What [`Rig::drain_under_load`] saw.
#[derive(Debug, Clone)]
pub struct Drained {
    /// Sockets the target closed with 1001: all of them.
    pub sockets: usize,
    /// Messages delivered to agents before the close.
    pub delivered: u64,
    /// Messages written but never delivered: in flight when the target stopped reading.
    pub undelivered: u64,
    /// Error frames received.
    pub errors: u64,
}

/// What to run and how hard.
#[derive(Debug, Clone)]
pub struct Options {
    /// Connector sockets.
    pub connectors: usize,
    /// Agent sockets.
    pub agents: usize,
    /// Conversations opened before measuring, spread over the connectors.
    pub conversations: usize,
    /// Each agent's capacity claim: large enough that every conversation is assigned.
    pub capacity: u32,
    /// Measured seconds of each saturation run.
    pub duration: f64,
    /// Seconds of saturation before measuring.
    pub warmup: f64,
    /// Messages in flight per connector in the saturation mode.
    pub window: u64,
    /// Messages per frame, one saturation run each.
    pub batches: Vec<usize>,
    /// Offered rates for the latency mode, messages per second in total.
    pub rates: Vec<u64>,
    /// Seconds per rate, warm-up included.
    pub rate_duration: f64,
    /// Seconds at the start of each rate not measured.
    pub rate_warmup: f64,
    /// Pacer period in the latency mode, microseconds.
    pub tick_us: u64,
    /// Idle connections to measure.
    pub idle: usize,
    /// Idle connections opened before the "before" RSS reading, so one-off costs (runtime
    /// threads' first allocations, lazily grown tables) are not charged per connection.
    pub idle_warm: usize,
    /// Handshakes in flight at once while opening idle connections.
    pub idle_concurrency: usize,
    /// Idle connector connections held open during the throughput and latency modes, to see
    /// what many connected-but-quiet clients cost the busy ones.
    pub background: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            connectors: 4,
            agents: 8,
            conversations: 2000,
            capacity: 5000,
            duration: 10.0,
            warmup: 1.0,
            window: 1024,
            batches: vec![1, 32],
            rates: vec![10_000, 25_000, 50_000, 75_000, 100_000, 150_000, 200_000],
            rate_duration: 5.0,
            rate_warmup: 0.5,
            tick_us: 200,
            idle: 10_000,
            idle_warm: 100,
            idle_concurrency: 200,
            background: 0,
        }
    }
}

/// How long a drain (everything sent is delivered) may take after a run before it counts as
/// loss.
const DRAIN: Duration = Duration::from_secs(10);
/// How long opening conversations may take.
const SETUP: Duration = Duration::from_secs(60);
/// A connector whose window stays full this long without a single delivery gives up: the
/// target stalled or dropped the agents.
const STALL: Duration = Duration::from_secs(5);

/// What a connector's tasks and the agents share about it.
struct ConnShared {
    /// Measured messages written (all jobs).
    sent: AtomicU64,
    /// Measured messages received by agents.
    delivered: AtomicU64,
    /// Wake the writer once `delivered` reaches this (`u64::MAX`: nobody waits).
    wake_at: AtomicU64,
    wake: Notify,
    /// Pacer ticks.
    pace: Notify,
    acked: AtomicU64,
    /// Ack frames received (Switchboard acks each frame it processes, or coalesces under load).
    ack_frames: AtomicU64,
    joined: AtomicU64,
    errors: AtomicU64,
    first_error: Mutex<Option<String>>,
    closed: Mutex<Option<String>>,
    /// The target closed the socket with 1001 (going away): a drain, not a failure, in
    /// [`Rig::drain_under_load`].
    going_away: AtomicBool,
}

impl ConnShared {
    fn new() -> Self {
        ConnShared {
            sent: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            wake_at: AtomicU64::new(u64::MAX),
            wake: Notify::new(),
            pace: Notify::new(),
            acked: AtomicU64::new(0),
            ack_frames: AtomicU64::new(0),
            joined: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            first_error: Mutex::new(None),
            closed: Mutex::new(None),
            going_away: AtomicBool::new(false),
        }
    }

    /// An agent received one of this connector's messages.
    fn delivered_one(&self) {
        let now = self.delivered.fetch_add(1, Ordering::SeqCst) + 1;
        // Wake the writer once, when the count crosses its mark: one wake-up per window refill,
        // not one per message.
        if now >= self.wake_at.load(Ordering::SeqCst)
            && self.wake_at.swap(u64::MAX, Ordering::SeqCst) != u64::MAX
        {
            self.wake.notify_one();
        }
    }

    /// Waits until `delivered` reaches `mark`; false if nothing arrives for [`STALL`].
    async fn wait_delivered(&self, mark: u64) -> bool {
        loop {
            let before = self.delivered.load(Ordering::SeqCst);
            if before >= mark {
                return true;
            }
            self.wake_at.store(mark, Ordering::SeqCst);
            // Re-check after publishing the mark: an agent that counted in between saw the old
            // mark and did not notify (both sides use SeqCst, so one of them sees the other).
            if self.delivered.load(Ordering::SeqCst) >= mark {
                self.wake_at.store(u64::MAX, Ordering::SeqCst);
                return true;
            }
            if tokio::time::timeout(STALL, self.wake.notified())
                .await
                .is_err()
                && self.delivered.load(Ordering::SeqCst) == before
            {
                self.wake_at.store(u64::MAX, Ordering::SeqCst);
                return false;
            }
        }
    }

    fn error(&self, text: &str) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut first) = self.first_error.lock() {
            first.get_or_insert_with(|| text.chars().take(300).collect());
        }
    }
}

/// One agent's measurements for the current run.
struct AgentStats {
    /// Receipt − intended send time.
    hist: Histogram<u64>,
    /// Receipt − actual send time.
    service: Histogram<u64>,
    /// Record latency of messages intended in `[lat_from, lat_to)`.
    lat_from: u64,
    lat_to: u64,
    /// Count messages received in `[rx_from, rx_to)`.
    rx_from: u64,
    rx_to: u64,
    rx_count: u64,
}

impl AgentStats {
    fn reset(&mut self, lat: (u64, u64), rx: (u64, u64)) {
        self.hist.reset();
        self.service.reset();
        (self.lat_from, self.lat_to) = lat;
        (self.rx_from, self.rx_to) = rx;
        self.rx_count = 0;
    }

    fn record(&mut self, now: u64, stamp: Stamp) {
        if (self.rx_from..self.rx_to).contains(&now) {
            self.rx_count += 1;
        }
        if (self.lat_from..self.lat_to).contains(&stamp.intended_ns) {
            self.hist
                .saturating_record(now.saturating_sub(stamp.intended_ns).max(1));
            self.service
                .saturating_record(now.saturating_sub(stamp.sent_ns).max(1));
        }
    }
}

struct AgentShared {
    stats: Mutex<AgentStats>,
    offers: AtomicU64,
    errors: AtomicU64,
    first_error: Mutex<Option<String>>,
    closed: Mutex<Option<String>>,
    /// As [`ConnShared::going_away`].
    going_away: AtomicBool,
}

/// What a connector writer is asked to do.
enum Job {
    /// Send one opening message in each of its conversations.
    Open,
    /// Send as fast as the window allows until `until_ns`.
    Saturate {
        until_ns: u64,
        window: u64,
        batch: usize,
    },
    /// Send at a fixed rate between `start_ns` and `end_ns`.
    Paced {
        interval_ns: f64,
        start_ns: u64,
        end_ns: u64,
    },
}

/// What a job did.
struct JobDone {
    /// How late messages were written against their intended time (paced jobs).
    lag: Option<Histogram<u64>>,
}

type JobReply = oneshot::Sender<Result<JobDone, String>>;

/// Connected connectors and agents against one target.
pub struct Rig {
    kind: Kind,
    background: usize,
    pid: Option<u32>,
    conns: Vec<Arc<ConnShared>>,
    jobs: Vec<mpsc::Sender<(Job, JobReply)>>,
    agents: Vec<Arc<AgentShared>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Rig {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicking task poisons nothing we cannot still read: take the data anyway.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Rig {
    /// Connects the agents, then the connectors, each with a completed handshake.
    pub async fn connect(target: &Target, config: &Config, opts: &Options) -> Result<Rig, String> {
        let conns: Vec<Arc<ConnShared>> = (0..opts.connectors)
            .map(|_| Arc::new(ConnShared::new()))
            .collect();
        let shared_conns = Arc::new(conns.clone());
        let mut rig = Rig {
            kind: target.kind,
            background: opts.background,
            pid: target.pid,
            conns,
            jobs: Vec::new(),
            agents: Vec::new(),
            tasks: Vec::new(),
        };
        // Agents first, so that conversations opened later are assigned at once.
        for i in 0..opts.agents {
            let token = agent_token(config, i, opts.capacity)?;
            let ws = client::open(&target.base, "/v1/agent", &token, client::ws_config(false))
                .await
                .map_err(|e| format!("agent {i}: {e}"))?;
            let me = Arc::new(AgentShared {
                stats: Mutex::new(AgentStats {
                    hist: histogram(),
                    service: histogram(),
                    lat_from: 0,
                    lat_to: 0,
                    rx_from: 0,
                    rx_to: 0,
                    rx_count: 0,
                }),
                offers: AtomicU64::new(0),
                errors: AtomicU64::new(0),
                first_error: Mutex::new(None),
                closed: Mutex::new(None),
                going_away: AtomicBool::new(false),
            });
            rig.agents.push(Arc::clone(&me));
            rig.tasks
                .push(tokio::spawn(agent_loop(ws, me, Arc::clone(&shared_conns))));
        }
        let per_connector = opts.conversations.div_ceil(opts.connectors.max(1)).max(1);
        for i in 0..opts.connectors {
            let ws = client::open(
                &target.base,
                "/v1/connector",
                &connector_key(i),
                client::ws_config(false),
            )
            .await
            .map_err(|e| format!("connector {i}: {e}"))?;
            let (sink, stream) = ws.split();
            let (tx, rx) = mpsc::channel(4);
            let me = Arc::clone(&rig.conns[i]);
            rig.tasks
                .push(tokio::spawn(connector_reader(stream, Arc::clone(&me))));
            rig.tasks.push(tokio::spawn(connector_writer(
                sink,
                me,
                rx,
                i,
                per_connector,
            )));
            rig.jobs.push(tx);
        }
        Ok(rig)
    }

    /// Runs one job on every connector and waits for all of them.
    async fn run_jobs(
        &self,
        make: impl Fn(usize) -> Job,
        limit: Duration,
    ) -> Result<Vec<JobDone>, String> {
        let mut replies = Vec::with_capacity(self.jobs.len());
        for (i, jobs) in self.jobs.iter().enumerate() {
            let (tx, rx) = oneshot::channel();
            jobs.send((make(i), tx))
                .await
                .map_err(|_| format!("connector {i}: its writer has stopped"))?;
            replies.push(rx);
        }
        let mut done = Vec::with_capacity(replies.len());
        for (i, rx) in replies.into_iter().enumerate() {
            match tokio::time::timeout(limit, rx).await {
                Err(_) => return Err(format!("connector {i}: job not done within {limit:?}")),
                Ok(Err(_)) => return Err(format!("connector {i}: its writer has stopped")),
                Ok(Ok(result)) => done.push(result.map_err(|e| format!("connector {i}: {e}"))?),
            }
        }
        Ok(done)
    }

    /// Fails if any socket was closed or the target exited.
    fn health(&self, target: &mut Target) -> Result<(), String> {
        if !target.alive() {
            return Err(format!("{} exited", target.kind.name()));
        }
        for (i, a) in self.agents.iter().enumerate() {
            if let Some(why) = lock(&a.closed).clone() {
                return Err(format!("agent {i} was disconnected: {why}"));
            }
        }
        for (i, c) in self.conns.iter().enumerate() {
            if let Some(why) = lock(&c.closed).clone() {
                return Err(format!("connector {i} was disconnected: {why}"));
            }
        }
        Ok(())
    }

    fn errors(&self) -> u64 {
        self.conns
            .iter()
            .map(|c| c.errors.load(Ordering::Relaxed))
            .chain(self.agents.iter().map(|a| a.errors.load(Ordering::Relaxed)))
            .sum()
    }

    /// The first error frame anyone received, for the report.
    pub fn first_error(&self) -> Option<String> {
        self.conns
            .iter()
            .find_map(|c| lock(&c.first_error).clone())
            .or_else(|| {
                self.agents
                    .iter()
                    .find_map(|a| lock(&a.first_error).clone())
            })
    }

    /// Opens every conversation and waits until each has an agent (Switchboard). The baseline
    /// has no conversations to open: it routes by hashing the conversation id.
    pub async fn setup(&self, target: &mut Target, opts: &Options) -> Result<(), String> {
        if self.kind == Kind::Baseline {
            return Ok(());
        }
        self.run_jobs(|_| Job::Open, SETUP).await?;
        let expected =
            (opts.conversations.div_ceil(opts.connectors.max(1)) * opts.connectors) as u64;
        let deadline = Instant::now() + SETUP;
        loop {
            let joined: u64 = self
                .conns
                .iter()
                .map(|c| c.joined.load(Ordering::Relaxed))
                .sum();
            if joined >= expected {
                return Ok(());
            }
            self.health(target)?;
            if self.errors() > 0 {
                return Err(format!(
                    "errors while opening conversations: {}",
                    self.first_error().unwrap_or_default()
                ));
            }
            if Instant::now() > deadline {
                let offers: u64 = self
                    .agents
                    .iter()
                    .map(|a| a.offers.load(Ordering::Relaxed))
                    .sum();
                return Err(format!(
                    "only {joined} of {expected} conversations were assigned within {SETUP:?} \
                     ({offers} offers seen)"
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn reset_agents(&self, lat: (u64, u64), rx: (u64, u64)) {
        for a in &self.agents {
            lock(&a.stats).reset(lat, rx);
        }
    }

    /// (latency from intended send, latency from actual send, messages received in window).
    fn collect(&self) -> (Histogram<u64>, Histogram<u64>, u64) {
        let mut hist = histogram();
        let mut service = histogram();
        let mut rx = 0;
        for a in &self.agents {
            let stats = lock(&a.stats);
            // Same bounds everywhere, so adding cannot fail.
            let _ = hist.add(&stats.hist);
            let _ = service.add(&stats.service);
            rx += stats.rx_count;
        }
        (hist, service, rx)
    }

    fn ack_frames(&self) -> u64 {
        self.conns
            .iter()
            .map(|c| c.ack_frames.load(Ordering::Relaxed))
            .sum()
    }

    fn totals(&self) -> (u64, u64) {
        self.conns.iter().fold((0, 0), |(s, d), c| {
            (
                s + c.sent.load(Ordering::SeqCst),
                d + c.delivered.load(Ordering::SeqCst),
            )
        })
    }

    /// Waits until every measured message sent so far has been delivered; returns how many
    /// were not, after [`DRAIN`].
    async fn drain(&self) -> u64 {
        let deadline = Instant::now() + DRAIN;
        loop {
            let (sent, delivered) = self.totals();
            if delivered >= sent || Instant::now() > deadline {
                return sent.saturating_sub(delivered);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// One saturation run.
    pub async fn throughput(
        &self,
        target: &mut Target,
        opts: &Options,
        batch: usize,
    ) -> Result<Throughput, String> {
        let errors_before = self.errors();
        let acks_before = self.ack_frames();
        let (sent_before, _) = self.totals();
        let start = now_ns() + secs_ns(0.02);
        let from = start + secs_ns(opts.warmup);
        let to = from + secs_ns(opts.duration);
        self.reset_agents((from, to), (from, to));
        let window = opts.window.max(batch as u64);
        let pid = self.pid;
        let meter = async move {
            sleep_until_ns(from).await;
            let meter = CpuMeter::start(pid);
            sleep_until_ns(to).await;
            meter.read()
        };
        let limit = Duration::from_secs_f64(opts.warmup + opts.duration) + STALL * 2;
        let jobs = self.run_jobs(
            |_| Job::Saturate {
                until_ns: to,
                window,
                batch,
            },
            limit,
        );
        let (done, cpu) = tokio::join!(jobs, meter);
        if let Err(e) = done {
            // Say why deliveries stopped when the target closed someone (e.g. a slow consumer).
            return Err(match self.health(target) {
                Ok(()) => e,
                Err(why) => format!("{e}; {why}"),
            });
        }
        let lost = self.drain().await;
        self.health(target)?;
        let (hist, _, rx) = self.collect();
        let (sent_after, _) = self.totals();
        let sent = sent_after - sent_before;
        Ok(Throughput {
            target: self.kind.name().into(),
            background_idle: self.background,
            batch,
            seconds: opts.duration,
            delivered_per_sec: rx as f64 / opts.duration,
            latency: Latency::of(&hist),
            target_cpu_cores: cpu.target,
            generator_cpu_cores: cpu.generator,
            other_cpu_cores: cpu.other,
            busiest_thread: cpu.busiest_thread,
            sent,
            ack_frames_per_message: (self.ack_frames() - acks_before) as f64 / sent.max(1) as f64,
            lost,
            errors: self.errors() - errors_before,
        })
    }

    /// Saturates the target until it drains: someone sends it SIGTERM during the run. Passes
    /// when messages were flowing and every socket was then closed by the target with 1001
    /// (going away); fails on any other close, a socket still open [`DRAIN`] after the jobs
    /// ended, or a target that never drained within `opts.duration`.
    pub async fn drain_under_load(&self, opts: &Options) -> Result<Drained, String> {
        let start = now_ns();
        let to = start + secs_ns(opts.duration);
        self.reset_agents((start, to), (start, to));
        let limit = Duration::from_secs_f64(opts.duration) + STALL * 2;
        // The jobs end with an error once the target closes their sockets: expected here.
        let jobs = self
            .run_jobs(
                |_| Job::Saturate {
                    until_ns: to,
                    window: opts.window.max(1),
                    batch: 1,
                },
                limit,
            )
            .await;
        let deadline = Instant::now() + DRAIN;
        let sockets = || {
            let agents = self.agents.iter().map(|a| (&a.closed, &a.going_away));
            let conns = self.conns.iter().map(|c| (&c.closed, &c.going_away));
            agents.chain(conns).collect::<Vec<_>>()
        };
        while sockets().iter().any(|(closed, _)| lock(closed).is_none()) {
            if Instant::now() > deadline {
                let open = sockets()
                    .iter()
                    .filter(|(closed, _)| lock(closed).is_none())
                    .count();
                return Err(match jobs {
                    Ok(_) => format!(
                        "the target did not drain within the {} s run: {open} socket(s) open",
                        opts.duration
                    ),
                    Err(e) => format!(
                        "{open} socket(s) still open {DRAIN:?} after the load stopped ({e})"
                    ),
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if let Some(why) = sockets()
            .iter()
            .find(|(_, going_away)| !going_away.load(Ordering::SeqCst))
            .and_then(|(closed, _)| lock(closed).clone())
        {
            return Err(format!(
                "a socket was closed otherwise than with 1001: {why}"
            ));
        }
        let (_, _, delivered) = self.collect();
        if delivered == 0 {
            return Err("no message was delivered before the drain: was there any load?".into());
        }
        let (sent, delivered_total) = self.totals();
        Ok(Drained {
            sockets: sockets().len(),
            delivered,
            undelivered: sent.saturating_sub(delivered_total),
            errors: self.errors(),
        })
    }

    /// One fixed-rate run.
    pub async fn latency(
        &self,
        target: &mut Target,
        opts: &Options,
        rate: u64,
    ) -> Result<Rate, String> {
        let errors_before = self.errors();
        let n = self.conns.len().max(1) as f64;
        // Each connector sends every `interval`; connector i is offset by i/n of it, so the
        // merged stream is evenly spaced at the total rate.
        let interval_ns = 1e9 * n / rate.max(1) as f64;
        let start = now_ns() + secs_ns(0.1);
        let end = start + secs_ns(opts.rate_duration);
        let from = start + secs_ns(opts.rate_warmup);
        self.reset_agents((from, end), (from, end));
        // The pacer: a plain thread, because its sleeps are finer than tokio's 1 ms timer wheel.
        let pacer_conns = self.conns.clone();
        let tick = Duration::from_micros(opts.tick_us.max(20));
        let stop_pacer = Arc::new(AtomicBool::new(false));
        let stop_flag = Arc::clone(&stop_pacer);
        let pacer = std::thread::spawn(move || {
            while now_ns() < end + secs_ns(0.01) && !stop_flag.load(Ordering::Relaxed) {
                for c in &pacer_conns {
                    c.pace.notify_one();
                }
                std::thread::sleep(tick);
            }
            for c in &pacer_conns {
                c.pace.notify_one();
            }
        });
        let pid = self.pid;
        let meter = async move {
            sleep_until_ns(from).await;
            let meter = CpuMeter::start(pid);
            sleep_until_ns(end).await;
            meter.read()
        };
        let limit = Duration::from_secs_f64(opts.rate_duration + 0.1) + STALL * 2;
        let jobs = self.run_jobs(
            |i| Job::Paced {
                interval_ns,
                start_ns: start + (i as f64 * interval_ns / n) as u64,
                end_ns: end,
            },
            limit,
        );
        let (done, cpu) = tokio::join!(jobs, meter);
        stop_pacer.store(true, Ordering::Relaxed);
        let _ = pacer.join();
        let lost = self.drain().await;
        // Past its capacity a target may shed clients (Switchboard closes a consumer that falls
        // too far behind with 1013). That is an outcome of the rate, reported in the row, not a
        // failure of the bench; a target that exits, or a job failing for any other reason, is.
        let closed = match (self.health(target), &done) {
            (Ok(()), Ok(_)) => None,
            (Ok(()), Err(e)) => return Err(e.clone()),
            (Err(why), _) if target.alive() => Some(why),
            (Err(why), _) => return Err(why),
        };
        let mut lag = histogram();
        for d in done.iter().flatten() {
            if let Some(h) = &d.lag {
                let _ = lag.add(h);
            }
        }
        let (hist, service, _) = self.collect();
        let scheduled = (rate as f64 * (end - from) as f64 / 1e9).round() as u64;
        let latency = Latency::of(&hist);
        let delivered = hist.len();
        let sustained = closed.is_none()
            && delivered as f64 >= 0.99 * scheduled as f64
            && latency.p99_us < 100_000.0;
        Ok(Rate {
            target: self.kind.name().into(),
            background_idle: self.background,
            offered_per_sec: rate,
            scheduled,
            delivered,
            latency,
            service_latency: Latency::of(&service),
            generator_lag: Latency::of(&lag),
            target_cpu_cores: cpu.target,
            generator_cpu_cores: cpu.generator,
            other_cpu_cores: cpu.other,
            busiest_thread: cpu.busiest_thread,
            sustained,
            closed,
            lost,
            errors: self.errors() - errors_before,
        })
    }
}

/// Whether a close frame says 1001 (going away), what Switchboard sends every client when it
/// drains on SIGTERM.
fn is_going_away(frame: &Option<CloseFrame>) -> bool {
    frame.as_ref().is_some_and(|f| f.code == CloseCode::Away)
}

/// Reads an agent's socket until it closes: accepts offers, measures customer messages.
async fn agent_loop(mut ws: Ws, me: Arc<AgentShared>, conns: Arc<Vec<Arc<ConnShared>>>) {
    let mut seq = 1u64; // hello was 1
    let why = loop {
        let text = match ws.next().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => {
                me.going_away.store(is_going_away(&frame), Ordering::SeqCst);
                break format!("closed by the server: {frame:?}");
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => break format!("read failed: {e}"),
            None => break "connection ended".to_string(),
        };
        let now = now_ns();
        // Hot path: one customer_message per frame, `type` first (both servers do this).
        if text.starts_with(r#"{"type":"customer_message""#) {
            if let Some(stamp) = client::find_stamp(&text) {
                lock(&me.stats).record(now, stamp);
                if let Some(c) = conns.get(stamp.connector) {
                    c.delivered_one();
                }
            }
            continue;
        }
        for message in client::messages(&text) {
            match message.get("type").and_then(|t| t.as_str()) {
                Some("customer_message") => {
                    let stamp = message
                        .get("message_id")
                        .and_then(|m| m.as_str())
                        .and_then(client::stamp_of_id);
                    if let Some(stamp) = stamp {
                        lock(&me.stats).record(now, stamp);
                        if let Some(c) = conns.get(stamp.connector) {
                            c.delivered_one();
                        }
                    }
                }
                Some("offer") => {
                    me.offers.fetch_add(1, Ordering::Relaxed);
                    let auto = message.get("auto_accepted").and_then(|a| a.as_bool());
                    let conversation = message.get("conversation").and_then(|c| c.as_str());
                    if let (Some(false) | None, Some(conversation)) = (auto, conversation) {
                        seq += 1;
                        let accept = serde_json::json!({
                            "type": "accept", "seq": seq, "conversation": conversation
                        });
                        if let Err(e) = ws.send(Message::text(accept.to_string())).await {
                            *lock(&me.closed) = Some(format!("sending accept failed: {e}"));
                            return;
                        }
                    }
                }
                Some("error") => {
                    me.errors.fetch_add(1, Ordering::Relaxed);
                    lock(&me.first_error).get_or_insert_with(|| message.to_string());
                }
                _ => {}
            }
        }
    };
    *lock(&me.closed) = Some(why);
}

/// Reads a connector's socket until it closes: acks, agent_joined, errors.
async fn connector_reader(mut stream: SplitStream<Ws>, me: Arc<ConnShared>) {
    let why = loop {
        let text = match stream.next().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => {
                me.going_away.store(is_going_away(&frame), Ordering::SeqCst);
                break format!("closed by the server: {frame:?}");
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => break format!("read failed: {e}"),
            None => break "connection ended".to_string(),
        };
        if let Some(seq) = client::ack_seq(&text) {
            me.acked.fetch_max(seq, Ordering::Relaxed);
            me.ack_frames.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        for message in client::messages(&text) {
            match message.get("type").and_then(|t| t.as_str()) {
                Some("ack") => {
                    me.ack_frames.fetch_add(1, Ordering::Relaxed);
                    if let Some(seq) = message.get("seq").and_then(|s| s.as_u64()) {
                        me.acked.fetch_max(seq, Ordering::Relaxed);
                    }
                }
                Some("agent_joined") => {
                    me.joined.fetch_add(1, Ordering::Relaxed);
                }
                Some("error") => me.error(&message.to_string()),
                _ => {}
            }
        }
    };
    *lock(&me.closed) = Some(why);
}

/// Runs a connector's jobs over its socket's write half.
async fn connector_writer(
    mut sink: SplitSink<Ws, Message>,
    me: Arc<ConnShared>,
    mut jobs: mpsc::Receiver<(Job, JobReply)>,
    index: usize,
    conversations: usize,
) {
    let mut writer = Writer {
        sink: &mut sink,
        me: &me,
        index,
        conversations,
        seq: 1, // hello was 1
        counter: 0,
        buf: String::with_capacity(64 * 1024),
    };
    while let Some((job, reply)) = jobs.recv().await {
        let result = match job {
            Job::Open => writer.open().await.map(|()| JobDone { lag: None }),
            Job::Saturate {
                until_ns,
                window,
                batch,
            } => writer
                .saturate(until_ns, window, batch)
                .await
                .map(|()| JobDone { lag: None }),
            Job::Paced {
                interval_ns,
                start_ns,
                end_ns,
            } => writer
                .paced(interval_ns, start_ns, end_ns)
                .await
                .map(|lag| JobDone { lag: Some(lag) }),
        };
        let failed = result.is_err();
        let _ = reply.send(result);
        if failed {
            return;
        }
    }
}

struct Writer<'a> {
    sink: &'a mut SplitSink<Ws, Message>,
    me: &'a ConnShared,
    index: usize,
    conversations: usize,
    seq: u64,
    counter: u64,
    buf: String,
}

impl Writer<'_> {
    /// Appends the next measured message to `buf`, round robin over the conversations.
    fn push(&mut self, marker: char, conversation: usize, intended_ns: u64, sent_ns: u64) {
        self.seq += 1;
        self.counter += 1;
        client::push_customer_message(
            &mut self.buf,
            self.seq,
            self.index,
            conversation,
            marker,
            self.counter,
            intended_ns,
            sent_ns,
        );
    }

    async fn feed(&mut self) -> Result<(), String> {
        let frame = std::mem::take(&mut self.buf);
        self.sink
            .feed(Message::text(frame))
            .await
            .map_err(|e| format!("send failed: {e}"))
    }

    async fn flush(&mut self) -> Result<(), String> {
        self.sink
            .flush()
            .await
            .map_err(|e| format!("send failed: {e}"))
    }

    async fn open(&mut self) -> Result<(), String> {
        for conversation in 0..self.conversations {
            let now = now_ns();
            self.push('o', conversation, now, now);
            self.feed().await?;
            if conversation % 64 == 63 {
                self.flush().await?;
            }
        }
        self.flush().await
    }

    async fn saturate(&mut self, until_ns: u64, window: u64, batch: usize) -> Result<(), String> {
        let batch = batch.max(1);
        let mut unflushed = 0;
        while now_ns() < until_ns {
            let sent = self.me.sent.load(Ordering::SeqCst);
            let delivered = self.me.delivered.load(Ordering::SeqCst);
            if sent.saturating_sub(delivered) + batch as u64 > window {
                // Window full: push out what is buffered, then wait until a quarter of the
                // window has drained (hysteresis: one wake-up per refill, not per message).
                self.flush().await?;
                unflushed = 0;
                let mark = (sent + batch as u64 + window / 4).saturating_sub(window);
                if !self.me.wait_delivered(mark).await {
                    return Err(format!(
                        "no delivery for {STALL:?} with {} messages in flight: the target stalled",
                        sent.saturating_sub(delivered)
                    ));
                }
                continue;
            }
            let now = now_ns();
            if batch > 1 {
                self.buf.push('[');
            }
            for k in 0..batch {
                if k > 0 {
                    self.buf.push(',');
                }
                let conversation = (self.counter as usize) % self.conversations;
                self.push('m', conversation, now, now);
            }
            if batch > 1 {
                self.buf.push(']');
            }
            self.me.sent.fetch_add(batch as u64, Ordering::SeqCst);
            self.feed().await?;
            unflushed += batch;
            // Flush in groups: one write syscall for several frames, as a busy connector would.
            if unflushed >= 32 {
                self.flush().await?;
                unflushed = 0;
            }
        }
        self.flush().await
    }

    async fn paced(
        &mut self,
        interval_ns: f64,
        start_ns: u64,
        end_ns: u64,
    ) -> Result<Histogram<u64>, String> {
        let mut lag = histogram();
        let mut k: u64 = 0;
        loop {
            let now = now_ns();
            if now >= end_ns {
                break;
            }
            if now >= start_ns {
                // Every message whose intended time has come, each stamped with that time.
                let due = ((now - start_ns) as f64 / interval_ns) as u64 + 1;
                let mut wrote = false;
                while k < due {
                    let intended = start_ns + (k as f64 * interval_ns) as u64;
                    if intended >= end_ns {
                        break;
                    }
                    let conversation = (self.counter as usize) % self.conversations;
                    let sent = now_ns();
                    self.push('m', conversation, intended, sent);
                    self.me.sent.fetch_add(1, Ordering::SeqCst);
                    self.feed().await?;
                    lag.saturating_record(sent.saturating_sub(intended).max(1));
                    k += 1;
                    wrote = true;
                }
                if wrote {
                    self.flush().await?;
                }
            }
            // The pacer ticks every few hundred microseconds; the timeout only guards against a
            // pacer that died.
            let _ = tokio::time::timeout(Duration::from_millis(50), self.me.pace.notified()).await;
        }
        self.flush().await?;
        Ok(lag)
    }
}

/// Silent connector connections: each says hello, waits for its welcome, then only reads (which
/// answers the server's pings) until the pool is dropped.
pub struct IdlePool {
    base: String,
    stop: watch::Sender<bool>,
    failures: Arc<Mutex<Vec<String>>>,
    welcomed: Arc<AtomicUsize>,
    gate: Arc<Semaphore>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for IdlePool {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl IdlePool {
    /// An empty pool against `base`, opening at most `concurrency` connections at once.
    pub fn new(base: &str, concurrency: usize) -> Self {
        IdlePool {
            base: base.to_string(),
            stop: watch::channel(false).0,
            failures: Arc::new(Mutex::new(Vec::new())),
            welcomed: Arc::new(AtomicUsize::new(0)),
            gate: Arc::new(Semaphore::new(concurrency.max(1))),
            tasks: Vec::new(),
        }
    }

    /// Starts opening connections with the connector identities in `keys`.
    pub fn open(&mut self, keys: std::ops::Range<usize>) {
        for i in keys {
            let base = self.base.clone();
            let (failures, welcomed, gate) = (
                Arc::clone(&self.failures),
                Arc::clone(&self.welcomed),
                Arc::clone(&self.gate),
            );
            let mut stop = self.stop.subscribe();
            self.tasks.push(tokio::spawn(async move {
                let ws = {
                    let Ok(_permit) = gate.acquire().await else {
                        return;
                    };
                    client::open(
                        &base,
                        "/v1/connector",
                        &connector_key(i),
                        client::ws_config(true),
                    )
                    .await
                };
                let mut ws = match ws {
                    Ok(ws) => ws,
                    Err(e) => {
                        lock(&failures).push(format!("idle connection {i}: {e}"));
                        return;
                    }
                };
                welcomed.fetch_add(1, Ordering::SeqCst);
                loop {
                    tokio::select! {
                        frame = ws.next() => match frame {
                            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                                if !*stop.borrow() {
                                    lock(&failures).push(format!("idle connection {i} was closed"));
                                }
                                return;
                            }
                            Some(Ok(_)) => {}
                        },
                        _ = stop.changed() => return,
                    }
                }
            }));
        }
    }

    /// Waits until `count` connections in all have been welcomed; fails on the first failure.
    pub async fn welcomed(&self, count: usize, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(first) = lock(&self.failures).first() {
                return Err(first.clone());
            }
            if self.welcomed.load(Ordering::SeqCst) >= count {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "only {} of {count} idle connections welcomed within {limit:?}",
                    self.welcomed.load(Ordering::SeqCst)
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The first connection that failed or was closed, if any.
    pub fn failure(&self) -> Option<String> {
        lock(&self.failures).first().cloned()
    }
}

/// Fails unless this process may hold `sockets` more open files.
pub fn check_nofile(sockets: usize) -> Result<(), String> {
    let needed = (sockets + 64) as u64;
    match procfs::nofile_soft_limit() {
        Some(limit) if limit < needed => Err(format!(
            "the open-files limit is {limit}, this run needs about {needed}: \
             raise it with `ulimit -n` or open fewer connections"
        )),
        _ => Ok(()),
    }
}

/// How long opening `n` connections may take: 10,000 take a few seconds here; 2 ms each is
/// the ceiling.
pub fn open_limit(n: usize) -> Duration {
    Duration::from_secs(30) + Duration::from_millis(2 * n as u64)
}

/// Opens `opts.idle` silent connections and reports what they cost the target in memory.
pub async fn idle(target: &mut Target, opts: &Options) -> Result<Idle, String> {
    let pid = target
        .pid
        .ok_or("the idle mode needs the target's pid (spawn it, or pass --target-pid)")?;
    check_nofile(opts.idle + opts.idle_warm)?;
    let mut pool = IdlePool::new(&target.base, opts.idle_concurrency);
    // Warm-up connections: their one-off costs stay out of the per-connection figure.
    pool.open(0..opts.idle_warm);
    pool.welcomed(opts.idle_warm, open_limit(opts.idle_warm))
        .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = procfs::rss_kib(pid).ok_or("cannot read the target's RSS")?;
    let started = Instant::now();
    pool.open(opts.idle_warm..opts.idle_warm + opts.idle);
    pool.welcomed(opts.idle_warm + opts.idle, open_limit(opts.idle))
        .await?;
    let open_seconds = started.elapsed().as_secs_f64();
    // Let the target finish whatever the handshakes queued (attach, first allocations).
    tokio::time::sleep(Duration::from_secs(2)).await;
    if !target.alive() {
        return Err(format!("{} exited", target.kind.name()));
    }
    if let Some(failure) = pool.failure() {
        return Err(failure);
    }
    let after = procfs::rss_kib(pid).ok_or("cannot read the target's RSS")?;
    Ok(Idle {
        target: target.kind.name().into(),
        connections: opts.idle,
        rss_before_kib: before,
        rss_after_kib: after,
        kib_per_connection: (after as f64 - before as f64) / opts.idle.max(1) as f64,
        open_seconds,
        target_threads: procfs::threads(pid),
        generator_rss_kib: procfs::rss_kib(std::process::id()),
    })
}
