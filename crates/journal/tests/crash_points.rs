//! Crash at any point: random appends with random sync points, then a crash that keeps every
//! synced byte and an arbitrary prefix of the unsynced ones (cut off, followed by zeros as the
//! preallocated tail shows through, or by garbage), and a segment created since the last sync
//! may vanish. Recovery must return exactly the frames wholly kept: a prefix of what was
//! appended that includes every synced frame. The journal must then go on.
//!
//! Not modelled: the kernel writing a later unsynced page before an earlier one (see the
//! crate docs, # Recovery).

mod common;

use std::fs::{self, OpenOptions};

use common::*;
use proptest::prelude::*;
use switchboard_journal::Recovery;

/// Where the model says each segment's frames end, by the writer's roll rule.
#[derive(Debug, Default)]
struct SegmentModel {
    /// (seq, end offset) of each frame.
    frames: Vec<(u64, usize)>,
    /// A `sync()` (or a roll, which syncs) happened since it was created.
    durable_entry: bool,
}

#[derive(Debug, Clone, Copy)]
enum Tail {
    Cut,
    Zeros,
    Garbage,
}

fn tail() -> impl Strategy<Value = Tail> {
    prop_oneof![Just(Tail::Cut), Just(Tail::Zeros), Just(Tail::Garbage)]
}

/// Applies the writer's roll rule to frames of these stored payload sizes, with sync points.
fn model(ops: &[(usize, bool)], seal: usize, segment_bytes: usize) -> (Vec<SegmentModel>, u64) {
    let mut segments = vec![SegmentModel::default()];
    let (mut used, mut synced) = (SEGMENT_HEADER, 0);
    for (i, &(len, sync)) in ops.iter().enumerate() {
        let size = FRAME_HEADER + len + seal;
        let last = segments.last_mut().unwrap();
        if used + size > segment_bytes && !last.frames.is_empty() {
            last.durable_entry = true;
            segments.push(SegmentModel::default());
            used = SEGMENT_HEADER;
        }
        used += size;
        let last = segments.last_mut().unwrap();
        last.frames.push((i as u64 + 1, used));
        if sync {
            synced = i as u64 + 1;
            last.durable_entry = true;
        }
    }
    (segments, synced)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn a_crash_keeps_every_synced_frame_and_a_prefix_of_the_rest(
        ops in prop::collection::vec((0usize..300, prop::bool::weighted(0.3)), 1..50),
        segment_bytes in prop_oneof![Just(300usize), Just(900), Just(8192)],
        encrypted in any::<bool>(),
        kept_fraction in 0.0f64..=1.0,
        tail in tail(),
        garbage in prop::collection::vec(any::<u8>(), 1..80),
        drop_new_segment in any::<bool>(),
    ) {
        let (_store, generation) = fresh("crash_points");
        let key = encrypted.then(|| key(3));
        let mut writer = generation.writer(0, 1, key.clone(), segment_bytes as u64).unwrap();
        let mut written = Vec::new();
        for &(len, sync) in &ops {
            written.extend(append_frames(&mut writer, &[len]));
            if sync {
                writer.sync().unwrap();
            }
        }
        drop(writer);
        let (model, synced) = model(&ops, if encrypted { SEAL } else { 0 }, segment_bytes);
        let files = segments(&generation, 0);
        prop_assert_eq!(files.len(), model.len());

        // The crash, in the last segment: the rest were synced whole when the writer rolled.
        let last = model.last().unwrap();
        let path = files.last().unwrap();
        let durable = last.frames.iter().rev().find(|(seq, _)| *seq <= synced).map(|(_, end)| *end)
            .unwrap_or(SEGMENT_HEADER);
        let end = last.frames.last().map_or(SEGMENT_HEADER, |(_, end)| *end);
        let kept_len = durable + ((end - durable) as f64 * kept_fraction) as usize;
        let in_earlier: usize = model[..model.len() - 1].iter().map(|s| s.frames.len()).sum();
        let expected_len = if !last.durable_entry && drop_new_segment {
            fs::remove_file(path).unwrap();
            in_earlier
        } else {
            crash(path, kept_len, tail, &garbage);
            in_earlier + last.frames.iter().filter(|(_, end)| *end <= kept_len).count()
        };

        let (frames, _report) = read(&generation, 0, key.as_ref(), Recovery::Strict).unwrap();
        prop_assert_eq!(&frames[..], &written[..expected_len]);
        prop_assert!(frames.len() as u64 >= synced, "every synced frame survives");

        let mut writer = generation.writer(0, frames.len() as u64 + 1, key.clone(), segment_bytes as u64).unwrap();
        let more = append_frames(&mut writer, &[17, 250, 3]);
        writer.sync().unwrap();
        let (again, report) = read(&generation, 0, key.as_ref(), Recovery::Strict).unwrap();
        prop_assert!(report.torn.is_none());
        prop_assert_eq!(again, [&frames[..], &more[..]].concat());
    }
}

/// Keeps the first `kept_len` bytes of the segment at `path`, then what `tail` says.
fn crash(path: &std::path::Path, kept_len: usize, tail: Tail, garbage: &[u8]) {
    let mut bytes = fs::read(path).unwrap();
    let file_len = bytes.len();
    bytes.truncate(kept_len);
    match tail {
        Tail::Cut => {}
        Tail::Zeros => bytes.resize(file_len.max(kept_len), 0),
        Tail::Garbage => bytes.extend_from_slice(garbage),
    }
    fs::write(path, &bytes).unwrap();
    OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(bytes.len() as u64)
        .unwrap();
}
