//! The saturation search: the highest offered message rate a target sustains within a latency
//! and error budget.
//!
//! Open model, as in [`Rig::latency`]: messages are scheduled at the offered rate whatever the
//! target does, and latency counts from the intended send time. The rate is multiplied by
//! `factor` each step until a step breaks the budget (delivery p99 above `p99_ms`, or errors,
//! losses or a closed client above `max_error_share`) or `max_rate` is reached; then two
//! bisection steps between the last sustained and the first broken rate narrow the answer.
//! Run for the gateway and the raw relay in the same invocation, the two maxima give a ratio
//! that survives a noisy machine better than either figure alone.

use serde::Serialize;

use crate::bench::{Options, Rig};
use crate::report::{Rate, DISTURBED_CORES};
use crate::target::Target;

/// How the search raises the rate and what it must stay within (the `[saturation]` table of
/// a scenario file).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// First offered rate, messages per second.
    pub start_rate: f64,
    /// Each step multiplies the rate by this.
    pub factor: f64,
    /// Never offer more than this.
    pub max_rate: f64,
    /// Highest acceptable delivery p99, milliseconds.
    pub p99_ms: f64,
    /// Highest acceptable share of errors and losses among the scheduled messages.
    pub max_error_share: f64,
}

impl From<&switchboard_sim::scenario::Saturation> for Budget {
    fn from(s: &switchboard_sim::scenario::Saturation) -> Self {
        Budget {
            start_rate: s.start_rate,
            factor: s.factor,
            max_rate: s.max_rate,
            p99_ms: s.p99_ms,
            max_error_share: s.max_error_share,
        }
    }
}

/// What the search found for one target.
#[derive(Debug, Clone, Serialize)]
pub struct Saturation {
    /// `switchboard` or `baseline`.
    pub target: String,
    /// The highest offered rate that stayed within the budget (0 if the first did not).
    pub sustained_per_sec: u64,
    /// The lowest offered rate that broke it, if any did.
    pub broken_per_sec: Option<u64>,
    /// Why that rate broke the budget.
    pub broken_because: Option<String>,
    /// Every step, in the order run.
    pub steps: Vec<Rate>,
}

/// Why a step broke the budget, or `None` if it stayed within it.
pub fn breach(step: &Rate, budget: &Budget) -> Option<String> {
    if let Some(closed) = &step.closed {
        return Some(format!("a client was closed: {closed}"));
    }
    let scheduled = step.scheduled.max(1) as f64;
    if (step.errors + step.lost) as f64 / scheduled > budget.max_error_share {
        return Some(format!(
            "{} errors and {} lost of {} scheduled",
            step.errors, step.lost, step.scheduled
        ));
    }
    // `scheduled` is the rate times the window, so a few messages either side are rounding;
    // more missing means the messages were never sent or never arrived in time.
    if (step.delivered as f64) < 0.99 * scheduled {
        return Some(format!(
            "only {} of {} scheduled delivered",
            step.delivered, step.scheduled
        ));
    }
    let p99_ms = step.latency.p99_us / 1000.0;
    (p99_ms > budget.p99_ms).then(|| format!("p99 {p99_ms:.1} ms > {} ms", budget.p99_ms))
}

/// Raises the offered rate on `rig` until the budget breaks; `progress` hears about each step.
///
/// # Errors
///
/// A step that could not run at all (the rig failed), with the rate it was at.
pub async fn search(
    rig: &Rig,
    target: &mut Target,
    opts: &Options,
    budget: &Budget,
    mut progress: impl FnMut(&Rate, Option<&str>),
) -> Result<Saturation, String> {
    let mut steps = Vec::new();
    let mut sustained = 0u64;
    let mut broken: Option<(u64, String)> = None;
    let mut bisections = 0;
    let mut next = Some(budget.start_rate.max(1.0).min(budget.max_rate));
    while let Some(rate) = next {
        let offered = rate.round() as u64;
        let step = rig
            .latency(target, opts, offered)
            .await
            .map_err(|e| format!("at {offered} msg/s: {e}"))?;
        let why = breach(&step, budget);
        progress(&step, why.as_deref());
        // A rig that lost a client measures a different setup from here on.
        let lost_a_client = step.closed.is_some();
        steps.push(step);
        match why {
            None => sustained = sustained.max(offered),
            Some(why) => broken = Some((offered, why)),
        }
        next = match &broken {
            _ if lost_a_client => None,
            // Raising: by `factor` until a step breaks or the ceiling is reached.
            None => (rate < budget.max_rate).then(|| (rate * budget.factor).min(budget.max_rate)),
            // Then two bisection steps between the last good and the first bad rate.
            Some((high, _)) => {
                let middle = (sustained + high) / 2;
                bisections += 1;
                (bisections <= 2 && sustained > 0 && middle > sustained && middle < *high)
                    .then_some(middle as f64)
            }
        };
        if next.is_some() {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    }
    let (broken_per_sec, broken_because) = broken.map_or((None, None), |(r, w)| (Some(r), Some(w)));
    Ok(Saturation {
        target: rig_target_name(&steps),
        sustained_per_sec: sustained,
        broken_per_sec,
        broken_because,
        steps,
    })
}

/// A search is only as good as its steps: whether other work took the CPU during one.
fn disturbed(result: &Saturation) -> bool {
    result
        .steps
        .iter()
        .any(|s| s.other_cpu_cores.is_some_and(|o| o > DISTURBED_CORES))
}

fn rig_target_name(steps: &[Rate]) -> String {
    steps.first().map_or_else(String::new, |s| s.target.clone())
}

/// The searches side by side, with the gateway's share of the relay's sustained rate.
pub fn table(results: &[Saturation]) -> String {
    let mut out = String::from("saturation (open model; highest offered rate within the budget)\n");
    out.push_str(&format!(
        "  {:<12} {:>14} {:>14}  {}\n",
        "target", "sustained/s", "broke at/s", "why it broke"
    ));
    for r in results {
        out.push_str(&format!(
            "  {:<12} {:>14} {:>14}  {}\n",
            format!("{}{}", r.target, if disturbed(r) { "!" } else { "" }),
            r.sustained_per_sec,
            r.broken_per_sec
                .map_or_else(|| "-".to_string(), |b| b.to_string()),
            r.broken_because.as_deref().unwrap_or("max_rate reached")
        ));
    }
    let of = |name: &str| {
        results
            .iter()
            .find(|r| r.target == name)
            .map(|r| r.sustained_per_sec)
    };
    if results.iter().any(disturbed) {
        out.push_str("  ! = other processes took CPU during a step: rerun on a quiet machine\n");
    }
    if let (Some(gateway), Some(relay)) = (of("switchboard"), of("baseline")) {
        if relay > 0 {
            out.push_str(&format!(
                "  switchboard / baseline: {:.2}\n",
                gateway as f64 / relay as f64
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Latency;

    fn step(p99_ms: f64, scheduled: u64, delivered: u64, errors: u64) -> Rate {
        let latency = Latency {
            p99_us: p99_ms * 1000.0,
            ..Latency::default()
        };
        Rate {
            target: "switchboard".into(),
            background_idle: 0,
            offered_per_sec: 1000,
            scheduled,
            delivered,
            latency: latency.clone(),
            service_latency: latency.clone(),
            generator_lag: latency,
            target_cpu_cores: None,
            generator_cpu_cores: None,
            other_cpu_cores: None,
            busiest_thread: None,
            sustained: true,
            closed: None,
            lost: scheduled - delivered,
            errors,
        }
    }

    #[test]
    fn a_step_breaks_the_budget_on_latency_errors_losses_or_a_closed_client() {
        let budget = Budget {
            start_rate: 1000.0,
            factor: 2.0,
            max_rate: 1e6,
            p99_ms: 50.0,
            max_error_share: 0.001,
        };
        assert_eq!(breach(&step(49.0, 10_000, 10_000, 0), &budget), None);
        // A few short of the estimate is rounding, not loss.
        let mut rounding = step(49.0, 10_000, 9_995, 0);
        rounding.lost = 0;
        assert_eq!(breach(&rounding, &budget), None);
        let slow = breach(&step(51.0, 10_000, 10_000, 0), &budget);
        assert!(slow.is_some_and(|w| w.contains("p99")));
        let lossy = breach(&step(10.0, 10_000, 9_900, 0), &budget);
        assert!(lossy.is_some_and(|w| w.contains("lost")));
        let mut unsent = step(10.0, 10_000, 9_800, 0);
        unsent.lost = 0;
        assert!(breach(&unsent, &budget).is_some_and(|w| w.contains("delivered")));
        assert!(
            breach(&step(10.0, 10_000, 10_000, 50), &budget).is_some_and(|w| w.contains("errors"))
        );
        let mut closed = step(10.0, 10_000, 10_000, 0);
        closed.closed = Some("1013".into());
        assert!(breach(&closed, &budget).is_some_and(|w| w.contains("closed")));
    }
}
