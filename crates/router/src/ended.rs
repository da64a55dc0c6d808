//! Conversations that ended recently, so an agent acting on one is told `conversation_ended`
//! rather than "never heard of it".
//!
//! Owner: the router. Bound: the tenant's [`ENDED_MEMORY`] most recently ended conversations; the
//! oldest is forgotten first, and a forgotten id is answered as unknown.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

use rustc_hash::FxHashSet;

use super::types::ConversationId;

/// How many ended conversations a tenant remembers (about 1.5 MiB at most).
pub const ENDED_MEMORY: usize = 65_536;

/// The most recently ended conversations.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RecentlyEnded {
    order: VecDeque<ConversationId>,
    ids: FxHashSet<ConversationId>,
}

impl RecentlyEnded {
    /// Remembers that `id` ended.
    pub fn record(&mut self, id: ConversationId) {
        if !self.ids.insert(id) {
            return;
        }
        self.order.push_back(id);
        if self.order.len() > ENDED_MEMORY {
            if let Some(oldest) = self.order.pop_front() {
                self.ids.remove(&oldest);
            }
        }
    }

    /// Forgets `id`: it was opened again (ids are not reused by the gateway, but may be by
    /// other drivers of the router).
    pub fn reopened(&mut self, id: ConversationId) {
        if self.ids.remove(&id) {
            self.order.retain(|c| *c != id);
        }
    }

    /// Whether `id` is among the remembered ended conversations.
    pub fn contains(&self, id: ConversationId) -> bool {
        self.ids.contains(&id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_is_forgotten_past_the_bound() {
        let mut ended = RecentlyEnded::default();
        for id in 0..=ENDED_MEMORY as u64 {
            ended.record(ConversationId(id));
        }
        assert!(!ended.contains(ConversationId(0)));
        assert!(ended.contains(ConversationId(1)));
        assert!(ended.contains(ConversationId(ENDED_MEMORY as u64)));
    }
}
