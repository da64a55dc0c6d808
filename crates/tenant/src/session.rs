//! Sessions: what outlives a connection (its server seq and replay buffer), and which
//! connection is bound to which session.
//!
//! Owner: the tenant core. Bounds: a session's replay buffer holds its last
//! `gateway.replay_frames` frames (past that the oldest are dropped: the next resume is told
//! `gap: true`, and a live connection that had not been handed a dropped frame yet is closed
//! with 1013); a detached session is kept `gateway.session_resume_secs`, then forgotten.
//!
//! The core never sees an outbox. It hands numbered frames out as [`Output::Send`] and assumes
//! they were written; the shell reports the exceptions as inputs (`Stalled`, `AckStalled`), so
//! a session's state stays a function of the core's inputs.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

use rustc_hash::FxHashMap;
use switchboard_protocol::{encode_server, CloseCode, ServerMessage};
use switchboard_router::{AgentId, ConnectorId, Millis};

use crate::{ConnId, Frame, Output};

/// A client of a tenant: who a session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) enum Peer {
    Connector(ConnectorId),
    Agent(AgentId),
}

/// What outlives a connection: its sequence and its replay buffer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound(serialize = "F: AsRef<str>", deserialize = "F: From<String>"))]
pub(crate) struct Session<F> {
    pub(crate) token: String,
    pub(crate) next_seq: u64,
    #[serde(with = "crate::snapshot::frames")]
    pub(crate) replay: VecDeque<(u64, F)>,
    /// Highest seq dropped from the replay buffer.
    pub(crate) dropped_through: u64,
    /// Highest seq handed to the current connection.
    pub(crate) sent_through: u64,
    pub(crate) conn: Option<ConnId>,
    /// The connection could not take a numbered frame: later ones wait in the replay buffer
    /// until a `Drain` hands them out in order.
    pub(crate) lagging: bool,
    /// When the last connection went away, while none replaced it.
    pub(crate) detached_at: Option<Millis>,
    /// The highest client seq whose ack found the outbox full: acks are cumulative, so only
    /// the last one is owed, and it is sent as soon as there is room (a client waiting for the
    /// ack of its last message would otherwise wait forever).
    pub(crate) owed_ack: Option<u64>,
}

impl<F: Frame> Session<F> {
    pub(crate) fn new(token: String) -> Self {
        Session {
            token,
            next_seq: 1,
            replay: VecDeque::new(),
            dropped_through: 0,
            sent_through: 0,
            conn: None,
            lagging: false,
            detached_at: None,
            owed_ack: None,
        }
    }

    /// Numbers a replayable message, keeps it for resume and hands it to the connection unless
    /// the connection lags (then it waits for a drain) or has missed a dropped frame (then the
    /// connection is closed: it must resume to learn of the gap).
    pub(crate) fn send(
        &mut self,
        replay_frames: usize,
        build: impl FnOnce(u64) -> Option<ServerMessage>,
        out: &mut Vec<Output<F>>,
    ) {
        let seq = self.next_seq;
        let Some(message) = build(seq) else {
            return;
        };
        self.next_seq += 1;
        let frame = F::from(encode_server(&message));
        self.replay.push_back((seq, frame.clone()));
        while self.replay.len() > replay_frames {
            if let Some((dropped, _)) = self.replay.pop_front() {
                self.dropped_through = dropped;
            }
        }
        let Some(conn) = self.conn else {
            return;
        };
        if self.dropped_through > self.sent_through {
            out.push(Output::Close {
                conn,
                code: CloseCode::ReplayOverflow,
            });
        } else if !self.lagging {
            self.sent_through = seq;
            out.push(Output::Send { conn, seq, frame });
        }
    }

    /// Binds a new connection that has seen everything through `from`: hands it the rest of
    /// the replay buffer, in order. Acks owed to the previous connection are not: its client
    /// resends what it did not see acked.
    pub(crate) fn start(&mut self, conn: ConnId, from: u64, out: &mut Vec<Output<F>>) {
        self.sent_through = from;
        self.lagging = false;
        self.detached_at = None;
        self.owed_ack = None;
        for (seq, frame) in self.replay.iter().filter(|(seq, _)| *seq > from) {
            self.sent_through = *seq;
            out.push(Output::Send {
                conn,
                seq: *seq,
                frame: frame.clone(),
            });
        }
        self.conn = Some(conn);
    }

    /// The connection could not take frame `seq`: it and what follows wait for a drain.
    pub(crate) fn stalled(&mut self, conn: ConnId, seq: u64, out: &mut Vec<Output<F>>) {
        self.sent_through = self.sent_through.min(seq.saturating_sub(1));
        self.lagging = true;
        if self.dropped_through > self.sent_through {
            out.push(Output::Close {
                conn,
                code: CloseCode::ReplayOverflow,
            });
        }
    }

    /// Hands out what a lagging connection is owed, at most `room` frames: the owed ack
    /// first, then numbered frames in order. Caught up, it stops lagging.
    pub(crate) fn drain(&mut self, conn: ConnId, mut room: usize, out: &mut Vec<Output<F>>) {
        if room == 0 {
            return;
        }
        if let Some(seq) = self.owed_ack.take() {
            out.push(Output::Ack {
                conn,
                seq,
                frame: ack_frame(seq),
            });
            room -= 1;
        }
        if !self.lagging {
            return;
        }
        // Sequence numbers in the buffer are contiguous: index straight to the first owed.
        let first = self.replay.front().map_or(0, |(seq, _)| *seq);
        let skip = (self.sent_through + 1).saturating_sub(first) as usize;
        for (seq, frame) in self.replay.range(skip.min(self.replay.len())..).take(room) {
            self.sent_through = *seq;
            out.push(Output::Send {
                conn,
                seq: *seq,
                frame: frame.clone(),
            });
        }
        if self.sent_through + 1 >= self.next_seq {
            self.lagging = false;
        }
    }
}

/// An `ack` of a client's messages up to `seq`.
pub(crate) fn ack_frame<F: Frame>(seq: u64) -> F {
    F::from(encode_server(&ServerMessage::Ack(
        switchboard_protocol::Ack { seq },
    )))
}

/// Every session of a tenant, the connections bound to them, and the detaches in time order.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound(serialize = "F: AsRef<str>", deserialize = "F: From<String>"))]
pub(crate) struct Sessions<F> {
    pub(crate) by_peer: FxHashMap<Peer, Session<F>>,
    pub(crate) conns: FxHashMap<ConnId, Peer>,
    /// Detaches in time order, to forget sessions nobody resumed in time.
    pub(crate) detached: VecDeque<(Millis, Peer)>,
}

impl<F: Frame> Sessions<F> {
    pub(crate) fn new() -> Self {
        Sessions {
            by_peer: FxHashMap::default(),
            conns: FxHashMap::default(),
            detached: VecDeque::new(),
        }
    }

    /// The session `conn` is bound to, if it is still that session's connection.
    pub(crate) fn bound(&mut self, conn: ConnId) -> Option<(Peer, &mut Session<F>)> {
        let peer = *self.conns.get(&conn)?;
        let session = self.by_peer.get_mut(&peer)?;
        (session.conn == Some(conn)).then_some((peer, session))
    }

    /// Forgets the sessions detached at least `resume_ms` before `now` that nobody resumed;
    /// returns the connectors among them.
    pub(crate) fn expire(&mut self, now: Millis, resume_ms: Millis) -> Vec<ConnectorId> {
        let mut gone = Vec::new();
        while let Some((at, peer)) = self.detached.front().copied() {
            if now.saturating_sub(at) < resume_ms {
                break;
            }
            self.detached.pop_front();
            // Only if nobody reconnected (or disconnected again later) since this detach.
            let expired = self
                .by_peer
                .get(&peer)
                .is_some_and(|s| s.conn.is_none() && s.detached_at == Some(at));
            if expired {
                self.by_peer.remove(&peer);
                if let Peer::Connector(connector) = peer {
                    gone.push(connector);
                }
            }
        }
        gone
    }
}
