//! One sqlx connection as the kit's [`RawConnection`].

use std::sync::Arc;

use libsqlite3_sys as ffi;
use sqlite_runtime::raw::{GuardedWork, RawConnection, StatementWork};
use sqlite_runtime::{
    Error, ErrorKind, Guard, OpenOptions, Result, RunResult, StatementStats, Target,
};
use sqlx::sqlite::SqliteConnection;
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Executor};

use super::errors::to_error;
use super::plan::{Plan, Plans};
use super::statement::{SqlxStatement, clear_statements, is_refused};
use super::{NAME, bridge, open, stale};
use crate::guard::{Authorizer, GuardedStatements};

/// A database opened through sqlx: one `SqliteConnection` (and its worker thread).
///
/// The kit always closes it ([`close`](RawConnection::close) removes the stale-statement
/// guard before freeing it).
pub(super) struct SqlxConnection {
    connection: SqliteConnection,
    plans: Plans,
    /// The stale-statement guard's state, referenced by the connection's authorizer.
    guard: Option<Box<stale::Guard>>,
    /// What the most recent statement run to completion reported.
    last: RunResult,
    /// The last use of the worker was a raw-handle call (see [`with_raw`]).
    relocking: bool,
    /// Guarded SQL, whose authorizer asks the stale-statement guard first.
    guarded: GuardedStatements,
}

impl SqlxConnection {
    /// Connects to `target` and installs the stale-statement guard.
    pub(super) fn open(target: &Target, options: &OpenOptions) -> Result<Self> {
        let connect = open::connect_options(target, options);
        let connection = bridge::wait(connect.connect()).map_err(|error| match error {
            sqlx::Error::Database(_) => to_error(error),
            other => Error::new(ErrorKind::CannotOpen, other.to_string()),
        })?;
        let mut connection = SqlxConnection {
            connection,
            plans: Plans::default(),
            guard: None,
            last: RunResult::default(),
            relocking: false,
            guarded: GuardedStatements::new(NAME),
        };
        let guard = with_raw(
            &mut connection.connection,
            &mut connection.relocking,
            |db| {
                // SAFETY: `with_raw` holds the handle locked away from the worker thread.
                unsafe { stale::install(db) }.map_err(|_| {
                    // SAFETY: as above.
                    unsafe { crate::c_api::last_error(NAME, db) }
                })
            },
        )?;
        let underneath: Authorizer = (stale::authorize, (&raw const *guard).cast_mut().cast());
        connection.guarded = GuardedStatements::over(NAME, Some(underneath));
        connection.guard = Some(guard);
        Ok(connection)
    }

    /// The plan for `sql`, probing SQLite the first time it is seen.
    fn plan(&mut self, sql: &str) -> Result<Arc<Plan>> {
        if let Some(plan) = self.plans.get(sql) {
            return Ok(plan);
        }
        // SAFETY: `with_raw` holds the handle locked away from the worker thread.
        let plan = with_raw(&mut self.connection, &mut self.relocking, |db| unsafe {
            super::plan::probe(db, sql)
        })?;
        let plan = Arc::new(plan);
        self.plans.insert(sql, Arc::clone(&plan));
        Ok(plan)
    }
}

/// Runs `f` on the raw handle while the worker thread is parked on its lock.
///
/// Two of these in a row, with no command to the worker between them, can deadlock in
/// sqlx 0.9 (the second `lock_handle` waits forever while the worker is still taking
/// its lock back from the first; seen here within two calls). So when the last thing
/// done was this (`relocking`), a ping first lets the worker finish taking it back.
fn with_raw<T>(
    connection: &mut SqliteConnection,
    relocking: &mut bool,
    f: impl FnOnce(*mut ffi::sqlite3) -> Result<T>,
) -> Result<T> {
    if *relocking {
        bridge::wait(connection.ping()).map_err(to_error)?;
        *relocking = false;
    }
    let mut locked = bridge::wait(connection.lock_handle()).map_err(to_error)?;
    let result = f(locked.as_raw_handle().as_ptr());
    drop(locked);
    *relocking = true;
    result
}

impl RawConnection for SqlxConnection {
    fn with_statement(&mut self, sql: &str, work: &mut StatementWork<'_>) -> Result<()> {
        let plan = self.plan(sql)?;
        let outcome = work(&mut SqlxStatement::new(
            &mut self.connection,
            &plan,
            &mut self.last,
        ));
        // A statement that ran went through the worker, which had its lock back first.
        if outcome.is_ok() {
            self.relocking = false;
        }
        outcome
    }

    fn exec_batch(&mut self, sql: &str) -> Result<()> {
        // `raw_sql` runs every `;`-separated statement, unprepared-cached, without
        // arguments, stopping at the first error.
        let batch = sqlx::raw_sql(AssertSqlSafe(sql.to_owned()));
        match bridge::wait(self.connection.execute(batch)) {
            Ok(_) => {
                self.relocking = false;
                Ok(())
            }
            Err(error) => {
                if is_refused(&error) {
                    // A batch is not retried (its first statements ran), but the next
                    // call must not meet the stale statement again.
                    clear_statements(&mut self.connection)?;
                }
                Err(to_error(error))
            }
        }
    }

    fn changes(&self) -> u64 {
        self.last.changes
    }

    fn last_insert_rowid(&self) -> i64 {
        self.last.last_insert_rowid
    }

    fn in_transaction(&mut self) -> Result<bool> {
        // SAFETY: `with_raw` holds the handle locked away from the worker thread.
        with_raw(&mut self.connection, &mut self.relocking, |db| {
            Ok(!unsafe { crate::c_api::is_autocommit(db) })
        })
    }

    fn live_statements(&mut self) -> Result<Vec<StatementStats>> {
        // SAFETY: `with_raw` holds the handle locked away from the worker thread.
        let mut statements = with_raw(&mut self.connection, &mut self.relocking, |db| {
            Ok(unsafe { crate::c_api::live_statements(db) })
        })?;
        // Report the caller's SQL where the backend changed the text it prepared.
        for statement in &mut statements {
            if let Some(original) = self.plans.original_of(&statement.sql) {
                statement.sql = original.to_owned();
            }
        }
        Ok(statements)
    }

    fn with_guarded_statement(
        &mut self,
        guard: &Guard,
        sql: &str,
        work: &mut GuardedWork<'_>,
    ) -> Result<()> {
        let (guarded, last) = (&mut self.guarded, &mut self.last);
        // SAFETY: `with_raw` holds the handle locked away from the worker thread for the
        // whole call (compiling, stepping, reading rows).
        with_raw(&mut self.connection, &mut self.relocking, |db| unsafe {
            let outcome = guarded.with_statement(db, guard, sql, work);
            // What `changes` and `last_insert_rowid` report, as after sqlx's own calls.
            *last = RunResult {
                changes: u64::try_from(ffi::sqlite3_changes64(db)).unwrap_or(0),
                last_insert_rowid: ffi::sqlite3_last_insert_rowid(db),
            };
            outcome
        })
    }

    fn close(mut self) -> Result<()> {
        // The guards may only go once SQLite can no longer call into them.
        let guarded = &mut self.guarded;
        // SAFETY: `with_raw` holds the handle locked away from the worker thread.
        let uninstalled = with_raw(&mut self.connection, &mut self.relocking, |db| {
            unsafe {
                guarded.release(db);
                stale::uninstall(db);
            }
            Ok(())
        });
        match (uninstalled, self.guard.take()) {
            (Ok(()), guard) => drop(guard),
            // The handle could not be reached: leak the few bytes rather than leave
            // SQLite a dangling pointer.
            (Err(_), guard) => std::mem::forget(guard),
        }
        // Waits until the worker thread has finalized every statement and closed the
        // handle.
        bridge::wait(self.connection.close()).map_err(to_error)
    }
}
