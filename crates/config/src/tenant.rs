//! One tenant: its queues, routing rules and conversation limits.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{ConfigError, HandoffConfig, PriorityConfig, SlaConfig, TimingConfig, VipConfig};

/// One tenant: its queues, routing rules and policies.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantConfig {
    /// Tenant id, as carried in agent tokens and connector keys.
    pub id: String,
    /// HS256 secret that signs this tenant's agent and bot tokens. Empty: no agent can connect.
    pub jwt_secret: String,
    /// Queue used when no routing rule matches.
    pub default_queue: String,
    /// Queues, each with the skills an agent needs to serve it.
    pub queues: Vec<QueueConfig>,
    /// Routing rules, first match wins.
    pub routes: Vec<RouteRule>,
    /// Base priority and aging.
    pub priority: PriorityConfig,
    /// Answer-time targets per class.
    pub sla: SlaConfig,
    /// VIP fast lane.
    pub vip: VipConfig,
    /// Offers, grace periods, wrap-up, idle closes, sticky routing, queue updates.
    pub timing: TimingConfig,
    /// Bot first, and when a human takes over.
    pub handoff: HandoffConfig,
    /// How many conversations connectors may open, and how fast.
    pub limits: LimitsConfig,
}

/// Limits on new and open conversations, so one connector cannot fill a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// New conversations one connector may open per second, on average.
    pub new_conversations_per_sec: u32,
    /// New conversations one connector may open at once after a quiet spell.
    pub new_conversations_burst: u32,
    /// Conversations open at once per connector.
    pub open_conversations_per_connector: u32,
    /// Conversations open at once in the tenant.
    pub open_conversations: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            new_conversations_per_sec: 1000,
            new_conversations_burst: 2000,
            open_conversations_per_connector: 20_000,
            open_conversations: 200_000,
        }
    }
}

impl LimitsConfig {
    pub(crate) fn validate(&self, key: &str) -> Result<(), ConfigError> {
        let limits = [
            ("new_conversations_per_sec", self.new_conversations_per_sec),
            ("new_conversations_burst", self.new_conversations_burst),
            (
                "open_conversations_per_connector",
                self.open_conversations_per_connector,
            ),
            ("open_conversations", self.open_conversations),
        ];
        for (name, value) in limits {
            if value == 0 {
                return Err(ConfigError::new(
                    format!("{key}.{name}"),
                    "must be at least 1",
                ));
            }
        }
        Ok(())
    }
}

impl Default for TenantConfig {
    fn default() -> Self {
        TenantConfig {
            id: "default".to_string(),
            jwt_secret: String::new(),
            default_queue: "general".to_string(),
            queues: vec![QueueConfig {
                name: "general".to_string(),
                skills: vec!["general".to_string()],
            }],
            routes: Vec::new(),
            priority: PriorityConfig::default(),
            sla: SlaConfig::default(),
            vip: VipConfig::default(),
            timing: TimingConfig::default(),
            handoff: HandoffConfig::default(),
            limits: LimitsConfig::default(),
        }
    }
}

impl TenantConfig {
    pub(crate) fn validate(&self, key: &str) -> Result<(), ConfigError> {
        if self.id.trim().is_empty() {
            return Err(ConfigError::new(format!("{key}.id"), "must not be empty"));
        }
        if !self.jwt_secret.is_empty() && self.jwt_secret.len() < 16 {
            return Err(ConfigError::new(
                format!("{key}.jwt_secret"),
                "must be at least 16 characters (or empty to refuse every agent)",
            ));
        }
        if self.queues.is_empty() {
            return Err(ConfigError::new(
                format!("{key}.queues"),
                "at least one queue is required",
            ));
        }
        let mut names = BTreeSet::new();
        for (q, queue) in self.queues.iter().enumerate() {
            let qkey = format!("{key}.queues[{q}]");
            if queue.name.trim().is_empty() {
                return Err(ConfigError::new(
                    format!("{qkey}.name"),
                    "must not be empty",
                ));
            }
            if !names.insert(queue.name.as_str()) {
                return Err(ConfigError::new(
                    format!("{qkey}.name"),
                    format!("queue {:?} is defined twice", queue.name),
                ));
            }
            if queue.skills.is_empty() {
                return Err(ConfigError::new(
                    format!("{qkey}.skills"),
                    format!(
                        "queue {:?} requires no skill; name at least one so it is clear who serves it",
                        queue.name
                    ),
                ));
            }
        }
        if !names.contains(self.default_queue.as_str()) {
            return Err(ConfigError::new(
                format!("{key}.default_queue"),
                format!("no queue is named {:?}", self.default_queue),
            ));
        }
        for (r, rule) in self.routes.iter().enumerate() {
            if !names.contains(rule.queue.as_str()) {
                return Err(ConfigError::new(
                    format!("{key}.routes[{r}].queue"),
                    format!("no queue is named {:?}", rule.queue),
                ));
            }
            if let Some(level) = rule.min_vip_level {
                if level == 0 {
                    return Err(ConfigError::new(
                        format!("{key}.routes[{r}].min_vip_level"),
                        "VIP levels start at 1",
                    ));
                }
            }
        }
        self.priority.validate(&format!("{key}.priority"))?;
        self.sla.validate(&format!("{key}.sla"))?;
        self.vip.validate(&format!("{key}.vip"))?;
        self.timing.validate(&format!("{key}.timing"))?;
        self.limits.validate(&format!("{key}.limits"))?;
        self.handoff.validate(&format!("{key}.handoff"))
    }
}

/// A queue and the skills an agent must have to serve it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// Queue name, unique within the tenant.
    pub name: String,
    /// Every one of these skills is required.
    pub skills: Vec<String>,
}

/// Which kind of customer a rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TierMatch {
    /// Customers without a VIP level.
    Standard,
    /// Customers with any VIP level.
    Vip,
}

/// Maps conversations to a queue. Every condition given must hold; an empty list matches anything.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteRule {
    /// Target queue.
    pub queue: String,
    /// Intents, any of which matches.
    #[serde(default)]
    pub intents: Vec<String>,
    /// Channels, any of which matches.
    #[serde(default)]
    pub channels: Vec<String>,
    /// Languages, any of which matches.
    #[serde(default)]
    pub languages: Vec<String>,
    /// Standard or VIP customers only.
    #[serde(default)]
    pub tier: Option<TierMatch>,
    /// VIP customers of at least this level only.
    #[serde(default)]
    pub min_vip_level: Option<u8>,
}

impl fmt::Display for TierMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TierMatch::Standard => "standard",
            TierMatch::Vip => "vip",
        })
    }
}
