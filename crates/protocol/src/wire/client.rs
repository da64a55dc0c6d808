//! Client → server messages. Every struct denies unknown fields: a typo such as `messageId` must
//! not silently drop data.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::customer::{optional_object, Customer};
use super::Private;
use crate::codec::Coded;
use crate::error::ErrorCode;

/// A message from a connector or an agent client. Every one carries the client's `seq`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Both roles: opens the session. Must be the first message on a connection.
    Hello(Hello),
    /// Connector: a customer wrote. The first one for a conversation id opens the conversation.
    CustomerMessage(CustomerMessage),
    /// Connector: the customer left (a waiting conversation is abandoned, any other is closed).
    CustomerLeft(ConversationRef),
    /// Both roles: end a conversation (a connector's own, or one assigned to the agent).
    Close(ConversationRef),
    /// Both roles: keep-alive; answered by `pong`.
    Ping(Ping),
    /// Agent: set availability.
    Status(SetStatus),
    /// Agent: accept an offer.
    Accept(ConversationRef),
    /// Agent: reject an offer; it goes to the next eligible agent.
    Reject(ConversationRef),
    /// Agent (human or bot): reply to the customer.
    Message(AgentMessage),
    /// Agent: move an assigned conversation to a queue or to another agent.
    Transfer(Transfer),
    /// Bot: whether the bot's last reply resolved the customer's question.
    BotResult(BotResult),
    /// Bot: step back and ask for a human.
    BotHandoff(BotHandoff),
    /// Agent (human): hand an assigned conversation back to a bot.
    HandBack(ConversationRef),
}

impl ClientMessage {
    /// The wire `type`, e.g. `"customer_message"`. A bounded set: safe as a metrics label.
    pub fn type_name(&self) -> &'static str {
        match self {
            ClientMessage::Hello(_) => "hello",
            ClientMessage::CustomerMessage(_) => "customer_message",
            ClientMessage::CustomerLeft(_) => "customer_left",
            ClientMessage::Close(_) => "close",
            ClientMessage::Ping(_) => "ping",
            ClientMessage::Status(_) => "status",
            ClientMessage::Accept(_) => "accept",
            ClientMessage::Reject(_) => "reject",
            ClientMessage::Message(_) => "message",
            ClientMessage::Transfer(_) => "transfer",
            ClientMessage::BotResult(_) => "bot_result",
            ClientMessage::BotHandoff(_) => "bot_handoff",
            ClientMessage::HandBack(_) => "hand_back",
        }
    }

    /// The client's sequence number.
    pub fn seq(&self) -> u64 {
        match self {
            ClientMessage::Hello(m) => m.seq,
            ClientMessage::CustomerMessage(m) => m.seq,
            ClientMessage::CustomerLeft(m)
            | ClientMessage::Close(m)
            | ClientMessage::Accept(m)
            | ClientMessage::Reject(m)
            | ClientMessage::HandBack(m) => m.seq,
            ClientMessage::Ping(m) => m.seq,
            ClientMessage::Status(m) => m.seq,
            ClientMessage::Message(m) => m.seq,
            ClientMessage::Transfer(m) => m.seq,
            ClientMessage::BotResult(m) => m.seq,
            ClientMessage::BotHandoff(m) => m.seq,
        }
    }

    /// The conversation the message is about, if it is about one.
    pub fn conversation(&self) -> Option<&str> {
        match self {
            ClientMessage::Hello(_) | ClientMessage::Ping(_) | ClientMessage::Status(_) => None,
            ClientMessage::CustomerMessage(m) => Some(&m.conversation),
            ClientMessage::CustomerLeft(m)
            | ClientMessage::Close(m)
            | ClientMessage::Accept(m)
            | ClientMessage::Reject(m)
            | ClientMessage::HandBack(m) => Some(&m.conversation),
            ClientMessage::Message(m) => Some(&m.conversation),
            ClientMessage::Transfer(m) => Some(&m.conversation),
            ClientMessage::BotResult(m) => Some(&m.conversation),
            ClientMessage::BotHandoff(m) => Some(&m.conversation),
        }
    }

    /// The author's `message_id`, for chat messages (the ones checked for duplicates).
    pub fn message_id(&self) -> Option<&str> {
        match self {
            ClientMessage::CustomerMessage(m) => Some(&m.message_id),
            ClientMessage::Message(m) => Some(&m.message_id),
            _ => None,
        }
    }
}

/// `hello`: the first message on every connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hello {
    /// Client sequence number.
    pub seq: u64,
    /// Protocol version; must be [`PROTOCOL_VERSION`](crate::PROTOCOL_VERSION).
    pub protocol: u32,
    /// Client software and version, e.g. `"wechat-connector/2.3.1"`. For diagnostics only.
    pub client: String,
    /// Present to continue a previous session after a reconnect.
    #[serde(
        default,
        deserialize_with = "optional_object",
        skip_serializing_if = "Option::is_none"
    )]
    pub resume: Option<Resume>,
}

/// What a reconnecting client asks to continue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resume {
    /// The `session` from the previous `welcome`.
    pub session: String,
    /// The highest server `seq` the client processed; later ones are replayed.
    pub last_seq: u64,
}

/// `customer_message`: a customer wrote. Stateless: every message carries the full customer
/// and channel description, so the first one seen opens the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerMessage {
    /// Client sequence number.
    pub seq: u64,
    /// The connector's conversation id, unique within the tenant.
    pub conversation: String,
    /// The connector's id for this message, unique within the conversation.
    pub message_id: String,
    /// What the customer wrote.
    pub text: Private,
    /// Who the customer is: required on the message that opens a conversation; on a later one
    /// it replaces the description agents see.
    #[serde(
        default,
        deserialize_with = "optional_object",
        skip_serializing_if = "Option::is_none"
    )]
    pub customer: Option<Customer>,
    /// Channel name, e.g. `"app"`, `"wechat"`, `"douyin"`: required on the message that opens a
    /// conversation, optional after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Language tag; `"zh"` when the opening message omits it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Intent or category, if the connector classified the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
    /// Order value in minor currency units (fen, cents), if an order is involved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_value: Option<u64>,
    /// The connector's own sentiment score in [-1, 1], if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<f32>,
    /// When the customer sent it, Unix milliseconds, if the platform says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<u64>,
}

/// `customer_left`, `close`, `accept`, `reject`: an action on one conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversationRef {
    /// Client sequence number.
    pub seq: u64,
    /// The conversation.
    pub conversation: String,
}

/// `ping`: keep-alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ping {
    /// Client sequence number; `pong` echoes it.
    pub seq: u64,
}

/// Whether an agent takes new conversations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    /// Takes new offers while below capacity.
    Available,
    /// Keeps current conversations, takes no new ones.
    Away,
    /// Logged out: everything held goes back to the queue.
    Offline,
}

/// `status` from an agent: set availability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetStatus {
    /// Client sequence number.
    pub seq: u64,
    /// The new status.
    pub status: AgentStatus,
}

/// `message` from an agent or bot: a reply to the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentMessage {
    /// Client sequence number.
    pub seq: u64,
    /// The conversation (must be assigned to the sender).
    pub conversation: String,
    /// The author's id for this message, unique within the conversation.
    pub message_id: String,
    /// The reply.
    pub text: Private,
}

/// Where a transfer goes: exactly one of `to_queue` and `to_agent` on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TransferTarget {
    /// Back to waiting, in the named queue.
    Queue(String),
    /// Offered to this agent only (their JWT `sub`).
    Agent(String),
}

/// `transfer`: move an assigned conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// Client sequence number.
    pub seq: u64,
    /// The conversation (must be assigned to the sender).
    pub conversation: String,
    /// Where to.
    pub target: TransferTarget,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransferIn {
    seq: u64,
    conversation: String,
    #[serde(default)]
    to_queue: Option<String>,
    #[serde(default)]
    to_agent: Option<String>,
}

impl<'de> Deserialize<'de> for Transfer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Transfer::try_from(TransferIn::deserialize(d)?).map_err(Coded::raise)
    }
}

impl TryFrom<TransferIn> for Transfer {
    type Error = Coded;

    fn try_from(wire: TransferIn) -> Result<Self, Coded> {
        let target = match (wire.to_queue, wire.to_agent) {
            (Some(queue), None) => TransferTarget::Queue(queue),
            (None, Some(agent)) => TransferTarget::Agent(agent),
            _ => {
                return Err(Coded::new(
                    ErrorCode::InvalidField,
                    "exactly one of `to_queue` and `to_agent` is required",
                ))
            }
        };
        Ok(Transfer {
            seq: wire.seq,
            conversation: wire.conversation,
            target,
        })
    }
}

/// The wire shape of [`Transfer`], borrowed so encoding never clones.
#[derive(Serialize)]
struct TransferOut<'a> {
    seq: u64,
    conversation: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    to_queue: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to_agent: Option<&'a str>,
}

impl Serialize for Transfer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (to_queue, to_agent) = match &self.target {
            TransferTarget::Queue(queue) => (Some(queue.as_str()), None),
            TransferTarget::Agent(agent) => (None, Some(agent.as_str())),
        };
        TransferOut {
            seq: self.seq,
            conversation: &self.conversation,
            to_queue,
            to_agent,
        }
        .serialize(s)
    }
}

/// `bot_result`: the bot's verdict on its last reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotResult {
    /// Client sequence number.
    pub seq: u64,
    /// The conversation.
    pub conversation: String,
    /// Whether the customer's question was resolved.
    pub resolved: bool,
}

/// `bot_handoff`: the bot asks for a human.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotHandoff {
    /// Client sequence number.
    pub seq: u64,
    /// The conversation.
    pub conversation: String,
    /// Why, for the human who takes over (up to 256 characters).
    pub reason: Private,
    /// What the bot learned so far (up to 4096 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Private>,
}
