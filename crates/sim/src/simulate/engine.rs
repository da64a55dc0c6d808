//! The virtual-time engine: one queue of events ordered by `(virtual ms, sequence)`, router
//! deadlines honoured with [`Command::Tick`] exactly when due, per-second samples, and the one
//! door to the router ([`Sim::apply`]).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use switchboard_config::TenantConfig;
use switchboard_router::{
    AgentId, AgentLogin, Command, ConnectorId, HandoffReason, Millis, QueueId, Role, Router,
};

use super::summary::{Checks, Minute, PeakWaiting};
use super::{Customer, Event, Human, Phase, Sim};
use crate::scenario::{Plan, Scenario};

impl<'a> Sim<'a> {
    pub(super) fn new(scenario: &'a Scenario, tenant: &'a TenantConfig, plan: &'a Plan) -> Self {
        let router = Router::new(tenant);
        let queues = tenant.queues.len();
        let seconds = plan.end_ms.div_ceil(1000) as usize + 1;
        let minutes = plan.end_ms.div_ceil(60_000).max(1) as usize;
        let humans = plan
            .agents
            .iter()
            .map(|a| Human {
                login: AgentLogin {
                    role: Role::Human,
                    capacity: a.capacity,
                    skills: a.skills.iter().map(|(k, v)| (k.clone(), *v)).collect(),
                    auto_accept: false,
                },
                connected: false,
                deferred: Vec::new(),
            })
            .collect();
        let customers = vec![
            Customer {
                phase: Phase::Arriving,
                sent: 0,
                bot_replies: 0,
                phase_epoch: 0,
                offer_epoch: 0,
                hold_epoch: 0,
                queue: QueueId(0),
                route: None,
                slot_since: None,
                ending: None,
            };
            plan.customers.len()
        ];
        Sim {
            scenario,
            tenant,
            plan,
            router,
            events: BinaryHeap::new(),
            seq: 0,
            effects: Vec::new(),
            customers,
            humans,
            bots: plan.bots,
            unmatched_wait: None,
            waiting: 0,
            peak_waiting: PeakWaiting {
                conversations: 0,
                at_ms: 0,
            },
            handoffs: [0; HandoffReason::ALL.len()],
            straight_to_queue: 0,
            timeline: vec![Minute::default(); minutes],
            next_second: 0,
            load: Vec::with_capacity(seconds),
            entered: vec![vec![0; seconds]; queues],
            slot: vec![(0, 0); queues],
            checks: Checks::default(),
        }
    }

    /// Schedules `event`; the sequence number breaks ties in scheduling order, so equal times
    /// play the same way every run.
    pub(super) fn at(&mut self, time: Millis, event: Event) {
        self.seq += 1;
        self.events.push(Reverse((time, self.seq, event)));
    }

    /// Plays the plan to its end. A router deadline due at the same time as an event goes
    /// first, as a timer that fired before the message arrived.
    pub(super) fn play(&mut self) {
        // Everyone logs in before the first arrival.
        for bot in 0..self.bots {
            let login = AgentLogin {
                role: Role::Bot,
                capacity: self.scenario.bots.capacity,
                skills: Vec::new(),
                auto_accept: true,
            };
            self.apply(
                0,
                Command::AgentConnect {
                    agent: AgentId(bot),
                    login,
                },
            );
        }
        for h in 0..self.humans.len() {
            self.reconnect(0, h);
        }
        let plan = self.plan;
        for (i, customer) in plan.customers.iter().enumerate() {
            self.at(customer.arrival_ms, Event::Arrive(i));
        }
        for (h, agent) in plan.agents.iter().enumerate() {
            if let Some((at, away)) = agent.disconnect {
                self.at(at, Event::Disconnect(h));
                self.at(at.saturating_add(away), Event::Reconnect(h));
            }
        }
        loop {
            let event_at = self.events.peek().map(|Reverse((t, _, _))| *t);
            let timer_at = self.router.next_deadline();
            let tick = match (timer_at, event_at) {
                (Some(d), Some(e)) => d <= e,
                (Some(_), None) => true,
                (None, _) => false,
            };
            let Some(now) = (if tick { timer_at } else { event_at }) else {
                break;
            };
            if now > plan.end_ms {
                break;
            }
            self.sample_until(now);
            if tick {
                self.apply(now, Command::Tick);
            } else if let Some(Reverse((_, _, event))) = self.events.pop() {
                self.handle(now, event);
            }
        }
        self.sample_until(plan.end_ms);
        if let Some(last) = self.timeline.last_mut() {
            last.waiting = self.waiting;
        }
    }

    /// Records the state at each whole second up to `t`: nothing changes between events.
    fn sample_until(&mut self, t: Millis) {
        while self.next_second * 1000 <= t && self.next_second * 1000 < self.plan.end_ms {
            let counts = self.router.agent_counts();
            self.load.push((counts.load, counts.capacity));
            let s = self.next_second;
            if s > 0 && s % 60 == 0 {
                if let Some(minute) = self.timeline.get_mut((s / 60 - 1) as usize) {
                    minute.waiting = self.waiting;
                }
            }
            self.next_second += 1;
        }
    }

    /// The timeline row of `now`; the last row takes anything past the end.
    pub(super) fn minute(&mut self, now: Millis) -> &mut Minute {
        let last = self.timeline.len() - 1;
        &mut self.timeline[((now / 60_000) as usize).min(last)]
    }

    /// Bots take the first agent ids, human agents the ones after.
    pub(super) fn agent_id(&self, h: usize) -> AgentId {
        AgentId(self.bots + h as u32)
    }

    /// The human agent behind `agent`; `None` for a bot.
    pub(super) fn human(&self, agent: AgentId) -> Option<usize> {
        agent
            .0
            .checked_sub(self.bots)
            .map(|h| h as usize)
            .filter(|h| *h < self.humans.len())
    }

    pub(super) fn connector(&self, customer: usize) -> ConnectorId {
        ConnectorId(self.plan.customers[customer].connector)
    }

    /// The one door to the router: applies `command` and reads every effect it had.
    pub(super) fn apply(&mut self, now: Millis, command: Command) {
        let mut effects = std::mem::take(&mut self.effects);
        self.router.apply(now, command, &mut effects);
        for effect in effects.drain(..) {
            self.effect(now, effect);
        }
        self.effects = effects;
        // The router reports a first answer in the same command as the join.
        if self.unmatched_wait.take().is_some() {
            self.checks.wait_disagreements += 1;
        }
    }
}
