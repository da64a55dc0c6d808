//! `switchboard simulate` from the command line: the report it prints, the JSON it writes, and
//! the exit code and message for bad input. The simulator itself is tested in `crates/sim`.

use std::process::Command;

fn cli(args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("simulate")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_command_prints_the_report_and_writes_json() {
    let json = std::env::temp_dir().join(format!("simulate-{}.json", std::process::id()));
    let json_arg = json.to_string_lossy().into_owned();
    let (code, stdout, _) = cli(&[
        "--scenario",
        "config/loadtest/smoke.toml",
        "--seed",
        "7",
        "--json",
        &json_arg,
    ]);
    assert_eq!(code, Some(0));
    assert!(stdout.starts_with("simulate: smoke (seed 7"), "{stdout}");
    let (_, again, _) = cli(&["--scenario", "config/loadtest/smoke.toml"]);
    assert_eq!(stdout, again, "--seed 7 is smoke's own seed");
    let text = std::fs::read_to_string(&json).expect("--json wrote the file");
    let _ = std::fs::remove_file(&json);
    let value: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(value["scenario"], "smoke");
    assert_eq!(value["outcomes"].as_array().map(Vec::len), Some(92));
}

#[test]
fn bad_input_exits_2_with_a_message() {
    let cases: [(&[&str], &str); 6] = [
        (&[], "--scenario <FILE>"),
        (
            &["--scenario"],
            "a value is required for '--scenario <FILE>'",
        ),
        (&["--scenario", "no/such/file.toml"], "no/such/file.toml"),
        (
            &["--scenario", "config/loadtest/smoke.toml", "--scale", "x"],
            "--scale",
        ),
        (
            &["--scenario", "config/loadtest/smoke.toml", "--scale", "0"],
            "scale",
        ),
        (
            &["--scenario", "config/loadtest/smoke.toml", "--bogus", "1"],
            "--bogus",
        ),
    ];
    for (args, expected) in cases {
        let (code, stdout, stderr) = cli(args);
        assert_eq!(code, Some(2), "{args:?}");
        assert!(stdout.is_empty(), "{args:?}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    // A scenario file that is not a scenario names the line.
    let (code, _, stderr) = cli(&["--scenario", "config/switchboard.toml"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("config/switchboard.toml: line"), "{stderr}");
}
