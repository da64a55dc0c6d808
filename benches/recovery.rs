//! Recovery benchmark: how fast a restart rebuilds a tenant from its journal. Issue 14's target
//! is "recovery of 1M journalled inputs ≤ 3 s".
//!
//! Set up once, untimed: one tenant's peak sale is played against a live `TenantCore`. A
//! connector and 50 human agents attach; then, in shard loops of 1,000 client inputs one
//! second apart, customers open conversations (`customer_message` with `customer` and
//! `channel`; some VIP, some refunds), write follow-ups (mostly to the agent serving them,
//! some while waiting) and sometimes give up waiting; agents accept every offer, reply, and
//! close a conversation after ten replies or more, then wrap up. Each loop ends with
//! `FlushAcks`, `Timers` and `Sweep`. The queue builds up to 2,000 open conversations, as in a
//! sale. Every input is journalled as the shard does it: `records::push_input` into the
//! forming frame, one frame per loop, appended with the real writer under
//! `./target/recovery-bench/` (64 MiB segments as in production; the working directory's
//! filesystem, never a tmpfs), until the journal holds at least 1,000,000 inputs. What the
//! inputs did (conversations opened and assigned, messages delivered, refusals, protocol
//! errors) is printed once with the journal's size, and the setup fails if nobody was served.
//!
//! Timed (`recover/1M_inputs`, and `recover/1M_inputs_aes` with AES-256-GCM at rest): what
//! `src/engine/recover.rs` does for a shard whose only snapshot is the empty checkpoint: open
//! the store and its current generation, `read_frames` everything (checksums verified,
//! payloads opened), decode every record and apply it to a fresh `TenantCore<String>` with the
//! original seed. The recovered state hash is checked once against the live core's before
//! timing. Throughput is in inputs, so criterion's inputs/s maps onto the target directly:
//! 1M inputs in ≤ 3 s is ≥ 333k inputs/s. The files are read from the page cache; after a
//! real reboot a cold cache adds the disk's sequential read of the journal's size.
//!
//! Reproduce with `cargo bench --bench recovery`.

use std::collections::VecDeque;
use std::fs;
use std::hint::black_box;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rustc_hash::FxHashMap;
use switchboard::engine::records::{self, Record};
use switchboard_config::{Config, TenantConfig};
use switchboard_journal::{Key, Recovery, Store, Writer};
use switchboard_protocol::{decode_client, decode_server, ClientRole, Hello, ServerMessage};
use switchboard_router::Millis;
use switchboard_tenant::{
    Claims, CoreLimits, Identity, Input, Observation, Output, Role, TenantCore,
};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Inputs the journal holds at least (it ends at the first frame boundary past this).
const INPUTS: u64 = 1_000_000;
/// Client inputs per frame: a shard batch is up to 1,024.
const BATCH: usize = 1_000;
/// Time between shard loops: ~1,000 inputs/s on one tenant, a peak sale.
const BATCH_MS: Millis = 1_000;
const AGENTS: usize = 50;
/// Of them, the first few also serve the VIP queue.
const VIP_AGENTS: usize = 10;
/// Conversations the connector keeps open at most (waiting or served): the queue at its peak.
const MAX_OPEN: usize = 2_000;
const CONNECTOR_CONN: u64 = 1;
const SEED: [u8; 32] = [42; 32];
const SEGMENT_BYTES: u64 = 64 << 20;
const START_MS: Millis = 1_700_000_000_000;

const TEXTS: [&str; 6] = [
    "你好，我的订单 48213377 什么时候发货？",
    "快递单号 SF1234567890 三天没有更新了",
    "我要转人工",
    "太差了，我非常生气，要退款",
    "请问这个尺码还有货吗",
    "谢谢，顺便问一下能开发票吗",
];
const REPLIES: [&str; 3] = [
    "您好，我来帮您查一下",
    "已经为您加急处理，请稍等",
    "问题已解决，还有其他需要吗？",
];

/// What the sale's inputs did, as the clients saw it: printed once so the mix can be judged.
#[derive(Debug, Default)]
struct Tally {
    frames: u64,
    opened: u64,
    follow_ups: u64,
    customers_left: u64,
    offers: u64,
    accepted: u64,
    /// Conversations that reached an agent (`WaitObserved`).
    assigned: u64,
    /// `customer_message` frames delivered to agents.
    delivered: u64,
    replies: u64,
    agent_closes: u64,
    refused: u64,
    protocol_errors: u64,
}

/// A set that can hand out a random member: the connector's open conversations.
#[derive(Default)]
struct Bag {
    items: Vec<u64>,
    index: FxHashMap<u64, usize>,
}

impl Bag {
    fn insert(&mut self, item: u64) {
        if self.index.contains_key(&item) {
            return;
        }
        self.index.insert(item, self.items.len());
        self.items.push(item);
    }

    fn remove(&mut self, item: u64) {
        if let Some(at) = self.index.remove(&item) {
            self.items.swap_remove(at);
            if let Some(moved) = self.items.get(at) {
                self.index.insert(*moved, at);
            }
        }
    }

    fn pick(&self, rng: &mut StdRng) -> Option<u64> {
        (!self.items.is_empty()).then(|| self.items[rng.random_range(0..self.items.len())])
    }
}

/// The peak sale, played against a live core; every input it applies goes into `payload`.
struct Sale {
    core: TenantCore<String>,
    now: Millis,
    rng: StdRng,
    out: Vec<Output<String>>,
    /// Client seq per connection, by conn id (0 unused, 1 the connector, 2.. the agents).
    seqs: Vec<u64>,
    /// The connector's conversations waiting for an agent, by the number in their id `k<n>`.
    waiting: Bag,
    /// The connector's conversations an agent has joined.
    served: Bag,
    /// Offers waiting for their agent's `accept`: (agent index, our conversation id).
    offers: VecDeque<(usize, String)>,
    /// What each agent serves: (our conversation id, replies sent).
    serving: Vec<Vec<(String, u32)>>,
    next_conversation: u64,
    next_message: u64,
    /// The forming frame, in the engine's record format.
    payload: Vec<u8>,
    inputs: u64,
    tally: Tally,
}

impl Sale {
    fn new(tenant: &TenantConfig, limits: CoreLimits) -> Sale {
        let mut sale = Sale {
            core: TenantCore::new(tenant, limits, SEED),
            now: START_MS,
            rng: StdRng::seed_from_u64(7),
            out: Vec::new(),
            seqs: vec![0; AGENTS + 2],
            waiting: Bag::default(),
            served: Bag::default(),
            offers: VecDeque::new(),
            serving: vec![Vec::new(); AGENTS],
            next_conversation: 0,
            next_message: 0,
            payload: Vec::new(),
            inputs: 0,
            tally: Tally::default(),
        };
        let connector = Identity::Connector {
            name: "demo-app".into(),
            tenant: tenant.id.clone(),
        };
        sale.attach(CONNECTOR_CONN, connector);
        for agent in 0..AGENTS {
            sale.attach(agent_conn(agent), Identity::Agent(claims(tenant, agent)));
        }
        sale
    }

    fn attach(&mut self, conn: u64, identity: Identity) {
        let seq = self.next_seq(conn);
        let hello = Hello {
            seq,
            protocol: 1,
            client: "recovery-bench/1".into(),
            resume: None,
        };
        self.apply(Input::Attach {
            conn,
            identity,
            hello,
        });
    }

    /// One shard loop: a batch of client inputs, then acks, timers and the sweep; returns the
    /// frame's payload.
    fn frame(&mut self) -> Vec<u8> {
        for _ in 0..BATCH {
            self.step();
        }
        self.apply(Input::FlushAcks);
        self.apply(Input::Timers);
        // The shard sweeps once a second: once a loop at this pace.
        self.apply(Input::Sweep);
        self.tally.frames += 1;
        std::mem::take(&mut self.payload)
    }

    /// One client input: an offer is accepted first; otherwise a customer or an agent acts.
    fn step(&mut self) {
        if let Some((agent, conversation)) = self.offers.pop_front() {
            self.agent_sends(agent, "accept", &conversation, "");
            self.serving[agent].push((conversation, 0));
            self.tally.accepted += 1;
            return;
        }
        // Conversations last: an agent holds one for a while, so its slots stay busy and the
        // queue builds up, as in a sale; most inputs are customers and agents talking.
        let done = match self.rng.random_range(0..100) {
            0..8 => self.open_conversation(),
            8..11 => self.customer_leaves(),
            11..13 => self.close(),
            13..56 => self.follow_up(),
            _ => self.reply(),
        };
        if !done && !self.reply() && !self.follow_up() {
            self.open_conversation();
        }
    }

    fn open_conversation(&mut self) -> bool {
        if self.waiting.items.len() + self.served.items.len() >= MAX_OPEN {
            return false;
        }
        let n = self.next_conversation;
        self.next_conversation += 1;
        let tier = if n % 20 == 0 { "vip" } else { "standard" };
        let intent = if n % 7 == 0 {
            r#","intent":"refund""#
        } else {
            ""
        };
        let text = TEXTS[self.rng.random_range(0..TEXTS.len())];
        let message = self.next_message();
        let json = format!(
            r#"{{"type":"customer_message","seq":0,"conversation":"k{n}","message_id":"m{message}","text":"{text}","customer":{{"id":"buyer-{n}","tier":"{tier}"}},"channel":"app"{intent}}}"#
        );
        self.client_sends(CONNECTOR_CONN, ClientRole::Connector, &json);
        self.waiting.insert(n);
        self.tally.opened += 1;
        true
    }

    /// A customer writes again: mostly one talking to an agent, sometimes one still waiting.
    fn follow_up(&mut self) -> bool {
        let (first, second) = if self.rng.random_bool(0.8) {
            (&self.served, &self.waiting)
        } else {
            (&self.waiting, &self.served)
        };
        let Some(n) = first
            .pick(&mut self.rng)
            .or_else(|| second.pick(&mut self.rng))
        else {
            return false;
        };
        let text = TEXTS[self.rng.random_range(0..TEXTS.len())];
        let message = self.next_message();
        let json = format!(
            r#"{{"type":"customer_message","seq":0,"conversation":"k{n}","message_id":"m{message}","text":"{text}"}}"#
        );
        self.client_sends(CONNECTOR_CONN, ClientRole::Connector, &json);
        self.tally.follow_ups += 1;
        true
    }

    /// A waiting customer gives up.
    fn customer_leaves(&mut self) -> bool {
        let Some(n) = self.waiting.pick(&mut self.rng) else {
            return false;
        };
        let json = format!(r#"{{"type":"customer_left","seq":0,"conversation":"k{n}"}}"#);
        self.client_sends(CONNECTOR_CONN, ClientRole::Connector, &json);
        self.tally.customers_left += 1;
        true
    }

    fn reply(&mut self) -> bool {
        let Some((agent, at)) = self.some_served(0) else {
            return false;
        };
        self.serving[agent][at].1 += 1;
        let conversation = self.serving[agent][at].0.clone();
        let text = REPLIES[self.rng.random_range(0..REPLIES.len())];
        let message = self.next_message();
        let extra = format!(r#","message_id":"r{message}","text":"{text}""#);
        self.agent_sends(agent, "message", &conversation, &extra);
        self.tally.replies += 1;
        true
    }

    /// An agent ends a conversation it has answered a few times.
    fn close(&mut self) -> bool {
        let Some((agent, at)) = self.some_served(10) else {
            return false;
        };
        let (conversation, _) = self.serving[agent].swap_remove(at);
        self.agent_sends(agent, "close", &conversation, "");
        self.tally.agent_closes += 1;
        true
    }

    /// A conversation some agent serves with at least `replies` replies: (agent, position),
    /// looking from a random agent onwards.
    fn some_served(&mut self, replies: u32) -> Option<(usize, usize)> {
        let first = self.rng.random_range(0..AGENTS);
        (0..AGENTS).map(|i| (first + i) % AGENTS).find_map(|agent| {
            let at = self.serving[agent]
                .iter()
                .position(|(_, sent)| *sent >= replies)?;
            Some((agent, at))
        })
    }

    fn agent_sends(&mut self, agent: usize, kind: &str, conversation: &str, extra: &str) {
        let json = format!(r#"{{"type":"{kind}","seq":0,"conversation":"{conversation}"{extra}}}"#);
        self.client_sends(agent_conn(agent), ClientRole::Agent, &json);
    }

    /// A client's frame of one message, numbered with its next seq, as the reader task
    /// decodes it.
    fn client_sends(&mut self, conn: u64, role: ClientRole, json: &str) {
        let seq = self.next_seq(conn);
        let frame = json.replacen(r#""seq":0"#, &format!(r#""seq":{seq}"#), 1);
        let messages = decode_client(&frame, role)
            .expect("the bench builds valid frames")
            .into_iter()
            .map(|m| m.expect("the bench builds valid messages"))
            .collect();
        self.apply(Input::Client {
            conn,
            messages,
            through: seq,
        });
    }

    fn next_seq(&mut self, conn: u64) -> u64 {
        self.seqs[conn as usize] += 1;
        self.seqs[conn as usize]
    }

    fn next_message(&mut self) -> u64 {
        self.next_message += 1;
        self.next_message
    }

    /// Journals the input as the shard does (before the core sees it), applies it and lets
    /// the clients read what it sent them.
    fn apply(&mut self, input: Input) {
        records::push_input(&mut self.payload, 0, self.now, &input);
        self.inputs += 1;
        let mut out = std::mem::take(&mut self.out);
        self.core.apply(self.now, input, &mut out);
        for output in out.drain(..) {
            match output {
                Output::Send { conn, frame, .. } | Output::Direct { conn, frame } => {
                    self.read(conn, &frame)
                }
                Output::Observe(observation) => self.observe(&observation),
                _ => {}
            }
        }
        self.out = out;
    }

    fn observe(&mut self, observation: &Observation) {
        match observation {
            Observation::WaitObserved { .. } => self.tally.assigned += 1,
            Observation::ProtocolError(_) => self.tally.protocol_errors += 1,
            Observation::ConversationRefused(_) => self.tally.refused += 1,
            _ => {}
        }
    }

    /// What a client does with a frame: agents learn their offers and which of their
    /// conversations ended, the connector which of its conversations ended.
    fn read(&mut self, conn: u64, frame: &str) {
        let relevant = [
            r#""type":"offer""#,
            r#""type":"closed""#,
            r#""type":"agent_joined""#,
        ];
        if frame.contains(r#""type":"customer_message""#) {
            self.tally.delivered += 1;
        }
        if !relevant.iter().any(|tag| frame.contains(tag)) {
            return;
        }
        let messages = decode_server(frame).expect("the core sends valid frames");
        for message in messages {
            match (message.expect("every message decodes"), conn) {
                (ServerMessage::Closed(closed), CONNECTOR_CONN) => {
                    let n = connector_number(&closed.conversation);
                    self.waiting.remove(n);
                    self.served.remove(n);
                }
                (ServerMessage::AgentJoined(joined), CONNECTOR_CONN) => {
                    let n = connector_number(&joined.conversation);
                    self.waiting.remove(n);
                    self.served.insert(n);
                }
                (ServerMessage::Closed(closed), _) => {
                    let serving = &mut self.serving[agent_of(conn)];
                    serving.retain(|(id, _)| *id != closed.conversation);
                }
                (ServerMessage::Offer(offer), _) if !offer.auto_accepted => {
                    self.offers
                        .push_back((agent_of(conn), offer.conversation.clone()));
                    self.tally.offers += 1;
                }
                _ => {}
            }
        }
    }
}

/// `n` of the connector's own conversation id `k<n>`.
fn connector_number(id: &str) -> u64 {
    id.strip_prefix('k')
        .and_then(|n| n.parse().ok())
        .expect("the connector's ids are the bench's own")
}

fn agent_conn(agent: usize) -> u64 {
    agent as u64 + 2
}

fn agent_of(conn: u64) -> usize {
    conn as usize - 2
}

fn claims(tenant: &TenantConfig, agent: usize) -> Claims {
    let mut skills: std::collections::BTreeMap<String, u8> =
        [("general".to_string(), 5), ("after_sales".to_string(), 4)]
            .into_iter()
            .collect();
    if agent < VIP_AGENTS {
        skills.insert("vip".into(), 5);
    }
    Claims {
        sub: format!("agent-{agent}"),
        tenant: tenant.id.clone(),
        role: Role::Agent,
        skills,
        capacity: 5,
        exp: 0,
        name: Some(format!("Agent {agent}")),
        auto_accept: false,
    }
}

/// A journal of the sale at `dir` for each key, and what recovery must rebuild.
struct Journals {
    dirs: Vec<(PathBuf, Option<Key>)>,
    inputs: u64,
    hash: u64,
}

fn build_journals(tenant: &TenantConfig, limits: CoreLimits) -> Journals {
    let root = std::env::current_dir()
        .expect("a working directory")
        .join("target/recovery-bench");
    let dirs = vec![
        (root.join("plain"), None),
        (root.join("aes"), Some(Key::from_bytes([7; 32]))),
    ];
    let mut writers: Vec<Writer> = dirs.iter().map(|(dir, key)| writer(dir, key)).collect();
    let mut sale = Sale::new(tenant, limits);
    while sale.inputs < INPUTS {
        let now = sale.now;
        let payload = sale.frame();
        for writer in &mut writers {
            writer.append(now, &payload).expect("append");
        }
        sale.now += BATCH_MS;
    }
    for writer in &mut writers {
        writer.sync().expect("sync");
    }
    let tally = &sale.tally;
    assert!(
        tally.assigned > 0 && tally.delivered > 0 && tally.agent_closes > 0,
        "the sale serves customers: {tally:?}"
    );
    eprintln!("recovery bench journal: {} inputs, {tally:?}", sale.inputs);
    for (dir, _) in &dirs {
        eprintln!("  {}: {} bytes", dir.display(), disk_bytes(dir));
    }
    Journals {
        dirs,
        inputs: sale.inputs,
        hash: sale.core.state_hash(),
    }
}

/// A writer for shard 0 of a fresh, committed generation at `dir` (emptied first).
fn writer(dir: &Path, key: &Option<Key>) -> Writer {
    let _ = fs::remove_dir_all(dir);
    let store = Store::open(dir).expect("open the store");
    let generation = store.begin("").expect("begin a generation");
    store.commit(&generation).expect("commit it");
    generation
        .writer(0, 1, key.clone(), SEGMENT_BYTES)
        .expect("open the writer")
}

/// Bytes the files under `dir` occupy on disk (segments are sparse past their last frame).
fn disk_bytes(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => disk_bytes(&entry.path()),
            Ok(meta) => meta.blocks() * 512,
            Err(_) => 0,
        })
        .sum()
}

/// What a restart does for this shard: open the store, read every frame, decode its records
/// and apply them to a fresh core.
fn recover(
    dir: &Path,
    key: Option<&Key>,
    tenant: &TenantConfig,
    limits: CoreLimits,
) -> TenantCore<String> {
    let store = Store::open(dir).expect("open the store");
    let generation = store
        .current()
        .expect("read CURRENT")
        .expect("a committed generation");
    let mut core = TenantCore::new(tenant, limits, SEED);
    let mut out = Vec::new();
    generation
        .read_frames(0, 0, key, Recovery::Strict, |frame| {
            for record in records::decode(frame.payload) {
                if let Record::Input { now, input, .. } = record.expect("the bench's own records") {
                    core.apply(now, input, &mut out);
                    out.clear();
                }
            }
            Ok(())
        })
        .expect("read the journal");
    core
}

fn recovery(c: &mut Criterion) {
    let config = Config::embedded();
    let tenant = config.tenants[0].clone();
    let limits = CoreLimits::of(&config.gateway);
    let journals = build_journals(&tenant, limits);
    let mut group = c.benchmark_group("recover");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Elements(journals.inputs));
    for (dir, key) in &journals.dirs {
        let label = if key.is_some() {
            "1M_inputs_aes"
        } else {
            "1M_inputs"
        };
        let once = recover(dir, key.as_ref(), &tenant, limits);
        assert_eq!(
            once.state_hash(),
            journals.hash,
            "recovery rebuilds the sale"
        );
        drop(once);
        group.bench_function(label, |b| {
            b.iter_with_large_drop(|| black_box(recover(dir, key.as_ref(), &tenant, limits)))
        });
    }
    group.finish();
}

criterion_group!(benches, recovery);
criterion_main!(benches);
