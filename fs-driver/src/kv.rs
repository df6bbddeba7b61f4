//! One actor's KV store: a SQLite connection holding the `kv` table, with the actor's
//! storage size tracked incrementally.
//!
//! Every statement is a constant, so the connection's statement cache prepares each one
//! once; scans go through `for_each` and blobs are bound borrowed. Limits are checked
//! before the database is touched.

use std::ops::ControlFlow;

use sqlite_runtime::{
    Error as SqlError, ErrorKind, OpenOptions, Params, RowRef, SqliteDatabase, SqliteRuntime,
    Target, ValueRef,
};

use crate::error::Result;
use crate::limits::{self, KeyRole};
use crate::state::KvEntry;

/// The table every actor database holds.
pub const CREATE_TABLE_SQL: &str =
    "CREATE TABLE IF NOT EXISTS kv (key BLOB PRIMARY KEY NOT NULL, value BLOB NOT NULL)";
/// Whether the table holds any row (not a count).
pub const HAS_ANY_SQL: &str = "SELECT 1 FROM kv LIMIT 1";
const STORAGE_SIZE_SQL: &str = "SELECT COALESCE(SUM(length(key) + length(value)), 0) FROM kv";
const GET_SQL: &str = "SELECT value FROM kv WHERE key = ?";
const OLD_SIZE_SQL: &str = "SELECT length(key) + length(value) FROM kv WHERE key = ?";
/// Inserts or replaces one entry.
pub const PUT_SQL: &str = "INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)";
const DELETE_SQL: &str = "DELETE FROM kv WHERE key = ? RETURNING length(key) + length(value)";
const DELETE_RANGE_SQL: &str =
    "DELETE FROM kv WHERE key >= ? AND key < ? RETURNING length(key) + length(value)";
// Lists carry no `LIMIT ?`: since SQLite 3.4x a bound LIMIT marks the statement for
// re-preparation on every new binding, which would defeat the statement cache. The scan
// stops after `limit` rows instead; the primary-key order needs no sort, so stopping
// early reads no more rows than a LIMIT would.
const RANGE_ASC_SQL: &str = "SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key ASC";
const RANGE_DESC_SQL: &str =
    "SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key DESC";
const FROM_ASC_SQL: &str = "SELECT key, value FROM kv WHERE key >= ? ORDER BY key ASC";
const FROM_DESC_SQL: &str = "SELECT key, value FROM kv WHERE key >= ? ORDER BY key DESC";

/// Options of a list: direction and how many entries at most.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListOptions {
    /// Descending key order when `true`.
    pub reverse: bool,
    /// The most entries returned; [`DEFAULT_LIST_LIMIT`](limits::DEFAULT_LIST_LIMIT)
    /// when `None`.
    pub limit: Option<usize>,
}

impl Default for ListOptions {
    fn default() -> Self {
        ListOptions::new()
    }
}

impl ListOptions {
    /// Ascending, default limit.
    pub const fn new() -> Self {
        ListOptions {
            reverse: false,
            limit: None,
        }
    }

    /// Sets the direction.
    pub const fn reverse(mut self, reverse: bool) -> Self {
        self.reverse = reverse;
        self
    }

    /// Sets the limit.
    pub const fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    fn effective_limit(&self) -> usize {
        self.limit.unwrap_or(limits::DEFAULT_LIST_LIMIT)
    }
}

/// Opens connections for actor databases the way the spec says.
pub(crate) fn open_database(
    runtime: &dyn SqliteRuntime,
    target: &Target,
) -> Result<Box<dyn SqliteDatabase>> {
    let mut db = runtime.open(target, &OpenOptions::new())?;
    db.exec(CREATE_TABLE_SQL)?;
    Ok(db)
}

/// The bytes of a key or value column (BLOB; TEXT written by other tools reads as its
/// UTF-8 bytes).
fn column_bytes(row: &RowRef<'_>, index: usize) -> sqlite_runtime::Result<Vec<u8>> {
    match row.value(index)? {
        ValueRef::Blob(bytes) => Ok(bytes.to_vec()),
        ValueRef::Text(text) => Ok(text.as_bytes().to_vec()),
        ValueRef::Null => Ok(Vec::new()),
        other => Err(SqlError::new(
            ErrorKind::TypeMismatch,
            format!(
                "kv column {index}: expected blob, found {}",
                other.value_type()
            ),
        )),
    }
}

fn column_u64(row: &RowRef<'_>) -> sqlite_runtime::Result<u64> {
    Ok(u64::try_from(row.get::<Option<i64>>(0)?.unwrap_or(0)).unwrap_or(0))
}

/// Runs a `DELETE ... RETURNING length(key) + length(value)` and sums what it removed.
fn delete_returning_sizes(
    db: &mut dyn SqliteDatabase,
    sql: &str,
    params: Params<'_>,
) -> Result<u64> {
    let mut removed = 0u64;
    db.for_each(sql, params, &mut |row| {
        removed += column_u64(row)?;
        Ok(ControlFlow::Continue(()))
    })?;
    Ok(removed)
}

/// An open actor database and its tracked storage size.
pub(crate) struct KvStore {
    db: Box<dyn SqliteDatabase>,
    /// The sum of `length(key) + length(value)` over the table.
    used: u64,
    max_storage: u64,
}

impl KvStore {
    /// Opens (creating if needed) the database at `target`, creates the table and reads
    /// the storage size once.
    pub(crate) fn open(
        runtime: &dyn SqliteRuntime,
        target: &Target,
        max_storage: u64,
    ) -> Result<Self> {
        let mut db = open_database(runtime, target)?;
        let mut used = 0;
        db.for_each(STORAGE_SIZE_SQL, Params::NONE, &mut |row| {
            used = column_u64(row)?;
            Ok(ControlFlow::Break(()))
        })?;
        Ok(KvStore {
            db,
            used,
            max_storage,
        })
    }

    /// The tracked storage size.
    pub(crate) fn storage_used(&self) -> u64 {
        self.used
    }

    /// Whether the legacy migration marked this database as dealt with.
    pub(crate) fn is_migrated(&mut self) -> Result<bool> {
        crate::migration::is_marked(&mut *self.db)
    }

    /// The connection's live prepared statements.
    pub(crate) fn statement_cache_stats(&mut self) -> Result<sqlite_runtime::StatementCacheStats> {
        Ok(self.db.statement_cache_stats()?)
    }

    /// Closes the connection.
    pub(crate) fn close(mut self) -> Result<()> {
        self.db.close()?;
        Ok(())
    }

    /// The size a key takes now (`key + value`), 0 when absent.
    fn stored_size(db: &mut dyn SqliteDatabase, key: &[u8]) -> Result<u64> {
        let mut size = 0;
        db.for_each(
            OLD_SIZE_SQL,
            Params::from(&[ValueRef::Blob(key)]),
            &mut |row| {
                size = column_u64(row)?;
                Ok(ControlFlow::Break(()))
            },
        )?;
        Ok(size)
    }

    /// Runs `work` in one `BEGIN IMMEDIATE` transaction, or directly when it is a single
    /// statement (`single`), which SQLite makes atomic by itself.
    fn write<R>(
        &mut self,
        single: bool,
        work: impl FnOnce(&mut dyn SqliteDatabase) -> Result<R>,
    ) -> Result<R> {
        if single {
            return work(&mut *self.db);
        }
        let mut tx = self.db.transaction()?;
        let result = work(&mut *tx)?;
        // A failed COMMIT rolls back as the guard drops: nothing is half-applied.
        tx.commit()?;
        Ok(result)
    }

    /// Batch put: all or nothing, existing keys replaced.
    pub(crate) fn put<K: AsRef<[u8]>, V: AsRef<[u8]>>(&mut self, entries: &[(K, V)]) -> Result<()> {
        limits::check_put(entries, self.used, self.max_storage)?;
        if entries.is_empty() {
            return Ok(());
        }
        let (mut added, mut removed) = (0u64, 0u64);
        // Only a one-entry put runs without a transaction: its lookup is a read and its
        // write one statement.
        self.write(entries.len() == 1, |db| {
            for (key, value) in entries {
                let (key, value) = (key.as_ref(), value.as_ref());
                removed += Self::stored_size(db, key)?;
                db.run(
                    PUT_SQL,
                    Params::from(&[ValueRef::Blob(key), ValueRef::Blob(value)]),
                )?;
                added += (key.len() + value.len()) as u64;
            }
            Ok(())
        })?;
        self.used = (self.used + added).saturating_sub(removed);
        Ok(())
    }

    /// Batch get: one result per key, in order.
    pub(crate) fn get<K: AsRef<[u8]>>(&mut self, keys: &[K]) -> Result<Vec<Option<Vec<u8>>>> {
        get_values(&mut *self.db, keys)
    }

    /// Point get of a key already checked.
    pub(crate) fn get_one_unchecked(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        get_value(&mut *self.db, key)
    }

    /// Batch delete: all or nothing, missing keys ignored.
    pub(crate) fn delete<K: AsRef<[u8]>>(&mut self, keys: &[K]) -> Result<()> {
        limits::check_keys(keys)?;
        if keys.is_empty() {
            return Ok(());
        }
        let removed = self.write(keys.len() == 1, |db| {
            let mut removed = 0;
            for key in keys {
                removed += delete_returning_sizes(
                    db,
                    DELETE_SQL,
                    Params::from(&[ValueRef::Blob(key.as_ref())]),
                )?;
            }
            Ok(removed)
        })?;
        self.used = self.used.saturating_sub(removed);
        Ok(())
    }

    /// Deletes keys in `[start, end)`; `start >= end` does nothing.
    pub(crate) fn delete_range(&mut self, start: &[u8], end: &[u8]) -> Result<()> {
        limits::check_key(KeyRole::Start, start)?;
        limits::check_key(KeyRole::End, end)?;
        if start >= end {
            return Ok(());
        }
        let removed = self.write(true, |db| {
            delete_returning_sizes(
                db,
                DELETE_RANGE_SQL,
                Params::from(&[ValueRef::Blob(start), ValueRef::Blob(end)]),
            )
        })?;
        self.used = self.used.saturating_sub(removed);
        Ok(())
    }

    /// Entries whose keys start with `prefix`, visited in order.
    pub(crate) fn scan_prefix(
        &mut self,
        prefix: &[u8],
        options: ListOptions,
        visit: &mut dyn FnMut(&[u8], &[u8]),
    ) -> Result<()> {
        scan_prefix(&mut *self.db, prefix, options, visit)
    }

    /// Entries with keys in `[start, end)`, visited in order; none when `start >= end`.
    pub(crate) fn scan_range(
        &mut self,
        start: &[u8],
        end: &[u8],
        options: ListOptions,
        visit: &mut dyn FnMut(&[u8], &[u8]),
    ) -> Result<()> {
        scan_range(&mut *self.db, start, end, options, visit)
    }

    /// Collects a scan into owned entries.
    pub(crate) fn collect(
        scan: impl FnOnce(&mut dyn FnMut(&[u8], &[u8])) -> Result<()>,
    ) -> Result<Vec<KvEntry>> {
        let mut entries = Vec::new();
        scan(&mut |key, value| entries.push((key.to_vec(), value.to_vec())))?;
        Ok(entries)
    }
}

/// The value of `key` (already checked), if present.
pub(crate) fn get_value(db: &mut dyn SqliteDatabase, key: &[u8]) -> Result<Option<Vec<u8>>> {
    let mut value = None;
    db.for_each(GET_SQL, Params::from(&[ValueRef::Blob(key)]), &mut |row| {
        value = Some(column_bytes(row, 0)?);
        Ok(ControlFlow::Break(()))
    })?;
    Ok(value)
}

/// Batch get: checks the keys, then one answer per key, in order.
pub(crate) fn get_values<K: AsRef<[u8]>>(
    db: &mut dyn SqliteDatabase,
    keys: &[K],
) -> Result<Vec<Option<Vec<u8>>>> {
    limits::check_keys(keys)?;
    keys.iter().map(|key| get_value(db, key.as_ref())).collect()
}

/// Entries whose keys start with `prefix`, visited in order.
pub(crate) fn scan_prefix(
    db: &mut dyn SqliteDatabase,
    prefix: &[u8],
    options: ListOptions,
    visit: &mut dyn FnMut(&[u8], &[u8]),
) -> Result<()> {
    limits::check_key(KeyRole::Prefix, prefix)?;
    let limit = options.effective_limit();
    match limits::prefix_upper_bound(prefix) {
        Some(upper) => {
            let sql = if options.reverse {
                RANGE_DESC_SQL
            } else {
                RANGE_ASC_SQL
            };
            scan(
                db,
                sql,
                Params::from(&[ValueRef::Blob(prefix), ValueRef::Blob(&upper)]),
                limit,
                visit,
            )
        }
        None => {
            let sql = if options.reverse {
                FROM_DESC_SQL
            } else {
                FROM_ASC_SQL
            };
            scan(
                db,
                sql,
                Params::from(&[ValueRef::Blob(prefix)]),
                limit,
                visit,
            )
        }
    }
}

/// Entries with keys in `[start, end)`, visited in order; none when `start >= end`.
pub(crate) fn scan_range(
    db: &mut dyn SqliteDatabase,
    start: &[u8],
    end: &[u8],
    options: ListOptions,
    visit: &mut dyn FnMut(&[u8], &[u8]),
) -> Result<()> {
    limits::check_key(KeyRole::Start, start)?;
    limits::check_key(KeyRole::End, end)?;
    if start >= end {
        return Ok(());
    }
    let sql = if options.reverse {
        RANGE_DESC_SQL
    } else {
        RANGE_ASC_SQL
    };
    scan(
        db,
        sql,
        Params::from(&[ValueRef::Blob(start), ValueRef::Blob(end)]),
        options.effective_limit(),
        visit,
    )
}

/// Visits at most `limit` rows of `sql`.
fn scan(
    db: &mut dyn SqliteDatabase,
    sql: &str,
    params: Params<'_>,
    limit: usize,
    visit: &mut dyn FnMut(&[u8], &[u8]),
) -> Result<()> {
    if limit == 0 {
        return Ok(());
    }
    let mut left = limit;
    db.for_each(sql, params, &mut |row| {
        match (row.value(0)?, row.value(1)?) {
            (ValueRef::Blob(key), ValueRef::Blob(value)) => visit(key, value),
            _ => visit(&column_bytes(row, 0)?, &column_bytes(row, 1)?),
        }
        left -= 1;
        Ok(if left == 0 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        })
    })?;
    Ok(())
}
