//! The tenant core's state and its one entry point, [`TenantCore::apply`].

use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha12Rng;
use rustc_hash::FxHashMap;
use switchboard_config::{GatewayConfig, TenantConfig};
use switchboard_protocol::CloseCode;
use switchboard_router::{
    AgentId, Command, ConnectorId, ConversationId, Effect, Millis, Router, StatusReason,
};

use crate::admission::Admission;
use crate::names::{AgentInfo, Names};
use crate::recent::{RecentIds, Side};
use crate::session::{Peer, Sessions};
use crate::windows::Windows;
use crate::{ConnId, Frame, Input, Observation, Output};

/// The gateway settings a tenant core obeys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoreLimits {
    /// Frames kept per session for a resume.
    pub replay_frames: usize,
    /// How long a detached session is kept for a resume, ms.
    pub session_resume_ms: Millis,
    /// Told to clients in `welcome`.
    pub heartbeat_secs: u32,
}

impl CoreLimits {
    /// The limits of a gateway configuration.
    pub fn of(gateway: &GatewayConfig) -> Self {
        CoreLimits {
            replay_frames: gateway.replay_frames,
            session_resume_ms: Millis::from(gateway.session_resume_secs) * 1000,
            heartbeat_secs: gateway.heartbeat_secs,
        }
    }
}

/// What a tenant keeps for its clients' sessions (for the stats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionCounts {
    /// Sessions with a live connection.
    pub connected: u64,
    /// Sessions kept for a resume with no connection.
    pub resumable: u64,
    /// Frames held in all of them for replay.
    pub replay_frames: u64,
}

/// One tenant: its router and everything its behaviour depends on. Owned by one shard thread.
pub struct TenantCore<F> {
    pub(crate) id: String,
    pub(crate) router: Router,
    pub(crate) limits: CoreLimits,
    pub(crate) connectors: Names,
    pub(crate) agents: Names,
    pub(crate) agent_info: FxHashMap<AgentId, AgentInfo>,
    /// (connector, its conversation id) → ours, while the conversation is open for the connector.
    pub(crate) open: FxHashMap<(ConnectorId, Arc<str>), ConversationId>,
    /// Ours → (connector, its id), until the router forgets the conversation.
    pub(crate) external: FxHashMap<ConversationId, (ConnectorId, Arc<str>)>,
    /// Duplicate windows of the conversations in `external`, dropped with them.
    pub(crate) recent: FxHashMap<ConversationId, RecentIds>,
    pub(crate) sessions: Sessions<F>,
    /// Acks owed at the end of the batch: (peer, highest client seq processed).
    pub(crate) acks_due: Vec<(Peer, u64)>,
    /// The client message being applied: refusals answer it.
    pub(crate) current: Option<(Peer, u64)>,
    /// Who may open a new conversation.
    pub(crate) admission: Admission,
    /// Session tokens and conversation ids: seeded once, so a replay draws the same ones.
    /// ChaCha12 (what `rand`'s `StdRng` is) because a snapshot can store where it stands.
    pub(crate) ids: ChaCha12Rng,
    /// How many draws `ids` has made (its state, for the hash).
    pub(crate) draws: u64,
    /// Staffing and dashboard windows, fed from the effects.
    pub(crate) windows: Windows,
    pub(crate) now: Millis,
    effects: Vec<Effect>,
}

impl<F: Frame> TenantCore<F> {
    /// A tenant with no clients yet. `seed` fixes every id it will draw (256 bits, as many as
    /// the generator holds: session tokens are secrets): give a fresh random
    /// one per process (ids must not repeat across restarts), the same one to replay.
    pub fn new(config: &TenantConfig, limits: CoreLimits, seed: [u8; 32]) -> Self {
        let router = Router::new(config);
        TenantCore {
            id: config.id.clone(),
            windows: Windows::new(router.policy().queues.len()),
            router,
            limits,
            connectors: Names::default(),
            agents: Names::default(),
            agent_info: FxHashMap::default(),
            open: FxHashMap::default(),
            external: FxHashMap::default(),
            recent: FxHashMap::default(),
            sessions: Sessions::new(),
            acks_due: Vec::new(),
            current: None,
            admission: Admission::new(config.limits),
            ids: ChaCha12Rng::from_seed(seed),
            draws: 0,
            now: 0,
            effects: Vec::new(),
        }
    }

    /// Applies one input at `now` (Unix ms; an earlier time than seen counts as the latest),
    /// appending what the shell must do to `out`.
    pub fn apply(&mut self, now: Millis, input: Input, out: &mut Vec<Output<F>>) {
        self.now = self.now.max(now);
        match input {
            Input::Attach {
                conn,
                identity,
                hello,
            } => self.attach(conn, identity, hello, out),
            Input::Client {
                conn,
                messages,
                through,
            } => self.client(conn, messages, through, out),
            Input::Detach { conn } => self.detach(conn, out),
            Input::Stalled { conn, seq } => {
                if let Some((_, session)) = self.sessions.bound(conn) {
                    session.stalled(conn, seq, out);
                }
            }
            Input::AckStalled { conn, seq } => {
                if let Some((_, session)) = self.sessions.bound(conn) {
                    session.owed_ack = Some(session.owed_ack.map_or(seq, |s| s.max(seq)));
                }
            }
            Input::Drain { conn, room } => {
                if let Some((_, session)) = self.sessions.bound(conn) {
                    session.drain(conn, room, out);
                }
            }
            Input::FlushAcks => self.flush_acks(out),
            Input::Timers => self.timers(out),
            Input::Sweep => self.sweep(out),
            Input::SetStatus { agent, status } => {
                let answer = self.set_status(&agent, status, out);
                out.push(Output::StatusSet(answer));
            }
            Input::Shutdown => self.shutdown(out),
            Input::Restarted => self.restarted(out),
        }
    }

    /// Applies a router command and delivers its effects. Returns false if it was refused,
    /// which the effects say (`Effect::Refused`).
    pub(crate) fn command(&mut self, command: Command, out: &mut Vec<Output<F>>) -> bool {
        let mut effects = std::mem::take(&mut self.effects);
        effects.clear();
        self.router.apply(self.now, command, &mut effects);
        out.push(Output::Observe(Observation::Command));
        let mut refused = false;
        for effect in effects.drain(..) {
            refused |= matches!(effect, Effect::Refused { .. });
            self.deliver(effect, out);
        }
        self.effects = effects;
        !refused
    }

    fn timers(&mut self, out: &mut Vec<Output<F>>) {
        if self.router.next_deadline().is_some_and(|at| at <= self.now) {
            self.command(Command::Tick, out);
        }
    }

    fn set_status(
        &mut self,
        agent: &str,
        status: switchboard_router::AgentStatus,
        out: &mut Vec<Output<F>>,
    ) -> Result<(), &'static str> {
        let agent = self
            .agents
            .get(agent)
            .map(AgentId)
            .filter(|id| self.router.agent(*id).is_some())
            .ok_or("no such agent is logged in")?;
        let command = Command::SetStatus {
            agent,
            status,
            reason: StatusReason::Supervisor,
        };
        if self.command(command, out) {
            Ok(())
        } else {
            Err("refused")
        }
    }

    fn shutdown(&mut self, out: &mut Vec<Output<F>>) {
        let mut peers: Vec<Peer> = self.sessions.by_peer.keys().copied().collect();
        peers.sort_unstable();
        for peer in peers {
            let Some(session) = self.sessions.by_peer.get_mut(&peer) else {
                continue;
            };
            if let Some(conn) = session.conn.take() {
                self.sessions.conns.remove(&conn);
                out.push(Output::Close {
                    conn,
                    code: CloseCode::ShuttingDown,
                });
                out.push(Output::Released { conn });
            }
        }
    }

    /// A fresh random draw from the core's seeded generator.
    pub(crate) fn draw<T>(&mut self) -> T
    where
        rand::distr::StandardUniform: rand::distr::Distribution<T>,
    {
        self.draws += 1;
        self.ids.random()
    }

    /// A new conversation id: 63 random bits, so ids never repeat across restarts (the seed is
    /// fresh per process) and reveal nothing about the tenant's other conversations. Unique
    /// among the open ones.
    pub(crate) fn mint_conversation_id(&mut self) -> ConversationId {
        loop {
            let id = ConversationId(self.draw::<u64>() >> 1);
            if id.0 != 0 && !self.external.contains_key(&id) {
                return id;
            }
        }
    }

    /// Whether a side of an open conversation sent this message id recently.
    pub(crate) fn seen(&self, conversation: ConversationId, side: Side, key: u64) -> bool {
        self.recent
            .get(&conversation)
            .is_some_and(|recent| recent.contains(side, key))
    }

    /// Remembers a message id of a conversation that is still open; one that ended while the
    /// message was applied has nothing left to protect.
    pub(crate) fn remember(&mut self, conversation: ConversationId, side: Side, key: u64) {
        if self.external.contains_key(&conversation) {
            self.recent
                .entry(conversation)
                .or_default()
                .remember(side, key);
        }
    }

    // ----- read-only views for the shell ------------------------------------------------------

    /// The tenant's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Its router, read-only.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// Its staffing and dashboard windows.
    pub fn windows(&self) -> &Windows {
        &self.windows
    }

    /// The external id (token `sub`) of an agent ("" if unknown).
    pub fn agent_name(&self, agent: AgentId) -> &str {
        self.agents.name(agent.0)
    }

    /// When [`Input::Timers`] has something to fire.
    pub fn next_deadline(&self) -> Option<Millis> {
        self.router.next_deadline()
    }

    /// Whether [`Input::FlushAcks`] has acks to send.
    pub fn acks_due(&self) -> bool {
        !self.acks_due.is_empty()
    }

    /// What `conn` is still owed: (numbered frames lag, an ack is owed); None once the
    /// connection is not bound to a session.
    pub fn backlog(&self, conn: ConnId) -> Option<(bool, bool)> {
        let peer = self.sessions.conns.get(&conn)?;
        let session = self.sessions.by_peer.get(peer)?;
        (session.conn == Some(conn)).then_some((session.lagging, session.owed_ack.is_some()))
    }

    /// What the tenant keeps for its clients' sessions.
    pub fn session_counts(&self) -> SessionCounts {
        let mut counts = SessionCounts::default();
        for session in self.sessions.by_peer.values() {
            match session.conn {
                Some(_) => counts.connected += 1,
                None => counts.resumable += 1,
            }
            counts.replay_frames += session.replay.len() as u64;
        }
        counts
    }
}
