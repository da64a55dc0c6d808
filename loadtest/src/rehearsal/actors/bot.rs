//! An AI bot socket: it auto-accepts every conversation it is given and answers each customer
//! message after the plan's `bot_reply_ms[r]` with a reply and `bot_result { resolved:
//! bot_resolves[r] }`, `r` counting its replies in the conversation from 0.

use std::collections::HashMap;
use std::sync::Arc;

use switchboard_protocol::{
    AgentMessage, BotResult, ClientMessage, ErrorCode, ErrorReport, Private, ServerMessage,
};

use super::{ms_ns, Play, Rules, Schedule, Step, Turn};
use crate::rehearsal::link::Received;
use crate::rehearsal::measure::{Author, Tag};

/// What the bot says: the text is not what is measured.
const REPLY: &str = "您好，我是智能助手，正在为您查询，请稍候。";

/// One conversation the bot was given.
#[derive(Debug)]
struct Held {
    index: u32,
    /// Customer messages received, so the next reply's `r`.
    asked: usize,
    /// The conversation left the bot (handed off or closed).
    gone: bool,
}

/// What a bot can be scheduled to do.
#[derive(Debug)]
pub enum Action {
    /// Reply `r` in a conversation (the gateway's id).
    Reply {
        /// Conversation id.
        conversation: String,
        /// Which reply.
        r: usize,
    },
}

/// A bot's part.
#[derive(Debug)]
pub struct Bot {
    rules: Arc<Rules>,
    /// Every conversation it was given in the run: bounded by the plan.
    held: HashMap<String, Held>,
}

impl Bot {
    /// A bot.
    pub fn new(rules: Arc<Rules>) -> Self {
        Bot {
            rules,
            held: HashMap::new(),
        }
    }

    fn gone(&mut self, conversation: &str) {
        if let Some(held) = self.held.get_mut(conversation) {
            held.gone = true;
        }
    }

    /// Plans the answer to the customer's latest message.
    fn asked(&mut self, conversation: &str, now: u64, schedule: &mut Schedule<Action>) {
        let Some(held) = self.held.get_mut(conversation).filter(|h| !h.gone) else {
            return;
        };
        let r = held.asked;
        held.asked += 1;
        let delay = self
            .rules
            .plan
            .customers
            .get(held.index as usize)
            .and_then(|p| p.bot_reply_ms.get(r));
        if let Some(delay) = delay {
            let conversation = conversation.to_string();
            schedule.at(now + ms_ns(*delay), Action::Reply { conversation, r });
        }
    }
}

impl Play for Bot {
    type Action = Action;

    fn start(&mut self, _t0: u64, _schedule: &mut Schedule<Action>) {}

    fn act(&mut self, at: u64, action: Action, turn: &mut Turn<'_, Action>) -> Step {
        let Action::Reply { conversation, r } = action;
        let Some(held) = self.held.get(&conversation).filter(|h| !h.gone) else {
            return Step::Continue;
        };
        let resolved = self
            .rules
            .plan
            .customers
            .get(held.index as usize)
            .and_then(|p| p.bot_resolves.get(r))
            .copied()
            .unwrap_or(false);
        let tag = Tag {
            author: Author::Bot,
            conversation: held.index,
            n: r as u32,
            intended_ns: at,
        };
        let reply = AgentMessage {
            seq: 0,
            conversation: conversation.clone(),
            message_id: tag.id(),
            text: Private(REPLY.to_string()),
        };
        let verdict = BotResult {
            seq: 0,
            conversation,
            resolved,
        };
        turn.link.send(ClientMessage::Message(reply), at, true);
        turn.link.send(ClientMessage::BotResult(verdict), at, true);
        Step::Continue
    }

    fn message(&mut self, received: Received, turn: &mut Turn<'_, Action>) {
        let now = turn.now;
        match received.message {
            ServerMessage::Offer(offer) => {
                let Some(index) = self.rules.take_offer(turn.link, &offer, now) else {
                    return;
                };
                if !offer.auto_accepted {
                    let id = &offer.conversation;
                    turn.link
                        .unexpected(format!("an offer to a bot not auto-accepted: {id}"));
                }
                let held = Held {
                    index,
                    asked: 0,
                    gone: false,
                };
                self.held.insert(offer.conversation.clone(), held);
                // The opening message came inside the offer: it is the first one to answer.
                self.asked(&offer.conversation, now, turn.schedule);
            }
            ServerMessage::CustomerMessage(m) => {
                self.rules
                    .delivered(turn.link, &m.message_id, received.replayed, now);
                self.asked(&m.conversation, now, turn.schedule);
            }
            ServerMessage::OfferWithdrawn(m) => self.gone(&m.conversation),
            ServerMessage::Closed(m) => self.gone(&m.conversation),
            ServerMessage::Status(_) | ServerMessage::Resumed(_) => {}
            other => turn
                .link
                .unexpected(format!("a bot got `{}`", other.type_name())),
        }
    }

    fn benign(&self, report: &ErrorReport) -> bool {
        let gone = report
            .conversation
            .as_deref()
            .and_then(|c| self.held.get(c))
            .is_some_and(|h| h.gone);
        gone && matches!(
            report.code,
            ErrorCode::NotAssigned | ErrorCode::ConversationEnded
        )
    }
}
