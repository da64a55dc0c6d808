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

//!
//! # Layout
//!
//! - [`client`]: client → server messages;
//! - [`customer`]: who the customer is (tier, profile), in both directions;
//! - [`server`]: server → client messages.

mod client;
mod customer;
mod server;

use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

pub use self::client::*;
pub use self::customer::*;
pub use self::server::*;

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
