//! Snapshot files: write (atomically, then delete what they make redundant) and read.

use std::path::Path;

use crate::error::JournalError;
use crate::files::{self, Named};
use crate::format::SnapshotHeader;
use crate::key::{self, Key};
use crate::read::read_whole;

/// The body of [`crate::Generation::write_snapshot`] for one shard directory.
pub(crate) fn write(
    dir: &Path,
    shard: u32,
    covers_seq: u64,
    payload: &[u8],
    key: Option<&Key>,
) -> Result<(), JournalError> {
    files::ensure_dir(dir)?;
    files::remove_temp_files(dir)?;
    let path = dir.join(files::snapshot_name(covers_seq));
    let too_large = || JournalError::TooLarge {
        path: path.clone(),
        bytes: payload.len(),
    };
    let mut stored = Vec::with_capacity(payload.len() + key::SEAL_OVERHEAD);
    match key {
        Some(key) => key::seal_into(
            &key.cipher(),
            &snapshot_aad(shard, covers_seq),
            payload,
            &mut stored,
        )
        .map_err(|()| too_large())?,
        None => stored.extend_from_slice(payload),
    }
    let header = SnapshotHeader {
        encrypted: key.is_some(),
        shard,
        covers_seq,
        stored_len: stored.len() as u64,
    };
    let mut file = Vec::with_capacity(crate::format::SNAPSHOT_HEADER_BYTES + stored.len());
    file.extend_from_slice(&header.encode(&stored));
    file.extend_from_slice(&stored);
    files::write_atomically(&path, &file)?;
    remove_covered(dir, covers_seq)
}

/// Deletes older snapshots and every segment whose frames are all `<= covers_seq`, never the
/// newest segment (the writer may be appending to it). A crash midway leaves files the reader
/// skips: snapshots older than the newest, segments below the one recovery starts from.
fn remove_covered(dir: &Path, covers_seq: u64) -> Result<(), JournalError> {
    let (segments, snapshots) = files::list_shard(dir)?;
    for old in snapshots.iter().filter(|s| s.seq < covers_seq) {
        files::remove_file(&old.path)?;
    }
    // A segment's frames end just before the next segment's first seq.
    for pair in segments.windows(2) {
        if pair[1].seq.saturating_sub(1) <= covers_seq {
            files::remove_file(&pair[0].path)?;
        }
    }
    files::sync_dir(dir)
}

/// The body of [`crate::Generation::latest_snapshot`] for one shard directory.
pub(crate) fn latest(
    dir: &Path,
    shard: u32,
    key: Option<&Key>,
) -> Result<Option<(u64, Vec<u8>)>, JournalError> {
    let (_, snapshots) = files::list_shard(dir)?;
    match snapshots.last() {
        Some(newest) => read(newest, shard, key, true).map(Some),
        None => Ok(None),
    }
}

/// Reads and checks one snapshot file; opens its payload if `decrypt` (else returns it as
/// stored).
pub(crate) fn read(
    snapshot: &Named,
    shard: u32,
    key: Option<&Key>,
    decrypt: bool,
) -> Result<(u64, Vec<u8>), JournalError> {
    let path = &snapshot.path;
    let corrupt = |why: String| JournalError::Corrupt {
        path: path.clone(),
        offset: 0,
        why,
    };
    let mut file = Vec::new();
    read_whole(path, &mut file)?;
    let (header, stored) = SnapshotHeader::decode(&file).map_err(corrupt)?;
    if header.shard != shard {
        return Err(corrupt(format!(
            "snapshot header says shard {}, its directory is shard {shard}",
            header.shard
        )));
    }
    if header.covers_seq != snapshot.seq {
        let why = format!(
            "snapshot header says it covers seq {}, its name says {}",
            header.covers_seq, snapshot.seq
        );
        return Err(corrupt(why));
    }
    match (header.encrypted, key) {
        (false, Some(_)) => Err(JournalError::NotEncrypted { path: path.clone() }),
        (true, None) if decrypt => Err(JournalError::Encrypted { path: path.clone() }),
        (true, Some(key)) if decrypt => {
            let mut plain = Vec::with_capacity(stored.len());
            key::open_into(
                &key.cipher(),
                &snapshot_aad(shard, header.covers_seq),
                stored,
                &mut plain,
            )
            .map_err(|()| JournalError::WrongKey { path: path.clone() })?;
            Ok((header.covers_seq, plain))
        }
        _ => Ok((header.covers_seq, stored.to_vec())),
    }
}

/// shard ‖ covers_seq ‖ "snap": a snapshot cannot pass for another shard's, another point's,
/// or a frame.
fn snapshot_aad(shard: u32, covers_seq: u64) -> [u8; 16] {
    let mut aad = [0u8; 16];
    aad[..4].copy_from_slice(&shard.to_le_bytes());
    aad[4..12].copy_from_slice(&covers_seq.to_le_bytes());
    aad[12..].copy_from_slice(b"snap");
    aad
}
