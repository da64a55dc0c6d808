//! Dispatch: who is offered what, and when. Runs at the end of every command until no waiting
//! conversation and free agent that may be paired are left.
//!
//! - **Order**: returning customers to their previous agent first, then each marked queue in
//!   order of its most urgent conversation; within a queue, [`crate::waiting::WaitKey`] order,
//!   each to the best agent [`crate::refusals::Refusals::choose`] allows.
//! - **VIP reserve** ([`Reserve`]): of the capacity of connected, available humans,
//!   `floor(capacity × vip.reserved_share)` slots are never taken by non-VIP conversations.
//! - **Sticky service**: a returning customer is offered to, or held briefly for, their previous
//!   agent (`Router::hold_for_previous_agent`); a held customer may skip the queue only if VIP,
//!   or while no VIP waits there and the reserve allows (`Router::may_take`).

use crate::assignment::Agent;
use crate::policy::Ranking;
use crate::timers::Timer;
use crate::types::{AgentId, AgentStatus, ConversationId, Effect, Lane, QueueId, State};
use crate::Router;
use serde::{Deserialize, Serialize};

/// Tenant-wide sums for the VIP reserve, over available, connected human agents. Kept by
/// [`crate::assignment::Roster`] as agents change.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reserve {
    capacity: u64,
    non_vip: u64,
}

impl Reserve {
    /// Whether one more non-VIP conversation may take a slot: the non-VIP load stays below the
    /// capacity minus `floor(capacity × share)`.
    pub fn non_vip_allowed(self, share: f64) -> bool {
        let reserved = (self.capacity as f64 * share).floor() as u64;
        self.non_vip < self.capacity.saturating_sub(reserved)
    }

    /// Counts an agent's capacity and non-VIP load.
    pub(crate) fn add(&mut self, capacity: u32, non_vip: u32) {
        self.capacity += u64::from(capacity);
        self.non_vip += u64::from(non_vip);
    }

    /// Stops counting what [`Reserve::add`] counted.
    pub(crate) fn remove(&mut self, capacity: u32, non_vip: u32) {
        self.capacity -= u64::from(capacity);
        self.non_vip -= u64::from(non_vip);
    }
}

impl Router {
    /// Whether a non-VIP conversation may take a slot now.
    pub fn non_vip_allowed(&self) -> bool {
        self.roster
            .reserve()
            .non_vip_allowed(self.policy.vip_reserved_share)
    }

    /// Whether a conversation of this lane may skip its queue for its previous agent: a VIP may;
    /// anyone else only while no VIP waits in that queue and the VIP reserve allows.
    fn may_take(&self, lane: Lane, queue: QueueId) -> bool {
        lane == Lane::Vip
            || (self.non_vip_allowed() && self.waiting[usize::from(queue.0)].vip_len() == 0)
    }

    /// Offers waiting conversations to free agents until no pair is left: returning customers to
    /// their previous agent first, then queues in order of their most urgent conversation.
    pub(crate) fn dispatch(&mut self, out: &mut Vec<Effect>) {
        loop {
            while !self.freed.is_empty() || !self.dirty.is_empty() {
                for agent in std::mem::take(&mut self.freed) {
                    self.serve_sticky(agent, out);
                }
                let mut queues = std::mem::take(&mut self.dirty);
                queues.sort_by_key(|q| self.waiting[usize::from(q.0)].first().map(|(k, _)| *k));
                for queue in queues {
                    self.dispatch_queue(queue, out);
                }
            }
            // Dispatch may have served the VIP that held a returning customer back.
            self.freed = self.sticky_unblocked();
            if self.freed.is_empty() {
                return;
            }
        }
    }

    fn dispatch_queue(&mut self, queue: QueueId, out: &mut Vec<Effect>) {
        let q = usize::from(queue.0);
        let cooldown_ms = self.policy.refusal_cooldown_ms;
        loop {
            let non_vip_ok = self.non_vip_allowed();
            let index = self.roster.queue(queue);
            if index.is_empty() {
                return;
            }
            // No look-ahead limit: a conversation is passed over only while every free agent of
            // the queue refused it within the cooldown, and it remembers at most `MAX_REFUSALS`
            // refusers, so `choose` costs at most that many checks per free agent and the walk
            // is as long as the run of such conversations at the head — bounded by the refusals
            // made within one cooldown. A limit here left a customer waiting beside a free agent
            // once an agent had refused 64 in a row (the flood property).
            let mut pick = None;
            for (key, id) in self.waiting[q].iter() {
                if key.lane == Lane::Standard && !non_vip_ok {
                    self.reserve_blocked = true;
                    break;
                }
                let chosen = match self.conversations.get(&id) {
                    Some(c) => c.refusals.choose(index, self.now, cooldown_ms),
                    None => index.first(),
                };
                if let Some(agent) = chosen {
                    pick = Some((id, agent));
                    break;
                }
            }
            let Some((id, agent)) = pick else { return };
            self.offer(id, agent, out);
        }
    }

    /// Sticky routing: offers a returning customer to their previous agent, or holds them for it.
    pub(crate) fn hold_for_previous_agent(
        &mut self,
        id: ConversationId,
        queue: QueueId,
        ranking: Ranking,
        customer: u64,
        out: &mut Vec<Effect>,
    ) -> bool {
        let window = self.policy.sticky_window_ms;
        if window == 0 {
            return false;
        }
        self.recent.expire(self.now, window);
        let Some(previous) = self.recent.recall(customer, self.now, window) else {
            return false;
        };
        let Some(agent) = self.roster.get(&previous) else {
            return false;
        };
        if agent.level_for(queue).is_none() || agent.status() == AgentStatus::Offline {
            return false;
        }
        if agent.eligible() && self.may_take(ranking.lane, queue) {
            if let Some(c) = self.conversations.get_mut(&id) {
                c.sticky_for = Some(previous);
            }
            self.offer(id, previous, out);
            return true;
        }
        let epoch = match self.conversations.get_mut(&id) {
            Some(c) => {
                c.sticky_for = Some(previous);
                c.epoch
            }
            None => return false,
        };
        // Free, yet held back by a waiting VIP or the reserve: looked at again after dispatch.
        if self.roster.hold_sticky(previous, id) == Some(true) {
            mark_agent(&mut self.sticky_blocked, previous);
        }
        self.timers.set(
            self.now + self.policy.sticky_wait_ms,
            Timer::StickyExpire(id, epoch),
        );
        true
    }

    fn serve_sticky(&mut self, agent_id: AgentId, out: &mut Vec<Effect>) {
        loop {
            let Some(agent) = self.roster.get(&agent_id) else {
                return;
            };
            if !agent.eligible() {
                return;
            }
            let next = agent
                .sticky()
                .iter()
                .copied()
                .find(|c| self.sticky_offerable(agent, *c));
            let Some(conversation) = next else {
                if !agent.sticky().is_empty() {
                    mark_agent(&mut self.sticky_blocked, agent_id);
                }
                return;
            };
            self.roster.drop_sticky(agent_id, conversation);
            self.offer(conversation, agent_id, out);
        }
    }

    /// Takes from `sticky_blocked` the agents that may now be offered a held returning customer,
    /// and forgets those that no longer hold one or cannot take one.
    fn sticky_unblocked(&mut self) -> Vec<AgentId> {
        let mut ready = Vec::new();
        let mut blocked = std::mem::take(&mut self.sticky_blocked);
        blocked.retain(|id| {
            let Some(agent) = self.roster.get(id).filter(|a| a.eligible()) else {
                return false;
            };
            let may_take = agent
                .sticky()
                .iter()
                .any(|c| self.sticky_offerable(agent, *c));
            if may_take {
                ready.push(*id);
            }
            !may_take && !agent.sticky().is_empty()
        });
        self.sticky_blocked = blocked;
        ready
    }

    /// Whether a returning customer held for `agent` may be offered to it now: it still serves
    /// their queue (a reconnect may have changed its skills) and their lane may skip the queue.
    fn sticky_offerable(&self, agent: &Agent, id: ConversationId) -> bool {
        self.conversations.get(&id).is_some_and(|c| {
            agent.level_for(c.queue).is_some() && self.may_take(c.ranking.lane, c.queue)
        })
    }

    pub(crate) fn sticky_expired(&mut self, id: ConversationId, epoch: u32) {
        let agent = match self.conversations.get_mut(&id) {
            Some(c) if c.epoch == epoch && c.state == State::Waiting => c.sticky_for.take(),
            _ => None,
        };
        if let Some(agent) = agent {
            self.roster.drop_sticky(agent, id);
            self.enqueue(id);
        }
    }
}

/// Marks a queue for dispatch before `apply` returns.
pub(crate) fn mark(dirty: &mut Vec<QueueId>, queue: QueueId) {
    if !dirty.contains(&queue) {
        dirty.push(queue);
    }
}

/// Marks an agent (once) in a list of agents to look at again.
pub(crate) fn mark_agent(freed: &mut Vec<AgentId>, agent: AgentId) {
    if !freed.contains(&agent) {
        freed.push(agent);
    }
}
