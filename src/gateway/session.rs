//! One WebSocket connection: a reader that decodes and forwards, a writer that drains the outbox.
//!
//! The reader owns the socket's read half and the connection's error budget; it answers protocol
//! errors itself (they never reach a shard) and forwards decoded messages to the tenant's shard.
//! The writer owns the write half: it `feed`s every frame already queued, then `flush`es once,
//! pings every heartbeat, and closes with the code it is told. Neither holds a lock.
//!
//! A writer that cannot write (a frame over [`MAX_SERVER_FRAME_BYTES`], a broken socket, or no
//! progress for `gateway.slow_consumer_secs`) sets the close order itself, so the reader stops
//! and detaches: the shard then handles the agent as disconnected instead of offering work to a
//! connection that receives nothing.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use prometheus::IntCounter;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::error::{CapacityError, Error as WsError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WsCloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Bytes, Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;
use tracing::{debug, info_span, Instrument};

use super::Shared;
use crate::engine::{CloseOrder, Outbox, Route, ShardInput};
use crate::metrics::Metrics;
use switchboard_config::GatewayConfig;
use switchboard_protocol::CloseCode;
use switchboard_protocol::{
    decode_client, encode_server, ClientMessage, ClientRole, ErrorCode, ErrorReport, Hello,
    ProtocolError, ServerMessage, PROTOCOL_VERSION,
};

pub use switchboard_tenant::Identity;

type Socket = WebSocketStream<TokioIo<Upgraded>>;

/// One element of a decoded frame.
type Decoded = Result<ClientMessage, ProtocolError>;

/// Most frames the writer feeds before it flushes.
const FEED_BATCH: usize = 64;

/// The largest frame the gateway sends, as docs/protocol.md promises clients. The largest frames
/// are offers, kept under it by the tenant's `transcript_bytes` (see `config::TRANSCRIPT_BYTES_MAX`).
pub const MAX_SERVER_FRAME_BYTES: usize = 2 << 20;

/// What the socket buffers before it writes: little, since the writer flushes every batch.
const WRITE_BUFFER_BYTES: usize = 8 * 1024;

/// A frame's header: 2 bytes, 8 more for a 64-bit length, no mask from a server.
const FRAME_HEADER_BYTES: usize = 10;

/// The WebSocket settings of a connection.
///
/// tungstenite refuses a frame that does not fit beside what it already buffers (under
/// `WRITE_BUFFER_BYTES`: the sink flushes before it takes the next frame), and once refused the
/// frame is gone. So the bound leaves room for the largest frame we send: only one over
/// [`MAX_SERVER_FRAME_BYTES`] fails, and the writer closes the connection for it.
pub fn socket_config(gateway: &GatewayConfig) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(gateway.read_buffer_bytes)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_write_buffer_size(WRITE_BUFFER_BYTES + FRAME_HEADER_BYTES + MAX_SERVER_FRAME_BYTES)
        .max_message_size(Some(gateway.max_message_bytes))
        .max_frame_size(Some(gateway.max_message_bytes))
}

/// How long a new connection has to send its hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection's metric children, resolved once when it opens.
#[derive(Clone)]
struct ConnMetrics {
    received: IntCounter,
    sent: IntCounter,
    drops: IntCounter,
    metrics: Arc<Metrics>,
    role: &'static str,
}

impl ConnMetrics {
    fn error(&self, code: ErrorCode) {
        self.metrics
            .protocol_errors
            .with_label_values(&[code.as_str()])
            .inc();
    }
}

/// Runs a connection until either side closes it.
pub async fn run(socket: Socket, identity: Identity, shared: Arc<Shared>) {
    let conn = shared.engine.next_conn();
    let role = identity.label();
    let metrics = &shared.metrics;
    let counters = ConnMetrics {
        received: metrics.messages_received.with_label_values(&[role]),
        sent: metrics.messages_sent.with_label_values(&[role]),
        drops: metrics.outbox_drops.with_label_values(&[role]),
        metrics: Arc::clone(metrics),
        role,
    };
    let open = metrics.connections.with_label_values(&[role]);
    open.inc();
    metrics.connections_opened.with_label_values(&[role]).inc();
    let span = info_span!("conn", id = conn, role, tenant = identity.tenant());
    serve(socket, identity, conn, Arc::clone(&shared), counters)
        .instrument(span)
        .await;
    open.dec();
}

async fn serve(
    socket: Socket,
    identity: Identity,
    conn: u64,
    shared: Arc<Shared>,
    counters: ConnMetrics,
) {
    let gateway = &shared.config.gateway;
    let heartbeat = Duration::from_secs(u64::from(gateway.heartbeat_secs));
    let (sink, stream) = socket.split();
    let (frames, queued) = mpsc::channel(gateway.outbox_frames);
    let (close, close_rx) = watch::channel::<CloseOrder>(None);
    let outbox = Outbox {
        frames,
        close: Arc::new(close),
    };
    let writer = tokio::spawn(write(
        sink,
        queued,
        Arc::clone(&outbox.close),
        close_rx.clone(),
        heartbeat,
        Duration::from_secs(u64::from(gateway.slow_consumer_secs)),
        counters.clone(),
    ));
    let Some(route) = shared.engine.route(identity.tenant()) else {
        outbox.close(CloseCode::TenantNotServed);
        let _ = writer.await;
        return;
    };
    let role = match identity {
        Identity::Connector { .. } => ClientRole::Connector,
        Identity::Agent(_) => ClientRole::Agent,
    };
    let mut reader = Reader {
        stream,
        outbox: outbox.clone(),
        closing: close_rx,
        role,
        budget: ErrorBudget::new(gateway.error_budget_per_minute),
        silence: Silence::BeforeHello,
        last_seq: None,
        counters,
    };
    let hello = reader.hello().await;
    reader.silence = Silence::AfterHello { heartbeat };
    if let Some((hello, behind_hello)) = hello {
        let attach = ShardInput::Attach {
            tenant: route.tenant,
            conn,
            identity,
            hello,
            outbox: outbox.clone(),
        };
        if route.send(attach).await {
            debug!("attached");
            reader.forward(&route, conn, behind_hello).await;
            if !route.send_now(ShardInput::Detach {
                tenant: route.tenant,
                conn,
            }) {
                let _ = route
                    .send(ShardInput::Detach {
                        tenant: route.tenant,
                        conn,
                    })
                    .await;
            }
        }
    }
    // The writer ends once told to close or once every sender is gone: ours and the shard's.
    drop(reader);
    drop(outbox);
    let _ = writer.await;
    debug!("closed");
}

/// Protocol errors allowed per minute, sliding.
struct ErrorBudget {
    limit: usize,
    recent: VecDeque<Instant>,
}

impl ErrorBudget {
    fn new(per_minute: u32) -> Self {
        ErrorBudget {
            limit: per_minute as usize,
            recent: VecDeque::new(),
        }
    }

    /// Counts one error; false once over budget.
    fn spend(&mut self) -> bool {
        let now = Instant::now();
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) > Duration::from_secs(60))
        {
            self.recent.pop_front();
        }
        self.recent.push_back(now);
        self.recent.len() <= self.limit
    }
}

/// How long a connection may stay silent, and how it is closed when it does.
#[derive(Debug, Clone, Copy)]
enum Silence {
    /// No hello yet: a client that never says hello is misbehaving, not merely cut off, so it
    /// is told not to reconnect blindly (1008).
    BeforeHello,
    /// Three heartbeats without a frame: the link is probably dead; reconnect and resume (1001).
    AfterHello { heartbeat: Duration },
}

impl Silence {
    fn limit(self) -> Duration {
        match self {
            Silence::BeforeHello => HELLO_TIMEOUT,
            Silence::AfterHello { heartbeat } => heartbeat * 3,
        }
    }

    fn close(self) -> CloseCode {
        match self {
            Silence::BeforeHello => CloseCode::HelloDeadline,
            Silence::AfterHello { .. } => CloseCode::HeartbeatTimeout,
        }
    }
}

struct Reader {
    stream: SplitStream<Socket>,
    outbox: Outbox,
    closing: watch::Receiver<CloseOrder>,
    role: ClientRole,
    budget: ErrorBudget,
    silence: Silence,
    last_seq: Option<u64>,
    counters: ConnMetrics,
}

enum Next {
    Text(Utf8Bytes),
    Skip,
    Stop,
}

impl Reader {
    /// The next text frame, handling control frames, limits, idleness and close orders.
    async fn next(&mut self) -> Next {
        let read = tokio::select! {
            read = tokio::time::timeout(self.silence.limit(), self.stream.next()) => read,
            _ = self.closing.changed() => return Next::Stop,
        };
        match read {
            Err(_) => {
                self.outbox.close(self.silence.close());
                Next::Stop
            }
            Ok(None) | Ok(Some(Ok(Message::Close(_)))) => Next::Stop,
            Ok(Some(Ok(Message::Text(text)))) => Next::Text(text),
            Ok(Some(Ok(Message::Binary(_)))) => {
                let error = ProtocolError::new(
                    ErrorCode::InvalidFrame,
                    "binary frames are not part of the protocol: send JSON text",
                );
                if self.refuse(error) {
                    Next::Skip
                } else {
                    Next::Stop
                }
            }
            Ok(Some(Ok(_))) => Next::Skip,
            Ok(Some(Err(WsError::Capacity(CapacityError::MessageTooLong { .. }))))
            | Ok(Some(Err(WsError::Capacity(_)))) => {
                self.outbox.close(CloseCode::MessageTooBig);
                Next::Stop
            }
            Ok(Some(Err(WsError::Utf8))) => {
                self.outbox.close(CloseCode::InvalidUtf8);
                Next::Stop
            }
            Ok(Some(Err(WsError::Protocol(_)))) => {
                self.outbox.close(CloseCode::ProtocolError);
                Next::Stop
            }
            Ok(Some(Err(_))) => Next::Stop,
        }
    }

    /// Sends an error frame and spends budget; false (and a 1008 close) once over budget.
    fn refuse(&mut self, error: ProtocolError) -> bool {
        self.counters.error(error.code);
        let closes = error.code.closes_connection();
        self.send(&ServerMessage::Error(ErrorReport::from(error)));
        if closes {
            self.outbox.close(CloseCode::ProtocolViolation);
            return false;
        }
        if !self.budget.spend() {
            self.outbox.close(CloseCode::ErrorBudgetExceeded);
            return false;
        }
        true
    }

    fn send(&self, message: &ServerMessage) {
        let sent = self
            .outbox
            .frames
            .try_send(Utf8Bytes::from(encode_server(message)));
        if sent.is_err() {
            self.counters.drops.inc();
        }
    }

    /// Waits for the hello; anything else first is refused and the connection closed. Returns
    /// the hello and whatever followed it in the same frame, to be processed after the
    /// handshake.
    async fn hello(&mut self) -> Option<(Hello, Vec<Decoded>)> {
        loop {
            let text = match self.next().await {
                Next::Text(text) => text,
                Next::Skip => continue,
                Next::Stop => return None,
            };
            let decoded = match decode_client(&text, self.role) {
                Ok(decoded) => decoded,
                Err(error) => {
                    if self.refuse(error) {
                        continue;
                    }
                    return None;
                }
            };
            let mut messages = decoded.into_iter();
            return match messages.next() {
                Some(Ok(ClientMessage::Hello(hello))) => {
                    if hello.protocol != PROTOCOL_VERSION {
                        self.refuse(
                            ProtocolError::new(
                                ErrorCode::UnsupportedVersion,
                                format!("this server speaks protocol {PROTOCOL_VERSION}"),
                            )
                            .with_seq(hello.seq),
                        );
                        return None;
                    }
                    self.last_seq = Some(hello.seq);
                    Some((hello, messages.collect()))
                }
                Some(Err(error)) if messages.len() == 0 => {
                    if self.refuse(error) {
                        continue;
                    }
                    None
                }
                _ => {
                    self.refuse(ProtocolError::new(
                        ErrorCode::NotHello,
                        "the first message must be hello",
                    ));
                    None
                }
            };
        }
    }

    /// Sends what followed the hello in its frame, then reads frames until the connection ends,
    /// forwarding what decodes. Everything goes through the shard, pings too, so replies
    /// (`welcome`, `pong`, `ack`) leave in the order the client sent what caused them.
    async fn forward(&mut self, route: &Route, conn: u64, behind_hello: Vec<Decoded>) {
        if !self.submit(route, conn, behind_hello, Instant::now()).await {
            return;
        }
        loop {
            let text = match self.next().await {
                Next::Text(text) => text,
                Next::Skip => continue,
                Next::Stop => return,
            };
            let received = Instant::now();
            let decoded = match decode_client(&text, self.role) {
                Ok(decoded) => decoded,
                Err(error) => {
                    if self.refuse(error) {
                        continue;
                    }
                    return;
                }
            };
            if !self.submit(route, conn, decoded, received).await {
                return;
            }
        }
    }

    /// Checks one frame's elements against the session rules and sends what passes to the
    /// shard; false once the connection must end.
    async fn submit(
        &mut self,
        route: &Route,
        conn: u64,
        decoded: Vec<Decoded>,
        received: Instant,
    ) -> bool {
        let acked_before = self.last_seq;
        let mut messages = Vec::with_capacity(decoded.len());
        for element in decoded {
            let outcome = match element {
                Ok(ClientMessage::Hello(hello)) => Err(ProtocolError::new(
                    ErrorCode::UnknownType,
                    "hello was already received on this connection",
                )
                .with_seq(hello.seq)),
                Ok(message) if self.last_seq.is_some_and(|last| message.seq() <= last) => Err(
                    ProtocolError::new(ErrorCode::OutOfOrder, "seq must increase on every message")
                        .with_seq(message.seq()),
                ),
                Ok(message) => {
                    self.last_seq = Some(message.seq());
                    Ok(message)
                }
                Err(error) => Err(error),
            };
            match outcome {
                Ok(message) => messages.push(message),
                Err(error) => {
                    if !self.refuse(error) {
                        return false;
                    }
                }
            }
        }
        // A frame of only refused elements changes nothing the shard must acknowledge.
        let Some(through) = self.last_seq.filter(|_| self.last_seq != acked_before) else {
            return true;
        };
        let pings = messages
            .iter()
            .filter(|m| matches!(m, ClientMessage::Ping(_)))
            .count();
        self.counters
            .received
            .inc_by((messages.len() - pings) as u64);
        let input = ShardInput::Client {
            tenant: route.tenant,
            conn,
            messages,
            through,
            received,
        };
        if !route.send(input).await {
            self.outbox.close(CloseCode::ServerStopping);
            return false;
        }
        true
    }
}

/// Drains the outbox: feeds every queued frame, flushes once, pings when quiet, closes on order.
///
/// Every write is bounded by `stall_limit`. When one fails or stalls the writer sets a close
/// order itself: the reader stops on it and detaches, so the shard never keeps a session whose
/// frames reach nobody (an agent it would go on offering work to).
async fn write(
    mut sink: SplitSink<Socket, Message>,
    mut queued: mpsc::Receiver<Utf8Bytes>,
    close: Arc<watch::Sender<CloseOrder>>,
    // Made before the spawn: one subscribed in here could miss an order given meanwhile.
    mut orders: watch::Receiver<CloseOrder>,
    heartbeat: Duration,
    stall_limit: Duration,
    counters: ConnMetrics,
) {
    let writer = Writer {
        stall_limit,
        counters: &counters,
    };
    let label = match writer
        .until_closed(&mut sink, &mut queued, &mut orders, heartbeat)
        .await
    {
        Ok(sent) => sent.label(),
        Err(failure) => {
            let why = failure.close();
            close.send_replace(Some(why));
            if let WriteFailure::TooLarge = failure {
                // The socket itself still works, so the client can be told why.
                let _ = writer.put(&mut sink, close_message(why)).await;
                why.label()
            } else {
                "abnormal"
            }
        }
    };
    counters
        .metrics
        .connections_closed
        .with_label_values(&[counters.role, label])
        .inc();
}

/// Why a writer gave up on its socket.
#[derive(Debug, Clone, Copy)]
enum WriteFailure {
    /// A frame over [`MAX_SERVER_FRAME_BYTES`]: tungstenite refuses it and the frame is lost,
    /// so the client would have a hole in its `seq` (the shard's replay cannot fill it either).
    TooLarge,
    /// A write made no progress for the stall limit: the peer stopped reading. A close frame
    /// could not get through either, so the socket is dropped.
    Stalled,
    /// The socket failed.
    Broken,
}

impl WriteFailure {
    /// The order that stops the reader (and, for `TooLarge`, the close frame sent).
    fn close(self) -> CloseCode {
        match self {
            WriteFailure::TooLarge => CloseCode::FrameTooLarge,
            WriteFailure::Stalled => CloseCode::WriteTimeout,
            WriteFailure::Broken => CloseCode::SocketFailed,
        }
    }
}

struct Writer<'a> {
    stall_limit: Duration,
    counters: &'a ConnMetrics,
}

impl Writer<'_> {
    /// Writes until told to close or until every sender is gone; returns the close code sent.
    async fn until_closed(
        &self,
        sink: &mut SplitSink<Socket, Message>,
        queued: &mut mpsc::Receiver<Utf8Bytes>,
        close: &mut watch::Receiver<CloseOrder>,
        heartbeat: Duration,
    ) -> Result<CloseCode, WriteFailure> {
        let mut ping = tokio::time::interval(heartbeat);
        ping.tick().await;
        let order = loop {
            tokio::select! {
                biased;
                frame = queued.recv() => {
                    // Every sender is gone; a close order given just before still counts.
                    let Some(frame) = frame else { break *close.borrow() };
                    self.batch(sink, queued, frame).await?;
                }
                _ = close.changed() => {
                    let order = *close.borrow_and_update();
                    if order.is_some() {
                        break order;
                    }
                }
                _ = ping.tick() => {
                    self.put(sink, Message::Ping(Bytes::new())).await?;
                }
            }
        };
        // Whatever was queued before the order goes out first: a shutdown loses nothing in flight.
        while let Ok(frame) = queued.try_recv() {
            self.bounded(sink.feed(Message::Text(frame))).await?;
            self.counters.sent.inc();
        }
        let why = order.unwrap_or(CloseCode::Bye);
        // A peer that already closed cannot take our close frame; the code still stands.
        let _ = self.put(sink, close_message(why)).await;
        let _ = tokio::time::timeout(self.stall_limit, sink.close()).await;
        Ok(why)
    }

    /// Feeds this frame and up to `FEED_BATCH - 1` more already queued, then flushes once.
    async fn batch(
        &self,
        sink: &mut SplitSink<Socket, Message>,
        queued: &mut mpsc::Receiver<Utf8Bytes>,
        first: Utf8Bytes,
    ) -> Result<(), WriteFailure> {
        self.bounded(sink.feed(Message::Text(first))).await?;
        let mut batch = 1;
        while batch < FEED_BATCH {
            let Ok(frame) = queued.try_recv() else { break };
            self.bounded(sink.feed(Message::Text(frame))).await?;
            batch += 1;
        }
        self.bounded(sink.flush()).await?;
        self.counters.sent.inc_by(batch as u64);
        Ok(())
    }

    /// Sends one message and flushes.
    async fn put(
        &self,
        sink: &mut SplitSink<Socket, Message>,
        message: Message,
    ) -> Result<(), WriteFailure> {
        self.bounded(sink.send(message)).await
    }

    /// One write, bounded by the stall limit.
    async fn bounded(
        &self,
        write: impl std::future::Future<Output = Result<(), WsError>>,
    ) -> Result<(), WriteFailure> {
        match tokio::time::timeout(self.stall_limit, write).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(WsError::WriteBufferFull(_))) => Err(WriteFailure::TooLarge),
            Ok(Err(_)) => Err(WriteFailure::Broken),
            Err(_) => Err(WriteFailure::Stalled),
        }
    }
}

fn close_message(why: CloseCode) -> Message {
    Message::Close(Some(CloseFrame {
        code: WsCloseCode::from(why.code()),
        reason: Utf8Bytes::from_static(why.reason()),
    }))
}
