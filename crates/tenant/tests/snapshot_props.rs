//! Journal records and snapshots against the core's own determinism, over the random
//! operations of `core_props.rs`:
//! - applying `decode(encode(input))` gives the same outputs and state hashes as the input;
//! - a core restored from an encoded snapshot at a random point continues exactly as the
//!   original: same outputs and hash after every later input, ids and tokens included;
//! - a snapshot plus the journal after it rebuilds the same core as the whole journal;
//! - a restart (restore, an outage, `Restarted`) at a random point breaks no invariant and no
//!   client promise in what follows;
//! - no bytes make a decoder panic, and every cut of a record or a snapshot is an error.

mod common;

use common::{op, run, seed_of, Harness, Op};
use proptest::prelude::*;
use switchboard_tenant::{CoreSnapshot, Input, TenantCore};

/// Runs `ops` to `cut`, takes a snapshot through its bytes, and returns the harness with its
/// core replaced by the restored one.
fn restored_at(seed: u64, ops: &[Op], cut: usize) -> Harness {
    let mut h = Harness::new(seed);
    for op in &ops[..cut] {
        h.step(op.clone());
    }
    let bytes = h.core.snapshot().encode();
    let snapshot = CoreSnapshot::<String>::decode(&bytes).expect("a snapshot decodes");
    assert_eq!(snapshot.tenant(), "default");
    let restored = TenantCore::restore(&h.config, h.limits, snapshot).expect("same config");
    assert_eq!(restored.state_hash(), h.core.state_hash());
    h.core = restored;
    h
}

/// Replays journal records onto a core.
fn replay(core: &mut TenantCore<String>, records: &[(u64, Vec<u8>)]) {
    let mut out = Vec::new();
    for (now, record) in records {
        let input = Input::decode(record).expect("a journal record decodes");
        core.apply(*now, input, &mut out);
        out.clear();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn a_decoded_record_is_applied_exactly_as_the_input(
        seed in any::<u64>(),
        ops in prop::collection::vec(op(), 1..80),
    ) {
        let plain = run(seed, &ops);
        let mut decoded = Harness::new(seed);
        decoded.round_trip = true;
        for op in &ops {
            decoded.step(op.clone());
        }
        prop_assert_eq!(&plain.trace, &decoded.trace);
        prop_assert_eq!(plain.core.state_hash(), decoded.core.state_hash());
    }

    #[test]
    fn a_restored_snapshot_continues_exactly_as_the_original(
        seed in any::<u64>(),
        ops in prop::collection::vec(op(), 1..80),
        cut in any::<prop::sample::Index>(),
    ) {
        let cut = cut.index(ops.len() + 1);
        let mut original = Harness::new(seed);
        for op in &ops[..cut] {
            original.step(op.clone());
        }
        let mut restored = restored_at(seed, &ops, cut);
        let (from_original, from_restored) = (original.trace.len(), restored.trace.len());
        for op in &ops[cut..] {
            original.step(op.clone());
            restored.step(op.clone());
        }
        // Each trace holds every input, every output and the hash after each input.
        prop_assert_eq!(&original.trace[from_original..], &restored.trace[from_restored..]);
        prop_assert_eq!(original.core.state_hash(), restored.core.state_hash());
    }

    #[test]
    fn a_snapshot_plus_the_journal_after_it_equals_a_full_replay(
        seed in any::<u64>(),
        ops in prop::collection::vec(op(), 1..80),
        cut in any::<prop::sample::Index>(),
    ) {
        let cut = cut.index(ops.len() + 1);
        let mut h = Harness::new(seed);
        for op in &ops[..cut] {
            h.step(op.clone());
        }
        let snapshot = h.core.snapshot().encode();
        let covered = h.journal.len();
        for op in &ops[cut..] {
            h.step(op.clone());
        }
        let mut full = TenantCore::<String>::new(&h.config, h.limits, seed_of(seed));
        replay(&mut full, &h.journal);
        let snapshot = CoreSnapshot::decode(&snapshot).expect("a snapshot decodes");
        let mut tail = TenantCore::restore(&h.config, h.limits, snapshot).expect("same config");
        replay(&mut tail, &h.journal[covered..]);
        prop_assert_eq!(full.state_hash(), h.core.state_hash());
        prop_assert_eq!(tail.state_hash(), h.core.state_hash());
    }

    #[test]
    fn a_restart_at_a_random_point_keeps_every_promise_after_it(
        seed in any::<u64>(),
        ops in prop::collection::vec(op(), 1..80),
        cut in any::<prop::sample::Index>(),
        outage_ms in 0u64..200_000,
    ) {
        let cut = cut.index(ops.len() + 1);
        let mut h = restored_at(seed, &ops, cut);
        h.now += outage_ms;
        h.apply(Input::Restarted);
        prop_assert!(h.clients.iter().all(|c| c.conn.is_none()));
        prop_assert_eq!(h.core.session_counts().connected, 0);
        // The harness checks the router's invariants after every input and, for every frame a
        // client sends, that it is acked once; here also that no message reaches an agent twice.
        for op in &ops[cut..] {
            h.step(op.clone());
        }
        for ((conversation, message_id), times) in &h.delivered {
            prop_assert!(
                *times <= 1,
                "{} of conversation {} reached agents {} times", message_id, conversation, times
            );
        }
    }

    #[test]
    fn no_bytes_make_a_decoder_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = Input::decode(&bytes);
        let _ = CoreSnapshot::<String>::decode(&bytes);
        // Past the header too, where the body decoder takes over.
        let mut headed = b"SBTS\x01".to_vec();
        headed.extend_from_slice(&bytes);
        let _ = CoreSnapshot::<String>::decode(&headed);
    }

    #[test]
    fn every_cut_of_a_record_or_a_snapshot_is_an_error(
        seed in any::<u64>(),
        ops in prop::collection::vec(op(), 1..40),
    ) {
        let h = run(seed, &ops);
        for (_, record) in &h.journal {
            for len in 0..record.len() {
                prop_assert!(Input::decode(&record[..len]).is_err());
            }
        }
        let snapshot = h.core.snapshot().encode();
        for len in 0..snapshot.len() {
            prop_assert!(CoreSnapshot::<String>::decode(&snapshot[..len]).is_err());
        }
    }
}

/// A bit flipped anywhere in a snapshot gives an error or a snapshot, never a panic.
#[test]
fn flipped_bits_in_a_snapshot_never_panic() {
    let ops: Vec<Op> = (0..3)
        .flat_map(|conv| {
            [
                Op::Connect { who: 0, resume: 0 },
                Op::Connect { who: 2, resume: 0 },
                Op::Customer {
                    c: 0,
                    conv,
                    msg: conv,
                    text: 1,
                    profile: true,
                },
                Op::Time { ms: 1_500 },
            ]
        })
        .collect();
    let h = run(3, &ops);
    let snapshot = h.core.snapshot().encode();
    for bit in 0..snapshot.len() * 8 {
        let mut bytes = snapshot.clone();
        bytes[bit / 8] ^= 1 << (bit % 8);
        let _ = CoreSnapshot::<String>::decode(&bytes);
    }
}

/// The shell clones a core's state on its shard thread and encodes it on a helper thread.
#[test]
fn a_snapshot_can_be_sent_to_another_thread() {
    fn send<T: Send + 'static>() {}
    send::<CoreSnapshot<String>>();
}
