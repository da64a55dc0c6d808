//! The `switchboard` command: parses flags, loads configuration, runs a subcommand.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{ArgGroup, Args, Parser, Subcommand};
use switchboard::gateway::auth::{sign, Claims, Role};
use switchboard::gateway::{self, unix_now, Listeners, Stop};
use switchboard_config::{Config, JournalRecovery};

// Many small, short-lived allocations across threads (frames, effects): mimalloc keeps them cheap.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Realtime customer-service gateway: channel connectors, AI bots and human agents over
/// WebSocket, with an in-memory skills-based router.
#[derive(Parser)]
#[command(name = "switchboard", version, arg_required_else_help = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    ///
    /// Without --config it reads config/switchboard.toml if that file exists, else the embedded
    /// defaults. Settings are taken in this order, each overriding the one before: defaults <
    /// file < environment (SWITCHBOARD_LISTEN, SWITCHBOARD_ADMIN_LISTEN) < flags. Prints the
    /// addresses it listens on.
    ///
    /// SIGTERM drains and closes every socket with 1001; SIGINT exits at once; SIGHUP reloads
    /// connectors, JWT secrets, the admin token and TLS certificates from the file.
    ///
    /// Every input is journalled (`[journal]`, default ./data, fsync per batch) and every
    /// tenant restored from it at start: a crash or a deploy loses no waiting customer and no
    /// acknowledged message; clients resume as after a network drop.
    Serve(ServeArgs),
    /// Inspect a journal directory: `verify` checks every segment and snapshot, `dump` prints
    /// the records with customer data masked. Verify modifies nothing.
    ///
    /// Example: switchboard journal verify data
    #[command(subcommand)]
    Journal(JournalCommand),
    /// Print an HS256 token for an agent or bot, signed with the tenant's jwt_secret.
    ///
    /// Example: switchboard token --sub alice --name Alice --skills general=5 --capacity 3
    Token(TokenArgs),
    /// Agents needed for an arrival rate: Erlang C, or Erlang A when --patience-secs is given
    /// (customers who give up).
    ///
    /// Example: switchboard capacity --per-hour 360 --handle-secs 240 --target-secs 20
    Capacity(CapacityArgs),
    /// Play a load-test scenario against the router in virtual time.
    ///
    /// Reports SLA attainment, waits, abandonment, a per-minute timeline and Erlang staffing for
    /// the simulated peak. Exits 1 when a self-check (the simulator against the router's own
    /// measurements) fails, 2 for a bad scenario.
    ///
    /// Example: switchboard simulate --scenario config/loadtest/peak-sale.toml
    Simulate(SimulateArgs),
    /// Validate a configuration file and print what it defines.
    CheckConfig {
        /// The file to check (default: the embedded configuration).
        file: Option<PathBuf>,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Configuration file (default: config/switchboard.toml if it exists, else the embedded
    /// defaults).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address for connectors and agents, e.g. 127.0.0.1:8080 (overrides gateway.listen and
    /// SWITCHBOARD_LISTEN; port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// Address of the admin listener: dashboard, /metrics, /healthz, /readyz, /api/v1/
    /// (overrides gateway.admin_listen and SWITCHBOARD_ADMIN_LISTEN).
    #[arg(long, value_name = "ADDR")]
    admin_listen: Option<String>,
    /// Journal directory (overrides journal.dir; created if missing).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// What to do with journal damage before its tail (a torn tail is always cut and logged):
    /// `strict` stops startup naming the segment and offset; `truncate` keeps what precedes it.
    #[arg(long, value_name = "MODE", default_value = "strict",
          value_parser = PossibleValuesParser::new(["strict", "truncate"]))]
    journal_recovery: String,
}

#[derive(Subcommand)]
enum JournalCommand {
    /// Check every segment and snapshot; print segments, frames, sequence range, size. Exits 1
    /// if anything is damaged.
    Verify(JournalArgs),
    /// Print every record of the current generation; texts and customer ids are masked.
    Dump(JournalArgs),
}

#[derive(Args)]
struct JournalArgs {
    /// The journal directory (default: journal.dir of the configuration, `data`).
    dir: Option<PathBuf>,
    /// Configuration file whose [journal] names the directory and key (default as for serve).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Args)]
struct TokenArgs {
    /// The agent's or bot's id within the tenant (the token's `sub`).
    #[arg(long, value_name = "ID")]
    sub: String,
    /// The tenant whose jwt_secret signs the token (default: the configuration's first tenant).
    #[arg(long, value_name = "ID")]
    tenant: Option<String>,
    /// A human agent or a bot service.
    #[arg(
        long,
        default_value = "agent",
        value_parser = PossibleValuesParser::new(["agent", "bot"]).try_map(|r| r.parse::<Role>())
    )]
    role: Role,
    /// Skills as name=level pairs, level 1-10, e.g. logistics=8,refunds=5; a name without a
    /// level gets 5; an empty list gives no skills.
    #[arg(long, value_name = "LIST", default_value = "general=5")]
    skills: String,
    /// Most conversations held at once.
    #[arg(long, value_name = "N", default_value_t = 3)]
    capacity: u32,
    /// Display name shown to customers.
    #[arg(long)]
    name: Option<String>,
    /// Hours until the token expires.
    #[arg(long, value_name = "N", default_value_t = 12)]
    hours: u64,
    /// Configuration file with the tenant's secret (default: config/switchboard.toml if it
    /// exists, else the embedded defaults; then the environment).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Args)]
#[command(group(ArgGroup::new("rate").required(true).args(["per_hour", "per_sec"])))]
struct CapacityArgs {
    /// Arrivals per hour (or give --per-sec).
    #[arg(long, value_name = "N")]
    per_hour: Option<f64>,
    /// Arrivals per second (or give --per-hour).
    #[arg(long, value_name = "N")]
    per_sec: Option<f64>,
    /// Mean handling time of one conversation, in seconds.
    #[arg(long, value_name = "S")]
    handle_secs: f64,
    /// Conversations one agent serves at once.
    #[arg(long, value_name = "K", default_value_t = 1)]
    concurrency: u32,
    /// The service-level target: answered within this many seconds.
    #[arg(long, value_name = "T", default_value_t = 180.0)]
    target_secs: f64,
    /// Share of conversations to answer within --target-secs.
    #[arg(long, value_name = "P", default_value_t = 0.8)]
    service_level: f64,
    /// Mean patience of a waiting customer, in seconds: switches to Erlang A.
    #[arg(long, value_name = "S")]
    patience_secs: Option<f64>,
}

#[derive(Args)]
struct SimulateArgs {
    /// The scenario file, e.g. config/loadtest/peak-sale.toml.
    #[arg(long, value_name = "FILE")]
    scenario: PathBuf,
    /// Multiply arrivals and agents (bots too) by this.
    #[arg(long, value_name = "X", default_value_t = 1.0)]
    scale: f64,
    /// Seed of the plan (default: the scenario's).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Also write the summary as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Serve(args) => serve(args),
        Command::Token(args) => token(args),
        Command::Capacity(args) => capacity(args),
        Command::Simulate(args) => simulate(args),
        Command::CheckConfig { file } => check_config(file),
        Command::Journal(command) => journal(command),
    }
}

/// The configuration: `--config FILE`, else `config/switchboard.toml` if present, else embedded;
/// then the environment. Also returns the file it came from, if any.
fn load(flag: Option<PathBuf>) -> Result<(Config, Option<PathBuf>), String> {
    let default = Path::new("config/switchboard.toml");
    let path = match flag {
        Some(path) => Some(path),
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

fn serve(args: ServeArgs) -> ExitCode {
    let run = || -> Result<(), String> {
        let (mut config, path) = load(args.config)?;
        let source = path.as_ref().map_or_else(
            || "embedded defaults".to_string(),
            |p| p.display().to_string(),
        );
        if let Some(listen) = args.listen {
            config.gateway.listen = listen;
        }
        if let Some(admin) = args.admin_listen {
            config.gateway.admin_listen = admin;
        }
        if let Some(dir) = args.data_dir {
            config.journal.dir = dir;
        }
        if args.journal_recovery == "truncate" {
            config.journal.recovery = JournalRecovery::Truncate;
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
        // Each connection holds a descriptor; the usual soft limit of 1,024 is a tenth of what
        // the gateway is built to hold. The hard limit is the operator's to set.
        match rlimit::increase_nofile_limit(u64::MAX) {
            Ok(descriptors) => tracing::info!(descriptors, "descriptor limit (RLIMIT_NOFILE)"),
            Err(error) => tracing::warn!(%error, "cannot raise the descriptor limit"),
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the runtime: {e}"))?;
        runtime.block_on(async move {
            let bind = |addr: &str| {
                gateway::limits::bind(addr, config.gateway.listen_backlog)
                    .map_err(|e| format!("cannot listen on {addr}: {e}"))
            };
            let public = bind(&config.gateway.listen)?;
            let admin = bind(&config.gateway.admin_listen)?;
            let shown = |l: &tokio::net::TcpListener| {
                l.local_addr()
                    .map_or_else(|_| "?".to_string(), |a| a.to_string())
            };
            // Printed once the journal is recovered and the shards run: a banner means the
            // gateway serves (tests and scripts wait for it).
            let banner = format!(
                "switchboard {} ({source})\n  connectors: {ws}://{public_addr}/v1/connector\n  \
                 agents:     {ws}://{public_addr}/v1/agent\n  \
                 admin:      {http}://{admin_addr}/  (dashboard)  /metrics  /healthz  /readyz  /api/v1/",
                env!("CARGO_PKG_VERSION"),
                public_addr = shown(&public),
                admin_addr = shown(&admin),
            );
            let listeners = Listeners { public, admin };
            let announce = move || println!("{banner}");
            gateway::run_with_reload(config, path, tls, listeners, signals(), announce)
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

fn token(args: TokenArgs) -> ExitCode {
    let run = || -> Result<String, String> {
        let (config, _) = load(args.config)?;
        let tenant_id = args
            .tenant
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
        let claims = Claims {
            sub: args.sub,
            tenant: tenant_id,
            role: args.role,
            skills: skills(&args.skills)?,
            capacity: args.capacity,
            exp: unix_now().saturating_add(args.hours.saturating_mul(3600)),
            name: args.name,
            auto_accept: false,
        };
        sign(&claims, tenant.jwt_secret.as_bytes()).map_err(|e| e.to_string())
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

/// `name=level,…`; a name without a level gets 5.
fn skills(list: &str) -> Result<BTreeMap<String, u8>, String> {
    let mut skills = BTreeMap::new();
    for pair in list.split(',').filter(|p| !p.is_empty()) {
        let (name, level) = pair.split_once('=').unwrap_or((pair, "5"));
        let level: u8 = level
            .parse()
            .ok()
            .filter(|l| (1..=10).contains(l))
            .ok_or_else(|| format!("--skills: the level of {name:?} must be 1-10"))?;
        skills.insert(name.to_string(), level);
    }
    Ok(skills)
}

fn capacity(args: CapacityArgs) -> ExitCode {
    use switchboard_staffing::{recommend, Model, StaffingInput};
    let run = || -> Result<String, String> {
        // clap's group lets exactly one of the two through.
        let arrival_per_sec = args
            .per_sec
            .or(args.per_hour.map(|per_hour| per_hour / 3600.0))
            .ok_or("give exactly one of --per-sec and --per-hour")?;
        let input = StaffingInput {
            arrival_per_sec,
            mean_handle_secs: args.handle_secs,
            concurrency: args.concurrency,
            target_secs: args.target_secs,
            target_service_level: args.service_level,
            mean_patience_secs: args.patience_secs,
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

fn simulate(args: SimulateArgs) -> ExitCode {
    let run = || -> Result<(String, bool), String> {
        let (mut scenario, tenant) =
            switchboard_sim::simulate::load(&args.scenario).map_err(|e| e.to_string())?;
        if let Some(seed) = args.seed {
            scenario.seed = seed;
        }
        let summary = switchboard_sim::simulate::run(&scenario, &tenant, args.scale)
            .map_err(|e| e.to_string())?;
        if let Some(json) = &args.json {
            let text = summary
                .to_json()
                .map_err(|e| format!("cannot encode the summary: {e}"))?;
            std::fs::write(json, text + "\n")
                .map_err(|e| format!("cannot write {}: {e}", json.display()))?;
        }
        Ok((summary.report(), summary.checks_passed()))
    };
    match run() {
        Ok((report, true)) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Ok((report, false)) => {
            print!("{report}");
            eprintln!("switchboard simulate: a self-check failed (see the Checks line)");
            ExitCode::from(1)
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

fn journal(command: JournalCommand) -> ExitCode {
    let (args, verify) = match command {
        JournalCommand::Verify(args) => (args, true),
        JournalCommand::Dump(args) => (args, false),
    };
    let run = || -> Result<bool, String> {
        let (config, _) = load(args.config)?;
        let dir = args.dir.unwrap_or(config.journal.dir);
        let key = config
            .journal
            .encryption_key_file
            .as_deref()
            .map(switchboard_journal::Key::from_file)
            .transpose()
            .map_err(|e| format!("journal.encryption_key_file: {e}"))?;
        if verify {
            let (report, healthy) = switchboard::inspect::verify(&dir, key.as_ref())?;
            print!("{report}");
            return Ok(healthy);
        }
        switchboard::inspect::dump(&dir, key.as_ref(), &mut std::io::stdout().lock())?;
        Ok(true)
    };
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("switchboard journal: {message}");
            ExitCode::from(1)
        }
    }
}
