//! What customers, bots and human agents do on their own timers: arrive, send, give up, reply,
//! accept, close, disconnect and come back, each as the rules of play in
//! [`crate::scenario`] say.

use switchboard_router::{AgentId, Command, CustomerProfile, Message, Millis};

use super::{conversation, message, Event, Phase, Sim};

/// What bots and agents say: the router stores and forwards it, nothing scores it.
const BOT_REPLY: &str = "好的，我来帮您查一下。";
const AGENT_REPLY: &str = "您好，我是人工客服，正在为您处理。";

impl Sim<'_> {
    /// Plays one event; each is dropped if its epoch says the conversation moved past it.
    pub(super) fn handle(&mut self, now: Millis, event: Event) {
        match event {
            Event::Arrive(i) => self.arrive(now, i),
            Event::Send { customer, epoch } => self.send(now, customer, epoch),
            Event::GiveUp { customer, epoch } => self.give_up(now, customer, epoch),
            Event::BotReply {
                customer,
                bot,
                epoch,
            } => self.bot_reply(now, customer, bot, epoch),
            Event::Accept {
                agent,
                customer,
                epoch,
            } => self.accept(now, agent, customer, epoch),
            Event::AgentReply {
                agent,
                customer,
                epoch,
            } => self.agent_reply(now, agent, customer, epoch),
            Event::AgentClose {
                agent,
                customer,
                epoch,
            } => self.agent_close(now, agent, customer, epoch),
            Event::Disconnect(h) => {
                self.humans[h].connected = false;
                let agent = self.agent_id(h);
                self.apply(now, Command::AgentDisconnect { agent });
            }
            Event::Reconnect(h) => self.come_back(now, h),
        }
    }

    fn give_up(&mut self, now: Millis, customer: usize, epoch: u32) {
        let c = &self.customers[customer];
        if c.phase_epoch == epoch && matches!(c.phase, Phase::Waiting { .. }) {
            let command = Command::CustomerLeft {
                connector: self.connector(customer),
                conversation: conversation(customer),
            };
            self.apply(now, command);
        }
    }

    /// An offer withdrawn since (its epoch moved on) is not accepted; neither is one whose
    /// agent is away.
    fn accept(&mut self, now: Millis, agent: usize, customer: usize, epoch: u32) {
        if self.customers[customer].offer_epoch == epoch && self.humans[agent].connected {
            let command = Command::Accept {
                agent: self.agent_id(agent),
                conversation: conversation(customer),
            };
            self.apply(now, command);
        }
    }

    /// Replies every `reply_every_ms` while the agent holds the conversation; one due while
    /// disconnected is skipped, and the next still scheduled.
    fn agent_reply(&mut self, now: Millis, agent: usize, customer: usize, epoch: u32) {
        if !self.holds(customer, epoch) {
            return;
        }
        if self.humans[agent].connected {
            let command = Command::AgentMessage {
                agent: self.agent_id(agent),
                conversation: conversation(customer),
                message: message(AGENT_REPLY, format!("a-{customer}-{now}")),
            };
            self.apply(now, command);
        }
        let every = self.plan.agents[agent].reply_every_ms;
        self.at(
            now + every.max(1),
            Event::AgentReply {
                agent,
                customer,
                epoch,
            },
        );
    }

    /// A close due while disconnected waits for the agent to come back.
    fn agent_close(&mut self, now: Millis, agent: usize, customer: usize, epoch: u32) {
        if !self.holds(customer, epoch) {
            return;
        }
        if self.humans[agent].connected {
            self.close(now, agent, customer);
        } else {
            self.humans[agent].deferred.push((customer, epoch));
        }
    }

    /// Reconnects, then makes the closes that fell due while away.
    fn come_back(&mut self, now: Millis, h: usize) {
        self.reconnect(now, h);
        for (customer, epoch) in std::mem::take(&mut self.humans[h].deferred) {
            if self.holds(customer, epoch) {
                self.close(now, h, customer);
            }
        }
    }

    pub(super) fn reconnect(&mut self, now: Millis, h: usize) {
        self.humans[h].connected = true;
        let command = Command::AgentConnect {
            agent: self.agent_id(h),
            login: self.humans[h].login.clone(),
        };
        self.apply(now, command);
    }

    fn close(&mut self, now: Millis, agent: usize, customer: usize) {
        let command = Command::AgentClose {
            agent: self.agent_id(agent),
            conversation: conversation(customer),
        };
        self.apply(now, command);
    }

    /// Whether the agent's action scheduled at `epoch` still concerns a conversation it holds.
    fn holds(&self, customer: usize, epoch: u32) -> bool {
        let c = &self.customers[customer];
        c.hold_epoch == epoch && matches!(c.phase, Phase::WithHuman { .. })
    }

    /// The first message, with the profile the module docs describe.
    fn arrive(&mut self, now: Millis, i: usize) {
        let p = &self.plan.customers[i];
        let profile = CustomerProfile {
            customer_id: format!("customer-{i}"),
            name: None,
            tier: p.tier(),
            tags: Vec::new(),
            intent: p.intent.clone(),
            channel: p.channel.clone(),
            language: "zh".to_string(),
            order_value: None,
        };
        self.customers[i].queue = self.router.policy().route(&profile);
        self.customers[i].sent = 1;
        self.minute(now).arrivals += 1;
        let command = Command::Arrive {
            conversation: conversation(i),
            connector: self.connector(i),
            profile,
            message: Some(self.customer_message(i, 0)),
        };
        self.apply(now, command);
    }

    fn customer_message(&self, i: usize, k: usize) -> Message {
        let text = self.plan.customers[i].texts.get(k).copied().unwrap_or("");
        message(text, format!("c-{i}-{k}"))
    }

    /// The customer's next message, if they are talking to someone and have one left.
    fn send(&mut self, now: Millis, i: usize, epoch: u32) {
        let c = &self.customers[i];
        let texts = self.plan.customers[i].texts.len();
        let talking = matches!(c.phase, Phase::WithBot | Phase::WithHuman { .. });
        if c.phase_epoch != epoch || !talking || c.sent >= texts {
            return;
        }
        let k = c.sent;
        self.customers[i].sent += 1;
        let command = Command::CustomerMessage {
            connector: self.connector(i),
            conversation: conversation(i),
            message: self.customer_message(i, k),
        };
        self.apply(now, command);
        // With a bot the next message waits for its reply; with a human it only waits to think.
        let c = &self.customers[i];
        if matches!(c.phase, Phase::WithHuman { .. }) && c.phase_epoch == epoch {
            self.think_then_send(now, i);
        }
    }

    /// Schedules the customer's next message after its think time, if any is left.
    pub(super) fn think_then_send(&mut self, now: Millis, i: usize) {
        let c = &self.customers[i];
        let p = &self.plan.customers[i];
        if c.sent >= p.texts.len() {
            return;
        }
        // `think_ms[k - 1]` comes before message `k`; message 0 went at arrival.
        let think = c
            .sent
            .checked_sub(1)
            .and_then(|k| p.think_ms.get(k))
            .copied()
            .unwrap_or(0);
        let epoch = c.phase_epoch;
        self.at(now + think, Event::Send { customer: i, epoch });
    }

    /// The bot's reply and its verdict; then the customer closes (resolved), thinks and asks
    /// again, or leaves with nothing left to ask, unless the verdict handed them to a human.
    fn bot_reply(&mut self, now: Millis, i: usize, bot: AgentId, epoch: u32) {
        let c = &self.customers[i];
        if c.phase_epoch != epoch || c.phase != Phase::WithBot {
            return;
        }
        let round = c.bot_replies;
        self.customers[i].bot_replies += 1;
        let resolved = self.plan.customers[i]
            .bot_resolves
            .get(round)
            .copied()
            .unwrap_or(false);
        let (connector, conversation) = (self.connector(i), conversation(i));
        self.apply(
            now,
            Command::AgentMessage {
                agent: bot,
                conversation,
                message: message(BOT_REPLY, format!("b-{i}-{round}")),
            },
        );
        self.apply(
            now,
            Command::BotResult {
                agent: bot,
                conversation,
                resolved,
            },
        );
        let c = &self.customers[i];
        if c.phase != Phase::WithBot {
            return;
        }
        if resolved {
            self.apply(
                now,
                Command::ConnectorClose {
                    connector,
                    conversation,
                },
            );
        } else if c.sent < self.plan.customers[i].texts.len() {
            self.think_then_send(now, i);
        } else {
            self.apply(
                now,
                Command::CustomerLeft {
                    connector,
                    conversation,
                },
            );
        }
    }
}
