//! The command line of `switchboard-loadtest`.

use std::fmt::Write as _;
use std::path::PathBuf;

use super::threshold::FIGURES;

/// What to play and how.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The scenario file.
    pub scenario: PathBuf,
    /// Start the gateway in this process with the scenario's configuration.
    pub spawn: bool,
    /// Start this `switchboard` binary as a child process instead (`--spawn-process`).
    pub spawn_process: Option<PathBuf>,
    /// Seconds from the plan's start at which the child is killed with SIGKILL and restarted,
    /// ascending.
    pub kill9_at: Vec<f64>,
    /// Give the child `--data-dir` (off with `--no-data-dir`, for a binary without a journal).
    pub data_dir: bool,
    /// A running gateway's client address, `ws://HOST:PORT` (default: the configuration's
    /// `gateway.listen`).
    pub url: Option<String>,
    /// A running gateway's admin address, `http://HOST:PORT` (default: the configuration's
    /// `gateway.admin_listen`).
    pub admin: Option<String>,
    /// Multiplies the arrival rate and every agent group.
    pub scale: f64,
    /// Thresholds beyond the scenario's.
    pub thresholds: Vec<String>,
    /// Where to write the summary as JSON.
    pub json: Option<PathBuf>,
    /// No progress line.
    pub quiet: bool,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Play a scenario.
    Play(Options),
    /// Print the usage.
    Help,
}

/// The usage text, with every threshold figure.
pub fn usage() -> String {
    let mut text = String::from(
        "\
usage: switchboard-loadtest [--spawn] SCENARIO.toml [options]

Plays a scenario (config/loadtest/*.toml) against Switchboard over real WebSockets: customers
through connector sockets, AI bots and human agents, each following the scenario's seeded plan
in real time. Prints a table of SLA attainment, latencies, message accounting and errors, and
exits 1 when a threshold is breached (2 for a bad command line, scenario or threshold).

  --spawn              start the gateway in this process, with the scenario's gateway
                       configuration, on 127.0.0.1 (stopped at the end)
  --spawn-process BIN  start BIN (target/release/switchboard) as a child process: `BIN serve`
                       with the scenario's configuration on two free 127.0.0.1 ports and a
                       fresh --data-dir; stopped with SIGTERM at the end, which must exit 0
  --kill9-at SECS      with --spawn-process: SIGKILL the child SECS into the plan, restart it
                       on the same ports and data directory, and check the crash ledger
                       (acked_lost, duplicates, gaps, queue_moved, reassigned, bad_exit must
                       all be 0); repeatable
  --no-data-dir        with --spawn-process: do not pass --data-dir (a binary without it)
  --url ws://HOST:PORT     a running gateway (default: the configuration's gateway.listen)
  --admin http://HOST:PORT its admin listener, for /metrics (default: gateway.admin_listen)
  --scale X            multiply the arrival rate and every agent group (default 1)
  --threshold EXPR     fail unless EXPR holds; repeatable; adds to the scenario's thresholds
  --json FILE          also write the full summary as JSON
  --quiet              no progress line

A threshold is NAME OP NUMBER, OP one of < <= > >= ==, e.g. p99_ms<50, vip_sla>=0.95, lost==0.
A figure the run had nothing to measure on is n/a and passes. Names:
",
    );
    for (name, what) in FIGURES {
        let _ = writeln!(text, "  {name:<20} {what}");
    }
    text
}

/// Parses the arguments (without the program name).
pub fn parse(args: &[String]) -> Result<Command, String> {
    let mut options = Options {
        scenario: PathBuf::new(),
        spawn: false,
        spawn_process: None,
        kill9_at: Vec::new(),
        data_dir: true,
        url: None,
        admin: None,
        scale: 1.0,
        thresholds: Vec::new(),
        json: None,
        quiet: false,
    };
    let mut scenario = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--spawn" => options.spawn = true,
            "--quiet" => options.quiet = true,
            "--no-data-dir" => options.data_dir = false,
            "--spawn-process" => options.spawn_process = Some(PathBuf::from(value(arg)?)),
            "--kill9-at" => {
                let text = value(arg)?;
                let secs = text
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .ok_or_else(|| format!("--kill9-at {text}: a positive number of seconds"))?;
                options.kill9_at.push(secs);
            }
            "--url" => options.url = Some(value(arg)?),
            "--admin" => options.admin = Some(value(arg)?),
            "--threshold" => options.thresholds.push(value(arg)?),
            "--json" => options.json = Some(PathBuf::from(value(arg)?)),
            "--scale" => {
                let text = value(arg)?;
                options.scale = text
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0)
                    .ok_or_else(|| format!("--scale {text}: a positive number is needed"))?;
            }
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            path if scenario.is_none() => scenario = Some(PathBuf::from(path)),
            extra => return Err(format!("one scenario file only (also given: {extra})")),
        }
    }
    options.scenario = scenario.ok_or("a scenario file is needed")?;
    let spawns = options.spawn || options.spawn_process.is_some();
    if spawns && (options.url.is_some() || options.admin.is_some()) {
        return Err("--spawn starts its own gateway: --url and --admin do not apply".into());
    }
    if options.spawn && options.spawn_process.is_some() {
        return Err("--spawn and --spawn-process: one gateway only".into());
    }
    if options.spawn_process.is_none() && (!options.kill9_at.is_empty() || !options.data_dir) {
        return Err("--kill9-at and --no-data-dir need --spawn-process".into());
    }
    options.kill9_at.sort_by(f64::total_cmp);
    Ok(Command::Play(options))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn the_documented_command_lines_parse_and_mistakes_are_named() {
        let Ok(Command::Play(o)) = parse(&args(
            "--spawn s.toml --scale 2 --threshold lost==0 --threshold p99_ms<5 --json out.json --quiet",
        )) else {
            panic!("should parse");
        };
        assert!(o.spawn && o.quiet);
        assert_eq!(o.scenario, PathBuf::from("s.toml"));
        assert_eq!(o.scale, 2.0);
        assert_eq!(o.thresholds, ["lost==0", "p99_ms<5"]);
        assert_eq!(parse(&args("--help")), Ok(Command::Help));
        for (line, says) in [
            ("", "a scenario file is needed"),
            ("s.toml --scale 0", "--scale 0"),
            ("s.toml --bogus", "unknown option --bogus"),
            ("s.toml t.toml", "one scenario file only"),
            ("s.toml --url", "--url needs a value"),
            ("--spawn s.toml --url ws://x:1", "do not apply"),
            (
                "--spawn-process b s.toml --admin http://x:1",
                "do not apply",
            ),
            ("--spawn --spawn-process b s.toml", "one gateway only"),
            ("s.toml --kill9-at 5", "need --spawn-process"),
            ("s.toml --no-data-dir", "need --spawn-process"),
            ("--spawn-process b s.toml --kill9-at -1", "--kill9-at -1"),
        ] {
            let error = parse(&args(line)).expect_err(line);
            assert!(error.contains(says), "{line}: {error}");
        }
        assert!(usage().contains("vip_sla"));
        let Ok(Command::Play(o)) = parse(&args(
            "s.toml --spawn-process bin/sb --kill9-at 20 --kill9-at 8.5 --no-data-dir",
        )) else {
            panic!("should parse");
        };
        assert_eq!(o.spawn_process, Some(PathBuf::from("bin/sb")));
        assert_eq!(o.kill9_at, [8.5, 20.0]);
        assert!(!o.data_dir && !o.spawn);
    }
}
