//! Property test over the whole tenant core: random connects (connectors, agents, a bot),
//! disconnects, resumes with various last-seen seqs, resends of message ids, customer and agent
//! messages, accepts and ends, full outboxes, time passing.
//!
//! Oracles: the same inputs at the same times give the same outputs and the same state hash
//! (run twice, compared step by step: what journal replay will rely on); the router's
//! `check_invariants` holds after every input; and what clients see keeps its promises: every
//! frame a client sends on a connection with room is acked exactly once, through its last seq,
//! and a resent message id is never delivered to an agent twice.

mod common;

use common::{op, run, Harness, Op};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn the_same_inputs_give_the_same_outputs_and_state(
        seed in any::<u64>(),
        ops in prop::collection::vec(op(), 1..80),
    ) {
        let first = run(seed, &ops);
        let second = run(seed, &ops);
        prop_assert_eq!(first.core.state_hash(), second.core.state_hash());
        prop_assert_eq!(&first.trace, &second.trace);
        for ((conversation, message_id), times) in &first.delivered {
            prop_assert!(
                *times <= 1,
                "{} of conversation {} reached agents {} times", message_id, conversation, times
            );
        }
    }
}

#[test]
fn a_resent_customer_message_is_acked_with_an_error_and_delivered_once() {
    let mut h = Harness::new(7);
    h.connect(4, 0);
    h.connect(0, 0);
    for _ in 0..2 {
        h.step(Op::Customer {
            c: 0,
            conv: 0,
            msg: 1,
            text: 0,
            profile: true,
        });
    }
    assert_eq!(
        h.delivered
            .get(&(h.clients[4].offered[0].clone(), "m1".into())),
        None,
        "the opening message reaches the bot in its offer, not as a customer_message"
    );
    h.step(Op::Customer {
        c: 0,
        conv: 0,
        msg: 2,
        text: 0,
        profile: false,
    });
    h.step(Op::Customer {
        c: 0,
        conv: 0,
        msg: 2,
        text: 0,
        profile: false,
    });
    let key = (h.clients[4].offered[0].clone(), "m2".to_string());
    assert_eq!(h.delivered.get(&key), Some(&1));
    let duplicates = h
        .trace
        .iter()
        .filter(|l| l.contains("\\\"code\\\":\\\"duplicate\\\""))
        .count();
    assert_eq!(duplicates, 2, "each resend is answered with duplicate");
}

#[test]
fn a_different_seed_gives_different_ids_and_the_same_seed_the_same() {
    let ops = [
        Op::Connect { who: 0, resume: 0 },
        Op::Customer {
            c: 0,
            conv: 0,
            msg: 0,
            text: 0,
            profile: true,
        },
    ];
    assert_eq!(
        run(1, &ops).core.state_hash(),
        run(1, &ops).core.state_hash()
    );
    assert_ne!(
        run(1, &ops).core.state_hash(),
        run(2, &ops).core.state_hash()
    );
}
