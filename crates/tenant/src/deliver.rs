//! Router effects → frames for the sessions they concern, bookkeeping of the id maps, and
//! observations for the metrics.

use switchboard_protocol::{encode_server, ErrorReport, ServerMessage};
use switchboard_router::{ConversationId, Effect, Role as RouterRole, State, WithdrawReason};

use crate::inbound::Refusal;
use crate::outbound::{error_code, recipients, requester, server_message, Directory};
use crate::session::Peer;
use crate::{Frame, Observation, Output, TenantCore};

impl<F: Frame> TenantCore<F> {
    /// Turns one effect into observations, frames and bookkeeping.
    pub(crate) fn deliver(&mut self, effect: Effect, out: &mut Vec<Output<F>>) {
        self.windows.observe(&effect, self.now);
        self.observe(&effect, out);
        match &effect {
            Effect::StateChanged {
                conversation,
                state: State::Closed | State::Abandoned,
                ..
            } => {
                self.forget(*conversation);
                return;
            }
            Effect::Refused {
                to,
                conversation,
                code,
            } => {
                let peer = requester(*to);
                // Refusals answer the message being applied; one to anyone else is not theirs.
                if self.current.is_some_and(|(p, _)| p == peer) {
                    let shown = conversation.map(|c| self.directory().shown_to(peer, c));
                    self.refuse(Refusal::new(error_code(*code), shown), out);
                }
                return;
            }
            Effect::Ended { conversation, .. } => self.close_for_connector(*conversation),
            _ => {}
        }
        for peer in recipients(&effect).into_iter().flatten() {
            let dir = Directory {
                agents: &self.agents,
                agent_info: &self.agent_info,
                external: &self.external,
                policy: self.router.policy(),
            };
            let replay_frames = self.limits.replay_frames;
            if let Some(session) = self.sessions.by_peer.get_mut(&peer) {
                session.send(
                    replay_frames,
                    |seq| server_message(&effect, peer, seq, &dir),
                    out,
                );
            }
        }
    }

    /// Sends a numbered message built here (not from an effect) to `peer`'s session.
    pub(crate) fn send(
        &mut self,
        peer: Peer,
        out: &mut Vec<Output<F>>,
        build: impl FnOnce(u64) -> Option<ServerMessage>,
    ) {
        let replay_frames = self.limits.replay_frames;
        if let Some(session) = self.sessions.by_peer.get_mut(&peer) {
            session.send(replay_frames, build, out);
        }
    }

    pub(crate) fn directory(&self) -> Directory<'_> {
        Directory {
            agents: &self.agents,
            agent_info: &self.agent_info,
            external: &self.external,
            policy: self.router.policy(),
        }
    }

    /// What an effect means for the metrics and the dashboard's windows.
    fn observe(&self, effect: &Effect, out: &mut Vec<Output<F>>) {
        let observation = match effect {
            Effect::WaitObserved {
                queue,
                class,
                predicted_ms,
                actual_ms,
                sla_met,
            } => Observation::WaitObserved {
                queue: usize::from(queue.0),
                class: *class,
                predicted_ms: *predicted_ms,
                actual_ms: *actual_ms,
                sla_met: *sla_met,
            },
            Effect::Handoff {
                conversation,
                reason,
                ..
            } => Observation::Handoff {
                conversation: *conversation,
                reason: *reason,
            },
            Effect::Offer {
                agent,
                conversation,
                ..
            } => {
                let human = self
                    .agent_info
                    .get(agent)
                    .is_some_and(|i| i.login.role == RouterRole::Human);
                if !human {
                    return;
                }
                Observation::OfferedToHuman {
                    conversation: *conversation,
                }
            }
            Effect::StateChanged {
                conversation,
                state,
                queue,
            } => Observation::StateChanged {
                conversation: *conversation,
                state: *state,
                queue: usize::from(queue.0),
            },
            Effect::OfferWithdrawn {
                reason: WithdrawReason::Timeout,
                ..
            } => Observation::OfferTimedOut,
            _ => return,
        };
        out.push(Output::Observe(observation));
    }

    /// Refuses the client message being applied: an error frame to its connection (not
    /// replayed: dropped if there is no room).
    pub(crate) fn refuse(&mut self, refusal: Refusal, out: &mut Vec<Output<F>>) {
        let Some((peer, seq)) = self.current else {
            return;
        };
        out.push(Output::Observe(Observation::ProtocolError(refusal.code)));
        let Some(conn) = self.sessions.by_peer.get(&peer).and_then(|s| s.conn) else {
            return;
        };
        let report = ServerMessage::Error(ErrorReport {
            code: refusal.code,
            message: refusal.message.to_string(),
            seq: Some(seq),
            index: None,
            conversation: refusal.conversation,
            retry_after_ms: refusal.retry_after_ms,
        });
        out.push(Output::Direct {
            conn,
            frame: F::from(encode_server(&report)),
        });
    }

    /// Forgets the connector's id for a conversation that ended for it, so the id can open a
    /// new conversation.
    pub(crate) fn close_for_connector(&mut self, conversation: ConversationId) {
        if let Some(key) = self.external.get(&conversation) {
            if self.open.get(key) == Some(&conversation) {
                let connector = key.0;
                self.open.remove(&key.clone());
                self.admission.closed(connector);
            }
        }
    }

    /// Forgets a conversation the router has forgotten, and its duplicate windows.
    fn forget(&mut self, conversation: ConversationId) {
        self.close_for_connector(conversation);
        self.external.remove(&conversation);
        self.recent.remove(&conversation);
    }
}
