//! Commands from a channel connector: a conversation arrives, the customer writes, their profile
//! changes, they leave or the connector closes the conversation.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::conversation::Conversation;
use crate::refusals::Refusals;
use crate::sticky::customer_key;
use crate::types::{
    CloseReason, ConnectorId, ConversationId, CustomerProfile, Effect, HandoffReason, Message,
    ProfileUpdate, RefusalCode, State,
};
use crate::waiting::Precedence;
use crate::Router;

use super::refuse_connector;

impl Router {
    pub(crate) fn arrive(
        &mut self,
        id: ConversationId,
        connector: ConnectorId,
        profile: CustomerProfile,
        message: Option<Message>,
        out: &mut Vec<Effect>,
    ) {
        if self.conversations.contains_key(&id) {
            refuse_connector(out, connector, id, RefusalCode::DuplicateConversation);
            return;
        }
        let now = self.now;
        let queue = self.policy.route(&profile);
        let ranking = self.policy.rank(&profile, false, 0);
        let customer = customer_key(&profile.customer_id);
        let skips_bot = self.policy.skips_bot(&profile);
        self.seq += 1;
        let conversation = Conversation {
            connector,
            profile: Arc::new(profile),
            customer,
            queue,
            ranking,
            state: State::Waiting,
            agent: None,
            waiting_since: now,
            age_key: self.policy.age_key(now, ranking.priority),
            seq: self.seq,
            precedence: Precedence::InTurn,
            wait_key: None,
            epoch: 0,
            refusals: Refusals::default(),
            sticky_for: None,
            predicted_ms: None,
            answered: false,
            transcript: VecDeque::new(),
            last_activity: now,
            sentiment: None,
            upset: false,
            trend: VecDeque::new(),
            unresolved: 0,
            handoff: None,
        };
        self.conversations.insert(id, conversation);
        self.ended.reopened(id);
        // The opening message is judged like any other: "转人工" as a first line skips the bot.
        let mut trigger = message.and_then(|m| self.take_customer_message(id, m, true));
        if trigger.is_none() && skips_bot {
            trigger = Some(HandoffReason::Rule);
        }
        // A handoff is reported only when a bot would otherwise have taken the conversation.
        let bot = self
            .policy
            .handoff
            .bot_first
            .then(|| self.roster.bots().first())
            .flatten();
        match (bot, trigger) {
            (Some(_), Some(reason)) => self.hand_off(id, reason, out),
            (Some(bot), None) => self.give_to_bot(id, bot, out),
            (None, _) => {
                self.rerank(id);
                self.wait_for_human(id, out);
            }
        }
    }

    pub(crate) fn customer_message(
        &mut self,
        connector: ConnectorId,
        id: ConversationId,
        message: Message,
        out: &mut Vec<Effect>,
    ) {
        let (state, agent) = match self.conversations.get(&id) {
            Some(c) if c.connector == connector => (c.state, c.agent),
            _ => {
                refuse_connector(out, connector, id, RefusalCode::UnknownConversation);
                return;
            }
        };
        if state == State::WrapUp {
            refuse_connector(out, connector, id, RefusalCode::ConversationEnded);
            return;
        }
        let with_bot = state == State::WithBot;
        let was_upset = self.conversations.get(&id).is_some_and(|c| c.upset);
        let trigger = self.take_customer_message(id, message.clone(), with_bot);
        if let Some(reason) = trigger.filter(|_| with_bot) {
            self.hand_off(id, reason, out);
            return;
        }
        match (state, agent) {
            (State::Offered | State::Assigned | State::WithBot, Some(agent)) => {
                out.push(Effect::ToAgent {
                    agent,
                    conversation: id,
                    message,
                });
            }
            (State::Waiting, _) => {
                let upset = self.conversations.get(&id).is_some_and(|c| c.upset);
                if upset != was_upset {
                    self.rerank(id);
                }
            }
            _ => {}
        }
    }

    pub(crate) fn update_profile(
        &mut self,
        connector: ConnectorId,
        id: ConversationId,
        update: ProfileUpdate,
        out: &mut Vec<Effect>,
    ) {
        let Some(c) = self
            .conversations
            .get_mut(&id)
            .filter(|c| c.connector == connector)
        else {
            refuse_connector(out, connector, id, RefusalCode::UnknownConversation);
            return;
        };
        let mut profile = (*c.profile).clone();
        update.apply_to(&mut profile);
        c.customer = customer_key(&profile.customer_id);
        c.profile = Arc::new(profile);
        // Only a conversation that holds no slot may change lane: an agent's VIP count was
        // taken with the lane it was offered in.
        if c.wait_key.is_some() {
            self.rerank(id);
        }
    }

    pub(crate) fn connector_end(
        &mut self,
        connector: ConnectorId,
        id: ConversationId,
        reason: CloseReason,
        out: &mut Vec<Effect>,
    ) {
        match self.conversations.get(&id) {
            Some(c) if c.connector == connector => {
                if c.state == State::WrapUp {
                    refuse_connector(out, connector, id, RefusalCode::ConversationEnded);
                } else {
                    self.end(id, reason, out);
                }
            }
            _ => refuse_connector(out, connector, id, RefusalCode::UnknownConversation),
        }
    }
}
