//! The statement cache: an LRU of prepared `sqlite::Statement`s keyed by SQL text.
//!
//! The `sqlite` crate has no cache of its own. Statements borrow the connection, so the
//! cache lives beside it in a self-referential cell (see `mod.rs`).

use std::collections::HashMap;

use sqlite::Statement;

/// Prepared statements for one connection, at most `capacity` of them.
///
/// A hit is a hash lookup by `&str` plus a counter bump: no allocation. Eviction (only
/// on a miss with a full cache, next to a far costlier prepare) scans for the entry with
/// the oldest use stamp; the capacity is small (64 by default).
pub(super) struct StatementCache<'c> {
    entries: HashMap<String, Entry<'c>>,
    capacity: usize,
    clock: u64,
}

struct Entry<'c> {
    statement: Statement<'c>,
    last_used: u64,
}

impl<'c> StatementCache<'c> {
    /// An empty cache keeping up to `capacity` statements (0: keep none).
    pub(super) fn new(capacity: usize) -> Self {
        StatementCache {
            entries: HashMap::new(),
            capacity,
            clock: 0,
        }
    }

    /// Whether statements are kept at all.
    pub(super) fn is_enabled(&self) -> bool {
        self.capacity > 0
    }

    /// How many statements are cached.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The cached statement for `sql`, marked most recently used.
    pub(super) fn get(&mut self, sql: &str) -> Option<&mut Statement<'c>> {
        self.clock += 1;
        let clock = self.clock;
        self.entries.get_mut(sql).map(|entry| {
            entry.last_used = clock;
            &mut entry.statement
        })
    }

    /// Caches `statement` for `sql`, evicting (finalizing) the least recently used
    /// statement when full. Only for a cache that [`is_enabled`](Self::is_enabled).
    pub(super) fn insert(&mut self, sql: &str, statement: Statement<'c>) -> &mut Statement<'c> {
        if self.entries.len() >= self.capacity {
            self.evict_least_recently_used();
        }
        self.clock += 1;
        let entry = Entry {
            statement,
            last_used: self.clock,
        };
        &mut self
            .entries
            .entry(sql.to_owned())
            .insert_entry(entry)
            .into_mut()
            .statement
    }

    fn evict_least_recently_used(&mut self) {
        // Stamps are unique, so this removes exactly one entry.
        if let Some(oldest) = self.entries.values().map(|e| e.last_used).min() {
            self.entries.retain(|_, entry| entry.last_used != oldest);
        }
    }
}
