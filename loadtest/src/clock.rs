//! A process-wide monotonic epoch.
//!
//! Connectors write "nanoseconds since the epoch" into each message id, agents subtract it from
//! their own reading of the same clock: both live in the load generator process, so no clock
//! synchronisation is involved and the difference is a true one-way latency through the target.

use std::sync::OnceLock;
use std::time::Instant;

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Nanoseconds since the epoch (the first call). `u64` nanoseconds last 584 years.
pub fn now_ns() -> u64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// Seconds as nanoseconds.
pub fn secs_ns(secs: f64) -> u64 {
    (secs * 1e9) as u64
}

/// Sleeps until the epoch reads at least `at_ns`.
pub async fn sleep_until_ns(at_ns: u64) {
    let now = now_ns();
    if at_ns > now {
        tokio::time::sleep(std::time::Duration::from_nanos(at_ns - now)).await;
    }
}
