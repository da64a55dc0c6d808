//! What the router's effects mean to the players, read the way the engine turns them into
//! frames: an offer to a bot means the bot must answer, `AgentJoined` ends a customer's wait,
//! and so on.

use switchboard_router::{AgentId, CloseReason, Effect, HandoffReason, Millis, State};

use super::summary::PeakWaiting;
use super::{index, Event, Phase, Sim};
use crate::scenario::Ending;

impl Sim<'_> {
    /// Reads one effect of the command just applied.
    pub(super) fn effect(&mut self, now: Millis, effect: Effect) {
        match effect {
            Effect::StateChanged {
                conversation,
                state,
                ..
            } => self.state_changed(now, index(conversation), state),
            Effect::Offer {
                agent,
                conversation,
                ..
            } => {
                let i = index(conversation);
                match self.human(agent) {
                    Some(h) => self.offered(now, h, i),
                    None => self.bot_to_answer(now, agent, i),
                }
            }
            Effect::ToAgent {
                agent,
                conversation,
                ..
            } => {
                if self.human(agent).is_none() {
                    self.bot_to_answer(now, agent, index(conversation));
                }
            }
            Effect::OfferWithdrawn { conversation, .. } => {
                if let Some(c) = self.customers.get_mut(index(conversation)) {
                    c.offer_epoch += 1;
                }
            }
            Effect::Handoff {
                conversation,
                reason,
                ..
            } => self.handed_off(now, index(conversation), reason),
            Effect::AgentJoined {
                conversation,
                agent,
                ..
            } => self.joined(now, agent, index(conversation)),
            Effect::WaitObserved {
                actual_ms, sla_met, ..
            } => self.wait_observed(actual_ms, sla_met),
            Effect::Ended {
                conversation,
                reason,
                abandoned,
                ..
            } => self.ended(now, index(conversation), reason, abandoned),
            Effect::Refused { code, .. } => {
                *self.checks.refused.entry(code.as_str()).or_default() += 1;
            }
            Effect::ToCustomer { .. }
            | Effect::QueueUpdate { .. }
            | Effect::AgentStatusChanged { .. }
            | Effect::AgentResumed { .. } => {}
        }
    }

    fn handed_off(&mut self, now: Millis, i: usize, reason: HandoffReason) {
        let r = HandoffReason::ALL
            .iter()
            .position(|x| *x == reason)
            .unwrap_or(0);
        self.handoffs[r] += 1;
        if let Some(c) = self.customers.get_mut(i) {
            c.route = Some(reason.as_str());
        }
        self.start_waiting(now, i);
    }

    /// The router's measure of a wait must match the one the simulator saw end, and its SLA
    /// verdict the target of the class the router itself gives the customer.
    fn wait_observed(&mut self, actual_ms: Millis, sla_met: bool) {
        self.checks.router_waits += 1;
        let agrees = self.unmatched_wait.take().is_some_and(|(i, wait)| {
            let target = self.target_ms(i);
            wait == actual_ms && (wait <= target) == sla_met
        });
        if !agrees {
            self.checks.wait_disagreements += 1;
        }
    }

    fn target_ms(&self, i: usize) -> Millis {
        self.plan.customers[i]
            .class(self.tenant)
            .sla_ms(&self.tenant.sla)
    }

    fn state_changed(&mut self, now: Millis, i: usize, state: State) {
        let Some(c) = self.customers.get_mut(i) else {
            return;
        };
        match (state, c.phase) {
            (State::WithBot, Phase::Arriving) => {
                c.phase = Phase::WithBot;
                c.phase_epoch += 1;
            }
            // No bot took it and no handoff was said: the customer's first news is the queue.
            (State::Waiting, Phase::Arriving) => {
                c.route = Some("direct");
                self.straight_to_queue += 1;
                self.start_waiting(now, i);
            }
            // Taken back from an agent who left for good: that agent's actions are void.
            (State::Waiting, Phase::WithHuman { .. }) => c.hold_epoch += 1,
            (State::Closed, _) => {
                let answered = matches!(c.ending, Some(Ending::Answered { .. }));
                if let (Some(since), true) = (c.slot_since.take(), answered) {
                    let slot = &mut self.slot[usize::from(c.queue.0)];
                    slot.0 += now - since;
                    slot.1 += 1;
                }
            }
            _ => {}
        }
    }

    fn start_waiting(&mut self, now: Millis, i: usize) {
        let Some(c) = self.customers.get_mut(i) else {
            return;
        };
        if matches!(c.phase, Phase::Waiting { .. } | Phase::Ended) {
            return;
        }
        c.phase = Phase::Waiting { since: now };
        c.phase_epoch += 1;
        let (epoch, queue) = (c.phase_epoch, usize::from(c.queue.0));
        if let Some(second) = self
            .entered
            .get_mut(queue)
            .and_then(|q| q.get_mut((now / 1000) as usize))
        {
            *second += 1;
        }
        self.waiting += 1;
        if self.waiting > self.peak_waiting.conversations {
            self.peak_waiting = PeakWaiting {
                conversations: self.waiting,
                at_ms: now,
            };
        }
        let patience = self.plan.customers[i].patience_ms;
        if patience != u64::MAX {
            self.at(
                now.saturating_add(patience),
                Event::GiveUp { customer: i, epoch },
            );
        }
    }

    fn bot_to_answer(&mut self, now: Millis, bot: AgentId, i: usize) {
        let Some(c) = self.customers.get(i) else {
            return;
        };
        let delay = self.plan.customers[i]
            .bot_reply_ms
            .get(c.bot_replies)
            .copied()
            .unwrap_or(0);
        let epoch = c.phase_epoch;
        self.at(
            now + delay,
            Event::BotReply {
                customer: i,
                bot,
                epoch,
            },
        );
    }

    fn offered(&mut self, now: Millis, h: usize, i: usize) {
        let Some(c) = self.customers.get_mut(i) else {
            return;
        };
        c.slot_since = Some(now);
        let epoch = c.offer_epoch;
        let group = &self.scenario.agents[self.plan.agents[h].group];
        let delay = group.accept_ms_for(self.plan.customers[i].accept);
        self.at(
            now + delay,
            Event::Accept {
                agent: h,
                customer: i,
                epoch,
            },
        );
    }

    fn joined(&mut self, now: Millis, agent: AgentId, i: usize) {
        let Some(h) = self.human(agent) else {
            return;
        };
        let Some(c) = self.customers.get_mut(i) else {
            return;
        };
        c.hold_epoch += 1;
        let hold = c.hold_epoch;
        if let Phase::Waiting { since } = c.phase {
            let wait_ms = now - since;
            c.phase = Phase::WithHuman { wait_ms };
            c.phase_epoch += 1;
            self.waiting -= 1;
            self.unmatched_wait = Some((i, wait_ms));
            self.minute(now).answered += 1;
            self.think_then_send(now, i);
        }
        let p = &self.plan.agents[h];
        let group = &self.scenario.agents[p.group];
        let handle = group.handle_ms_for(self.plan.customers[i].handle);
        let (every, epoch) = (p.reply_every_ms.max(1), hold);
        self.at(
            now + every,
            Event::AgentReply {
                agent: h,
                customer: i,
                epoch,
            },
        );
        self.at(
            now + handle,
            Event::AgentClose {
                agent: h,
                customer: i,
                epoch,
            },
        );
    }

    fn ended(&mut self, now: Millis, i: usize, reason: CloseReason, abandoned: bool) {
        let Some(c) = self.customers.get_mut(i) else {
            return;
        };
        if c.ending.is_some() {
            self.checks.ending_disagreements += 1;
            return;
        }
        let ending = match c.phase {
            Phase::Waiting { since } => Ending::Abandoned {
                wait_ms: now - since,
            },
            Phase::WithHuman { wait_ms } => Ending::Answered { wait_ms },
            Phase::WithBot | Phase::Arriving | Phase::Ended if reason == CloseReason::Connector => {
                Ending::Resolved
            }
            Phase::WithBot | Phase::Arriving | Phase::Ended => Ending::Left,
        };
        let gave_up = matches!(ending, Ending::Abandoned { .. });
        if gave_up {
            self.waiting -= 1;
        }
        if gave_up != abandoned {
            self.checks.ending_disagreements += 1;
        }
        c.ending = Some(ending);
        c.phase = Phase::Ended;
        c.phase_epoch += 1;
        if gave_up {
            self.minute(now).abandoned += 1;
        }
    }
}
