//! Server → client messages. Structs ignore unknown fields, so Rust clients built with an older
//! version of this crate keep working when the gateway adds a field.

use serde::{Deserialize, Serialize};

use super::client::AgentStatus;
use super::customer::OfferCustomer;
use super::Private;
use crate::error::{ErrorCode, ProtocolError};

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
