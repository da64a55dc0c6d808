//! Assignment: which free agent gets the next conversation, and the index that makes choosing
//! one cheap. **To change the agent-choice policy, change [`assignment_order`]: nothing else
//! decides it.**
//!
//! Owner: the router, through [`Roster`], which owns every logged-in agent together with the
//! per-queue agent indexes, the bot pool and the VIP reserve sums. An agent is in the index of
//! every queue it can serve (a bot in the bot pool) exactly while it is *eligible*: connected,
//! available, below capacity. The index is sorted by [`AssignmentKey`], so the best agent is the
//! first entry: O(log agents) per change, O(1) to choose.
//!
//! The key is built from fields that change all the time (load, last offer, status, connection,
//! capacity). [`Agent`]'s fields are private and its setters are reachable only through
//! [`Roster::update`], which takes the agent's entries out of the indexes and the reserve sums
//! before the change and puts them back after it, so an entry can never go stale. Bound: one
//! entry per eligible agent per queue it serves.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BTreeSet;

use rustc_hash::FxHashMap;

use super::dispatch::{mark, mark_agent, Reserve};
use super::policy::SkillId;
use super::types::{AgentId, AgentStatus, ConversationId, Millis, QueueId, Role};
use super::Router;

/// Bots are ranked without skill levels: every bot entry carries this one.
const BOT_LEVEL: u8 = 10;

/// Utilisation scaled to an integer: `load × 2^40 / capacity`. Equal ratios give equal keys
/// (floor depends only on the ratio) and distinct ratios with capacities up to 2^20 never collide.
pub fn utilisation_key(load: u32, capacity: u32) -> u64 {
    (u64::from(load) << 40) / u64::from(capacity.max(1))
}

/// Where an agent stands in a queue's index: a snapshot of what [`assignment_order`] compares,
/// taken by [`Roster`] whenever the agent changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentKey {
    utilisation: u64,
    last_offer: Millis,
    /// `10 − level`, so that ascending order puts the higher level first.
    level_rank: u8,
    agent: AgentId,
}

/// The assignment policy: of two free agents for the same queue, which is offered first.
///
/// 1. lower utilisation (load ÷ capacity, see [`utilisation_key`]);
/// 2. then the one offered a conversation longest ago;
/// 3. then the higher skill level for this queue (levels are 1–10; bots all count as 10);
/// 4. then the lower agent id, so the choice is deterministic.
pub fn assignment_order(a: &AssignmentKey, b: &AssignmentKey) -> Ordering {
    a.utilisation
        .cmp(&b.utilisation)
        .then(a.last_offer.cmp(&b.last_offer))
        .then(a.level_rank.cmp(&b.level_rank))
        .then(a.agent.cmp(&b.agent))
}

impl Ord for AssignmentKey {
    fn cmp(&self, other: &Self) -> Ordering {
        assignment_order(self, other)
    }
}

impl PartialOrd for AssignmentKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A logged-in agent or bot. Read through its getters; changed only inside [`Roster::update`]
/// (or through the [`Roster`] methods for the fields no index reads).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Agent {
    id: AgentId,
    role: Role,
    /// Maximum conversations held at once.
    capacity: u32,
    /// Available or away (offline agents are removed).
    status: AgentStatus,
    /// Whether its connection is up; a disconnected agent is in its grace period.
    connected: bool,
    /// Bumped on every connect and disconnect, so a stale grace timer is ignored.
    epoch: u32,
    /// Conversations offered, assigned or in wrap-up with it, in the order it got them.
    held: Vec<ConversationId>,
    /// Which of `held` are offers not yet accepted.
    offered: Vec<ConversationId>,
    /// How many of `held` are not VIP (for the VIP reserve).
    non_vip_held: u32,
    /// When it was last offered a conversation.
    last_offer: Millis,
    skills: Vec<(SkillId, u8)>,
    /// Queues it can serve, with its level for each (the lowest of the queue's required skills).
    queues: Vec<(QueueId, u8)>,
    /// Offers become assignments without an accept.
    auto_accept: bool,
    /// Offer timeouts in a row.
    missed_in_row: u32,
    /// Returning customers held for this agent, oldest first.
    sticky: Vec<ConversationId>,
}

/// What an agent declares at login, after the policy resolved its skills and queues.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Human or bot.
    pub role: Role,
    /// Most conversations held at once.
    pub capacity: u32,
    /// Skills the tenant knows, with levels 1–10.
    pub skills: Vec<(SkillId, u8)>,
    /// Queues it serves, with its level for each.
    pub queues: Vec<(QueueId, u8)>,
    /// Offers become assignments without an accept.
    pub auto_accept: bool,
}

impl Agent {
    /// A newly logged-in agent: connected but away, holding nothing. [`Roster::update`] makes it
    /// available, so the indexes and reserve sums are maintained in exactly one place.
    pub fn new(id: AgentId, profile: Profile) -> Self {
        Agent {
            id,
            role: profile.role,
            capacity: profile.capacity,
            status: AgentStatus::Away,
            connected: true,
            epoch: 0,
            held: Vec::new(),
            offered: Vec::new(),
            non_vip_held: 0,
            last_offer: 0,
            skills: profile.skills,
            queues: profile.queues,
            auto_accept: profile.auto_accept,
            missed_in_row: 0,
            sticky: Vec::new(),
        }
    }

    /// Its id.
    pub fn id(&self) -> AgentId {
        self.id
    }

    /// Human or bot.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Maximum conversations held at once.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// Available or away.
    pub fn status(&self) -> AgentStatus {
        self.status
    }

    /// Whether its connection is up (false during the grace period).
    pub fn connected(&self) -> bool {
        self.connected
    }

    /// Its connection epoch, which a grace timer names.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// Conversations it holds, in the order it got them.
    pub fn held(&self) -> &[ConversationId] {
        &self.held
    }

    /// Offers it has not accepted yet.
    pub fn offered(&self) -> &[ConversationId] {
        &self.offered
    }

    /// How many of the conversations it holds are not VIP.
    pub fn non_vip_held(&self) -> u32 {
        self.non_vip_held
    }

    /// Its skills and levels.
    pub fn skills(&self) -> &[(SkillId, u8)] {
        &self.skills
    }

    /// Queues it serves, with its level for each.
    pub fn queues(&self) -> &[(QueueId, u8)] {
        &self.queues
    }

    /// Whether its offers are accepted on its behalf.
    pub fn auto_accept(&self) -> bool {
        self.auto_accept
    }

    /// Returning customers held for it, oldest first.
    pub fn sticky(&self) -> &[ConversationId] {
        &self.sticky
    }

    /// Conversations it holds.
    pub fn load(&self) -> u32 {
        self.held.len() as u32
    }

    /// Whether it may be offered a conversation now.
    pub fn eligible(&self) -> bool {
        self.connected && self.status == AgentStatus::Available && self.load() < self.capacity
    }

    /// Whether its capacity counts toward the tenant's available human capacity.
    pub fn counts_for_reserve(&self) -> bool {
        self.role == Role::Human && self.connected && self.status == AgentStatus::Available
    }

    /// Its non-VIP load as the VIP reserve counts it: at most its capacity, so what an agent
    /// kept beyond a lowered capacity takes no other agent's room.
    pub fn non_vip_for_reserve(&self) -> u32 {
        self.non_vip_held.min(self.capacity)
    }

    /// Its level for a queue it serves.
    pub fn level_for(&self, queue: QueueId) -> Option<u8> {
        self.queues
            .iter()
            .find(|(q, _)| *q == queue)
            .map(|(_, level)| *level)
    }

    /// Its key in an index, for a queue where its level is `level`.
    fn key(&self, level: u8) -> AssignmentKey {
        AssignmentKey {
            utilisation: utilisation_key(self.load(), self.capacity),
            last_offer: self.last_offer,
            level_rank: 10u8.saturating_sub(level),
            agent: self.id,
        }
    }

    // ----- setters: only reachable through `Roster::update` ----------------------------------

    /// Takes a slot for a conversation.
    pub(crate) fn take(&mut self, conversation: ConversationId, vip: bool, now: Millis) {
        debug_assert!(!self.held.contains(&conversation), "held twice");
        self.held.push(conversation);
        if !vip {
            self.non_vip_held += 1;
        }
        self.last_offer = now;
    }

    /// Takes a slot for an offer the agent has yet to accept.
    pub(crate) fn take_offer(&mut self, conversation: ConversationId, vip: bool, now: Millis) {
        self.take(conversation, vip, now);
        self.offered.push(conversation);
    }

    /// Frees a conversation's slot (and its pending offer, if it was one).
    pub(crate) fn let_go(&mut self, conversation: ConversationId, vip: bool) {
        self.offered.retain(|c| *c != conversation);
        if let Some(pos) = self.held.iter().position(|c| *c == conversation) {
            self.held.remove(pos);
            if !vip {
                self.non_vip_held -= 1;
            }
        }
    }

    /// A reconnect: the new declaration replaces the old; what it holds stays.
    pub(crate) fn reconnect(&mut self, profile: Profile) {
        self.role = profile.role;
        self.capacity = profile.capacity;
        self.skills = profile.skills;
        self.queues = profile.queues;
        self.auto_accept = profile.auto_accept;
        self.connected = true;
        self.epoch = self.epoch.wrapping_add(1);
    }

    /// The connection dropped: returns the new epoch, for the grace timer.
    pub(crate) fn disconnect(&mut self) -> u32 {
        self.connected = false;
        self.epoch = self.epoch.wrapping_add(1);
        self.epoch
    }

    /// Sets its status.
    pub(crate) fn set_status(&mut self, status: AgentStatus) {
        self.status = status;
    }

    /// Starts a fresh count of missed offers.
    pub(crate) fn forgive_missed_offers(&mut self) {
        self.missed_in_row = 0;
    }

    /// Counts an offer it let time out; sets it away (and says so) when that makes `max` in a
    /// row while it was available.
    pub(crate) fn miss_offer(&mut self, max: u32) -> bool {
        self.missed_in_row += 1;
        let away = self.missed_in_row >= max && self.status == AgentStatus::Available;
        if away {
            self.status = AgentStatus::Away;
        }
        away
    }
}

/// Eligible agents of one queue (or the bot pool), best first.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct AgentIndex {
    entries: BTreeSet<AssignmentKey>,
}

impl AgentIndex {
    fn insert(&mut self, key: AssignmentKey) {
        let fresh = self.entries.insert(key);
        debug_assert!(fresh, "{:?} indexed twice", key.agent);
    }

    fn remove(&mut self, key: &AssignmentKey) {
        let found = self.entries.remove(key);
        // The first place a key changed behind the roster's back would show.
        debug_assert!(found, "stale index entry for {:?}", key.agent);
    }

    /// The best agent.
    pub fn first(&self) -> Option<AgentId> {
        self.entries.first().map(|e| e.agent)
    }

    /// The best agent that `allowed` accepts.
    pub fn best(&self, mut allowed: impl FnMut(AgentId) -> bool) -> Option<AgentId> {
        self.entries.iter().map(|e| e.agent).find(|a| allowed(*a))
    }

    /// Eligible agents.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no agent is eligible.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Agents, best first.
    pub fn iter(&self) -> impl Iterator<Item = AgentId> + '_ {
        self.entries.iter().map(|e| e.agent)
    }
}

/// What [`Roster::update`] reports beside the change's own result.
#[derive(Debug, Clone, Copy)]
pub struct Updated<R> {
    /// The change's result.
    pub result: R,
    /// Eligible after the change, and either was not before or holds less: its queues (and its
    /// held returning customers) may be served now.
    pub freed: bool,
}

/// Every logged-in agent, with the indexes and sums that must agree with them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Roster {
    agents: FxHashMap<AgentId, Agent>,
    /// Eligible humans per queue, best first; a [`QueueId`] indexes this.
    queues: Vec<AgentIndex>,
    /// Eligible bots, best first (bots serve no human queue).
    bots: AgentIndex,
    /// Capacity and non-VIP load of connected, available humans.
    reserve: Reserve,
}

impl Roster {
    /// An empty roster for a tenant with `queues` queues.
    pub fn new(queues: usize) -> Self {
        Roster {
            agents: FxHashMap::default(),
            queues: vec![AgentIndex::default(); queues],
            bots: AgentIndex::default(),
            reserve: Reserve::default(),
        }
    }

    /// A logged-in agent.
    pub fn get(&self, id: &AgentId) -> Option<&Agent> {
        self.agents.get(id)
    }

    /// Whether the agent is logged in.
    pub fn contains(&self, id: &AgentId) -> bool {
        self.agents.contains_key(id)
    }

    /// Logged-in agents, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&AgentId, &Agent)> + '_ {
        self.agents.iter()
    }

    /// Eligible humans of a queue, best first.
    pub fn queue(&self, queue: QueueId) -> &AgentIndex {
        &self.queues[usize::from(queue.0)]
    }

    /// Eligible bots, best first.
    pub fn bots(&self) -> &AgentIndex {
        &self.bots
    }

    /// The VIP reserve sums.
    pub fn reserve(&self) -> Reserve {
        self.reserve
    }

    /// Logs an agent in; it is indexed and counted as its state says.
    pub fn insert(&mut self, agent: Agent) {
        self.enter(&agent);
        let old = self.agents.insert(agent.id, agent);
        debug_assert!(old.is_none(), "an agent logged in twice");
        if let Some(old) = old {
            self.leave(&old);
        }
    }

    /// Logs an agent out, taking it out of the indexes and sums first.
    pub fn remove(&mut self, id: &AgentId) -> Option<Agent> {
        let agent = self.agents.remove(id)?;
        self.leave(&agent);
        Some(agent)
    }

    /// Changes an agent and keeps the indexes and reserve sums true: the only `&mut Agent`.
    pub fn update<R>(
        &mut self,
        id: AgentId,
        change: impl FnOnce(&mut Agent) -> R,
    ) -> Option<Updated<R>> {
        let agent = self.agents.get_mut(&id)?;
        let (was_eligible, old_load) = (agent.eligible(), agent.load());
        Self::unindex(&mut self.queues, &mut self.bots, &mut self.reserve, agent);
        let result = change(agent);
        Self::index(&mut self.queues, &mut self.bots, &mut self.reserve, agent);
        let freed = agent.eligible() && (!was_eligible || agent.load() < old_load);
        Some(Updated { result, freed })
    }

    /// Holds a returning customer for the agent; says whether the agent is eligible.
    pub fn hold_sticky(&mut self, id: AgentId, conversation: ConversationId) -> Option<bool> {
        let agent = self.agents.get_mut(&id)?;
        agent.sticky.push(conversation);
        Some(agent.eligible())
    }

    /// Stops holding a returning customer for the agent.
    pub fn drop_sticky(&mut self, id: AgentId, conversation: ConversationId) {
        if let Some(agent) = self.agents.get_mut(&id) {
            agent.sticky.retain(|c| *c != conversation);
        }
    }

    /// The agent accepted an offer (or it was accepted for it): it is no longer pending, and the
    /// count of offers it missed in a row starts again. Neither is in any index key.
    pub fn accepted(&mut self, id: AgentId, conversation: ConversationId) {
        if let Some(agent) = self.agents.get_mut(&id) {
            agent.missed_in_row = 0;
            agent.offered.retain(|c| *c != conversation);
        }
    }

    /// Whether the agent's entry for `queue` is in that queue's index as its state says now.
    pub fn indexed(&self, agent: &Agent, queue: QueueId, level: u8) -> bool {
        self.queue(queue).entries.contains(&agent.key(level))
    }

    /// Entries in every index, bots included.
    pub fn indexed_len(&self) -> usize {
        self.queues.iter().map(AgentIndex::len).sum::<usize>() + self.bots.len()
    }

    fn enter(&mut self, agent: &Agent) {
        Self::index(&mut self.queues, &mut self.bots, &mut self.reserve, agent);
    }

    fn leave(&mut self, agent: &Agent) {
        Self::unindex(&mut self.queues, &mut self.bots, &mut self.reserve, agent);
    }

    fn unindex(queues: &mut [AgentIndex], bots: &mut AgentIndex, reserve: &mut Reserve, a: &Agent) {
        if a.eligible() {
            if a.role == Role::Bot {
                bots.remove(&a.key(BOT_LEVEL));
            }
            for (q, level) in &a.queues {
                queues[usize::from(q.0)].remove(&a.key(*level));
            }
        }
        if a.counts_for_reserve() {
            reserve.remove(a.capacity, a.non_vip_for_reserve());
        }
    }

    fn index(queues: &mut [AgentIndex], bots: &mut AgentIndex, reserve: &mut Reserve, a: &Agent) {
        if a.counts_for_reserve() {
            reserve.add(a.capacity, a.non_vip_for_reserve());
        }
        if a.eligible() {
            if a.role == Role::Bot {
                bots.insert(a.key(BOT_LEVEL));
            }
            for (q, level) in &a.queues {
                queues[usize::from(q.0)].insert(a.key(*level));
            }
        }
    }
}

impl Router {
    /// Changes an agent through the roster, then schedules what the change makes possible: its
    /// queues (and its held returning customers) when it freed up, every queue when the VIP
    /// reserve, which had stopped a dispatch, loosened.
    pub(crate) fn update_agent<R>(
        &mut self,
        id: AgentId,
        change: impl FnOnce(&mut Agent) -> R,
    ) -> Option<R> {
        let share = self.policy.vip_reserved_share;
        let allowed_before = self.roster.reserve().non_vip_allowed(share);
        let updated = self.roster.update(id, change)?;
        if updated.freed {
            if let Some(agent) = self.roster.get(&id) {
                if !agent.sticky.is_empty() {
                    mark_agent(&mut self.freed, id);
                }
                for (q, _) in &agent.queues {
                    mark(&mut self.dirty, *q);
                }
            }
        }
        if self.reserve_blocked && !allowed_before && self.roster.reserve().non_vip_allowed(share) {
            self.reserve_blocked = false;
            for q in 0..self.waiting.len() {
                mark(&mut self.dirty, QueueId(q as u16));
            }
        }
        Some(updated.result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(load: u32, capacity: u32, last_offer: Millis, level: u8, agent: u32) -> AssignmentKey {
        let mut a = Agent::new(
            AgentId(agent),
            Profile {
                role: Role::Human,
                capacity,
                skills: Vec::new(),
                queues: Vec::new(),
                auto_accept: false,
            },
        );
        for c in 0..load {
            a.take(ConversationId(u64::from(c)), false, last_offer);
        }
        a.last_offer = last_offer;
        a.key(level)
    }

    #[test]
    fn the_policy_is_utilisation_then_longest_idle_then_level_then_id() {
        let order = |a, b| assignment_order(&a, &b);
        // Lower utilisation wins over everything after it: 1 of 4 before 1 of 2.
        assert_eq!(
            order(key(1, 4, 900, 1, 9), key(1, 2, 0, 10, 1)),
            Ordering::Less
        );
        // Equal ratios are equal utilisation: then the longest since the last offer.
        assert_eq!(
            order(key(1, 2, 100, 1, 9), key(2, 4, 200, 10, 1)),
            Ordering::Less
        );
        // Then the higher skill level.
        assert_eq!(
            order(key(0, 2, 0, 7, 9), key(0, 2, 0, 3, 1)),
            Ordering::Less
        );
        // Then the lower id, so the choice never depends on anything else.
        assert_eq!(
            order(key(0, 2, 0, 5, 1), key(0, 2, 0, 5, 2)),
            Ordering::Less
        );
    }
}
