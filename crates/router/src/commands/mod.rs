//! The command handlers, one file per sender: [`customer`] (a channel connector), [`agent`] (an
//! agent or bot) and [`bot`] (what only bots do). Each checks that the sender may do what it asks,
//! refuses with the most telling [`RefusalCode`] if not, and otherwise hands the conversation to
//! the lifecycle ([`crate::lifecycle`], [`crate::offers`], [`crate::handoff`]).

mod agent;
mod bot;
mod customer;

use crate::types::{
    AgentId, CloseReason, Command, ConnectorId, ConversationId, Effect, RefusalCode, Requester,
    State,
};
use crate::Router;

impl Router {
    /// Runs the handler of one command (time has been advanced and due timers fired).
    pub(crate) fn handle(&mut self, command: Command, out: &mut Vec<Effect>) {
        match command {
            Command::Arrive {
                conversation,
                connector,
                profile,
                message,
            } => self.arrive(conversation, connector, profile, message, out),
            Command::CustomerMessage {
                connector,
                conversation,
                message,
            } => self.customer_message(connector, conversation, message, out),
            Command::UpdateProfile {
                connector,
                conversation,
                update,
            } => self.update_profile(connector, conversation, *update, out),
            Command::CustomerLeft {
                connector,
                conversation,
            } => self.connector_end(connector, conversation, CloseReason::Customer, out),
            Command::ConnectorClose {
                connector,
                conversation,
            } => self.connector_end(connector, conversation, CloseReason::Connector, out),
            Command::AgentConnect { agent, login } => self.connect(agent, login, out),
            Command::AgentDisconnect { agent } => self.disconnect(agent, out),
            Command::SetStatus {
                agent,
                status,
                reason,
            } => self.set_status(agent, status, reason, out),
            Command::Accept {
                agent,
                conversation,
            } => self.accept(agent, conversation, out),
            Command::Reject {
                agent,
                conversation,
            } => self.reject(agent, conversation, out),
            Command::AgentMessage {
                agent,
                conversation,
                message,
            } => self.agent_message(agent, conversation, message, out),
            Command::Transfer {
                agent,
                conversation,
                target,
            } => self.transfer(agent, conversation, target, out),
            Command::AgentClose {
                agent,
                conversation,
            } => self.agent_close(agent, conversation, out),
            Command::BotResult {
                agent,
                conversation,
                resolved,
            } => self.bot_result(agent, conversation, resolved, out),
            Command::BotHandoff {
                agent,
                conversation,
                reason,
                summary,
            } => self.bot_handoff(agent, conversation, reason, summary, out),
            Command::HandBack {
                agent,
                conversation,
            } => self.hand_back(agent, conversation, out),
            Command::Tick => {}
        }
    }

    /// Whether `agent` holds conversation `id` in `state`; refuses with `NotAssigned` if not.
    pub(crate) fn holds(
        &self,
        agent: AgentId,
        id: ConversationId,
        state: State,
        out: &mut Vec<Effect>,
    ) -> bool {
        let held = self
            .conversations
            .get(&id)
            .is_some_and(|c| c.agent == Some(agent) && c.state == state);
        if !held {
            self.refuse_agent(agent, id, RefusalCode::NotAssigned, out);
        }
        held
    }

    /// Refuses an agent's command about conversation `id` with the most telling code: the agent
    /// is not logged in (went offline), the conversation has ended (in wrap-up or recently
    /// closed), it is unknown, or else `otherwise`, which names what the command needed.
    pub(crate) fn refuse_agent(
        &self,
        agent: AgentId,
        id: ConversationId,
        otherwise: RefusalCode,
        out: &mut Vec<Effect>,
    ) {
        let code = match self.conversations.get(&id) {
            _ if !self.roster.contains(&agent) => RefusalCode::UnknownAgent,
            Some(c) if c.state == State::WrapUp => RefusalCode::ConversationEnded,
            Some(_) => otherwise,
            None if self.ended.contains(id) => RefusalCode::ConversationEnded,
            None => RefusalCode::UnknownConversation,
        };
        refuse(out, Requester::Agent(agent), Some(id), code);
    }
}

fn refuse(
    out: &mut Vec<Effect>,
    to: Requester,
    conversation: Option<ConversationId>,
    code: RefusalCode,
) {
    out.push(Effect::Refused {
        to,
        conversation,
        code,
    });
}

/// Refuses a connector's command about conversation `id`.
fn refuse_connector(
    out: &mut Vec<Effect>,
    connector: ConnectorId,
    id: ConversationId,
    code: RefusalCode,
) {
    refuse(out, Requester::Connector(connector), Some(id), code);
}
