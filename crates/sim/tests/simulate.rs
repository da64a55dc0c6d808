//! `switchboard simulate` as a user sees it: reports that repeat, staffing that behaves like
//! staffing, endings that add up, and a router that agrees with the tally.

use std::path::{Path, PathBuf};

use switchboard_config::TenantConfig;
use switchboard_sim::scenario::{Ending, Scenario};
use switchboard_sim::simulate::{self, Summary};

fn scenario_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../config/loadtest")
        .join(format!("{name}.toml"))
}

fn load(name: &str) -> (Scenario, TenantConfig) {
    simulate::load(&scenario_path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn play(scenario: &Scenario, tenant: &TenantConfig) -> Summary {
    simulate::run(scenario, tenant, 1.0).expect("scale 1 is valid")
}

#[test]
fn the_same_seed_gives_the_same_report_and_another_seed_another() {
    let (mut scenario, tenant) = load("smoke");
    let first = play(&scenario, &tenant);
    let again = play(&scenario, &tenant);
    assert_eq!(first.report(), again.report());
    let json = first.to_json().expect("the summary encodes as JSON");
    assert!(json.contains("\"checks\""), "{json}");
    assert_eq!(json, again.to_json().expect("the summary encodes as JSON"));
    scenario.seed += 1;
    assert_ne!(first.report(), play(&scenario, &tenant).report());
}

#[test]
fn smoke_meets_its_vip_sla() {
    let (scenario, tenant) = load("smoke");
    let summary = play(&scenario, &tenant);
    let vip = summary
        .classes
        .iter()
        .find(|c| c.class == "vip")
        .expect("smoke has VIP customers");
    assert!(vip.answered > 0);
    assert!(
        vip.sla_attainment.is_some_and(|s| s >= 0.95),
        "VIP SLA {:?}",
        vip.sla_attainment
    );
}

#[test]
fn doubling_the_agents_never_lowers_sla_attainment() {
    for name in ["smoke", "steady", "peak-sale"] {
        let (mut scenario, tenant) = load(name);
        // Fewer agents than planned, so the baseline has waits worth improving on.
        for group in &mut scenario.agents {
            group.count = group.count.div_ceil(3);
        }
        let base = play(&scenario, &tenant);
        for group in &mut scenario.agents {
            group.count *= 2;
        }
        let doubled = play(&scenario, &tenant);
        let attainment = |s: &Summary| s.total.sla_attainment_offered.unwrap_or(1.0);
        assert!(
            attainment(&doubled) >= attainment(&base),
            "{name}: {} with a third of the agents, {} with twice that",
            attainment(&base),
            attainment(&doubled)
        );
        for (b, d) in base.classes.iter().zip(&doubled.classes) {
            let at = |c: &simulate::ClassSummary| c.sla_attainment_offered.unwrap_or(1.0);
            assert!(
                at(d) >= at(b),
                "{name} {}: {} then {}",
                b.class,
                at(b),
                at(d)
            );
        }
        assert!(doubled.total.abandoned <= base.total.abandoned, "{name}");
        assert!(doubled.peak_waiting.conversations <= base.peak_waiting.conversations);
    }
}

#[test]
fn without_agents_everyone_who_needs_a_human_abandons_or_is_unfinished() {
    let (mut scenario, tenant) = load("smoke");
    scenario.agents.clear();
    let summary = play(&scenario, &tenant);
    assert_eq!(summary.total.answered, 0);
    let mut needed_a_human = 0;
    for outcome in &summary.outcomes {
        if outcome.route.is_some() {
            needed_a_human += 1;
            assert!(
                matches!(
                    outcome.ending,
                    Ending::Abandoned { .. } | Ending::Unfinished { waiting: true }
                ),
                "{outcome:?}"
            );
        }
    }
    assert!(needed_a_human > 0);
    assert!(summary.total.abandoned > 0);
    assert!(summary.capacity.queues.iter().all(|q| q.staffed == 0));
}

#[test]
fn without_bots_nothing_is_resolved_by_bot_and_everyone_queues() {
    let (mut scenario, tenant) = load("smoke");
    scenario.bots.count = 0;
    let summary = play(&scenario, &tenant);
    assert_eq!(summary.total.resolved_by_bot, 0);
    assert_eq!(summary.total.left, 0);
    assert_eq!(summary.handoffs.values().sum::<u64>(), 0);
    assert_eq!(summary.straight_to_queue, summary.conversations);
    assert!(summary.total.answered > 0);
}

#[test]
fn the_router_measures_every_wait_as_the_tally_does() {
    for name in ["smoke", "peak-sale"] {
        let (scenario, tenant) = load(name);
        let summary = play(&scenario, &tenant);
        let checks = &summary.checks;
        assert_eq!(checks.wait_disagreements, 0, "{name}");
        assert!(
            checks.router_waits >= summary.total.answered,
            "{name}: every answered wait was measured by the router too"
        );
        assert!(checks.refused.is_empty(), "{name}: {:?}", checks.refused);
        assert!(summary.report().contains("Checks ok"), "{name}");
    }
}

#[test]
fn every_conversation_ends_exactly_once() {
    for name in ["smoke", "steady"] {
        let (scenario, tenant) = load(name);
        let plan = scenario.plan(1.0);
        let summary = play(&scenario, &tenant);
        assert_eq!(summary.checks.ending_disagreements, 0, "{name}");
        let ids: Vec<String> = plan.customers.iter().map(|c| c.conversation_id()).collect();
        let seen: Vec<&str> = summary
            .outcomes
            .iter()
            .map(|o| o.conversation.as_str())
            .collect();
        assert_eq!(seen, ids, "{name}: one outcome per planned conversation");
        let t = &summary.total;
        let left = summary
            .outcomes
            .iter()
            .filter(|o| o.ending == Ending::Left)
            .count() as u64;
        assert_eq!(
            t.answered + t.abandoned + t.resolved_by_bot + left + t.unfinished,
            t.conversations,
            "{name}"
        );
        assert_eq!(summary.checks.open_at_end, t.unfinished, "{name}");
    }
}

#[test]
fn the_timeline_accounts_for_every_arrival_answer_and_abandonment() {
    let (scenario, tenant) = load("peak-sale");
    let summary = play(&scenario, &tenant);
    let sum = |f: fn(&simulate::Minute) -> u64| summary.timeline.iter().map(f).sum::<u64>();
    assert_eq!(summary.timeline.len(), 14);
    assert_eq!(sum(|m| m.arrivals), summary.conversations);
    assert_eq!(sum(|m| m.abandoned), summary.total.abandoned);
    // Answers are counted when the agent joins; a conversation still open at the end is
    // unfinished in the tally, so the timeline may count more.
    assert!(sum(|m| m.answered) >= summary.total.answered);
    assert!(
        summary.peak_waiting.conversations
            >= summary
                .timeline
                .iter()
                .map(|m| m.waiting)
                .max()
                .unwrap_or(0)
    );
}

#[test]
fn the_capacity_planner_covers_every_queue() {
    let (scenario, tenant) = load("peak-sale");
    let summary = play(&scenario, &tenant);
    let plan = &summary.capacity;
    assert_eq!(plan.model, "Erlang A");
    assert_eq!(plan.window_to_ms - plan.window_from_ms, 300_000);
    let names: Vec<&str> = plan.queues.iter().map(|q| q.queue.as_str()).collect();
    assert_eq!(names, ["general", "after_sales", "vip"]);
    for q in &plan.queues {
        assert!(q.arrivals > 0 && q.handle_measured, "{q:?}");
        assert!(q.recommended.is_some_and(|n| n > 0), "{q:?}");
    }
    // The VIP queue is staffed by the vip group only; general also by the vip group.
    let group = |name: &str| {
        scenario
            .agents
            .iter()
            .find(|g| g.name == name)
            .map_or(0, |g| g.count)
    };
    assert_eq!(plan.queues[2].staffed, group("vip"));
    assert_eq!(plan.queues[0].staffed, group("general") + group("vip"));
}

#[test]
fn scale_must_be_positive_and_finite() {
    let (scenario, tenant) = load("smoke");
    for scale in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e9] {
        assert!(simulate::run(&scenario, &tenant, scale).is_err(), "{scale}");
    }
}
