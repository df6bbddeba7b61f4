//! One statement run through sqlx, as the kit's [`RawStatement`]: values are bound
//! (copied once, sqlx's worker needs owned arguments) into slots in parameter order,
//! then the plan's SQL runs with them.

use sqlite_runtime::raw::{RawRowVisitor, RawStatement, bind_owned};
use sqlite_runtime::{Error, ErrorKind, Result, RunResult, Value, ValueRef};
use sqlx::sqlite::{SqliteArguments, SqliteConnection};
use sqlx::{Arguments, AssertSqlSafe, Connection, Executor, Sqlite};

use super::errors::{sqlite_code, to_error};
use super::plan::Plan;
use super::values::SqlxRow;
use super::{bridge, stale};

type Query = sqlx::query::Query<'static, Sqlite, SqliteArguments>;

/// The statement of one call: its plan and the values bound so far.
pub(super) struct SqlxStatement<'c> {
    connection: &'c mut SqliteConnection,
    plan: &'c Plan,
    values: Vec<Value>,
    /// Where [`execute`](RawStatement::execute) reports its changes.
    last: &'c mut RunResult,
}

impl<'c> SqlxStatement<'c> {
    /// The statement of `plan` on `connection`, no value bound.
    pub(super) fn new(
        connection: &'c mut SqliteConnection,
        plan: &'c Plan,
        last: &'c mut RunResult,
    ) -> Self {
        SqlxStatement {
            connection,
            plan,
            values: vec![Value::Null; plan.parameter_count()],
            last,
        }
    }

    /// The bound values as sqlx arguments (cheap to clone: values are shared).
    fn arguments(&mut self) -> Result<SqliteArguments> {
        let mut arguments = SqliteArguments::default();
        for value in std::mem::take(&mut self.values) {
            let added = match value {
                Value::Null => Arguments::add(&mut arguments, None::<i64>),
                Value::Integer(i) => Arguments::add(&mut arguments, i),
                Value::Real(r) => Arguments::add(&mut arguments, r),
                Value::Text(t) => Arguments::add(&mut arguments, t),
                Value::Blob(b) => Arguments::add(&mut arguments, b),
            };
            added.map_err(|e| Error::new(ErrorKind::Other, e.to_string()))?;
        }
        Ok(arguments)
    }
}

impl RawStatement for SqlxStatement<'_> {
    fn parameter_count(&self) -> usize {
        self.plan.parameter_count()
    }

    fn parameter_index(&self, name: &str) -> Option<usize> {
        self.plan.parameter_index(name)
    }

    fn bind(&mut self, index: usize, value: ValueRef<'_>) -> Result<()> {
        bind_owned(&mut self.values, index, value)
    }

    fn rows(&mut self, on_row: &mut RawRowVisitor<'_>) -> Result<()> {
        let arguments = self.arguments()?;
        retrying(
            self.connection,
            self.plan,
            arguments,
            |connection, query| {
                // Rows arrive one by one from the worker (which buffers a few ahead);
                // dropping the stream stops the worker and resets the statement.
                let rows = bridge::stream(connection.fetch(query));
                // The first row's column count guards against a column set changing mid-run.
                let mut columns: Option<usize> = None;
                for row in rows {
                    let delivered = columns.is_some();
                    let row = row.map_err(|error| Failed::Sqlx { error, delivered })?;
                    let row = SqlxRow(&row);
                    let count = sqlite_runtime::raw::RawRow::column_count(&row);
                    if *columns.get_or_insert(count) != count {
                        return Err(Failed::Other(Error::new(
                            ErrorKind::Other,
                            "the statement's column set changed while it ran",
                        )));
                    }
                    if on_row(&row).map_err(Failed::Other)?.is_break() {
                        break;
                    }
                }
                Ok(())
            },
        )
    }

    fn execute(&mut self) -> Result<()> {
        let arguments = self.arguments()?;
        let last = &mut *self.last;
        retrying(
            self.connection,
            self.plan,
            arguments,
            |connection, query| {
                let result = bridge::wait(connection.execute(query));
                let result = result.map_err(|error| Failed::Sqlx {
                    error,
                    delivered: false,
                })?;
                *last = RunResult {
                    changes: result.rows_affected(),
                    last_insert_rowid: result.last_insert_rowid(),
                };
                Ok(())
            },
        )
    }
}

/// How one attempt failed.
enum Failed {
    /// sqlx failed, after delivering rows or not.
    Sqlx { error: sqlx::Error, delivered: bool },
    /// Anything else (the visitor, the row checks), returned as it is.
    Other(Error),
}

/// Runs `attempt` with the plan's SQL and `arguments`, and once more on a freshly
/// prepared statement when the [stale-statement guard](stale) refused a re-prepare
/// before any row was delivered (the statement then did nothing).
fn retrying(
    connection: &mut SqliteConnection,
    plan: &Plan,
    arguments: SqliteArguments,
    mut attempt: impl FnMut(&mut SqliteConnection, Query) -> Result<(), Failed>,
) -> Result<()> {
    let mut retried = false;
    loop {
        let query = sqlx::query_with(AssertSqlSafe(plan.sql.clone()), arguments.clone());
        match attempt(&mut *connection, query) {
            Ok(()) => return Ok(()),
            Err(Failed::Sqlx { error, delivered })
                if !delivered && !retried && is_refused(&error) =>
            {
                retried = true;
                clear_statements(connection)?;
            }
            Err(Failed::Sqlx { error, .. }) => return Err(to_error(error)),
            Err(Failed::Other(error)) => return Err(error),
        }
    }
}

/// Whether the [stale-statement guard](stale) refused a re-prepare.
pub(super) fn is_refused(error: &sqlx::Error) -> bool {
    sqlite_code(error) == Some(stale::REFUSED)
}

/// Finalizes every statement sqlx caches (after the stale-statement guard fired).
pub(super) fn clear_statements(connection: &mut SqliteConnection) -> Result<()> {
    bridge::wait(connection.clear_cached_statements()).map_err(to_error)
}
