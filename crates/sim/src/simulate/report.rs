//! The readable report `switchboard simulate` prints.

use std::fmt::Write as _;

use switchboard_router::Millis;

use super::summary::{Minute, Summary};

/// Longer timelines are printed in buckets of several minutes so the report stays short; the
/// JSON keeps every minute.
const MAX_TIMELINE_ROWS: usize = 60;

impl Summary {
    /// The readable report `switchboard simulate` prints.
    pub fn report(&self) -> String {
        let mut out = String::new();
        self.write_report(&mut out);
        out
    }

    fn write_report(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "simulate: {} (seed {}, scale {}, tenant {:?})",
            self.scenario, self.seed, self.scale, self.tenant
        );
        if !self.description.is_empty() {
            let _ = writeln!(out, "  {}", self.description);
        }
        let _ = writeln!(
            out,
            "  {} conversations; arrivals until {}, run until {} (virtual time)",
            self.conversations,
            clock(self.arrivals_end_ms),
            clock(self.end_ms)
        );
        self.write_classes(out);
        self.write_flow(out);
        self.write_capacity(out);
        self.write_timeline(out);
        self.write_checks(out);
    }

    fn write_classes(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "\nWaits for a human, per class. Wait: handoff (or queue at arrival) to agent joined.\n\
             SLA: answered within target / answered; SLA+ab: abandonment counted as a miss."
        );
        let _ = writeln!(
            out,
            "{:<10}{:>7}{:>7}{:>9}{:>8}{:>8}{:>8}{:>8}{:>8}{:>8}{:>14}{:>6}{:>6}{:>7}",
            "class",
            "target",
            "convs",
            "answered",
            "SLA",
            "SLA+ab",
            "mean",
            "p50",
            "p90",
            "max",
            "abandoned",
            "bot",
            "left",
            "unfin"
        );
        for c in self.classes.iter().chain(std::iter::once(&self.total)) {
            let abandoned = match c.abandonment {
                Some(share) => format!("{} {}", c.abandoned, percent(Some(share))),
                None => c.abandoned.to_string(),
            };
            let _ = writeln!(
                out,
                "{:<10}{:>7}{:>7}{:>9}{:>8}{:>8}{:>8}{:>8}{:>8}{:>8}{:>14}{:>6}{:>6}{:>7}",
                c.class,
                c.target_secs.map_or("".to_string(), |t| format!("{t}s")),
                c.conversations,
                c.answered,
                percent(c.sla_attainment),
                percent(c.sla_attainment_offered),
                secs(c.mean_wait_secs),
                secs(c.p50_wait_secs),
                secs(c.p90_wait_secs),
                secs(c.max_wait_secs),
                abandoned,
                c.resolved_by_bot,
                c.left,
                c.unfinished
            );
        }
    }

    fn write_flow(&self, out: &mut String) {
        let reasons: Vec<String> = self
            .handoffs
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        let handed: u64 = self.handoffs.values().sum();
        let _ = writeln!(
            out,
            "\nHandoffs: {handed}{}{}; straight to a queue (no bot free or none asked): {}",
            if reasons.is_empty() { "" } else { " — " },
            reasons.join(", "),
            self.straight_to_queue
        );
        let _ = writeln!(
            out,
            "Peak waiting for a human: {} at {}",
            self.peak_waiting.conversations,
            clock(self.peak_waiting.at_ms)
        );
        let u = &self.utilisation;
        let _ = writeln!(
            out,
            "Human agent utilisation (held slots / slots of available agents): {} over the surge \
             {}–{} (arrival rate ≥ half its peak), {} over all arrivals",
            percent(u.surge),
            clock(u.surge_from_ms),
            clock(u.surge_to_ms),
            percent(u.arrivals)
        );
    }

    fn write_capacity(&self, out: &mut String) {
        let c = &self.capacity;
        let patience = c
            .mean_patience_secs
            .map_or(String::new(), |p| format!(", mean patience {p:.1} s"));
        let _ = writeln!(
            out,
            "\nCapacity planner: busiest {}–{} of conversations entering human queues; {}{}, \
             {:.0}% within the target of each queue's main class",
            clock(c.window_from_ms),
            clock(c.window_to_ms),
            c.model,
            patience,
            c.service_level * 100.0
        );
        let _ = writeln!(
            out,
            "{:<14}{:>11}{:>9}{:>11}{:>16}{:>13}{:>9}{:>15}",
            "queue",
            "arrivals/s",
            "handle",
            "per agent",
            "target",
            "recommended",
            "staffed",
            "SL if staffed"
        );
        for q in &c.queues {
            let handle = match (q.mean_handle_secs, q.handle_measured) {
                (Some(h), true) => format!("{h:.1}s"),
                (Some(h), false) => format!("~{h:.1}s"),
                (None, _) => "—".to_string(),
            };
            let _ = writeln!(
                out,
                "{:<14}{:>11.3}{:>9}{:>11}{:>16}{:>13}{:>9}{:>15}",
                q.queue,
                q.arrival_per_sec,
                handle,
                q.concurrency,
                format!("{} {}s", q.class, q.target_secs),
                q.recommended.map_or("—".to_string(), |n| n.to_string()),
                q.staffed,
                percent(q.staffed_service_level)
            );
        }
        for q in c.queues.iter().filter(|q| q.error.is_some()) {
            let _ = writeln!(
                out,
                "  {}: no recommendation: {}",
                q.queue,
                q.error.as_deref().unwrap_or_default()
            );
        }
        let _ = writeln!(
            out,
            "  handle = offer to end of wrap-up, the time a conversation holds an agent's slot \
             (~ = from the scenario, none measured); agents serving several queues count in each"
        );
    }

    fn write_timeline(&self, out: &mut String) {
        let bucket = self.timeline.len().div_ceil(MAX_TIMELINE_ROWS).max(1);
        let _ = writeln!(
            out,
            "\nTimeline (per {}; waiting = customers waiting for a human at the end)",
            if bucket == 1 {
                "minute".to_string()
            } else {
                format!("{bucket} minutes")
            }
        );
        let _ = writeln!(
            out,
            "{:>7}{:>10}{:>9}{:>10}{:>11}",
            "from", "arrivals", "waiting", "answered", "abandoned"
        );
        for (n, rows) in self.timeline.chunks(bucket).enumerate() {
            let sum = |f: fn(&Minute) -> u64| rows.iter().map(f).sum::<u64>();
            let _ = writeln!(
                out,
                "{:>7}{:>10}{:>9}{:>10}{:>11}",
                clock((n * bucket) as Millis * 60_000),
                sum(|m| m.arrivals),
                rows.last().map_or(0, |m| m.waiting),
                sum(|m| m.answered),
                sum(|m| m.abandoned)
            );
        }
    }

    fn write_checks(&self, out: &mut String) {
        let k = &self.checks;
        let verdict = if self.checks_passed() { "ok" } else { "FAILED" };
        let refused: Vec<String> = k.refused.iter().map(|(c, n)| format!("{c} {n}")).collect();
        let _ = writeln!(
            out,
            "\nChecks {verdict}: router measured {} waits, {} disagree with the tally; {} ending \
             disagreements; refused commands: {}; open in the router at the end: {} (unfinished {})",
            k.router_waits,
            k.wait_disagreements,
            k.ending_disagreements,
            if refused.is_empty() {
                "none".to_string()
            } else {
                refused.join(", ")
            },
            k.open_at_end,
            self.total.unfinished
        );
    }
}

/// `m:ss` of virtual time.
fn clock(ms: Millis) -> String {
    let s = ms / 1000;
    format!("{}:{:02}", s / 60, s % 60)
}

fn percent(share: Option<f64>) -> String {
    share.map_or("—".to_string(), |s| format!("{:.1}%", s * 100.0))
}

fn secs(value: Option<f64>) -> String {
    value.map_or("—".to_string(), |s| format!("{s:.1}s"))
}
