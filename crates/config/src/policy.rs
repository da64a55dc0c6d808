//! A tenant's policies: priority and aging, SLA targets, the VIP reserve, timing and handoff.

use serde::{Deserialize, Serialize};

use crate::ConfigError;

/// Base priority points and aging. Waiting order within a lane is by
/// `priority + aging_points_per_minute × minutes waited`, then arrival.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PriorityConfig {
    /// Points a waiting conversation gains per minute; bounds how long anyone can be overtaken.
    pub aging_points_per_minute: u32,
    /// Points per VIP level (orders VIPs among themselves in the VIP lane).
    pub vip_points_per_level: u32,
    /// Points for a complaint intent.
    pub complaint_points: u32,
    /// Points for an urgent intent.
    pub urgent_points: u32,
    /// Points when the order value is at or above `high_value_order`.
    pub high_value_points: u32,
    /// Order value (minor currency units, e.g. fen) from which `high_value_points` apply.
    pub high_value_order: u64,
    /// Points when the conversation's sentiment is below the handoff threshold.
    pub negative_sentiment_points: u32,
    /// Intents that make a conversation a complaint.
    pub complaint_intents: Vec<String>,
    /// Intents that make a conversation urgent.
    pub urgent_intents: Vec<String>,
}

impl Default for PriorityConfig {
    fn default() -> Self {
        PriorityConfig {
            aging_points_per_minute: 10,
            vip_points_per_level: 20,
            complaint_points: 50,
            urgent_points: 30,
            high_value_points: 20,
            high_value_order: 100_000,
            negative_sentiment_points: 40,
            complaint_intents: vec!["complaint".to_string()],
            urgent_intents: vec!["urgent".to_string()],
        }
    }
}

impl PriorityConfig {
    pub(crate) fn validate(&self, key: &str) -> Result<(), ConfigError> {
        if self.aging_points_per_minute == 0 {
            return Err(ConfigError::new(
                format!("{key}.aging_points_per_minute"),
                "must be at least 1, or low-priority conversations could wait forever",
            ));
        }
        if self.aging_points_per_minute > 10_000 {
            return Err(ConfigError::new(
                format!("{key}.aging_points_per_minute"),
                "must be at most 10000",
            ));
        }
        for (name, value) in [
            ("vip_points_per_level", self.vip_points_per_level),
            ("complaint_points", self.complaint_points),
            ("urgent_points", self.urgent_points),
            ("high_value_points", self.high_value_points),
            ("negative_sentiment_points", self.negative_sentiment_points),
        ] {
            if value > 100_000 {
                return Err(ConfigError::new(
                    format!("{key}.{name}"),
                    "must be at most 100000",
                ));
            }
        }
        Ok(())
    }
}

/// Answer-time targets per class, in seconds.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlaConfig {
    /// VIP customers.
    pub vip_secs: u32,
    /// Complaints.
    pub complaint_secs: u32,
    /// Urgent tickets.
    pub urgent_secs: u32,
    /// Everyone else.
    pub standard_secs: u32,
    /// Share of customers to answer within their target: what
    /// `switchboard_recommended_agents` staffs for.
    pub service_level: f64,
}

impl Default for SlaConfig {
    fn default() -> Self {
        SlaConfig {
            vip_secs: 60,
            complaint_secs: 60,
            urgent_secs: 300,
            standard_secs: 180,
            service_level: 0.8,
        }
    }
}

impl SlaConfig {
    pub(crate) fn validate(&self, key: &str) -> Result<(), ConfigError> {
        for (name, value) in [
            ("vip_secs", self.vip_secs),
            ("complaint_secs", self.complaint_secs),
            ("urgent_secs", self.urgent_secs),
            ("standard_secs", self.standard_secs),
        ] {
            if value == 0 {
                return Err(ConfigError::new(
                    format!("{key}.{name}"),
                    "must be at least 1",
                ));
            }
        }
        if !(self.service_level > 0.0 && self.service_level < 1.0) {
            return Err(ConfigError::new(
                format!("{key}.service_level"),
                "must be strictly between 0 and 1",
            ));
        }
        Ok(())
    }
}

/// VIP fast lane.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct VipConfig {
    /// Share of the tenant's available human capacity that only VIP conversations may take,
    /// rounded down to whole slots. 0 disables the reserve; the lane ordering still applies.
    pub reserved_share: f64,
}

impl Default for VipConfig {
    fn default() -> Self {
        VipConfig {
            reserved_share: 0.1,
        }
    }
}

impl VipConfig {
    pub(crate) fn validate(&self, key: &str) -> Result<(), ConfigError> {
        if !(0.0..=0.9).contains(&self.reserved_share) {
            return Err(ConfigError::new(
                format!("{key}.reserved_share"),
                "must be between 0.0 and 0.9 so standard customers are still served",
            ));
        }
        Ok(())
    }
}

/// Timeouts and windows.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimingConfig {
    /// An unanswered offer goes to the next agent after this long.
    pub offer_timeout_secs: u32,
    /// After this many offer timeouts in a row an agent is set away.
    pub max_missed_offers: u32,
    /// An agent who refused a conversation is not offered it again for this long.
    pub refusal_cooldown_secs: u32,
    /// A disconnected agent's conversations are held this long for a reconnect.
    pub agent_grace_secs: u32,
    /// An agent's slot stays taken this long after a conversation ends.
    pub wrap_up_secs: u32,
    /// A conversation with no message for this long is closed; 0 never closes.
    pub idle_close_secs: u32,
    /// A returning customer is offered to their previous agent within this window; 0 disables.
    pub sticky_window_secs: u32,
    /// How long a returning customer waits for their previous agent before anyone may take them.
    pub sticky_wait_secs: u32,
    /// How often queue positions and estimated waits are recomputed and sent when changed.
    pub queue_update_interval_ms: u32,
    /// How many recent messages a conversation keeps for the agent who takes it over.
    pub transcript_messages: u32,
    /// How many bytes of text and message ids an offer's transcript carries, newest lines
    /// first; the older ones are left out and counted (`transcript_truncated`).
    pub transcript_bytes: u32,
}

/// The most `transcript_bytes` may be, so the largest offer fits the 2 MiB frame the protocol
/// promises (`gateway::session::MAX_SERVER_FRAME_BYTES`). Escaped as JSON a byte takes at most six
/// (`\u0001`), so the transcript's text and ids take at most 1.5 MiB; the fixed part of 1000
/// lines (about 80 bytes each) and everything else an offer carries, each field within
/// docs/protocol.md's limits, take well under the remaining 512 KiB.
/// [`protocol.rs`: the_largest_offer_fits_the_documented_frame_bound]
pub const TRANSCRIPT_BYTES_MAX: u32 = 256 * 1024;

/// The least `transcript_bytes` may be: room for the newest line whatever it holds (8192
/// characters of up to 4 bytes and a 128-byte id), so an offer always shows it.
pub const TRANSCRIPT_BYTES_MIN: u32 = 64 * 1024;

impl Default for TimingConfig {
    fn default() -> Self {
        TimingConfig {
            offer_timeout_secs: 15,
            max_missed_offers: 3,
            refusal_cooldown_secs: 30,
            agent_grace_secs: 30,
            wrap_up_secs: 10,
            idle_close_secs: 900,
            sticky_window_secs: 1800,
            sticky_wait_secs: 10,
            queue_update_interval_ms: 5000,
            transcript_messages: 20,
            transcript_bytes: TRANSCRIPT_BYTES_MAX,
        }
    }
}

impl TimingConfig {
    pub(crate) fn validate(&self, key: &str) -> Result<(), ConfigError> {
        let at_least_one = [
            ("offer_timeout_secs", self.offer_timeout_secs),
            ("max_missed_offers", self.max_missed_offers),
            ("refusal_cooldown_secs", self.refusal_cooldown_secs),
            ("queue_update_interval_ms", self.queue_update_interval_ms),
        ];
        for (name, value) in at_least_one {
            if value == 0 {
                return Err(ConfigError::new(
                    format!("{key}.{name}"),
                    "must be at least 1",
                ));
            }
        }
        if self.queue_update_interval_ms < 100 {
            return Err(ConfigError::new(
                format!("{key}.queue_update_interval_ms"),
                "must be at least 100 so updates cannot flood connectors",
            ));
        }
        if self.transcript_messages > 1000 {
            return Err(ConfigError::new(
                format!("{key}.transcript_messages"),
                "must be at most 1000",
            ));
        }
        if !(TRANSCRIPT_BYTES_MIN..=TRANSCRIPT_BYTES_MAX).contains(&self.transcript_bytes) {
            return Err(ConfigError::new(
                format!("{key}.transcript_bytes"),
                format!(
                    "must be between {TRANSCRIPT_BYTES_MIN} (the largest line) and \
                     {TRANSCRIPT_BYTES_MAX} (so an offer fits a 2 MiB frame)"
                ),
            ));
        }
        Ok(())
    }
}

/// Bot first, and the triggers that hand a conversation to a human.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HandoffConfig {
    /// New conversations go to a bot first when one is available.
    pub bot_first: bool,
    /// Phrases that mean "I want a human". Empty: the built-in Chinese and English list.
    pub human_phrases: Vec<String>,
    /// Hand off after this many bot replies the bot marked unresolved. 0 disables.
    pub max_unresolved_rounds: u32,
    /// Hand off when the smoothed sentiment falls to this value or below (-1 to 1).
    pub sentiment_threshold: f32,
    /// The smoothed sentiment must rise above this again before it can trigger again (hysteresis).
    pub sentiment_recover: f32,
    /// Weight of the newest message in the smoothed sentiment (0 < w ≤ 1; 1 = no smoothing).
    pub sentiment_smoothing: f32,
    /// How many recent scores the agent sees as the sentiment trend.
    pub trend_length: u32,
    /// Intents that skip the bot.
    pub skip_bot_intents: Vec<String>,
    /// Orders worth at least this much (minor units) skip the bot. 0 disables.
    pub skip_bot_order_value: u64,
    /// VIP customers of at least this level skip the bot. 0 disables.
    pub skip_bot_min_vip_level: u8,
    /// Priority points added at handoff, per reason.
    pub points: HandoffPoints,
}

impl Default for HandoffConfig {
    fn default() -> Self {
        HandoffConfig {
            bot_first: true,
            human_phrases: Vec::new(),
            max_unresolved_rounds: 3,
            sentiment_threshold: -0.5,
            sentiment_recover: -0.2,
            sentiment_smoothing: 0.5,
            trend_length: 10,
            skip_bot_intents: vec!["complaint".to_string()],
            skip_bot_order_value: 500_000,
            skip_bot_min_vip_level: 3,
            points: HandoffPoints::default(),
        }
    }
}

impl HandoffConfig {
    pub(crate) fn validate(&self, key: &str) -> Result<(), ConfigError> {
        if !(-1.0..=1.0).contains(&self.sentiment_threshold) {
            return Err(ConfigError::new(
                format!("{key}.sentiment_threshold"),
                "must be between -1.0 and 1.0",
            ));
        }
        if !(self.sentiment_recover > self.sentiment_threshold && self.sentiment_recover <= 1.0) {
            return Err(ConfigError::new(
                format!("{key}.sentiment_recover"),
                "must be above sentiment_threshold (and at most 1.0), or the trigger would flap",
            ));
        }
        if !(self.sentiment_smoothing > 0.0 && self.sentiment_smoothing <= 1.0) {
            return Err(ConfigError::new(
                format!("{key}.sentiment_smoothing"),
                "must be above 0.0 and at most 1.0",
            ));
        }
        if self.trend_length > 100 {
            return Err(ConfigError::new(
                format!("{key}.trend_length"),
                "must be at most 100",
            ));
        }
        if let Some(i) = self.human_phrases.iter().position(|p| p.trim().is_empty()) {
            return Err(ConfigError::new(
                format!("{key}.human_phrases[{i}]"),
                "must not be empty",
            ));
        }
        Ok(())
    }
}

/// Priority points a conversation gains when it is handed to a human, by reason. They add to
/// the base priority (and to `priority.negative_sentiment_points` when the customer is upset).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct HandoffPoints {
    /// The customer asked for a human.
    pub customer_request: u32,
    /// The bot asked for a human.
    pub bot_request: u32,
    /// The bot failed `max_unresolved_rounds` times.
    pub bot_unresolved: u32,
    /// The customer's sentiment crossed the threshold.
    pub negative_sentiment: u32,
    /// A rule sent the conversation past the bot.
    pub rule: u32,
    /// The bot went away mid-conversation and no other bot could take it.
    pub bot_unavailable: u32,
}

impl Default for HandoffPoints {
    fn default() -> Self {
        HandoffPoints {
            customer_request: 20,
            bot_request: 20,
            bot_unresolved: 30,
            negative_sentiment: 10,
            rule: 0,
            bot_unavailable: 20,
        }
    }
}
