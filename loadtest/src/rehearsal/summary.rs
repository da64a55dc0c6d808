//! A run's results: what the table prints, what `--json` writes, what thresholds read.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use switchboard_config::TenantConfig;
use switchboard_sim::scenario::{ClassTally, Ending, Plan, Tally};

use super::check::CrossCheck;
use super::ledger::Accounting;
use super::ledger::CrashReport;
use super::measure::{Errors, Measure, Sessions};
use super::threshold::Verdict;
use crate::report::{ms, Latency};

/// What was played, against what.
#[derive(Debug, Clone, Serialize)]
pub struct Setup {
    /// Scenario name.
    pub scenario: String,
    /// Its seed.
    pub seed: u64,
    /// `--scale`.
    pub scale: f64,
    /// The gateway's client URL.
    pub url: String,
    /// Whether the load tester started the gateway (`--spawn`, `--spawn-process`).
    pub spawned: bool,
    /// Whether it is a child process (`--spawn-process`).
    pub child_process: bool,
    /// Customers in the plan.
    pub customers: usize,
    /// Human agents.
    pub agents: usize,
    /// Bots.
    pub bots: usize,
    /// Connector sockets.
    pub connectors: usize,
    /// When arrivals end, seconds.
    pub arrivals_end_secs: f64,
    /// When the run ends, seconds.
    pub end_secs: f64,
}

/// One SLA class's outcome (see `switchboard_sim::scenario::ClassTally`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Class {
    /// Target, seconds.
    pub target_secs: f64,
    /// Conversations of the class.
    pub conversations: u64,
    /// Answered by a human.
    pub answered: u64,
    /// Answered within the target.
    pub within_target: u64,
    /// Within target ÷ answered (the gateway's definition).
    pub sla: Option<f64>,
    /// Within target ÷ (answered + abandoned).
    pub sla_offered: Option<f64>,
    /// Mean wait of the answered, seconds.
    pub mean_wait_secs: Option<f64>,
    /// Longest answered wait, seconds.
    pub max_wait_secs: f64,
    /// Left while waiting for a human.
    pub abandoned: u64,
    /// Abandoned ÷ (answered + abandoned).
    pub abandonment: Option<f64>,
    /// Resolved by the bot.
    pub resolved_by_bot: u64,
    /// Ran out of questions with the bot.
    pub left: u64,
    /// Still open at the end.
    pub unfinished: u64,
}

impl Class {
    /// `left`: the class's [`Ending::Left`] count, which the tally does not keep.
    fn of(t: &ClassTally, left: u64) -> Class {
        Class {
            target_secs: t.target_ms as f64 / 1000.0,
            conversations: t.conversations,
            answered: t.answered,
            within_target: t.within_target,
            sla: t.sla_attainment(),
            sla_offered: t.sla_attainment_offered(),
            mean_wait_secs: t.mean_wait_secs(),
            max_wait_secs: t.wait_max_ms as f64 / 1000.0,
            abandoned: t.abandoned,
            abandonment: t.abandonment(),
            resolved_by_bot: t.resolved_by_bot,
            left,
            unfinished: t.unfinished,
        }
    }
}

/// Delivery figures.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    /// Customer message intended send → receipt by the bot or agent holding the conversation.
    pub to_agent: Latency,
    /// Bot or agent reply intended send → receipt by the connector.
    pub to_customer: Latency,
    /// Messages received only in the replay after their recipient resumed (held by the
    /// gateway while it was away: not a delivery latency).
    pub replayed: Latency,
    /// Trigger message intended send → `handoff` at the connector, by reason.
    pub handoffs: BTreeMap<String, Latency>,
    /// How late messages were sent, against their intended time.
    pub send_lag: Latency,
    /// Live deliveries to bots and agents per second of the run.
    pub to_agents_per_sec: f64,
    /// Deliveries to connectors per second of the run.
    pub to_customers_per_sec: f64,
}

/// Estimated wait against actual.
#[derive(Debug, Clone, Serialize)]
pub struct Ewt {
    /// Answered customers who had been given an estimate.
    pub samples: u64,
    /// Mean |first estimate − actual wait|, seconds.
    pub mean_abs_error_secs: Option<f64>,
    /// Mean (first estimate − actual wait), seconds: negative when estimates are too short.
    pub mean_error_secs: Option<f64>,
}

/// Everything one run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// What was played.
    pub setup: Setup,
    /// Customers whose connector reported an outcome; any other counts as unfinished.
    pub outcomes_reported: u64,
    /// Outcomes by SLA class.
    pub classes: BTreeMap<String, Class>,
    /// All classes.
    pub total: Class,
    /// Latencies and rates.
    pub delivery: Delivery,
    /// Where every chat message ended up.
    pub messages: Accounting,
    /// The first lost messages.
    pub lost_samples: Vec<String>,
    /// Sends more than 100 ms late.
    pub late: u64,
    /// Sends that could not be made.
    pub dropped: u64,
    /// Agent replies skipped while the agent was away by plan.
    pub skipped_away: u64,
    /// Estimated-wait accuracy.
    pub ewt: Ewt,
    /// Errors.
    pub errors: Errors,
    /// Reconnects.
    pub sessions: Sessions,
    /// Offers whose class differs from the plan's.
    pub class_mismatches: u64,
    /// Agent status changes the gateway made on its own, by reason.
    pub status_changes: BTreeMap<String, u64>,
    /// Client counts against the gateway's `/metrics`.
    pub server: CrossCheck,
    /// With `--spawn-process`: the kills and what they cost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crash: Option<CrashReport>,
    /// Thresholds checked.
    pub thresholds: Vec<Verdict>,
}

impl Summary {
    /// Puts a run's figures together. `endings` is every planned customer's outcome (`None`:
    /// its connector never reported, counted unfinished).
    pub fn build(
        setup: Setup,
        plan: &Plan,
        tenant: &TenantConfig,
        endings: &[Option<Ending>],
        measure: Measure,
        server: CrossCheck,
    ) -> Summary {
        let mut tally = Tally::default();
        let mut left: BTreeMap<_, u64> = BTreeMap::new();
        for (customer, ending) in plan.customers.iter().zip(endings) {
            let ending = ending.unwrap_or(Ending::Unfinished { waiting: false });
            let class = customer.class(tenant);
            tally.add(class, tenant, ending);
            *left.entry(class).or_default() += u64::from(ending == Ending::Left);
        }
        let mut lost_samples = Vec::new();
        let messages = measure.ledger.account(&mut lost_samples);
        let seconds = (plan.end_ms as f64 / 1000.0).max(1e-3);
        let e = measure.ewt;
        let mean = |sum: f64| (e.samples > 0).then(|| sum / e.samples as f64 / 1000.0);
        Summary {
            setup,
            outcomes_reported: endings.iter().filter(|e| e.is_some()).count() as u64,
            classes: tally
                .classes
                .iter()
                .map(|(name, t)| {
                    let left = left.get(name).copied().unwrap_or(0);
                    (name.as_str().to_string(), Class::of(t, left))
                })
                .collect(),
            total: Class::of(&tally.total(), left.values().sum()),
            delivery: Delivery {
                to_agents_per_sec: measure.to_agent.len() as f64 / seconds,
                to_customers_per_sec: measure.to_customer.len() as f64 / seconds,
                to_agent: Latency::of(&measure.to_agent),
                to_customer: Latency::of(&measure.to_customer),
                replayed: Latency::of(&measure.replayed),
                handoffs: measure
                    .handoffs
                    .iter()
                    .map(|(reason, h)| (reason.clone(), Latency::of(h)))
                    .collect(),
                send_lag: Latency::of(&measure.lag),
            },
            messages,
            lost_samples,
            late: measure.late,
            dropped: measure.dropped,
            skipped_away: measure.skipped_away,
            ewt: Ewt {
                samples: e.samples,
                mean_abs_error_secs: mean(e.abs_sum_ms as f64),
                mean_error_secs: mean(e.signed_sum_ms as f64),
            },
            errors: measure.errors,
            sessions: measure.sessions,
            class_mismatches: measure.class_mismatches,
            status_changes: measure.status_changes,
            server,
            crash: None,
            thresholds: Vec::new(),
        }
    }

    /// A figure by its threshold name (see [`super::threshold::FIGURES`]); `None` when the run
    /// had nothing to measure it on, or the name is unknown.
    pub fn figure(&self, name: &str) -> Option<f64> {
        let ms = |l: &Latency, us: f64| (l.count > 0).then_some(us / 1000.0);
        let worse = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let d = &self.delivery;
        let class_sla = |class: &str| self.classes.get(class).and_then(|c| c.sla);
        let count = |n: u64| Some(n as f64);
        match name {
            "p99_ms" => worse(
                ms(&d.to_agent, d.to_agent.p99_us),
                ms(&d.to_customer, d.to_customer.p99_us),
            ),
            "p50_ms" => worse(
                ms(&d.to_agent, d.to_agent.p50_us),
                ms(&d.to_customer, d.to_customer.p50_us),
            ),
            "to_agent_p99_ms" => ms(&d.to_agent, d.to_agent.p99_us),
            "to_customer_p99_ms" => ms(&d.to_customer, d.to_customer.p99_us),
            "handoff_p99_ms" => d
                .handoffs
                .values()
                .filter_map(|l| ms(l, l.p99_us))
                .reduce(f64::max),
            "lost" | "acked_lost" => count(self.messages.lost),
            "duplicated" | "duplicates" => count(self.messages.duplicated),
            "gaps" => count(self.sessions.gaps),
            "queue_moved" | "reassigned" | "restarts" | "outage_ms" | "bad_exit" => {
                self.crash.as_ref().map(|c| c.figure(name))
            }
            "unacked" => count(self.messages.unacked),
            "errors" => count(self.errors.unexpected),
            "late" => count(self.late),
            "dropped" => count(self.dropped),
            "mismatch" => self
                .server
                .unavailable
                .is_none()
                .then_some(self.server.mismatch as f64),
            "unfinished" => count(self.total.unfinished),
            "abandonment" => self.total.abandonment,
            "sla" => self.total.sla,
            "vip_sla" | "complaint_sla" | "urgent_sla" | "standard_sla" => {
                class_sla(name.trim_end_matches("_sla"))
            }
            "mean_wait_s" => self.total.mean_wait_secs,
            "ewt_error_s" => self.ewt.mean_abs_error_secs,
            "class_mismatches" => count(self.class_mismatches),
            _ => None,
        }
    }

    /// Whether every threshold held.
    pub fn passed(&self) -> bool {
        self.thresholds.iter().all(|v| v.pass)
    }

    /// The human-readable report.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let s = &self.setup;
        let _ = writeln!(
            out,
            "\nscenario {} (seed {}, scale {}) against {}{}",
            s.scenario,
            s.seed,
            s.scale,
            s.url,
            match (s.spawned, s.child_process) {
                (_, true) => " (child process)",
                (true, false) => " (in-process gateway)",
                (false, false) => "",
            }
        );
        let _ = writeln!(
            out,
            "plan: {} customers, {} agents, {} bots, {} connector sockets; arrivals for {:.0} s, run {:.0} s",
            s.customers, s.agents, s.bots, s.connectors, s.arrivals_end_secs, s.end_secs
        );
        let _ = writeln!(
            out,
            "\n{:<10} {:>6} {:>6} {:>8} {:>6} {:>6} {:>8} {:>9} {:>8} {:>9} {:>6} {:>5}",
            "class",
            "target",
            "convs",
            "answered",
            "SLA",
            "SLA*",
            "mean wait",
            "max wait",
            "abandoned",
            "bot done",
            "left",
            "open"
        );
        let pct =
            |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{:.1}%", v * 100.0));
        let secs = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.1} s"));
        let row = |out: &mut String, name: &str, c: &Class| {
            let target = if c.target_secs > 0.0 {
                format!("{:.0} s", c.target_secs)
            } else {
                "-".into()
            };
            let _ = writeln!(
                out,
                "{:<10} {:>6} {:>6} {:>8} {:>6} {:>6} {:>8} {:>9} {:>8} {:>9} {:>6} {:>5}",
                name,
                target,
                c.conversations,
                c.answered,
                pct(c.sla),
                pct(c.sla_offered),
                secs(c.mean_wait_secs),
                format!("{:.1} s", c.max_wait_secs),
                c.abandoned,
                c.resolved_by_bot,
                c.left,
                c.unfinished
            );
        };
        for (name, class) in &self.classes {
            row(&mut out, name, class);
        }
        row(&mut out, "total", &self.total);
        let _ = writeln!(
            out,
            "SLA = answered within target ÷ answered; SLA* counts abandonment as a miss"
        );

        let d = &self.delivery;
        let _ = writeln!(
            out,
            "\n{:<32} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "latency (from intended send)", "count", "p50", "p99", "p99.9", "max", "mean"
        );
        let lat = |out: &mut String, name: &str, l: &Latency| {
            let _ = writeln!(
                out,
                "{:<32} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9}",
                name,
                l.count,
                ms(l.p50_us),
                ms(l.p99_us),
                ms(l.p999_us),
                ms(l.max_us),
                ms(l.mean_us)
            );
        };
        lat(&mut out, "customer -> agent/bot", &d.to_agent);
        lat(&mut out, "agent/bot -> customer", &d.to_customer);
        for (reason, l) in &d.handoffs {
            lat(&mut out, &format!("handoff {reason}"), l);
        }
        lat(&mut out, "replayed after a resume", &d.replayed);
        lat(&mut out, "send lag (generator)", &d.send_lag);
        let _ = writeln!(
            out,
            "throughput: {:.1} msg/s to agents and bots, {:.1} msg/s to customers",
            d.to_agents_per_sec, d.to_customers_per_sec
        );

        let m = &self.messages;
        let _ = writeln!(
            out,
            "\nmessages: {} customer, {} bot, {} agent sent; {} acked, {} refused, {} unacked; \
             {} delivered, lost {}, duplicated {}, undeliverable {} (customer left before any offer), \
             truncated {}",
            m.customer_sent, m.bot_sent, m.agent_sent, m.acked, m.refused, m.unacked, m.delivered,
            m.lost, m.duplicated, m.undeliverable, m.truncated
        );
        for lost in &self.lost_samples {
            let _ = writeln!(out, "  lost: {lost}");
        }
        let _ = writeln!(
            out,
            "sends: {} late (> 100 ms), {} dropped, {} agent replies skipped while away",
            self.late, self.dropped, self.skipped_away
        );
        let _ = writeln!(
            out,
            "estimated wait: {} samples, mean absolute error {}, mean error {}",
            self.ewt.samples,
            secs(self.ewt.mean_abs_error_secs),
            secs(self.ewt.mean_error_secs)
        );
        let ss = &self.sessions;
        let _ = writeln!(
            out,
            "sessions: {} planned disconnects, {} resumed cleanly, {} gaps, {} unplanned disconnects, {} failed connects",
            ss.planned_disconnects, ss.resumed, ss.gaps, ss.unplanned_disconnects, ss.connect_failures
        );
        if !self.status_changes.is_empty() || self.class_mismatches > 0 {
            let _ = writeln!(
                out,
                "agent status changes by the gateway: {:?}; class mismatches: {}",
                self.status_changes, self.class_mismatches
            );
        }
        let benign: Vec<String> = self
            .errors
            .benign
            .iter()
            .map(|(code, n)| format!("{code} {n}"))
            .collect();
        let _ = writeln!(
            out,
            "errors: {} unexpected; benign races: {}",
            self.errors.unexpected,
            if benign.is_empty() {
                "none".to_string()
            } else {
                benign.join(", ")
            }
        );
        for sample in &self.errors.samples {
            let _ = writeln!(out, "  {sample}");
        }

        if let Some(crash) = &self.crash {
            crash.table(&mut out);
        }
        match &self.server.unavailable {
            Some(why) => {
                let _ = writeln!(out, "\ngateway cross-check unavailable: {why}");
            }
            None => {
                let _ = writeln!(
                    out,
                    "\n{:<10} {:>12} {:>16} {:>14} {:>12}",
                    "/metrics", "client sent", "server received", "client frames", "server sent"
                );
                for r in &self.server.roles {
                    let _ = writeln!(
                        out,
                        "{:<10} {:>12} {:>16} {:>14} {:>12}",
                        r.role, r.client_sent, r.server_received, r.client_received, r.server_sent
                    );
                }
                let _ = writeln!(out, "mismatch: {}", self.server.mismatch);
            }
        }

        if !self.thresholds.is_empty() {
            let _ = writeln!(out, "\nthresholds:");
            for v in &self.thresholds {
                let value = v
                    .value
                    .map_or_else(|| "n/a".to_string(), |x| format!("{x:.4}"));
                let _ = writeln!(
                    out,
                    "  {:<6} {:<24} {}",
                    if v.pass { "ok" } else { "BREACH" },
                    v.threshold,
                    value
                );
            }
        }
        out
    }
}
