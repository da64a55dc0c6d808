//! The open conversations: a slab of entries plus a small id → slot map.
//!
//! Owner: the router. Why not one `HashMap<ConversationId, Conversation>`: entries are a couple of
//! hundred bytes, so a map of them is tens of megabytes at peak and every probe is a cache miss;
//! growing it moves every entry. Here the map holds 4-byte slots (small enough to stay in cache) and
//! entries never move once placed; freed slots are reused first. Bound: one slot per open
//! conversation — the slab never holds more than the peak number open at once.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::types::ConversationId;

/// Conversations by id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Table<V> {
    slots: FxHashMap<ConversationId, u32>,
    entries: Vec<Option<(ConversationId, V)>>,
    free: Vec<u32>,
}

impl<V> Default for Table<V> {
    fn default() -> Self {
        Table {
            slots: FxHashMap::default(),
            entries: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<V> Table<V> {
    /// The entry for `id`.
    pub fn get(&self, id: &ConversationId) -> Option<&V> {
        let slot = *self.slots.get(id)?;
        self.entries[slot as usize].as_ref().map(|(_, v)| v)
    }

    /// The entry for `id`, mutably.
    pub fn get_mut(&mut self, id: &ConversationId) -> Option<&mut V> {
        let slot = *self.slots.get(id)?;
        self.entries[slot as usize].as_mut().map(|(_, v)| v)
    }

    /// Whether `id` is present.
    pub fn contains_key(&self, id: &ConversationId) -> bool {
        self.slots.contains_key(id)
    }

    /// Adds an entry; the caller has checked `id` is new.
    pub fn insert(&mut self, id: ConversationId, value: V) {
        let slot = match self.free.pop() {
            Some(slot) => {
                self.entries[slot as usize] = Some((id, value));
                slot
            }
            None => {
                self.entries.push(Some((id, value)));
                (self.entries.len() - 1) as u32
            }
        };
        self.slots.insert(id, slot);
    }

    /// Removes and returns an entry.
    pub fn remove(&mut self, id: &ConversationId) -> Option<V> {
        let slot = self.slots.remove(id)?;
        self.free.push(slot);
        self.entries[slot as usize].take().map(|(_, v)| v)
    }

    /// Entries, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (&ConversationId, &V)> + '_ {
        self.entries
            .iter()
            .filter_map(|e| e.as_ref().map(|(id, v)| (id, v)))
    }

    /// Gives back the room a surge left behind: live entries are packed into the front of the
    /// slab, in the order they were, so iteration order is unchanged.
    pub fn shrink(&mut self) {
        if !super::timers::oversized(self.entries.len(), self.slots.len()) {
            return;
        }
        let live: Vec<(ConversationId, V)> = self.entries.drain(..).flatten().collect();
        self.free = Vec::new();
        self.slots = FxHashMap::default();
        self.slots.reserve(live.len());
        for (slot, (id, value)) in live.into_iter().enumerate() {
            self.slots.insert(id, slot as u32);
            self.entries.push(Some((id, value)));
        }
        self.entries.shrink_to_fit();
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrinking_after_a_surge_keeps_every_entry_and_the_order() {
        let mut table = Table::default();
        for id in 0..10_000u64 {
            table.insert(ConversationId(id), id);
        }
        for id in (0..10_000u64).filter(|id| id % 100 != 7) {
            table.remove(&ConversationId(id));
        }
        let before: Vec<u64> = table.iter().map(|(_, v)| *v).collect();
        table.shrink();
        assert!(table.entries.len() < 1_000, "the slab kept its peak");
        let after: Vec<u64> = table.iter().map(|(_, v)| *v).collect();
        assert_eq!(before, after);
        for id in before {
            assert_eq!(table.get(&ConversationId(id)), Some(&id));
        }
        table.insert(ConversationId(20_000), 20_000);
        assert_eq!(table.get(&ConversationId(20_000)), Some(&20_000));
    }
}
