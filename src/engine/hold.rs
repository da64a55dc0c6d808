//! The hold-back of outputs: what makes an ack a promise. Every input a shard applies is
//! recorded in the frame being formed; every output it causes that would leave the process
//! (frames, acks, closes, admin answers) is held with that frame, and released only once the
//! journal writer reports the frame durable. Observations for metrics are not held: they promise
//! nothing.
//!
//! Owner: the shard thread. Bounds: one frame forming plus at most [`FRAMES_IN_FLIGHT`] sealed;
//! while those are full the shard waits for the writer instead of taking input.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::journal::{Notice, Sealed, SnapshotJob, Threads, FRAMES_IN_FLIGHT};
use super::records;
use switchboard_router::Millis;
use switchboard_tenant::{ConnId, Input, Output};

/// An answer to the admin API, sent once its input is durable.
pub(super) type Reply = Box<dyn FnOnce() + Send>;

/// The outputs of one frame, in the order the cores produced them.
#[derive(Default)]
pub(super) struct Held {
    /// The journal seq of the frame whose inputs caused them.
    pub frame: u64,
    pub outputs: Vec<(usize, Output<Utf8Bytes>)>,
    pub replies: Vec<Reply>,
}

/// A shard's journal, as its loop sees it.
pub(super) struct Durability {
    threads: Threads,
    /// Records of the frame being formed; its outputs are in `forming`.
    records: Vec<u8>,
    forming: Held,
    in_flight: VecDeque<Held>,
    snapshot_every_ms: Millis,
    next_snapshot_ms: Millis,
    /// Connections whose core was told they stalled, with the first frame formed after it knew:
    /// numbered frames from earlier frames were produced before the core knew, and must not be
    /// sent past the stall (the core resends them from the replay buffer, in order).
    stalled_at: FxHashMap<ConnId, u64>,
}

impl Durability {
    pub(super) fn new(threads: Threads, snapshot_every_ms: Millis, now: Millis) -> Self {
        Durability {
            threads,
            records: Vec::with_capacity(64 * 1024),
            forming: Held {
                frame: 1,
                ..Held::default()
            },
            in_flight: VecDeque::with_capacity(FRAMES_IN_FLIGHT),
            snapshot_every_ms,
            next_snapshot_ms: now + snapshot_every_ms,
            stalled_at: FxHashMap::default(),
        }
    }

    /// Records an input about to be applied to tenant `t` at `now`.
    pub(super) fn record(&mut self, t: usize, now: Millis, input: &Input) {
        if let Input::Stalled { conn, .. } = input {
            self.stalled_at.insert(*conn, self.forming.frame);
        }
        records::push_input(&mut self.records, t, now, input);
    }

    /// Holds an output of the forming frame.
    pub(super) fn hold(&mut self, t: usize, output: Output<Utf8Bytes>) {
        self.forming.outputs.push((t, output));
    }

    /// Holds an admin answer until the forming frame is durable.
    pub(super) fn reply(&mut self, reply: Reply) {
        self.forming.replies.push(reply);
    }

    /// Whether a numbered frame for `conn`, produced while forming `frame`, predates its core
    /// learning that the connection stalled.
    pub(super) fn superseded(&mut self, conn: ConnId, frame: u64) -> bool {
        match self.stalled_at.get(&conn) {
            Some(&known) if frame < known => true,
            Some(_) => {
                self.stalled_at.remove(&conn);
                false
            }
            None => false,
        }
    }

    /// Forgets a connection that is gone.
    pub(super) fn forget(&mut self, conn: ConnId) {
        self.stalled_at.remove(&conn);
    }

    /// Whether every sealed slot is taken (the shard must wait for the writer).
    pub(super) fn full(&self) -> bool {
        self.in_flight.len() >= FRAMES_IN_FLIGHT
    }

    /// Whether nothing is forming or waiting.
    pub(super) fn idle(&self) -> bool {
        self.records.is_empty() && self.in_flight.is_empty()
    }

    /// Hands the forming frame to the writer, if it holds anything and there is room.
    pub(super) fn seal(&mut self, now: Millis) {
        if self.records.is_empty() || self.full() {
            return;
        }
        let next = Held {
            frame: self.forming.frame + 1,
            ..Held::default()
        };
        let held = std::mem::replace(&mut self.forming, next);
        let payload = std::mem::replace(&mut self.records, Vec::with_capacity(64 * 1024));
        let sealed = Sealed {
            seq: held.frame,
            time_ms: now,
            payload,
        };
        // A writer that is gone has already sent (or will never send) a failure notice; the
        // frame then never becomes durable and its outputs never leave, which is the point.
        let _ = self.threads.frames.send(sealed);
        self.in_flight.push_back(held);
    }

    /// The frames a notice makes durable, oldest first; a failure is fatal.
    pub(super) fn on_notice(&mut self, notice: Notice) -> Vec<Held> {
        match notice {
            Notice::Durable(seq) => {
                let mut released = Vec::new();
                while self.in_flight.front().is_some_and(|h| h.frame <= seq) {
                    released.extend(self.in_flight.pop_front());
                }
                released
            }
            Notice::Failed(error) => {
                panic!("{error}: stopping rather than acknowledge what cannot be kept")
            }
        }
    }

    /// Waits for the writer's next notice (the shard has nothing else it may do).
    pub(super) fn wait(&mut self) -> Vec<Held> {
        match self.threads.notices.recv() {
            Ok(notice) => self.on_notice(notice),
            Err(_) => panic!("the journal writer stopped: nothing more can be acknowledged"),
        }
    }

    /// A clone of the notices channel, to wait on it beside the inbox.
    pub(super) fn notices(&self) -> crossbeam_channel::Receiver<Notice> {
        self.threads.notices.clone()
    }

    /// Whether a periodic snapshot is due and can be taken now (nothing forming, so the clones
    /// cover exactly the frames sealed so far, and the snapshot writer is free).
    pub(super) fn snapshot_due(&self, now: Millis) -> bool {
        now >= self.next_snapshot_ms && self.records.is_empty()
    }

    /// Hands a snapshot of every core to the snapshot writer, and records each core's hash so a
    /// replay across this point is checked. Returns false if the writer was still busy.
    pub(super) fn snapshot(
        &mut self,
        now: Millis,
        cores: Vec<(switchboard_tenant::CoreSnapshot<Utf8Bytes>, u64)>,
    ) -> bool {
        self.next_snapshot_ms = now + self.snapshot_every_ms;
        let hashes: Vec<u64> = cores.iter().map(|(_, hash)| *hash).collect();
        let job = SnapshotJob {
            covers: self.forming.frame - 1,
            cores,
            done: None,
        };
        if self.threads.snapshots.try_send(job).is_err() {
            return false;
        }
        for (t, hash) in hashes.into_iter().enumerate() {
            records::push_hash(&mut self.records, t, now, hash);
        }
        true
    }

    /// The final snapshot of a graceful stop, once everything is durable: waits for it.
    pub(super) fn final_snapshot(
        &mut self,
        cores: Vec<(switchboard_tenant::CoreSnapshot<Utf8Bytes>, u64)>,
    ) -> Result<(), String> {
        let (done, written) = crossbeam_channel::bounded(1);
        let job = SnapshotJob {
            covers: self.forming.frame - 1,
            cores,
            done: Some(done),
        };
        self.threads
            .snapshots
            .send(job)
            .map_err(|_| "the snapshot writer stopped".to_string())?;
        written
            .recv()
            .map_err(|_| "the snapshot writer stopped".to_string())?
    }

    /// Stops the journal threads (the writer syncs first).
    pub(super) fn stop(self) {
        self.threads.stop();
    }
}
