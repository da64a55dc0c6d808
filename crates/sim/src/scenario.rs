//! Peak-sale scenarios: one file that both the load tester (`switchboard-loadtest`, real
//! sockets, real time) and the simulator (`switchboard simulate`, the pure router, virtual time)
//! play, so their figures can be compared.
//!
//! A scenario is *planned* before it is played: [`Scenario::plan`] draws, from the scenario's
//! seed, every customer's arrival time, class, intent, messages, think times, patience, the
//! bot's verdict on each round, and each agent's accept delay, handle time and disconnects.
//! Both players follow the same plan, so the only difference between a simulated and a real run
//! is what the gateway adds (sockets, scheduling, clocks), which is what the comparison
//! measures. The outcome of each conversation is tallied by [`Tally`] with one definition of
//! wait, SLA attainment and abandonment for both.
//!
//! The file format is documented key by key in `config/loadtest/peak-sale.toml`.
//!
//! # How a plan is played
//! Both players follow these rules; a difference between them is a defect in one of them.
//!
//! - **Customers.** At `arrival_ms` the customer's connector sends `texts[0]` (with the
//!   customer's tier, intent and channel) in conversation `c-{index}`. While a **bot** holds the
//!   conversation, each customer message gets a bot reply after `bot_reply_ms[r]` (`r` counts
//!   the bot's replies from 0), followed by `bot_result { resolved: bot_resolves[r] }`. After a
//!   resolving reply the customer's connector closes the conversation at once
//!   ([`Ending::Resolved`]); after an unresolved
//!   one they send their next message after its `think_ms`; with no message left they leave
//!   (`customer_left`, [`Ending::Left`]) unless a handoff came first. Messages after the first
//!   are only sent while nobody is waiting for a human: a customer **waiting for a human**
//!   sends nothing, and leaves (`customer_left`, [`Ending::Abandoned`]) when `patience_ms` has
//!   passed since they started waiting. They start waiting when the gateway says `handoff`,
//!   or at arrival when the first reply they get is a `queue` update rather than a bot reply.
//!   Once a **human** joins (`agent_joined`) the customer sends their remaining messages, each
//!   `think_ms` after the previous one, and never closes: the agent does.
//! - **Wait** is measured from the start of waiting to `agent_joined` ([`Ending::Answered`]).
//!   The router's own clock (`switchboard_wait_seconds`) starts at the same moment.
//! - **Bots** connect before the first arrival, auto-accept, and answer as above.
//! - **Human agents** connect before the first arrival with `capacity` and `skills`, accept
//!   each offer after [`AgentGroup::accept_ms_for`]`(accept)` of the conversation's plan
//!   (offers they did not accept in time are simply withdrawn), reply every `reply_every_ms`
//!   while they hold a conversation, and close it [`AgentGroup::handle_ms_for`]`(handle)`
//!   after their accept. An agent with a `disconnect` drops its connection at that time and
//!   reconnects (resuming its session) after the given time; its conversations wait for it
//!   within the tenant's grace period, as the router decides.
//! - Arrivals stop at `arrivals_end_ms`; at `end_ms` whatever is still open is
//!   [`Ending::Unfinished`].

// The file's schema is below; reading and validating it is in `load`, random quantities and
// the seeded generator in `dist`, the drawn plan in `plan`, what customers say in `texts`, and
// how both players count outcomes in `tally`.
mod dist;
mod load;
mod plan;
mod tally;
pub mod texts;

pub use dist::{Dist, Draw, Rng};
pub use plan::{AgentPlan, CustomerPlan, Plan};
pub use tally::{ClassTally, Ending, Tally};

use std::collections::BTreeMap;

use serde::Deserialize;

/// A scenario file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Name shown in reports.
    pub name: String,
    /// One line on what the scenario rehearses.
    #[serde(default)]
    pub description: String,
    /// Seed of every random draw: the same seed gives the same plan.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Gateway configuration the scenario runs against, relative to the scenario file; empty
    /// means the embedded defaults. `--spawn` and `simulate` use it, and the load tester signs
    /// agent tokens with its tenant's secret and connects with its connector key.
    #[serde(default)]
    pub gateway_config: String,
    /// Tenant to play (must exist in the gateway configuration).
    #[serde(default = "default_tenant")]
    pub tenant: String,
    /// After the last arrival, how long to keep playing so conversations in progress end.
    #[serde(default = "default_drain")]
    pub drain_secs: f64,
    /// New conversations per second over time.
    pub arrivals: Arrivals,
    /// Connector sockets.
    #[serde(default)]
    pub connectors: Connectors,
    /// Customer behaviour.
    #[serde(default)]
    pub customers: Customers,
    /// AI bots.
    #[serde(default)]
    pub bots: Bots,
    /// Human agent groups.
    #[serde(default)]
    pub agents: Vec<AgentGroup>,
    /// Threshold expressions the run must meet, e.g. `"lost==0"`; `--threshold` adds more.
    #[serde(default)]
    pub thresholds: Vec<String>,
    /// How the saturation mode raises the offered rate.
    #[serde(default)]
    pub saturation: Saturation,
}

fn default_seed() -> u64 {
    1
}
fn default_tenant() -> String {
    "default".to_string()
}
fn default_drain() -> f64 {
    60.0
}

/// A piecewise-linear rate curve: `points = [[secs, per_sec], ...]`, times increasing from 0.
/// Arrivals are a Poisson process with this rate; the scenario's arrivals end at the last point.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arrivals {
    /// `[seconds from start, conversations per second]`.
    pub points: Vec<[f64; 2]>,
}

impl Arrivals {
    /// When arrivals stop, in seconds.
    pub fn duration_secs(&self) -> f64 {
        self.points.last().map_or(0.0, |p| p[0])
    }

    /// The rate at `t` seconds (linear between points, 0 outside them).
    pub fn rate_at(&self, t: f64) -> f64 {
        for pair in self.points.windows(2) {
            let ([t0, r0], [t1, r1]) = (pair[0], pair[1]);
            if t >= t0 && t <= t1 {
                return if t1 > t0 {
                    r0 + (r1 - r0) * (t - t0) / (t1 - t0)
                } else {
                    r1
                };
            }
        }
        0.0
    }

    /// The highest rate on the curve.
    pub fn peak(&self) -> f64 {
        self.points.iter().map(|p| p[1]).fold(0.0, f64::max)
    }

    /// Expected arrivals over the whole curve (its area).
    pub fn expected_total(&self) -> f64 {
        self.points
            .windows(2)
            .map(|w| (w[1][0] - w[0][0]) * (w[0][1] + w[1][1]) / 2.0)
            .sum()
    }
}

/// Connector sockets: conversations are spread over them round-robin.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Connectors {
    /// How many connector sockets.
    pub count: u32,
}

impl Default for Connectors {
    fn default() -> Self {
        Connectors { count: 4 }
    }
}

/// How customers behave.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Customers {
    /// Messages a customer sends over the conversation (at least 1).
    pub messages: Dist,
    /// Seconds between a customer's messages (after the reply they wait for, if any).
    pub think_secs: Dist,
    /// Share of VIP customers.
    pub vip_share: f64,
    /// VIP levels, drawn uniformly (levels start at 1).
    pub vip_levels: Vec<u8>,
    /// Intent mix: intent → weight. `""` sends no intent.
    pub intents: BTreeMap<String, f64>,
    /// Channels, drawn uniformly.
    pub channels: Vec<String>,
    /// Share of customers who ask for a human (转人工) at some message.
    pub ask_human_share: f64,
    /// Share of customers who are angry: their messages score as strongly negative.
    pub angry_share: f64,
    /// Seconds a customer waits for a human before leaving; `{ kind = "never" }` waits forever.
    pub patience_secs: Dist,
}

impl Default for Customers {
    fn default() -> Self {
        Customers {
            messages: Dist::Uniform { min: 2.0, max: 6.0 },
            think_secs: Dist::Exponential { mean: 10.0 },
            vip_share: 0.05,
            vip_levels: vec![1, 2],
            intents: BTreeMap::from([
                (String::new(), 0.6),
                ("refund".to_string(), 0.2),
                ("logistics".to_string(), 0.15),
                ("complaint".to_string(), 0.05),
            ]),
            channels: vec!["app".to_string(), "web".to_string(), "wechat".to_string()],
            ask_human_share: 0.3,
            angry_share: 0.1,
            patience_secs: Dist::Exponential { mean: 300.0 },
        }
    }
}

/// AI bots.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Bots {
    /// Bot connections (0: every conversation goes straight to the human queues).
    pub count: u32,
    /// Conversations each bot holds at once.
    pub capacity: u32,
    /// Milliseconds from a customer message to the bot's reply.
    pub reply_ms: Dist,
    /// Chance that a bot reply resolves the customer's question (the customer then leaves).
    pub resolve_probability: f64,
}

impl Default for Bots {
    fn default() -> Self {
        Bots {
            count: 2,
            capacity: 500,
            reply_ms: Dist::Uniform {
                min: 200.0,
                max: 800.0,
            },
            resolve_probability: 0.5,
        }
    }
}

/// A group of human agents with the same skills and habits.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentGroup {
    /// Group name; agents are `NAME-1`, `NAME-2`, ...
    pub name: String,
    /// Agents in the group.
    pub count: u32,
    /// Conversations each agent handles at once.
    #[serde(default = "default_capacity")]
    pub capacity: u32,
    /// Skill → level.
    pub skills: BTreeMap<String, u8>,
    /// Milliseconds from an offer to the agent's accept.
    #[serde(default = "default_accept")]
    pub accept_ms: Dist,
    /// Seconds from accepting a conversation to closing it.
    pub handle_secs: Dist,
    /// Seconds between the agent's replies while a conversation is open.
    #[serde(default = "default_reply_every")]
    pub reply_every_secs: f64,
    /// Share of the group who disconnect once during the run and come back.
    #[serde(default)]
    pub disconnect_share: f64,
    /// How long a disconnected agent stays away (within `agent_grace_secs` their conversations
    /// wait for them).
    #[serde(default = "default_away")]
    pub away_secs: Dist,
}

impl AgentGroup {
    /// Milliseconds this group's agent takes to accept the conversation with this draw.
    pub fn accept_ms_for(&self, draw: Draw) -> u64 {
        self.accept_ms.value(draw) as u64
    }

    /// Milliseconds this group's agent keeps the conversation with this draw.
    pub fn handle_ms_for(&self, draw: Draw) -> u64 {
        (self.handle_secs.value(draw) * 1000.0) as u64
    }
}

fn default_capacity() -> u32 {
    3
}
fn default_accept() -> Dist {
    Dist::Uniform {
        min: 500.0,
        max: 3000.0,
    }
}
fn default_reply_every() -> f64 {
    20.0
}
fn default_away() -> Dist {
    Dist::Uniform {
        min: 5.0,
        max: 20.0,
    }
}

/// The saturation mode: offered message rate raised step by step until a limit breaks.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Saturation {
    /// First offered rate, messages per second.
    pub start_rate: f64,
    /// Each step multiplies the rate by this.
    pub factor: f64,
    /// Never offer more than this.
    pub max_rate: f64,
    /// Seconds per step.
    pub step_secs: f64,
    /// A step is sustained only if its delivery p99 stays at or below this.
    pub p99_ms: f64,
    /// ... and its share of errors, late or lost sends stays at or below this.
    pub max_error_share: f64,
}

impl Default for Saturation {
    fn default() -> Self {
        Saturation {
            start_rate: 10_000.0,
            factor: 1.5,
            max_rate: 1_000_000.0,
            step_secs: 10.0,
            p99_ms: 50.0,
            max_error_share: 0.001,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_curve_is_linear_between_points() {
        let arrivals = Arrivals {
            points: vec![[0.0, 2.0], [10.0, 2.0], [20.0, 22.0], [30.0, 2.0]],
        };
        assert_eq!(arrivals.rate_at(5.0), 2.0);
        assert_eq!(arrivals.rate_at(15.0), 12.0);
        assert_eq!(arrivals.rate_at(30.0), 2.0);
        assert_eq!(arrivals.rate_at(31.0), 0.0);
        assert_eq!(arrivals.expected_total(), 20.0 + 120.0 + 120.0);
    }
}
