//! Commands only a bot, or the hand-back to one, involves: a bot marks a reply unresolved, a bot
//! asks for a human, a human hands the conversation back to a bot.

use crate::types::{
    AgentId, ConversationId, Effect, HandoffContext, HandoffReason, RefusalCode, Requester, State,
};
use crate::Router;

use super::refuse;

impl Router {
    pub(crate) fn bot_result(
        &mut self,
        agent: AgentId,
        id: ConversationId,
        resolved: bool,
        out: &mut Vec<Effect>,
    ) {
        if !self.holds(agent, id, State::WithBot, out) {
            return;
        }
        if resolved {
            return;
        }
        let max = self.policy.handoff.max_unresolved_rounds;
        let failed = self.conversations.get_mut(&id).is_some_and(|c| {
            c.unresolved += 1;
            max > 0 && c.unresolved >= max
        });
        if failed {
            self.hand_off(id, HandoffReason::BotUnresolved, out);
        }
    }

    pub(crate) fn bot_handoff(
        &mut self,
        agent: AgentId,
        id: ConversationId,
        reason: String,
        summary: Option<String>,
        out: &mut Vec<Effect>,
    ) {
        if !self.holds(agent, id, State::WithBot, out) {
            return;
        }
        if let Some(c) = self.conversations.get_mut(&id) {
            c.handoff = Some(HandoffContext {
                reason: HandoffReason::BotRequest,
                bot_reason: Some(reason),
                bot_summary: summary,
                sentiment: c.sentiment,
            });
        }
        self.hand_off(id, HandoffReason::BotRequest, out);
    }

    /// The only way back to a bot once a human has had the conversation.
    pub(crate) fn hand_back(&mut self, agent: AgentId, id: ConversationId, out: &mut Vec<Effect>) {
        if !self.holds(agent, id, State::Assigned, out) {
            return;
        }
        let Some(bot) = self.roster.bots().first() else {
            refuse(
                out,
                Requester::Agent(agent),
                Some(id),
                RefusalCode::TargetUnavailable,
            );
            return;
        };
        self.release(agent, id);
        if let Some(c) = self.conversations.get_mut(&id) {
            c.handoff = None;
        }
        self.give_to_bot(id, bot, out);
    }
}
