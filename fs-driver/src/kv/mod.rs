//! Actor KV stores: the `kv` table's statements and reads (`mod.rs`), one actor's open
//! store with its write rules (`store`), the storage size kept in the database by
//! triggers (`size`), the identity of the files a store has open (`files`), and the
//! lease holder's claim that fences writes on a shared engine (`fence`), and the legacy
//! migration's mark (`mark`).
//!
//! Every statement is a constant, so the connection's statement cache prepares each one
//! once; scans go through `for_each` and blobs are bound borrowed. Limits are checked
//! before anything is written.

pub(crate) mod actor_sql;
mod diagnose;
pub(crate) mod fence;
mod files;
pub(crate) mod lease_clock;
pub(crate) mod mark;
pub(crate) mod read_cache;
pub(crate) mod size;
mod sql_size;
mod store;

pub(crate) use store::{KvStore, KvWrite};

use std::ops::ControlFlow;

use sqlite_runtime::{
    Error as SqlError, ErrorKind, OpenOptions, Params, RowRef, SqliteDatabase, SqliteRuntime,
    Target, ValueRef, params,
};

use crate::error::Result;
use crate::limits::{self, KeyRole};
use crate::sql;
use crate::state::KvEntry;

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
    db.exec(sql::CREATE_TABLE)?;
    size::install(&mut *db)?;
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

/// Collects a scan into owned entries.
pub(crate) fn collect(
    scan: impl FnOnce(&mut dyn FnMut(&[u8], &[u8])) -> Result<()>,
) -> Result<Vec<KvEntry>> {
    let mut entries = Vec::new();
    scan(&mut |key, value| entries.push((key.to_vec(), value.to_vec())))?;
    Ok(entries)
}

/// The value of `key` (already checked), if present.
pub(crate) fn get_value(db: &mut dyn SqliteDatabase, key: &[u8]) -> Result<Option<Vec<u8>>> {
    Ok(db.query_row(sql::GET, params![key], |row| column_bytes(row, 0))?)
}

/// Batch get: checks the keys, then one answer per key, in order. Two keys or more are
/// read in one statement: one read transaction (and, on a remote engine, one request)
/// instead of one per key, faster on every backend (BENCHMARKS.md).
pub(crate) fn get_values<K: AsRef<[u8]>>(
    db: &mut dyn SqliteDatabase,
    keys: &[K],
) -> Result<Vec<Option<Vec<u8>>>> {
    limits::check_keys(keys)?;
    match keys {
        [key] => Ok(vec![get_value(db, key.as_ref())?]),
        _ => get_values_at_once(db, keys),
    }
}

/// How a batch of writes reaches the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Writes {
    /// One statement per entry, prepared once: the fastest on a local file (a batch of
    /// 128 puts runs 0.96–1.09× the raw C API this way, 0.77–0.82× as multi-row
    /// statements; BENCHMARKS.md).
    PerEntry,
    /// As few statements as [`sql::BATCH_SIZES`] allow: one request each to a remote
    /// engine, where every statement is a round trip.
    Batched,
}

impl Writes {
    /// What suits `runtime`.
    pub(crate) fn for_runtime(runtime: &dyn SqliteRuntime) -> Self {
        if runtime
            .capabilities()
            .has(sqlite_runtime::Capability::LocalFiles)
        {
            Writes::PerEntry
        } else {
            Writes::Batched
        }
    }
}

/// Puts `entries` (checked, inside the caller's transaction), each once, in order (a
/// later entry for the same key wins): batched, in as few statements as the sizes of
/// [`sql::BATCH_SIZES`] allow (a batch of 100: 64 + 32 + 4).
pub(crate) fn put_entries<K: AsRef<[u8]>, V: AsRef<[u8]>>(
    db: &mut dyn SqliteDatabase,
    entries: &[(K, V)],
    how: Writes,
) -> Result<()> {
    if how == Writes::PerEntry {
        for (key, value) in entries {
            db.run(sql::PUT, params![key.as_ref(), value.as_ref()])?;
        }
        return Ok(());
    }
    let mut rest = entries;
    while !rest.is_empty() {
        let size = chunk_size(rest.len().min(sql::PUT_MANY_MAX));
        let (chunk, later) = rest.split_at(size);
        let params: Vec<ValueRef<'_>> = chunk
            .iter()
            .flat_map(|(key, value)| [ValueRef::Blob(key.as_ref()), ValueRef::Blob(value.as_ref())])
            .collect();
        db.run(sql::put_many(size), Params::Positional(&params))?;
        rest = later;
    }
    Ok(())
}

/// Deletes `keys` (checked, inside the caller's transaction), batched as
/// [`put_entries`]; how many entries went.
pub(crate) fn delete_keys<K: AsRef<[u8]>>(
    db: &mut dyn SqliteDatabase,
    keys: &[K],
    how: Writes,
) -> Result<u64> {
    let mut removed = 0;
    if how == Writes::PerEntry {
        for key in keys {
            removed += db.run(sql::DELETE, params![key.as_ref()])?.changes;
        }
        return Ok(removed);
    }
    let mut rest = keys;
    while !rest.is_empty() {
        let size = chunk_size(rest.len());
        let (chunk, later) = rest.split_at(size);
        let params: Vec<ValueRef<'_>> = chunk
            .iter()
            .map(|key| ValueRef::Blob(key.as_ref()))
            .collect();
        removed += db
            .run(sql::delete_many(size), Params::Positional(&params))?
            .changes;
        rest = later;
    }
    Ok(removed)
}

/// The largest statement size of [`sql::BATCH_SIZES`] that `len` (at least 1) fills.
fn chunk_size(len: usize) -> usize {
    sql::BATCH_SIZES
        .iter()
        .rev()
        .copied()
        .find(|&size| size <= len)
        .unwrap_or(1)
}

/// A batch of keys (checked) in one statement, padded to the next size of
/// [`sql::BATCH_SIZES`] by repeating its last key; answers in the order asked,
/// duplicates included.
fn get_values_at_once<K: AsRef<[u8]>>(
    db: &mut dyn SqliteDatabase,
    keys: &[K],
) -> Result<Vec<Option<Vec<u8>>>> {
    let Some((size, sql)) = sql::BATCH_SIZES
        .iter()
        .find(|&&size| size >= keys.len())
        .and_then(|&size| Some((size, sql::get_many(size)?)))
    else {
        return keys.iter().map(|key| get_value(db, key.as_ref())).collect();
    };
    let last = keys.last().map_or(&[][..], |key| key.as_ref());
    let params: Vec<ValueRef<'_>> = keys
        .iter()
        .map(|key| ValueRef::Blob(key.as_ref()))
        .chain(std::iter::repeat_n(ValueRef::Blob(last), size - keys.len()))
        .collect();
    let mut found: std::collections::HashMap<Vec<u8>, Vec<u8>> =
        std::collections::HashMap::with_capacity(keys.len());
    db.for_each(sql, Params::Positional(&params), &mut |row| {
        found.insert(column_bytes(row, 0)?, column_bytes(row, 1)?);
        Ok(ControlFlow::Continue(()))
    })?;
    Ok(keys
        .iter()
        .map(|key| found.get(key.as_ref()).cloned())
        .collect())
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
                sql::RANGE_DESC
            } else {
                sql::RANGE_ASC
            };
            scan(db, sql, params![prefix, &upper], limit, visit)
        }
        None => {
            let sql = if options.reverse {
                sql::FROM_DESC
            } else {
                sql::FROM_ASC
            };
            scan(db, sql, params![prefix], limit, visit)
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
        sql::RANGE_DESC
    } else {
        sql::RANGE_ASC
    };
    scan(
        db,
        sql,
        params![start, end],
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
        match row.values() {
            [ValueRef::Blob(key), ValueRef::Blob(value)] => visit(key, value),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_in_few_statements_answer_as_one_statement_per_key() {
        let runtime = sqlite_runtime_backends::RusqliteRuntime::new();
        let mut db = open_database(&runtime, &Target::Memory).unwrap();
        let mut entries: Vec<(Vec<u8>, Vec<u8>)> =
            (0..100u8).map(|i| (vec![i], vec![i, i])).collect();
        entries.push((Vec::new(), b"empty key".to_vec()));
        entries.push((vec![5], b"later wins".to_vec()));
        put_entries(&mut *db, &entries, Writes::Batched).unwrap();
        assert_eq!(
            get_value(&mut *db, &[5]).unwrap(),
            Some(b"later wins".to_vec())
        );
        // Sizes 2..=128 (every padding size), duplicates, missing keys, the empty key.
        for len in [2usize, 3, 16, 17, 100, 128] {
            let keys: Vec<Vec<u8>> = (0..len)
                .map(|i| match i % 7 {
                    0 => Vec::new(),
                    1 => vec![200, i as u8],
                    _ => vec![(i * 3 % 110) as u8],
                })
                .collect();
            let one_by_one: Vec<Option<Vec<u8>>> = keys
                .iter()
                .map(|key| get_value(&mut *db, key).unwrap())
                .collect();
            assert_eq!(
                get_values(&mut *db, &keys).unwrap(),
                one_by_one,
                "{len} keys"
            );
            assert!(
                one_by_one.iter().any(Option::is_none) && one_by_one.iter().any(Option::is_some)
            );
        }
        let too_many: Vec<Vec<u8>> = (0..129u8).map(|i| vec![i]).collect();
        assert!(get_values(&mut *db, &too_many).is_err());
        // A delete counts each entry once, however often its key is named.
        let doomed: Vec<Vec<u8>> = vec![vec![1], vec![2], vec![1], vec![250], vec![3]];
        assert_eq!(delete_keys(&mut *db, &doomed, Writes::Batched).unwrap(), 3);
        assert_eq!(get_value(&mut *db, &[2]).unwrap(), None);
        assert_eq!(chunk_size(100), 64);
        assert_eq!(chunk_size(3), 2);
        assert_eq!(chunk_size(1), 1);
    }
}
