//! `gateway-bench`: throughput, latency and idle-memory figures for Switchboard and the baseline
//! relay, over real WebSockets on 127.0.0.1. See `loadtest/README.md` for how to run it and
//! `loadtest/RESULTS.md` for the method.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use loadtest::bench::{self, Options, Rig};
use loadtest::procfs;
use loadtest::report::{Report, SUSTAINED_RULE};
use loadtest::saturate::{self, Budget};
use loadtest::target::{self, bench_config, Kind, Target};
use switchboard_sim::scenario::{Saturation, Scenario};

// The generator allocates a frame per message; mimalloc keeps that cheap, leaving more of the
// shared CPU to the target.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Throughput, latency and idle-memory figures for Switchboard and the baseline relay, over real
/// WebSockets on 127.0.0.1.
///
/// The saturate mode is an open model: the offered rate is multiplied until a step breaks the
/// budget, then bisected; each step lasts --rate-duration.
///
/// Every wait is bounded; the run ends by itself and exits 1 if any step failed.
#[derive(Parser)]
#[command(
    name = "gateway-bench",
    version,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Sub>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Sub {
    /// Print a Switchboard configuration with the bench connectors' API keys, for --target runs.
    PrintConfig {
        /// Connector keys to add [default: --idle + --idle-warm, 10100].
        #[arg(long, value_name = "N")]
        connectors: Option<usize>,
        /// Switchboard config to add the bench connectors to (default: the embedded one).
        #[arg(long, value_name = "FILE")]
        config_base: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// throughput, latency, idle, saturate, or all (= the first three, the default);
    /// repeatable or comma-separated. drain (alone, with --target): saturate for --duration
    /// while someone sends the target SIGTERM; passes when every socket is closed with 1001.
    #[arg(long, value_name = "M", value_delimiter = ',', help_heading = "What to run",
        value_parser = ["throughput", "latency", "idle", "saturate", "drain", "all"])]
    mode: Vec<String>,
    /// switchboard, switchboard-tls, baseline or both (= switchboard and baseline; the
    /// default): started as child processes from the binaries next to this one; repeatable or
    /// comma-separated.
    #[arg(long, value_name = "T", value_delimiter = ',', help_heading = "What to run",
        value_parser = ["switchboard", "switchboard-tls", "baseline", "both"])]
    spawn: Vec<String>,
    /// Drive a running server instead (ws://127.0.0.1:PORT, or wss:// with --tls-cert).
    #[arg(
        long,
        value_name = "URL",
        conflicts_with = "spawn",
        help_heading = "What to run"
    )]
    target: Option<String>,
    /// What --target is.
    #[arg(long, value_name = "T", default_value = "switchboard", help_heading = "What to run",
        value_parser = ["switchboard", "switchboard-tls", "baseline"])]
    target_kind: String,
    /// The --target's pid, for RSS and CPU figures (required for --mode idle).
    #[arg(long, value_name = "PID", help_heading = "What to run")]
    target_pid: Option<u32>,
    /// Default: the `switchboard` next to this binary.
    #[arg(long, value_name = "P", help_heading = "What to run")]
    switchboard_bin: Option<PathBuf>,
    /// Default: the `relay-baseline` next to this binary.
    #[arg(long, value_name = "P", help_heading = "What to run")]
    baseline_bin: Option<PathBuf>,
    /// Switchboard config to add the bench connectors to (default: the embedded one); use the
    /// target version's config/switchboard.toml when --switchboard-bin comes from another
    /// checkout.
    #[arg(long, value_name = "FILE", help_heading = "What to run")]
    config_base: Option<PathBuf>,
    /// The spawned Switchboard's `journal.fsync`: batch (its default: every frame fdatasynced
    /// before its outputs leave), interval, or off. Default: as the configuration says. Each
    /// spawned gateway journals into a fresh working directory of its own.
    #[arg(long, value_name = "MODE", help_heading = "What to run",
        value_parser = ["batch", "interval", "off"])]
    journal: Option<String>,
    /// PEM certificate every wss:// connection is verified against (a CA, or the server's
    /// self-signed certificate for 127.0.0.1); with --spawn switchboard-tls also the
    /// certificate that target serves.
    #[arg(long, value_name = "FILE", help_heading = "What to run")]
    tls_cert: Option<PathBuf>,
    /// Its private key, for --spawn switchboard-tls.
    #[arg(long, value_name = "FILE", help_heading = "What to run")]
    tls_key: Option<PathBuf>,

    /// Connector sockets.
    #[arg(long, value_name = "N", default_value_t = Options::default().connectors, help_heading = "Shape")]
    connectors: usize,
    /// Agent sockets.
    #[arg(long, value_name = "N", default_value_t = Options::default().agents, help_heading = "Shape")]
    agents: usize,
    /// Conversations opened before measuring.
    #[arg(long, value_name = "N", default_value_t = Options::default().conversations, help_heading = "Shape")]
    conversations: usize,
    /// Each agent's capacity claim.
    #[arg(long, value_name = "N", default_value_t = Options::default().capacity, help_heading = "Shape")]
    capacity: u32,
    /// Measured seconds of each throughput run.
    #[arg(long, value_name = "S", default_value_t = Options::default().duration, help_heading = "Shape")]
    duration: f64,
    /// Seconds of throughput before measuring.
    #[arg(long, value_name = "S", default_value_t = Options::default().warmup, help_heading = "Shape")]
    warmup: f64,
    /// Messages in flight per connector in the throughput mode.
    #[arg(long, value_name = "N", default_value_t = Options::default().window, help_heading = "Shape")]
    window: u64,
    /// Messages per frame, one throughput run each.
    #[arg(long, value_name = "L", value_delimiter = ',', default_values_t = Options::default().batches, help_heading = "Shape")]
    batches: Vec<usize>,
    /// Offered rates for the latency mode, messages per second in total.
    #[arg(long, value_name = "L", value_delimiter = ',', default_values_t = Options::default().rates, help_heading = "Shape")]
    rates: Vec<u64>,
    /// Seconds per rate (and per saturate step), warm-up included [default: 5, or the
    /// scenario's step_secs].
    #[arg(long, value_name = "S", help_heading = "Shape")]
    rate_duration: Option<f64>,
    /// Seconds at the start of each rate not measured.
    #[arg(long, value_name = "S", default_value_t = Options::default().rate_warmup, help_heading = "Shape")]
    rate_warmup: f64,
    /// Pacer period in the latency mode, microseconds.
    #[arg(long, value_name = "N", default_value_t = Options::default().tick_us, help_heading = "Shape")]
    tick_us: u64,
    /// Idle connections to measure.
    #[arg(long, value_name = "N", default_value_t = Options::default().idle, help_heading = "Shape")]
    idle: usize,
    /// Idle connections opened before the "before" RSS reading.
    #[arg(long, value_name = "N", default_value_t = Options::default().idle_warm, help_heading = "Shape")]
    idle_warm: usize,
    /// Handshakes in flight at once while opening idle connections.
    #[arg(long, value_name = "N", default_value_t = Options::default().idle_concurrency, help_heading = "Shape")]
    idle_concurrency: usize,
    /// Idle connector connections held open during throughput and latency.
    #[arg(long, value_name = "N", default_value_t = Options::default().background, help_heading = "Shape")]
    background: usize,

    /// First offered rate, msg/s [default: 10000].
    #[arg(long, value_name = "R", help_heading = "Saturate")]
    sat_start: Option<f64>,
    /// Each step multiplies the rate by this [default: 1.5].
    #[arg(long, value_name = "F", help_heading = "Saturate")]
    sat_factor: Option<f64>,
    /// Never offer more than this, msg/s [default: 1000000].
    #[arg(long, value_name = "R", help_heading = "Saturate")]
    sat_max: Option<f64>,
    /// Highest acceptable delivery p99 [default: 50].
    #[arg(long, value_name = "MS", help_heading = "Saturate")]
    sat_p99_ms: Option<f64>,
    /// Highest acceptable share of errors and losses [default: 0.001].
    #[arg(long, value_name = "S", help_heading = "Saturate")]
    sat_max_error_share: Option<f64>,
    /// Take the budget and step length from a scenario file's [saturation] table; --sat-* and
    /// --rate-duration given as well override it.
    #[arg(long, value_name = "FILE", help_heading = "Saturate")]
    scenario: Option<PathBuf>,
    /// Generator runtime threads [default: one per CPU].
    #[arg(long, value_name = "N", help_heading = "What to run")]
    workers: Option<usize>,

    /// Also write the results as JSON.
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    json: Option<PathBuf>,
}

struct Args {
    modes: Vec<String>,
    spawn: Vec<Kind>,
    target: Option<String>,
    target_kind: Kind,
    target_pid: Option<u32>,
    switchboard_bin: PathBuf,
    baseline_bin: PathBuf,
    config_base: Option<String>,
    journal: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    json: Option<PathBuf>,
    workers: usize,
    opts: Options,
    budget: Budget,
}

/// `switchboard`, `switchboard-tls`, `baseline` or `both`, as clap already checked.
fn kinds(names: &[String]) -> Vec<Kind> {
    names
        .iter()
        .flat_map(|name| match name.as_str() {
            "both" => vec![Kind::Switchboard, Kind::Baseline],
            other => Kind::parse(other).into_iter().collect(),
        })
        .collect()
}

/// The run's settings: defaults < the scenario's [saturation] < flags; then the bounds.
fn settings(cli: RunArgs) -> Result<Args, String> {
    let read = |path: &PathBuf| {
        std::fs::read_to_string(path)
            .map_err(|e| format!("--config-base: cannot read {}: {e}", path.display()))
    };
    let mut opts = Options {
        connectors: cli.connectors,
        agents: cli.agents,
        conversations: cli.conversations,
        capacity: cli.capacity,
        duration: cli.duration,
        warmup: cli.warmup,
        window: cli.window,
        batches: cli.batches,
        rates: cli.rates,
        rate_duration: Options::default().rate_duration,
        rate_warmup: cli.rate_warmup,
        tick_us: cli.tick_us,
        idle: cli.idle,
        idle_warm: cli.idle_warm,
        idle_concurrency: cli.idle_concurrency,
        background: cli.background,
    };
    let mut budget = Budget::from(&Saturation::default());
    if let Some(path) = &cli.scenario {
        let scenario =
            Scenario::load(path).map_err(|e| format!("--scenario {}: {e}", path.display()))?;
        budget = Budget::from(&scenario.saturation);
        opts.rate_duration = scenario.saturation.step_secs.max(opts.rate_warmup + 0.5);
    }
    let set = |target: &mut f64, flag: Option<f64>| {
        if let Some(value) = flag {
            *target = value;
        }
    };
    set(&mut opts.rate_duration, cli.rate_duration);
    set(&mut budget.start_rate, cli.sat_start);
    set(&mut budget.factor, cli.sat_factor);
    set(&mut budget.max_rate, cli.sat_max);
    set(&mut budget.p99_ms, cli.sat_p99_ms);
    set(&mut budget.max_error_share, cli.sat_max_error_share);
    let mut modes = cli.mode;
    if modes.is_empty() || modes.iter().any(|m| m == "all") {
        modes = vec!["throughput".into(), "latency".into(), "idle".into()];
    }
    let mut spawn = kinds(&cli.spawn);
    if spawn.is_empty() && cli.target.is_none() {
        spawn = vec![Kind::Switchboard, Kind::Baseline];
    }
    let parsed = Args {
        modes,
        spawn,
        target_kind: Kind::parse(&cli.target_kind).unwrap_or(Kind::Switchboard),
        target: cli.target,
        target_pid: cli.target_pid,
        switchboard_bin: cli
            .switchboard_bin
            .unwrap_or_else(|| target::sibling_binary("switchboard")),
        baseline_bin: cli
            .baseline_bin
            .unwrap_or_else(|| target::sibling_binary("relay-baseline")),
        config_base: cli.config_base.as_ref().map(read).transpose()?,
        journal: cli.journal,
        tls_cert: cli.tls_cert,
        tls_key: cli.tls_key,
        json: cli.json,
        workers: cli.workers.unwrap_or_else(procfs::cpus),
        opts,
        budget,
    };
    check_bounds(&parsed)?;
    if parsed.modes.iter().any(|m| m == "drain")
        && (parsed.modes.len() > 1 || parsed.target.is_none() || parsed.opts.background > 0)
    {
        return Err(
            "--mode drain runs alone, against a --target that is sent SIGTERM during the run, \
             without --background"
                .into(),
        );
    }
    if parsed.spawn.contains(&Kind::SwitchboardTls)
        && (parsed.tls_cert.is_none() || parsed.tls_key.is_none())
    {
        return Err("--spawn switchboard-tls needs --tls-cert and --tls-key".into());
    }
    if let Some(cert) = &parsed.tls_cert {
        loadtest::client::trust(cert)?;
    }
    Ok(parsed)
}

/// Bounded by construction: every count and duration has a ceiling.
fn check_bounds(parsed: &Args) -> Result<(), String> {
    let o = &parsed.opts;
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
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Sub::PrintConfig {
        connectors,
        config_base,
    }) = cli.command
    {
        return print_config(connectors, config_base);
    }
    let parsed = match settings(cli.run) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("gateway-bench: {e}");
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

/// A Switchboard configuration with `connectors` bench keys added to `config_base` (or the
/// embedded configuration).
fn print_config(connectors: Option<usize>, config_base: Option<PathBuf>) -> ExitCode {
    let defaults = Options::default();
    let connectors = connectors.unwrap_or(defaults.idle + defaults.idle_warm);
    let base = match config_base.map(std::fs::read_to_string).transpose() {
        Ok(base) => base,
        Err(e) => {
            eprintln!("gateway-bench: --config-base: {e}");
            return ExitCode::from(2);
        }
    };
    match bench_config(base.as_deref(), connectors) {
        Ok((text, _)) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gateway-bench: {e}");
            ExitCode::from(1)
        }
    }
}

/// The bench configuration with `journal.fsync = mode`, when a mode is asked for.
fn journalled(
    text: String,
    config: switchboard_config::Config,
    mode: Option<&str>,
) -> Result<(String, switchboard_config::Config), String> {
    let Some(mode) = mode else {
        return Ok((text, config));
    };
    let text = target::overlay_toml(&text, &format!("[journal]\nfsync = \"{mode}\"\n"))?;
    let config = switchboard_config::Config::from_toml_str(&text)
        .map_err(|e| format!("the bench configuration with --journal {mode} is invalid: {e}"))?;
    Ok((text, config))
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
    let (config_text, config) = match bench_config(args.config_base.as_deref(), identities)
        .and_then(|(text, config)| journalled(text, config, args.journal.as_deref()))
    {
        Ok(c) => c,
        Err(e) => {
            report.failures.push(e);
            return report;
        }
    };
    report.meta["journal_fsync"] =
        serde_json::json!(format!("{:?}", config.journal.fsync).to_lowercase());
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
        .any(|m| m == "throughput" || m == "latency" || m == "saturate" || m == "drain");
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
                if args.modes.iter().any(|m| m == "drain") {
                    log(&format!(
                        "{name}: saturating for up to {} s until the target drains",
                        o.duration
                    ));
                    let d = rig.drain_under_load(o).await?;
                    log(&format!(
                        "{name}: drained: all {} sockets closed with 1001 after {} messages \
                         delivered; {} in flight undelivered; {} error frames",
                        d.sockets, d.delivered, d.undelivered, d.errors
                    ));
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
