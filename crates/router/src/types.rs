//! The router's vocabulary: ids, commands in, effects out.

use std::fmt;
use std::sync::Arc;

use switchboard_config::{PriorityConfig, SlaConfig};

pub use switchboard_text::extract::Numbers;

/// Milliseconds on the caller's monotonic clock. The router never reads a clock itself.
pub type Millis = u64;

/// A conversation, numbered by the caller (the engine interns the connector's own ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConversationId(pub u64);

/// A human agent or a bot, numbered by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AgentId(pub u32);

/// A channel connector, numbered by the caller. A conversation belongs to the connector that opened it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectorId(pub u32);

/// A queue, by its position in the tenant's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueueId(pub u16);

/// A customer's tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lane {
    /// VIP customers.
    Vip = 0,
    /// Everyone else.
    Standard = 1,
}

/// Service class: decides the SLA target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// A human agent.
    Human,
    /// An AI bot service.
    Bot,
}

/// Whether an agent takes new conversations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

/// Conversation lifecycle. Every change is reported as [`Effect::StateChanged`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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

/// What the customer is and wants, as the connector describes them.
#[derive(Clone, PartialEq)]
pub struct CustomerProfile {
    /// The connector's customer id. Personal data: never logged, masked in `Debug`.
    pub customer_id: String,
    /// Display name, if the platform gave one. Personal data: masked in `Debug`.
    pub name: Option<String>,
    /// Standard or VIP level.
    pub tier: Tier,
    /// Free-form tags from the platform (e.g. "new_buyer").
    pub tags: Vec<String>,
    /// Intent or category, if the connector classified it.
    pub intent: Option<String>,
    /// Channel name, e.g. "app", "wechat".
    pub channel: String,
    /// Language tag, e.g. "zh", "en".
    pub language: String,
    /// Order value in minor currency units, if an order is involved.
    pub order_value: Option<u64>,
}

impl fmt::Debug for CustomerProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomerProfile")
            .field("customer_id", &"<masked>")
            .field("name", &self.name.as_ref().map(|_| "<masked>"))
            .field("tier", &self.tier)
            .field("tags", &self.tags)
            .field("intent", &self.intent)
            .field("channel", &self.channel)
            .field("language", &self.language)
            .field("order_value", &self.order_value)
            .finish()
    }
}

/// The `customer` part of a profile: who they are, replaced as a whole by a later message.
#[derive(Clone, PartialEq)]
pub struct CustomerDescription {
    /// The connector's customer id. Personal data: masked in `Debug`.
    pub customer_id: String,
    /// Display name. Personal data: masked in `Debug`.
    pub name: Option<String>,
    /// Standard or VIP level.
    pub tier: Tier,
    /// Platform tags.
    pub tags: Vec<String>,
}

impl fmt::Debug for CustomerDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomerDescription")
            .field("customer_id", &"<masked>")
            .field("name", &self.name.as_ref().map(|_| "<masked>"))
            .field("tier", &self.tier)
            .field("tags", &self.tags)
            .finish()
    }
}

/// What a later customer message says about its customer: each part present replaces the
/// profile's, each part absent leaves it as it was.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileUpdate {
    /// Id, name, tier and tags.
    pub customer: Option<CustomerDescription>,
    /// Channel.
    pub channel: Option<String>,
    /// Language tag.
    pub language: Option<String>,
    /// Intent or category.
    pub intent: Option<String>,
    /// Order value in minor currency units.
    pub order_value: Option<u64>,
}

impl ProfileUpdate {
    /// Whether applying it would change `profile`: connectors may repeat the description on
    /// every message, and an unchanged one must cost no more than this comparison.
    pub fn changes(&self, profile: &CustomerProfile) -> bool {
        let customer = self.customer.as_ref().is_some_and(|c| {
            c.customer_id != profile.customer_id
                || c.name != profile.name
                || c.tier != profile.tier
                || c.tags != profile.tags
        });
        customer
            || self.channel.as_ref().is_some_and(|c| *c != profile.channel)
            || self
                .language
                .as_ref()
                .is_some_and(|l| *l != profile.language)
            || (self.intent.is_some() && self.intent != profile.intent)
            || (self.order_value.is_some() && self.order_value != profile.order_value)
    }

    /// Replaces the parts of `profile` this update carries.
    pub fn apply_to(self, profile: &mut CustomerProfile) {
        if let Some(c) = self.customer {
            profile.customer_id = c.customer_id;
            profile.name = c.name;
            profile.tier = c.tier;
            profile.tags = c.tags;
        }
        if let Some(channel) = self.channel {
            profile.channel = channel;
        }
        if let Some(language) = self.language {
            profile.language = language;
        }
        if self.intent.is_some() {
            profile.intent = self.intent;
        }
        if self.order_value.is_some() {
            profile.order_value = self.order_value;
        }
    }
}

/// One chat message as the router carries it. The text is shared, never copied.
#[derive(Clone, PartialEq)]
pub struct Message {
    /// Message body. Personal data: never logged, omitted from `Debug`.
    pub text: Arc<str>,
    /// The connector's own sentiment score in [-1, 1], if it sent one.
    pub sentiment: Option<f32>,
    /// The author's id for the message, forwarded unchanged so duplicates can be recognised.
    pub id: Option<Arc<str>>,
}

impl Message {
    /// A message without an id or a connector-supplied sentiment score.
    pub fn text(text: &str) -> Self {
        Message {
            text: Arc::from(text),
            sentiment: None,
            id: None,
        }
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("chars", &self.text.chars().count())
            .field("sentiment", &self.sentiment)
            .field("id", &self.id)
            .finish()
    }
}

/// Who wrote a transcript line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Speaker {
    /// The customer.
    Customer,
    /// A bot.
    Bot(AgentId),
    /// A human agent.
    Agent(AgentId),
}

/// One line of a conversation's bounded transcript.
#[derive(Debug, Clone, PartialEq)]
pub struct TranscriptLine {
    /// When the router saw it.
    pub at: Millis,
    /// Who wrote it.
    pub speaker: Speaker,
    /// What they wrote.
    pub message: Message,
}

impl TranscriptLine {
    /// What the line costs against `transcript_bytes`: its text and message id in UTF-8 bytes,
    /// the parts of an offer's line whose size the sender decides.
    pub fn budget_bytes(&self) -> usize {
        self.message.text.len() + self.message.id.as_deref().map_or(0, str::len)
    }
}

/// Where a transfer goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferTarget {
    /// Back to waiting, in the named queue.
    Queue(String),
    /// Offered to this agent only (they must be available with a free slot).
    Agent(AgentId),
}

/// What an agent or bot declares when it logs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentLogin {
    /// Human or bot.
    pub role: Role,
    /// Most conversations held at once (offered, assigned or in wrap-up). At least 1.
    pub capacity: u32,
    /// Skill names with levels 1–10. Skills no queue needs are ignored.
    pub skills: Vec<(String, u8)>,
    /// Offers become assignments at once, without an accept.
    pub auto_accept: bool,
}

/// Everything the router reacts to. Time comes with every command, never from a clock.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// A new conversation from a connector.
    Arrive {
        /// The new conversation.
        conversation: ConversationId,
        /// The connector that owns it.
        connector: ConnectorId,
        /// Who the customer is.
        profile: CustomerProfile,
        /// The first message, if the conversation opened with one.
        message: Option<Message>,
    },
    /// A customer wrote in an open conversation.
    CustomerMessage {
        /// The connector sending it (must own the conversation).
        connector: ConnectorId,
        /// The conversation.
        conversation: ConversationId,
        /// The message.
        message: Message,
    },
    /// A later message described the customer again: agents see the new description, and a
    /// conversation waiting for a human is ranked by it (one held by an agent or a bot keeps its
    /// rank until it next waits).
    UpdateProfile {
        /// The connector sending it (must own the conversation).
        connector: ConnectorId,
        /// The conversation.
        conversation: ConversationId,
        /// What changed.
        update: Box<ProfileUpdate>,
    },
    /// The customer left: a waiting conversation is abandoned, any other is closed.
    CustomerLeft {
        /// The connector sending it.
        connector: ConnectorId,
        /// The conversation.
        conversation: ConversationId,
    },
    /// The connector closes a conversation.
    ConnectorClose {
        /// The connector sending it.
        connector: ConnectorId,
        /// The conversation.
        conversation: ConversationId,
    },
    /// An agent or bot connects, or reconnects within its grace period.
    AgentConnect {
        /// Who.
        agent: AgentId,
        /// What they declare.
        login: AgentLogin,
    },
    /// An agent's connection dropped: their conversations are held for the grace period.
    AgentDisconnect {
        /// Who.
        agent: AgentId,
    },
    /// An agent (or a supervisor) sets their status.
    SetStatus {
        /// Who.
        agent: AgentId,
        /// The new status. Offline releases every conversation they hold back to the queue.
        status: AgentStatus,
        /// Requested or Supervisor.
        reason: StatusReason,
    },
    /// An agent accepts an offer.
    Accept {
        /// Who.
        agent: AgentId,
        /// Which offer.
        conversation: ConversationId,
    },
    /// An agent rejects an offer: it goes to the next eligible agent.
    Reject {
        /// Who.
        agent: AgentId,
        /// Which offer.
        conversation: ConversationId,
    },
    /// An agent or bot replies.
    AgentMessage {
        /// Who.
        agent: AgentId,
        /// Which conversation (must be theirs).
        conversation: ConversationId,
        /// The reply.
        message: Message,
    },
    /// An agent transfers a conversation they hold.
    Transfer {
        /// Who.
        agent: AgentId,
        /// Which conversation.
        conversation: ConversationId,
        /// Where to.
        target: TransferTarget,
    },
    /// A bot marks its last reply resolved or not.
    BotResult {
        /// The bot.
        agent: AgentId,
        /// Which conversation (must be with this bot).
        conversation: ConversationId,
        /// Whether the reply resolved the customer's question.
        resolved: bool,
    },
    /// A bot asks for a human to take over.
    BotHandoff {
        /// The bot.
        agent: AgentId,
        /// Which conversation (must be with this bot).
        conversation: ConversationId,
        /// The bot's reason, for the agent.
        reason: String,
        /// The bot's summary of the conversation so far, for the agent.
        summary: Option<String>,
    },
    /// A human agent explicitly hands a conversation back to a bot.
    HandBack {
        /// The agent.
        agent: AgentId,
        /// Which conversation (must be assigned to this agent).
        conversation: ConversationId,
    },
    /// An agent closes a conversation they hold.
    AgentClose {
        /// Who.
        agent: AgentId,
        /// Which conversation.
        conversation: ConversationId,
    },
    /// Nothing happened but time passed: fires due timers.
    Tick,
}

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
#[derive(Debug, Clone, PartialEq)]
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
        /// Shared so fan-out to several outboxes never copies the transcript.
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
    /// A wait ended in an offer: measured against the first estimate and the SLA target.
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
