//! The capacity planner: the busiest window of conversations entering the human queues, fed
//! per queue to the Erlang staffing maths, next to the agents the scenario has.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use switchboard_config::QueueConfig;
use switchboard_router::{Class, Millis};
use switchboard_staffing::{self as staffing, Model, StaffingInput};

use super::summary::{CapacityPlan, QueuePlan};
use super::Sim;
use crate::scenario::AgentGroup;

/// Width of the capacity planner's peak window.
const PEAK_WINDOW_MS: Millis = 300_000;

/// Conversations of each class (indexed by `Class as usize`, the order of [`Class::ALL`]).
pub(super) type ClassCounts = [u64; Class::ALL.len()];

/// Whole seconds `from..to` of the run, `width` long.
struct Window {
    from: usize,
    to: usize,
    width: usize,
}

impl Sim<'_> {
    /// `per_queue`: each queue's conversations by class; the most frequent class's target is
    /// the one staffed for.
    pub(super) fn capacity(&self, per_queue: &[ClassCounts]) -> CapacityPlan {
        let window = self.busiest_window();
        let patience = self.scenario.customers.patience_secs.mean();
        let mean_patience_secs = patience.is_finite().then_some(patience);
        let queues = self
            .tenant
            .queues
            .iter()
            .enumerate()
            .map(|(q, queue)| self.queue_plan(q, queue, &window, &per_queue[q], mean_patience_secs))
            .collect();
        CapacityPlan {
            window_from_ms: window.from as Millis * 1000,
            window_to_ms: (window.to as Millis * 1000).min(self.plan.end_ms),
            model: if mean_patience_secs.is_some() {
                model_name(Model::ErlangA)
            } else {
                model_name(Model::ErlangC)
            },
            mean_patience_secs,
            service_level: self.tenant.sla.service_level,
            queues,
        }
    }

    /// The window of `PEAK_WINDOW_MS` (or the whole of a shorter run) in which the most
    /// conversations started waiting for a human; the earliest of equals.
    fn busiest_window(&self) -> Window {
        let seconds = self.entered.first().map_or(0, Vec::len);
        let width = ((PEAK_WINDOW_MS / 1000) as usize)
            .min(self.plan.end_ms.div_ceil(1000) as usize)
            .max(1);
        let per_second: Vec<u64> = (0..seconds)
            .map(|s| self.entered.iter().map(|q| u64::from(q[s])).sum())
            .collect();
        let mut sum: u64 = per_second.iter().take(width).sum();
        let mut best = (0, sum);
        for start in 1..=seconds.saturating_sub(width) {
            sum = sum + per_second[start + width - 1] - per_second[start - 1];
            if sum > best.1 {
                best = (start, sum);
            }
        }
        Window {
            from: best.0,
            to: best.0 + width,
            width,
        }
    }

    fn queue_plan(
        &self,
        q: usize,
        queue: &QueueConfig,
        window: &Window,
        classes: &ClassCounts,
        mean_patience_secs: Option<f64>,
    ) -> QueuePlan {
        let arrivals: u64 = self.entered[q]
            .iter()
            .take(window.to)
            .skip(window.from)
            .map(|n| u64::from(*n))
            .sum();
        let serves =
            |skills: &BTreeMap<String, u8>| queue.skills.iter().all(|s| skills.contains_key(s));
        let staffed: Vec<u32> = self
            .plan
            .agents
            .iter()
            .filter(|a| serves(&a.skills))
            .map(|a| a.capacity)
            .collect();
        let groups: Vec<&AgentGroup> = self
            .scenario
            .agents
            .iter()
            .filter(|g| serves(&g.skills))
            .collect();
        let concurrency = if staffed.is_empty() {
            mean(groups.iter().map(|g| f64::from(g.capacity)))
        } else {
            mean(staffed.iter().map(|c| f64::from(*c)))
        }
        .map_or(1, |c| (c.round() as u32).max(1));
        let (mean_handle_secs, handle_measured) = self.mean_handle_secs(q, &groups);
        // Ties go to the more urgent class.
        let k = (0..Class::ALL.len())
            .max_by_key(|k| (classes[*k], Reverse(*k)))
            .unwrap_or(Class::ALL.len() - 1);
        let class = Class::ALL[k];
        let mut row = QueuePlan {
            queue: queue.name.clone(),
            arrivals,
            arrival_per_sec: arrivals as f64 / window.width as f64,
            mean_handle_secs,
            handle_measured,
            concurrency,
            class: class.as_str(),
            target_secs: class.sla_ms(&self.tenant.sla) / 1000,
            recommended: None,
            staffed: staffed.len() as u32,
            staffed_service_level: None,
            error: None,
        };
        match mean_handle_secs {
            None => row.error = Some("no agent serves this queue".to_string()),
            Some(handle) => self.staff(&mut row, handle, mean_patience_secs),
        }
        row
    }

    /// The time a conversation holds an agent's slot, offer to end of wrap-up: measured when
    /// the run answered any in this queue (then `true`), else from the scenario's
    /// distributions for the `groups` serving it.
    fn mean_handle_secs(&self, q: usize, groups: &[&AgentGroup]) -> (Option<f64>, bool) {
        let wrap_up = f64::from(self.tenant.timing.wrap_up_secs);
        let (slot_ms, served) = self.slot[q];
        let measured = (served > 0).then(|| slot_ms as f64 / served as f64 / 1000.0);
        let planned = mean(
            groups
                .iter()
                .map(|g| g.accept_ms.mean() / 1000.0 + g.handle_secs.mean() + wrap_up),
        );
        (measured.or(planned), measured.is_some())
    }

    /// Fills in the Erlang recommendation for `row` and the service level its staffing gives.
    fn staff(&self, row: &mut QueuePlan, handle: f64, mean_patience_secs: Option<f64>) {
        let input = StaffingInput {
            arrival_per_sec: row.arrival_per_sec,
            mean_handle_secs: handle,
            concurrency: row.concurrency,
            target_secs: row.target_secs as f64,
            target_service_level: self.tenant.sla.service_level,
            mean_patience_secs,
        };
        match staffing::recommend(&input) {
            Ok(r) => row.recommended = Some(r.agents),
            Err(e) => row.error = Some(e.to_string()),
        }
        row.staffed_service_level = staffing::evaluate(&input, row.staffed)
            .ok()
            .map(|r| r.service_level);
    }
}

fn model_name(model: Model) -> &'static str {
    match model {
        Model::ErlangA => "Erlang A",
        Model::ErlangC => "Erlang C",
    }
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0u32), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / f64::from(n))
}
