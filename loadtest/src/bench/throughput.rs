//! The saturation mode: every connector sends as fast as its delivery window allows, and the
//! agents count what arrives in the measured window.

use std::time::Duration;

use super::connector::Job;
use super::rig::{cpu_between, Rig};
use super::{Options, STALL};
use crate::clock::{now_ns, secs_ns};
use crate::report::{Latency, Throughput};
use crate::target::Target;

impl Rig {
    /// One saturation run of `opts.warmup` + `opts.duration` seconds with `batch` messages per
    /// frame. Delivered per second counts what agents received in the measured window; messages
    /// sent but not delivered within `DRAIN` of the end are reported as lost.
    pub async fn throughput(
        &self,
        target: &mut Target,
        opts: &Options,
        batch: usize,
    ) -> Result<Throughput, String> {
        let errors_before = self.errors();
        let acks_before = self.ack_frames();
        let (sent_before, _) = self.totals();
        let start = now_ns() + secs_ns(0.02);
        let from = start + secs_ns(opts.warmup);
        let to = from + secs_ns(opts.duration);
        self.reset_agents((from, to), (from, to));
        let window = opts.window.max(batch as u64);
        let meter = cpu_between(self.pid, from, to);
        let limit = Duration::from_secs_f64(opts.warmup + opts.duration) + STALL * 2;
        let jobs = self.run_jobs(
            |_| Job::Saturate {
                until_ns: to,
                window,
                batch,
            },
            limit,
        );
        let (done, cpu) = tokio::join!(jobs, meter);
        if let Err(e) = done {
            // Say why deliveries stopped when the target closed someone (e.g. a slow consumer).
            return Err(match self.health(target) {
                Ok(()) => e,
                Err(why) => format!("{e}; {why}"),
            });
        }
        let lost = self.drain().await;
        self.health(target)?;
        let (hist, _, rx) = self.collect();
        let (sent_after, _) = self.totals();
        let sent = sent_after - sent_before;
        Ok(Throughput {
            target: self.kind.name().into(),
            background_idle: self.background,
            batch,
            seconds: opts.duration,
            delivered_per_sec: rx as f64 / opts.duration,
            latency: Latency::of(&hist),
            target_cpu_cores: cpu.target,
            generator_cpu_cores: cpu.generator,
            other_cpu_cores: cpu.other,
            busiest_thread: cpu.busiest_thread,
            sent,
            ack_frames_per_message: (self.ack_frames() - acks_before) as f64 / sent.max(1) as f64,
            lost,
            errors: self.errors() - errors_before,
        })
    }
}
