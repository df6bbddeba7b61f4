//! One sqlx connection behind [`SqliteDatabase`].

use crate::row_buffer::RowBuffer;
use std::path::PathBuf;
use std::sync::Arc;

use libsqlite3_sys as ffi;
use sqlite_runtime::{
    ColumnNames, Error, ErrorKind, OpenOptions, Params, RowRef, RowVisitor, RunResult,
    SqliteDatabase, StatementCacheStats, Target, ValueRef,
};
use sqlx::sqlite::{SqliteArguments, SqliteConnection};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Executor, Sqlite};

use super::errors::{last_error, sqlite_code, to_error};
use super::plan::{Plan, Plans};
use super::values::{RowNames, read_value};
use super::{NAME, bridge, open, stale};

/// A database opened through sqlx: one `SqliteConnection` (and its worker thread).
pub(super) struct SqlxDatabase {
    connection: Option<SqliteConnection>,
    path: Option<PathBuf>,
    capacity: usize,
    plans: Plans,
    /// The stale-statement guard's state, referenced by the connection's authorizer.
    guard: Option<Box<stale::Guard>>,
}

type Query<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments>;

/// The sqlx query for `plan` with `values` bound in parameter order. sqlx copies each
/// value into its argument buffer (the worker thread needs owned arguments).
fn query<'q>(plan: &Plan, values: &[ValueRef<'q>]) -> Query<'q> {
    let mut query = sqlx::query(AssertSqlSafe(plan.sql.clone()));
    for value in values {
        query = match *value {
            ValueRef::Null => query.bind(None::<i64>),
            ValueRef::Integer(i) => query.bind(i),
            ValueRef::Real(r) => query.bind(r),
            ValueRef::Text(t) => query.bind(t),
            ValueRef::Blob(b) => query.bind(b),
        };
    }
    query
}

fn open_error(error: sqlx::Error) -> Error {
    match error {
        sqlx::Error::Database(_) => to_error(error),
        other => Error::new(ErrorKind::CannotOpen, other.to_string()).with_backend(NAME),
    }
}

impl SqlxDatabase {
    pub(super) fn open(target: &Target, options: &OpenOptions) -> sqlite_runtime::Result<Self> {
        let path = target.path().map(PathBuf::from);
        let connect = open::connect_options(target, options);
        let connection = bridge::wait(connect.connect())
            .map_err(|e| open_error(e).with_file_context(path.as_deref()))?;
        let mut database = SqlxDatabase {
            connection: Some(connection),
            path,
            capacity: options.statement_cache_capacity_value(),
            plans: Plans::default(),
            guard: None,
        };
        let guard = database.with_raw(|db| {
            // SAFETY: `with_raw` holds the handle locked away from the worker thread.
            unsafe { stale::install(db) }.map_err(|_| {
                // SAFETY: as above.
                unsafe { last_error(db) }
            })
        })?;
        database.guard = Some(guard);
        database.exec(&options.setup_sql(target))?;
        Ok(database)
    }

    fn connection(&mut self) -> sqlite_runtime::Result<&mut SqliteConnection> {
        self.connection.as_mut().ok_or_else(|| Error::closed(NAME))
    }

    fn error(&self, error: sqlx::Error) -> Error {
        to_error(error).with_file_context(self.path.as_deref())
    }

    /// Runs `f` on the raw handle while the worker thread is parked on its lock.
    fn with_raw<T>(
        &mut self,
        f: impl FnOnce(*mut ffi::sqlite3) -> sqlite_runtime::Result<T>,
    ) -> sqlite_runtime::Result<T> {
        let path = self.path.clone();
        let connection = self.connection()?;
        let mut locked = bridge::wait(connection.lock_handle())
            .map_err(|e| to_error(e).with_file_context(path.as_deref()))?;
        let result = f(locked.as_raw_handle().as_ptr());
        drop(locked);
        result.map_err(|e| e.with_file_context(path.as_deref()))
    }

    /// The plan for `sql`, probing SQLite the first time it is seen.
    fn plan(&mut self, sql: &str) -> sqlite_runtime::Result<Arc<Plan>> {
        if let Some(plan) = self.plans.get(sql) {
            return Ok(plan);
        }
        // SAFETY: `with_raw` holds the handle locked away from the worker thread.
        let plan = Arc::new(self.with_raw(|db| unsafe { super::plan::probe(db, sql) })?);
        self.plans.insert(sql, Arc::clone(&plan));
        Ok(plan)
    }

    /// Finalizes every statement sqlx caches (after the stale-statement guard fired).
    fn clear_statements(&mut self) -> sqlite_runtime::Result<()> {
        let connection = self.connection()?;
        bridge::wait(connection.clear_cached_statements()).map_err(|e| self.error(e))
    }

    /// Whether the [stale-statement guard](stale) refused a re-prepare.
    fn is_refused(error: &sqlx::Error) -> bool {
        sqlite_code(error) == Some(stale::REFUSED)
    }
}

impl SqliteDatabase for SqlxDatabase {
    fn backend(&self) -> &'static str {
        NAME
    }

    fn exec(&mut self, sql: &str) -> sqlite_runtime::Result<()> {
        let connection = self.connection()?;
        // `raw_sql` runs every `;`-separated statement, unprepared-cached, without
        // arguments, stopping at the first error.
        let batch = sqlx::raw_sql(AssertSqlSafe(sql.to_owned()));
        match bridge::wait(connection.execute(batch)) {
            Ok(_) => Ok(()),
            Err(error) => {
                if Self::is_refused(&error) {
                    // A batch is not retried (its first statements ran), but the next
                    // call must not meet the stale statement again.
                    self.clear_statements()?;
                }
                Err(self.error(error))
            }
        }
    }

    fn run(&mut self, sql: &str, params: Params<'_>) -> sqlite_runtime::Result<RunResult> {
        let plan = self.plan(sql)?;
        let values = plan.arrange(params)?;
        let mut retried = false;
        loop {
            let connection = self.connection()?;
            match bridge::wait(connection.execute(query(&plan, &values))) {
                Ok(result) => {
                    return Ok(RunResult {
                        changes: result.rows_affected(),
                        last_insert_rowid: result.last_insert_rowid(),
                    });
                }
                // The guard refused a re-prepare: the statement did nothing.
                Err(error) if !retried && Self::is_refused(&error) => {
                    retried = true;
                    self.clear_statements()?;
                }
                Err(error) => return Err(self.error(error)),
            }
        }
    }

    fn for_each(
        &mut self,
        sql: &str,
        params: Params<'_>,
        visitor: &mut RowVisitor<'_>,
    ) -> sqlite_runtime::Result<()> {
        let plan = self.plan(sql)?;
        let values = plan.arrange(params)?;
        let mut retried = false;
        loop {
            let connection = self.connection()?;
            // Rows arrive one by one from the worker (which buffers a few ahead); dropping
            // the stream stops the worker and resets the statement.
            let mut rows = bridge::stream(connection.fetch(query(&plan, &values)));
            // Column names are read from each row, on demand; the first row's count
            // guards against a column set changing mid-run.
            let mut count: Option<usize> = None;
            let mut buffer = RowBuffer::default();
            let mut delivered = false;
            let outcome = loop {
                let row = match rows.next() {
                    None => break Ok(()),
                    Some(Err(error)) => break Err(error),
                    Some(Ok(row)) => row,
                };
                delivered = true;
                let names = RowNames(&row);
                let columns = names.count();
                if *count.get_or_insert(columns) != columns {
                    return Err(Error::new(
                        ErrorKind::Other,
                        "the statement's column set changed while it ran",
                    )
                    .with_backend(NAME));
                }
                let flow = buffer.visit(
                    columns,
                    |index| read_value(&row, index),
                    |values| visitor(&RowRef::with_names(&names, values)),
                )?;
                if flow.is_break() {
                    break Ok(());
                }
            };
            drop(rows);
            match outcome {
                Ok(()) => return Ok(()),
                Err(error) if !delivered && !retried && Self::is_refused(&error) => {
                    retried = true;
                    self.clear_statements()?;
                }
                Err(error) => return Err(self.error(error)),
            }
        }
    }

    fn in_transaction(&mut self) -> sqlite_runtime::Result<bool> {
        // SAFETY: `with_raw` holds the handle locked away from the worker thread.
        self.with_raw(|db| Ok(!unsafe { crate::raw::is_autocommit(db) }))
    }

    fn statement_cache_stats(&mut self) -> sqlite_runtime::Result<StatementCacheStats> {
        let capacity = self.capacity;
        // SAFETY: `with_raw` holds the handle locked away from the worker thread.
        let mut stats =
            self.with_raw(|db| Ok(unsafe { crate::raw::statement_cache_stats(db, capacity) }))?;
        // Report the caller's SQL where the backend changed the text it prepared.
        for statement in &mut stats.statements {
            if let Some(original) = self.plans.original_of(&statement.sql) {
                statement.sql = original.to_owned();
            }
        }
        Ok(stats)
    }

    fn close(&mut self) -> sqlite_runtime::Result<()> {
        if self.connection.is_none() {
            return Ok(());
        }
        // The guard may only go once SQLite can no longer call into it.
        // SAFETY: `with_raw` holds the handle locked away from the worker thread.
        let uninstalled = self.with_raw(|db| {
            unsafe { stale::uninstall(db) };
            Ok(())
        });
        match (uninstalled, self.guard.take()) {
            (Ok(()), guard) => drop(guard),
            // The handle could not be reached: leak the few bytes rather than leave
            // SQLite a dangling pointer.
            (Err(_), guard) => std::mem::forget(guard),
        }
        let Some(connection) = self.connection.take() else {
            return Ok(());
        };
        // Waits until the worker thread has finalized every statement and closed the
        // handle.
        bridge::wait(connection.close()).map_err(|e| self.error(e))
    }

    fn is_closed(&self) -> bool {
        self.connection.is_none()
    }
}

impl Drop for SqlxDatabase {
    fn drop(&mut self) {
        if let Err(error) = self.close() {
            tracing::warn!(%error, "closing an sqlx connection on drop failed");
        }
    }
}
