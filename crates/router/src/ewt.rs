//! Estimated wait time from the observed service rate of a queue, and what waiting customers are
//! told: their position and estimate, when either changed enough to matter.
//!
//! The estimate for the customer at position `p` is `p` divided by the queue's recent service rate,
//! measured over its last [`WINDOW`] departures *and the time since the oldest of them*, so a queue
//! whose agents stopped taking work sees its estimate grow instead of freezing.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

use super::timers::Timer;
use super::types::{Effect, Millis};
use super::Router;

/// Departures the rate is measured over.
pub const WINDOW: usize = 32;

/// Recent departures from one queue.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct ServiceRate {
    departures: VecDeque<Millis>,
}

impl ServiceRate {
    /// Records that a conversation left the queue for an agent.
    pub fn record(&mut self, now: Millis) {
        if self.departures.len() == WINDOW {
            self.departures.pop_front();
        }
        self.departures.push_back(now);
    }

    /// Estimated wait for the customer at `position` (1 = next), once two departures have been
    /// seen: a single one says nothing about a rate.
    pub fn estimate(&self, now: Millis, position: u32) -> Option<Millis> {
        if self.departures.len() < 2 {
            return None;
        }
        let oldest = *self.departures.front()?;
        let span = now.saturating_sub(oldest).max(1);
        let per_departure = span / self.departures.len() as Millis;
        Some(per_departure.max(1) * Millis::from(position))
    }
}

/// How far from the back a new arrival's position is computed at once (see `WaitingQueue`).
const POSITION_PROBE: usize = 64;

impl Router {
    /// First position and estimate for conversations that joined a queue and still wait.
    pub(crate) fn tell_new_arrivals(&mut self, out: &mut Vec<Effect>) {
        for id in std::mem::take(&mut self.joined) {
            let Some((key, queue)) = self
                .conversations
                .get(&id)
                .and_then(|c| c.wait_key.map(|k| (k, c.queue)))
            else {
                continue;
            };
            let q = usize::from(queue.0);
            let waiting = &mut self.waiting[q];
            let Some(position) = waiting.position_from_back(&key, POSITION_PROBE) else {
                continue;
            };
            let ewt_ms = self.rates[q].estimate(self.now, position).map(ewt_bucket);
            if let Some(waiter) = waiting.waiter_mut(&key) {
                waiter.tell(position, ewt_ms);
                out.push(Effect::QueueUpdate {
                    connector: waiter.connector,
                    conversation: id,
                    position,
                    ewt_ms,
                });
            }
        }
    }

    /// Sends position and estimated-wait updates to waiting customers whose figures changed enough
    /// to matter (see `Waiter::tell`). Walks the queues in order; touches no conversation.
    pub(crate) fn send_queue_updates(&mut self, out: &mut Vec<Effect>) {
        let now = self.now;
        let mut any_waiting = false;
        for (waiting, rate) in self.waiting.iter_mut().zip(&self.rates) {
            any_waiting |= !waiting.is_empty();
            for (position, waiter) in (1u32..).zip(waiting.waiters_mut()) {
                let ewt_ms = rate.estimate(now, position).map(ewt_bucket);
                if waiter.tell(position, ewt_ms) {
                    out.push(Effect::QueueUpdate {
                        connector: waiter.connector,
                        conversation: waiter.conversation,
                        position,
                        ewt_ms,
                    });
                }
            }
        }
        if any_waiting {
            self.queue_updates_armed = true;
            self.timers
                .set(now + self.policy.queue_update_ms, Timer::QueueUpdates);
        }
    }
}

/// Estimates are told rounded up: to 10 s under two minutes, to whole minutes beyond. Finer
/// changes are noise to a customer and would only cost messages.
fn ewt_bucket(ms: Millis) -> Millis {
    let step = if ms < 120_000 { 10_000 } else { 60_000 };
    ms.div_ceil(step) * step
}
