//! The property harness shared by the tenant-core tests: random operations of connectors,
//! agents and a bot ([`op`]), and a [`Harness`] that plays shell and clients around one core,
//! journalling every input it applies (encoded, with its time) so tests can replay them.

#![allow(dead_code)] // each test file uses part of it

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use switchboard_config::Config;
use switchboard_config::TenantConfig;
use switchboard_protocol::{
    decode_client, decode_server, ClientMessage, ClientRole, Hello, Resume, ServerMessage,
};
use switchboard_tenant::{Claims, CoreLimits, Identity, Input, Output, Role, TenantCore};

/// Connectors 0 and 1, human agents 2 and 3, bot 4.
pub const CLIENTS: usize = 5;
pub const TEXTS: [&str; 4] = ["你好", "我要转人工", "太差了，我非常生气", "订单什么时候到"];

#[derive(Debug, Clone)]
pub enum Op {
    Connect {
        who: usize,
        resume: u8,
    },
    Disconnect {
        who: usize,
    },
    Customer {
        c: usize,
        conv: u8,
        msg: u8,
        text: usize,
        profile: bool,
    },
    CustomerLeft {
        c: usize,
        conv: u8,
    },
    ConnectorClose {
        c: usize,
        conv: u8,
    },
    Accept {
        who: usize,
        pick: usize,
    },
    Reject {
        who: usize,
        pick: usize,
    },
    AgentClose {
        who: usize,
        pick: usize,
    },
    AgentMessage {
        who: usize,
        pick: usize,
        msg: u8,
    },
    Status {
        who: usize,
        status: u8,
    },
    BotResult {
        pick: usize,
        resolved: bool,
    },
    BotHandoff {
        pick: usize,
    },
    Time {
        ms: u64,
    },
    Full {
        who: usize,
    },
    Drain {
        who: usize,
    },
}

pub fn op() -> impl Strategy<Value = Op> {
    let agent = 2usize..CLIENTS;
    prop_oneof![
        3 => (0..CLIENTS, 0u8..3).prop_map(|(who, resume)| Op::Connect { who, resume }),
        1 => (0..CLIENTS).prop_map(|who| Op::Disconnect { who }),
        6 => (0usize..2, 0u8..3, 0u8..4, 0..TEXTS.len(), prop::bool::weighted(0.9)).prop_map(
            |(c, conv, msg, text, profile)| Op::Customer { c, conv, msg, text, profile }
        ),
        1 => (0usize..2, 0u8..3).prop_map(|(c, conv)| Op::CustomerLeft { c, conv }),
        1 => (0usize..2, 0u8..3).prop_map(|(c, conv)| Op::ConnectorClose { c, conv }),
        3 => (agent.clone(), any::<usize>()).prop_map(|(who, pick)| Op::Accept { who, pick }),
        1 => (agent.clone(), any::<usize>()).prop_map(|(who, pick)| Op::Reject { who, pick }),
        1 => (agent.clone(), any::<usize>()).prop_map(|(who, pick)| Op::AgentClose { who, pick }),
        3 => (agent.clone(), any::<usize>(), 0u8..4)
            .prop_map(|(who, pick, msg)| Op::AgentMessage { who, pick, msg }),
        1 => (agent.clone(), 0u8..3).prop_map(|(who, status)| Op::Status { who, status }),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(pick, resolved)| Op::BotResult { pick, resolved }),
        1 => any::<usize>().prop_map(|pick| Op::BotHandoff { pick }),
        3 => prop_oneof![0u64..2_000, 0u64..90_000, Just(400_000u64)].prop_map(|ms| Op::Time { ms }),
        1 => (0..CLIENTS).prop_map(|who| Op::Full { who }),
        1 => (0..CLIENTS).prop_map(|who| Op::Drain { who }),
    ]
}

/// What the harness, playing shell and clients, knows of one client.
#[derive(Debug, Default)]
pub struct ClientState {
    pub conn: Option<u64>,
    pub seq: u64,
    pub token: Option<String>,
    pub last_seen: u64,
    /// Its outbox is full: numbered frames and acks are reported back as stalled.
    pub full: bool,
    /// Conversations offered to it (agents), by our id.
    pub offered: Vec<String>,
    /// Server seqs of the current session already seen (a replay repeats them).
    pub seen: BTreeSet<u64>,
    /// Every message it read, in order.
    pub received: Vec<ServerMessage>,
}

pub struct Harness {
    pub core: TenantCore<String>,
    pub now: u64,
    pub next_conn: u64,
    pub clients: Vec<ClientState>,
    /// Everything observable, step by step, with the state hash after each input.
    pub trace: Vec<String>,
    /// (our conversation, message id) → times delivered to an agent as `customer_message`.
    pub delivered: BTreeMap<(String, String), u32>,
    /// Numbered frames already counted, by (session token, seq): a replay repeats a frame, it
    /// does not deliver its message again.
    pub counted: BTreeSet<(String, u64)>,
    /// The tenant's configuration and limits, to restore a snapshot under.
    pub config: TenantConfig,
    pub limits: CoreLimits,
    /// Every input applied, encoded, with the time it was applied at: a journal.
    pub journal: Vec<(u64, Vec<u8>)>,
    /// Apply each input as decoded from its journal record rather than as built.
    pub round_trip: bool,
}

pub fn identity(who: usize) -> Identity {
    if who < 2 {
        return Identity::Connector {
            name: format!("c{who}"),
            tenant: "default".into(),
        };
    }
    let bot = who == 4;
    Identity::Agent(Claims {
        sub: format!("a{who}"),
        tenant: "default".into(),
        role: if bot { Role::Bot } else { Role::Agent },
        skills: if bot {
            BTreeMap::new()
        } else {
            [("general".to_string(), 5)].into_iter().collect()
        },
        capacity: if bot { 5 } else { 2 },
        exp: 0,
        name: Some(format!("agent {who}")),
        auto_accept: false,
    })
}

impl Harness {
    pub fn new(seed: u64) -> Self {
        let config = Config::embedded();
        let mut gateway = config.gateway.clone();
        // Small, so that overflowing a replay buffer is reachable.
        gateway.replay_frames = 12;
        gateway.session_resume_secs = 120;
        let tenant = config.tenants[0].clone();
        let limits = CoreLimits::of(&gateway);
        Harness {
            core: TenantCore::new(&tenant, limits, seed_of(seed)),
            now: 1_700_000_000_000,
            next_conn: 1,
            clients: (0..CLIENTS).map(|_| ClientState::default()).collect(),
            trace: Vec::new(),
            delivered: BTreeMap::new(),
            counted: BTreeSet::new(),
            config: tenant,
            limits,
            journal: Vec::new(),
            round_trip: false,
        }
    }

    fn who_of(&self, conn: u64) -> Option<usize> {
        self.clients.iter().position(|c| c.conn == Some(conn))
    }

    /// Applies one input as the shell would, and carries out its outputs (then the inputs they
    /// lead to: stalls and detaches); returns the acks written, by connection.
    pub fn apply(&mut self, input: Input) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let label = format!("{input:?}");
        let mut record = Vec::new();
        input.encode(&mut record);
        let input = if self.round_trip {
            let decoded = Input::decode(&record).expect("a record decodes");
            assert_eq!(decoded, input, "decode(encode(input)) is the input");
            decoded
        } else {
            input
        };
        self.journal.push((self.now, record));
        self.core.apply(self.now, input, &mut out);
        self.trace.push(label);
        let mut acks = Vec::new();
        let mut stalls = Vec::new();
        for output in out {
            self.trace.push(format!("{output:?}"));
            self.carry_out(output, &mut acks, &mut stalls);
        }
        self.trace
            .push(format!("hash {:x}", self.core.state_hash()));
        if let Err(broken) = self.core.router().check_invariants() {
            panic!("router invariant broken: {broken}");
        }
        for stall in stalls {
            acks.extend(self.apply(stall));
        }
        acks
    }

    fn carry_out(
        &mut self,
        output: Output<String>,
        acks: &mut Vec<(u64, u64)>,
        stalls: &mut Vec<Input>,
    ) {
        match output {
            Output::Send { conn, seq, frame } => {
                let Some(who) = self.who_of(conn) else { return };
                let stalled = stalls
                    .iter()
                    .any(|s| matches!(s, Input::Stalled { conn: c, .. } if *c == conn));
                if stalled {
                    return;
                }
                if self.clients[who].full {
                    stalls.push(Input::Stalled { conn, seq });
                    return;
                }
                self.receive(who, &frame);
            }
            Output::Ack { conn, seq, .. } => {
                let Some(who) = self.who_of(conn) else { return };
                if self.clients[who].full {
                    stalls.push(Input::AckStalled { conn, seq });
                } else {
                    acks.push((conn, seq));
                }
            }
            Output::Direct { conn, frame } => {
                if let Some(who) = self.who_of(conn) {
                    self.receive(who, &frame);
                }
            }
            Output::Released { conn } => {
                if let Some(who) = self.who_of(conn) {
                    self.clients[who].conn = None;
                    self.clients[who].full = false;
                }
            }
            Output::Close { conn, .. } => {
                // The writer closes the socket; the reader's detach follows, as in the gateway.
                if let Some(who) = self.who_of(conn) {
                    self.clients[who].conn = None;
                    self.clients[who].full = false;
                    stalls.push(Input::Detach { conn });
                }
            }
            Output::Observe(_) | Output::StatusSet(_) => {}
        }
    }

    /// A client reads a frame.
    fn receive(&mut self, who: usize, frame: &str) {
        let decoded = decode_server(frame).expect("the core sends valid frames");
        for message in decoded {
            let message = message.expect("every message decodes");
            let client = &mut self.clients[who];
            if let ServerMessage::Welcome(w) = &message {
                if !w.resumed {
                    client.seen.clear();
                    client.last_seen = 0;
                }
                client.token = Some(w.session.clone());
            }
            client.received.push(message.clone());
            let Some(seq) = message.seq() else { continue };
            client.seen.insert(seq);
            client.last_seen = client.last_seen.max(seq);
            let token = client.token.clone().unwrap_or_default();
            let first_time = self.counted.insert((token, seq));
            match message {
                ServerMessage::Offer(offer) => {
                    self.clients[who].offered.push(offer.conversation.clone())
                }
                ServerMessage::CustomerMessage(m) if first_time => {
                    *self
                        .delivered
                        .entry((m.conversation.clone(), m.message_id.clone()))
                        .or_default() += 1;
                }
                _ => {}
            }
        }
    }

    pub fn connect(&mut self, who: usize, resume: u8) {
        let conn = self.next_conn;
        self.next_conn += 1;
        let client = &mut self.clients[who];
        let resume = match (resume, &client.token) {
            (1, Some(token)) => Some(Resume {
                session: token.clone(),
                last_seq: client.last_seen,
            }),
            (2, Some(token)) => Some(Resume {
                session: token.clone(),
                last_seq: client.last_seen / 2,
            }),
            _ => None,
        };
        if let Some(r) = &resume {
            // What the client asks to see again, it forgets it saw.
            client.seen.retain(|s| *s <= r.last_seq);
            client.last_seen = r.last_seq;
        }
        client.seq += 1;
        let hello = Hello {
            seq: client.seq,
            protocol: 1,
            client: "prop".into(),
            resume,
        };
        // A previous connection is replaced: the core closes and forgets it.
        client.conn = Some(conn);
        client.full = false;
        let seq = client.seq;
        let mut acks = self.apply(Input::Attach {
            conn,
            identity: identity(who),
            hello,
        });
        acks.extend(self.batch_end());
        let mine: Vec<u64> = acks
            .iter()
            .filter(|(c, _)| *c == conn)
            .map(|(_, s)| *s)
            .collect();
        assert_eq!(mine, vec![seq], "the hello is acked once");
    }

    /// A client sends one frame of one message; checks it is acked exactly once.
    pub fn send(&mut self, who: usize, json: String) {
        let Some(conn) = self.clients[who].conn else {
            return;
        };
        self.clients[who].seq += 1;
        let seq = self.clients[who].seq;
        let frame = json.replace("\"seq\":0", &format!("\"seq\":{seq}"));
        let role = if who < 2 {
            ClientRole::Connector
        } else {
            ClientRole::Agent
        };
        let messages: Vec<ClientMessage> = decode_client(&frame, role)
            .expect("the harness builds valid frames")
            .into_iter()
            .map(|m| m.expect("valid message"))
            .collect();
        let full = self.clients[who].full;
        let mut acks = self.apply(Input::Client {
            conn,
            messages,
            through: seq,
        });
        acks.extend(self.batch_end());
        if self.clients[who].conn == Some(conn) && !full && !self.clients[who].full {
            let mine: Vec<u64> = acks
                .iter()
                .filter(|(c, _)| *c == conn)
                .map(|(_, s)| *s)
                .collect();
            assert_eq!(mine, vec![seq], "one ack, through the frame's seq");
        }
    }

    pub fn batch_end(&mut self) -> Vec<(u64, u64)> {
        self.apply(Input::FlushAcks)
    }

    pub fn pick(&self, who: usize, pick: usize) -> String {
        let offered = &self.clients[who].offered;
        if offered.is_empty() {
            return "12345".into();
        }
        offered[pick % offered.len()].clone()
    }

    pub fn step(&mut self, op: Op) {
        match op {
            Op::Connect { who, resume } => self.connect(who, resume),
            Op::Disconnect { who } => {
                if let Some(conn) = self.clients[who].conn.take() {
                    self.apply(Input::Detach { conn });
                }
            }
            Op::Customer {
                c,
                conv,
                msg,
                text,
                profile,
            } => {
                let described = if profile {
                    r#","customer":{"id":"buyer","tier":"standard"},"channel":"app""#
                } else {
                    ""
                };
                self.send(c, format!(
                    r#"{{"type":"customer_message","seq":0,"conversation":"k{conv}","message_id":"m{msg}","text":"{}"{described}}}"#,
                    TEXTS[text]
                ));
            }
            Op::CustomerLeft { c, conv } => self.send(
                c,
                format!(r#"{{"type":"customer_left","seq":0,"conversation":"k{conv}"}}"#),
            ),
            Op::ConnectorClose { c, conv } => self.send(
                c,
                format!(r#"{{"type":"close","seq":0,"conversation":"k{conv}"}}"#),
            ),
            Op::Accept { who, pick } => self.conversation_order(who, "accept", pick),
            Op::Reject { who, pick } => self.conversation_order(who, "reject", pick),
            Op::AgentClose { who, pick } => self.conversation_order(who, "close", pick),
            Op::AgentMessage { who, pick, msg } => {
                let conversation = self.pick(who, pick);
                self.send(who, format!(
                    r#"{{"type":"message","seq":0,"conversation":"{conversation}","message_id":"r{msg}","text":"好的"}}"#
                ));
            }
            Op::Status { who, status } => {
                let status = ["available", "away", "offline"][usize::from(status)];
                self.send(
                    who,
                    format!(r#"{{"type":"status","seq":0,"status":"{status}"}}"#),
                );
            }
            Op::BotResult { pick, resolved } => {
                let conversation = self.pick(4, pick);
                self.send(4, format!(
                    r#"{{"type":"bot_result","seq":0,"conversation":"{conversation}","resolved":{resolved}}}"#
                ));
            }
            Op::BotHandoff { pick } => {
                let conversation = self.pick(4, pick);
                self.send(4, format!(
                    r#"{{"type":"bot_handoff","seq":0,"conversation":"{conversation}","reason":"needs a human"}}"#
                ));
            }
            Op::Time { ms } => self.pass(ms),
            Op::Full { who } => self.clients[who].full = self.clients[who].conn.is_some(),
            Op::Drain { who } => {
                self.clients[who].full = false;
                if let Some(conn) = self.clients[who].conn {
                    self.apply(Input::Drain { conn, room: 4 });
                }
            }
        }
    }

    fn conversation_order(&mut self, who: usize, kind: &str, pick: usize) {
        let conversation = self.pick(who, pick);
        self.send(
            who,
            format!(r#"{{"type":"{kind}","seq":0,"conversation":"{conversation}"}}"#),
        );
    }

    /// Time passes: timers fire as they fall due, and the once-a-second sweep runs.
    pub fn pass(&mut self, ms: u64) {
        let end = self.now + ms;
        while let Some(at) = self.core.next_deadline().filter(|at| *at <= end) {
            self.now = self.now.max(at);
            self.apply(Input::Timers);
        }
        self.now = end;
        self.apply(Input::Timers);
        self.apply(Input::Sweep);
    }
}

/// A generator seed from a test's seed.
pub fn seed_of(seed: u64) -> [u8; 32] {
    let mut bytes = [0; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes
}

pub fn run(seed: u64, ops: &[Op]) -> Harness {
    let mut harness = Harness::new(seed);
    for op in ops {
        harness.step(op.clone());
    }
    harness
}
