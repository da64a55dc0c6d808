//! `switchboard-loadtest` end to end: the smoke scenario played against a gateway started in
//! this process, over real WebSockets. Only correctness is asserted here: a debug build on a
//! shared machine makes any latency or wait figure meaningless, so the scenario's timing
//! thresholds (p99, VIP SLA) are enforced by the rehearsal `.ci/run` plays, not by `cargo test`.

use std::path::Path;

use loadtest::rehearsal::options::Options;
use loadtest::rehearsal::Rehearsal;

/// Figures that count events, not time: each must be exactly 0 whatever the machine's speed.
const CORRECTNESS: &[&str] = &[
    "lost",
    "duplicated",
    "unacked",
    "errors",
    "unfinished",
    "mismatch",
    "class_mismatches",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_smoke_scenario_plays_in_process_and_accounts_for_everything() {
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/loadtest/smoke.toml");
    let rehearsal = Rehearsal::prepare(Options {
        scenario,
        spawn: true,
        spawn_process: None,
        kill9_at: Vec::new(),
        data_dir: true,
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

    // Measured (not n/a: the /metrics cross-check must have scraped the spawned gateway) and 0.
    for name in CORRECTNESS {
        assert_eq!(summary.figure(name), Some(0.0), "{name}\n{table}");
    }
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
    // The scenario carries both kinds of threshold; the timing ones are `.ci/run`'s to enforce.
    let scenario: Vec<&str> = summary
        .thresholds
        .iter()
        .map(|v| v.threshold.as_str())
        .collect();
    for name in CORRECTNESS {
        assert!(
            scenario.contains(&format!("{name}==0").as_str()),
            "smoke.toml has no {name}==0: {scenario:?}"
        );
    }
}
