//! A tiny script runner for the router: commands in, effects out, invariants checked after
//! every command so a scenario fails at the first step that breaks one.
#![allow(dead_code)] // each test binary uses its own subset

use switchboard_config::{Config, TenantConfig};
use switchboard_router::*;

/// Conversation id shorthand.
pub fn c(n: u64) -> ConversationId {
    ConversationId(n)
}

/// Agent id shorthand.
pub fn a(n: u32) -> AgentId {
    AgentId(n)
}

/// The one connector most scenarios use.
pub const CONNECTOR: ConnectorId = ConnectorId(1);

/// A standard customer on the app channel, writing Chinese.
pub fn customer(id: &str) -> CustomerProfile {
    CustomerProfile {
        customer_id: id.to_string(),
        name: None,
        tier: Tier::Standard,
        tags: Vec::new(),
        intent: None,
        channel: "app".to_string(),
        language: "zh".to_string(),
        order_value: None,
    }
}

/// A VIP customer of the given level.
pub fn vip(id: &str, level: u8) -> CustomerProfile {
    CustomerProfile {
        tier: Tier::Vip(level),
        ..customer(id)
    }
}

/// A standard customer with an intent.
pub fn with_intent(id: &str, intent: &str) -> CustomerProfile {
    CustomerProfile {
        intent: Some(intent.to_string()),
        ..customer(id)
    }
}

/// The embedded default tenant.
pub fn default_tenant() -> TenantConfig {
    Config::embedded().tenants[0].clone()
}

/// A router, a clock and the effects so far.
pub struct Script {
    pub router: Router,
    pub now: Millis,
}

impl Script {
    /// A script over a tenant configuration, starting at t = 1 s, with every offer audited
    /// against the reference rules (`Router::audit_offers`).
    pub fn new(config: &TenantConfig) -> Self {
        let mut router = Router::new(config);
        router.audit_offers();
        Script { router, now: 1_000 }
    }

    /// A script over the embedded default tenant.
    pub fn default_tenant() -> Self {
        Self::new(&default_tenant())
    }

    /// Moves the clock forward and fires what is due.
    pub fn advance(&mut self, ms: Millis) -> Vec<Effect> {
        self.now += ms;
        self.run(Command::Tick)
    }

    /// Applies one command now and returns its effects, after checking every invariant.
    pub fn run(&mut self, command: Command) -> Vec<Effect> {
        let mut out = Vec::new();
        self.router.apply(self.now, command, &mut out);
        if let Err(broken) = self.router.check_invariants() {
            panic!(
                "invariant broken at t={}: {broken}\neffects: {out:#?}",
                self.now
            );
        }
        out
    }

    /// A human agent with the given skills (level 5), capacity, and manual accept.
    pub fn agent(&mut self, id: u32, skills: &[&str], capacity: u32) -> Vec<Effect> {
        self.login(id, Role::Human, skills, 5, capacity, false)
    }

    /// Any kind of login.
    pub fn login(
        &mut self,
        id: u32,
        role: Role,
        skills: &[&str],
        level: u8,
        capacity: u32,
        auto_accept: bool,
    ) -> Vec<Effect> {
        self.run(Command::AgentConnect {
            agent: a(id),
            login: AgentLogin {
                role,
                capacity,
                skills: skills.iter().map(|s| (s.to_string(), level)).collect(),
                auto_accept,
            },
        })
    }

    /// A conversation arrives from the default connector with no message.
    pub fn arrive(&mut self, id: u64, profile: CustomerProfile) -> Vec<Effect> {
        self.run(Command::Arrive {
            conversation: c(id),
            connector: CONNECTOR,
            profile,
            message: None,
        })
    }

    /// A customer writes.
    pub fn say(&mut self, id: u64, text: &str) -> Vec<Effect> {
        self.run(Command::CustomerMessage {
            connector: CONNECTOR,
            conversation: c(id),
            message: Message::text(text),
        })
    }

    /// An agent accepts.
    pub fn accept(&mut self, agent: u32, id: u64) -> Vec<Effect> {
        self.run(Command::Accept {
            agent: a(agent),
            conversation: c(id),
        })
    }

    /// An agent rejects.
    pub fn reject(&mut self, agent: u32, id: u64) -> Vec<Effect> {
        self.run(Command::Reject {
            agent: a(agent),
            conversation: c(id),
        })
    }

    /// An agent closes.
    pub fn close(&mut self, agent: u32, id: u64) -> Vec<Effect> {
        self.run(Command::AgentClose {
            agent: a(agent),
            conversation: c(id),
        })
    }

    /// The state of a conversation, or None once it is closed.
    pub fn state(&self, id: u64) -> Option<State> {
        self.router.conversation(c(id)).map(|v| v.state)
    }

    /// How many conversations an agent holds.
    pub fn load(&self, agent: u32) -> u32 {
        self.router.agent(a(agent)).map_or(0, |v| v.load)
    }
}

/// The (agent, conversation) pairs offered in these effects, in order.
pub fn offers(effects: &[Effect]) -> Vec<(AgentId, ConversationId)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Offer {
                agent,
                conversation,
                ..
            } => Some((*agent, *conversation)),
            _ => None,
        })
        .collect()
}

/// The (agent, conversation, reason) of every offer withdrawn in these effects, in order.
pub fn withdrawals(effects: &[Effect]) -> Vec<(AgentId, ConversationId, WithdrawReason)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::OfferWithdrawn {
                agent,
                conversation,
                reason,
            } => Some((*agent, *conversation, *reason)),
            _ => None,
        })
        .collect()
}

/// The refusal codes in these effects.
pub fn refusals(effects: &[Effect]) -> Vec<RefusalCode> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Refused { code, .. } => Some(*code),
            _ => None,
        })
        .collect()
}

/// The context of the first offer in these effects.
pub fn offered_context(effects: &[Effect]) -> std::sync::Arc<OfferContext> {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::Offer { context, .. } => Some(context.clone()),
            _ => None,
        })
        .expect("offered")
}

/// The texts of an offer's transcript, oldest first.
pub fn transcript_texts(context: &OfferContext) -> Vec<&str> {
    context
        .transcript
        .iter()
        .map(|l| &*l.message.text)
        .collect()
}
