//! Property tests: random command sequences — arrivals (some with an opening message, from
//! several connectors), customer and agent messages, accepts, rejects, timeouts, disconnects,
//! reconnects with another capacity, skills or role, status changes, transfers, closes, bot
//! verdicts, bot handoffs and hand-backs, and stale or racing commands (a late accept, an accept by
//! the wrong agent, a double close, a transfer of an ended conversation) — must never break the
//! router's invariants or the reference oracle's policies (`Router::check_invariants`, with the
//! per-offer audit on), lose a conversation, put a VIP behind a non-VIP, let anyone be overtaken
//! beyond what aging allows, hand a conversation back and forth between bot and human without an
//! agent asking, or give different results for the same input; and once every deadline has passed
//! with room for everyone, nobody may be left waiting or offered.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use common::{customer, default_tenant};
use proptest::prelude::*;
use switchboard_config::TenantConfig;
use switchboard_router::*;

/// Agents 0..11 are humans (more than the 8 refusals a conversation remembers), 11..14 bots.
/// Agent 14 never logs in: commands from it are stray.
const AGENTS: u32 = 14;
const HUMANS: u32 = 11;
const CONVERSATIONS: u64 = 40;
const CONNECTORS: u32 = 3;
/// Conversation ids of the flood property: enough for a queue longer than the 64-entry
/// look-ahead dispatch once had.
const FLOOD_CONVERSATIONS: u64 = 160;

#[derive(Debug, Clone)]
enum Op {
    Arrive {
        id: u64,
        vip_level: u8,
        intent: u8,
        customer: u8,
        order_value: u64,
        connector: u32,
        /// 0 none, 1 a plain first line, 2 "转人工", 3 an angry first line.
        opening: u8,
    },
    Say(u64, i8),
    /// The connector describes the customer again: another VIP level (0: standard) and intent,
    /// so a waiting conversation may change lane and priority.
    Describe(u64, u8, u8),
    /// A customer message from a connector that does not own the conversation.
    WrongConnector(u64),
    Leave(u64),
    ConnectorClose(u64),
    /// Logs in or reconnects; variant 0 is the agent's usual login, others change its capacity
    /// (possibly below what it holds), skills, auto-accept, and for some its role.
    Connect(u32, u8),
    Disconnect(u32),
    Status(u32, u8),
    AcceptNth(usize),
    RejectNth(usize),
    CloseNth(usize),
    CloseTwiceNth(usize),
    TransferNth(usize, u8),
    BotResultNth(usize, bool),
    BotHandoffNth(usize),
    HandBackNth(usize),
    AgentSayNth(usize),
    /// Accept of an offer that was withdrawn (timed out, or the agent left) by the agent it was
    /// made to.
    LateAcceptNth(usize),
    /// Any agent command by any agent (or one never logged in) about any conversation id.
    Stray {
        kind: u8,
        agent: u32,
        id: u64,
    },
    Advance(Millis),
}

fn arrive(ids: u64, vip_odds: u8) -> impl Strategy<Value = Op> {
    (
        0..ids,
        0u8..100,
        0u8..5,
        0u8..8,
        prop_oneof![Just(0u64), 0u64..300_000],
        0..CONNECTORS,
        prop_oneof![3 => Just(0u8), 1 => 1u8..4],
    )
        .prop_map(
            move |(id, v, intent, customer, order_value, connector, opening)| Op::Arrive {
                id,
                vip_level: if v < vip_odds { 1 + intent % 3 } else { 0 },
                intent,
                customer,
                order_value,
                connector,
                opening,
            },
        )
}

/// The general mix. `vip_odds` is the percentage of VIP arrivals; `churn` weighs agents coming
/// and going against everything else.
fn op(ids: u64, vip_odds: u8, churn: u32) -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => arrive(ids, vip_odds),
        3 => (0..ids, -10i8..=10).prop_map(|(id, mood)| Op::Say(id, mood)),
        1 => (0..ids, 0u8..4, 0u8..5).prop_map(|(id, level, intent)| Op::Describe(id, level, intent)),
        1 => (0..ids).prop_map(Op::WrongConnector),
        1 => (0..ids).prop_map(Op::Leave),
        1 => (0..ids).prop_map(Op::ConnectorClose),
        3 * churn => (0..AGENTS, prop_oneof![2 => Just(0u8), 1 => 1u8..10])
            .prop_map(|(a, v)| Op::Connect(a, v)),
        churn => (0..AGENTS).prop_map(Op::Disconnect),
        churn => (0..AGENTS, 0u8..3).prop_map(|(a, s)| Op::Status(a, s)),
        5 => any::<usize>().prop_map(Op::AcceptNth),
        2 => any::<usize>().prop_map(Op::RejectNth),
        4 => any::<usize>().prop_map(Op::CloseNth),
        1 => any::<usize>().prop_map(Op::CloseTwiceNth),
        1 => (any::<usize>(), 0u8..5).prop_map(|(n, t)| Op::TransferNth(n, t)),
        2 => (any::<usize>(), any::<bool>()).prop_map(|(n, r)| Op::BotResultNth(n, r)),
        1 => any::<usize>().prop_map(Op::BotHandoffNth),
        1 => any::<usize>().prop_map(Op::HandBackNth),
        2 => any::<usize>().prop_map(Op::AgentSayNth),
        1 => any::<usize>().prop_map(Op::LateAcceptNth),
        1 => (0u8..9, 0..=AGENTS, 0..ids).prop_map(|(kind, agent, id)| Op::Stray { kind, agent, id }),
        4 => prop_oneof![0u64..2_000, 0u64..40_000].prop_map(Op::Advance),
    ]
}

/// A flood: many arrivals into few agents who mostly reject, with little time passing, so a
/// queue grows past 64 (the look-ahead dispatch once had) and its head fills with conversations
/// its agents refused.
fn flood() -> impl Strategy<Value = Vec<Op>> {
    // Distinct ids, nearly all for the general queue (no intent, or urgent), a few VIPs.
    let arrivals = prop::collection::vec((arrive(FLOOD_CONVERSATIONS, 10), any::<bool>()), 90..150)
        .prop_map(|arrivals| {
            (0u64..)
                .zip(arrivals)
                .map(|(i, (op, urgent))| match op {
                    Op::Arrive {
                        vip_level,
                        customer,
                        order_value,
                        connector,
                        opening,
                        ..
                    } => Op::Arrive {
                        id: i,
                        vip_level,
                        intent: if urgent { 3 } else { 0 },
                        customer,
                        order_value,
                        connector,
                        opening,
                    },
                    other => other,
                })
                .collect::<Vec<_>>()
        });
    // Mostly rejects, with little time passing: the refusals pile up at the head.
    let burst = prop_oneof![
        1 => prop_oneof![3 => Just(0u32), 1 => 1..3u32]
            .prop_flat_map(|a| prop_oneof![Just(0u8), 1u8..10].prop_map(move |v| Op::Connect(a, v))),
        16 => any::<usize>().prop_map(Op::RejectNth),
        1 => any::<usize>().prop_map(Op::AcceptNth),
        1 => any::<usize>().prop_map(Op::CloseNth),
        1 => (1..3u32, 0u8..3).prop_map(|(a, s)| Op::Status(a, s)),
        1 => (0u64..300).prop_map(Op::Advance),
    ];
    // Then cooldowns and timeouts end.
    let after = prop_oneof![
        3 => any::<usize>().prop_map(Op::RejectNth),
        3 => any::<usize>().prop_map(Op::AcceptNth),
        3 => any::<usize>().prop_map(Op::CloseNth),
        2 => (0u64..12_000).prop_map(Op::Advance),
    ];
    (
        arrivals,
        prop::collection::vec(burst, 160..300),
        prop::collection::vec(after, 0..40),
    )
        .prop_map(|(mut ops, burst, after)| {
            ops.extend(burst);
            ops.extend(after);
            ops
        })
}

/// Every human logs in, a few customers arrive, and the agents mostly reject: a conversation is
/// refused by more agents than the `MAX_REFUSALS` it remembers, so the oldest refusers are
/// forgotten and count as never having refused.
fn refusal_storm() -> impl Strategy<Value = Vec<Op>> {
    let storm = prop_oneof![
        10 => any::<usize>().prop_map(Op::RejectNth),
        1 => any::<usize>().prop_map(Op::AcceptNth),
        1 => any::<usize>().prop_map(Op::CloseNth),
        1 => (0..HUMANS).prop_map(Op::Disconnect),
        1 => (0..HUMANS).prop_map(|a| Op::Connect(a, 0)),
        2 => (0u64..1_500).prop_map(Op::Advance),
    ];
    (
        prop::collection::vec(arrive(4, 10), 1..6),
        prop::collection::vec(storm, 40..160),
    )
        .prop_map(|(arrivals, storm)| {
            let mut ops: Vec<Op> = (0..HUMANS).map(|a| Op::Connect(a, 0)).collect();
            ops.extend(arrivals);
            ops.extend(storm);
            ops
        })
}

/// A tenant with short timers so random sequences reach timeouts, grace expiry and wrap-up ends.
fn tenant(reserved_share: f64) -> TenantConfig {
    let mut config = default_tenant();
    config.vip.reserved_share = reserved_share;
    config.timing.offer_timeout_secs = 5;
    config.timing.agent_grace_secs = 8;
    config.timing.wrap_up_secs = 2;
    config.timing.idle_close_secs = 60;
    config.timing.sticky_wait_secs = 3;
    config.timing.max_missed_offers = 2;
    config.timing.refusal_cooldown_secs = 10;
    config
}

const SKILLS: [&[&str]; 5] = [
    &["general"],
    &["general", "vip"],
    &["after_sales"],
    &["general", "after_sales", "vip"],
    &["general"],
];

/// What an agent declares. Variant 0 is its usual login; the others are what a new token may
/// say on a reconnect: another capacity (often below the usual), other skills, auto-accept
/// flipped, and for variants 4 and 9 the other role.
fn login(agent: u32, variant: u8) -> AgentLogin {
    let usual_bot = agent >= HUMANS;
    let flipped = variant % 5 == 4;
    let bot = usual_bot != flipped;
    let v = u32::from(variant);
    let capacity = if variant == 0 {
        1 + agent % 3
    } else {
        1 + (v + agent) % 4
    };
    let skills = if bot && !flipped {
        Vec::new()
    } else {
        SKILLS[(agent + v) as usize % SKILLS.len()]
            .iter()
            .map(|s| (s.to_string(), 1 + ((agent + v) * 3 % 10) as u8))
            .collect()
    };
    AgentLogin {
        role: if bot { Role::Bot } else { Role::Human },
        capacity: if usual_bot && variant == 0 {
            3
        } else {
            capacity
        },
        skills,
        auto_accept: bot || if variant == 0 { agent == 4 } else { v % 3 == 0 },
    }
}

const INTENTS: [Option<&str>; 5] = [
    None,
    Some("refund"),
    Some("complaint"),
    Some("urgent"),
    Some("logistics"),
];

/// What the harness remembers between commands, to aim stale and racing commands and to judge
/// capacity downgrades.
#[derive(Default)]
struct Model {
    /// Conversation ids in play.
    ids: u64,
    /// The connector that opened each open conversation.
    connectors: BTreeMap<ConversationId, ConnectorId>,
    /// Offers withdrawn lately (timed out, or the agent left), newest last.
    withdrawn: Vec<(AgentId, ConversationId)>,
    /// Per agent, what it held when it last reconnected: the only conversations it may hold
    /// beyond its capacity.
    held_at_reconnect: BTreeMap<AgentId, BTreeSet<ConversationId>>,
}

impl Model {
    /// Conversations in a state, in id order, with their agent.
    fn in_state(&self, router: &Router, states: &[State]) -> Vec<(ConversationId, AgentId)> {
        (0..self.ids)
            .map(ConversationId)
            .filter_map(|id| {
                let view = router.conversation(id)?;
                states.contains(&view.state).then_some((id, view.agent?))
            })
            .collect()
    }

    fn nth(
        &self,
        router: &Router,
        states: &[State],
        n: usize,
    ) -> Option<(ConversationId, AgentId)> {
        let list = self.in_state(router, states);
        (!list.is_empty()).then(|| list[n % list.len()])
    }

    fn connector(&self, id: u64) -> ConnectorId {
        self.connectors
            .get(&ConversationId(id))
            .copied()
            .unwrap_or(ConnectorId(1))
    }
}

fn opening(kind: u8) -> Option<Message> {
    match kind {
        1 => Some(Message::text("你好，我的订单 123456789012 还没到")),
        2 => Some(Message::text("转人工")),
        3 => Some(Message {
            text: Arc::from("太差了"),
            sentiment: Some(-0.9),
            id: None,
        }),
        _ => None,
    }
}

fn stray(kind: u8, agent: AgentId, conversation: ConversationId) -> Command {
    match kind {
        0 => Command::Accept {
            agent,
            conversation,
        },
        1 => Command::Reject {
            agent,
            conversation,
        },
        2 => Command::AgentClose {
            agent,
            conversation,
        },
        3 => Command::Transfer {
            agent,
            conversation,
            target: TransferTarget::Queue("general".into()),
        },
        4 => Command::Transfer {
            agent,
            conversation,
            target: TransferTarget::Agent(AgentId((agent.0 + 1) % AGENTS)),
        },
        5 => Command::HandBack {
            agent,
            conversation,
        },
        6 => Command::AgentMessage {
            agent,
            conversation,
            message: Message::text("您好"),
        },
        7 => Command::BotResult {
            agent,
            conversation,
            resolved: false,
        },
        _ => Command::BotHandoff {
            agent,
            conversation,
            reason: "stray".into(),
            summary: None,
        },
    }
}

fn to_commands(router: &Router, model: &Model, op: &Op) -> Vec<Command> {
    let nth = |states: &[State], n: usize| model.nth(router, states, n);
    let one = |command: Option<Command>| command.into_iter().collect();
    match op {
        Op::Arrive {
            id,
            vip_level,
            intent,
            customer: who,
            order_value,
            connector,
            opening: kind,
        } => {
            let mut profile = customer(&format!("customer-{who}"));
            if *vip_level > 0 {
                profile.tier = Tier::Vip(*vip_level);
            }
            profile.intent = INTENTS[*intent as usize].map(str::to_string);
            profile.order_value = (*order_value > 0).then_some(*order_value);
            vec![Command::Arrive {
                conversation: ConversationId(*id),
                connector: ConnectorId(1 + connector),
                profile,
                message: opening(*kind),
            }]
        }
        Op::Say(id, mood) => vec![Command::CustomerMessage {
            connector: model.connector(*id),
            conversation: ConversationId(*id),
            message: match mood {
                // Now and then the customer asks for a person in so many words.
                10 => Message::text("转人工"),
                _ => Message {
                    text: Arc::from("还在吗"),
                    sentiment: Some(f32::from(*mood) / 10.0),
                    id: None,
                },
            },
        }],
        // The customer id may differ from the arrival's: a connector may identify them anew.
        Op::Describe(id, level, intent) => vec![Command::UpdateProfile {
            connector: model.connector(*id),
            conversation: ConversationId(*id),
            update: Box::new(ProfileUpdate {
                customer: Some(CustomerDescription {
                    customer_id: format!("customer-{}", id % 8),
                    name: None,
                    tier: if *level == 0 {
                        Tier::Standard
                    } else {
                        Tier::Vip(*level)
                    },
                    tags: Vec::new(),
                }),
                intent: INTENTS[*intent as usize].map(str::to_string),
                ..ProfileUpdate::default()
            }),
        }],
        Op::WrongConnector(id) => vec![Command::CustomerMessage {
            connector: ConnectorId(1 + (model.connector(*id).0 % CONNECTORS)),
            conversation: ConversationId(*id),
            message: Message::text("喂"),
        }],
        Op::Leave(id) => vec![Command::CustomerLeft {
            connector: model.connector(*id),
            conversation: ConversationId(*id),
        }],
        Op::ConnectorClose(id) => vec![Command::ConnectorClose {
            connector: model.connector(*id),
            conversation: ConversationId(*id),
        }],
        Op::Connect(agent, variant) => vec![Command::AgentConnect {
            agent: AgentId(*agent),
            login: login(*agent, *variant),
        }],
        Op::Disconnect(agent) => vec![Command::AgentDisconnect {
            agent: AgentId(*agent),
        }],
        Op::Status(agent, s) => vec![Command::SetStatus {
            agent: AgentId(*agent),
            status: [
                AgentStatus::Available,
                AgentStatus::Away,
                AgentStatus::Offline,
            ][*s as usize],
            reason: StatusReason::Supervisor,
        }],
        Op::AcceptNth(n) => {
            one(
                nth(&[State::Offered], *n).map(|(conversation, agent)| Command::Accept {
                    agent,
                    conversation,
                }),
            )
        }
        Op::RejectNth(n) => {
            one(
                nth(&[State::Offered], *n).map(|(conversation, agent)| Command::Reject {
                    agent,
                    conversation,
                }),
            )
        }
        Op::CloseNth(n) => {
            one(
                nth(&[State::Assigned], *n).map(|(conversation, agent)| Command::AgentClose {
                    agent,
                    conversation,
                }),
            )
        }
        Op::CloseTwiceNth(n) => match nth(&[State::Assigned, State::WithBot], *n) {
            Some((conversation, agent)) => vec![
                Command::AgentClose {
                    agent,
                    conversation,
                };
                2
            ],
            None => Vec::new(),
        },
        Op::TransferNth(n, t) => one(nth(&[State::Assigned], *n).map(|(conversation, agent)| {
            let target = match t {
                0 => TransferTarget::Queue("general".into()),
                1 => TransferTarget::Queue("after_sales".into()),
                2 => TransferTarget::Queue("vip".into()),
                3 => TransferTarget::Agent(AgentId((agent.0 + 1) % AGENTS)),
                _ => TransferTarget::Agent(AgentId((agent.0 + 3) % HUMANS)),
            };
            Command::Transfer {
                agent,
                conversation,
                target,
            }
        })),
        Op::BotResultNth(n, resolved) => one(nth(&[State::WithBot], *n).map(
            |(conversation, agent)| Command::BotResult {
                agent,
                conversation,
                resolved: *resolved,
            },
        )),
        Op::BotHandoffNth(n) => {
            one(
                nth(&[State::WithBot], *n).map(|(conversation, agent)| Command::BotHandoff {
                    agent,
                    conversation,
                    reason: "cannot help".into(),
                    summary: None,
                }),
            )
        }
        Op::HandBackNth(n) => {
            one(
                nth(&[State::Assigned], *n).map(|(conversation, agent)| Command::HandBack {
                    agent,
                    conversation,
                }),
            )
        }
        Op::AgentSayNth(n) => one(nth(&[State::Assigned, State::WithBot], *n).map(
            |(conversation, agent)| Command::AgentMessage {
                agent,
                conversation,
                message: Message::text("请稍等"),
            },
        )),
        Op::LateAcceptNth(n) => {
            let late = &model.withdrawn;
            one((!late.is_empty()).then(|| {
                let (agent, conversation) = late[n % late.len()];
                Command::Accept {
                    agent,
                    conversation,
                }
            }))
        }
        Op::Stray { kind, agent, id } => {
            vec![stray(*kind, AgentId(*agent), ConversationId(*id))]
        }
        Op::Advance(_) => vec![Command::Tick],
    }
}

/// A finished run: the router, the time it reached and every effect.
struct Run {
    router: Router,
    now: Millis,
    effects: Vec<Effect>,
}

/// Runs a sequence and checks every property after every command.
fn run_checked(config: &TenantConfig, ops: &[Op], ids: u64) -> Result<Run, TestCaseError> {
    let mut router = Router::new(config);
    router.audit_offers();
    let aging = i128::from(router.policy().aging_points_per_minute());
    let mut model = Model {
        ids,
        ..Model::default()
    };
    let mut now: Millis = 0;
    let mut all = Vec::new();
    let mut arrived: BTreeSet<ConversationId> = BTreeSet::new();
    let mut ended: BTreeSet<ConversationId> = BTreeSet::new();
    // Per open conversation: whether it has reached the human side since it last had a bot.
    let mut reached_human: BTreeMap<ConversationId, bool> = BTreeMap::new();
    for op in ops {
        if let Op::Advance(ms) = op {
            now += ms;
        }
        for command in to_commands(&router, &model, op) {
            let arriving = match &command {
                Command::Arrive { conversation, .. } => Some(*conversation),
                _ => None,
            };
            let handing_back = match &command {
                Command::HandBack { conversation, .. } => Some(*conversation),
                _ => None,
            };
            let out = step(&mut router, &mut model, now, command, op, aging)?;
            let refused = out.iter().any(|e| matches!(e, Effect::Refused { .. }));
            if let Some(id) = arriving.filter(|_| !refused) {
                arrived.insert(id);
                ended.remove(&id);
                reached_human.insert(id, false);
            }
            if let Some(id) = handing_back.filter(|_| !refused) {
                reached_human.insert(id, false);
            }
            check_no_loops(&out, handing_back, &mut reached_human)?;
            for effect in &out {
                if let Effect::StateChanged {
                    conversation,
                    state: State::Closed | State::Abandoned,
                    ..
                } = effect
                {
                    ended.insert(*conversation);
                    arrived.remove(conversation);
                    reached_human.remove(conversation);
                }
            }
            // None lost: everything that arrived is open until it is reported closed or abandoned.
            for id in &arrived {
                prop_assert!(
                    router.conversation(*id).is_some(),
                    "{:?} vanished without being reported ended",
                    id
                );
            }
            for id in &ended {
                prop_assert!(
                    router.conversation(*id).is_none() || arrived.contains(id),
                    "{:?} reported ended yet open",
                    id
                );
            }
            all.extend(out);
        }
    }
    Ok(Run {
        router,
        now,
        effects: all,
    })
}

/// Applies one command and checks the router's own invariants, the order of every offer, and
/// what a capacity downgrade may leave; keeps the model up to date.
fn step(
    router: &mut Router,
    model: &mut Model,
    now: Millis,
    command: Command,
    op: &Op,
    aging: i128,
) -> Result<Vec<Effect>, TestCaseError> {
    // A directed transfer's offer skips the queue by design; every other offer of the same
    // command is still held to queue order.
    let directed = match &command {
        Command::Transfer {
            conversation,
            target: TransferTarget::Agent(to),
            ..
        } => Some((*to, *conversation)),
        _ => None,
    };
    let arriving = match &command {
        Command::Arrive {
            conversation,
            connector,
            ..
        } => Some((*conversation, *connector)),
        _ => None,
    };
    if let Command::AgentConnect { agent, .. } = &command {
        if let Some(view) = router.agent(*agent) {
            let held = view.held.iter().copied().collect();
            model.held_at_reconnect.insert(*agent, held);
        }
    }
    let mut out = Vec::new();
    router.apply(now, command, &mut out);
    if let Err(broken) = router.check_invariants() {
        return Err(TestCaseError::fail(format!("after {op:?}: {broken}")));
    }
    let refused = out.iter().any(|e| matches!(e, Effect::Refused { .. }));
    if let Some((id, connector)) = arriving.filter(|_| !refused) {
        model.connectors.insert(id, connector);
    }
    for effect in &out {
        match effect {
            Effect::Offer {
                agent,
                conversation,
                context,
                ..
            } if directed != Some((*agent, *conversation)) => {
                let returning = context.returning_customer;
                check_order(router, *agent, *conversation, returning, now, aging)?;
            }
            Effect::OfferWithdrawn {
                agent,
                conversation,
                reason: WithdrawReason::Timeout | WithdrawReason::AgentGone,
            } => {
                model.withdrawn.push((*agent, *conversation));
                if model.withdrawn.len() > 16 {
                    model.withdrawn.remove(0);
                }
            }
            _ => {}
        }
    }
    // A lowered capacity takes nobody from an agent: above it, an agent holds only what it
    // held when it reconnected, and no offer.
    for id in router.agent_ids() {
        let Some(view) = router.agent(id) else {
            continue;
        };
        if view.load <= view.capacity {
            continue;
        }
        let before = model.held_at_reconnect.get(&id);
        for c in view.held {
            let kept = before.is_some_and(|b| b.contains(c));
            let state = router.conversation(*c).map(|v| v.state);
            prop_assert!(
                kept && state != Some(State::Offered),
                "after {:?}: {:?} holds {} > capacity {} and {:?} ({:?}) was not held before it \
                 reconnected",
                op,
                id,
                view.load,
                view.capacity,
                c,
                state
            );
        }
    }
    Ok(out)
}

/// No loops: once on the human side, only an explicit hand-back returns a conversation to a bot,
/// so a second handoff needs a hand-back in between.
fn check_no_loops(
    out: &[Effect],
    handing_back: Option<ConversationId>,
    reached_human: &mut BTreeMap<ConversationId, bool>,
) -> Result<(), TestCaseError> {
    for effect in out {
        match effect {
            Effect::StateChanged {
                conversation,
                state,
                ..
            } => {
                let human = reached_human.entry(*conversation).or_insert(false);
                match state {
                    State::WithBot if *human && handing_back != Some(*conversation) => {
                        prop_assert!(false, "{:?} went back to a bot unasked", conversation);
                    }
                    State::Waiting | State::Offered | State::Assigned => *human = true,
                    _ => {}
                }
            }
            Effect::Handoff { conversation, .. } => {
                let human = reached_human.get(conversation).copied().unwrap_or(false);
                prop_assert!(
                    !human,
                    "{:?} handed off again without a hand-back",
                    conversation
                );
            }
            _ => {}
        }
    }
    Ok(())
}

/// An offer must not skip anyone the agent could have taken who ranks ahead: no VIP behind a
/// non-VIP, no rescued conversation behind a fresh one, and within a lane nobody overtaken by a
/// conversation whose aged priority is lower (the starvation bound). A returning customer offered
/// to their previous agent skips the line by design, but never ahead of a VIP.
fn check_order(
    router: &Router,
    agent: AgentId,
    offered: ConversationId,
    returning: bool,
    now: Millis,
    aging: i128,
) -> Result<(), TestCaseError> {
    let Some(y) = router.conversation(offered) else {
        return Ok(());
    };
    // Bots take new conversations before any queue; only offers to humans follow queue order.
    if y.agent != Some(agent) || y.held_for.is_some() || y.state == State::WithBot {
        return Ok(());
    }
    let effective =
        |p: u32, since: Millis| i128::from(p) * 60_000 + aging * i128::from(now - since);
    for x_id in router.waiting(y.queue) {
        let Some(x) = router.conversation(x_id) else {
            continue;
        };
        if router.refusal_holds_back(x_id, agent) {
            continue;
        }
        if x.lane == Lane::Vip && y.lane != Lane::Vip {
            return Err(TestCaseError::fail(format!(
                "non-VIP {offered:?} offered to {agent:?} while VIP {x_id:?} waits in the same queue"
            )));
        }
        if x.lane != y.lane || returning {
            continue;
        }
        if x.rescued && !y.rescued {
            return Err(TestCaseError::fail(format!(
                "{offered:?} offered while rescued {x_id:?} waits"
            )));
        }
        if x.rescued == y.rescued
            && effective(x.priority, x.waiting_since) > effective(y.priority, y.waiting_since)
        {
            return Err(TestCaseError::fail(format!(
                "{offered:?} (p={}, since {}) overtook {x_id:?} (p={}, since {}) at {now}",
                y.priority, y.waiting_since, x.priority, x.waiting_since
            )));
        }
    }
    Ok(())
}

/// A tenant that never closes an idle conversation, so the only way out of waiting is service.
fn tenant_without_idle_close() -> TenantConfig {
    let mut config = tenant(0.3);
    config.timing.idle_close_secs = 0;
    config
}

/// Liveness: after any sequence, three fresh humans who have every skill, accept automatically
/// and have room for everyone log in, and time passes every deadline. Then the router must be
/// quiescent: no timer pending, no agent in its grace period, and every open conversation
/// assigned to a connected agent or with a bot; none waits in a queue, none is held for a
/// previous agent, none sits offered (an offer to an agent who does not answer times out and
/// goes to a fresh agent), none is in wrap-up.
fn settles(ops: &[Op]) -> Result<(), TestCaseError> {
    let Run {
        mut router,
        mut now,
        ..
    } = run_checked(&tenant_without_idle_close(), ops, CONVERSATIONS)?;
    let mut out = Vec::new();
    for fresh in 100..103 {
        let login = AgentLogin {
            role: Role::Human,
            capacity: 100,
            skills: ["general", "after_sales", "vip"]
                .iter()
                .map(|s| (s.to_string(), 5))
                .collect(),
            auto_accept: true,
        };
        router.apply(
            now,
            Command::AgentConnect {
                agent: AgentId(fresh),
                login,
            },
            &mut out,
        );
    }
    // Every deadline is a few timeouts away; an hour is far past them all.
    let horizon = now + 3_600_000;
    while let Some(at) = router.next_deadline().filter(|at| *at <= horizon) {
        now = now.max(at);
        router.apply(now, Command::Tick, &mut out);
        if let Err(broken) = router.check_invariants() {
            return Err(TestCaseError::fail(format!("settling, t={now}: {broken}")));
        }
    }
    prop_assert_eq!(
        router.next_deadline(),
        None,
        "a timer is still pending at t={}",
        now
    );
    for id in router.agent_ids() {
        let view = router.agent(id).expect("listed");
        prop_assert!(view.connected, "{:?} is still in its grace period", id);
    }
    for id in (0..CONVERSATIONS).map(ConversationId) {
        let Some(view) = router.conversation(id) else {
            continue;
        };
        prop_assert!(
            matches!(view.state, State::Assigned | State::WithBot),
            "{:?} is {:?} (held for {:?}) after every deadline passed",
            id,
            view.state,
            view.held_for
        );
    }
    Ok(())
}

/// `cases` unless `PROPTEST_CASES` says otherwise: a mutation run asks for fewer (docs/testing.md),
/// a long soak for more.
fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

// Case counts keep the file under a couple of minutes in a debug build: the reference oracle
// walks every waiting conversation against every free agent after every command.
proptest! {
    #![proptest_config(cases(300))]

    #[test]
    fn invariants_hold_with_a_vip_reserve(
        ops in prop::collection::vec(op(CONVERSATIONS, 25, 1), 1..250)
    ) {
        run_checked(&tenant(0.3), &ops, CONVERSATIONS)?;
    }

    #[test]
    fn invariants_hold_without_a_reserve(
        ops in prop::collection::vec(op(CONVERSATIONS, 25, 1), 1..250)
    ) {
        run_checked(&tenant(0.0), &ops, CONVERSATIONS)?;
    }

    /// Half the customers VIP, a large reserve, and agents logging in, out, away and back with
    /// other capacities all the time.
    #[test]
    fn the_vip_reserve_holds_while_agents_churn(
        ops in prop::collection::vec(op(CONVERSATIONS, 50, 4), 1..250)
    ) {
        run_checked(&tenant(0.5), &ops, CONVERSATIONS)?;
    }

    #[test]
    fn same_commands_at_the_same_times_give_the_same_effects(
        ops in prop::collection::vec(op(CONVERSATIONS, 25, 1), 1..150)
    ) {
        let first = run_checked(&tenant(0.2), &ops, CONVERSATIONS)?.effects;
        let second = run_checked(&tenant(0.2), &ops, CONVERSATIONS)?.effects;
        prop_assert_eq!(format!("{first:?}"), format!("{second:?}"));
    }

    #[test]
    fn once_every_deadline_has_passed_with_room_for_all_nobody_waits_or_sits_offered(
        ops in prop::collection::vec(op(CONVERSATIONS, 25, 1), 1..200)
    ) {
        settles(&ops)?;
    }
}

proptest! {
    #![proptest_config(cases(96))]

    /// Queues longer than 64 (the old look-ahead), heads full of conversations their few agents
    /// refused: nobody may be left waiting whom a free agent may take.
    #[test]
    fn a_queue_longer_than_the_look_ahead_is_still_served(ops in flood()) {
        run_checked(&tenant(0.1), &ops, FLOOD_CONVERSATIONS)?;
    }

    #[test]
    fn a_conversation_refused_by_more_agents_than_it_remembers_is_still_served(
        ops in refusal_storm()
    ) {
        run_checked(&tenant(0.1), &ops, 4)?;
    }
}
