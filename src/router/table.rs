//! The open conversations: a slab of entries plus a small id → slot map.
//!
//! Owner: the router. Why not one `HashMap<ConversationId, Conversation>`: entries are a couple of
//! hundred bytes, so a map of them is tens of megabytes at peak and every probe is a cache miss;
//! growing it moves every entry. Here the map holds 4-byte slots (small enough to stay in cache) and
//! entries never move once placed; freed slots are reused first. Bound: one slot per open
//! conversation — the slab never holds more than the peak number open at once.

use rustc_hash::FxHashMap;

use super::types::ConversationId;

/// Conversations by id.
#[derive(Debug, Clone)]
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

    /// How many entries.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}
