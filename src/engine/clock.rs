//! The shard's clock: Unix milliseconds that never run backwards.
//!
//! Every time a client sees (a transcript line's `at`) and every time the journal records must be
//! wall-clock time, yet the router needs time that only moves forward. The clock reads the system
//! time once, when the shard starts, and advances it by the monotonic clock from then on, so a
//! step of the system clock (NTP, a VM resumed) cannot move the router's time backwards. The
//! price is that a long-lived shard drifts from the system clock by however much NTP slewed it:
//! milliseconds per day.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use switchboard_router::Millis;

/// Unix milliseconds, monotonic.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WallClock {
    anchor_unix_ms: Millis,
    anchor: Instant,
}

impl WallClock {
    /// Anchors the clock on the system time now.
    pub(crate) fn start() -> Self {
        let anchor_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as Millis);
        WallClock {
            anchor_unix_ms,
            anchor: Instant::now(),
        }
    }

    /// The current time in Unix milliseconds.
    pub(crate) fn now_ms(&self) -> Millis {
        self.at(Instant::now())
    }

    /// The time in Unix milliseconds at a monotonic reading, so one reading serves both the
    /// tenant cores (Unix ms) and the latency metrics (an `Instant`).
    pub(crate) fn at(&self, instant: Instant) -> Millis {
        self.anchor_unix_ms + instant.saturating_duration_since(self.anchor).as_millis() as Millis
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_reads_unix_time_and_never_goes_back() {
        let clock = WallClock::start();
        let first = clock.now_ms();
        // 2020-01-01 in Unix ms: anything earlier is not wall-clock time.
        assert!(first > 1_577_836_800_000);
        assert!(clock.now_ms() >= first);
    }
}
