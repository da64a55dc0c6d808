//! Read-only views of the router's state, for tests, the admin API, metrics and the simulator.

use super::domain::{AgentStatus, Class, HandoffReason, Lane, Role, State};
use super::ids::{AgentId, ConversationId, Millis, QueueId};
use crate::refusals::Refusal;

/// Read-only view of a conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationView<'a> {
    /// Current state.
    pub state: State,
    /// Its queue.
    pub queue: QueueId,
    /// Its ranking.
    pub class: Class,
    /// Its lane.
    pub lane: Lane,
    /// Base priority points.
    pub priority: u32,
    /// The agent holding it.
    pub agent: Option<AgentId>,
    /// When it started waiting.
    pub waiting_since: Millis,
    /// Agents that refused it, oldest first, with when.
    pub refusals: &'a [Refusal],
    /// The previous agent it is held for, if any.
    pub held_for: Option<AgentId>,
    /// Taken back from an agent who left: waits at the head of its lane.
    pub rescued: bool,
    /// Smoothed sentiment so far.
    pub sentiment: Option<f32>,
    /// Why it left the bot, if it did.
    pub handoff: Option<HandoffReason>,
}

/// One queue's waiting figures; arrays are indexed by [`Lane`] (VIP = 0, standard = 1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// How many wait, per lane.
    pub waiting: [u32; 2],
    /// When the longest-waiting customer started waiting, per lane.
    pub oldest_since: [Option<Millis>; 2],
    /// Estimated wait for the next customer, once a service rate is known.
    pub ewt_next_ms: Option<Millis>,
}

/// How many humans and how many bots.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoleCounts {
    /// Human agents.
    pub humans: u32,
    /// Bots.
    pub bots: u32,
}

impl RoleCounts {
    fn add(&mut self, role: Role) {
        match role {
            Role::Human => self.humans += 1,
            Role::Bot => self.bots += 1,
        }
    }
}

/// Logged-in agents by presence and role, and the load of available humans.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentCounts {
    /// Connected and available.
    pub available: RoleCounts,
    /// Connected and away.
    pub away: RoleCounts,
    /// Connection dropped, still within the grace period (still logged in, not offline).
    pub disconnected: RoleCounts,
    /// Conversations held by available human agents.
    pub load: u64,
    /// Capacity of available human agents.
    pub capacity: u64,
}

impl AgentCounts {
    /// Counts one agent under its presence: a disconnected agent counts as disconnected whatever
    /// status it had.
    pub(crate) fn add(&mut self, role: Role, connected: bool, status: AgentStatus) {
        let presence = match (connected, status) {
            (false, _) => &mut self.disconnected,
            (true, AgentStatus::Available) => &mut self.available,
            (true, _) => &mut self.away,
        };
        presence.add(role);
    }

    /// The three presences in the order available, away, disconnected (the order of the
    /// `status` label values the server's metrics use).
    pub fn by_presence(&self) -> [RoleCounts; 3] {
        [self.available, self.away, self.disconnected]
    }

    /// Logged-in bots, whatever their presence.
    pub fn bots(&self) -> u32 {
        self.available.bots + self.away.bots + self.disconnected.bots
    }
}

/// Read-only view of an agent.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentView<'a> {
    /// Human or bot.
    pub role: Role,
    /// Status.
    pub status: AgentStatus,
    /// Whether connected (false during grace).
    pub connected: bool,
    /// Conversations held.
    pub load: u32,
    /// Capacity.
    pub capacity: u32,
    /// What it holds.
    pub held: &'a [ConversationId],
}
