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
pub(crate) mod mark;
pub(crate) mod size;
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
