//! What a run found, as types: the text report renders them and serde writes them as JSON,
//! so a field here is a field of `--json`.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use crate::scenario::Ending;
use switchboard_router::Millis;

/// Everything a run found; [`Summary::report`] prints it, serde writes it as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Scenario name.
    pub scenario: String,
    /// Its one-line description.
    pub description: String,
    /// Seed of the plan.
    pub seed: u64,
    /// Scale of arrivals and agents.
    pub scale: f64,
    /// Tenant played.
    pub tenant: String,
    /// Conversations in the plan.
    pub conversations: u64,
    /// When arrivals stopped.
    pub arrivals_end_ms: Millis,
    /// When the run stopped.
    pub end_ms: Millis,
    /// Per SLA class, most urgent first; only classes that occurred.
    pub classes: Vec<ClassSummary>,
    /// All classes together.
    pub total: ClassSummary,
    /// Conversations handed from a bot (or past it) to the humans, by the router's reason.
    pub handoffs: BTreeMap<&'static str, u64>,
    /// Conversations that went straight to a human queue: no bot was free, none was asked for.
    pub straight_to_queue: u64,
    /// Most customers waiting for a human at once, and when that was first reached.
    pub peak_waiting: PeakWaiting,
    /// Share of logged-in, available human slots in use.
    pub utilisation: Utilisation,
    /// Erlang staffing from the simulated peak, next to the staffing the scenario has.
    pub capacity: CapacityPlan,
    /// Minute by minute.
    pub timeline: Vec<Minute>,
    /// Self-checks that should all be zero.
    pub checks: Checks,
    /// Every conversation's ending, in plan order (for comparing with the load tester).
    pub outcomes: Vec<Outcome>,
}

impl Summary {
    /// Whether every self-check held (the report's `Checks ok` line); `switchboard simulate`
    /// exits 1 when not.
    pub fn checks_passed(&self) -> bool {
        self.checks.clean(self.total.unfinished)
    }

    /// The summary as pretty-printed JSON.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }
}

/// One SLA class's figures (or all together).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassSummary {
    /// `vip`, `complaint`, `urgent`, `standard`, or `all`.
    pub class: &'static str,
    /// Answer-time target (`None` for `all`).
    pub target_secs: Option<u64>,
    /// Conversations of the class.
    pub conversations: u64,
    /// Answered by a human (and closed before the end).
    pub answered: u64,
    /// Answered within the target.
    pub within_target: u64,
    /// Gave up waiting for a human.
    pub abandoned: u64,
    /// Resolved by the bot.
    pub resolved_by_bot: u64,
    /// Left the bot without needing a human.
    pub left: u64,
    /// Still open at the end.
    pub unfinished: u64,
    /// Answered within target / answered.
    pub sla_attainment: Option<f64>,
    /// Answered within target / (answered + abandoned).
    pub sla_attainment_offered: Option<f64>,
    /// Abandoned / (answered + abandoned).
    pub abandonment: Option<f64>,
    /// Mean wait of those answered.
    pub mean_wait_secs: Option<f64>,
    /// Median wait of those answered.
    pub p50_wait_secs: Option<f64>,
    /// 90th percentile wait of those answered.
    pub p90_wait_secs: Option<f64>,
    /// Longest wait of those answered.
    pub max_wait_secs: Option<f64>,
}

/// The most customers waiting for a human at once.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeakWaiting {
    /// How many.
    pub conversations: u64,
    /// When that was first reached.
    pub at_ms: Millis,
}

/// Held slots (offered, assigned or in wrap-up) over the slots of available, connected human
/// agents, sampled every virtual second.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Utilisation {
    /// The surge: from the first to the last second the arrival curve is at least half its peak.
    pub surge_from_ms: Millis,
    /// End of the surge.
    pub surge_to_ms: Millis,
    /// Over the surge.
    pub surge: Option<f64>,
    /// Over the whole arrival period.
    pub arrivals: Option<f64>,
}

/// The capacity planner: Erlang staffing per human queue from the simulated peak window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CapacityPlan {
    /// Start of the busiest window of conversations entering the human queues.
    pub window_from_ms: Millis,
    /// Its end (5 minutes later, or the end of a shorter run).
    pub window_to_ms: Millis,
    /// `Erlang A` with the scenario's mean patience, `Erlang C` when customers never give up.
    pub model: &'static str,
    /// Mean patience fed to Erlang A.
    pub mean_patience_secs: Option<f64>,
    /// Service level staffed for.
    pub service_level: f64,
    /// One row per queue, in configuration order.
    pub queues: Vec<QueuePlan>,
}

/// One queue's row of the capacity planner.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueuePlan {
    /// Queue name.
    pub queue: String,
    /// Conversations that entered it during the window.
    pub arrivals: u64,
    /// Their rate.
    pub arrival_per_sec: f64,
    /// Mean time a conversation holds an agent's slot, offer to end of wrap-up.
    pub mean_handle_secs: Option<f64>,
    /// Whether that was measured in the run (else taken from the scenario's distributions).
    pub handle_measured: bool,
    /// Conversations per agent.
    pub concurrency: u32,
    /// The class most of its conversations have, whose target is staffed for.
    pub class: &'static str,
    /// That class's target.
    pub target_secs: u64,
    /// Agents Erlang recommends.
    pub recommended: Option<u32>,
    /// Agents in the scenario able to serve it (an agent serving several queues counts in each).
    pub staffed: u32,
    /// Service level Erlang predicts for the staffed agents.
    pub staffed_service_level: Option<f64>,
    /// Why there is no recommendation, if there is none.
    pub error: Option<String>,
}

/// One minute of the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Minute {
    /// Conversations that arrived.
    pub arrivals: u64,
    /// Customers waiting for a human at the end of the minute.
    pub waiting: u64,
    /// Waits that ended with a human joining.
    pub answered: u64,
    /// Customers who gave up waiting.
    pub abandoned: u64,
}

/// The simulator's own consistency checks.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Checks {
    /// Waits the router measured (`WaitObserved`).
    pub router_waits: u64,
    /// Waits where the router's measure or SLA verdict differs from the simulator's, or one
    /// side saw a wait end and the other did not.
    pub wait_disagreements: u64,
    /// Conversations that ended twice, or whose abandonment the router and the simulator see
    /// differently.
    pub ending_disagreements: u64,
    /// Commands the router refused, by code.
    pub refused: BTreeMap<&'static str, u64>,
    /// Conversations the router still had open (outside wrap-up) at the end; equals the
    /// unfinished count when nothing was lost.
    pub open_at_end: u64,
}

impl Checks {
    fn clean(&self, unfinished: u64) -> bool {
        self.wait_disagreements == 0
            && self.ending_disagreements == 0
            && self.refused.is_empty()
            && self.open_at_end == unfinished
    }
}

/// How one conversation ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// The load tester's conversation id, `c-{index}`.
    pub conversation: String,
    /// SLA class.
    pub class: &'static str,
    /// The ending.
    #[serde(serialize_with = "ending_json")]
    pub ending: Ending,
    /// How it reached the humans, if it did: a handoff reason, or `direct`.
    pub route: Option<&'static str>,
    /// The human queue it waited in, if it did.
    pub queue: Option<String>,
}

fn ending_json<S: Serializer>(ending: &Ending, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Shown {
        kind: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        wait_ms: Option<Millis>,
        #[serde(skip_serializing_if = "Option::is_none")]
        waiting: Option<bool>,
    }
    let (kind, wait_ms, waiting) = match *ending {
        Ending::Resolved => ("resolved", None, None),
        Ending::Answered { wait_ms } => ("answered", Some(wait_ms), None),
        Ending::Abandoned { wait_ms } => ("abandoned", Some(wait_ms), None),
        Ending::Left => ("left", None, None),
        Ending::Unfinished { waiting } => ("unfinished", None, Some(waiting)),
    };
    Shown {
        kind,
        wait_ms,
        waiting,
    }
    .serialize(s)
}
