//! What the actors observe while they play, in one place they all write to.
//!
//! Every actor records into one [`Measure`] behind a `std` mutex (see [`Shared::with`]): the
//! rehearsal's message rates are those of a contact centre (tens to hundreds per second), so one
//! short lock per event costs nothing, and one place means one definition of every figure.
//! Everything held here grows with the plan, never with time: the ledger has one entry per chat
//! message of the plan, the error samples stop at [`MAX_SAMPLES`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::sync::Notify;

use super::ledger::Ledger;
use crate::report::histogram;

/// A send this much later than intended counts as late.
pub const LATE_NS: u64 = 100_000_000;

/// How many error descriptions a run keeps (the count goes on).
pub const MAX_SAMPLES: usize = 20;

/// Who wrote a chat message. The first letter of its id says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Author {
    /// A customer, through their connector (`m…`).
    Customer,
    /// An AI bot (`b…`).
    Bot,
    /// A human agent (`a…`).
    Agent,
}

impl Author {
    fn letter(self) -> char {
        match self {
            Author::Customer => 'm',
            Author::Bot => 'b',
            Author::Agent => 'a',
        }
    }
}

/// What a chat message id carries: the gateway passes ids through unchanged, so the receiving
/// actor learns the conversation (agents only see the gateway's opaque ids) and the intended send
/// time (latency is measured from it, never from the actual send: a slow server cannot hide).
///
/// Format `{letter}{conversation}-{n}-{intended_ns}`; `n` counts the author's messages in the
/// conversation, so ids are unique within it as the protocol requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    /// Who wrote it.
    pub author: Author,
    /// Index of the customer in the plan.
    pub conversation: u32,
    /// The author's message count in the conversation, from 0.
    pub n: u32,
    /// Intended send time, nanoseconds on [`crate::clock`].
    pub intended_ns: u64,
}

impl Tag {
    /// The message id.
    pub fn id(&self) -> String {
        format!(
            "{}{}-{}-{}",
            self.author.letter(),
            self.conversation,
            self.n,
            self.intended_ns
        )
    }

    /// Reads a message id written by [`Tag::id`]; `None` for anything else.
    pub fn parse(id: &str) -> Option<Tag> {
        let mut chars = id.chars();
        let author = match chars.next()? {
            'm' => Author::Customer,
            'b' => Author::Bot,
            'a' => Author::Agent,
            _ => return None,
        };
        let mut parts = chars.as_str().split('-');
        let tag = Tag {
            author,
            conversation: parts.next()?.parse().ok()?,
            n: parts.next()?.parse().ok()?,
            intended_ns: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(tag)
    }
}

/// The kinds of client, named as the gateway's metrics label them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// A channel connector.
    Connector,
    /// A human agent.
    Agent,
    /// An AI bot.
    Bot,
}

impl Role {
    /// The `role` label of `switchboard_messages_*_total`.
    pub fn label(self) -> &'static str {
        match self {
            Role::Connector => "connector",
            Role::Agent => "agent",
            Role::Bot => "bot",
        }
    }
}

/// What clients of one role put on and took off their sockets, counted as the gateway counts
/// them, so the two can be compared.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Traffic {
    /// Messages sent, without `hello` and `ping` (the gateway does not count those).
    pub sent: u64,
    /// Text frames received (the gateway sends one message per frame).
    pub frames: u64,
}

/// Error frames, split into the unexpected and the benign races of a live system.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Errors {
    /// Errors nothing in the rules of play explains, and other failures (a socket that
    /// dropped, a frame that did not decode, a sequence gap).
    pub unexpected: u64,
    /// Refusals explained by a race the client had already seen the end of (`not_assigned`
    /// for a reply to a conversation that left the bot a moment before, ...), by code.
    pub benign: BTreeMap<String, u64>,
    /// The first [`MAX_SAMPLES`] unexpected ones, described.
    pub samples: Vec<String>,
}

impl Errors {
    /// Counts something unexpected.
    pub fn unexpected(&mut self, what: String) {
        self.unexpected += 1;
        if self.samples.len() < MAX_SAMPLES {
            self.samples.push(what);
        }
    }
}

/// Planned and unplanned reconnects.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Sessions {
    /// Planned agent disconnects played.
    pub planned_disconnects: u64,
    /// Sockets that dropped without being asked to.
    pub unplanned_disconnects: u64,
    /// Reconnects whose `welcome` said `resumed: true, gap: false`.
    pub resumed: u64,
    /// Reconnects that did not resume cleanly (`resumed: false` or `gap: true`).
    pub gaps: u64,
    /// Connection attempts that failed.
    pub connect_failures: u64,
}

/// Where conversations stand as the clients see them: what a crash check reads before a kill
/// and compares with the gateway's answer after the restart. Bounded by the plan: one entry
/// per customer, per conversation accepted, per agent.
#[derive(Debug, Default)]
pub struct Whereabouts {
    /// The gateway's id of each customer's conversation (plan index → id), from its latest
    /// offer: the connector knows only its own ids, so a conversation never offered (to a bot
    /// or a human) cannot be looked up.
    pub ids: HashMap<u32, String>,
    /// Customers waiting for a human, as their connector sees it (plan indices).
    pub waiting: BTreeSet<u32>,
    /// Conversations a human accepted and still holds: gateway id → agent (token `sub`).
    pub assigned: BTreeMap<String, String>,
    /// The latest `resumed` each agent got: agent → (conversations, when on
    /// [`crate::clock`]).
    pub resumed: HashMap<String, (Vec<String>, u64)>,
}

/// Predicted against actual waits.
#[derive(Debug, Clone, Copy, Default)]
pub struct EwtErrors {
    /// Answered customers who had been given an estimate.
    pub samples: u64,
    /// Sum of |predicted − actual|, milliseconds.
    pub abs_sum_ms: u64,
    /// Sum of predicted − actual, milliseconds.
    pub signed_sum_ms: i64,
}

/// Everything measured during a run.
#[derive(Debug)]
pub struct Measure {
    /// Customer message intended send → `customer_message` receipt at the bot or agent holding
    /// the conversation (messages that reach them inside an offer's transcript are not timed).
    pub to_agent: Histogram<u64>,
    /// Bot or agent reply intended send → `reply` receipt at the connector.
    pub to_customer: Histogram<u64>,
    /// Messages received only in the replay after their recipient resumed: held by the gateway
    /// while the recipient was away, so not a delivery latency.
    pub replayed: Histogram<u64>,
    /// Trigger message intended send → `handoff` receipt at the connector, by reason.
    pub handoffs: BTreeMap<String, Histogram<u64>>,
    /// Actual − intended send time of every message.
    pub lag: Histogram<u64>,
    /// Sends more than [`LATE_NS`] after their intended time.
    pub late: u64,
    /// Sends that could not be made: the socket was down, or the gateway acked nothing for
    /// too long.
    pub dropped: u64,
    /// Agent replies due while the agent was away by plan (not sent, not a fault).
    pub skipped_away: u64,
    /// Estimated-wait accuracy.
    pub ewt: EwtErrors,
    /// Error frames and failures.
    pub errors: Errors,
    /// Chat messages and their deliveries.
    pub ledger: Ledger,
    /// Per role: what the clients sent and received.
    pub traffic: BTreeMap<Role, Traffic>,
    /// Reconnects.
    pub sessions: Sessions,
    /// Offers whose `context.class` differs from the class the plan gives the customer.
    pub class_mismatches: u64,
    /// Agent `status` changes the gateway made on its own, by reason.
    pub status_changes: BTreeMap<String, u64>,
    /// Customers who have arrived.
    pub arrived: u64,
    /// Conversations the connectors saw end.
    pub ended: u64,
    /// Where conversations stand, for the crash checks.
    pub whereabouts: Whereabouts,
}

impl Default for Measure {
    fn default() -> Self {
        Measure {
            to_agent: histogram(),
            to_customer: histogram(),
            replayed: histogram(),
            handoffs: BTreeMap::new(),
            lag: histogram(),
            late: 0,
            dropped: 0,
            skipped_away: 0,
            ewt: EwtErrors::default(),
            errors: Errors::default(),
            ledger: Ledger::default(),
            traffic: BTreeMap::new(),
            sessions: Sessions::default(),
            class_mismatches: 0,
            status_changes: BTreeMap::new(),
            arrived: 0,
            ended: 0,
            whereabouts: Whereabouts::default(),
        }
    }
}

/// Records `ns` in `h`, clamped into its range (a value past 60 s is still a sample).
pub fn record(h: &mut Histogram<u64>, ns: u64) {
    h.saturating_record(ns.max(1));
}

impl Measure {
    /// A message was put on a socket at `now`, meant for `intended_ns`.
    pub fn send(&mut self, role: Role, intended_ns: u64, now: u64) {
        self.traffic.entry(role).or_default().sent += 1;
        let lag = now.saturating_sub(intended_ns);
        record(&mut self.lag, lag);
        self.late += u64::from(lag > LATE_NS);
    }

    /// A handoff for `reason` arrived at `now`, triggered by a message intended at `trigger_ns`.
    pub fn handoff(&mut self, reason: String, trigger_ns: u64, now: u64) {
        let h = self.handoffs.entry(reason).or_insert_with(histogram);
        record(h, now.saturating_sub(trigger_ns));
    }
}

/// What every actor shares: the measurements and the start-up count.
#[derive(Debug, Default)]
pub struct Shared {
    measure: Mutex<Measure>,
    welcomed: AtomicUsize,
    failed: AtomicUsize,
    changed: Notify,
    /// Set while clients must not connect (a crash check reads the restarted gateway first).
    held: AtomicBool,
    released: Notify,
}

impl Shared {
    /// Runs `f` on the measurements under the lock.
    pub fn with<T>(&self, f: impl FnOnce(&mut Measure) -> T) -> T {
        f(&mut lock(&self.measure))
    }

    /// A client got its first `welcome`.
    pub fn welcomed(&self) {
        self.welcomed.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_waiters();
    }

    /// A client could not connect at the start.
    pub fn failed(&self, what: String) {
        self.with(|m| m.errors.unexpected(what));
        self.failed.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_waiters();
    }

    /// Waits until `expected` clients are welcomed (`Ok`) or one failed (`Err` with the count
    /// welcomed so far).
    pub async fn all_welcomed(&self, expected: usize) -> Result<(), usize> {
        loop {
            let changed = self.changed.notified();
            let welcomed = self.welcomed.load(Ordering::SeqCst);
            if self.failed.load(Ordering::SeqCst) > 0 {
                return Err(welcomed);
            }
            if welcomed >= expected {
                return Ok(());
            }
            changed.await;
        }
    }

    /// From now on no client connects until [`Shared::release`].
    pub fn hold(&self) {
        self.held.store(true, Ordering::SeqCst);
    }

    /// Lets clients connect again.
    pub fn release(&self) {
        self.held.store(false, Ordering::SeqCst);
        self.released.notify_waiters();
    }

    /// Waits while clients are held back.
    pub async fn held_back(&self) {
        loop {
            let released = self.released.notified();
            if !self.held.load(Ordering::SeqCst) {
                return;
            }
            released.await;
        }
    }

    /// Clients welcomed so far.
    pub fn welcomed_count(&self) -> usize {
        self.welcomed.load(Ordering::SeqCst)
    }
}

/// A poisoned lock still holds figures worth reporting: a panicking actor is reported by its
/// join handle, and the others keep counting.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_reads_back_and_nothing_else_reads_as_one() {
        let tag = Tag {
            author: Author::Bot,
            conversation: 41,
            n: 2,
            intended_ns: 123_456_789,
        };
        assert_eq!(tag.id(), "b41-2-123456789");
        assert_eq!(Tag::parse(&tag.id()), Some(tag));
        for other in ["", "x1-2-3", "m1-2", "m1-2-3-4", "m-1-2", "mA-2-3"] {
            assert_eq!(Tag::parse(other), None, "{other}");
        }
    }
}
