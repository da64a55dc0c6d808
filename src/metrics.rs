//! Prometheus metrics, served on the admin listener at `/metrics`.
//!
//! Names are prefixed `switchboard_`, in base units, counters end in `_total`. Labels come only
//! from bounded sets — tenant, queue, lane, class, role, reason, outcome, status, code, shard,
//! listener, endpoint — never a conversation, customer or agent id, nor a client's address. Hot
//! paths hold pre-resolved children (see `engine::observe::TenantObserver`, which counts the
//! tenant cores' observations, and the session tasks), so nothing hashes label values per
//! message.

use crate::gateway::auth::Endpoint;
use crate::gateway::limits::Cap;
use prometheus::{
    Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

/// Every metric the gateway exports.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// Open connections by role (connector, agent, bot).
    pub connections: IntGaugeVec,
    /// Connections opened by role.
    pub connections_opened: IntCounterVec,
    /// Connections closed by role and close code.
    pub connections_closed: IntCounterVec,
    /// Client messages received by role.
    pub messages_received: IntCounterVec,
    /// Frames sent by role.
    pub messages_sent: IntCounterVec,
    /// Protocol errors sent, by code.
    pub protocol_errors: IntCounterVec,
    /// New conversations refused by a tenant's limits, by tenant and reason.
    pub conversations_refused: IntCounterVec,
    /// Conversations waiting for a human by tenant, queue, lane.
    pub waiting: IntGaugeVec,
    /// Longest current wait by tenant, queue, lane.
    pub oldest_wait: GaugeVec,
    /// SLA target by tenant and class.
    pub sla_target: GaugeVec,
    /// Wait until an agent answered, by tenant, queue, class.
    pub wait: HistogramVec,
    /// Answered within / beyond the SLA target, by tenant, class, outcome.
    pub sla: IntCounterVec,
    /// Handoffs by tenant and reason.
    pub handoffs: IntCounterVec,
    /// Trigger message in → offer to a human out, by tenant.
    pub handoff_latency: HistogramVec,
    /// Offers by tenant and outcome (accepted, rejected, timeout).
    pub offers: IntCounterVec,
    /// Customers who left while waiting, by tenant and queue.
    pub abandoned: IntCounterVec,
    /// Transfers by tenant.
    pub transfers: IntCounterVec,
    /// Agents by tenant, status and role.
    pub agents: IntGaugeVec,
    /// Load ÷ capacity over available human agents, by tenant.
    pub utilisation: GaugeVec,
    /// Predicted − actual wait, by tenant.
    pub ewt_error: HistogramVec,
    /// Router commands applied, by shard.
    pub router_commands: IntCounterVec,
    /// Inputs queued for a shard, by shard.
    pub inbox_depth: IntGaugeVec,
    /// Time to apply one router command, by shard.
    pub apply_time: HistogramVec,
    /// Time to write and `fdatasync` one journal frame (or a group of them), by shard.
    pub journal_sync: HistogramVec,
    /// Journal frames written, by shard.
    pub journal_frames: IntCounterVec,
    /// Journal bytes written (frame payloads), by shard.
    pub journal_bytes: IntCounterVec,
    /// Snapshots written, by shard and outcome (ok, failed, skipped: the previous one was still
    /// being written).
    pub snapshots: IntCounterVec,
    /// Frames not delivered because an outbox was full (acks, errors), by role.
    pub outbox_drops: IntCounterVec,
    /// Connections closed for reading too slowly, by role.
    pub slow_consumer_closes: IntCounterVec,
    /// Agents the staffing model recommends, by tenant and queue.
    pub recommended_agents: GaugeVec,
    /// Sockets closed at once on accept because a cap was reached, by listener and cap.
    pub connections_refused: IntCounterVec,
    /// Failed authentications, by endpoint (connector, agent, admin) and reason.
    pub auth_failures: IntCounterVec,
    /// Constant 1, labelled with the version.
    pub build_info: IntGauge,
    /// Seconds since the gateway started.
    pub uptime: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// Wait buckets, seconds: fine under the 60 s VIP target, coarse beyond the 300 s one.
const WAIT_BUCKETS: &[f64] = &[
    1.0, 5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 240.0, 300.0, 600.0, 1800.0,
];
/// Latency buckets, seconds, for things that should take milliseconds.
const FAST_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0,
];
/// Apply-time buckets, seconds: the router works in microseconds.
const APPLY_BUCKETS: &[f64] = &[
    0.000_001, 0.000_002, 0.000_005, 0.000_01, 0.000_02, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.01,
];
/// EWT error buckets, seconds, both signs: negative means the estimate was too short.
const EWT_ERROR_BUCKETS: &[f64] = &[
    -300.0, -120.0, -60.0, -30.0, -10.0, -5.0, 0.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

impl Metrics {
    /// Registers every metric in a fresh registry.
    pub fn new() -> Self {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels)
                .unwrap_or_else(|e| unreachable_metric(name, &e));
            let _ = registry.register(Box::new(c.clone()));
            c
        };
        let int_gauge = |name: &str, help: &str, labels: &[&str]| {
            let g = IntGaugeVec::new(Opts::new(name, help), labels)
                .unwrap_or_else(|e| unreachable_metric(name, &e));
            let _ = registry.register(Box::new(g.clone()));
            g
        };
        let gauge = |name: &str, help: &str, labels: &[&str]| {
            let g = GaugeVec::new(Opts::new(name, help), labels)
                .unwrap_or_else(|e| unreachable_metric(name, &e));
            let _ = registry.register(Box::new(g.clone()));
            g
        };
        let histogram = |name: &str, help: &str, labels: &[&str], buckets: &[f64]| {
            let h = HistogramVec::new(
                HistogramOpts::new(name, help).buckets(buckets.to_vec()),
                labels,
            )
            .unwrap_or_else(|e| unreachable_metric(name, &e));
            let _ = registry.register(Box::new(h.clone()));
            h
        };
        let build_info = IntGauge::with_opts(
            Opts::new("switchboard_build_info", "Build information; always 1.")
                .const_label("version", env!("CARGO_PKG_VERSION")),
        )
        .unwrap_or_else(|e| unreachable_metric("switchboard_build_info", &e));
        build_info.set(1);
        let _ = registry.register(Box::new(build_info.clone()));
        let uptime = Gauge::new(
            "switchboard_uptime_seconds",
            "Seconds since the gateway started.",
        )
        .unwrap_or_else(|e| unreachable_metric("switchboard_uptime_seconds", &e));
        let _ = registry.register(Box::new(uptime.clone()));
        let metrics = Metrics {
            connections: int_gauge("switchboard_connections", "Open WebSocket connections.", &["role"]),
            connections_opened: counter(
                "switchboard_connections_opened_total",
                "WebSocket connections opened.",
                &["role"],
            ),
            connections_closed: counter(
                "switchboard_connections_closed_total",
                "WebSocket connections closed, by the close code sent.",
                &["role", "code"],
            ),
            messages_received: counter(
                "switchboard_messages_received_total",
                "Client messages received.",
                &["role"],
            ),
            messages_sent: counter(
                "switchboard_messages_sent_total",
                "Frames sent to clients.",
                &["role"],
            ),
            protocol_errors: counter(
                "switchboard_protocol_errors_total",
                "Error frames sent to clients, by code.",
                &["code"],
            ),
            conversations_refused: counter(
                "switchboard_conversations_refused_total",
                "New conversations refused by the tenant's limits (rate, connector_cap, tenant_cap).",
                &["tenant", "reason"],
            ),
            waiting: int_gauge(
                "switchboard_waiting_conversations",
                "Conversations waiting for a human.",
                &["tenant", "queue", "lane"],
            ),
            oldest_wait: gauge(
                "switchboard_oldest_wait_seconds",
                "Longest current wait for a human.",
                &["tenant", "queue", "lane"],
            ),
            sla_target: gauge(
                "switchboard_sla_target_seconds",
                "Answer-time target.",
                &["tenant", "class"],
            ),
            wait: histogram(
                "switchboard_wait_seconds",
                "Wait from joining the queue to an agent answering.",
                &["tenant", "queue", "class"],
                WAIT_BUCKETS,
            ),
            sla: counter(
                "switchboard_sla_total",
                "Answers within (met) or beyond (missed) the class's target.",
                &["tenant", "class", "outcome"],
            ),
            handoffs: counter(
                "switchboard_handoffs_total",
                "Conversations handed from a bot (or past it) to humans.",
                &["tenant", "reason"],
            ),
            handoff_latency: histogram(
                "switchboard_handoff_latency_seconds",
                "From the message that triggered a handoff to the offer to a human.",
                &["tenant"],
                FAST_BUCKETS,
            ),
            offers: counter(
                "switchboard_offers_total",
                "Offers to human agents, by outcome.",
                &["tenant", "outcome"],
            ),
            abandoned: counter(
                "switchboard_abandoned_total",
                "Customers who left while waiting.",
                &["tenant", "queue"],
            ),
            transfers: counter("switchboard_transfers_total", "Transfers.", &["tenant"]),
            agents: int_gauge(
                "switchboard_agents",
                "Logged-in agents and bots.",
                &["tenant", "status", "role"],
            ),
            utilisation: gauge(
                "switchboard_utilisation_ratio",
                "Load divided by capacity over available human agents.",
                &["tenant"],
            ),
            ewt_error: histogram(
                "switchboard_ewt_error_seconds",
                "First estimated wait minus the actual wait.",
                &["tenant"],
                EWT_ERROR_BUCKETS,
            ),
            router_commands: counter(
                "switchboard_router_commands_total",
                "Router commands applied.",
                &["shard"],
            ),
            inbox_depth: int_gauge(
                "switchboard_shard_inbox_depth",
                "Inputs queued for a shard.",
                &["shard"],
            ),
            apply_time: histogram(
                "switchboard_router_apply_seconds",
                "Time to apply one router command and deliver its effects.",
                &["shard"],
                APPLY_BUCKETS,
            ),
            journal_sync: histogram(
                "switchboard_journal_sync_seconds",
                "Time to write and fdatasync a journal frame group (fsync = batch or interval).",
                &["shard"],
                FAST_BUCKETS,
            ),
            journal_frames: counter(
                "switchboard_journal_frames_total",
                "Journal frames written: one per shard batch.",
                &["shard"],
            ),
            journal_bytes: counter(
                "switchboard_journal_bytes_total",
                "Journal payload bytes written.",
                &["shard"],
            ),
            snapshots: counter(
                "switchboard_snapshots_total",
                "Tenant snapshots per shard, by outcome (ok, failed, skipped).",
                &["shard", "outcome"],
            ),
            outbox_drops: counter(
                "switchboard_outbox_drops_total",
                "Frames dropped because a connection's outbox was full (acks, errors; others wait for replay).",
                &["role"],
            ),
            slow_consumer_closes: counter(
                "switchboard_slow_consumer_closes_total",
                "Connections closed with 1013 for reading too slowly.",
                &["role"],
            ),
            recommended_agents: gauge(
                "switchboard_recommended_agents",
                "Agents the staffing model recommends for the current arrival rate.",
                &["tenant", "queue"],
            ),
            connections_refused: counter(
                "switchboard_connections_refused_total",
                "Sockets closed on accept because the listener's connection or handshake cap was reached.",
                &["listener", "reason"],
            ),
            auth_failures: counter(
                "switchboard_auth_failures_total",
                "Failed authentications (answered 401, or 429 once a source is throttled).",
                &["endpoint", "reason"],
            ),
            build_info,
            uptime,
            registry,
        };
        metrics.touch_known_labels();
        metrics
    }

    /// Creates every label set of the connection-level families at zero, so dashboards and
    /// `increase()` see a series from the first scrape, not from the first event.
    fn touch_known_labels(&self) {
        for role in ["connector", "agent", "bot"] {
            self.connections.with_label_values(&[role]);
            for counter in [
                &self.connections_opened,
                &self.messages_received,
                &self.messages_sent,
                &self.outbox_drops,
                &self.slow_consumer_closes,
            ] {
                counter.with_label_values(&[role]);
            }
            for code in [
                "1000", "1001", "1002", "1007", "1008", "1009", "1011", "1013", "other", "abnormal",
            ] {
                self.connections_closed.with_label_values(&[role, code]);
            }
        }
        for code in switchboard_protocol::ErrorCode::ALL {
            self.protocol_errors.with_label_values(&[code.as_str()]);
        }
        for cap in Cap::ALL {
            self.connections_refused
                .with_label_values(&["public", cap.as_str()]);
        }
        // The admin listener has one cap: its handshakes are bounded by its connections.
        self.connections_refused
            .with_label_values(&["admin", Cap::Total.as_str()]);
        for endpoint in Endpoint::ALL {
            for reason in endpoint.reasons() {
                self.auth_failures
                    .with_label_values(&[endpoint.as_str(), reason]);
            }
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
        String::from_utf8(buffer).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Metric names and labels are constants of this file; an invalid one is a defect found by the
/// first test that builds `Metrics`.
#[cold]
fn unreachable_metric(name: &str, error: &prometheus::Error) -> ! {
    panic!("metric {name} is malformed: {error}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::sync::Arc;

    /// The metric families the text names: `# TYPE` lines, counters as written.
    fn families(text: &str) -> BTreeSet<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split_whitespace().next())
            .map(str::to_string)
            .collect()
    }

    /// The value of one sample, by its name and labels as the text encoder writes them
    /// (labels sorted by name).
    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn a_fresh_registry_exports_every_bounded_connection_label_set_at_zero() {
        let text = Metrics::new().render();
        let mut expected = Vec::new();
        for role in ["connector", "agent", "bot"] {
            expected.push(format!("switchboard_connections{{role=\"{role}\"}}"));
            for family in [
                "connections_opened_total",
                "messages_received_total",
                "messages_sent_total",
                "outbox_drops_total",
                "slow_consumer_closes_total",
            ] {
                expected.push(format!("switchboard_{family}{{role=\"{role}\"}}"));
            }
            for code in ["1000", "1001", "1008", "1009", "1011", "1013", "abnormal"] {
                expected.push(format!(
                    "switchboard_connections_closed_total{{code=\"{code}\",role=\"{role}\"}}"
                ));
            }
        }
        for code in switchboard_protocol::ErrorCode::ALL {
            expected.push(format!(
                "switchboard_protocol_errors_total{{code=\"{}\"}}",
                code.as_str()
            ));
        }
        for (listener, cap) in [
            ("public", "total_cap"),
            ("public", "handshake_cap"),
            ("admin", "total_cap"),
        ] {
            expected.push(format!(
                "switchboard_connections_refused_total{{listener=\"{listener}\",reason=\"{cap}\"}}"
            ));
        }
        for endpoint in Endpoint::ALL {
            for reason in endpoint.reasons() {
                expected.push(format!(
                    "switchboard_auth_failures_total{{endpoint=\"{}\",reason=\"{reason}\"}}",
                    endpoint.as_str()
                ));
            }
        }
        for series in &expected {
            assert_eq!(
                sample(&text, series),
                Some(0.0),
                "{series} missing or not 0"
            );
        }
        assert_eq!(sample(&text, "switchboard_uptime_seconds"), Some(0.0));
        assert!(
            text.contains(&format!(
                "switchboard_build_info{{version=\"{}\"}} 1",
                env!("CARGO_PKG_VERSION")
            )),
            "{text}"
        );
        // Nothing outside the prefix: a stray default-registry family would be exported too.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert!(line.starts_with("switchboard_"), "{line}");
        }
    }

    #[test]
    fn a_started_engine_exports_exactly_the_names_of_ops_metrics_txt_with_its_sla_targets() {
        let mut config = switchboard_config::Config::embedded();
        config.tenants[0].sla.vip_secs = 45;
        let tenant = config.tenants[0].id.clone();
        // The journal's families exist only where it runs.
        let journal =
            std::env::temp_dir().join(format!("switchboard-metrics-{}", std::process::id()));
        config.journal.dir = journal.clone();
        let metrics = Arc::new(Metrics::new());
        let engine = crate::engine::Engine::start(&config, Arc::clone(&metrics)).unwrap();
        // Once the shards have stopped, each has built its tenants' metric children.
        engine.shutdown(std::time::Duration::from_secs(5));
        engine.join().expect("no shard panicked");
        let _ = std::fs::remove_dir_all(journal);
        let text = metrics.render();

        let listed: BTreeSet<String> = include_str!("../ops/metrics.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect();
        let exported = families(&text);
        let missing: Vec<_> = listed.difference(&exported).collect();
        let unlisted: Vec<_> = exported.difference(&listed).collect();
        assert!(
            missing.is_empty() && unlisted.is_empty(),
            "ops/metrics.txt lists but the gateway does not export {missing:?}; \
             exported but not listed {unlisted:?}"
        );

        // The targets come from the tenant's configuration, in seconds.
        for (class, secs) in [
            ("vip", 45.0),
            ("complaint", 60.0),
            ("urgent", 300.0),
            ("standard", 180.0),
        ] {
            let series =
                format!("switchboard_sla_target_seconds{{class=\"{class}\",tenant=\"{tenant}\"}}");
            assert_eq!(sample(&text, &series), Some(secs), "{series}");
        }
        // Every queue and lane of the tenant is exported before anyone waits.
        for queue in config.tenants[0].queues.iter().map(|q| q.name.as_str()) {
            for lane in ["standard", "vip"] {
                let series = format!(
                    "switchboard_waiting_conversations{{lane=\"{lane}\",queue=\"{queue}\",tenant=\"{tenant}\"}}"
                );
                assert_eq!(sample(&text, &series), Some(0.0), "{series}");
            }
        }
    }
}
