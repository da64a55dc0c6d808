//! Deadlines, fired by the router when a command's time passes them.
//!
//! Owner: the router. Cancelling is lazy: a timer names the epoch of the entity it was set for and
//! is ignored if that entity has moved on. Bound: at most one live timer per conversation and per
//! agent, plus stale ones that fire (harmlessly) within the longest configured timeout — so the
//! heap holds at most (timers armed per second) × (longest timeout) entries.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::types::{AgentId, ConversationId, Millis};

/// What a deadline is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// An offer not accepted in time.
    OfferTimeout(ConversationId, u32),
    /// A held returning customer stops waiting for their previous agent.
    StickyExpire(ConversationId, u32),
    /// Wrap-up ends and the agent's slot frees.
    WrapUpEnd(ConversationId, u32),
    /// Check whether the conversation has been idle too long.
    Idle(ConversationId, u32),
    /// A disconnected agent's grace period ends.
    Grace(AgentId, u32),
    /// Recompute queue positions and estimated waits.
    QueueUpdates,
}

/// A min-heap of deadlines; equal deadlines fire in the order they were set, so runs replay exactly.
#[derive(Debug, Default, Clone)]
pub struct Timers {
    heap: BinaryHeap<Reverse<(Millis, u64, Timer)>>,
    seq: u64,
}

impl Timers {
    /// Sets a deadline.
    pub fn set(&mut self, at: Millis, timer: Timer) {
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, timer)));
    }

    /// Takes the earliest timer due at `now`.
    pub fn pop_due(&mut self, now: Millis) -> Option<Timer> {
        match self.heap.peek() {
            Some(Reverse((at, _, _))) if *at <= now => self.heap.pop().map(|Reverse((_, _, t))| t),
            _ => None,
        }
    }

    /// The earliest deadline, so the caller knows when to send the next `Tick`.
    pub fn next_deadline(&self) -> Option<Millis> {
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Pending entries, live or stale.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}
