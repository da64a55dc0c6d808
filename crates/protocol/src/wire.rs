//! Every message on the wire, both directions, as Rust types.
//!
//! The field names and enum spellings here *are* the protocol: changing one breaks clients.
//! Client message structs reject unknown fields (a typo such as `messageId` must not silently
//! drop data); server message structs ignore them, so Rust clients built with an older version
//! of this module keep working when the gateway adds a field.
//!
//! Personal data (chat text, customer ids and names, order and tracking numbers, bot summaries)
//! is held in [`Private`], whose `Debug` shows only a length, so a stray `{:?}` in a log line
//! leaks nothing.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::codec::Coded;
use super::error::{ErrorCode, ProtocolError};

/// Which endpoint a connection came in on; decides which client messages it may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientRole {
    /// A channel connector (`/v1/connector`).
    Connector,
    /// A human agent's desktop or a bot service (`/v1/agent`).
    Agent,
}

impl fmt::Display for ClientRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClientRole::Connector => "connector",
            ClientRole::Agent => "agent",
        })
    }
}

/// A string that is personal data. Serialized as a plain JSON string; `Debug` shows only its
/// length in characters.
#[derive(Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Private(pub String);

impl Private {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The owned text.
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl Deref for Private {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<String> for Private {
    fn from(text: String) -> Self {
        Private(text)
    }
}

impl From<&str> for Private {
    fn from(text: &str) -> Self {
        Private(text.to_owned())
    }
}

impl fmt::Debug for Private {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} chars>", self.0.chars().count())
    }
}

// ---------------------------------------------------------------------------------------------
// Client → server
// ---------------------------------------------------------------------------------------------

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
    /// Protocol version; must be [`PROTOCOL_VERSION`](super::PROTOCOL_VERSION).
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

/// Deserializes a struct from a JSON object only. serde's derived structs also accept an array
/// of their fields in declaration order; a client message must not be readable two ways.
fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    struct ObjectVisitor<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::deserialize(MapAccessDeserializer::new(map))
        }
    }

    d.deserialize_map(ObjectVisitor(PhantomData))
}

fn optional_object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    struct Object<T>(T);

    impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            object(d).map(Object)
        }
    }

    Ok(Option::<Object<T>>::deserialize(d)?.map(|o| o.0))
}

/// The language assumed when a customer message names none.
pub const DEFAULT_LANGUAGE: &str = "zh";

fn null_as_empty<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// A customer's tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tier {
    /// No VIP level.
    Standard,
    /// VIP of the given level, 1 to 9; higher is more valuable.
    Vip(u8),
}

/// Highest VIP level.
pub const MAX_VIP_LEVEL: u8 = 9;

/// The wire spelling of a tier; the level travels beside it as `vip_level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum TierName {
    Standard,
    Vip,
}

fn tier_from_wire(name: TierName, level: Option<u8>) -> Result<Tier, Coded> {
    match (name, level) {
        (TierName::Standard, None) => Ok(Tier::Standard),
        (TierName::Standard, Some(_)) => Err(Coded::new(
            ErrorCode::InvalidField,
            "field `customer.vip_level` is only allowed with tier `vip`",
        )),
        (TierName::Vip, None) => Ok(Tier::Vip(1)),
        (TierName::Vip, Some(level @ 1..=MAX_VIP_LEVEL)) => Ok(Tier::Vip(level)),
        (TierName::Vip, Some(_)) => Err(Coded::new(
            ErrorCode::InvalidField,
            "field `customer.vip_level` must be between 1 and 9",
        )),
    }
}

fn tier_to_wire(tier: Tier) -> (TierName, Option<u8>) {
    match tier {
        Tier::Standard => (TierName::Standard, None),
        Tier::Vip(level) => (TierName::Vip, Some(level)),
    }
}

/// Who the customer is, as the connector describes them in `customer_message`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "CustomerIn")]
pub struct Customer {
    /// The platform's customer id.
    pub id: Private,
    /// Standard or VIP (`tier` plus `vip_level` on the wire; `vip_level` defaults to 1).
    pub tier: Tier,
    /// Free-form platform tags, e.g. `"new_buyer"`. Empty when omitted.
    pub tags: Vec<String>,
    /// Display name, if known.
    pub name: Option<Private>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CustomerIn {
    id: Private,
    tier: TierName,
    #[serde(default)]
    vip_level: Option<u8>,
    #[serde(default, deserialize_with = "null_as_empty")]
    tags: Vec<String>,
    #[serde(default)]
    name: Option<Private>,
}

impl TryFrom<CustomerIn> for Customer {
    type Error = Coded;

    fn try_from(wire: CustomerIn) -> Result<Self, Coded> {
        Ok(Customer {
            id: wire.id,
            tier: tier_from_wire(wire.tier, wire.vip_level)?,
            tags: wire.tags,
            name: wire.name,
        })
    }
}

/// The wire shape of [`Customer`] and [`OfferCustomer`], borrowed so encoding never clones.
#[derive(Serialize)]
struct CustomerOut<'a> {
    id: &'a str,
    tier: TierName,
    #[serde(skip_serializing_if = "Option::is_none")]
    vip_level: Option<u8>,
    tags: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
}

impl CustomerOut<'_> {
    fn write<S: Serializer>(
        id: &Private,
        tier: Tier,
        tags: &[String],
        name: Option<&Private>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let (tier, vip_level) = tier_to_wire(tier);
        CustomerOut {
            id,
            tier,
            vip_level,
            tags,
            name: name.map(Private::as_str),
        }
        .serialize(s)
    }
}

impl Serialize for Customer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        CustomerOut::write(&self.id, self.tier, &self.tags, self.name.as_ref(), s)
    }
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
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "TransferIn")]
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

// ---------------------------------------------------------------------------------------------
// Server → client
// ---------------------------------------------------------------------------------------------

/// A message from the gateway. All but the connection frames (`welcome`, `ack`, `error`,
/// `pong`) carry the server's per-session `seq` and are replayed on resume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Answers `hello`.
    Welcome(Welcome),
    /// Every client message with `seq` up to this one has been processed.
    Ack(Ack),
    /// A frame or message was refused.
    Error(ErrorReport),
    /// Answers `ping`.
    Pong(Pong),
    /// To connectors: a bot or agent replied.
    Reply(Reply),
    /// To connectors: queue position and estimated wait.
    Queue(QueuePosition),
    /// To connectors, and to the bot that was serving: the bot stepped back, a human is sought.
    Handoff(Handoff),
    /// To connectors: a human agent took the conversation.
    AgentJoined(AgentJoined),
    /// To connectors and to the conversation's agent: it ended.
    Closed(Closed),
    /// To agents: a conversation for you, with everything needed to take over. Boxed: it is
    /// three times the size of any other message, and rare.
    Offer(Box<Offer>),
    /// To agents: an offer is no longer valid.
    OfferWithdrawn(OfferWithdrawn),
    /// To agents: the customer wrote.
    CustomerMessage(CustomerMessageToAgent),
    /// To agents: your status changed.
    Status(StatusChanged),
    /// To agents: after a reconnect within the grace period, the conversations you still hold.
    Resumed(Resumed),
}

impl ServerMessage {
    /// Every server `type`, in declaration order.
    pub const TYPE_NAMES: [&'static str; 14] = [
        "welcome",
        "ack",
        "error",
        "pong",
        "reply",
        "queue",
        "handoff",
        "agent_joined",
        "closed",
        "offer",
        "offer_withdrawn",
        "customer_message",
        "status",
        "resumed",
    ];

    /// The wire `type`. A bounded set: safe as a metrics label.
    pub fn type_name(&self) -> &'static str {
        match self {
            ServerMessage::Welcome(_) => "welcome",
            ServerMessage::Ack(_) => "ack",
            ServerMessage::Error(_) => "error",
            ServerMessage::Pong(_) => "pong",
            ServerMessage::Reply(_) => "reply",
            ServerMessage::Queue(_) => "queue",
            ServerMessage::Handoff(_) => "handoff",
            ServerMessage::AgentJoined(_) => "agent_joined",
            ServerMessage::Closed(_) => "closed",
            ServerMessage::Offer(_) => "offer",
            ServerMessage::OfferWithdrawn(_) => "offer_withdrawn",
            ServerMessage::CustomerMessage(_) => "customer_message",
            ServerMessage::Status(_) => "status",
            ServerMessage::Resumed(_) => "resumed",
        }
    }

    /// The server sequence number, or `None` for connection frames, which are never replayed
    /// (`ack` and `pong` carry the *client's* seq instead).
    pub fn seq(&self) -> Option<u64> {
        match self {
            ServerMessage::Welcome(_)
            | ServerMessage::Ack(_)
            | ServerMessage::Error(_)
            | ServerMessage::Pong(_) => None,
            ServerMessage::Reply(m) => Some(m.seq),
            ServerMessage::Queue(m) => Some(m.seq),
            ServerMessage::Handoff(m) => Some(m.seq),
            ServerMessage::AgentJoined(m) => Some(m.seq),
            ServerMessage::Closed(m) => Some(m.seq),
            ServerMessage::Offer(m) => Some(m.seq),
            ServerMessage::OfferWithdrawn(m) => Some(m.seq),
            ServerMessage::CustomerMessage(m) => Some(m.seq),
            ServerMessage::Status(m) => Some(m.seq),
            ServerMessage::Resumed(m) => Some(m.seq),
        }
    }
}

impl From<ProtocolError> for ServerMessage {
    fn from(error: ProtocolError) -> Self {
        ServerMessage::Error(error.into())
    }
}

/// Which kind of client the gateway recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionRole {
    /// A channel connector.
    Connector,
    /// A human agent.
    Agent,
    /// A bot service.
    Bot,
}

/// `welcome`: the session is open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    /// The protocol version the gateway speaks on this connection.
    pub protocol: u32,
    /// Session id; pass it in `hello.resume` after a reconnect.
    pub session: String,
    /// Who the gateway thinks you are.
    pub role: SessionRole,
    /// Your tenant.
    pub tenant: String,
    /// Whether the requested session was continued (false: a fresh session, server seq from 1).
    pub resumed: bool,
    /// How many missed messages follow, with their original `seq`, before any new one.
    pub replayed: u32,
    /// Whether some missed messages could not be replayed (buffer overrun or unknown session).
    pub gap: bool,
    /// Send something (a `ping` will do) at least this often.
    pub heartbeat_secs: u32,
}

/// `ack`: cumulative acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    /// The highest client `seq` processed; every lower one was processed too.
    pub seq: u64,
}

/// `error`: something the client sent was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReport {
    /// Stable code.
    pub code: ErrorCode,
    /// Human explanation; not stable, never contains values the client sent.
    pub message: String,
    /// The client `seq` of the refused message, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The refused element's position in a batch frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// The conversation the refused message named, when the gateway knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<String>,
    /// With `rate_limited`: how long to wait before sending it again, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl From<ProtocolError> for ErrorReport {
    fn from(error: ProtocolError) -> Self {
        ErrorReport {
            code: error.code,
            message: error.message,
            seq: error.seq,
            index: error.index,
            conversation: None,
            retry_after_ms: None,
        }
    }
}

/// `pong`: answers `ping`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pong {
    /// The `seq` of the `ping` it answers (a client seq, not a server one).
    pub seq: u64,
}

/// Who wrote a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorRole {
    /// A bot.
    Bot,
    /// A human agent.
    Agent,
}

/// The author of a reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    /// Bot or human.
    pub role: AuthorRole,
    /// Their id (JWT `sub`).
    pub id: String,
    /// Display name for the customer, if configured (JWT `name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `reply`: a bot or agent wrote to the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// Server sequence number.
    pub seq: u64,
    /// The conversation.
    pub conversation: String,
    /// The author's `message_id`, unchanged.
    pub message_id: String,
    /// The reply.
    pub text: Private,
    /// Who wrote it.
    pub from: Author,
}

/// `queue`: where the customer stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuePosition {
    /// Server sequence number.
    pub seq: u64,
    /// The conversation.
    pub conversation: String,
    /// 1-based position (1 = next).
    pub position: u32,
    /// Estimated wait in seconds, once the gateway has observed a service rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ewt_secs: Option<u32>,
}

/// Why a bot stepped back from a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandoffReason {
    /// The customer asked for a human (转人工, "real person", …).
    CustomerRequest,
    /// The bot sent `bot_handoff`.
    BotRequest,
    /// The bot reported `bot_result` with `resolved: false` too often.
    BotUnresolved,
    /// The customer's sentiment turned negative.
    NegativeSentiment,
    /// A tenant routing rule matched (intent, VIP tier, order value, …).
    Rule,
    /// The conversation's bot went away and no other bot could take it.
    BotUnavailable,
}

/// `handoff`: the bot stepped back and a human is being found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handoff {
    /// Server sequence number.
    pub seq: u64,
    /// The conversation.
    pub conversation: String,
    /// Why.
    pub reason: HandoffReason,
}

/// A human agent as the customer may see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentRef {
    /// Their id (JWT `sub`).
    pub id: String,
    /// Display name for the customer, if configured (JWT `name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `agent_joined`: a human took the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentJoined {
    /// Server sequence number.
    pub seq: u64,
    /// The conversation.
    pub conversation: String,
    /// Who.
    pub agent: AgentRef,
}

/// Who or what ended a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// The serving agent closed it.
    Agent,
    /// The customer left.
    Customer,
    /// The connector closed it.
    Connector,
    /// Nobody wrote for the tenant's idle timeout.
    Idle,
    /// The gateway is shutting down and could not hand it over.
    Shutdown,
}

/// `closed`: the conversation ended. Its id may then open a new conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closed {
    /// Server sequence number.
    pub seq: u64,
    /// The conversation.
    pub conversation: String,
    /// Why.
    pub reason: CloseReason,
    /// The customer left while waiting for a human (counts as abandoned, not served).
    pub abandoned: bool,
}

/// `offer`: a conversation for an agent or bot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Offer {
    /// Server sequence number.
    pub seq: u64,
    /// The conversation.
    pub conversation: String,
    /// Already assigned to you (bots, and agents with auto-accept): do not send `accept`.
    pub auto_accepted: bool,
    /// Seconds left to `accept` before the offer is withdrawn; absent when auto-accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_secs: Option<u32>,
    /// Everything needed to take over without asking the customer to repeat.
    pub context: OfferContext,
}

/// Service class: decides the SLA target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// VIP customers.
    Vip,
    /// Complaints.
    Complaint,
    /// Urgent tickets.
    Urgent,
    /// Everyone else.
    Standard,
}

/// The customer as shown to an agent.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "OfferCustomerIn")]
pub struct OfferCustomer {
    /// Customer id, possibly masked for display by the gateway.
    pub id: Private,
    /// Standard or VIP.
    pub tier: Tier,
    /// Platform tags.
    pub tags: Vec<String>,
    /// Display name, if known.
    pub name: Option<Private>,
}

// Same wire shape as `CustomerIn` but tolerant of unknown fields, like every server message.
#[derive(Deserialize)]
struct OfferCustomerIn {
    id: Private,
    tier: TierName,
    #[serde(default)]
    vip_level: Option<u8>,
    #[serde(default, deserialize_with = "null_as_empty")]
    tags: Vec<String>,
    #[serde(default)]
    name: Option<Private>,
}

impl TryFrom<OfferCustomerIn> for OfferCustomer {
    type Error = Coded;

    fn try_from(wire: OfferCustomerIn) -> Result<Self, Coded> {
        Ok(OfferCustomer {
            id: wire.id,
            tier: tier_from_wire(wire.tier, wire.vip_level)?,
            tags: wire.tags,
            name: wire.name,
        })
    }
}

impl Serialize for OfferCustomer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        CustomerOut::write(&self.id, self.tier, &self.tags, self.name.as_ref(), s)
    }
}

impl From<Customer> for OfferCustomer {
    fn from(customer: Customer) -> Self {
        OfferCustomer {
            id: customer.id,
            tier: customer.tier,
            tags: customer.tags,
            name: customer.name,
        }
    }
}

/// How the bot's part ended, for the human who takes over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandoffContext {
    /// Why the bot stepped back.
    pub reason: HandoffReason,
    /// The `reason` the bot gave in `bot_handoff`, if it sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_reason: Option<Private>,
    /// The bot's `summary`, if it sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_summary: Option<Private>,
    /// Latest customer sentiment in [-1, 1], if scored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<f32>,
    /// Recent sentiment scores, oldest first. Must be finite: JSON has no NaN, so serde_json
    /// would write `null`, which clients cannot read as a number.
    pub sentiment_trend: Vec<f32>,
}

/// Who wrote a transcript line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    /// The customer.
    Customer,
    /// A bot.
    Bot,
    /// A human agent.
    Agent,
}

/// One line of the recent transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptLine {
    /// When the gateway received it, Unix milliseconds.
    pub at: u64,
    /// Who wrote it.
    pub from: Speaker,
    /// What they wrote.
    pub text: Private,
    /// The author's `message_id`.
    pub message_id: String,
}

/// Everything an agent needs to take over a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfferContext {
    /// The queue it waited in.
    pub queue: String,
    /// Its service class.
    pub class: Class,
    /// Who the customer is.
    pub customer: OfferCustomer,
    /// The channel it came from.
    pub channel: String,
    /// The customer's language tag.
    pub language: String,
    /// The connector's intent, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
    /// Order value in minor currency units, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_value: Option<u64>,
    /// Seconds the customer has waited for a human so far.
    pub waited_secs: u32,
    /// You served this customer recently (sticky routing).
    pub returning_customer: bool,
    /// Present when a bot served the customer first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handoff: Option<HandoffContext>,
    /// Recent messages, oldest first, bounded by the tenant's `transcript_messages` and
    /// `transcript_bytes`; later ones arrive as `customer_message`.
    pub transcript: Vec<TranscriptLine>,
    /// Present when `transcript_bytes` left out older lines: how many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript_truncated: Option<u32>,
    /// Order numbers found in the conversation.
    pub order_numbers: Vec<Private>,
    /// Parcel tracking numbers found in the conversation.
    pub tracking_numbers: Vec<Private>,
}

/// Why an offer was taken back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawReason {
    /// Not accepted in time.
    Timeout,
    /// The conversation ended meanwhile.
    Ended,
    /// You went offline or your grace period ran out.
    AgentGone,
    /// (Bots) the conversation left you for a human: stop answering it.
    HandedOff,
}

/// `offer_withdrawn`: the offer is no longer valid; drop it from the UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferWithdrawn {
    /// Server sequence number.
    pub seq: u64,
    /// The conversation.
    pub conversation: String,
    /// Why.
    pub reason: WithdrawReason,
}

/// `customer_message` to an agent: the customer wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerMessageToAgent {
    /// Server sequence number.
    pub seq: u64,
    /// The conversation.
    pub conversation: String,
    /// The connector's `message_id`, unchanged.
    pub message_id: String,
    /// What the customer wrote.
    pub text: Private,
    /// Sentiment in [-1, 1]: the connector's, else the gateway's own score, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<f32>,
}

/// Why an agent's status changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusReason {
    /// You asked for it with `status`.
    Requested,
    /// A supervisor set it.
    Supervisor,
    /// You let too many offers time out in a row.
    MissedOffers,
    /// You stayed disconnected past the grace period.
    GraceExpired,
}

/// `status` to an agent: your status is now this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChanged {
    /// Server sequence number.
    pub seq: u64,
    /// The new status.
    pub status: AgentStatus,
    /// Why.
    pub reason: StatusReason,
}

/// `resumed`: after a reconnect within the grace period, what you still hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resumed {
    /// Server sequence number.
    pub seq: u64,
    /// Conversations offered or assigned to you, authoritative: drop any others from your UI.
    pub conversations: Vec<String>,
}
