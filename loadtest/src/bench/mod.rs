//! The modes: saturated throughput, fixed-rate latency, idle connections, and a drain under
//! load.
//!
//! # Roles in the generator
//!
//! - A **connector** is two tasks over one socket: a writer that runs jobs the controller sends
//!   it (open conversations, saturate, send at a fixed rate) and a reader that counts acks,
//!   `agent_joined` and errors. Connectors never wait for acks: Switchboard acks and the baseline
//!   does not, so flow control that both share is needed (the delivery window, below).
//! - An **agent** is one task that reads its socket, accepts every offer (Switchboard only: the
//!   baseline makes none) and, for each `customer_message`, records the latency from the stamp in
//!   the message id and counts the delivery against the sending connector.
//!
//! # Flow control in the saturation mode
//!
//! Each connector keeps at most `window` messages sent but not yet received by an agent, end to
//! end. That is a closed loop that keeps the target busy all the time (the window is far larger
//! than what one round trip needs) without letting queues inside the target grow without bound,
//! so "delivered per second" is the target's capacity and the latency is that of a full but
//! bounded pipeline. It is measured the same way against both targets.
//!
//! # The open model in the latency mode
//!
//! Message `k` of a connector is *intended* at `start + offset + k × interval`, whatever happened
//! to the previous ones; a pacer thread wakes the connectors every `tick` and each writes every
//! message already due, stamped with its intended time. Latency is receipt − intended, so a
//! stall anywhere (target, socket, generator) shows in the figures instead of silently delaying
//! the next sends (coordinated omission). The generator's own lateness is reported beside it.
//!
//! # Layout
//!
//! - `shared`: what a socket's tasks and the controller share (counters, the delivery window's
//!   wake-up, an agent's histograms), and reading a socket until it ends;
//! - `agent`: an agent's task;
//! - `connector`: a connector's reader task and the jobs its writer task runs;
//! - `writer`: the writer's three jobs: open conversations, saturate, send paced;
//! - `rig`: [`Rig`], the connected sockets against one target, and the accounting every mode
//!   shares (jobs on every connector, health, totals, the drain after a run);
//! - `throughput`: [`Rig::throughput`], one saturation run;
//! - `latency`: [`Rig::latency`], one fixed-rate run, with its pacer thread;
//! - `drain`: [`Rig::drain_under_load`], saturating a target while it drains on SIGTERM;
//! - `idle`: [`IdlePool`] and the idle mode, [`idle()`].
//!
//! Every wait is bounded, by the limits below or by one derived from the run's length.

mod agent;
mod connector;
mod drain;
mod idle;
mod latency;
mod rig;
mod shared;
mod throughput;
mod writer;

use std::time::Duration;

pub use drain::Drained;
pub use idle::{check_nofile, idle, open_limit, IdlePool};
pub use rig::Rig;

/// What to run and how hard.
#[derive(Debug, Clone)]
pub struct Options {
    /// Connector sockets.
    pub connectors: usize,
    /// Agent sockets.
    pub agents: usize,
    /// Conversations opened before measuring, spread over the connectors.
    pub conversations: usize,
    /// Each agent's capacity claim: large enough that every conversation is assigned.
    pub capacity: u32,
    /// Measured seconds of each saturation run.
    pub duration: f64,
    /// Seconds of saturation before measuring.
    pub warmup: f64,
    /// Messages in flight per connector in the saturation mode.
    pub window: u64,
    /// Messages per frame, one saturation run each.
    pub batches: Vec<usize>,
    /// Offered rates for the latency mode, messages per second in total.
    pub rates: Vec<u64>,
    /// Seconds per rate, warm-up included.
    pub rate_duration: f64,
    /// Seconds at the start of each rate not measured.
    pub rate_warmup: f64,
    /// Pacer period in the latency mode, microseconds.
    pub tick_us: u64,
    /// Idle connections to measure.
    pub idle: usize,
    /// Idle connections opened before the "before" RSS reading, so one-off costs (runtime
    /// threads' first allocations, lazily grown tables) are not charged per connection.
    pub idle_warm: usize,
    /// Handshakes in flight at once while opening idle connections.
    pub idle_concurrency: usize,
    /// Idle connector connections held open during the throughput and latency modes, to see
    /// what many connected-but-quiet clients cost the busy ones.
    pub background: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            connectors: 4,
            agents: 8,
            conversations: 2000,
            capacity: 5000,
            duration: 10.0,
            warmup: 1.0,
            window: 1024,
            batches: vec![1, 32],
            rates: vec![10_000, 25_000, 50_000, 75_000, 100_000, 150_000, 200_000],
            rate_duration: 5.0,
            rate_warmup: 0.5,
            tick_us: 200,
            idle: 10_000,
            idle_warm: 100,
            idle_concurrency: 200,
            background: 0,
        }
    }
}

/// How long a drain (everything sent is delivered) may take after a run before it counts as
/// loss.
const DRAIN: Duration = Duration::from_secs(10);
/// How long opening conversations may take.
const SETUP: Duration = Duration::from_secs(60);
/// A connector whose window stays full this long without a single delivery gives up: the
/// target stalled or dropped the agents.
const STALL: Duration = Duration::from_secs(5);
