//! The router's state as data, for snapshots: everything `apply` changes, nothing the tenant's
//! configuration decides (the compiled policy, the sentiment scorer, the phrase matcher), which
//! [`Router::restore`] rebuilds from the configuration it is given.
//!
//! The state refers to queues and skills by index ([`QueueId`], [`SkillId`](crate::policy::SkillId));
//! it can be carried over to a changed configuration only if those indexes keep their meaning,
//! which [`Layout`] records and `restore` checks. Everything else may change: SLA targets,
//! timings, weights and limits apply to what happens next (a deadline already set keeps its time).

use serde::{Deserialize, Serialize};
use switchboard_config::TenantConfig;

use crate::assignment::Roster;
use crate::conversation::Conversation;
use crate::ended::RecentlyEnded;
use crate::ewt::ServiceRate;
use crate::policy::Layout;
use crate::sticky::RecentAgents;
use crate::table::Table;
use crate::timers::Timers;
use crate::types::{AgentId, ConversationId, Millis, QueueId};
use crate::waiting::WaitingQueue;
use crate::Router;

/// A router's state without its configuration-derived parts. Cloning a router's state copies
/// its tables (texts are shared `Arc<str>`s), so it is cheap enough for the owning thread.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RouterState {
    layout: Layout,
    conversations: Table<Conversation>,
    ended: RecentlyEnded,
    roster: Roster,
    waiting: Vec<WaitingQueue>,
    rates: Vec<ServiceRate>,
    timers: Timers,
    recent: RecentAgents,
    reserve_blocked: bool,
    queue_updates_armed: bool,
    dirty: Vec<QueueId>,
    freed: Vec<AgentId>,
    sticky_blocked: Vec<AgentId>,
    joined: Vec<ConversationId>,
    seq: u64,
    now: Millis,
}

impl Router {
    /// A copy of the state, for a snapshot.
    pub fn state(&self) -> RouterState {
        RouterState {
            layout: self.policy.layout(),
            conversations: self.conversations.clone(),
            ended: self.ended.clone(),
            roster: self.roster.clone(),
            waiting: self.waiting.clone(),
            rates: self.rates.clone(),
            timers: self.timers.clone(),
            recent: self.recent.clone(),
            reserve_blocked: self.reserve_blocked,
            queue_updates_armed: self.queue_updates_armed,
            dirty: self.dirty.clone(),
            freed: self.freed.clone(),
            sticky_blocked: self.sticky_blocked.clone(),
            joined: self.joined.clone(),
            seq: self.seq,
            now: self.now,
        }
    }

    /// A router with `state` under `config`. Err names what of the configuration the state
    /// cannot carry: its queues (names, order, skills) or its skill table changed.
    pub fn restore(config: &TenantConfig, state: RouterState) -> Result<Router, String> {
        let mut router = Router::new(config);
        incompatibility(&state.layout, &router.policy.layout()).map_or(Ok(()), Err)?;
        router.conversations = state.conversations;
        router.ended = state.ended;
        router.roster = state.roster;
        router.waiting = state.waiting;
        router.rates = state.rates;
        router.timers = state.timers;
        router.recent = state.recent;
        router.reserve_blocked = state.reserve_blocked;
        router.queue_updates_armed = state.queue_updates_armed;
        router.dirty = state.dirty;
        router.freed = state.freed;
        router.sticky_blocked = state.sticky_blocked;
        router.joined = state.joined;
        router.seq = state.seq;
        router.now = state.now;
        Ok(router)
    }
}

/// What differs between the layout a state was taken under and the one it is restored under.
fn incompatibility(stored: &Layout, now: &Layout) -> Option<String> {
    let names = |l: &Layout| l.queues.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    if names(stored) != names(now) {
        return Some(format!(
            "the queues were {:?} and are now {:?}: waiting customers and agents are stored by \
             queue position",
            names(stored),
            names(now)
        ));
    }
    let skills_of = |l: &Layout, q: usize| -> Vec<String> {
        l.queues[q]
            .1
            .iter()
            .map(|s| l.skills.get(usize::from(*s)).cloned().unwrap_or_default())
            .collect()
    };
    for (q, (name, _)) in stored.queues.iter().enumerate() {
        if skills_of(stored, q) != skills_of(now, q) {
            return Some(format!(
                "queue `{name}` needed skills {:?} and now needs {:?}: logged-in agents are \
                 indexed by the queues their skills serve",
                skills_of(stored, q),
                skills_of(now, q)
            ));
        }
    }
    (stored.skills != now.skills).then(|| {
        format!(
            "the skill table was {:?} and is now {:?}: agents' skills are stored by position",
            stored.skills, now.skills
        )
    })
}
