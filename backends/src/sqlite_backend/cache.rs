//! The statement cache: an LRU of prepared `sqlite::Statement`s keyed by SQL text.
//!
//! The `sqlite` crate has no cache of its own. Statements borrow the connection, so the
//! cache lives beside it in a self-referential cell (see `mod.rs`).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use sqlite::Statement;

/// Prepared statements for one connection, at most `capacity` of them.
///
/// A hit is a hash lookup by `&str` plus a counter bump: no allocation. The key is
/// hashed with [`FxHasher`], not SipHash: hashing the SQL text is on every call's path. Eviction (only
/// on a miss with a full cache, next to a far costlier prepare) scans for the entry with
/// the oldest use stamp; the capacity is small (64 by default).
pub(super) struct StatementCache<'c> {
    entries: HashMap<String, Entry<'c>, BuildHasherDefault<FxHasher>>,
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
            entries: HashMap::default(),
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

/// The multiply-rotate hash of rustc ("Fx"), eight bytes at a time: several times
/// cheaper than the standard library's SipHash on SQL text. It does not resist chosen
/// collisions, which does not matter here: the cache holds at most `capacity` (64 by
/// default) entries, so even all-colliding keys cost a short scan.
#[derive(Default)]
struct FxHasher {
    hash: u64,
}

impl FxHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn fx_hashes_every_byte() {
        let hash = |s: &str| BuildHasherDefault::<FxHasher>::default().hash_one(s);
        let sql = "SELECT value FROM kv WHERE key = ?";
        assert_eq!(hash(sql), hash(sql));
        // A difference in any position, including the partial last word, shows.
        for index in 0..sql.len() {
            let mut changed = sql.as_bytes().to_vec();
            changed[index] ^= 1;
            let changed = String::from_utf8(changed).unwrap_or_default();
            assert_ne!(hash(sql), hash(&changed), "byte {index}");
        }
        assert_ne!(hash(sql), hash(&sql[..sql.len() - 1]));
    }
}
