//! `switchboard-loadtest` end to end: the smoke scenario played against a gateway started in
//! this process, over real WebSockets. Nothing here asserts a duration beyond what the
//! scenario's own thresholds say.

use std::path::Path;

use loadtest::rehearsal::options::Options;
use loadtest::rehearsal::Rehearsal;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_smoke_scenario_plays_in_process_and_accounts_for_everything() {
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/loadtest/smoke.toml");
    let rehearsal = Rehearsal::prepare(Options {
        scenario,
        spawn: true,
        url: None,
        admin: None,
        scale: 1.0,
        thresholds: Vec::new(),
        json: None,
        quiet: true,
    })
    .expect("the smoke scenario is valid");
    let summary = rehearsal.play().await.expect("the run is played");
    let table = summary.table();

    assert_eq!(summary.messages.lost, 0, "{table}");
    assert_eq!(summary.messages.duplicated, 0, "{table}");
    assert_eq!(summary.messages.unacked, 0, "{table}");
    // Every planned conversation has an outcome, and the outcomes add up.
    let customers = summary.setup.customers as u64;
    assert!(customers > 0);
    assert_eq!(summary.outcomes_reported, customers, "{table}");
    let t = &summary.total;
    assert_eq!(t.conversations, customers, "{table}");
    assert_eq!(
        t.answered + t.abandoned + t.resolved_by_bot + t.left + t.unfinished,
        t.conversations,
        "{table}"
    );
    // The scenario's thresholds (lost, duplicated, errors, unfinished, p99, VIP SLA) hold.
    assert!(!summary.thresholds.is_empty());
    assert!(summary.passed(), "{table}");
}
