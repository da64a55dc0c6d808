//! Client messages: a connector's customers and an agent's work, translated (see `inbound`)
//! and applied.

use std::sync::Arc;

use switchboard_protocol::{ClientMessage, ErrorCode, Pong, ServerMessage};
use switchboard_router::{
    AgentId, AgentStatus, Command, ConnectorId, ConversationId, StatusReason,
};

use crate::inbound::{
    agent_order, connector_order, opening_profile, AgentOrder, ConnectorOrder, CustomerChat,
    Refusal, Tally,
};
use crate::recent::Side;
use crate::session::Peer;
use crate::{ConnId, Frame, Observation, Output, TenantCore};

impl<F: Frame> TenantCore<F> {
    /// One frame's messages from `conn`, in order; acked at the batch's end.
    pub(crate) fn client(
        &mut self,
        conn: ConnId,
        messages: Vec<ClientMessage>,
        through: u64,
        out: &mut Vec<Output<F>>,
    ) {
        let Some(peer) = self.sessions.conns.get(&conn).copied() else {
            return;
        };
        for message in messages {
            let seq = message.seq();
            if let ClientMessage::Ping(_) = message {
                let pong = ServerMessage::Pong(Pong { seq });
                let frame = F::from(switchboard_protocol::encode_server(&pong));
                out.push(Output::Direct { conn, frame });
                continue;
            }
            self.current = Some((peer, seq));
            self.windows.message(self.now);
            let refused = match peer {
                Peer::Connector(connector) => self.connector_message(connector, message, out),
                Peer::Agent(agent) => self.agent_message(agent, message, out),
            };
            if let Err(refusal) = refused {
                self.refuse(refusal, out);
            }
        }
        self.current = None;
        self.owe_ack(peer, through);
    }

    fn connector_message(
        &mut self,
        connector: ConnectorId,
        message: ClientMessage,
        out: &mut Vec<Output<F>>,
    ) -> Result<(), Refusal> {
        let (named, close) = match connector_order(message)? {
            ConnectorOrder::Chat(chat) => return self.customer_chat(connector, chat, out),
            ConnectorOrder::Left(named) => (named, false),
            ConnectorOrder::Close(named) => (named, true),
        };
        let conversation = self
            .open
            .get(&(connector, Arc::<str>::from(named.as_str())))
            .copied()
            .ok_or_else(|| Refusal::new(ErrorCode::UnknownConversation, Some(named)))?;
        let command = if close {
            Command::ConnectorClose {
                connector,
                conversation,
            }
        } else {
            Command::CustomerLeft {
                connector,
                conversation,
            }
        };
        self.command(command, out);
        Ok(())
    }

    /// A customer wrote: to their open conversation (updating its profile if the message
    /// describes the customer differently), or opening one if admission allows.
    fn customer_chat(
        &mut self,
        connector: ConnectorId,
        chat: CustomerChat,
        out: &mut Vec<Output<F>>,
    ) -> Result<(), Refusal> {
        let CustomerChat {
            conversation: named,
            key,
            message,
            update,
        } = chat;
        let external = (connector, Arc::<str>::from(named.as_str()));
        let open = self.open.get(&external).copied();
        if open.is_some_and(|c| self.seen(c, Side::Customer, key)) {
            return Err(Refusal::new(ErrorCode::Duplicate, Some(named)));
        }
        let (conversation, command) = match open {
            Some(conversation) => {
                if self.router.profile_changed_by(conversation, &update) {
                    let update = Box::new(update);
                    let command = Command::UpdateProfile {
                        connector,
                        conversation,
                        update,
                    };
                    self.command(command, out);
                }
                let command = Command::CustomerMessage {
                    connector,
                    conversation,
                    message,
                };
                (conversation, command)
            }
            None => {
                let profile = opening_profile(update).map_err(|missing| Refusal {
                    code: ErrorCode::MissingField,
                    message: missing,
                    conversation: Some(named.clone()),
                    retry_after_ms: None,
                })?;
                let conversation = self.admit(connector, named, external, out)?;
                let command = Command::Arrive {
                    conversation,
                    connector,
                    profile,
                    message: Some(message),
                };
                (conversation, command)
            }
        };
        if self.command(command, out) {
            self.remember(conversation, Side::Customer, key);
        }
        Ok(())
    }

    /// Takes a place for a new conversation and names it; a refusal says when to retry.
    fn admit(
        &mut self,
        connector: ConnectorId,
        named: String,
        external: (ConnectorId, Arc<str>),
        out: &mut Vec<Output<F>>,
    ) -> Result<ConversationId, Refusal> {
        let open = self.router.open_conversations();
        if let Err((why, retry_after_ms)) = self.admission.admit(connector, self.now, open) {
            out.push(Output::Observe(Observation::ConversationRefused(why)));
            return Err(Refusal {
                code: ErrorCode::RateLimited,
                message: why.explain(),
                conversation: Some(named),
                retry_after_ms: Some(retry_after_ms),
            });
        }
        let conversation = self.mint_conversation_id();
        self.open.insert(external.clone(), conversation);
        self.external.insert(conversation, external);
        Ok(conversation)
    }

    fn agent_message(
        &mut self,
        agent: AgentId,
        message: ClientMessage,
        out: &mut Vec<Output<F>>,
    ) -> Result<(), Refusal> {
        match agent_order(agent, message, &self.agents)? {
            AgentOrder::Command(command, tally) => {
                let applied = self.command(command, out);
                let observation = match tally {
                    Tally::None => None,
                    Tally::Rejected => Some(Observation::OfferRejected),
                    Tally::Transferred => Some(Observation::Transferred),
                };
                if let (true, Some(observation)) = (applied, observation) {
                    out.push(Output::Observe(observation));
                }
            }
            AgentOrder::Chat {
                command,
                conversation,
                named,
                key,
            } => {
                if self.seen(conversation, Side::Agent, key) {
                    return Err(Refusal::new(ErrorCode::Duplicate, Some(named)));
                }
                if self.command(command, out) {
                    self.remember(conversation, Side::Agent, key);
                }
            }
            AgentOrder::Status(status) => self.agent_status(agent, status, out),
        }
        Ok(())
    }

    /// An agent sets its status; one that went offline logs in again by becoming available
    /// or away, with what it last logged in with.
    fn agent_status(&mut self, agent: AgentId, status: AgentStatus, out: &mut Vec<Output<F>>) {
        if status != AgentStatus::Offline && self.router.agent(agent).is_none() {
            if let Some(info) = self.agent_info.get(&agent) {
                let login = info.login.clone();
                self.command(Command::AgentConnect { agent, login }, out);
            }
        }
        let command = Command::SetStatus {
            agent,
            status,
            reason: StatusReason::Requested,
        };
        self.command(command, out);
    }
}
