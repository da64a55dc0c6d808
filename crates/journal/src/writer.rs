//! `Writer`: appends frames to a shard's segments, one `write(2)` each, and syncs on request.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use aes_gcm::Aes256Gcm;

use crate::error::{io_at, JournalError};
use crate::files;
use crate::format::{self, SegmentHeader, FRAME_HEADER_BYTES, SEGMENT_HEADER_BYTES};
use crate::key::{self, Key};
use crate::read::{read_whole, truncate_or_remove};
use crate::scan::{Ending, Scanner};

/// Appends frames to one shard of a generation. Owned by the shell's writer thread; it never
/// spawns, sleeps or reads a clock (the caller passes each frame's time).
pub struct Writer {
    dir: PathBuf,
    shard: u32,
    cipher: Option<Aes256Gcm>,
    segment_bytes: u64,
    file: File,
    path: PathBuf,
    /// Bytes of the current segment in use, header included.
    used: u64,
    frames_in_segment: u64,
    next_seq: u64,
    /// A segment was created since the last sync: its directory entry is not durable yet.
    dir_dirty: bool,
    /// A write or sync failed: see [`JournalError::Io`].
    failed: bool,
    /// One frame, reused so an append allocates nothing once warm.
    buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn open(
        dir: PathBuf,
        shard: u32,
        first_seq: u64,
        key: Option<Key>,
        segment_bytes: u64,
    ) -> Result<Writer, JournalError> {
        if first_seq == 0 {
            return Err(JournalError::Layout {
                path: dir,
                why: "frames are numbered from 1; a writer cannot start at 0".into(),
            });
        }
        files::ensure_dir(&dir)?;
        prepare_tail(&dir, shard, first_seq, key.as_ref())?;
        let segment_bytes = segment_bytes.max(SEGMENT_HEADER_BYTES as u64);
        let (file, path) = create_segment(&dir, shard, first_seq, key.is_some(), segment_bytes)?;
        Ok(Writer {
            dir,
            shard,
            cipher: key.as_ref().map(Key::cipher),
            segment_bytes,
            file,
            path,
            used: SEGMENT_HEADER_BYTES as u64,
            frames_in_segment: 0,
            next_seq: first_seq,
            dir_dirty: true,
            failed: false,
            buf: Vec::new(),
        })
    }

    /// Appends one frame and returns its seq. One `write(2)` of the whole frame, no sync: once
    /// this returns the bytes are in the kernel (a crash of the process keeps them, a crash of
    /// the machine may not until [`Writer::sync`]). When the frame does not fit the current
    /// segment, the segment is first trimmed to its frames and fdatasynced (with the directory,
    /// if its entry is new), and the next one created: a crash then never leaves a damaged or
    /// missing segment with another after it.
    pub fn append(&mut self, time_ms: u64, payload: &[u8]) -> Result<u64, JournalError> {
        if self.failed {
            return Err(JournalError::WriterFailed {
                path: self.path.clone(),
            });
        }
        let seq = self.next_seq;
        self.encode(seq, time_ms, payload)?;
        let frame_len = self.buf.len() as u64;
        if self.used + frame_len > self.segment_bytes && self.frames_in_segment > 0 {
            let rolled = self.roll();
            self.guard(rolled)?;
        }
        let written = self.file.write_all(&self.buf).map_err(io_at(&self.path));
        self.guard(written)?;
        self.used += frame_len;
        self.frames_in_segment += 1;
        self.next_seq += 1;
        Ok(seq)
    }

    /// Makes every appended frame durable: fdatasync of the segment, and an fsync of the shard
    /// directory if a segment was created since the last sync.
    pub fn sync(&mut self) -> Result<(), JournalError> {
        if self.failed {
            return Err(JournalError::WriterFailed {
                path: self.path.clone(),
            });
        }
        let synced = self.file.sync_data().map_err(io_at(&self.path));
        self.guard(synced)?;
        if self.dir_dirty {
            let synced = files::sync_dir(&self.dir);
            self.guard(synced)?;
            self.dir_dirty = false;
        }
        Ok(())
    }

    /// The seq the next appended frame will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Fills `buf` with the frame: header, then the payload as stored (sealed with a key).
    fn encode(&mut self, seq: u64, time_ms: u64, payload: &[u8]) -> Result<(), JournalError> {
        let too_large = || JournalError::TooLarge {
            path: self.path.clone(),
            bytes: payload.len(),
        };
        self.buf.clear();
        self.buf.resize(FRAME_HEADER_BYTES, 0);
        match &self.cipher {
            Some(cipher) => {
                let aad = crate::scan::frame_aad(self.shard, seq);
                key::seal_into(cipher, &aad, payload, &mut self.buf).map_err(|()| too_large())?;
            }
            None => self.buf.extend_from_slice(payload),
        }
        if self.buf.len() - FRAME_HEADER_BYTES > u32::MAX as usize {
            return Err(too_large());
        }
        let (header, stored) = self.buf.split_at_mut(FRAME_HEADER_BYTES);
        format::encode_frame_header(header, seq, time_ms, stored);
        Ok(())
    }

    fn roll(&mut self) -> Result<(), JournalError> {
        let finished = self
            .file
            .set_len(self.used)
            .and_then(|()| self.file.sync_data());
        finished.map_err(io_at(&self.path))?;
        // The finished segment's own entry must be durable before a successor can be, or a
        // crash could leave a hole in the chain.
        if self.dir_dirty {
            files::sync_dir(&self.dir)?;
        }
        let encrypted = self.cipher.is_some();
        let (file, path) = create_segment(
            &self.dir,
            self.shard,
            self.next_seq,
            encrypted,
            self.segment_bytes,
        )?;
        (self.file, self.path) = (file, path);
        self.used = SEGMENT_HEADER_BYTES as u64;
        self.frames_in_segment = 0;
        self.dir_dirty = true;
        Ok(())
    }

    fn guard<T>(&mut self, result: Result<T, JournalError>) -> Result<T, JournalError> {
        self.failed |= result.is_err();
        result
    }
}

/// Makes the shard's last segment end at its last good frame (zeroed preallocation and a torn
/// tail cut off) so a new segment can follow it, and checks that `first_seq` continues it.
fn prepare_tail(
    dir: &Path,
    shard: u32,
    first_seq: u64,
    key: Option<&Key>,
) -> Result<(), JournalError> {
    let (segments, _) = files::list_shard(dir)?;
    let Some(last) = segments.last() else {
        return Ok(());
    };
    let mut data = Vec::new();
    read_whole(&last.path, &mut data)?;
    let mut scanner = Scanner::new(shard, u64::MAX, key, true);
    let scanned = scanner.scan(&last.path, last.seq, &data, true, &mut |_| Ok(()))?;
    if let Ending::Corrupt(cut) = scanned.ending {
        return Err(JournalError::Corrupt {
            path: last.path.clone(),
            offset: cut.offset,
            why: cut.why,
        });
    }
    if scanned.next_seq != first_seq {
        let (next_seq, path) = (scanned.next_seq, last.path.clone());
        return Err(JournalError::SeqMismatch {
            path,
            next_seq,
            requested: first_seq,
        });
    }
    if scanned.next_seq == last.seq {
        // No frames: the new segment takes its name.
        return files::remove_file(&last.path);
    }
    truncate_or_remove(&last.path, scanned.good_end, data.len() as u64)
}

/// Creates a segment starting at `first_seq`: header written, file preallocated to
/// `segment_bytes` with `set_len` (sparse: the tail reads as zeros; no blocks reserved).
fn create_segment(
    dir: &Path,
    shard: u32,
    first_seq: u64,
    encrypted: bool,
    segment_bytes: u64,
) -> Result<(File, PathBuf), JournalError> {
    let path = dir.join(files::segment_name(first_seq));
    let header = SegmentHeader {
        encrypted,
        shard,
        first_seq,
    }
    .encode();
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .map_err(io_at(&path))?;
    file.write_all(&header)
        .and_then(|()| file.set_len(segment_bytes))
        .map_err(io_at(&path))?;
    Ok((file, path))
}
