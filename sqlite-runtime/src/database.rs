//! The connection trait.

use std::ops::ControlFlow;
use std::sync::Arc;

use crate::{Guard, Params, Result, Row, RowRef};

/// What a write statement did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunResult {
    /// Rows inserted, updated or deleted by the statement (`sqlite3_changes`).
    pub changes: u64,
    /// The rowid of the most recent successful insert on this connection.
    pub last_insert_rowid: i64,
}

/// What compiling a guarded statement found
/// ([`SqliteDatabase::guarded_prepare`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GuardedStatement {
    /// It writes nothing (`sqlite3_stmt_readonly`).
    pub read_only: bool,
    /// It creates, drops or alters a schema object.
    pub changes_schema: bool,
}

/// One prepared statement alive on a connection, as SQLite reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementStats {
    /// The statement's SQL text.
    pub sql: String,
    /// How many times it has been run to completion or reset (`SQLITE_STMTSTATUS_RUN`).
    /// A cached statement run N times reports (about) N; without caching every run
    /// would prepare a fresh statement reporting 1.
    pub runs: u64,
    /// How many times SQLite re-prepared it after a schema change
    /// (`SQLITE_STMTSTATUS_REPREPARE`).
    pub reprepares: u64,
}

/// The prepared statements a connection keeps, read from SQLite itself
/// (`sqlite3_next_stmt`), not from the backend's own bookkeeping.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatementCacheStats {
    /// The configured cache capacity.
    pub capacity: usize,
    /// Every prepared statement alive on the connection.
    pub statements: Vec<StatementStats>,
}

impl StatementCacheStats {
    /// The live statement whose SQL is `sql`, if any.
    pub fn statement(&self, sql: &str) -> Option<&StatementStats> {
        self.statements.iter().find(|s| s.sql == sql)
    }
}

/// A row visitor: return [`ControlFlow::Break`] to stop early.
pub type RowVisitor<'v> = dyn FnMut(&RowRef<'_>) -> Result<ControlFlow<()>> + 'v;

/// One connection to one database, through some backend.
///
/// Every method takes `&mut self`: a connection is used by one thread at a time, and
/// statements are prepared once and reused from the connection's cache. After
/// [`close`](SqliteDatabase::close), every method returns an
/// [`ErrorKind::Closed`](crate::ErrorKind::Closed) error.
///
/// Transactions are opened with [`transaction`](crate::Transaction) on
/// `dyn SqliteDatabase`.
pub trait SqliteDatabase: Send {
    /// The backend's name.
    fn backend(&self) -> &'static str;

    /// Runs one or more `;`-separated statements without parameters, discarding rows.
    fn exec(&mut self, sql: &str) -> Result<()>;

    /// Runs one statement and reports the rows it changed.
    fn run(&mut self, sql: &str, params: Params<'_>) -> Result<RunResult>;

    /// Runs one statement and calls `visitor` for each row, in order, without collecting
    /// them. Stops at the first `Break` or error.
    fn for_each(
        &mut self,
        sql: &str,
        params: Params<'_>,
        visitor: &mut RowVisitor<'_>,
    ) -> Result<()>;

    /// The first row, or `None` when the statement returns no row.
    fn get(&mut self, sql: &str, params: Params<'_>) -> Result<Option<Row>> {
        let mut first = None;
        self.for_each(sql, params, &mut |row| {
            first = Some(row.to_row(row.column_names()?.into()));
            Ok(ControlFlow::Break(()))
        })?;
        Ok(first)
    }

    /// Every row.
    fn all(&mut self, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
        let mut rows = Vec::new();
        let mut columns: Option<Arc<[String]>> = None;
        self.for_each(sql, params, &mut |row| {
            let columns = match &columns {
                Some(columns) => columns,
                None => columns.insert(row.column_names()?.into()),
            };
            rows.push(row.to_row(columns.clone()));
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(rows)
    }

    /// Whether a transaction is open (SQLite is not in autocommit mode).
    fn in_transaction(&mut self) -> Result<bool>;

    /// The prepared statements alive on this connection, as SQLite reports them.
    fn statement_cache_stats(&mut self) -> Result<StatementCacheStats>;

    /// Closes the connection, finalizing cached statements. Closing twice is a no-op.
    fn close(&mut self) -> Result<()>;

    /// Whether [`close`](SqliteDatabase::close) was called.
    fn is_closed(&self) -> bool;

    /// Compiles one statement of untrusted SQL under `guard` (or finds it compiled under
    /// the same guard) and says what it does, without running it. A statement the guard
    /// refuses is an [`ErrorKind::NotAuthorized`](crate::ErrorKind::NotAuthorized) error
    /// naming the reason; one over a limit, [`ErrorKind::TooBig`](crate::ErrorKind::TooBig)
    /// or [`ErrorKind::Sql`](crate::ErrorKind::Sql). Backends without
    /// [`Capability::GuardedSql`](crate::Capability::GuardedSql) return
    /// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported).
    fn guarded_prepare(&mut self, guard: &Guard, sql: &str) -> Result<GuardedStatement> {
        let _ = (guard, sql);
        Err(guarded_sql_unsupported(self.backend()))
    }

    /// Runs one statement of untrusted SQL under `guard` and within its limits (one that
    /// runs longer than [`GuardLimits::time`](crate::GuardLimits::time) is interrupted:
    /// [`ErrorKind::Interrupted`](crate::ErrorKind::Interrupted)), handing each row to
    /// `visitor`. The connection's own settings are as before afterwards, whatever
    /// happened. Errors as for [`guarded_prepare`](SqliteDatabase::guarded_prepare).
    fn guarded_for_each(
        &mut self,
        guard: &Guard,
        sql: &str,
        params: Params<'_>,
        visitor: &mut RowVisitor<'_>,
    ) -> Result<RunResult> {
        let _ = (guard, sql, params, visitor);
        Err(guarded_sql_unsupported(self.backend()))
    }

    /// [`guarded_for_each`](SqliteDatabase::guarded_for_each) for a statement that only
    /// reads: one that would write is not run, and `Ok(false)` says so (its caller may
    /// then run it in a transaction of its own). One call where
    /// [`guarded_prepare`](SqliteDatabase::guarded_prepare) then `guarded_for_each` would
    /// take two.
    fn guarded_read(
        &mut self,
        guard: &Guard,
        sql: &str,
        params: Params<'_>,
        visitor: &mut RowVisitor<'_>,
    ) -> Result<bool> {
        if !self.guarded_prepare(guard, sql)?.read_only {
            return Ok(false);
        }
        self.guarded_for_each(guard, sql, params, visitor)?;
        Ok(true)
    }
}

/// The error of a backend without guarded SQL.
fn guarded_sql_unsupported(backend: &str) -> crate::Error {
    crate::Error::new(
        crate::ErrorKind::Unsupported,
        format!("the {backend} backend cannot run guarded SQL"),
    )
}

impl dyn SqliteDatabase + '_ {
    /// Maps the first row of `sql` with `map`; `None` when the statement returns no row
    /// (reading stops after the first row).
    ///
    /// ```no_run
    /// # fn demo(db: &mut dyn sqlite_runtime::SqliteDatabase) -> sqlite_runtime::Result<()> {
    /// use sqlite_runtime::params;
    ///
    /// let value: Option<Vec<u8>> =
    ///     db.query_row("SELECT value FROM kv WHERE key = ?", params![b"k"], |row| row.get(0))?;
    /// # Ok(()) }
    /// ```
    pub fn query_row<T>(
        &mut self,
        sql: &str,
        params: Params<'_>,
        map: impl FnOnce(&RowRef<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut map = Some(map);
        let mut first = None;
        self.for_each(sql, params, &mut |row| {
            if let Some(map) = map.take() {
                first = Some(map(row)?);
            }
            Ok(ControlFlow::Break(()))
        })?;
        Ok(first)
    }
}
