//! Router effects → wire messages: pure functions of an effect, its recipient, the recipient's
//! next seq and the tenant's directory (names and the connectors' own conversation ids).
//!
//! Connectors see their own conversation ids; agents see ours (decimal numbers), which say
//! nothing about the customer and only mean something inside their tenant.

use std::sync::Arc;

use rustc_hash::FxHashMap;
use switchboard_protocol::{
    AgentJoined, AgentRef, AgentStatus as WireStatus, Author, AuthorRole, Class as WireClass,
    CloseReason as WireClose, Closed, CustomerMessageToAgent, ErrorCode, Handoff,
    HandoffContext as WireHandoff, HandoffReason as WireReason, Offer, OfferContext as WireContext,
    OfferCustomer, OfferWithdrawn, Private, QueuePosition, Reply, Resumed, ServerMessage,
    Speaker as WireSpeaker, StatusChanged, StatusReason as WireStatusReason, Tier as WireTier,
    TranscriptLine as WireLine, WithdrawReason as WireWithdraw,
};
use switchboard_router::policy::Policy;
use switchboard_router::{
    AgentId, AgentStatus, Class, CloseReason, ConnectorId, ConversationId, Effect, HandoffReason,
    OfferContext, RefusalCode, Requester, Speaker, StatusReason, Tier, WithdrawReason,
};

use crate::names::{AgentInfo, Names};
use crate::session::Peer;

/// What translating an effect needs to know of the tenant: read-only.
pub(crate) struct Directory<'a> {
    pub(crate) agents: &'a Names,
    pub(crate) agent_info: &'a FxHashMap<AgentId, AgentInfo>,
    /// Ours → (connector, its id), while the router knows the conversation.
    pub(crate) external: &'a FxHashMap<ConversationId, (ConnectorId, Arc<str>)>,
    pub(crate) policy: &'a Policy,
}

impl Directory<'_> {
    /// The connector's id for one of our conversations ("" once forgotten).
    pub(crate) fn external_id(&self, conversation: ConversationId) -> String {
        self.external
            .get(&conversation)
            .map_or_else(String::new, |(_, id)| id.to_string())
    }

    /// How a conversation is named to `peer`.
    pub(crate) fn shown_to(&self, peer: Peer, conversation: ConversationId) -> String {
        match peer {
            Peer::Connector(_) => self.external_id(conversation),
            Peer::Agent(_) => conversation.0.to_string(),
        }
    }
}

/// Who receives the numbered messages an effect turns into (at most two: `Ended` tells both
/// sides). Refusals and bookkeeping effects have none: they are not replayed messages.
pub(crate) fn recipients(effect: &Effect) -> [Option<Peer>; 2] {
    match effect {
        Effect::Offer { agent, .. }
        | Effect::OfferWithdrawn { agent, .. }
        | Effect::ToAgent { agent, .. }
        | Effect::AgentStatusChanged { agent, .. }
        | Effect::AgentResumed { agent, .. } => [Some(Peer::Agent(*agent)), None],
        Effect::ToCustomer { connector, .. }
        | Effect::AgentJoined { connector, .. }
        | Effect::QueueUpdate { connector, .. }
        | Effect::Handoff { connector, .. } => [Some(Peer::Connector(*connector)), None],
        Effect::Ended {
            connector, agent, ..
        } => [Some(Peer::Connector(*connector)), agent.map(Peer::Agent)],
        Effect::StateChanged { .. } | Effect::WaitObserved { .. } | Effect::Refused { .. } => {
            [None, None]
        }
    }
}

/// The numbered message `effect` means for `to`, with its seq; None for effects that are not
/// messages (see [`recipients`]).
pub(crate) fn server_message(
    effect: &Effect,
    to: Peer,
    seq: u64,
    dir: &Directory<'_>,
) -> Option<ServerMessage> {
    match effect {
        Effect::ToCustomer { .. }
        | Effect::AgentJoined { .. }
        | Effect::QueueUpdate { .. }
        | Effect::Handoff { .. } => to_connector(effect, seq, dir),
        Effect::Ended {
            conversation,
            reason,
            abandoned,
            ..
        } => Some(ServerMessage::Closed(Closed {
            seq,
            conversation: dir.shown_to(to, *conversation),
            reason: wire_close(*reason),
            abandoned: *abandoned,
        })),
        _ => to_agent(effect, seq, dir),
    }
}

/// The messages only a connector receives; they name the connector's own conversation id.
fn to_connector(effect: &Effect, seq: u64, dir: &Directory<'_>) -> Option<ServerMessage> {
    Some(match effect {
        Effect::ToCustomer {
            conversation,
            from,
            message,
            ..
        } => ServerMessage::Reply(Reply {
            seq,
            conversation: dir.external_id(*conversation),
            message_id: message.id.as_deref().unwrap_or_default().to_string(),
            text: Private(message.text.to_string()),
            from: author(dir, *from),
        }),
        Effect::AgentJoined {
            conversation,
            agent,
            ..
        } => ServerMessage::AgentJoined(AgentJoined {
            seq,
            conversation: dir.external_id(*conversation),
            agent: agent_ref(dir, *agent),
        }),
        Effect::QueueUpdate {
            conversation,
            position,
            ewt_ms,
            ..
        } => ServerMessage::Queue(QueuePosition {
            seq,
            conversation: dir.external_id(*conversation),
            position: *position,
            ewt_secs: ewt_ms.map(|ms| (ms / 1000) as u32),
        }),
        Effect::Handoff {
            conversation,
            reason,
            ..
        } => ServerMessage::Handoff(Handoff {
            seq,
            conversation: dir.external_id(*conversation),
            reason: wire_reason(*reason),
        }),
        _ => return None,
    })
}

/// The messages only an agent receives; they name our conversation id.
fn to_agent(effect: &Effect, seq: u64, dir: &Directory<'_>) -> Option<ServerMessage> {
    Some(match effect {
        Effect::Offer {
            conversation,
            context,
            auto_accepted,
            ..
        } => ServerMessage::Offer(Box::new(Offer {
            seq,
            conversation: conversation.0.to_string(),
            auto_accepted: *auto_accepted,
            expires_in_secs: (!auto_accepted)
                .then_some((dir.policy.offer_timeout_ms / 1000) as u32),
            context: wire_context(dir, context),
        })),
        Effect::OfferWithdrawn {
            conversation,
            reason,
            ..
        } => ServerMessage::OfferWithdrawn(OfferWithdrawn {
            seq,
            conversation: conversation.0.to_string(),
            reason: wire_withdraw(*reason),
        }),
        Effect::ToAgent {
            conversation,
            message,
            ..
        } => ServerMessage::CustomerMessage(CustomerMessageToAgent {
            seq,
            conversation: conversation.0.to_string(),
            message_id: message.id.as_deref().unwrap_or_default().to_string(),
            text: Private(message.text.to_string()),
            sentiment: message.sentiment,
        }),
        Effect::AgentStatusChanged { status, reason, .. } => ServerMessage::Status(StatusChanged {
            seq,
            status: wire_status(*status),
            reason: wire_status_reason(*reason),
        }),
        Effect::AgentResumed { conversations, .. } => ServerMessage::Resumed(Resumed {
            seq,
            conversations: conversations.iter().map(|c| c.0.to_string()).collect(),
        }),
        _ => return None,
    })
}

/// Who a refusal is for.
pub(crate) fn requester(to: Requester) -> Peer {
    match to {
        Requester::Connector(c) => Peer::Connector(c),
        Requester::Agent(a) => Peer::Agent(a),
    }
}

/// The error code a client sees for a router refusal.
pub(crate) fn error_code(code: RefusalCode) -> ErrorCode {
    match code {
        RefusalCode::UnknownConversation => ErrorCode::UnknownConversation,
        RefusalCode::DuplicateConversation => ErrorCode::Duplicate,
        RefusalCode::UnknownAgent => ErrorCode::Forbidden,
        RefusalCode::NotOffered => ErrorCode::NotOffered,
        RefusalCode::NotAssigned => ErrorCode::NotAssigned,
        RefusalCode::ConversationEnded => ErrorCode::ConversationEnded,
        RefusalCode::UnknownQueue => ErrorCode::UnknownQueue,
        RefusalCode::TargetUnavailable => ErrorCode::TargetUnavailable,
        RefusalCode::InvalidCapacity => ErrorCode::InvalidField,
    }
}

fn wire_withdraw(reason: WithdrawReason) -> WireWithdraw {
    match reason {
        WithdrawReason::Timeout => WireWithdraw::Timeout,
        WithdrawReason::Ended => WireWithdraw::Ended,
        WithdrawReason::AgentGone => WireWithdraw::AgentGone,
        WithdrawReason::HandedOff => WireWithdraw::HandedOff,
    }
}

fn wire_close(reason: CloseReason) -> WireClose {
    match reason {
        CloseReason::Agent => WireClose::Agent,
        CloseReason::Customer => WireClose::Customer,
        CloseReason::Connector => WireClose::Connector,
        CloseReason::Idle => WireClose::Idle,
    }
}

fn wire_status(status: AgentStatus) -> WireStatus {
    match status {
        AgentStatus::Available => WireStatus::Available,
        AgentStatus::Away => WireStatus::Away,
        AgentStatus::Offline => WireStatus::Offline,
    }
}

fn wire_status_reason(reason: StatusReason) -> WireStatusReason {
    match reason {
        StatusReason::Requested => WireStatusReason::Requested,
        StatusReason::Supervisor => WireStatusReason::Supervisor,
        StatusReason::MissedOffers => WireStatusReason::MissedOffers,
        StatusReason::GraceExpired => WireStatusReason::GraceExpired,
    }
}

fn wire_reason(reason: HandoffReason) -> WireReason {
    match reason {
        HandoffReason::CustomerRequest => WireReason::CustomerRequest,
        HandoffReason::BotRequest => WireReason::BotRequest,
        HandoffReason::BotUnresolved => WireReason::BotUnresolved,
        HandoffReason::NegativeSentiment => WireReason::NegativeSentiment,
        HandoffReason::Rule => WireReason::Rule,
        HandoffReason::BotUnavailable => WireReason::BotUnavailable,
    }
}

fn agent_ref(dir: &Directory<'_>, agent: AgentId) -> AgentRef {
    AgentRef {
        id: dir.agents.name(agent.0).to_string(),
        name: dir
            .agent_info
            .get(&agent)
            .and_then(|i| i.display_name.clone()),
    }
}

/// The author of a reply to a customer: always a bot or an agent.
fn author(dir: &Directory<'_>, from: Speaker) -> Author {
    let (role, agent) = match from {
        Speaker::Bot(a) => (AuthorRole::Bot, Some(a)),
        Speaker::Agent(a) => (AuthorRole::Agent, Some(a)),
        Speaker::Customer => (AuthorRole::Agent, None),
    };
    let AgentRef { id, name } = agent.map_or(
        AgentRef {
            id: String::new(),
            name: None,
        },
        |a| agent_ref(dir, a),
    );
    Author { role, id, name }
}

fn wire_class(class: Class) -> WireClass {
    match class {
        Class::Vip => WireClass::Vip,
        Class::Complaint => WireClass::Complaint,
        Class::Urgent => WireClass::Urgent,
        Class::Standard => WireClass::Standard,
    }
}

fn wire_context(dir: &Directory<'_>, context: &OfferContext) -> WireContext {
    let profile = &context.profile;
    WireContext {
        queue: dir
            .policy
            .queues
            .get(usize::from(context.queue.0))
            .map_or_else(String::new, |q| q.name.clone()),
        class: wire_class(context.class),
        customer: OfferCustomer {
            id: Private(profile.customer_id.clone()),
            tier: match profile.tier {
                Tier::Standard => WireTier::Standard,
                Tier::Vip(level) => WireTier::Vip(level),
            },
            tags: profile.tags.clone(),
            name: profile.name.clone().map(Private),
        },
        channel: profile.channel.clone(),
        language: profile.language.clone(),
        intent: profile.intent.clone(),
        order_value: profile.order_value,
        waited_secs: (context.waited_ms / 1000) as u32,
        returning_customer: context.returning_customer,
        handoff: context.handoff.as_ref().map(|h| WireHandoff {
            reason: wire_reason(h.reason),
            bot_reason: h.bot_reason.clone().map(Private),
            bot_summary: h.bot_summary.clone().map(Private),
            sentiment: h.sentiment,
            sentiment_trend: context.sentiment_trend.clone(),
        }),
        transcript: context
            .transcript
            .iter()
            .map(|line| WireLine {
                at: line.at,
                from: match line.speaker {
                    Speaker::Customer => WireSpeaker::Customer,
                    Speaker::Bot(_) => WireSpeaker::Bot,
                    Speaker::Agent(_) => WireSpeaker::Agent,
                },
                text: Private(line.message.text.to_string()),
                message_id: line.message.id.as_deref().unwrap_or_default().to_string(),
            })
            .collect(),
        transcript_truncated: (context.transcript_truncated > 0)
            .then_some(context.transcript_truncated),
        order_numbers: context
            .numbers
            .orders
            .iter()
            .cloned()
            .map(Private)
            .collect(),
        tracking_numbers: context
            .numbers
            .tracking
            .iter()
            .cloned()
            .map(Private)
            .collect(),
    }
}
