//! A shard's journal threads: the writer, which appends each sealed frame and syncs it, then tells
//! the shard it is durable; and the snapshot writer, which serialises and stores the clones the
//! shard hands it, off the shard thread.
//!
//! Owner and bounds: the shard owns both threads and their channels. At most
//! [`FRAMES_IN_FLIGHT`] sealed frames wait for the writer (the shard stops taking input until one
//! is durable: backpressure reaches the sockets, never memory), and at most one snapshot waits
//! for the snapshot writer (a period that finds it busy is skipped and counted).

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use prometheus::{Histogram, IntCounter};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use switchboard_config::FsyncMode;
use switchboard_journal::{Generation, Key, Writer};
use switchboard_router::Millis;
use switchboard_tenant::CoreSnapshot;

use super::records;
use crate::metrics::Metrics;

/// Sealed frames a shard may have waiting for the writer: one being synced while the next forms
/// and waits.
pub(super) const FRAMES_IN_FLIGHT: usize = 2;

/// A shard's batch of records, ready to append.
pub(super) struct Sealed {
    /// The journal seq it must get.
    pub seq: u64,
    /// The batch's time.
    pub time_ms: Millis,
    /// Its records.
    pub payload: Vec<u8>,
}

/// What the writer tells its shard.
#[derive(Debug)]
pub(super) enum Notice {
    /// Every frame up to this seq may release its outputs.
    Durable(u64),
    /// A write or sync failed: nothing more may be acknowledged.
    Failed(String),
}

/// A clone of each of a shard's cores, with their state hashes, covering frames up to `covers`.
pub(super) struct SnapshotJob {
    pub covers: u64,
    pub cores: Vec<(CoreSnapshot<Utf8Bytes>, u64)>,
    /// Told when it is written (the final snapshot of a graceful stop waits for it).
    pub done: Option<Sender<Result<(), String>>>,
}

/// Where a shard journals: its generation, shard number and key.
#[derive(Clone)]
pub(super) struct Place {
    pub generation: Generation,
    pub shard: u32,
    pub key: Option<Key>,
    pub fsync: FsyncMode,
    pub interval: Duration,
}

/// The shard's end of its journal threads.
pub(super) struct Threads {
    pub frames: Sender<Sealed>,
    pub notices: Receiver<Notice>,
    pub snapshots: Sender<SnapshotJob>,
    handles: Vec<JoinHandle<()>>,
}

impl Threads {
    /// Starts the writer (appending from seq 1 of the generation) and the snapshot writer.
    pub(super) fn start(place: Place, metrics: &Metrics) -> Result<Threads, String> {
        let writer = place
            .generation
            .writer(place.shard, 1, place.key.clone(), SEGMENT_BYTES)
            .map_err(|e| e.to_string())?;
        let (frames, frames_rx) = crossbeam_channel::bounded(FRAMES_IN_FLIGHT);
        let (notices_tx, notices) = crossbeam_channel::bounded(FRAMES_IN_FLIGHT * 2);
        let (snapshots, jobs) = crossbeam_channel::bounded(1);
        let shard = place.shard.to_string();
        let counters = Counters {
            sync: metrics.journal_sync.with_label_values(&[&shard]),
            frames: metrics.journal_frames.with_label_values(&[&shard]),
            bytes: metrics.journal_bytes.with_label_values(&[&shard]),
        };
        let outcomes = [
            metrics.snapshots.with_label_values(&[&shard, "ok"]),
            metrics.snapshots.with_label_values(&[&shard, "failed"]),
        ];
        let (fsync, interval) = (place.fsync, place.interval);
        let spawn = |name: String, body: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name)
                .spawn(body)
                .map_err(|e| format!("cannot start a journal thread: {e}"))
        };
        let handles = vec![
            spawn(
                format!("journal-{}", place.shard),
                Box::new(move || {
                    write_loop(writer, fsync, interval, frames_rx, notices_tx, counters)
                }),
            )?,
            spawn(
                format!("snapshot-{}", place.shard),
                Box::new(move || snapshot_loop(place, jobs, outcomes)),
            )?,
        ];
        Ok(Threads {
            frames,
            notices,
            snapshots,
            handles,
        })
    }

    /// Closes the channels and waits for both threads: the writer syncs what it holds first.
    pub(super) fn stop(self) {
        let Threads {
            frames,
            notices,
            snapshots,
            handles,
        } = self;
        drop((frames, snapshots, notices));
        for handle in handles {
            let _ = handle.join();
        }
    }
}

/// Segment size: large enough that rolling is rare, small enough that a snapshot frees disk.
const SEGMENT_BYTES: u64 = 64 * 1024 * 1024;

struct Counters {
    sync: Histogram,
    frames: IntCounter,
    bytes: IntCounter,
}

/// Appends frames in order. In batch mode every group of frames that arrived together is synced
/// once before any of them is declared durable (group commit); in interval mode a frame is
/// durable for the shard once written, and the file is synced every `interval`.
fn write_loop(
    mut writer: Writer,
    fsync: FsyncMode,
    interval: Duration,
    frames: Receiver<Sealed>,
    notices: Sender<Notice>,
    counters: Counters,
) {
    let mut unsynced_since: Option<Instant> = None;
    loop {
        let first = match unsynced_since {
            Some(since) => frames.recv_timeout(interval.saturating_sub(since.elapsed())),
            None => frames.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        let outcome = match first {
            Ok(frame) => write_group(&mut writer, frame, &frames, &counters).and_then(|last| {
                if fsync == FsyncMode::Batch {
                    sync(&mut writer, &counters)?;
                } else {
                    unsynced_since.get_or_insert_with(Instant::now);
                }
                Ok(Some(last))
            }),
            Err(RecvTimeoutError::Timeout) => {
                unsynced_since = None;
                sync(&mut writer, &counters).map(|()| None)
            }
            Err(RecvTimeoutError::Disconnected) => {
                if let Err(error) = sync(&mut writer, &counters) {
                    tracing::error!(%error, "journal: the last sync failed");
                }
                return;
            }
        };
        let notice = match outcome {
            Ok(Some(last)) => Notice::Durable(last),
            Ok(None) => continue,
            Err(error) => Notice::Failed(error),
        };
        let failed = matches!(notice, Notice::Failed(_));
        if notices.send(notice).is_err() || failed {
            return;
        }
    }
}

/// Appends `first` and every frame already waiting behind it; returns the last seq.
fn write_group(
    writer: &mut Writer,
    first: Sealed,
    frames: &Receiver<Sealed>,
    counters: &Counters,
) -> Result<u64, String> {
    let mut frame = first;
    loop {
        let seq = writer
            .append(frame.time_ms, &frame.payload)
            .map_err(|e| format!("journal write failed: {e}"))?;
        if seq != frame.seq {
            return Err(format!(
                "journal seq {seq} appended where the shard sealed {}",
                frame.seq
            ));
        }
        counters.frames.inc();
        counters.bytes.inc_by(frame.payload.len() as u64);
        match frames.try_recv() {
            Ok(next) => frame = next,
            Err(_) => return Ok(seq),
        }
    }
}

fn sync(writer: &mut Writer, counters: &Counters) -> Result<(), String> {
    let started = Instant::now();
    writer
        .sync()
        .map_err(|e| format!("journal fdatasync failed: {e}"))?;
    counters.sync.observe(started.elapsed().as_secs_f64());
    Ok(())
}

/// Serialises and writes each snapshot the shard hands over; the journal crate then drops the
/// segments it covers.
fn snapshot_loop(place: Place, jobs: Receiver<SnapshotJob>, outcomes: [IntCounter; 2]) {
    for job in jobs {
        let bytes = records::encode_snapshot(&job.cores);
        let written = place
            .generation
            .write_snapshot(place.shard, job.covers, &bytes, place.key.as_ref())
            .map_err(|e| e.to_string());
        match &written {
            Ok(()) => outcomes[0].inc(),
            Err(error) => {
                // Not fatal: the journal still holds everything the snapshot would have covered.
                tracing::error!(shard = place.shard, %error, "snapshot failed");
                outcomes[1].inc();
            }
        }
        if let Some(done) = job.done {
            let _ = done.send(written);
        }
    }
}
