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

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use serde::{Serialize, Serializer};

use crate::scenario::{AgentGroup, ClassTally, Ending, Plan, Scenario, Tally};
use switchboard_config::{ConfigError, TenantConfig};
use switchboard_router::{
    AgentId, AgentLogin, Class, CloseReason, Command, ConnectorId, ConversationId, CustomerProfile,
    Effect, HandoffReason, Message, Millis, QueueId, Role, Router, State,
};
use switchboard_staffing::{self as capacity, Model, StaffingInput};

/// The largest `--scale`: beyond it a plan no longer fits comfortably in memory.
pub const MAX_SCALE: f64 = 1000.0;

/// Width of the capacity planner's peak window.
const PEAK_WINDOW_MS: Millis = 300_000;

/// Longer timelines are printed in buckets of several minutes so the report stays short; the
/// JSON keeps every minute.
const MAX_TIMELINE_ROWS: usize = 60;

/// What bots and agents say: the router stores and forwards it, nothing scores it.
const BOT_REPLY: &str = "好的，我来帮您查一下。";
const AGENT_REPLY: &str = "您好，我是人工客服，正在为您处理。";

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

// ----- the summary ---------------------------------------------------------------------------

/// Everything a run found; [`Summary::report`] prints it, serde writes it as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Scenario name.
    pub scenario: String,
    /// Its one-line description.
    pub description: String,
    /// Seed of the plan.
    pub seed: u64,
    /// Scale of arrivals and agents.
    pub scale: f64,
    /// Tenant played.
    pub tenant: String,
    /// Conversations in the plan.
    pub conversations: u64,
    /// When arrivals stopped.
    pub arrivals_end_ms: Millis,
    /// When the run stopped.
    pub end_ms: Millis,
    /// Per SLA class, most urgent first; only classes that occurred.
    pub classes: Vec<ClassSummary>,
    /// All classes together.
    pub total: ClassSummary,
    /// Conversations handed from a bot (or past it) to the humans, by the router's reason.
    pub handoffs: BTreeMap<&'static str, u64>,
    /// Conversations that went straight to a human queue: no bot was free, none was asked for.
    pub straight_to_queue: u64,
    /// Most customers waiting for a human at once, and when that was first reached.
    pub peak_waiting: PeakWaiting,
    /// Share of logged-in, available human slots in use.
    pub utilisation: Utilisation,
    /// Erlang staffing from the simulated peak, next to the staffing the scenario has.
    pub capacity: CapacityPlan,
    /// Minute by minute.
    pub timeline: Vec<Minute>,
    /// Self-checks that should all be zero.
    pub checks: Checks,
    /// Every conversation's ending, in plan order (for comparing with the load tester).
    pub outcomes: Vec<Outcome>,
}

/// One SLA class's figures (or all together).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassSummary {
    /// `vip`, `complaint`, `urgent`, `standard`, or `all`.
    pub class: &'static str,
    /// Answer-time target (`None` for `all`).
    pub target_secs: Option<u64>,
    /// Conversations of the class.
    pub conversations: u64,
    /// Answered by a human (and closed before the end).
    pub answered: u64,
    /// Answered within the target.
    pub within_target: u64,
    /// Gave up waiting for a human.
    pub abandoned: u64,
    /// Resolved by the bot.
    pub resolved_by_bot: u64,
    /// Left the bot without needing a human.
    pub left: u64,
    /// Still open at the end.
    pub unfinished: u64,
    /// Answered within target / answered.
    pub sla_attainment: Option<f64>,
    /// Answered within target / (answered + abandoned).
    pub sla_attainment_offered: Option<f64>,
    /// Abandoned / (answered + abandoned).
    pub abandonment: Option<f64>,
    /// Mean wait of those answered.
    pub mean_wait_secs: Option<f64>,
    /// Median wait of those answered.
    pub p50_wait_secs: Option<f64>,
    /// 90th percentile wait of those answered.
    pub p90_wait_secs: Option<f64>,
    /// Longest wait of those answered.
    pub max_wait_secs: Option<f64>,
}

/// The most customers waiting for a human at once.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeakWaiting {
    /// How many.
    pub conversations: u64,
    /// When that was first reached.
    pub at_ms: Millis,
}

/// Held slots (offered, assigned or in wrap-up) over the slots of available, connected human
/// agents, sampled every virtual second.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Utilisation {
    /// The surge: from the first to the last second the arrival curve is at least half its peak.
    pub surge_from_ms: Millis,
    /// End of the surge.
    pub surge_to_ms: Millis,
    /// Over the surge.
    pub surge: Option<f64>,
    /// Over the whole arrival period.
    pub arrivals: Option<f64>,
}

/// The capacity planner: Erlang staffing per human queue from the simulated peak window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CapacityPlan {
    /// Start of the busiest window of conversations entering the human queues.
    pub window_from_ms: Millis,
    /// Its end (5 minutes later, or the end of a shorter run).
    pub window_to_ms: Millis,
    /// `Erlang A` with the scenario's mean patience, `Erlang C` when customers never give up.
    pub model: &'static str,
    /// Mean patience fed to Erlang A.
    pub mean_patience_secs: Option<f64>,
    /// Service level staffed for.
    pub service_level: f64,
    /// One row per queue, in configuration order.
    pub queues: Vec<QueuePlan>,
}

/// One queue's row of the capacity planner.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueuePlan {
    /// Queue name.
    pub queue: String,
    /// Conversations that entered it during the window.
    pub arrivals: u64,
    /// Their rate.
    pub arrival_per_sec: f64,
    /// Mean time a conversation holds an agent's slot, offer to end of wrap-up.
    pub mean_handle_secs: Option<f64>,
    /// Whether that was measured in the run (else taken from the scenario's distributions).
    pub handle_measured: bool,
    /// Conversations per agent.
    pub concurrency: u32,
    /// The class most of its conversations have, whose target is staffed for.
    pub class: &'static str,
    /// That class's target.
    pub target_secs: u64,
    /// Agents Erlang recommends.
    pub recommended: Option<u32>,
    /// Agents in the scenario able to serve it (an agent serving several queues counts in each).
    pub staffed: u32,
    /// Service level Erlang predicts for the staffed agents.
    pub staffed_service_level: Option<f64>,
    /// Why there is no recommendation, if there is none.
    pub error: Option<String>,
}

/// One minute of the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Minute {
    /// Conversations that arrived.
    pub arrivals: u64,
    /// Customers waiting for a human at the end of the minute.
    pub waiting: u64,
    /// Waits that ended with a human joining.
    pub answered: u64,
    /// Customers who gave up waiting.
    pub abandoned: u64,
}

/// The simulator's own consistency checks.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Checks {
    /// Waits the router measured (`WaitObserved`).
    pub router_waits: u64,
    /// Waits where the router's measure or SLA verdict differs from the simulator's, or one
    /// side saw a wait end and the other did not.
    pub wait_disagreements: u64,
    /// Conversations that ended twice, or whose abandonment the router and the simulator see
    /// differently.
    pub ending_disagreements: u64,
    /// Commands the router refused, by code.
    pub refused: BTreeMap<&'static str, u64>,
    /// Conversations the router still had open (outside wrap-up) at the end; equals the
    /// unfinished count when nothing was lost.
    pub open_at_end: u64,
}

impl Checks {
    fn clean(&self, unfinished: u64) -> bool {
        self.wait_disagreements == 0
            && self.ending_disagreements == 0
            && self.refused.is_empty()
            && self.open_at_end == unfinished
    }
}

/// How one conversation ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// The load tester's conversation id, `c-{index}`.
    pub conversation: String,
    /// SLA class.
    pub class: &'static str,
    /// The ending.
    #[serde(serialize_with = "ending_json")]
    pub ending: Ending,
    /// How it reached the humans, if it did: a handoff reason, or `direct`.
    pub route: Option<&'static str>,
    /// The human queue it waited in, if it did.
    pub queue: Option<String>,
}

fn ending_json<S: Serializer>(ending: &Ending, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Shown {
        kind: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        wait_ms: Option<Millis>,
        #[serde(skip_serializing_if = "Option::is_none")]
        waiting: Option<bool>,
    }
    let (kind, wait_ms, waiting) = match *ending {
        Ending::Resolved => ("resolved", None, None),
        Ending::Answered { wait_ms } => ("answered", Some(wait_ms), None),
        Ending::Abandoned { wait_ms } => ("abandoned", Some(wait_ms), None),
        Ending::Left => ("left", None, None),
        Ending::Unfinished { waiting } => ("unfinished", None, Some(waiting)),
    };
    Shown {
        kind,
        wait_ms,
        waiting,
    }
    .serialize(s)
}

// ----- the simulation ------------------------------------------------------------------------

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

impl<'a> Sim<'a> {
    fn new(scenario: &'a Scenario, tenant: &'a TenantConfig, plan: &'a Plan) -> Self {
        let router = Router::new(tenant);
        let queues = tenant.queues.len();
        let seconds = plan.end_ms.div_ceil(1000) as usize + 1;
        let minutes = plan.end_ms.div_ceil(60_000).max(1) as usize;
        let humans = plan
            .agents
            .iter()
            .map(|a| Human {
                login: AgentLogin {
                    role: Role::Human,
                    capacity: a.capacity,
                    skills: a.skills.iter().map(|(k, v)| (k.clone(), *v)).collect(),
                    auto_accept: false,
                },
                connected: false,
                deferred: Vec::new(),
            })
            .collect();
        let customers = vec![
            Customer {
                phase: Phase::Arriving,
                sent: 0,
                bot_replies: 0,
                phase_epoch: 0,
                offer_epoch: 0,
                hold_epoch: 0,
                queue: QueueId(0),
                route: None,
                slot_since: None,
                ending: None,
            };
            plan.customers.len()
        ];
        Sim {
            scenario,
            tenant,
            plan,
            router,
            events: BinaryHeap::new(),
            seq: 0,
            effects: Vec::new(),
            customers,
            humans,
            bots: plan.bots,
            unmatched_wait: None,
            waiting: 0,
            peak_waiting: PeakWaiting {
                conversations: 0,
                at_ms: 0,
            },
            handoffs: [0; HandoffReason::ALL.len()],
            straight_to_queue: 0,
            timeline: vec![Minute::default(); minutes],
            next_second: 0,
            load: Vec::with_capacity(seconds),
            entered: vec![vec![0; seconds]; queues],
            slot: vec![(0, 0); queues],
            checks: Checks::default(),
        }
    }

    fn at(&mut self, time: Millis, event: Event) {
        self.seq += 1;
        self.events.push(Reverse((time, self.seq, event)));
    }

    fn play(&mut self) {
        // Everyone logs in before the first arrival.
        for bot in 0..self.bots {
            let login = AgentLogin {
                role: Role::Bot,
                capacity: self.scenario.bots.capacity,
                skills: Vec::new(),
                auto_accept: true,
            };
            self.apply(
                0,
                Command::AgentConnect {
                    agent: AgentId(bot),
                    login,
                },
            );
        }
        for h in 0..self.humans.len() {
            self.reconnect(0, h);
        }
        let plan = self.plan;
        for (i, customer) in plan.customers.iter().enumerate() {
            self.at(customer.arrival_ms, Event::Arrive(i));
        }
        for (h, agent) in plan.agents.iter().enumerate() {
            if let Some((at, away)) = agent.disconnect {
                self.at(at, Event::Disconnect(h));
                self.at(at.saturating_add(away), Event::Reconnect(h));
            }
        }
        loop {
            let event_at = self.events.peek().map(|Reverse((t, _, _))| *t);
            let timer_at = self.router.next_deadline();
            let tick = match (timer_at, event_at) {
                (Some(d), Some(e)) => d <= e,
                (Some(_), None) => true,
                (None, _) => false,
            };
            let Some(now) = (if tick { timer_at } else { event_at }) else {
                break;
            };
            if now > plan.end_ms {
                break;
            }
            self.sample_until(now);
            if tick {
                self.apply(now, Command::Tick);
            } else if let Some(Reverse((_, _, event))) = self.events.pop() {
                self.handle(now, event);
            }
        }
        self.sample_until(plan.end_ms);
        if let Some(last) = self.timeline.last_mut() {
            last.waiting = self.waiting;
        }
    }

    /// Records the state at each whole second up to `t`: nothing changes between events.
    fn sample_until(&mut self, t: Millis) {
        while self.next_second * 1000 <= t && self.next_second * 1000 < self.plan.end_ms {
            let counts = self.router.agent_counts();
            self.load.push((counts.load, counts.capacity));
            let s = self.next_second;
            if s > 0 && s % 60 == 0 {
                if let Some(minute) = self.timeline.get_mut((s / 60 - 1) as usize) {
                    minute.waiting = self.waiting;
                }
            }
            self.next_second += 1;
        }
    }

    fn minute(&mut self, now: Millis) -> &mut Minute {
        let last = self.timeline.len() - 1;
        &mut self.timeline[((now / 60_000) as usize).min(last)]
    }

    fn handle(&mut self, now: Millis, event: Event) {
        match event {
            Event::Arrive(i) => self.arrive(now, i),
            Event::Send { customer, epoch } => self.send(now, customer, epoch),
            Event::GiveUp { customer, epoch } => {
                let c = &self.customers[customer];
                if c.phase_epoch == epoch && matches!(c.phase, Phase::Waiting { .. }) {
                    let command = Command::CustomerLeft {
                        connector: self.connector(customer),
                        conversation: conversation(customer),
                    };
                    self.apply(now, command);
                }
            }
            Event::BotReply {
                customer,
                bot,
                epoch,
            } => self.bot_reply(now, customer, bot, epoch),
            Event::Accept {
                agent,
                customer,
                epoch,
            } => {
                if self.customers[customer].offer_epoch == epoch && self.humans[agent].connected {
                    let command = Command::Accept {
                        agent: self.agent_id(agent),
                        conversation: conversation(customer),
                    };
                    self.apply(now, command);
                }
            }
            Event::AgentReply {
                agent,
                customer,
                epoch,
            } => {
                if !self.holds(customer, epoch) {
                    return;
                }
                if self.humans[agent].connected {
                    let command = Command::AgentMessage {
                        agent: self.agent_id(agent),
                        conversation: conversation(customer),
                        message: message(AGENT_REPLY, format!("a-{customer}-{now}")),
                    };
                    self.apply(now, command);
                }
                let every = self.plan.agents[agent].reply_every_ms;
                self.at(
                    now + every.max(1),
                    Event::AgentReply {
                        agent,
                        customer,
                        epoch,
                    },
                );
            }
            Event::AgentClose {
                agent,
                customer,
                epoch,
            } => {
                if !self.holds(customer, epoch) {
                    return;
                }
                if self.humans[agent].connected {
                    self.close(now, agent, customer);
                } else {
                    self.humans[agent].deferred.push((customer, epoch));
                }
            }
            Event::Disconnect(h) => {
                self.humans[h].connected = false;
                let agent = self.agent_id(h);
                self.apply(now, Command::AgentDisconnect { agent });
            }
            Event::Reconnect(h) => {
                self.reconnect(now, h);
                for (customer, epoch) in std::mem::take(&mut self.humans[h].deferred) {
                    if self.holds(customer, epoch) {
                        self.close(now, h, customer);
                    }
                }
            }
        }
    }

    fn reconnect(&mut self, now: Millis, h: usize) {
        self.humans[h].connected = true;
        let command = Command::AgentConnect {
            agent: self.agent_id(h),
            login: self.humans[h].login.clone(),
        };
        self.apply(now, command);
    }

    fn close(&mut self, now: Millis, agent: usize, customer: usize) {
        let command = Command::AgentClose {
            agent: self.agent_id(agent),
            conversation: conversation(customer),
        };
        self.apply(now, command);
    }

    /// Whether the agent's action scheduled at `epoch` still concerns a conversation it holds.
    fn holds(&self, customer: usize, epoch: u32) -> bool {
        let c = &self.customers[customer];
        c.hold_epoch == epoch && matches!(c.phase, Phase::WithHuman { .. })
    }

    fn agent_id(&self, h: usize) -> AgentId {
        AgentId(self.bots + h as u32)
    }

    fn human(&self, agent: AgentId) -> Option<usize> {
        agent
            .0
            .checked_sub(self.bots)
            .map(|h| h as usize)
            .filter(|h| *h < self.humans.len())
    }

    fn connector(&self, customer: usize) -> ConnectorId {
        ConnectorId(self.plan.customers[customer].connector)
    }

    fn arrive(&mut self, now: Millis, i: usize) {
        let p = &self.plan.customers[i];
        let profile = CustomerProfile {
            customer_id: format!("customer-{i}"),
            name: None,
            tier: p.tier(),
            tags: Vec::new(),
            intent: p.intent.clone(),
            channel: p.channel.clone(),
            language: "zh".to_string(),
            order_value: None,
        };
        self.customers[i].queue = self.router.policy().route(&profile);
        self.customers[i].sent = 1;
        self.minute(now).arrivals += 1;
        let command = Command::Arrive {
            conversation: conversation(i),
            connector: self.connector(i),
            profile,
            message: Some(self.customer_message(i, 0)),
        };
        self.apply(now, command);
    }

    fn customer_message(&self, i: usize, k: usize) -> Message {
        let text = self.plan.customers[i].texts.get(k).copied().unwrap_or("");
        message(text, format!("c-{i}-{k}"))
    }

    /// The customer's next message, if they are talking to someone and have one left.
    fn send(&mut self, now: Millis, i: usize, epoch: u32) {
        let c = &self.customers[i];
        let texts = self.plan.customers[i].texts.len();
        let talking = matches!(c.phase, Phase::WithBot | Phase::WithHuman { .. });
        if c.phase_epoch != epoch || !talking || c.sent >= texts {
            return;
        }
        let k = c.sent;
        self.customers[i].sent += 1;
        let command = Command::CustomerMessage {
            connector: self.connector(i),
            conversation: conversation(i),
            message: self.customer_message(i, k),
        };
        self.apply(now, command);
        // With a bot the next message waits for its reply; with a human it only waits to think.
        let c = &self.customers[i];
        if matches!(c.phase, Phase::WithHuman { .. }) && c.phase_epoch == epoch {
            self.think_then_send(now, i);
        }
    }

    fn think_then_send(&mut self, now: Millis, i: usize) {
        let c = &self.customers[i];
        let p = &self.plan.customers[i];
        if c.sent >= p.texts.len() {
            return;
        }
        // `think_ms[k - 1]` comes before message `k`; message 0 went at arrival.
        let think = c
            .sent
            .checked_sub(1)
            .and_then(|k| p.think_ms.get(k))
            .copied()
            .unwrap_or(0);
        let epoch = c.phase_epoch;
        self.at(now + think, Event::Send { customer: i, epoch });
    }

    fn bot_reply(&mut self, now: Millis, i: usize, bot: AgentId, epoch: u32) {
        let c = &self.customers[i];
        if c.phase_epoch != epoch || c.phase != Phase::WithBot {
            return;
        }
        let round = c.bot_replies;
        self.customers[i].bot_replies += 1;
        let resolved = self.plan.customers[i]
            .bot_resolves
            .get(round)
            .copied()
            .unwrap_or(false);
        let (connector, conversation) = (self.connector(i), conversation(i));
        self.apply(
            now,
            Command::AgentMessage {
                agent: bot,
                conversation,
                message: message(BOT_REPLY, format!("b-{i}-{round}")),
            },
        );
        self.apply(
            now,
            Command::BotResult {
                agent: bot,
                conversation,
                resolved,
            },
        );
        let c = &self.customers[i];
        if c.phase != Phase::WithBot {
            return;
        }
        if resolved {
            self.apply(
                now,
                Command::ConnectorClose {
                    connector,
                    conversation,
                },
            );
        } else if c.sent < self.plan.customers[i].texts.len() {
            self.think_then_send(now, i);
        } else {
            self.apply(
                now,
                Command::CustomerLeft {
                    connector,
                    conversation,
                },
            );
        }
    }

    fn apply(&mut self, now: Millis, command: Command) {
        let mut effects = std::mem::take(&mut self.effects);
        self.router.apply(now, command, &mut effects);
        for effect in effects.drain(..) {
            self.effect(now, effect);
        }
        self.effects = effects;
        // The router reports a first answer in the same command as the join.
        if self.unmatched_wait.take().is_some() {
            self.checks.wait_disagreements += 1;
        }
    }

    fn effect(&mut self, now: Millis, effect: Effect) {
        match effect {
            Effect::StateChanged {
                conversation,
                state,
                ..
            } => self.state_changed(now, index(conversation), state),
            Effect::Offer {
                agent,
                conversation,
                ..
            } => {
                let i = index(conversation);
                match self.human(agent) {
                    Some(h) => self.offered(now, h, i),
                    None => self.bot_to_answer(now, agent, i),
                }
            }
            Effect::ToAgent {
                agent,
                conversation,
                ..
            } => {
                if self.human(agent).is_none() {
                    self.bot_to_answer(now, agent, index(conversation));
                }
            }
            Effect::OfferWithdrawn { conversation, .. } => {
                if let Some(c) = self.customers.get_mut(index(conversation)) {
                    c.offer_epoch += 1;
                }
            }
            Effect::Handoff {
                conversation,
                reason,
                ..
            } => {
                let r = HandoffReason::ALL
                    .iter()
                    .position(|x| *x == reason)
                    .unwrap_or(0);
                self.handoffs[r] += 1;
                let i = index(conversation);
                if let Some(c) = self.customers.get_mut(i) {
                    c.route = Some(reason.as_str());
                }
                self.start_waiting(now, i);
            }
            Effect::AgentJoined {
                conversation,
                agent,
                ..
            } => self.joined(now, agent, index(conversation)),
            Effect::WaitObserved {
                actual_ms, sla_met, ..
            } => {
                self.checks.router_waits += 1;
                let agrees = self.unmatched_wait.take().is_some_and(|(i, wait)| {
                    let target = self.target_ms(i);
                    wait == actual_ms && (wait <= target) == sla_met
                });
                if !agrees {
                    self.checks.wait_disagreements += 1;
                }
            }
            Effect::Ended {
                conversation,
                reason,
                abandoned,
                ..
            } => self.ended(now, index(conversation), reason, abandoned),
            Effect::Refused { code, .. } => {
                *self.checks.refused.entry(code.as_str()).or_default() += 1;
            }
            Effect::ToCustomer { .. }
            | Effect::QueueUpdate { .. }
            | Effect::AgentStatusChanged { .. }
            | Effect::AgentResumed { .. } => {}
        }
    }

    fn target_ms(&self, i: usize) -> Millis {
        self.plan.customers[i]
            .class(self.tenant)
            .sla_ms(&self.tenant.sla)
    }

    fn state_changed(&mut self, now: Millis, i: usize, state: State) {
        let Some(c) = self.customers.get_mut(i) else {
            return;
        };
        match (state, c.phase) {
            (State::WithBot, Phase::Arriving) => {
                c.phase = Phase::WithBot;
                c.phase_epoch += 1;
            }
            // No bot took it and no handoff was said: the customer's first news is the queue.
            (State::Waiting, Phase::Arriving) => {
                c.route = Some("direct");
                self.straight_to_queue += 1;
                self.start_waiting(now, i);
            }
            // Taken back from an agent who left for good: that agent's actions are void.
            (State::Waiting, Phase::WithHuman { .. }) => c.hold_epoch += 1,
            (State::Closed, _) => {
                let answered = matches!(c.ending, Some(Ending::Answered { .. }));
                if let (Some(since), true) = (c.slot_since.take(), answered) {
                    let slot = &mut self.slot[usize::from(c.queue.0)];
                    slot.0 += now - since;
                    slot.1 += 1;
                }
            }
            _ => {}
        }
    }

    fn start_waiting(&mut self, now: Millis, i: usize) {
        let Some(c) = self.customers.get_mut(i) else {
            return;
        };
        if matches!(c.phase, Phase::Waiting { .. } | Phase::Ended) {
            return;
        }
        c.phase = Phase::Waiting { since: now };
        c.phase_epoch += 1;
        let (epoch, queue) = (c.phase_epoch, usize::from(c.queue.0));
        if let Some(second) = self
            .entered
            .get_mut(queue)
            .and_then(|q| q.get_mut((now / 1000) as usize))
        {
            *second += 1;
        }
        self.waiting += 1;
        if self.waiting > self.peak_waiting.conversations {
            self.peak_waiting = PeakWaiting {
                conversations: self.waiting,
                at_ms: now,
            };
        }
        let patience = self.plan.customers[i].patience_ms;
        if patience != u64::MAX {
            self.at(
                now.saturating_add(patience),
                Event::GiveUp { customer: i, epoch },
            );
        }
    }

    fn bot_to_answer(&mut self, now: Millis, bot: AgentId, i: usize) {
        let Some(c) = self.customers.get(i) else {
            return;
        };
        let delay = self.plan.customers[i]
            .bot_reply_ms
            .get(c.bot_replies)
            .copied()
            .unwrap_or(0);
        let epoch = c.phase_epoch;
        self.at(
            now + delay,
            Event::BotReply {
                customer: i,
                bot,
                epoch,
            },
        );
    }

    fn offered(&mut self, now: Millis, h: usize, i: usize) {
        let Some(c) = self.customers.get_mut(i) else {
            return;
        };
        c.slot_since = Some(now);
        let epoch = c.offer_epoch;
        let group = &self.scenario.agents[self.plan.agents[h].group];
        let delay = group.accept_ms_for(self.plan.customers[i].accept);
        self.at(
            now + delay,
            Event::Accept {
                agent: h,
                customer: i,
                epoch,
            },
        );
    }

    fn joined(&mut self, now: Millis, agent: AgentId, i: usize) {
        let Some(h) = self.human(agent) else {
            return;
        };
        let Some(c) = self.customers.get_mut(i) else {
            return;
        };
        c.hold_epoch += 1;
        let hold = c.hold_epoch;
        if let Phase::Waiting { since } = c.phase {
            let wait_ms = now - since;
            c.phase = Phase::WithHuman { wait_ms };
            c.phase_epoch += 1;
            self.waiting -= 1;
            self.unmatched_wait = Some((i, wait_ms));
            self.minute(now).answered += 1;
            self.think_then_send(now, i);
        }
        let p = &self.plan.agents[h];
        let group = &self.scenario.agents[p.group];
        let handle = group.handle_ms_for(self.plan.customers[i].handle);
        let (every, epoch) = (p.reply_every_ms.max(1), hold);
        self.at(
            now + every,
            Event::AgentReply {
                agent: h,
                customer: i,
                epoch,
            },
        );
        self.at(
            now + handle,
            Event::AgentClose {
                agent: h,
                customer: i,
                epoch,
            },
        );
    }

    fn ended(&mut self, now: Millis, i: usize, reason: CloseReason, abandoned: bool) {
        let Some(c) = self.customers.get_mut(i) else {
            return;
        };
        if c.ending.is_some() {
            self.checks.ending_disagreements += 1;
            return;
        }
        let ending = match c.phase {
            Phase::Waiting { since } => Ending::Abandoned {
                wait_ms: now - since,
            },
            Phase::WithHuman { wait_ms } => Ending::Answered { wait_ms },
            Phase::WithBot | Phase::Arriving | Phase::Ended if reason == CloseReason::Connector => {
                Ending::Resolved
            }
            Phase::WithBot | Phase::Arriving | Phase::Ended => Ending::Left,
        };
        let gave_up = matches!(ending, Ending::Abandoned { .. });
        if gave_up {
            self.waiting -= 1;
        }
        if gave_up != abandoned {
            self.checks.ending_disagreements += 1;
        }
        c.ending = Some(ending);
        c.phase = Phase::Ended;
        c.phase_epoch += 1;
        if gave_up {
            self.minute(now).abandoned += 1;
        }
    }

    // ----- summing up ------------------------------------------------------------------------

    fn summary(self, scale: f64) -> Summary {
        let mut tally = Tally::default();
        let mut waits: BTreeMap<Class, Vec<Millis>> = BTreeMap::new();
        let mut left: BTreeMap<Class, u64> = BTreeMap::new();
        let mut outcomes = Vec::with_capacity(self.customers.len());
        let mut dominant = vec![[0u64; Class::ALL.len()]; self.tenant.queues.len()];
        for (p, c) in self.plan.customers.iter().zip(&self.customers) {
            let class = p.class(self.tenant);
            let ending = c.ending.unwrap_or(Ending::Unfinished {
                waiting: matches!(c.phase, Phase::Waiting { .. }),
            });
            tally.add(class, self.tenant, ending);
            match ending {
                Ending::Answered { wait_ms } => waits.entry(class).or_default().push(wait_ms),
                Ending::Left => *left.entry(class).or_default() += 1,
                _ => {}
            }
            let queue = c.route.map(|_| usize::from(c.queue.0));
            if let Some(q) = queue {
                dominant[q][class as usize] += 1;
            }
            outcomes.push(Outcome {
                conversation: p.conversation_id(),
                class: class.as_str(),
                ending,
                route: c.route,
                queue: queue.map(|q| self.tenant.queues[q].name.clone()),
            });
        }
        let mut classes = Vec::new();
        let mut all_waits = Vec::new();
        for class in Class::ALL {
            if let Some(t) = tally.classes.get(&class) {
                let mut w = waits.remove(&class).unwrap_or_default();
                all_waits.extend_from_slice(&w);
                let l = left.get(&class).copied().unwrap_or(0);
                let name = class.as_str();
                classes.push(class_summary(name, Some(t.target_ms / 1000), t, l, &mut w));
            }
        }
        let total_left = left.values().sum();
        let total = class_summary("all", None, &tally.total(), total_left, &mut all_waits);
        let mut checks = self.checks.clone();
        checks.open_at_end = (0..self.customers.len())
            .filter(|i| {
                self.router
                    .conversation(conversation(*i))
                    .is_some_and(|v| v.state != State::WrapUp)
            })
            .count() as u64;
        let handoffs = HandoffReason::ALL
            .iter()
            .zip(self.handoffs)
            .map(|(r, n)| (r.as_str(), n))
            .collect();
        Summary {
            scenario: self.scenario.name.clone(),
            description: self.scenario.description.clone(),
            seed: self.scenario.seed,
            scale,
            tenant: self.tenant.id.clone(),
            conversations: self.plan.customers.len() as u64,
            arrivals_end_ms: self.plan.arrivals_end_ms,
            end_ms: self.plan.end_ms,
            classes,
            total,
            handoffs,
            straight_to_queue: self.straight_to_queue,
            peak_waiting: self.peak_waiting.clone(),
            utilisation: self.utilisation(),
            capacity: self.capacity(&dominant),
            timeline: self.timeline.clone(),
            checks,
            outcomes,
        }
    }

    fn utilisation(&self) -> Utilisation {
        let arrivals = &self.scenario.arrivals;
        let half = arrivals.peak() / 2.0;
        let end = self.plan.arrivals_end_ms / 1000;
        let surge: Vec<u64> = (0..end)
            .filter(|s| half > 0.0 && arrivals.rate_at(*s as f64) >= half)
            .collect();
        let (from, to) = match (surge.first(), surge.last()) {
            (Some(a), Some(b)) => (*a, *b + 1),
            _ => (0, end),
        };
        let share = |from: u64, to: u64| {
            let (held, slots) = self
                .load
                .iter()
                .take(to as usize)
                .skip(from as usize)
                .fold((0, 0), |(h, c), (l, k)| (h + l, c + k));
            (slots > 0).then(|| held as f64 / slots as f64)
        };
        Utilisation {
            surge_from_ms: from * 1000,
            surge_to_ms: to * 1000,
            surge: share(from, to),
            arrivals: share(0, end),
        }
    }

    fn capacity(&self, dominant: &[[u64; Class::ALL.len()]]) -> CapacityPlan {
        let seconds = self.entered.first().map_or(0, Vec::len);
        let width = ((PEAK_WINDOW_MS / 1000) as usize)
            .min(self.plan.end_ms.div_ceil(1000) as usize)
            .max(1);
        let per_second: Vec<u64> = (0..seconds)
            .map(|s| self.entered.iter().map(|q| u64::from(q[s])).sum())
            .collect();
        let mut sum: u64 = per_second.iter().take(width).sum();
        let mut best = (0, sum);
        for start in 1..=seconds.saturating_sub(width) {
            sum = sum + per_second[start + width - 1] - per_second[start - 1];
            if sum > best.1 {
                best = (start, sum);
            }
        }
        let (from, to) = (best.0, best.0 + width);
        let patience = self.scenario.customers.patience_secs.mean();
        let mean_patience_secs = patience.is_finite().then_some(patience);
        let wrap_up = f64::from(self.tenant.timing.wrap_up_secs);
        let queues = self
            .tenant
            .queues
            .iter()
            .enumerate()
            .map(|(q, queue)| {
                let arrivals: u64 = self.entered[q]
                    .iter()
                    .take(to)
                    .skip(from)
                    .map(|n| u64::from(*n))
                    .sum();
                let serves = |skills: &BTreeMap<String, u8>| {
                    queue.skills.iter().all(|s| skills.contains_key(s))
                };
                let staffed: Vec<u32> = self
                    .plan
                    .agents
                    .iter()
                    .filter(|a| serves(&a.skills))
                    .map(|a| a.capacity)
                    .collect();
                let groups: Vec<&AgentGroup> = self
                    .scenario
                    .agents
                    .iter()
                    .filter(|g| serves(&g.skills))
                    .collect();
                let concurrency = if staffed.is_empty() {
                    mean(groups.iter().map(|g| f64::from(g.capacity)))
                } else {
                    mean(staffed.iter().map(|c| f64::from(*c)))
                }
                .map_or(1, |c| (c.round() as u32).max(1));
                let (slot_ms, served) = self.slot[q];
                let measured = (served > 0).then(|| slot_ms as f64 / served as f64 / 1000.0);
                let planned = mean(
                    groups
                        .iter()
                        .map(|g| g.accept_ms.mean() / 1000.0 + g.handle_secs.mean() + wrap_up),
                );
                let mean_handle_secs = measured.or(planned);
                let k = (0..Class::ALL.len())
                    .max_by_key(|k| (dominant[q][*k], Reverse(*k)))
                    .unwrap_or(Class::ALL.len() - 1);
                let class = Class::ALL[k];
                let target_secs = self.class_target_secs(class);
                let mut row = QueuePlan {
                    queue: queue.name.clone(),
                    arrivals,
                    arrival_per_sec: arrivals as f64 / width as f64,
                    mean_handle_secs,
                    handle_measured: measured.is_some(),
                    concurrency,
                    class: class.as_str(),
                    target_secs,
                    recommended: None,
                    staffed: staffed.len() as u32,
                    staffed_service_level: None,
                    error: None,
                };
                match mean_handle_secs {
                    None => row.error = Some("no agent serves this queue".to_string()),
                    Some(handle) => {
                        let input = StaffingInput {
                            arrival_per_sec: row.arrival_per_sec,
                            mean_handle_secs: handle,
                            concurrency,
                            target_secs: target_secs as f64,
                            target_service_level: self.tenant.sla.service_level,
                            mean_patience_secs,
                        };
                        match capacity::recommend(&input) {
                            Ok(r) => row.recommended = Some(r.agents),
                            Err(e) => row.error = Some(e.to_string()),
                        }
                        row.staffed_service_level = capacity::evaluate(&input, row.staffed)
                            .ok()
                            .map(|r| r.service_level);
                    }
                }
                row
            })
            .collect();
        CapacityPlan {
            window_from_ms: from as Millis * 1000,
            window_to_ms: (to as Millis * 1000).min(self.plan.end_ms),
            model: if mean_patience_secs.is_some() {
                model_name(Model::ErlangA)
            } else {
                model_name(Model::ErlangC)
            },
            mean_patience_secs,
            service_level: self.tenant.sla.service_level,
            queues,
        }
    }

    fn class_target_secs(&self, class: Class) -> u64 {
        class.sla_ms(&self.tenant.sla) / 1000
    }
}

fn model_name(model: Model) -> &'static str {
    match model {
        Model::ErlangA => "Erlang A",
        Model::ErlangC => "Erlang C",
    }
}

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

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0u32), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / f64::from(n))
}

fn class_summary(
    class: &'static str,
    target_secs: Option<u64>,
    t: &ClassTally,
    left: u64,
    waits: &mut [Millis],
) -> ClassSummary {
    waits.sort_unstable();
    // Nearest rank: the smallest wait at least `p` of the answered waited no longer than.
    let rank = |p: f64| {
        let n = waits.len();
        (n > 0).then(|| {
            let k = ((p * n as f64).ceil() as usize).clamp(1, n);
            waits[k - 1] as f64 / 1000.0
        })
    };
    ClassSummary {
        class,
        target_secs,
        conversations: t.conversations,
        answered: t.answered,
        within_target: t.within_target,
        abandoned: t.abandoned,
        resolved_by_bot: t.resolved_by_bot,
        left,
        unfinished: t.unfinished,
        sla_attainment: t.sla_attainment(),
        sla_attainment_offered: t.sla_attainment_offered(),
        abandonment: t.abandonment(),
        mean_wait_secs: t.mean_wait_secs(),
        p50_wait_secs: rank(0.5),
        p90_wait_secs: rank(0.9),
        max_wait_secs: (t.answered > 0).then(|| t.wait_max_ms as f64 / 1000.0),
    }
}

// ----- the text report -----------------------------------------------------------------------

impl Summary {
    /// The readable report `switchboard simulate` prints.
    pub fn report(&self) -> String {
        let mut out = String::new();
        self.write_report(&mut out);
        out
    }

    /// Whether every self-check held (the report's `Checks ok` line); `switchboard simulate`
    /// exits 1 when not.
    pub fn checks_passed(&self) -> bool {
        self.checks.clean(self.total.unfinished)
    }

    /// The summary as pretty-printed JSON.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }

    fn write_report(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "simulate: {} (seed {}, scale {}, tenant {:?})",
            self.scenario, self.seed, self.scale, self.tenant
        );
        if !self.description.is_empty() {
            let _ = writeln!(out, "  {}", self.description);
        }
        let _ = writeln!(
            out,
            "  {} conversations; arrivals until {}, run until {} (virtual time)",
            self.conversations,
            clock(self.arrivals_end_ms),
            clock(self.end_ms)
        );
        self.write_classes(out);
        self.write_flow(out);
        self.write_capacity(out);
        self.write_timeline(out);
        self.write_checks(out);
    }

    fn write_classes(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "\nWaits for a human, per class. Wait: handoff (or queue at arrival) to agent joined.\n\
             SLA: answered within target / answered; SLA+ab: abandonment counted as a miss."
        );
        let _ = writeln!(
            out,
            "{:<10}{:>7}{:>7}{:>9}{:>8}{:>8}{:>8}{:>8}{:>8}{:>8}{:>14}{:>6}{:>6}{:>7}",
            "class",
            "target",
            "convs",
            "answered",
            "SLA",
            "SLA+ab",
            "mean",
            "p50",
            "p90",
            "max",
            "abandoned",
            "bot",
            "left",
            "unfin"
        );
        for c in self.classes.iter().chain(std::iter::once(&self.total)) {
            let abandoned = match c.abandonment {
                Some(share) => format!("{} {}", c.abandoned, percent(Some(share))),
                None => c.abandoned.to_string(),
            };
            let _ = writeln!(
                out,
                "{:<10}{:>7}{:>7}{:>9}{:>8}{:>8}{:>8}{:>8}{:>8}{:>8}{:>14}{:>6}{:>6}{:>7}",
                c.class,
                c.target_secs.map_or("".to_string(), |t| format!("{t}s")),
                c.conversations,
                c.answered,
                percent(c.sla_attainment),
                percent(c.sla_attainment_offered),
                secs(c.mean_wait_secs),
                secs(c.p50_wait_secs),
                secs(c.p90_wait_secs),
                secs(c.max_wait_secs),
                abandoned,
                c.resolved_by_bot,
                c.left,
                c.unfinished
            );
        }
    }

    fn write_flow(&self, out: &mut String) {
        let reasons: Vec<String> = self
            .handoffs
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        let handed: u64 = self.handoffs.values().sum();
        let _ = writeln!(
            out,
            "\nHandoffs: {handed}{}{}; straight to a queue (no bot free or none asked): {}",
            if reasons.is_empty() { "" } else { " — " },
            reasons.join(", "),
            self.straight_to_queue
        );
        let _ = writeln!(
            out,
            "Peak waiting for a human: {} at {}",
            self.peak_waiting.conversations,
            clock(self.peak_waiting.at_ms)
        );
        let u = &self.utilisation;
        let _ = writeln!(
            out,
            "Human agent utilisation (held slots / slots of available agents): {} over the surge \
             {}–{} (arrival rate ≥ half its peak), {} over all arrivals",
            percent(u.surge),
            clock(u.surge_from_ms),
            clock(u.surge_to_ms),
            percent(u.arrivals)
        );
    }

    fn write_capacity(&self, out: &mut String) {
        let c = &self.capacity;
        let patience = c
            .mean_patience_secs
            .map_or(String::new(), |p| format!(", mean patience {p:.1} s"));
        let _ = writeln!(
            out,
            "\nCapacity planner: busiest {}–{} of conversations entering human queues; {}{}, \
             {:.0}% within the target of each queue's main class",
            clock(c.window_from_ms),
            clock(c.window_to_ms),
            c.model,
            patience,
            c.service_level * 100.0
        );
        let _ = writeln!(
            out,
            "{:<14}{:>11}{:>9}{:>11}{:>16}{:>13}{:>9}{:>15}",
            "queue",
            "arrivals/s",
            "handle",
            "per agent",
            "target",
            "recommended",
            "staffed",
            "SL if staffed"
        );
        for q in &c.queues {
            let handle = match (q.mean_handle_secs, q.handle_measured) {
                (Some(h), true) => format!("{h:.1}s"),
                (Some(h), false) => format!("~{h:.1}s"),
                (None, _) => "—".to_string(),
            };
            let _ = writeln!(
                out,
                "{:<14}{:>11.3}{:>9}{:>11}{:>16}{:>13}{:>9}{:>15}",
                q.queue,
                q.arrival_per_sec,
                handle,
                q.concurrency,
                format!("{} {}s", q.class, q.target_secs),
                q.recommended.map_or("—".to_string(), |n| n.to_string()),
                q.staffed,
                percent(q.staffed_service_level)
            );
        }
        for q in c.queues.iter().filter(|q| q.error.is_some()) {
            let _ = writeln!(
                out,
                "  {}: no recommendation: {}",
                q.queue,
                q.error.as_deref().unwrap_or_default()
            );
        }
        let _ = writeln!(
            out,
            "  handle = offer to end of wrap-up, the time a conversation holds an agent's slot \
             (~ = from the scenario, none measured); agents serving several queues count in each"
        );
    }

    fn write_timeline(&self, out: &mut String) {
        let bucket = self.timeline.len().div_ceil(MAX_TIMELINE_ROWS).max(1);
        let _ = writeln!(
            out,
            "\nTimeline (per {}; waiting = customers waiting for a human at the end)",
            if bucket == 1 {
                "minute".to_string()
            } else {
                format!("{bucket} minutes")
            }
        );
        let _ = writeln!(
            out,
            "{:>7}{:>10}{:>9}{:>10}{:>11}",
            "from", "arrivals", "waiting", "answered", "abandoned"
        );
        for (n, rows) in self.timeline.chunks(bucket).enumerate() {
            let sum = |f: fn(&Minute) -> u64| rows.iter().map(f).sum::<u64>();
            let _ = writeln!(
                out,
                "{:>7}{:>10}{:>9}{:>10}{:>11}",
                clock((n * bucket) as Millis * 60_000),
                sum(|m| m.arrivals),
                rows.last().map_or(0, |m| m.waiting),
                sum(|m| m.answered),
                sum(|m| m.abandoned)
            );
        }
    }

    fn write_checks(&self, out: &mut String) {
        let k = &self.checks;
        let verdict = if self.checks_passed() { "ok" } else { "FAILED" };
        let refused: Vec<String> = k.refused.iter().map(|(c, n)| format!("{c} {n}")).collect();
        let _ = writeln!(
            out,
            "\nChecks {verdict}: router measured {} waits, {} disagree with the tally; {} ending \
             disagreements; refused commands: {}; open in the router at the end: {} (unfinished {})",
            k.router_waits,
            k.wait_disagreements,
            k.ending_disagreements,
            if refused.is_empty() {
                "none".to_string()
            } else {
                refused.join(", ")
            },
            k.open_at_end,
            self.total.unfinished
        );
    }
}

/// `m:ss` of virtual time.
fn clock(ms: Millis) -> String {
    let s = ms / 1000;
    format!("{}:{:02}", s / 60, s % 60)
}

fn percent(share: Option<f64>) -> String {
    share.map_or("—".to_string(), |s| format!("{:.1}%", s * 100.0))
}

fn secs(value: Option<f64>) -> String {
    value.map_or("—".to_string(), |s| format!("{s:.1}s"))
}
