//! Damage a crash cannot explain: one flipped bit anywhere in a middle frame, a segment header
//! or a segment that is not the last is refused in Strict mode (naming the segment and offset)
//! and cut away in Truncate mode.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use switchboard_journal::{Generation, JournalError, Recovery, Store};

/// Between 90 and 99 bytes, so a segment of `SEGMENT_BYTES` holds exactly five frames.
const LENS: [usize; 15] = [90, 93, 96, 99, 91, 94, 97, 92, 95, 98, 90, 99, 91, 98, 92];
const SEGMENT_BYTES: u64 = 28 + 5 * (24 + 99);

/// A committed generation with frames of `LENS` in three segments of five frames each.
struct Journal {
    pristine: PathBuf,
    work: PathBuf,
    written: Vec<Frame>,
}

impl Journal {
    fn new(name: &str) -> Journal {
        let pristine = scratch(&format!("{name}-pristine"));
        let store = Store::open(&pristine).unwrap();
        let generation = store.begin("").unwrap();
        store.commit(&generation).unwrap();
        let written = write_frames(&generation, None, SEGMENT_BYTES, &LENS);
        assert_eq!(segments(&generation, 0).len(), 3);
        Journal {
            work: pristine.with_file_name(format!("{name}-work")),
            pristine,
            written,
        }
    }

    /// A fresh copy with bit `byte % 8` of byte `byte` of segment `segment` flipped.
    fn flipped(&self, segment: usize, byte: usize) -> (Generation, PathBuf) {
        copy_dir(&self.pristine, &self.work);
        let generation = Store::open(&self.work).unwrap().current().unwrap().unwrap();
        let path = segments(&generation, 0).remove(segment);
        let mut bytes = fs::read(&path).unwrap();
        bytes[byte] ^= 1 << (byte % 8);
        fs::write(&path, bytes).unwrap();
        (generation, path)
    }
}

/// Flips every byte of `bytes` in `segment` in turn; each must be refused in Strict mode as
/// corruption at `expected_offset(byte)` and, in Truncate mode, give the frames before it.
fn flip_each(
    name: &str,
    segment: usize,
    bytes: std::ops::Range<usize>,
    expected_offset: impl Fn(usize) -> usize,
) {
    let journal = Journal::new(name);
    let first_seq = 1 + 5 * segment;
    let offsets = frame_offsets(&LENS[5 * segment..5 * segment + 5]);
    for byte in bytes {
        let offset = expected_offset(byte);
        let (generation, path) = journal.flipped(segment, byte);
        match read(&generation, 0, None, Recovery::Strict) {
            Err(JournalError::Corrupt {
                path: p, offset: o, ..
            }) => {
                assert_eq!((p, o), (path.clone(), offset as u64), "byte {byte}")
            }
            other => panic!("byte {byte}: expected Corrupt, got {other:?}"),
        }
        assert_truncate_keeps_prefix(
            &generation,
            &path,
            offset,
            first_seq - 1 + frames_before(&offsets, offset),
            &journal.written,
        );
    }
}

fn frames_before(offsets: &[usize], offset: usize) -> usize {
    offsets.iter().skip(1).filter(|&&end| end <= offset).count()
}

fn assert_truncate_keeps_prefix(
    generation: &Generation,
    path: &Path,
    offset: usize,
    kept: usize,
    written: &[Frame],
) {
    let (frames, report) = read(generation, 0, None, Recovery::Truncate).unwrap();
    assert_eq!(
        frames,
        written[..kept],
        "Truncate keeps the frames before offset {offset}"
    );
    let torn = report.torn.expect("Truncate reports what it cut");
    assert_eq!((torn.path.as_path(), torn.offset), (path, offset as u64));
    let (again, report) = read(generation, 0, None, Recovery::Strict).unwrap();
    assert!(report.torn.is_none());
    assert_eq!(
        again.len(),
        kept,
        "after Truncate the journal is whole again"
    );
}

#[test]
fn a_bit_flip_in_a_middle_frame_of_the_last_segment_is_corruption() {
    let offsets = frame_offsets(&LENS[10..]);
    let (start, end) = (offsets[2], offsets[3]);
    flip_each("flip_middle_frame", 2, start..end, |_| start);
}

#[test]
fn a_bit_flip_in_a_segment_header_is_corruption() {
    flip_each("flip_header", 2, 0..SEGMENT_HEADER, |_| 0);
    flip_each("flip_first_header", 0, 0..SEGMENT_HEADER, |_| 0);
}

#[test]
fn a_bit_flip_anywhere_in_a_segment_that_is_not_the_last_is_corruption() {
    let offsets = frame_offsets(&LENS[5..10]);
    let frame_start = |byte: usize| {
        if byte < SEGMENT_HEADER {
            0
        } else {
            offsets[frames_before(&offsets, byte)]
        }
    };
    flip_each("flip_non_last", 1, 0..offsets[5], frame_start);
}

#[test]
fn a_missing_segment_in_the_chain_is_corruption() {
    let journal = Journal::new("missing_segment");
    copy_dir(&journal.pristine, &journal.work);
    let generation = Store::open(&journal.work)
        .unwrap()
        .current()
        .unwrap()
        .unwrap();
    let all = segments(&generation, 0);
    fs::remove_file(&all[1]).unwrap();
    match read(&generation, 0, None, Recovery::Strict) {
        Err(JournalError::Corrupt {
            path,
            offset: 0,
            why,
        }) => {
            assert_eq!(path, all[2]);
            assert!(why.contains("frames 6..=10 are missing"), "{why}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert_truncate_keeps_prefix(&generation, &all[2], 0, 5, &journal.written);
    assert!(!all[2].exists(), "Truncate deletes what follows the gap");
}

#[test]
fn a_valid_frame_with_the_wrong_seq_is_corruption() {
    let journal = Journal::new("seq_gap");
    copy_dir(&journal.pristine, &journal.work);
    let generation = Store::open(&journal.work)
        .unwrap()
        .current()
        .unwrap()
        .unwrap();
    let path = segments(&generation, 0).remove(1);
    let offsets = frame_offsets(&LENS[5..10]);
    // Frame 8 replaced by frame 9 written twice: each checksum holds, the seqs do not.
    let mut bytes = fs::read(&path).unwrap();
    let ninth = bytes[offsets[3]..offsets[4]].to_vec();
    let mut rebuilt = bytes[..offsets[2]].to_vec();
    rebuilt.extend_from_slice(&ninth);
    rebuilt.extend_from_slice(&ninth);
    bytes = rebuilt;
    fs::write(&path, bytes).unwrap();
    match read(&generation, 0, None, Recovery::Strict) {
        Err(JournalError::Corrupt { offset, why, .. }) => {
            assert_eq!(offset, offsets[2] as u64);
            assert!(why.contains("expected seq 8"), "{why}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}
