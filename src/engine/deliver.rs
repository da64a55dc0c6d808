//! Router effects → protocol frames for the right session.
//!
//! Connectors see their own conversation ids; agents see ours (decimal numbers), which say
//! nothing about the customer and only mean something inside their tenant.

use switchboard_protocol::{
    AgentJoined, AgentRef, AgentStatus as WireStatus, Author, AuthorRole, Class as WireClass,
    CloseReason as WireClose, Closed, CustomerMessageToAgent, Handoff,
    HandoffContext as WireHandoff, HandoffReason as WireReason, Offer, OfferContext as WireContext,
    OfferCustomer, OfferWithdrawn, Private, QueuePosition, Reply, Resumed, ServerMessage,
    Speaker as WireSpeaker, StatusChanged, StatusReason as WireStatusReason, Tier as WireTier,
    TranscriptLine as WireLine, WithdrawReason as WireWithdraw,
};
use switchboard_router::{
    AgentId, AgentStatus, Class, CloseReason, Effect, HandoffReason, OfferContext, RefusalCode,
    Requester, Speaker, State, StatusReason, Tier, WithdrawReason,
};

use std::time::Instant;

use super::shard::{Peer, Shard, Tenant};
use switchboard_protocol::ErrorCode;
use switchboard_router::Role;

impl Shard {
    /// Counts what an effect means for the metrics and the dashboard's windows.
    fn observe(&mut self, t: usize, effect: &Effect) {
        let now = self.now();
        let second = now / 1000;
        let received = self.received;
        let Some(tenant) = self.tenants.get_mut(t) else {
            return;
        };
        if let Effect::StateChanged {
            conversation,
            state,
            queue,
        } = effect
        {
            tenant.track_human_side(*conversation, *state, usize::from(queue.0), now);
        }
        let o = &mut tenant.observer;
        match effect {
            Effect::WaitObserved {
                queue,
                class,
                predicted_ms,
                actual_ms,
                sla_met,
            } => {
                let q = usize::from(queue.0);
                let missed = usize::from(!sla_met);
                if let Some(h) = o.wait.get(q).and_then(|v| v.get(*class as usize)) {
                    h.observe(*actual_ms as f64 / 1000.0);
                }
                o.sla[*class as usize][missed].inc();
                if let Some(window) = o.answered_by_class.get_mut(q) {
                    window.add(second, *class as usize);
                }
                if let Some(window) = o.answered.get_mut(q) {
                    window.add(second, missed);
                }
                if let Some(predicted) = predicted_ms {
                    o.ewt_error
                        .observe((*predicted as f64 - *actual_ms as f64) / 1000.0);
                }
            }
            Effect::Handoff {
                conversation,
                reason,
                ..
            } => {
                let index = HandoffReason::ALL
                    .iter()
                    .position(|r| r == reason)
                    .unwrap_or(0);
                o.handoffs[index].inc();
                o.handoffs_window.add(second, index);
                tenant
                    .pending_handoffs
                    .insert(*conversation, received.unwrap_or_else(Instant::now));
            }
            Effect::Offer {
                agent,
                conversation,
                ..
            } => {
                let human = tenant
                    .agent_info
                    .get(agent)
                    .is_some_and(|i| i.login.role == Role::Human);
                if human {
                    if let Some(triggered) = tenant.pending_handoffs.remove(conversation) {
                        o.handoff_latency.observe(triggered.elapsed().as_secs_f64());
                    }
                }
            }
            Effect::StateChanged {
                state: State::Assigned,
                ..
            } => o.offers_accepted.inc(),
            Effect::StateChanged {
                conversation,
                state: state @ (State::Closed | State::Abandoned),
                queue,
            } => {
                if *state == State::Abandoned {
                    if let Some(counter) = o.abandoned.get(usize::from(queue.0)) {
                        counter.inc();
                    }
                }
                tenant.pending_handoffs.remove(conversation);
            }
            Effect::OfferWithdrawn {
                reason: WithdrawReason::Timeout,
                ..
            } => o.offers_timeout.inc(),
            Effect::Refused { .. } => tenant.refused = true,
            _ => {}
        }
    }

    /// Turns one effect into frames for the sessions it concerns.
    pub(super) fn deliver(&mut self, t: usize, effect: Effect) {
        self.observe(t, &effect);
        let replay = self.gateway.replay_frames;
        let Some(tenant) = self.tenants.get_mut(t) else {
            return;
        };
        match effect {
            Effect::StateChanged {
                conversation,
                state: State::Closed | State::Abandoned,
                ..
            } => tenant.forget(conversation),
            Effect::StateChanged { .. } | Effect::WaitObserved { .. } => {}
            Effect::Offer {
                agent,
                conversation,
                context,
                auto_accepted,
            } => {
                let expires = (!auto_accepted)
                    .then(|| (tenant.router.policy().offer_timeout_ms / 1000) as u32);
                let context = wire_context(tenant, &context);
                tenant.send(
                    Peer::Agent(agent),
                    |seq| {
                        ServerMessage::Offer(Box::new(Offer {
                            seq,
                            conversation: conversation.0.to_string(),
                            auto_accepted,
                            expires_in_secs: expires,
                            context,
                        }))
                    },
                    replay,
                );
            }
            Effect::OfferWithdrawn {
                agent,
                conversation,
                reason,
            } => tenant.send(
                Peer::Agent(agent),
                |seq| {
                    ServerMessage::OfferWithdrawn(OfferWithdrawn {
                        seq,
                        conversation: conversation.0.to_string(),
                        reason: match reason {
                            WithdrawReason::Timeout => WireWithdraw::Timeout,
                            WithdrawReason::Ended => WireWithdraw::Ended,
                            WithdrawReason::AgentGone => WireWithdraw::AgentGone,
                            WithdrawReason::HandedOff => WireWithdraw::HandedOff,
                        },
                    })
                },
                replay,
            ),
            Effect::ToAgent {
                agent,
                conversation,
                message,
            } => tenant.send(
                Peer::Agent(agent),
                |seq| {
                    ServerMessage::CustomerMessage(CustomerMessageToAgent {
                        seq,
                        conversation: conversation.0.to_string(),
                        message_id: message.id.as_deref().unwrap_or_default().to_string(),
                        text: Private(message.text.to_string()),
                        sentiment: message.sentiment,
                    })
                },
                replay,
            ),
            Effect::ToCustomer {
                connector,
                conversation,
                from,
                message,
            } => {
                let external = tenant.external_id(conversation);
                let author = author(tenant, from);
                tenant.send(
                    Peer::Connector(connector),
                    |seq| {
                        ServerMessage::Reply(Reply {
                            seq,
                            conversation: external,
                            message_id: message.id.as_deref().unwrap_or_default().to_string(),
                            text: Private(message.text.to_string()),
                            from: author,
                        })
                    },
                    replay,
                );
            }
            Effect::AgentJoined {
                connector,
                conversation,
                agent,
            } => {
                let external = tenant.external_id(conversation);
                let agent = agent_ref(tenant, agent);
                tenant.send(
                    Peer::Connector(connector),
                    |seq| {
                        ServerMessage::AgentJoined(AgentJoined {
                            seq,
                            conversation: external,
                            agent,
                        })
                    },
                    replay,
                );
            }
            Effect::QueueUpdate {
                connector,
                conversation,
                position,
                ewt_ms,
            } => {
                let external = tenant.external_id(conversation);
                tenant.send(
                    Peer::Connector(connector),
                    |seq| {
                        ServerMessage::Queue(QueuePosition {
                            seq,
                            conversation: external,
                            position,
                            ewt_secs: ewt_ms.map(|ms| (ms / 1000) as u32),
                        })
                    },
                    replay,
                );
            }
            Effect::Handoff {
                connector,
                conversation,
                reason,
                ..
            } => {
                let external = tenant.external_id(conversation);
                tenant.send(
                    Peer::Connector(connector),
                    |seq| {
                        ServerMessage::Handoff(Handoff {
                            seq,
                            conversation: external,
                            reason: wire_reason(reason),
                        })
                    },
                    replay,
                );
            }
            Effect::Ended {
                connector,
                agent,
                conversation,
                reason,
                abandoned,
            } => {
                let reason = match reason {
                    CloseReason::Agent => WireClose::Agent,
                    CloseReason::Customer => WireClose::Customer,
                    CloseReason::Connector => WireClose::Connector,
                    CloseReason::Idle => WireClose::Idle,
                };
                let external = tenant.external_id(conversation);
                tenant.close_for_connector(conversation);
                tenant.send(
                    Peer::Connector(connector),
                    |seq| {
                        ServerMessage::Closed(Closed {
                            seq,
                            conversation: external,
                            reason,
                            abandoned,
                        })
                    },
                    replay,
                );
                if let Some(agent) = agent {
                    tenant.send(
                        Peer::Agent(agent),
                        |seq| {
                            ServerMessage::Closed(Closed {
                                seq,
                                conversation: conversation.0.to_string(),
                                reason,
                                abandoned,
                            })
                        },
                        replay,
                    );
                }
            }
            Effect::AgentStatusChanged {
                agent,
                status,
                reason,
            } => tenant.send(
                Peer::Agent(agent),
                |seq| {
                    ServerMessage::Status(StatusChanged {
                        seq,
                        status: match status {
                            AgentStatus::Available => WireStatus::Available,
                            AgentStatus::Away => WireStatus::Away,
                            AgentStatus::Offline => WireStatus::Offline,
                        },
                        reason: match reason {
                            StatusReason::Requested => WireStatusReason::Requested,
                            StatusReason::Supervisor => WireStatusReason::Supervisor,
                            StatusReason::MissedOffers => WireStatusReason::MissedOffers,
                            StatusReason::GraceExpired => WireStatusReason::GraceExpired,
                        },
                    })
                },
                replay,
            ),
            Effect::AgentResumed {
                agent,
                conversations,
            } => tenant.send(
                Peer::Agent(agent),
                |seq| {
                    ServerMessage::Resumed(Resumed {
                        seq,
                        conversations: conversations.iter().map(|c| c.0.to_string()).collect(),
                    })
                },
                replay,
            ),
            Effect::Refused {
                to,
                conversation,
                code,
            } => {
                let peer = match to {
                    Requester::Connector(c) => Peer::Connector(c),
                    Requester::Agent(a) => Peer::Agent(a),
                };
                // Refusals answer the message being applied; one to anyone else is not theirs.
                if tenant.current.is_some_and(|(p, _)| p == peer) {
                    let shown = conversation.map(|c| match peer {
                        Peer::Connector(_) => tenant.external_id(c),
                        Peer::Agent(_) => c.0.to_string(),
                    });
                    tenant.refuse(error_code(code), shown);
                }
            }
        }
    }
}

fn error_code(code: RefusalCode) -> ErrorCode {
    match code {
        RefusalCode::UnknownConversation => ErrorCode::UnknownConversation,
        RefusalCode::DuplicateConversation => ErrorCode::Duplicate,
        RefusalCode::UnknownAgent => ErrorCode::Forbidden,
        RefusalCode::NotOffered => ErrorCode::NotOffered,
        RefusalCode::NotAssigned => ErrorCode::NotAssigned,
        RefusalCode::ConversationEnded => ErrorCode::ConversationEnded,
        RefusalCode::UnknownQueue => ErrorCode::UnknownQueue,
        RefusalCode::TargetUnavailable => ErrorCode::TargetUnavailable,
        RefusalCode::InvalidCapacity => ErrorCode::InvalidField,
    }
}

fn wire_reason(reason: HandoffReason) -> WireReason {
    match reason {
        HandoffReason::CustomerRequest => WireReason::CustomerRequest,
        HandoffReason::BotRequest => WireReason::BotRequest,
        HandoffReason::BotUnresolved => WireReason::BotUnresolved,
        HandoffReason::NegativeSentiment => WireReason::NegativeSentiment,
        HandoffReason::Rule => WireReason::Rule,
        HandoffReason::BotUnavailable => WireReason::BotUnavailable,
    }
}

fn agent_ref(tenant: &Tenant, agent: AgentId) -> AgentRef {
    AgentRef {
        id: tenant.agents.name(agent.0).to_string(),
        name: tenant
            .agent_info
            .get(&agent)
            .and_then(|i| i.display_name.clone()),
    }
}

/// The author of a reply to a customer: always a bot or an agent.
fn author(tenant: &Tenant, from: Speaker) -> Author {
    let (role, agent) = match from {
        Speaker::Bot(a) => (AuthorRole::Bot, Some(a)),
        Speaker::Agent(a) => (AuthorRole::Agent, Some(a)),
        Speaker::Customer => (AuthorRole::Agent, None),
    };
    let AgentRef { id, name } = agent.map_or(
        AgentRef {
            id: String::new(),
            name: None,
        },
        |a| agent_ref(tenant, a),
    );
    Author { role, id, name }
}

fn wire_context(tenant: &Tenant, context: &OfferContext) -> WireContext {
    let policy = tenant.router.policy();
    let profile = &context.profile;
    WireContext {
        queue: policy
            .queues
            .get(usize::from(context.queue.0))
            .map_or_else(String::new, |q| q.name.clone()),
        class: match context.class {
            Class::Vip => WireClass::Vip,
            Class::Complaint => WireClass::Complaint,
            Class::Urgent => WireClass::Urgent,
            Class::Standard => WireClass::Standard,
        },
        customer: OfferCustomer {
            id: Private(profile.customer_id.clone()),
            tier: match profile.tier {
                Tier::Standard => WireTier::Standard,
                Tier::Vip(level) => WireTier::Vip(level),
            },
            tags: profile.tags.clone(),
            name: profile.name.clone().map(Private),
        },
        channel: profile.channel.clone(),
        language: profile.language.clone(),
        intent: profile.intent.clone(),
        order_value: profile.order_value,
        waited_secs: (context.waited_ms / 1000) as u32,
        returning_customer: context.returning_customer,
        handoff: context.handoff.as_ref().map(|h| WireHandoff {
            reason: wire_reason(h.reason),
            bot_reason: h.bot_reason.clone().map(Private),
            bot_summary: h.bot_summary.clone().map(Private),
            sentiment: h.sentiment,
            sentiment_trend: context.sentiment_trend.clone(),
        }),
        transcript: context
            .transcript
            .iter()
            .map(|line| WireLine {
                at: line.at,
                from: match line.speaker {
                    Speaker::Customer => WireSpeaker::Customer,
                    Speaker::Bot(_) => WireSpeaker::Bot,
                    Speaker::Agent(_) => WireSpeaker::Agent,
                },
                text: Private(line.message.text.to_string()),
                message_id: line.message.id.as_deref().unwrap_or_default().to_string(),
            })
            .collect(),
        transcript_truncated: (context.transcript_truncated > 0)
            .then_some(context.transcript_truncated),
        order_numbers: context
            .numbers
            .orders
            .iter()
            .cloned()
            .map(Private)
            .collect(),
        tracking_numbers: context
            .numbers
            .tracking
            .iter()
            .cloned()
            .map(Private)
            .collect(),
    }
}
