//! Frames of many sizes across several segment rolls come back exactly, from any point.

mod common;

use common::*;
use switchboard_journal::Recovery;

#[test]
fn frames_of_many_sizes_round_trip_across_segment_rolls() {
    let (_store, generation) = fresh("round_trip");
    let lens: Vec<usize> = (0..200).map(|i| (i * 37) % 700).collect();
    let written = write_frames(&generation, None, 2048, &lens);
    assert!(
        segments(&generation, 0).len() >= 10,
        "the test must cross several rolls"
    );
    let (frames, report) = read(&generation, 0, None, Recovery::Strict).unwrap();
    assert_eq!(frames, written);
    assert_eq!((report.frames, report.last_seq), (200, Some(200)));
    assert!(report.torn.is_none());
}

#[test]
fn reading_after_n_returns_exactly_the_frames_after_n() {
    let (_store, generation) = fresh("read_after");
    let lens: Vec<usize> = (0..60).map(|i| 10 + (i * 13) % 300).collect();
    let written = write_frames(&generation, None, 1024, &lens);
    for after in 0..=61 {
        let (frames, report) = read(&generation, after, None, Recovery::Strict).unwrap();
        let expected: Vec<Frame> = written.iter().filter(|f| f.seq > after).cloned().collect();
        assert_eq!(frames, expected, "after {after}");
        assert_eq!(
            report.last_seq,
            Some(60),
            "the journal's last frame, visited or not"
        );
    }
}

#[test]
fn a_frame_larger_than_a_segment_gets_a_segment_of_its_own() {
    let (_store, generation) = fresh("huge_frame");
    let written = write_frames(&generation, None, 256, &[10, 5000, 10]);
    assert_eq!(segments(&generation, 0).len(), 3);
    assert_eq!(
        read(&generation, 0, None, Recovery::Strict).unwrap().0,
        written
    );
}

#[test]
fn a_writer_reopened_at_the_next_seq_continues_the_journal() {
    let (_store, generation) = fresh("reopen");
    let mut written = write_frames(&generation, None, 1024, &[100; 25]);
    let (_, report) = read(&generation, 0, None, Recovery::Strict).unwrap();
    let next = report.last_seq.unwrap() + 1;
    let mut writer = generation.writer(0, next, None, 1024).unwrap();
    written.extend(append_frames(&mut writer, &[50; 30]));
    writer.sync().unwrap();
    assert_eq!(
        read(&generation, 0, None, Recovery::Strict).unwrap().0,
        written
    );
}

#[test]
fn a_writer_must_start_where_the_journal_ends() {
    let (_store, generation) = fresh("seq_mismatch");
    write_frames(&generation, None, 1024, &[100; 5]);
    for wrong in [3, 5, 7] {
        let err = generation.writer(0, wrong, None, 1024).err().unwrap();
        let text = err.to_string();
        assert!(
            text.contains("continues at seq 6") && text.contains(&format!("start at {wrong}")),
            "{text}"
        );
    }
    assert!(
        generation.writer(0, 0, None, 1024).is_err(),
        "seqs start at 1"
    );
}

#[test]
fn bytes_are_in_the_file_once_append_returns_without_a_sync() {
    let (_store, generation) = fresh("no_buffering");
    let mut writer = generation.writer(0, 1, None, 4096).unwrap();
    let written = append_frames(&mut writer, &[40, 41, 42]);
    // The writer is still open and has not synced: a reader sees every appended frame.
    assert_eq!(
        read(&generation, 0, None, Recovery::Strict).unwrap().0,
        written
    );
    assert_eq!(writer.next_seq(), 4);
}

#[test]
fn an_empty_shard_reads_as_no_frames() {
    let (_store, generation) = fresh("empty_shard");
    let (frames, report) = read(&generation, 0, None, Recovery::Strict).unwrap();
    assert!(frames.is_empty());
    assert_eq!((report.frames, report.last_seq), (0, None));
}

#[test]
fn an_error_from_visit_stops_the_read_and_is_returned() {
    let (_store, generation) = fresh("visit_error");
    write_frames(&generation, None, 1024, &[10; 10]);
    let mut seen = 0;
    let result = generation.read_frames(0, 0, None, Recovery::Strict, |frame| {
        seen += 1;
        if frame.seq == 4 {
            return Err(switchboard_journal::JournalError::Layout {
                path: "visit".into(),
                why: "stop".into(),
            });
        }
        Ok(())
    });
    assert!(result.is_err());
    assert_eq!(seen, 4);
}
