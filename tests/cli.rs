//! The `switchboard` binary's command line: help for every subcommand, errors that name the
//! flag, the version, and a token the gateway accepts.

mod common;

use std::process::{Command, Output};

use common::gateway::*;
use switchboard::gateway::Stop;

fn switchboard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        // Without --config the binary reads config/switchboard.toml from here, as a user's would.
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the switchboard binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Each subcommand and what its help must mention: every flag, and the facts today's users rely on.
const SUBCOMMANDS: [(&str, &[&str]); 6] = [
    (
        "serve",
        &[
            "--config",
            "--listen",
            "--admin-listen",
            "config/switchboard.toml",
            "SWITCHBOARD_LISTEN",
            "SWITCHBOARD_ADMIN_LISTEN",
            "SIGTERM",
            "SIGHUP",
            "--data-dir",
            "--journal-recovery",
            "truncate",
        ],
    ),
    (
        "token",
        &[
            "--sub",
            "--tenant",
            "--role",
            "--skills",
            "--capacity",
            "--name",
            "--hours",
            "--config",
            "general=5",
        ],
    ),
    (
        "capacity",
        &[
            "--per-hour",
            "--per-sec",
            "--handle-secs",
            "--concurrency",
            "--target-secs",
            "--service-level",
            "--patience-secs",
            "Erlang A",
            "0.8",
            "180",
        ],
    ),
    ("simulate", &["--scenario", "--scale", "--seed", "--json"]),
    ("check-config", &["[FILE]", "embedded"]),
    ("journal", &["verify", "dump", "masked"]),
];

#[test]
fn every_subcommand_explains_itself_with_help() {
    for (subcommand, mentions) in SUBCOMMANDS {
        let out = switchboard(&[subcommand, "--help"]);
        let help = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{subcommand} --help: {help}");
        for mention in mentions {
            assert!(
                help.contains(mention),
                "{subcommand} --help should mention {mention}:\n{help}"
            );
        }
    }
    let out = switchboard(&["--help"]);
    let help = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    for (subcommand, _) in SUBCOMMANDS {
        assert!(help.contains(subcommand), "--help lists {subcommand}");
    }
}

#[test]
fn an_unknown_flag_exits_2_and_is_named() {
    for (subcommand, _) in SUBCOMMANDS {
        let out = switchboard(&[subcommand, "--no-such-flag", "1"]);
        let error = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{subcommand}: {error}");
        assert!(error.contains("--no-such-flag"), "{subcommand}: {error}");
    }
}

#[test]
fn a_bad_or_missing_value_names_its_flag() {
    let cases: [(&[&str], &str); 4] = [
        (&["token"], "--sub"),
        (
            &["capacity", "--per-hour", "lots", "--handle-secs", "60"],
            "--per-hour",
        ),
        (&["capacity", "--handle-secs", "60"], "--per-hour"),
        (&["token", "--sub", "a", "--role", "admin"], "--role"),
    ];
    for (args, flag) in cases {
        let out = switchboard(args);
        let error = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {error}");
        assert!(error.contains(flag), "{args:?} should name {flag}: {error}");
    }
}

#[test]
fn version_prints_the_package_version() {
    let out = switchboard(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout).trim(),
        format!("switchboard {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn the_documented_commands_still_work() {
    let out = switchboard(&[
        "capacity",
        "--per-hour",
        "360",
        "--handle-secs",
        "240",
        "--target-secs",
        "20",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("Erlang C: "));
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/config/switchboard.toml");
    let out = switchboard(&["check-config", config]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains(": valid"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_printed_token_is_accepted_by_the_gateway() {
    let server = Server::start(test_config()).await;
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/config/switchboard.toml");
    let out = switchboard(&[
        "token",
        "--sub",
        "alice",
        "--name",
        "Alice",
        "--skills",
        "general=5,refunds",
        "--capacity",
        "3",
        "--config",
        config,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let token = text(&out.stdout);
    let (_client, welcome) = Client::agent(&server.addr, token.trim()).await;
    assert_eq!(welcome["type"], "welcome");
    assert_eq!(welcome["tenant"], "default");
    server.stop(Stop::Fast).await;
}
