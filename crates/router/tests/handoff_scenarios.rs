//! Bot first, and a human the moment it matters: one scenario per trigger, plus hysteresis,
//! the no-bounce rule, priority at handoff and the context package.

mod common;

use std::sync::Arc;

use common::*;
use switchboard_config::TenantConfig;
use switchboard_router::*;

const BOT: u32 = 100;

fn tenant() -> TenantConfig {
    let mut config = default_tenant();
    config.routes.clear();
    config.vip.reserved_share = 0.0;
    config.timing.wrap_up_secs = 0;
    config
}

/// A script with one bot and no human yet.
fn with_bot(config: &TenantConfig) -> Script {
    let mut s = Script::new(config);
    s.login(BOT, Role::Bot, &[], 5, 1000, true);
    s
}

fn handoffs(effects: &[Effect]) -> Vec<HandoffReason> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Handoff { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect()
}

fn offer_context(effects: &[Effect]) -> Arc<OfferContext> {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::Offer { context, .. } => Some(context.clone()),
            _ => None,
        })
        .expect("an offer")
}

fn scored(id: u64, score: f32) -> Command {
    Command::CustomerMessage {
        connector: CONNECTOR,
        conversation: c(id),
        message: Message {
            text: Arc::from("……"),
            sentiment: Some(score),
            id: None,
        },
    }
}

fn bot_says(s: &mut Script, id: u64, text: &str) -> Vec<Effect> {
    s.run(Command::AgentMessage {
        agent: a(BOT),
        conversation: c(id),
        message: Message::text(text),
    })
}

#[test]
fn new_conversations_go_to_a_bot_first_and_the_bot_answers() {
    let mut s = with_bot(&tenant());
    let fx = s.arrive(1, customer("a"));
    assert_eq!(offers(&fx), vec![(a(BOT), c(1))]);
    assert_eq!(s.state(1), Some(State::WithBot));
    let fx = s.say(1, "这件衣服有M码吗");
    assert!(matches!(&fx[..], [Effect::ToAgent { agent, .. }] if *agent == a(BOT)));
    let fx = bot_says(&mut s, 1, "有的，M码有货");
    assert!(matches!(
        &fx[..],
        [Effect::ToCustomer {
            from: Speaker::Bot(_),
            ..
        }]
    ));
}

#[test]
fn without_a_bot_conversations_go_straight_to_humans_with_no_handoff_reported() {
    let mut s = Script::new(&tenant());
    s.agent(1, &["general"], 2);
    let fx = s.arrive(1, with_intent("a", "complaint"));
    assert!(handoffs(&fx).is_empty());
    assert_eq!(offers(&fx), vec![(a(1), c(1))]);
}

#[test]
fn a_customer_asking_for_a_human_is_handed_over_with_the_whole_context() {
    let mut s = with_bot(&tenant());
    s.agent(1, &["general"], 2);
    s.arrive(1, customer("a"));
    s.say(1, "我的订单 2023111112345678 什么时候发货");
    bot_says(&mut s, 1, "您好，订单正在处理中");
    let fx = s.say(1, "转人工！");
    assert_eq!(handoffs(&fx), vec![HandoffReason::CustomerRequest]);
    assert!(fx.contains(&Effect::OfferWithdrawn {
        agent: a(BOT),
        conversation: c(1),
        reason: WithdrawReason::HandedOff
    }));
    assert_eq!(offers(&fx), vec![(a(1), c(1))]);
    let context = offer_context(&fx);
    let lines: Vec<(Speaker, &str)> = context
        .transcript
        .iter()
        .map(|l| (l.speaker, &*l.message.text))
        .collect();
    assert_eq!(
        lines,
        vec![
            (Speaker::Customer, "我的订单 2023111112345678 什么时候发货"),
            (Speaker::Bot(a(BOT)), "您好，订单正在处理中"),
            (Speaker::Customer, "转人工！"),
        ]
    );
    assert_eq!(
        context.handoff.as_ref().map(|h| h.reason),
        Some(HandoffReason::CustomerRequest)
    );
    assert_eq!(context.numbers.orders, vec!["2023111112345678"]);
    assert_eq!(
        context.sentiment_trend.len(),
        2,
        "one score per customer message"
    );
}

#[test]
fn talk_about_artificial_intelligence_is_not_a_request_for_a_human() {
    let mut s = with_bot(&tenant());
    s.arrive(1, customer("a"));
    let fx = s.say(1, "你们的人工智能推荐挺准的");
    assert!(handoffs(&fx).is_empty());
    assert_eq!(s.state(1), Some(State::WithBot));
}

#[test]
fn an_opening_request_for_a_human_skips_the_bot() {
    let mut s = with_bot(&tenant());
    let fx = s.run(Command::Arrive {
        conversation: c(1),
        connector: CONNECTOR,
        profile: customer("a"),
        message: Some(Message::text("I want to talk to a real person")),
    });
    assert_eq!(handoffs(&fx), vec![HandoffReason::CustomerRequest]);
    assert!(offers(&fx).is_empty(), "the bot never got it");
    assert_eq!(s.state(1), Some(State::Waiting));
}

#[test]
fn the_bot_can_ask_for_a_human_and_its_summary_reaches_the_agent() {
    let mut s = with_bot(&tenant());
    s.agent(1, &["general"], 2);
    s.arrive(1, customer("a"));
    let fx = s.run(Command::BotHandoff {
        agent: a(BOT),
        conversation: c(1),
        reason: "refund above my limit".into(),
        summary: Some("Customer wants a refund for a damaged kettle".into()),
    });
    assert_eq!(handoffs(&fx), vec![HandoffReason::BotRequest]);
    let handoff = offer_context(&fx).handoff.clone().expect("handoff context");
    assert_eq!(handoff.bot_reason.as_deref(), Some("refund above my limit"));
    assert_eq!(
        handoff.bot_summary.as_deref(),
        Some("Customer wants a refund for a damaged kettle")
    );
}

#[test]
fn three_unresolved_bot_rounds_hand_over() {
    let mut s = with_bot(&tenant());
    s.arrive(1, customer("a"));
    let round = |s: &mut Script, resolved| {
        s.run(Command::BotResult {
            agent: a(BOT),
            conversation: c(1),
            resolved,
        })
    };
    assert!(handoffs(&round(&mut s, false)).is_empty());
    assert!(
        handoffs(&round(&mut s, true)).is_empty(),
        "resolved rounds do not count"
    );
    assert!(handoffs(&round(&mut s, false)).is_empty());
    assert_eq!(
        handoffs(&round(&mut s, false)),
        vec![HandoffReason::BotUnresolved]
    );
    assert_eq!(
        refusals(&round(&mut s, false)),
        vec![RefusalCode::NotAssigned],
        "the bot no longer has it"
    );
}

#[test]
fn smoothed_negative_sentiment_hands_over_when_it_crosses_the_threshold() {
    let mut s = with_bot(&tenant()); // threshold -0.5, smoothing 0.5
    s.arrive(1, customer("a"));
    assert!(handoffs(&s.run(scored(1, -0.3))).is_empty()); // smoothed -0.30
    let fx = s.run(scored(1, -0.8)); // smoothed -0.55
    assert_eq!(handoffs(&fx), vec![HandoffReason::NegativeSentiment]);
    let sentiment = s.router.conversation(c(1)).unwrap().sentiment.unwrap();
    assert!((sentiment + 0.55).abs() < 1e-6);
}

#[test]
fn the_built_in_scorer_catches_an_angry_message() {
    let mut s = with_bot(&tenant());
    s.arrive(1, customer("a"));
    let fx = s.say(1, "你们这是假货！骗子！我要投诉，给差评！！！");
    assert_eq!(handoffs(&fx), vec![HandoffReason::NegativeSentiment]);
}

#[test]
fn hysteresis_keeps_a_handed_back_conversation_from_flapping() {
    let mut s = with_bot(&tenant()); // threshold -0.5, recover -0.2
    s.agent(1, &["general"], 2);
    s.arrive(1, customer("a"));
    s.run(scored(1, -0.6));
    s.accept(1, 1);
    let fx = s.run(Command::HandBack {
        agent: a(1),
        conversation: c(1),
    });
    assert_eq!(offers(&fx), vec![(a(BOT), c(1))]);
    // Still below the threshold, but it has not recovered: no new handoff.
    assert!(handoffs(&s.run(scored(1, -0.6))).is_empty());
    // Recovers above -0.2...
    assert!(handoffs(&s.run(scored(1, 0.5))).is_empty()); // smoothed -0.05
    assert!(handoffs(&s.run(scored(1, -0.9))).is_empty()); // -0.475: above the threshold
                                                           // ...so crossing again triggers again.
    assert_eq!(
        handoffs(&s.run(scored(1, -0.9))), // -0.6875
        vec![HandoffReason::NegativeSentiment]
    );
}

#[test]
fn rules_skip_the_bot_for_complaints_big_orders_and_top_vips() {
    let mut s = with_bot(&tenant());
    let mut big = customer("b");
    big.order_value = Some(800_000);
    for (id, profile) in [
        (1, with_intent("a", "complaint")),
        (2, big),
        (3, vip("c", 3)),
    ] {
        let fx = s.arrive(id, profile);
        assert_eq!(
            handoffs(&fx),
            vec![HandoffReason::Rule],
            "conversation {id}"
        );
        assert!(offers(&fx).is_empty());
    }
    let fx = s.arrive(4, vip("d", 2));
    assert_eq!(
        offers(&fx),
        vec![(a(BOT), c(4))],
        "a level-2 VIP meets the bot"
    );
}

#[test]
fn an_angry_vip_with_a_complaint_is_first_in_line() {
    let mut config = tenant();
    config.handoff.skip_bot_intents.clear();
    config.handoff.skip_bot_min_vip_level = 0;
    let mut s = with_bot(&config);
    s.agent(1, &["general"], 1);
    s.agent(2, &["general", "vip"], 1);
    s.run(Command::SetStatus {
        agent: a(2),
        status: AgentStatus::Away,
        reason: StatusReason::Requested,
    });
    // Agent 1 is busy; two customers wait for humans before the angry VIP arrives.
    s.arrive(1, customer("busy"));
    s.say(1, "转人工");
    s.accept(1, 1);
    s.arrive(2, vip("calm-vip", 1));
    s.say(2, "转人工");
    s.arrive(3, customer("std"));
    s.say(3, "转人工");
    s.advance(1_000);
    s.arrive(4, vip("angry-vip", 1));
    s.run(Command::CustomerMessage {
        connector: CONNECTOR,
        conversation: c(4),
        message: Message {
            text: Arc::from("投诉！"),
            sentiment: Some(-0.9),
            id: None,
        },
    });
    let fx = s.close(1, 1);
    assert_eq!(
        offers(&fx),
        vec![(a(1), c(4))],
        "VIP lane, then negative sentiment and handoff points, beat an earlier calm VIP"
    );
}

#[test]
fn a_waiting_customer_who_gets_angry_moves_up() {
    let mut s = Script::new(&tenant());
    s.agent(1, &["general"], 1);
    s.arrive(1, customer("busy"));
    s.accept(1, 1);
    s.arrive(2, customer("first"));
    s.arrive(3, customer("second"));
    s.run(scored(3, -0.9));
    let fx = s.close(1, 1);
    assert_eq!(offers(&fx), vec![(a(1), c(3))]);
}

#[test]
fn a_conversation_that_reached_a_human_never_bounces_back_to_the_bot() {
    let mut s = with_bot(&tenant());
    s.agent(1, &["general"], 2);
    s.arrive(1, customer("a"));
    s.say(1, "转人工");
    s.accept(1, 1);
    s.say(1, "谢谢，问题解决了，很满意！");
    s.advance(60_000);
    assert_eq!(s.state(1), Some(State::Assigned));
    assert_eq!(s.router.conversation(c(1)).unwrap().agent, Some(a(1)));
    // Only an explicit hand-back returns it, and triggers work again afterwards.
    s.run(Command::HandBack {
        agent: a(1),
        conversation: c(1),
    });
    assert_eq!(s.state(1), Some(State::WithBot));
    assert_eq!(
        handoffs(&s.say(1, "还是转人工吧")),
        vec![HandoffReason::CustomerRequest]
    );
}

#[test]
fn hand_back_needs_a_bot() {
    let mut s = Script::new(&tenant());
    s.agent(1, &["general"], 2);
    s.arrive(1, customer("a"));
    s.accept(1, 1);
    let fx = s.run(Command::HandBack {
        agent: a(1),
        conversation: c(1),
    });
    assert_eq!(refusals(&fx), vec![RefusalCode::TargetUnavailable]);
    assert_eq!(s.state(1), Some(State::Assigned));
}

#[test]
fn when_a_bot_goes_away_its_conversations_go_to_another_bot_or_to_humans() {
    let mut s = with_bot(&tenant());
    s.arrive(1, customer("a"));
    s.login(101, Role::Bot, &[], 5, 1000, true);
    s.run(Command::AgentDisconnect { agent: a(BOT) });
    let fx = s.advance(30_000);
    assert_eq!(offers(&fx), vec![(a(101), c(1))]);
    assert!(handoffs(&fx).is_empty());
    s.run(Command::AgentDisconnect { agent: a(101) });
    let fx = s.advance(30_000);
    assert_eq!(handoffs(&fx), vec![HandoffReason::BotUnavailable]);
    assert_eq!(s.state(1), Some(State::Waiting));
}

#[test]
fn a_tenant_can_bring_its_own_phrases() {
    let mut config = tenant();
    config.handoff.human_phrases = vec!["小二".into(), "speak to staff".into()];
    let mut s = with_bot(&config);
    s.arrive(1, customer("a"));
    assert!(
        handoffs(&s.say(1, "转人工")).is_empty(),
        "the defaults are replaced"
    );
    assert_eq!(
        handoffs(&s.say(1, "小二在吗？")),
        vec![HandoffReason::CustomerRequest]
    );
}

#[test]
fn a_connector_score_outside_the_range_is_clamped_and_nan_is_ignored() {
    let mut s = with_bot(&tenant());
    s.arrive(1, customer("a"));
    s.run(Command::CustomerMessage {
        connector: CONNECTOR,
        conversation: c(1),
        message: Message {
            text: Arc::from("好的"),
            sentiment: Some(f32::NAN),
            id: None,
        },
    });
    let fx = s.run(scored(1, -7.0));
    assert_eq!(handoffs(&fx), vec![HandoffReason::NegativeSentiment]);
    let sentiment = s.router.conversation(c(1)).unwrap().sentiment.unwrap();
    assert!(sentiment >= -1.0);
}
