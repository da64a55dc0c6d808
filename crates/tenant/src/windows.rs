//! Rolling five-minute windows of what the tenant did: the staffing recommendation's inputs
//! (arrivals on the human side, handle times, answers by class) and the dashboard's rates
//! (answers within target, handoffs, client messages).
//!
//! Owner: the tenant core, which feeds them from its own effects at its own time, so they are
//! part of the state a replay rebuilds. Bounds: one bucket per second per window, none older
//! than [`WINDOW_SECS`]; `human_side` holds the conversations open on the human side (an entry
//! goes when its conversation ends).

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};

use rustc_hash::FxHashMap;
use switchboard_router::{ConversationId, Effect, HandoffReason, Millis, State};

/// Seconds kept in the rolling windows.
pub const WINDOW_SECS: u64 = 300;

/// Per-second buckets of `N` counts over the last [`WINDOW_SECS`].
#[derive(Debug, Default, Hash, Clone, Serialize, Deserialize)]
// serde implements arrays for each length, not for a const parameter: bound at each use.
#[serde(bound(
    serialize = "[u32; N]: Serialize",
    deserialize = "[u32; N]: Deserialize<'de>"
))]
struct Rolling<const N: usize> {
    buckets: VecDeque<(u64, [u32; N])>,
}

impl<const N: usize> Rolling<N> {
    fn add(&mut self, second: u64, index: usize) {
        self.add_n(second, index, 1);
    }

    /// Adds `n` to one count of this second.
    fn add_n(&mut self, second: u64, index: usize, n: u32) {
        match self.buckets.back_mut() {
            Some((s, counts)) if *s == second => counts[index] = counts[index].saturating_add(n),
            _ => {
                let mut counts = [0; N];
                counts[index] = n;
                self.buckets.push_back((second, counts));
            }
        }
        while self
            .buckets
            .front()
            .is_some_and(|(s, _)| second.saturating_sub(*s) >= WINDOW_SECS)
        {
            self.buckets.pop_front();
        }
    }

    /// The counts of the last `secs` seconds up to `second`.
    fn sum_last(&self, second: u64, secs: u64) -> [u64; N] {
        let mut total = [0u64; N];
        for (s, counts) in &self.buckets {
            if second.saturating_sub(*s) < secs {
                for (t, c) in total.iter_mut().zip(counts) {
                    *t += u64::from(*c);
                }
            }
        }
        total
    }

    fn sum(&self, second: u64) -> [u64; N] {
        self.sum_last(second, WINDOW_SECS)
    }
}

/// A tenant's windows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Windows {
    /// Per queue: answers within / beyond target.
    answered: Vec<Rolling<2>>,
    /// By [`HandoffReason::ALL`].
    handoffs: Rolling<6>,
    messages: Rolling<1>,
    /// Per queue: conversations reaching the human side there (each counted once).
    entries: Vec<Rolling<1>>,
    /// Per queue: human assignments that ended, and their seconds from assignment to the end
    /// of wrap-up (how long they held a slot).
    handled: Vec<Rolling<2>>,
    /// Per queue: answers by class, to staff each queue for the target it mostly serves.
    answered_by_class: Vec<Rolling<4>>,
    /// Conversations that reached the human side, with when an agent took them (if one holds
    /// them now).
    human_side: FxHashMap<ConversationId, Option<Millis>>,
}

impl Windows {
    pub(crate) fn new(queues: usize) -> Self {
        Windows {
            answered: (0..queues).map(|_| Rolling::default()).collect(),
            handoffs: Rolling::default(),
            messages: Rolling::default(),
            entries: (0..queues).map(|_| Rolling::default()).collect(),
            handled: (0..queues).map(|_| Rolling::default()).collect(),
            answered_by_class: (0..queues).map(|_| Rolling::default()).collect(),
            human_side: FxHashMap::default(),
        }
    }

    /// A client message (not a ping) arrived.
    pub(crate) fn message(&mut self, now: Millis) {
        self.messages.add(now / 1000, 0);
    }

    /// Counts what an effect means for the windows.
    pub(crate) fn observe(&mut self, effect: &Effect, now: Millis) {
        let second = now / 1000;
        match effect {
            Effect::WaitObserved {
                queue,
                class,
                sla_met,
                ..
            } => {
                let q = usize::from(queue.0);
                if let Some(window) = self.answered_by_class.get_mut(q) {
                    window.add(second, *class as usize);
                }
                if let Some(window) = self.answered.get_mut(q) {
                    window.add(second, usize::from(!sla_met));
                }
            }
            Effect::Handoff { reason, .. } => {
                let index = HandoffReason::ALL.iter().position(|r| r == reason);
                self.handoffs.add(second, index.unwrap_or(0));
            }
            Effect::StateChanged {
                conversation,
                state,
                queue,
            } => self.human_side(*conversation, *state, usize::from(queue.0), now),
            _ => {}
        }
    }

    /// Counts a conversation's first arrival on the human side of a queue, and how long each
    /// human assignment held a slot (assignment to closed, abandoned or taken back).
    fn human_side(
        &mut self,
        conversation: ConversationId,
        state: State,
        queue: usize,
        now: Millis,
    ) {
        let second = now / 1000;
        let held_since = match state {
            State::Waiting | State::Offered | State::Assigned => {
                let first = !self.human_side.contains_key(&conversation);
                let assigned_at = self.human_side.entry(conversation).or_insert(None);
                if first {
                    if let Some(window) = self.entries.get_mut(queue) {
                        window.add(second, 0);
                    }
                }
                if state == State::Assigned {
                    *assigned_at = Some(now);
                    None
                } else {
                    assigned_at.take()
                }
            }
            State::Closed | State::Abandoned => self.human_side.remove(&conversation).flatten(),
            State::WithBot | State::WrapUp => None,
        };
        if let (Some(since), Some(window)) = (held_since, self.handled.get_mut(queue)) {
            let held_ms = now.saturating_sub(since);
            window.add(second, 0);
            window.add_n(second, 1, ((held_ms + 500) / 1000) as u32);
        }
    }

    /// Gives back the memory a surge of conversations left behind.
    pub(crate) fn shrink(&mut self) {
        if self.human_side.capacity() > 4 * self.human_side.len() + 1024 {
            self.human_side.shrink_to_fit();
        }
    }

    /// Queue `q`'s answers within and beyond target, last five minutes.
    pub fn answered(&self, q: usize, second: u64) -> [u64; 2] {
        self.answered.get(q).map_or([0; 2], |w| w.sum(second))
    }

    /// Queue `q`'s answers by class (in `Class::ALL` order), last five minutes.
    pub fn answered_by_class(&self, q: usize, second: u64) -> [u64; 4] {
        self.answered_by_class
            .get(q)
            .map_or([0; 4], |w| w.sum(second))
    }

    /// Conversations that reached queue `q`'s human side, last five minutes.
    pub fn entries(&self, q: usize, second: u64) -> u64 {
        self.entries.get(q).map_or(0, |w| w.sum(second)[0])
    }

    /// Queue `q`'s ended human assignments and their total seconds held, last five minutes.
    pub fn handled(&self, q: usize, second: u64) -> [u64; 2] {
        self.handled.get(q).map_or([0; 2], |w| w.sum(second))
    }

    /// Handoffs by reason (in `HandoffReason::ALL` order), last five minutes.
    pub fn handoffs(&self, second: u64) -> [u64; 6] {
        self.handoffs.sum(second)
    }

    /// Client messages in the last `secs` seconds up to `second`.
    pub fn messages(&self, second: u64, secs: u64) -> u64 {
        self.messages.sum_last(second, secs)[0]
    }

    /// Feeds the state hash: the windows, and the human side in conversation order.
    pub(crate) fn hash_into(&self, h: &mut impl Hasher) {
        (&self.answered, &self.handoffs, &self.messages).hash(h);
        (&self.entries, &self.handled, &self.answered_by_class).hash(h);
        let mut human: Vec<_> = self.human_side.iter().collect();
        human.sort_unstable();
        human.hash(h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_forgets_what_is_five_minutes_old() {
        let mut w = Rolling::<2>::default();
        w.add(10, 0);
        w.add(10, 1);
        w.add_n(11, 1, 5);
        assert_eq!(w.sum(11), [1, 6]);
        assert_eq!(w.sum_last(11, 1), [0, 5]);
        assert_eq!(w.sum(10 + WINDOW_SECS), [0, 5]);
        w.add(11 + WINDOW_SECS, 0);
        assert_eq!(w.sum(11 + WINDOW_SECS), [1, 0]);
    }
}
