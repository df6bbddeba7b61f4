//! An actor's own SQL on its database, beside its KV.
//!
//! Statements are guarded ([`Guard`]): SQLite's authorizer refuses whatever would read,
//! write, index, trigger on, shadow or drop the driver's tables (`kv` and every name
//! starting with `kv_`), change a setting, attach a file, load an extension or manage a
//! transaction, and the guard's limits bound each statement's text, parameters, values
//! and running time. A statement that only reads runs as it is; one that writes runs in
//! the driver's write transaction (fenced, its commit's outcome tracked as for KV
//! writes), inside a savepoint of its own, so that a refusal found after it ran (a
//! reserved name it created by renaming, the quota) undoes it alone.
//!
//! The storage quota covers KV and SQL together. What SQL takes is counted in pages, in
//! O(1): the database's pages in use (`page_count - freelist_count`, both read from the
//! header) before and after each writing statement; the difference is added to a record
//! (`kv_sql_size`, made at the first SQL write) in the same transaction. While the
//! statement runs, `max_page_count` stops the file from growing past what the quota
//! leaves, so that one statement cannot fill the disk before it is counted.

use std::ops::ControlFlow;

use sqlite_runtime::{
    ErrorKind, Guard, GuardLimits, GuardedStatement, Params, Row, RowRef, RowVisitor, RunResult,
    params,
};

use super::sql_size::{MAX_PAGE_COUNT, PAGE_COUNT, int, pages_in_use};
use super::store::{Connection, KvStore, KvWrite};
use crate::error::{Error, Result};
use crate::limits::LimitError;

/// Table names that belong to the driver.
pub const RESERVED_NAMES: [&str; 1] = ["kv"];
/// Name prefixes that belong to the driver: its tables, triggers and records to come,
/// and the index SQLite makes for `kv`'s primary key (which `REINDEX` names alone).
pub const RESERVED_PREFIXES: [&str; 2] = ["kv_", "sqlite_autoindex_kv_"];

const ADD_SQL_PAGES: &str = "INSERT INTO kv_sql_size (id, pages) VALUES (0, max(0, ?1)) \
    ON CONFLICT (id) DO UPDATE SET pages = max(0, pages + ?1)";
/// The driver's objects by name, in both schemas: guarded DDL must leave the count as it
/// was (a rename's new name reaches no authorizer).
const RESERVED_OBJECTS: &str = "SELECT \
    (SELECT count(*) FROM sqlite_schema WHERE name = 'kv' OR name LIKE 'kv\\_%' ESCAPE '\\') + \
    (SELECT count(*) FROM sqlite_temp_schema WHERE name = 'kv' OR name LIKE 'kv\\_%' ESCAPE '\\')";
/// SQLite's result code for a full database.
const SQLITE_FULL: i32 = 13;
const SAVEPOINT: &str = "SAVEPOINT actor_sql";
const RELEASE: &str = "RELEASE actor_sql";
const ROLLBACK_TO: &str = "ROLLBACK TO actor_sql";

/// The guard every actor's SQL runs under.
pub(crate) fn guard(limits: GuardLimits) -> Guard {
    Guard::new(RESERVED_NAMES, RESERVED_PREFIXES).with_limits(limits)
}

/// Collects every row.
fn collect(
    run: impl FnOnce(&mut RowVisitor<'_>) -> Result<RunResult>,
) -> Result<(Vec<Row>, RunResult)> {
    let mut rows = Vec::new();
    let outcome = run(&mut |row| {
        rows.push(row.to_row(row.column_names()?.into()));
        Ok(ControlFlow::Continue(()))
    })?;
    Ok((rows, outcome))
}

/// Maps the first row with `map` (reading stops there); `None` without a row.
fn first_row<T>(
    run: impl FnOnce(&mut RowVisitor<'_>) -> Result<RunResult>,
    map: impl FnOnce(&RowRef<'_>) -> sqlite_runtime::Result<T>,
) -> Result<Option<T>> {
    let mut map = Some(map);
    let mut first = None;
    run(&mut |row| {
        if let Some(map) = map.take() {
            first = Some(map(row)?);
        }
        Ok(ControlFlow::Break(()))
    })?;
    Ok(first)
}

/// Runs one statement, known to write, inside the caller's transaction: in a savepoint,
/// bounded by the quota, its pages counted.
fn write_statement(
    connection: &mut Connection,
    guard: &Guard,
    sql: &str,
    params: Params<'_>,
    found: GuardedStatement,
    max_storage: u64,
    visitor: &mut RowVisitor<'_>,
) -> Result<RunResult> {
    connection.db.run(SAVEPOINT, Params::NONE)?;
    let outcome = counted_statement(connection, guard, sql, params, found, max_storage, visitor);
    end_savepoint(connection, outcome)
}

/// Releases the savepoint, rolled back to first when `outcome` is an error. SQLite rolls
/// the whole transaction back by itself after some errors (a full database, an
/// interrupt): then there is no savepoint left, and the error stands.
fn end_savepoint<T>(connection: &mut Connection, outcome: Result<T>) -> Result<T> {
    if outcome.is_err() {
        if !connection.db.in_transaction()? {
            return outcome;
        }
        connection.db.run(ROLLBACK_TO, Params::NONE)?;
    }
    connection.db.run(RELEASE, Params::NONE)?;
    outcome
}

fn counted_statement(
    connection: &mut Connection,
    guard: &Guard,
    sql: &str,
    params: Params<'_>,
    found: GuardedStatement,
    max_storage: u64,
    visitor: &mut RowVisitor<'_>,
) -> Result<RunResult> {
    connection.sql_pages.ensure_recorded(&mut *connection.db)?;
    let used = connection.used()?;
    let db = &mut *connection.db;
    let page_size = connection.sql_pages.page_size(db)?;
    let default_max = connection.sql_pages.max_pages(db)?;
    let reserved = if found.changes_schema {
        Some(int(db, RESERVED_OBJECTS)?)
    } else {
        None
    };
    let before = pages_in_use(db)?;
    let remaining = max_storage.saturating_sub(used);
    let room = i64::try_from(remaining / page_size).unwrap_or(i64::MAX);
    let ceiling = int(db, PAGE_COUNT)?.saturating_add(room).saturating_add(1);
    // Through `exec`: a text that changes with each number must not fill the
    // connection's statement cache.
    db.exec(&format!("{MAX_PAGE_COUNT} = {}", ceiling.min(default_max)))?;
    let ran = db.guarded_for_each(guard, sql, params, visitor);
    db.exec(&format!("{MAX_PAGE_COUNT} = {default_max}"))?;
    let outcome = match ran {
        Ok(outcome) => outcome,
        // SQLITE_FULL under a ceiling lower than the connection's own: the quota (SQLite
        // reports both as a full database; the transaction may be gone already, so the
        // page count cannot tell).
        Err(error)
            if error.kind() == ErrorKind::Io
                && error.extended_code() == Some(SQLITE_FULL)
                && ceiling < default_max =>
        {
            return Err(quota(remaining, page_size));
        }
        Err(error) => return Err(error.into()),
    };
    if let Some(reserved) = reserved
        && int(db, RESERVED_OBJECTS)? != reserved
    {
        return Err(sqlite_runtime::Error::new(
            ErrorKind::NotAuthorized,
            "names `kv` and `kv_*` are reserved for the driver",
        )
        .into());
    }
    let grown = pages_in_use(db)? - before;
    let grown_bytes = u64::try_from(grown).unwrap_or(0).saturating_mul(page_size);
    if grown_bytes > remaining {
        return Err(Error::Limit(LimitError::StorageFull {
            remaining,
            payload: grown_bytes,
        }));
    }
    if grown != 0 {
        db.run(ADD_SQL_PAGES, params![grown])?;
    }
    Ok(outcome)
}

fn quota(remaining: u64, page_size: u64) -> Error {
    Error::Limit(LimitError::StorageFull {
        remaining,
        payload: remaining.saturating_add(page_size),
    })
}

impl KvStore {
    /// Runs one statement of the actor's SQL: a reading one as it is, a writing one in a
    /// write transaction of its own.
    pub(crate) fn sql(
        &mut self,
        guard: &Guard,
        sql: &str,
        params: Params<'_>,
        visitor: &mut RowVisitor<'_>,
    ) -> Result<RunResult> {
        let db = &mut *self.open_connection()?.db;
        if db.guarded_read(guard, sql, params, visitor)? {
            return Ok(RunResult::default());
        }
        let found = db.guarded_prepare(guard, sql)?;
        let max_storage = self.max_storage();
        self.write(|connection| {
            write_statement(connection, guard, sql, params, found, max_storage, visitor)
        })
    }

    /// Runs `work` in one write transaction that may mix SQL statements and KV writes.
    pub(crate) fn sql_transaction<T>(
        &mut self,
        guard: &Guard,
        work: impl FnOnce(&mut SqlTransaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let max_storage = self.max_storage();
        let id = self.id().to_owned();
        self.write(|connection| {
            let mut transaction = SqlTransaction {
                connection,
                guard,
                max_storage,
                aborted: None,
            };
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&mut transaction)));
            match (outcome, transaction.aborted) {
                (Err(panic), _) => Err(Error::Panicked {
                    id,
                    message: panic_message(&*panic),
                }),
                (Ok(Ok(_)), Some(aborted)) => Err(aborted),
                (Ok(outcome), _) => outcome,
            }
        })
    }
}

/// The text of a panic's payload.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned())
}

/// One write transaction on an actor's database mixing its SQL and its KV: everything
/// done through it commits together when the closure returns `Ok`, or not at all. A
/// failed call undoes only its own effects; returning its error undoes everything.
pub struct SqlTransaction<'a> {
    connection: &'a mut Connection,
    guard: &'a Guard,
    max_storage: u64,
    /// Set when SQLite rolled the whole transaction back by itself (after a full
    /// database or an interrupt): every later call fails, and so does the transaction.
    aborted: Option<Error>,
}

impl std::fmt::Debug for SqlTransaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlTransaction").finish_non_exhaustive()
    }
}

impl SqlTransaction<'_> {
    /// Runs one statement and reports the rows it changed.
    pub fn execute(&mut self, sql: &str, params: Params<'_>) -> Result<RunResult> {
        self.for_each(sql, params, &mut |_| Ok(ControlFlow::Continue(())))
    }

    /// Runs one statement and returns its rows.
    pub fn query(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
        Ok(collect(|visitor| self.for_each(sql, params, visitor))?.0)
    }

    /// The first row of one statement mapped by `map`, if any (reading stops there).
    pub fn query_row<T>(
        &mut self,
        sql: &str,
        params: Params<'_>,
        map: impl FnOnce(&RowRef<'_>) -> sqlite_runtime::Result<T>,
    ) -> Result<Option<T>> {
        first_row(|visitor| self.for_each(sql, params, visitor), map)
    }

    fn for_each(
        &mut self,
        sql: &str,
        params: Params<'_>,
        visitor: &mut RowVisitor<'_>,
    ) -> Result<RunResult> {
        self.live()?;
        let outcome = self.for_each_unchecked(sql, params, visitor);
        self.check_aborted(outcome)
    }

    /// Fails once the transaction is gone.
    fn live(&self) -> Result<()> {
        match &self.aborted {
            Some(error) => Err(error.duplicate()),
            None => Ok(()),
        }
    }

    /// Notes whether a failure took the whole transaction with it.
    fn check_aborted<T>(&mut self, outcome: Result<T>) -> Result<T> {
        if let Err(error) = &outcome
            && !self.connection.db.in_transaction()?
        {
            self.aborted = Some(error.duplicate());
        }
        outcome
    }

    fn for_each_unchecked(
        &mut self,
        sql: &str,
        params: Params<'_>,
        visitor: &mut RowVisitor<'_>,
    ) -> Result<RunResult> {
        if self
            .connection
            .db
            .guarded_read(self.guard, sql, params, visitor)?
        {
            return Ok(RunResult::default());
        }
        let found = self.connection.db.guarded_prepare(self.guard, sql)?;
        write_statement(
            self.connection,
            self.guard,
            sql,
            params,
            found,
            self.max_storage,
            visitor,
        )
    }

    /// Batch put, with the same limits as [`FsDriver::kv_put`](crate::FsDriver::kv_put)
    /// (the quota counting this transaction's SQL too).
    pub fn kv_put<K: AsRef<[u8]>, V: AsRef<[u8]>>(&mut self, entries: &[(K, V)]) -> Result<()> {
        let write = KvWrite::Put(
            entries
                .iter()
                .map(|(k, v)| (k.as_ref().to_vec(), v.as_ref().to_vec()))
                .collect(),
        );
        self.kv_write(&write).map(drop)
    }

    /// Batch delete; how many entries it removed.
    pub fn kv_delete<K: AsRef<[u8]>>(&mut self, keys: &[K]) -> Result<u64> {
        let write = KvWrite::Delete(keys.iter().map(|k| k.as_ref().to_vec()).collect());
        self.kv_write(&write)
    }

    /// Batch get: one result per key, in order; `None` for a missing key. Sees this
    /// transaction's writes.
    pub fn kv_get<K: AsRef<[u8]>>(&mut self, keys: &[K]) -> Result<Vec<Option<Vec<u8>>>> {
        self.live()?;
        crate::limits::check_keys(keys)?;
        super::get_values(&mut *self.connection.db, keys)
    }

    fn kv_write(&mut self, write: &KvWrite) -> Result<u64> {
        self.live()?;
        if write.check()? {
            return Ok(0);
        }
        self.connection.db.run(SAVEPOINT, Params::NONE)?;
        let outcome = write.apply(self.connection, self.max_storage);
        end_savepoint(self.connection, outcome)
    }
}

/// Runs `sql` through `store` and maps its first row (reading stops there).
pub(crate) fn query_row<T>(
    store: &mut KvStore,
    guard: &Guard,
    sql: &str,
    params: Params<'_>,
    map: impl FnOnce(&RowRef<'_>) -> sqlite_runtime::Result<T>,
) -> Result<Option<T>> {
    first_row(|visitor| store.sql(guard, sql, params, visitor), map)
}

/// Runs `sql` through `store` and collects its rows.
pub(crate) fn query(
    store: &mut KvStore,
    guard: &Guard,
    sql: &str,
    params: Params<'_>,
) -> Result<(Vec<Row>, RunResult)> {
    collect(|visitor| store.sql(guard, sql, params, visitor))
}
