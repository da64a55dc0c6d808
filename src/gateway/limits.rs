//! What accepting connections may cost: caps on connections and on handshakes in progress, a
//! deadline for the request head, and an accept loop that waits out errors instead of spinning.
//!
//! Each listener has its own [`Acceptor`], so the admin listener keeps its budget whatever the
//! public one suffers. A socket past a cap is accepted and closed at once: left in the kernel's
//! queue it would keep the listener readable, and an accept loop that skips it spins.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::TokioTimer;
use prometheus::IntCounter;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::metrics::Metrics;
use switchboard_config::GatewayConfig;

/// Descriptors kept back from the public listener besides the admin listener's connections:
/// standard streams, the listeners, the runtime's poller and signal pipes, files read on reload.
pub const DESCRIPTOR_RESERVE: usize = 32;

/// First wait after a failed accept; it doubles per failure in a row up to [`BACKOFF_MAX`].
const BACKOFF_FIRST: Duration = Duration::from_millis(10);
/// Longest wait between accepts while they keep failing: long enough not to burn a core, short
/// enough that a freed descriptor is used within a second.
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Binds a listener with `SO_REUSEADDR` (a restart need not wait out `TIME_WAIT`) and this
/// backlog: tokio's default of 128 makes a reconnect storm wait for SYN retransmits.
pub fn bind(addr: &str, backlog: u32) -> io::Result<TcpListener> {
    let parsed: SocketAddr = addr
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{addr:?}: {e}")))?;
    let socket = match parsed {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(parsed)?;
    socket.listen(backlog)
}

/// The HTTP/1 server both listeners use: the request head must arrive within
/// `gateway.header_read_timeout_ms` (hyper enforces it only when given a timer).
pub fn http1(gateway: &GatewayConfig) -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(u64::from(
            gateway.header_read_timeout_ms,
        )));
    builder
}

/// The public listener's connection cap: `gateway.max_connections`, lowered to what the
/// descriptor limit leaves once the admin listener and [`DESCRIPTOR_RESERVE`] are set aside, so
/// the public listener can never take the descriptor the admin listener needs. At least 1.
pub fn public_cap(configured: usize, admin: usize, descriptors: Option<u64>) -> usize {
    let Some(descriptors) = descriptors else {
        return configured;
    };
    let budget = usize::try_from(descriptors)
        .unwrap_or(usize::MAX)
        .saturating_sub(admin + DESCRIPTOR_RESERVE);
    configured.min(budget).max(1)
}

/// The soft descriptor limit of this process, if the platform reports one.
pub fn descriptor_limit() -> Option<u64> {
    rlimit::getrlimit(rlimit::Resource::NOFILE)
        .ok()
        .map(|(soft, _)| soft)
}

/// Which cap refused a connection: the label of `switchboard_connections_refused_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    /// Connections at once.
    Total,
    /// Connections still in their TLS or HTTP handshake.
    Handshake,
}

impl Cap {
    /// Every cap, for pre-created metric series.
    pub const ALL: [Cap; 2] = [Cap::Total, Cap::Handshake];

    /// The metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Cap::Total => "total_cap",
            Cap::Handshake => "handshake_cap",
        }
    }
}

/// A connection let in: it holds a place under both caps until its handshake ends.
#[derive(Debug)]
pub struct Admission {
    total: OwnedSemaphorePermit,
    handshake: OwnedSemaphorePermit,
}

impl Admission {
    /// The handshake is over (the socket is upgraded): its handshake place is freed, the place
    /// under the total cap stays with the session for as long as it lives.
    pub fn upgraded(self) -> Connected {
        drop(self.handshake);
        Connected { _place: self.total }
    }
}

/// An upgraded connection's place under the total cap, freed when dropped.
#[derive(Debug)]
pub struct Connected {
    _place: OwnedSemaphorePermit,
}

/// Counts consecutive accept failures, and says how long to wait after each.
#[derive(Debug, Default)]
pub struct Backoff {
    delay: Option<Duration>,
    failures: u64,
}

impl Backoff {
    /// An accept failed: how long to wait before the next, and whether this failure starts an
    /// episode (the one to log).
    pub fn failed(&mut self) -> (Duration, bool) {
        let starts = self.delay.is_none();
        let delay = self
            .delay
            .map_or(BACKOFF_FIRST, |d| (d * 2).min(BACKOFF_MAX));
        self.delay = Some(delay);
        self.failures += 1;
        (delay, starts)
    }

    /// An accept succeeded: the failures of the episode it ends, if it ends one.
    pub fn succeeded(&mut self) -> Option<u64> {
        self.delay.take()?;
        Some(std::mem::take(&mut self.failures))
    }
}

/// One listener's accept loop state: its caps, its backoff, its refusal counters.
#[derive(Debug)]
pub struct Acceptor {
    listener: TcpListener,
    name: &'static str,
    total: Arc<Semaphore>,
    handshaking: Arc<Semaphore>,
    refused: [IntCounter; 2],
    backoff: Backoff,
}

impl Acceptor {
    /// `name` is the listener's metric label (`public`, `admin`).
    pub fn new(
        listener: TcpListener,
        name: &'static str,
        max_connections: usize,
        max_handshaking: usize,
        metrics: &Metrics,
    ) -> Acceptor {
        let refused = Cap::ALL.map(|cap| {
            metrics
                .connections_refused
                .with_label_values(&[name, cap.as_str()])
        });
        Acceptor {
            listener,
            name,
            total: Arc::new(Semaphore::new(max_connections)),
            handshaking: Arc::new(Semaphore::new(max_handshaking)),
            refused,
            backoff: Backoff::default(),
        }
    }

    /// The next connection within the caps. Sockets past a cap are closed at once and counted;
    /// a failed accept (out of descriptors, most often) is waited out with [`Backoff`], logged
    /// once per episode. Cancel-safe: dropping the future loses no admitted connection.
    pub async fn next(&mut self) -> (TcpStream, SocketAddr, Admission) {
        loop {
            match self.listener.accept().await {
                Ok((stream, peer)) => {
                    if let Some(failures) = self.backoff.succeeded() {
                        tracing::info!(listener = self.name, failures, "accepting again");
                    }
                    match self.admit() {
                        Ok(admission) => return (stream, peer, admission),
                        Err(cap) => self.refused[cap as usize].inc(),
                    }
                }
                // The client gave up between its SYN and our accept: nothing is wrong here.
                Err(error) if error.kind() == io::ErrorKind::ConnectionAborted => {}
                Err(error) => {
                    let (delay, starts) = self.backoff.failed();
                    if starts {
                        tracing::warn!(
                            listener = self.name,
                            %error,
                            "accept failed; backing off (10 ms doubling to 1 s) until it succeeds"
                        );
                    }
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    fn admit(&self) -> Result<Admission, Cap> {
        let total = Arc::clone(&self.total)
            .try_acquire_owned()
            .map_err(|_| Cap::Total)?;
        let handshake = Arc::clone(&self.handshaking)
            .try_acquire_owned()
            .map_err(|_| Cap::Handshake)?;
        Ok(Admission { total, handshake })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_accepts_back_off_doubling_to_a_second_and_log_once_per_episode() {
        let mut backoff = Backoff::default();
        assert_eq!(backoff.succeeded(), None);
        let waits: Vec<(Duration, bool)> = (0..9).map(|_| backoff.failed()).collect();
        assert_eq!(waits[0], (Duration::from_millis(10), true));
        assert_eq!(waits[1], (Duration::from_millis(20), false));
        assert_eq!(waits[7], (Duration::from_secs(1), false));
        assert_eq!(waits[8], (Duration::from_secs(1), false));
        assert!(waits[1..].iter().all(|(_, starts)| !starts));
        assert_eq!(backoff.succeeded(), Some(9));
        assert_eq!(backoff.failed(), (Duration::from_millis(10), true));
    }

    #[test]
    fn the_public_cap_leaves_the_admin_listener_its_descriptors() {
        assert_eq!(public_cap(100_000, 64, Some(1024)), 1024 - 64 - 32);
        assert_eq!(public_cap(500, 64, Some(1 << 20)), 500);
        assert_eq!(public_cap(500, 64, None), 500);
        assert_eq!(public_cap(500, 64, Some(16)), 1);
    }
}
