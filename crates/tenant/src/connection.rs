//! Connections coming and going: attach (with resume), detach, acks at the end of a batch,
//! and the once-a-second sweep of sessions nobody resumed.

use switchboard_protocol::{
    encode_server, CloseCode, Hello, Resumed, ServerMessage, SessionRole, Welcome, PROTOCOL_VERSION,
};
use switchboard_router::{
    AgentId, AgentLogin, Command, ConnectorId, ConversationId, Role as RouterRole,
};

use crate::names::AgentInfo;
use crate::session::{ack_frame, Peer, Session};
use crate::{ConnId, Frame, Identity, Output, Role, TenantCore};

impl<F: Frame> TenantCore<F> {
    /// Binds a connection to its session, replacing any previous connection, and answers the
    /// hello with `welcome` and whatever a resume is owed.
    pub(crate) fn attach(
        &mut self,
        conn: ConnId,
        identity: Identity,
        hello: Hello,
        out: &mut Vec<Output<F>>,
    ) {
        let (peer, role, login) = self.identify(identity);
        let asked_to_resume = hello.resume.is_some();
        self.bind(conn, peer, role, hello.resume, out);
        if let (Peer::Agent(agent), Some(login)) = (peer, login) {
            // A reconnect the router cannot honour (the gateway restarted and lost its state,
            // or the grace period ran out) is told so before any new offer: nothing from
            // before is still this agent's, and replies to old ids get unknown_conversation.
            if asked_to_resume && self.router.agent(agent).is_none() {
                self.send(peer, out, |seq| {
                    Some(ServerMessage::Resumed(Resumed {
                        seq,
                        conversations: Vec::new(),
                    }))
                });
            }
            self.command(Command::AgentConnect { agent, login }, out);
        }
        self.owe_ack(peer, hello.seq);
    }

    /// Interns who connected; for an agent, records its login.
    fn identify(&mut self, identity: Identity) -> (Peer, SessionRole, Option<AgentLogin>) {
        match identity {
            Identity::Connector { name, .. } => (
                Peer::Connector(ConnectorId(self.connectors.intern(&name))),
                SessionRole::Connector,
                None,
            ),
            Identity::Agent(claims) => {
                let id = AgentId(self.agents.intern(&claims.sub));
                let bot = claims.role == Role::Bot;
                let login = AgentLogin {
                    role: if bot {
                        RouterRole::Bot
                    } else {
                        RouterRole::Human
                    },
                    capacity: claims.capacity,
                    skills: claims.skills.into_iter().collect(),
                    // Bots never decline: their offers are assignments.
                    auto_accept: bot || claims.auto_accept,
                };
                let info = AgentInfo {
                    display_name: claims.name,
                    login: login.clone(),
                };
                self.agent_info.insert(id, info);
                let role = if bot {
                    SessionRole::Bot
                } else {
                    SessionRole::Agent
                };
                (Peer::Agent(id), role, Some(login))
            }
        }
    }

    /// Binds `conn` to `peer`'s session: welcome, then the replay a matching resume asked for.
    fn bind(
        &mut self,
        conn: ConnId,
        peer: Peer,
        role: SessionRole,
        resume: Option<switchboard_protocol::Resume>,
        out: &mut Vec<Output<F>>,
    ) {
        // Unguessable, and never the same across restarts: a resume names its session by it.
        let token = format!("s-{:032x}", self.draw::<u128>());
        let session = self
            .sessions
            .by_peer
            .entry(peer)
            .or_insert_with(|| Session::new(token.clone()));
        if let Some(old) = session.conn.take() {
            self.sessions.conns.remove(&old);
            out.push(Output::Close {
                conn: old,
                code: CloseCode::Replaced,
            });
            out.push(Output::Released { conn: old });
        }
        let asked_to_resume = resume.is_some();
        let resumed_from = resume
            .filter(|r| r.session == session.token)
            .map(|r| r.last_seq);
        if resumed_from.is_none() {
            // A fresh start: nothing from before is owed to this client, and its server
            // sequence starts again at 1, as the protocol says.
            session.token = token;
            session.replay.clear();
            session.next_seq = 1;
            session.dropped_through = 0;
        }
        // A resume of an unknown or expired session continues nothing: what it missed is gone.
        let gap = match resumed_from {
            Some(from) => session.dropped_through > from,
            None => asked_to_resume,
        };
        let from = resumed_from.unwrap_or(0);
        let replayed = session.replay.iter().filter(|(seq, _)| *seq > from).count();
        let welcome = ServerMessage::Welcome(Welcome {
            protocol: PROTOCOL_VERSION,
            session: session.token.clone(),
            role,
            tenant: self.id.clone(),
            resumed: resumed_from.is_some(),
            replayed: replayed as u32,
            gap,
            heartbeat_secs: self.limits.heartbeat_secs,
        });
        out.push(Output::Direct {
            conn,
            frame: F::from(encode_server(&welcome)),
        });
        session.start(conn, from, out);
        self.sessions.conns.insert(conn, peer);
    }

    /// Unbinds a connection that is gone; an agent's conversations wait out its grace period.
    pub(crate) fn detach(&mut self, conn: ConnId, out: &mut Vec<Output<F>>) {
        let Some(peer) = self.sessions.conns.remove(&conn) else {
            return;
        };
        out.push(Output::Released { conn });
        let now = self.now;
        let current = self
            .sessions
            .by_peer
            .get_mut(&peer)
            .filter(|s| s.conn == Some(conn));
        if let Some(session) = current {
            session.conn = None;
            session.lagging = false;
            session.detached_at = Some(now);
            self.sessions.detached.push_back((now, peer));
            if let Peer::Agent(agent) = peer {
                self.command(Command::AgentDisconnect { agent }, out);
            }
        }
    }

    /// The process restarted: no connection from before exists. Every session that had one
    /// (or lost it to `Shutdown`, which closes without detaching) is detached now, as `Detach`
    /// would, in peer order. All are unbound before the first router command, so timers that
    /// command fires deliver into replay buffers, never to a connection that is gone.
    pub(crate) fn restarted(&mut self, out: &mut Vec<Output<F>>) {
        let mut peers: Vec<Peer> = self
            .sessions
            .by_peer
            .iter()
            .filter(|(_, s)| s.conn.is_some() || s.detached_at.is_none())
            .map(|(peer, _)| *peer)
            .collect();
        peers.sort_unstable();
        let now = self.now;
        for peer in &peers {
            let Some(session) = self.sessions.by_peer.get_mut(peer) else {
                continue;
            };
            if let Some(conn) = session.conn.take() {
                self.sessions.conns.remove(&conn);
                out.push(Output::Released { conn });
            }
            session.lagging = false;
            session.detached_at = Some(now);
            self.sessions.detached.push_back((now, *peer));
        }
        for peer in peers {
            let Peer::Agent(agent) = peer else { continue };
            if self.router.agent(agent).is_some_and(|a| a.connected) {
                self.command(Command::AgentDisconnect { agent }, out);
            }
        }
    }

    /// Records that everything up to `seq` from `peer` is processed; acked at the batch's end.
    pub(crate) fn owe_ack(&mut self, peer: Peer, seq: u64) {
        match self.acks_due.iter_mut().find(|(p, _)| *p == peer) {
            Some(pending) => pending.1 = pending.1.max(seq),
            None => self.acks_due.push((peer, seq)),
        }
    }

    /// Acks are cumulative: one per client per batch of inputs says "everything up to here",
    /// after every error about those messages has been sent.
    pub(crate) fn flush_acks(&mut self, out: &mut Vec<Output<F>>) {
        for (peer, seq) in std::mem::take(&mut self.acks_due) {
            let Some(session) = self.sessions.by_peer.get_mut(&peer) else {
                continue;
            };
            let Some(conn) = session.conn else {
                continue;
            };
            session.owed_ack = None;
            out.push(Output::Ack {
                conn,
                seq,
                frame: ack_frame(seq),
            });
        }
    }

    /// Forgets sessions nobody resumed in time; a connector's customers cannot be reached any
    /// more, so their conversations end (reason `connector`) instead of holding queues and
    /// agents. Then gives back the memory a surge left behind.
    pub(crate) fn sweep(&mut self, out: &mut Vec<Output<F>>) {
        let resume_ms = self.limits.session_resume_ms;
        for connector in self.sessions.expire(self.now, resume_ms) {
            let mut stranded: Vec<ConversationId> = self
                .open
                .iter()
                .filter(|((owner, _), _)| *owner == connector)
                .map(|(_, conversation)| *conversation)
                .collect();
            // Map order is not an order: end them by id, the same way in every replay.
            stranded.sort_unstable();
            for conversation in stranded {
                let command = Command::ConnectorClose {
                    connector,
                    conversation,
                };
                self.command(command, out);
            }
        }
        self.shrink();
    }

    fn shrink(&mut self) {
        self.router.shrink();
        self.windows.shrink();
        shrink_map(&mut self.open);
        shrink_map(&mut self.external);
        shrink_map(&mut self.recent);
    }
}

/// Shrinks a map that holds far more room than it uses (after a surge); the slack keeps a
/// steady load from shrinking and regrowing every second.
fn shrink_map<K: std::hash::Hash + Eq, V>(map: &mut rustc_hash::FxHashMap<K, V>) {
    if map.capacity() > 4 * map.len() + 1024 {
        map.shrink_to_fit();
    }
}
