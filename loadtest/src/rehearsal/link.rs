//! One client socket as the rehearsal uses it: the handshake and resume, client sequence
//! numbers, acks, heartbeats, and the order of server messages.
//!
//! The socket is owned by one actor task, which reads and writes it from one loop (see
//! [`super::actors::drive`]): messages are queued with [`Link::send`] and written by
//! [`Link::flush`], every frame fed and then one flush. Bounds: at most [`MAX_PENDING`] messages
//! sent and not yet acked (past it a send is dropped and counted: the gateway stopped acking);
//! the frames queued between two flushes are what one turn of the loop produced.

use std::collections::VecDeque;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use switchboard_protocol::{
    decode_server, encode_client, ClientMessage, ErrorCode, ErrorReport, Hello, Ping, Resume,
    ServerMessage, Welcome, PROTOCOL_VERSION,
};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::measure::{Role, Shared, Tag};
use crate::client::{self, Ws, PATIENCE};
use crate::clock::{now_ns, secs_ns};

/// What the rehearsal's clients say they are in `hello`.
const CLIENT: &str = "switchboard-loadtest/0.1";

/// Most messages sent and not yet acked on one socket.
const MAX_PENDING: usize = 65_536;

/// How long a planned close may take before the socket is simply dropped.
const CLOSE_NS: u64 = 2_000_000_000;

/// Longest a reconnect waits while clients are held back (a crash check reading the restarted
/// gateway takes a fraction of this; whoever holds always releases, this only bounds a bug).
const HOLD: std::time::Duration = std::time::Duration::from_secs(60);

/// A message sent and not yet acked.
#[derive(Debug)]
struct Pending {
    message: ClientMessage,
    refused: Option<ErrorCode>,
    /// Sent again after a reconnect: a refusal then is the protocol's expected answer.
    resent: bool,
    /// Written to a socket at least once (a message queued while disconnected is not, until
    /// the reconnect).
    written: bool,
}

/// A server message, in server `seq` order, each once.
#[derive(Debug)]
pub struct Received {
    /// The message.
    pub message: ServerMessage,
    /// It came in the replay after a resume.
    pub replayed: bool,
}

/// What a frame brought that the actor must act on.
#[derive(Debug)]
pub enum Event {
    /// A server message.
    Message(Received),
    /// One of the actor's messages was refused.
    Refused {
        /// The error frame.
        report: ErrorReport,
        /// The refused message was a resend after a reconnect.
        resent: bool,
    },
}

/// Where and as whom a link connects.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `ws://HOST:PORT`.
    pub base: String,
    /// `/v1/connector` or `/v1/agent`.
    pub path: &'static str,
    /// API key or JWT.
    pub credential: String,
}

/// One client socket and its protocol state.
#[derive(Debug)]
pub struct Link {
    /// The actor's number, unique in the run: a delivery's recipient.
    pub actor: u32,
    /// What the gateway counts it as.
    pub role: Role,
    /// Name in reports, e.g. `agent general-3`.
    pub name: String,
    endpoint: Endpoint,
    shared: Arc<Shared>,
    ws: Option<Ws>,
    /// Set while a planned close is under way: until when it may take.
    closing: Option<u64>,
    /// The actor dropped the connection on purpose (a planned disconnect): no reconnect until
    /// it asks for one.
    dropped_on_purpose: bool,
    seq: u64,
    pending: VecDeque<Pending>,
    frames: Vec<String>,
    session: Option<String>,
    resuming: bool,
    /// Highest server `seq` processed: what a resume asks to continue from.
    last_seq: u64,
    /// Server seqs up to this one came in a replay.
    replay_through: u64,
    welcomed: bool,
    heartbeat_ns: u64,
    last_send_ns: u64,
}

impl Link {
    /// A link not yet connected.
    pub fn new(
        actor: u32,
        role: Role,
        name: String,
        endpoint: Endpoint,
        shared: Arc<Shared>,
    ) -> Self {
        Link {
            actor,
            role,
            name,
            endpoint,
            shared,
            ws: None,
            closing: None,
            dropped_on_purpose: false,
            seq: 0,
            pending: VecDeque::new(),
            frames: Vec::new(),
            session: None,
            resuming: false,
            last_seq: 0,
            replay_through: 0,
            welcomed: false,
            heartbeat_ns: secs_ns(20.0),
            last_send_ns: 0,
        }
    }

    /// The measurements every actor shares.
    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// Whether messages can be sent now.
    pub fn is_up(&self) -> bool {
        self.ws.is_some() && self.closing.is_none()
    }

    /// Connects and says `hello`, resuming the previous session if there was one; messages not
    /// acked on the previous connection (and those queued while disconnected) are sent with new
    /// seqs, as the protocol asks. Waits first while clients are held back.
    pub async fn open(&mut self) -> Result<(), String> {
        if tokio::time::timeout(HOLD, self.shared.held_back())
            .await
            .is_err()
        {
            self.unexpected(format!("held back for more than {HOLD:?}"));
        }
        self.dropped_on_purpose = false;
        // Whatever was queued for the old socket is in `pending` or was a ping: hello first.
        self.frames.clear();
        let ws = client::connect(
            &self.endpoint.base,
            self.endpoint.path,
            &self.endpoint.credential,
            client::ws_config(false),
        )
        .await?;
        self.ws = Some(ws);
        self.closing = None;
        self.seq = 1;
        let resume = self.session.clone().map(|session| Resume {
            session,
            last_seq: self.last_seq,
        });
        self.resuming = resume.is_some();
        self.frames.push(encode_client(&ClientMessage::Hello(Hello {
            seq: 1,
            protocol: PROTOCOL_VERSION,
            client: CLIENT.to_string(),
            resume,
        })));
        let mut resent = 0;
        for pending in &mut self.pending {
            self.seq += 1;
            renumber(&mut pending.message, self.seq);
            pending.resent = pending.written;
            pending.written = true;
            pending.refused = None;
            resent += u64::from(pending.resent);
            self.frames.push(encode_client(&pending.message));
        }
        let role = self.role;
        self.shared
            .with(|m| m.traffic.entry(role).or_default().sent += resent);
        self.flush().await;
        if self.ws.is_some() {
            Ok(())
        } else {
            Err("the connection failed right after hello".to_string())
        }
    }

    /// Queues `message` for the next [`Link::flush`], meant to go at `intended_ns`. `held`: for
    /// a customer message, whether someone held the conversation when it was sent. While the
    /// connection is lost and will be tried again, the message waits for the reconnect, as a
    /// real client's outbox would. A message that cannot be sent (closed on purpose, or
    /// [`MAX_PENDING`] unacked) is counted as dropped.
    pub fn send(&mut self, mut message: ClientMessage, intended_ns: u64, held: bool) {
        let now = now_ns();
        let up = self.is_up();
        if !(up || self.needs_reconnect()) || self.pending.len() >= MAX_PENDING {
            self.shared.with(|m| m.dropped += 1);
            return;
        }
        if up {
            self.seq += 1;
            renumber(&mut message, self.seq);
            self.frames.push(encode_client(&message));
        }
        let role = self.role;
        self.shared.with(|m| {
            m.send(role, intended_ns, now);
            if let Some((id, tag)) = message
                .message_id()
                .and_then(|id| Some((id, Tag::parse(id)?)))
            {
                m.ledger.sent(id, tag, held, now);
            }
        });
        self.pending.push_back(Pending {
            message,
            refused: None,
            resent: false,
            written: up,
        });
    }

    /// Writes every queued frame, then flushes once. A failed or stalled write loses the
    /// connection (reported); the messages stay pending and are resent after a reconnect.
    pub async fn flush(&mut self) {
        if self.frames.is_empty() {
            return;
        }
        let frames = std::mem::take(&mut self.frames);
        let Some(ws) = self.ws.as_mut() else { return };
        let written = tokio::time::timeout(PATIENCE, async {
            for frame in frames {
                ws.feed(Message::text(frame)).await?;
            }
            ws.flush().await
        })
        .await;
        match written {
            Ok(Ok(())) => self.last_send_ns = now_ns(),
            Ok(Err(e)) => {
                self.lost(&format!("write failed: {e}"));
            }
            Err(_) => {
                self.lost(&format!("a write stalled for {PATIENCE:?}"));
            }
        }
    }

    /// The next frame; never resolves while disconnected.
    pub async fn recv(&mut self) -> Option<Result<Message, WsError>> {
        match self.ws.as_mut() {
            Some(ws) => ws.next().await,
            None => std::future::pending().await,
        }
    }

    /// Starts a planned disconnect: whatever is queued goes first, then a close frame; the
    /// socket is read until the gateway's close arrives (what comes meanwhile is processed as
    /// usual), for at most [`CLOSE_NS`].
    pub async fn begin_close(&mut self) {
        self.flush().await;
        let Some(ws) = self.ws.as_mut() else { return };
        self.closing = Some(now_ns() + CLOSE_NS);
        self.dropped_on_purpose = true;
        if tokio::time::timeout(PATIENCE, ws.close(None))
            .await
            .is_err()
        {
            self.lost("the close stalled");
        }
    }

    /// The socket ended; reported unless the actor was closing it.
    pub fn lost(&mut self, why: &str) {
        self.ws = None;
        if self.closing.take().is_none() {
            let what = format!("{}: connection lost: {why}", self.name);
            self.shared.with(|m| {
                m.sessions.unplanned_disconnects += 1;
                m.errors.unexpected(what);
            });
        }
    }

    /// Whether the connection was lost without the actor asking.
    pub fn needs_reconnect(&self) -> bool {
        self.ws.is_none() && !self.dropped_on_purpose
    }

    /// When [`Link::tick`] next has something to do.
    pub fn due(&self) -> Option<u64> {
        if let Some(deadline) = self.closing {
            return Some(deadline);
        }
        (self.ws.is_some() && self.welcomed).then(|| self.last_send_ns + self.heartbeat_ns / 2)
    }

    /// Heartbeat and close deadline: a `ping` when nothing was sent for half a heartbeat (the
    /// gateway drops a client silent for three), and a close that took too long is finished by
    /// dropping the socket.
    pub fn tick(&mut self, now: u64) {
        if self.closing.is_some_and(|deadline| now >= deadline) {
            self.lost("close timed out");
            return;
        }
        if self.is_up() && self.welcomed && now >= self.last_send_ns + self.heartbeat_ns / 2 {
            self.seq += 1;
            self.frames
                .push(encode_client(&ClientMessage::Ping(Ping { seq: self.seq })));
            // Counted as sent now so an unanswered ping is not repeated on every turn.
            self.last_send_ns = now;
        }
    }

    /// Closes the socket at the end of the run, reading what is left for a moment so the
    /// gateway sees a clean close.
    pub async fn shutdown(&mut self) {
        self.flush().await;
        let Some(mut ws) = self.ws.take() else { return };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
            if ws.close(None).await.is_ok() {
                while let Some(Ok(_)) = ws.next().await {}
            }
        })
        .await;
    }

    /// Handles one text frame: acks, errors, the welcome and the order of server messages here;
    /// what the actor must act on is returned.
    pub fn process(&mut self, text: &str) -> Vec<Event> {
        let role = self.role;
        self.shared
            .with(|m| m.traffic.entry(role).or_default().frames += 1);
        let decoded = match decode_server(text) {
            Ok(decoded) => decoded,
            Err(e) => {
                self.unexpected(format!("undecodable frame: {e}"));
                return Vec::new();
            }
        };
        let mut events = Vec::new();
        for element in decoded {
            let message = match element {
                Ok(message) => message,
                // Version 1 may add server message types: clients ignore them.
                Err(e) if e.code == ErrorCode::UnknownType => continue,
                Err(e) => {
                    self.unexpected(format!("undecodable message: {e}"));
                    continue;
                }
            };
            match message {
                ServerMessage::Welcome(welcome) => self.welcome(welcome),
                ServerMessage::Ack(ack) => self.settle(ack.seq),
                ServerMessage::Error(report) => {
                    let pending = self
                        .pending
                        .iter_mut()
                        .find(|p| Some(p.message.seq()) == report.seq);
                    let resent = pending.is_some_and(|p| {
                        p.refused = Some(report.code);
                        p.resent
                    });
                    events.push(Event::Refused { report, resent });
                }
                ServerMessage::Pong(_) => {}
                message => {
                    let Some(seq) = message.seq() else { continue };
                    // A replay may repeat what was already handled: skip it by seq.
                    if seq <= self.last_seq {
                        continue;
                    }
                    if seq != self.last_seq + 1 {
                        let last = self.last_seq;
                        self.unexpected(format!("server seq jumped from {last} to {seq}"));
                    }
                    self.last_seq = seq;
                    events.push(Event::Message(Received {
                        replayed: seq <= self.replay_through,
                        message,
                    }));
                }
            }
        }
        events
    }

    /// Records a refusal: benign races by code, anything else in full.
    pub fn refused(&self, report: &ErrorReport, benign: bool) {
        let what = format!(
            "{}: error {} ({}) for seq {:?} conversation {:?}",
            self.name,
            report.code.as_str(),
            report.message,
            report.seq,
            report.conversation
        );
        self.shared.with(|m| {
            if benign {
                *m.errors
                    .benign
                    .entry(report.code.as_str().to_string())
                    .or_default() += 1;
            } else {
                m.errors.unexpected(what);
            }
        });
    }

    /// Reports something unexpected about this client.
    pub fn unexpected(&self, what: String) {
        let what = format!("{}: {what}", self.name);
        self.shared.with(|m| m.errors.unexpected(what));
    }

    fn welcome(&mut self, welcome: Welcome) {
        if self.resuming {
            let clean = welcome.resumed && !welcome.gap;
            let what = format!(
                "{}: resume not clean (resumed {}, gap {})",
                self.name, welcome.resumed, welcome.gap
            );
            self.shared.with(|m| {
                if clean {
                    m.sessions.resumed += 1;
                } else {
                    m.sessions.gaps += 1;
                    m.errors.unexpected(what);
                }
            });
        }
        if !welcome.resumed {
            // A fresh session numbers its messages from 1.
            self.last_seq = 0;
        }
        self.replay_through = self.last_seq + u64::from(welcome.replayed);
        self.session = Some(welcome.session);
        self.heartbeat_ns = secs_ns(f64::from(welcome.heartbeat_secs.max(1)));
        if !self.welcomed {
            self.welcomed = true;
            self.shared.welcomed();
        }
    }

    /// Everything up to `seq` was processed: applied unless refused (a `duplicate` is the
    /// protocol's "already applied").
    fn settle(&mut self, seq: u64) {
        let mut answered = Vec::new();
        let mut forgotten = Vec::new();
        while let Some(front) = self.pending.front() {
            // A message queued while disconnected has no seq of this connection yet.
            if !front.written || front.message.seq() > seq {
                break;
            }
            let Some(done) = self.pending.pop_front() else {
                break;
            };
            if let Some(id) = done.message.message_id() {
                let applied = matches!(done.refused, None | Some(ErrorCode::Duplicate));
                answered.push((id.to_string(), applied));
            }
            if done.refused == Some(ErrorCode::UnknownConversation) {
                forgotten.extend(self.customer_leaving(&done.message));
            }
        }
        if !answered.is_empty() || !forgotten.is_empty() {
            self.shared.with(|m| {
                for (id, applied) in &answered {
                    m.ledger.answered(id, *applied);
                }
                for &conversation in &forgotten {
                    m.ledger.forgotten(conversation);
                }
            });
        }
    }

    /// The customer (plan index) a connector's `customer_left` or `close` ends: connector
    /// conversation ids are `c-{index}`.
    fn customer_leaving(&self, message: &ClientMessage) -> Option<u32> {
        match message {
            ClientMessage::CustomerLeft(r) | ClientMessage::Close(r)
                if self.role == Role::Connector =>
            {
                r.conversation.strip_prefix("c-")?.parse().ok()
            }
            _ => None,
        }
    }
}

/// Gives a message the seq it is sent with.
fn renumber(message: &mut ClientMessage, seq: u64) {
    match message {
        ClientMessage::Hello(m) => m.seq = seq,
        ClientMessage::CustomerMessage(m) => m.seq = seq,
        ClientMessage::CustomerLeft(m)
        | ClientMessage::Close(m)
        | ClientMessage::Accept(m)
        | ClientMessage::Reject(m)
        | ClientMessage::HandBack(m) => m.seq = seq,
        ClientMessage::Ping(m) => m.seq = seq,
        ClientMessage::Status(m) => m.seq = seq,
        ClientMessage::Message(m) => m.seq = seq,
        ClientMessage::Transfer(m) => m.seq = seq,
        ClientMessage::BotResult(m) => m.seq = seq,
        ClientMessage::BotHandoff(m) => m.seq = seq,
    }
}
