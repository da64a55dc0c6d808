//! The `switchboard` command: parses flags, loads configuration, runs a subcommand.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use switchboard::config::Config;
use switchboard::gateway::auth::{sign, Claims};
use switchboard::gateway::{self, unix_now, Listeners, Stop};

// Many small, short-lived allocations across threads (frames, effects): mimalloc keeps them cheap.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "\
usage: switchboard <command> [options]

commands:
  serve [--config FILE] [--listen ADDR] [--admin-listen ADDR]
        run the gateway. Without --config it reads config/switchboard.toml if that file
        exists, else the embedded defaults. Prints the addresses it listens on.
        SIGTERM drains and closes every socket with 1001; SIGINT exits at once;
        SIGHUP reloads connectors, JWT secrets, the admin token and TLS certificates
        from the file.
  token --sub ID [--tenant ID] [--role agent|bot] [--skills a=5,b=7] [--capacity N]
        [--name NAME] [--hours N] [--config FILE]
        print an HS256 token for an agent or bot, signed with the tenant's jwt_secret
  capacity --per-hour N | --per-sec N  --handle-secs S  [--concurrency K] [--target-secs T]
           [--service-level P] [--patience-secs S]
        agents needed for an arrival rate: Erlang C, or Erlang A when --patience-secs is given
        (customers who give up). Defaults: concurrency 1, target 180 s, service level 0.8
  simulate --scenario FILE [--scale X] [--seed N] [--json FILE]
        play a load-test scenario against the router in virtual time: SLA attainment, waits,
        abandonment, a per-minute timeline and Erlang staffing for the simulated peak.
        --scale multiplies arrivals and agents (default 1); --json also writes the summary
  check-config [FILE]
        validate a configuration file (default: the embedded one) and print what it defines
  help  print this text
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or_default();
    match args.first().map(String::as_str) {
        Some("serve") => serve(rest),
        Some("token") => token(rest),
        Some("capacity") => capacity(rest),
        Some("simulate") => simulate(rest),
        Some("check-config") => check_config(rest.first().map(PathBuf::from)),
        Some("help") | Some("--help") | Some("-h") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some("--version") | Some("-V") => {
            println!("switchboard {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        _ => {
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// `--name value` pairs; a flag without a value or an unknown flag is an error.
fn flags(args: &[String], known: &[&str]) -> Result<BTreeMap<String, String>, String> {
    let mut found = BTreeMap::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let name = flag
            .strip_prefix("--")
            .filter(|n| known.contains(n))
            .ok_or_else(|| format!("unknown option {flag:?}"))?;
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        found.insert(name.to_string(), value.clone());
    }
    Ok(found)
}

/// The configuration: `--config FILE`, else `config/switchboard.toml` if present, else embedded;
/// then the environment. Also returns the file it came from, if any.
fn load(flag: Option<&String>) -> Result<(Config, Option<PathBuf>), String> {
    let default = Path::new("config/switchboard.toml");
    let path = match flag {
        Some(path) => Some(PathBuf::from(path)),
        None if default.exists() => Some(default.to_path_buf()),
        None => None,
    };
    let mut config = match &path {
        Some(path) => Config::load(path)
            .map_err(|e| format!("invalid configuration ({}): {e}", path.display()))?,
        None => Config::embedded(),
    };
    config
        .apply_env()
        .map_err(|e| format!("invalid configuration (environment): {e}"))?;
    Ok((config, path))
}

fn serve(args: &[String]) -> ExitCode {
    let run = || -> Result<(), String> {
        let flags = flags(args, &["config", "listen", "admin-listen"])?;
        let (mut config, path) = load(flags.get("config"))?;
        let source = path.as_ref().map_or_else(
            || "embedded defaults".to_string(),
            |p| p.display().to_string(),
        );
        if let Some(listen) = flags.get("listen") {
            config.gateway.listen = listen.clone();
        }
        if let Some(admin) = flags.get("admin-listen") {
            config.gateway.admin_listen = admin.clone();
        }
        config
            .validate()
            .map_err(|e| format!("invalid configuration (flags): {e}"))?;
        let tls = gateway::tls::Tls::load(&config.gateway)
            .map_err(|e| format!("invalid configuration: {e}"))?;
        let (ws, http) = (
            if tls.public.is_some() { "wss" } else { "ws" },
            if tls.admin.is_some() { "https" } else { "http" },
        );
        tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
            )
            .with_writer(std::io::stderr)
            .init();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the runtime: {e}"))?;
        runtime.block_on(async move {
            let bind = |addr: String| async move {
                tokio::net::TcpListener::bind(&addr)
                    .await
                    .map_err(|e| format!("cannot listen on {addr}: {e}"))
            };
            let public = bind(config.gateway.listen.clone()).await?;
            let admin = bind(config.gateway.admin_listen.clone()).await?;
            let shown = |l: &tokio::net::TcpListener| {
                l.local_addr()
                    .map_or_else(|_| "?".to_string(), |a| a.to_string())
            };
            println!("switchboard {} ({source})", env!("CARGO_PKG_VERSION"));
            println!("  connectors: {ws}://{}/v1/connector", shown(&public));
            println!("  agents:     {ws}://{}/v1/agent", shown(&public));
            println!(
                "  admin:      {http}://{0}/  (dashboard)  /metrics  /healthz  /readyz  /api/v1/",
                shown(&admin)
            );
            let listeners = Listeners { public, admin };
            gateway::run_with_reload(config, path, tls, listeners, signals())
                .await
                .map_err(|e| format!("gateway failed: {e}"))
        })
    };
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("switchboard: {message}");
            ExitCode::from(1)
        }
    }
}

/// SIGTERM asks for a graceful stop, SIGINT (Ctrl-C) for a fast one.
async fn signals() -> Stop {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return Stop::Fast;
    };
    tokio::select! {
        _ = term.recv() => Stop::Graceful,
        _ = tokio::signal::ctrl_c() => Stop::Fast,
    }
}

fn token(args: &[String]) -> ExitCode {
    let run = || -> Result<String, String> {
        let flags = flags(
            args,
            &[
                "sub", "tenant", "role", "skills", "capacity", "name", "hours", "config",
            ],
        )?;
        let (config, _) = load(flags.get("config"))?;
        let tenant_id = flags
            .get("tenant")
            .cloned()
            .unwrap_or_else(|| config.default_tenant().id.clone());
        let tenant = config
            .tenants
            .iter()
            .find(|t| t.id == tenant_id)
            .ok_or_else(|| format!("no tenant {tenant_id:?}"))?;
        if tenant.jwt_secret.is_empty() {
            return Err(format!(
                "tenant {tenant_id:?} has no jwt_secret: it takes no agents"
            ));
        }
        let sub = flags.get("sub").cloned().ok_or("--sub is required")?;
        let number = |name: &str, default: u64| -> Result<u64, String> {
            flags.get(name).map_or(Ok(default), |v| {
                v.parse()
                    .map_err(|_| format!("--{name} must be a whole number"))
            })
        };
        let mut skills = BTreeMap::new();
        for pair in flags
            .get("skills")
            .map_or("general=5", String::as_str)
            .split(',')
            .filter(|p| !p.is_empty())
        {
            let (name, level) = pair.split_once('=').unwrap_or((pair, "5"));
            let level: u8 = level
                .parse()
                .ok()
                .filter(|l| (1..=10).contains(l))
                .ok_or_else(|| format!("skill level for {name:?} must be 1-10"))?;
            skills.insert(name.to_string(), level);
        }
        let claims = Claims {
            sub,
            tenant: tenant_id,
            role: flags.get("role").cloned().unwrap_or_else(|| "agent".into()),
            skills,
            capacity: number("capacity", 3)? as u32,
            exp: unix_now() + number("hours", 12)? * 3600,
            name: flags.get("name").cloned(),
            auto_accept: false,
        };
        Ok(sign(&claims, tenant.jwt_secret.as_bytes()))
    };
    match run() {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("switchboard token: {message}");
            ExitCode::from(2)
        }
    }
}

fn capacity(args: &[String]) -> ExitCode {
    use switchboard::capacity::{recommend, Model, StaffingInput};
    let run = || -> Result<String, String> {
        let flags = flags(
            args,
            &[
                "per-hour",
                "per-sec",
                "handle-secs",
                "concurrency",
                "target-secs",
                "service-level",
                "patience-secs",
            ],
        )?;
        let number = |name: &str| -> Result<Option<f64>, String> {
            flags
                .get(name)
                .map(|v| {
                    v.parse::<f64>()
                        .map_err(|_| format!("--{name} must be a number"))
                })
                .transpose()
        };
        let arrival_per_sec = match (number("per-sec")?, number("per-hour")?) {
            (Some(per_sec), None) => per_sec,
            (None, Some(per_hour)) => per_hour / 3600.0,
            _ => return Err("give exactly one of --per-sec and --per-hour".into()),
        };
        let input = StaffingInput {
            arrival_per_sec,
            mean_handle_secs: number("handle-secs")?.ok_or("--handle-secs is required")?,
            concurrency: number("concurrency")?.unwrap_or(1.0) as u32,
            target_secs: number("target-secs")?.unwrap_or(180.0),
            target_service_level: number("service-level")?.unwrap_or(0.8),
            mean_patience_secs: number("patience-secs")?,
        };
        let r = recommend(&input).map_err(|e| e.to_string())?;
        let model = match r.model {
            Model::ErlangC => "Erlang C",
            Model::ErlangA => "Erlang A",
        };
        let mut report = format!(
            "{model}: {} agents ({} chat slots) for {:.1} Erlangs\n\
             answered within {} s: {:.1}% (target {:.1}%)\n\
             waiting at all: {:.1}%   average speed of answer: {:.1} s   occupancy: {:.1}%",
            r.agents,
            r.servers,
            r.traffic_erlangs,
            input.target_secs,
            r.service_level * 100.0,
            input.target_service_level * 100.0,
            r.prob_wait * 100.0,
            r.asa_secs,
            r.occupancy * 100.0,
        );
        if let Some(abandon) = r.prob_abandon {
            report.push_str(&format!(
                "\ngiving up while waiting: {:.1}%",
                abandon * 100.0
            ));
        }
        Ok(report)
    };
    match run() {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("switchboard capacity: {message}");
            ExitCode::from(2)
        }
    }
}

fn simulate(args: &[String]) -> ExitCode {
    let run = || -> Result<String, String> {
        let flags = flags(args, &["scenario", "scale", "seed", "json"])?;
        let path = flags.get("scenario").ok_or("--scenario is required")?;
        let scale = flags.get("scale").map_or(Ok(1.0), |v| {
            v.parse::<f64>()
                .map_err(|_| "--scale must be a number".to_string())
        })?;
        let seed = flags
            .get("seed")
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| "--seed must be a whole number".to_string())
            })
            .transpose()?;
        let (mut scenario, tenant) =
            switchboard::simulate::load(Path::new(path)).map_err(|e| e.to_string())?;
        if let Some(seed) = seed {
            scenario.seed = seed;
        }
        let summary =
            switchboard::simulate::run(&scenario, &tenant, scale).map_err(|e| e.to_string())?;
        if let Some(json) = flags.get("json") {
            let text = summary
                .to_json()
                .map_err(|e| format!("cannot encode the summary: {e}"))?;
            std::fs::write(json, text + "\n").map_err(|e| format!("cannot write {json}: {e}"))?;
        }
        Ok(summary.report())
    };
    match run() {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("switchboard simulate: {message}");
            ExitCode::from(2)
        }
    }
}

fn check_config(path: Option<PathBuf>) -> ExitCode {
    let loaded = match &path {
        Some(path) => Config::load(path),
        None => Ok(Config::embedded()),
    };
    let config = match loaded {
        Ok(config) => config,
        Err(err) => {
            eprintln!("invalid configuration: {err}");
            return ExitCode::from(1);
        }
    };
    let source = path.map_or("embedded defaults".to_string(), |p| p.display().to_string());
    println!("{source}: valid");
    for tenant in &config.tenants {
        let queues: Vec<String> = tenant
            .queues
            .iter()
            .map(|q| format!("{} [{}]", q.name, q.skills.join(", ")))
            .collect();
        println!(
            "tenant {:?}: {} queue(s): {}; default queue {:?}; {} routing rule(s)",
            tenant.id,
            tenant.queues.len(),
            queues.join("; "),
            tenant.default_queue,
            tenant.routes.len()
        );
    }
    println!(
        "gateway: {} (admin {}); {} connector(s)",
        config.gateway.listen,
        config.gateway.admin_listen,
        config.connectors.len()
    );
    ExitCode::SUCCESS
}
