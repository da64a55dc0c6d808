//! The idle mode: many connected but silent connector sockets, and what they cost the target in
//! memory. [`IdlePool`] also holds the background connections of the other modes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use super::shared::lock;
use super::Options;
use crate::client::{self, Ws};
use crate::procfs;
use crate::report::Idle;
use crate::target::{connector_key, Target};

/// Silent connector connections: each says hello, waits for its welcome, then only reads (which
/// answers the server's pings) until the pool is dropped.
pub struct IdlePool {
    base: String,
    stop: watch::Sender<bool>,
    failures: Arc<Mutex<Vec<String>>>,
    welcomed: Arc<AtomicUsize>,
    gate: Arc<Semaphore>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for IdlePool {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl IdlePool {
    /// An empty pool against `base`, opening at most `concurrency` connections at once.
    pub fn new(base: &str, concurrency: usize) -> Self {
        IdlePool {
            base: base.to_string(),
            stop: watch::channel(false).0,
            failures: Arc::new(Mutex::new(Vec::new())),
            welcomed: Arc::new(AtomicUsize::new(0)),
            gate: Arc::new(Semaphore::new(concurrency.max(1))),
            tasks: Vec::new(),
        }
    }

    /// Starts opening connections with the connector identities in `keys`.
    pub fn open(&mut self, keys: std::ops::Range<usize>) {
        for i in keys {
            let base = self.base.clone();
            let (failures, welcomed, gate) = (
                Arc::clone(&self.failures),
                Arc::clone(&self.welcomed),
                Arc::clone(&self.gate),
            );
            let stop = self.stop.subscribe();
            self.tasks.push(tokio::spawn(async move {
                let ws = {
                    // The permit bounds handshakes in flight, not connections: it is released
                    // once this one is open.
                    let Ok(_permit) = gate.acquire().await else {
                        return;
                    };
                    client::open(
                        &base,
                        "/v1/connector",
                        &connector_key(i),
                        client::ws_config(true),
                    )
                    .await
                };
                let ws = match ws {
                    Ok(ws) => ws,
                    Err(e) => {
                        lock(&failures).push(format!("idle connection {i}: {e}"));
                        return;
                    }
                };
                welcomed.fetch_add(1, Ordering::SeqCst);
                hold(ws, i, stop, &failures).await;
            }));
        }
    }

    /// Waits until `count` connections in all have been welcomed; fails on the first failure.
    pub async fn welcomed(&self, count: usize, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(first) = lock(&self.failures).first() {
                return Err(first.clone());
            }
            if self.welcomed.load(Ordering::SeqCst) >= count {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "only {} of {count} idle connections welcomed within {limit:?}",
                    self.welcomed.load(Ordering::SeqCst)
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The first connection that failed or was closed, if any.
    pub fn failure(&self) -> Option<String> {
        lock(&self.failures).first().cloned()
    }
}

/// Reads idle connection `i` (which answers the server's pings) until the pool stops; a close
/// before that is recorded in `failures`.
async fn hold(
    mut ws: Ws,
    i: usize,
    mut stop: watch::Receiver<bool>,
    failures: &Mutex<Vec<String>>,
) {
    loop {
        tokio::select! {
            frame = ws.next() => match frame {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                    if !*stop.borrow() {
                        lock(failures).push(format!("idle connection {i} was closed"));
                    }
                    return;
                }
                Some(Ok(_)) => {}
            },
            _ = stop.changed() => return,
        }
    }
}

/// Fails unless this process may hold `sockets` more open files.
pub fn check_nofile(sockets: usize) -> Result<(), String> {
    let needed = (sockets + 64) as u64;
    match procfs::nofile_soft_limit() {
        Some(limit) if limit < needed => Err(format!(
            "the open-files limit is {limit}, this run needs about {needed}: \
             raise it with `ulimit -n` or open fewer connections"
        )),
        _ => Ok(()),
    }
}

/// How long opening `n` connections may take: 10,000 take a few seconds here; 2 ms each is
/// the ceiling.
pub fn open_limit(n: usize) -> Duration {
    Duration::from_secs(30) + Duration::from_millis(2 * n as u64)
}

/// Opens `opts.idle` silent connections and reports what they cost the target in memory.
pub async fn idle(target: &mut Target, opts: &Options) -> Result<Idle, String> {
    let pid = target
        .pid
        .ok_or("the idle mode needs the target's pid (spawn it, or pass --target-pid)")?;
    check_nofile(opts.idle + opts.idle_warm)?;
    let mut pool = IdlePool::new(&target.base, opts.idle_concurrency);
    // Warm-up connections: their one-off costs stay out of the per-connection figure.
    pool.open(0..opts.idle_warm);
    pool.welcomed(opts.idle_warm, open_limit(opts.idle_warm))
        .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = procfs::rss_kib(pid).ok_or("cannot read the target's RSS")?;
    let started = Instant::now();
    pool.open(opts.idle_warm..opts.idle_warm + opts.idle);
    pool.welcomed(opts.idle_warm + opts.idle, open_limit(opts.idle))
        .await?;
    let open_seconds = started.elapsed().as_secs_f64();
    // Let the target finish whatever the handshakes queued (attach, first allocations).
    tokio::time::sleep(Duration::from_secs(2)).await;
    if !target.alive() {
        return Err(format!("{} exited", target.kind.name()));
    }
    if let Some(failure) = pool.failure() {
        return Err(failure);
    }
    let after = procfs::rss_kib(pid).ok_or("cannot read the target's RSS")?;
    Ok(Idle {
        target: target.kind.name().into(),
        connections: opts.idle,
        rss_before_kib: before,
        rss_after_kib: after,
        kib_per_connection: (after as f64 - before as f64) / opts.idle.max(1) as f64,
        open_seconds,
        target_threads: procfs::threads(pid),
        generator_rss_kib: procfs::rss_kib(std::process::id()),
    })
}
