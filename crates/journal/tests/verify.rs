//! `verify`: the numbers of a healthy journal; damage found without anything modified.

mod common;

use std::fs;
use std::path::PathBuf;

use common::*;
use switchboard_journal::{verify, ShardReport, Store};

fn every_file(dir: &std::path::Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(every_file(&path));
        } else {
            out.push((path.clone(), fs::read(&path).unwrap()));
        }
    }
    out.sort();
    out
}

#[test]
fn a_healthy_journal_reports_what_it_holds() {
    let dir = scratch("verify_healthy");
    let store = Store::open(&dir).unwrap();
    let generation = store.begin("").unwrap();
    let k = key(4);
    generation.write_snapshot(0, 0, b"empty", Some(&k)).unwrap();
    generation.write_snapshot(1, 0, b"empty", Some(&k)).unwrap();
    store.commit(&generation).unwrap();
    let mut writer = generation.writer(0, 1, Some(k.clone()), 600).unwrap();
    append_frames(&mut writer, &[100; 10]);
    writer.sync().unwrap();
    generation.write_snapshot(0, 4, b"four", Some(&k)).unwrap();
    let stray = store.begin("").unwrap();

    let report = verify(&dir, Some(&k)).unwrap();
    assert!(report.is_healthy(), "{report}");
    assert_eq!(report.generation, Some(1));
    assert_eq!(report.stray_generations, [stray.number()]);
    let segment_bytes: u64 = segments(&generation, 0)
        .iter()
        .map(|p| fs::metadata(p).unwrap().len())
        .sum();
    let snapshot_bytes = fs::metadata(&files_ending(&generation, 0, ".snap")[0])
        .unwrap()
        .len();
    // Encrypted frames of 100 bytes take 152: three to a 600-byte segment, so 4..=10 remain.
    let expected = ShardReport {
        shard: 0,
        segments: 3,
        frames: 7,
        first_seq: Some(4),
        last_seq: Some(10),
        snapshot_covers_seq: Some(4),
        bytes: segment_bytes + snapshot_bytes,
    };
    assert_eq!(report.shards[0], expected);
    assert_eq!(report.shards[1].snapshot_covers_seq, Some(0));
    let text = report.to_string();
    assert!(
        text.contains("shard 0: 3 segments, 7 frames, seq 4..=10, snapshot covers 4"),
        "{text}"
    );
    assert!(
        text.contains("stray generation: gen-000002") && text.ends_with("healthy"),
        "{text}"
    );
    assert!(
        verify(&dir, None).unwrap().is_healthy(),
        "without a key, checksums are still checked"
    );
}

#[test]
fn verify_finds_a_bit_flip_and_a_torn_tail_without_modifying_anything() {
    let (store, generation) = fresh("verify_damage");
    write_frames(&generation, None, 600, &[100; 10]);
    let all = segments(&generation, 0);
    let mut middle = fs::read(&all[1]).unwrap();
    middle[28 + 124 + 30] ^= 4;
    fs::write(&all[1], middle).unwrap();
    let mut last = fs::read(&all[2]).unwrap();
    last[28 + 124 + 10] ^= 4;
    fs::write(&all[2], last).unwrap();
    let before = every_file(store.dir());

    let report = verify(store.dir(), None).unwrap();
    assert!(!report.is_healthy());
    let problem = &report.problems[0];
    assert!(
        problem.contains(&all[1].display().to_string()) && problem.contains("offset 152"),
        "{problem}"
    );
    assert!(report.to_string().contains("1 problem(s)"));
    assert_eq!(every_file(store.dir()), before, "verify modifies nothing");

    // A torn tail alone is listed, not a problem.
    let (store, generation) = fresh("verify_torn");
    write_frames(&generation, None, 600, &[100; 10]);
    let last = segments(&generation, 0).pop().unwrap();
    let mut bytes = fs::read(&last).unwrap();
    bytes[28 + 124 + 10] ^= 4;
    fs::write(&last, bytes).unwrap();
    let before = every_file(store.dir());
    let report = verify(store.dir(), None).unwrap();
    assert!(report.is_healthy(), "{report}");
    assert_eq!((report.torn.len(), report.torn[0].offset), (1, 152));
    assert_eq!(every_file(store.dir()), before);
}

#[test]
fn verify_of_a_missing_directory_is_an_error_and_creates_nothing() {
    let dir = scratch("verify_missing").join("absent");
    assert!(verify(&dir, None).is_err());
    assert!(!dir.exists());
}
