//! Duplicate windows: the last message ids each side of an open conversation sent.

use serde::{Deserialize, Serialize};
use std::hash::Hasher;

use rustc_hash::FxHasher;

/// Message ids remembered per conversation and sender side to recognise duplicates; the
/// protocol promises at least this many.
pub(crate) const RECENT_IDS: usize = 16;

/// Which side of a conversation sent a message: each side has its own duplicate window, so a
/// chatty agent cannot push the customer's ids out.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Side {
    Customer = 0,
    Agent = 1,
}

/// The last [`RECENT_IDS`] message ids of each side of one open conversation, as 64-bit hashes:
/// a false "duplicate" needs a collision among 16 ids (odds about 1 in 10^18). FxHasher has a
/// fixed seed, so the same id has the same key in every run (and in a replay).
#[derive(Debug, Default, Clone, Hash, Serialize, Deserialize)]
pub(crate) struct RecentIds {
    ids: [[u64; RECENT_IDS]; 2],
    /// How many ids each side has sent; the next one overwrites slot `count % RECENT_IDS`.
    counts: [usize; 2],
}

impl RecentIds {
    pub(crate) fn key(message_id: &str) -> u64 {
        let mut hasher = FxHasher::default();
        hasher.write(message_id.as_bytes());
        hasher.finish()
    }

    pub(crate) fn contains(&self, side: Side, key: u64) -> bool {
        let side = side as usize;
        let remembered = self.counts[side].min(RECENT_IDS);
        self.ids[side][..remembered].contains(&key)
    }

    pub(crate) fn remember(&mut self, side: Side, key: u64) {
        let side = side as usize;
        self.ids[side][self.counts[side] % RECENT_IDS] = key;
        self.counts[side] += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::{RecentIds, Side, RECENT_IDS};

    fn key(n: usize) -> u64 {
        RecentIds::key(&format!("m-{n}"))
    }

    #[test]
    fn a_message_id_is_a_duplicate_while_it_is_among_its_sides_last_sixteen() {
        let mut recent = RecentIds::default();
        assert!(!recent.contains(Side::Customer, key(0)), "nothing seen yet");
        for n in 0..RECENT_IDS {
            recent.remember(Side::Customer, key(n));
        }
        assert!((0..RECENT_IDS).all(|n| recent.contains(Side::Customer, key(n))));
        assert!(
            !recent.contains(Side::Customer, key(RECENT_IDS)),
            "never sent"
        );
        // The seventeenth pushes out the first, and only the first.
        recent.remember(Side::Customer, key(RECENT_IDS));
        assert!(!recent.contains(Side::Customer, key(0)));
        assert!((1..=RECENT_IDS).all(|n| recent.contains(Side::Customer, key(n))));
    }

    #[test]
    fn each_side_has_its_own_window() {
        let mut recent = RecentIds::default();
        recent.remember(Side::Customer, key(0));
        assert!(
            !recent.contains(Side::Agent, key(0)),
            "the agent never sent m-0"
        );
        // A chatty agent cannot push the customer's ids out.
        for n in 1..=4 * RECENT_IDS {
            recent.remember(Side::Agent, key(n));
        }
        assert!(recent.contains(Side::Customer, key(0)));
        assert!(recent.contains(Side::Agent, key(4 * RECENT_IDS)));
        assert!(!recent.contains(Side::Agent, key(1)));
    }

    #[test]
    fn different_ids_have_different_keys_and_the_same_id_the_same_key() {
        assert_eq!(RecentIds::key("m-1"), RecentIds::key("m-1"));
        assert_ne!(RecentIds::key("m-1"), RecentIds::key("m-2"));
        assert_ne!(RecentIds::key(""), RecentIds::key("m"));
    }
}
