//! Waiting conversations of one queue, in service order.
//!
//! Owner: the queue's router. Bound: the router's conversation table; this index holds each
//! waiting conversation once. Ordered by [`WaitKey`], a key fixed when the conversation starts
//! waiting, so aging never re-sorts anything. Each entry also carries what the periodic position
//! pass needs (its connector and what it was last told), so that pass walks this tree in order and
//! never touches the conversation table: at 100k waiting that is the difference between a
//! sequential scan and 100k cache misses.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::types::{ConnectorId, ConversationId, Lane, Millis};

/// Where a waiting conversation stands. Derived order is service order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WaitKey {
    /// VIP lane before standard.
    pub lane: Lane,
    /// Rescued conversations first within their lane.
    pub precedence: Precedence,
    /// Time-invariant aging key (see `Policy::age_key`): smaller first. A sort key, not an age.
    pub age_key: i64,
    /// Arrival order, unique per router: the final tie-break.
    pub seq: u64,
}

/// Where within its lane a conversation waits, before its aging key is compared. Derived order
/// is service order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Precedence {
    /// Taken back from an agent who left mid-conversation: the head of its lane, so the customer
    /// is not sent to the back for the agent's fault.
    Rescued,
    /// Everyone else, in aging-key order.
    InTurn,
}

/// A waiting conversation and what its customer was last told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiter {
    /// The conversation.
    pub conversation: ConversationId,
    /// Its connector, to address updates.
    pub connector: ConnectorId,
    /// When it started waiting, for the oldest-wait figures.
    pub since: Millis,
    /// Position last sent (0 = none yet).
    pub told_position: u32,
    /// Estimate last sent.
    pub told_ewt: Option<Millis>,
    /// The first estimate sent, kept to compare with the actual wait.
    pub first_ewt: Option<Millis>,
}

impl Waiter {
    /// A waiter who has been told nothing yet.
    pub fn new(conversation: ConversationId, connector: ConnectorId, since: Millis) -> Self {
        Waiter {
            conversation,
            connector,
            since,
            told_position: 0,
            told_ewt: None,
            first_ewt: None,
        }
    }

    /// Records what is about to be sent, if it is worth sending: the first figures; any change
    /// near the head (position 10 or better), where every step matters to the customer; a move of
    /// a tenth or more further back; or a new estimate bucket. Returns whether to send.
    pub fn tell(&mut self, position: u32, ewt: Option<Millis>) -> bool {
        let moved = self.told_position.abs_diff(position);
        let worth = self.told_position == 0
            || (moved > 0 && (position <= 10 || moved * 10 >= self.told_position))
            || ewt != self.told_ewt;
        if worth {
            self.told_position = position;
            self.told_ewt = ewt;
            self.first_ewt = self.first_ewt.or(ewt);
        }
        worth
    }
}

/// One queue's waiting conversations.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct WaitingQueue {
    entries: BTreeMap<WaitKey, Waiter>,
    vip: usize,
}

impl WaitingQueue {
    /// Adds a conversation.
    pub fn insert(&mut self, key: WaitKey, waiter: Waiter) {
        let fresh = self.entries.insert(key, waiter).is_none();
        // Keys are unique (`seq`): a repeat means a conversation was queued twice.
        debug_assert!(fresh, "{:?} queued twice", waiter.conversation);
        if fresh && key.lane == Lane::Vip {
            self.vip += 1;
        }
    }

    /// Removes a conversation by its key.
    pub fn remove(&mut self, key: &WaitKey) -> Option<Waiter> {
        let removed = self.entries.remove(key);
        if removed.is_some() && key.lane == Lane::Vip {
            self.vip -= 1;
        }
        removed
    }

    /// Conversations in service order.
    pub fn iter(&self) -> impl Iterator<Item = (&WaitKey, ConversationId)> + '_ {
        self.entries.iter().map(|(k, w)| (k, w.conversation))
    }

    /// Waiters in service order.
    pub fn waiters(&self) -> impl Iterator<Item = (&WaitKey, &Waiter)> + '_ {
        self.entries.iter()
    }

    /// Waiters in service order, to update what they were told.
    pub fn waiters_mut(&mut self) -> impl Iterator<Item = &mut Waiter> + '_ {
        self.entries.values_mut()
    }

    /// A waiter, to update what it was told.
    pub fn waiter_mut(&mut self, key: &WaitKey) -> Option<&mut Waiter> {
        self.entries.get_mut(key)
    }

    /// The next conversation to serve.
    pub fn first(&self) -> Option<(&WaitKey, ConversationId)> {
        self.entries.iter().next().map(|(k, w)| (k, w.conversation))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customers_are_told_what_matters_and_not_every_step_far_back() {
        let mut w = Waiter::new(ConversationId(1), ConnectorId(1), 0);
        assert!(w.tell(500, None), "first figures are always sent");
        assert!(!w.tell(499, None), "one step at 500 is noise");
        assert!(!w.tell(451, None));
        assert!(w.tell(450, None), "a tenth closer is news");
        assert!(w.tell(450, Some(60_000)), "a new estimate is news");
        assert!(!w.tell(450, Some(60_000)));
        assert!(w.tell(10, Some(60_000)));
        assert!(w.tell(9, Some(60_000)), "near the head every step is sent");
        assert_eq!(w.first_ewt, Some(60_000));
    }
}
