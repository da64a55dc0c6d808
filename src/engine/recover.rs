//! Startup with a journal: rebuild every tenant from the newest snapshot and the frames after
//! it, check the rebuilt state against the hashes recorded on the way, then start a new
//! generation whose checkpoint snapshot holds what was recovered (and drop the old one).
//!
//! Why a new generation each start: a generation's records name tenants by their index on a
//! shard, and a restart may change the shard count or the tenant list. Starting afresh from a
//! checkpoint keeps every generation self-contained, and a crash before the new one is committed
//! leaves the old one current and intact.

use std::collections::BTreeMap;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::records::{self, Record};
use switchboard_config::{Config, JournalRecovery, TenantConfig};
use switchboard_journal::{Generation, Key, Recovery, Store};
use switchboard_router::Millis;
use switchboard_tenant::{CoreLimits, Input, Output, TenantCore};

type Core = TenantCore<Utf8Bytes>;

/// What a generation ran with: what its replay must use to reproduce it exactly.
#[derive(Debug, Serialize, Deserialize)]
struct Recipe {
    replay_frames: usize,
    session_resume_ms: Millis,
    heartbeat_secs: u32,
    /// Secrets blanked: the cores never read them.
    tenants: Vec<TenantConfig>,
}

impl Recipe {
    fn of(limits: CoreLimits, tenants: &[TenantConfig]) -> Self {
        Recipe {
            replay_frames: limits.replay_frames,
            session_resume_ms: limits.session_resume_ms,
            heartbeat_secs: limits.heartbeat_secs,
            tenants: tenants
                .iter()
                .map(|t| TenantConfig {
                    jwt_secret: String::new(),
                    ..t.clone()
                })
                .collect(),
        }
    }

    fn limits(&self) -> CoreLimits {
        CoreLimits {
            replay_frames: self.replay_frames,
            session_resume_ms: self.session_resume_ms,
            heartbeat_secs: self.heartbeat_secs,
        }
    }
}

/// The recovered (or fresh) cores, per shard in the new plan, and the generation they journal to.
pub(super) struct Recovered {
    pub shards: Vec<Vec<(TenantConfig, Core)>>,
    pub generation: Generation,
    pub key: Option<Key>,
}

/// Recovers the journal in `config.journal.dir` and starts the next generation for `plans` (the
/// tenants of each shard, in index order).
pub(super) fn recover(config: &Config, plans: Vec<Vec<TenantConfig>>) -> Result<Recovered, String> {
    let journal = &config.journal;
    let key = journal
        .encryption_key_file
        .as_deref()
        .map(Key::from_file)
        .transpose()
        .map_err(|e| format!("journal.encryption_key_file: {e}"))?;
    let store = Store::open(&journal.dir).map_err(|e| e.to_string())?;
    let recovery = match journal.recovery {
        JournalRecovery::Strict => Recovery::Strict,
        JournalRecovery::Truncate => Recovery::Truncate,
    };
    let mut recovered = match store.current().map_err(|e| e.to_string())? {
        Some(generation) => replay(&generation, key.as_ref(), recovery)?,
        None => BTreeMap::new(),
    };
    let limits = CoreLimits::of(&config.gateway);
    let now = unix_ms();
    let mut shards = Vec::with_capacity(plans.len());
    for plan in plans {
        let mut cores = Vec::with_capacity(plan.len());
        for tenant in plan {
            let core = match recovered.remove(&tenant.id) {
                Some(old) => resume(old, &tenant, limits, now)?,
                // A fresh seed per tenant and process: ids never repeat across restarts.
                None => TenantCore::new(&tenant, limits, rand::random()),
            };
            cores.push((tenant, core));
        }
        shards.push(cores);
    }
    for id in recovered.keys() {
        tracing::warn!(tenant = %id, "a journalled tenant is no longer configured: its state is dropped");
    }
    let generation = checkpoint(&store, limits, &shards, key.as_ref())?;
    Ok(Recovered {
        shards,
        generation,
        key,
    })
}

/// A recovered core under the configuration it restarts with, told that every connection from
/// before is gone: agents get a fresh grace period from now, sessions a fresh resume window.
fn resume(
    old: Core,
    tenant: &TenantConfig,
    limits: CoreLimits,
    now: Millis,
) -> Result<Core, String> {
    let mut core = TenantCore::restore(tenant, limits, old.snapshot()).map_err(|e| {
        format!(
            "tenant {:?}: the journal cannot be carried into this configuration: {e} \
             (restore the previous configuration, or move the journal directory aside to start empty)",
            tenant.id
        )
    })?;
    let mut out: Vec<Output<Utf8Bytes>> = Vec::new();
    core.apply(now, Input::Restarted, &mut out);
    Ok(core)
}

/// Writes the new generation: its recipe, a snapshot per shard covering nothing yet, then makes
/// it current (which deletes the old one).
fn checkpoint(
    store: &Store,
    limits: CoreLimits,
    shards: &[Vec<(TenantConfig, Core)>],
    key: Option<&Key>,
) -> Result<Generation, String> {
    let tenants: Vec<TenantConfig> = shards.iter().flatten().map(|(t, _)| t.clone()).collect();
    let recipe = serde_json::to_string(&Recipe::of(limits, &tenants)).map_err(|e| e.to_string())?;
    let generation = store.begin(&recipe).map_err(|e| e.to_string())?;
    for (shard, cores) in shards.iter().enumerate() {
        let clones: Vec<_> = cores
            .iter()
            .map(|(_, core)| (core.snapshot(), core.state_hash()))
            .collect();
        let payload = records::encode_snapshot(&clones);
        generation
            .write_snapshot(shard as u32, 0, &payload, key)
            .map_err(|e| e.to_string())?;
    }
    store.commit(&generation).map_err(|e| e.to_string())?;
    Ok(generation)
}

/// Rebuilds every tenant of a generation: each shard's newest snapshot, then its frames.
fn replay(
    generation: &Generation,
    key: Option<&Key>,
    recovery: Recovery,
) -> Result<BTreeMap<String, Core>, String> {
    let started = Instant::now();
    let text = generation.config_text().map_err(|e| e.to_string())?;
    let recipe: Recipe = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}: the generation's configuration does not parse: {e}",
            generation.dir().display()
        )
    })?;
    let mut tenants = BTreeMap::new();
    let mut frames = 0;
    for shard in generation.shards().map_err(|e| e.to_string())? {
        let (cores, replayed) = replay_shard(generation, shard, &recipe, key, recovery)?;
        frames += replayed;
        tenants.extend(cores.into_iter().map(|c| (c.id().to_string(), c)));
    }
    tracing::info!(
        generation = generation.number(),
        tenants = tenants.len(),
        frames,
        ms = started.elapsed().as_millis() as u64,
        "journal recovered"
    );
    Ok(tenants)
}

fn replay_shard(
    generation: &Generation,
    shard: u32,
    recipe: &Recipe,
    key: Option<&Key>,
    recovery: Recovery,
) -> Result<(Vec<Core>, u64), String> {
    let (covers, payload) = generation
        .latest_snapshot(shard, key)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!(
                "{}: shard {shard} has no snapshot",
                generation.dir().display()
            )
        })?;
    let mut cores = restore_snapshot(&payload, recipe)?;
    let mut out = Vec::new();
    let report = generation
        .read_frames(shard, covers, key, recovery, |frame| {
            apply_frame(&mut cores, frame.payload, &mut out).map_err(|why| {
                switchboard_journal::JournalError::Layout {
                    path: generation.dir().join(format!("shard-{shard}")),
                    why: format!("frame {}: {why}", frame.seq),
                }
            })
        })
        .map_err(|e| e.to_string())?;
    if let Some(torn) = &report.torn {
        tracing::warn!(
            shard,
            path = %torn.path.display(),
            offset = torn.offset,
            discarded_bytes = torn.discarded_bytes,
            why = %torn.why,
            "journal tail cut: what it held was never acknowledged"
        );
    }
    Ok((cores, report.frames))
}

/// The cores of a shard snapshot, each checked against the hash recorded with it.
fn restore_snapshot(payload: &[u8], recipe: &Recipe) -> Result<Vec<Core>, String> {
    let entries = records::decode_snapshot::<Utf8Bytes>(payload).map_err(|e| e.to_string())?;
    let mut cores = Vec::with_capacity(entries.len());
    for (snapshot, hash) in entries {
        let id = snapshot.tenant().to_string();
        let config = recipe.tenants.iter().find(|t| t.id == id).ok_or_else(|| {
            format!("the snapshot holds tenant {id:?}, which its generation does not configure")
        })?;
        let core = TenantCore::restore(config, recipe.limits(), snapshot)
            .map_err(|e| format!("tenant {id:?}: {e}"))?;
        if core.state_hash() != hash {
            return Err(format!(
                "tenant {id:?}: the restored snapshot does not reproduce its recorded state hash"
            ));
        }
        cores.push(core);
    }
    Ok(cores)
}

/// Applies a frame's records; a hash record must match the replayed state, or the replay has
/// forked from what ran and startup stops.
fn apply_frame(
    cores: &mut [Core],
    payload: &[u8],
    out: &mut Vec<Output<Utf8Bytes>>,
) -> Result<(), String> {
    for record in records::decode(payload) {
        match record.map_err(|e| e.to_string())? {
            Record::Input { tenant, now, input } => {
                let core = cores.get_mut(tenant).ok_or_else(|| {
                    format!("a record names tenant index {tenant}, which the shard lacks")
                })?;
                core.apply(now, input, out);
                out.clear();
            }
            Record::Hash { tenant, hash } => {
                let core = cores.get(tenant).ok_or_else(|| {
                    format!("a record names tenant index {tenant}, which the shard lacks")
                })?;
                if core.state_hash() != hash {
                    return Err(format!(
                        "tenant {:?}: replay does not reproduce the recorded state hash (a determinism bug)",
                        core.id()
                    ));
                }
            }
        }
    }
    Ok(())
}

fn unix_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}
