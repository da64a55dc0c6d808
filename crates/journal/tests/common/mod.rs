//! Helpers shared by the journal's tests: scratch directories, payloads, reading back.
#![allow(dead_code)] // each test file uses its own subset

use std::fs;
use std::path::{Path, PathBuf};

use switchboard_journal::{Generation, JournalError, Key, ReadReport, Recovery, Store};

pub const SEGMENT_HEADER: usize = 28;
pub const FRAME_HEADER: usize = 24;
/// Nonce and tag an encrypted payload carries.
pub const SEAL: usize = 28;

/// A fresh, empty directory under the target dir's test scratch space (not tmpfs-specific).
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("journal-tests")
        .join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// A store in a fresh directory with one begun and committed generation.
pub fn fresh(name: &str) -> (Store, Generation) {
    let store = Store::open(&scratch(name)).unwrap();
    let generation = store.begin("[journal]\n").unwrap();
    store.commit(&generation).unwrap();
    (store, generation)
}

/// A deterministic payload for `seq` of `len` bytes whose length's low byte is never zero, so a
/// cut just after a frame's first byte leaves something non-zero.
pub fn payload(seq: u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (seq as usize * 31 + i * 7) as u8 | 1)
        .collect()
}

pub fn key(byte: u8) -> Key {
    Key::from_bytes([byte; 32])
}

/// A frame read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub seq: u64,
    pub time_ms: u64,
    pub payload: Vec<u8>,
}

pub fn read(
    generation: &Generation,
    after: u64,
    key: Option<&Key>,
    recovery: Recovery,
) -> Result<(Vec<Frame>, ReadReport), JournalError> {
    let mut frames = Vec::new();
    let report = generation.read_frames(0, after, key, recovery, |f| {
        frames.push(Frame {
            seq: f.seq,
            time_ms: f.time_ms,
            payload: f.payload.to_vec(),
        });
        Ok(())
    })?;
    Ok((frames, report))
}

/// Appends `lens.len()` frames (seq i+1 gets `payload(i+1, lens[i])`, time 1000 + seq), syncs.
pub fn write_frames(
    generation: &Generation,
    key: Option<Key>,
    segment_bytes: u64,
    lens: &[usize],
) -> Vec<Frame> {
    let mut writer = generation.writer(0, 1, key, segment_bytes).unwrap();
    let frames = append_frames(&mut writer, lens);
    writer.sync().unwrap();
    frames
}

pub fn append_frames(writer: &mut switchboard_journal::Writer, lens: &[usize]) -> Vec<Frame> {
    let mut frames = Vec::new();
    for &len in lens {
        let seq = writer.next_seq();
        let frame = Frame {
            seq,
            time_ms: 1000 + seq,
            payload: payload(seq, len),
        };
        assert_eq!(writer.append(frame.time_ms, &frame.payload).unwrap(), seq);
        frames.push(frame);
    }
    frames
}

/// The shard's segment files, sorted by name (so by first seq).
pub fn segments(generation: &Generation, shard: u32) -> Vec<PathBuf> {
    files_ending(generation, shard, ".seg")
}

pub fn files_ending(generation: &Generation, shard: u32, suffix: &str) -> Vec<PathBuf> {
    let dir = generation.dir().join(format!("shard-{shard}"));
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    paths.sort();
    paths
}

/// Copies every file of `from` into `to` (recursively), replacing `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    let _ = fs::remove_dir_all(to);
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Offsets where each frame starts in a segment holding frames of these stored payload sizes,
/// plus the end of the last.
pub fn frame_offsets(stored_lens: &[usize]) -> Vec<usize> {
    let mut offsets = vec![SEGMENT_HEADER];
    for len in stored_lens {
        offsets.push(offsets.last().unwrap() + FRAME_HEADER + len);
    }
    offsets
}
