//! Snapshots: written atomically, read back newest first, and what they make redundant goes.

mod common;

use std::fs;

use common::*;
use switchboard_journal::{JournalError, Recovery};

#[test]
fn a_snapshot_reads_back_and_the_newest_wins() {
    let (_store, generation) = fresh("snapshot_round_trip");
    assert_eq!(generation.latest_snapshot(0, None).unwrap(), None);
    generation
        .write_snapshot(0, 0, b"checkpoint", None)
        .unwrap();
    generation
        .write_snapshot(0, 42, b"state at 42", None)
        .unwrap();
    assert_eq!(
        generation.latest_snapshot(0, None).unwrap(),
        Some((42, b"state at 42".to_vec()))
    );
    assert_eq!(
        files_ending(&generation, 0, ".snap").len(),
        1,
        "the older snapshot is deleted"
    );
    generation.write_snapshot(0, 42, b"", None).unwrap();
    assert_eq!(
        generation.latest_snapshot(0, None).unwrap(),
        Some((42, Vec::new())),
        "rewritten in place"
    );
    assert_eq!(
        generation.latest_snapshot(1, None).unwrap(),
        None,
        "another shard has none"
    );
}

#[test]
fn segments_wholly_covered_by_a_snapshot_are_deleted_but_never_the_newest() {
    let (_store, generation) = fresh("snapshot_covers");
    // 100-byte payloads, 4 frames per 600-byte segment: segments start at 1, 5, 9, 13, 17.
    let written = write_frames(&generation, None, 600, &[100; 20]);
    let names = |g: &switchboard_journal::Generation| -> Vec<String> {
        segments(g, 0)
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy()[15..20].to_string())
            .collect()
    };
    assert_eq!(
        names(&generation),
        ["00001", "00005", "00009", "00013", "00017"]
    );
    generation.write_snapshot(0, 7, b"s7", None).unwrap();
    assert_eq!(
        names(&generation),
        ["00005", "00009", "00013", "00017"],
        "frames 5..=8 are not all covered"
    );
    generation.write_snapshot(0, 12, b"s12", None).unwrap();
    assert_eq!(names(&generation), ["00013", "00017"]);
    assert_eq!(
        read(&generation, 12, None, Recovery::Strict).unwrap().0,
        written[12..]
    );
    generation.write_snapshot(0, 20, b"s20", None).unwrap();
    assert_eq!(
        names(&generation),
        ["00017"],
        "the newest segment stays: the writer appends to it"
    );

    // Recovery reads from the newest snapshot on: nothing after it, and where to go on.
    let (frames, report) = read(&generation, 20, None, Recovery::Strict).unwrap();
    assert!(frames.is_empty());
    assert_eq!(report.last_seq, Some(20));
    assert_eq!(written.len(), 20);
}

#[test]
fn reading_after_a_snapshot_skips_the_leftovers_of_an_interrupted_deletion() {
    let (_store, generation) = fresh("snapshot_leftovers");
    let written = write_frames(&generation, None, 600, &[100; 20]);
    let all = segments(&generation, 0);
    let kept = fs::read(&all[0]).unwrap();
    generation.write_snapshot(0, 12, b"s12", None).unwrap();
    // A crash kept segment 1 (its deletion never reached the disk) while 5 and 9 went.
    fs::write(&all[0], kept).unwrap();
    assert_eq!(
        read(&generation, 12, None, Recovery::Strict).unwrap().0,
        written[12..]
    );
}

#[test]
fn a_temp_file_left_by_a_crash_is_ignored_and_cleaned_up() {
    let (_store, generation) = fresh("snapshot_temp");
    generation.write_snapshot(0, 5, b"five", None).unwrap();
    let temp = generation
        .dir()
        .join("shard-0")
        .join("snap-00000000000000000009.snap.tmp");
    fs::write(&temp, b"half a snapsh").unwrap();
    assert_eq!(
        generation.latest_snapshot(0, None).unwrap(),
        Some((5, b"five".to_vec()))
    );
    generation.write_snapshot(0, 6, b"six", None).unwrap();
    assert!(!temp.exists(), "the next snapshot removes it");
    assert_eq!(
        generation.latest_snapshot(0, None).unwrap(),
        Some((6, b"six".to_vec()))
    );
}

#[test]
fn a_corrupt_snapshot_is_an_error_naming_the_file() {
    let (_store, generation) = fresh("snapshot_corrupt");
    generation
        .write_snapshot(0, 8, b"the state of shard zero", None)
        .unwrap();
    let path = files_ending(&generation, 0, ".snap").remove(0);
    let pristine = fs::read(&path).unwrap();
    for byte in 0..pristine.len() {
        let mut bytes = pristine.clone();
        bytes[byte] ^= 1 << (byte % 8);
        fs::write(&path, &bytes).unwrap();
        match generation.latest_snapshot(0, None) {
            Err(JournalError::Corrupt { path: p, .. }) => assert_eq!(p, path, "byte {byte}"),
            other => panic!("byte {byte}: expected Corrupt, got {other:?}"),
        }
    }
    fs::write(&path, &pristine[..pristine.len() - 1]).unwrap();
    let err = generation.latest_snapshot(0, None).unwrap_err();
    assert!(
        err.to_string().contains("snap-00000000000000000008.snap"),
        "{err}"
    );
}
