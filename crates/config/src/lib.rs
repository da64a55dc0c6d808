//! Configuration: one validated struct, built from TOML.
//!
//! The file format is documented key by key in `config/switchboard.toml`, which is also embedded in
//! the binary as the defaults ([`Config::embedded`]). Parsing is two-phase: serde reads the raw shape
//! (unknown keys are rejected so a typo never silently falls back to a default), then
//! [`Config::validate`] checks cross-references and ranges. Every error names the key it is about,
//! e.g. `tenants[0].queues[1].skills: queue "vip" requires no skill`.
//!
//! # Layout
//!
//! - `load`: the whole [`Config`], how it is read (embedded defaults, file, environment) and
//!   validated;
//! - `gateway`: listeners, limits and timeouts of the WebSocket gateway, and connectors;
//! - `journal`: where inputs and snapshots are kept, and when they are synced;
//! - `tenant`: one tenant, its queues, routing rules and conversation limits;
//! - `policy`: a tenant's priority, SLA, VIP, timing and handoff policies.
//!
//! Every type is re-exported at the crate root: `switchboard_config::TenantConfig`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

mod gateway;
mod journal;
mod load;
mod policy;
mod tenant;
#[cfg(test)]
mod tests;

pub use self::gateway::*;
pub use self::journal::*;
pub use self::load::*;
pub use self::policy::*;
pub use self::tenant::*;

/// The defaults shipped with the binary: the documented example file itself.
pub const EMBEDDED_TOML: &str = include_str!("../../../config/switchboard.toml");

/// Largest capacity an agent or bot may declare; keeps utilisation keys exact (see `router::agents`).
pub const MAX_CAPACITY: u32 = 100_000;

/// A configuration problem, naming the key and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct ConfigError {
    /// Dotted path of the offending key, e.g. `tenants[0].sla.vip_secs`.
    pub key: String,
    /// What is wrong with it.
    pub reason: String,
}

impl ConfigError {
    /// An error about `key`.
    pub fn new(key: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError {
            key: key.into(),
            reason: reason.into(),
        }
    }
}
