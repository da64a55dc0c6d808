//! Effects out: everything the router asks the outside world to do or know.

use serde::{Deserialize, Serialize};
use std::sync::Arc;

use super::commands::{CustomerProfile, Message, Speaker, TranscriptLine};
use super::domain::{AgentStatus, Class, CloseReason, HandoffReason, State, StatusReason};
use super::ids::{AgentId, ConnectorId, ConversationId, Millis, QueueId};
use super::Numbers;

/// Why a command was refused. Stable: clients see these codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalCode {
    /// No such conversation for this client (also for another connector's or tenant's).
    UnknownConversation,
    /// A conversation with this id is already open.
    DuplicateConversation,
    /// The agent has not connected.
    UnknownAgent,
    /// The conversation is not offered to this agent.
    NotOffered,
    /// The conversation is not this agent's.
    NotAssigned,
    /// The conversation has ended.
    ConversationEnded,
    /// No queue has that name.
    UnknownQueue,
    /// The transfer target cannot take it now (not available, full, or the same agent).
    TargetUnavailable,
    /// A capacity of zero or above the limit.
    InvalidCapacity,
}

impl RefusalCode {
    /// Stable snake_case code for the protocol.
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalCode::UnknownConversation => "unknown_conversation",
            RefusalCode::DuplicateConversation => "duplicate_conversation",
            RefusalCode::UnknownAgent => "unknown_agent",
            RefusalCode::NotOffered => "not_offered",
            RefusalCode::NotAssigned => "not_assigned",
            RefusalCode::ConversationEnded => "conversation_ended",
            RefusalCode::UnknownQueue => "unknown_queue",
            RefusalCode::TargetUnavailable => "target_unavailable",
            RefusalCode::InvalidCapacity => "invalid_capacity",
        }
    }
}

/// Who a refusal goes back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Requester {
    /// A connector.
    Connector(ConnectorId),
    /// An agent or bot.
    Agent(AgentId),
}

/// Why an offer was taken back from an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WithdrawReason {
    /// Not accepted in time.
    Timeout,
    /// The conversation ended meanwhile.
    Ended,
    /// The agent's grace period ran out or they went offline.
    AgentGone,
    /// The conversation left this bot for a human.
    HandedOff,
}

/// Everything the offered agent needs to take over without asking the customer to repeat.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferContext {
    /// The queue it was waiting in.
    pub queue: QueueId,
    /// Its service class.
    pub class: Class,
    /// Who the customer is (shared with the router's own copy).
    pub profile: Arc<CustomerProfile>,
    /// Recent messages, oldest first (bounded by `transcript_messages`, then by
    /// `transcript_bytes`: see [`TranscriptLine::budget_bytes`]).
    pub transcript: Vec<TranscriptLine>,
    /// How many older lines the conversation still holds that `transcript_bytes` left out.
    pub transcript_truncated: u32,
    /// How long the customer has waited so far.
    pub waited_ms: Millis,
    /// Whether it came to this agent by sticky routing: the agent served this customer recently.
    pub returning_customer: bool,
    /// Why and how it left the bot, if it did.
    pub handoff: Option<HandoffContext>,
    /// Recent sentiment scores, oldest first (bounded by `trend_length`).
    pub sentiment_trend: Vec<f32>,
    /// Order and logistics numbers the customer mentioned.
    pub numbers: Numbers,
}

/// What the human taking over from a bot needs to know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandoffContext {
    /// The trigger.
    pub reason: HandoffReason,
    /// The bot's own reason, when the bot asked.
    pub bot_reason: Option<String>,
    /// The bot's summary, when it gave one.
    pub bot_summary: Option<String>,
    /// The smoothed sentiment at handoff.
    pub sentiment: Option<f32>,
}

/// Everything the router asks the outside world to do or know. Effects are data: the engine
/// delivers them, metrics count them, a journal can replay the commands that made them.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// A conversation moved to a new state.
    StateChanged {
        /// Which.
        conversation: ConversationId,
        /// Its new state.
        state: State,
        /// The queue it belongs to.
        queue: QueueId,
    },
    /// An offer to an agent (a bot's offers come already assigned).
    Offer {
        /// To whom.
        agent: AgentId,
        /// Which conversation.
        conversation: ConversationId,
        /// What the agent needs to take over. It goes to this one agent only; it sits behind an
        /// `Arc` so the effect stays small and cloning it (a test, a journal) copies no transcript.
        context: Arc<OfferContext>,
        /// Whether it was accepted on the agent's behalf.
        auto_accepted: bool,
    },
    /// An offer is no longer valid for this agent.
    OfferWithdrawn {
        /// To whom.
        agent: AgentId,
        /// Which conversation.
        conversation: ConversationId,
        /// Why.
        reason: WithdrawReason,
    },
    /// A customer message for the serving agent or bot.
    ToAgent {
        /// To whom.
        agent: AgentId,
        /// Which conversation.
        conversation: ConversationId,
        /// The message.
        message: Message,
    },
    /// A reply for the customer, through their connector.
    ToCustomer {
        /// Through which connector.
        connector: ConnectorId,
        /// Which conversation.
        conversation: ConversationId,
        /// Who wrote it.
        from: Speaker,
        /// The message.
        message: Message,
    },
    /// The conversation left the bot (or skipped it) for the human queue; sent to the connector
    /// so the customer can be told a person is coming.
    Handoff {
        /// Through which connector.
        connector: ConnectorId,
        /// Which conversation.
        conversation: ConversationId,
        /// The bot it left, if it had one.
        bot: Option<AgentId>,
        /// Why.
        reason: HandoffReason,
    },
    /// A human agent took the conversation (sent to the connector, so the customer can be told).
    AgentJoined {
        /// Through which connector.
        connector: ConnectorId,
        /// Which conversation.
        conversation: ConversationId,
        /// Who.
        agent: AgentId,
    },
    /// Queue position (1 = next) and estimated wait, sent when either changed.
    QueueUpdate {
        /// Through which connector.
        connector: ConnectorId,
        /// Which conversation.
        conversation: ConversationId,
        /// 1-based position in its queue.
        position: u32,
        /// Estimated wait in milliseconds, once a service rate has been observed.
        ewt_ms: Option<Millis>,
    },
    /// A conversation ended; sent to its connector and to its agent if it had one.
    Ended {
        /// The connector that owns it.
        connector: ConnectorId,
        /// The agent serving it, if any.
        agent: Option<AgentId>,
        /// Which conversation.
        conversation: ConversationId,
        /// Why.
        reason: CloseReason,
        /// Abandoned (left while waiting) rather than closed.
        abandoned: bool,
    },
    /// An agent's status changed because of the router or a supervisor.
    AgentStatusChanged {
        /// Who.
        agent: AgentId,
        /// New status.
        status: AgentStatus,
        /// Why.
        reason: StatusReason,
    },
    /// An agent reconnected within grace and keeps these conversations.
    AgentResumed {
        /// Who.
        agent: AgentId,
        /// Conversations offered to or assigned to them, in id order.
        conversations: Vec<ConversationId>,
    },
    /// A customer's wait ended: a human agent took the conversation (accepted the offer, or it
    /// was auto-accepted) for the first time in its life. Measured from when the customer started
    /// waiting for a human against the first estimate and the SLA target. Neither an offer nor a
    /// bot ends a wait; a later reassignment (after a transfer or a rescue) is not observed again.
    WaitObserved {
        /// The queue.
        queue: QueueId,
        /// The class (for the SLA).
        class: Class,
        /// First estimate given to the customer, if one was.
        predicted_ms: Option<Millis>,
        /// How long they actually waited.
        actual_ms: Millis,
        /// Whether the wait was within the class's target.
        sla_met: bool,
    },
    /// A command was refused; the router state did not change.
    Refused {
        /// Who sent it.
        to: Requester,
        /// Which conversation it named, if any.
        conversation: Option<ConversationId>,
        /// Why.
        code: RefusalCode,
    },
}
