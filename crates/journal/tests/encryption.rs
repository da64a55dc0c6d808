//! Encryption at rest: frames and snapshots round trip, a wrong or missing key is a clear
//! error, and no nonce repeats.

mod common;

use std::fs;

use common::*;
use switchboard_journal::{JournalError, Key, Recovery};

#[test]
fn encrypted_frames_and_snapshots_round_trip() {
    let (_store, generation) = fresh("enc_round_trip");
    let k = key(1);
    let written = write_frames(
        &generation,
        Some(k.clone()),
        1024,
        &[0, 1, 100, 500, 2000, 7],
    );
    generation
        .write_snapshot(0, 3, b"sealed state", Some(&k))
        .unwrap();
    assert_eq!(
        read(&generation, 0, Some(&k), Recovery::Strict).unwrap().0,
        written
    );
    assert_eq!(
        generation.latest_snapshot(0, Some(&k)).unwrap(),
        Some((3, b"sealed state".to_vec()))
    );
    let segment = fs::read(&segments(&generation, 0)[0]).unwrap();
    let plain = payload(4, 500);
    assert!(
        !segment.windows(32).any(|w| w == &plain[..32]),
        "no plaintext on disk"
    );
}

#[test]
fn a_wrong_key_is_wrong_key_for_frames_and_snapshots() {
    let (_store, generation) = fresh("enc_wrong_key");
    write_frames(&generation, Some(key(1)), 1024, &[10, 20]);
    generation
        .write_snapshot(0, 1, b"state", Some(&key(1)))
        .unwrap();
    let wrong = key(2);
    let segment = segments(&generation, 0).remove(0);
    match read(&generation, 0, Some(&wrong), Recovery::Strict) {
        Err(JournalError::WrongKey { path }) => assert_eq!(path, segment),
        other => panic!("expected WrongKey, got {other:?}"),
    }
    let snapshot = files_ending(&generation, 0, ".snap").remove(0);
    match generation.latest_snapshot(0, Some(&wrong)) {
        Err(JournalError::WrongKey { path }) => assert_eq!(path, snapshot),
        other => panic!("expected WrongKey, got {other:?}"),
    }
    assert_eq!(
        fs::read(&segment).unwrap().len(),
        1024,
        "a wrong key modifies nothing"
    );
}

#[test]
fn a_key_on_plain_data_or_none_on_encrypted_data_is_a_clear_error() {
    let (_store, plain) = fresh("enc_mismatch_plain");
    write_frames(&plain, None, 1024, &[10]);
    plain.write_snapshot(0, 1, b"state", None).unwrap();
    assert!(matches!(
        read(&plain, 0, Some(&key(1)), Recovery::Strict),
        Err(JournalError::NotEncrypted { .. })
    ));
    assert!(matches!(
        plain.latest_snapshot(0, Some(&key(1))),
        Err(JournalError::NotEncrypted { .. })
    ));
    let err = plain.writer(0, 2, Some(key(1)), 1024).err().unwrap();
    assert!(matches!(err, JournalError::NotEncrypted { .. }), "{err}");

    let (_store, sealed) = fresh("enc_mismatch_sealed");
    write_frames(&sealed, Some(key(1)), 1024, &[10]);
    sealed
        .write_snapshot(0, 1, b"state", Some(&key(1)))
        .unwrap();
    let err = read(&sealed, 0, None, Recovery::Strict).unwrap_err();
    assert!(matches!(err, JournalError::Encrypted { .. }));
    assert!(
        err.to_string().contains("no encryption key was given"),
        "{err}"
    );
    assert!(matches!(
        sealed.latest_snapshot(0, None),
        Err(JournalError::Encrypted { .. })
    ));
}

#[test]
fn the_same_payload_twice_is_stored_differently() {
    let (_store, generation) = fresh("enc_nonce");
    let k = key(9);
    let mut writer = generation.writer(0, 1, Some(k.clone()), 4096).unwrap();
    let same = vec![0x5a; 64];
    writer.append(1, &same).unwrap();
    writer.append(1, &same).unwrap();
    writer.sync().unwrap();
    let bytes = fs::read(&segments(&generation, 0)[0]).unwrap();
    let frame = FRAME_HEADER + SEAL + same.len();
    let first = &bytes[SEGMENT_HEADER + FRAME_HEADER..SEGMENT_HEADER + frame];
    let second = &bytes[SEGMENT_HEADER + frame + FRAME_HEADER..SEGMENT_HEADER + 2 * frame];
    assert_ne!(first[..12], second[..12], "nonces differ");
    assert_ne!(first[12..], second[12..], "ciphertexts differ");
    assert_eq!(
        read(&generation, 0, Some(&k), Recovery::Strict)
            .unwrap()
            .0
            .len(),
        2
    );
}

#[test]
fn a_key_file_holds_hex_or_raw_bytes_and_debug_never_shows_it() {
    let dir = scratch("enc_key_file");
    let hex = dir.join("hex.key");
    fs::write(&hex, format!("  {}\n", "ab".repeat(32))).unwrap();
    let raw = dir.join("raw.key");
    fs::write(&raw, [0xab; 32]).unwrap();
    let (_store, generation) = fresh("enc_key_file_gen");
    write_frames(&generation, Some(Key::from_file(&hex).unwrap()), 1024, &[5]);
    let from_raw = Key::from_file(&raw).unwrap();
    assert_eq!(
        read(&generation, 0, Some(&from_raw), Recovery::Strict)
            .unwrap()
            .0
            .len(),
        1,
        "same key"
    );
    assert_eq!(format!("{from_raw:?}"), "Key(<redacted>)");

    for (name, contents) in [
        ("short", vec![1u8; 31]),
        ("not_hex", "zz".repeat(32).into_bytes()),
    ] {
        let path = dir.join(name);
        fs::write(&path, contents).unwrap();
        match Key::from_file(&path) {
            Err(JournalError::BadKey { path: p, why }) => {
                assert_eq!(p, path);
                assert!(
                    !why.contains("zz"),
                    "the message never echoes the contents: {why}"
                );
            }
            other => panic!("{name}: expected BadKey, got {other:?}"),
        }
    }
    assert!(matches!(
        Key::from_file(&dir.join("absent")),
        Err(JournalError::Io { .. })
    ));
}
