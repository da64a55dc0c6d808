//! The deterministic tenant core: one tenant's router plus everything its behaviour depends on
//! (id maps and interning, sessions with their seqs, replay buffers and owed acks, duplicate
//! windows, admission), as one state machine.
//!
//! [`TenantCore::apply`] takes the time (Unix ms) and one [`Input`] and appends [`Output`]s. It
//! never reads a clock, touches a socket or a channel, spawns, locks or draws OS randomness (its
//! ids come from a generator seeded at construction), so the same inputs at the same times give
//! the same outputs and the same [`TenantCore::state_hash`]: the oracle for the property tests
//! and, next, for journal replay. Connections are plain ids; the shard maps them to outboxes.
//!
//! # Layout
//! - `identity`: who connects ([`Identity`], [`Claims`], [`Role`]); verification is the
//!   gateway's.
//! - `inbound`: client message → what it asks (pure); `outbound`: router effect → wire message
//!   (pure).
//! - `core`: the state and [`TenantCore::apply`]; `client`: client messages; `connection`:
//!   attach, detach, backpressure, expiry; `deliver`: effects to sessions and observations.
//! - `session`: seqs, replay buffers, owed acks; `recent`: duplicate windows; `names`:
//!   interning; `admission`: who may open a conversation; `windows`: five-minute windows for
//!   staffing and the dashboard; `hash`: the canonical state walk.
//! - `record`: [`Input::encode`] / [`Input::decode`], the journal's records; `snapshot`:
//!   [`CoreSnapshot`], the state as data, and [`TenantCore::restore`].
//!
//! # Invariants this boundary holds
//! - no clock, thread, lock, OS randomness or randomly seeded map: `clippy.toml` makes each a
//!   lint error, and the crate denies those lints;
//! - whether a command was refused is read from its effects ([`Effect::Refused`]), never from
//!   metrics: [`Observation`]s are outputs, and nothing in the core reads them back;
//! - a session's state changes only through inputs, backpressure included;
//! - an input comes back from its journal record equal to itself, and a core restored from its
//!   snapshot has the same `state_hash` and gives the same outputs for any later inputs, ids
//!   and session tokens included (`tests/records.rs`, `tests/snapshot_props.rs`).
//!
//! [`Effect::Refused`]: switchboard_router::Effect::Refused

#![forbid(unsafe_code)]
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]
#![warn(missing_docs)]

mod admission;
mod client;
mod connection;
mod core;
mod deliver;
mod hash;
mod identity;
mod inbound;
mod names;
mod outbound;
mod recent;
mod record;
mod session;
mod snapshot;
mod windows;

pub use crate::core::{CoreLimits, SessionCounts, TenantCore};
pub use admission::AdmissionRefusal;
pub use identity::{Claims, Identity, Role, UnknownRole};
pub use record::RecordError;
pub use snapshot::{CoreSnapshot, RestoreError};
pub use windows::{Windows, WINDOW_SECS};

use switchboard_protocol::{ClientMessage, CloseCode, ErrorCode, Hello};
use switchboard_router::{AgentStatus, Class, ConversationId, HandoffReason, Millis, State};

/// A connection, numbered by the gateway (unique per process).
pub type ConnId = u64;

/// A text frame as the caller's transport holds it. The core encodes each message once into a
/// `String` and converts it with `From<String>` (for tungstenite's `Utf8Bytes` that takes the
/// buffer without a copy or a second UTF-8 check); replay keeps clones, so `Clone` should be
/// cheap (a reference count).
pub trait Frame: Clone + From<String> + AsRef<str> {}

impl<T: Clone + From<String> + AsRef<str>> Frame for T {}

/// What a tenant core is asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A connection finished its hello: bind it to its session (resuming if asked).
    Attach {
        /// The connection.
        conn: ConnId,
        /// Who it is.
        identity: Identity,
        /// Its hello.
        hello: Hello,
    },
    /// Decoded messages from one frame of a connection, in order.
    Client {
        /// The connection.
        conn: ConnId,
        /// The messages (none for a frame of pings).
        messages: Vec<ClientMessage>,
        /// The highest seq the frame carried, pings included: acked at [`Input::FlushAcks`].
        through: u64,
    },
    /// The connection is gone (closed by either side, or by the shell for being slow).
    Detach {
        /// The connection.
        conn: ConnId,
    },
    /// The connection could not take numbered frame `seq`: it lags from there.
    Stalled {
        /// The connection.
        conn: ConnId,
        /// The first frame it did not take.
        seq: u64,
    },
    /// The connection could not take the ack of `seq`: it is owed.
    AckStalled {
        /// The connection.
        conn: ConnId,
        /// The ack's seq.
        seq: u64,
    },
    /// A lagging connection has room for `room` frames: hand out what it is owed.
    Drain {
        /// The connection.
        conn: ConnId,
        /// Frames its outbox can take now.
        room: usize,
    },
    /// The end of a batch of inputs: ack every client, once, up to what was processed.
    FlushAcks,
    /// Fire the router's timers that are due.
    Timers,
    /// Once a second: forget sessions nobody resumed in time (ending their connectors'
    /// conversations) and give back memory a surge left behind.
    Sweep,
    /// A supervisor sets an agent's status; answered by [`Output::StatusSet`].
    SetStatus {
        /// The agent's id (token `sub`).
        agent: String,
        /// The new status.
        status: AgentStatus,
    },
    /// Close every connection with 1001.
    Shutdown,
    /// The process restarted and this core was recovered: every connection bound before is
    /// gone. Applied once, before any new connection; each is detached as [`Input::Detach`]
    /// would (an agent's grace period and a session's resume window start now).
    Restarted,
}

/// What a tenant core asks of its shell.
#[derive(Debug)]
pub enum Output<F> {
    /// A numbered, replayable frame for a connection. If the connection cannot take it, tell
    /// the core ([`Input::Stalled`]) and send nothing more to it until a drain.
    Send {
        /// The connection.
        conn: ConnId,
        /// The frame's server seq.
        seq: u64,
        /// The frame.
        frame: F,
    },
    /// An `ack`; if the connection cannot take it, tell the core ([`Input::AckStalled`]).
    Ack {
        /// The connection.
        conn: ConnId,
        /// The client seq acked.
        seq: u64,
        /// The frame.
        frame: F,
    },
    /// A frame that is not replayed (welcome, error, pong): dropped if there is no room.
    Direct {
        /// The connection.
        conn: ConnId,
        /// The frame.
        frame: F,
    },
    /// Close a connection, after what is queued.
    Close {
        /// The connection.
        conn: ConnId,
        /// Why.
        code: CloseCode,
    },
    /// The core no longer knows this connection: its outbox can be dropped.
    Released {
        /// The connection.
        conn: ConnId,
    },
    /// Something for metrics and dashboards; decides nothing.
    Observe(Observation),
    /// The answer to [`Input::SetStatus`].
    StatusSet(Result<(), &'static str>),
}

/// What happened, for metrics and dashboards.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    /// A router command was applied.
    Command,
    /// A client message was answered with an error.
    ProtocolError(ErrorCode),
    /// A new conversation was refused by admission.
    ConversationRefused(AdmissionRefusal),
    /// An agent's reject was applied.
    OfferRejected,
    /// An agent's transfer was applied.
    Transferred,
    /// A conversation changed state.
    StateChanged {
        /// The conversation.
        conversation: ConversationId,
        /// Its new state.
        state: State,
        /// Its queue's index.
        queue: usize,
    },
    /// A conversation reached an agent: how long it waited.
    WaitObserved {
        /// Its queue's index.
        queue: usize,
        /// Its class.
        class: Class,
        /// The first estimate it was given.
        predicted_ms: Option<Millis>,
        /// The wait.
        actual_ms: Millis,
        /// Whether it was within target.
        sla_met: bool,
    },
    /// A conversation left the bot for a human.
    Handoff {
        /// The conversation.
        conversation: ConversationId,
        /// Why.
        reason: HandoffReason,
    },
    /// A conversation was offered to a human agent.
    OfferedToHuman {
        /// The conversation.
        conversation: ConversationId,
    },
    /// An offer timed out.
    OfferTimedOut,
}
