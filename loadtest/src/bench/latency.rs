//! The latency mode: an open model at a fixed offered rate, paced by a thread (see "The open
//! model in the latency mode" in the module root).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;

use super::connector::{Job, JobDone};
use super::rig::{cpu_between, Rig};
use super::shared::ConnShared;
use super::{Options, STALL};
use crate::clock::{now_ns, secs_ns};
use crate::report::{histogram, Latency, Rate};
use crate::target::Target;

impl Rig {
    /// One fixed-rate run: `rate` messages per second in total for `opts.rate_duration`
    /// seconds, the first `opts.rate_warmup` not measured.
    pub async fn latency(
        &self,
        target: &mut Target,
        opts: &Options,
        rate: u64,
    ) -> Result<Rate, String> {
        let errors_before = self.errors();
        let n = self.conns.len().max(1) as f64;
        // Each connector sends every `interval`; connector i is offset by i/n of it, so the
        // merged stream is evenly spaced at the total rate.
        let interval_ns = 1e9 * n / rate.max(1) as f64;
        let start = now_ns() + secs_ns(0.1);
        let end = start + secs_ns(opts.rate_duration);
        let from = start + secs_ns(opts.rate_warmup);
        self.reset_agents((from, end), (from, end));
        let tick = Duration::from_micros(opts.tick_us.max(20));
        let pacer = Pacer::start(self.conns.clone(), tick, end + secs_ns(0.01));
        let meter = cpu_between(self.pid, from, end);
        let limit = Duration::from_secs_f64(opts.rate_duration + 0.1) + STALL * 2;
        let jobs = self.run_jobs(
            |i| Job::Paced {
                interval_ns,
                start_ns: start + (i as f64 * interval_ns / n) as u64,
                end_ns: end,
            },
            limit,
        );
        let (done, cpu) = tokio::join!(jobs, meter);
        pacer.stop();
        let lost = self.drain().await;
        let closed = self.shed(target, &done)?;
        let lag = generator_lag(&done);
        let (hist, service, _) = self.collect();
        let scheduled = (rate as f64 * (end - from) as f64 / 1e9).round() as u64;
        let latency = Latency::of(&hist);
        let delivered = hist.len();
        let sustained = sustained(closed.is_none(), delivered, scheduled, &latency);
        Ok(Rate {
            target: self.kind.name().into(),
            background_idle: self.background,
            offered_per_sec: rate,
            scheduled,
            delivered,
            latency,
            service_latency: Latency::of(&service),
            generator_lag: Latency::of(&lag),
            target_cpu_cores: cpu.target,
            generator_cpu_cores: cpu.generator,
            other_cpu_cores: cpu.other,
            busiest_thread: cpu.busiest_thread,
            sustained,
            closed,
            lost,
            errors: self.errors() - errors_before,
        })
    }

    /// Which client the target shed during a run, if any; an error if the run failed.
    ///
    /// Past its capacity a target may shed clients (Switchboard closes a consumer that falls
    /// too far behind with 1013). That is an outcome of the rate, reported in the row, not a
    /// failure of the bench; a target that exits, or a job failing for any other reason, is.
    fn shed(
        &self,
        target: &mut Target,
        done: &Result<Vec<JobDone>, String>,
    ) -> Result<Option<String>, String> {
        match (self.health(target), done) {
            (Ok(()), Ok(_)) => Ok(None),
            (Ok(()), Err(e)) => Err(e.clone()),
            (Err(why), _) if target.alive() => Ok(Some(why)),
            (Err(why), _) => Err(why),
        }
    }
}

/// How late the connectors wrote their messages against the intended times, merged over the
/// jobs that finished.
fn generator_lag(done: &Result<Vec<JobDone>, String>) -> Histogram<u64> {
    let mut lag = histogram();
    for d in done.iter().flatten() {
        if let Some(h) = &d.lag {
            // Same bounds everywhere, so adding cannot fail.
            let _ = lag.add(h);
        }
    }
    lag
}

/// Whether a rate was sustained, as [`crate::report::SUSTAINED_RULE`] states it: nobody shed,
/// at least 99% of the scheduled messages delivered, p99 under 100 ms.
fn sustained(nobody_shed: bool, delivered: u64, scheduled: u64, latency: &Latency) -> bool {
    nobody_shed && delivered as f64 >= 0.99 * scheduled as f64 && latency.p99_us < 100_000.0
}

/// The pacer: a plain thread, because its sleeps are finer than tokio's 1 ms timer wheel. It
/// wakes every connector each tick until `until_ns` or until stopped, then once more, so a writer
/// sees its job's end without waiting out its guard timeout.
struct Pacer {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Pacer {
    fn start(conns: Vec<Arc<ConnShared>>, tick: Duration, until_ns: u64) -> Pacer {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while now_ns() < until_ns && !stop_flag.load(Ordering::Relaxed) {
                for c in &conns {
                    c.pace.notify_one();
                }
                std::thread::sleep(tick);
            }
            for c in &conns {
                c.pace.notify_one();
            }
        });
        Pacer { stop, thread }
    }

    /// Stops the thread and waits for it.
    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
    }
}
