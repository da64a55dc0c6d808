//! Commands from an agent or a bot: connect, disconnect, set a status, accept or reject an offer,
//! reply, transfer, close.

use switchboard_config::MAX_CAPACITY;

use crate::assignment::{Agent, Profile};
use crate::conversation::push_bounded;
use crate::dispatch::{mark, mark_agent};
use crate::timers::Timer;
use crate::types::{
    AgentId, AgentLogin, AgentStatus, CloseReason, ConversationId, Effect, Message, QueueId,
    RefusalCode, Requester, Role, Speaker, State, StatusReason, TranscriptLine, TransferTarget,
    WithdrawReason,
};
use crate::Router;

use super::refuse;

impl Router {
    pub(crate) fn connect(&mut self, id: AgentId, login: AgentLogin, out: &mut Vec<Effect>) {
        if login.capacity == 0 || login.capacity > MAX_CAPACITY {
            refuse(
                out,
                Requester::Agent(id),
                None,
                RefusalCode::InvalidCapacity,
            );
            return;
        }
        let profile = self.resolve_login(login);
        if self.roster.contains(&id) {
            self.reconnect(id, profile, out);
            return;
        }
        // Inserted unavailable, then made available through `update_agent`, so the indexes and
        // reserve sums are maintained in exactly one place.
        self.roster.insert(Agent::new(id, profile));
        self.update_agent(id, |a| a.set_status(AgentStatus::Available));
        out.push(Effect::AgentStatusChanged {
            agent: id,
            status: AgentStatus::Available,
            reason: StatusReason::Requested,
        });
    }

    /// The skills the tenant knows (levels clamped to 1–10) and the queues they serve, with the
    /// agent's level for each: the lowest of the queue's required skills.
    fn resolve_login(&self, login: AgentLogin) -> Profile {
        let skills: Vec<_> = login
            .skills
            .iter()
            .filter_map(|(name, level)| self.policy.skill(name).map(|s| (s, (*level).clamp(1, 10))))
            .collect();
        // Bots serve conversations before the queue, never from it.
        let serves_queues = login.role == Role::Human;
        let queues: Vec<_> = self
            .policy
            .queues
            .iter()
            .enumerate()
            .filter(|_| serves_queues)
            .filter_map(|(i, q)| {
                let levels: Option<Vec<u8>> = q
                    .skills
                    .iter()
                    .map(|s| skills.iter().find(|(k, _)| k == s).map(|(_, l)| *l))
                    .collect();
                levels.map(|l| (QueueId(i as u16), l.into_iter().min().unwrap_or(1)))
            })
            .collect();
        Profile {
            role: login.role,
            capacity: login.capacity,
            skills,
            queues,
            auto_accept: login.auto_accept,
        }
    }

    /// An agent connects again within its grace period: it keeps what it holds, under its new
    /// declaration.
    fn reconnect(&mut self, id: AgentId, profile: Profile, out: &mut Vec<Effect>) {
        self.update_agent(id, |a| a.reconnect(profile));
        self.withdraw_offers_beyond_capacity(id, out);
        self.release_holds_not_served(id);
        // New skills may open queues the agent did not serve: look at them now, as a login
        // would, rather than at the next change.
        if let Some(agent) = self.roster.get(&id).filter(|a| a.eligible()) {
            for (q, _) in agent.queues() {
                mark(&mut self.dirty, *q);
            }
            if !agent.sticky().is_empty() {
                mark_agent(&mut self.freed, id);
            }
        }
        let mut held = self
            .roster
            .get(&id)
            .map(|a| a.held().to_vec())
            .unwrap_or_default();
        held.sort_unstable();
        out.push(Effect::AgentResumed {
            agent: id,
            conversations: held,
        });
    }

    /// A reconnect may lower an agent's capacity below what it holds. Nobody is taken from an
    /// agent mid-conversation: what it accepted stays with it (and it is offered nothing until
    /// it is below the new capacity), but its pending offers beyond the new capacity, newest
    /// first, go back to their queues for someone else.
    fn withdraw_offers_beyond_capacity(&mut self, id: AgentId, out: &mut Vec<Effect>) {
        loop {
            let Some(agent) = self.roster.get(&id) else {
                return;
            };
            let newest = agent.offered().last().copied();
            let Some(conversation) = newest.filter(|_| agent.load() > agent.capacity()) else {
                return;
            };
            self.withdraw(id, conversation, WithdrawReason::AgentGone, out);
        }
    }

    /// Returning customers held for an agent whose new skills (or role) no longer serve their
    /// queue stop waiting for it and take their place in the queue.
    fn release_holds_not_served(&mut self, id: AgentId) {
        let Some(agent) = self.roster.get(&id) else {
            return;
        };
        let released: Vec<ConversationId> = agent
            .sticky()
            .iter()
            .copied()
            .filter(|c| {
                self.conversations
                    .get(c)
                    .is_none_or(|c| agent.level_for(c.queue).is_none())
            })
            .collect();
        for conversation in &released {
            self.roster.drop_sticky(id, *conversation);
        }
        for conversation in released {
            if let Some(c) = self.conversations.get_mut(&conversation) {
                c.sticky_for = None;
            }
            self.enqueue(conversation);
        }
    }

    pub(crate) fn disconnect(&mut self, id: AgentId, out: &mut Vec<Effect>) {
        let Some(epoch) = self.update_agent(id, Agent::disconnect) else {
            refuse(out, Requester::Agent(id), None, RefusalCode::UnknownAgent);
            return;
        };
        // An agent who cannot answer must not sit on pending offers: they go to someone else now.
        let held = self.roster.get(&id).map(Agent::held).unwrap_or_default();
        let pending: Vec<ConversationId> = held
            .iter()
            .copied()
            .filter(|c| self.conversations.get(c).map(|c| c.state) == Some(State::Offered))
            .collect();
        for conversation in pending {
            self.withdraw(id, conversation, WithdrawReason::AgentGone, out);
        }
        if self.policy.grace_ms == 0 {
            self.go_offline(id, StatusReason::GraceExpired, out);
        } else {
            self.timers
                .set(self.now + self.policy.grace_ms, Timer::Grace(id, epoch));
        }
    }

    pub(crate) fn set_status(
        &mut self,
        id: AgentId,
        status: AgentStatus,
        reason: StatusReason,
        out: &mut Vec<Effect>,
    ) {
        if !self.roster.contains(&id) {
            refuse(out, Requester::Agent(id), None, RefusalCode::UnknownAgent);
            return;
        }
        if status == AgentStatus::Offline {
            self.go_offline(id, reason, out);
            return;
        }
        self.update_agent(id, |a| {
            a.set_status(status);
            if status == AgentStatus::Available {
                a.forgive_missed_offers();
            }
        });
        out.push(Effect::AgentStatusChanged {
            agent: id,
            status,
            reason,
        });
    }

    pub(crate) fn accept(&mut self, agent: AgentId, id: ConversationId, out: &mut Vec<Effect>) {
        match self.conversations.get(&id) {
            Some(c) if c.agent == Some(agent) && c.state == State::Offered => {
                self.assign(id, out);
            }
            _ => self.refuse_agent(agent, id, RefusalCode::NotOffered, out),
        }
    }

    pub(crate) fn reject(&mut self, agent: AgentId, id: ConversationId, out: &mut Vec<Effect>) {
        match self.conversations.get(&id) {
            Some(c) if c.agent == Some(agent) && c.state == State::Offered => {
                self.take_back(agent, id, out);
            }
            _ => self.refuse_agent(agent, id, RefusalCode::NotOffered, out),
        }
    }

    pub(crate) fn agent_message(
        &mut self,
        agent: AgentId,
        id: ConversationId,
        message: Message,
        out: &mut Vec<Effect>,
    ) {
        let now = self.now;
        let limit = self.policy.transcript_len;
        let role = self.roster.get(&agent).map(|a| a.role());
        let c = match self.conversations.get_mut(&id) {
            Some(c)
                if c.agent == Some(agent)
                    && matches!(c.state, State::Assigned | State::WithBot) =>
            {
                c
            }
            _ => {
                self.refuse_agent(agent, id, RefusalCode::NotAssigned, out);
                return;
            }
        };
        let from = match role {
            Some(Role::Bot) => Speaker::Bot(agent),
            _ => Speaker::Agent(agent),
        };
        c.last_activity = now;
        push_bounded(
            &mut c.transcript,
            limit,
            TranscriptLine {
                at: now,
                speaker: from,
                message: message.clone(),
            },
        );
        out.push(Effect::ToCustomer {
            connector: c.connector,
            conversation: id,
            from,
            message,
        });
    }

    pub(crate) fn transfer(
        &mut self,
        agent: AgentId,
        id: ConversationId,
        target: TransferTarget,
        out: &mut Vec<Effect>,
    ) {
        if !self.holds(agent, id, State::Assigned, out) {
            return;
        }
        match target {
            TransferTarget::Queue(name) => {
                let Some(queue) = self.policy.queue_named(&name) else {
                    refuse(
                        out,
                        Requester::Agent(agent),
                        Some(id),
                        RefusalCode::UnknownQueue,
                    );
                    return;
                };
                self.release(agent, id);
                if let Some(c) = self.conversations.get_mut(&id) {
                    c.queue = queue;
                }
                self.note_refusal(agent, id);
                self.requeue(id, out);
            }
            TransferTarget::Agent(to) => {
                let available = to != agent && self.roster.get(&to).is_some_and(|a| a.eligible());
                if !available {
                    refuse(
                        out,
                        Requester::Agent(agent),
                        Some(id),
                        RefusalCode::TargetUnavailable,
                    );
                    return;
                }
                self.release(agent, id);
                self.offer(id, to, out);
            }
        }
    }

    pub(crate) fn agent_close(
        &mut self,
        agent: AgentId,
        id: ConversationId,
        out: &mut Vec<Effect>,
    ) {
        match self.conversations.get(&id) {
            Some(c)
                if c.agent == Some(agent)
                    && matches!(c.state, State::Assigned | State::WithBot) =>
            {
                self.end(id, CloseReason::Agent, out);
            }
            _ => self.refuse_agent(agent, id, RefusalCode::NotAssigned, out),
        }
    }
}
