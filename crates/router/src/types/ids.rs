//! Identities and time: the numbers the caller assigns and the router keys everything by.

use serde::{Deserialize, Serialize};
/// Milliseconds on the caller's monotonic clock. The router never reads a clock itself.
pub type Millis = u64;

/// A conversation, numbered by the caller (the engine interns the connector's own ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ConversationId(pub u64);

/// A human agent or a bot, numbered by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AgentId(pub u32);

/// A channel connector, numbered by the caller. A conversation belongs to the connector that opened it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ConnectorId(pub u32);

/// A queue, by its position in the tenant's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct QueueId(pub u16);
