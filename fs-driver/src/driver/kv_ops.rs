//! The public KV operations: each runs on the awake actor (waking it if needed).

use sqlite_runtime::StatementCacheStats;

use super::FsDriver;
use crate::error::Result;
use crate::kv::{self, KvWrite, ListOptions};
use crate::state::KvEntry;

impl FsDriver {
    /// Batch put: at most 128 entries, all or nothing, existing keys replaced. Limits
    /// are checked before anything is written.
    pub fn kv_put<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &self,
        id: &str,
        entries: &[(K, V)],
    ) -> Result<()> {
        self.with_actor(id, |loaded| loaded.kv.put(entries))
    }

    /// Batch get: one result per key, in order; `None` for a missing key.
    pub fn kv_get<K: AsRef<[u8]>>(&self, id: &str, keys: &[K]) -> Result<Vec<Option<Vec<u8>>>> {
        self.with_actor(id, |loaded| loaded.kv.get(keys))
    }

    /// Point get of one key (the same limits as a batch of one).
    pub fn kv_get_one(&self, id: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        crate::limits::check_key(crate::limits::KeyRole::Key, key)?;
        self.with_actor(id, |loaded| loaded.kv.get_one_unchecked(key))
    }

    /// Batch delete: all or nothing; missing keys are ignored; an empty list does nothing.
    /// Returns how many entries it removed.
    pub fn kv_delete<K: AsRef<[u8]>>(&self, id: &str, keys: &[K]) -> Result<u64> {
        self.with_actor(id, |loaded| loaded.kv.delete(keys))
    }

    /// Deletes the keys in `[start, end)`; `start >= end` does nothing. Returns how many
    /// entries it removed.
    pub fn kv_delete_range(&self, id: &str, start: &[u8], end: &[u8]) -> Result<u64> {
        self.with_actor(id, |loaded| loaded.kv.delete_range(start, end))
    }

    /// Entries whose keys start with `prefix` (all entries for an empty prefix),
    /// ascending, or descending when `options.reverse`.
    pub fn kv_list_prefix(
        &self,
        id: &str,
        prefix: &[u8],
        options: ListOptions,
    ) -> Result<Vec<KvEntry>> {
        self.with_actor(id, |loaded| {
            kv::collect(|visit| loaded.kv.scan_prefix(prefix, options, visit))
        })
    }

    /// Entries with keys in `[start, end)`; empty when `start >= end`.
    pub fn kv_list_range(
        &self,
        id: &str,
        start: &[u8],
        end: &[u8],
        options: ListOptions,
    ) -> Result<Vec<KvEntry>> {
        self.with_actor(id, |loaded| {
            kv::collect(|visit| loaded.kv.scan_range(start, end, options, visit))
        })
    }

    /// Like [`kv_list_prefix`](FsDriver::kv_list_prefix), handing each borrowed entry to
    /// `visit` instead of collecting them. `visit` runs under the actor's lock: it must
    /// not call back into the driver for the same actor.
    pub fn kv_scan_prefix(
        &self,
        id: &str,
        prefix: &[u8],
        options: ListOptions,
        visit: &mut dyn FnMut(&[u8], &[u8]),
    ) -> Result<()> {
        self.with_actor(id, |loaded| loaded.kv.scan_prefix(prefix, options, visit))
    }

    /// Like [`kv_list_range`](FsDriver::kv_list_range), handing each borrowed entry to
    /// `visit`; the same caveat as [`kv_scan_prefix`](FsDriver::kv_scan_prefix).
    pub fn kv_scan_range(
        &self,
        id: &str,
        start: &[u8],
        end: &[u8],
        options: ListOptions,
        visit: &mut dyn FnMut(&[u8], &[u8]),
    ) -> Result<()> {
        self.with_actor(id, |loaded| {
            loaded.kv.scan_range(start, end, options, visit)
        })
    }

    /// Applies `writes` to actor `id` in one transaction (see `KvStore::write_group`):
    /// one result per write. The async driver's coalesced commits.
    pub(crate) fn kv_write_group(&self, id: &str, writes: &[KvWrite]) -> Vec<Result<u64>> {
        match self.with_actor(id, |loaded| Ok(loaded.kv.write_group(writes))) {
            Ok(results) => results,
            Err(error) => writes.iter().map(|_| Err(error.duplicate())).collect(),
        }
    }

    /// The actor's storage size as tracked: the sum of `key + value` over its table.
    pub fn kv_storage_used(&self, id: &str) -> Result<u64> {
        self.with_actor(id, |loaded| loaded.kv.storage_used())
    }

    /// The prepared statements alive on the actor's connection, as SQLite reports them
    /// (for checking that statements are prepared once and reused).
    pub fn kv_statement_cache_stats(&self, id: &str) -> Result<StatementCacheStats> {
        self.with_actor(id, |loaded| loaded.kv.statement_cache_stats())
    }
}
