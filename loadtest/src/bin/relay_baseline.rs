//! `relay-baseline`: the least a WebSocket relay must do to carry Switchboard's benchmark
//! traffic, as the upper bound Switchboard is measured against.
//!
//! It speaks just enough of protocol v1 for `gateway-bench`: any credential is accepted on
//! `/v1/connector` and `/v1/agent`; a `hello` gets a `welcome` with the real fields; every
//! connector `customer_message` is parsed (serde_json, borrowed), re-encoded as the gateway's
//! agent-side `customer_message` and handed to the agent chosen by hashing the conversation id
//! over the connected agents. No acks, no sessions, no routing, no replay, no validation.
//!
//! Socket handling copies Switchboard's on purpose, so the comparison measures what Switchboard
//! does beyond relaying, not different socket tuning: TCP_NODELAY, a 4 KiB read buffer and
//! 8 KiB write buffer, 64 KiB message limit, and per socket a writer task draining a bounded
//! outbox (1024 frames) feed-then-flush, pinging every 20 s.
//!
//! Backpressure: a connector's reader waits when the chosen agent's outbox is full, so a slow
//! agent slows the connectors feeding it instead of growing memory.
//!
//! Usage: `relay-baseline [--listen 127.0.0.1:0] [--workers N]` (`--help` says more); prints the
//! bound address as its first line, then runs until SIGINT or SIGTERM.

use std::borrow::Cow;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write as _;
use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use clap::Parser;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Bytes, Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

// The same allocator as Switchboard, so allocation costs compare like for like.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Switchboard's `gateway.read_buffer_bytes` default.
const READ_BUFFER: usize = 4096;
/// Switchboard's write buffer.
const WRITE_BUFFER: usize = 8 * 1024;
/// Switchboard's `gateway.max_message_bytes` default.
const MAX_MESSAGE: usize = 65_536;
/// Switchboard's `gateway.outbox_frames` default.
const OUTBOX: usize = 1024;
/// Frames the writer feeds before it flushes (Switchboard's `FEED_BATCH`).
const FEED_BATCH: usize = 64;
/// Switchboard's `gateway.heartbeat_secs` default.
const HEARTBEAT: Duration = Duration::from_secs(20);
/// Time to upgrade and say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

type Socket = WebSocketStream<TcpStream>;

/// A connected agent: where its frames go and its server sequence.
struct Agent {
    id: u64,
    outbox: mpsc::Sender<Utf8Bytes>,
    seq: AtomicU64,
}

/// The connected agents. Readers take a snapshot (one `Arc` clone) per frame; connects and
/// disconnects replace the list.
#[derive(Default)]
struct State {
    agents: RwLock<Arc<Vec<Arc<Agent>>>>,
    next_id: AtomicU64,
}

impl State {
    fn agents(&self) -> Arc<Vec<Arc<Agent>>> {
        Arc::clone(&self.agents.read().unwrap_or_else(|e| e.into_inner()))
    }

    fn update(&self, change: impl FnOnce(&mut Vec<Arc<Agent>>)) {
        let mut guard = self.agents.write().unwrap_or_else(|e| e.into_inner());
        let mut list = guard.as_ref().clone();
        change(&mut list);
        *guard = Arc::new(list);
    }
}

/// What the relay reads of a client message. Other fields are skipped by the parser (they are
/// still parsed over, as a real decoder would).
#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default)]
    seq: u64,
    #[serde(default)]
    protocol: Option<u32>,
    #[serde(borrow, default)]
    conversation: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    message_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
}

/// The gateway's agent-side `customer_message`, field for field (no sentiment: no scorer).
#[derive(Serialize)]
struct ToAgent<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    seq: u64,
    conversation: &'a str,
    message_id: &'a str,
    text: &'a str,
}

/// The gateway's `welcome`, field for field.
#[derive(Serialize)]
struct Welcome<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    protocol: u32,
    session: String,
    role: &'a str,
    tenant: &'a str,
    resumed: bool,
    replayed: u32,
    gap: bool,
    heartbeat_secs: u64,
}

#[derive(Serialize)]
struct Pong {
    #[serde(rename = "type")]
    kind: &'static str,
    seq: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Connector,
    Agent,
}

/// The least a WebSocket relay must do to carry gateway-bench's traffic: the upper bound
/// Switchboard is measured against.
///
/// Accepts any credential on /v1/connector and /v1/agent, answers hello with welcome, and hands
/// each connector customer_message to an agent chosen by hashing the conversation id. No acks,
/// sessions, routing, replay or validation. Prints the bound address as its first line, then
/// runs until SIGINT or SIGTERM.
#[derive(Parser)]
#[command(name = "relay-baseline", version)]
struct Cli {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    listen: String,
    /// Runtime worker threads (default: one per CPU).
    #[arg(long, value_name = "N")]
    workers: Option<NonZeroUsize>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(n) = cli.workers {
        builder.worker_threads(n.get());
    }
    let runtime = match builder.build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("relay-baseline: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(serve(&cli.listen)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("relay-baseline: {e}");
            ExitCode::from(1)
        }
    }
}

async fn serve(listen: &str) -> Result<(), String> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("no local address: {e}"))?;
    // The first line is the contract with gateway-bench: the bound address, flushed at once.
    println!("{addr}");
    let _ = std::io::stdout().flush();
    let state = Arc::new(State::default());
    let stop = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => return Ok(()),
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    // Out of file descriptors, typically: back off instead of spinning.
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                tokio::spawn(connection(stream, Arc::clone(&state)));
            }
        }
    }
}

async fn connection(stream: TcpStream, state: Arc<State>) {
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        .max_write_buffer_size(MAX_MESSAGE * 4)
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let mut role = None;
    // The result type is tungstenite's callback contract, not ours to shrink.
    #[allow(clippy::result_large_err)]
    let callback = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        role = match request.uri().path() {
            "/v1/connector" => Some(Role::Connector),
            "/v1/agent" => Some(Role::Agent),
            _ => None,
        };
        if role.is_some() {
            Ok(response)
        } else {
            let mut refusal = ErrorResponse::new(Some("not found\n".into()));
            *refusal.status_mut() = StatusCode::NOT_FOUND;
            Err(refusal)
        }
    };
    let upgrade = tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config));
    let Ok(Ok(socket)) = tokio::time::timeout(HELLO_TIMEOUT, upgrade).await else {
        return;
    };
    let Some(role) = role else { return };
    let (sink, mut stream) = socket.split();
    let (outbox, queued) = mpsc::channel(OUTBOX);
    let writer = tokio::spawn(write(sink, queued));

    if hello(&mut stream, &outbox, role, &state).await {
        match role {
            Role::Connector => relay(&mut stream, &outbox, &state).await,
            Role::Agent => {
                let id = state.next_id.fetch_add(1, Ordering::Relaxed);
                let me = Arc::new(Agent {
                    id,
                    outbox: outbox.clone(),
                    seq: AtomicU64::new(0),
                });
                state.update(|agents| agents.push(me));
                // Agents send nothing the benchmark needs; read to notice the close and answer
                // pings.
                relay(&mut stream, &outbox, &state).await;
                state.update(|agents| agents.retain(|a| a.id != id));
            }
        }
    }
    drop(outbox);
    let _ = writer.await;
}

/// Reads the first frame: a `hello` gets a `welcome`; anything else ends the connection.
async fn hello(
    stream: &mut SplitStream<Socket>,
    outbox: &mpsc::Sender<Utf8Bytes>,
    role: Role,
    state: &State,
) -> bool {
    let Ok(Some(Ok(Message::Text(text)))) =
        tokio::time::timeout(HELLO_TIMEOUT, stream.next()).await
    else {
        return false;
    };
    let Ok(hello) = serde_json::from_str::<Incoming<'_>>(&text) else {
        return false;
    };
    if hello.kind != "hello" || hello.protocol != Some(1) {
        return false;
    }
    let welcome = Welcome {
        kind: "welcome",
        protocol: 1,
        session: format!("s-{:x}", state.next_id.fetch_add(1, Ordering::Relaxed)),
        role: match role {
            Role::Connector => "connector",
            Role::Agent => "agent",
        },
        tenant: "default",
        resumed: false,
        replayed: 0,
        gap: false,
        heartbeat_secs: HEARTBEAT.as_secs(),
    };
    let Ok(frame) = serde_json::to_string(&welcome) else {
        return false;
    };
    outbox.send(Utf8Bytes::from(frame)).await.is_ok()
}

/// Reads frames until the connection ends, relaying customer messages and answering pings.
async fn relay(stream: &mut SplitStream<Socket>, outbox: &mpsc::Sender<Utf8Bytes>, state: &State) {
    loop {
        let text = match tokio::time::timeout(HEARTBEAT * 3, stream.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => text,
            Ok(Some(Ok(Message::Close(_)))) | Ok(Some(Err(_))) | Ok(None) | Err(_) => return,
            Ok(Some(Ok(_))) => continue,
        };
        let batch = text.trim_start().starts_with('[');
        let messages: Vec<Incoming<'_>> = if batch {
            match serde_json::from_str(&text) {
                Ok(messages) => messages,
                Err(_) => continue,
            }
        } else {
            match serde_json::from_str(&text) {
                Ok(message) => vec![message],
                Err(_) => continue,
            }
        };
        let agents = state.agents();
        for message in messages {
            match message.kind.as_ref() {
                "customer_message" => {
                    let (Some(conversation), Some(message_id), Some(text)) =
                        (&message.conversation, &message.message_id, &message.text)
                    else {
                        continue;
                    };
                    if agents.is_empty() {
                        continue;
                    }
                    let mut hasher = DefaultHasher::new();
                    conversation.hash(&mut hasher);
                    let agent = &agents[(hasher.finish() % agents.len() as u64) as usize];
                    let out = ToAgent {
                        kind: "customer_message",
                        seq: agent.seq.fetch_add(1, Ordering::Relaxed) + 1,
                        conversation,
                        message_id,
                        text,
                    };
                    let Ok(frame) = serde_json::to_string(&out) else {
                        continue;
                    };
                    // Waits while the agent's outbox is full: backpressure to this connector.
                    let _ = agent.outbox.send(Utf8Bytes::from(frame)).await;
                }
                "ping" => {
                    let pong = Pong {
                        kind: "pong",
                        seq: message.seq,
                    };
                    if let Ok(frame) = serde_json::to_string(&pong) {
                        let _ = outbox.try_send(Utf8Bytes::from(frame));
                    }
                }
                _ => {}
            }
        }
    }
}

/// Drains the outbox: feeds every queued frame, flushes once, pings when the heartbeat is due,
/// closes when every sender is gone. The same loop as Switchboard's writer.
async fn write(mut sink: SplitSink<Socket, Message>, mut queued: mpsc::Receiver<Utf8Bytes>) {
    let mut ping = tokio::time::interval(HEARTBEAT);
    ping.tick().await;
    loop {
        tokio::select! {
            biased;
            frame = queued.recv() => {
                let Some(frame) = frame else { break };
                if sink.feed(Message::Text(frame)).await.is_err() {
                    return;
                }
                for _ in 1..FEED_BATCH {
                    match queued.try_recv() {
                        Ok(frame) => {
                            if sink.feed(Message::Text(frame)).await.is_err() {
                                return;
                            }
                        }
                        Err(_) => break,
                    }
                }
                if sink.flush().await.is_err() {
                    return;
                }
            }
            _ = ping.tick() => {
                if sink.send(Message::Ping(Bytes::new())).await.is_err() {
                    return;
                }
            }
        }
    }
    let _ = sink.send(Message::Close(None)).await;
    let _ = sink.close().await;
}
