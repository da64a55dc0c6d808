//! A human agent socket: it accepts each offer after [`AgentGroup::accept_ms_for`] of the
//! conversation's plan, replies every `reply_every_ms`, closes [`AgentGroup::handle_ms_for`]
//! after its accept, and, when the plan says so, disconnects once and comes back resuming its
//! session.
//!
//! While away it can do nothing: replies that fall due are skipped (counted, not a fault), offers
//! are withdrawn by the gateway, and closes that fall due are done as soon as it is back, if the
//! conversation is still its own (the `resumed` message after the reconnect says which are).
//!
//! [`AgentGroup::accept_ms_for`]: switchboard_sim::scenario::AgentGroup::accept_ms_for
//! [`AgentGroup::handle_ms_for`]: switchboard_sim::scenario::AgentGroup::handle_ms_for

use std::collections::HashMap;
use std::sync::Arc;

use switchboard_protocol::{
    AgentMessage, AgentStatus, ClientMessage, ConversationRef, ErrorCode, ErrorReport, Offer,
    Private, ServerMessage, SetStatus,
};
use switchboard_sim::scenario::AgentPlan;

use super::{ms_ns, wire_name, Play, Rules, Schedule, Step, Turn};
use crate::rehearsal::link::{Link, Received};
use crate::rehearsal::measure::{Author, Tag};

/// What the agent says.
const REPLY: &str = "您好，我是人工客服，正在为您处理，请稍等。";

/// Where one of the agent's conversations is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Offered, not yet accepted.
    Offered,
    /// Accepted; to be closed at `close_ns` (handle time after the intended accept).
    Assigned { close_ns: u64 },
    /// `close` sent.
    Closing,
    /// Withdrawn, closed, or not listed by `resumed`.
    Gone,
}

#[derive(Debug)]
struct Held {
    index: u32,
    state: State,
    /// Bumped by each new offer of the conversation, so an old offer's timers do not apply.
    epoch: u32,
    replies: u32,
}

/// A conversation as an action names it: its id and the offer (epoch) the action is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ref {
    conversation: String,
    epoch: u32,
}

/// What an agent can be scheduled to do.
#[derive(Debug)]
pub enum Action {
    /// Accept an offer.
    Accept(Ref),
    /// Reply in a conversation.
    Reply(Ref),
    /// Close a conversation.
    Close(Ref),
    /// Drop the connection (planned).
    Disconnect,
    /// Come back and resume.
    Reconnect,
}

/// A human agent's part.
#[derive(Debug)]
pub struct Agent {
    rules: Arc<Rules>,
    me: AgentPlan,
    /// Every conversation it was offered in the run: bounded by the plan.
    held: HashMap<String, Held>,
    away: bool,
    /// Closes that fell due while away, done on return.
    deferred: Vec<Ref>,
}

impl Agent {
    /// An agent playing `me`.
    pub fn new(rules: Arc<Rules>, me: AgentPlan) -> Self {
        Agent {
            rules,
            me,
            held: HashMap::new(),
            away: false,
            deferred: Vec::new(),
        }
    }

    /// The conversation, if the action's offer is still the current one.
    fn current(&mut self, r: &Ref) -> Option<&mut Held> {
        self.held
            .get_mut(&r.conversation)
            .filter(|h| h.epoch == r.epoch)
    }

    fn gone(&mut self, conversation: &str, link: &Link) {
        if let Some(held) = self.held.get_mut(conversation) {
            held.state = State::Gone;
            held.epoch += 1;
            link.shared()
                .with(|m| m.whereabouts.assigned.remove(conversation));
        }
    }

    /// A new offer: accept it after the plan's delay for this conversation and this group.
    fn offered(&mut self, offer: &Offer, turn: &mut Turn<'_, Action>) {
        let Some(index) = self.rules.take_offer(turn.link, offer, turn.now) else {
            return;
        };
        // The agents' tokens ask for explicit accepts, as the rules of play have them.
        if offer.auto_accepted {
            let id = &offer.conversation;
            turn.link
                .unexpected(format!("an auto-accepted offer to a human: {id}"));
        }
        let held = self.held.entry(offer.conversation.clone()).or_insert(Held {
            index,
            state: State::Gone,
            epoch: 0,
            replies: 0,
        });
        held.index = index;
        held.state = State::Offered;
        held.epoch += 1;
        let r = Ref {
            conversation: offer.conversation.clone(),
            epoch: held.epoch,
        };
        let group = self.rules.groups.get(self.me.group);
        let plan = self.rules.plan.customers.get(index as usize);
        let accept_ms = group
            .zip(plan)
            .map_or(0, |(g, p)| g.accept_ms_for(p.accept));
        turn.schedule
            .at(turn.now + ms_ns(accept_ms), Action::Accept(r));
    }

    fn accept(&mut self, r: Ref, at: u64, turn: &mut Turn<'_, Action>) {
        // Away, the offer cannot be answered: the gateway withdraws it (reason `agent_gone`).
        if self.away {
            return;
        }
        let rules = Arc::clone(&self.rules);
        let group = rules.groups.get(self.me.group);
        let Some(held) = self.current(&r).filter(|h| h.state == State::Offered) else {
            return;
        };
        let Some(plan) = rules.plan.customers.get(held.index as usize) else {
            return;
        };
        let handle_ms = group.map_or(0, |g| g.handle_ms_for(plan.handle));
        let close_ns = at + ms_ns(handle_ms);
        held.state = State::Assigned { close_ns };
        let every = ms_ns(self.me.reply_every_ms);
        if every > 0 && at + every < close_ns {
            turn.schedule.at(at + every, Action::Reply(r.clone()));
        }
        turn.schedule.at(close_ns, Action::Close(r.clone()));
        let me = self.me.name.clone();
        turn.link
            .shared()
            .with(|m| m.whereabouts.assigned.insert(r.conversation.clone(), me));
        let accept = ConversationRef {
            seq: 0,
            conversation: r.conversation,
        };
        turn.link.send(ClientMessage::Accept(accept), at, true);
    }

    fn reply(&mut self, r: Ref, at: u64, turn: &mut Turn<'_, Action>) {
        let every = ms_ns(self.me.reply_every_ms);
        let away = self.away;
        let Some(held) = self.current(&r) else { return };
        let State::Assigned { close_ns } = held.state else {
            return;
        };
        let tag = Tag {
            author: Author::Agent,
            conversation: held.index,
            n: held.replies,
            intended_ns: at,
        };
        if away {
            turn.link.shared().with(|m| m.skipped_away += 1);
        } else {
            held.replies += 1;
            let reply = AgentMessage {
                seq: 0,
                conversation: r.conversation.clone(),
                message_id: tag.id(),
                text: Private(REPLY.to_string()),
            };
            turn.link.send(ClientMessage::Message(reply), at, true);
        }
        if at + every < close_ns {
            turn.schedule.at(at + every, Action::Reply(r));
        }
    }

    fn close(&mut self, r: Ref, at: u64, turn: &mut Turn<'_, Action>) {
        if self.away {
            self.deferred.push(r);
            return;
        }
        let Some(held) = self.current(&r) else { return };
        if !matches!(held.state, State::Assigned { .. }) {
            return;
        }
        held.state = State::Closing;
        let close = ConversationRef {
            seq: 0,
            conversation: r.conversation,
        };
        turn.link.send(ClientMessage::Close(close), at, true);
    }
}

impl Play for Agent {
    type Action = Action;

    fn start(&mut self, t0: u64, schedule: &mut Schedule<Action>) {
        if let Some((at_ms, away_ms)) = self.me.disconnect {
            schedule.at(t0 + ms_ns(at_ms), Action::Disconnect);
            let back = t0 + ms_ns(at_ms.saturating_add(away_ms));
            schedule.at(back, Action::Reconnect);
        }
    }

    fn act(&mut self, at: u64, action: Action, turn: &mut Turn<'_, Action>) -> Step {
        match action {
            Action::Accept(r) => self.accept(r, at, turn),
            Action::Reply(r) => self.reply(r, at, turn),
            Action::Close(r) => self.close(r, at, turn),
            Action::Disconnect => {
                self.away = true;
                turn.link
                    .shared()
                    .with(|m| m.sessions.planned_disconnects += 1);
                return Step::Disconnect;
            }
            Action::Reconnect => {
                self.away = false;
                for r in self.deferred.drain(..) {
                    turn.schedule.at(at, Action::Close(r));
                }
                return Step::Reconnect;
            }
        }
        Step::Continue
    }

    fn message(&mut self, received: Received, turn: &mut Turn<'_, Action>) {
        match received.message {
            ServerMessage::Offer(offer) => self.offered(&offer, turn),
            ServerMessage::CustomerMessage(m) => {
                self.rules
                    .delivered(turn.link, &m.message_id, received.replayed, turn.now)
            }
            ServerMessage::OfferWithdrawn(m) => self.gone(&m.conversation, turn.link),
            ServerMessage::Closed(m) => self.gone(&m.conversation, turn.link),
            ServerMessage::Resumed(resumed) => {
                let (me, listed, now) = (
                    self.me.name.clone(),
                    resumed.conversations.clone(),
                    turn.now,
                );
                turn.link
                    .shared()
                    .with(|m| m.whereabouts.resumed.insert(me, (listed, now)));
                // Authoritative after a reconnect: anything not listed is no longer ours.
                let stale: Vec<String> = self
                    .held
                    .iter()
                    .filter(|(id, h)| h.state != State::Gone && !resumed.conversations.contains(id))
                    .map(|(id, _)| id.clone())
                    .collect();
                for id in stale {
                    self.gone(&id, turn.link);
                }
            }
            ServerMessage::Status(status) => {
                let reason = wire_name(&status.reason);
                if reason != "requested" {
                    turn.link
                        .shared()
                        .with(|m| *m.status_changes.entry(reason).or_default() += 1);
                }
                // Logged out by the gateway (grace over): a returning agent logs in again.
                if status.status == AgentStatus::Offline && turn.link.is_up() {
                    let available = SetStatus {
                        seq: 0,
                        status: AgentStatus::Available,
                    };
                    turn.link
                        .send(ClientMessage::Status(available), turn.now, true);
                }
            }
            other => turn
                .link
                .unexpected(format!("an agent got `{}`", other.type_name())),
        }
    }

    fn benign(&self, report: &ErrorReport) -> bool {
        let left = report
            .conversation
            .as_deref()
            .and_then(|c| self.held.get(c))
            .is_some_and(|h| matches!(h.state, State::Gone | State::Closing));
        left && matches!(
            report.code,
            ErrorCode::NotOffered | ErrorCode::NotAssigned | ErrorCode::ConversationEnded
        )
    }
}
