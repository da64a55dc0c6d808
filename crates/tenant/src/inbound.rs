//! Client messages → what they ask of the tenant: pure functions of the message (and, for
//! agents, the directory of agent names). Lookups of the tenant's state (is this conversation
//! open, is this message a duplicate) are the core's; these only parse and reshape.

use std::sync::Arc;

use switchboard_protocol::{
    AgentStatus as WireStatus, ClientMessage, CustomerMessage, ErrorCode,
    TransferTarget as WireTarget, DEFAULT_LANGUAGE,
};
use switchboard_router::{
    AgentId, AgentStatus, Command, ConversationId, CustomerDescription, CustomerProfile, Message,
    ProfileUpdate, Tier, TransferTarget,
};

use crate::names::Names;
use crate::recent::RecentIds;

/// A client message refused before it reaches the router: the error the client is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) code: ErrorCode,
    /// What the client is told; the code's own description unless more is known.
    pub(crate) message: &'static str,
    /// The conversation as the client named it.
    pub(crate) conversation: Option<String>,
    /// When a rate-limited client may send it again.
    pub(crate) retry_after_ms: Option<u64>,
}

impl Refusal {
    pub(crate) fn new(code: ErrorCode, conversation: Option<String>) -> Self {
        Refusal {
            code,
            message: code.description(),
            conversation,
            retry_after_ms: None,
        }
    }
}

/// A customer's chat message, reshaped for the router.
pub(crate) struct CustomerChat {
    /// The connector's conversation id.
    pub(crate) conversation: String,
    /// Its duplicate-window key.
    pub(crate) key: u64,
    pub(crate) message: Message,
    pub(crate) update: ProfileUpdate,
}

/// What a connector's message asks. Lives for one message and is moved, never stored: boxing
/// the chat would cost an allocation per customer message.
#[allow(clippy::large_enum_variant)]
pub(crate) enum ConnectorOrder {
    Chat(CustomerChat),
    /// The customer left the conversation the connector names.
    Left(String),
    /// The connector closes the conversation it names.
    Close(String),
}

/// Which counter a command counts on unless it is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tally {
    None,
    Rejected,
    Transferred,
}

/// What an agent's message asks.
pub(crate) enum AgentOrder {
    /// Apply this command.
    Command(Command, Tally),
    /// A chat message: refused as a duplicate if the agent's side sent `key` recently, and
    /// remembered unless refused.
    Chat {
        command: Command,
        conversation: ConversationId,
        /// The conversation as the agent named it.
        named: String,
        key: u64,
    },
    /// A status change; an agent who went offline logs in again by becoming available or away.
    Status(AgentStatus),
}

/// Translates a connector's message; the decoder lets only connector messages through on a
/// connector connection, so anything else is a defect, refused not crashed.
pub(crate) fn connector_order(message: ClientMessage) -> Result<ConnectorOrder, Refusal> {
    match message {
        ClientMessage::CustomerMessage(m) => Ok(ConnectorOrder::Chat(customer_chat(m))),
        ClientMessage::CustomerLeft(r) => Ok(ConnectorOrder::Left(r.conversation)),
        ClientMessage::Close(r) => Ok(ConnectorOrder::Close(r.conversation)),
        _ => Err(Refusal::new(ErrorCode::UnknownType, None)),
    }
}

fn customer_chat(m: CustomerMessage) -> CustomerChat {
    CustomerChat {
        key: RecentIds::key(&m.message_id),
        message: Message {
            text: Arc::from(m.text.into_inner()),
            sentiment: m.sentiment,
            id: Some(Arc::from(m.message_id)),
        },
        update: ProfileUpdate {
            customer: m.customer.map(describe),
            channel: m.channel,
            language: m.language,
            intent: m.intent,
            order_value: m.order_value,
        },
        conversation: m.conversation,
    }
}

/// Our conversation id as an agent names it (a decimal number).
fn conversation_of(id: &str) -> Result<ConversationId, Refusal> {
    id.parse::<u64>()
        .map(ConversationId)
        .map_err(|_| Refusal::new(ErrorCode::UnknownConversation, Some(id.to_string())))
}

/// Translates an agent's message (from a connection authenticated as `agent`).
pub(crate) fn agent_order(
    agent: AgentId,
    message: ClientMessage,
    agents: &Names,
) -> Result<AgentOrder, Refusal> {
    let command = match message {
        ClientMessage::Status(s) => return Ok(AgentOrder::Status(status(s.status))),
        ClientMessage::Message(m) => {
            let conversation = conversation_of(&m.conversation)?;
            let key = RecentIds::key(&m.message_id);
            let command = Command::AgentMessage {
                agent,
                conversation,
                message: Message {
                    text: Arc::from(m.text.into_inner()),
                    sentiment: None,
                    id: Some(Arc::from(m.message_id)),
                },
            };
            return Ok(AgentOrder::Chat {
                command,
                conversation,
                named: m.conversation,
                key,
            });
        }
        ClientMessage::Transfer(x) => {
            let conversation = conversation_of(&x.conversation)?;
            let target = match x.target {
                WireTarget::Queue(queue) => TransferTarget::Queue(queue),
                WireTarget::Agent(sub) => match agents.get(&sub) {
                    Some(id) => TransferTarget::Agent(AgentId(id)),
                    None => {
                        let code = ErrorCode::TargetUnavailable;
                        return Err(Refusal::new(code, Some(x.conversation)));
                    }
                },
            };
            let command = Command::Transfer {
                agent,
                conversation,
                target,
            };
            return Ok(AgentOrder::Command(command, Tally::Transferred));
        }
        ClientMessage::Reject(r) => {
            let command = Command::Reject {
                agent,
                conversation: conversation_of(&r.conversation)?,
            };
            return Ok(AgentOrder::Command(command, Tally::Rejected));
        }
        other => conversation_command(agent, other)?,
    };
    Ok(AgentOrder::Command(command, Tally::None))
}

/// The agent commands that name one conversation and carry nothing else to look up.
fn conversation_command(agent: AgentId, message: ClientMessage) -> Result<Command, Refusal> {
    Ok(match message {
        ClientMessage::Accept(r) => Command::Accept {
            agent,
            conversation: conversation_of(&r.conversation)?,
        },
        ClientMessage::Close(r) => Command::AgentClose {
            agent,
            conversation: conversation_of(&r.conversation)?,
        },
        ClientMessage::HandBack(r) => Command::HandBack {
            agent,
            conversation: conversation_of(&r.conversation)?,
        },
        ClientMessage::BotResult(r) => Command::BotResult {
            agent,
            conversation: conversation_of(&r.conversation)?,
            resolved: r.resolved,
        },
        ClientMessage::BotHandoff(h) => Command::BotHandoff {
            agent,
            conversation: conversation_of(&h.conversation)?,
            reason: h.reason.into_inner(),
            summary: h.summary.map(|s| s.into_inner()),
        },
        _ => return Err(Refusal::new(ErrorCode::UnknownType, None)),
    })
}

fn status(status: WireStatus) -> AgentStatus {
    match status {
        WireStatus::Available => AgentStatus::Available,
        WireStatus::Away => AgentStatus::Away,
        WireStatus::Offline => AgentStatus::Offline,
    }
}

/// The router's description of a customer, from the wire's.
fn describe(customer: switchboard_protocol::Customer) -> CustomerDescription {
    CustomerDescription {
        customer_id: customer.id.into_inner(),
        name: customer.name.map(|n| n.into_inner()),
        tier: match customer.tier {
            switchboard_protocol::Tier::Standard => Tier::Standard,
            switchboard_protocol::Tier::Vip(level) => Tier::Vip(level),
        },
        tags: customer.tags,
    }
}

/// The profile of a conversation's opening message, which must describe the customer fully;
/// Err names what is missing.
pub(crate) fn opening_profile(update: ProfileUpdate) -> Result<CustomerProfile, &'static str> {
    let customer = update
        .customer
        .ok_or("missing field `customer`: the message that opens a conversation needs it")?;
    let channel = update
        .channel
        .ok_or("missing field `channel`: the message that opens a conversation needs it")?;
    Ok(CustomerProfile {
        customer_id: customer.customer_id,
        name: customer.name,
        tier: customer.tier,
        tags: customer.tags,
        intent: update.intent,
        channel,
        language: update
            .language
            .unwrap_or_else(|| DEFAULT_LANGUAGE.to_string()),
        order_value: update.order_value,
    })
}
