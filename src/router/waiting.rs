//! Waiting conversations of one queue, in service order.
//!
//! Owner: the queue's router. Bound: the router's conversation table (see `Router`); this index
//! holds each waiting conversation once. Ordered by [`WaitKey`], a key fixed when the
//! conversation starts waiting, so aging never re-sorts anything.

use std::collections::BTreeMap;

use super::types::{ConversationId, Lane};

/// Where a waiting conversation stands. Derived order is service order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WaitKey {
    /// VIP lane before standard.
    pub lane: Lane,
    /// 0 for conversations taken back from an agent who left (head of their lane), 1 otherwise.
    pub rank: u8,
    /// Time-invariant aging key (see `Policy::age_key`): smaller first.
    pub age: i64,
    /// Arrival order, unique per router: the final tie-break.
    pub seq: u64,
}

/// One queue's waiting conversations.
#[derive(Debug, Default, Clone)]
pub struct WaitingQueue {
    entries: BTreeMap<WaitKey, ConversationId>,
    vip: usize,
}

impl WaitingQueue {
    /// Adds a conversation.
    pub fn insert(&mut self, key: WaitKey, conversation: ConversationId) {
        if self.entries.insert(key, conversation).is_none() && key.lane == Lane::Vip {
            self.vip += 1;
        }
    }

    /// Removes a conversation by its key.
    pub fn remove(&mut self, key: &WaitKey) -> bool {
        let removed = self.entries.remove(key).is_some();
        if removed && key.lane == Lane::Vip {
            self.vip -= 1;
        }
        removed
    }

    /// Conversations in service order.
    pub fn iter(&self) -> impl Iterator<Item = (&WaitKey, ConversationId)> + '_ {
        self.entries.iter().map(|(k, c)| (k, *c))
    }

    /// The next conversation to serve.
    pub fn first(&self) -> Option<(&WaitKey, ConversationId)> {
        self.entries.iter().next().map(|(k, c)| (k, *c))
    }

    /// How many wait.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nobody waits.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many VIPs wait.
    pub fn vip_len(&self) -> usize {
        self.vip
    }

    /// The 1-based position of `key`, if it is found within `limit` steps from the back. New
    /// arrivals usually join near the back, so this answers them at once without an O(n) walk;
    /// others are answered by the periodic position pass.
    pub fn position_from_back(&self, key: &WaitKey, limit: usize) -> Option<u32> {
        let behind = self
            .entries
            .range((std::ops::Bound::Excluded(*key), std::ops::Bound::Unbounded))
            .take(limit + 1)
            .count();
        (behind <= limit).then(|| (self.entries.len() - behind) as u32)
    }
}
