//! Offers: a conversation offered to one agent, accepted (assigned), rejected, timed out or
//! withdrawn. A refusal holds the agent back for the cooldown ([`crate::refusals`]); agents who let
//! `max_missed_offers` time out in a row are set away.

use std::sync::Arc;

use crate::assignment::Agent;
use crate::conversation::offer_context;
use crate::timers::Timer;
use crate::types::{
    AgentId, AgentStatus, ConversationId, Effect, Lane, State, StatusReason, WithdrawReason,
};
use crate::Router;

impl Router {
    pub(crate) fn offer(&mut self, id: ConversationId, agent_id: AgentId, out: &mut Vec<Effect>) {
        self.audit_offer(id, agent_id);
        // Every caller offers to an agent it found eligible: dispatch through the index, sticky
        // service and a transfer after checking. A full or unavailable one here is a stale index.
        debug_assert!(
            self.roster.get(&agent_id).is_some_and(Agent::eligible),
            "{id:?} offered to {agent_id:?}, who cannot take it"
        );
        let now = self.now;
        let Some(c) = self.conversations.get_mut(&id) else {
            return;
        };
        if let Some(key) = c.wait_key.take() {
            let q = usize::from(c.queue.0);
            if let Some(waiter) = self.waiting[q].remove(&key) {
                c.predicted_ms = waiter.first_ewt;
            }
            self.rates[q].record(now);
        }
        let returning_customer = c.sticky_for.take() == Some(agent_id);
        c.state = State::Offered;
        c.agent = Some(agent_id);
        c.epoch = c.epoch.wrapping_add(1);
        let epoch = c.epoch;
        let vip = c.ranking.lane == Lane::Vip;
        let queue = c.queue;
        let context = Arc::new(offer_context(
            c,
            now,
            returning_customer,
            self.policy.transcript_bytes,
        ));
        let auto_accept = self
            .update_agent(agent_id, |a| {
                a.take_offer(id, vip, now);
                a.auto_accept()
            })
            .unwrap_or(false);
        out.push(Effect::StateChanged {
            conversation: id,
            state: State::Offered,
            queue,
        });
        out.push(Effect::Offer {
            agent: agent_id,
            conversation: id,
            context,
            auto_accepted: auto_accept,
        });
        if auto_accept {
            self.assign(id, out);
        } else {
            self.timers.set(
                now + self.policy.offer_timeout_ms,
                Timer::OfferTimeout(agent_id, id, epoch),
            );
        }
    }

    pub(crate) fn assign(&mut self, id: ConversationId, out: &mut Vec<Effect>) {
        let now = self.now;
        let Some(c) = self.conversations.get_mut(&id) else {
            return;
        };
        let Some(agent) = c.agent else { return };
        c.state = State::Assigned;
        c.epoch = c.epoch.wrapping_add(1);
        c.last_activity = now;
        let epoch = c.epoch;
        let queue = c.queue;
        let connector = c.connector;
        let first_answer = !c.answered;
        c.answered = true;
        let waited = now.saturating_sub(c.waiting_since);
        let class = c.ranking.class;
        let predicted_ms = c.predicted_ms;
        self.roster.accepted(agent, id);
        out.push(Effect::StateChanged {
            conversation: id,
            state: State::Assigned,
            queue,
        });
        out.push(Effect::AgentJoined {
            connector,
            conversation: id,
            agent,
        });
        if first_answer {
            out.push(Effect::WaitObserved {
                queue,
                class,
                predicted_ms,
                actual_ms: waited,
                sla_met: waited <= self.policy.sla_ms(class),
            });
        }
        if self.policy.idle_ms > 0 {
            self.timers
                .set(now + self.policy.idle_ms, Timer::Idle(id, epoch));
        }
    }

    /// An offer the agent did not take (rejected or timed out) goes back to waiting.
    pub(crate) fn take_back(&mut self, agent: AgentId, id: ConversationId, out: &mut Vec<Effect>) {
        self.release(agent, id);
        self.note_refusal(agent, id);
        self.requeue(id, out);
    }

    /// Holds `agent` back from `id` for the cooldown, and makes sure the conversation is looked at
    /// again when it ends: the refuser may be the only one who can take it.
    pub(crate) fn note_refusal(&mut self, agent: AgentId, id: ConversationId) {
        let now = self.now;
        if let Some(c) = self.conversations.get_mut(&id) {
            c.refusals.record(agent, now);
            self.timers.set(
                now + self.policy.refusal_cooldown_ms,
                Timer::CooldownEnd(id),
            );
        }
    }

    pub(crate) fn withdraw(
        &mut self,
        agent: AgentId,
        id: ConversationId,
        reason: WithdrawReason,
        out: &mut Vec<Effect>,
    ) {
        out.push(Effect::OfferWithdrawn {
            agent,
            conversation: id,
            reason,
        });
        self.release(agent, id);
        self.requeue(id, out);
    }

    pub(crate) fn offer_timed_out(
        &mut self,
        agent: AgentId,
        id: ConversationId,
        epoch: u32,
        out: &mut Vec<Effect>,
    ) {
        let pending = self
            .roster
            .get(&agent)
            .is_some_and(|a| a.offered().contains(&id));
        if !pending {
            return;
        }
        let agent = match self.conversations.get(&id) {
            Some(c) if c.epoch == epoch && c.state == State::Offered => c.agent,
            _ => None,
        };
        let Some(agent) = agent else { return };
        out.push(Effect::OfferWithdrawn {
            agent,
            conversation: id,
            reason: WithdrawReason::Timeout,
        });
        self.take_back(agent, id, out);
        let max = self.policy.max_missed_offers;
        let set_away = self
            .update_agent(agent, |a| a.miss_offer(max))
            .unwrap_or(false);
        if set_away {
            out.push(Effect::AgentStatusChanged {
                agent,
                status: AgentStatus::Away,
                reason: StatusReason::MissedOffers,
            });
        }
    }
}
