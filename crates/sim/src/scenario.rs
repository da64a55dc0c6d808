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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use switchboard_config::{Config, ConfigError, TenantConfig};

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

/// A random quantity.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Dist {
    /// Always `value`.
    Fixed {
        /// The value.
        value: f64,
    },
    /// Uniform between `min` and `max` (integers: inclusive).
    Uniform {
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
    },
    /// Exponential with this mean.
    Exponential {
        /// The mean.
        mean: f64,
    },
    /// Log-normal with this mean and coefficient of variation (handle times).
    Lognormal {
        /// The mean.
        mean: f64,
        /// Standard deviation over mean.
        cv: f64,
    },
    /// Never happens (infinite patience).
    Never,
}

/// The randomness behind one draw, kept apart from the distribution it is mapped through: a
/// plan can fix a conversation's draw before either player knows which agent (with which
/// group's distribution) will take it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Draw {
    /// Uniform in `[0, 1)`.
    pub u: f64,
    /// Standard normal.
    pub z: f64,
}

impl Draw {
    /// A fresh draw.
    pub fn new(rng: &mut Rng) -> Self {
        Draw {
            u: rng.unit(),
            z: rng.normal(),
        }
    }
}

impl Dist {
    /// A draw.
    pub fn sample(&self, rng: &mut Rng) -> f64 {
        self.value(Draw::new(rng))
    }

    /// The value of a fixed draw under this distribution.
    pub fn value(&self, draw: Draw) -> f64 {
        match *self {
            Dist::Fixed { value } => value,
            Dist::Uniform { min, max } => min + (max - min) * draw.u,
            Dist::Exponential { mean } => -mean * (1.0 - draw.u).ln(),
            Dist::Lognormal { mean, cv } => {
                let sigma2 = (1.0 + cv * cv).ln();
                let mu = mean.ln() - sigma2 / 2.0;
                (mu + sigma2.sqrt() * draw.z).exp()
            }
            Dist::Never => f64::INFINITY,
        }
    }

    /// A whole-number draw (uniform bounds inclusive).
    pub fn sample_count(&self, rng: &mut Rng) -> u32 {
        match *self {
            Dist::Uniform { min, max } => {
                let span = (max.floor() - min.ceil()).max(0.0) as u64 + 1;
                min.ceil() as u32 + (rng.next() % span) as u32
            }
            _ => self.sample(rng).round().clamp(0.0, f64::from(u32::MAX)) as u32,
        }
    }

    /// The mean (infinite for `never`).
    pub fn mean(&self) -> f64 {
        match *self {
            Dist::Fixed { value } => value,
            Dist::Uniform { min, max } => (min + max) / 2.0,
            Dist::Exponential { mean } | Dist::Lognormal { mean, .. } => mean,
            Dist::Never => f64::INFINITY,
        }
    }

    fn check(&self, key: &str) -> Result<(), ConfigError> {
        let ok = match *self {
            Dist::Fixed { value } => value.is_finite() && value >= 0.0,
            Dist::Uniform { min, max } => {
                min.is_finite() && max.is_finite() && 0.0 <= min && min <= max
            }
            Dist::Exponential { mean } => mean.is_finite() && mean > 0.0,
            Dist::Lognormal { mean, cv } => {
                mean.is_finite() && mean > 0.0 && cv.is_finite() && cv >= 0.0
            }
            Dist::Never => true,
        };
        if ok {
            Ok(())
        } else {
            Err(ConfigError::new(
                key,
                "must be finite and not negative (min ≤ max, mean > 0)",
            ))
        }
    }
}

/// A small, fast, seedable generator (SplitMix64): plans must be reproducible from the seed on
/// every platform, which a dependency's default generator does not promise across versions.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for this seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// One of `items`, uniformly; `None` when empty.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            items.get((self.next() % items.len() as u64) as usize)
        }
    }

    /// A generator for a sub-stream, so adding draws to one part of the plan does not shift
    /// another's.
    pub fn fork(&mut self, stream: u64) -> Rng {
        Rng(self.next() ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03))
    }
}

/// What customers say. Every text is checked by a test against the router's scorer and
/// human-request detector, so the scenario's angry and ask-human shares mean what they say.
pub mod texts {
    /// Ordinary questions: neutral, no request for a human.
    pub const NEUTRAL: &[&str] = &[
        "请问我的订单什么时候发货？",
        "这件衣服有黑色的吗",
        "优惠券怎么用",
        "能开发票吗",
        "Where is my parcel?",
        "今晚的满减活动几点开始",
    ];
    /// Strongly negative messages (an angry customer sends only these).
    pub const ANGRY: &[&str] = &[
        "你们这是什么垃圾质量，用了一天就坏了，气死我了！",
        "骗子！说好的包邮结果又收运费，太差劲了",
        "呵呵，这就是你们的服务态度，垃圾，我要投诉",
    ];
    /// Asking for a human.
    pub const ASK_HUMAN: &str = "转人工";
}

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
    /// group's `accept_ms`: see [`AgentGroup::accept_ms_for`]).
    pub accept: Draw,
    /// The draw behind the handle time (see [`AgentGroup::handle_ms_for`]).
    pub handle: Draw,
}

impl CustomerPlan {
    /// The conversation id the connector uses.
    pub fn conversation_id(&self) -> String {
        format!("c-{}", self.index)
    }

    /// The class the router gives this customer's wait (for SLA reporting).
    pub fn class(&self, tenant: &TenantConfig) -> &'static str {
        let intent = self.intent.as_deref().unwrap_or("");
        if self.vip_level.is_some() {
            "vip"
        } else if tenant
            .priority
            .complaint_intents
            .iter()
            .any(|i| i == intent)
        {
            "complaint"
        } else if tenant.priority.urgent_intents.iter().any(|i| i == intent) {
            "urgent"
        } else {
            "standard"
        }
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
    /// Reads and validates a scenario file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(path.display().to_string(), e.to_string()))?;
        Self::from_toml_str(&text)
    }

    /// Parses and validates scenario TOML.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        let scenario: Scenario = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(0, |span| {
                text[..span.start.min(text.len())].lines().count().max(1)
            });
            ConfigError::new(format!("line {line}"), e.message().to_string())
        })?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// The gateway configuration this scenario runs against, for a scenario file at `path`.
    pub fn gateway_config(&self, path: &Path) -> Result<(Config, Option<PathBuf>), ConfigError> {
        if self.gateway_config.is_empty() {
            return Ok((Config::embedded(), None));
        }
        let file = path
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join(&self.gateway_config);
        let config = Config::load(&file)?;
        if !config.tenants.iter().any(|t| t.id == self.tenant) {
            return Err(ConfigError::new(
                "tenant",
                format!("no tenant {:?} in {}", self.tenant, file.display()),
            ));
        }
        Ok((config, Some(file)))
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let points = &self.arrivals.points;
        if points.len() < 2 || points[0][0] != 0.0 {
            return Err(ConfigError::new(
                "arrivals.points",
                "needs at least two points, the first at 0 s",
            ));
        }
        for (i, pair) in points.windows(2).enumerate() {
            if !pair[1][0].is_finite() || pair[1][0] < pair[0][0] {
                return Err(ConfigError::new(
                    format!("arrivals.points[{}]", i + 1),
                    "times must not decrease",
                ));
            }
        }
        if points.iter().any(|p| !p[1].is_finite() || p[1] < 0.0) {
            return Err(ConfigError::new(
                "arrivals.points",
                "rates must be finite and ≥ 0",
            ));
        }
        if !(self.drain_secs.is_finite() && self.drain_secs >= 0.0) {
            return Err(ConfigError::new("drain_secs", "must be finite and ≥ 0"));
        }
        if self.connectors.count == 0 {
            return Err(ConfigError::new("connectors.count", "must be at least 1"));
        }
        let c = &self.customers;
        c.messages.check("customers.messages")?;
        c.think_secs.check("customers.think_secs")?;
        c.patience_secs.check("customers.patience_secs")?;
        for (key, share) in [
            ("customers.vip_share", c.vip_share),
            ("customers.ask_human_share", c.ask_human_share),
            ("customers.angry_share", c.angry_share),
            ("bots.resolve_probability", self.bots.resolve_probability),
        ] {
            if !(0.0..=1.0).contains(&share) {
                return Err(ConfigError::new(key, "must be between 0 and 1"));
            }
        }
        if c.vip_share > 0.0 && (c.vip_levels.is_empty() || c.vip_levels.contains(&0)) {
            return Err(ConfigError::new(
                "customers.vip_levels",
                "needs levels of at least 1",
            ));
        }
        if c.intents.values().any(|w| !w.is_finite() || *w < 0.0)
            || c.intents.values().sum::<f64>() <= 0.0
        {
            return Err(ConfigError::new(
                "customers.intents",
                "weights must be ≥ 0 and not all 0",
            ));
        }
        if c.channels.is_empty() {
            return Err(ConfigError::new(
                "customers.channels",
                "needs at least one channel",
            ));
        }
        self.bots.reply_ms.check("bots.reply_ms")?;
        if self.bots.count > 0 && self.bots.capacity == 0 {
            return Err(ConfigError::new("bots.capacity", "must be at least 1"));
        }
        for (i, group) in self.agents.iter().enumerate() {
            let key = |k: &str| format!("agents[{i}].{k}");
            if group.name.is_empty() || group.capacity == 0 || group.skills.is_empty() {
                return Err(ConfigError::new(
                    key("name"),
                    "needs a name, a capacity of at least 1 and at least one skill",
                ));
            }
            group.accept_ms.check(&key("accept_ms"))?;
            group.handle_secs.check(&key("handle_secs"))?;
            group.away_secs.check(&key("away_secs"))?;
            if !(0.0..=1.0).contains(&group.disconnect_share) {
                return Err(ConfigError::new(
                    key("disconnect_share"),
                    "must be between 0 and 1",
                ));
            }
            if !(group.reply_every_secs > 0.0 && group.reply_every_secs.is_finite()) {
                return Err(ConfigError::new(key("reply_every_secs"), "must be above 0"));
            }
        }
        let s = &self.saturation;
        if !(s.start_rate > 0.0
            && s.factor > 1.0
            && s.max_rate >= s.start_rate
            && s.step_secs > 0.0)
        {
            return Err(ConfigError::new(
                "saturation",
                "needs start_rate > 0, factor > 1, max_rate ≥ start_rate, step_secs > 0",
            ));
        }
        Ok(())
    }

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
        let total: f64 = c.intents.values().sum();
        let mut pick = rng.unit() * total;
        let mut intent = None;
        for (name, weight) in &c.intents {
            intent = Some(name.clone());
            if pick < *weight {
                break;
            }
            pick -= weight;
        }
        let intent = intent.filter(|i| !i.is_empty());
        let channel = rng.pick(&c.channels).cloned().unwrap_or_default();
        let messages = c.messages.sample_count(rng).max(1) as usize;
        let angry = rng.chance(c.angry_share);
        let ask_at = rng
            .chance(c.ask_human_share)
            .then(|| (rng.next() % messages as u64) as usize);
        let texts = (0..messages)
            .map(|k| {
                if Some(k) == ask_at {
                    texts::ASK_HUMAN
                } else if angry {
                    rng.pick(texts::ANGRY).copied().unwrap_or(texts::ASK_HUMAN)
                } else {
                    rng.pick(texts::NEUTRAL)
                        .copied()
                        .unwrap_or(texts::ASK_HUMAN)
                }
            })
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

/// How one conversation ended, as either player saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The bot resolved it; no human was needed.
    Resolved,
    /// A human answered after waiting this long (milliseconds in the queue).
    Answered {
        /// Milliseconds from joining the human queue to the agent's accept.
        wait_ms: u64,
    },
    /// The customer left while waiting for a human.
    Abandoned {
        /// Milliseconds they waited.
        wait_ms: u64,
    },
    /// The customer stopped without needing a human (ran out of questions with the bot).
    Left,
    /// Still open when the run ended (waiting for a human if `waiting`).
    Unfinished {
        /// Whether it was in a human queue.
        waiting: bool,
    },
}

/// Outcomes tallied per SLA class with one definition for both players.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    /// Class → figures.
    pub classes: BTreeMap<&'static str, ClassTally>,
}

/// One class's figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClassTally {
    /// Target in milliseconds.
    pub target_ms: u64,
    /// Conversations of the class.
    pub conversations: u64,
    /// Answered by a human.
    pub answered: u64,
    /// Answered within the target.
    pub within_target: u64,
    /// Left while waiting for a human.
    pub abandoned: u64,
    /// Resolved by the bot.
    pub resolved_by_bot: u64,
    /// Still waiting or open at the end.
    pub unfinished: u64,
    /// Sum of answered waits, milliseconds.
    pub wait_sum_ms: u64,
    /// Longest answered wait, milliseconds.
    pub wait_max_ms: u64,
}

impl ClassTally {
    /// Share answered within the target, of those answered (the gateway's
    /// `switchboard_sla_total` definition). `None` when nobody was answered.
    pub fn sla_attainment(&self) -> Option<f64> {
        (self.answered > 0).then(|| self.within_target as f64 / self.answered as f64)
    }

    /// Share answered within the target, of those who waited for a human (abandonment counts
    /// as a miss, as in Erlang A).
    pub fn sla_attainment_offered(&self) -> Option<f64> {
        let offered = self.answered + self.abandoned;
        (offered > 0).then(|| self.within_target as f64 / offered as f64)
    }

    /// Mean wait of those answered, seconds.
    pub fn mean_wait_secs(&self) -> Option<f64> {
        (self.answered > 0).then(|| self.wait_sum_ms as f64 / self.answered as f64 / 1000.0)
    }

    /// Share of those who waited for a human who left first.
    pub fn abandonment(&self) -> Option<f64> {
        let offered = self.answered + self.abandoned;
        (offered > 0).then(|| self.abandoned as f64 / offered as f64)
    }
}

impl Tally {
    /// Counts one conversation of `class` (target from the tenant's SLA).
    pub fn add(&mut self, class: &'static str, tenant: &TenantConfig, ending: Ending) {
        let target_secs = match class {
            "vip" => tenant.sla.vip_secs,
            "complaint" => tenant.sla.complaint_secs,
            "urgent" => tenant.sla.urgent_secs,
            _ => tenant.sla.standard_secs,
        };
        let entry = self.classes.entry(class).or_default();
        entry.target_ms = u64::from(target_secs) * 1000;
        entry.conversations += 1;
        match ending {
            Ending::Resolved => entry.resolved_by_bot += 1,
            Ending::Answered { wait_ms } => {
                entry.answered += 1;
                entry.within_target += u64::from(wait_ms <= entry.target_ms);
                entry.wait_sum_ms += wait_ms;
                entry.wait_max_ms = entry.wait_max_ms.max(wait_ms);
            }
            Ending::Abandoned { .. } => entry.abandoned += 1,
            Ending::Left => {}
            Ending::Unfinished { .. } => entry.unfinished += 1,
        }
    }

    /// All classes together.
    pub fn total(&self) -> ClassTally {
        let mut all = ClassTally::default();
        for c in self.classes.values() {
            all.conversations += c.conversations;
            all.answered += c.answered;
            all.within_target += c.within_target;
            all.abandoned += c.abandoned;
            all.resolved_by_bot += c.resolved_by_bot;
            all.unfinished += c.unfinished;
            all.wait_sum_ms += c.wait_sum_ms;
            all.wait_max_ms = all.wait_max_ms.max(c.wait_max_ms);
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_text::human_request::HumanRequestMatcher;
    use switchboard_text::sentiment::{LexiconScorer, SentimentScorer};

    #[test]
    fn the_texts_mean_what_the_scenario_says() {
        let scorer = LexiconScorer::new();
        let detector = HumanRequestMatcher::with_defaults();
        for text in texts::ANGRY {
            assert!(
                scorer.score(text) <= -0.5,
                "{text} scores {}",
                scorer.score(text)
            );
            assert!(!detector.matches(text), "{text} asks for a human");
        }
        for text in texts::NEUTRAL {
            assert!(
                scorer.score(text) > -0.2,
                "{text} scores {}",
                scorer.score(text)
            );
            assert!(!detector.matches(text), "{text} asks for a human");
        }
        assert!(detector.matches(texts::ASK_HUMAN));
    }

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

    #[test]
    fn distributions_have_their_means() {
        let mut rng = Rng::new(7);
        for dist in [
            Dist::Exponential { mean: 10.0 },
            Dist::Uniform { min: 2.0, max: 6.0 },
            Dist::Lognormal {
                mean: 120.0,
                cv: 0.8,
            },
        ] {
            let n = 200_000;
            let mean = (0..n).map(|_| dist.sample(&mut rng)).sum::<f64>() / f64::from(n);
            assert!((mean / dist.mean() - 1.0).abs() < 0.02, "{dist:?}: {mean}");
        }
        let counts: Vec<u32> = (0..1000)
            .map(|_| Dist::Uniform { min: 2.0, max: 6.0 }.sample_count(&mut rng))
            .collect();
        assert_eq!(counts.iter().min(), Some(&2));
        assert_eq!(counts.iter().max(), Some(&6));
    }

    #[test]
    fn bad_scenarios_name_the_key() {
        let bad = [
            ("name = \"x\"\n[arrivals]\npoints = [[1.0, 2.0], [2.0, 2.0]]", "arrivals.points"),
            ("name = \"x\"\n[arrivals]\npoints = [[0.0, 2.0], [10.0, -1.0]]", "arrivals.points"),
            (
                "name = \"x\"\n[arrivals]\npoints = [[0.0, 2.0], [10.0, 2.0]]\n[customers]\nvip_share = 2.0",
                "customers.vip_share",
            ),
            (
                "name = \"x\"\n[arrivals]\npoints = [[0.0, 2.0], [10.0, 2.0]]\n[[agents]]\nname = \"a\"\ncount = 1\nskills = {}\nhandle_secs = { kind = \"fixed\", value = 1.0 }",
                "agents[0].name",
            ),
        ];
        for (text, key) in bad {
            let error = Scenario::from_toml_str(text).expect_err(text);
            assert!(
                error.to_string().starts_with(key),
                "{error} should name {key}"
            );
        }
        assert!(Scenario::from_toml_str(
            "name = \"x\"\ntypo = 1\n[arrivals]\npoints = [[0.0, 1.0], [1.0, 1.0]]"
        )
        .is_err());
    }
}
