//! `Generation::read_frames`: every frame after a seq, across segments, and the repair of a
//! torn tail (or, when asked, of corruption) so the shard can be written again.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::Path;

use crate::error::{io_at, JournalError};
use crate::files::{self, Named};
use crate::key::Key;
use crate::scan::{Cut, Ending, Scanner};
use crate::{FrameRef, ReadReport, Recovery, Torn};

/// The body of [`crate::Generation::read_frames`] for one shard directory.
pub(crate) fn read_frames(
    dir: &Path,
    shard: u32,
    after: u64,
    key: Option<&Key>,
    recovery: Recovery,
    visit: &mut dyn FnMut(FrameRef<'_>) -> Result<(), JournalError>,
) -> Result<ReadReport, JournalError> {
    let (segments, _) = files::list_shard(dir)?;
    let mut report = ReadReport::default();
    // Segments wholly at or below `after` are skipped unread: their successor's name says so.
    let start = segments
        .iter()
        .rposition(|s| s.seq <= after.saturating_add(1))
        .unwrap_or(0);
    let mut scanner = Scanner::new(shard, after, key, true);
    let mut counting = |frame: FrameRef<'_>| {
        report.frames += 1;
        visit(frame)
    };
    let mut data = Vec::new();
    let mut next_seq = segments
        .get(start)
        .map_or(0, |s| s.seq.min(after.saturating_add(1)));
    let (mut torn, mut last_seq) = (None, None);
    for (i, segment) in segments.iter().enumerate().skip(start) {
        let is_last = i + 1 == segments.len();
        let ending = if segment.seq != next_seq {
            let (why, discarded_bytes) = (
                missing_frames(next_seq, segment.seq),
                files::file_len(&segment.path)?,
            );
            Ending::Corrupt(Cut {
                offset: 0,
                discarded_bytes,
                why,
            })
        } else {
            read_whole(&segment.path, &mut data)?;
            let scanned =
                scanner.scan(&segment.path, segment.seq, &data, is_last, &mut counting)?;
            if scanned.next_seq > segment.seq {
                last_seq = Some(scanned.next_seq - 1);
            }
            next_seq = scanned.next_seq;
            scanned.ending
        };
        match (ending, recovery) {
            (Ending::Clean, _) => continue,
            (Ending::Corrupt(cut), Recovery::Strict) => {
                return Err(JournalError::Corrupt {
                    path: segment.path.clone(),
                    offset: cut.offset,
                    why: cut.why,
                })
            }
            (Ending::Torn(cut), _) => torn = Some(repair(segment, cut, &[])?),
            (Ending::Corrupt(cut), Recovery::Truncate) => {
                torn = Some(repair(segment, cut, &segments[i + 1..])?)
            }
        }
        break;
    }
    report.last_seq = last_seq;
    report.torn = torn;
    Ok(report)
}

fn missing_frames(expected: u64, found: u64) -> String {
    if found > expected {
        format!(
            "frames {expected}..={} are missing: no segment holds them",
            found - 1
        )
    } else {
        format!(
            "segment starts at seq {found}, but the frames before it end at {}",
            expected.saturating_sub(1)
        )
    }
}

/// Reads all of `path` into `data`, reusing its allocation.
pub(crate) fn read_whole(path: &Path, data: &mut Vec<u8>) -> Result<(), JournalError> {
    data.clear();
    File::open(path)
        .and_then(|mut f| f.read_to_end(data))
        .map_err(io_at(path))?;
    Ok(())
}

/// Cuts `segment` at the damage (deleting it if not even its header is good) and deletes the
/// segments `later`, so the shard ends at its last good frame and can be appended to again.
fn repair(segment: &Named, cut: Cut, later: &[Named]) -> Result<Torn, JournalError> {
    let file_len = files::file_len(&segment.path)?;
    let mut discarded_bytes = cut.discarded_bytes;
    let mut why = cut.why;
    for next in later {
        discarded_bytes += files::file_len(&next.path)?;
        files::remove_file(&next.path)?;
    }
    if !later.is_empty() {
        why = format!("{why}; {} later segment(s) discarded", later.len());
    }
    truncate_or_remove(&segment.path, cut.offset, file_len)?;
    let dir = segment
        .path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    files::sync_dir(&dir)?;
    Ok(Torn {
        path: segment.path.clone(),
        offset: cut.offset,
        discarded_bytes,
        why,
    })
}

/// Shortens `path` to `len` bytes durably; a segment left without a whole header is removed.
pub(crate) fn truncate_or_remove(path: &Path, len: u64, file_len: u64) -> Result<(), JournalError> {
    if len < crate::format::SEGMENT_HEADER_BYTES as u64 {
        return files::remove_file(path);
    }
    if len == file_len {
        return Ok(());
    }
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io_at(path))?;
    file.set_len(len)
        .and_then(|()| file.sync_data())
        .map_err(io_at(path))
}
