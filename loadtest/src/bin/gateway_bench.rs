//! `gateway-bench`: throughput, latency and idle-memory figures for Switchboard and the baseline
//! relay, over real WebSockets on 127.0.0.1. See `loadtest/README.md` for how to run it and
//! `loadtest/RESULTS.md` for the method.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use loadtest::bench::{self, Options, Rig};
use loadtest::procfs;
use loadtest::report::{Report, SUSTAINED_RULE};
use loadtest::saturate::{self, Budget};
use loadtest::target::{self, bench_config, Kind, Target};
use switchboard::scenario::{Saturation, Scenario};

// The generator allocates a frame per message; mimalloc keeps that cheap, leaving more of the
// shared CPU to the target.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "\
usage: gateway-bench [options]
       gateway-bench print-config [--connectors N] [--config-base FILE]
                                       (a Switchboard config for --target runs)

what to run:
  --mode M              throughput, latency, idle, saturate, or all (= the first three,
                        the default); repeatable/commas
  --spawn T             switchboard, switchboard-tls, baseline or both (= switchboard and
                        baseline; the default); repeatable/commas: started as child
                        processes from the binaries next to this one
  --target URL          drive a running server instead (ws://127.0.0.1:PORT, or wss://
                        with --tls-cert); then
  --target-kind T       switchboard, switchboard-tls or baseline (default switchboard)
  --target-pid PID      its pid, for RSS and CPU figures (required for --mode idle)
  --switchboard-bin P   default: the `switchboard` next to this binary
  --baseline-bin P      default: the `relay-baseline` next to this binary
  --config-base FILE    Switchboard config to add the bench connectors to (default: the
                        embedded one); use the target version's config/switchboard.toml when
                        --switchboard-bin comes from another checkout
  --tls-cert FILE       PEM certificate every wss:// connection is verified against (a CA,
                        or the server's self-signed certificate for 127.0.0.1); with
                        --spawn switchboard-tls also the certificate that target serves
  --tls-key FILE        its private key, for --spawn switchboard-tls

shape (defaults in brackets):
  --connectors N [4]  --agents N [8]  --conversations N [2000]  --capacity N [5000]
  --duration S [10]  --warmup S [1]  --window N [1024 per connector]  --batches L [1,32]
  --rates L [10000,25000,50000,75000,100000,150000,200000]  --rate-duration S [5]  --rate-warmup S [0.5]
  --tick-us N [200]  --idle N [10000]  --idle-warm N [100]  --idle-concurrency N [200]
  --background N [0]    idle connector connections held open during throughput and latency

saturate (open model: the rate is multiplied until a step breaks the budget, then bisected):
  --sat-start R [10000]  --sat-factor F [1.5]  --sat-max R [1000000]
  --sat-p99-ms MS [50]   --sat-max-error-share S [0.001]   (step length: --rate-duration)
  --scenario FILE       take the budget from a scenario file's [saturation] table (flags
                        after it still override)
  --workers N           generator runtime threads [CPUs]

output:
  --json FILE           also write the results as JSON

Every wait is bounded; the run ends by itself and exits 1 if any step failed.
";

struct Args {
    modes: Vec<String>,
    spawn: Vec<Kind>,
    target: Option<String>,
    target_kind: Kind,
    target_pid: Option<u32>,
    switchboard_bin: PathBuf,
    baseline_bin: PathBuf,
    config_base: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    json: Option<PathBuf>,
    workers: usize,
    opts: Options,
    budget: Budget,
}

fn list<T: std::str::FromStr>(name: &str, value: &str) -> Result<Vec<T>, String> {
    value
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.trim()
                .parse()
                .map_err(|_| format!("--{name}: {s:?} is not a valid number"))
        })
        .collect()
}

fn one<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("--{name}: {value:?} is not a valid number"))
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut parsed = Args {
        modes: Vec::new(),
        spawn: Vec::new(),
        target: None,
        target_kind: Kind::Switchboard,
        target_pid: None,
        switchboard_bin: target::sibling_binary("switchboard"),
        baseline_bin: target::sibling_binary("relay-baseline"),
        config_base: None,
        tls_cert: None,
        tls_key: None,
        json: None,
        workers: procfs::cpus(),
        opts: Options::default(),
        budget: Budget::from(&Saturation::default()),
    };
    let o = &mut parsed.opts;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let name = flag
            .strip_prefix("--")
            .ok_or_else(|| format!("unexpected argument {flag:?}"))?;
        let value = it
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?
            .as_str();
        match name {
            "mode" => parsed
                .modes
                .extend(value.split(',').map(|m| m.trim().to_string())),
            "spawn" => {
                for kind in value.split(',').map(str::trim) {
                    match kind {
                        "both" => parsed.spawn.extend([Kind::Switchboard, Kind::Baseline]),
                        other => parsed.spawn.push(Kind::parse(other).ok_or_else(|| {
                            format!(
                                "--spawn: {other:?} is not switchboard, switchboard-tls, \
                                 baseline or both"
                            )
                        })?),
                    }
                }
            }
            "target" => parsed.target = Some(value.to_string()),
            "target-kind" => {
                parsed.target_kind = Kind::parse(value).ok_or_else(|| {
                    format!(
                        "--target-kind: {value:?} is not switchboard, switchboard-tls or baseline"
                    )
                })?
            }
            "target-pid" => parsed.target_pid = Some(one(name, value)?),
            "switchboard-bin" => parsed.switchboard_bin = PathBuf::from(value),
            "baseline-bin" => parsed.baseline_bin = PathBuf::from(value),
            "config-base" => {
                parsed.config_base = Some(
                    std::fs::read_to_string(value)
                        .map_err(|e| format!("--config-base: cannot read {value}: {e}"))?,
                )
            }
            "tls-cert" => parsed.tls_cert = Some(PathBuf::from(value)),
            "tls-key" => parsed.tls_key = Some(PathBuf::from(value)),
            "json" => parsed.json = Some(PathBuf::from(value)),
            "workers" => parsed.workers = one(name, value)?,
            "connectors" => o.connectors = one(name, value)?,
            "agents" => o.agents = one(name, value)?,
            "conversations" => o.conversations = one(name, value)?,
            "capacity" => o.capacity = one(name, value)?,
            "duration" => o.duration = one(name, value)?,
            "warmup" => o.warmup = one(name, value)?,
            "window" => o.window = one(name, value)?,
            "batches" => o.batches = list(name, value)?,
            "rates" => o.rates = list(name, value)?,
            "rate-duration" => o.rate_duration = one(name, value)?,
            "rate-warmup" => o.rate_warmup = one(name, value)?,
            "tick-us" => o.tick_us = one(name, value)?,
            "idle" => o.idle = one(name, value)?,
            "idle-warm" => o.idle_warm = one(name, value)?,
            "idle-concurrency" => o.idle_concurrency = one(name, value)?,
            "background" => o.background = one(name, value)?,
            "scenario" => {
                let scenario = Scenario::load(std::path::Path::new(value))
                    .map_err(|e| format!("--scenario {value}: {e}"))?;
                parsed.budget = Budget::from(&scenario.saturation);
                o.rate_duration = scenario.saturation.step_secs.max(o.rate_warmup + 0.5);
            }
            "sat-start" => parsed.budget.start_rate = one(name, value)?,
            "sat-factor" => parsed.budget.factor = one(name, value)?,
            "sat-max" => parsed.budget.max_rate = one(name, value)?,
            "sat-p99-ms" => parsed.budget.p99_ms = one(name, value)?,
            "sat-max-error-share" => parsed.budget.max_error_share = one(name, value)?,
            _ => return Err(format!("unknown option {flag:?}")),
        }
    }
    if parsed.modes.is_empty() || parsed.modes.iter().any(|m| m == "all") {
        parsed.modes = vec!["throughput".into(), "latency".into(), "idle".into()];
    }
    if let Some(bad) = parsed
        .modes
        .iter()
        .find(|m| !["throughput", "latency", "idle", "saturate"].contains(&m.as_str()))
    {
        return Err(format!("--mode: unknown mode {bad:?}"));
    }
    if parsed.spawn.is_empty() && parsed.target.is_none() {
        parsed.spawn = vec![Kind::Switchboard, Kind::Baseline];
    }
    if parsed.target.is_some() && !parsed.spawn.is_empty() {
        return Err("use either --spawn or --target, not both".into());
    }
    if parsed.spawn.contains(&Kind::SwitchboardTls)
        && (parsed.tls_cert.is_none() || parsed.tls_key.is_none())
    {
        return Err("--spawn switchboard-tls needs --tls-cert and --tls-key".into());
    }
    if let Some(cert) = &parsed.tls_cert {
        loadtest::client::trust(cert)?;
    }
    let o = &parsed.opts;
    // Bounded by construction: every count and duration has a ceiling.
    let checks: [(bool, &str); 9] = [
        (
            (1..=64).contains(&o.connectors),
            "--connectors must be 1-64",
        ),
        ((1..=256).contains(&o.agents), "--agents must be 1-256"),
        (
            (1..=200_000).contains(&o.conversations),
            "--conversations must be 1-200000",
        ),
        (
            o.duration > 0.0 && o.duration <= 120.0,
            "--duration must be in (0, 120] s",
        ),
        (
            o.warmup >= 0.0 && o.warmup <= 30.0,
            "--warmup must be in [0, 30] s",
        ),
        (
            o.rate_duration > o.rate_warmup && o.rate_duration <= 120.0 && o.rate_warmup >= 0.0,
            "--rate-duration must be in (rate-warmup, 120] s",
        ),
        (
            o.batches.iter().all(|b| (1..=256).contains(b)),
            "--batches: 1-256 messages per frame (protocol limit)",
        ),
        (
            o.rates.iter().all(|r| (1..=5_000_000).contains(r)),
            "--rates: 1-5000000 msg/s",
        ),
        (
            o.idle <= 100_000 && o.window >= 1 && parsed.workers >= 1,
            "--idle at most 100000, --window and --workers at least 1",
        ),
    ];
    let b = &parsed.budget;
    if !(b.start_rate >= 1.0
        && b.factor > 1.0
        && b.max_rate >= b.start_rate
        && b.max_rate <= 5_000_000.0
        && b.p99_ms > 0.0
        && (0.0..1.0).contains(&b.max_error_share))
    {
        return Err(
            "--sat-*: start ≥ 1, factor > 1, start ≤ max ≤ 5000000, p99 > 0, \
                    error share in [0, 1)"
                .into(),
        );
    }
    if let Some((_, problem)) = checks.iter().find(|(ok, _)| !ok) {
        return Err(problem.to_string());
    }
    Ok(parsed)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("print-config") {
        let mut connectors = Options::default().idle + Options::default().idle_warm;
        let mut base = None;
        let mut it = args[1..].iter();
        while let Some(flag) = it.next() {
            match (flag.as_str(), it.next()) {
                ("--connectors", Some(n)) if n.parse::<usize>().is_ok() => {
                    connectors = n.parse().unwrap_or(connectors)
                }
                ("--config-base", Some(path)) => match std::fs::read_to_string(path) {
                    Ok(text) => base = Some(text),
                    Err(e) => {
                        eprintln!("gateway-bench: cannot read {path}: {e}");
                        return ExitCode::from(2);
                    }
                },
                _ => {
                    eprint!("{USAGE}");
                    return ExitCode::from(2);
                }
            }
        }
        return match bench_config(base.as_deref(), connectors) {
            Ok((text, _)) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("gateway-bench: {e}");
                ExitCode::from(1)
            }
        };
    }
    if args.iter().any(|a| a == "--help" || a == "-h") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let parsed = match parse(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("gateway-bench: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(parsed.workers)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("gateway-bench: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let report = runtime.block_on(run(&parsed));
    // Tasks still reading sockets of a stopped target need not finish.
    runtime.shutdown_timeout(Duration::from_secs(1));
    print!("{}", report.table());
    if let Some(path) = &parsed.json {
        let written = serde_json::to_string_pretty(&report)
            .map_err(|e| e.to_string())
            .and_then(|text| std::fs::write(path, text + "\n").map_err(|e| e.to_string()));
        match written {
            Ok(()) => println!("\nresults written to {}", path.display()),
            Err(e) => {
                eprintln!("gateway-bench: cannot write {}: {e}", path.display());
                return ExitCode::from(1);
            }
        }
    }
    if report.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn log(line: &str) {
    eprintln!("[gateway-bench] {line}");
}

async fn run(args: &Args) -> Report {
    let o = &args.opts;
    let mut report = Report {
        meta: serde_json::json!({
            "cpus": procfs::cpus(),
            "loadavg_at_start": procfs::loadavg(),
            "generator_workers": args.workers,
            "note": "target and load generator share this machine's CPUs",
            "connectors": o.connectors, "agents": o.agents, "conversations": o.conversations,
            "agent_capacity": o.capacity, "duration_s": o.duration, "warmup_s": o.warmup,
            "window_per_connector": o.window, "batches": o.batches, "rates": o.rates,
            "rate_duration_s": o.rate_duration, "rate_warmup_s": o.rate_warmup,
            "pacer_tick_us": o.tick_us, "idle": o.idle, "idle_warm": o.idle_warm,
            "background_idle": o.background,
            "sustained_rule": SUSTAINED_RULE,
        }),
        ..Report::default()
    };
    // Enough connector identities for the idle mode's connections as well as the active ones.
    let identities = (o.connectors + o.background).max(o.idle + o.idle_warm);
    let (config_text, config) = match bench_config(args.config_base.as_deref(), identities) {
        Ok(c) => c,
        Err(e) => {
            report.failures.push(e);
            return report;
        }
    };
    let spawn = |kind: Kind| -> Result<Target, String> {
        if let Some(url) = &args.target {
            return Ok(Target::external(args.target_kind, url, args.target_pid));
        }
        match (kind, &args.tls_cert, &args.tls_key) {
            (Kind::Switchboard, _, _) => {
                target::spawn_switchboard(&args.switchboard_bin, &config_text)
            }
            (Kind::SwitchboardTls, Some(cert), Some(key)) => {
                target::spawn_switchboard_tls(&args.switchboard_bin, &config_text, cert, key)
            }
            (Kind::SwitchboardTls, _, _) => {
                Err("switchboard-tls needs --tls-cert and --tls-key".into())
            }
            (Kind::Baseline, _, _) => target::spawn_baseline(&args.baseline_bin),
        }
    };
    let kinds = if args.target.is_some() {
        vec![args.target_kind]
    } else {
        args.spawn.clone()
    };
    let active = args
        .modes
        .iter()
        .any(|m| m == "throughput" || m == "latency" || m == "saturate");
    for &kind in &kinds {
        let name = kind.name();
        if active {
            let outcome = async {
                let mut target = spawn(kind)?;
                log(&format!(
                    "{name}: listening at {} (pid {:?})",
                    target.base, target.pid
                ));
                let rig = Rig::connect(&target, &config, o).await?;
                rig.setup(&mut target, o).await?;
                log(&format!("{name}: {} conversations open", o.conversations));
                // Quiet connections held for the whole active run; identities after the
                // active connectors' own.
                let mut background = bench::IdlePool::new(&target.base, o.idle_concurrency);
                if o.background > 0 {
                    bench::check_nofile(o.background + o.connectors + o.agents)?;
                    background.open(o.connectors..o.connectors + o.background);
                    background
                        .welcomed(o.background, bench::open_limit(o.background))
                        .await?;
                    log(&format!("{name}: {} idle connections open", o.background));
                }
                if args.modes.iter().any(|m| m == "throughput") {
                    for &batch in &o.batches {
                        log(&format!(
                            "{name}: saturating, batch {batch}, {} s",
                            o.duration
                        ));
                        match rig.throughput(&mut target, o, batch).await {
                            Ok(t) => {
                                log(&format!("{name}: {:.0} msg/s", t.delivered_per_sec));
                                report.throughput.push(t);
                            }
                            Err(e) => return Err(format!("throughput, batch {batch}: {e}")),
                        }
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
                if args.modes.iter().any(|m| m == "latency") {
                    for &rate in &o.rates {
                        log(&format!("{name}: {rate} msg/s for {} s", o.rate_duration));
                        match rig.latency(&mut target, o, rate).await {
                            Ok(r) => {
                                log(&format!(
                                    "{name}: p50 {:.0} µs, p99 {:.0} µs, delivered {}/{}",
                                    r.latency.p50_us, r.latency.p99_us, r.delivered, r.scheduled
                                ));
                                let closed = r.closed.clone();
                                report.latency.push(r);
                                if let Some(why) = closed {
                                    // The rig has lost a client: higher rates would measure a
                                    // different setup, so they are skipped.
                                    log(&format!("{name}: {why}; skipping higher rates"));
                                    break;
                                }
                            }
                            Err(e) => return Err(format!("latency at {rate} msg/s: {e}")),
                        }
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
                if args.modes.iter().any(|m| m == "saturate") {
                    let result =
                        saturate::search(&rig, &mut target, o, &args.budget, |step, why| {
                            log(&format!(
                                "{name}: {} msg/s: p99 {:.1} ms, delivered {}/{}{}",
                                step.offered_per_sec,
                                step.latency.p99_us / 1000.0,
                                step.delivered,
                                step.scheduled,
                                why.map_or_else(String::new, |w| format!(" — over budget: {w}"))
                            ))
                        })
                        .await
                        .map_err(|e| format!("saturate: {e}"))?;
                    log(&format!(
                        "{name}: sustains {} msg/s within the budget",
                        result.sustained_per_sec
                    ));
                    report.saturation.push(result);
                }
                if let Some(first) = rig.first_error() {
                    log(&format!("{name}: first error frame received: {first}"));
                }
                if let Some(failure) = background.failure() {
                    return Err(format!("background connections: {failure}"));
                }
                drop(background);
                drop(rig);
                target.stop();
                Ok::<(), String>(())
            }
            .await;
            if let Err(e) = outcome {
                log(&format!("{name}: FAILED: {e}"));
                report.failures.push(format!("{name}: {e}"));
            }
        }
        if args.modes.iter().any(|m| m == "idle") {
            let outcome = async {
                // A fresh process, so "before" is a server with nothing but the warm-up sockets.
                let mut target = spawn(kind)?;
                log(&format!("{name}: opening {} idle connections", o.idle));
                let idle = bench::idle(&mut target, o).await?;
                log(&format!(
                    "{name}: {:.2} KiB per idle connection",
                    idle.kib_per_connection
                ));
                report.idle.push(idle);
                target.stop();
                Ok::<(), String>(())
            }
            .await;
            if let Err(e) = outcome {
                log(&format!("{name}: FAILED: {e}"));
                report.failures.push(format!("{name}, idle: {e}"));
            }
        }
    }
    report
}
