//! Commands in: everything the router reacts to, and the data they carry.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

use super::domain::{AgentStatus, Role, StatusReason, Tier};
use super::ids::{AgentId, ConnectorId, ConversationId, Millis};

/// What the customer is and wants, as the connector describes them.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Speaker {
    /// The customer.
    Customer,
    /// A bot.
    Bot(AgentId),
    /// A human agent.
    Agent(AgentId),
}

/// One line of a conversation's bounded transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
