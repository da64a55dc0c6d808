//! [`Rig`]: the connected agents and connectors against one target, and the accounting every
//! mode shares.
//!
//! The controller (whoever holds the `Rig`) is the only one that starts jobs, resets the agents'
//! measurement windows and reads the totals; the sockets' tasks only count. A mode is then: reset
//! the windows, run one job on every connector, drain, read.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use hdrhistogram::Histogram;
use switchboard_config::Config;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::agent::agent_loop;
use super::connector::{connector_reader, connector_writer, Job, JobDone, JobReply};
use super::shared::{lock, AgentShared, ConnShared};
use super::{Options, DRAIN, SETUP};
use crate::client;
use crate::clock::sleep_until_ns;
use crate::procfs::{CpuMeter, CpuUse};
use crate::report::histogram;
use crate::target::{agent_token, connector_key, Kind, Target};

/// Connected connectors and agents against one target.
pub struct Rig {
    pub(super) kind: Kind,
    pub(super) background: usize,
    pub(super) pid: Option<u32>,
    pub(super) conns: Vec<Arc<ConnShared>>,
    jobs: Vec<mpsc::Sender<(Job, JobReply)>>,
    pub(super) agents: Vec<Arc<AgentShared>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Rig {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Rig {
    /// Connects the agents, then the connectors, each with a completed handshake.
    pub async fn connect(target: &Target, config: &Config, opts: &Options) -> Result<Rig, String> {
        let conns: Vec<Arc<ConnShared>> = (0..opts.connectors)
            .map(|_| Arc::new(ConnShared::new()))
            .collect();
        let shared_conns = Arc::new(conns.clone());
        let mut rig = Rig {
            kind: target.kind,
            background: opts.background,
            pid: target.pid,
            conns,
            jobs: Vec::new(),
            agents: Vec::new(),
            tasks: Vec::new(),
        };
        // Agents first, so that conversations opened later are assigned at once.
        for i in 0..opts.agents {
            let token = agent_token(config, i, opts.capacity)?;
            rig.connect_agent(target, i, &token, &shared_conns).await?;
        }
        let per_connector = opts.conversations.div_ceil(opts.connectors.max(1)).max(1);
        for i in 0..opts.connectors {
            rig.connect_connector(target, i, per_connector).await?;
        }
        Ok(rig)
    }

    /// Opens agent `i`'s socket and starts its task, which credits deliveries to `conns`.
    async fn connect_agent(
        &mut self,
        target: &Target,
        i: usize,
        token: &str,
        conns: &Arc<Vec<Arc<ConnShared>>>,
    ) -> Result<(), String> {
        let ws = client::open(&target.base, "/v1/agent", token, client::ws_config(false))
            .await
            .map_err(|e| format!("agent {i}: {e}"))?;
        let me = Arc::new(AgentShared::new());
        self.agents.push(Arc::clone(&me));
        self.tasks
            .push(tokio::spawn(agent_loop(ws, me, Arc::clone(conns))));
        Ok(())
    }

    /// Opens connector `i`'s socket and starts its reader and writer, the writer owning
    /// `conversations` conversations.
    async fn connect_connector(
        &mut self,
        target: &Target,
        i: usize,
        conversations: usize,
    ) -> Result<(), String> {
        let ws = client::open(
            &target.base,
            "/v1/connector",
            &connector_key(i),
            client::ws_config(false),
        )
        .await
        .map_err(|e| format!("connector {i}: {e}"))?;
        let (sink, stream) = ws.split();
        // Jobs come one per run, and a run waits for them all: a few slots are plenty.
        let (tx, rx) = mpsc::channel(4);
        let me = Arc::clone(&self.conns[i]);
        self.tasks
            .push(tokio::spawn(connector_reader(stream, Arc::clone(&me))));
        self.tasks.push(tokio::spawn(connector_writer(
            sink,
            me,
            rx,
            i,
            conversations,
        )));
        self.jobs.push(tx);
        Ok(())
    }

    /// Runs one job on every connector and waits for all of them.
    pub(super) async fn run_jobs(
        &self,
        make: impl Fn(usize) -> Job,
        limit: Duration,
    ) -> Result<Vec<JobDone>, String> {
        let mut replies = Vec::with_capacity(self.jobs.len());
        for (i, jobs) in self.jobs.iter().enumerate() {
            let (tx, rx) = oneshot::channel();
            jobs.send((make(i), tx))
                .await
                .map_err(|_| format!("connector {i}: its writer has stopped"))?;
            replies.push(rx);
        }
        let mut done = Vec::with_capacity(replies.len());
        for (i, rx) in replies.into_iter().enumerate() {
            match tokio::time::timeout(limit, rx).await {
                Err(_) => return Err(format!("connector {i}: job not done within {limit:?}")),
                Ok(Err(_)) => return Err(format!("connector {i}: its writer has stopped")),
                Ok(Ok(result)) => done.push(result.map_err(|e| format!("connector {i}: {e}"))?),
            }
        }
        Ok(done)
    }

    /// Fails if any socket was closed or the target exited.
    pub(super) fn health(&self, target: &mut Target) -> Result<(), String> {
        if !target.alive() {
            return Err(format!("{} exited", target.kind.name()));
        }
        for (i, a) in self.agents.iter().enumerate() {
            if let Some(why) = lock(&a.closed).clone() {
                return Err(format!("agent {i} was disconnected: {why}"));
            }
        }
        for (i, c) in self.conns.iter().enumerate() {
            if let Some(why) = lock(&c.closed).clone() {
                return Err(format!("connector {i} was disconnected: {why}"));
            }
        }
        Ok(())
    }

    /// Error frames received so far, on every socket.
    pub(super) fn errors(&self) -> u64 {
        self.conns
            .iter()
            .map(|c| c.errors.load(Ordering::Relaxed))
            .chain(self.agents.iter().map(|a| a.errors.load(Ordering::Relaxed)))
            .sum()
    }

    /// The first error frame anyone received, for the report.
    pub fn first_error(&self) -> Option<String> {
        self.conns
            .iter()
            .find_map(|c| lock(&c.first_error).clone())
            .or_else(|| {
                self.agents
                    .iter()
                    .find_map(|a| lock(&a.first_error).clone())
            })
    }

    /// Opens every conversation and waits until each has an agent (Switchboard). The baseline
    /// has no conversations to open: it routes by hashing the conversation id.
    pub async fn setup(&self, target: &mut Target, opts: &Options) -> Result<(), String> {
        if self.kind == Kind::Baseline {
            return Ok(());
        }
        self.run_jobs(|_| Job::Open, SETUP).await?;
        let expected =
            (opts.conversations.div_ceil(opts.connectors.max(1)) * opts.connectors) as u64;
        let deadline = Instant::now() + SETUP;
        loop {
            let joined: u64 = self
                .conns
                .iter()
                .map(|c| c.joined.load(Ordering::Relaxed))
                .sum();
            if joined >= expected {
                return Ok(());
            }
            self.health(target)?;
            if self.errors() > 0 {
                return Err(format!(
                    "errors while opening conversations: {}",
                    self.first_error().unwrap_or_default()
                ));
            }
            if Instant::now() > deadline {
                let offers: u64 = self
                    .agents
                    .iter()
                    .map(|a| a.offers.load(Ordering::Relaxed))
                    .sum();
                return Err(format!(
                    "only {joined} of {expected} conversations were assigned within {SETUP:?} \
                     ({offers} offers seen)"
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts a run's measurement windows on every agent: latency of messages intended in `lat`,
    /// count of messages received in `rx` (nanoseconds on the shared clock, end exclusive).
    pub(super) fn reset_agents(&self, lat: (u64, u64), rx: (u64, u64)) {
        for a in &self.agents {
            lock(&a.stats).reset(lat, rx);
        }
    }

    /// (latency from intended send, latency from actual send, messages received in window).
    pub(super) fn collect(&self) -> (Histogram<u64>, Histogram<u64>, u64) {
        let mut hist = histogram();
        let mut service = histogram();
        let mut rx = 0;
        for a in &self.agents {
            let stats = lock(&a.stats);
            // Same bounds everywhere, so adding cannot fail.
            let _ = hist.add(&stats.hist);
            let _ = service.add(&stats.service);
            rx += stats.rx_count;
        }
        (hist, service, rx)
    }

    /// Ack frames received so far, on every connector.
    pub(super) fn ack_frames(&self) -> u64 {
        self.conns
            .iter()
            .map(|c| c.ack_frames.load(Ordering::Relaxed))
            .sum()
    }

    /// (measured messages sent, measured messages delivered), over every connector.
    pub(super) fn totals(&self) -> (u64, u64) {
        self.conns.iter().fold((0, 0), |(s, d), c| {
            (
                s + c.sent.load(Ordering::SeqCst),
                d + c.delivered.load(Ordering::SeqCst),
            )
        })
    }

    /// Waits until every measured message sent so far has been delivered; returns how many
    /// were not, after [`DRAIN`].
    pub(super) async fn drain(&self) -> u64 {
        let deadline = Instant::now() + DRAIN;
        loop {
            let (sent, delivered) = self.totals();
            if delivered >= sent || Instant::now() > deadline {
                return sent.saturating_sub(delivered);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// The CPU used between `from_ns` and `to_ns` on the shared clock, by the target (`pid`), this
/// process and the rest of the machine: the measured window of a run, without its warm-up.
pub(super) async fn cpu_between(pid: Option<u32>, from_ns: u64, to_ns: u64) -> CpuUse {
    sleep_until_ns(from_ns).await;
    let meter = CpuMeter::start(pid);
    sleep_until_ns(to_ns).await;
    meter.read()
}
