//! The seeded plan: everything either player will do, drawn from the scenario before it
//! starts.

use std::collections::BTreeMap;

use switchboard_config::TenantConfig;

use switchboard_router::{Class, Tier};

use super::{texts, Customers, Draw, Rng, Scenario};

/// Everything drawn for one customer's conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerPlan {
    /// Index in the plan (the load tester's conversation id is `c-{index}`).
    pub index: u32,
    /// Arrival, milliseconds from the start.
    pub arrival_ms: u64,
    /// Connector socket, `0..connectors.count`.
    pub connector: u32,
    /// VIP level (`None`: standard customer).
    pub vip_level: Option<u8>,
    /// Intent sent with the first message (`None`: none).
    pub intent: Option<String>,
    /// Channel.
    pub channel: String,
    /// The messages' texts, in order.
    pub texts: Vec<&'static str>,
    /// Think time before each message after the first, milliseconds (`texts.len() - 1`).
    pub think_ms: Vec<u64>,
    /// Milliseconds the customer waits for a human before leaving (`u64::MAX`: forever).
    pub patience_ms: u64,
    /// The bot's verdict on each of its replies, in order: true resolves the question.
    pub bot_resolves: Vec<bool>,
    /// Milliseconds the bot takes for each reply.
    pub bot_reply_ms: Vec<u64>,
    /// The draw behind the human agent's accept delay (mapped through the taking agent's
    /// group's `accept_ms`: see [`AgentGroup::accept_ms_for`](super::AgentGroup::accept_ms_for)).
    pub accept: Draw,
    /// The draw behind the handle time (see [`AgentGroup::handle_ms_for`](super::AgentGroup::handle_ms_for)).
    pub handle: Draw,
}

impl CustomerPlan {
    /// The conversation id the connector uses.
    pub fn conversation_id(&self) -> String {
        format!("c-{}", self.index)
    }

    /// The customer's tier, as the router sees it.
    pub fn tier(&self) -> Tier {
        self.vip_level.map_or(Tier::Standard, Tier::Vip)
    }

    /// The class the router gives this customer's wait (for SLA reporting): the router's own
    /// classification, so the players' tallies cannot drift from the router's SLA verdicts.
    pub fn class(&self, tenant: &TenantConfig) -> Class {
        Class::of(self.tier(), self.intent.as_deref(), &tenant.priority)
    }
}

/// One human agent's plan.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentPlan {
    /// Login name (`group-n`).
    pub name: String,
    /// Index of its group in [`Scenario::agents`].
    pub group: usize,
    /// Capacity.
    pub capacity: u32,
    /// Skill → level.
    pub skills: BTreeMap<String, u8>,
    /// Milliseconds between replies.
    pub reply_every_ms: u64,
    /// A disconnect: (when, milliseconds from start; for how long).
    pub disconnect: Option<(u64, u64)>,
}

/// A played scenario, drawn in full before it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Customers by arrival time.
    pub customers: Vec<CustomerPlan>,
    /// Human agents.
    pub agents: Vec<AgentPlan>,
    /// Bot connections (`bots.count` scaled like the agents, rounding up).
    pub bots: u32,
    /// When arrivals end, milliseconds.
    pub arrivals_end_ms: u64,
    /// When the run ends (arrivals end + drain), milliseconds.
    pub end_ms: u64,
}

impl Scenario {
    /// Draws the whole run. `scale` multiplies the arrival rate, the number of agents in every
    /// group and the number of bots (rounded up), so a scenario can be rehearsed bigger or
    /// smaller.
    pub fn plan(&self, scale: f64) -> Plan {
        let mut root = Rng::new(self.seed);
        let mut arrivals = root.fork(1);
        let mut people = root.fork(2);
        let mut staff = root.fork(3);
        let end_secs = self.arrivals.duration_secs();
        let peak = self.arrivals.peak() * scale;
        let mut customers = Vec::new();
        // Non-homogeneous Poisson arrivals by thinning a process at the peak rate.
        let mut t = 0.0;
        if peak > 0.0 {
            loop {
                t += -(1.0 - arrivals.unit()).ln() / peak;
                if t > end_secs {
                    break;
                }
                if arrivals.unit() * peak <= self.arrivals.rate_at(t) * scale {
                    let index = customers.len() as u32;
                    customers.push(self.customer(index, (t * 1000.0) as u64, &mut people));
                }
            }
        }
        let mut agents = Vec::new();
        for (g, group) in self.agents.iter().enumerate() {
            let count = (f64::from(group.count) * scale).ceil() as u32;
            for n in 1..=count {
                let disconnect = staff.chance(group.disconnect_share).then(|| {
                    let at = staff.unit() * end_secs * 1000.0;
                    (
                        at as u64,
                        (group.away_secs.sample(&mut staff) * 1000.0) as u64,
                    )
                });
                agents.push(AgentPlan {
                    name: format!("{}-{n}", group.name),
                    group: g,
                    capacity: group.capacity,
                    skills: group.skills.clone(),
                    reply_every_ms: (group.reply_every_secs * 1000.0) as u64,
                    disconnect,
                });
            }
        }
        let arrivals_end_ms = (end_secs * 1000.0) as u64;
        Plan {
            customers,
            agents,
            bots: (f64::from(self.bots.count) * scale).ceil() as u32,
            arrivals_end_ms,
            end_ms: arrivals_end_ms + (self.drain_secs * 1000.0) as u64,
        }
    }

    fn customer(&self, index: u32, arrival_ms: u64, rng: &mut Rng) -> CustomerPlan {
        let c = &self.customers;
        let vip_level = rng
            .chance(c.vip_share)
            .then(|| rng.pick(&c.vip_levels).copied().unwrap_or(1));
        let intent = c.pick_intent(rng);
        let channel = rng.pick(&c.channels).cloned().unwrap_or_default();
        let messages = c.messages.sample_count(rng).max(1) as usize;
        let angry = rng.chance(c.angry_share);
        let ask_at = rng
            .chance(c.ask_human_share)
            .then(|| (rng.next() % messages as u64) as usize);
        let texts = (0..messages)
            .map(|k| texts::pick(Some(k) == ask_at, angry, rng))
            .collect();
        let think_ms = (1..messages)
            .map(|_| (c.think_secs.sample(rng) * 1000.0) as u64)
            .collect();
        let patience = c.patience_secs.sample(rng);
        let patience_ms = if patience.is_finite() {
            (patience * 1000.0) as u64
        } else {
            u64::MAX
        };
        let bot_resolves = (0..messages)
            .map(|_| rng.chance(self.bots.resolve_probability))
            .collect();
        let bot_reply_ms = (0..messages)
            .map(|_| self.bots.reply_ms.sample(rng) as u64)
            .collect();
        let accept = Draw::new(rng);
        let handle = Draw::new(rng);
        CustomerPlan {
            index,
            arrival_ms,
            connector: index % self.connectors.count.max(1),
            vip_level,
            intent,
            channel,
            texts,
            think_ms,
            patience_ms,
            bot_resolves,
            bot_reply_ms,
            accept,
            handle,
        }
    }
}

impl Customers {
    /// An intent by the configured weights (`None` for the `""` entry: no intent sent).
    fn pick_intent(&self, rng: &mut Rng) -> Option<String> {
        let total: f64 = self.intents.values().sum();
        let mut pick = rng.unit() * total;
        let mut intent = None;
        for (name, weight) in &self.intents {
            intent = Some(name.clone());
            if pick < *weight {
                break;
            }
            pick -= weight;
        }
        intent.filter(|i| !i.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn every_shipped_scenario_is_valid_and_plans_reproducibly() {
        for name in ["smoke", "steady", "peak-sale", "soak"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../config/loadtest")
                .join(format!("{name}.toml"));
            let scenario = Scenario::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            scenario
                .gateway_config(&path)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let plan = scenario.plan(1.0);
            assert_eq!(plan, scenario.plan(1.0), "{name}: same seed, same plan");
            let doubled = scenario.plan(2.0);
            assert_eq!(doubled.bots, 2 * scenario.bots.count, "{name}: bots scale");
            assert_eq!(
                doubled.agents.len(),
                2 * plan.agents.len(),
                "{name}: agents scale"
            );
            assert!(!plan.customers.is_empty(), "{name}: nobody arrives");
            let expected = scenario.arrivals.expected_total();
            let drawn = plan.customers.len() as f64;
            // Poisson: within 5 standard deviations of the curve's area.
            assert!(
                (drawn - expected).abs() <= 5.0 * expected.sqrt() + 1.0,
                "{name}: {drawn} vs {expected}"
            );
        }
    }
}
