//! The tenant's directories: external names interned to the router's small ids, and what an
//! agent logged in with.
//!
//! Owner: the tenant core. Bound: one entry per connector or agent identity that ever connected
//! to the tenant since start (identities are configuration or signed tokens, not client input).

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use switchboard_router::AgentLogin;

/// Interns external names to the router's small ids, both ways; ids are dense, in first-seen order.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(crate) struct Names {
    ids: FxHashMap<String, u32>,
    names: Vec<String>,
}

impl Names {
    pub(crate) fn intern(&mut self, name: &str) -> u32 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = self.names.len() as u32;
        self.ids.insert(name.to_string(), id);
        self.names.push(name.to_string());
        id
    }

    pub(crate) fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    /// The name of an id, or "" for one never interned.
    pub(crate) fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", String::as_str)
    }

    /// Every name in id order: the canonical walk for the state hash.
    pub(crate) fn in_order(&self) -> &[String] {
        &self.names
    }
}

/// What the core knows of an agent beyond the router: its name and what it logged in with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AgentInfo {
    pub(crate) display_name: Option<String>,
    pub(crate) login: AgentLogin,
}
