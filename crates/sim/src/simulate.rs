//! `switchboard simulate`: plays a scenario's plan against the pure router in virtual time.
//!
//! The simulator and the load tester play the same seeded [`Plan`] by the same rules (see
//! [`crate::scenario`], "How a plan is played"); the simulator skips the gateway: no sockets, no
//! threads, no clock. Every customer, bot and human agent is an event in one queue ordered by
//! `(virtual ms, sequence)`, each event becomes a [`Command`] for one [`Router`], and the
//! router's [`Effect`]s are read the way the engine turns them into frames (an `Offer` to a bot
//! means the bot must answer, `AgentJoined` ends a customer's wait, and so on). Router deadlines
//! are honoured by sending [`Command::Tick`] exactly at [`Router::next_deadline`]. The same
//! scenario and seed give byte-identical output: nothing here reads a clock, iterates a hash map
//! or draws a random number (every draw is in the plan).
//!
//! [`Command`]: switchboard_router::Command
//! [`Command::Tick`]: switchboard_router::Command::Tick
//!
//! # Where the rules of play are silent
//! - A customer's profile carries `customer-{index}` as its id, language `zh`, no tags, no order
//!   value: unique ids mean sticky routing never applies, as in a run where every customer is new.
//! - A customer who gets neither a bot nor a `handoff` at arrival (no bot free, or `bot_first`
//!   off) starts waiting at arrival, which is what the router's own wait clock does.
//! - After a human joins, the first remaining message goes `think_ms` after the join, each later
//!   one `think_ms` after the previous. (Those messages change no figure reported here.)
//! - An agent whose close falls due while disconnected closes on reconnecting; replies due while
//!   disconnected are skipped. Accepts never fall due then: the router withdraws pending offers.
//! - A conversation still open at the end is [`Ending::Unfinished`] even if a human answered it,
//!   as the rules say; its wait is then not in the SLA figures.
//!
//! # Layout
//! This file holds the entry points ([`load`], [`run`]) and the state of one run; the
//! submodules hold what happens to it: `engine` (the virtual-time loop and the one door to the
//! router), `players` (what customers, bots and agents do on their own timers), `effects`
//! (what they do when the router speaks), `sum_up` (the run's figures), `capacity` (the Erlang
//! capacity planner), `summary` (the figures' types, which are also the JSON), and `report`
//! (the text report).

mod capacity;
mod effects;
mod engine;
mod players;
mod report;
mod sum_up;
mod summary;

pub use summary::{
    CapacityPlan, Checks, ClassSummary, Minute, Outcome, PeakWaiting, QueuePlan, Summary,
    Utilisation,
};

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::path::Path;
use std::sync::Arc;

use crate::scenario::{Ending, Plan, Scenario};
use switchboard_config::{ConfigError, TenantConfig};
use switchboard_router::{
    AgentId, AgentLogin, ConversationId, Effect, HandoffReason, Message, Millis, QueueId, Router,
};

/// The largest `--scale`: beyond it a plan no longer fits comfortably in memory.
pub const MAX_SCALE: f64 = 1000.0;

/// Why a simulation could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    /// The scenario file is missing or invalid.
    #[error("scenario {path}: {reason}")]
    Scenario {
        /// The scenario file.
        path: String,
        /// What is wrong (a line and a reason, or why the file cannot be read).
        reason: String,
    },
    /// The gateway configuration the scenario names is missing or invalid.
    #[error("gateway configuration of scenario {path}: {source}")]
    Gateway {
        /// The scenario file.
        path: String,
        /// What is wrong.
        source: ConfigError,
    },
    /// `--scale` out of range.
    #[error("scale must be above 0 and at most {MAX_SCALE}, got {0}")]
    Scale(f64),
}

/// Reads a scenario and the tenant it plays.
pub fn load(path: &Path) -> Result<(Scenario, TenantConfig), SimulateError> {
    let shown = path.display().to_string();
    let scenario = Scenario::load(path).map_err(|e| SimulateError::Scenario {
        path: shown.clone(),
        // A file that cannot be read is named by its path, already said.
        reason: if e.key == shown {
            e.reason
        } else {
            e.to_string()
        },
    })?;
    let gateway = |source| SimulateError::Gateway {
        path: shown.clone(),
        source,
    };
    let (config, _) = scenario.gateway_config(path).map_err(gateway)?;
    let tenant = config
        .tenants
        .into_iter()
        .find(|t| t.id == scenario.tenant)
        .ok_or_else(|| {
            gateway(ConfigError::new(
                "tenant",
                format!("no tenant {:?}", scenario.tenant),
            ))
        })?;
    Ok((scenario, tenant))
}

/// Plays `scenario` at `scale` against `tenant`'s router and sums up what happened.
pub fn run(
    scenario: &Scenario,
    tenant: &TenantConfig,
    scale: f64,
) -> Result<Summary, SimulateError> {
    if !(scale.is_finite() && scale > 0.0 && scale <= MAX_SCALE) {
        return Err(SimulateError::Scale(scale));
    }
    let plan = scenario.plan(scale);
    let mut sim = Sim::new(scenario, tenant, &plan);
    sim.play();
    Ok(sim.summary(scale))
}

/// Something a customer, bot or agent does at a virtual time. Indexes are into the plan's
/// customers and agents; epochs are the customer's at scheduling time, so an action the
/// conversation has moved past is dropped, as a client drops a timer it no longer needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Arrive(usize),
    /// The customer sends their next message.
    Send {
        customer: usize,
        epoch: u32,
    },
    /// The customer's patience runs out.
    GiveUp {
        customer: usize,
        epoch: u32,
    },
    BotReply {
        customer: usize,
        bot: AgentId,
        epoch: u32,
    },
    Accept {
        agent: usize,
        customer: usize,
        epoch: u32,
    },
    AgentReply {
        agent: usize,
        customer: usize,
        epoch: u32,
    },
    AgentClose {
        agent: usize,
        customer: usize,
        epoch: u32,
    },
    Disconnect(usize),
    Reconnect(usize),
}

/// Where a customer is, as the customer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Arriving: the router has not yet said bot or queue.
    Arriving,
    WithBot,
    Waiting {
        since: Millis,
    },
    WithHuman {
        wait_ms: Millis,
    },
    Ended,
}

#[derive(Debug, Clone)]
struct Customer {
    phase: Phase,
    /// Messages sent so far: the next one is `texts[sent]`.
    sent: usize,
    bot_replies: usize,
    /// Bumped on every phase change.
    phase_epoch: u32,
    /// Bumped on every offer withdrawn.
    offer_epoch: u32,
    /// Bumped whenever a human takes the conversation or loses it.
    hold_epoch: u32,
    queue: QueueId,
    route: Option<&'static str>,
    /// When the agent's slot was taken by the offer that led to the answer.
    slot_since: Option<Millis>,
    ending: Option<Ending>,
}

#[derive(Debug, Clone)]
struct Human {
    login: AgentLogin,
    connected: bool,
    /// Closes that fell due while disconnected: (customer, hold epoch).
    deferred: Vec<(usize, u32)>,
}

/// One run. Owner: the caller of [`run`], on its own thread. Bounds: one entry per planned
/// customer and agent, one sample per virtual second, and in the event queue every arrival not
/// yet played plus a few pending actions per open conversation.
struct Sim<'a> {
    scenario: &'a Scenario,
    tenant: &'a TenantConfig,
    plan: &'a Plan,
    router: Router,
    events: BinaryHeap<Reverse<(Millis, u64, Event)>>,
    seq: u64,
    effects: Vec<Effect>,
    customers: Vec<Customer>,
    humans: Vec<Human>,
    bots: u32,
    /// A wait the simulator saw end, not yet matched with the router's `WaitObserved`.
    unmatched_wait: Option<(usize, Millis)>,
    waiting: u64,
    peak_waiting: PeakWaiting,
    handoffs: [u64; HandoffReason::ALL.len()],
    straight_to_queue: u64,
    timeline: Vec<Minute>,
    next_second: u64,
    /// Per virtual second: (held, capacity) of available human agents.
    load: Vec<(u64, u64)>,
    /// Per queue, per second: conversations that started waiting in it.
    entered: Vec<Vec<u32>>,
    /// Per queue: (total ms, conversations) of slot time of answered conversations.
    slot: Vec<(u64, u64)>,
    checks: Checks,
}

/// A conversation's id is its customer's index in the plan, so effects map straight back.
fn conversation(i: usize) -> ConversationId {
    ConversationId(i as u64)
}

fn index(conversation: ConversationId) -> usize {
    conversation.0 as usize
}

fn message(text: &str, id: String) -> Message {
    Message {
        text: Arc::from(text),
        sentiment: None,
        id: Some(Arc::from(id)),
    }
}
