//! The routing core: a deterministic state machine that decides who serves whom.
//!
//! [`Router::apply`] takes the current time and one [`Command`] and appends [`Effect`]s. It never
//! reads a clock, touches a socket, spawns, locks or logs, so the same commands at the same times
//! always give the same effects and the same state: benchmarks, property tests, the simulator and
//! journal replay all drive this one entry point. One router serves one tenant.
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
//!   level ([`agents::AgentIndex`]).
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

pub mod agents;
pub mod ended;
pub mod ewt;
mod oracle;
pub mod policy;
pub mod refusals;
pub mod sticky;
pub mod table;
pub mod timers;
pub mod types;
pub mod waiting;

use std::collections::VecDeque;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use switchboard_config::{TenantConfig, MAX_CAPACITY};

use switchboard_text::human_request::HumanRequestMatcher;
use switchboard_text::sentiment::{LexiconScorer, SentimentScorer};

use agents::{Agent, AgentIndex};
use ended::RecentlyEnded;
use ewt::ServiceRate;
use policy::{Policy, Ranking};
use refusals::{Refusal, Refusals};
use sticky::{customer_key, RecentAgents};
use table::Table;
use timers::{Timer, Timers};
pub use types::*;
use waiting::{WaitKey, Waiter, WaitingQueue};

/// Bots are ranked without skill levels: every bot entry carries this one.
const BOT_LEVEL: u8 = 10;

/// How far from the back a new arrival's position is computed at once (see `WaitingQueue`).
const POSITION_PROBE: usize = 64;

/// A conversation the router knows about. Removed as soon as it is closed or abandoned.
#[derive(Debug, Clone)]
struct Conversation {
    connector: ConnectorId,
    profile: Arc<CustomerProfile>,
    customer: u64,
    queue: QueueId,
    ranking: Ranking,
    state: State,
    agent: Option<AgentId>,
    /// When the customer started waiting; kept across rescues so SLA and order stay honest.
    waiting_since: Millis,
    age: i64,
    seq: u64,
    rank: u8,
    /// Present exactly while the conversation is in `waiting[queue]`.
    wait_key: Option<WaitKey>,
    /// Bumped on every state change so stale timers are ignored.
    epoch: u32,
    refusals: Refusals,
    sticky_for: Option<AgentId>,
    /// The first estimate the customer was given (carried over from their `Waiter`).
    predicted_ms: Option<Millis>,
    answered: bool,
    transcript: VecDeque<TranscriptLine>,
    last_activity: Millis,
    /// Smoothed sentiment, once a customer message has been scored.
    sentiment: Option<f32>,
    /// Hysteresis state: below the threshold and not yet back above the recovery level.
    upset: bool,
    trend: VecDeque<f32>,
    /// Bot replies marked unresolved since it last came to a bot.
    unresolved: u32,
    /// Set when it leaves the bot for a human; cleared only by an explicit hand-back.
    handoff: Option<HandoffContext>,
}

/// Read-only view of a conversation, for tests, the admin API and the simulator.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationView<'a> {
    /// Current state.
    pub state: State,
    /// Its queue.
    pub queue: QueueId,
    /// Its ranking.
    pub class: Class,
    /// Its lane.
    pub lane: Lane,
    /// Base priority points.
    pub priority: u32,
    /// The agent holding it.
    pub agent: Option<AgentId>,
    /// When it started waiting.
    pub waiting_since: Millis,
    /// Agents that refused it, oldest first, with when.
    pub refusals: &'a [Refusal],
    /// The previous agent it is held for, if any.
    pub held_for: Option<AgentId>,
    /// Taken back from an agent who left: waits at the head of its lane.
    pub rescued: bool,
    /// Smoothed sentiment so far.
    pub sentiment: Option<f32>,
    /// Why it left the bot, if it did.
    pub handoff: Option<HandoffReason>,
}

/// One queue's waiting figures; arrays are indexed by [`Lane`] (VIP = 0, standard = 1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// How many wait, per lane.
    pub waiting: [u32; 2],
    /// When the longest-waiting customer started waiting, per lane.
    pub oldest_since: [Option<Millis>; 2],
    /// Estimated wait for the next customer, once a service rate is known.
    pub ewt_next_ms: Option<Millis>,
}

/// Agents by status (available, away, disconnected) × role (human, bot), and human load.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentCounts {
    /// `[status][role]`: status 0 available, 1 away, 2 disconnected (in grace); role 0 human, 1 bot.
    pub by_status: [[u32; 2]; 3],
    /// Conversations held by available human agents.
    pub load: u64,
    /// Capacity of available human agents.
    pub capacity: u64,
}

/// Read-only view of an agent.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentView<'a> {
    /// Human or bot.
    pub role: Role,
    /// Status.
    pub status: AgentStatus,
    /// Whether connected (false during grace).
    pub connected: bool,
    /// Conversations held.
    pub load: u32,
    /// Capacity.
    pub capacity: u32,
    /// What it holds.
    pub held: &'a [ConversationId],
}

/// Tenant-wide sums for the VIP reserve, over available, connected human agents.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Reserve {
    capacity: u64,
    non_vip: u64,
}

impl Reserve {
    fn non_vip_allowed(self, share: f64) -> bool {
        let reserved = (self.capacity as f64 * share).floor() as u64;
        self.non_vip < self.capacity.saturating_sub(reserved)
    }
}

/// The pluggable sentiment scorer, shared by clones of a router.
#[derive(Clone)]
struct Scorer(Arc<dyn SentimentScorer>);

impl std::fmt::Debug for Scorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scorer")
    }
}

/// One tenant's router.
#[derive(Debug, Clone)]
pub struct Router {
    policy: Policy,
    scorer: Scorer,
    human_request: HumanRequestMatcher,
    /// Eligible bots, best first (bots serve no human queue).
    bots: AgentIndex,
    conversations: Table<Conversation>,
    /// Recently ended conversations, so late commands about them say so.
    ended: RecentlyEnded,
    agents: FxHashMap<AgentId, Agent>,
    waiting: Vec<WaitingQueue>,
    index: Vec<AgentIndex>,
    rates: Vec<ServiceRate>,
    timers: Timers,
    recent: RecentAgents,
    reserve: Reserve,
    /// Set when a dispatch stopped because of the VIP reserve, so loosening it re-dispatches.
    reserve_blocked: bool,
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
    seq: u64,
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
            bots: AgentIndex::default(),
            conversations: Table::default(),
            ended: RecentlyEnded::default(),
            agents: FxHashMap::default(),
            waiting: vec![WaitingQueue::default(); queues],
            index: vec![AgentIndex::default(); queues],
            rates: vec![ServiceRate::default(); queues],
            timers: Timers::default(),
            recent: RecentAgents::default(),
            reserve: Reserve::default(),
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

    /// Applies one command at time `now`, appending effects to `out`. Time never runs backwards:
    /// an earlier `now` is treated as the latest seen.
    pub fn apply(&mut self, now: Millis, command: Command, out: &mut Vec<Effect>) {
        self.now = self.now.max(now);
        self.fire_timers(out);
        match command {
            Command::Arrive {
                conversation,
                connector,
                profile,
                message,
            } => self.arrive(conversation, connector, profile, message, out),
            Command::CustomerMessage {
                connector,
                conversation,
                message,
            } => self.customer_message(connector, conversation, message, out),
            Command::UpdateProfile {
                connector,
                conversation,
                update,
            } => self.update_profile(connector, conversation, *update, out),
            Command::CustomerLeft {
                connector,
                conversation,
            } => self.connector_end(connector, conversation, CloseReason::Customer, out),
            Command::ConnectorClose {
                connector,
                conversation,
            } => self.connector_end(connector, conversation, CloseReason::Connector, out),
            Command::AgentConnect { agent, login } => self.connect(agent, login, out),
            Command::AgentDisconnect { agent } => self.disconnect(agent, out),
            Command::SetStatus {
                agent,
                status,
                reason,
            } => self.set_status(agent, status, reason, out),
            Command::Accept {
                agent,
                conversation,
            } => self.accept(agent, conversation, out),
            Command::Reject {
                agent,
                conversation,
            } => self.reject(agent, conversation, out),
            Command::AgentMessage {
                agent,
                conversation,
                message,
            } => self.agent_message(agent, conversation, message, out),
            Command::Transfer {
                agent,
                conversation,
                target,
            } => self.transfer(agent, conversation, target, out),
            Command::AgentClose {
                agent,
                conversation,
            } => self.agent_close(agent, conversation, out),
            Command::BotResult {
                agent,
                conversation,
                resolved,
            } => self.bot_result(agent, conversation, resolved, out),
            Command::BotHandoff {
                agent,
                conversation,
                reason,
                summary,
            } => self.bot_handoff(agent, conversation, reason, summary, out),
            Command::HandBack {
                agent,
                conversation,
            } => self.hand_back(agent, conversation, out),
            Command::Tick => {}
        }
        self.dispatch(out);
        self.tell_new_arrivals(out);
    }

    /// First position and estimate for conversations that joined a queue and still wait.
    fn tell_new_arrivals(&mut self, out: &mut Vec<Effect>) {
        for id in std::mem::take(&mut self.joined) {
            let Some((key, queue)) = self
                .conversations
                .get(&id)
                .and_then(|c| c.wait_key.map(|k| (k, c.queue)))
            else {
                continue;
            };
            let q = usize::from(queue.0);
            let waiting = &mut self.waiting[q];
            let Some(position) = waiting.position_from_back(&key, POSITION_PROBE) else {
                continue;
            };
            let ewt_ms = self.rates[q].estimate(self.now, position).map(ewt_bucket);
            if let Some(waiter) = waiting.waiter_mut(&key) {
                waiter.tell(position, ewt_ms);
                out.push(Effect::QueueUpdate {
                    connector: waiter.connector,
                    conversation: id,
                    position,
                    ewt_ms,
                });
            }
        }
    }

    // ----- read-only views -------------------------------------------------------------------

    /// A conversation, if it is open.
    pub fn conversation(&self, id: ConversationId) -> Option<ConversationView<'_>> {
        self.conversations.get(&id).map(|c| ConversationView {
            state: c.state,
            queue: c.queue,
            class: c.ranking.class,
            lane: c.ranking.lane,
            priority: c.ranking.priority,
            agent: c.agent,
            waiting_since: c.waiting_since,
            refusals: c.refusals.as_slice(),
            held_for: c.sticky_for,
            rescued: c.rank == 0,
            sentiment: c.sentiment,
            handoff: c.handoff.as_ref().map(|h| h.reason),
        })
    }

    /// An agent, if logged in.
    pub fn agent(&self, id: AgentId) -> Option<AgentView<'_>> {
        self.agents.get(&id).map(|a| AgentView {
            role: a.role,
            status: a.status,
            connected: a.connected,
            load: a.load(),
            capacity: a.capacity,
            held: &a.held,
        })
    }

    /// Logged-in agents, in id order.
    pub fn agent_ids(&self) -> Vec<AgentId> {
        let mut ids: Vec<AgentId> = self.agents.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// Conversations waiting in a queue, in service order.
    pub fn waiting(&self, queue: QueueId) -> impl Iterator<Item = ConversationId> + '_ {
        self.waiting
            .get(usize::from(queue.0))
            .into_iter()
            .flat_map(|w| w.iter().map(|(_, c)| c))
    }

    /// How many conversations are open.
    pub fn open_conversations(&self) -> usize {
        self.conversations.len()
    }

    /// Per queue (in configuration order): how many wait and since when, by lane, and the
    /// estimate for the next customer. Walks the queues (no conversation lookups): for a
    /// once-a-second metrics refresh, not the hot path.
    pub fn queue_stats(&self) -> Vec<QueueStats> {
        self.waiting
            .iter()
            .zip(&self.rates)
            .map(|(waiting, rate)| {
                let mut stats = QueueStats {
                    ewt_next_ms: rate.estimate(self.now, 1),
                    ..QueueStats::default()
                };
                for (key, waiter) in waiting.waiters() {
                    let lane = key.lane as usize;
                    stats.waiting[lane] += 1;
                    let oldest = &mut stats.oldest_since[lane];
                    *oldest = Some(oldest.map_or(waiter.since, |o: Millis| o.min(waiter.since)));
                }
                stats
            })
            .collect()
    }

    /// Agents by status and role, and the load and capacity of available humans.
    pub fn agent_counts(&self) -> AgentCounts {
        let mut counts = AgentCounts::default();
        for agent in self.agents.values() {
            let role = usize::from(agent.role == Role::Bot);
            let status = match (agent.connected, agent.status) {
                (false, _) => 2,
                (true, AgentStatus::Available) => 0,
                (true, _) => 1,
            };
            counts.by_status[status][role] += 1;
            if agent.counts_for_reserve() {
                counts.load += u64::from(agent.load());
                counts.capacity += u64::from(agent.capacity);
            }
        }
        counts
    }

    /// Whether `agent` refused conversation `id` less than the refusal cooldown ago, so it is not
    /// offered to them now even if nobody else can take it.
    pub fn refusal_holds_back(&self, id: ConversationId, agent: AgentId) -> bool {
        self.conversations.get(&id).is_some_and(|c| {
            c.refusals
                .cooling(agent, self.now, self.policy.refusal_cooldown_ms)
        })
    }

    /// Whether `update` would change the description of open conversation `id`.
    pub fn profile_changed_by(&self, id: ConversationId, update: &ProfileUpdate) -> bool {
        self.conversations
            .get(&id)
            .is_some_and(|c| update.changes(&c.profile))
    }

    /// Gives back memory a surge of conversations left behind; changes no behaviour.
    pub fn shrink(&mut self) {
        self.conversations.shrink();
        self.timers.shrink();
    }

    /// The current time as the router knows it (the latest `now` it was given).
    pub fn now(&self) -> Millis {
        self.now
    }

    /// Whether a non-VIP conversation may take a slot now.
    pub fn non_vip_allowed(&self) -> bool {
        self.reserve.non_vip_allowed(self.policy.vip_reserved_share)
    }

    // ----- commands ----------------------------------------------------------------------------

    fn arrive(
        &mut self,
        id: ConversationId,
        connector: ConnectorId,
        profile: CustomerProfile,
        message: Option<Message>,
        out: &mut Vec<Effect>,
    ) {
        if self.conversations.contains_key(&id) {
            refuse_connector(out, connector, id, RefusalCode::DuplicateConversation);
            return;
        }
        let now = self.now;
        let queue = self.policy.route(&profile);
        let ranking = self.policy.rank(&profile, false, 0);
        let customer = customer_key(&profile.customer_id);
        let skips_bot = self.policy.skips_bot(&profile);
        self.seq += 1;
        let conversation = Conversation {
            connector,
            profile: Arc::new(profile),
            customer,
            queue,
            ranking,
            state: State::Waiting,
            agent: None,
            waiting_since: now,
            age: self.policy.age_key(now, ranking.priority),
            seq: self.seq,
            rank: 1,
            wait_key: None,
            epoch: 0,
            refusals: Refusals::default(),
            sticky_for: None,
            predicted_ms: None,
            answered: false,
            transcript: VecDeque::new(),
            last_activity: now,
            sentiment: None,
            upset: false,
            trend: VecDeque::new(),
            unresolved: 0,
            handoff: None,
        };
        self.conversations.insert(id, conversation);
        self.ended.reopened(id);
        // The opening message is judged like any other: "转人工" as a first line skips the bot.
        let mut trigger = message.and_then(|m| self.take_customer_message(id, m, true));
        if trigger.is_none() && skips_bot {
            trigger = Some(HandoffReason::Rule);
        }
        // A handoff is reported only when a bot would otherwise have taken the conversation.
        let bot = self
            .policy
            .handoff
            .bot_first
            .then(|| self.bots.first())
            .flatten();
        match (bot, trigger) {
            (Some(_), Some(reason)) => self.hand_off(id, reason, out),
            (Some(bot), None) => self.give_to_bot(id, bot, out),
            (None, _) => {
                self.rerank(id);
                self.wait_for_human(id, out);
            }
        }
    }

    /// Records a customer message in the transcript and the sentiment, and says whether it
    /// triggers a handoff (only checked while the conversation is with a bot).
    ///
    /// Sentiment drives handoff (with a bot) and priority (waiting); once a human holds the
    /// conversation nothing reads it until a hand-back, so the built-in scorer is not run then —
    /// it is the costliest step per message. A connector's own score is still recorded.
    fn take_customer_message(
        &mut self,
        id: ConversationId,
        message: Message,
        with_bot: bool,
    ) -> Option<HandoffReason> {
        let with_human = self
            .conversations
            .get(&id)
            .is_some_and(|c| matches!(c.state, State::Offered | State::Assigned));
        let connector_score = message
            .sentiment
            .filter(|s| s.is_finite())
            .map(|s| s.clamp(-1.0, 1.0));
        let score = match connector_score {
            Some(score) => Some(score),
            None if with_human => None,
            None => Some(self.scorer.0.score(&message.text)),
        };
        let asks_for_human = with_bot && self.human_request.matches(&message.text);
        let now = self.now;
        let h = &self.policy.handoff;
        let (limit, trend_len) = (self.policy.transcript_len, h.trend_length as usize);
        let c = self.conversations.get_mut(&id)?;
        c.last_activity = now;
        push_bounded(
            &mut c.transcript,
            limit,
            TranscriptLine {
                at: now,
                speaker: Speaker::Customer,
                message,
            },
        );
        // With a human and no connector score there is nothing to smooth.
        let score = score?;
        let smoothed = match c.sentiment {
            None => score,
            Some(previous) => previous + h.sentiment_smoothing * (score - previous),
        };
        c.sentiment = Some(smoothed);
        push_bounded(&mut c.trend, trend_len, smoothed);
        let became_upset = !c.upset && smoothed <= h.sentiment_threshold;
        if became_upset {
            c.upset = true;
        } else if c.upset && smoothed > h.sentiment_recover {
            c.upset = false;
        }
        if asks_for_human {
            Some(HandoffReason::CustomerRequest)
        } else if became_upset {
            Some(HandoffReason::NegativeSentiment)
        } else {
            None
        }
    }

    /// A bot takes the conversation at once (bots never decline).
    fn give_to_bot(&mut self, id: ConversationId, bot: AgentId, out: &mut Vec<Effect>) {
        let now = self.now;
        let Some(c) = self.conversations.get_mut(&id) else {
            return;
        };
        c.state = State::WithBot;
        c.agent = Some(bot);
        c.epoch = c.epoch.wrapping_add(1);
        c.unresolved = 0;
        let (epoch, queue) = (c.epoch, c.queue);
        let vip = c.ranking.lane == Lane::Vip;
        let context = Arc::new(offer_context(c, now, false, self.policy.transcript_bytes));
        self.update_agent(bot, |a| a.take(id, vip, now));
        out.push(Effect::StateChanged {
            conversation: id,
            state: State::WithBot,
            queue,
        });
        out.push(Effect::Offer {
            agent: bot,
            conversation: id,
            context,
            auto_accepted: true,
        });
        if self.policy.idle_ms > 0 {
            self.timers
                .set(now + self.policy.idle_ms, Timer::Idle(id, epoch));
        }
    }

    /// Moves a conversation from its bot (if any) to the human queue for `reason`.
    fn hand_off(&mut self, id: ConversationId, reason: HandoffReason, out: &mut Vec<Effect>) {
        let Some(c) = self.conversations.get(&id) else {
            return;
        };
        let bot = match c.state {
            State::WithBot => c.agent,
            _ => None,
        };
        let connector = c.connector;
        if let Some(bot) = bot {
            out.push(Effect::OfferWithdrawn {
                agent: bot,
                conversation: id,
                reason: WithdrawReason::HandedOff,
            });
            self.release(bot, id);
        }
        out.push(Effect::Handoff {
            connector,
            conversation: id,
            bot,
            reason,
        });
        let points = self.policy.handoff_points(reason);
        let now = self.now;
        let Some(c) = self.conversations.get_mut(&id) else {
            return;
        };
        let previous = c.handoff.take();
        c.handoff = Some(HandoffContext {
            reason,
            bot_reason: previous.as_ref().and_then(|h| h.bot_reason.clone()),
            bot_summary: previous.and_then(|h| h.bot_summary),
            sentiment: c.sentiment,
        });
        c.agent = None;
        // The wait a customer feels, and the SLA, start when they are handed to the humans.
        c.waiting_since = now;
        c.ranking = self.policy.rank(&c.profile, c.upset, points);
        c.age = self.policy.age_key(now, c.ranking.priority);
        self.wait_for_human(id, out);
    }

    /// Sends a conversation to the human side: its previous agent if sticky, else its queue.
    fn wait_for_human(&mut self, id: ConversationId, out: &mut Vec<Effect>) {
        let Some(c) = self.conversations.get_mut(&id) else {
            return;
        };
        c.state = State::Waiting;
        c.epoch = c.epoch.wrapping_add(1);
        let (queue, ranking, customer) = (c.queue, c.ranking, c.customer);
        out.push(Effect::StateChanged {
            conversation: id,
            state: State::Waiting,
            queue,
        });
        if !self.hold_for_previous_agent(id, queue, ranking, customer, out) {
            self.enqueue(id);
        }
    }

    /// Sticky routing: offers a returning customer to their previous agent, or holds them for it.
    fn hold_for_previous_agent(
        &mut self,
        id: ConversationId,
        queue: QueueId,
        ranking: Ranking,
        customer: u64,
        out: &mut Vec<Effect>,
    ) -> bool {
        let window = self.policy.sticky_window_ms;
        if window == 0 {
            return false;
        }
        self.recent.expire(self.now, window);
        let Some(previous) = self.recent.recall(customer, self.now, window) else {
            return false;
        };
        let Some(agent) = self.agents.get(&previous) else {
            return false;
        };
        if agent.level_for(queue).is_none() || agent.status == AgentStatus::Offline {
            return false;
        }
        if agent.eligible() && self.may_take(ranking.lane, queue) {
            if let Some(c) = self.conversations.get_mut(&id) {
                c.sticky_for = Some(previous);
            }
            self.offer(id, previous, out);
            return true;
        }
        let epoch = match self.conversations.get_mut(&id) {
            Some(c) => {
                c.sticky_for = Some(previous);
                c.epoch
            }
            None => return false,
        };
        if let Some(agent) = self.agents.get_mut(&previous) {
            agent.sticky.push(id);
            // Free, yet held back by a waiting VIP or the reserve: looked at again after dispatch.
            if agent.eligible() {
                mark_agent(&mut self.sticky_blocked, previous);
            }
        }
        self.timers.set(
            self.now + self.policy.sticky_wait_ms,
            Timer::StickyExpire(id, epoch),
        );
        true
    }

    fn customer_message(
        &mut self,
        connector: ConnectorId,
        id: ConversationId,
        message: Message,
        out: &mut Vec<Effect>,
    ) {
        let (state, agent) = match self.conversations.get(&id) {
            Some(c) if c.connector == connector => (c.state, c.agent),
            _ => {
                refuse_connector(out, connector, id, RefusalCode::UnknownConversation);
                return;
            }
        };
        if state == State::WrapUp {
            refuse_connector(out, connector, id, RefusalCode::ConversationEnded);
            return;
        }
        let with_bot = state == State::WithBot;
        let was_upset = self.conversations.get(&id).is_some_and(|c| c.upset);
        let trigger = self.take_customer_message(id, message.clone(), with_bot);
        if let Some(reason) = trigger.filter(|_| with_bot) {
            self.hand_off(id, reason, out);
            return;
        }
        match (state, agent) {
            (State::Offered | State::Assigned | State::WithBot, Some(agent)) => {
                out.push(Effect::ToAgent {
                    agent,
                    conversation: id,
                    message,
                });
            }
            (State::Waiting, _) => {
                let upset = self.conversations.get(&id).is_some_and(|c| c.upset);
                if upset != was_upset {
                    self.rerank(id);
                }
            }
            _ => {}
        }
    }

    fn update_profile(
        &mut self,
        connector: ConnectorId,
        id: ConversationId,
        update: ProfileUpdate,
        out: &mut Vec<Effect>,
    ) {
        let Some(c) = self
            .conversations
            .get_mut(&id)
            .filter(|c| c.connector == connector)
        else {
            refuse_connector(out, connector, id, RefusalCode::UnknownConversation);
            return;
        };
        let mut profile = (*c.profile).clone();
        update.apply_to(&mut profile);
        c.customer = customer_key(&profile.customer_id);
        c.profile = Arc::new(profile);
        // Only a conversation that holds no slot may change lane: an agent's VIP count was
        // taken with the lane it was offered in.
        if c.wait_key.is_some() {
            self.rerank(id);
        }
    }

    /// A waiting customer's mood or description changed: their priority and lane follow, and
    /// their place with them. Never for a conversation that holds a slot.
    fn rerank(&mut self, id: ConversationId) {
        let Some(c) = self.conversations.get_mut(&id) else {
            return;
        };
        let points = c
            .handoff
            .as_ref()
            .map_or(0, |h| self.policy.handoff_points(h.reason));
        c.ranking = self.policy.rank(&c.profile, c.upset, points);
        c.age = self.policy.age_key(c.waiting_since, c.ranking.priority);
        let Some(old) = c.wait_key else { return };
        let key = WaitKey {
            lane: c.ranking.lane,
            age: c.age,
            ..old
        };
        c.wait_key = Some(key);
        let queue = c.queue;
        let waiting = &mut self.waiting[usize::from(queue.0)];
        if let Some(waiter) = waiting.remove(&old) {
            waiting.insert(key, waiter);
        }
        mark(&mut self.dirty, queue);
    }

    fn connector_end(
        &mut self,
        connector: ConnectorId,
        id: ConversationId,
        reason: CloseReason,
        out: &mut Vec<Effect>,
    ) {
        match self.conversations.get(&id) {
            Some(c) if c.connector == connector => {
                if c.state == State::WrapUp {
                    refuse_connector(out, connector, id, RefusalCode::ConversationEnded);
                } else {
                    self.end(id, reason, out);
                }
            }
            _ => refuse_connector(out, connector, id, RefusalCode::UnknownConversation),
        }
    }

    fn connect(&mut self, id: AgentId, login: AgentLogin, out: &mut Vec<Effect>) {
        if login.capacity == 0 || login.capacity > MAX_CAPACITY {
            refuse(
                out,
                Requester::Agent(id),
                None,
                RefusalCode::InvalidCapacity,
            );
            return;
        }
        let skills: Vec<_> = login
            .skills
            .iter()
            .filter_map(|(name, level)| self.policy.skill(name).map(|s| (s, (*level).clamp(1, 10))))
            .collect();
        // Bots serve conversations before the queue, never from it.
        let serves_queues = login.role == Role::Human;
        let queues: Vec<_> = self
            .policy
            .queues
            .iter()
            .enumerate()
            .filter(|_| serves_queues)
            .filter_map(|(i, q)| {
                let levels: Option<Vec<u8>> = q
                    .skills
                    .iter()
                    .map(|s| skills.iter().find(|(k, _)| k == s).map(|(_, l)| *l))
                    .collect();
                levels.map(|l| (QueueId(i as u16), l.into_iter().min().unwrap_or(1)))
            })
            .collect();
        if self.agents.contains_key(&id) {
            self.update_agent(id, |a| {
                a.role = login.role;
                a.capacity = login.capacity;
                a.skills = skills;
                a.queues = queues;
                a.auto_accept = login.auto_accept;
                a.connected = true;
                a.epoch = a.epoch.wrapping_add(1);
            });
            self.withdraw_offers_beyond_capacity(id, out);
            self.release_holds_not_served(id);
            // New skills may open queues the agent did not serve: look at them now, as a login
            // would, rather than at the next change.
            if let Some(agent) = self.agents.get(&id).filter(|a| a.eligible()) {
                for (q, _) in &agent.queues {
                    mark(&mut self.dirty, *q);
                }
                if !agent.sticky.is_empty() {
                    mark_agent(&mut self.freed, id);
                }
            }
            let mut held = self
                .agents
                .get(&id)
                .map(|a| a.held.clone())
                .unwrap_or_default();
            held.sort_unstable();
            out.push(Effect::AgentResumed {
                agent: id,
                conversations: held,
            });
            return;
        }
        self.agents.insert(
            id,
            Agent {
                id,
                role: login.role,
                capacity: login.capacity,
                // Inserted unavailable, then made available through `update_agent`, so the
                // indexes and reserve sums are maintained in exactly one place.
                status: AgentStatus::Away,
                connected: true,
                epoch: 0,
                held: Vec::new(),
                offered: Vec::new(),
                non_vip_held: 0,
                last_offer: 0,
                skills,
                queues,
                auto_accept: login.auto_accept,
                missed_in_row: 0,
                sticky: Vec::new(),
            },
        );
        self.update_agent(id, |a| a.status = AgentStatus::Available);
        out.push(Effect::AgentStatusChanged {
            agent: id,
            status: AgentStatus::Available,
            reason: StatusReason::Requested,
        });
    }

    /// A reconnect may lower an agent's capacity below what it holds. Nobody is taken from an
    /// agent mid-conversation: what it accepted stays with it (and it is offered nothing until
    /// it is below the new capacity), but its pending offers beyond the new capacity, newest
    /// first, go back to their queues for someone else.
    fn withdraw_offers_beyond_capacity(&mut self, id: AgentId, out: &mut Vec<Effect>) {
        loop {
            let Some(agent) = self.agents.get(&id) else {
                return;
            };
            let newest = agent.offered.last().copied();
            let Some(conversation) = newest.filter(|_| agent.load() > agent.capacity) else {
                return;
            };
            self.withdraw(id, conversation, WithdrawReason::AgentGone, out);
        }
    }

    /// Returning customers held for an agent whose new skills (or role) no longer serve their
    /// queue stop waiting for it and take their place in the queue.
    fn release_holds_not_served(&mut self, id: AgentId) {
        let Some(agent) = self.agents.get_mut(&id) else {
            return;
        };
        let conversations = &self.conversations;
        let mut released = Vec::new();
        agent.sticky.retain(|c| {
            let served = conversations
                .get(c)
                .is_some_and(|c| agent.queues.iter().any(|(q, _)| *q == c.queue));
            if !served {
                released.push(*c);
            }
            served
        });
        for conversation in released {
            if let Some(c) = self.conversations.get_mut(&conversation) {
                c.sticky_for = None;
            }
            self.enqueue(conversation);
        }
    }

    fn disconnect(&mut self, id: AgentId, out: &mut Vec<Effect>) {
        let Some(epoch) = self.update_agent(id, |a| {
            a.connected = false;
            a.epoch = a.epoch.wrapping_add(1);
            a.epoch
        }) else {
            refuse(out, Requester::Agent(id), None, RefusalCode::UnknownAgent);
            return;
        };
        // An agent who cannot answer must not sit on pending offers: they go to someone else now.
        let pending: Vec<ConversationId> = self.agents[&id]
            .held
            .iter()
            .copied()
            .filter(|c| self.conversations.get(c).map(|c| c.state) == Some(State::Offered))
            .collect();
        for conversation in pending {
            self.withdraw(id, conversation, WithdrawReason::AgentGone, out);
        }
        if self.policy.grace_ms == 0 {
            self.go_offline(id, StatusReason::GraceExpired, out);
        } else {
            self.timers
                .set(self.now + self.policy.grace_ms, Timer::Grace(id, epoch));
        }
    }

    fn set_status(
        &mut self,
        id: AgentId,
        status: AgentStatus,
        reason: StatusReason,
        out: &mut Vec<Effect>,
    ) {
        if !self.agents.contains_key(&id) {
            refuse(out, Requester::Agent(id), None, RefusalCode::UnknownAgent);
            return;
        }
        if status == AgentStatus::Offline {
            self.go_offline(id, reason, out);
            return;
        }
        self.update_agent(id, |a| {
            a.status = status;
            if status == AgentStatus::Available {
                a.missed_in_row = 0;
            }
        });
        out.push(Effect::AgentStatusChanged {
            agent: id,
            status,
            reason,
        });
    }

    fn accept(&mut self, agent: AgentId, id: ConversationId, out: &mut Vec<Effect>) {
        match self.conversations.get(&id) {
            Some(c) if c.agent == Some(agent) && c.state == State::Offered => {
                self.assign(id, out);
            }
            _ => self.refuse_agent(agent, id, RefusalCode::NotOffered, out),
        }
    }

    fn reject(&mut self, agent: AgentId, id: ConversationId, out: &mut Vec<Effect>) {
        match self.conversations.get(&id) {
            Some(c) if c.agent == Some(agent) && c.state == State::Offered => {
                self.take_back(agent, id, out);
            }
            _ => self.refuse_agent(agent, id, RefusalCode::NotOffered, out),
        }
    }

    fn agent_message(
        &mut self,
        agent: AgentId,
        id: ConversationId,
        message: Message,
        out: &mut Vec<Effect>,
    ) {
        let now = self.now;
        let limit = self.policy.transcript_len;
        let role = self.agents.get(&agent).map(|a| a.role);
        let c = match self.conversations.get_mut(&id) {
            Some(c)
                if c.agent == Some(agent)
                    && matches!(c.state, State::Assigned | State::WithBot) =>
            {
                c
            }
            _ => {
                self.refuse_agent(agent, id, RefusalCode::NotAssigned, out);
                return;
            }
        };
        let from = match role {
            Some(Role::Bot) => Speaker::Bot(agent),
            _ => Speaker::Agent(agent),
        };
        c.last_activity = now;
        push_bounded(
            &mut c.transcript,
            limit,
            TranscriptLine {
                at: now,
                speaker: from,
                message: message.clone(),
            },
        );
        out.push(Effect::ToCustomer {
            connector: c.connector,
            conversation: id,
            from,
            message,
        });
    }

    fn transfer(
        &mut self,
        agent: AgentId,
        id: ConversationId,
        target: TransferTarget,
        out: &mut Vec<Effect>,
    ) {
        if !self.holds(agent, id, State::Assigned, out) {
            return;
        }
        match target {
            TransferTarget::Queue(name) => {
                let Some(queue) = self.policy.queue_named(&name) else {
                    refuse(
                        out,
                        Requester::Agent(agent),
                        Some(id),
                        RefusalCode::UnknownQueue,
                    );
                    return;
                };
                self.release(agent, id);
                if let Some(c) = self.conversations.get_mut(&id) {
                    c.queue = queue;
                }
                self.note_refusal(agent, id);
                self.requeue(id, out);
            }
            TransferTarget::Agent(to) => {
                let available = to != agent && self.agents.get(&to).is_some_and(|a| a.eligible());
                if !available {
                    refuse(
                        out,
                        Requester::Agent(agent),
                        Some(id),
                        RefusalCode::TargetUnavailable,
                    );
                    return;
                }
                self.release(agent, id);
                self.offer(id, to, out);
            }
        }
    }

    fn agent_close(&mut self, agent: AgentId, id: ConversationId, out: &mut Vec<Effect>) {
        match self.conversations.get(&id) {
            Some(c)
                if c.agent == Some(agent)
                    && matches!(c.state, State::Assigned | State::WithBot) =>
            {
                self.end(id, CloseReason::Agent, out);
            }
            _ => self.refuse_agent(agent, id, RefusalCode::NotAssigned, out),
        }
    }

    /// Whether `agent` holds conversation `id` in `state`; refuses with `NotAssigned` if not.
    fn holds(
        &self,
        agent: AgentId,
        id: ConversationId,
        state: State,
        out: &mut Vec<Effect>,
    ) -> bool {
        let held = self
            .conversations
            .get(&id)
            .is_some_and(|c| c.agent == Some(agent) && c.state == state);
        if !held {
            self.refuse_agent(agent, id, RefusalCode::NotAssigned, out);
        }
        held
    }

    fn bot_result(
        &mut self,
        agent: AgentId,
        id: ConversationId,
        resolved: bool,
        out: &mut Vec<Effect>,
    ) {
        if !self.holds(agent, id, State::WithBot, out) {
            return;
        }
        if resolved {
            return;
        }
        let max = self.policy.handoff.max_unresolved_rounds;
        let failed = self.conversations.get_mut(&id).is_some_and(|c| {
            c.unresolved += 1;
            max > 0 && c.unresolved >= max
        });
        if failed {
            self.hand_off(id, HandoffReason::BotUnresolved, out);
        }
    }

    fn bot_handoff(
        &mut self,
        agent: AgentId,
        id: ConversationId,
        reason: String,
        summary: Option<String>,
        out: &mut Vec<Effect>,
    ) {
        if !self.holds(agent, id, State::WithBot, out) {
            return;
        }
        if let Some(c) = self.conversations.get_mut(&id) {
            c.handoff = Some(HandoffContext {
                reason: HandoffReason::BotRequest,
                bot_reason: Some(reason),
                bot_summary: summary,
                sentiment: c.sentiment,
            });
        }
        self.hand_off(id, HandoffReason::BotRequest, out);
    }

    /// The only way back to a bot once a human has had the conversation.
    fn hand_back(&mut self, agent: AgentId, id: ConversationId, out: &mut Vec<Effect>) {
        if !self.holds(agent, id, State::Assigned, out) {
            return;
        }
        let Some(bot) = self.bots.first() else {
            refuse(
                out,
                Requester::Agent(agent),
                Some(id),
                RefusalCode::TargetUnavailable,
            );
            return;
        };
        self.release(agent, id);
        if let Some(c) = self.conversations.get_mut(&id) {
            c.handoff = None;
        }
        self.give_to_bot(id, bot, out);
    }

    /// Refuses an agent's command about conversation `id` with the most telling code: the agent
    /// is not logged in (went offline), the conversation has ended (in wrap-up or recently
    /// closed), it is unknown, or else `otherwise`, which names what the command needed.
    fn refuse_agent(
        &self,
        agent: AgentId,
        id: ConversationId,
        otherwise: RefusalCode,
        out: &mut Vec<Effect>,
    ) {
        let code = match self.conversations.get(&id) {
            _ if !self.agents.contains_key(&agent) => RefusalCode::UnknownAgent,
            Some(c) if c.state == State::WrapUp => RefusalCode::ConversationEnded,
            Some(_) => otherwise,
            None if self.ended.contains(id) => RefusalCode::ConversationEnded,
            None => RefusalCode::UnknownConversation,
        };
        refuse(out, Requester::Agent(agent), Some(id), code);
    }

    /// Removes a conversation that has ended, remembering that it did.
    fn forget(&mut self, id: ConversationId) -> Option<Conversation> {
        let removed = self.conversations.remove(&id);
        if removed.is_some() {
            self.ended.record(id);
        }
        removed
    }

    // ----- timers ----------------------------------------------------------------------------

    fn fire_timers(&mut self, out: &mut Vec<Effect>) {
        while let Some(timer) = self.timers.pop_due(self.now) {
            match timer {
                Timer::OfferTimeout(agent, id, epoch) => {
                    self.offer_timed_out(agent, id, epoch, out)
                }
                Timer::StickyExpire(id, epoch) => self.sticky_expired(id, epoch),
                Timer::WrapUpEnd(id, epoch) => {
                    let due = self
                        .conversations
                        .get(&id)
                        .is_some_and(|c| c.epoch == epoch && c.state == State::WrapUp);
                    if due {
                        self.finish_wrap_up(id, out);
                    }
                }
                Timer::Idle(id, epoch) => self.idle_check(id, epoch, out),
                Timer::Grace(agent, epoch) => {
                    let expired = self
                        .agents
                        .get(&agent)
                        .is_some_and(|a| !a.connected && a.epoch == epoch);
                    if expired {
                        self.go_offline(agent, StatusReason::GraceExpired, out);
                    }
                }
                Timer::QueueUpdates => {
                    self.queue_updates_armed = false;
                    self.send_queue_updates(out);
                }
                Timer::CooldownEnd(id) => {
                    if let Some(c) = self.conversations.get(&id) {
                        if c.wait_key.is_some() {
                            mark(&mut self.dirty, c.queue);
                        }
                    }
                }
            }
        }
    }

    fn offer_timed_out(
        &mut self,
        agent: AgentId,
        id: ConversationId,
        epoch: u32,
        out: &mut Vec<Effect>,
    ) {
        let pending = self
            .agents
            .get(&agent)
            .is_some_and(|a| a.offered.contains(&id));
        if !pending {
            return;
        }
        let agent = match self.conversations.get(&id) {
            Some(c) if c.epoch == epoch && c.state == State::Offered => c.agent,
            _ => None,
        };
        let Some(agent) = agent else { return };
        out.push(Effect::OfferWithdrawn {
            agent,
            conversation: id,
            reason: WithdrawReason::Timeout,
        });
        self.take_back(agent, id, out);
        let max = self.policy.max_missed_offers;
        let set_away = self
            .update_agent(agent, |a| {
                a.missed_in_row += 1;
                let away = a.missed_in_row >= max && a.status == AgentStatus::Available;
                if away {
                    a.status = AgentStatus::Away;
                }
                away
            })
            .unwrap_or(false);
        if set_away {
            out.push(Effect::AgentStatusChanged {
                agent,
                status: AgentStatus::Away,
                reason: StatusReason::MissedOffers,
            });
        }
    }

    fn sticky_expired(&mut self, id: ConversationId, epoch: u32) {
        let agent = match self.conversations.get_mut(&id) {
            Some(c) if c.epoch == epoch && c.state == State::Waiting => c.sticky_for.take(),
            _ => None,
        };
        if let Some(agent) = agent {
            if let Some(a) = self.agents.get_mut(&agent) {
                a.sticky.retain(|c| *c != id);
            }
            self.enqueue(id);
        }
    }

    fn idle_check(&mut self, id: ConversationId, epoch: u32, out: &mut Vec<Effect>) {
        let idle_ms = self.policy.idle_ms;
        let last = match self.conversations.get(&id) {
            Some(c) if c.epoch == epoch && matches!(c.state, State::Assigned | State::WithBot) => {
                c.last_activity
            }
            _ => return,
        };
        if self.now >= last + idle_ms {
            self.end(id, CloseReason::Idle, out);
        } else {
            self.timers.set(last + idle_ms, Timer::Idle(id, epoch));
        }
    }

    // ----- transitions -----------------------------------------------------------------------

    /// Puts a conversation into its queue at its arrival-time key and says where it stands.
    fn enqueue(&mut self, id: ConversationId) {
        let Some(c) = self.conversations.get_mut(&id) else {
            return;
        };
        let key = WaitKey {
            lane: c.ranking.lane,
            rank: c.rank,
            age: c.age,
            seq: c.seq,
        };
        c.wait_key = Some(key);
        let queue = c.queue;
        let mut waiter = Waiter::new(id, c.connector, c.waiting_since);
        waiter.first_ewt = c.predicted_ms;
        self.waiting[usize::from(queue.0)].insert(key, waiter);
        mark(&mut self.dirty, queue);
        if !self.joined.contains(&id) {
            self.joined.push(id);
        }
        if !self.queue_updates_armed {
            self.queue_updates_armed = true;
            self.timers
                .set(self.now + self.policy.queue_update_ms, Timer::QueueUpdates);
        }
    }

    /// Back to waiting after an agent let go of it: same key, so it keeps its place.
    fn requeue(&mut self, id: ConversationId, out: &mut Vec<Effect>) {
        let Some(c) = self.conversations.get_mut(&id) else {
            return;
        };
        c.state = State::Waiting;
        c.agent = None;
        c.epoch = c.epoch.wrapping_add(1);
        c.age = self.policy.age_key(c.waiting_since, c.ranking.priority);
        let queue = c.queue;
        out.push(Effect::StateChanged {
            conversation: id,
            state: State::Waiting,
            queue,
        });
        self.enqueue(id);
    }

    fn offer(&mut self, id: ConversationId, agent_id: AgentId, out: &mut Vec<Effect>) {
        self.audit_offer(id, agent_id);
        let now = self.now;
        let Some(c) = self.conversations.get_mut(&id) else {
            return;
        };
        if let Some(key) = c.wait_key.take() {
            let q = usize::from(c.queue.0);
            if let Some(waiter) = self.waiting[q].remove(&key) {
                c.predicted_ms = waiter.first_ewt;
            }
            self.rates[q].record(now);
        }
        let returning_customer = c.sticky_for.take() == Some(agent_id);
        c.state = State::Offered;
        c.agent = Some(agent_id);
        c.epoch = c.epoch.wrapping_add(1);
        let epoch = c.epoch;
        let vip = c.ranking.lane == Lane::Vip;
        let queue = c.queue;
        let context = Arc::new(offer_context(
            c,
            now,
            returning_customer,
            self.policy.transcript_bytes,
        ));
        let auto_accept = self
            .update_agent(agent_id, |a| {
                a.take(id, vip, now);
                a.offered.push(id);
                a.auto_accept
            })
            .unwrap_or(false);
        out.push(Effect::StateChanged {
            conversation: id,
            state: State::Offered,
            queue,
        });
        out.push(Effect::Offer {
            agent: agent_id,
            conversation: id,
            context,
            auto_accepted: auto_accept,
        });
        if auto_accept {
            self.assign(id, out);
        } else {
            self.timers.set(
                now + self.policy.offer_timeout_ms,
                Timer::OfferTimeout(agent_id, id, epoch),
            );
        }
    }

    fn assign(&mut self, id: ConversationId, out: &mut Vec<Effect>) {
        let now = self.now;
        let Some(c) = self.conversations.get_mut(&id) else {
            return;
        };
        let Some(agent) = c.agent else { return };
        c.state = State::Assigned;
        c.epoch = c.epoch.wrapping_add(1);
        c.last_activity = now;
        let epoch = c.epoch;
        let queue = c.queue;
        let connector = c.connector;
        let first_answer = !c.answered;
        c.answered = true;
        let waited = now.saturating_sub(c.waiting_since);
        let class = c.ranking.class;
        let predicted_ms = c.predicted_ms;
        if let Some(a) = self.agents.get_mut(&agent) {
            a.missed_in_row = 0;
            a.offered.retain(|x| *x != id);
        }
        out.push(Effect::StateChanged {
            conversation: id,
            state: State::Assigned,
            queue,
        });
        out.push(Effect::AgentJoined {
            connector,
            conversation: id,
            agent,
        });
        if first_answer {
            out.push(Effect::WaitObserved {
                queue,
                class,
                predicted_ms,
                actual_ms: waited,
                sla_met: waited <= self.policy.sla_ms(class),
            });
        }
        if self.policy.idle_ms > 0 {
            self.timers
                .set(now + self.policy.idle_ms, Timer::Idle(id, epoch));
        }
    }

    /// An offer the agent did not take (rejected or timed out) goes back to waiting.
    fn take_back(&mut self, agent: AgentId, id: ConversationId, out: &mut Vec<Effect>) {
        self.release(agent, id);
        self.note_refusal(agent, id);
        self.requeue(id, out);
    }

    /// Holds `agent` back from `id` for the cooldown, and makes sure the conversation is looked at
    /// again when it ends: the refuser may be the only one who can take it.
    fn note_refusal(&mut self, agent: AgentId, id: ConversationId) {
        let now = self.now;
        if let Some(c) = self.conversations.get_mut(&id) {
            c.refusals.record(agent, now);
            self.timers.set(
                now + self.policy.refusal_cooldown_ms,
                Timer::CooldownEnd(id),
            );
        }
    }

    fn withdraw(
        &mut self,
        agent: AgentId,
        id: ConversationId,
        reason: WithdrawReason,
        out: &mut Vec<Effect>,
    ) {
        out.push(Effect::OfferWithdrawn {
            agent,
            conversation: id,
            reason,
        });
        self.release(agent, id);
        self.requeue(id, out);
    }

    /// Frees the agent's slot for a conversation (the conversation's own state is the caller's).
    fn release(&mut self, agent: AgentId, id: ConversationId) {
        let vip = self
            .conversations
            .get(&id)
            .is_some_and(|c| c.ranking.lane == Lane::Vip);
        self.release_slot(agent, id, vip);
    }

    fn release_slot(&mut self, agent: AgentId, id: ConversationId, vip: bool) {
        self.update_agent(agent, |a| a.let_go(id, vip));
    }

    /// Ends a conversation for the reason given, from whatever open state it is in.
    fn end(&mut self, id: ConversationId, reason: CloseReason, out: &mut Vec<Effect>) {
        let Some(c) = self.conversations.get_mut(&id) else {
            return;
        };
        let (state, agent, connector, queue) = (c.state, c.agent, c.connector, c.queue);
        match state {
            State::Waiting => {
                let q = usize::from(queue.0);
                if let Some(key) = c.wait_key.take() {
                    self.waiting[q].remove(&key);
                }
                if let Some(held_for) = c.sticky_for.take() {
                    if let Some(a) = self.agents.get_mut(&held_for) {
                        a.sticky.retain(|x| *x != id);
                    }
                }
                self.finish(id, reason, None, reason == CloseReason::Customer, out);
            }
            State::Offered => {
                if let Some(agent) = agent {
                    out.push(Effect::OfferWithdrawn {
                        agent,
                        conversation: id,
                        reason: WithdrawReason::Ended,
                    });
                    self.release(agent, id);
                }
                self.finish(id, reason, None, reason == CloseReason::Customer, out);
            }
            State::Assigned | State::WithBot => {
                let Some(agent) = agent else { return };
                let customer = c.customer;
                c.epoch = c.epoch.wrapping_add(1);
                let epoch = c.epoch;
                out.push(Effect::Ended {
                    connector,
                    agent: Some(agent),
                    conversation: id,
                    reason,
                    abandoned: false,
                });
                let human = self
                    .agents
                    .get(&agent)
                    .is_some_and(|a| a.role == Role::Human);
                if human && self.policy.sticky_window_ms > 0 {
                    self.recent.remember(customer, agent, self.now);
                }
                if human && self.policy.wrap_up_ms > 0 {
                    if let Some(c) = self.conversations.get_mut(&id) {
                        c.state = State::WrapUp;
                    }
                    out.push(Effect::StateChanged {
                        conversation: id,
                        state: State::WrapUp,
                        queue,
                    });
                    self.timers.set(
                        self.now + self.policy.wrap_up_ms,
                        Timer::WrapUpEnd(id, epoch),
                    );
                } else {
                    self.finish_wrap_up(id, out);
                }
            }
            State::WrapUp | State::Closed | State::Abandoned => {}
        }
    }

    /// Wrap-up over: the slot frees and the conversation is forgotten.
    fn finish_wrap_up(&mut self, id: ConversationId, out: &mut Vec<Effect>) {
        let Some(c) = self.forget(id) else {
            return;
        };
        if let Some(agent) = c.agent {
            self.release_slot(agent, id, c.ranking.lane == Lane::Vip);
        }
        out.push(Effect::StateChanged {
            conversation: id,
            state: State::Closed,
            queue: c.queue,
        });
    }

    /// Closes or abandons a conversation that holds no slot, and forgets it.
    fn finish(
        &mut self,
        id: ConversationId,
        reason: CloseReason,
        agent: Option<AgentId>,
        abandoned: bool,
        out: &mut Vec<Effect>,
    ) {
        let Some(c) = self.forget(id) else {
            return;
        };
        out.push(Effect::Ended {
            connector: c.connector,
            agent,
            conversation: id,
            reason,
            abandoned,
        });
        out.push(Effect::StateChanged {
            conversation: id,
            state: if abandoned {
                State::Abandoned
            } else {
                State::Closed
            },
            queue: c.queue,
        });
    }

    /// The agent leaves for good: what it held goes back to the head of its lane.
    fn go_offline(&mut self, id: AgentId, reason: StatusReason, out: &mut Vec<Effect>) {
        if self
            .update_agent(id, |a| a.status = AgentStatus::Offline)
            .is_none()
        {
            return;
        }
        let Some(agent) = self.agents.remove(&id) else {
            return;
        };
        for conversation in agent.sticky {
            if let Some(c) = self.conversations.get_mut(&conversation) {
                c.sticky_for = None;
            }
            self.enqueue(conversation);
        }
        for conversation in agent.held {
            let Some(c) = self.conversations.get_mut(&conversation) else {
                continue;
            };
            match c.state {
                State::Offered => {
                    out.push(Effect::OfferWithdrawn {
                        agent: id,
                        conversation,
                        reason: WithdrawReason::AgentGone,
                    });
                    self.requeue(conversation, out);
                }
                State::Assigned => {
                    c.rank = 0;
                    self.requeue(conversation, out);
                }
                State::WithBot => match self.bots.first() {
                    Some(bot) => self.give_to_bot(conversation, bot, out),
                    None => self.hand_off(conversation, HandoffReason::BotUnavailable, out),
                },
                State::WrapUp => {
                    if let Some(c) = self.forget(conversation) {
                        out.push(Effect::StateChanged {
                            conversation,
                            state: State::Closed,
                            queue: c.queue,
                        });
                    }
                }
                State::Waiting | State::Closed | State::Abandoned => {}
            }
        }
        out.push(Effect::AgentStatusChanged {
            agent: id,
            status: AgentStatus::Offline,
            reason,
        });
    }

    // ----- dispatch ----------------------------------------------------------------------------

    /// Changes an agent and keeps the indexes and reserve sums true. The only place that does.
    fn update_agent<R>(&mut self, id: AgentId, change: impl FnOnce(&mut Agent) -> R) -> Option<R> {
        let share = self.policy.vip_reserved_share;
        let agent = self.agents.get_mut(&id)?;
        let was_eligible = agent.eligible();
        let old_load = agent.load();
        let allowed_before = self.reserve.non_vip_allowed(share);
        if was_eligible {
            if agent.role == Role::Bot {
                self.bots.remove(&agent.index_entry(BOT_LEVEL));
            }
            for (q, level) in &agent.queues {
                self.index[usize::from(q.0)].remove(&agent.index_entry(*level));
            }
        }
        if agent.counts_for_reserve() {
            self.reserve.capacity -= u64::from(agent.capacity);
            self.reserve.non_vip -= u64::from(agent.non_vip_for_reserve());
        }
        let result = change(agent);
        if agent.counts_for_reserve() {
            self.reserve.capacity += u64::from(agent.capacity);
            self.reserve.non_vip += u64::from(agent.non_vip_for_reserve());
        }
        if agent.eligible() {
            if agent.role == Role::Bot {
                self.bots.insert(agent.index_entry(BOT_LEVEL));
            }
            for (q, level) in &agent.queues {
                self.index[usize::from(q.0)].insert(agent.index_entry(*level));
            }
            if !was_eligible || agent.load() < old_load {
                if !agent.sticky.is_empty() {
                    mark_agent(&mut self.freed, id);
                }
                for (q, _) in &agent.queues {
                    mark(&mut self.dirty, *q);
                }
            }
        }
        if self.reserve_blocked && !allowed_before && self.reserve.non_vip_allowed(share) {
            self.reserve_blocked = false;
            for q in 0..self.waiting.len() {
                mark(&mut self.dirty, QueueId(q as u16));
            }
        }
        Some(result)
    }

    /// Offers waiting conversations to free agents until no pair is left: returning customers to
    /// their previous agent first, then queues in order of their most urgent conversation.
    fn dispatch(&mut self, out: &mut Vec<Effect>) {
        loop {
            while !self.freed.is_empty() || !self.dirty.is_empty() {
                for agent in std::mem::take(&mut self.freed) {
                    self.serve_sticky(agent, out);
                }
                let mut queues = std::mem::take(&mut self.dirty);
                queues.sort_by_key(|q| self.waiting[usize::from(q.0)].first().map(|(k, _)| *k));
                for queue in queues {
                    self.dispatch_queue(queue, out);
                }
            }
            // Dispatch may have served the VIP that held a returning customer back.
            self.freed = self.sticky_unblocked();
            if self.freed.is_empty() {
                return;
            }
        }
    }

    /// Takes from `sticky_blocked` the agents that may now be offered a held returning customer,
    /// and forgets those that no longer hold one or cannot take one.
    fn sticky_unblocked(&mut self) -> Vec<AgentId> {
        let mut ready = Vec::new();
        let mut blocked = std::mem::take(&mut self.sticky_blocked);
        blocked.retain(|id| {
            let Some(agent) = self.agents.get(id).filter(|a| a.eligible()) else {
                return false;
            };
            let may_take = agent
                .sticky
                .iter()
                .any(|c| self.sticky_offerable(agent, *c));
            if may_take {
                ready.push(*id);
            }
            !may_take && !agent.sticky.is_empty()
        });
        self.sticky_blocked = blocked;
        ready
    }

    fn serve_sticky(&mut self, agent_id: AgentId, out: &mut Vec<Effect>) {
        loop {
            let Some(agent) = self.agents.get(&agent_id) else {
                return;
            };
            if !agent.eligible() {
                return;
            }
            let next = agent
                .sticky
                .iter()
                .copied()
                .find(|c| self.sticky_offerable(agent, *c));
            let Some(conversation) = next else {
                if !agent.sticky.is_empty() {
                    mark_agent(&mut self.sticky_blocked, agent_id);
                }
                return;
            };
            if let Some(a) = self.agents.get_mut(&agent_id) {
                a.sticky.retain(|c| *c != conversation);
            }
            self.offer(conversation, agent_id, out);
        }
    }

    /// Whether a returning customer held for `agent` may be offered to it now: it still serves
    /// their queue (a reconnect may have changed its skills) and their lane may skip the queue.
    fn sticky_offerable(&self, agent: &Agent, id: ConversationId) -> bool {
        self.conversations.get(&id).is_some_and(|c| {
            agent.level_for(c.queue).is_some() && self.may_take(c.ranking.lane, c.queue)
        })
    }

    /// Whether a conversation of this lane may skip its queue for its previous agent: a VIP may;
    /// anyone else only while no VIP waits in that queue and the VIP reserve allows.
    fn may_take(&self, lane: Lane, queue: QueueId) -> bool {
        lane == Lane::Vip
            || (self.non_vip_allowed() && self.waiting[usize::from(queue.0)].vip_len() == 0)
    }

    fn dispatch_queue(&mut self, queue: QueueId, out: &mut Vec<Effect>) {
        let q = usize::from(queue.0);
        let cooldown_ms = self.policy.refusal_cooldown_ms;
        loop {
            let non_vip_ok = self.non_vip_allowed();
            let index = &self.index[q];
            if index.is_empty() {
                return;
            }
            // No look-ahead limit: a conversation is passed over only while every free agent of
            // the queue refused it within the cooldown, and it remembers at most `MAX_REFUSALS`
            // refusers, so `choose` costs at most that many checks per free agent and the walk
            // is as long as the run of such conversations at the head — bounded by the refusals
            // made within one cooldown. A limit here left a customer waiting beside a free agent
            // once an agent had refused 64 in a row (the flood property).
            let mut pick = None;
            for (key, id) in self.waiting[q].iter() {
                if key.lane == Lane::Standard && !non_vip_ok {
                    self.reserve_blocked = true;
                    break;
                }
                let chosen = match self.conversations.get(&id) {
                    Some(c) => c.refusals.choose(index, self.now, cooldown_ms),
                    None => index.first(),
                };
                if let Some(agent) = chosen {
                    pick = Some((id, agent));
                    break;
                }
            }
            let Some((id, agent)) = pick else { return };
            self.offer(id, agent, out);
        }
    }

    /// Sends position and estimated-wait updates to waiting customers whose figures changed enough
    /// to matter (see `Waiter::tell`). Walks the queues in order; touches no conversation.
    fn send_queue_updates(&mut self, out: &mut Vec<Effect>) {
        let now = self.now;
        let mut any_waiting = false;
        for (waiting, rate) in self.waiting.iter_mut().zip(&self.rates) {
            any_waiting |= !waiting.is_empty();
            for (position, waiter) in (1u32..).zip(waiting.waiters_mut()) {
                let ewt_ms = rate.estimate(now, position).map(ewt_bucket);
                if waiter.tell(position, ewt_ms) {
                    out.push(Effect::QueueUpdate {
                        connector: waiter.connector,
                        conversation: waiter.conversation,
                        position,
                        ewt_ms,
                    });
                }
            }
        }
        if any_waiting {
            self.queue_updates_armed = true;
            self.timers
                .set(now + self.policy.queue_update_ms, Timer::QueueUpdates);
        }
    }

    // ----- self-check ----------------------------------------------------------------------------

    /// Checks every structural invariant, then the policies and timers as the reference oracle
    /// restates them ([`Router::check_policy`], [`Router::check_timers`]) and anything the offer
    /// audit found; the property tests call this after every command. Costs up to
    /// O(waiting × free agents × refusals): a test and debugging aid, never on the hot path.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut reserve = Reserve::default();
        for (id, a) in &self.agents {
            // Above capacity only by conversations accepted before a reconnect lowered it.
            if a.load() > a.capacity && !a.offered.is_empty() {
                return Err(format!(
                    "{id:?} holds {} > capacity {} with offers pending",
                    a.load(),
                    a.capacity
                ));
            }
            let mut non_vip = 0;
            for (i, c) in a.held.iter().enumerate() {
                if a.held[..i].contains(c) {
                    return Err(format!("{id:?} lists {c:?} twice"));
                }
                let conv = self
                    .conversations
                    .get(c)
                    .ok_or_else(|| format!("{id:?} holds unknown {c:?}"))?;
                if conv.agent != Some(*id)
                    || !matches!(
                        conv.state,
                        State::Offered | State::Assigned | State::WrapUp | State::WithBot
                    )
                {
                    return Err(format!("{id:?} holds {c:?} in {:?}", conv.state));
                }
                if conv.ranking.lane != Lane::Vip {
                    non_vip += 1;
                }
                if (conv.state == State::Offered) != a.offered.contains(c) {
                    return Err(format!("{id:?} pending-offer list disagrees about {c:?}"));
                }
            }
            if a.offered.iter().any(|c| !a.held.contains(c)) {
                return Err(format!("{id:?} lists an offer it does not hold"));
            }
            if non_vip != a.non_vip_held {
                return Err(format!(
                    "{id:?} non-VIP count {} != {non_vip}",
                    a.non_vip_held
                ));
            }
            for c in &a.sticky {
                if self.conversations.get(c).and_then(|c| c.sticky_for) != Some(*id) {
                    return Err(format!("{id:?} holds sticky {c:?} not held for it"));
                }
            }
            for (q, level) in &a.queues {
                let listed = self.index[usize::from(q.0)].contains(&a.index_entry(*level));
                if listed != a.eligible() {
                    return Err(format!("{id:?} index membership in {q:?} is {listed}"));
                }
            }
            if a.counts_for_reserve() {
                reserve.capacity += u64::from(a.capacity);
                reserve.non_vip += u64::from(a.non_vip_for_reserve());
            }
        }
        if reserve != self.reserve {
            return Err(format!("reserve sums {:?} != {reserve:?}", self.reserve));
        }
        let indexed: usize =
            self.index.iter().map(AgentIndex::len).sum::<usize>() + self.bots.len();
        let expected: usize = self
            .agents
            .values()
            .filter(|a| a.eligible())
            .map(|a| a.queues.len() + usize::from(a.role == Role::Bot))
            .sum();
        if indexed != expected {
            return Err(format!(
                "index holds {indexed} entries, expected {expected}"
            ));
        }
        let mut queued = 0;
        for (id, c) in self.conversations.iter() {
            if c.state.is_final() {
                return Err(format!("{id:?} is {:?} but still open", c.state));
            }
            if let Some(agent) = c.agent {
                let holds = self.agents.get(&agent).is_some_and(|a| a.held.contains(id));
                if !holds && c.state != State::Waiting {
                    return Err(format!("{id:?} names {agent:?}, which does not hold it"));
                }
            }
            match (c.state, c.wait_key, c.sticky_for) {
                (State::Waiting, Some(key), None) => {
                    queued += 1;
                    let found = self.waiting[usize::from(c.queue.0)]
                        .iter()
                        .any(|(k, x)| *k == key && x == *id);
                    if !found {
                        return Err(format!("{id:?} waits but is not in its queue"));
                    }
                    if c.agent.is_some() {
                        return Err(format!("{id:?} waits but names an agent"));
                    }
                }
                (State::Waiting, None, Some(agent)) => {
                    let holds = self
                        .agents
                        .get(&agent)
                        .is_some_and(|a| a.sticky.contains(id));
                    if !holds {
                        return Err(format!("{id:?} is held for {agent:?}, which forgot it"));
                    }
                }
                (State::Waiting, _, _) => return Err(format!("{id:?} waits nowhere")),
                (_, None, None) => {
                    if c.agent.is_none() {
                        return Err(format!("{id:?} is {:?} with no agent", c.state));
                    }
                }
                (state, _, _) => return Err(format!("{id:?} is {state:?} yet waits")),
            }
        }
        let in_queues: usize = self.waiting.iter().map(WaitingQueue::len).sum();
        if in_queues != queued {
            return Err(format!(
                "queues hold {in_queues}, conversations say {queued}"
            ));
        }
        if let Some(failure) = &self.audit.failure {
            return Err(format!("offer audit: {failure}"));
        }
        // The policies, restated independently of dispatch, with no look-ahead limit.
        self.check_policy()?;
        self.check_timers()
    }
}

/// Everything the agent needs to take over without asking the customer to repeat themselves.
///
/// The transcript is cut to `transcript_bytes` so the offer's size is known in advance.
fn offer_context(
    c: &Conversation,
    now: Millis,
    returning_customer: bool,
    transcript_bytes: usize,
) -> OfferContext {
    let customer_lines = c
        .transcript
        .iter()
        .filter(|l| l.speaker == Speaker::Customer)
        .map(|l| &*l.message.text);
    let (transcript, transcript_truncated) = newest_within(&c.transcript, transcript_bytes);
    OfferContext {
        queue: c.queue,
        class: c.ranking.class,
        profile: Arc::clone(&c.profile),
        transcript,
        transcript_truncated,
        waited_ms: now.saturating_sub(c.waiting_since),
        returning_customer,
        handoff: c.handoff.clone(),
        sentiment_trend: c.trend.iter().copied().collect(),
        numbers: switchboard_text::extract::numbers(customer_lines),
    }
}

fn refuse(
    out: &mut Vec<Effect>,
    to: Requester,
    conversation: Option<ConversationId>,
    code: RefusalCode,
) {
    out.push(Effect::Refused {
        to,
        conversation,
        code,
    });
}

/// The newest lines whose text and message ids fit in `budget` bytes, oldest first, and how
/// many older lines were left out. It stops at the first line that does not fit rather than
/// looking further back for smaller ones, so what the agent reads has no holes.
fn newest_within(
    transcript: &VecDeque<TranscriptLine>,
    budget: usize,
) -> (Vec<TranscriptLine>, u32) {
    let mut used = 0;
    let kept = transcript
        .iter()
        .rev()
        .take_while(|line| {
            used += line.budget_bytes();
            used <= budget
        })
        .count();
    let left_out = transcript.len() - kept;
    let lines = transcript.iter().skip(left_out).cloned().collect();
    (lines, u32::try_from(left_out).unwrap_or(u32::MAX))
}

/// Refuses a connector's command about conversation `id`.
fn refuse_connector(
    out: &mut Vec<Effect>,
    connector: ConnectorId,
    id: ConversationId,
    code: RefusalCode,
) {
    refuse(out, Requester::Connector(connector), Some(id), code);
}

fn push_bounded<T>(buffer: &mut VecDeque<T>, limit: usize, item: T) {
    if limit == 0 {
        return;
    }
    if buffer.len() >= limit {
        buffer.pop_front();
    }
    buffer.push_back(item);
}

fn mark(dirty: &mut Vec<QueueId>, queue: QueueId) {
    if !dirty.contains(&queue) {
        dirty.push(queue);
    }
}

fn mark_agent(freed: &mut Vec<AgentId>, agent: AgentId) {
    if !freed.contains(&agent) {
        freed.push(agent);
    }
}

/// Estimates are told rounded up: to 10 s under two minutes, to whole minutes beyond. Finer
/// changes are noise to a customer and would only cost messages.
fn ewt_bucket(ms: Millis) -> Millis {
    let step = if ms < 120_000 { 10_000 } else { 60_000 };
    ms.div_ceil(step) * step
}
