//! Results: what each mode measured, printed as a compact table and written as JSON.

use hdrhistogram::Histogram;
use serde::Serialize;

/// A new latency histogram: nanoseconds, 1 ns to 60 s, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    // The bounds are constants that hdrhistogram accepts; a failure here is a programming error.
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

/// Percentiles of a latency histogram, in microseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    /// Samples.
    pub count: u64,
    /// Mean.
    pub mean_us: f64,
    /// Median.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// 99.9th percentile.
    pub p999_us: f64,
    /// Largest.
    pub max_us: f64,
}

impl Latency {
    /// Summarises a histogram of nanoseconds.
    pub fn of(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        let us = |ns: u64| ns as f64 / 1000.0;
        Latency {
            count: h.len(),
            mean_us: h.mean() / 1000.0,
            p50_us: us(h.value_at_quantile(0.50)),
            p99_us: us(h.value_at_quantile(0.99)),
            p999_us: us(h.value_at_quantile(0.999)),
            max_us: us(h.max()),
        }
    }
}

/// One saturated-throughput run.
#[derive(Debug, Clone, Serialize)]
pub struct Throughput {
    /// `switchboard` or `baseline`.
    pub target: String,
    /// Idle connections held open meanwhile.
    pub background_idle: usize,
    /// Messages per frame.
    pub batch: usize,
    /// Measured seconds (after the warm-up).
    pub seconds: f64,
    /// Messages delivered to agents during the measured seconds, per second.
    pub delivered_per_sec: f64,
    /// Latency of messages sent during the measured seconds (closed loop: includes queueing up
    /// to the in-flight window).
    pub latency: Latency,
    /// Target CPU, in cores, during the measured seconds.
    pub target_cpu_cores: Option<f64>,
    /// Load generator CPU, in cores, during the measured seconds.
    pub generator_cpu_cores: Option<f64>,
    /// Everything else on the machine, in cores: near 0 unless something disturbed the run.
    pub other_cpu_cores: Option<f64>,
    /// The target's busiest thread and its CPU, in cores: near 1.0 means that one thread is
    /// the ceiling.
    pub busiest_thread: Option<(String, f64)>,
    /// Messages sent over the whole run (warm-up included).
    pub sent: u64,
    /// Ack frames the connectors received per message sent (1.0: one ack per message).
    pub ack_frames_per_message: f64,
    /// Sent but never delivered, after the drain.
    pub lost: u64,
    /// `error` frames received by connectors and agents.
    pub errors: u64,
}

/// One fixed-rate (open model) run.
#[derive(Debug, Clone, Serialize)]
pub struct Rate {
    /// `switchboard` or `baseline`.
    pub target: String,
    /// Idle connections held open meanwhile.
    pub background_idle: usize,
    /// Offered messages per second.
    pub offered_per_sec: u64,
    /// Messages scheduled in the measured window.
    pub scheduled: u64,
    /// Of those, delivered (by the end of the drain).
    pub delivered: u64,
    /// Latency from each message's intended send time to its receipt by an agent.
    pub latency: Latency,
    /// Latency from each message's actual send time: the target alone, without the
    /// generator's lateness (which `latency` includes, as the open model requires).
    pub service_latency: Latency,
    /// How late the generator actually wrote messages, against their intended time.
    pub generator_lag: Latency,
    /// Target CPU, in cores, during the measured window.
    pub target_cpu_cores: Option<f64>,
    /// Load generator CPU, in cores, during the measured window.
    pub generator_cpu_cores: Option<f64>,
    /// Everything else on the machine, in cores: near 0 unless something disturbed the run.
    pub other_cpu_cores: Option<f64>,
    /// The target's busiest thread and its CPU, in cores.
    pub busiest_thread: Option<(String, f64)>,
    /// Whether the target kept up (see `sustained_rule`).
    pub sustained: bool,
    /// Set when the target closed a client during the run (e.g. a slow consumer, 1013): why.
    pub closed: Option<String>,
    /// Sent but never delivered, after the drain.
    pub lost: u64,
    /// `error` frames received by connectors and agents.
    pub errors: u64,
}

/// Memory held by idle connections.
#[derive(Debug, Clone, Serialize)]
pub struct Idle {
    /// `switchboard` or `baseline`.
    pub target: String,
    /// Connections measured (beyond the warm-up ones).
    pub connections: usize,
    /// Target VmRSS before, KiB.
    pub rss_before_kib: u64,
    /// Target VmRSS with every connection welcomed, KiB.
    pub rss_after_kib: u64,
    /// (after − before) / connections.
    pub kib_per_connection: f64,
    /// Seconds to open and welcome them all.
    pub open_seconds: f64,
    /// Target threads.
    pub target_threads: Option<u64>,
    /// Load generator VmRSS afterwards, KiB (for context: the client side of the same sockets).
    pub generator_rss_kib: Option<u64>,
}

/// Everything one invocation measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Facts about the run: machine, options.
    pub meta: serde_json::Value,
    /// Saturated throughput runs.
    pub throughput: Vec<Throughput>,
    /// Fixed-rate runs.
    pub latency: Vec<Rate>,
    /// Idle-connection runs.
    pub idle: Vec<Idle>,
    /// Saturation searches.
    pub saturation: Vec<crate::saturate::Saturation>,
    /// Steps that failed, with the reason.
    pub failures: Vec<String>,
}

/// When a fixed rate counts as sustained.
pub const SUSTAINED_RULE: &str = "at least 99% of the messages scheduled in the measured window \
     were delivered and p99 latency stayed under 100 ms";

fn cores(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |c| format!("{c:.2}"))
}

/// CPU used by neither the target nor the generator above which a row is marked disturbed.
pub const DISTURBED_CORES: f64 = 0.10;

/// The target, with the idle connections held meanwhile if any (`switchboard+10000`), and a `!`
/// when something else used the CPU during the row.
fn who(target: &str, background: usize, other: Option<f64>) -> String {
    let mark = if other.is_some_and(|o| o > DISTURBED_CORES) {
        "!"
    } else {
        ""
    };
    if background == 0 {
        format!("{target}{mark}")
    } else {
        format!("{target}+{background}{mark}")
    }
}

fn thread(busiest: &Option<(String, f64)>) -> String {
    busiest
        .as_ref()
        .map_or_else(|| "-".to_string(), |(name, c)| format!("{name} {c:.2}"))
}

/// Microseconds as a short human figure (`850 µs`, `1.25 ms`, `120 ms`).
pub fn ms(us: f64) -> String {
    if us >= 10_000.0 {
        format!("{:.0} ms", us / 1000.0)
    } else if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

impl Report {
    /// The compact human-readable table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        if !self.throughput.is_empty() {
            out.push_str("\nSaturated throughput (closed loop, customer -> agent)\n");
            out.push_str(&format!(
                "{:<17} {:>5} {:>12} {:>9} {:>9} {:>9} {:>7} {:>14} {:>7} {:>5} {:>8} {:>6} {:>6}\n",
                "target",
                "batch",
                "msg/s",
                "p50",
                "p99",
                "p99.9",
                "srv cpu",
                "busiest thread",
                "gen cpu",
                "other",
                "acks/msg",
                "lost",
                "errors"
            ));
            for t in &self.throughput {
                out.push_str(&format!(
                    "{:<17} {:>5} {:>12.0} {:>9} {:>9} {:>9} {:>7} {:>14} {:>7} {:>5} {:>8.3} {:>6} {:>6}\n",
                    who(&t.target, t.background_idle, t.other_cpu_cores),
                    t.batch,
                    t.delivered_per_sec,
                    ms(t.latency.p50_us),
                    ms(t.latency.p99_us),
                    ms(t.latency.p999_us),
                    cores(t.target_cpu_cores),
                    thread(&t.busiest_thread),
                    cores(t.generator_cpu_cores),
                    cores(t.other_cpu_cores),
                    t.ack_frames_per_message,
                    t.lost,
                    t.errors
                ));
            }
            let batches: std::collections::BTreeSet<usize> =
                self.throughput.iter().map(|t| t.batch).collect();
            for batch in batches {
                let find = |name: &str| {
                    self.throughput
                        .iter()
                        .find(|t| t.target == name && t.batch == batch && t.background_idle == 0)
                        .map(|t| t.delivered_per_sec)
                };
                for (a, b) in [
                    ("switchboard", "baseline"),
                    ("switchboard-tls", "switchboard"),
                ] {
                    if let (Some(x), Some(y)) = (find(a), find(b)) {
                        if y > 0.0 {
                            out.push_str(&format!("ratio {a}/{b}, batch {batch}: {:.2}\n", x / y));
                        }
                    }
                }
            }
        }
        if !self.latency.is_empty() {
            out.push_str(
                "\nFixed offered rates (open model; latency from the intended send time)\n",
            );
            out.push_str(&format!(
                "{:<17} {:>8} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7} {:>14} {:>7} {:>5} {:>9}\n",
                "target",
                "offered",
                "delivered",
                "p50",
                "p99",
                "p99.9",
                "max",
                "svc p99",
                "gen lag99",
                "srv cpu",
                "busiest thread",
                "gen cpu",
                "other",
                "sustained"
            ));
            for r in &self.latency {
                out.push_str(&format!(
                    "{:<17} {:>8} {:>9.1}% {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7} {:>14} {:>7} {:>5} {:>9}\n",
                    who(&r.target, r.background_idle, r.other_cpu_cores),
                    r.offered_per_sec,
                    if r.scheduled > 0 {
                        100.0 * r.delivered as f64 / r.scheduled as f64
                    } else {
                        0.0
                    },
                    ms(r.latency.p50_us),
                    ms(r.latency.p99_us),
                    ms(r.latency.p999_us),
                    ms(r.latency.max_us),
                    ms(r.service_latency.p99_us),
                    ms(r.generator_lag.p99_us),
                    cores(r.target_cpu_cores),
                    thread(&r.busiest_thread),
                    cores(r.generator_cpu_cores),
                    cores(r.other_cpu_cores),
                    match (r.sustained, &r.closed) {
                        (_, Some(_)) => "NO,closed",
                        (true, None) => "yes",
                        (false, None) => "NO",
                    }
                ));
                if let Some(why) = &r.closed {
                    out.push_str(&format!("    ^ the target closed a client: {why}\n"));
                }
            }
            out.push_str(&format!(
                "latency columns are from the intended send time; svc p99 is from the actual \
                 send time (the target alone); gen lag99 is the generator's own lateness\n\
                 sustained = {SUSTAINED_RULE}\n"
            ));
        }
        if !self.idle.is_empty() {
            out.push_str("\nIdle connections (welcomed, then silent)\n");
            out.push_str(&format!(
                "{:<17} {:>7} {:>12} {:>12} {:>9} {:>8} {:>8}\n",
                "target", "conns", "RSS before", "RSS after", "KiB/conn", "open s", "threads"
            ));
            for i in &self.idle {
                out.push_str(&format!(
                    "{:<17} {:>7} {:>9} KiB {:>9} KiB {:>9.2} {:>8.1} {:>8}\n",
                    i.target,
                    i.connections,
                    i.rss_before_kib,
                    i.rss_after_kib,
                    i.kib_per_connection,
                    i.open_seconds,
                    i.target_threads
                        .map_or_else(|| "-".to_string(), |t| t.to_string())
                ));
            }
        }
        let disturbed = self
            .throughput
            .iter()
            .map(|t| t.other_cpu_cores)
            .chain(self.latency.iter().map(|r| r.other_cpu_cores))
            .any(|o| o.is_some_and(|o| o > DISTURBED_CORES));
        if disturbed {
            out.push_str(&format!(
                "\n! = other processes used more than {DISTURBED_CORES} cores during that row \
                 (column `other`): its figures are disturbed; rerun on a quiet machine\n"
            ));
        }
        if !self.saturation.is_empty() {
            out.push('\n');
            out.push_str(&crate::saturate::table(&self.saturation));
        }
        if !self.failures.is_empty() {
            out.push_str("\nFAILED:\n");
            for f in &self.failures {
                out.push_str(&format!("  {f}\n"));
            }
        }
        out
    }
}
