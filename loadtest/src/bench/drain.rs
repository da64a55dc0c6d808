//! A drain under load: the target is saturated while someone sends it SIGTERM, and every socket
//! must then be closed by the target with 1001 (going away).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::connector::{Job, JobDone};
use super::rig::Rig;
use super::shared::lock;
use super::{Options, DRAIN, STALL};
use crate::clock::{now_ns, secs_ns};

/// What [`Rig::drain_under_load`] saw.
#[derive(Debug, Clone)]
pub struct Drained {
    /// Sockets the target closed with 1001: all of them.
    pub sockets: usize,
    /// Messages delivered to agents before the close.
    pub delivered: u64,
    /// Messages written but never delivered: in flight when the target stopped reading.
    pub undelivered: u64,
    /// Error frames received.
    pub errors: u64,
}

/// One socket's close reason (`None` while open) and whether that close was a 1001.
type SocketEnd<'a> = (&'a Mutex<Option<String>>, &'a AtomicBool);

impl Rig {
    /// Saturates the target until it drains: someone sends it SIGTERM during the run. Passes
    /// when messages were flowing and every socket was then closed by the target with 1001
    /// (going away); fails on any other close, a socket still open [`DRAIN`] after the jobs
    /// ended, or a target that never drained within `opts.duration`.
    pub async fn drain_under_load(&self, opts: &Options) -> Result<Drained, String> {
        let start = now_ns();
        let to = start + secs_ns(opts.duration);
        self.reset_agents((start, to), (start, to));
        let limit = Duration::from_secs_f64(opts.duration) + STALL * 2;
        // The jobs end with an error once the target closes their sockets: expected here.
        let jobs = self
            .run_jobs(
                |_| Job::Saturate {
                    until_ns: to,
                    window: opts.window.max(1),
                    batch: 1,
                },
                limit,
            )
            .await;
        self.wait_all_closed(opts, &jobs).await?;
        if let Some(why) = self.closed_otherwise() {
            return Err(format!(
                "a socket was closed otherwise than with 1001: {why}"
            ));
        }
        let (_, _, delivered) = self.collect();
        if delivered == 0 {
            return Err("no message was delivered before the drain: was there any load?".into());
        }
        let (sent, delivered_total) = self.totals();
        Ok(Drained {
            sockets: self.sockets().len(),
            delivered,
            undelivered: sent.saturating_sub(delivered_total),
            errors: self.errors(),
        })
    }

    /// Every socket, agents first, as its close reason and whether the close was a 1001.
    fn sockets(&self) -> Vec<SocketEnd<'_>> {
        let agents = self.agents.iter().map(|a| (&a.closed, &a.going_away));
        let conns = self.conns.iter().map(|c| (&c.closed, &c.going_away));
        agents.chain(conns).collect()
    }

    /// Waits up to [`DRAIN`] for every socket to be closed; the error says how many were not
    /// and whether the jobs (`jobs`) had ended on their own, i.e. the target never drained.
    async fn wait_all_closed(
        &self,
        opts: &Options,
        jobs: &Result<Vec<JobDone>, String>,
    ) -> Result<(), String> {
        let deadline = Instant::now() + DRAIN;
        while self
            .sockets()
            .iter()
            .any(|(closed, _)| lock(closed).is_none())
        {
            if Instant::now() > deadline {
                let open = self
                    .sockets()
                    .iter()
                    .filter(|(closed, _)| lock(closed).is_none())
                    .count();
                return Err(match jobs {
                    Ok(_) => format!(
                        "the target did not drain within the {} s run: {open} socket(s) open",
                        opts.duration
                    ),
                    Err(e) => format!(
                        "{open} socket(s) still open {DRAIN:?} after the load stopped ({e})"
                    ),
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(())
    }

    /// The close reason of the first socket, agents first, that was not closed with 1001.
    fn closed_otherwise(&self) -> Option<String> {
        self.sockets()
            .iter()
            .find(|(_, going_away)| !going_away.load(Ordering::SeqCst))
            .and_then(|(closed, _)| lock(closed).clone())
    }
}
