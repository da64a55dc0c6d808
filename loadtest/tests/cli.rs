//! The load tools' command lines: `--help` everywhere, mistakes named, and the configuration
//! `.ci/run` asks `gateway-bench` for.

use std::process::{Command, Output};

fn run(binary: &str, args: &[&str]) -> Output {
    Command::new(binary)
        .args(args)
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const BENCH: &str = env!("CARGO_BIN_EXE_gateway-bench");
const RELAY: &str = env!("CARGO_BIN_EXE_relay-baseline");
const REHEARSAL: &str = env!("CARGO_BIN_EXE_switchboard-loadtest");

#[test]
fn every_tool_and_subcommand_has_help() {
    let cases: [(&str, &[&str], &[&str]); 4] = [
        (
            BENCH,
            &["--help"],
            &[
                "--mode",
                "--target",
                "--sat-p99-ms",
                "--scenario",
                "print-config",
            ],
        ),
        (
            BENCH,
            &["print-config", "--help"],
            &["--connectors", "--config-base"],
        ),
        (RELAY, &["--help"], &["--listen", "--workers"]),
        (
            REHEARSAL,
            &["--help"],
            &["--spawn", "--threshold", "vip_sla"],
        ),
    ];
    for (binary, args, mentions) in cases {
        let out = run(binary, args);
        let help = text(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{binary} {args:?}: {}",
            text(&out.stderr)
        );
        for mention in mentions {
            assert!(
                help.contains(mention),
                "{binary} {args:?} should mention {mention}"
            );
        }
    }
}

#[test]
fn an_unknown_flag_exits_2_and_is_named() {
    for (binary, args) in [
        (BENCH, &["--no-such-flag", "1"][..]),
        (BENCH, &["print-config", "--no-such-flag", "1"][..]),
        (RELAY, &["--no-such-flag", "1"][..]),
    ] {
        let out = run(binary, args);
        let error = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{binary} {args:?}: {error}");
        assert!(
            error.contains("--no-such-flag"),
            "{binary} {args:?}: {error}"
        );
    }
}

#[test]
fn print_config_gives_the_keys_ci_asks_for() {
    let out = run(BENCH, &["print-config", "--connectors", "16"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let config = text(&out.stdout);
    assert_eq!(
        config.matches("[[connectors]]").count(),
        16 + 1,
        "the bench keys and the embedded one"
    );
}

#[test]
fn bench_flags_are_checked_against_their_bounds() {
    // The arguments `.ci/run` passes parse; a bound broken on top of them is named.
    let out = run(
        BENCH,
        &[
            "--target",
            "ws://127.0.0.1:9",
            "--target-kind",
            "switchboard",
            "--mode",
            "throughput",
            "--batches",
            "1",
            "--duration",
            "30",
            "--connectors",
            "0",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--connectors must be 1-64"));
    let out = run(
        BENCH,
        &["--target", "ws://127.0.0.1:9", "--spawn", "baseline"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--spawn"));
}
