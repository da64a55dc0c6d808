//! Deadlines, fired by the router when a command's time passes them: [`Timers`] holds them and
//! `Router::fire_timers` says what each does when it fires.
//!
//! Owner: the router. Cancelling is lazy: a timer names the epoch of the entity it was set for and
//! is ignored if that entity has moved on. Bound: at most one live timer per conversation and per
//! agent, plus one per refusal still in its cooldown, plus stale ones that fire (harmlessly)
//! within the longest configured timeout — so at most (timers set per second) × (longest timeout)
//! entries are held.
//!
//! Most timers are "now + a fixed duration of their kind", so each kind's deadlines arrive in
//! order: they go to a FIFO per kind, O(1) to set and to fire. A deadline earlier than its FIFO's
//! last one (an idle check re-armed from an older message, say) goes to a small heap instead. Every
//! entry carries a sequence number, so equal deadlines fire in the order they were set, whichever
//! structure holds them, and runs replay exactly.

use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use super::dispatch::mark;
use super::types::{AgentId, CloseReason, ConversationId, Effect, Millis, State, StatusReason};
use super::Router;

/// What a deadline is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Timer {
    /// An offer not accepted in time. Names the agent so a stale one is recognised from the
    /// agent's short list of pending offers, without looking the conversation up.
    OfferTimeout(AgentId, ConversationId, u32),
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
    /// A refusal's cooldown ends: the refuser may be the only one who can take it.
    CooldownEnd(ConversationId),
}

const KINDS: usize = 7;

impl Timer {
    fn kind(&self) -> usize {
        match self {
            Timer::OfferTimeout(..) => 0,
            Timer::StickyExpire(..) => 1,
            Timer::WrapUpEnd(..) => 2,
            Timer::Idle(..) => 3,
            Timer::Grace(..) => 4,
            Timer::QueueUpdates => 5,
            Timer::CooldownEnd(..) => 6,
        }
    }
}

type Entry = (Millis, u64, Timer);

/// Pending deadlines.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Timers {
    fifos: [VecDeque<Entry>; KINDS],
    heap: BinaryHeap<Reverse<Entry>>,
    seq: u64,
}

impl Timers {
    /// Sets a deadline.
    pub fn set(&mut self, at: Millis, timer: Timer) {
        self.seq += 1;
        let entry = (at, self.seq, timer);
        let fifo = &mut self.fifos[timer.kind()];
        if fifo.back().is_none_or(|(last, _, _)| *last <= at) {
            fifo.push_back(entry);
        } else {
            self.heap.push(Reverse(entry));
        }
    }

    /// Takes the earliest timer due at `now`.
    pub fn pop_due(&mut self, now: Millis) -> Option<Timer> {
        let mut best: Option<(Millis, u64, Option<usize>)> = self
            .heap
            .peek()
            .map(|Reverse((at, seq, _))| (*at, *seq, None));
        for (i, fifo) in self.fifos.iter().enumerate() {
            if let Some((at, seq, _)) = fifo.front() {
                if best.is_none_or(|(b_at, b_seq, _)| (*at, *seq) < (b_at, b_seq)) {
                    best = Some((*at, *seq, Some(i)));
                }
            }
        }
        match best {
            Some((at, _, source)) if at <= now => match source {
                Some(i) => self.fifos[i].pop_front().map(|(_, _, t)| t),
                None => self.heap.pop().map(|Reverse((_, _, t))| t),
            },
            _ => None,
        }
    }

    /// The earliest deadline, so the caller knows when to send the next `Tick`.
    pub fn next_deadline(&self) -> Option<Millis> {
        let heap = self.heap.peek().map(|Reverse((at, _, _))| *at);
        self.fifos
            .iter()
            .filter_map(|f| f.front().map(|(at, _, _)| *at))
            .chain(heap)
            .min()
    }

    /// Every pending deadline, live or stale, in no particular order: for the self-check that
    /// each waiting state has the timer that ends it (`Router::check_timers`).
    pub fn pending(&self) -> impl Iterator<Item = (Millis, Timer)> + '_ {
        let fifos = self.fifos.iter().flatten();
        let heap = self.heap.iter().map(|Reverse(entry)| entry);
        fifos.chain(heap).map(|(at, _, timer)| (*at, *timer))
    }

    /// Gives back memory a surge left behind (see [`oversized`]).
    pub fn shrink(&mut self) {
        for fifo in &mut self.fifos {
            if oversized(fifo.capacity(), fifo.len()) {
                fifo.shrink_to_fit();
            }
        }
        if oversized(self.heap.capacity(), self.heap.len()) {
            self.heap.shrink_to_fit();
        }
    }
}

/// Whether a collection holds far more room than it uses: after a surge ends. The slack keeps a
/// steady load from shrinking and regrowing every second.
pub fn oversized(capacity: usize, len: usize) -> bool {
    capacity > 4 * len + 1024
}

impl Router {
    pub(crate) fn fire_timers(&mut self, out: &mut Vec<Effect>) {
        while let Some(timer) = self.timers.pop_due(self.now) {
            match timer {
                Timer::OfferTimeout(agent, id, epoch) => {
                    self.offer_timed_out(agent, id, epoch, out)
                }
                Timer::StickyExpire(id, epoch) => self.sticky_expired(id, epoch),
                Timer::WrapUpEnd(id, epoch) => {
                    let due = self
                        .conversations
                        .get(&id)
                        .is_some_and(|c| c.epoch == epoch && c.state == State::WrapUp);
                    if due {
                        self.finish_wrap_up(id, out);
                    }
                }
                Timer::Idle(id, epoch) => self.idle_check(id, epoch, out),
                Timer::Grace(agent, epoch) => {
                    let expired = self
                        .roster
                        .get(&agent)
                        .is_some_and(|a| !a.connected() && a.epoch() == epoch);
                    if expired {
                        self.go_offline(agent, StatusReason::GraceExpired, out);
                    }
                }
                Timer::QueueUpdates => {
                    self.queue_updates_armed = false;
                    self.send_queue_updates(out);
                }
                Timer::CooldownEnd(id) => {
                    if let Some(c) = self.conversations.get(&id) {
                        if c.wait_key.is_some() {
                            mark(&mut self.dirty, c.queue);
                        }
                    }
                }
            }
        }
    }

    fn idle_check(&mut self, id: ConversationId, epoch: u32, out: &mut Vec<Effect>) {
        let idle_ms = self.policy.idle_ms;
        let last = match self.conversations.get(&id) {
            Some(c) if c.epoch == epoch && matches!(c.state, State::Assigned | State::WithBot) => {
                c.last_activity
            }
            _ => return,
        };
        if self.now >= last + idle_ms {
            self.end(id, CloseReason::Idle, out);
        } else {
            self.timers.set(last + idle_ms, Timer::Idle(id, epoch));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_in_deadline_then_setting_order_across_fifos_and_heap() {
        let mut timers = Timers::default();
        let c = ConversationId;
        timers.set(100, Timer::Idle(c(1), 0));
        timers.set(50, Timer::Idle(c(2), 0)); // earlier than its FIFO's tail: goes to the heap
        timers.set(50, Timer::OfferTimeout(AgentId(1), c(3), 0));
        timers.set(70, Timer::QueueUpdates);
        assert_eq!(timers.next_deadline(), Some(50));
        assert_eq!(timers.pop_due(49), None);
        let fired: Vec<Timer> = std::iter::from_fn(|| timers.pop_due(100)).collect();
        assert_eq!(
            fired,
            vec![
                Timer::Idle(c(2), 0),
                Timer::OfferTimeout(AgentId(1), c(3), 0),
                Timer::QueueUpdates,
                Timer::Idle(c(1), 0),
            ]
        );
        assert_eq!(timers.pending().count(), 0);
    }

    #[test]
    fn deadlines_at_the_same_time_fire_in_the_order_they_were_set() {
        let mut timers = Timers::default();
        let c = ConversationId;
        timers.set(50, Timer::StickyExpire(c(1), 0));
        timers.set(50, Timer::OfferTimeout(AgentId(1), c(2), 0));
        timers.set(50, Timer::Idle(c(3), 0));
        let fired: Vec<Timer> = std::iter::from_fn(|| timers.pop_due(50)).collect();
        assert_eq!(
            fired,
            vec![
                Timer::StickyExpire(c(1), 0),
                Timer::OfferTimeout(AgentId(1), c(2), 0),
                Timer::Idle(c(3), 0),
            ]
        );
    }
}
