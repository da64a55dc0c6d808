//! The conversation lifecycle: waiting for a human (and re-ranking while it waits), ending from any
//! state, wrap-up, and what an agent who goes offline leaves behind. Offers and assignment are in
//! [`crate::offers`].

use crate::conversation::Conversation;
use crate::timers::Timer;
use crate::types::{
    AgentId, AgentStatus, CloseReason, ConversationId, Effect, HandoffReason, Lane, Role, State,
    StatusReason, WithdrawReason,
};
use crate::waiting::{Precedence, WaitKey, Waiter};
use crate::Router;

use crate::dispatch::mark;

impl Router {
    /// Sends a conversation to the human side: its previous agent if sticky, else its queue.
    pub(crate) fn wait_for_human(&mut self, id: ConversationId, out: &mut Vec<Effect>) {
        let Some(c) = self.conversations.get_mut(&id) else {
            return;
        };
        c.state = State::Waiting;
        c.epoch = c.epoch.wrapping_add(1);
        let (queue, ranking, customer) = (c.queue, c.ranking, c.customer);
        out.push(Effect::StateChanged {
            conversation: id,
            state: State::Waiting,
            queue,
        });
        if !self.hold_for_previous_agent(id, queue, ranking, customer, out) {
            self.enqueue(id);
        }
    }

    /// A waiting customer's mood or description changed: their priority and lane follow, and
    /// their place with them. Never for a conversation that holds a slot.
    pub(crate) fn rerank(&mut self, id: ConversationId) {
        let Some(c) = self.conversations.get_mut(&id) else {
            return;
        };
        let points = c
            .handoff
            .as_ref()
            .map_or(0, |h| self.policy.handoff_points(h.reason));
        c.ranking = self.policy.rank(&c.profile, c.upset, points);
        c.age_key = self.policy.age_key(c.waiting_since, c.ranking.priority);
        let Some(old) = c.wait_key else { return };
        let key = WaitKey {
            lane: c.ranking.lane,
            age_key: c.age_key,
            ..old
        };
        c.wait_key = Some(key);
        let queue = c.queue;
        let waiting = &mut self.waiting[usize::from(queue.0)];
        if let Some(waiter) = waiting.remove(&old) {
            waiting.insert(key, waiter);
        }
        mark(&mut self.dirty, queue);
    }

    /// Puts a conversation into its queue at its arrival-time key and says where it stands.
    pub(crate) fn enqueue(&mut self, id: ConversationId) {
        let Some(c) = self.conversations.get_mut(&id) else {
            return;
        };
        debug_assert!(
            c.wait_key.is_none() && c.agent.is_none(),
            "{id:?} queued twice or while held"
        );
        let key = WaitKey {
            lane: c.ranking.lane,
            precedence: c.precedence,
            age_key: c.age_key,
            seq: c.seq,
        };
        c.wait_key = Some(key);
        let queue = c.queue;
        let mut waiter = Waiter::new(id, c.connector, c.waiting_since);
        waiter.first_ewt = c.predicted_ms;
        self.waiting[usize::from(queue.0)].insert(key, waiter);
        mark(&mut self.dirty, queue);
        if !self.joined.contains(&id) {
            self.joined.push(id);
        }
        if !self.queue_updates_armed {
            self.queue_updates_armed = true;
            self.timers
                .set(self.now + self.policy.queue_update_ms, Timer::QueueUpdates);
        }
    }

    /// Back to waiting after an agent let go of it: same key, so it keeps its place.
    pub(crate) fn requeue(&mut self, id: ConversationId, out: &mut Vec<Effect>) {
        let Some(c) = self.conversations.get_mut(&id) else {
            return;
        };
        c.state = State::Waiting;
        c.agent = None;
        c.epoch = c.epoch.wrapping_add(1);
        c.age_key = self.policy.age_key(c.waiting_since, c.ranking.priority);
        let queue = c.queue;
        out.push(Effect::StateChanged {
            conversation: id,
            state: State::Waiting,
            queue,
        });
        self.enqueue(id);
    }

    /// Frees the agent's slot for a conversation (the conversation's own state is the caller's).
    pub(crate) fn release(&mut self, agent: AgentId, id: ConversationId) {
        let vip = self
            .conversations
            .get(&id)
            .is_some_and(|c| c.ranking.lane == Lane::Vip);
        self.release_slot(agent, id, vip);
    }

    fn release_slot(&mut self, agent: AgentId, id: ConversationId, vip: bool) {
        self.update_agent(agent, |a| a.let_go(id, vip));
    }

    /// Ends a conversation for the reason given, from whatever open state it is in.
    pub(crate) fn end(&mut self, id: ConversationId, reason: CloseReason, out: &mut Vec<Effect>) {
        let Some(c) = self.conversations.get_mut(&id) else {
            return;
        };
        let (state, agent, connector, queue) = (c.state, c.agent, c.connector, c.queue);
        match state {
            State::Waiting => {
                let q = usize::from(queue.0);
                if let Some(key) = c.wait_key.take() {
                    self.waiting[q].remove(&key);
                }
                if let Some(held_for) = c.sticky_for.take() {
                    self.roster.drop_sticky(held_for, id);
                }
                self.finish(id, reason, None, reason == CloseReason::Customer, out);
            }
            State::Offered => {
                if let Some(agent) = agent {
                    out.push(Effect::OfferWithdrawn {
                        agent,
                        conversation: id,
                        reason: WithdrawReason::Ended,
                    });
                    self.release(agent, id);
                }
                self.finish(id, reason, None, reason == CloseReason::Customer, out);
            }
            State::Assigned | State::WithBot => {
                let Some(agent) = agent else { return };
                let customer = c.customer;
                c.epoch = c.epoch.wrapping_add(1);
                let epoch = c.epoch;
                out.push(Effect::Ended {
                    connector,
                    agent: Some(agent),
                    conversation: id,
                    reason,
                    abandoned: false,
                });
                let human = self
                    .roster
                    .get(&agent)
                    .is_some_and(|a| a.role() == Role::Human);
                if human && self.policy.sticky_window_ms > 0 {
                    self.recent.remember(customer, agent, self.now);
                }
                if human && self.policy.wrap_up_ms > 0 {
                    if let Some(c) = self.conversations.get_mut(&id) {
                        c.state = State::WrapUp;
                    }
                    out.push(Effect::StateChanged {
                        conversation: id,
                        state: State::WrapUp,
                        queue,
                    });
                    self.timers.set(
                        self.now + self.policy.wrap_up_ms,
                        Timer::WrapUpEnd(id, epoch),
                    );
                } else {
                    self.finish_wrap_up(id, out);
                }
            }
            State::WrapUp | State::Closed | State::Abandoned => {}
        }
    }

    /// Wrap-up over: the slot frees and the conversation is forgotten.
    pub(crate) fn finish_wrap_up(&mut self, id: ConversationId, out: &mut Vec<Effect>) {
        let Some(c) = self.forget(id) else {
            return;
        };
        if let Some(agent) = c.agent {
            self.release_slot(agent, id, c.ranking.lane == Lane::Vip);
        }
        out.push(Effect::StateChanged {
            conversation: id,
            state: State::Closed,
            queue: c.queue,
        });
    }

    /// Closes or abandons a conversation that holds no slot, and forgets it.
    pub(crate) fn finish(
        &mut self,
        id: ConversationId,
        reason: CloseReason,
        agent: Option<AgentId>,
        abandoned: bool,
        out: &mut Vec<Effect>,
    ) {
        let Some(c) = self.forget(id) else {
            return;
        };
        out.push(Effect::Ended {
            connector: c.connector,
            agent,
            conversation: id,
            reason,
            abandoned,
        });
        out.push(Effect::StateChanged {
            conversation: id,
            state: if abandoned {
                State::Abandoned
            } else {
                State::Closed
            },
            queue: c.queue,
        });
    }

    /// Removes a conversation that has ended, remembering that it did.
    pub(crate) fn forget(&mut self, id: ConversationId) -> Option<Conversation> {
        let removed = self.conversations.remove(&id);
        if removed.is_some() {
            self.ended.record(id);
        }
        removed
    }

    /// The agent leaves for good: what it held goes back to the head of its lane.
    pub(crate) fn go_offline(&mut self, id: AgentId, reason: StatusReason, out: &mut Vec<Effect>) {
        if self
            .update_agent(id, |a| a.set_status(AgentStatus::Offline))
            .is_none()
        {
            return;
        }
        let Some(agent) = self.roster.remove(&id) else {
            return;
        };
        for &conversation in agent.sticky() {
            if let Some(c) = self.conversations.get_mut(&conversation) {
                c.sticky_for = None;
            }
            self.enqueue(conversation);
        }
        for &conversation in agent.held() {
            let Some(c) = self.conversations.get_mut(&conversation) else {
                continue;
            };
            match c.state {
                State::Offered => {
                    out.push(Effect::OfferWithdrawn {
                        agent: id,
                        conversation,
                        reason: WithdrawReason::AgentGone,
                    });
                    self.requeue(conversation, out);
                }
                State::Assigned => {
                    c.precedence = Precedence::Rescued;
                    self.requeue(conversation, out);
                }
                State::WithBot => match self.roster.bots().first() {
                    Some(bot) => self.give_to_bot(conversation, bot, out),
                    None => self.hand_off(conversation, HandoffReason::BotUnavailable, out),
                },
                State::WrapUp => {
                    if let Some(c) = self.forget(conversation) {
                        out.push(Effect::StateChanged {
                            conversation,
                            state: State::Closed,
                            queue: c.queue,
                        });
                    }
                }
                State::Waiting | State::Closed | State::Abandoned => {}
            }
        }
        out.push(Effect::AgentStatusChanged {
            agent: id,
            status: AgentStatus::Offline,
            reason,
        });
    }
}
