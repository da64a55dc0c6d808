//! The routing core: a deterministic state machine that decides who serves whom.
//!
//! [`Router::apply`] takes the current time and one [`Command`] and appends [`Effect`]s. It never
//! reads a clock, touches a socket, spawns, locks or logs, so the same commands at the same times
//! always give the same effects and the same state: benchmarks, property tests, the simulator and
//! journal replay all drive this one entry point. One router serves one tenant.
//!
//! # Layout: where each policy lives
//! A command goes `apply` → fire due timers → the handler of its sender → the lifecycle → dispatch
//! → position updates. To change one policy, open one file:
//!
//! - `policy.rs`: which queue, rank, lane and SLA class; aging; when to skip the bot
//!   ([`policy::Policy`]).
//! - `waiting.rs`: the order within a queue: VIP lane, then rescued, then `age_key`, then
//!   arrival ([`waiting::WaitKey`]).
//! - `assignment.rs`: **which free agent is offered first** — lowest utilisation, longest since
//!   the last offer, higher skill level, id ([`assignment::assignment_order`]) — and the agent
//!   index that keeps it cheap ([`assignment::Roster`]).
//! - `dispatch.rs`: the VIP reserve, the order queues are served in, and sticky service (a
//!   returning customer offered to, or held for, their previous agent).
//! - `refusals.rs`: the refusal cooldown and the last-resort rule.
//! - `offers.rs`: offer, accept, reject, offer timeout; missed offers set an agent away.
//! - `handoff.rs`: bot first; what sends a conversation from the bot to the humans.
//! - `lifecycle.rs`: waiting, re-ranking, ending, wrap-up, what an agent who goes offline leaves.
//! - `commands/customer.rs`, `commands/agent.rs`, `commands/bot.rs`: what each sender may ask,
//!   and the refusal codes when it may not.
//! - `timers.rs`: the deadlines and what each does when it fires.
//! - `ewt.rs`: estimated waits and the position updates customers are sent.
//! - `sticky.rs`: who served a customer recently.
//!
//! Data: `conversation.rs` (a conversation's record and offer context), `table.rs` (the open
//! conversations), `ended.rs` (recently ended ids), `types/` (ids, commands, effects, views).
//! Snapshots: `snapshot.rs` ([`RouterState`]: the state without what the configuration decides).
//! Checks: `invariants.rs` (structure) and `oracle.rs` (the policies restated independently);
//! read-only views in `views.rs`.
//!
//! # Policies
//! - **Queues and rules**: a conversation waits in the queue its tenant's first matching rule
//!   names, else the default queue; only agents with every skill of the queue serve it.
//! - **Order**: VIP lane first; then conversations taken back from an agent who left; then
//!   `priority + aging × minutes waited`, highest first, kept as a time-invariant key
//!   ([`policy::Policy::age_key`]); then arrival.
//! - **VIP reserve**: a tenant-wide share of available human capacity that non-VIP conversations
//!   never occupy (see `config/switchboard.toml`, `vip.reserved_share`).
//! - **Agent choice**: lowest utilisation, then longest since the last offer, then the higher skill
//!   level ([`assignment::assignment_order`]).
//! - **Offers** time out and move on; agents who miss too many in a row are set away.
//! - **Refusals** (reject, timeout, transfer to a queue) hold the agent back from that
//!   conversation for the cooldown; after it they are a last resort ([`refusals`]).
//! - **Disconnects** hold conversations for a grace period; after it they go back to the head of
//!   their lane with their original wait time.
//! - **Sticky routing**: a returning customer is held briefly for their previous agent.
//!
//! # Invariants (checked after every command by the property tests, see [`Router::check_invariants`])
//! - an agent never holds more conversations than its capacity, except that an agent who
//!   reconnected with a lower capacity keeps the conversations it had accepted until they end:
//!   then it has no pending offer and is offered nothing;
//! - a conversation is held by at most one agent, and that agent lists it exactly once;
//! - every open conversation is in exactly one state, and a waiting one is in exactly one queue
//!   (or held for its previous agent): none is lost;
//! - work-conserving: nobody waits in a queue while an eligible agent has a free slot it may take,
//!   unless that agent refused the conversation less than `refusal_cooldown_secs` ago, and no
//!   returning customer is held for an agent who could take them;
//! - every state that waits for time has the timer that ends it.
//!
//! These are restated independently of dispatch in `oracle.rs`, which the self-check calls.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

pub mod assignment;
mod commands;
mod conversation;
pub mod dispatch;
pub mod ended;
pub mod ewt;
mod handoff;
mod invariants;
mod lifecycle;
mod offers;
mod oracle;
pub mod policy;
pub mod refusals;
mod snapshot;
pub mod sticky;
pub mod table;
pub mod timers;
pub mod types;
mod views;
pub mod waiting;

use std::sync::Arc;

use switchboard_config::TenantConfig;

use switchboard_text::human_request::HumanRequestMatcher;
use switchboard_text::sentiment::{LexiconScorer, SentimentScorer};

use assignment::Roster;
use conversation::Conversation;
use ended::RecentlyEnded;
use ewt::ServiceRate;
use policy::Policy;
pub use snapshot::RouterState;
use sticky::RecentAgents;
use table::Table;
use timers::Timers;
pub use types::*;
use waiting::WaitingQueue;

/// The pluggable sentiment scorer, shared by clones of a router.
#[derive(Clone)]
struct Scorer(Arc<dyn SentimentScorer>);

impl std::fmt::Debug for Scorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scorer")
    }
}

/// One tenant's router. Owned by one thread (the tenant's shard); nothing in it is shared but
/// the sentiment scorer, which is read-only.
#[derive(Debug, Clone)]
pub struct Router {
    /// The tenant's configuration, compiled.
    policy: Policy,
    /// Scores customer messages while a bot has the conversation or it waits.
    scorer: Scorer,
    /// Recognises "let me talk to a person".
    human_request: HumanRequestMatcher,
    /// Open conversations.
    conversations: Table<Conversation>,
    /// Recently ended conversations, so late commands about them say so.
    ended: RecentlyEnded,
    /// Logged-in agents with their indexes and the VIP reserve sums ([`assignment::Roster`]).
    roster: Roster,
    /// Waiting conversations per queue, in service order; a [`QueueId`] indexes this.
    waiting: Vec<WaitingQueue>,
    /// Recent departures per queue, for estimated waits.
    rates: Vec<ServiceRate>,
    /// Pending deadlines.
    timers: Timers,
    /// Who served each customer recently, for sticky routing.
    recent: RecentAgents,
    /// Set when a dispatch stopped because of the VIP reserve, so loosening it re-dispatches.
    reserve_blocked: bool,
    /// Whether the periodic position update is pending.
    queue_updates_armed: bool,
    /// Queues to dispatch before `apply` returns.
    dirty: Vec<QueueId>,
    /// Agents whose slots freed during this command (their held customers go first).
    freed: Vec<AgentId>,
    /// Eligible agents whose held returning customers could not be offered to them because a VIP
    /// waited in the queue or the VIP reserve was full; looked at again after each dispatch.
    sticky_blocked: Vec<AgentId>,
    /// Conversations that started waiting during this command: told their position once
    /// dispatch is done, if they still wait (one offered at once never hears "you are first").
    joined: Vec<ConversationId>,
    /// Arrivals so far: the last tie-break of the waiting order.
    seq: u64,
    /// The latest time any command brought.
    now: Millis,
    /// The per-offer reference check, off unless a test turns it on ([`Router::audit_offers`]).
    audit: oracle::Audit,
}

impl Router {
    /// A router for one tenant, with the built-in sentiment scorer.
    pub fn new(config: &TenantConfig) -> Self {
        Self::with_scorer(config, Arc::new(LexiconScorer::new()))
    }

    /// A router for one tenant with a deployment's own sentiment scorer.
    pub fn with_scorer(config: &TenantConfig, scorer: Arc<dyn SentimentScorer>) -> Self {
        let policy = Policy::new(config);
        let queues = policy.queues.len();
        let human_request = if config.handoff.human_phrases.is_empty() {
            HumanRequestMatcher::with_defaults()
        } else {
            HumanRequestMatcher::new(&config.handoff.human_phrases)
        };
        Router {
            policy,
            scorer: Scorer(scorer),
            human_request,
            conversations: Table::default(),
            ended: RecentlyEnded::default(),
            roster: Roster::new(queues),
            waiting: vec![WaitingQueue::default(); queues],
            rates: vec![ServiceRate::default(); queues],
            timers: Timers::default(),
            recent: RecentAgents::default(),
            reserve_blocked: false,
            queue_updates_armed: false,
            dirty: Vec::new(),
            freed: Vec::new(),
            sticky_blocked: Vec::new(),
            joined: Vec::new(),
            seq: 0,
            now: 0,
            audit: oracle::Audit::default(),
        }
    }

    /// The compiled policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// When the caller should send [`Command::Tick`] next, if anything is pending.
    pub fn next_deadline(&self) -> Option<Millis> {
        self.timers.next_deadline()
    }

    /// The current time as the router knows it (the latest `now` it was given).
    pub fn now(&self) -> Millis {
        self.now
    }

    /// Applies one command at time `now`, appending effects to `out`. Time never runs backwards:
    /// an earlier `now` is treated as the latest seen.
    pub fn apply(&mut self, now: Millis, command: Command, out: &mut Vec<Effect>) {
        self.now = self.now.max(now);
        self.fire_timers(out);
        self.handle(command, out);
        self.dispatch(out);
        self.tell_new_arrivals(out);
    }
}
