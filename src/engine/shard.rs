//! One shard thread: I/O around its tenants' cores. Inputs come from the inbox, the clock is
//! read once per batch and passed in, and each core's outputs go to outboxes and metrics.
//!
//! What stays here because it needs the real world: which outbox a connection id means, whether
//! an outbox has room (a full one is reported back to the core as `Stalled`/`AckStalled`, and
//! drained later), how long a connection has lagged (past `gateway.slow_consumer_secs` it is
//! closed with 1013 and detached, a decision the core receives as an input), and the latency
//! histograms, which use the monotonic clock.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use prometheus::{Histogram, IntCounter, IntGauge};
use rustc_hash::FxHashMap;
use tokio::sync::mpsc::error::TrySendError;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::clock::WallClock;
use super::hold::{Durability, Held};
use super::observe::{AgentRow, SessionsView, ShardSnapshot, Snapshots, TenantObserver};
use super::{AdminQuery, ConversationInfo, Outbox, ShardInput, Violation};
use crate::metrics::Metrics;
use switchboard_config::{GatewayConfig, TenantConfig};
use switchboard_protocol::CloseCode;
use switchboard_router::{ConversationId, Millis, Role, State};
use switchboard_tenant::{ConnId, Identity, Input, Observation, Output, TenantCore};

/// Inputs taken per wake-up (one batch, one clock reading) before timers and slow consumers
/// get a look.
const BATCH: usize = 1024;

/// How often a lagging connection is looked at.
const LAGGING_POLL: Duration = Duration::from_millis(20);

/// A tenant's core and what its metrics keep.
struct Tenant {
    core: TenantCore<Utf8Bytes>,
    observer: TenantObserver,
}

/// A connection's writer as the shard knows it. Bound: one per attached connection; dropped
/// when its core releases it or it detaches.
struct Conn {
    outbox: Outbox,
    tenant: usize,
    /// The `role` label of its drops and slow-consumer closes (bots count as `agent` here).
    role: &'static str,
}

/// A shard: its tenants and its loop.
pub(super) struct Shard {
    index: usize,
    tenants: Vec<Tenant>,
    gateway: GatewayConfig,
    inbox: Receiver<ShardInput>,
    /// The cores' time: Unix ms, never backwards.
    clock: WallClock,
    stopping: bool,
    metrics: Arc<Metrics>,
    snapshots: Arc<Snapshots>,
    commands: IntCounter,
    apply_time: Histogram,
    inbox_depth: IntGauge,
    last_refresh: u64,
    conns: FxHashMap<ConnId, Conn>,
    /// Connections a core says are behind, with since when their frames lag (None: only an
    /// ack is owed). A superset: entries that caught up go on the next flush.
    behind: FxHashMap<ConnId, Option<Millis>>,
    /// The batch's time, read once: Unix ms for the cores, and the same reading as an
    /// `Instant` for latency metrics.
    now: Millis,
    instant: Instant,
    /// When the input being handled was read from its socket (for the handoff latency).
    received: Option<Instant>,
    /// The answer of the last `SetStatus`.
    answer: Option<Result<(), &'static str>>,
    /// Reused for every core's outputs.
    out: Vec<Output<Utf8Bytes>>,
    /// The journal, unless `journal.fsync = "off"`: inputs are recorded and outputs held until
    /// durable.
    journal: Option<Durability>,
}

impl Shard {
    /// A shard over its tenants' cores (fresh or recovered), journalling if `journal` is given.
    pub(super) fn new(
        index: usize,
        tenants: Vec<(TenantConfig, TenantCore<Utf8Bytes>)>,
        gateway: GatewayConfig,
        inbox: Receiver<ShardInput>,
        metrics: Arc<Metrics>,
        snapshots: Arc<Snapshots>,
        journal: Option<Durability>,
    ) -> Self {
        let shard = index.to_string();
        let tenants = tenants
            .into_iter()
            .map(|(config, core)| {
                let observer = TenantObserver::new(
                    &metrics,
                    &config.id,
                    core.router(),
                    config.sla.service_level,
                );
                Tenant { core, observer }
            })
            .collect();
        let clock = WallClock::start();
        let instant = Instant::now();
        Shard {
            index,
            tenants,
            gateway,
            inbox,
            now: clock.at(instant),
            instant,
            clock,
            stopping: false,
            commands: metrics.router_commands.with_label_values(&[&shard]),
            apply_time: metrics.apply_time.with_label_values(&[&shard]),
            inbox_depth: metrics.inbox_depth.with_label_values(&[&shard]),
            metrics,
            snapshots,
            last_refresh: u64::MAX,
            conns: FxHashMap::default(),
            behind: FxHashMap::default(),
            received: None,
            answer: None,
            out: Vec::new(),
            journal,
        }
    }

    /// Reads the clock: once per batch.
    fn tick(&mut self) {
        self.instant = Instant::now();
        self.now = self.clock.at(self.instant);
    }

    pub(super) fn run(mut self) {
        let mut batch = Vec::with_capacity(BATCH);
        while !self.stopping {
            if !self.take(&mut batch) {
                break;
            }
            // Read after the batch is taken: every input in it arrived before `now`.
            self.tick();
            if !batch.is_empty() {
                for input in batch.drain(..) {
                    self.handle(input);
                }
                self.each_tenant(|core| core.acks_due(), || Input::FlushAcks);
            }
            let now = self.now;
            let due =
                |core: &TenantCore<Utf8Bytes>| core.next_deadline().is_some_and(|at| at <= now);
            self.each_tenant(due, || Input::Timers);
            self.flush_behind();
            let second = self.now / 1000;
            if second != self.last_refresh {
                self.last_refresh = second;
                self.refresh(second);
            }
            if let Some(journal) = &mut self.journal {
                journal.seal(now);
            }
        }
        self.finish();
    }

    /// Waits for work: a batch of inputs, a frame made durable, or the next deadline. While every
    /// journal slot is taken it waits for the writer alone. Returns false once every sender of
    /// the inbox is gone.
    fn take(&mut self, batch: &mut Vec<ShardInput>) -> bool {
        let wait = self.next_wake();
        let Some(journal) = &mut self.journal else {
            return self.take_inputs(batch, wait);
        };
        if journal.full() {
            let released = journal.wait();
            self.release(released);
            return true;
        }
        let notices = journal.notices();
        let inbox = self.inbox.clone();
        crossbeam_channel::select! {
            recv(notices) -> notice => {
                if let (Ok(notice), Some(journal)) = (notice, &mut self.journal) {
                    let released = journal.on_notice(notice);
                    self.release(released);
                }
                true
            }
            recv(inbox) -> input => match input {
                Ok(input) => {
                    batch.push(input);
                    self.take_more(batch);
                    true
                }
                Err(_) => false,
            },
            default(wait) => true,
        }
    }

    fn take_inputs(&mut self, batch: &mut Vec<ShardInput>, wait: Duration) -> bool {
        match self.inbox.recv_timeout(wait) {
            Ok(input) => {
                batch.push(input);
                self.take_more(batch);
                true
            }
            Err(RecvTimeoutError::Timeout) => true,
            Err(RecvTimeoutError::Disconnected) => false,
        }
    }

    fn take_more(&self, batch: &mut Vec<ShardInput>) {
        while batch.len() < BATCH {
            match self.inbox.try_recv() {
                Ok(input) => batch.push(input),
                Err(_) => break,
            }
        }
    }

    /// Carries out the outputs of frames the journal made durable, in order.
    fn release(&mut self, frames: Vec<Held>) {
        for held in frames {
            let frame = held.frame;
            self.emit(Some(frame), held.outputs);
            for reply in held.replies {
                reply();
            }
        }
    }

    /// After the loop: makes everything durable and delivered, then takes the final snapshot
    /// (a graceful stop; a shard whose inbox closed does the same).
    fn finish(&mut self) {
        while let Some(journal) = &mut self.journal {
            journal.seal(self.now);
            if journal.idle() {
                break;
            }
            let released = journal.wait();
            self.release(released);
        }
        if self.journal.is_none() {
            return;
        }
        let cores = self.clones();
        if let Some(mut journal) = self.journal.take() {
            if let Err(error) = journal.final_snapshot(cores) {
                tracing::error!(
                    shard = self.index,
                    %error,
                    "the final snapshot failed; the journal still holds everything"
                );
            }
            journal.stop();
        }
    }

    /// A clone of every core with its state hash, in tenant order.
    fn clones(&self) -> Vec<(switchboard_tenant::CoreSnapshot<Utf8Bytes>, u64)> {
        self.tenants
            .iter()
            .map(|t| (t.core.snapshot(), t.core.state_hash()))
            .collect()
    }

    /// Gives `input` to every tenant whose core `wants` it.
    fn each_tenant(
        &mut self,
        wants: impl Fn(&TenantCore<Utf8Bytes>) -> bool,
        input: impl Fn() -> Input,
    ) {
        for t in 0..self.tenants.len() {
            if wants(&self.tenants[t].core) {
                self.apply(t, input());
            }
        }
    }

    /// How long to sleep: until the earliest router deadline or the next whole second (the
    /// refresh), sooner while a consumer lags.
    fn next_wake(&self) -> Duration {
        let now = self.clock.now_ms();
        let mut wait = Duration::from_millis(1000 - now % 1000);
        for tenant in &self.tenants {
            if let Some(at) = tenant.core.next_deadline() {
                wait = wait.min(Duration::from_millis(at.saturating_sub(now)));
            }
        }
        if !self.behind.is_empty() {
            wait = wait.min(LAGGING_POLL);
        }
        wait
    }

    fn handle(&mut self, input: ShardInput) {
        match input {
            ShardInput::Attach {
                tenant,
                conn,
                identity,
                hello,
                outbox,
            } => self.attach(tenant, conn, identity, hello, outbox),
            ShardInput::Client {
                tenant,
                conn,
                messages,
                through,
                received,
            } => {
                self.received = Some(received);
                let input = Input::Client {
                    conn,
                    messages,
                    through,
                };
                self.apply(tenant, input);
                self.received = None;
            }
            ShardInput::Admin(query) => self.admin(query),
            ShardInput::Detach { tenant, conn } => self.detach(tenant, conn),
            ShardInput::CheckInvariants { reply } => {
                let violations = self
                    .tenants
                    .iter()
                    .filter_map(|tenant| {
                        let message = tenant.core.router().check_invariants().err()?;
                        Some(Violation {
                            tenant: tenant.core.id().to_string(),
                            message,
                        })
                    })
                    .collect();
                let _ = reply.send(violations);
            }
            #[cfg(test)]
            ShardInput::Crash => panic!("crash requested by a test"),
            ShardInput::Shutdown => {
                self.each_tenant(|_| true, || Input::Shutdown);
                self.stopping = true;
            }
        }
    }

    fn attach(
        &mut self,
        t: usize,
        conn: ConnId,
        identity: Identity,
        hello: switchboard_protocol::Hello,
        outbox: Outbox,
    ) {
        if t >= self.tenants.len() {
            outbox.close(CloseCode::UnknownTenant);
            return;
        }
        let role = match identity {
            Identity::Connector { .. } => "connector",
            Identity::Agent(_) => "agent",
        };
        self.conns.insert(
            conn,
            Conn {
                outbox,
                tenant: t,
                role,
            },
        );
        let input = Input::Attach {
            conn,
            identity,
            hello,
        };
        self.apply(t, input);
    }

    fn detach(&mut self, t: usize, conn: ConnId) {
        self.apply(t, Input::Detach { conn });
        self.forget(conn);
    }

    /// Applies one input to a tenant's core at the batch's time. Its outputs are carried out at
    /// once, or, with a journal, recorded and held until the input is durable (observations for
    /// metrics are counted at once either way).
    fn apply(&mut self, t: usize, input: Input) {
        let Some(tenant) = self.tenants.get_mut(t) else {
            return;
        };
        if let Some(journal) = &mut self.journal {
            journal.record(t, self.now, &input);
        }
        let started = Instant::now();
        let mut out = std::mem::take(&mut self.out);
        tenant.core.apply(self.now, input, &mut out);
        let elapsed = started.elapsed().as_secs_f64();
        // The histogram is per router command (its count follows
        // switchboard_router_commands_total): an input that applied several shares its time.
        let commands = if self.journal.is_some() {
            self.hold(t, &mut out)
        } else {
            self.emit(None, out.drain(..).map(|output| (t, output)))
        };
        for _ in 0..commands {
            self.apply_time.observe(elapsed / commands as f64);
        }
        self.out = out;
    }

    /// Counts a core's observations now and holds the rest of its outputs for the forming
    /// frame; returns how many router commands they report.
    fn hold(&mut self, t: usize, out: &mut Vec<Output<Utf8Bytes>>) -> usize {
        let mut commands = 0;
        for output in out.drain(..) {
            match output {
                Output::Observe(observation) => commands += self.observe(t, observation),
                Output::StatusSet(answer) => self.answer = Some(answer),
                output => {
                    if let Some(journal) = &mut self.journal {
                        journal.hold(t, output);
                    }
                }
            }
        }
        commands
    }

    /// Carries out outputs in order (those of journal frame `frame`, if held); returns how many
    /// router commands they report. A connection that cannot take a numbered frame or an ack is
    /// reported back to its core afterwards, and gets nothing more numbered from these outputs.
    fn emit(
        &mut self,
        frame: Option<u64>,
        outputs: impl IntoIterator<Item = (usize, Output<Utf8Bytes>)>,
    ) -> usize {
        let mut commands = 0;
        let mut stalls: Vec<(usize, Input)> = Vec::new();
        for (t, output) in outputs {
            match output {
                Output::Send {
                    conn,
                    seq,
                    frame: text,
                } => {
                    if !self.superseded(conn, frame) {
                        self.send(t, conn, seq, text, &mut stalls);
                    }
                }
                Output::Ack { conn, seq, frame } => {
                    let full = self
                        .conns
                        .get(&conn)
                        .is_some_and(|c| c.outbox.frames.try_send(frame).is_err());
                    if full {
                        stalls.push((t, Input::AckStalled { conn, seq }));
                    }
                }
                Output::Direct { conn, frame } => self.send_direct(conn, frame),
                Output::Close { conn, code } => self.close(conn, code),
                Output::Released { conn } => self.forget(conn),
                Output::Observe(observation) => commands += self.observe(t, observation),
                Output::StatusSet(answer) => self.answer = Some(answer),
            }
        }
        for (t, stall) in stalls {
            self.stalled(t, stall);
        }
        commands
    }

    /// Whether a held numbered frame was produced before its core learned the connection had
    /// stalled: the core resends it from the replay buffer, in order, when the connection drains.
    fn superseded(&mut self, conn: ConnId, frame: Option<u64>) -> bool {
        match (&mut self.journal, frame) {
            (Some(journal), Some(frame)) => journal.superseded(conn, frame),
            _ => false,
        }
    }

    /// Drops the shard's handle on a connection its core no longer knows.
    fn forget(&mut self, conn: ConnId) {
        self.conns.remove(&conn);
        self.behind.remove(&conn);
        if let Some(journal) = &mut self.journal {
            journal.forget(conn);
        }
    }

    /// Hands a numbered frame to its connection's outbox.
    fn send(
        &mut self,
        t: usize,
        conn: ConnId,
        seq: u64,
        frame: Utf8Bytes,
        stalls: &mut Vec<(usize, Input)>,
    ) {
        let stalled = stalls
            .iter()
            .any(|(_, s)| matches!(s, Input::Stalled { conn: c, .. } if *c == conn));
        if stalled {
            return;
        }
        // When the writer is gone (`Closed`) its reader's detach is on the way; the frame waits
        // in the replay buffer like any other.
        if let Some(c) = self.conns.get(&conn) {
            if let Err(TrySendError::Full(_)) = c.outbox.frames.try_send(frame) {
                stalls.push((t, Input::Stalled { conn, seq }));
            }
        }
    }

    /// Sends a frame that is not replayed (welcome, error, pong) if the connection has room;
    /// dropped otherwise: such frames are advisory.
    fn send_direct(&self, conn: ConnId, frame: Utf8Bytes) {
        if let Some(c) = self.conns.get(&conn) {
            if c.outbox.frames.try_send(frame).is_err() {
                self.metrics.outbox_drops.with_label_values(&[c.role]).inc();
            }
        }
    }

    fn close(&self, conn: ConnId, code: CloseCode) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        // A replay overflow is a slow consumer; counted once, though later frames repeat the
        // order.
        if code == CloseCode::ReplayOverflow && c.outbox.close.borrow().is_none() {
            self.metrics
                .slow_consumer_closes
                .with_label_values(&[c.role])
                .inc();
        }
        c.outbox.close(code);
    }

    /// Tells the core a connection is behind, and starts (or keeps) its lag clock.
    fn stalled(&mut self, t: usize, stall: Input) {
        match stall {
            Input::Stalled { conn, .. } => {
                let since = self.behind.entry(conn).or_insert(None);
                since.get_or_insert(self.now);
            }
            Input::AckStalled { conn, .. } => {
                self.behind.entry(conn).or_insert(None);
            }
            _ => {}
        }
        self.apply(t, stall);
    }

    /// Counts an observation; returns 1 for a router command.
    fn observe(&mut self, t: usize, observation: Observation) -> usize {
        match observation {
            Observation::Command => {
                self.commands.inc();
                return 1;
            }
            Observation::ProtocolError(code) => {
                self.metrics
                    .protocol_errors
                    .with_label_values(&[code.as_str()])
                    .inc();
            }
            observation => {
                let at = self.received.unwrap_or(self.instant);
                if let Some(tenant) = self.tenants.get_mut(t) {
                    tenant.observer.observe(observation, at);
                }
            }
        }
        0
    }

    /// Hands lagging connections what they are owed, as far as their outboxes have room;
    /// closes (1013) and detaches those that lag longer than `gateway.slow_consumer_secs`.
    fn flush_behind(&mut self) {
        if self.behind.is_empty() {
            return;
        }
        let limit_ms = Millis::from(self.gateway.slow_consumer_secs) * 1000;
        let conns: Vec<ConnId> = self.behind.keys().copied().collect();
        for conn in conns {
            let Some((t, room)) = self
                .conns
                .get(&conn)
                .map(|c| (c.tenant, c.outbox.frames.capacity()))
            else {
                self.behind.remove(&conn);
                continue;
            };
            if room > 0 {
                self.apply(t, Input::Drain { conn, room });
            }
            match self.tenants[t].core.backlog(conn) {
                None | Some((false, false)) => {
                    self.behind.remove(&conn);
                }
                Some((false, true)) => {
                    self.behind.insert(conn, None);
                }
                Some((true, _)) => {
                    let since = *self
                        .behind
                        .entry(conn)
                        .or_insert(None)
                        .get_or_insert(self.now);
                    if self.now.saturating_sub(since) >= limit_ms {
                        self.slow_consumer(t, conn);
                    }
                }
            }
        }
    }

    /// Closes a connection that lagged too long; an agent keeps its conversations for the
    /// grace period, as after any disconnect.
    fn slow_consumer(&mut self, t: usize, conn: ConnId) {
        if let Some(c) = self.conns.get(&conn) {
            c.outbox.close(CloseCode::SlowConsumer);
            self.metrics
                .slow_consumer_closes
                .with_label_values(&[c.role])
                .inc();
        }
        self.detach(t, conn);
    }

    fn admin(&mut self, query: AdminQuery) {
        match query {
            AdminQuery::Conversation { tenant, id, reply } => {
                let info = self
                    .tenants
                    .get(tenant)
                    .and_then(|t| describe(&t.core, ConversationId(id)));
                let _ = reply.send(info);
            }
            AdminQuery::SetStatus {
                tenant,
                agent,
                status,
                reply,
            } => {
                self.answer = None;
                self.apply(tenant, Input::SetStatus { agent, status });
                let answer = self
                    .answer
                    .take()
                    .unwrap_or(Err("no such agent is logged in"));
                // An answer is a promise too: with a journal it waits for its input.
                match &mut self.journal {
                    Some(journal) => journal.reply(Box::new(move || {
                        let _ = reply.send(answer);
                    })),
                    None => {
                        let _ = reply.send(answer);
                    }
                }
            }
        }
    }

    /// Once a second: expiry, gauges, and the snapshot the admin API reads.
    fn refresh(&mut self, second: u64) {
        self.inbox_depth.set(self.inbox.len() as i64);
        self.each_tenant(|_| true, || Input::Sweep);
        let mut snapshot = ShardSnapshot {
            at_ms: self.now,
            ..ShardSnapshot::default()
        };
        for tenant in &mut self.tenants {
            tenant.observer.shrink();
            let core = &tenant.core;
            let windows = core.windows();
            let mut stats = tenant
                .observer
                .refresh(core.id(), core.router(), windows, second);
            let counts = core.session_counts();
            stats.sessions = SessionsView {
                connected: counts.connected,
                resumable: counts.resumable,
                replay_frames: counts.replay_frames,
            };
            snapshot.tenants.push(stats);
            snapshot.agents.extend(agent_rows(core));
        }
        self.snapshots.publish(self.index, snapshot);
        self.snapshot_if_due();
    }

    /// Every `journal.snapshot_secs`: clones every core here (cheap: frames are shared) and
    /// leaves serialising and writing to the snapshot thread.
    fn snapshot_if_due(&mut self) {
        let now = self.now;
        // The clones must cover exactly the frames sealed so far: seal what is forming first.
        let due = self.journal.as_mut().is_some_and(|journal| {
            journal.seal(now);
            journal.snapshot_due(now)
        });
        if !due {
            return;
        }
        let cores = self.clones();
        if let Some(journal) = &mut self.journal {
            if !journal.snapshot(now, cores) {
                let shard = self.index.to_string();
                self.metrics
                    .snapshots
                    .with_label_values(&[&shard, "skipped"])
                    .inc();
            }
        }
    }
}

/// The tenant's logged-in agents for `GET /api/v1/agents`.
fn agent_rows(core: &TenantCore<Utf8Bytes>) -> impl Iterator<Item = AgentRow> + '_ {
    let router = core.router();
    router.agent_ids().into_iter().filter_map(move |id| {
        let view = router.agent(id)?;
        Some(AgentRow {
            tenant: core.id().to_string(),
            id: core.agent_name(id).to_string(),
            role: if view.role == Role::Bot {
                "bot"
            } else {
                "agent"
            },
            status: view.status.as_str(),
            connected: view.connected,
            load: view.load,
            capacity: view.capacity,
        })
    })
}

/// Where a conversation stands, for the admin API.
fn describe(core: &TenantCore<Utf8Bytes>, id: ConversationId) -> Option<ConversationInfo> {
    let router = core.router();
    let view = router.conversation(id)?;
    let position = (view.state == State::Waiting)
        .then(|| {
            router
                .waiting(view.queue)
                .position(|c| c == id)
                .map(|p| p as u32 + 1)
        })
        .flatten();
    Some(ConversationInfo {
        tenant: core.id().to_string(),
        id: id.0.to_string(),
        state: view.state.as_str(),
        queue: router
            .policy()
            .queues
            .get(usize::from(view.queue.0))
            .map_or_else(String::new, |q| q.name.clone()),
        class: view.class.as_str(),
        position,
        agent: view.agent.map(|a| core.agent_name(a).to_string()),
        waiting_secs: router.now().saturating_sub(view.waiting_since) / 1000,
        handoff: view.handoff.map(|h| h.as_str()),
        sentiment: view.sentiment,
    })
}
