//! File names of the layout and the few durable-write steps every part uses.

use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use crate::error::{io_at, JournalError};

pub(crate) const CURRENT: &str = "CURRENT";
pub(crate) const CONFIG: &str = "config.toml";
const TEMP_SUFFIX: &str = ".tmp";

pub(crate) fn generation_name(number: u64) -> String {
    format!("gen-{number:06}")
}

pub(crate) fn parse_generation_name(name: &str) -> Option<u64> {
    digits(name.strip_prefix("gen-")?)
}

pub(crate) fn shard_dir(generation_dir: &Path, shard: u32) -> PathBuf {
    generation_dir.join(format!("shard-{shard}"))
}

pub(crate) fn parse_shard_name(name: &str) -> Option<u32> {
    u32::try_from(digits(name.strip_prefix("shard-")?)?).ok()
}

pub(crate) fn segment_name(first_seq: u64) -> String {
    format!("{first_seq:020}.seg")
}

pub(crate) fn snapshot_name(covers_seq: u64) -> String {
    format!("snap-{covers_seq:020}.snap")
}

fn digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A file of a shard directory, by what its name says it holds.
#[derive(Debug, Clone)]
pub(crate) struct Named {
    /// A segment's first seq or a snapshot's covers_seq.
    pub seq: u64,
    pub path: PathBuf,
}

/// The shard directory's segments and snapshots, each sorted by seq; temp files are not
/// listed. A missing directory has neither.
pub(crate) fn list_shard(dir: &Path) -> Result<(Vec<Named>, Vec<Named>), JournalError> {
    let (mut segments, mut snapshots) = (Vec::new(), Vec::new());
    for name in names_in(dir)? {
        let path = dir.join(&name);
        if let Some(seq) = name.strip_suffix(".seg").and_then(digits) {
            segments.push(Named { seq, path });
        } else if let Some(seq) = name
            .strip_prefix("snap-")
            .and_then(|n| n.strip_suffix(".snap"))
            .and_then(digits)
        {
            snapshots.push(Named { seq, path });
        }
    }
    segments.sort_by_key(|s| s.seq);
    snapshots.sort_by_key(|s| s.seq);
    Ok((segments, snapshots))
}

/// Entry names of `dir` (names that are not UTF-8 are none of ours); a missing dir is empty.
pub(crate) fn names_in(dir: &Path) -> Result<Vec<String>, JournalError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_at(dir)(e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_at(dir))?;
        if let Ok(name) = entry.file_name().into_string() {
            names.push(name);
        }
    }
    Ok(names)
}

/// Makes a directory entry change (create, rename, delete) in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_at(dir))
}

/// Creates `dir` if missing, making its entry in the parent durable when it does.
pub(crate) fn ensure_dir(dir: &Path) -> Result<(), JournalError> {
    match fs::create_dir(dir) {
        Ok(()) => dir.parent().map_or(Ok(()), sync_dir),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io_at(dir)(e)),
    }
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the new file whole:
/// write a temp file, fdatasync it, rename it over `path`, fsync the directory.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), JournalError> {
    let temp = temp_path(path);
    let mut file = File::create(&temp).map_err(io_at(&temp))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_data())
        .map_err(io_at(&temp))?;
    fs::rename(&temp, path).map_err(io_at(path))?;
    path.parent().map_or(Ok(()), sync_dir)
}

/// The temp file [`write_atomically`] uses for `path`.
pub(crate) fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(TEMP_SUFFIX);
    path.with_file_name(name)
}

/// Deletes temp files a crash left in `dir`: they were never renamed, so never committed.
pub(crate) fn remove_temp_files(dir: &Path) -> Result<(), JournalError> {
    for name in names_in(dir)?
        .into_iter()
        .filter(|n| n.ends_with(TEMP_SUFFIX))
    {
        let path = dir.join(name);
        remove_file(&path)?;
    }
    Ok(())
}

/// Deletes a file; one already gone is fine.
pub(crate) fn remove_file(path: &Path) -> Result<(), JournalError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(io_at(path)(e)),
        _ => Ok(()),
    }
}

pub(crate) fn file_len(path: &Path) -> Result<u64, JournalError> {
    fs::metadata(path).map(|m| m.len()).map_err(io_at(path))
}
