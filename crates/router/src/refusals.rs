//! Who refused a conversation, and how long that holds them back from it.
//!
//! Owner: the conversation. An agent who rejects an offer, lets it time out or transfers the
//! conversation to a queue is held back from it for the tenant's `refusal_cooldown_secs`. After
//! that they are a last resort: the conversation still goes to anyone who never refused it
//! first, but a customer never waits for good because the only agent with the skill once said
//! no (a night shift of one). Bound: [`MAX_REFUSALS`] agents per conversation, the oldest
//! forgotten first, and a forgotten refuser is treated as one who never refused.

use super::assignment::AgentIndex;
use super::types::{AgentId, Millis};
use serde::{Deserialize, Serialize};

/// How many refusing agents a conversation remembers.
pub const MAX_REFUSALS: usize = 8;

/// One agent's latest refusal of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// Who refused.
    pub agent: AgentId,
    /// When.
    pub at: Millis,
}

/// A conversation's refusals, oldest first, at most one per agent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusals(Vec<Refusal>);

impl Refusals {
    /// Records that `agent` refused at `at`, replacing its earlier refusal if any.
    pub fn record(&mut self, agent: AgentId, at: Millis) {
        self.0.retain(|r| r.agent != agent);
        if self.0.len() >= MAX_REFUSALS {
            self.0.remove(0);
        }
        self.0.push(Refusal { agent, at });
    }

    /// Whether `agent` is remembered as having refused.
    pub fn refused(&self, agent: AgentId) -> bool {
        self.0.iter().any(|r| r.agent == agent)
    }

    /// Whether `agent` refused less than `cooldown_ms` before `now`.
    pub fn cooling(&self, agent: AgentId, now: Millis, cooldown_ms: Millis) -> bool {
        self.0
            .iter()
            .any(|r| r.agent == agent && now < r.at.saturating_add(cooldown_ms))
    }

    /// The best agent of `index` for this conversation: one who never refused it, else one
    /// whose cooldown has passed.
    pub fn choose(&self, index: &AgentIndex, now: Millis, cooldown_ms: Millis) -> Option<AgentId> {
        if self.0.is_empty() {
            return index.first();
        }
        index
            .best(|a| !self.refused(a))
            .or_else(|| index.best(|a| !self.cooling(a, now, cooldown_ms)))
    }

    /// The refusals, oldest first.
    pub fn as_slice(&self) -> &[Refusal] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_holds_back_for_the_cooldown_only() {
        let mut r = Refusals::default();
        r.record(AgentId(1), 1_000);
        assert!(r.cooling(AgentId(1), 30_999, 30_000));
        assert!(!r.cooling(AgentId(1), 31_000, 30_000));
        assert!(r.refused(AgentId(1)));
        assert!(!r.refused(AgentId(2)));
    }

    #[test]
    fn the_oldest_refusal_is_forgotten_first() {
        let mut r = Refusals::default();
        for agent in 0..=MAX_REFUSALS as u32 {
            r.record(AgentId(agent), u64::from(agent));
        }
        assert_eq!(r.as_slice().len(), MAX_REFUSALS);
        assert!(!r.refused(AgentId(0)));
        assert!(r.refused(AgentId(MAX_REFUSALS as u32)));
    }

    #[test]
    fn refusing_again_restarts_the_cooldown() {
        let mut r = Refusals::default();
        r.record(AgentId(1), 0);
        r.record(AgentId(1), 50_000);
        assert_eq!(r.as_slice().len(), 1);
        assert!(r.cooling(AgentId(1), 60_000, 30_000));
    }
}
