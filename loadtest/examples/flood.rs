//! A bounded conversation flood: how much memory open conversations cost the gateway, and how
//! much of it comes back when they end (issue 11 item 2).
//!
//! It starts its own `switchboard serve` on 127.0.0.1 (killed by PID when this program ends,
//! on error too: [`target::Target`] kills its child when dropped), connects `--connectors`
//! connector sockets, and with no agent or bot connected, so every conversation waits in the
//! queue:
//!
//! 1. **idle**: samples RSS after start;
//! 2. **open**: opens `--conversations` conversations, one short `customer_message` each, in
//!    batches of up to 256 per frame, at most `--window` unacked frames per socket (the
//!    protocol's cumulative acks pace the sender, so the gateway is never overrun);
//! 3. **close**: sends `customer_left` for each, the same way; every one acked means the gateway
//!    has processed it;
//! 4. **after**: waits `--settle-secs`, then takes `--samples` RSS samples a second apart.
//!
//! A sampler reads RSS every 20 ms throughout, for the peak. Open conversations are counted
//! twice: our own count (opened and acked without an error, minus those closed), and the
//! gateway's `switchboard_waiting_conversations` from `/metrics` (published about once a
//! second, so it is polled until it agrees or 3 s pass).
//!
//! Bounded: the whole run is cut at `--max-secs`, every socket read and write has a timeout,
//! and nothing the gateway sends is unwrapped. Exit status: 0 when every conversation opened and
//! ended without a refusal, 1 when some were refused (a conversation cap or rate the
//! configuration did not raise: see `--config-extra`), 2 when the run failed.
//!
//! Run: `cargo run --release -p loadtest --example flood -- --conversations 2000` (after
//! `cargo build --release -p switchboard`: it spawns `target/release/switchboard`, or
//! `--switchboard-bin`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::ops::Range;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use loadtest::client::{self, Ws};
use loadtest::procfs;
use loadtest::rehearsal::check;
use loadtest::target::{self, bench_config, connector_key, overlay_toml};
use serde::Serialize;
use switchboard_config::EMBEDDED_TOML;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

/// Most conversations one run may open: about 2 KB each in the gateway (issue 11), so 2 GB.
const MAX_CONVERSATIONS: usize = 1_000_000;
/// The protocol's limits on a client frame.
const MAX_BATCH: usize = 256;
const MAX_FRAME_BYTES: usize = 65_536;
/// How often RSS is sampled for the peak: the peak lasts seconds, so 20 ms misses nothing.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);
/// How long the gateway's published count may lag behind its acks (it publishes once a second).
const GAUGE_PATIENCE: Duration = Duration::from_secs(3);

/// Options.
#[derive(Parser, Debug)]
#[command(
    about = "Flood a spawned gateway with conversations; report RSS before, at the peak \
                   and after they end"
)]
struct Options {
    /// Conversations to open (at most 1,000,000).
    #[arg(long, default_value_t = 100_000)]
    conversations: usize,
    /// Connector sockets they are spread over, each with its own API key.
    #[arg(long, default_value_t = 4)]
    connectors: usize,
    /// Messages per frame (1–256).
    #[arg(long, default_value_t = 256)]
    batch: usize,
    /// Unacked frames per socket before the sender waits for an ack.
    #[arg(long, default_value_t = 8)]
    window: usize,
    /// The whole run is stopped after this many seconds.
    #[arg(long, default_value_t = 120)]
    max_secs: u64,
    /// Seconds to wait after the last `customer_left` is acked before sampling RSS again.
    #[arg(long, default_value_t = 2)]
    settle_secs: u64,
    /// RSS samples after the settle time, a second apart.
    #[arg(long, default_value_t = 3)]
    samples: usize,
    /// The gateway configuration to start from (default: the embedded one), for a
    /// `--switchboard-bin` built from another version.
    #[arg(long, value_name = "FILE")]
    config_base: Option<PathBuf>,
    /// TOML laid over the base (tables merge key by key, `[[tenants]]` by position), e.g. to
    /// raise the per-connector and per-tenant conversation caps so the flood is not refused.
    #[arg(long, value_name = "FILE")]
    config_extra: Option<PathBuf>,
    /// The gateway binary (default: `switchboard` of this build's profile).
    #[arg(long, value_name = "FILE")]
    switchboard_bin: Option<PathBuf>,
    /// Also write the results here as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

impl Options {
    fn check(&self) -> Result<(), String> {
        let bad = |what: &str| Err(what.to_string());
        if self.conversations == 0 || self.conversations > MAX_CONVERSATIONS {
            return bad("--conversations must be 1 to 1,000,000");
        }
        if self.connectors == 0 || self.connectors > 64 {
            return bad("--connectors must be 1 to 64");
        }
        if self.batch == 0 || self.batch > MAX_BATCH {
            return bad("--batch must be 1 to 256 (the protocol's limit)");
        }
        if self.window == 0 || self.window > 64 {
            return bad("--window must be 1 to 64");
        }
        if self.max_secs == 0 || self.samples == 0 || self.samples > 60 || self.settle_secs > 60 {
            return bad(
                "--max-secs and --samples must be positive, --samples and --settle-secs at most 60",
            );
        }
        Ok(())
    }
}

/// What one connector socket did in one phase.
#[derive(Debug, Clone, Default, Serialize)]
struct Tally {
    /// Messages sent.
    sent: u64,
    /// Messages refused, by error code.
    refused: BTreeMap<String, u64>,
    /// Frames received while the phase ran (acks, queue updates, errors).
    frames_in: u64,
}

impl Tally {
    fn refused_total(&self) -> u64 {
        self.refused.values().sum()
    }

    fn add(&mut self, other: &Tally) {
        self.sent += other.sent;
        self.frames_in += other.frames_in;
        for (code, n) in &other.refused {
            *self.refused.entry(code.clone()).or_default() += n;
        }
    }
}

/// What a connector socket is asked to do with its share of the conversations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    /// One `customer_message` each.
    Open,
    /// One `customer_left` each.
    Close,
}

type Reply = oneshot::Sender<Result<Tally, String>>;

/// One connector socket, owned by its own task for the whole run so it always reads: with
/// conversations waiting, the gateway sends queue updates every few seconds, and a connector
/// that stopped reading between phases would be closed as a slow consumer.
struct Connector {
    ws: Ws,
    index: usize,
    share: Range<usize>,
    /// The last `seq` sent (`hello` was 1) and the highest acked.
    seq: u64,
    acked: u64,
    batch: usize,
    window: usize,
}

impl Connector {
    async fn serve(mut self, mut jobs: mpsc::Receiver<(Job, Reply)>) {
        // Why the socket stopped, once it has: later jobs are answered with it.
        let mut broken: Option<String> = None;
        loop {
            tokio::select! {
                job = jobs.recv() => {
                    let Some((job, reply)) = job else { return };
                    let result = match &broken {
                        Some(why) => Err(why.clone()),
                        None => self.run(job).await,
                    };
                    if let Err(why) = &result {
                        broken.get_or_insert_with(|| why.clone());
                    }
                    let _ = reply.send(result);
                }
                frame = self.ws.next(), if broken.is_none() => {
                    let mut idle = Tally::default();
                    if let Err(why) = self.absorb(frame, &mut idle) {
                        broken = Some(why);
                    }
                }
            }
        }
    }

    /// Sends the job's message for every conversation of the share, at most `window` frames
    /// ahead of the acks, and returns once the last one is acked.
    async fn run(&mut self, job: Job) -> Result<Tally, String> {
        let mut tally = Tally::default();
        let mut next = self.share.start;
        // The last seq of each frame not yet acked.
        let mut in_flight = std::collections::VecDeque::new();
        loop {
            while in_flight.len() < self.window && next < self.share.end {
                let end = (next + self.batch).min(self.share.end);
                let frame = self.frame(job, next..end)?;
                tally.sent += (end - next) as u64;
                next = end;
                self.send(frame).await?;
                in_flight.push_back(self.seq);
            }
            if next == self.share.end && self.acked >= self.seq {
                return Ok(tally);
            }
            let frame = tokio::time::timeout(client::PATIENCE, self.ws.next())
                .await
                .map_err(|_| {
                    format!(
                        "connector {}: no ack for seq {} within {:?}",
                        self.index,
                        self.acked + 1,
                        client::PATIENCE
                    )
                })?;
            self.absorb(frame, &mut tally)?;
            while in_flight.front().is_some_and(|&seq| seq <= self.acked) {
                in_flight.pop_front();
            }
        }
    }

    /// One batch frame of `job`'s message for these conversations.
    fn frame(&mut self, job: Job, conversations: Range<usize>) -> Result<String, String> {
        let mut out = String::with_capacity(conversations.len() * 200 + 2);
        out.push('[');
        for conversation in conversations {
            if out.len() > 1 {
                out.push(',');
            }
            self.seq += 1;
            match job {
                // The bench's own opening message (marker `o`: not a measured one), so the
                // gateway does its usual text analysis on a realistic question.
                Job::Open => client::push_customer_message(
                    &mut out,
                    self.seq,
                    self.index,
                    conversation,
                    'o',
                    0,
                    0,
                    0,
                ),
                Job::Close => {
                    let id = client::conversation_id(self.index, conversation);
                    // `write!` into a String cannot fail.
                    let _ = write!(
                        out,
                        r#"{{"type":"customer_left","seq":{},"conversation":"{id}"}}"#,
                        self.seq
                    );
                }
            }
        }
        out.push(']');
        // A frame over the limit would close the socket with 1009: refuse to send it instead.
        if out.len() > MAX_FRAME_BYTES {
            return Err(format!(
                "a batch of {} messages is {} bytes, over the protocol's {MAX_FRAME_BYTES}: use a \
                 smaller --batch",
                self.batch,
                out.len()
            ));
        }
        Ok(out)
    }

    async fn send(&mut self, frame: String) -> Result<(), String> {
        match tokio::time::timeout(client::PATIENCE, self.ws.send(Message::text(frame))).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("connector {}: send failed: {e}", self.index)),
            Err(_) => Err(format!(
                "connector {}: a send took over {:?}",
                self.index,
                client::PATIENCE
            )),
        }
    }

    /// Takes one frame from the gateway: acks move `acked`, errors are counted by code,
    /// everything else (queue updates) is only counted. A closed socket is an error.
    fn absorb(
        &mut self,
        frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
        tally: &mut Tally,
    ) -> Result<(), String> {
        let text = match frame {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(close))) => {
                return Err(format!(
                    "connector {}: closed by the gateway: {close:?}",
                    self.index
                ))
            }
            Some(Ok(_)) => return Ok(()),
            Some(Err(e)) => return Err(format!("connector {}: read failed: {e}", self.index)),
            None => {
                return Err(format!(
                    "connector {}: the gateway closed the socket",
                    self.index
                ))
            }
        };
        tally.frames_in += 1;
        // Fast path: acks come alone and start with their type.
        if let Some(seq) = client::ack_seq(&text) {
            self.acked = self.acked.max(seq);
            return Ok(());
        }
        if !text.contains(r#""type":"ack""#) && !text.contains(r#""type":"error""#) {
            return Ok(());
        }
        for message in client::messages(&text) {
            match message["type"].as_str() {
                Some("ack") => {
                    let seq = message["seq"].as_u64().unwrap_or(0);
                    self.acked = self.acked.max(seq);
                }
                Some("error") => {
                    let code = message["code"].as_str().unwrap_or("(no code)");
                    *tally.refused.entry(code.to_string()).or_default() += 1;
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
struct Sample {
    phase: String,
    /// Seconds since the gateway printed its address.
    at_secs: f64,
    rss_kib: Option<u64>,
    /// Opened and acked without an error, minus ended the same way.
    open_own: u64,
    /// `switchboard_waiting_conversations`, summed.
    open_gateway: Option<u64>,
}

/// Everything the run measured.
#[derive(Debug, Clone, Serialize)]
struct Report {
    commit: Option<String>,
    conversations: usize,
    connectors: usize,
    batch: usize,
    window: usize,
    samples: Vec<Sample>,
    open: Tally,
    open_secs: f64,
    close: Tally,
    close_secs: f64,
    rss_idle_kib: Option<u64>,
    rss_peak_kib: u64,
    rss_after_kib: Option<u64>,
    kib_per_open_conversation: Option<f64>,
    /// (peak − after) / (peak − idle).
    share_returned: Option<f64>,
}

/// The gateway's own count of open conversations: with nobody to take them, every open
/// conversation waits for a human.
async fn gateway_open(admin: Option<&str>) -> Option<u64> {
    let samples = check::scrape(admin?).await.ok()?;
    let waiting = samples
        .iter()
        .filter(|(key, _)| key.starts_with("switchboard_waiting_conversations{"))
        .map(|(_, value)| *value as u64)
        .sum();
    Some(waiting)
}

/// Polls the gateway's count until it says `expected` or [`GAUGE_PATIENCE`] passes; the last
/// value read either way.
async fn gateway_open_settled(admin: Option<&str>, expected: u64) -> Option<u64> {
    let deadline = Instant::now() + GAUGE_PATIENCE;
    loop {
        let seen = gateway_open(admin).await;
        if seen == Some(expected) || seen.is_none() || Instant::now() >= deadline {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The base configuration, with `--config-extra` laid over it and one API key per connector.
fn configuration(options: &Options) -> Result<String, String> {
    let read = |path: &PathBuf| {
        std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
    };
    let base = match &options.config_base {
        Some(path) => read(path)?,
        None => EMBEDDED_TOML.to_string(),
    };
    let base = match &options.config_extra {
        Some(path) => overlay_toml(&base, &read(path)?)?,
        None => base,
    };
    let (text, _config) = bench_config(Some(&base), options.connectors)?;
    Ok(text)
}

/// Sends `job` to every connector and adds up their tallies.
async fn phase(jobs: &[mpsc::Sender<(Job, Reply)>], job: Job) -> Result<(Tally, f64), String> {
    let started = Instant::now();
    let mut replies = Vec::with_capacity(jobs.len());
    for sender in jobs {
        let (reply, answer) = oneshot::channel();
        sender
            .send((job, reply))
            .await
            .map_err(|_| "a connector task ended early".to_string())?;
        replies.push(answer);
    }
    let mut total = Tally::default();
    for answer in futures_util::future::join_all(replies).await {
        let tally = answer.map_err(|_| "a connector task ended early".to_string())??;
        total.add(&tally);
    }
    Ok((total, started.elapsed().as_secs_f64()))
}

async fn run(options: &Options) -> Result<Report, String> {
    let text = configuration(options)?;
    // Examples live in target/<profile>/examples/, the gateway one level up.
    let bin = options
        .switchboard_bin
        .clone()
        .unwrap_or_else(|| target::sibling_binary("../switchboard"));
    let server = target::spawn_switchboard(&bin, &text)?;
    let started = Instant::now();
    let pid = server.pid.ok_or("the spawned gateway has no PID")?;
    let admin = server.admin.clone();
    let admin = admin.as_deref();

    let peak = Arc::new(AtomicU64::new(0));
    let sampler = tokio::spawn({
        let peak = Arc::clone(&peak);
        async move {
            loop {
                if let Some(rss) = procfs::rss_kib(pid) {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(SAMPLE_EVERY).await;
            }
        }
    });
    // Tasks end when their job channel is dropped; the set aborts any still running on return.
    let mut tasks = tokio::task::JoinSet::new();
    let mut jobs = Vec::with_capacity(options.connectors);
    for index in 0..options.connectors {
        let ws = client::open(
            &server.base,
            "/v1/connector",
            &connector_key(index),
            client::ws_config(false),
        )
        .await?;
        let n = options.conversations;
        let share = index * n / options.connectors..(index + 1) * n / options.connectors;
        let (sender, receiver) = mpsc::channel(1);
        let connector = Connector {
            ws,
            index,
            share,
            seq: 1,
            acked: 0,
            batch: options.batch,
            window: options.window,
        };
        tasks.spawn(connector.serve(receiver));
        jobs.push(sender);
    }

    let mut samples = Vec::new();
    let mut sample = |phase: &str, open_own: u64, open_gateway: Option<u64>| {
        let row = Sample {
            phase: phase.to_string(),
            at_secs: started.elapsed().as_secs_f64(),
            rss_kib: procfs::rss_kib(pid),
            open_own,
            open_gateway,
        };
        print_row(&row);
        samples.push(row.clone());
        row
    };
    print_head();
    // A second for the gateway's start-up allocations to finish before the baseline.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = sample("idle", 0, gateway_open(admin).await);

    let (open, open_secs) = phase(&jobs, Job::Open).await?;
    let opened = open.sent - open.refused_total();
    let seen = gateway_open_settled(admin, opened).await;
    sample("opened", opened, seen);

    let (close, close_secs) = phase(&jobs, Job::Close).await?;
    let still_open = opened.saturating_sub(close.sent - close.refused_total());
    let seen = gateway_open_settled(admin, still_open).await;
    sample("closed", still_open, seen);

    tokio::time::sleep(Duration::from_secs(options.settle_secs)).await;
    let mut after = None;
    for i in 0..options.samples {
        if i > 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        after = sample("after", still_open, gateway_open(admin).await).rss_kib;
    }
    sampler.abort();
    drop(jobs);
    tasks.shutdown().await;
    // The gateway is killed here, before the report is printed.
    server.stop();

    let rss_peak_kib = peak.load(Ordering::Relaxed);
    let growth = idle.rss_kib.map(|idle| rss_peak_kib.saturating_sub(idle));
    Ok(Report {
        commit: None,
        conversations: options.conversations,
        connectors: options.connectors,
        batch: options.batch,
        window: options.window,
        samples,
        open,
        open_secs,
        close,
        close_secs,
        rss_idle_kib: idle.rss_kib,
        rss_peak_kib,
        rss_after_kib: after,
        kib_per_open_conversation: growth
            .filter(|_| opened > 0)
            .map(|g| g as f64 / opened as f64),
        share_returned: growth
            .filter(|&g| g > 0)
            .zip(after)
            .map(|(g, after)| rss_peak_kib.saturating_sub(after) as f64 / g as f64),
    })
}

fn print_head() {
    println!(
        "{:<8} {:>8} {:>10} {:>11} {:>15}",
        "phase", "at s", "RSS MiB", "open (own)", "open (gateway)"
    );
}

fn print_row(row: &Sample) {
    let mib = |kib: Option<u64>| kib.map_or("-".into(), |k| format!("{:.1}", k as f64 / 1024.0));
    let gateway = row.open_gateway.map_or("-".into(), |n| n.to_string());
    println!(
        "{:<8} {:>8.1} {:>10} {:>11} {:>15}",
        row.phase,
        row.at_secs,
        mib(row.rss_kib),
        row.open_own,
        gateway
    );
}

fn print_summary(report: &Report) {
    let mib = |kib: u64| kib as f64 / 1024.0;
    let rate = |n: u64, secs: f64| n as f64 / secs.max(1e-9);
    let refused = |t: &Tally| {
        if t.refused.is_empty() {
            "none".to_string()
        } else {
            format!("{:?}", t.refused)
        }
    };
    println!();
    println!(
        "{} conversations over {} connectors, {} per frame, {} frames in flight per socket",
        report.conversations, report.connectors, report.batch, report.window
    );
    println!(
        "open:  {:.2} s ({:.0}/s); refused: {}",
        report.open_secs,
        rate(report.open.sent, report.open_secs),
        refused(&report.open)
    );
    println!(
        "close: {:.2} s ({:.0}/s); refused: {}",
        report.close_secs,
        rate(report.close.sent, report.close_secs),
        refused(&report.close)
    );
    let idle = report
        .rss_idle_kib
        .map_or("-".into(), |k| format!("{:.1}", mib(k)));
    let after = report
        .rss_after_kib
        .map_or("-".into(), |k| format!("{:.1}", mib(k)));
    println!(
        "RSS MiB: idle {idle}, peak {:.1}, after {after}",
        mib(report.rss_peak_kib)
    );
    match report.kib_per_open_conversation {
        Some(kib) => println!(
            "per open conversation: {:.2} KiB ({:.0} bytes)",
            kib,
            kib * 1024.0
        ),
        None => println!("per open conversation: n/a"),
    }
    match report.share_returned {
        Some(share) => println!(
            "peak growth returned after the flood: {:.0}%",
            share * 100.0
        ),
        None => println!("peak growth returned after the flood: n/a"),
    }
}

/// The commit of the checkout this example was built from (`-dirty` with uncommitted changes),
/// for the record; `None` outside a checkout. Asked of the source directory, not the current
/// one, so it is right wherever the binary is run from.
fn commit() -> Option<String> {
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(env!("CARGO_MANIFEST_DIR"))
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let hash = git(&["rev-parse", "--short=12", "HEAD"]).filter(|h| !h.is_empty())?;
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|changes| !changes.is_empty());
    Some(if dirty { format!("{hash}-dirty") } else { hash })
}

fn main() -> ExitCode {
    let options = Options::parse();
    if let Err(e) = options.check() {
        eprintln!("flood: {e}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("flood: {e}");
            return ExitCode::from(2);
        }
    };
    let cap = Duration::from_secs(options.max_secs);
    // Dropping `run` (cap reached, Ctrl-C) drops its `Target`, which kills the gateway.
    let outcome = runtime.block_on(async {
        tokio::select! {
            result = tokio::time::timeout(cap, run(&options)) => result
                .unwrap_or_else(|_| Err(format!("stopped after --max-secs {}", options.max_secs))),
            _ = tokio::signal::ctrl_c() => Err("interrupted".to_string()),
        }
    });
    let mut report = match outcome {
        Ok(report) => report,
        Err(e) => {
            eprintln!("flood: {e}");
            return ExitCode::from(2);
        }
    };
    report.commit = commit();
    print_summary(&report);
    println!(
        "measured on {}",
        report.commit.as_deref().unwrap_or("an unknown commit")
    );
    if let Some(path) = &options.json {
        let written = serde_json::to_string_pretty(&report)
            .map_err(|e| e.to_string())
            .and_then(|json| std::fs::write(path, json).map_err(|e| e.to_string()));
        if let Err(e) = written {
            eprintln!("flood: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if report.open.refused_total() + report.close.refused_total() > 0 {
        println!(
            "some messages were refused: raise the conversation caps and rates with \
             --config-extra (see loadtest/README.md)"
        );
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
