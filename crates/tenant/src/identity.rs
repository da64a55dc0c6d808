//! Who is on the other end of a connection, once authenticated: pure data, no verification.
//!
//! JWT verification stays in the gateway (`gateway::auth`); this module only says what a
//! verified identity is, so the engine and the gateway share it without importing each other.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What an agent token says its holder is. Parsed by serde: `"agent"` or `"bot"` on the wire
/// and in tokens; any other value fails to parse, so the token is refused (HTTP 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A human agent.
    Agent,
    /// A bot service.
    Bot,
}

impl Role {
    /// Both roles, in label order.
    pub const ALL: [Role; 2] = [Role::Agent, Role::Bot];

    /// The role as tokens and metric labels spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Bot => "bot",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or(UnknownRole)
    }
}

/// A role name that is neither `agent` nor `bot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownRole;

impl std::fmt::Display for UnknownRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a role is `agent` or `bot`")
    }
}

impl std::error::Error for UnknownRole {}

/// The claims of an agent or bot token.
///
/// Every field without a default is required: a token that lacks one is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The agent's id within the tenant.
    pub sub: String,
    /// The tenant whose secret signed the token.
    pub tenant: String,
    /// A human agent or a bot.
    pub role: Role,
    /// Skill name → level 1–10.
    pub skills: BTreeMap<String, u8>,
    /// Most conversations at once.
    pub capacity: u32,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Display name shown to customers, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Accept offers without an explicit `accept` (bots always do).
    #[serde(default)]
    pub auto_accept: bool,
}

/// Who is on the other end of a connection, as authenticated before the upgrade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// A channel connector.
    Connector {
        /// Its configured name.
        name: String,
        /// Its tenant.
        tenant: String,
    },
    /// A human agent or a bot, from its token.
    Agent(Claims),
}

impl Identity {
    /// The tenant it belongs to.
    pub fn tenant(&self) -> &str {
        match self {
            Identity::Connector { tenant, .. } => tenant,
            Identity::Agent(claims) => &claims.tenant,
        }
    }

    /// The label of its role in metrics and logs: `connector`, `agent` or `bot`.
    pub fn label(&self) -> &'static str {
        match self {
            Identity::Connector { .. } => "connector",
            Identity::Agent(claims) => claims.role.as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_from_their_wire_names_only() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert_eq!("admin".parse::<Role>(), Err(UnknownRole));
        assert_eq!("Bot".parse::<Role>(), Err(UnknownRole));
    }
}
