//! Snapshots of a tenant core: its state as data, to be serialised off the shard thread and
//! rebuilt under a configuration at restart.
//!
//! What is kept: everything [`TenantCore::apply`] changes — the router's state
//! ([`RouterState`]), directories, id maps, duplicate windows, admission quotas, sessions with
//! their replay buffers, owed acks, staffing windows, time, and the id generator's position.
//! What is not: what the configuration decides (the compiled policy, text matchers and
//! lexicons, admission limits, the gateway limits), which [`TenantCore::restore`] takes from the
//! configuration it is given, and the scratch buffers that are empty between inputs.
//!
//! Format: a 5-byte header (`SBTS` and a format version), then the state in postcard, a compact
//! serde format with no field names or type tags, which every state type here can take (no
//! `deserialize_any`, no internally tagged enums). Frames are stored as their text and rebuilt
//! with `F::from(String)`. Integrity (checksums, encryption) is the file layer's business.

use std::collections::VecDeque;
use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha12Rng;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use switchboard_config::TenantConfig;
use switchboard_router::{AgentId, ConnectorId, ConversationId, Millis, Router, RouterState};

use crate::admission::{Admission, Quota};
use crate::core::{CoreLimits, TenantCore};
use crate::names::{AgentInfo, Names};
use crate::recent::RecentIds;
use crate::session::{Peer, Sessions};
use crate::windows::Windows;
use crate::{Frame, RecordError};

const MAGIC: &[u8; 4] = b"SBTS";
/// Bumped whenever a stored type changes shape: an old build must refuse a newer snapshot
/// rather than misread it.
const VERSION: u8 = 1;

/// Why a snapshot could not become a core.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The configuration changed in a way the stored state cannot carry: says what.
    #[error("the snapshot does not fit the configuration: {0}")]
    Incompatible(String),
    /// The snapshot belongs to another tenant than the configuration.
    #[error("snapshot of tenant `{found}` cannot be restored as tenant `{expected}`")]
    WrongTenant {
        /// The configuration's tenant.
        expected: String,
        /// The snapshot's.
        found: String,
    },
}

/// Where the core's id generator stands: ChaCha's seed and word position rebuild it exactly.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Generator {
    seed: [u8; 32],
    word_pos: u128,
}

/// A copy of a tenant core's state (not its configuration-derived parts). Frames are the
/// caller's refcounted type, so taking one copies no frame text.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound(serialize = "F: AsRef<str>", deserialize = "F: From<String>"))]
pub struct CoreSnapshot<F> {
    tenant: String,
    now: Millis,
    router: RouterState,
    connectors: Names,
    agents: Names,
    agent_info: FxHashMap<AgentId, AgentInfo>,
    open: FxHashMap<(ConnectorId, Arc<str>), ConversationId>,
    external: FxHashMap<ConversationId, (ConnectorId, Arc<str>)>,
    recent: FxHashMap<ConversationId, RecentIds>,
    quotas: FxHashMap<ConnectorId, Quota>,
    sessions: Sessions<F>,
    acks_due: Vec<(Peer, u64)>,
    generator: Generator,
    draws: u64,
    windows: Windows,
}

impl<F: Frame> TenantCore<F> {
    /// A copy of the state, to encode elsewhere (see [`CoreSnapshot::encode`]).
    pub fn snapshot(&self) -> CoreSnapshot<F> {
        CoreSnapshot {
            tenant: self.id.clone(),
            now: self.now,
            router: self.router.state(),
            connectors: self.connectors.clone(),
            agents: self.agents.clone(),
            agent_info: self.agent_info.clone(),
            open: self.open.clone(),
            external: self.external.clone(),
            recent: self.recent.clone(),
            quotas: self.admission.quotas().clone(),
            sessions: self.sessions.clone(),
            acks_due: self.acks_due.clone(),
            generator: Generator {
                seed: self.ids.get_seed(),
                word_pos: self.ids.get_word_pos(),
            },
            draws: self.draws,
            windows: self.windows.clone(),
        }
    }

    /// Rebuilds a core from a snapshot under `config`, which may differ from the one it ran
    /// with in SLA targets, timings, weights and limits, but not in what stored indexes refer
    /// to (the queues' names, order and skills): that is [`RestoreError::Incompatible`].
    pub fn restore(
        config: &TenantConfig,
        limits: CoreLimits,
        snapshot: CoreSnapshot<F>,
    ) -> Result<Self, RestoreError> {
        if snapshot.tenant != config.id {
            return Err(RestoreError::WrongTenant {
                expected: config.id.clone(),
                found: snapshot.tenant,
            });
        }
        let router = Router::restore(config, snapshot.router).map_err(|reason| {
            RestoreError::Incompatible(format!("tenant `{}`: {reason}", config.id))
        })?;
        let mut ids = ChaCha12Rng::from_seed(snapshot.generator.seed);
        ids.set_word_pos(snapshot.generator.word_pos);
        let mut core = TenantCore::new(config, limits, [0; 32]);
        core.router = router;
        core.now = snapshot.now;
        core.connectors = snapshot.connectors;
        core.agents = snapshot.agents;
        core.agent_info = snapshot.agent_info;
        core.open = snapshot.open;
        core.external = snapshot.external;
        core.recent = snapshot.recent;
        core.admission = Admission::with_quotas(config.limits, snapshot.quotas);
        core.sessions = snapshot.sessions;
        core.acks_due = snapshot.acks_due;
        core.ids = ids;
        core.draws = snapshot.draws;
        core.windows = snapshot.windows;
        Ok(core)
    }
}

impl<F: Frame> CoreSnapshot<F> {
    /// The snapshot's bytes: header, then the state.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4096);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        // Postcard fails only on a sequence of unknown length or a map key it cannot write;
        // every stored type has neither, so a failure is a bug in this module, not bad input.
        postcard::to_extend(self, out).expect("every snapshot type has known lengths")
    }

    /// Reads what [`CoreSnapshot::encode`] wrote. Never panics on bad bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let header = MAGIC.len() + 1;
        if bytes.len() < header || &bytes[..MAGIC.len()] != MAGIC || bytes[MAGIC.len()] != VERSION {
            return Err(RecordError::SnapshotHeader {
                expected: VERSION,
                found: bytes[..bytes.len().min(header)].to_vec(),
            });
        }
        let body = &bytes[header..];
        let (snapshot, rest) =
            postcard::take_from_bytes::<Self>(body).map_err(|e| RecordError::SnapshotBody {
                offset: header,
                reason: e.to_string(),
            })?;
        if !rest.is_empty() {
            return Err(RecordError::Trailing {
                offset: bytes.len() - rest.len(),
                extra: rest.len(),
            });
        }
        Ok(snapshot)
    }

    /// The tenant id it belongs to.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }
}

/// Replay buffers as (seq, text) pairs: a frame is stored as the text it carries.
pub(crate) mod frames {
    use super::*;

    pub(crate) fn serialize<F: AsRef<str>, S: serde::Serializer>(
        replay: &VecDeque<(u64, F)>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(replay.iter().map(|(seq, frame)| (*seq, frame.as_ref())))
    }

    pub(crate) fn deserialize<'de, F: From<String>, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<VecDeque<(u64, F)>, D::Error> {
        let pairs = Vec::<(u64, String)>::deserialize(d)?;
        Ok(pairs
            .into_iter()
            .map(|(seq, text)| (seq, F::from(text)))
            .collect())
    }
}
