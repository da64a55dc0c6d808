//! Byte layouts of segment headers, frames and snapshot headers (little-endian throughout).

pub(crate) const VERSION: u16 = 1;
pub(crate) const FLAG_ENCRYPTED: u16 = 1;

const SEGMENT_MAGIC: &[u8; 8] = b"SWBJRNL\0";
const SNAPSHOT_MAGIC: &[u8; 8] = b"SWBSNAP\0";

/// magic 8, version 2, flags 2, shard 4, first_seq 8, crc 4.
pub(crate) const SEGMENT_HEADER_BYTES: usize = 28;
/// len 4, crc 4, seq 8, time_ms 8.
pub(crate) const FRAME_HEADER_BYTES: usize = 24;
/// magic 8, version 2, flags 2, shard 4, covers_seq 8, payload len 8, crc 4.
pub(crate) const SNAPSHOT_HEADER_BYTES: usize = 36;

/// What a segment's header says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SegmentHeader {
    pub encrypted: bool,
    pub shard: u32,
    pub first_seq: u64,
}

impl SegmentHeader {
    pub fn encode(&self) -> [u8; SEGMENT_HEADER_BYTES] {
        let mut out = [0u8; SEGMENT_HEADER_BYTES];
        out[..8].copy_from_slice(SEGMENT_MAGIC);
        out[8..10].copy_from_slice(&VERSION.to_le_bytes());
        out[10..12].copy_from_slice(&flags(self.encrypted).to_le_bytes());
        out[12..16].copy_from_slice(&self.shard.to_le_bytes());
        out[16..24].copy_from_slice(&self.first_seq.to_le_bytes());
        let crc = crc32c::crc32c(&out[..24]);
        out[24..].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// `Err(why)` unless `bytes` starts with a well-formed header of this version.
    pub fn decode(bytes: &[u8]) -> Result<SegmentHeader, String> {
        if bytes.len() < SEGMENT_HEADER_BYTES {
            return Err(format!(
                "segment header cut short ({} of {SEGMENT_HEADER_BYTES} bytes)",
                bytes.len()
            ));
        }
        if crc32c::crc32c(&bytes[..24]) != le_u32(bytes, 24) {
            return Err("segment header checksum mismatch".into());
        }
        if &bytes[..8] != SEGMENT_MAGIC {
            return Err("not a journal segment (bad magic)".into());
        }
        check_version_and_flags(le_u16(bytes, 8), le_u16(bytes, 10))?;
        Ok(SegmentHeader {
            encrypted: le_u16(bytes, 10) & FLAG_ENCRYPTED != 0,
            shard: le_u32(bytes, 12),
            first_seq: le_u64(bytes, 16),
        })
    }
}

/// One frame as stored: `payload` is still sealed if the segment is encrypted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawFrame<'a> {
    pub seq: u64,
    pub time_ms: u64,
    pub stored: &'a [u8],
}

/// The checksum a frame carries: over its seq, time and stored payload.
pub(crate) fn frame_crc(seq: u64, time_ms: u64, stored: &[u8]) -> u32 {
    let crc = crc32c::crc32c(&seq.to_le_bytes());
    let crc = crc32c::crc32c_append(crc, &time_ms.to_le_bytes());
    crc32c::crc32c_append(crc, stored)
}

/// Writes a frame's header for `stored` into `out[..FRAME_HEADER_BYTES]`.
pub(crate) fn encode_frame_header(out: &mut [u8], seq: u64, time_ms: u64, stored: &[u8]) {
    let len = u32::try_from(stored.len()).unwrap_or(u32::MAX);
    out[..4].copy_from_slice(&len.to_le_bytes());
    out[4..8].copy_from_slice(&frame_crc(seq, time_ms, stored).to_le_bytes());
    out[8..16].copy_from_slice(&seq.to_le_bytes());
    out[16..24].copy_from_slice(&time_ms.to_le_bytes());
}

/// The frame at the start of `bytes` and its total size, or why there is none.
pub(crate) fn parse_frame(bytes: &[u8]) -> Result<(RawFrame<'_>, usize), String> {
    if bytes.len() < FRAME_HEADER_BYTES {
        return Err(format!(
            "frame header cut short by the end of the file ({} bytes left)",
            bytes.len()
        ));
    }
    let len = le_u32(bytes, 0) as usize;
    let total = FRAME_HEADER_BYTES.saturating_add(len);
    if total > bytes.len() {
        return Err(format!(
            "frame of {len} payload bytes cut short by the end of the file"
        ));
    }
    let frame = RawFrame {
        seq: le_u64(bytes, 8),
        time_ms: le_u64(bytes, 16),
        stored: &bytes[FRAME_HEADER_BYTES..total],
    };
    if frame_crc(frame.seq, frame.time_ms, frame.stored) != le_u32(bytes, 4) {
        return Err(format!(
            "frame checksum mismatch (header says seq {})",
            frame.seq
        ));
    }
    Ok((frame, total))
}

/// Whether a well-formed frame with a seq in `seqs` starts anywhere after byte 0 of `bytes`.
/// Used on damage in the last segment: a torn tail has nothing valid after it, while a flipped
/// bit in the middle does. Only offsets whose seq field is in range pay for a checksum.
pub(crate) fn valid_frame_after(bytes: &[u8], seqs: std::ops::RangeInclusive<u64>) -> bool {
    let last_start = bytes.len().saturating_sub(FRAME_HEADER_BYTES);
    (1..=last_start)
        .any(|at| seqs.contains(&le_u64(bytes, at + 8)) && parse_frame(&bytes[at..]).is_ok())
}

/// A snapshot file's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SnapshotHeader {
    pub encrypted: bool,
    pub shard: u32,
    pub covers_seq: u64,
    pub stored_len: u64,
}

impl SnapshotHeader {
    /// The header for `stored`; its checksum covers the header fields and the stored payload.
    pub fn encode(&self, stored: &[u8]) -> [u8; SNAPSHOT_HEADER_BYTES] {
        let mut out = [0u8; SNAPSHOT_HEADER_BYTES];
        out[..8].copy_from_slice(SNAPSHOT_MAGIC);
        out[8..10].copy_from_slice(&VERSION.to_le_bytes());
        out[10..12].copy_from_slice(&flags(self.encrypted).to_le_bytes());
        out[12..16].copy_from_slice(&self.shard.to_le_bytes());
        out[16..24].copy_from_slice(&self.covers_seq.to_le_bytes());
        out[24..32].copy_from_slice(&self.stored_len.to_le_bytes());
        let crc = crc32c::crc32c_append(crc32c::crc32c(&out[..32]), stored);
        out[32..].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// The header and stored payload of a whole snapshot file, or why it is not one.
    pub fn decode(file: &[u8]) -> Result<(SnapshotHeader, &[u8]), String> {
        if file.len() < SNAPSHOT_HEADER_BYTES {
            return Err(format!(
                "snapshot header cut short ({} of {SNAPSHOT_HEADER_BYTES} bytes)",
                file.len()
            ));
        }
        if &file[..8] != SNAPSHOT_MAGIC {
            return Err("not a snapshot (bad magic)".into());
        }
        let stored = &file[SNAPSHOT_HEADER_BYTES..];
        if stored.len() as u64 != le_u64(file, 24) {
            return Err(format!(
                "header says {} payload bytes, file holds {}",
                le_u64(file, 24),
                stored.len()
            ));
        }
        if crc32c::crc32c_append(crc32c::crc32c(&file[..32]), stored) != le_u32(file, 32) {
            return Err("snapshot checksum mismatch".into());
        }
        check_version_and_flags(le_u16(file, 8), le_u16(file, 10))?;
        let header = SnapshotHeader {
            encrypted: le_u16(file, 10) & FLAG_ENCRYPTED != 0,
            shard: le_u32(file, 12),
            covers_seq: le_u64(file, 16),
            stored_len: le_u64(file, 24),
        };
        Ok((header, stored))
    }
}

fn flags(encrypted: bool) -> u16 {
    if encrypted {
        FLAG_ENCRYPTED
    } else {
        0
    }
}

fn check_version_and_flags(version: u16, flags: u16) -> Result<(), String> {
    if version != VERSION {
        return Err(format!(
            "format version {version}, this build reads {VERSION}"
        ));
    }
    if flags & !FLAG_ENCRYPTED != 0 {
        return Err(format!("unknown flags {flags:#06x}"));
    }
    Ok(())
}

/// Callers have checked that `bytes` holds `at + 2` bytes.
fn le_u16(bytes: &[u8], at: usize) -> u16 {
    let mut a = [0u8; 2];
    a.copy_from_slice(&bytes[at..at + 2]);
    u16::from_le_bytes(a)
}

fn le_u32(bytes: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(a)
}

fn le_u64(bytes: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(a)
}
