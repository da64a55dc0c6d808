//! What a shard tells the outside about its tenants: Prometheus children resolved once per
//! tenant, rolling 5-minute windows fed by the tenant cores' observations, and the
//! once-a-second snapshot the admin API and the dashboard read.
//!
//! Observations flow one way: a tenant core emits them, this module counts them. Nothing here
//! is read back by a core, so metrics decide nothing.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use prometheus::{Gauge, Histogram, IntCounter, IntGauge};
use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::metrics::Metrics;
use switchboard_router::policy::Policy;
use switchboard_router::{Class, ConversationId, HandoffReason, Millis, Router, State};
use switchboard_staffing::{recommend, CapacityError, StaffingInput, MAX_AGENTS};
use switchboard_tenant::{AdmissionRefusal, Observation, Windows, WINDOW_SECS};

/// One history point every this many seconds…
const HISTORY_STEP_SECS: u64 = 5;
/// …for this many points: ten minutes.
const HISTORY_POINTS: usize = 120;

/// A tenant's pre-resolved metric children and dashboard history (the rolling windows are
/// the tenant core's: see `switchboard_tenant::Windows`).
pub(super) struct TenantObserver {
    handoffs: Vec<IntCounter>,
    handoff_latency: Histogram,
    offers_accepted: IntCounter,
    offers_rejected: IntCounter,
    offers_timeout: IntCounter,
    transfers: IntCounter,
    ewt_error: Histogram,
    /// `[class][met, missed]`.
    sla: Vec<[IntCounter; 2]>,
    /// `[queue][class]`.
    wait: Vec<Vec<Histogram>>,
    abandoned: Vec<IntCounter>,
    waiting: Vec<[IntGauge; 2]>,
    oldest: Vec<[Gauge; 2]>,
    /// `[status][role]`.
    agents: Vec<[IntGauge; 2]>,
    utilisation: Gauge,
    history: VecDeque<HistoryPoint>,
    recommended: Vec<Gauge>,
    service_level: f64,
    /// Mean capacity of the available humans when there last were some.
    concurrency: f64,
    /// New conversations refused by admission, by [`AdmissionRefusal::ALL`].
    refused: Vec<IntCounter>,
    /// Conversations handed off and not yet offered to a human: when the trigger arrived, by
    /// the monotonic clock (a latency histogram, nothing else reads it). Bound: as above.
    pending_handoffs: FxHashMap<ConversationId, Instant>,
}

/// What the staffing model needs of a queue, and what it recommends.
struct Staffing {
    arrivals_per_min: f64,
    mean_handle_secs: Option<f64>,
    recommended: Option<u32>,
}

impl TenantObserver {
    pub(super) fn new(
        metrics: &Metrics,
        tenant: &str,
        router: &Router,
        service_level: f64,
    ) -> Self {
        let policy = router.policy();
        let queues: Vec<&str> = policy.queues.iter().map(|q| q.name.as_str()).collect();
        let lanes = ["vip", "standard"];
        for class in Class::ALL {
            metrics
                .sla_target
                .with_label_values(&[tenant, class.as_str()])
                .set(policy.sla_ms(class) as f64 / 1000.0);
        }
        TenantObserver {
            handoffs: HandoffReason::ALL
                .iter()
                .map(|r| metrics.handoffs.with_label_values(&[tenant, r.as_str()]))
                .collect(),
            handoff_latency: metrics.handoff_latency.with_label_values(&[tenant]),
            offers_accepted: metrics.offers.with_label_values(&[tenant, "accepted"]),
            offers_rejected: metrics.offers.with_label_values(&[tenant, "rejected"]),
            offers_timeout: metrics.offers.with_label_values(&[tenant, "timeout"]),
            transfers: metrics.transfers.with_label_values(&[tenant]),
            ewt_error: metrics.ewt_error.with_label_values(&[tenant]),
            sla: Class::ALL
                .iter()
                .map(|c| {
                    [
                        metrics.sla.with_label_values(&[tenant, c.as_str(), "met"]),
                        metrics
                            .sla
                            .with_label_values(&[tenant, c.as_str(), "missed"]),
                    ]
                })
                .collect(),
            wait: queues
                .iter()
                .map(|q| {
                    Class::ALL
                        .iter()
                        .map(|c| metrics.wait.with_label_values(&[tenant, q, c.as_str()]))
                        .collect()
                })
                .collect(),
            abandoned: queues
                .iter()
                .map(|q| metrics.abandoned.with_label_values(&[tenant, q]))
                .collect(),
            waiting: queues
                .iter()
                .map(|q| lanes.map(|l| metrics.waiting.with_label_values(&[tenant, q, l])))
                .collect(),
            oldest: queues
                .iter()
                .map(|q| lanes.map(|l| metrics.oldest_wait.with_label_values(&[tenant, q, l])))
                .collect(),
            agents: ["available", "away", "disconnected"]
                .iter()
                .map(|s| {
                    ["agent", "bot"].map(|r| metrics.agents.with_label_values(&[tenant, s, r]))
                })
                .collect(),
            utilisation: metrics.utilisation.with_label_values(&[tenant]),
            history: VecDeque::new(),
            recommended: queues
                .iter()
                .map(|q| metrics.recommended_agents.with_label_values(&[tenant, q]))
                .collect(),
            service_level,
            concurrency: 1.0,
            // Created at zero so they are exported before the first refusal.
            refused: AdmissionRefusal::ALL
                .iter()
                .map(|r| {
                    metrics
                        .conversations_refused
                        .with_label_values(&[tenant, r.as_str()])
                })
                .collect(),
            pending_handoffs: FxHashMap::default(),
        }
    }

    /// Counts one observation of the tenant's core; `at` is when the input that caused it was
    /// read, for the handoff latency.
    pub(super) fn observe(&mut self, observation: Observation, at: Instant) {
        match observation {
            Observation::WaitObserved {
                queue,
                class,
                predicted_ms,
                actual_ms,
                sla_met,
            } => {
                if let Some(h) = self.wait.get(queue).and_then(|v| v.get(class as usize)) {
                    h.observe(actual_ms as f64 / 1000.0);
                }
                self.sla[class as usize][usize::from(!sla_met)].inc();
                if let Some(predicted) = predicted_ms {
                    self.ewt_error
                        .observe((predicted as f64 - actual_ms as f64) / 1000.0);
                }
            }
            Observation::Handoff {
                conversation,
                reason,
            } => {
                let index = HandoffReason::ALL.iter().position(|r| *r == reason);
                if let Some(counter) = index.and_then(|i| self.handoffs.get(i)) {
                    counter.inc();
                }
                self.pending_handoffs.insert(conversation, at);
            }
            Observation::OfferedToHuman { conversation } => {
                if let Some(triggered) = self.pending_handoffs.remove(&conversation) {
                    self.handoff_latency
                        .observe(triggered.elapsed().as_secs_f64());
                }
            }
            Observation::StateChanged {
                conversation,
                state,
                queue,
            } => self.state_changed(conversation, state, queue),
            Observation::OfferTimedOut => self.offers_timeout.inc(),
            Observation::OfferRejected => self.offers_rejected.inc(),
            Observation::Transferred => self.transfers.inc(),
            Observation::ConversationRefused(why) => {
                let index = AdmissionRefusal::ALL.iter().position(|r| *r == why);
                if let Some(counter) = index.and_then(|i| self.refused.get(i)) {
                    counter.inc();
                }
            }
            // Shard-wide counters: the shard counts them.
            Observation::Command | Observation::ProtocolError(_) => {}
        }
    }

    fn state_changed(&mut self, conversation: ConversationId, state: State, queue: usize) {
        match state {
            State::Assigned => self.offers_accepted.inc(),
            State::Closed | State::Abandoned => {
                if state == State::Abandoned {
                    if let Some(counter) = self.abandoned.get(queue) {
                        counter.inc();
                    }
                }
                self.pending_handoffs.remove(&conversation);
            }
            _ => {}
        }
    }

    /// Gives back the memory a surge of handoffs left behind; the slack keeps a steady load
    /// from shrinking and regrowing every second.
    pub(super) fn shrink(&mut self) {
        if self.pending_handoffs.capacity() > 4 * self.pending_handoffs.len() + 1024 {
            self.pending_handoffs.shrink_to_fit();
        }
    }

    /// Erlang C for one queue over the last five minutes: arrivals into its human side, how long
    /// each held a slot, the connected agents' mean capacity, and the target of the class it
    /// answered most. None when customers arrived but no handle time has been seen yet.
    fn staffing(&self, windows: &Windows, q: usize, policy: &Policy, second: u64) -> Staffing {
        let window = (second + 1).min(WINDOW_SECS) as f64;
        let entries = windows.entries(q, second);
        let [handled, handle_secs] = windows.handled(q, second);
        let arrival_per_sec = entries as f64 / window;
        let mean_handle_secs =
            (handled > 0).then(|| (handle_secs as f64 / handled as f64).max(1.0));
        let by_class = windows.answered_by_class(q, second);
        let class = Class::ALL
            .iter()
            .zip(by_class)
            .max_by_key(|(_, n)| *n)
            .filter(|(_, n)| *n > 0)
            .map_or(Class::Standard, |(c, _)| *c);
        let recommended = if entries == 0 {
            Some(0)
        } else {
            mean_handle_secs.and_then(|mean_handle_secs| {
                let input = StaffingInput {
                    arrival_per_sec,
                    mean_handle_secs,
                    concurrency: (self.concurrency.round() as u32).clamp(1, 100),
                    target_secs: policy.sla_ms(class) as f64 / 1000.0,
                    target_service_level: self.service_level,
                    mean_patience_secs: None,
                };
                match recommend(&input) {
                    Ok(r) => Some(r.agents),
                    Err(CapacityError::Unreachable { .. }) => Some(MAX_AGENTS),
                    Err(_) => None,
                }
            })
        };
        Staffing {
            arrivals_per_min: arrival_per_sec * 60.0,
            mean_handle_secs,
            recommended,
        }
    }

    /// Refreshes the gauges and builds the tenant's part of the snapshot.
    pub(super) fn refresh(
        &mut self,
        id: &str,
        router: &Router,
        windows: &Windows,
        second: u64,
    ) -> TenantStats {
        let now = router.now();
        let policy = router.policy();
        let stats = router.queue_stats();
        let counts = router.agent_counts();
        let secs = |ms: Millis| ms as f64 / 1000.0;
        let available_humans = counts.available.humans;
        if available_humans > 0 {
            self.concurrency = counts.capacity as f64 / f64::from(available_humans);
        }
        let mut total_waiting = 0u64;
        let queues = stats
            .iter()
            .enumerate()
            .map(|(q, s)| {
                let oldest = s
                    .oldest_since
                    .map(|since| since.map_or(0.0, |t| secs(now.saturating_sub(t))));
                for ((gauge, age), (count, seconds)) in self.waiting[q]
                    .iter()
                    .zip(&self.oldest[q])
                    .zip(s.waiting.iter().zip(oldest))
                {
                    gauge.set(i64::from(*count));
                    age.set(seconds);
                }
                total_waiting += u64::from(s.waiting[0] + s.waiting[1]);
                let [met, missed] = windows.answered(q, second);
                let staffing = self.staffing(windows, q, policy, second);
                self.recommended[q].set(staffing.recommended.map_or(f64::NAN, f64::from));
                QueueView {
                    name: policy.queues[q].name.clone(),
                    waiting: LaneCounts {
                        vip: s.waiting[0],
                        standard: s.waiting[1],
                    },
                    oldest_wait_secs: Lanes {
                        vip: oldest[0].round(),
                        standard: oldest[1].round(),
                    },
                    sla_target_secs: Lanes {
                        vip: secs(policy.sla_ms(Class::Vip)),
                        standard: secs(policy.sla_ms(Class::Standard)),
                    },
                    ewt_secs: s.ewt_next_ms.map(|ms| ms / 1000),
                    sla_attainment_5m: (met + missed > 0)
                        .then(|| met as f64 / (met + missed) as f64),
                    answered_per_min: (met + missed) as f64 / (WINDOW_SECS as f64 / 60.0),
                    arrivals_per_min: staffing.arrivals_per_min,
                    mean_handle_secs: staffing.mean_handle_secs,
                    recommended_agents: staffing.recommended,
                }
            })
            .collect();
        for (status, gauges) in counts.by_presence().iter().zip(&self.agents) {
            gauges[0].set(i64::from(status.humans));
            gauges[1].set(i64::from(status.bots));
        }
        let utilisation = if counts.capacity > 0 {
            counts.load as f64 / counts.capacity as f64
        } else {
            0.0
        };
        self.utilisation.set(utilisation);
        let handoffs = windows.handoffs(second);
        // Messages per second over the last five seconds: steady on a big screen, yet live.
        let messages_per_sec = windows.messages(second, 5) as f64 / 5.0;
        if second % HISTORY_STEP_SECS == 0 && self.history.back().is_none_or(|p| p.second != second)
        {
            if self.history.len() == HISTORY_POINTS {
                self.history.pop_front();
            }
            self.history.push_back(HistoryPoint {
                second,
                t: second * 1000,
                waiting: total_waiting,
                messages_per_sec,
            });
        }
        TenantStats {
            id: id.to_string(),
            queues,
            agents: AgentsView {
                available: counts.available.humans,
                away: counts.away.humans,
                in_grace: counts.disconnected.humans,
                bots: counts.bots(),
                utilisation,
            },
            handoffs_5m: HandoffReason::ALL
                .iter()
                .zip(handoffs)
                .map(|(r, n)| (r.as_str(), n))
                .collect(),
            messages_per_sec,
            history: self.history.iter().cloned().collect(),
            sessions: SessionsView::default(),
        }
    }
}

/// A tenant's sessions in `GET /api/v1/stats`: what the shard keeps for its clients, so an
/// operator (and a test) can see that what nobody resumes is given back.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct SessionsView {
    /// Sessions with a live connection.
    pub connected: u64,
    /// Sessions kept for a resume (`gateway.session_resume_secs`) with no connection.
    pub resumable: u64,
    /// Server messages held in all of them for replay (each bounded by
    /// `gateway.replay_frames`).
    pub replay_frames: u64,
}

/// Two figures, one per lane.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Lanes {
    /// The VIP lane.
    pub vip: f64,
    /// The standard lane.
    pub standard: f64,
}

/// Two counts, one per lane.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct LaneCounts {
    /// The VIP lane.
    pub vip: u32,
    /// The standard lane.
    pub standard: u32,
}

/// One queue on the dashboard.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QueueView {
    /// Queue name.
    pub name: String,
    /// Conversations waiting, per lane.
    pub waiting: LaneCounts,
    /// Longest current wait, per lane, seconds.
    pub oldest_wait_secs: Lanes,
    /// SLA target per lane, seconds.
    pub sla_target_secs: Lanes,
    /// Estimated wait for the next customer, seconds.
    pub ewt_secs: Option<u64>,
    /// Share of answers within target over the last 5 minutes.
    pub sla_attainment_5m: Option<f64>,
    /// Answers per minute over the last 5 minutes.
    pub answered_per_min: f64,
    /// Conversations reaching this queue's human side per minute over the last 5 minutes.
    pub arrivals_per_min: f64,
    /// Mean seconds a conversation held an agent's slot here (assignment to end of wrap-up),
    /// last 5 minutes; absent until one has ended.
    pub mean_handle_secs: Option<f64>,
    /// Agents Erlang C recommends for this queue (also `switchboard_recommended_agents`);
    /// absent until a handle time is known.
    pub recommended_agents: Option<u32>,
}

/// Agents on the dashboard (humans by status; bots counted apart).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AgentsView {
    /// Available humans.
    pub available: u32,
    /// Away humans.
    pub away: u32,
    /// Humans disconnected within their grace period (the dashboard's key is `offline`).
    #[serde(rename = "offline")]
    pub in_grace: u32,
    /// Bots.
    pub bots: u32,
    /// Load ÷ capacity over available humans.
    pub utilisation: f64,
}

/// One point of the 10-minute history.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HistoryPoint {
    #[serde(skip)]
    second: u64,
    /// Unix milliseconds (the shard's clock, to the second).
    pub t: u64,
    /// Conversations waiting for a human.
    pub waiting: u64,
    /// Client messages per second.
    pub messages_per_sec: f64,
}

/// One tenant in `GET /api/v1/stats`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TenantStats {
    /// Tenant id.
    pub id: String,
    /// Its queues in configuration order.
    pub queues: Vec<QueueView>,
    /// Its agents.
    pub agents: AgentsView,
    /// Handoffs in the last 5 minutes, by reason.
    pub handoffs_5m: BTreeMap<&'static str, u64>,
    /// Client messages per second (last 5 s).
    pub messages_per_sec: f64,
    /// The last 10 minutes, one point per 5 s, oldest first.
    pub history: Vec<HistoryPoint>,
    /// Its clients' sessions, live and kept for a resume.
    pub sessions: SessionsView,
}

/// One agent in `GET /api/v1/agents`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AgentRow {
    /// Tenant id.
    pub tenant: String,
    /// The agent's id (the token's `sub`).
    pub id: String,
    /// `agent` or `bot`.
    pub role: &'static str,
    /// `available`, `away`.
    pub status: &'static str,
    /// False while in its grace period.
    pub connected: bool,
    /// Conversations held.
    pub load: u32,
    /// Most conversations at once.
    pub capacity: u32,
}

/// What one shard last published.
#[derive(Debug, Default, Clone)]
pub struct ShardSnapshot {
    /// Its tenants.
    pub tenants: Vec<TenantStats>,
    /// Their agents.
    pub agents: Vec<AgentRow>,
    /// Unix ms by the shard's clock, when published.
    pub at_ms: Millis,
}

/// Every shard's latest snapshot. Each slot is written by its shard once a second and read by
/// admin requests; the lock is held only to swap an `Arc`, never across an `.await`.
#[derive(Debug, Default)]
pub struct Snapshots {
    slots: Vec<Mutex<Arc<ShardSnapshot>>>,
}

impl Snapshots {
    pub(super) fn new(shards: usize) -> Self {
        Snapshots {
            slots: (0..shards).map(|_| Mutex::new(Arc::default())).collect(),
        }
    }

    pub(super) fn publish(&self, shard: usize, snapshot: ShardSnapshot) {
        if let Some(slot) = self.slots.get(shard) {
            *slot.lock() = Arc::new(snapshot);
        }
    }

    /// The latest snapshot of every shard.
    pub fn all(&self) -> Vec<Arc<ShardSnapshot>> {
        self.slots.iter().map(|s| Arc::clone(&s.lock())).collect()
    }
}
