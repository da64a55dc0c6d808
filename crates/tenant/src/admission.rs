//! Who may open a new conversation: per connector a rate (token bucket) and a cap on open
//! conversations, per tenant a cap on open conversations, so one connector cannot fill the
//! tenant's memory and queues.
//!
//! Owner: the tenant core. Time is passed in (the shard clock), so admission is
//! as deterministic as the router. Bound: one entry per connector identity of the tenant, which
//! the tenant's configuration bounds.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use switchboard_config::LimitsConfig;
use switchboard_router::{ConnectorId, Millis};

/// A whole token, in the bucket's fixed-point unit.
const TOKEN: u64 = 1000;

/// How long a client refused for a cap is asked to wait: a cap frees as conversations end,
/// which nothing predicts.
const CAP_RETRY_MS: u64 = 1000;

/// Why a new conversation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdmissionRefusal {
    /// The connector opens conversations faster than its rate.
    Rate,
    /// The connector holds its cap of open conversations.
    ConnectorCap,
    /// The tenant holds its cap of open conversations.
    TenantCap,
}

impl AdmissionRefusal {
    /// Every reason, so the metric's series exist from the start.
    pub const ALL: [AdmissionRefusal; 3] = [
        AdmissionRefusal::Rate,
        AdmissionRefusal::ConnectorCap,
        AdmissionRefusal::TenantCap,
    ];

    /// Bounded metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            AdmissionRefusal::Rate => "rate",
            AdmissionRefusal::ConnectorCap => "connector_cap",
            AdmissionRefusal::TenantCap => "tenant_cap",
        }
    }

    /// What the client is told.
    pub fn explain(self) -> &'static str {
        match self {
            AdmissionRefusal::Rate => {
                "new conversations are arriving faster than your connector's rate"
            }
            AdmissionRefusal::ConnectorCap => {
                "your connector holds its limit of open conversations"
            }
            AdmissionRefusal::TenantCap => "the tenant holds its limit of open conversations",
        }
    }
}

#[derive(Debug, Clone, Copy, Hash, Serialize, Deserialize)]
pub(crate) struct Quota {
    /// Fixed point: `TOKEN` is one conversation.
    tokens: u64,
    refilled_at: Millis,
    open: u32,
}

/// A tenant's admission state.
#[derive(Debug)]
pub(crate) struct Admission {
    limits: LimitsConfig,
    connectors: FxHashMap<ConnectorId, Quota>,
}

impl Admission {
    /// Admission for a tenant with these limits.
    pub(crate) fn new(limits: LimitsConfig) -> Self {
        Admission {
            limits,
            connectors: FxHashMap::default(),
        }
    }

    /// Admission with these limits and quotas from a snapshot.
    pub(crate) fn with_quotas(
        limits: LimitsConfig,
        connectors: FxHashMap<ConnectorId, Quota>,
    ) -> Self {
        Admission { limits, connectors }
    }

    /// Every connector's quota (the state a snapshot keeps).
    pub(crate) fn quotas(&self) -> &FxHashMap<ConnectorId, Quota> {
        &self.connectors
    }

    /// Takes a place for a new conversation of `connector` at `now`, with `tenant_open`
    /// conversations open in the tenant; Err says why not and how many ms to wait.
    pub(crate) fn admit(
        &mut self,
        connector: ConnectorId,
        now: Millis,
        tenant_open: usize,
    ) -> Result<(), (AdmissionRefusal, u64)> {
        let limits = self.limits;
        let burst = u64::from(limits.new_conversations_burst) * TOKEN;
        let quota = self.connectors.entry(connector).or_insert(Quota {
            tokens: burst,
            refilled_at: now,
            open: 0,
        });
        // Per millisecond the bucket gains `rate` thousandths of a token.
        let gained =
            now.saturating_sub(quota.refilled_at) * u64::from(limits.new_conversations_per_sec);
        quota.tokens = quota.tokens.saturating_add(gained).min(burst);
        quota.refilled_at = now;
        if tenant_open >= limits.open_conversations as usize {
            return Err((AdmissionRefusal::TenantCap, CAP_RETRY_MS));
        }
        if quota.open >= limits.open_conversations_per_connector {
            return Err((AdmissionRefusal::ConnectorCap, CAP_RETRY_MS));
        }
        if quota.tokens < TOKEN {
            let rate = u64::from(limits.new_conversations_per_sec).max(1);
            return Err((
                AdmissionRefusal::Rate,
                (TOKEN - quota.tokens).div_ceil(rate),
            ));
        }
        quota.tokens -= TOKEN;
        quota.open += 1;
        Ok(())
    }

    /// Every connector's quota in connector order, for the state hash.
    pub(crate) fn hash_into(&self, state: &mut impl std::hash::Hasher) {
        use std::hash::Hash;
        let mut quotas: Vec<_> = self.connectors.iter().collect();
        quotas.sort_unstable_by_key(|(c, _)| **c);
        quotas.hash(state);
    }

    /// A conversation of `connector` ended for it: its place frees.
    pub(crate) fn closed(&mut self, connector: ConnectorId) {
        if let Some(quota) = self.connectors.get_mut(&connector) {
            quota.open = quota.open.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(rate: u32, burst: u32, per_connector: u32, tenant: u32) -> LimitsConfig {
        LimitsConfig {
            new_conversations_per_sec: rate,
            new_conversations_burst: burst,
            open_conversations_per_connector: per_connector,
            open_conversations: tenant,
        }
    }

    #[test]
    fn a_burst_then_the_rate_with_the_wait_until_the_next_token() {
        let mut admission = Admission::new(limits(10, 3, 100, 100));
        let c = ConnectorId(1);
        for _ in 0..3 {
            assert_eq!(admission.admit(c, 0, 0), Ok(()));
        }
        assert_eq!(admission.admit(c, 0, 0), Err((AdmissionRefusal::Rate, 100)));
        assert_eq!(admission.admit(c, 60, 0), Err((AdmissionRefusal::Rate, 40)));
        assert_eq!(admission.admit(c, 100, 0), Ok(()));
        // Another connector has its own bucket.
        assert_eq!(admission.admit(ConnectorId(2), 100, 0), Ok(()));
    }

    #[test]
    fn caps_hold_until_conversations_end() {
        let mut admission = Admission::new(limits(1000, 1000, 2, 3));
        let c = ConnectorId(1);
        assert_eq!(admission.admit(c, 0, 0), Ok(()));
        assert_eq!(admission.admit(c, 0, 1), Ok(()));
        assert_eq!(
            admission.admit(c, 0, 2),
            Err((AdmissionRefusal::ConnectorCap, CAP_RETRY_MS))
        );
        admission.closed(c);
        assert_eq!(admission.admit(c, 0, 1), Ok(()));
        assert_eq!(
            admission.admit(ConnectorId(2), 0, 3),
            Err((AdmissionRefusal::TenantCap, CAP_RETRY_MS))
        );
    }
}
