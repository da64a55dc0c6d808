//! A connector socket and the customers the plan puts on it.
//!
//! Each customer follows the rules of play in `switchboard_sim::scenario` ("How a plan is
//! played"): the first message at `arrival_ms`; with a bot, the next one `think_ms` after each
//! unresolved reply, a close after a resolving one, `customer_left` when out of messages;
//! nothing while waiting for a human, and `customer_left` once `patience_ms` has passed; with a
//! human, the remaining messages `think_ms` apart. Where the gateway's frames decide (a bot
//! reply, `handoff`, `queue`, `agent_joined`, `closed`), the customer reacts when the frame
//! arrives; the wait is measured from the start of waiting to `agent_joined`, as [`Ending`]
//! defines it.

use std::collections::HashMap;
use std::sync::Arc;

use switchboard_protocol::{
    AuthorRole, ClientMessage, CloseReason, ConversationRef, Customer as WireCustomer,
    CustomerMessage, ErrorCode, ErrorReport, HandoffReason, Private, ServerMessage, Tier,
    DEFAULT_LANGUAGE,
};
use switchboard_sim::scenario::{CustomerPlan, Ending};

use super::{ms_ns, wire_name, Play, Rules, Schedule, Step, Turn};
use crate::rehearsal::link::{Link, Received};
use crate::rehearsal::measure::{Author, Tag};

/// Where a customer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Not arrived yet.
    Due,
    /// First message sent, nothing heard yet: with a bot, or waiting if the first thing heard
    /// is a queue update (or a human straight away).
    Opened,
    /// A bot answered.
    WithBot,
    /// Waiting for a human since the given time.
    Waiting(u64),
    /// A human joined.
    WithHuman,
    /// Ended (the outcome is set).
    Done,
}

/// One customer's state.
#[derive(Debug)]
struct Customer {
    index: u32,
    arrival_ns: u64,
    phase: Phase,
    /// Index of the next text to send.
    next: usize,
    bot_replies: usize,
    unresolved: u32,
    /// Bumped whenever scheduled sends or a scheduled leave stop applying.
    epoch: u32,
    /// The latest message sent: its id and intended time (a handoff's usual trigger).
    last_sent: Option<(String, u64)>,
    /// Intended time of the latest bot reply (the trigger of a `bot_unresolved` handoff).
    last_bot_ns: u64,
    first_ewt: Option<u32>,
    answered_wait_ms: Option<u64>,
    ending: Option<Ending>,
}

/// What a connector can be scheduled to do.
#[derive(Debug)]
pub enum Action {
    /// Send text `k` of a customer.
    Send {
        /// Plan index.
        customer: u32,
        /// Which text.
        k: usize,
        /// The customer's epoch when planned.
        epoch: u32,
    },
    /// The customer's patience ran out.
    Leave {
        /// Plan index.
        customer: u32,
        /// The customer's epoch when planned.
        epoch: u32,
    },
}

impl Customer {
    fn new(index: u32) -> Customer {
        Customer {
            index,
            arrival_ns: 0,
            phase: Phase::Due,
            next: 0,
            bot_replies: 0,
            unresolved: 0,
            epoch: 0,
            last_sent: None,
            last_bot_ns: 0,
            first_ewt: None,
            answered_wait_ms: None,
            ending: None,
        }
    }

    /// Plans the next message `think_ms` after `after`; false when none is left.
    fn think_then_send(&self, plan: &CustomerPlan, after: u64, s: &mut Schedule<Action>) -> bool {
        let think = plan.think_ms.get(self.next.wrapping_sub(1));
        let Some(think) = think.filter(|_| self.next < plan.texts.len()) else {
            return false;
        };
        let (customer, k, epoch) = (self.index, self.next, self.epoch);
        s.at(after + ms_ns(*think), Action::Send { customer, k, epoch });
        true
    }

    /// Sends text `k`, meant for `at`.
    fn send(&mut self, plan: &CustomerPlan, k: usize, at: u64, turn: &mut Turn<'_, Action>) {
        let Some(text) = plan.texts.get(k) else {
            return;
        };
        let tag = Tag {
            author: Author::Customer,
            conversation: self.index,
            n: k as u32,
            intended_ns: at,
        };
        let id = tag.id();
        // As the protocol allows, only the opening message describes the customer.
        let opening = k == 0;
        let message = CustomerMessage {
            seq: 0,
            conversation: plan.conversation_id(),
            message_id: id.clone(),
            text: Private((*text).to_string()),
            customer: opening.then(|| WireCustomer {
                id: Private(format!("u-{}", self.index)),
                tier: plan.vip_level.map_or(Tier::Standard, Tier::Vip),
                tags: Vec::new(),
                name: None,
            }),
            channel: opening.then(|| plan.channel.clone()),
            language: opening.then(|| DEFAULT_LANGUAGE.to_string()),
            intent: plan.intent.clone().filter(|_| k == 0),
            order_value: None,
            sentiment: None,
            sent_at: None,
        };
        let held = matches!(self.phase, Phase::WithBot | Phase::WithHuman);
        turn.link
            .send(ClientMessage::CustomerMessage(message), at, held);
        self.next = k + 1;
        self.last_sent = Some((id, at));
        if k == 0 {
            self.phase = Phase::Opened;
            self.arrival_ns = at;
            turn.link.shared().with(|m| m.arrived += 1);
        }
        // With a human the customer writes on, each message `think_ms` after the previous one.
        if self.phase == Phase::WithHuman {
            self.think_then_send(plan, at, turn.schedule);
        }
    }

    /// Ends the conversation from the customer's side: a close after a resolving bot reply,
    /// `customer_left` otherwise.
    fn end(&mut self, ending: Ending, at: u64, link: &mut Link) {
        let conversation = format!("c-{}", self.index);
        let message = match ending {
            Ending::Resolved => ClientMessage::Close(ConversationRef {
                seq: 0,
                conversation,
            }),
            _ => ClientMessage::CustomerLeft(ConversationRef {
                seq: 0,
                conversation,
            }),
        };
        link.send(message, at, false);
        self.finish(ending, link);
    }

    fn finish(&mut self, ending: Ending, link: &Link) {
        self.phase = Phase::Done;
        self.ending = Some(ending);
        self.epoch += 1;
        let index = self.index;
        link.shared().with(|m| {
            m.ended += 1;
            m.whereabouts.waiting.remove(&index);
        });
    }

    /// Waiting for a human from `since`; leaves once the plan's patience has passed.
    fn start_waiting(&mut self, plan: &CustomerPlan, since: u64, turn: &mut Turn<'_, Action>) {
        let index = self.index;
        turn.link
            .shared()
            .with(|m| m.whereabouts.waiting.insert(index));
        let s = &mut *turn.schedule;
        self.phase = Phase::Waiting(since);
        self.epoch += 1;
        self.first_ewt = None;
        if plan.patience_ms != u64::MAX {
            let (customer, epoch) = (self.index, self.epoch);
            s.at(
                since + ms_ns(plan.patience_ms),
                Action::Leave { customer, epoch },
            );
        }
    }

    /// A bot's reply arrived at `now`; it was meant for `intended_ns`.
    fn bot_reply(
        &mut self,
        plan: &CustomerPlan,
        max_unresolved: u32,
        intended_ns: u64,
        turn: &mut Turn<'_, Action>,
    ) {
        if !matches!(self.phase, Phase::Opened | Phase::WithBot) {
            return;
        }
        self.phase = Phase::WithBot;
        let r = self.bot_replies;
        self.bot_replies += 1;
        self.last_bot_ns = intended_ns;
        if plan.bot_resolves.get(r).copied().unwrap_or(false) {
            self.end(Ending::Resolved, turn.now, turn.link);
            return;
        }
        self.unresolved += 1;
        if max_unresolved > 0 && self.unresolved >= max_unresolved {
            // The bot's `bot_result` right behind this reply hands the conversation to a human:
            // the customer waits for that `handoff` instead of writing or leaving.
            return;
        }
        if !self.think_then_send(plan, turn.now, turn.schedule) {
            self.end(Ending::Left, turn.now, turn.link);
        }
    }

    fn handoff(&mut self, plan: &CustomerPlan, reason: HandoffReason, turn: &mut Turn<'_, Action>) {
        if matches!(
            self.phase,
            Phase::Done | Phase::Waiting(_) | Phase::WithHuman
        ) {
            let what = format!("handoff for c-{} in phase {:?}", self.index, self.phase);
            turn.link.unexpected(what);
            return;
        }
        let unresolved = reason == HandoffReason::BotUnresolved;
        let trigger = match &self.last_sent {
            _ if unresolved => Some(self.last_bot_ns),
            Some((_, at)) => Some(*at),
            None => None,
        };
        let not_held = self
            .last_sent
            .as_ref()
            .map(|(id, _)| id)
            .filter(|_| !unresolved);
        let now = turn.now;
        turn.link.shared().with(|m| {
            if let Some(trigger) = trigger {
                m.handoff(wire_name(&reason), trigger, now);
            }
            // The message that asked for a human never reached the bot: only an offer carries it.
            if let Some(id) = not_held {
                m.ledger.not_held(id);
            }
        });
        self.start_waiting(plan, now, turn);
    }

    fn joined(&mut self, plan: &CustomerPlan, turn: &mut Turn<'_, Action>) {
        let since = match self.phase {
            Phase::Waiting(since) => since,
            // No bot took it and a human did at once: the customer waited from arrival.
            Phase::Opened => self.arrival_ns,
            phase => {
                let what = format!("agent_joined for c-{} in phase {phase:?}", self.index);
                turn.link.unexpected(what);
                return;
            }
        };
        let wait_ms = turn.now.saturating_sub(since) / 1_000_000;
        let index = self.index;
        turn.link
            .shared()
            .with(|m| m.whereabouts.waiting.remove(&index));
        self.answered_wait_ms = Some(wait_ms);
        self.phase = Phase::WithHuman;
        self.epoch += 1;
        if let Some(ewt) = self.first_ewt {
            let error_ms = i64::from(ewt) * 1000 - wait_ms as i64;
            turn.link.shared().with(|m| {
                m.ewt.samples += 1;
                m.ewt.abs_sum_ms += error_ms.unsigned_abs();
                m.ewt.signed_sum_ms += error_ms;
            });
        }
        self.think_then_send(plan, turn.now, turn.schedule);
    }

    fn closed(&mut self, reason: CloseReason, link: &Link) {
        if self.phase == Phase::Done {
            return;
        }
        let ending = match (reason, self.answered_wait_ms) {
            (CloseReason::Agent, Some(wait_ms)) => Ending::Answered { wait_ms },
            _ => {
                let reason = wire_name(&reason);
                let what = format!(
                    "c-{} closed by the gateway ({reason}) in phase {:?}",
                    self.index, self.phase
                );
                link.unexpected(what);
                Ending::Unfinished {
                    waiting: matches!(self.phase, Phase::Waiting(_)),
                }
            }
        };
        self.finish(ending, link);
    }

    /// The outcome at the end of the run: whatever is still open is unfinished.
    fn outcome(&self) -> Ending {
        match (self.phase, self.ending) {
            (Phase::Done, Some(ending)) => ending,
            (phase, _) => Ending::Unfinished {
                waiting: matches!(phase, Phase::Waiting(_)),
            },
        }
    }
}

/// A connector's part: its customers.
#[derive(Debug)]
pub struct Connector {
    rules: Arc<Rules>,
    customers: HashMap<u32, Customer>,
    /// The outcome of every customer, frozen at the run's end.
    endings: Vec<(u32, Ending)>,
}

impl Connector {
    /// A connector playing the plan's customers `indices`.
    pub fn new(rules: Arc<Rules>, indices: Vec<u32>) -> Self {
        let customers = indices.into_iter().map(|i| (i, Customer::new(i))).collect();
        Connector {
            rules,
            customers,
            endings: Vec::new(),
        }
    }

    /// Every customer's outcome at the end of the run (plan index, ending).
    pub fn endings(&self) -> &[(u32, Ending)] {
        &self.endings
    }

    /// A customer's plan and state.
    fn customer(&mut self, index: u32) -> Option<(&CustomerPlan, &mut Customer)> {
        let plan = self.rules.plan.customers.get(index as usize)?;
        Some((plan, self.customers.get_mut(&index)?))
    }

    /// The customer behind a connector conversation id `c-{index}`.
    fn index_of(&self, conversation: &str) -> Option<u32> {
        let index = conversation.strip_prefix("c-")?.parse().ok()?;
        self.customers.contains_key(&index).then_some(index)
    }
}

impl Play for Connector {
    type Action = Action;

    fn start(&mut self, t0: u64, schedule: &mut Schedule<Action>) {
        let plan = &self.rules.plan;
        let mut arrivals: Vec<(u64, u32)> = self
            .customers
            .keys()
            .filter_map(|&i| Some((plan.customers.get(i as usize)?.arrival_ms, i)))
            .collect();
        arrivals.sort_unstable();
        for (arrival_ms, customer) in arrivals {
            let first = Action::Send {
                customer,
                k: 0,
                epoch: 0,
            };
            schedule.at(t0 + ms_ns(arrival_ms), first);
        }
    }

    fn act(&mut self, at: u64, action: Action, turn: &mut Turn<'_, Action>) -> Step {
        match action {
            Action::Send { customer, k, epoch } => {
                let Some((plan, c)) = self.customer(customer) else {
                    return Step::Continue;
                };
                // Nothing is written while waiting for a human, nor after the end.
                let talking = !matches!(c.phase, Phase::Done | Phase::Waiting(_));
                if c.epoch == epoch && c.next == k && talking {
                    c.send(plan, k, at, turn);
                }
            }
            Action::Leave { customer, epoch } => {
                let Some((_, c)) = self.customer(customer) else {
                    return Step::Continue;
                };
                if let (Phase::Waiting(since), true) = (c.phase, c.epoch == epoch) {
                    let wait_ms = at.saturating_sub(since) / 1_000_000;
                    c.end(Ending::Abandoned { wait_ms }, at, turn.link);
                }
            }
        }
        Step::Continue
    }

    fn message(&mut self, received: Received, turn: &mut Turn<'_, Action>) {
        let message = received.message;
        let conversation = match &message {
            ServerMessage::Reply(m) => &m.conversation,
            ServerMessage::Queue(m) => &m.conversation,
            ServerMessage::Handoff(m) => &m.conversation,
            ServerMessage::AgentJoined(m) => &m.conversation,
            ServerMessage::Closed(m) => &m.conversation,
            other => {
                let what = format!("a connector got `{}`", other.type_name());
                turn.link.unexpected(what);
                return;
            }
        };
        let Some(index) = self.index_of(conversation) else {
            let what = format!("a frame for a conversation not ours: {conversation}");
            turn.link.unexpected(what);
            return;
        };
        let rules = Arc::clone(&self.rules);
        let Some((plan, c)) = self.customer(index) else {
            return;
        };
        match message {
            ServerMessage::Reply(reply) => {
                rules.delivered(turn.link, &reply.message_id, received.replayed, turn.now);
                if reply.from.role == AuthorRole::Bot {
                    let intended =
                        Tag::parse(&reply.message_id).map_or(turn.now, |t| t.intended_ns);
                    let max_unresolved = rules.tenant.handoff.max_unresolved_rounds;
                    c.bot_reply(plan, max_unresolved, intended, turn);
                }
            }
            ServerMessage::Handoff(handoff) => c.handoff(plan, handoff.reason, turn),
            ServerMessage::Queue(queue) => {
                if c.phase == Phase::Opened {
                    // The first thing heard is a queue update: no bot took the conversation, so
                    // the customer has been waiting since arrival.
                    let since = c.arrival_ns;
                    c.start_waiting(plan, since, turn);
                }
                if matches!(c.phase, Phase::Waiting(_)) && c.first_ewt.is_none() {
                    c.first_ewt = queue.ewt_secs;
                }
            }
            ServerMessage::AgentJoined(_) => c.joined(plan, turn),
            ServerMessage::Closed(closed) => c.closed(closed.reason, turn.link),
            _ => {}
        }
    }

    fn benign(&self, report: &ErrorReport) -> bool {
        let done = report
            .conversation
            .as_deref()
            .and_then(|c| self.index_of(c))
            .and_then(|index| self.customers.get(&index))
            .is_some_and(|c| c.phase == Phase::Done);
        done && matches!(
            report.code,
            ErrorCode::ConversationEnded | ErrorCode::UnknownConversation | ErrorCode::NotAssigned
        )
    }

    fn end(&mut self) {
        self.endings = self
            .customers
            .values()
            .map(|c| (c.index, c.outcome()))
            .collect();
    }
}
