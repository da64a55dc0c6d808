//! Property tests: random command sequences — arrivals, messages, accepts, rejects, timeouts,
//! disconnects, reconnects, status changes, transfers, closes, bot verdicts, bot handoffs and
//! hand-backs — must never break the router's invariants, lose a conversation, put a VIP behind a
//! non-VIP, let anyone be overtaken beyond what aging allows, hand a conversation back and forth
//! between bot and human without an agent asking, or give different results for the same input.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use common::router::{customer, default_tenant};
use proptest::prelude::*;
use switchboard::config::TenantConfig;
use switchboard::router::*;

/// Agents 0..5 are humans, 5..7 bots.
const AGENTS: u32 = 7;
const HUMANS: u32 = 5;
const CONVERSATIONS: u64 = 40;

#[derive(Debug, Clone)]
enum Op {
    Arrive {
        id: u64,
        vip_level: u8,
        intent: u8,
        customer: u8,
        order_value: u64,
    },
    Say(u64, i8),
    Leave(u64),
    ConnectorClose(u64),
    Connect(u32),
    Disconnect(u32),
    Status(u32, u8),
    AcceptNth(usize),
    RejectNth(usize),
    CloseNth(usize),
    TransferNth(usize, u8),
    BotResultNth(usize, bool),
    BotHandoffNth(usize),
    HandBackNth(usize),
    Advance(Millis),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..CONVERSATIONS, 0u8..4, 0u8..5, 0u8..8, prop_oneof![Just(0u64), 0u64..300_000])
            .prop_map(|(id, v, intent, customer, order_value)| Op::Arrive {
                id,
                vip_level: if v == 3 { 1 + intent % 3 } else { 0 },
                intent,
                customer,
                order_value,
            }),
        3 => (0..CONVERSATIONS, -10i8..=10).prop_map(|(id, mood)| Op::Say(id, mood)),
        1 => (0..CONVERSATIONS).prop_map(Op::Leave),
        1 => (0..CONVERSATIONS).prop_map(Op::ConnectorClose),
        3 => (0..AGENTS).prop_map(Op::Connect),
        1 => (0..AGENTS).prop_map(Op::Disconnect),
        1 => (0..AGENTS, 0u8..3).prop_map(|(a, s)| Op::Status(a, s)),
        5 => any::<usize>().prop_map(Op::AcceptNth),
        2 => any::<usize>().prop_map(Op::RejectNth),
        4 => any::<usize>().prop_map(Op::CloseNth),
        1 => (any::<usize>(), 0u8..4).prop_map(|(n, t)| Op::TransferNth(n, t)),
        2 => (any::<usize>(), any::<bool>()).prop_map(|(n, r)| Op::BotResultNth(n, r)),
        1 => any::<usize>().prop_map(Op::BotHandoffNth),
        1 => any::<usize>().prop_map(Op::HandBackNth),
        4 => prop_oneof![0u64..2_000, 0u64..40_000].prop_map(Op::Advance),
    ]
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

/// What each agent declares, fixed per case so reconnects keep the same capacity.
fn login(agent: u32) -> AgentLogin {
    if agent >= HUMANS {
        return AgentLogin {
            role: Role::Bot,
            capacity: 3,
            skills: Vec::new(),
            auto_accept: true,
        };
    }
    const SKILLS: [&[&str]; 5] = [
        &["general"],
        &["general", "vip"],
        &["after_sales"],
        &["general", "after_sales", "vip"],
        &["general"],
    ];
    AgentLogin {
        role: Role::Human,
        capacity: 1 + agent % 3,
        skills: SKILLS[agent as usize % SKILLS.len()]
            .iter()
            .map(|s| (s.to_string(), 1 + (agent * 3 % 10) as u8))
            .collect(),
        auto_accept: agent == 4,
    }
}

const INTENTS: [Option<&str>; 5] = [
    None,
    Some("refund"),
    Some("complaint"),
    Some("urgent"),
    Some("logistics"),
];

/// Conversations in a state, in id order, with their agent.
fn in_state(router: &Router, state: State) -> Vec<(ConversationId, AgentId)> {
    let mut found: Vec<_> = (0..CONVERSATIONS)
        .map(ConversationId)
        .filter_map(|id| {
            let view = router.conversation(id)?;
            (view.state == state).then_some((id, view.agent?))
        })
        .collect();
    found.sort();
    found
}

fn to_command(router: &Router, op: &Op) -> Option<Command> {
    let nth = |state, n: usize| {
        let list = in_state(router, state);
        (!list.is_empty()).then(|| list[n % list.len()])
    };
    let connector = ConnectorId(1);
    Some(match op {
        Op::Arrive {
            id,
            vip_level,
            intent,
            customer: who,
            order_value,
        } => {
            let mut profile = customer(&format!("customer-{who}"));
            if *vip_level > 0 {
                profile.tier = Tier::Vip(*vip_level);
            }
            profile.intent = INTENTS[*intent as usize].map(str::to_string);
            profile.order_value = (*order_value > 0).then_some(*order_value);
            Command::Arrive {
                conversation: ConversationId(*id),
                connector,
                profile,
                message: None,
            }
        }
        Op::Say(id, mood) => Command::CustomerMessage {
            connector,
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
        },
        Op::Leave(id) => Command::CustomerLeft {
            connector,
            conversation: ConversationId(*id),
        },
        Op::ConnectorClose(id) => Command::ConnectorClose {
            connector,
            conversation: ConversationId(*id),
        },
        Op::Connect(agent) => Command::AgentConnect {
            agent: AgentId(*agent),
            login: login(*agent),
        },
        Op::Disconnect(agent) => Command::AgentDisconnect {
            agent: AgentId(*agent),
        },
        Op::Status(agent, s) => Command::SetStatus {
            agent: AgentId(*agent),
            status: [
                AgentStatus::Available,
                AgentStatus::Away,
                AgentStatus::Offline,
            ][*s as usize],
            reason: StatusReason::Supervisor,
        },
        Op::AcceptNth(n) => {
            let (conversation, agent) = nth(State::Offered, *n)?;
            Command::Accept {
                agent,
                conversation,
            }
        }
        Op::RejectNth(n) => {
            let (conversation, agent) = nth(State::Offered, *n)?;
            Command::Reject {
                agent,
                conversation,
            }
        }
        Op::CloseNth(n) => {
            let (conversation, agent) = nth(State::Assigned, *n)?;
            Command::AgentClose {
                agent,
                conversation,
            }
        }
        Op::TransferNth(n, t) => {
            let (conversation, agent) = nth(State::Assigned, *n)?;
            let target = match t {
                0 => TransferTarget::Queue("general".into()),
                1 => TransferTarget::Queue("after_sales".into()),
                2 => TransferTarget::Queue("vip".into()),
                _ => TransferTarget::Agent(AgentId((agent.0 + 1) % AGENTS)),
            };
            Command::Transfer {
                agent,
                conversation,
                target,
            }
        }
        Op::BotResultNth(n, resolved) => {
            let (conversation, agent) = nth(State::WithBot, *n)?;
            Command::BotResult {
                agent,
                conversation,
                resolved: *resolved,
            }
        }
        Op::BotHandoffNth(n) => {
            let (conversation, agent) = nth(State::WithBot, *n)?;
            Command::BotHandoff {
                agent,
                conversation,
                reason: "cannot help".into(),
                summary: None,
            }
        }
        Op::HandBackNth(n) => {
            let (conversation, agent) = nth(State::Assigned, *n)?;
            Command::HandBack {
                agent,
                conversation,
            }
        }
        Op::Advance(_) => Command::Tick,
    })
}

/// Runs a sequence and checks every property after every command. Returns all effects.
fn run_checked(config: &TenantConfig, ops: &[Op]) -> Result<Vec<Effect>, TestCaseError> {
    let mut router = Router::new(config);
    let aging = i128::from(router.policy().aging_points_per_minute());
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
        let Some(command) = to_command(&router, op) else {
            continue;
        };
        let directed = matches!(
            command,
            Command::Transfer {
                target: TransferTarget::Agent(_),
                ..
            }
        );
        let arriving = match &command {
            Command::Arrive { conversation, .. } => Some(*conversation),
            _ => None,
        };
        let handing_back = match &command {
            Command::HandBack { conversation, .. } => Some(*conversation),
            _ => None,
        };
        let mut out = Vec::new();
        router.apply(now, command, &mut out);

        if let Err(broken) = router.check_invariants() {
            return Err(TestCaseError::fail(format!("after {op:?}: {broken}")));
        }
        let refused = out.iter().any(|e| matches!(e, Effect::Refused { .. }));
        if let Some(id) = arriving.filter(|_| !refused) {
            arrived.insert(id);
            ended.remove(&id);
            reached_human.insert(id, false);
        }
        if let Some(id) = handing_back.filter(|_| !refused) {
            reached_human.insert(id, false);
        }
        for effect in &out {
            // No loops: once on the human side, only an explicit hand-back returns it to a bot,
            // so a second handoff needs a hand-back in between.
            if let Effect::StateChanged {
                conversation,
                state,
                ..
            } = effect
            {
                let human = reached_human.entry(*conversation).or_insert(false);
                match state {
                    State::WithBot if *human && handing_back != Some(*conversation) => {
                        prop_assert!(false, "{:?} went back to a bot unasked", conversation);
                    }
                    State::Waiting | State::Offered | State::Assigned => *human = true,
                    _ => {}
                }
            }
            if let Effect::Handoff { conversation, .. } = effect {
                let human = reached_human.get(conversation).copied().unwrap_or(false);
                prop_assert!(
                    !human,
                    "{:?} handed off again without a hand-back",
                    conversation
                );
            }
            match effect {
                Effect::StateChanged {
                    conversation,
                    state: State::Closed | State::Abandoned,
                    ..
                } => {
                    ended.insert(*conversation);
                }
                Effect::Offer {
                    agent,
                    conversation,
                    context,
                    ..
                } if !directed => {
                    let returning = context.returning_customer;
                    check_order(&router, *agent, *conversation, returning, now, aging)?;
                }
                _ => {}
            }
        }
        // None lost: everything that arrived is open or was reported closed or abandoned.
        for id in &arrived {
            let open = router.conversation(*id).is_some();
            prop_assert!(
                open != ended.contains(id),
                "{:?} is open: {}, reported ended: {}",
                id,
                open,
                ended.contains(id)
            );
        }
        all.extend(out);
    }
    Ok(all)
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_with_a_vip_reserve(ops in prop::collection::vec(op(), 1..250)) {
        run_checked(&tenant(0.3), &ops)?;
    }

    #[test]
    fn invariants_hold_without_a_reserve(ops in prop::collection::vec(op(), 1..250)) {
        run_checked(&tenant(0.0), &ops)?;
    }

    #[test]
    fn same_commands_at_the_same_times_give_the_same_effects(
        ops in prop::collection::vec(op(), 1..150)
    ) {
        let first = run_checked(&tenant(0.2), &ops)?;
        let second = run_checked(&tenant(0.2), &ops)?;
        prop_assert_eq!(format!("{first:?}"), format!("{second:?}"));
    }
}
