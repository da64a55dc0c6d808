//! A crash mid-frame: a torn tail at every byte of the last two frames, cut off or zeroed, reads
//! as exactly the frames before it, is reported, and the journal goes on after it.

mod common;

use std::fs::{self, OpenOptions};
use std::path::Path;

use common::*;
use switchboard_journal::{Key, Recovery, Store};

#[derive(Clone, Copy, Debug)]
enum Damage {
    /// The file ends at the cut.
    Truncate,
    /// Everything from the cut on reads as zeros (the preallocated tail showing through).
    ZeroFill,
}

fn damage(path: &Path, cut: usize, how: Damage) {
    match how {
        Damage::Truncate => OpenOptions::new()
            .write(true)
            .open(path)
            .unwrap()
            .set_len(cut as u64)
            .unwrap(),
        Damage::ZeroFill => {
            let mut bytes = fs::read(path).unwrap();
            bytes[cut..].fill(0);
            fs::write(path, bytes).unwrap();
        }
    }
}

/// Writes frames of `lens` into one segment, then for every cut from the start of the
/// second-to-last frame to the end of the last: damage, read, check, append, read again.
fn torn_at_every_offset(name: &str, key: Option<Key>, lens: &[usize], how: Damage) {
    let pristine = scratch(&format!("{name}-pristine"));
    let store = Store::open(&pristine).unwrap();
    let generation = store.begin("").unwrap();
    store.commit(&generation).unwrap();
    let written = write_frames(&generation, key.clone(), 1 << 16, lens);
    let seal = if key.is_some() { SEAL } else { 0 };
    let offsets = frame_offsets(&lens.iter().map(|l| l + seal).collect::<Vec<_>>());
    let n = lens.len();
    let work = pristine.with_file_name(format!("{name}-work"));
    for cut in offsets[n - 2]..=offsets[n] {
        copy_dir(&pristine, &work);
        let generation = Store::open(&work).unwrap().current().unwrap().unwrap();
        let segment = segments(&generation, 0).remove(0);
        damage(&segment, cut, how);
        let whole = offsets.iter().skip(1).filter(|&&end| end <= cut).count();
        let (frames, report) = read(&generation, 0, key.as_ref(), Recovery::Strict).unwrap();
        assert_eq!(frames, written[..whole], "cut at {cut} ({how:?})");
        let at_boundary = offsets.contains(&cut);
        match &report.torn {
            Some(torn) => {
                assert!(
                    !at_boundary,
                    "cut at a frame boundary {cut} is a clean end, not torn"
                );
                assert_eq!(
                    (torn.path.as_path(), torn.offset),
                    (segment.as_path(), offsets[whole] as u64)
                );
            }
            None => assert!(at_boundary, "cut at {cut} ({how:?}) not reported as torn"),
        }
        let mut writer = generation
            .writer(0, whole as u64 + 1, key.clone(), 1 << 16)
            .unwrap();
        let more = append_frames(&mut writer, &[33, 44]);
        writer.sync().unwrap();
        let (again, report) = read(&generation, 0, key.as_ref(), Recovery::Strict).unwrap();
        assert!(
            report.torn.is_none(),
            "the torn tail was cut off by the first read"
        );
        assert_eq!(
            again,
            [&written[..whole], &more[..]].concat(),
            "append after a cut at {cut}"
        );
    }
}

#[test]
fn a_torn_tail_at_every_byte_of_the_last_two_frames_truncated() {
    torn_at_every_offset("torn_truncate", None, &[50, 61, 45, 77], Damage::Truncate);
}

#[test]
fn a_torn_tail_at_every_byte_of_the_last_two_frames_zero_filled() {
    torn_at_every_offset("torn_zero", None, &[50, 61, 45, 77], Damage::ZeroFill);
}

#[test]
fn a_torn_tail_at_every_byte_of_the_last_two_encrypted_frames() {
    torn_at_every_offset(
        "torn_encrypted",
        Some(key(7)),
        &[50, 61, 45, 21],
        Damage::ZeroFill,
    );
}

#[test]
fn a_bad_checksum_on_the_last_frame_only_is_a_torn_tail() {
    let (_store, generation) = fresh("torn_last_crc");
    let lens = [40, 50, 60];
    let written = write_frames(&generation, None, 1 << 16, &lens);
    let offsets = frame_offsets(&lens);
    let segment = segments(&generation, 0).remove(0);
    let mut bytes = fs::read(&segment).unwrap();
    bytes[offsets[2] + FRAME_HEADER + 5] ^= 0x10;
    fs::write(&segment, &bytes).unwrap();
    let (frames, report) = read(&generation, 0, None, Recovery::Strict).unwrap();
    assert_eq!(frames, written[..2]);
    let torn = report.torn.unwrap();
    assert_eq!(torn.offset, offsets[2] as u64);
    assert!(torn.why.contains("checksum"), "{}", torn.why);
    assert_eq!(
        fs::metadata(&segment).unwrap().len(),
        offsets[2] as u64,
        "cut to the last good frame"
    );
}

#[test]
fn a_rolled_segment_after_a_torn_one_reads_back_whole() {
    let (_store, generation) = fresh("torn_then_roll");
    let written = write_frames(&generation, None, 600, &[100; 12]);
    let last = segments(&generation, 0).pop().unwrap();
    let len = fs::read(&last)
        .unwrap()
        .iter()
        .rposition(|&b| b != 0)
        .unwrap()
        + 1;
    damage(&last, len - 30, Damage::Truncate);
    let (frames, report) = read(&generation, 0, None, Recovery::Strict).unwrap();
    assert!(report.torn.is_some());
    let kept = frames.len();
    assert_eq!(frames, written[..kept]);
    let mut writer = generation.writer(0, kept as u64 + 1, None, 600).unwrap();
    let more = append_frames(&mut writer, &[100; 15]);
    writer.sync().unwrap();
    let (again, report) = read(&generation, 0, None, Recovery::Strict).unwrap();
    assert!(report.torn.is_none());
    assert_eq!(again, [&written[..kept], &more[..]].concat());
}

#[test]
fn a_last_segment_whose_header_never_reached_the_disk_is_torn_and_replaced() {
    let (_store, generation) = fresh("torn_header");
    let written = write_frames(&generation, None, 600, &[100; 8]);
    let last = segments(&generation, 0).pop().unwrap();
    let first_in_last: usize = last.file_stem().unwrap().to_str().unwrap().parse().unwrap();
    damage(&last, 0, Damage::ZeroFill);
    let (frames, report) = read(&generation, 0, None, Recovery::Strict).unwrap();
    let torn = report.torn.unwrap();
    assert_eq!(
        (torn.path, torn.offset, torn.discarded_bytes),
        (last.clone(), 0, 0)
    );
    assert!(!last.exists(), "a segment without a header is removed");
    assert!(
        first_in_last > 1,
        "the test needs a segment before the torn one"
    );
    assert_eq!(frames, written[..first_in_last - 1]);
    let mut writer = generation
        .writer(0, frames.len() as u64 + 1, None, 600)
        .unwrap();
    let more = append_frames(&mut writer, &[70; 3]);
    writer.sync().unwrap();
    assert_eq!(
        read(&generation, 0, None, Recovery::Strict).unwrap().0,
        [&frames[..], &more[..]].concat()
    );
}
