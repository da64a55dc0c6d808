//! Failed authentications: counted, logged without the credential, and throttled per source
//! address.
//!
//! Only failures are throttled, and only after the credential has been checked: a valid
//! credential is accepted whatever its address did before, so a client behind the same proxy as
//! a prober is never locked out. A source past `gateway.auth_failures_per_minute` is answered
//! 429 with `Retry-After` (and its failures are no longer logged one by one, so a flood cannot
//! flood the log either).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::Instant;

use parking_lot::Mutex;

use super::auth::{AuthError, Endpoint};
use super::Shared;

/// Sources remembered at most. Past it the oldest remembered source is forgotten, which only
/// gives it a fresh allowance: the table costs at most about 1 MiB, whatever a botnet does.
pub const MAX_SOURCES: usize = 10_000;

/// Where failures are counted from: an IPv4 address, or an IPv6 /64 (one host usually holds a
/// whole /64, so counting single IPv6 addresses would throttle nobody).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Source(IpAddr);

impl Source {
    fn of(ip: IpAddr) -> Source {
        match ip {
            IpAddr::V4(_) => Source(ip),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Source(IpAddr::V4(v4)),
                None => Source(IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into())),
            },
        }
    }
}

/// A source's allowance of failures: a token bucket holding up to a minute's worth.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
    /// Whether its last failure was throttled, so a throttling episode is logged once.
    throttled: bool,
}

/// What to answer a failed authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within the allowance: 401.
    Refuse,
    /// Past it: 429, try again after this many seconds. `starts` is true for the first
    /// throttled failure of an episode.
    Throttle {
        /// Seconds until the source may fail once more.
        retry_after_secs: u64,
        /// The first throttled failure since the source was last within its allowance.
        starts: bool,
    },
}

/// The per-source failure allowances. Owned by `Shared`; the lock is held for one lookup and
/// never across an `.await`.
#[derive(Debug)]
pub struct AuthThrottle {
    per_minute: f64,
    table: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    buckets: HashMap<Source, Bucket>,
    /// Sources in the order they were added: the eviction order.
    order: VecDeque<Source>,
}

impl AuthThrottle {
    /// Allows `per_minute` failures per source per minute, bursting to as many.
    pub fn new(per_minute: u32) -> AuthThrottle {
        AuthThrottle {
            per_minute: f64::from(per_minute.max(1)),
            table: Mutex::new(Table::default()),
        }
    }

    /// Records a failure from `ip` at `now`.
    pub fn failed(&self, ip: IpAddr, now: Instant) -> Verdict {
        let per_sec = self.per_minute / 60.0;
        let source = Source::of(ip);
        let mut table = self.table.lock();
        if !table.buckets.contains_key(&source) {
            table.make_room(now, per_sec, self.per_minute);
            table.order.push_back(source);
        }
        let bucket = table.buckets.entry(source).or_insert(Bucket {
            tokens: self.per_minute,
            at: now,
            throttled: false,
        });
        bucket.tokens = refilled(bucket, now, per_sec, self.per_minute);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            bucket.throttled = false;
            return Verdict::Refuse;
        }
        let starts = !bucket.throttled;
        bucket.throttled = true;
        let retry_after_secs = ((1.0 - bucket.tokens) / per_sec).ceil().max(1.0) as u64;
        Verdict::Throttle {
            retry_after_secs,
            starts,
        }
    }

    /// Sources remembered now.
    pub fn sources(&self) -> usize {
        self.table.lock().buckets.len()
    }
}

impl Table {
    /// Forgets sources from the oldest while they are back to a full allowance (forgetting
    /// them changes nothing), then the oldest one if the table is still full.
    fn make_room(&mut self, now: Instant, per_sec: f64, full: f64) {
        while let Some(oldest) = self.order.front() {
            let idle = self
                .buckets
                .get(oldest)
                .is_none_or(|b| refilled(b, now, per_sec, full) >= full);
            if !idle && self.buckets.len() < MAX_SOURCES {
                break;
            }
            if let Some(oldest) = self.order.pop_front() {
                self.buckets.remove(&oldest);
            }
        }
        debug_assert_eq!(self.order.len(), self.buckets.len());
    }
}

fn refilled(bucket: &Bucket, now: Instant, per_sec: f64, full: f64) -> f64 {
    let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
    (bucket.tokens + elapsed * per_sec).min(full)
}

/// Counts, logs and throttles one failed authentication: `Some(seconds)` when the answer must
/// be 429 with that `Retry-After`, `None` for a plain 401. Never logs the credential.
pub fn auth_failed(
    shared: &Shared,
    endpoint: Endpoint,
    error: &AuthError,
    ip: IpAddr,
) -> Option<u64> {
    shared
        .metrics
        .auth_failures
        .with_label_values(&[endpoint.as_str(), error.reason()])
        .inc();
    match shared.auth_throttle.failed(ip, Instant::now()) {
        Verdict::Refuse => {
            tracing::info!(
                endpoint = endpoint.as_str(),
                reason = error.reason(),
                source = %ip,
                "authentication failed"
            );
            None
        }
        Verdict::Throttle {
            retry_after_secs,
            starts,
        } => {
            if starts {
                tracing::warn!(
                    endpoint = endpoint.as_str(),
                    reason = error.reason(),
                    source = %ip,
                    per_minute = shared.config.gateway.auth_failures_per_minute,
                    "too many failed authentications: answering 429 until the rate drops"
                );
            }
            Some(retry_after_secs)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::time::Duration;

    const HOST: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

    #[test]
    fn a_source_may_fail_its_rate_then_waits_for_its_allowance() {
        let throttle = AuthThrottle::new(6);
        let t0 = Instant::now();
        for _ in 0..6 {
            assert_eq!(throttle.failed(HOST, t0), Verdict::Refuse);
        }
        let throttled = |starts| Verdict::Throttle {
            retry_after_secs: 10,
            starts,
        };
        assert_eq!(throttle.failed(HOST, t0), throttled(true));
        assert_eq!(throttle.failed(HOST, t0), throttled(false));
        let other = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
        assert_eq!(throttle.failed(other, t0), Verdict::Refuse);
        // One failure comes back every 10 s.
        assert_eq!(
            throttle.failed(HOST, t0 + Duration::from_secs(10)),
            Verdict::Refuse
        );
        assert_eq!(
            throttle.failed(HOST, t0 + Duration::from_secs(10)),
            throttled(true)
        );
    }

    #[test]
    fn an_ipv6_host_counts_as_its_slash_64() {
        let throttle = AuthThrottle::new(1);
        let t0 = Instant::now();
        let a: Ipv6Addr = "2001:db8:1:2::1".parse().expect("address");
        let b: Ipv6Addr = "2001:db8:1:2:ffff::9".parse().expect("address");
        let elsewhere: Ipv6Addr = "2001:db8:1:3::1".parse().expect("address");
        assert_eq!(throttle.failed(a.into(), t0), Verdict::Refuse);
        assert!(matches!(
            throttle.failed(b.into(), t0),
            Verdict::Throttle { .. }
        ));
        assert_eq!(throttle.failed(elsewhere.into(), t0), Verdict::Refuse);
    }

    #[test]
    fn the_table_stays_bounded_forgetting_the_oldest_source() {
        let throttle = AuthThrottle::new(1);
        let t0 = Instant::now();
        let ip = |i: u32| IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
        for i in 0..=MAX_SOURCES as u32 {
            assert_eq!(throttle.failed(ip(i), t0), Verdict::Refuse);
        }
        assert_eq!(throttle.sources(), MAX_SOURCES);
        // The first source was forgotten, so it has a fresh allowance; the second was not.
        assert_eq!(throttle.failed(ip(0), t0), Verdict::Refuse);
        assert!(matches!(
            throttle.failed(ip(2), t0),
            Verdict::Throttle { .. }
        ));
        // Sources back to a full allowance are forgotten as new ones arrive.
        let later = t0 + Duration::from_secs(120);
        assert_eq!(throttle.failed(ip(u32::MAX >> 1), later), Verdict::Refuse);
        assert_eq!(throttle.sources(), 1);
    }
}
