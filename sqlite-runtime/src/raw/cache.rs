//! A least-recently-used cache keyed by SQL text, for bindings without a statement cache
//! of their own.

use std::collections::HashMap;

/// SQL texts are hashed on every lookup; the cache is small and bounded, so a fast
/// hash needs no resistance to chosen collisions.
type SqlHasher = foldhash::fast::RandomState;

/// No entry: the end of the recency list.
const NONE: usize = usize::MAX;

/// Up to `capacity` values (prepared statements, per-SQL metadata) by SQL text, the
/// least recently used evicted first. Lookups, hits, inserts and evictions are O(1): a
/// hash map to slots, and the slots in a doubly linked recency list.
///
/// An evicted value is dropped (a statement type finalizes itself on drop).
///
/// ```
/// use sqlite_runtime::raw::StatementCache;
///
/// let mut cache = StatementCache::new(2);
/// let _ = cache.insert("SELECT 1", 1);
/// let _ = cache.insert("SELECT 2", 2);
/// assert_eq!(cache.get("SELECT 1").copied(), Some(1)); // now the most recent
/// let _ = cache.insert("SELECT 3", 3); // evicts `SELECT 2`
/// assert!(cache.get("SELECT 2").is_none());
/// assert_eq!(cache.len(), 2);
/// // With capacity 0 nothing is kept: the value comes back.
/// assert_eq!(StatementCache::new(0).insert("SELECT 1", 1).err(), Some(1));
/// ```
#[derive(Debug)]
pub struct StatementCache<S> {
    slots: HashMap<Box<str>, usize, SqlHasher>,
    entries: Vec<Entry<S>>,
    /// The most recently used entry, or [`NONE`].
    newest: usize,
    /// The least recently used entry, or [`NONE`].
    oldest: usize,
    capacity: usize,
}

#[derive(Debug)]
struct Entry<S> {
    key: Box<str>,
    /// `None` only while a new slot is being filled.
    value: Option<S>,
    /// The next more recently used entry, or [`NONE`].
    newer: usize,
    /// The next less recently used entry, or [`NONE`].
    older: usize,
}

impl<S> StatementCache<S> {
    /// An empty cache keeping up to `capacity` values (0: keep none).
    pub fn new(capacity: usize) -> Self {
        StatementCache {
            slots: HashMap::default(),
            entries: Vec::new(),
            newest: NONE,
            oldest: NONE,
            capacity,
        }
    }

    /// The most values kept.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many values are kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no value is kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value for `key`, now the most recently used.
    pub fn get(&mut self, key: &str) -> Option<&mut S> {
        // The statement run last is the likeliest: a comparison, no hashing.
        let slot = match self.entries.get(self.newest) {
            Some(newest) if &*newest.key == key => self.newest,
            _ => *self.slots.get(key)?,
        };
        self.touch(slot);
        self.entries.get_mut(slot)?.value.as_mut()
    }

    /// Keeps `value` for `key` as the most recently used, dropping the value it replaces
    /// or, when full, the least recently used one. With capacity 0 nothing is kept and
    /// `value` comes back as the error.
    pub fn insert(&mut self, key: &str, value: S) -> Result<&mut S, S> {
        self.insert_evicting(key, value)
            .map(|(kept, _dropped)| kept)
    }

    /// [`insert`](Self::insert), handing back the value it displaced (the one `key` had,
    /// or the least recently used one when the cache was full) instead of dropping it:
    /// for bindings that must release a statement explicitly (a remote engine's
    /// statement ids).
    ///
    /// ```
    /// use sqlite_runtime::raw::StatementCache;
    ///
    /// let mut cache = StatementCache::new(1);
    /// assert!(matches!(cache.insert_evicting("SELECT 1", 1), Ok((_, None))));
    /// assert!(matches!(cache.insert_evicting("SELECT 2", 2), Ok((&mut 2, Some(1)))));
    /// ```
    pub fn insert_evicting(&mut self, key: &str, value: S) -> Result<(&mut S, Option<S>), S> {
        if self.capacity == 0 {
            return Err(value);
        }
        let slot = match self.slots.get(key) {
            Some(&slot) => {
                self.unlink(slot);
                slot
            }
            None => {
                let slot = self.free_slot();
                self.slots.insert(key.into(), slot);
                slot
            }
        };
        self.link_newest(slot);
        match self.entries.get_mut(slot) {
            Some(entry) => {
                if *entry.key != *key {
                    entry.key = key.into();
                }
                let displaced = entry.value.take();
                Ok((entry.value.insert(value), displaced))
            }
            None => Err(value),
        }
    }

    /// Every key and value, most recently used first.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &S)> {
        std::iter::successors(self.entries.get(self.newest), |entry| {
            self.entries.get(entry.older)
        })
        .filter_map(|entry| Some((&*entry.key, entry.value.as_ref()?)))
    }

    /// An unlinked slot for a new key: a new one while below capacity, else the least
    /// recently used one, whose key is forgotten (its value is dropped when replaced).
    fn free_slot(&mut self) -> usize {
        if self.entries.len() < self.capacity {
            self.entries.push(Entry {
                key: Box::default(),
                value: None,
                newer: NONE,
                older: NONE,
            });
            return self.entries.len() - 1;
        }
        let slot = self.oldest;
        self.unlink(slot);
        if let Some(entry) = self.entries.get(slot) {
            self.slots.remove(&entry.key);
        }
        slot
    }

    fn touch(&mut self, slot: usize) {
        if slot != self.newest {
            self.unlink(slot);
            self.link_newest(slot);
        }
    }

    /// Takes `slot` out of the recency list.
    fn unlink(&mut self, slot: usize) {
        let Some(&Entry { newer, older, .. }) = self.entries.get(slot) else {
            return;
        };
        match self.entries.get_mut(newer) {
            Some(entry) => entry.older = older,
            None => self.newest = older,
        }
        match self.entries.get_mut(older) {
            Some(entry) => entry.newer = newer,
            None => self.oldest = newer,
        }
    }

    /// Puts `slot` (unlinked) at the most recent end of the list.
    fn link_newest(&mut self, slot: usize) {
        let previous = self.newest;
        if let Some(entry) = self.entries.get_mut(slot) {
            entry.newer = NONE;
            entry.older = previous;
        }
        match self.entries.get_mut(previous) {
            Some(entry) => entry.newer = slot,
            None => self.oldest = slot,
        }
        self.newest = slot;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cache against a plain list, most recent first, over a fixed pseudo-random
    /// sequence of gets and inserts.
    #[test]
    fn behaves_like_a_recency_list() {
        for capacity in [0, 1, 2, 5] {
            let mut cache = StatementCache::new(capacity);
            let mut model: Vec<(String, u32)> = Vec::new();
            let mut state = 0x2545_f491_u32;
            for step in 0..2_000_u32 {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let key = format!("SELECT {}", state % 8);
                if state.is_multiple_of(3) {
                    let position = model.iter().position(|(k, _)| *k == key);
                    let expected = position.map(|p| model.remove(p));
                    if let Some(entry) = &expected {
                        model.insert(0, entry.clone());
                    }
                    assert_eq!(cache.get(&key).copied(), expected.map(|(_, v)| v));
                } else {
                    let kept = cache.insert(&key, step).map(|v| *v);
                    model.retain(|(k, _)| *k != key);
                    if capacity == 0 {
                        assert_eq!(kept, Err(step));
                        continue;
                    }
                    assert_eq!(kept, Ok(step));
                    model.insert(0, (key, step));
                    model.truncate(capacity);
                }
                let listed: Vec<(String, u32)> =
                    cache.iter().map(|(k, v)| (k.to_owned(), *v)).collect();
                assert_eq!(listed, model, "capacity {capacity}, step {step}");
                assert_eq!(cache.len(), model.len());
            }
        }
    }

    #[test]
    fn displaced_values_come_back() {
        let mut cache = StatementCache::new(2);
        assert!(matches!(cache.insert_evicting("a", 1), Ok((_, None))));
        assert!(matches!(cache.insert_evicting("b", 2), Ok((_, None))));
        // Replacing a key hands back its old value.
        assert!(matches!(
            cache.insert_evicting("a", 3),
            Ok((&mut 3, Some(1)))
        ));
        // Full: the least recently used (`b`) goes.
        assert!(matches!(
            cache.insert_evicting("c", 4),
            Ok((&mut 4, Some(2)))
        ));
        assert!(cache.get("b").is_none());
        assert_eq!(
            StatementCache::new(0).insert_evicting("a", 1).err(),
            Some(1)
        );
    }

    #[test]
    fn evicted_values_are_dropped() {
        let dropped = std::rc::Rc::new(());
        let mut cache = StatementCache::new(1);
        let _ = cache.insert("a", std::rc::Rc::clone(&dropped));
        let _ = cache.insert("b", std::rc::Rc::clone(&dropped));
        assert_eq!(std::rc::Rc::strong_count(&dropped), 2);
        assert!(cache.get("a").is_none() && cache.get("b").is_some());
        assert_eq!(cache.capacity(), 1);
        assert!(!cache.is_empty());
    }
}
