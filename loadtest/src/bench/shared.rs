//! What a socket's tasks and the controller share, and reading a socket until it ends.
//!
//! Each connector and each agent has one shared record, owned by an `Arc` the controller
//! ([`super::Rig`]) and the socket's tasks hold. The tasks write it; the controller reads it
//! between and after runs. Counters are atomics (the agents' hot path touches them per message);
//! what is read rarely or as a whole (first error, close reason, an agent's histograms) sits
//! behind a std mutex, never held across an await.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use futures_util::stream::Stream;
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};

use super::STALL;
use crate::client::Stamp;
use crate::report::histogram;

/// What a connector's tasks and the agents share about it.
pub(super) struct ConnShared {
    /// Measured messages written (all jobs).
    pub(super) sent: AtomicU64,
    /// Measured messages received by agents.
    pub(super) delivered: AtomicU64,
    /// Wake the writer once `delivered` reaches this (`u64::MAX`: nobody waits).
    wake_at: AtomicU64,
    wake: Notify,
    /// Pacer ticks.
    pub(super) pace: Notify,
    pub(super) acked: AtomicU64,
    /// Ack frames received (Switchboard acks each frame it processes, or coalesces under load).
    pub(super) ack_frames: AtomicU64,
    pub(super) joined: AtomicU64,
    pub(super) errors: AtomicU64,
    pub(super) first_error: Mutex<Option<String>>,
    pub(super) closed: Mutex<Option<String>>,
    /// The target closed the socket with 1001 (going away): a drain, not a failure, in
    /// [`super::Rig::drain_under_load`].
    pub(super) going_away: AtomicBool,
}

impl ConnShared {
    pub(super) fn new() -> Self {
        ConnShared {
            sent: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            wake_at: AtomicU64::new(u64::MAX),
            wake: Notify::new(),
            pace: Notify::new(),
            acked: AtomicU64::new(0),
            ack_frames: AtomicU64::new(0),
            joined: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            first_error: Mutex::new(None),
            closed: Mutex::new(None),
            going_away: AtomicBool::new(false),
        }
    }

    /// An agent received one of this connector's messages.
    pub(super) fn delivered_one(&self) {
        let now = self.delivered.fetch_add(1, Ordering::SeqCst) + 1;
        // Wake the writer once, when the count crosses its mark: one wake-up per window refill,
        // not one per message.
        if now >= self.wake_at.load(Ordering::SeqCst)
            && self.wake_at.swap(u64::MAX, Ordering::SeqCst) != u64::MAX
        {
            self.wake.notify_one();
        }
    }

    /// Waits until `delivered` reaches `mark`; false if nothing arrives for [`STALL`].
    pub(super) async fn wait_delivered(&self, mark: u64) -> bool {
        loop {
            let before = self.delivered.load(Ordering::SeqCst);
            if before >= mark {
                return true;
            }
            self.wake_at.store(mark, Ordering::SeqCst);
            // Re-check after publishing the mark: an agent that counted in between saw the old
            // mark and did not notify (both sides use SeqCst, so one of them sees the other).
            if self.delivered.load(Ordering::SeqCst) >= mark {
                self.wake_at.store(u64::MAX, Ordering::SeqCst);
                return true;
            }
            if tokio::time::timeout(STALL, self.wake.notified())
                .await
                .is_err()
                && self.delivered.load(Ordering::SeqCst) == before
            {
                self.wake_at.store(u64::MAX, Ordering::SeqCst);
                return false;
            }
        }
    }

    pub(super) fn error(&self, text: &str) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut first) = self.first_error.lock() {
            first.get_or_insert_with(|| text.chars().take(300).collect());
        }
    }
}

/// One agent's measurements for the current run.
pub(super) struct AgentStats {
    /// Receipt − intended send time.
    pub(super) hist: Histogram<u64>,
    /// Receipt − actual send time.
    pub(super) service: Histogram<u64>,
    /// Record latency of messages intended in `[lat_from, lat_to)`.
    lat_from: u64,
    lat_to: u64,
    /// Count messages received in `[rx_from, rx_to)`.
    rx_from: u64,
    rx_to: u64,
    pub(super) rx_count: u64,
}

impl AgentStats {
    /// Empty, with empty windows: nothing is counted until the first [`AgentStats::reset`].
    fn new() -> Self {
        AgentStats {
            hist: histogram(),
            service: histogram(),
            lat_from: 0,
            lat_to: 0,
            rx_from: 0,
            rx_to: 0,
            rx_count: 0,
        }
    }

    pub(super) fn reset(&mut self, lat: (u64, u64), rx: (u64, u64)) {
        self.hist.reset();
        self.service.reset();
        (self.lat_from, self.lat_to) = lat;
        (self.rx_from, self.rx_to) = rx;
        self.rx_count = 0;
    }

    pub(super) fn record(&mut self, now: u64, stamp: Stamp) {
        if (self.rx_from..self.rx_to).contains(&now) {
            self.rx_count += 1;
        }
        if (self.lat_from..self.lat_to).contains(&stamp.intended_ns) {
            self.hist
                .saturating_record(now.saturating_sub(stamp.intended_ns).max(1));
            self.service
                .saturating_record(now.saturating_sub(stamp.sent_ns).max(1));
        }
    }
}

/// What an agent's task and the controller share about it.
pub(super) struct AgentShared {
    pub(super) stats: Mutex<AgentStats>,
    pub(super) offers: AtomicU64,
    pub(super) errors: AtomicU64,
    pub(super) first_error: Mutex<Option<String>>,
    pub(super) closed: Mutex<Option<String>>,
    /// As [`ConnShared::going_away`].
    pub(super) going_away: AtomicBool,
}

impl AgentShared {
    pub(super) fn new() -> Self {
        AgentShared {
            stats: Mutex::new(AgentStats::new()),
            offers: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            first_error: Mutex::new(None),
            closed: Mutex::new(None),
            going_away: AtomicBool::new(false),
        }
    }
}

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicking task poisons nothing we cannot still read: take the data anyway.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The next text frame of a socket, skipping other frames; once the socket ends, why, after
/// noting in `going_away` whether the target closed it with 1001. Agents and connector readers
/// share this so that both describe a close the same way.
pub(super) async fn next_text<S>(
    stream: &mut S,
    going_away: &AtomicBool,
) -> Result<Utf8Bytes, String>
where
    S: Stream<Item = Result<Message, tungstenite::Error>> + Unpin,
{
    loop {
        match stream.next().await {
            Some(Ok(Message::Text(text))) => return Ok(text),
            Some(Ok(Message::Close(frame))) => {
                going_away.store(is_going_away(&frame), Ordering::SeqCst);
                return Err(format!("closed by the server: {frame:?}"));
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(format!("read failed: {e}")),
            None => return Err("connection ended".to_string()),
        }
    }
}

/// Whether a close frame says 1001 (going away), what Switchboard sends every client when it
/// drains on SIGTERM.
fn is_going_away(frame: &Option<CloseFrame>) -> bool {
    frame.as_ref().is_some_and(|f| f.code == CloseCode::Away)
}
