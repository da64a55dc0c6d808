//! Summing up a run: every conversation's ending, the per-class figures and utilisation (the
//! capacity planner is in `capacity`).

use std::collections::BTreeMap;

use switchboard_router::{Class, HandoffReason, Millis, State};

use super::capacity::ClassCounts;
use super::summary::{ClassSummary, Outcome, Summary, Utilisation};
use super::{conversation, Phase, Sim};
use crate::scenario::{ClassTally, Ending, Tally};

impl Sim<'_> {
    pub(super) fn summary(self, scale: f64) -> Summary {
        let mut endings = self.endings();
        let (classes, total) = endings.class_summaries();
        let mut checks = self.checks.clone();
        checks.open_at_end = self.open_at_end();
        let handoffs = HandoffReason::ALL
            .iter()
            .zip(self.handoffs)
            .map(|(r, n)| (r.as_str(), n))
            .collect();
        Summary {
            scenario: self.scenario.name.clone(),
            description: self.scenario.description.clone(),
            seed: self.scenario.seed,
            scale,
            tenant: self.tenant.id.clone(),
            conversations: self.plan.customers.len() as u64,
            arrivals_end_ms: self.plan.arrivals_end_ms,
            end_ms: self.plan.end_ms,
            classes,
            total,
            handoffs,
            straight_to_queue: self.straight_to_queue,
            peak_waiting: self.peak_waiting.clone(),
            utilisation: self.utilisation(),
            capacity: self.capacity(&endings.per_queue),
            timeline: self.timeline.clone(),
            checks,
            outcomes: endings.outcomes,
        }
    }

    /// Every planned conversation's ending; one still open at the end is unfinished.
    fn endings(&self) -> Endings {
        let mut endings = Endings {
            tally: Tally::default(),
            waits: BTreeMap::new(),
            left: BTreeMap::new(),
            outcomes: Vec::with_capacity(self.customers.len()),
            per_queue: vec![[0; Class::ALL.len()]; self.tenant.queues.len()],
        };
        for (p, c) in self.plan.customers.iter().zip(&self.customers) {
            let class = p.class(self.tenant);
            let ending = c.ending.unwrap_or(Ending::Unfinished {
                waiting: matches!(c.phase, Phase::Waiting { .. }),
            });
            endings.tally.add(class, self.tenant, ending);
            match ending {
                Ending::Answered { wait_ms } => {
                    endings.waits.entry(class).or_default().push(wait_ms)
                }
                Ending::Left => *endings.left.entry(class).or_default() += 1,
                _ => {}
            }
            let queue = c.route.map(|_| usize::from(c.queue.0));
            if let Some(q) = queue {
                endings.per_queue[q][class as usize] += 1;
            }
            endings.outcomes.push(Outcome {
                conversation: p.conversation_id(),
                class: class.as_str(),
                ending,
                route: c.route,
                queue: queue.map(|q| self.tenant.queues[q].name.clone()),
            });
        }
        endings
    }

    /// Conversations the router still has open outside wrap-up.
    fn open_at_end(&self) -> u64 {
        (0..self.customers.len())
            .filter(|i| {
                self.router
                    .conversation(conversation(*i))
                    .is_some_and(|v| v.state != State::WrapUp)
            })
            .count() as u64
    }

    fn utilisation(&self) -> Utilisation {
        let arrivals = &self.scenario.arrivals;
        let half = arrivals.peak() / 2.0;
        let end = self.plan.arrivals_end_ms / 1000;
        let surge: Vec<u64> = (0..end)
            .filter(|s| half > 0.0 && arrivals.rate_at(*s as f64) >= half)
            .collect();
        let (from, to) = match (surge.first(), surge.last()) {
            (Some(a), Some(b)) => (*a, *b + 1),
            _ => (0, end),
        };
        let share = |from: u64, to: u64| {
            let (held, slots) = self
                .load
                .iter()
                .take(to as usize)
                .skip(from as usize)
                .fold((0, 0), |(h, c), (l, k)| (h + l, c + k));
            (slots > 0).then(|| held as f64 / slots as f64)
        };
        Utilisation {
            surge_from_ms: from * 1000,
            surge_to_ms: to * 1000,
            surge: share(from, to),
            arrivals: share(0, end),
        }
    }
}

/// Every conversation's ending, counted the ways the summary needs.
struct Endings {
    tally: Tally,
    /// Answered waits per class, for the percentiles the tally does not keep.
    waits: BTreeMap<Class, Vec<Millis>>,
    /// [`Ending::Left`] per class, which the tally does not keep.
    left: BTreeMap<Class, u64>,
    outcomes: Vec<Outcome>,
    /// Per queue: the conversations of each class that reached it.
    per_queue: Vec<ClassCounts>,
}

impl Endings {
    /// One row per class that occurred, most urgent first, and one for all together.
    fn class_summaries(&mut self) -> (Vec<ClassSummary>, ClassSummary) {
        let mut classes = Vec::new();
        let mut all_waits = Vec::new();
        for class in Class::ALL {
            if let Some(t) = self.tally.classes.get(&class) {
                let mut w = self.waits.remove(&class).unwrap_or_default();
                all_waits.extend_from_slice(&w);
                let l = self.left.get(&class).copied().unwrap_or(0);
                let name = class.as_str();
                classes.push(class_summary(name, Some(t.target_ms / 1000), t, l, &mut w));
            }
        }
        let total_left = self.left.values().sum();
        let all = self.tally.total();
        let total = class_summary("all", None, &all, total_left, &mut all_waits);
        (classes, total)
    }
}

fn class_summary(
    class: &'static str,
    target_secs: Option<u64>,
    t: &ClassTally,
    left: u64,
    waits: &mut [Millis],
) -> ClassSummary {
    waits.sort_unstable();
    // Nearest rank: the smallest wait at least `p` of the answered waited no longer than.
    let rank = |p: f64| {
        let n = waits.len();
        (n > 0).then(|| {
            let k = ((p * n as f64).ceil() as usize).clamp(1, n);
            waits[k - 1] as f64 / 1000.0
        })
    };
    ClassSummary {
        class,
        target_secs,
        conversations: t.conversations,
        answered: t.answered,
        within_target: t.within_target,
        abandoned: t.abandoned,
        resolved_by_bot: t.resolved_by_bot,
        left,
        unfinished: t.unfinished,
        sla_attainment: t.sla_attainment(),
        sla_attainment_offered: t.sla_attainment_offered(),
        abandonment: t.abandonment(),
        mean_wait_secs: t.mean_wait_secs(),
        p50_wait_secs: rank(0.5),
        p90_wait_secs: rank(0.9),
        max_wait_secs: (t.answered > 0).then(|| t.wait_max_ms as f64 / 1000.0),
    }
}
