//! One readable scenario per routing policy: commands in, expected effects out.

mod common;

use common::*;
use switchboard_config::TenantConfig;
use switchboard_router::*;

#[test]
fn an_arrival_is_offered_to_a_free_agent_and_accepting_assigns_it() {
    let mut s = Script::default_tenant();
    s.agent(1, &["general"], 2);
    let fx = s.arrive(10, customer("c-10"));
    assert_eq!(offers(&fx), vec![(a(1), c(10))]);
    assert_eq!(s.state(10), Some(State::Offered));

    s.advance(2_000);
    let fx = s.accept(1, 10);
    assert_eq!(s.state(10), Some(State::Assigned));
    assert!(fx.contains(&Effect::AgentJoined {
        connector: CONNECTOR,
        conversation: c(10),
        agent: a(1)
    }));
    let observed = fx.iter().find_map(|e| match e {
        Effect::WaitObserved {
            actual_ms, sla_met, ..
        } => Some((*actual_ms, *sla_met)),
        _ => None,
    });
    assert_eq!(
        observed,
        Some((2_000, true)),
        "wait runs from arrival to accept"
    );
}

#[test]
fn routing_rules_pick_the_queue_and_unmatched_go_to_the_default() {
    let mut s = Script::default_tenant();
    let policy = s.router.policy().clone();
    let general = policy.queue_named("general").unwrap();
    let after_sales = policy.queue_named("after_sales").unwrap();
    let vip_queue = policy.queue_named("vip").unwrap();
    s.arrive(1, customer("x"));
    s.arrive(2, with_intent("y", "refund"));
    s.arrive(3, vip("z", 1));
    let queue = |s: &Script, id| s.router.conversation(c(id)).unwrap().queue;
    assert_eq!(queue(&s, 1), general);
    assert_eq!(queue(&s, 2), after_sales);
    assert_eq!(queue(&s, 3), vip_queue);
}

#[test]
fn only_agents_with_every_skill_of_the_queue_are_offered() {
    let mut s = Script::default_tenant();
    s.agent(1, &["general"], 5); // lacks "vip"
    let fx = s.arrive(1, vip("v", 2));
    assert!(offers(&fx).is_empty(), "the vip queue needs general + vip");
    let fx = s.agent(2, &["general", "vip"], 5);
    assert_eq!(offers(&fx), vec![(a(2), c(1))]);
}

#[test]
fn a_slot_freed_in_one_queue_serves_a_customer_waiting_in_another_of_the_agents_queues() {
    let mut config = default_tenant();
    config.timing.wrap_up_secs = 0;
    let mut s = Script::new(&config);
    s.agent(1, &["general", "after_sales"], 1);
    s.arrive(1, customer("asks"));
    s.accept(1, 1);
    assert!(offers(&s.arrive(2, with_intent("returns", "refund"))).is_empty());
    assert_ne!(
        s.router.conversation(c(2)).map(|v| v.queue),
        s.router.conversation(c(1)).map(|v| v.queue),
        "two queues"
    );
    let fx = s.close(1, 1);
    assert_eq!(offers(&fx), vec![(a(1), c(2))]);
}

#[test]
fn an_agent_never_gets_more_than_their_capacity() {
    let mut s = Script::default_tenant();
    s.agent(1, &["general"], 2);
    for id in 1..=3 {
        s.arrive(id, customer(&format!("c{id}")));
    }
    assert_eq!(s.load(1), 2);
    assert_eq!(s.state(3), Some(State::Waiting));
}

#[test]
fn assignment_prefers_lowest_utilisation_then_longest_idle_then_skill_level() {
    let mut config = default_tenant();
    config.vip.reserved_share = 0.0;
    let mut s = Script::new(&config);
    s.login(1, Role::Human, &["general"], 3, 4, true);
    s.login(2, Role::Human, &["general"], 9, 4, true);
    // Both idle and never offered: the higher skill level wins the tie.
    assert_eq!(offers(&s.arrive(1, customer("a"))), vec![(a(2), c(1))]);
    // Agent 2 is now at 1/4, agent 1 at 0/4: lower utilisation wins over skill.
    s.advance(10);
    assert_eq!(offers(&s.arrive(2, customer("b"))), vec![(a(1), c(2))]);
    // Both at 1/4: agent 2 was offered longer ago.
    s.advance(10);
    assert_eq!(offers(&s.arrive(3, customer("c"))), vec![(a(2), c(3))]);
    // Utilisation is a ratio, not a count: 1/4 beats 1/2.
    s.login(3, Role::Human, &["general"], 5, 2, true);
    s.advance(10);
    assert_eq!(offers(&s.arrive(4, customer("d"))), vec![(a(3), c(4))]);
    s.advance(10);
    assert_eq!(offers(&s.arrive(5, customer("e"))), vec![(a(1), c(5))]);
}

#[test]
fn a_vip_is_served_before_standard_customers_who_waited_longer() {
    let mut s = one_queue_no_reserve_no_wrap_up();
    s.agent(1, &["general"], 1);
    s.arrive(1, customer("busy"));
    s.accept(1, 1);
    for id in 2..=5 {
        s.advance(60_000);
        s.arrive(id, customer(&format!("std{id}")));
    }
    s.advance(1_000);
    s.arrive(9, vip("boss", 1));
    let fx = s.close(1, 1);
    assert_eq!(
        offers(&fx),
        vec![(a(1), c(9))],
        "the VIP overtakes four who waited minutes"
    );
}

#[test]
fn a_waiting_customer_described_again_as_vip_takes_the_slot_the_reserve_kept() {
    let mut config = default_tenant();
    config.routes.clear(); // everyone in "general"
    config.vip.reserved_share = 0.5;
    let mut s = Script::new(&config);
    s.agent(1, &["general"], 2);
    s.arrive(1, customer("first"));
    s.accept(1, 1);
    // One of the agent's two slots is kept for VIPs: a standard customer waits.
    assert!(offers(&s.arrive(2, customer("later"))).is_empty());
    assert_eq!(s.state(2), Some(State::Waiting));
    // The connector learns that this customer is a VIP: the kept slot is theirs at once.
    let fx = s.run(Command::UpdateProfile {
        connector: CONNECTOR,
        conversation: c(2),
        update: Box::new(ProfileUpdate {
            customer: Some(CustomerDescription {
                customer_id: "later".to_string(),
                name: None,
                tier: Tier::Vip(1),
                tags: Vec::new(),
            }),
            ..ProfileUpdate::default()
        }),
    });
    assert!(refusals(&fx).is_empty());
    assert_eq!(offers(&fx), vec![(a(1), c(2))]);
    assert_eq!(s.router.conversation(c(2)).map(|v| v.lane), Some(Lane::Vip));
}

#[test]
fn an_agent_declaring_no_capacity_or_more_than_the_maximum_is_refused() {
    let mut s = Script::default_tenant();
    for capacity in [0, switchboard_config::MAX_CAPACITY + 1] {
        let fx = s.agent(1, &["general"], capacity);
        assert_eq!(
            refusals(&fx),
            vec![RefusalCode::InvalidCapacity],
            "{capacity}"
        );
        assert!(s.router.agent(a(1)).is_none(), "{capacity}: not logged in");
    }
    let fx = s.agent(1, &["general"], switchboard_config::MAX_CAPACITY);
    assert!(refusals(&fx).is_empty());
    assert_eq!(
        s.router.agent(a(1)).map(|v| v.capacity),
        Some(switchboard_config::MAX_CAPACITY)
    );
}

#[test]
fn the_vip_reserve_keeps_a_slot_free_for_the_next_vip() {
    let mut config = default_tenant();
    config.routes.clear();
    config.vip.reserved_share = 0.1;
    let mut s = Script::new(&config);
    for id in 1..=10 {
        s.login(id, Role::Human, &["general"], 5, 1, true);
    }
    for id in 1..=10 {
        s.arrive(id, customer(&format!("std{id}")));
    }
    // 10 slots, 10% reserved: nine standard customers are served, the tenth waits.
    let served = (1..=10)
        .filter(|id| s.state(*id) == Some(State::Assigned))
        .count();
    assert_eq!(served, 9);
    assert_eq!(s.state(10), Some(State::Waiting));
    // A VIP arriving mid-surge is served at once from the reserve.
    let fx = s.arrive(100, vip("vip", 1));
    assert_eq!(offers(&fx).len(), 1);
    assert_eq!(s.state(100), Some(State::Assigned));
}

#[test]
fn aging_lets_a_long_wait_beat_a_slightly_higher_priority_newcomer() {
    let mut config = one_queue_no_reserve_config();
    config.timing.wrap_up_secs = 0;
    config.priority.aging_points_per_minute = 10;
    config.priority.high_value_points = 20;
    config.priority.complaint_points = 50;
    let mut s = Script::new(&config);
    s.agent(1, &["general"], 1);
    s.arrive(1, customer("busy"));
    s.accept(1, 1);

    s.arrive(2, customer("patient")); // priority 0
    s.advance(3 * 60_000); // +30 points of aging
    let mut rich = customer("rich");
    rich.order_value = Some(500_000); // +20 points, but 3 minutes later
    s.arrive(3, rich);
    s.arrive(4, with_intent("angry", "complaint")); // +50 points: overtakes
    let fx = s.close(1, 1);
    assert_eq!(offers(&fx), vec![(a(1), c(4))]);
    s.accept(1, 4);
    let fx = s.close(1, 4);
    assert_eq!(
        offers(&fx),
        vec![(a(1), c(2))],
        "30 points of waiting beat 20 of order value"
    );
}

#[test]
fn an_unanswered_offer_moves_on_and_three_misses_set_the_agent_away() {
    let mut s = one_queue_no_reserve();
    s.agent(1, &["general"], 5);
    s.arrive(1, customer("a"));
    s.advance(1_000);
    s.agent(2, &["general"], 5);
    // Offer timeout is 15 s: the offer leaves agent 1 for agent 2.
    let fx = s.advance(15_000);
    assert!(fx.contains(&Effect::OfferWithdrawn {
        agent: a(1),
        conversation: c(1),
        reason: WithdrawReason::Timeout
    }));
    assert_eq!(offers(&fx), vec![(a(2), c(1))]);
    s.accept(2, 1);
    // Two more misses in a row set agent 1 away, and they are told why.
    for id in [2, 3] {
        s.run(Command::SetStatus {
            agent: a(2),
            status: AgentStatus::Away,
            reason: StatusReason::Requested,
        });
        assert_eq!(offers(&s.arrive(id, customer("b"))), vec![(a(1), c(id))]);
        let fx = s.advance(15_000);
        if id == 3 {
            assert!(fx.contains(&Effect::AgentStatusChanged {
                agent: a(1),
                status: AgentStatus::Away,
                reason: StatusReason::MissedOffers
            }));
        }
        s.run(Command::SetStatus {
            agent: a(2),
            status: AgentStatus::Available,
            reason: StatusReason::Requested,
        });
    }
    assert_eq!(s.router.agent(a(1)).unwrap().status, AgentStatus::Away);
}

/// Everyone in "general", no VIP reserve.
fn one_queue_no_reserve_config() -> TenantConfig {
    let mut config = default_tenant();
    config.routes.clear();
    config.vip.reserved_share = 0.0;
    config
}

fn one_queue_no_reserve() -> Script {
    Script::new(&one_queue_no_reserve_config())
}

/// As [`one_queue_no_reserve`], and a close frees the slot at once (no wrap-up).
fn one_queue_no_reserve_no_wrap_up() -> Script {
    let mut config = one_queue_no_reserve_config();
    config.timing.wrap_up_secs = 0;
    Script::new(&config)
}

#[test]
fn a_rejected_offer_goes_to_someone_who_never_refused_it_first() {
    let mut s = one_queue_no_reserve();
    s.agent(1, &["general"], 5);
    s.arrive(1, customer("a"));
    s.agent(2, &["general"], 5);
    let fx = s.reject(1, 1);
    assert_eq!(offers(&fx), vec![(a(2), c(1))]);
    let fx = s.reject(2, 1);
    assert!(offers(&fx).is_empty(), "both refused it just now: it waits");
    assert_eq!(s.state(1), Some(State::Waiting));
    s.advance(29_000);
    let fx = s.agent(3, &["general"], 5);
    assert_eq!(offers(&fx), vec![(a(3), c(1))]);
    assert_eq!(refusals(&s.accept(1, 1)), vec![RefusalCode::NotOffered]);
    // Agent 3 refuses too, once the first two refusals' cooldown (30 s) ran out: the customer
    // goes back to one of them rather than wait for a fourth agent.
    s.advance(1_000);
    let fx = s.reject(3, 1);
    let offered = offers(&fx);
    assert_eq!(offered.len(), 1, "offered again at once: {fx:?}");
    assert_ne!(
        offered[0].0,
        a(3),
        "not to the agent who refused a moment ago"
    );
}

#[test]
fn a_free_agent_is_offered_the_first_customer_it_has_not_refused_however_many_it_refused() {
    let mut s = one_queue_no_reserve();
    s.agent(1, &["general"], 1);
    for id in 1..=80 {
        s.arrive(id, customer(&format!("c-{id}")));
    }
    // Agent 1 rejects 70 in a row within the cooldown; each time the next one it has not
    // refused is offered, however far down the queue it is.
    for expected in 1..=70 {
        assert_eq!(
            s.state(expected),
            Some(State::Offered),
            "offer number {expected}"
        );
        s.reject(1, expected);
    }
    assert_eq!(s.state(71), Some(State::Offered));
}

#[test]
fn a_lone_agent_who_rejects_is_offered_it_again_after_the_cooldown() {
    let mut s = one_queue_no_reserve();
    s.agent(1, &["general"], 5);
    s.arrive(1, customer("night shift"));
    assert!(offers(&s.reject(1, 1)).is_empty());
    assert!(
        offers(&s.advance(29_999)).is_empty(),
        "held back for the cooldown"
    );
    assert_eq!(s.state(1), Some(State::Waiting));
    let fx = s.advance(1);
    assert_eq!(
        offers(&fx),
        vec![(a(1), c(1))],
        "offered again once it ends"
    );
    s.accept(1, 1);
    assert_eq!(s.state(1), Some(State::Assigned));
}

#[test]
fn a_second_offer_to_the_same_agent_gets_its_own_full_timeout() {
    let mut config = one_queue_no_reserve_config();
    config.timing.offer_timeout_secs = 60;
    config.timing.refusal_cooldown_secs = 30;
    let mut s = Script::new(&config);
    s.agent(1, &["general"], 5);
    s.arrive(1, customer("night shift"));
    s.reject(1, 1);
    // Offered again when the 30 s cooldown ends, while the first offer's deadline (60 s after
    // it) is still ahead: that deadline belongs to the rejected offer, not to this one.
    assert_eq!(offers(&s.advance(30_000)), vec![(a(1), c(1))]);
    let fx = s.advance(31_000);
    assert!(
        withdrawals(&fx).is_empty(),
        "the old offer's deadline passed"
    );
    assert_eq!(s.state(1), Some(State::Offered));
    let fx = s.advance(29_000);
    assert_eq!(
        withdrawals(&fx),
        vec![(a(1), c(1), WithdrawReason::Timeout)],
        "60 s after the second offer"
    );
}

#[test]
fn an_agent_set_away_after_missed_offers_is_offered_them_when_back() {
    let mut s = one_queue_no_reserve();
    s.agent(1, &["general"], 5);
    for id in 1..=3 {
        assert_eq!(offers(&s.arrive(id, customer("c"))), vec![(a(1), c(id))]);
    }
    // Three offers time out together: the agent is set away, the customers wait.
    let fx = s.advance(15_000);
    assert!(fx.contains(&Effect::AgentStatusChanged {
        agent: a(1),
        status: AgentStatus::Away,
        reason: StatusReason::MissedOffers
    }));
    assert!(offers(&fx).is_empty());
    // Back within the cooldown: nothing yet, then everything it missed once the cooldown ends.
    s.advance(10_000);
    let fx = s.run(Command::SetStatus {
        agent: a(1),
        status: AgentStatus::Available,
        reason: StatusReason::Requested,
    });
    assert!(offers(&fx).is_empty());
    let fx = s.advance(20_000);
    assert_eq!(offers(&fx), vec![(a(1), c(1)), (a(1), c(2)), (a(1), c(3))]);
}

#[test]
fn auto_accept_agents_are_assigned_without_an_accept() {
    let mut s = Script::default_tenant();
    s.login(1, Role::Human, &["general"], 5, 3, true);
    let fx = s.arrive(1, customer("a"));
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::Offer {
            auto_accepted: true,
            ..
        }
    )));
    assert_eq!(s.state(1), Some(State::Assigned));
}

#[test]
fn an_agent_who_reconnects_within_grace_keeps_everything() {
    let mut s = Script::default_tenant();
    s.agent(1, &["general"], 3);
    s.arrive(1, customer("a"));
    s.accept(1, 1);
    s.run(Command::AgentDisconnect { agent: a(1) });
    s.arrive(2, customer("b"));
    assert_eq!(
        s.state(2),
        Some(State::Waiting),
        "a disconnected agent gets no offers"
    );
    s.advance(20_000);
    let fx = s.agent(1, &["general"], 3);
    assert!(fx.contains(&Effect::AgentResumed {
        agent: a(1),
        conversations: vec![c(1)]
    }));
    assert_eq!(s.state(1), Some(State::Assigned));
    assert_eq!(
        offers(&fx),
        vec![(a(1), c(2))],
        "back online, they take the waiting one"
    );
    s.advance(60_000);
    assert_eq!(
        s.state(1),
        Some(State::Assigned),
        "the old grace timer is void"
    );
}

#[test]
fn a_second_disconnect_gets_its_own_full_grace() {
    let mut s = one_queue_no_reserve(); // grace 30 s
    s.agent(1, &["general"], 1);
    s.arrive(1, customer("a"));
    s.accept(1, 1);
    s.run(Command::AgentDisconnect { agent: a(1) });
    s.advance(10_000);
    s.agent(1, &["general"], 1); // back within grace
    s.advance(10_000);
    s.run(Command::AgentDisconnect { agent: a(1) });
    // The first disconnect's grace ends now: it belongs to a connection that came back.
    let fx = s.advance(15_000);
    assert!(fx.is_empty(), "still within the second grace: {fx:?}");
    assert_eq!(s.state(1), Some(State::Assigned));
    let fx = s.advance(15_000);
    assert!(fx.contains(&Effect::AgentStatusChanged {
        agent: a(1),
        status: AgentStatus::Offline,
        reason: StatusReason::GraceExpired
    }));
    assert_eq!(s.state(1), Some(State::Waiting));
}

#[test]
fn past_grace_conversations_go_back_to_the_head_with_their_wait_kept() {
    let mut s = one_queue_no_reserve_no_wrap_up();
    s.agent(1, &["general"], 1);
    s.agent(2, &["general"], 1);
    s.arrive(1, customer("a"));
    s.arrive(2, customer("b"));
    let (first, second) = match s.router.conversation(c(1)).unwrap().agent {
        Some(agent) if agent == a(1) => (1, 2),
        _ => (2, 1),
    };
    s.accept(first, 1);
    s.accept(second, 2);
    s.advance(5_000);
    s.arrive(3, customer("c")); // waits: everyone is busy
    s.run(Command::AgentDisconnect { agent: a(first) });
    let fx = s.advance(30_000);
    assert!(fx.contains(&Effect::AgentStatusChanged {
        agent: a(first),
        status: AgentStatus::Offline,
        reason: StatusReason::GraceExpired
    }));
    let view = s.router.conversation(c(1)).unwrap();
    assert_eq!(view.state, State::Waiting);
    assert_eq!(view.waiting_since, 1_000, "original wait kept");
    let fx = s.close(second, 2);
    assert_eq!(
        offers(&fx),
        vec![(a(second), c(1))],
        "rescued conversation goes before one that waited in line"
    );
}

#[test]
fn transfer_to_a_queue_or_a_named_agent() {
    let mut config = default_tenant();
    config.vip.reserved_share = 0.0;
    let mut s = Script::new(&config);
    s.agent(1, &["general"], 2);
    s.arrive(1, customer("a"));
    s.accept(1, 1);
    let fx = s.run(Command::Transfer {
        agent: a(1),
        conversation: c(1),
        target: TransferTarget::Queue("after_sales".into()),
    });
    assert!(offers(&fx).is_empty());
    assert_eq!(s.load(1), 0);
    let fx = s.agent(2, &["after_sales"], 2);
    assert_eq!(offers(&fx), vec![(a(2), c(1))]);
    s.accept(2, 1);

    let fx = s.run(Command::Transfer {
        agent: a(2),
        conversation: c(1),
        target: TransferTarget::Agent(a(1)),
    });
    assert_eq!(offers(&fx), vec![(a(1), c(1))]);
    let fx = s.run(Command::Transfer {
        agent: a(1),
        conversation: c(1),
        target: TransferTarget::Queue("nowhere".into()),
    });
    assert_eq!(
        refusals(&fx),
        vec![RefusalCode::NotAssigned],
        "not accepted yet"
    );
    s.accept(1, 1);
    let fx = s.run(Command::Transfer {
        agent: a(1),
        conversation: c(1),
        target: TransferTarget::Queue("nowhere".into()),
    });
    assert_eq!(refusals(&fx), vec![RefusalCode::UnknownQueue]);
    assert_eq!(
        s.state(1),
        Some(State::Assigned),
        "a refused transfer changes nothing"
    );
}

#[test]
fn wrap_up_holds_the_slot_until_it_ends() {
    let mut s = Script::default_tenant(); // wrap-up 10 s
    s.agent(1, &["general"], 1);
    s.arrive(1, customer("a"));
    s.accept(1, 1);
    s.arrive(2, customer("b"));
    let fx = s.close(1, 1);
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::Ended {
            reason: CloseReason::Agent,
            ..
        }
    )));
    assert_eq!(s.state(1), Some(State::WrapUp));
    assert!(offers(&fx).is_empty());
    assert_eq!(
        refusals(&s.say(1, "还在吗")),
        vec![RefusalCode::ConversationEnded]
    );
    let fx = s.advance(10_000);
    assert_eq!(s.state(1), None);
    assert_eq!(offers(&fx), vec![(a(1), c(2))]);
}

#[test]
fn a_customer_who_leaves_while_waiting_is_abandoned() {
    let mut s = Script::default_tenant();
    s.arrive(1, customer("a"));
    let fx = s.run(Command::CustomerLeft {
        connector: CONNECTOR,
        conversation: c(1),
    });
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::Ended {
            abandoned: true,
            ..
        }
    )));
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::StateChanged {
            state: State::Abandoned,
            ..
        }
    )));
    assert_eq!(s.state(1), None);
    assert_eq!(s.router.waiting(QueueId(0)).count(), 0);
}

#[test]
fn with_idle_closing_off_a_silent_conversation_stays_open() {
    let mut config = default_tenant();
    config.timing.idle_close_secs = 0;
    let mut s = Script::new(&config);
    s.agent(1, &["general"], 1);
    s.arrive(1, customer("a"));
    s.accept(1, 1);
    for _ in 0..6 {
        let fx = s.advance(600_000);
        assert!(
            fx.is_empty(),
            "nothing ends a conversation nobody closed: {fx:?}"
        );
    }
    assert_eq!(s.state(1), Some(State::Assigned));
}

#[test]
fn an_idle_conversation_is_closed() {
    let mut s = Script::default_tenant(); // idle close 900 s
    s.agent(1, &["general"], 1);
    s.arrive(1, customer("a"));
    s.accept(1, 1);
    s.advance(600_000);
    s.say(1, "在吗");
    let fx = s.advance(600_000);
    assert!(fx.is_empty(), "a message 10 minutes ago keeps it open");
    let fx = s.advance(300_000);
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::Ended {
            reason: CloseReason::Idle,
            ..
        }
    )));
}

#[test]
fn a_returning_customer_is_offered_to_their_previous_agent() {
    let mut s = one_queue_no_reserve_no_wrap_up();
    s.agent(1, &["general"], 1);
    s.agent(2, &["general"], 1);
    s.arrive(1, customer("alice"));
    let first = s.router.conversation(c(1)).unwrap().agent.unwrap();
    let other = if first == a(1) { a(2) } else { a(1) };
    s.accept(first.0, 1);
    s.close(first.0, 1);
    s.advance(60_000);
    // Alice comes back: her previous agent is free, though the other one was idle longer.
    let fx = s.arrive(2, customer("alice"));
    assert_eq!(offers(&fx), vec![(first, c(2))]);
    assert!(fx
        .iter()
        .any(|e| matches!(e, Effect::Offer { context, .. } if context.returning_customer)));
    // A different customer still goes by the usual policy: the agent idle longest.
    let fx = s.arrive(3, customer("bob"));
    assert_eq!(offers(&fx), vec![(other, c(3))]);
}

#[test]
fn a_held_returning_customer_goes_to_anyone_after_the_sticky_wait() {
    let mut s = one_queue_no_reserve_no_wrap_up();
    s.agent(1, &["general"], 1);
    s.arrive(1, customer("alice"));
    s.accept(1, 1);
    s.close(1, 1);
    s.arrive(2, customer("bob"));
    s.accept(1, 2); // agent 1 is full now
    s.agent(2, &["general"], 1);
    let fx = s.arrive(3, customer("alice"));
    assert!(
        offers(&fx).is_empty(),
        "held for agent 1 although agent 2 is free"
    );
    assert_eq!(s.router.conversation(c(3)).unwrap().held_for, Some(a(1)));
    // Agent 1 frees up within the sticky wait: Alice gets them.
    s.advance(5_000);
    let fx = s.close(1, 2);
    assert_eq!(offers(&fx), vec![(a(1), c(3))]);
    s.accept(1, 3);
    s.close(1, 3);
    // Next visit agent 1 stays busy: after the 10 s sticky wait she goes to agent 2.
    let away = |s: &mut Script, status| {
        s.run(Command::SetStatus {
            agent: a(2),
            status,
            reason: StatusReason::Requested,
        })
    };
    away(&mut s, AgentStatus::Away);
    s.arrive(4, customer("carol"));
    s.accept(1, 4);
    away(&mut s, AgentStatus::Available);
    let fx = s.arrive(5, customer("alice"));
    assert!(offers(&fx).is_empty());
    let fx = s.advance(10_000);
    assert_eq!(offers(&fx), vec![(a(2), c(5))]);
}

#[test]
fn a_held_returning_customer_gets_their_free_agent_once_the_vip_ahead_is_served() {
    let mut s = one_queue_no_reserve_no_wrap_up();
    s.agent(1, &["general"], 1);
    s.arrive(1, customer("alice"));
    s.accept(1, 1);
    s.close(1, 1);
    s.arrive(2, customer("bob"));
    s.accept(1, 2);
    // A VIP waits, so Alice, back for agent 1, is held behind them.
    s.arrive(3, vip("vera", 1));
    s.arrive(4, customer("alice"));
    assert_eq!(s.router.conversation(c(4)).unwrap().held_for, Some(a(1)));
    // Agent 2 takes the VIP; agent 1 frees up within the sticky wait and gets Alice at once.
    let fx = s.agent(2, &["general"], 1);
    assert_eq!(offers(&fx), vec![(a(2), c(3))]);
    let fx = s.close(1, 2);
    assert_eq!(offers(&fx), vec![(a(1), c(4))]);
}

#[test]
fn a_reconnect_with_new_skills_is_offered_what_waits_for_them_at_once() {
    let mut config = default_tenant();
    config.vip.reserved_share = 0.0;
    let mut s = Script::new(&config);
    s.agent(1, &["general"], 2);
    s.arrive(1, with_intent("c-1", "refund"));
    assert_eq!(
        s.state(1),
        Some(State::Waiting),
        "after_sales needs its skill"
    );
    let fx = s.agent(1, &["general", "after_sales"], 2);
    assert_eq!(offers(&fx), vec![(a(1), c(1))]);
}

/// What a reconnect with a lower capacity does: nobody is taken from the agent mid-conversation,
/// but pending offers beyond the new capacity go to someone else, and the agent gets nothing
/// new until it is below the new capacity.
#[test]
fn a_lower_capacity_keeps_accepted_conversations_but_withdraws_offers_beyond_it() {
    let mut s = one_queue_no_reserve();
    s.agent(1, &["general"], 3);
    for id in 1..=3 {
        s.arrive(id, customer(&format!("c-{id}")));
    }
    s.accept(1, 1);
    s.accept(1, 2);
    assert_eq!(s.state(3), Some(State::Offered));
    // A new token says capacity 1: the two accepted stay, the pending offer is withdrawn.
    let fx = s.agent(1, &["general"], 1);
    assert_eq!(
        withdrawals(&fx),
        vec![(a(1), c(3), WithdrawReason::AgentGone)]
    );
    assert!(fx.contains(&Effect::AgentResumed {
        agent: a(1),
        conversations: vec![c(1), c(2)],
    }));
    assert_eq!(
        (s.state(1), s.state(2)),
        (Some(State::Assigned), Some(State::Assigned))
    );
    assert_eq!(s.state(3), Some(State::Waiting));
    assert_eq!((s.load(1), s.router.agent(a(1)).unwrap().capacity), (2, 1));
    // Another agent with room takes the withdrawn one at once.
    let fx = s.agent(2, &["general"], 1);
    assert_eq!(offers(&fx), vec![(a(2), c(3))]);
    s.accept(2, 3);
    // Agent 1 gets nothing new until its load is below the new capacity: one close (and its
    // wrap-up) brings it to 1 of 1, still full; the second frees a slot.
    s.arrive(4, customer("c-4"));
    s.close(1, 1);
    let fx = s.advance(10_000);
    assert!(offers(&fx).is_empty(), "at capacity 1 with one held");
    assert_eq!(s.state(4), Some(State::Waiting));
    s.close(1, 2);
    let fx = s.advance(10_000);
    assert_eq!(offers(&fx), vec![(a(1), c(4))]);
}

#[test]
fn waiting_customers_get_their_position_and_an_estimate_once_service_is_seen() {
    let mut s = one_queue_no_reserve_no_wrap_up();
    s.login(1, Role::Human, &["general"], 5, 1, true);
    let position = |fx: &[Effect], id: u64| {
        fx.iter().find_map(|e| match e {
            Effect::QueueUpdate {
                conversation,
                position,
                ewt_ms,
                ..
            } if *conversation == c(id) => Some((*position, *ewt_ms)),
            _ => None,
        })
    };
    s.arrive(1, customer("a"));
    let fx = s.arrive(2, customer("b"));
    assert_eq!(
        position(&fx, 2),
        Some((1, None)),
        "no service seen yet: no estimate"
    );
    s.arrive(3, customer("c"));
    let fx = s.arrive(4, customer("d"));
    assert_eq!(position(&fx, 4), Some((3, None)));
    // Departures at t=1 s (conversation 1, at once) and t=31 s: at t=61 s, 30 s per departure.
    s.advance(30_000);
    s.close(1, 1);
    let fx = s.advance(30_000);
    assert_eq!(position(&fx, 4), Some((2, Some(60_000))));
    // Third departure at t=61 s: at t=66 s, 65 s over three departures ≈ 21.7 s each, told
    // rounded up to 10 s.
    s.close(1, 2);
    let fx = s.advance(5_000);
    assert_eq!(position(&fx, 4), Some((1, Some(30_000))));
    s.advance(10_000);
    // Conversation 4 is answered at t=76 s after 75 s: recorded beside its first estimate.
    let fx = s.close(1, 3);
    let observed = fx.iter().find_map(|e| match e {
        Effect::WaitObserved {
            predicted_ms,
            actual_ms,
            ..
        } => Some((*predicted_ms, *actual_ms)),
        _ => None,
    });
    assert_eq!(observed, Some((Some(60_000), 75_000)));
}

#[test]
fn a_connector_cannot_touch_another_connectors_conversation() {
    let mut s = Script::default_tenant();
    s.arrive(1, customer("a"));
    let other = ConnectorId(2);
    let fx = s.run(Command::CustomerMessage {
        connector: other,
        conversation: c(1),
        message: Message::text("hi"),
    });
    assert_eq!(refusals(&fx), vec![RefusalCode::UnknownConversation]);
    let fx = s.run(Command::ConnectorClose {
        connector: other,
        conversation: c(1),
    });
    assert_eq!(refusals(&fx), vec![RefusalCode::UnknownConversation]);
    assert_eq!(s.state(1), Some(State::Waiting));
}

#[test]
fn agents_cannot_act_on_conversations_that_are_not_theirs() {
    let mut s = Script::default_tenant();
    s.agent(1, &["general"], 1);
    s.agent(2, &["general"], 1);
    s.arrive(1, customer("a"));
    let holder = s.router.conversation(c(1)).unwrap().agent.unwrap();
    let other = if holder == a(1) { 2 } else { 1 };
    assert_eq!(refusals(&s.accept(other, 1)), vec![RefusalCode::NotOffered]);
    assert_eq!(refusals(&s.close(other, 1)), vec![RefusalCode::NotAssigned]);
    assert_eq!(
        refusals(&s.accept(other, 99)),
        vec![RefusalCode::UnknownConversation]
    );
    assert_eq!(refusals(&s.accept(7, 1)), vec![RefusalCode::UnknownAgent]);
    assert_eq!(
        refusals(&s.run(Command::AgentDisconnect { agent: a(42) })),
        vec![RefusalCode::UnknownAgent]
    );
    assert_eq!(
        refusals(&s.arrive(1, customer("dup"))),
        vec![RefusalCode::DuplicateConversation]
    );
}

#[test]
fn refusals_say_whether_the_agent_is_offline_or_the_conversation_ended() {
    let mut s = one_queue_no_reserve();
    s.agent(1, &["general"], 2);
    s.arrive(1, customer("a"));
    s.arrive(2, customer("b"));
    s.accept(1, 1);
    s.accept(1, 2);
    // Closed by the agent: in wrap-up it has ended already.
    s.close(1, 1);
    assert_eq!(
        refusals(&s.close(1, 1)),
        vec![RefusalCode::ConversationEnded]
    );
    s.advance(10_000);
    assert_eq!(s.state(1), None, "wrap-up over, forgotten");
    let message = |s: &mut Script, id| {
        s.run(Command::AgentMessage {
            agent: a(1),
            conversation: c(id),
            message: Message::text("还在吗"),
        })
    };
    assert_eq!(
        refusals(&message(&mut s, 1)),
        vec![RefusalCode::ConversationEnded]
    );
    assert_eq!(
        refusals(&s.accept(1, 1)),
        vec![RefusalCode::ConversationEnded]
    );
    assert_eq!(
        refusals(&message(&mut s, 77)),
        vec![RefusalCode::UnknownConversation]
    );
    // Offline: every conversation command is refused as not logged in.
    s.run(Command::SetStatus {
        agent: a(1),
        status: AgentStatus::Offline,
        reason: StatusReason::Requested,
    });
    assert_eq!(refusals(&s.accept(1, 2)), vec![RefusalCode::UnknownAgent]);
    assert_eq!(
        refusals(&message(&mut s, 2)),
        vec![RefusalCode::UnknownAgent]
    );
    assert_eq!(refusals(&s.close(1, 2)), vec![RefusalCode::UnknownAgent]);
}

#[test]
fn messages_flow_between_customer_and_agent_and_the_transcript_reaches_the_offer() {
    let mut s = Script::default_tenant();
    s.arrive(1, customer("a"));
    s.say(1, "我的订单还没到");
    s.say(1, "单号 1234567890");
    let fx = s.agent(1, &["general"], 1);
    let context = offered_context(&fx);
    let texts = transcript_texts(&context);
    assert_eq!(texts, vec!["我的订单还没到", "单号 1234567890"]);
    s.accept(1, 1);
    let fx = s.say(1, "在吗");
    assert!(matches!(&fx[..], [Effect::ToAgent { agent, .. }] if *agent == a(1)));
    let fx = s.run(Command::AgentMessage {
        agent: a(1),
        conversation: c(1),
        message: Message::text("您好，我来帮您查"),
    });
    assert!(matches!(
        &fx[..],
        [Effect::ToCustomer { connector, from: Speaker::Agent(_), .. }] if *connector == CONNECTOR
    ));
}

#[test]
fn an_offers_transcript_keeps_the_newest_lines_within_transcript_bytes_and_counts_the_rest() {
    // The reproduction: 11 messages of 8,192 CJK characters (24 KiB each) wait for an
    // agent; 264 KiB of text is more than the default 256 KiB bound.
    let mut s = Script::default_tenant();
    let budget = default_tenant().timing.transcript_bytes as usize;
    s.arrive(1, customer("a"));
    let lines: Vec<String> = (0..11u32)
        .map(|i| {
            let mark = char::from_u32(0x4e00 + i).expect("a CJK character");
            std::iter::repeat_n(mark, 8192).collect()
        })
        .collect();
    for line in &lines {
        s.say(1, line);
    }
    let fx = s.agent(1, &["general"], 1);
    let context = offered_context(&fx);
    let texts = transcript_texts(&context);
    let newest: Vec<&str> = lines[1..].iter().map(String::as_str).collect();
    assert_eq!(
        texts, newest,
        "the oldest line goes, the newest ten stay, in order"
    );
    assert_eq!(context.transcript_truncated, 1);
    let carried: usize = context.transcript.iter().map(|l| l.budget_bytes()).sum();
    assert!(carried <= budget, "{carried} bytes carried, bound {budget}");

    // Under the bound nothing is cut and nothing is marked.
    let mut s = Script::default_tenant();
    s.arrive(2, customer("b"));
    s.say(2, &lines[0]);
    let fx = s.agent(1, &["general"], 1);
    let marked = fx.iter().find_map(|e| match e {
        Effect::Offer { context, .. } => {
            Some((context.transcript.len(), context.transcript_truncated))
        }
        _ => None,
    });
    assert_eq!(marked, Some((1, 0)));
}

#[test]
fn supervisor_offline_returns_conversations_at_once() {
    let mut config = default_tenant();
    config.vip.reserved_share = 0.0;
    let mut s = Script::new(&config);
    s.agent(1, &["general"], 2);
    s.arrive(1, customer("a"));
    s.accept(1, 1);
    s.agent(2, &["general"], 2);
    let fx = s.run(Command::SetStatus {
        agent: a(1),
        status: AgentStatus::Offline,
        reason: StatusReason::Supervisor,
    });
    assert_eq!(offers(&fx), vec![(a(2), c(1))]);
    assert!(s.router.agent(a(1)).is_none());
}

#[test]
fn same_commands_at_the_same_times_give_the_same_effects() {
    let run = || {
        let mut s = Script::default_tenant();
        let mut all = Vec::new();
        all.extend(s.agent(1, &["general", "vip"], 2));
        all.extend(s.agent(2, &["after_sales"], 3));
        for id in 0..40u64 {
            let profile = match id % 4 {
                0 => vip(&format!("v{id}"), 1 + (id % 3) as u8),
                1 => with_intent(&format!("r{id}"), "refund"),
                _ => customer(&format!("s{id}")),
            };
            all.extend(s.arrive(id, profile));
            all.extend(s.advance(700));
            if id % 3 == 0 {
                all.extend(s.accept(1, id.saturating_sub(3)));
                all.extend(s.close(1, id.saturating_sub(6)));
            }
        }
        all.extend(s.advance(120_000));
        format!("{all:?}")
    };
    assert_eq!(run(), run());
}
