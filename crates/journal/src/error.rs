use std::io;
use std::path::{Path, PathBuf};

/// Everything the journal can fail with. Each variant names the file involved, and the offset
/// where it has one, so an operator can find the damage; none carries payload bytes.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// A system call on `path` failed. After a failed write or sync a [`crate::Writer`] refuses
    /// further work: the kernel may have dropped the dirty pages, so a retried sync could lie.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory the call was about.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// Bytes that a crash cannot explain: a bad checksum with valid frames after it, a gap in
    /// the sequence numbers, a damaged header, a missing segment.
    #[error("{}: corrupt at offset {offset}: {why}", path.display())]
    Corrupt {
        /// The damaged segment or snapshot.
        path: PathBuf,
        /// Byte offset of the damage in that file (0 for its header or a missing segment).
        offset: u64,
        /// What is wrong there.
        why: String,
    },
    /// Intact bytes (the checksum holds) that the key does not open: the key is not the one
    /// they were written with.
    #[error("{}: the encryption key does not open this file (a different key wrote it)", path.display())]
    WrongKey {
        /// The segment or snapshot.
        path: PathBuf,
    },
    /// An encryption key was given but this file was written in the clear.
    #[error("{}: an encryption key was given but this file is not encrypted", path.display())]
    NotEncrypted {
        /// The segment or snapshot.
        path: PathBuf,
    },
    /// This file is encrypted but no encryption key was given.
    #[error("{}: this file is encrypted but no encryption key was given", path.display())]
    Encrypted {
        /// The segment or snapshot.
        path: PathBuf,
    },
    /// A key file that holds neither 64 hex digits nor 32 raw bytes.
    #[error("{}: not an encryption key: {why}", path.display())]
    BadKey {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it (never its contents).
        why: String,
    },
    /// A [`crate::Writer`] asked to start at a sequence number that does not follow the
    /// shard's existing frames.
    #[error("{}: the journal continues at seq {next_seq}, but the writer was asked to start at {requested}", path.display())]
    SeqMismatch {
        /// The shard's last segment (or its directory).
        path: PathBuf,
        /// The seq that would follow the frames already there.
        next_seq: u64,
        /// The seq the writer was given.
        requested: u64,
    },
    /// A payload too large for one frame or snapshot of this format.
    #[error("{}: a payload of {bytes} bytes is too large to store", path.display())]
    TooLarge {
        /// The segment or snapshot it was meant for.
        path: PathBuf,
        /// Its size.
        bytes: usize,
    },
    /// The data directory does not have the shape this crate writes (`CURRENT` unreadable or
    /// naming a missing generation, a seq of 0).
    #[error("{}: {why}", path.display())]
    Layout {
        /// The file or directory at fault.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// A previous write or sync of this writer failed; it must be dropped (see `Io`).
    #[error("{}: an earlier write or sync failed; this writer can no longer be trusted", path.display())]
    WriterFailed {
        /// The segment it was writing.
        path: PathBuf,
    },
}

/// Wraps an `io::Error` with the path it concerns: `.map_err(io_at(&path))`.
pub(crate) fn io_at(path: &Path) -> impl FnOnce(io::Error) -> JournalError + '_ {
    move |source| JournalError::Io {
        path: path.to_path_buf(),
        source,
    }
}
