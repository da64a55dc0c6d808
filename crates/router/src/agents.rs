//! Agents and bots, and the per-queue index that makes choosing one cheap.
//!
//! Owner: the router. An agent is in the index of every queue it can serve (and bots in the bot
//! pool) exactly while it is *eligible*: connected, available, below capacity. The index orders
//! by the assignment policy — lowest utilisation, then longest since the last offer, then the
//! higher skill level, then id — so the best agent is the first entry: O(log agents) per change,
//! O(1) to choose.

use std::collections::BTreeSet;

use super::policy::SkillId;
use super::types::{AgentId, AgentStatus, ConversationId, Millis, QueueId, Role};

/// Utilisation scaled to an integer: `load × 2^40 / capacity`. Equal ratios give equal keys
/// (floor depends only on the ratio) and distinct ratios with capacities up to 2^20 never collide.
pub fn utilisation_key(load: u32, capacity: u32) -> u64 {
    (u64::from(load) << 40) / u64::from(capacity.max(1))
}

/// One entry of a queue's agent index. Derived order is preference order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct IndexEntry {
    /// Lower utilisation first.
    pub utilisation: u64,
    /// Longest since the last offer first.
    pub last_offer: Millis,
    /// Higher skill level first (stored as 10 − level).
    pub level_rank: u8,
    /// Final tie-break, for determinism.
    pub agent: AgentId,
}

/// A logged-in agent or bot.
#[derive(Debug, Clone)]
pub struct Agent {
    /// Its id.
    pub id: AgentId,
    /// Human or bot.
    pub role: Role,
    /// Maximum conversations held at once.
    pub capacity: u32,
    /// Available or away (offline agents are removed).
    pub status: AgentStatus,
    /// Whether its connection is up; a disconnected agent is in its grace period.
    pub connected: bool,
    /// Bumped on every connect and disconnect, so a stale grace timer is ignored.
    pub epoch: u32,
    /// Conversations offered, assigned or in wrap-up with it, in the order it got them.
    pub held: Vec<ConversationId>,
    /// Which of `held` are offers not yet accepted.
    pub offered: Vec<ConversationId>,
    /// How many of `held` are not VIP (for the VIP reserve).
    pub non_vip_held: u32,
    /// When it was last offered a conversation.
    pub last_offer: Millis,
    /// Its skills and levels.
    pub skills: Vec<(SkillId, u8)>,
    /// Queues it can serve, with its level for each (the lowest of the queue's required skills).
    pub queues: Vec<(QueueId, u8)>,
    /// Offers become assignments without an accept.
    pub auto_accept: bool,
    /// Offer timeouts in a row.
    pub missed_in_row: u32,
    /// Returning customers held for this agent, oldest first.
    pub sticky: Vec<ConversationId>,
}

impl Agent {
    /// Conversations it holds.
    pub fn load(&self) -> u32 {
        self.held.len() as u32
    }

    /// Whether it may be offered a conversation now.
    pub fn eligible(&self) -> bool {
        self.connected && self.status == AgentStatus::Available && self.load() < self.capacity
    }

    /// Whether its capacity counts toward the tenant's available human capacity.
    pub fn counts_for_reserve(&self) -> bool {
        self.role == Role::Human && self.connected && self.status == AgentStatus::Available
    }

    /// Its non-VIP load as the VIP reserve counts it: at most its capacity, so what an agent
    /// kept beyond a lowered capacity takes no other agent's room.
    pub fn non_vip_for_reserve(&self) -> u32 {
        self.non_vip_held.min(self.capacity)
    }

    /// Its entry in an index, for a queue where its level is `level`.
    pub fn index_entry(&self, level: u8) -> IndexEntry {
        IndexEntry {
            utilisation: utilisation_key(self.load(), self.capacity),
            last_offer: self.last_offer,
            level_rank: 10u8.saturating_sub(level),
            agent: self.id,
        }
    }

    /// Takes a slot for a conversation.
    pub fn take(&mut self, conversation: ConversationId, vip: bool, now: Millis) {
        self.held.push(conversation);
        if !vip {
            self.non_vip_held += 1;
        }
        self.last_offer = now;
    }

    /// Frees a conversation's slot (and its pending offer, if it was one).
    pub fn let_go(&mut self, conversation: ConversationId, vip: bool) {
        self.offered.retain(|c| *c != conversation);
        if let Some(pos) = self.held.iter().position(|c| *c == conversation) {
            self.held.remove(pos);
            if !vip {
                self.non_vip_held -= 1;
            }
        }
    }

    /// Its level for a queue it serves.
    pub fn level_for(&self, queue: QueueId) -> Option<u8> {
        self.queues
            .iter()
            .find(|(q, _)| *q == queue)
            .map(|(_, level)| *level)
    }
}

/// Eligible agents of one queue (or the bot pool), best first.
#[derive(Debug, Default, Clone)]
pub struct AgentIndex {
    entries: BTreeSet<IndexEntry>,
}

impl AgentIndex {
    /// Adds an eligible agent.
    pub fn insert(&mut self, entry: IndexEntry) {
        self.entries.insert(entry);
    }

    /// Removes an agent's entry.
    pub fn remove(&mut self, entry: &IndexEntry) -> bool {
        self.entries.remove(entry)
    }

    /// The best agent.
    pub fn first(&self) -> Option<AgentId> {
        self.entries.first().map(|e| e.agent)
    }

    /// The best agent that `allowed` accepts.
    pub fn best(&self, mut allowed: impl FnMut(AgentId) -> bool) -> Option<AgentId> {
        self.entries.iter().map(|e| e.agent).find(|a| allowed(*a))
    }

    /// Whether this exact entry is indexed.
    pub fn contains(&self, entry: &IndexEntry) -> bool {
        self.entries.contains(entry)
    }

    /// Eligible agents.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no agent is eligible.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Agents, best first.
    pub fn iter(&self) -> impl Iterator<Item = AgentId> + '_ {
        self.entries.iter().map(|e| e.agent)
    }
}
