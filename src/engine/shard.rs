//! One shard thread: its tenants' routers, their sessions, and the loop that feeds them.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use std::hash::Hasher;

use rustc_hash::{FxHashMap, FxHashSet, FxHasher};
use tokio::sync::mpsc::error::TrySendError;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use prometheus::{Histogram, IntCounter, IntGauge};

use super::admission::Admission;
use super::clock::WallClock;
use super::observe::{AgentRow, SessionsView, ShardSnapshot, Snapshots, TenantObserver};
use super::{AdminQuery, ConversationInfo, Identity, Outbox, ShardInput, Violation};
use crate::metrics::Metrics;
use switchboard_config::{GatewayConfig, TenantConfig};
use switchboard_protocol::{
    encode_server, AgentStatus as WireStatus, ClientMessage, CloseCode, ErrorCode, ErrorReport,
    Hello, Pong, Resumed, ServerMessage, SessionRole, TransferTarget as WireTarget, Welcome,
    DEFAULT_LANGUAGE, PROTOCOL_VERSION,
};
use switchboard_router::{
    AgentId, AgentLogin, AgentStatus, Command, ConnectorId, ConversationId, CustomerDescription,
    CustomerProfile, Effect, Message, Millis, ProfileUpdate, Role, Router, State, StatusReason,
    Tier, TransferTarget,
};

/// Inputs handled per wake-up before timers and slow consumers get a look.
const BATCH: usize = 1024;
/// Message ids remembered per conversation and sender side to recognise duplicates; the
/// protocol promises at least this many.
const RECENT_IDS: usize = 16;

/// A client of a tenant: who a session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Peer {
    Connector(ConnectorId),
    Agent(AgentId),
}

/// An `ack` of a client's messages up to `seq`.
fn ack_frame(seq: u64) -> Utf8Bytes {
    Utf8Bytes::from(encode_server(&ServerMessage::Ack(
        switchboard_protocol::Ack { seq },
    )))
}

impl Peer {
    /// The metrics label of its role.
    fn role(self) -> &'static str {
        match self {
            Peer::Connector(_) => "connector",
            Peer::Agent(_) => "agent",
        }
    }
}

/// What outlives a connection: its sequence and its replay buffer.
#[derive(Debug)]
pub(super) struct Session {
    token: String,
    next_seq: u64,
    replay: VecDeque<(u64, Utf8Bytes)>,
    /// Highest seq dropped from the replay buffer.
    dropped_through: u64,
    /// Highest seq handed to the current connection's outbox.
    sent_through: u64,
    conn: Option<(u64, Outbox)>,
    lagging_since: Option<Instant>,
    /// When the last connection went away, while none replaced it.
    detached_at: Option<Instant>,
    /// The highest client seq whose ack found the outbox full: acks are cumulative, so only
    /// the last one is owed, and it is sent as soon as there is room (a client waiting for the
    /// ack of its last message would otherwise wait forever).
    owed_ack: Option<u64>,
}

impl Session {
    fn new(token: String) -> Self {
        Session {
            token,
            next_seq: 1,
            replay: VecDeque::new(),
            dropped_through: 0,
            sent_through: 0,
            conn: None,
            lagging_since: None,
            detached_at: None,
            owed_ack: None,
        }
    }
}

/// Which side of a conversation sent a message: each side has its own duplicate window, so a
/// chatty agent cannot push the customer's ids out.
#[derive(Debug, Clone, Copy)]
enum Side {
    Customer = 0,
    Agent = 1,
}

/// The last [`RECENT_IDS`] message ids of each side of one open conversation, as 64-bit hashes:
/// a false "duplicate" needs a collision among 16 ids (odds about 1 in 10^18).
#[derive(Debug, Default)]
struct RecentIds {
    ids: [[u64; RECENT_IDS]; 2],
    /// How many ids each side has sent; the next one overwrites slot `count % RECENT_IDS`.
    counts: [usize; 2],
}

impl RecentIds {
    fn key(message_id: &str) -> u64 {
        let mut hasher = FxHasher::default();
        hasher.write(message_id.as_bytes());
        hasher.finish()
    }

    fn contains(&self, side: Side, key: u64) -> bool {
        let side = side as usize;
        let remembered = self.counts[side].min(RECENT_IDS);
        self.ids[side][..remembered].contains(&key)
    }

    fn remember(&mut self, side: Side, key: u64) {
        let side = side as usize;
        self.ids[side][self.counts[side] % RECENT_IDS] = key;
        self.counts[side] += 1;
    }
}

/// Interns external names to the router's small ids, both ways.
#[derive(Debug, Default)]
pub(super) struct Names {
    ids: FxHashMap<String, u32>,
    names: Vec<String>,
}

impl Names {
    fn intern(&mut self, name: &str) -> u32 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = self.names.len() as u32;
        self.ids.insert(name.to_string(), id);
        self.names.push(name.to_string());
        id
    }

    fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    pub(super) fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", String::as_str)
    }
}

/// What the shard knows of an agent beyond the router: its name and what it logged in with.
#[derive(Debug, Clone)]
pub(super) struct AgentInfo {
    pub(super) display_name: Option<String>,
    pub(super) login: AgentLogin,
}

/// One tenant on this shard.
pub(super) struct Tenant {
    pub(super) router: Router,
    pub(super) id: String,
    pub(super) connectors: Names,
    pub(super) agents: Names,
    pub(super) agent_info: FxHashMap<AgentId, AgentInfo>,
    /// (connector, its conversation id) → ours, while the conversation is open for the connector.
    open: FxHashMap<(ConnectorId, Arc<str>), ConversationId>,
    /// Ours → (connector, its id), until the router forgets the conversation.
    pub(super) external: FxHashMap<ConversationId, (ConnectorId, Arc<str>)>,
    /// Duplicate windows of the conversations in `external`, dropped with them.
    recent: FxHashMap<ConversationId, RecentIds>,
    /// Conversations that reached the human side, with when an agent took them (if one holds
    /// them now): arrivals and handle times for the staffing recommendation.
    human_side: FxHashMap<ConversationId, Option<Millis>>,
    pub(super) sessions: FxHashMap<Peer, Session>,
    /// Sessions whose connection lags (a superset: entries that caught up are dropped on the
    /// next flush), so a wake-up never scans every session.
    lagging: FxHashSet<Peer>,
    /// Detaches in time order, to forget sessions nobody resumed within
    /// `gateway.session_resume_secs`.
    detached: VecDeque<(Instant, Peer)>,
    conns: FxHashMap<u64, Peer>,
    /// The client message being applied: refusals answer it.
    pub(super) current: Option<(Peer, u64)>,
    /// Whether the command being applied was refused.
    pub(super) refused: bool,
    effects: Vec<Effect>,
    pub(super) observer: TenantObserver,
    metrics: Arc<Metrics>,
    /// Conversations handed off and not yet offered to a human: when the trigger arrived.
    pub(super) pending_handoffs: FxHashMap<ConversationId, Instant>,
    /// Who may open a new conversation.
    admission: Admission,
}

/// A shard: its tenants and its loop.
pub(super) struct Shard {
    index: usize,
    pub(super) tenants: Vec<Tenant>,
    pub(super) gateway: GatewayConfig,
    inbox: Receiver<ShardInput>,
    /// The router's time: Unix ms, never backwards.
    clock: WallClock,
    stopping: bool,
    pub(super) metrics: Arc<Metrics>,
    snapshots: Arc<Snapshots>,
    commands: IntCounter,
    apply_time: Histogram,
    inbox_depth: IntGauge,
    last_refresh: u64,
    /// When the input being handled was read from its socket.
    pub(super) received: Option<Instant>,
    /// Acks owed at the end of the current batch: (tenant, peer, highest seq).
    acks: Vec<(usize, Peer, u64)>,
}

impl Shard {
    pub(super) fn new(
        index: usize,
        tenants: Vec<TenantConfig>,
        gateway: GatewayConfig,
        inbox: Receiver<ShardInput>,
        metrics: Arc<Metrics>,
        snapshots: Arc<Snapshots>,
    ) -> Self {
        let shard = index.to_string();
        let tenants = tenants
            .iter()
            .map(|config| {
                let router = Router::new(config);
                let observer =
                    TenantObserver::new(&metrics, &config.id, &router, config.sla.service_level);
                (config, router, observer)
            })
            .map(|(config, router, observer)| Tenant {
                router,
                observer,
                metrics: Arc::clone(&metrics),
                refused: false,
                pending_handoffs: FxHashMap::default(),
                id: config.id.clone(),
                connectors: Names::default(),
                agents: Names::default(),
                agent_info: FxHashMap::default(),
                open: FxHashMap::default(),
                external: FxHashMap::default(),
                recent: FxHashMap::default(),
                human_side: FxHashMap::default(),
                admission: Admission::new(config.limits, &config.id, &metrics),
                sessions: FxHashMap::default(),
                lagging: FxHashSet::default(),
                detached: VecDeque::new(),
                conns: FxHashMap::default(),
                current: None,
                effects: Vec::new(),
            })
            .collect();
        Shard {
            index,
            tenants,
            gateway,
            inbox,
            clock: WallClock::start(),
            stopping: false,
            commands: metrics.router_commands.with_label_values(&[&shard]),
            apply_time: metrics.apply_time.with_label_values(&[&shard]),
            inbox_depth: metrics.inbox_depth.with_label_values(&[&shard]),
            metrics,
            snapshots,
            last_refresh: u64::MAX,
            received: None,
            acks: Vec::new(),
        }
    }

    pub(super) fn now(&self) -> Millis {
        self.clock.now_ms()
    }

    pub(super) fn run(mut self) {
        while !self.stopping {
            let wait = self.next_wake();
            match self.inbox.recv_timeout(wait) {
                Ok(input) => {
                    self.handle(input);
                    for _ in 0..BATCH {
                        match self.inbox.try_recv() {
                            Ok(input) => self.handle(input),
                            Err(_) => break,
                        }
                    }
                    self.flush_acks();
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            self.fire_due_timers();
            self.flush_lagging();
            let second = self.now() / 1000;
            if second != self.last_refresh {
                self.last_refresh = second;
                self.refresh(second);
            }
        }
    }

    /// Once a second: gauges, and the snapshot the admin API reads.
    fn refresh(&mut self, second: u64) {
        self.inbox_depth.set(self.inbox.len() as i64);
        let resume = Duration::from_secs(u64::from(self.gateway.session_resume_secs));
        for t in 0..self.tenants.len() {
            for connector in self.tenants[t].forget_expired_sessions(resume) {
                self.end_unreachable(t, connector);
            }
            self.tenants[t].shrink();
        }
        let mut snapshot = ShardSnapshot {
            at_ms: self.now(),
            ..ShardSnapshot::default()
        };
        for tenant in &mut self.tenants {
            let mut stats = tenant.observer.refresh(&tenant.id, &tenant.router, second);
            stats.sessions = tenant.sessions_view();
            snapshot.tenants.push(stats);
            for id in tenant.router.agent_ids() {
                let Some(view) = tenant.router.agent(id) else {
                    continue;
                };
                snapshot.agents.push(AgentRow {
                    tenant: tenant.id.clone(),
                    id: tenant.agents.name(id.0).to_string(),
                    role: if view.role == Role::Bot {
                        "bot"
                    } else {
                        "agent"
                    },
                    status: view.status.as_str(),
                    connected: view.connected,
                    load: view.load,
                    capacity: view.capacity,
                });
            }
        }
        self.snapshots.publish(self.index, snapshot);
    }

    /// How long to sleep: until the earliest router deadline or the next whole second (the
    /// refresh), sooner while a consumer lags.
    fn next_wake(&self) -> Duration {
        let now = self.now();
        let mut wait = Duration::from_millis(1000 - now % 1000);
        for tenant in &self.tenants {
            if let Some(at) = tenant.router.next_deadline() {
                wait = wait.min(Duration::from_millis(at.saturating_sub(now)));
            }
            if !tenant.lagging.is_empty() {
                wait = wait.min(Duration::from_millis(20));
            }
        }
        wait
    }

    fn fire_due_timers(&mut self) {
        let now = self.now();
        for t in 0..self.tenants.len() {
            let due = self.tenants[t]
                .router
                .next_deadline()
                .is_some_and(|at| at <= now);
            if due {
                self.apply(t, Command::Tick);
            }
        }
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
                self.client(tenant, conn, messages, through);
                self.received = None;
            }
            ShardInput::Admin(query) => self.admin(query),
            ShardInput::Detach { tenant, conn } => self.detach(tenant, conn),
            ShardInput::CheckInvariants { reply } => {
                let violations = self
                    .tenants
                    .iter()
                    .filter_map(|tenant| {
                        let message = tenant.router.check_invariants().err()?;
                        Some(Violation {
                            tenant: tenant.id.clone(),
                            message,
                        })
                    })
                    .collect();
                let _ = reply.send(violations);
            }
            #[cfg(test)]
            ShardInput::Crash => panic!("crash requested by a test"),
            ShardInput::Shutdown => {
                for tenant in &mut self.tenants {
                    for session in tenant.sessions.values_mut() {
                        if let Some((_, outbox)) = session.conn.take() {
                            outbox.close(CloseCode::ShuttingDown);
                        }
                    }
                }
                self.stopping = true;
            }
        }
    }

    /// Applies a router command and delivers its effects. Returns false if it was refused.
    pub(super) fn apply(&mut self, t: usize, command: Command) -> bool {
        let started = Instant::now();
        let now = self.now();
        let Some(tenant) = self.tenants.get_mut(t) else {
            return false;
        };
        let mut effects = std::mem::take(&mut tenant.effects);
        effects.clear();
        tenant.refused = false;
        tenant.router.apply(now, command, &mut effects);
        for effect in effects.drain(..) {
            self.deliver(t, effect);
        }
        let Some(tenant) = self.tenants.get_mut(t) else {
            return false;
        };
        tenant.effects = effects;
        self.commands.inc();
        self.apply_time.observe(started.elapsed().as_secs_f64());
        !tenant.refused
    }

    /// Applies a command and, unless it was refused, counts it on one of the tenant's counters.
    fn apply_counted(
        &mut self,
        t: usize,
        command: Command,
        counter: impl Fn(&TenantObserver) -> &IntCounter,
    ) {
        if self.apply(t, command) {
            if let Some(tenant) = self.tenants.get(t) {
                counter(&tenant.observer).inc();
            }
        }
    }

    /// Applies a chat message and, unless it was refused, remembers its id so a resend is
    /// recognised as a duplicate.
    fn apply_remembered(
        &mut self,
        t: usize,
        command: Command,
        conversation: ConversationId,
        side: Side,
        id: u64,
    ) {
        if self.apply(t, command) {
            if let Some(tenant) = self.tenants.get_mut(t) {
                tenant.remember(conversation, side, id);
            }
        }
    }

    fn admin(&mut self, query: AdminQuery) {
        match query {
            AdminQuery::Conversation { tenant, id, reply } => {
                let info = self
                    .tenants
                    .get(tenant)
                    .and_then(|t| t.describe(ConversationId(id)));
                let _ = reply.send(info);
            }
            AdminQuery::SetStatus {
                tenant,
                agent,
                status,
                reply,
            } => {
                let id = self
                    .tenants
                    .get(tenant)
                    .and_then(|t| t.agents.get(&agent))
                    .map(AgentId)
                    .filter(|id| {
                        self.tenants
                            .get(tenant)
                            .is_some_and(|t| t.router.agent(*id).is_some())
                    });
                let outcome = match id {
                    Some(agent) => {
                        let command = Command::SetStatus {
                            agent,
                            status,
                            reason: StatusReason::Supervisor,
                        };
                        if self.apply(tenant, command) {
                            Ok(())
                        } else {
                            Err("refused")
                        }
                    }
                    None => Err("no such agent is logged in"),
                };
                let _ = reply.send(outcome);
            }
        }
    }

    fn attach(&mut self, t: usize, conn: u64, identity: Identity, hello: Hello, outbox: Outbox) {
        let heartbeat_secs = self.gateway.heartbeat_secs;
        // Unguessable, and never the same across restarts: a resume names its session by it.
        let token = format!("s-{:032x}", rand::random::<u128>());
        let Some(tenant) = self.tenants.get_mut(t) else {
            outbox.close(CloseCode::UnknownTenant);
            return;
        };
        let (peer, role, login) = match &identity {
            Identity::Connector { name, .. } => (
                Peer::Connector(ConnectorId(tenant.connectors.intern(name))),
                SessionRole::Connector,
                None,
            ),
            Identity::Agent(claims) => {
                let id = AgentId(tenant.agents.intern(&claims.sub));
                let bot = claims.role == "bot";
                let login = AgentLogin {
                    role: if bot { Role::Bot } else { Role::Human },
                    capacity: claims.capacity,
                    skills: claims.skills.iter().map(|(k, v)| (k.clone(), *v)).collect(),
                    // Bots never decline: their offers are assignments.
                    auto_accept: bot || claims.auto_accept,
                };
                tenant.agent_info.insert(
                    id,
                    AgentInfo {
                        display_name: claims.name.clone(),
                        login: login.clone(),
                    },
                );
                let role = if bot {
                    SessionRole::Bot
                } else {
                    SessionRole::Agent
                };
                (Peer::Agent(id), role, Some(login))
            }
        };
        let session = tenant
            .sessions
            .entry(peer)
            .or_insert_with(|| Session::new(token.clone()));
        if let Some((old, old_outbox)) = session.conn.take() {
            old_outbox.close(CloseCode::Replaced);
            tenant.conns.remove(&old);
        }
        let asked_to_resume = hello.resume.is_some();
        let resume = hello.resume.filter(|r| r.session == session.token);
        let (resumed, from) = match &resume {
            Some(r) => (true, r.last_seq),
            None => {
                // A fresh start: nothing from before is owed to this client, and its server
                // sequence starts again at 1, as the protocol says.
                session.token = token;
                session.replay.clear();
                session.next_seq = 1;
                session.dropped_through = 0;
                (false, 0)
            }
        };
        // A resume of an unknown or expired session continues nothing: what it missed is gone.
        let gap = if resumed {
            session.dropped_through > from
        } else {
            asked_to_resume
        };
        let replay: Vec<(u64, Utf8Bytes)> = session
            .replay
            .iter()
            .filter(|(seq, _)| *seq > from)
            .cloned()
            .collect();
        let welcome = ServerMessage::Welcome(Welcome {
            protocol: PROTOCOL_VERSION,
            session: session.token.clone(),
            role,
            tenant: tenant.id.clone(),
            resumed,
            replayed: replay.len() as u32,
            gap,
            heartbeat_secs,
        });
        let _ = outbox
            .frames
            .try_send(Utf8Bytes::from(encode_server(&welcome)));
        session.sent_through = from;
        session.lagging_since = None;
        session.detached_at = None;
        // Acks owed to the previous connection: its client resends what it did not see acked.
        session.owed_ack = None;
        for (seq, frame) in replay {
            match outbox.frames.try_send(frame) {
                Ok(()) => session.sent_through = seq,
                Err(_) => {
                    session.lagging_since = Some(Instant::now());
                    tenant.lagging.insert(peer);
                    break;
                }
            }
        }
        session.conn = Some((conn, outbox));
        tenant.conns.insert(conn, peer);
        if let (Peer::Agent(agent), Some(login)) = (peer, login) {
            let known = self.tenants[t].router.agent(agent).is_some();
            // A reconnect the router cannot honour (the gateway restarted and lost its state,
            // or the grace period ran out) is told so before any new offer: nothing from
            // before is still this agent's, and replies to old ids get unknown_conversation.
            if asked_to_resume && !known {
                let replay = self.gateway.replay_frames;
                self.tenants[t].send(
                    peer,
                    |seq| {
                        ServerMessage::Resumed(Resumed {
                            seq,
                            conversations: Vec::new(),
                        })
                    },
                    replay,
                );
            }
            self.apply(t, Command::AgentConnect { agent, login });
        }
        self.owe_ack(t, peer, hello.seq);
    }

    /// A connector stayed away past the resume window: its customers cannot be reached, so
    /// their conversations end (reason `connector`) instead of holding queues and agents.
    fn end_unreachable(&mut self, t: usize, connector: ConnectorId) {
        let Some(tenant) = self.tenants.get(t) else {
            return;
        };
        let stranded: Vec<ConversationId> = tenant
            .open
            .iter()
            .filter(|((owner, _), _)| *owner == connector)
            .map(|(_, conversation)| *conversation)
            .collect();
        for conversation in stranded {
            self.apply(
                t,
                Command::ConnectorClose {
                    connector,
                    conversation,
                },
            );
        }
    }

    fn detach(&mut self, t: usize, conn: u64) {
        let Some(tenant) = self.tenants.get_mut(t) else {
            return;
        };
        let Some(peer) = tenant.conns.remove(&conn) else {
            return;
        };
        let current = tenant
            .sessions
            .get_mut(&peer)
            .filter(|s| s.conn.as_ref().is_some_and(|(c, _)| *c == conn));
        if let Some(session) = current {
            session.conn = None;
            session.lagging_since = None;
            let now = Instant::now();
            session.detached_at = Some(now);
            tenant.detached.push_back((now, peer));
            if let Peer::Agent(agent) = peer {
                self.apply(t, Command::AgentDisconnect { agent });
            }
        }
    }

    fn client(&mut self, t: usize, conn: u64, messages: Vec<ClientMessage>, through: u64) {
        let Some(peer) = self
            .tenants
            .get(t)
            .and_then(|x| x.conns.get(&conn).copied())
        else {
            return;
        };
        let second = self.now() / 1000;
        for message in messages {
            let seq = message.seq();
            if let ClientMessage::Ping(_) = message {
                if let Some(tenant) = self.tenants.get_mut(t) {
                    tenant.send_direct(peer, &ServerMessage::Pong(Pong { seq }));
                }
                continue;
            }
            if let Some(tenant) = self.tenants.get_mut(t) {
                tenant.current = Some((peer, seq));
                tenant.observer.messages.add(second, 0);
            }
            match peer {
                Peer::Connector(connector) => self.connector_message(t, connector, message),
                Peer::Agent(agent) => self.agent_message(t, agent, message),
            }
        }
        if let Some(tenant) = self.tenants.get_mut(t) {
            tenant.current = None;
        }
        self.owe_ack(t, peer, through);
    }

    /// Records that everything up to `seq` from `peer` is processed; sent at the batch's end.
    fn owe_ack(&mut self, t: usize, peer: Peer, seq: u64) {
        match self
            .acks
            .iter_mut()
            .find(|(at, p, _)| *at == t && *p == peer)
        {
            Some(pending) => pending.2 = pending.2.max(seq),
            None => self.acks.push((t, peer, seq)),
        }
    }

    /// Acks are cumulative: one per connection per batch of inputs says "everything up to here",
    /// after every error about those messages has been sent.
    fn flush_acks(&mut self) {
        for (t, peer, seq) in std::mem::take(&mut self.acks) {
            if let Some(tenant) = self.tenants.get_mut(t) {
                tenant.send_ack(peer, seq);
            }
        }
    }

    fn connector_message(&mut self, t: usize, connector: ConnectorId, message: ClientMessage) {
        let now = self.now();
        let Some(tenant) = self.tenants.get_mut(t) else {
            return;
        };
        let command = match message {
            ClientMessage::CustomerMessage(m) => {
                let key = (connector, Arc::<str>::from(m.conversation.as_str()));
                let id = RecentIds::key(&m.message_id);
                let open = tenant.open.get(&key).copied();
                if open.is_some_and(|c| tenant.seen(c, Side::Customer, id)) {
                    tenant.refuse(ErrorCode::Duplicate, Some(m.conversation.clone()));
                    return;
                }
                let conversation_name = m.conversation.clone();
                let router_message = Message {
                    text: Arc::from(m.text.into_inner()),
                    sentiment: m.sentiment,
                    id: Some(Arc::from(m.message_id)),
                };
                let update = ProfileUpdate {
                    customer: m.customer.map(describe),
                    channel: m.channel,
                    language: m.language,
                    intent: m.intent,
                    order_value: m.order_value,
                };
                let (conversation, command) = match open {
                    Some(conversation) => {
                        let message = Command::CustomerMessage {
                            connector,
                            conversation,
                            message: router_message,
                        };
                        if tenant.router.profile_changed_by(conversation, &update) {
                            let update = Box::new(update);
                            self.apply(
                                t,
                                Command::UpdateProfile {
                                    connector,
                                    conversation,
                                    update,
                                },
                            );
                        }
                        (conversation, message)
                    }
                    None => {
                        let profile = match opening_profile(update) {
                            Ok(profile) => profile,
                            Err(missing) => {
                                tenant.refuse_because(
                                    ErrorCode::MissingField,
                                    missing,
                                    Some(conversation_name),
                                );
                                return;
                            }
                        };
                        let open = tenant.router.open_conversations();
                        if let Err((why, retry_after_ms)) =
                            tenant.admission.admit(connector, now, open)
                        {
                            tenant
                                .metrics
                                .conversations_refused
                                .with_label_values(&[&tenant.id, why.as_str()])
                                .inc();
                            tenant.send_refusal(
                                ErrorCode::RateLimited,
                                why.explain(),
                                Some(conversation_name),
                                Some(retry_after_ms),
                            );
                            return;
                        }
                        let conversation = tenant.mint_conversation_id();
                        tenant.open.insert(key.clone(), conversation);
                        tenant.external.insert(conversation, key);
                        let arrive = Command::Arrive {
                            conversation,
                            connector,
                            profile,
                            message: Some(router_message),
                        };
                        (conversation, arrive)
                    }
                };
                self.apply_remembered(t, command, conversation, Side::Customer, id);
                return;
            }
            ClientMessage::CustomerLeft(r) => match tenant.open_id(connector, &r.conversation) {
                Some(conversation) => Command::CustomerLeft {
                    connector,
                    conversation,
                },
                None => {
                    tenant.refuse(ErrorCode::UnknownConversation, Some(r.conversation));
                    return;
                }
            },
            ClientMessage::Close(r) => match tenant.open_id(connector, &r.conversation) {
                Some(conversation) => Command::ConnectorClose {
                    connector,
                    conversation,
                },
                None => {
                    tenant.refuse(ErrorCode::UnknownConversation, Some(r.conversation));
                    return;
                }
            },
            // The decoder only lets connector messages through on a connector connection, and
            // the reader consumes hellos; anything else here is a defect, refused not crashed.
            _ => {
                tenant.refuse(ErrorCode::UnknownType, None);
                return;
            }
        };
        self.apply(t, command);
    }

    fn agent_message(&mut self, t: usize, agent: AgentId, message: ClientMessage) {
        let Some(tenant) = self.tenants.get_mut(t) else {
            return;
        };
        let conversation_of = |tenant: &mut Tenant, id: &str| -> Option<ConversationId> {
            let parsed = id.parse::<u64>().ok().map(ConversationId);
            if parsed.is_none() {
                tenant.refuse(ErrorCode::UnknownConversation, Some(id.to_string()));
            }
            parsed
        };
        let command = match message {
            ClientMessage::Status(s) => {
                let status = match s.status {
                    WireStatus::Available => AgentStatus::Available,
                    WireStatus::Away => AgentStatus::Away,
                    WireStatus::Offline => AgentStatus::Offline,
                };
                // An agent who went offline logs in again by becoming available or away.
                if status != AgentStatus::Offline && tenant.router.agent(agent).is_none() {
                    if let Some(info) = tenant.agent_info.get(&agent).cloned() {
                        self.apply(
                            t,
                            Command::AgentConnect {
                                agent,
                                login: info.login,
                            },
                        );
                    }
                }
                Command::SetStatus {
                    agent,
                    status,
                    reason: StatusReason::Requested,
                }
            }
            ClientMessage::Accept(r) => {
                let Some(conversation) = conversation_of(tenant, &r.conversation) else {
                    return;
                };
                Command::Accept {
                    agent,
                    conversation,
                }
            }
            ClientMessage::Reject(r) => {
                let Some(conversation) = conversation_of(tenant, &r.conversation) else {
                    return;
                };
                let command = Command::Reject {
                    agent,
                    conversation,
                };
                self.apply_counted(t, command, |o| &o.offers_rejected);
                return;
            }
            ClientMessage::Close(r) => {
                let Some(conversation) = conversation_of(tenant, &r.conversation) else {
                    return;
                };
                Command::AgentClose {
                    agent,
                    conversation,
                }
            }
            ClientMessage::HandBack(r) => {
                let Some(conversation) = conversation_of(tenant, &r.conversation) else {
                    return;
                };
                Command::HandBack {
                    agent,
                    conversation,
                }
            }
            ClientMessage::Message(m) => {
                let Some(conversation) = conversation_of(tenant, &m.conversation) else {
                    return;
                };
                let id = RecentIds::key(&m.message_id);
                if tenant.seen(conversation, Side::Agent, id) {
                    tenant.refuse(ErrorCode::Duplicate, Some(m.conversation));
                    return;
                }
                let command = Command::AgentMessage {
                    agent,
                    conversation,
                    message: Message {
                        text: Arc::from(m.text.into_inner()),
                        sentiment: None,
                        id: Some(Arc::from(m.message_id)),
                    },
                };
                self.apply_remembered(t, command, conversation, Side::Agent, id);
                return;
            }
            ClientMessage::Transfer(x) => {
                let Some(conversation) = conversation_of(tenant, &x.conversation) else {
                    return;
                };
                let target = match x.target {
                    WireTarget::Queue(queue) => TransferTarget::Queue(queue),
                    WireTarget::Agent(sub) => match tenant.agents.get(&sub) {
                        Some(id) => TransferTarget::Agent(AgentId(id)),
                        None => {
                            tenant.refuse(ErrorCode::TargetUnavailable, Some(x.conversation));
                            return;
                        }
                    },
                };
                let command = Command::Transfer {
                    agent,
                    conversation,
                    target,
                };
                self.apply_counted(t, command, |o| &o.transfers);
                return;
            }
            ClientMessage::BotResult(r) => {
                let Some(conversation) = conversation_of(tenant, &r.conversation) else {
                    return;
                };
                Command::BotResult {
                    agent,
                    conversation,
                    resolved: r.resolved,
                }
            }
            ClientMessage::BotHandoff(h) => {
                let Some(conversation) = conversation_of(tenant, &h.conversation) else {
                    return;
                };
                Command::BotHandoff {
                    agent,
                    conversation,
                    reason: h.reason.into_inner(),
                    summary: h.summary.map(|s| s.into_inner()),
                }
            }
            _ => {
                tenant.refuse(ErrorCode::UnknownType, None);
                return;
            }
        };
        self.apply(t, command);
    }

    /// Sends what lagging sessions are owed, in order; closes those that lag too long.
    fn flush_lagging(&mut self) {
        let limit = Duration::from_secs(u64::from(self.gateway.slow_consumer_secs));
        let metrics = &self.metrics;
        let mut gone = Vec::new();
        for (t, tenant) in self.tenants.iter_mut().enumerate() {
            let sessions = &mut tenant.sessions;
            // Keeps the peers that still lag.
            tenant.lagging.retain(|peer| {
                let Some(session) = sessions.get_mut(peer) else {
                    return false;
                };
                let Some((conn, outbox)) = &session.conn else {
                    return false;
                };
                if let Some(seq) = session.owed_ack {
                    if outbox.frames.try_send(ack_frame(seq)).is_ok() {
                        session.owed_ack = None;
                    }
                }
                let Some(since) = session.lagging_since else {
                    return session.owed_ack.is_some();
                };
                // Sequence numbers in the buffer are contiguous: index straight to the first owed.
                let first = session.replay.front().map_or(0, |(seq, _)| *seq);
                let skip = (session.sent_through + 1).saturating_sub(first) as usize;
                let owed = session.replay.range(skip.min(session.replay.len())..);
                let mut caught_up = true;
                let mut sent_through = session.sent_through;
                for (seq, frame) in owed {
                    match outbox.frames.try_send(frame.clone()) {
                        Ok(()) => sent_through = *seq,
                        Err(_) => {
                            caught_up = false;
                            break;
                        }
                    }
                }
                session.sent_through = sent_through;
                if caught_up {
                    session.lagging_since = None;
                    return session.owed_ack.is_some();
                }
                if since.elapsed() >= limit {
                    outbox.close(CloseCode::SlowConsumer);
                    metrics
                        .slow_consumer_closes
                        .with_label_values(&[peer.role()])
                        .inc();
                    gone.push((t, *conn));
                    return false;
                }
                true
            });
        }
        // An agent closed for being slow keeps its conversations for the grace period.
        for (t, conn) in gone {
            self.detach(t, conn);
        }
    }
}

impl Tenant {
    /// Where a conversation stands, for the admin API.
    fn describe(&self, id: ConversationId) -> Option<ConversationInfo> {
        let view = self.router.conversation(id)?;
        let position = (view.state == switchboard_router::State::Waiting)
            .then(|| {
                self.router
                    .waiting(view.queue)
                    .position(|c| c == id)
                    .map(|p| p as u32 + 1)
            })
            .flatten();
        Some(ConversationInfo {
            tenant: self.id.clone(),
            id: id.0.to_string(),
            state: view.state.as_str(),
            queue: self
                .router
                .policy()
                .queues
                .get(usize::from(view.queue.0))
                .map_or_else(String::new, |q| q.name.clone()),
            class: view.class.as_str(),
            position,
            agent: view.agent.map(|a| self.agents.name(a.0).to_string()),
            waiting_secs: self.router.now().saturating_sub(view.waiting_since) / 1000,
            handoff: view.handoff.map(|h| h.as_str()),
            sentiment: view.sentiment,
        })
    }

    fn open_id(&self, connector: ConnectorId, external: &str) -> Option<ConversationId> {
        self.open
            .get(&(connector, Arc::<str>::from(external)))
            .copied()
    }

    /// Forgets the connector's id for a conversation that ended for it, so the id can open a
    /// new conversation.
    pub(super) fn close_for_connector(&mut self, conversation: ConversationId) {
        if let Some(key) = self.external.get(&conversation) {
            if self.open.get(key) == Some(&conversation) {
                let connector = key.0;
                self.open.remove(&key.clone());
                self.admission.closed(connector);
            }
        }
    }

    /// Forgets a conversation the router has forgotten, and its duplicate windows.
    pub(super) fn forget(&mut self, conversation: ConversationId) {
        self.close_for_connector(conversation);
        self.external.remove(&conversation);
        self.recent.remove(&conversation);
        self.human_side.remove(&conversation);
    }

    /// Counts a conversation's first arrival on the human side of a queue, and how long each
    /// human assignment held a slot (assignment to closed, abandoned or taken back).
    pub(super) fn track_human_side(
        &mut self,
        conversation: ConversationId,
        state: State,
        queue: usize,
        now: Millis,
    ) {
        let second = now / 1000;
        let o = &mut self.observer;
        match state {
            State::Waiting | State::Offered | State::Assigned => {
                let first = !self.human_side.contains_key(&conversation);
                let assigned_at = self.human_side.entry(conversation).or_insert(None);
                if first {
                    if let Some(window) = o.entries.get_mut(queue) {
                        window.add(second, 0);
                    }
                }
                if state == State::Assigned {
                    *assigned_at = Some(now);
                } else if let Some(since) = assigned_at.take() {
                    o.handled_for(queue, second, now.saturating_sub(since));
                }
            }
            State::Closed | State::Abandoned => {
                if let Some(Some(since)) = self.human_side.remove(&conversation) {
                    o.handled_for(queue, second, now.saturating_sub(since));
                }
            }
            State::WithBot | State::WrapUp => {}
        }
    }

    /// Forgets the sessions nobody resumed in time; returns the connectors among them.
    fn forget_expired_sessions(&mut self, resume: Duration) -> Vec<ConnectorId> {
        let mut gone = Vec::new();
        while let Some((at, peer)) = self.detached.front().copied() {
            if at.elapsed() < resume {
                break;
            }
            self.detached.pop_front();
            // Only if nobody reconnected (or disconnected again later) since this detach.
            let expired = self
                .sessions
                .get(&peer)
                .is_some_and(|s| s.conn.is_none() && s.detached_at == Some(at));
            if expired {
                self.sessions.remove(&peer);
                if let Peer::Connector(connector) = peer {
                    gone.push(connector);
                }
            }
        }
        gone
    }

    /// What it keeps for its clients' sessions, for the stats.
    fn sessions_view(&self) -> SessionsView {
        let mut view = SessionsView::default();
        for session in self.sessions.values() {
            match session.conn {
                Some(_) => view.connected += 1,
                None => view.resumable += 1,
            }
            view.replay_frames += session.replay.len() as u64;
        }
        view
    }

    /// Gives back the memory a surge of conversations left behind.
    fn shrink(&mut self) {
        self.router.shrink();
        shrink_map(&mut self.open);
        shrink_map(&mut self.external);
        shrink_map(&mut self.recent);
        shrink_map(&mut self.human_side);
    }

    /// Whether a side of an open conversation sent this message id recently.
    fn seen(&self, conversation: ConversationId, side: Side, id: u64) -> bool {
        self.recent
            .get(&conversation)
            .is_some_and(|recent| recent.contains(side, id))
    }

    /// Remembers a message id of a conversation that is still open; one that ended while the
    /// message was applied has nothing left to protect.
    fn remember(&mut self, conversation: ConversationId, side: Side, id: u64) {
        if self.external.contains_key(&conversation) {
            self.recent
                .entry(conversation)
                .or_default()
                .remember(side, id);
        }
    }

    /// The connector's id for one of our conversations.
    pub(super) fn external_id(&self, conversation: ConversationId) -> String {
        self.external
            .get(&conversation)
            .map_or_else(String::new, |(_, id)| id.to_string())
    }

    /// Refuses the client message being applied.
    /// A new conversation id: random 63 bits, so ids never repeat across restarts (an agent
    /// still holding an id from before a crash must not reach a new customer with it) and
    /// reveal nothing about the tenant's other conversations. Unique among the open ones.
    fn mint_conversation_id(&self) -> ConversationId {
        loop {
            let id = ConversationId(rand::random::<u64>() >> 1);
            if id.0 != 0 && !self.external.contains_key(&id) {
                return id;
            }
        }
    }

    pub(super) fn refuse(&mut self, code: ErrorCode, conversation: Option<String>) {
        self.refuse_because(code, code.description(), conversation);
    }

    /// Refuses the message being applied, saying why in `message`.
    pub(super) fn refuse_because(
        &mut self,
        code: ErrorCode,
        message: &str,
        conversation: Option<String>,
    ) {
        self.send_refusal(code, message, conversation, None);
    }

    /// Refuses the message being applied; `retry_after_ms` tells a rate-limited client when
    /// to send it again.
    fn send_refusal(
        &mut self,
        code: ErrorCode,
        message: &str,
        conversation: Option<String>,
        retry_after_ms: Option<u64>,
    ) {
        let Some((peer, seq)) = self.current else {
            return;
        };
        self.metrics
            .protocol_errors
            .with_label_values(&[code.as_str()])
            .inc();
        self.send_direct(
            peer,
            &ServerMessage::Error(ErrorReport {
                code,
                message: message.to_string(),
                seq: Some(seq),
                index: None,
                conversation,
                retry_after_ms,
            }),
        );
    }

    /// Sends a frame that is not replayed (ack, error, pong) if the connection has room.
    pub(super) fn send_direct(&mut self, peer: Peer, message: &ServerMessage) {
        if let Some((_, outbox)) = self.sessions.get(&peer).and_then(|s| s.conn.as_ref()) {
            // Dropped when the outbox is full: errors and pongs are advisory (acks are owed).
            let sent = outbox
                .frames
                .try_send(Utf8Bytes::from(encode_server(message)));
            if sent.is_err() {
                self.metrics
                    .outbox_drops
                    .with_label_values(&[peer.role()])
                    .inc();
            }
        }
    }

    /// Acks a client's messages up to `seq`, now or, if its outbox is full, once it drains.
    fn send_ack(&mut self, peer: Peer, seq: u64) {
        let Some(session) = self.sessions.get_mut(&peer) else {
            return;
        };
        let Some((_, outbox)) = &session.conn else {
            return;
        };
        if outbox.frames.try_send(ack_frame(seq)).is_ok() {
            session.owed_ack = None;
        } else {
            session.owed_ack = Some(seq);
            self.lagging.insert(peer);
        }
    }

    /// Sends a replayable message: numbered, kept for resume, written now or when the
    /// connection catches up.
    pub(super) fn send(
        &mut self,
        peer: Peer,
        build: impl FnOnce(u64) -> ServerMessage,
        replay_frames: usize,
    ) {
        let Some(session) = self.sessions.get_mut(&peer) else {
            return;
        };
        let seq = session.next_seq;
        session.next_seq += 1;
        let frame = Utf8Bytes::from(encode_server(&build(seq)));
        session.replay.push_back((seq, frame.clone()));
        while session.replay.len() > replay_frames {
            if let Some((dropped, _)) = session.replay.pop_front() {
                session.dropped_through = dropped;
            }
        }
        // When the writer is gone (`Closed`) its reader's detach is on the way; the frame waits
        // in the replay buffer like any other.
        if let Some((_, outbox)) = &session.conn {
            if session.dropped_through > session.sent_through {
                // Frames this connection never received are gone: it must resume to learn so.
                // Counted once: later frames find the close already ordered.
                if outbox.close.borrow().is_none() {
                    self.metrics
                        .slow_consumer_closes
                        .with_label_values(&[peer.role()])
                        .inc();
                }
                outbox.close(CloseCode::ReplayOverflow);
            } else if session.lagging_since.is_none() {
                match outbox.frames.try_send(frame) {
                    Ok(()) => session.sent_through = seq,
                    Err(TrySendError::Full(_)) => {
                        session.lagging_since = Some(Instant::now());
                        self.lagging.insert(peer);
                    }
                    Err(TrySendError::Closed(_)) => {}
                }
            }
        }
    }
}

/// The router's description of a customer, from the wire's.
fn describe(customer: switchboard_protocol::Customer) -> CustomerDescription {
    CustomerDescription {
        customer_id: customer.id.into_inner(),
        name: customer.name.map(|n| n.into_inner()),
        tier: match customer.tier {
            switchboard_protocol::Tier::Standard => Tier::Standard,
            switchboard_protocol::Tier::Vip(level) => Tier::Vip(level),
        },
        tags: customer.tags,
    }
}

/// The profile of a conversation's opening message, which must describe the customer fully;
/// Err names what is missing.
fn opening_profile(update: ProfileUpdate) -> Result<CustomerProfile, &'static str> {
    let customer = update
        .customer
        .ok_or("missing field `customer`: the message that opens a conversation needs it")?;
    let channel = update
        .channel
        .ok_or("missing field `channel`: the message that opens a conversation needs it")?;
    Ok(CustomerProfile {
        customer_id: customer.customer_id,
        name: customer.name,
        tier: customer.tier,
        tags: customer.tags,
        intent: update.intent,
        channel,
        language: update
            .language
            .unwrap_or_else(|| DEFAULT_LANGUAGE.to_string()),
        order_value: update.order_value,
    })
}

/// Shrinks a map that holds far more room than it uses (after a surge).
fn shrink_map<K: std::hash::Hash + Eq, V>(map: &mut FxHashMap<K, V>) {
    if switchboard_router::timers::oversized(map.capacity(), map.len()) {
        map.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::{RecentIds, Side, RECENT_IDS};

    fn key(n: usize) -> u64 {
        RecentIds::key(&format!("m-{n}"))
    }

    #[test]
    fn a_message_id_is_a_duplicate_while_it_is_among_its_sides_last_sixteen() {
        let mut recent = RecentIds::default();
        assert!(!recent.contains(Side::Customer, key(0)), "nothing seen yet");
        for n in 0..RECENT_IDS {
            recent.remember(Side::Customer, key(n));
        }
        assert!((0..RECENT_IDS).all(|n| recent.contains(Side::Customer, key(n))));
        assert!(
            !recent.contains(Side::Customer, key(RECENT_IDS)),
            "never sent"
        );
        // The seventeenth pushes out the first, and only the first.
        recent.remember(Side::Customer, key(RECENT_IDS));
        assert!(!recent.contains(Side::Customer, key(0)));
        assert!((1..=RECENT_IDS).all(|n| recent.contains(Side::Customer, key(n))));
    }

    #[test]
    fn each_side_has_its_own_window() {
        let mut recent = RecentIds::default();
        recent.remember(Side::Customer, key(0));
        assert!(
            !recent.contains(Side::Agent, key(0)),
            "the agent never sent m-0"
        );
        // A chatty agent cannot push the customer's ids out.
        for n in 1..=4 * RECENT_IDS {
            recent.remember(Side::Agent, key(n));
        }
        assert!(recent.contains(Side::Customer, key(0)));
        assert!(recent.contains(Side::Agent, key(4 * RECENT_IDS)));
        assert!(!recent.contains(Side::Agent, key(1)));
    }

    #[test]
    fn different_ids_have_different_keys_and_the_same_id_the_same_key() {
        assert_eq!(RecentIds::key("m-1"), RecentIds::key("m-1"));
        assert_ne!(RecentIds::key("m-1"), RecentIds::key("m-2"));
        assert_ne!(RecentIds::key(""), RecentIds::key("m"));
    }
}
