//! Reading one segment: its header, its frames in seq order, and how it ends.

use std::path::Path;

use aes_gcm::Aes256Gcm;

use crate::error::JournalError;
use crate::format::{self, SegmentHeader, FRAME_HEADER_BYTES, SEGMENT_HEADER_BYTES};
use crate::key::{self, Key};
use crate::FrameRef;

/// Where and why a segment stops making sense.
#[derive(Debug, Clone)]
pub(crate) struct Cut {
    pub offset: u64,
    /// Bytes from `offset` up to the last non-zero byte: a zeroed preallocated tail is not data.
    pub discarded_bytes: u64,
    pub why: String,
}

/// How a segment ends after its last good frame.
#[derive(Debug, Clone)]
pub(crate) enum Ending {
    /// Nothing but zeros (or nothing) after the last good frame.
    Clean,
    /// A crash can explain it: the last segment's final frame cut short, zeroed or failing its
    /// checksum with nothing valid after it, or a header never written.
    Torn(Cut),
    /// A crash cannot explain it.
    Corrupt(Cut),
}

/// What one segment held.
#[derive(Debug)]
pub(crate) struct Scanned {
    /// The seq the next frame (in this segment or the next) must have.
    pub next_seq: u64,
    /// Offset just past the last good frame (0 if the header itself is bad).
    pub good_end: u64,
    pub ending: Ending,
}

/// Reads segments of one shard. Frames with seq > `after` are decrypted (when `decrypt`) and
/// visited; the others are only checked.
pub(crate) struct Scanner {
    pub shard: u32,
    pub after: u64,
    cipher: Option<Aes256Gcm>,
    /// Whether payloads are opened: false only for `verify` without a key.
    decrypt: bool,
    plain: Vec<u8>,
}

impl Scanner {
    pub fn new(shard: u32, after: u64, key: Option<&Key>, decrypt: bool) -> Scanner {
        Scanner {
            shard,
            after,
            cipher: key.map(Key::cipher),
            decrypt,
            plain: Vec::new(),
        }
    }

    /// Scans the segment `data` read from `path`, which its name says starts at `first_seq`.
    /// `is_last`: damage a crash can explain is only possible in the shard's last segment.
    pub fn scan(
        &mut self,
        path: &Path,
        first_seq: u64,
        data: &[u8],
        is_last: bool,
        visit: &mut dyn FnMut(FrameRef<'_>) -> Result<(), JournalError>,
    ) -> Result<Scanned, JournalError> {
        let header = match self.header(path, first_seq, data, is_last)? {
            Ok(header) => header,
            Err(ending) => {
                return Ok(Scanned {
                    next_seq: first_seq,
                    good_end: 0,
                    ending,
                })
            }
        };
        let mut at = SEGMENT_HEADER_BYTES;
        let mut seq = first_seq;
        loop {
            let rest = &data[at..];
            let (frame, size) = match format::parse_frame(rest) {
                Ok(parsed) => parsed,
                Err(why) => {
                    let ending = tail_ending(rest, at, seq, why, is_last);
                    return Ok(Scanned {
                        next_seq: seq,
                        good_end: at as u64,
                        ending,
                    });
                }
            };
            if frame.seq != seq {
                let why = format!(
                    "seq gap: expected seq {seq}, found a valid frame with seq {}",
                    frame.seq
                );
                let ending = Ending::Corrupt(Cut {
                    offset: at as u64,
                    discarded_bytes: nonzero_len(rest),
                    why,
                });
                return Ok(Scanned {
                    next_seq: seq,
                    good_end: at as u64,
                    ending,
                });
            }
            if seq > self.after {
                self.visit(path, header.encrypted, frame, visit)?;
            }
            at += size;
            seq += 1;
        }
    }

    /// The header, or how the segment ends if it has none; `Err` if the key does not fit it.
    fn header(
        &self,
        path: &Path,
        first_seq: u64,
        data: &[u8],
        is_last: bool,
    ) -> Result<Result<SegmentHeader, Ending>, JournalError> {
        if is_last && nonzero_len(data) == 0 {
            let why = "segment header never written (created just before a crash)".to_string();
            return Ok(Err(Ending::Torn(Cut {
                offset: 0,
                discarded_bytes: 0,
                why,
            })));
        }
        let header = match SegmentHeader::decode(data) {
            Ok(header) => header,
            Err(why) => {
                return Ok(Err(Ending::Corrupt(Cut {
                    offset: 0,
                    discarded_bytes: nonzero_len(data),
                    why,
                })))
            }
        };
        let mismatch = if header.shard != self.shard {
            Some(format!(
                "segment header says shard {}, its directory is shard {}",
                header.shard, self.shard
            ))
        } else if header.first_seq != first_seq {
            Some(format!(
                "segment header says first seq {}, its name says {first_seq}",
                header.first_seq
            ))
        } else {
            None
        };
        if let Some(why) = mismatch {
            return Ok(Err(Ending::Corrupt(Cut {
                offset: 0,
                discarded_bytes: nonzero_len(data),
                why,
            })));
        }
        let path = path.to_path_buf();
        match (header.encrypted, self.cipher.is_some()) {
            (true, false) if self.decrypt => Err(JournalError::Encrypted { path }),
            (false, true) => Err(JournalError::NotEncrypted { path }),
            _ => Ok(Ok(header)),
        }
    }

    fn visit(
        &mut self,
        path: &Path,
        encrypted: bool,
        frame: format::RawFrame<'_>,
        visit: &mut dyn FnMut(FrameRef<'_>) -> Result<(), JournalError>,
    ) -> Result<(), JournalError> {
        let payload = match (&self.cipher, encrypted && self.decrypt) {
            (Some(cipher), true) => {
                let aad = frame_aad(self.shard, frame.seq);
                key::open_into(cipher, &aad, frame.stored, &mut self.plain).map_err(|()| {
                    JournalError::WrongKey {
                        path: path.to_path_buf(),
                    }
                })?;
                &self.plain[..]
            }
            _ => frame.stored,
        };
        visit(FrameRef {
            seq: frame.seq,
            time_ms: frame.time_ms,
            payload,
        })
    }
}

/// The additional data sealed with a frame: a frame cannot be moved to another shard or seq.
pub(crate) fn frame_aad(shard: u32, seq: u64) -> [u8; 12] {
    let mut aad = [0u8; 12];
    aad[..4].copy_from_slice(&shard.to_le_bytes());
    aad[4..].copy_from_slice(&seq.to_le_bytes());
    aad
}

/// How a segment ends at `at` (where `rest` starts) when no frame parses there.
fn tail_ending(rest: &[u8], at: usize, seq: u64, why: String, is_last: bool) -> Ending {
    let discarded_bytes = nonzero_len(rest);
    if discarded_bytes == 0 {
        return Ending::Clean;
    }
    // Each frame takes at least a header, which bounds the seqs a real later frame could have.
    let max_seq = seq.saturating_add((rest.len() / FRAME_HEADER_BYTES) as u64);
    let cut = |why| Cut {
        offset: at as u64,
        discarded_bytes,
        why,
    };
    if !is_last {
        Ending::Corrupt(cut(format!("{why}, in a segment that is not the last")))
    } else if format::valid_frame_after(rest, seq..=max_seq) {
        Ending::Corrupt(cut(format!("{why}, with valid frames after it")))
    } else {
        Ending::Torn(cut(why))
    }
}

/// Bytes up to and including the last non-zero one.
fn nonzero_len(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |i| i as u64 + 1)
}
