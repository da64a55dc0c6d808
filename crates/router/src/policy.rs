//! A tenant's configuration compiled for the hot path: skills interned, times in milliseconds,
//! rules ready to match without allocating.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use switchboard_config::{HandoffConfig, PriorityConfig, RouteRule, TenantConfig, TierMatch};

use super::types::{Class, CustomerProfile, HandoffReason, Lane, Millis, QueueId, Tier};

/// A skill, by its position in the tenant's skill table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SkillId(pub u16);

/// A queue as the router sees it.
#[derive(Debug, Clone)]
pub struct QueuePolicy {
    /// Configured name.
    pub name: String,
    /// Skills an agent needs, sorted.
    pub skills: Vec<SkillId>,
}

/// The parts of a policy that the router's state refers to by index (see [`Policy::layout`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// Queues in configuration order: name and required skills by id.
    pub queues: Vec<(String, Vec<u16>)>,
    /// Skill names by id.
    pub skills: Vec<String>,
}

/// How a conversation ranks: decided once, when it first waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ranking {
    /// Its SLA class.
    pub class: Class,
    /// Its lane.
    pub lane: Lane,
    /// Base priority points.
    pub priority: u32,
}

/// The compiled policy of one tenant.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Queues in configuration order; a [`QueueId`] indexes this.
    pub queues: Vec<QueuePolicy>,
    skills: FxHashMap<String, SkillId>,
    default_queue: QueueId,
    routes: Vec<(RouteRule, QueueId)>,
    priority: PriorityConfig,
    sla_ms: [Millis; 4],
    /// Share of available human capacity only VIPs may take.
    pub vip_reserved_share: f64,
    /// Offer timeout.
    pub offer_timeout_ms: Millis,
    /// Offer timeouts in a row before an agent is set away.
    pub max_missed_offers: u32,
    /// How long a refusal holds the agent back from that conversation.
    pub refusal_cooldown_ms: Millis,
    /// Disconnect grace period.
    pub grace_ms: Millis,
    /// Wrap-up time.
    pub wrap_up_ms: Millis,
    /// Idle close; 0 disables.
    pub idle_ms: Millis,
    /// Sticky window; 0 disables.
    pub sticky_window_ms: Millis,
    /// Sticky wait.
    pub sticky_wait_ms: Millis,
    /// Queue update pass period.
    pub queue_update_ms: Millis,
    /// Transcript bound, in lines.
    pub transcript_len: usize,
    /// An offer's transcript bound, in bytes of text and message ids.
    pub transcript_bytes: usize,
    /// Bot first and handoff triggers.
    pub handoff: HandoffConfig,
}

impl Policy {
    /// Compiles a validated tenant configuration.
    pub fn new(config: &TenantConfig) -> Self {
        let mut skills = FxHashMap::default();
        let mut queues = Vec::with_capacity(config.queues.len());
        for queue in &config.queues {
            let mut ids: Vec<SkillId> = queue
                .skills
                .iter()
                .map(|name| {
                    let next = SkillId(skills.len() as u16);
                    *skills.entry(name.clone()).or_insert(next)
                })
                .collect();
            ids.sort_unstable();
            ids.dedup();
            queues.push(QueuePolicy {
                name: queue.name.clone(),
                skills: ids,
            });
        }
        let queue_named = |name: &str| {
            queues
                .iter()
                .position(|q| q.name == name)
                .map(|i| QueueId(i as u16))
        };
        // Validation guarantees every name resolves; queue 0 is a safe fallback for an unvalidated struct.
        let default_queue = queue_named(&config.default_queue).unwrap_or(QueueId(0));
        let routes = config
            .routes
            .iter()
            .filter_map(|rule| queue_named(&rule.queue).map(|q| (rule.clone(), q)))
            .collect();
        let secs = |s: u32| Millis::from(s) * 1000;
        let timing = &config.timing;
        Policy {
            queues,
            skills,
            default_queue,
            routes,
            priority: config.priority.clone(),
            sla_ms: Class::ALL.map(|class| class.sla_ms(&config.sla)),
            vip_reserved_share: config.vip.reserved_share,
            offer_timeout_ms: secs(timing.offer_timeout_secs),
            max_missed_offers: timing.max_missed_offers,
            refusal_cooldown_ms: secs(timing.refusal_cooldown_secs),
            grace_ms: secs(timing.agent_grace_secs),
            wrap_up_ms: secs(timing.wrap_up_secs),
            idle_ms: secs(timing.idle_close_secs),
            sticky_window_ms: secs(timing.sticky_window_secs),
            sticky_wait_ms: secs(timing.sticky_wait_secs),
            queue_update_ms: Millis::from(timing.queue_update_interval_ms),
            transcript_len: timing.transcript_messages as usize,
            transcript_bytes: timing.transcript_bytes as usize,
            handoff: config.handoff.clone(),
        }
    }

    /// What the router's stored state is indexed by: each queue's name and required skills, in
    /// configuration order, and the skill table's names in id order. Two policies with the same
    /// layout give every stored [`QueueId`] and [`SkillId`] the same meaning.
    pub fn layout(&self) -> Layout {
        let mut skills: Vec<(SkillId, &String)> =
            self.skills.iter().map(|(n, id)| (*id, n)).collect();
        skills.sort_unstable();
        Layout {
            queues: self
                .queues
                .iter()
                .map(|q| (q.name.clone(), q.skills.iter().map(|s| s.0).collect()))
                .collect(),
            skills: skills.into_iter().map(|(_, name)| name.clone()).collect(),
        }
    }

    /// The queue with this name.
    pub fn queue_named(&self, name: &str) -> Option<QueueId> {
        self.queues
            .iter()
            .position(|q| q.name == name)
            .map(|i| QueueId(i as u16))
    }

    /// The skill with this name, if any queue needs it.
    pub fn skill(&self, name: &str) -> Option<SkillId> {
        self.skills.get(name).copied()
    }

    /// The queue a conversation waits in: the first matching rule, else the default queue.
    pub fn route(&self, profile: &CustomerProfile) -> QueueId {
        self.routes
            .iter()
            .find(|(rule, _)| rule_matches(rule, profile))
            .map(|(_, q)| *q)
            .unwrap_or(self.default_queue)
    }

    /// Class, lane and priority of a conversation: base points from the profile, plus the
    /// negative-sentiment points while the customer is upset, plus `extra` (handoff points).
    pub fn rank(&self, profile: &CustomerProfile, negative_sentiment: bool, extra: u32) -> Ranking {
        let p = &self.priority;
        let intent = profile.intent.as_deref();
        let is_in = |list: &[String]| intent.is_some_and(|i| list.iter().any(|x| x == i));
        let complaint = is_in(&p.complaint_intents);
        let urgent = is_in(&p.urgent_intents);
        let mut priority = extra;
        if let Tier::Vip(level) = profile.tier {
            priority += p.vip_points_per_level * u32::from(level);
        }
        if complaint {
            priority += p.complaint_points;
        }
        if urgent {
            priority += p.urgent_points;
        }
        if profile.order_value.is_some_and(|v| v >= p.high_value_order) {
            priority += p.high_value_points;
        }
        if negative_sentiment {
            priority += p.negative_sentiment_points;
        }
        let class = Class::of(profile.tier, intent, p);
        let lane = if profile.tier.is_vip() {
            Lane::Vip
        } else {
            Lane::Standard
        };
        Ranking {
            class,
            lane,
            priority,
        }
    }

    /// Whether a rule sends this conversation past the bot.
    pub fn skips_bot(&self, profile: &CustomerProfile) -> bool {
        let h = &self.handoff;
        let intent = profile
            .intent
            .as_deref()
            .is_some_and(|i| h.skip_bot_intents.iter().any(|x| x == i));
        let value = h.skip_bot_order_value > 0
            && profile
                .order_value
                .is_some_and(|v| v >= h.skip_bot_order_value);
        let vip = match profile.tier {
            Tier::Vip(level) => h.skip_bot_min_vip_level > 0 && level >= h.skip_bot_min_vip_level,
            Tier::Standard => false,
        };
        intent || value || vip
    }

    /// Priority points a handoff for this reason adds.
    pub fn handoff_points(&self, reason: HandoffReason) -> u32 {
        let p = &self.handoff.points;
        match reason {
            HandoffReason::CustomerRequest => p.customer_request,
            HandoffReason::BotRequest => p.bot_request,
            HandoffReason::BotUnresolved => p.bot_unresolved,
            HandoffReason::NegativeSentiment => p.negative_sentiment,
            HandoffReason::Rule => p.rule,
            HandoffReason::BotUnavailable => p.bot_unavailable,
        }
    }

    /// The answer-time target of a class.
    pub fn sla_ms(&self, class: Class) -> Millis {
        self.sla_ms[class as usize]
    }

    /// The time-invariant aging key: smaller is served first. Effective priority at time `t` is
    /// `priority + rate × (t − enqueued) / 60 000`; ordering by it at any `t` is ordering by
    /// `rate × enqueued − priority × 60 000`, which does not depend on `t`.
    pub fn age_key(&self, enqueued_at: Millis, priority: u32) -> i64 {
        let rate = i64::from(self.priority.aging_points_per_minute);
        // Saturating: a clock near u64::MAX must not wrap the order around.
        let at = i64::try_from(enqueued_at).unwrap_or(i64::MAX / 20_000);
        rate.saturating_mul(at) - i64::from(priority) * 60_000
    }

    /// Aging rate in points per minute.
    pub fn aging_points_per_minute(&self) -> u32 {
        self.priority.aging_points_per_minute
    }
}

fn rule_matches(rule: &RouteRule, profile: &CustomerProfile) -> bool {
    let any = |list: &[String], value: &str| list.is_empty() || list.iter().any(|x| x == value);
    let intent_ok = rule.intents.is_empty()
        || profile
            .intent
            .as_deref()
            .is_some_and(|i| rule.intents.iter().any(|x| x == i));
    let tier_ok = match rule.tier {
        None => true,
        Some(TierMatch::Vip) => profile.tier.is_vip(),
        Some(TierMatch::Standard) => !profile.tier.is_vip(),
    };
    let level_ok = match (rule.min_vip_level, profile.tier) {
        (None, _) => true,
        (Some(min), Tier::Vip(level)) => level >= min,
        (Some(_), Tier::Standard) => false,
    };
    intent_ok
        && tier_ok
        && level_ok
        && any(&rule.channels, &profile.channel)
        && any(&rule.languages, &profile.language)
}
