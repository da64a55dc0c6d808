//! `--spawn-process BIN --kill9-at SECS…`: the real binary killed with SIGKILL mid-run and
//! restarted, and a ledger of what that cost.
//!
//! At each `SECS` from the plan's start ([`Crash::run`]):
//! 1. clients are held back from connecting ([`Shared::hold`]); the conversations the clients
//!    believe waiting (up to [`MAX_WAITING`]) are read from the admin API twice, keeping those
//!    that did not move between the reads, and the assigned ones (up to [`MAX_ASSIGNED`]) once;
//! 2. SIGKILL, reap, the same command again (same ports, same data directory), `/readyz`
//!    within [`process::READY`];
//! 3. before any client is let back, the waiting ones are read again ([`queue_held`]);
//! 4. clients are let back; once every agent in the sample has its `resumed` (at most
//!    [`RESUME_WAIT`]), the assigned ones are read again ([`assignments_held`]).
//!
//! The run's end stops the child with SIGTERM, which must exit 0. The figures are a
//! [`CrashReport`] in the summary; the message ledger supplies `acked_lost` and `duplicates`,
//! the links `gaps`.

pub mod process;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use switchboard_sim::scenario::Ending;
use thiserror::Error;

use super::http;
use super::ledger::{assignments_held, queue_held, CrashReport, Kill, Standing};
use super::measure::{Shared, Whereabouts};
use super::summary::Summary;
use super::Rehearsal;
use crate::clock::{now_ns, secs_ns, sleep_until_ns};
use process::Gateway;

/// Most waiting conversations read around one kill.
pub const MAX_WAITING: usize = 200;
/// Most assigned conversations read around one kill.
pub const MAX_ASSIGNED: usize = 50;
/// How long agents have, once let back, to get their `resumed`.
pub const RESUME_WAIT: Duration = Duration::from_secs(15);

/// What went wrong with the child or the admin API. Each names the file, process or request.
#[derive(Debug, Error)]
pub enum ChaosError {
    /// The binary is not there.
    #[error("{0} not found: build it first (`cargo build -p switchboard --bin switchboard`)")]
    NoBinary(PathBuf),
    /// An I/O error on a file, a binary or a socket.
    #[error("{path}: {source}")]
    Io {
        /// What was being read, written or run.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The child exited before it was ready.
    #[error("the gateway exited ({status}) before /readyz answered; see {}", log.display())]
    Exited {
        /// How it exited.
        status: ExitStatus,
        /// Its log.
        log: PathBuf,
    },
    /// The child did not become ready in time.
    #[error("the gateway was not ready within {wait:?}; see {}", log.display())]
    NotReady {
        /// How long it had.
        wait: Duration,
        /// Its log.
        log: PathBuf,
    },
    /// A killed child was not reaped in time.
    #[error("the killed gateway was not reaped within {0:?}")]
    NotReaped(Duration),
    /// There is no child to stop or poll.
    #[error("the gateway is not running")]
    NotRunning,
    /// `kill -TERM` failed.
    #[error("kill -TERM {0} failed: {1}")]
    Signal(u32, ExitStatus),
    /// SIGTERM did not stop the child in time.
    #[error("the gateway did not exit within {wait:?} of SIGTERM; see {}", log.display())]
    NoExit {
        /// How long it had.
        wait: Duration,
        /// Its log.
        log: PathBuf,
    },
    /// SIGTERM stopped the child with a failure.
    #[error("the gateway exited with {status} after SIGTERM; see {}", log.display())]
    BadExit {
        /// How it exited.
        status: ExitStatus,
        /// Its log.
        log: PathBuf,
    },
    /// The admin API did not answer as documented.
    #[error("GET {path}: {why}")]
    Admin {
        /// The request path.
        path: String,
        /// What came back.
        why: String,
    },
}

impl ChaosError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        ChaosError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The kills of one run and what they found.
#[derive(Debug)]
pub struct Crash {
    gateway: Gateway,
    /// Seconds from the plan's start, ascending.
    kills: Vec<f64>,
    admin_token: String,
    tenant: String,
    report: CrashReport,
}

impl Crash {
    /// Kills `gateway` at each of `kills` seconds; reads the admin API with `admin_token` for
    /// `tenant`.
    pub fn new(gateway: Gateway, kills: Vec<f64>, admin_token: String, tenant: String) -> Self {
        Crash {
            gateway,
            kills,
            admin_token,
            tenant,
            report: CrashReport::default(),
        }
    }

    /// Plays every kill, the plan having started at `t0`. An error (a restart that never got
    /// ready) ends the run.
    pub async fn run(&mut self, shared: &Shared, t0: u64) -> Result<(), ChaosError> {
        for at_secs in self.kills.clone() {
            sleep_until_ns(t0 + secs_ns(at_secs)).await;
            let kill = self.kill_once(at_secs, shared).await?;
            self.report.add(kill);
        }
        Ok(())
    }

    async fn kill_once(&mut self, at_secs: f64, shared: &Shared) -> Result<Kill, ChaosError> {
        let hold = Hold::new(shared);
        let (waiting, assigned) = shared.with(|m| sample(&m.whereabouts));
        let first = self.read(&waiting).await?;
        let read_ns = now_ns();
        let second = self.read(&waiting).await?;
        let waiting = stable_waiting(&first, second);
        let assigned = self.assigned(&assigned).await?;
        let outage_ms = self.gateway.kill9_and_restart().await?;
        let after_ns = now_ns();
        let ids: Vec<String> = waiting.keys().cloned().collect();
        let after = self.read(&ids).await?;
        let queue = queue_held(&waiting, &after, (after_ns - read_ns) / 1_000_000);
        drop(hold);
        let agents: Vec<String> = assigned.values().filter_map(|s| s.agent.clone()).collect();
        let resumed = resumed_since(shared, &agents, after_ns).await;
        let ids: Vec<String> = assigned.keys().cloned().collect();
        let after = self.read(&ids).await?;
        Ok(Kill {
            at_secs,
            outage_ms,
            queue,
            assigned: assignments_held(&assigned, &resumed, &after),
        })
    }

    /// After the run, before the accounting: every conversation still open for its customer
    /// whose gateway id is known is looked up, and one the gateway no longer knows is
    /// forgotten ([`super::ledger::Ledger::forgotten`]), so the messages acked in it count as
    /// lost rather than as waiting for an offer that will never come.
    pub async fn find_forgotten(&self, shared: &Shared, endings: &[(u32, Ending)]) {
        let open: Vec<(u32, String)> = shared.with(|m| {
            endings
                .iter()
                .filter(|(_, ending)| matches!(ending, Ending::Unfinished { .. }))
                .filter_map(|(index, _)| Some((*index, m.whereabouts.ids.get(index)?.clone())))
                .collect()
        });
        let ids: Vec<String> = open.iter().map(|(_, id)| id.clone()).collect();
        match self.read(&ids).await {
            Ok(read) => shared.with(|m| {
                for (index, id) in &open {
                    if matches!(read.get(id), Some(None)) {
                        m.ledger.forgotten(*index);
                    }
                }
            }),
            Err(e) => shared.with(|m| m.errors.unexpected(format!("after the run: {e}"))),
        }
    }

    /// The assigned conversations of the sample that the gateway agrees are assigned to the
    /// agent the clients think (the others are changing hands right now: not a fair test).
    async fn assigned(
        &self,
        sample: &[(String, String)],
    ) -> Result<BTreeMap<String, Standing>, ChaosError> {
        let ids: Vec<String> = sample.iter().map(|(id, _)| id.clone()).collect();
        let read = self.read(&ids).await?;
        Ok(sample
            .iter()
            .filter_map(|(id, agent)| {
                let standing = read.get(id)?.clone()?;
                let agreed = standing.state == "assigned" && standing.agent.as_ref() == Some(agent);
                agreed.then(|| (id.clone(), standing))
            })
            .collect())
    }

    /// `GET /api/v1/conversations/{id}` for each id: `None` for 404.
    async fn read(&self, ids: &[String]) -> Result<BTreeMap<String, Option<Standing>>, ChaosError> {
        let mut read = BTreeMap::new();
        for id in ids {
            let path = format!("/api/v1/conversations/{id}?tenant={}", self.tenant);
            let admin = |why: String| ChaosError::Admin {
                path: path.clone(),
                why,
            };
            let (status, body) = http::get(&self.gateway.admin, &path, Some(&self.admin_token))
                .await
                .map_err(admin)?;
            let standing = match status {
                200 => Some(serde_json::from_str(&body).map_err(|e| admin(e.to_string()))?),
                404 => None,
                status => return Err(admin(format!("status {status}"))),
            };
            read.insert(id.clone(), standing);
        }
        Ok(read)
    }

    /// Ends the run: SIGTERM, and the figures, with those of the message ledger and links.
    pub async fn finish(self, summary: &mut Summary, patience: Duration) {
        let mut report = self.report;
        match self.gateway.stop(patience).await {
            Ok(()) => report.exit = "SIGTERM, exit status 0".to_string(),
            Err(e) => {
                report.bad_exit = 1;
                report.exit = e.to_string();
                summary
                    .errors
                    .unexpected(format!("the gateway's stop: {e}"));
            }
        }
        report.acked_lost = summary.messages.lost;
        report.duplicates = summary.messages.duplicated;
        report.gaps = summary.sessions.gaps;
        if report.restarts > 0 {
            summary.server.unavailable =
                Some("the gateway restarted, so its counters started over".to_string());
        }
        summary.crash = Some(report);
    }
}

/// Clients held back while it lives: released however the kill ends.
struct Hold<'a>(&'a Shared);

impl<'a> Hold<'a> {
    fn new(shared: &'a Shared) -> Self {
        shared.hold();
        Hold(shared)
    }
}

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// What to read around a kill: the gateway ids of customers waiting (those ever offered, so
/// with a known id), and assigned conversations with their agent.
fn sample(w: &Whereabouts) -> (Vec<String>, Vec<(String, String)>) {
    let waiting = w
        .waiting
        .iter()
        .filter_map(|index| w.ids.get(index).cloned())
        .take(MAX_WAITING)
        .collect();
    let assigned = w
        .assigned
        .iter()
        .take(MAX_ASSIGNED)
        .map(|(id, agent)| (id.clone(), agent.clone()))
        .collect();
    (waiting, assigned)
}

/// The conversations waiting in both reads at the same place: one that moved between them is
/// being served right now, and the kill may legitimately land on either side of that.
fn stable_waiting(
    first: &BTreeMap<String, Option<Standing>>,
    second: BTreeMap<String, Option<Standing>>,
) -> BTreeMap<String, Standing> {
    second
        .into_iter()
        .filter_map(|(id, standing)| {
            let now = standing?;
            let was = first.get(&id)?.as_ref()?;
            let still = now.state == "waiting"
                && was.state == now.state
                && was.queue == now.queue
                && was.position == now.position;
            still.then_some((id, now))
        })
        .collect()
}

/// The `resumed` lists `agents` got after `since`, waiting for them up to [`RESUME_WAIT`].
async fn resumed_since(
    shared: &Shared,
    agents: &[String],
    since: u64,
) -> HashMap<String, Vec<String>> {
    let deadline = now_ns() + RESUME_WAIT.as_nanos() as u64;
    loop {
        let got: HashMap<String, Vec<String>> = shared.with(|m| {
            agents
                .iter()
                .filter_map(|agent| {
                    let (listed, at) = m.whereabouts.resumed.get(agent)?;
                    (*at >= since).then(|| (agent.clone(), listed.clone()))
                })
                .collect()
        });
        if got.len() >= agents.len() || now_ns() >= deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Plays the rehearsal against a child gateway, with its kills; Ctrl-C kills the child.
pub async fn play(rehearsal: &Rehearsal, bin: &Path, config_text: &str) -> Result<Summary, String> {
    let options = rehearsal.options();
    let gateway = Gateway::start(bin, config_text, options.data_dir)
        .await
        .map_err(|e| e.to_string())?;
    let (url, admin) = (gateway.url.clone(), gateway.admin.clone());
    let g = &rehearsal.config.gateway;
    let patience = Duration::from_millis(u64::from(g.shutdown_drain_ms))
        + Duration::from_secs(u64::from(g.shutdown_grace_secs) + 5);
    let mut crash = Crash::new(
        gateway,
        options.kill9_at.clone(),
        g.admin_token.clone(),
        rehearsal.scenario.tenant.clone(),
    );
    let played = tokio::select! {
        played = rehearsal.play_against(&url, &admin, Some(&mut crash)) => played,
        _ = tokio::signal::ctrl_c() => Err("interrupted: the gateway was killed".to_string()),
    };
    // On an error `crash` is dropped here, and the child with it (SIGKILL).
    let mut summary = played?;
    crash.finish(&mut summary, patience).await;
    Ok(rehearsal.check(summary))
}
