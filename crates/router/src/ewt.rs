//! Estimated wait time from the observed service rate of a queue.
//!
//! The estimate for the customer at position `p` is `p` divided by the queue's recent service rate,
//! measured over its last [`WINDOW`] departures *and the time since the oldest of them*, so a queue
//! whose agents stopped taking work sees its estimate grow instead of freezing.

use std::collections::VecDeque;

use super::types::Millis;

/// Departures the rate is measured over.
pub const WINDOW: usize = 32;

/// Recent departures from one queue.
#[derive(Debug, Default, Clone)]
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
