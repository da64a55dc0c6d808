//! `verify`: reads everything of the current generation, modifies nothing, reports.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::JournalError;
use crate::files::{self, Named};
use crate::key::Key;
use crate::read::read_whole;
use crate::scan::{Ending, Scanner};
use crate::store::Store;
use crate::{snapshot, Torn};

/// What `verify` found. Problems are damage recovery would refuse (or, with
/// `Recovery::Truncate`, cut away); torn tails are what a crash leaves and recovery repairs.
#[derive(Debug, Default)]
pub struct VerifyReport {
    /// The data directory.
    pub dir: PathBuf,
    /// The current generation's number; `None` if none was ever committed.
    pub generation: Option<u64>,
    /// Generations other than the current one: begun and never committed, or left by a crash
    /// before their deletion. The next start deletes them.
    pub stray_generations: Vec<u64>,
    /// One entry per shard directory of the current generation, by shard.
    pub shards: Vec<ShardReport>,
    /// Torn tails found (left in place: `verify` never modifies anything).
    pub torn: Vec<Torn>,
    /// Damage, each naming the file and offset.
    pub problems: Vec<String>,
}

/// What one shard holds.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ShardReport {
    /// The shard.
    pub shard: u32,
    /// Segment files.
    pub segments: usize,
    /// Good frames in them (up to the first damage).
    pub frames: u64,
    /// The first and last good frame's seq.
    pub first_seq: Option<u64>,
    /// See `first_seq`.
    pub last_seq: Option<u64>,
    /// The newest snapshot's `covers_seq`.
    pub snapshot_covers_seq: Option<u64>,
    /// Bytes of segment and snapshot files (preallocated space included).
    pub bytes: u64,
}

impl VerifyReport {
    /// No problems (torn tails and stray generations are normal after a crash).
    pub fn is_healthy(&self) -> bool {
        self.problems.is_empty()
    }
}

/// `switchboard journal verify`: checks every segment and snapshot of the current generation (and lists
/// stray generations), never modifies anything (no truncation). Without a key, encrypted
/// payloads are checked by checksum only; with one, every payload is also opened.
pub fn verify(dir: &Path, key: Option<&Key>) -> Result<VerifyReport, JournalError> {
    let store = Store::existing(dir)?;
    let mut report = VerifyReport {
        dir: dir.to_path_buf(),
        ..VerifyReport::default()
    };
    let current = match store.current() {
        Ok(current) => current,
        Err(e) => {
            report.problems.push(e.to_string());
            None
        }
    };
    let current_number = current.as_ref().map(|g| g.number());
    report.stray_generations = store
        .generation_numbers()?
        .into_iter()
        .filter(|&n| Some(n) != current_number)
        .collect();
    let Some(generation) = current else {
        return Ok(report);
    };
    report.generation = Some(generation.number());
    if let Err(e) = generation.config_text() {
        report.problems.push(e.to_string());
    }
    for shard in generation.shards()? {
        let dir = files::shard_dir(generation.dir(), shard);
        let mut shard_report = ShardReport {
            shard,
            ..ShardReport::default()
        };
        if let Err(e) = verify_shard(&dir, key, &mut shard_report, &mut report) {
            report.problems.push(e.to_string());
        }
        report.shards.push(shard_report);
    }
    Ok(report)
}

fn verify_shard(
    dir: &Path,
    key: Option<&Key>,
    out: &mut ShardReport,
    report: &mut VerifyReport,
) -> Result<(), JournalError> {
    let (segments, snapshots) = files::list_shard(dir)?;
    out.segments = segments.len();
    for file in segments.iter().chain(&snapshots) {
        out.bytes += files::file_len(&file.path)?;
    }
    for snap in &snapshots {
        match snapshot::read(snap, out.shard, key, key.is_some()) {
            Ok((covers_seq, _)) => out.snapshot_covers_seq = Some(covers_seq),
            Err(e) => report.problems.push(e.to_string()),
        }
    }
    let covered = out.snapshot_covers_seq.unwrap_or(0).saturating_add(1);
    // Segments before the one recovery starts from may be leftovers of an interrupted deletion;
    // each is checked on its own, the seq chain only from there on.
    let start = segments.iter().rposition(|s| s.seq <= covered).unwrap_or(0);
    let mut scanner = Scanner::new(out.shard, 0, key, key.is_some());
    let mut data = Vec::new();
    let chain_start = segments.get(start).map_or(0, |s| s.seq.min(covered));
    let mut next_seq = chain_start;
    for (i, segment) in segments.iter().enumerate() {
        if i == start {
            next_seq = chain_start;
        }
        if i >= start && segment.seq != next_seq {
            let why = format!(
                "frames from seq {next_seq} on are missing: the next segment starts at {}",
                segment.seq
            );
            report.problems.push(
                JournalError::Corrupt {
                    path: segment.path.clone(),
                    offset: 0,
                    why,
                }
                .to_string(),
            );
            return Ok(());
        }
        read_whole(&segment.path, &mut data)?;
        let is_last = i + 1 == segments.len();
        let mut count = |frame: crate::FrameRef<'_>| {
            out.frames += 1;
            out.first_seq.get_or_insert(frame.seq);
            out.last_seq = Some(frame.seq);
            Ok(())
        };
        let scanned = scanner.scan(&segment.path, segment.seq, &data, is_last, &mut count)?;
        next_seq = scanned.next_seq;
        if !record_ending(segment, scanned.ending, report) {
            return Ok(());
        }
    }
    Ok(())
}

/// Records a torn tail or damage; whether the segment ended cleanly.
fn record_ending(segment: &Named, ending: Ending, report: &mut VerifyReport) -> bool {
    let path = segment.path.clone();
    match ending {
        Ending::Clean => return true,
        Ending::Torn(cut) => report.torn.push(Torn {
            path,
            offset: cut.offset,
            discarded_bytes: cut.discarded_bytes,
            why: cut.why,
        }),
        Ending::Corrupt(cut) => report.problems.push(
            JournalError::Corrupt {
                path,
                offset: cut.offset,
                why: cut.why,
            }
            .to_string(),
        ),
    }
    false
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.generation {
            Some(number) => writeln!(
                f,
                "{}: generation {}",
                self.dir.display(),
                files::generation_name(number)
            )?,
            None => writeln!(f, "{}: no committed generation", self.dir.display())?,
        }
        for s in &self.shards {
            let seqs = match (s.first_seq, s.last_seq) {
                (Some(first), Some(last)) => format!("seq {first}..={last}"),
                _ => "no frames".to_string(),
            };
            let snapshot = s
                .snapshot_covers_seq
                .map_or("no snapshot".to_string(), |c| {
                    format!("snapshot covers {c}")
                });
            writeln!(
                f,
                "  shard {}: {} segments, {} frames, {seqs}, {snapshot}, {} bytes",
                s.shard, s.segments, s.frames, s.bytes
            )?;
        }
        for torn in &self.torn {
            let (path, offset, bytes) = (torn.path.display(), torn.offset, torn.discarded_bytes);
            writeln!(
                f,
                "  torn tail: {path} at offset {offset}, {bytes} bytes: {} (recovery cuts it)",
                torn.why
            )?;
        }
        for number in &self.stray_generations {
            writeln!(
                f,
                "  stray generation: {} (not current; the next start deletes it)",
                files::generation_name(*number)
            )?;
        }
        for problem in &self.problems {
            writeln!(f, "  problem: {problem}")?;
        }
        let frames: u64 = self.shards.iter().map(|s| s.frames).sum();
        let segments: usize = self.shards.iter().map(|s| s.segments).sum();
        let bytes: u64 = self.shards.iter().map(|s| s.bytes).sum();
        let verdict = if self.is_healthy() {
            "healthy".to_string()
        } else {
            format!("{} problem(s)", self.problems.len())
        };
        write!(
            f,
            "total: {} shards, {segments} segments, {frames} frames, {bytes} bytes: {verdict}",
            self.shards.len()
        )
    }
}
