//! Generations: begin, commit, current; a crash before the commit changes nothing.

mod common;

use std::fs;

use common::*;
use switchboard_journal::{JournalError, Store};

#[test]
fn begin_and_commit_make_a_new_current_generation_and_delete_the_old() {
    let dir = scratch("gen_cycle");
    let store = Store::open(&dir.join("data")).unwrap();
    assert!(
        store.current().unwrap().is_none(),
        "a fresh directory has none"
    );
    let first = store.begin("tenants = 1\n").unwrap();
    assert_eq!(first.number(), 1);
    assert!(
        store.current().unwrap().is_none(),
        "not current until committed"
    );
    first.write_snapshot(0, 0, b"empty", None).unwrap();
    first.write_snapshot(3, 0, b"empty", None).unwrap();
    store.commit(&first).unwrap();
    assert_eq!(
        fs::read_to_string(dir.join("data/CURRENT")).unwrap(),
        "gen-000001\n"
    );

    let current = store.current().unwrap().unwrap();
    assert_eq!((current.number(), current.dir()), (1, first.dir()));
    assert_eq!(current.config_text().unwrap(), "tenants = 1\n");
    assert_eq!(current.shards().unwrap(), [0, 3]);

    let second = store.begin("tenants = 2\n").unwrap();
    assert_eq!(second.number(), 2);
    store.commit(&second).unwrap();
    assert_eq!(
        store.current().unwrap().unwrap().config_text().unwrap(),
        "tenants = 2\n"
    );
    assert!(
        !first.dir().exists(),
        "the old generation is deleted after the commit"
    );
    assert_eq!(store.dir(), dir.join("data"));
}

#[test]
fn an_uncommitted_generation_is_ignored_then_deleted_by_the_next_begin() {
    let dir = scratch("gen_crash");
    let store = Store::open(&dir).unwrap();
    let committed = store.begin("old\n").unwrap();
    store.commit(&committed).unwrap();
    // A start that crashed before its commit.
    let crashed = store.begin("new\n").unwrap();
    write_frames(&crashed, None, 1024, &[10; 3]);
    fs::write(dir.join("CURRENT.tmp"), "gen-000002\n").unwrap();

    let store = Store::open(&dir).unwrap();
    assert_eq!(
        store.current().unwrap().unwrap().config_text().unwrap(),
        "old\n"
    );
    let next = store.begin("newer\n").unwrap();
    assert_eq!(next.number(), 3, "numbers are never reused");
    assert!(
        !crashed.dir().exists(),
        "the uncommitted generation is deleted"
    );
    assert!(
        committed.dir().exists(),
        "the current one stays until the next commit"
    );
    assert!(!dir.join("CURRENT.tmp").exists());
}

#[test]
fn a_current_naming_a_missing_generation_is_an_error_naming_current() {
    let dir = scratch("gen_missing");
    let store = Store::open(&dir).unwrap();
    fs::write(dir.join("CURRENT"), "gen-000009\n").unwrap();
    match store.current() {
        Err(JournalError::Layout { path, why }) => {
            assert_eq!(path, dir.join("CURRENT"));
            assert!(why.contains("gen-000009"), "{why}");
        }
        other => panic!("expected Layout, got {other:?}"),
    }
    fs::write(dir.join("CURRENT"), "nonsense").unwrap();
    assert!(matches!(store.current(), Err(JournalError::Layout { .. })));
}
