//! Who served a customer last, for sticky routing.
//!
//! Owner: the router. Bound: entries older than the sticky window are dropped as time passes, and
//! at most [`MAX_REMEMBERED`] are kept (the oldest goes first). Customers are remembered by a hash of
//! their id, never the id itself: a collision only means an unlucky customer is first offered to
//! someone else's previous agent, which is harmless.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::hash::Hasher;

use rustc_hash::{FxHashMap, FxHasher};

use super::types::{AgentId, Millis};

/// Most customers remembered at once.
pub const MAX_REMEMBERED: usize = 1 << 20;

/// A customer's key: a hash of their id.
pub fn customer_key(customer_id: &str) -> u64 {
    let mut hasher = FxHasher::default();
    hasher.write(customer_id.as_bytes());
    hasher.finish()
}

/// Recently finished conversations: customer → (agent, when it ended).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct RecentAgents {
    last: FxHashMap<u64, (AgentId, Millis)>,
    order: VecDeque<(Millis, u64)>,
}

impl RecentAgents {
    /// Remembers that `agent` served `customer` until `now`.
    pub fn remember(&mut self, customer: u64, agent: AgentId, now: Millis) {
        if self.order.len() >= MAX_REMEMBERED {
            self.forget_oldest();
        }
        self.last.insert(customer, (agent, now));
        self.order.push_back((now, customer));
    }

    /// The agent who served `customer` within `window` before `now`.
    pub fn recall(&self, customer: u64, now: Millis, window: Millis) -> Option<AgentId> {
        self.last
            .get(&customer)
            .filter(|(_, at)| now.saturating_sub(*at) < window)
            .map(|(agent, _)| *agent)
    }

    /// Drops what fell out of the window.
    pub fn expire(&mut self, now: Millis, window: Millis) {
        while self
            .order
            .front()
            .is_some_and(|(at, _)| now.saturating_sub(*at) >= window)
        {
            self.forget_oldest();
        }
    }

    fn forget_oldest(&mut self) {
        if let Some((at, customer)) = self.order.pop_front() {
            // Only forget if this was the customer's latest visit; a newer one has its own entry.
            if self.last.get(&customer).is_some_and(|(_, t)| *t == at) {
                self.last.remove(&customer);
            }
        }
    }

    /// Customers remembered.
    pub fn len(&self) -> usize {
        self.last.len()
    }

    /// Whether nobody is remembered.
    pub fn is_empty(&self) -> bool {
        self.last.is_empty()
    }
}
