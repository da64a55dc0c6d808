//! The journal's storage: generations of per-shard segment logs and snapshots on disk.
//!
//! Pure storage: frames and snapshots are opaque bytes to this crate, which knows nothing of
//! tenants or inputs. It does file I/O, but reads no clock, spawns no thread and never sleeps
//! (`crates/clippy.toml`): the shell owns the writer thread and passes each frame's time in.
//!
//! # Layout
//!
//! ```text
//! DATA/CURRENT                         "gen-000007\n"  (written temp + fsync + rename + dir fsync)
//! DATA/gen-000007/config.toml          the configuration text that generation ran with
//! DATA/gen-000007/shard-0/00000000000000000001.seg     segments, named by their first frame seq (20 digits)
//! DATA/gen-000007/shard-0/snap-00000000000000000042.snap   a snapshot covering frames <= 42
//! ```
//!
//! Each process start recovers the current generation ([`Store::current`], then per shard
//! [`Generation::latest_snapshot`] and [`Generation::read_frames`] after it), then writes a
//! new one ([`Store::begin`]: its config, then a checkpoint snapshot per shard covering seq 0)
//! and commits it ([`Store::commit`] rewrites `CURRENT`), which deletes every other generation.
//! A crash before the commit leaves `CURRENT` on the old one; the uncommitted directory is
//! deleted by the next [`Store::begin`]. Frames are numbered from 1 in each shard, contiguous
//! across its segments. Temp files (`*.tmp`) are never read: a crash before their rename means
//! they were never written.
//!
//! # Formats (little-endian throughout)
//!
//! - **Segment header**, 28 bytes: magic `b"SWBJRNL\0"`, version u16 (1), flags u16 (bit 0:
//!   encrypted), shard u32, first_seq u64, CRC-32C of the 24 bytes before it.
//! - **Frame**: len u32 (payload bytes as stored), crc u32 (CRC-32C over seq, time_ms and the
//!   stored payload), seq u64, time_ms u64, stored payload. Encrypted, the stored payload is a
//!   12-byte nonce ‖ AES-256-GCM ciphertext ‖ 16-byte tag, with additional data shard ‖ seq,
//!   so a frame cannot be moved to another place and still open.
//! - **Snapshot**, `snap-<covers_seq>.snap`: magic `b"SWBSNAP\0"`, version u16, flags u16,
//!   shard u32, covers_seq u64, stored payload len u64, CRC-32C u32 (over the 32 header bytes
//!   before it and the stored payload, so a flipped `covers_seq` is caught too), stored
//!   payload, encrypted like a frame with additional data shard ‖ covers_seq ‖ `"snap"`.
//!
//! # Durability
//!
//! [`Writer::append`] is one `write(2)` per frame and no sync; [`Writer::sync`] is `fdatasync`
//! (plus an fsync of the shard directory when a segment was created since). A new segment is
//! preallocated with `File::set_len` to `segment_bytes`: the file is sparse, so this reserves no
//! blocks (a full disk still fails a later write, which is fatal) but fixes the file size up
//! front and guarantees that everything past the last frame reads as zeros, so a zeroed tail
//! is the normal end of a segment. When a frame does not fit, the finished segment is cut to
//! its frames and fdatasynced (with its directory entry) *before* the next is created, so
//! damage a crash can explain is only ever in the last segment, and no segment is missing
//! before it. Directories are fsynced after creating a segment, a snapshot (after its rename)
//! and `CURRENT`.
//!
//! # Recovery
//!
//! A torn tail of the last segment (a frame cut short, a zeroed or partly written frame, a bad
//! checksum on the last frame with no valid frame after it) is what a crash leaves: the read
//! stops there, reports [`Torn`] and cuts the file to its last good frame. Anything else is
//! [`JournalError::Corrupt`] naming the file and offset, or with [`Recovery::Truncate`] cut
//! away and reported the same way. One crash case this cannot tell from damage: with several
//! frames written and not yet synced, the kernel may write a later page before an earlier one,
//! leaving a valid frame after a torn one; with `fsync = "batch"` at most one frame is ever
//! unsynced, so it does not arise there.
//!
//! # Encryption
//!
//! Each frame and snapshot gets a fresh random 96-bit nonce (`Aes256Gcm::generate_nonce` from
//! the OS). NIST SP 800-38D bounds random nonces at 2^32 messages per key: rotate the key
//! (a new generation is written at every start, so changing the key file between runs is
//! enough) well before that many frames and snapshots.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

mod error;
mod files;
mod format;
mod key;
mod read;
mod scan;
mod snapshot;
mod store;
mod verify;
mod writer;

use std::path::PathBuf;

pub use error::JournalError;
pub use key::Key;
pub use store::{Generation, Store};
pub use verify::{verify, ShardReport, VerifyReport};
pub use writer::Writer;

/// What to do with damage a crash cannot explain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recovery {
    /// Refuse: [`JournalError::Corrupt`] naming the file and offset.
    Strict,
    /// Keep the frames before the damage, cut the rest away and report it as [`Torn`].
    Truncate,
}

/// One frame as read back, its payload opened if it was encrypted.
#[derive(Debug, Clone, Copy)]
pub struct FrameRef<'a> {
    /// Its sequence number in the shard (from 1, contiguous).
    pub seq: u64,
    /// The time the caller gave [`Writer::append`].
    pub time_ms: u64,
    /// The payload as appended.
    pub payload: &'a [u8],
}

/// What [`Generation::read_frames`] read.
#[derive(Debug, Default)]
pub struct ReadReport {
    /// Frames visited (those with seq > `after`).
    pub frames: u64,
    /// The seq of the last good frame of the shard's journal, visited or not (`None` if it has
    /// none); the shard's writer continues at the next one.
    pub last_seq: Option<u64>,
    /// A torn tail cut off (or, with [`Recovery::Truncate`], damage cut away).
    pub torn: Option<Torn>,
}

/// Bytes recovery cut away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Torn {
    /// The segment cut.
    pub path: PathBuf,
    /// Where: the end of its last good frame (0 if not even its header was good).
    pub offset: u64,
    /// Bytes discarded: from `offset` to the last non-zero byte of the file (a zeroed
    /// preallocated tail holds no data), plus any later segments deleted.
    pub discarded_bytes: u64,
    /// What was found there.
    pub why: String,
}
