//! Pass/fail expressions over a run's figures: `NAME OP NUMBER`, e.g. `p99_ms<50`,
//! `vip_sla>=0.95`, `lost==0`. The scenario's `thresholds` and every `--threshold` apply; a
//! figure the run could not measure (no VIP was answered, say) is reported as n/a and passes.

use serde::Serialize;

use super::summary::Summary;

/// Every figure a threshold can name, with what it is.
pub const FIGURES: &[(&str, &str)] = &[
    (
        "p99_ms",
        "the worse of the two delivery p99s (customer→agent, agent→customer), ms",
    ),
    ("p50_ms", "the worse of the two delivery medians, ms"),
    ("to_agent_p99_ms", "customer→agent delivery p99, ms"),
    ("to_customer_p99_ms", "agent→customer delivery p99, ms"),
    ("handoff_p99_ms", "handoff latency p99, worst reason, ms"),
    ("lost", "chat messages acked but never delivered"),
    (
        "duplicated",
        "chat messages delivered twice to one recipient",
    ),
    ("unacked", "messages never acked nor refused"),
    ("acked_lost", "the same as lost, named for --kill9-at runs"),
    (
        "duplicates",
        "the same as duplicated, named for --kill9-at runs",
    ),
    (
        "gaps",
        "reconnects that did not resume cleanly (gap: true or resumed: false)",
    ),
    (
        "queue_moved",
        "--kill9-at: waiting customers not in the same queue, place and wait after a restart",
    ),
    (
        "reassigned",
        "--kill9-at: assigned conversations not back with their agent after a restart",
    ),
    ("restarts", "--kill9-at: restarts that came back ready"),
    (
        "outage_ms",
        "--kill9-at: longest SIGKILL-to-ready outage, ms",
    ),
    (
        "bad_exit",
        "--spawn-process: 1 unless SIGTERM at the end stopped the gateway with status 0",
    ),
    (
        "errors",
        "unexpected errors (error frames no race explains, lost sockets, gaps)",
    ),
    ("late", "sends more than 100 ms after their intended time"),
    ("dropped", "sends that could not be made"),
    (
        "mismatch",
        "difference between client counts and the gateway's /metrics deltas",
    ),
    ("unfinished", "conversations still open at the plan's end"),
    (
        "abandonment",
        "share of those who waited for a human who left first",
    ),
    (
        "sla",
        "share answered within their class's target, all classes",
    ),
    ("vip_sla", "the same, class vip"),
    ("complaint_sla", "the same, class complaint"),
    ("urgent_sla", "the same, class urgent"),
    ("standard_sla", "the same, class standard"),
    ("mean_wait_s", "mean wait of those answered, seconds"),
    (
        "ewt_error_s",
        "mean absolute error of the first estimated wait, seconds",
    ),
    (
        "class_mismatches",
        "offers whose class differs from the plan's",
    ),
];

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Op {
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
    /// `==`
    #[serde(rename = "==")]
    Eq,
}

impl Op {
    fn holds(self, value: f64, limit: f64) -> bool {
        match self {
            Op::Lt => value < limit,
            Op::Le => value <= limit,
            Op::Gt => value > limit,
            Op::Ge => value >= limit,
            Op::Eq => value == limit,
        }
    }
}

/// A parsed threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Threshold {
    /// As written.
    pub text: String,
    /// The figure.
    pub name: &'static str,
    /// The comparison.
    pub op: Op,
    /// The number compared with.
    pub limit: f64,
}

/// A threshold checked against a run.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// The threshold.
    pub threshold: String,
    /// The figure, `None` when the run had nothing to measure it on.
    pub value: Option<f64>,
    /// Whether it held (n/a holds).
    pub pass: bool,
}

impl Threshold {
    /// Parses `NAME OP NUMBER` (spaces allowed around each part).
    pub fn parse(text: &str) -> Result<Threshold, String> {
        let bad = |why: String| format!("bad threshold `{text}`: {why}");
        // Two-character operators first, so `<=` is not read as `<` followed by `=0`.
        let ops = [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("==", Op::Eq),
            ("<", Op::Lt),
            (">", Op::Gt),
        ];
        let (at, token, op) = ops
            .iter()
            .filter_map(|(token, op)| text.find(token).map(|at| (at, *token, *op)))
            .min_by_key(|(at, token, _)| (*at, std::cmp::Reverse(token.len())))
            .ok_or_else(|| bad("no operator (one of < <= > >= ==)".into()))?;
        let name = text[..at].trim();
        let number = text[at + token.len()..].trim();
        let name = FIGURES
            .iter()
            .map(|(known, _)| *known)
            .find(|known| *known == name)
            .ok_or_else(|| {
                let names: Vec<&str> = FIGURES.iter().map(|(n, _)| *n).collect();
                bad(format!(
                    "unknown figure `{name}`; known: {}",
                    names.join(", ")
                ))
            })?;
        let limit: f64 = number
            .parse()
            .ok()
            .filter(|l: &f64| l.is_finite())
            .ok_or_else(|| bad(format!("`{number}` is not a number")))?;
        Ok(Threshold {
            text: text.trim().to_string(),
            name,
            op,
            limit,
        })
    }

    /// Checks the threshold against a run.
    pub fn check(&self, summary: &Summary) -> Verdict {
        let value = summary.figure(self.name);
        Verdict {
            threshold: self.text.clone(),
            value,
            pass: value.is_none_or(|v| self.op.holds(v, self.limit)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_parse_with_every_operator_and_bad_ones_say_why() {
        let t = Threshold::parse(" vip_sla >= 0.95 ").expect("valid");
        assert_eq!((t.name, t.op, t.limit), ("vip_sla", Op::Ge, 0.95));
        for (text, op) in [
            ("p99_ms<50", Op::Lt),
            ("p99_ms<=50", Op::Le),
            ("p99_ms>50", Op::Gt),
            ("p99_ms>=50", Op::Ge),
            ("p99_ms==50", Op::Eq),
        ] {
            assert_eq!(Threshold::parse(text).map(|t| t.op), Ok(op), "{text}");
        }
        for (text, says) in [
            ("p99_ms 50", "no operator"),
            ("p42<1", "unknown figure `p42`"),
            ("lost==zero", "`zero` is not a number"),
            ("lost==inf", "is not a number"),
            ("<1", "unknown figure ``"),
        ] {
            let error = Threshold::parse(text).expect_err(text);
            assert!(error.contains(says), "{error}");
        }
    }

    #[test]
    fn every_figure_is_documented_once() {
        let mut names: Vec<&str> = FIGURES.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FIGURES.len());
    }
}
