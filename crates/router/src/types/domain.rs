//! The small closed vocabularies: tiers, lanes, classes, roles, statuses, states and reasons.

use serde::{Deserialize, Serialize};
use switchboard_config::{PriorityConfig, SlaConfig};

use super::ids::Millis;

/// A customer's tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Tier {
    /// No VIP level.
    Standard,
    /// VIP of the given level (1 and up; higher is more valuable).
    Vip(u8),
}

impl Tier {
    /// Whether this customer rides the VIP lane.
    pub fn is_vip(self) -> bool {
        matches!(self, Tier::Vip(_))
    }
}

/// Waiting lanes, served strictly in this order within a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Lane {
    /// VIP customers.
    Vip = 0,
    /// Everyone else.
    Standard = 1,
}

/// Service class: decides the SLA target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Class {
    /// VIP customers (60 s by default).
    Vip,
    /// Complaints (60 s by default).
    Complaint,
    /// Urgent tickets (300 s by default).
    Urgent,
    /// Everyone else (180 s by default).
    Standard,
}

impl Class {
    /// All classes, for metrics and reports.
    pub const ALL: [Class; 4] = [Class::Vip, Class::Complaint, Class::Urgent, Class::Standard];

    /// The class of a customer with this tier and intent under the tenant's priority rules:
    /// VIP tier first, then complaint intents, then urgent intents. The one classification:
    /// the router's ranking, the simulator and the load tester all call this.
    pub fn of(tier: Tier, intent: Option<&str>, priority: &PriorityConfig) -> Class {
        let is_in = |list: &[String]| intent.is_some_and(|i| list.iter().any(|x| x == i));
        if tier.is_vip() {
            Class::Vip
        } else if is_in(&priority.complaint_intents) {
            Class::Complaint
        } else if is_in(&priority.urgent_intents) {
            Class::Urgent
        } else {
            Class::Standard
        }
    }

    /// How fast this class must be answered under the tenant's SLA table. The one place that
    /// table is read: the router, the simulator and the reports all call this.
    pub fn sla_ms(self, sla: &SlaConfig) -> Millis {
        let secs = match self {
            Class::Vip => sla.vip_secs,
            Class::Complaint => sla.complaint_secs,
            Class::Urgent => sla.urgent_secs,
            Class::Standard => sla.standard_secs,
        };
        Millis::from(secs) * 1000
    }

    /// Stable lower-case name for metrics labels and the protocol.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Vip => "vip",
            Class::Complaint => "complaint",
            Class::Urgent => "urgent",
            Class::Standard => "standard",
        }
    }
}

/// Who an agent connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// A human agent.
    Human,
    /// An AI bot service.
    Bot,
}

/// Whether an agent takes new conversations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AgentStatus {
    /// Takes new offers while below capacity.
    Available,
    /// Keeps current conversations, takes no new ones.
    Away,
    /// Logged out: holds nothing.
    Offline,
}

impl AgentStatus {
    /// Stable lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Available => "available",
            AgentStatus::Away => "away",
            AgentStatus::Offline => "offline",
        }
    }
}

/// Why an agent's status changed, when the router changed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StatusReason {
    /// The agent asked for it.
    Requested,
    /// A supervisor set it.
    Supervisor,
    /// The agent let `max_missed_offers` offers time out in a row.
    MissedOffers,
    /// The agent stayed disconnected past the grace period.
    GraceExpired,
}

/// Conversation lifecycle. Every change is reported as [`Effect::StateChanged`](crate::Effect::StateChanged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum State {
    /// Being answered by a bot.
    WithBot,
    /// In a queue (or held for the customer's previous agent).
    Waiting,
    /// Offered to one agent, not yet accepted.
    Offered,
    /// Being served by one agent.
    Assigned,
    /// Ended; the agent's slot is still held for wrap-up.
    WrapUp,
    /// Ended.
    Closed,
    /// The customer left while waiting.
    Abandoned,
}

impl State {
    /// Stable lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            State::WithBot => "with_bot",
            State::Waiting => "waiting",
            State::Offered => "offered",
            State::Assigned => "assigned",
            State::WrapUp => "wrap_up",
            State::Closed => "closed",
            State::Abandoned => "abandoned",
        }
    }

    /// Whether the conversation has ended for good.
    pub fn is_final(self) -> bool {
        matches!(self, State::Closed | State::Abandoned)
    }
}

/// Why a conversation went from the bot (or past it) to the human queue. Each is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HandoffReason {
    /// The customer asked for a human.
    CustomerRequest,
    /// The bot asked for a human.
    BotRequest,
    /// The bot marked `max_unresolved_rounds` replies unresolved.
    BotUnresolved,
    /// The customer's smoothed sentiment crossed the threshold.
    NegativeSentiment,
    /// A rule (intent, order value, VIP level) sends this conversation past the bot.
    Rule,
    /// Its bot went away and no other bot could take it.
    BotUnavailable,
}

impl HandoffReason {
    /// All reasons, for metrics.
    pub const ALL: [HandoffReason; 6] = [
        HandoffReason::CustomerRequest,
        HandoffReason::BotRequest,
        HandoffReason::BotUnresolved,
        HandoffReason::NegativeSentiment,
        HandoffReason::Rule,
        HandoffReason::BotUnavailable,
    ];

    /// Stable snake_case name for the protocol and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            HandoffReason::CustomerRequest => "customer_request",
            HandoffReason::BotRequest => "bot_request",
            HandoffReason::BotUnresolved => "bot_unresolved",
            HandoffReason::NegativeSentiment => "negative_sentiment",
            HandoffReason::Rule => "rule",
            HandoffReason::BotUnavailable => "bot_unavailable",
        }
    }
}

/// Who or what ended a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CloseReason {
    /// The serving agent closed it.
    Agent,
    /// The customer ended it (or left while waiting: then it is abandoned).
    Customer,
    /// The connector closed it.
    Connector,
    /// No message for `idle_close_secs`.
    Idle,
}

impl CloseReason {
    /// Stable lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Agent => "agent",
            CloseReason::Customer => "customer",
            CloseReason::Connector => "connector",
            CloseReason::Idle => "idle",
        }
    }
}
