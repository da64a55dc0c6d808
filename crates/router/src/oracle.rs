//! The router's policies restated plainly, as a reference the tests hold dispatch against.
//!
//! Owner: the router, for tests and debugging only. Everything here is recomputed on every call
//! from first principles — the conversation table, each agent's declared skills, status and
//! capacity, each conversation's refusals — and never through the dispatch machinery: no agent
//! index, no reserve sums, no `Refusals::choose`, no look-ahead limit. A dispatch that breaks a
//! policy therefore disagrees with this module instead of repeating its mistake. Slow on purpose:
//! O(conversations × agents × refusals) per call, never on the hot path.
//!
//! Three kinds of check:
//! - [`Router::check_policy`]: what must hold in every state between commands (load within
//!   capacity, work conservation, no returning customer held from an agent who could take them);
//! - [`Router::check_timers`]: every state that waits for time has the timer that ends it;
//! - [`Router::audit_offers`]: what must hold at the moment of each offer (the VIP reserve, the
//!   refusal cooldown and last-resort rule), which no state afterwards can show.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use super::assignment::Agent;
use super::timers::Timer;
use super::types::{AgentId, AgentStatus, ConversationId, Lane, Millis, QueueId, Role, State};
use super::{Conversation, Router};

/// What an agent holds, counted from the conversation table (not from the agent's own lists).
#[derive(Debug, Default, Clone, Copy)]
struct Slots {
    /// Conversations offered to, assigned to, in wrap-up with or with this agent.
    load: u32,
    /// Of those, offers not yet accepted.
    offers: u32,
    /// Of those, not in the VIP lane.
    non_vip: u32,
}

/// How an offer came about, judged from the conversation before the offer changes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// Taken from its queue by dispatch.
    Queue,
    /// A returning customer offered to their previous agent.
    Sticky,
    /// An agent transferred it to this agent by name.
    Directed,
}

impl Router {
    /// Turns on the per-offer audit: from now on every offer is checked against the reference
    /// rules before it is made, and the first breach is reported by [`Router::check_invariants`].
    /// Off by default (it costs O(conversations) per offer); the property tests turn it on.
    pub fn audit_offers(&mut self) {
        self.audit.enabled = true;
    }

    /// The policies that hold between any two commands, recomputed from scratch:
    /// - an agent holds at most its capacity, except that an agent who reconnected with a lower
    ///   capacity keeps the conversations it had already accepted: then it has no pending offer;
    /// - work-conserving: nobody waits in a queue while a connected, available human with every
    ///   skill of that queue has a free slot, unless that agent refused the conversation less
    ///   than the cooldown ago, or the conversation is standard-lane and the VIP reserve keeps
    ///   the last free slots (non-VIP conversations held by available humans may fill at most
    ///   their capacity minus `floor(capacity × reserved_share)`);
    /// - a returning customer is not held for their previous agent while that agent could take
    ///   them (a VIP always, anyone else while the reserve allows and no VIP waits in the queue).
    pub fn check_policy(&self) -> Result<(), String> {
        let slots = self.reference_slots();
        for (id, agent) in self.roster.iter() {
            let held = slots.get(id).copied().unwrap_or_default();
            if held.load > agent.capacity() && held.offers > 0 {
                return Err(format!(
                    "{id:?} holds {} > capacity {} and still has {} pending offer(s)",
                    held.load,
                    agent.capacity(),
                    held.offers
                ));
            }
        }
        let standard_may_take = self.reference_standard_may_take(&slots);
        // Few agents are free while many wait, so the walk below stays affordable.
        let free: Vec<&Agent> = self
            .roster
            .iter()
            .map(|(_, a)| a)
            .filter(|a| self.reference_free(a, &slots))
            .collect();
        let mut vip_waits = vec![false; self.policy.queues.len()];
        for (_, c) in self.conversations.iter() {
            if c.state == State::Waiting && c.sticky_for.is_none() && c.ranking.lane == Lane::Vip {
                vip_waits[usize::from(c.queue.0)] = true;
            }
        }
        for (id, c) in self.conversations.iter() {
            if c.state != State::Waiting {
                continue;
            }
            match c.sticky_for {
                None if c.ranking.lane == Lane::Standard && !standard_may_take => {}
                None => {
                    let taker = free.iter().find(|a| {
                        self.reference_serves(a, c.queue) && !self.reference_cooling(c, a.id())
                    });
                    if let Some(a) = taker {
                        return Err(format!(
                            "{id:?} waits in {:?} while {:?} has a free slot it may take",
                            c.queue,
                            a.id()
                        ));
                    }
                }
                Some(previous) => {
                    let Some(a) = self.roster.get(&previous) else {
                        return Err(format!("{id:?} is held for {previous:?}, who left"));
                    };
                    if !self.reference_serves(a, c.queue) {
                        return Err(format!(
                            "{id:?} is held for {previous:?}, who does not serve {:?}",
                            c.queue
                        ));
                    }
                    let lane_allows = c.ranking.lane == Lane::Vip
                        || (standard_may_take && !vip_waits[usize::from(c.queue.0)]);
                    if lane_allows && self.reference_free(a, &slots) {
                        return Err(format!(
                            "{id:?} is held for {previous:?}, who has a free slot for it"
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Every state that waits for time has a pending timer that ends it: an offer its timeout, a
    /// held returning customer the end of the hold, a wrap-up its end, an assigned or bot
    /// conversation its idle check, a disconnected agent its grace, a refusal still cooling for
    /// a waiting conversation its cooldown end, and waiting customers their position updates.
    /// Without these a lost timer would leave a conversation offered, held or wrapping up
    /// forever while every other check still passed.
    pub fn check_timers(&self) -> Result<(), String> {
        let mut pending: BTreeMap<Timer, Vec<Millis>> = BTreeMap::new();
        for (at, timer) in self.timers.pending() {
            pending.entry(timer).or_default().push(at);
        }
        let has = |timer: Timer, latest: Millis| {
            pending
                .get(&timer)
                .is_some_and(|ats| ats.iter().any(|at| *at <= latest))
        };
        let now = self.now;
        let p = &self.policy;
        let mut anyone_queued = false;
        for (id, c) in self.conversations.iter() {
            let (id, epoch) = (*id, c.epoch);
            let missing = match (c.state, c.agent, c.sticky_for) {
                (State::Offered, Some(agent), _) => {
                    let timer = Timer::OfferTimeout(agent, id, epoch);
                    (!has(timer, now + p.offer_timeout_ms)).then_some("an offer timeout")
                }
                (State::Waiting, _, Some(_)) => {
                    let timer = Timer::StickyExpire(id, epoch);
                    (!has(timer, now + p.sticky_wait_ms)).then_some("the end of its hold")
                }
                (State::Waiting, _, None) => {
                    anyone_queued = true;
                    let cooling = c
                        .refusals
                        .as_slice()
                        .iter()
                        .filter(|r| now < r.at + p.refusal_cooldown_ms);
                    let mut missing = None;
                    for r in cooling {
                        let ends = r.at + p.refusal_cooldown_ms;
                        let found = pending
                            .get(&Timer::CooldownEnd(id))
                            .is_some_and(|ats| ats.contains(&ends));
                        if !found {
                            missing = Some("a cooldown end");
                        }
                    }
                    missing
                }
                (State::WrapUp, _, _) => {
                    let timer = Timer::WrapUpEnd(id, epoch);
                    (!has(timer, now + p.wrap_up_ms)).then_some("a wrap-up end")
                }
                (State::Assigned | State::WithBot, _, _) if p.idle_ms > 0 => {
                    let timer = Timer::Idle(id, epoch);
                    (!has(timer, now + p.idle_ms)).then_some("an idle check")
                }
                _ => None,
            };
            if let Some(what) = missing {
                return Err(format!("{id:?} is {:?} without {what}", c.state));
            }
        }
        for (id, a) in self.roster.iter() {
            if !a.connected() && !has(Timer::Grace(*id, a.epoch()), now + p.grace_ms) {
                return Err(format!("{id:?} is disconnected without a grace timer"));
            }
        }
        if anyone_queued && !has(Timer::QueueUpdates, now + p.queue_update_ms) {
            return Err("customers wait with no position update pending".to_string());
        }
        Ok(())
    }

    /// Called by `offer` before it changes anything, when the audit is on: the offer must go to
    /// an agent with a free slot, and, unless an agent named the target, to one who serves the
    /// queue; from the queue, a standard-lane conversation only outside the VIP reserve, never to
    /// an agent still cooling from refusing it, and to a past refuser only when no agent who
    /// never refused it (or was forgotten) has a free slot; to a returning customer's previous
    /// agent only if a VIP, or while the reserve allows and no VIP waits in the queue.
    pub(super) fn audit_offer(&mut self, id: ConversationId, agent: AgentId) {
        if !self.audit.enabled || self.audit.failure.is_some() {
            return;
        }
        if let Err(failure) = self.reference_offer(id, agent) {
            self.audit.failure = Some(format!("at t={}: {failure}", self.now));
        }
    }

    fn reference_offer(&self, id: ConversationId, agent: AgentId) -> Result<(), String> {
        let Some(c) = self.conversations.get(&id) else {
            return Ok(());
        };
        let slots = self.reference_slots();
        let Some(a) = self.roster.get(&agent) else {
            return Err(format!("{id:?} offered to unknown {agent:?}"));
        };
        if !self.reference_free(a, &slots) {
            return Err(format!("{id:?} offered to {agent:?}, who has no free slot"));
        }
        let source = if c.wait_key.is_some() {
            Source::Queue
        } else if c.sticky_for == Some(agent) {
            Source::Sticky
        } else {
            Source::Directed
        };
        if source == Source::Directed {
            return Ok(());
        }
        if !self.reference_serves(a, c.queue) {
            return Err(format!("{id:?} offered to {agent:?}, who lacks its skills"));
        }
        let standard = c.ranking.lane == Lane::Standard;
        let standard_may_take = self.reference_standard_may_take(&slots);
        if source == Source::Sticky {
            if standard && (!standard_may_take || self.reference_vip_waits(c.queue)) {
                return Err(format!(
                    "returning {id:?} offered to {agent:?} past the VIP reserve or a waiting VIP"
                ));
            }
            return Ok(());
        }
        if standard && !standard_may_take {
            return Err(format!(
                "standard {id:?} offered to {agent:?} into the VIP reserve"
            ));
        }
        if self.reference_cooling(c, agent) {
            return Err(format!(
                "{id:?} offered to {agent:?}, who refused it within the cooldown"
            ));
        }
        let refused = |x: AgentId| c.refusals.as_slice().iter().any(|r| r.agent == x);
        if refused(agent) {
            let fresh = self.roster.iter().map(|(_, b)| b).find(|b| {
                !refused(b.id())
                    && self.reference_free(b, &slots)
                    && self.reference_serves(b, c.queue)
            });
            if let Some(b) = fresh {
                return Err(format!(
                    "{id:?} offered to past refuser {agent:?} while {:?}, who never refused it, \
                     has a free slot",
                    b.id()
                ));
            }
        }
        Ok(())
    }

    /// Load, pending offers and non-VIP load per agent, from the conversation table.
    fn reference_slots(&self) -> FxHashMap<AgentId, Slots> {
        let mut slots: FxHashMap<AgentId, Slots> = FxHashMap::default();
        for (_, c) in self.conversations.iter() {
            let holds = matches!(
                c.state,
                State::Offered | State::Assigned | State::WrapUp | State::WithBot
            );
            let Some(agent) = c.agent.filter(|_| holds) else {
                continue;
            };
            let s = slots.entry(agent).or_default();
            s.load += 1;
            s.offers += u32::from(c.state == State::Offered);
            s.non_vip += u32::from(c.ranking.lane != Lane::Vip);
        }
        slots
    }

    /// The VIP reserve as documented: of the capacity of connected, available humans,
    /// `floor(capacity × reserved_share)` slots are never taken by non-VIP conversations. So one
    /// more may be offered only while those held stay within the rest afterwards. An agent
    /// holding more than a lowered capacity counts as full, not as taking others' slots.
    fn reference_standard_may_take(&self, slots: &FxHashMap<AgentId, Slots>) -> bool {
        let (mut capacity, mut non_vip) = (0u64, 0u64);
        for (_, a) in self.roster.iter() {
            if a.role() == Role::Human && a.connected() && a.status() == AgentStatus::Available {
                capacity += u64::from(a.capacity());
                // Conversations kept beyond a lowered capacity take nobody else's room.
                let held = slots.get(&a.id()).map_or(0, |s| s.non_vip);
                non_vip += u64::from(held.min(a.capacity()));
            }
        }
        let reserved = (capacity as f64 * self.policy.vip_reserved_share).floor() as u64;
        non_vip < capacity.saturating_sub(reserved)
    }

    /// Connected, available and below capacity.
    fn reference_free(&self, a: &Agent, slots: &FxHashMap<AgentId, Slots>) -> bool {
        let load = slots.get(&a.id()).map_or(0, |s| s.load);
        a.connected() && a.status() == AgentStatus::Available && load < a.capacity()
    }

    /// A human with every skill the queue needs (bots serve no queue).
    fn reference_serves(&self, a: &Agent, queue: QueueId) -> bool {
        let needs = &self.policy.queues[usize::from(queue.0)].skills;
        a.role() == Role::Human && needs.iter().all(|s| a.skills().iter().any(|(k, _)| k == s))
    }

    /// Whether `agent` refused `c` less than the cooldown ago.
    fn reference_cooling(&self, c: &Conversation, agent: AgentId) -> bool {
        let cooldown = self.policy.refusal_cooldown_ms;
        c.refusals
            .as_slice()
            .iter()
            .any(|r| r.agent == agent && self.now < r.at + cooldown)
    }

    /// Whether a VIP waits in the queue (not held for anyone).
    fn reference_vip_waits(&self, queue: QueueId) -> bool {
        self.conversations.iter().any(|(_, c)| {
            c.state == State::Waiting
                && c.sticky_for.is_none()
                && c.queue == queue
                && c.ranking.lane == Lane::Vip
        })
    }
}

/// The per-offer audit's switch and its first finding.
#[derive(Debug, Clone, Default)]
pub(super) struct Audit {
    enabled: bool,
    pub(super) failure: Option<String>,
}
