//! `switchboard-loadtest`: a peak-sale rehearsal over real WebSockets.
//!
//! A scenario file (`config/loadtest/*.toml`, loaded by `switchboard_sim::scenario`) is drawn into a
//! seeded plan — every customer's arrival, messages, think times and patience, every bot
//! verdict, every agent's accept delay, handle time and disconnect — and played here in real
//! time, by the rules of play in `switchboard_sim::scenario` ("How a plan is played"), which the
//! virtual-time simulator follows too: the two are compared on SLA attainment and mean wait.
//!
//! # How a run goes
//! 1. [`Rehearsal::prepare`] loads the scenario and its gateway configuration, draws the plan
//!    and parses every threshold (a mistake in any of them stops here, before any socket).
//! 2. [`Rehearsal::play`] starts the gateway in this process if asked ([`inprocess`]), scrapes
//!    its `/metrics`, and opens one socket per connector, bot and agent, each driven by its own
//!    task ([`actors`]). Once every client is welcomed the plan's clock starts.
//! 3. The actors play until the plan's `end_ms`; outcomes are frozen then (whatever is open is
//!    unfinished, as the rules say), and the sockets are read for [`COLLECT`] more so messages
//!    in flight arrive. Then `/metrics` again, every socket closed, the gateway stopped.
//! 4. [`summary::Summary`] puts the figures together; [`threshold`]s are checked against it.
//!
//! Every wait is bounded: the run lasts the plan plus [`COLLECT`], plus at most [`SETUP`] to
//! connect and [`JOIN`] to hand back.
//!
//! # Layout
//! - [`options`]: the command line;
//! - [`inprocess`]: the gateway started by `--spawn`;
//! - [`chaos`]: the real binary started by `--spawn-process`, killed by `--kill9-at`;
//! - [`link`]: one client socket (handshake, resume, seqs, acks, heartbeat);
//! - [`actors`]: connectors with their customers, bots, human agents;
//! - [`measure`]: what the actors record (latencies, errors, where conversations stand);
//! - [`ledger`]: where every chat message ended up, and the checks across a kill;
//! - [`http`]: GET on the admin listener;
//! - [`check`]: `/metrics` and the cross-check against it;
//! - [`summary`]: the results, as a table and as JSON;
//! - [`threshold`]: pass/fail expressions.

pub mod actors;
pub mod chaos;
pub mod check;
pub mod http;
pub mod inprocess;
pub mod ledger;
pub mod link;
pub mod measure;
pub mod options;
pub mod summary;
pub mod threshold;

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use switchboard::gateway::auth::{sign, Claims};
use switchboard::gateway::unix_now;
use switchboard_config::{Config, ConnectorConfig, EMBEDDED_TOML};
use switchboard_sim::scenario::{Ending, Scenario};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use actors::agent::Agent;
use actors::bot::Bot;
use actors::connector::Connector;
use actors::{drive, ms_ns, Cue, Play, Rules};
use check::{cross_check, scrape};
use inprocess::InProcess;
use link::{Endpoint, Link};
use measure::{Role, Shared};
use options::Options;
use summary::{Setup, Summary};
use threshold::Threshold;

use crate::clock::now_ns;
use crate::report::ms;

/// How long every client has to connect and be welcomed.
pub const SETUP: Duration = Duration::from_secs(30);
/// How long sockets are still read after the plan's end, so messages in flight arrive.
pub const COLLECT: Duration = Duration::from_secs(3);
/// How long the actors have to hand back their sockets once told to stop.
pub const JOIN: Duration = Duration::from_secs(10);
/// Between every client welcomed and the plan's time 0: room for the start signal to reach
/// every task.
const LEAD_NS: u64 = 200_000_000;

/// A scenario ready to play.
#[derive(Debug)]
pub struct Rehearsal {
    options: Options,
    scenario: Scenario,
    config: Config,
    rules: Arc<Rules>,
    /// One connector API key per connector socket.
    keys: Vec<String>,
    thresholds: Vec<Threshold>,
    /// With `--spawn-process`: the configuration file the child reads.
    config_text: Option<String>,
}

/// What a `--spawn-process` run must show, whatever the scenario asks: a clean stop, and with
/// `--kill9-at` nothing lost, duplicated or moved by the kills.
const CRASH_THRESHOLDS: [&str; 6] = [
    "bad_exit==0",
    "acked_lost==0",
    "duplicates==0",
    "gaps==0",
    "queue_moved==0",
    "reassigned==0",
];

impl Rehearsal {
    /// Loads the scenario and its gateway configuration, draws the plan and parses every
    /// threshold. An error here is the user's to fix (exit 2).
    pub fn prepare(options: Options) -> Result<Rehearsal, String> {
        let path = &options.scenario;
        let shown = path.display().to_string();
        // A file that cannot be read is named by the error itself; a bad key is not.
        let scenario = Scenario::load(path).map_err(|e| match e.to_string() {
            e if e.starts_with(&shown) => e,
            e => format!("{shown}: {e}"),
        })?;
        let (mut config, config_file) = scenario
            .gateway_config(path)
            .map_err(|e| format!("{shown}: gateway configuration: {e}"))?;
        let tenant = config
            .tenants
            .iter()
            .find(|t| t.id == scenario.tenant)
            .cloned()
            .ok_or_else(|| format!("{shown}: no tenant {:?}", scenario.tenant))?;
        let thresholds = scenario
            .thresholds
            .iter()
            .map(String::as_str)
            .chain(options.thresholds.iter().map(String::as_str))
            .chain(crash_thresholds(&options).iter().copied())
            .map(Threshold::parse)
            .collect::<Result<Vec<_>, _>>()?;
        let sockets = scenario.connectors.count as usize;
        let keys = if options.spawn || options.spawn_process.is_some() {
            // One connection per identity: each socket needs its own key, so a gateway of our
            // own gets as many as the scenario has sockets.
            let keys: Vec<String> = (0..sockets)
                .map(|i| format!("switchboard-loadtest-connector-{i:04}"))
                .collect();
            for (i, key) in keys.iter().enumerate() {
                config.connectors.push(ConnectorConfig {
                    name: format!("switchboard-loadtest-{i}"),
                    tenant: scenario.tenant.clone(),
                    api_key: key.clone(),
                });
            }
            config
                .validate()
                .map_err(|e| format!("the configuration with the rehearsal's connectors: {e}"))?;
            keys
        } else {
            // A running gateway has the keys its file has: the customers are spread over as
            // many sockets as there are keys (which socket carries a conversation does not
            // change how it is routed).
            let keys: Vec<String> = config
                .connectors
                .iter()
                .filter(|c| c.tenant == scenario.tenant)
                .map(|c| c.api_key.clone())
                .take(sockets)
                .collect();
            if keys.is_empty() {
                return Err(format!(
                    "{shown}: the gateway configuration has no connector for tenant {:?}",
                    scenario.tenant
                ));
            }
            keys
        };
        let rules = Arc::new(Rules {
            plan: scenario.plan(options.scale),
            tenant,
            groups: scenario.agents.clone(),
        });
        let end_secs = rules.plan.end_ms as f64 / 1000.0;
        if let Some(last) = options.kill9_at.last().filter(|&&last| last >= end_secs) {
            return Err(format!("--kill9-at {last}: {shown} ends at {end_secs} s"));
        }
        let config_text = match &options.spawn_process {
            Some(_) => Some(child_config(
                config_file.as_deref(),
                &keys,
                &scenario.tenant,
            )?),
            None => None,
        };
        Ok(Rehearsal {
            options,
            scenario,
            config,
            rules,
            keys,
            thresholds,
            config_text,
        })
    }

    /// The options it was prepared with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Plays the scenario and returns its figures, thresholds checked. `Err` when the run
    /// could not be played (the gateway did not start, clients could not connect).
    pub async fn play(&self) -> Result<Summary, String> {
        if let (Some(bin), Some(text)) = (&self.options.spawn_process, &self.config_text) {
            return chaos::play(self, bin, text).await;
        }
        let spawned = if self.options.spawn {
            Some(InProcess::start(self.config.clone())?)
        } else {
            None
        };
        let (url, admin) = match &spawned {
            Some(gateway) => (gateway.url.clone(), gateway.admin.clone()),
            None => (
                self.options
                    .url
                    .clone()
                    .unwrap_or_else(|| format!("ws://{}", self.config.gateway.listen)),
                self.options
                    .admin
                    .clone()
                    .unwrap_or_else(|| format!("http://{}", self.config.gateway.admin_listen)),
            ),
        };
        let mut played = self
            .play_against(url.trim_end_matches('/'), &admin, None)
            .await;
        if let Some(gateway) = spawned {
            if let (Err(e), Ok(summary)) = (gateway.stop().await, &mut played) {
                summary.errors.unexpected(e);
            }
        }
        played.map(|summary| self.check(summary))
    }

    fn check(&self, mut summary: Summary) -> Summary {
        summary.thresholds = self.thresholds.iter().map(|t| t.check(&summary)).collect();
        summary
    }

    /// Plays against a gateway at `url` (admin listener `admin`), killing and restarting it
    /// as `crash` says when given.
    async fn play_against(
        &self,
        url: &str,
        admin: &str,
        mut crash: Option<&mut chaos::Crash>,
    ) -> Result<Summary, String> {
        let rules = &self.rules;
        let plan = &rules.plan;
        let before = scrape(admin).await;
        let shared = Arc::new(Shared::default());
        let (start, t0) = watch::channel(None);
        let (stop, stopped) = watch::channel(false);
        let cue = Cue {
            t0,
            stop: stopped,
            end_ms: plan.end_ms,
        };
        // Signed before any actor starts, so that a failure leaves nothing running.
        let bot_tokens = (1..=plan.bots)
            .map(|n| {
                let sub = format!("bot-{n}");
                let token = self.token(
                    &sub,
                    "bot",
                    Default::default(),
                    self.scenario.bots.capacity,
                    true,
                )?;
                Ok((sub, token))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let agent_tokens = plan
            .agents
            .iter()
            .map(|agent| {
                self.token(
                    &agent.name,
                    "agent",
                    agent.skills.clone(),
                    agent.capacity,
                    false,
                )
            })
            .collect::<Result<Vec<_>, String>>()?;
        let mut cast = Cast::default();
        let endpoint = |path: &'static str, credential: String| Endpoint {
            base: url.to_string(),
            path,
            credential,
        };
        let sockets = self.keys.len();
        for (i, key) in self.keys.iter().enumerate() {
            let customers = plan
                .customers
                .iter()
                .filter(|c| c.connector as usize % sockets == i)
                .map(|c| c.index)
                .collect();
            let link = cast.link(
                Role::Connector,
                format!("connector {i}"),
                endpoint("/v1/connector", key.clone()),
                &shared,
            );
            cast.connectors.push(tokio::spawn(drive(
                Connector::new(Arc::clone(rules), customers),
                link,
                cue.clone(),
            )));
        }
        for (sub, token) in bot_tokens {
            let link = cast.link(Role::Bot, sub, endpoint("/v1/agent", token), &shared);
            cast.bots.push(tokio::spawn(drive(
                Bot::new(Arc::clone(rules)),
                link,
                cue.clone(),
            )));
        }
        for (agent, token) in plan.agents.iter().zip(agent_tokens) {
            let link = cast.link(
                Role::Agent,
                format!("agent {}", agent.name),
                endpoint("/v1/agent", token),
                &shared,
            );
            cast.agents.push(tokio::spawn(drive(
                Agent::new(Arc::clone(rules), agent.clone()),
                link,
                cue.clone(),
            )));
        }
        let clients = cast.actors as usize;
        let welcomed = tokio::time::timeout(SETUP, shared.all_welcomed(clients)).await;
        if !matches!(welcomed, Ok(Ok(()))) {
            let _ = stop.send(true);
            cast.finish(&shared).await;
            let first = shared
                .with(|m| m.errors.samples.first().cloned())
                .unwrap_or_default();
            return Err(format!(
                "only {} of {clients} clients were welcomed within {SETUP:?}; first problem: {first}",
                shared.welcomed_count()
            ));
        }
        let t0 = now_ns() + LEAD_NS;
        let _ = start.send(Some(t0));
        let crashed = self.run_plan(&shared, t0, crash.as_deref_mut()).await;
        let _ = stop.send(true);
        if let Err(e) = crashed {
            cast.finish(&shared).await;
            return Err(format!("a kill -9 failed: {e}"));
        }
        let (endings, mut links) = cast.finish(&shared).await;
        if let Some(crash) = crash {
            crash.find_forgotten(&shared, &endings).await;
        }
        let after = scrape(admin).await;
        futures_util::future::join_all(links.iter_mut().map(Link::shutdown)).await;
        drop(links);
        let measure = shared.with(std::mem::take);
        let server = cross_check(&before, &after, &measure.traffic);
        let mut by_customer: Vec<Option<Ending>> = vec![None; plan.customers.len()];
        for (index, ending) in endings {
            if let Some(slot) = by_customer.get_mut(index as usize) {
                *slot = Some(ending);
            }
        }
        let setup = Setup {
            scenario: self.scenario.name.clone(),
            seed: self.scenario.seed,
            scale: self.options.scale,
            url: url.to_string(),
            spawned: self.options.spawn || self.options.spawn_process.is_some(),
            child_process: self.options.spawn_process.is_some(),
            customers: plan.customers.len(),
            agents: plan.agents.len(),
            bots: plan.bots as usize,
            connectors: self.keys.len(),
            arrivals_end_secs: plan.arrivals_end_ms as f64 / 1000.0,
            end_secs: plan.end_ms as f64 / 1000.0,
        };
        Ok(Summary::build(
            setup,
            plan,
            &rules.tenant,
            &by_customer,
            measure,
            server,
        ))
    }

    /// Waits for the plan's end ([`Rehearsal::watch`]) and for `crash` to have killed and
    /// restarted the gateway at each of its times.
    async fn run_plan(
        &self,
        shared: &Shared,
        t0: u64,
        crash: Option<&mut chaos::Crash>,
    ) -> Result<(), chaos::ChaosError> {
        let Some(crash) = crash else {
            self.watch(shared, t0).await;
            return Ok(());
        };
        // Both to the end: the plan may finish early, and a kill still due must still happen
        // (kill times are validated to fall within the plan).
        let ((), crashed) = tokio::join!(self.watch(shared, t0), crash.run(shared, t0));
        crashed
    }

    /// A token for an agent or bot of the scenario's tenant.
    fn token(
        &self,
        sub: &str,
        role: &str,
        skills: std::collections::BTreeMap<String, u8>,
        capacity: u32,
        auto_accept: bool,
    ) -> Result<String, String> {
        let claims = Claims {
            sub: sub.to_string(),
            tenant: self.rules.tenant.id.clone(),
            role: role
                .parse::<switchboard::gateway::auth::Role>()
                .map_err(|e| e.to_string())?,
            skills,
            capacity,
            // The run is bounded by the plan; a day of validity covers any scenario.
            exp: unix_now() + 24 * 3600,
            name: Some(sub.to_string()),
            auto_accept,
        };
        sign(&claims, self.rules.tenant.jwt_secret.as_bytes()).map_err(|e| format!("{sub}: {e}"))
    }

    /// Waits for the plan's end plus [`COLLECT`], showing progress on a terminal.
    async fn watch(&self, shared: &Shared, t0: u64) {
        let end = t0 + ms_ns(self.rules.plan.end_ms);
        let done = end + COLLECT.as_nanos() as u64;
        let show = !self.options.quiet && std::io::stderr().is_terminal();
        let bar = show.then(|| {
            let bar = ProgressBar::new(self.rules.plan.end_ms / 1000);
            if let Ok(style) = ProgressStyle::with_template("[{bar:20}] {pos}/{len} s  {msg}") {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        let customers = self.rules.plan.customers.len();
        loop {
            let now = now_ns();
            if now >= done {
                break;
            }
            if let Some(bar) = &bar {
                let (arrived, ended, p99, errors) = shared.with(|m| {
                    let p99 = (!m.to_agent.is_empty()).then(|| m.to_agent.value_at_quantile(0.99));
                    (m.arrived, m.ended, p99, m.errors.unexpected)
                });
                bar.set_position(now.saturating_sub(t0).min(end - t0) / 1_000_000_000);
                bar.set_message(format!(
                    "{arrived}/{customers} in, {ended} ended, p99 {}, {errors} errors{}",
                    p99.map_or_else(|| "-".to_string(), |ns| ms(ns as f64 / 1000.0)),
                    if now >= end { ", collecting" } else { "" }
                ));
            }
            tokio::time::sleep(Duration::from_millis(250).min(Duration::from_nanos(done - now)))
                .await;
        }
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
    }
}

/// The actors' tasks.
#[derive(Default)]
struct Cast {
    actors: u32,
    connectors: Vec<JoinHandle<(Connector, Link)>>,
    bots: Vec<JoinHandle<(Bot, Link)>>,
    agents: Vec<JoinHandle<(Agent, Link)>>,
}

impl Cast {
    fn link(&mut self, role: Role, name: String, endpoint: Endpoint, shared: &Arc<Shared>) -> Link {
        self.actors += 1;
        Link::new(self.actors - 1, role, name, endpoint, Arc::clone(shared))
    }

    /// Waits for every actor to hand back its socket (at most [`JOIN`] in all; a task that
    /// does not is aborted and reported): the connectors' outcomes and every link.
    async fn finish(self, shared: &Shared) -> (Vec<(u32, Ending)>, Vec<Link>) {
        let deadline = tokio::time::Instant::now() + JOIN;
        let mut endings = Vec::new();
        let mut links = Vec::new();
        for (connector, link) in join(self.connectors, deadline, shared).await {
            endings.extend_from_slice(connector.endings());
            links.push(link);
        }
        let bots = join(self.bots, deadline, shared).await;
        let agents = join(self.agents, deadline, shared).await;
        links.extend(bots.into_iter().map(|(_, link)| link));
        links.extend(agents.into_iter().map(|(_, link)| link));
        (endings, links)
    }
}

/// The results of the tasks that finish by `deadline`; the others are reported (a connector's
/// customers that are never reported count as unfinished).
async fn join<P: Play>(
    handles: Vec<JoinHandle<(P, Link)>>,
    deadline: tokio::time::Instant,
    shared: &Shared,
) -> Vec<(P, Link)> {
    let mut done = Vec::new();
    for mut handle in handles {
        let failure = match tokio::time::timeout_at(deadline, &mut handle).await {
            Ok(Ok(result)) => {
                done.push(result);
                continue;
            }
            Ok(Err(e)) => format!("an actor failed: {e}"),
            Err(_) => {
                handle.abort();
                format!("an actor did not stop within {JOIN:?}")
            }
        };
        shared.with(|m| m.errors.unexpected(failure));
    }
    done
}

/// The thresholds [`CRASH_THRESHOLDS`] adds for these options.
fn crash_thresholds(options: &Options) -> &'static [&'static str] {
    match (&options.spawn_process, options.kill9_at.is_empty()) {
        (None, _) => &[],
        (Some(_), true) => &CRASH_THRESHOLDS[..1],
        (Some(_), false) => &CRASH_THRESHOLDS,
    }
}

/// The configuration file of a `--spawn-process` child: the scenario's gateway configuration
/// (its file's text, or the embedded defaults) with one `[[connectors]]` per key. Appended as
/// text, because the configuration types deserialise only; the result is checked by parsing it.
fn child_config(
    file: Option<&std::path::Path>,
    keys: &[String],
    tenant: &str,
) -> Result<String, String> {
    let mut text = match file {
        Some(file) => {
            std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?
        }
        None => EMBEDDED_TOML.to_string(),
    };
    text.push_str("\n# switchboard-loadtest connectors\n");
    for (i, key) in keys.iter().enumerate() {
        text.push_str(&format!(
            "[[connectors]]\nname = \"switchboard-loadtest-{i}\"\ntenant = {tenant:?}\napi_key = {key:?}\n"
        ));
    }
    Config::from_toml_str(&text)
        .map_err(|e| format!("the child's configuration with the rehearsal's connectors: {e}"))?;
    Ok(text)
}
