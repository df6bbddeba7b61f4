//! The rusqlite backend: statements come from rusqlite's own LRU cache (`prepare_cached`).

use crate::row_buffer::RowBuffer;
use std::path::PathBuf;

use rusqlite::types::{ToSqlOutput, ValueRef as RusqliteValueRef};
use rusqlite::{CachedStatement, Connection, OpenFlags};
use sqlite_runtime::{
    BindingKind, Capabilities, ColumnNames, Error, ErrorKind, OpenOptions, Params, RowRef,
    RowVisitor, RunResult, SqliteDatabase, SqliteRuntime, StatementCacheStats, Target, ValueRef,
};

const NAME: &str = "rusqlite";

/// The rusqlite binding.
#[derive(Clone, Copy, Debug, Default)]
pub struct RusqliteRuntime;

impl RusqliteRuntime {
    /// A runtime for the rusqlite binding.
    pub fn new() -> Self {
        RusqliteRuntime
    }
}

impl SqliteRuntime for RusqliteRuntime {
    fn name(&self) -> &'static str {
        NAME
    }

    fn kind(&self) -> BindingKind {
        BindingKind::Sync
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    fn open(
        &self,
        target: &Target,
        options: &OpenOptions,
    ) -> sqlite_runtime::Result<Box<dyn SqliteDatabase>> {
        let mut flags = OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        if options.is_read_only() {
            flags |= OpenFlags::SQLITE_OPEN_READ_ONLY;
        } else {
            flags |= OpenFlags::SQLITE_OPEN_READ_WRITE;
            if options.creates() {
                flags |= OpenFlags::SQLITE_OPEN_CREATE;
            }
        }
        let path = target.path().map(PathBuf::from);
        let connection = match &path {
            None => Connection::open_in_memory_with_flags(flags),
            Some(_) => Connection::open_with_flags(options.sqlite_filename(target), flags),
        };
        let connection = connection.map_err(|e| to_error(e).with_file_context(path.as_deref()))?;
        connection.set_prepared_statement_cache_capacity(options.statement_cache_capacity_value());
        let mut database = RusqliteDatabase {
            connection: Some(connection),
            path,
            capacity: options.statement_cache_capacity_value(),
        };
        database.exec(&options.setup_sql(target))?;
        Ok(Box::new(database))
    }
}

struct RusqliteDatabase {
    connection: Option<Connection>,
    path: Option<PathBuf>,
    capacity: usize,
}

fn to_error(error: rusqlite::Error) -> Error {
    match error {
        rusqlite::Error::SqliteFailure(failure, message) => Error::from_sqlite(
            NAME,
            failure.extended_code,
            message.unwrap_or_else(|| failure.to_string()),
        ),
        rusqlite::Error::InvalidParameterName(name) => {
            Error::new(ErrorKind::Misuse, format!("no parameter named `{name}`")).with_backend(NAME)
        }
        rusqlite::Error::InvalidParameterCount(given, expected) => Error::new(
            ErrorKind::Misuse,
            format!("{given} parameters given, the statement takes {expected}"),
        )
        .with_backend(NAME),
        rusqlite::Error::Utf8Error(..) | rusqlite::Error::InvalidColumnType(..) => {
            Error::new(ErrorKind::TypeMismatch, error.to_string()).with_backend(NAME)
        }
        rusqlite::Error::MultipleStatement | rusqlite::Error::NulError(_) => {
            Error::new(ErrorKind::Misuse, error.to_string()).with_backend(NAME)
        }
        other => Error::new(ErrorKind::Other, other.to_string()).with_backend(NAME),
    }
}

fn to_rusqlite(value: ValueRef<'_>) -> ToSqlOutput<'_> {
    ToSqlOutput::Borrowed(match value {
        ValueRef::Null => RusqliteValueRef::Null,
        ValueRef::Integer(i) => RusqliteValueRef::Integer(i),
        ValueRef::Real(r) => RusqliteValueRef::Real(r),
        ValueRef::Text(t) => RusqliteValueRef::Text(t.as_bytes()),
        ValueRef::Blob(b) => RusqliteValueRef::Blob(b),
    })
}

fn from_rusqlite(value: RusqliteValueRef<'_>) -> sqlite_runtime::Result<ValueRef<'_>> {
    Ok(match value {
        RusqliteValueRef::Null => ValueRef::Null,
        RusqliteValueRef::Integer(i) => ValueRef::Integer(i),
        RusqliteValueRef::Real(r) => ValueRef::Real(r),
        RusqliteValueRef::Text(t) => ValueRef::Text(std::str::from_utf8(t).map_err(|e| {
            Error::new(
                ErrorKind::TypeMismatch,
                format!("text is not valid UTF-8: {e}"),
            )
            .with_backend(NAME)
        })?),
        RusqliteValueRef::Blob(b) => ValueRef::Blob(b),
    })
}

/// The column names of a running statement, read on demand (after the first step: a
/// schema change re-prepares the statement there, and `SELECT *` may then have
/// different columns).
struct StatementNames<'s>(&'s rusqlite::Statement<'s>);

impl ColumnNames for StatementNames<'_> {
    fn count(&self) -> usize {
        self.0.column_count()
    }

    /// rusqlite panics on a name that is not UTF-8, which a hostile database file's
    /// schema can hold; that becomes an error here.
    fn name(&self, index: usize) -> sqlite_runtime::Result<&str> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.0.column_name(index)))
            .map_err(|_| {
                Error::new(ErrorKind::Corrupt, "a column name is not valid UTF-8")
                    .with_backend(NAME)
            })?
            .map_err(to_error)
    }
}

fn bind(statement: &mut CachedStatement<'_>, params: Params<'_>) -> sqlite_runtime::Result<()> {
    match params {
        Params::Positional(values) => {
            let expected = statement.parameter_count();
            if values.len() != expected {
                return Err(to_error(rusqlite::Error::InvalidParameterCount(
                    values.len(),
                    expected,
                )));
            }
            for (index, value) in values.iter().enumerate() {
                statement
                    .raw_bind_parameter(index + 1, to_rusqlite(*value))
                    .map_err(to_error)?;
            }
        }
        Params::Named(values) => {
            statement.clear_bindings();
            for (name, value) in values {
                let index = statement
                    .parameter_index(name)
                    .map_err(to_error)?
                    .ok_or_else(|| {
                        to_error(rusqlite::Error::InvalidParameterName((*name).to_owned()))
                    })?;
                statement
                    .raw_bind_parameter(index, to_rusqlite(*value))
                    .map_err(to_error)?;
            }
        }
    }
    Ok(())
}

impl RusqliteDatabase {
    fn connection(&self) -> sqlite_runtime::Result<&Connection> {
        self.connection.as_ref().ok_or_else(|| Error::closed(NAME))
    }

    fn prepare(
        &self,
        sql: &str,
        params: Params<'_>,
    ) -> sqlite_runtime::Result<CachedStatement<'_>> {
        let mut statement = self
            .connection()?
            .prepare_cached(sql)
            .map_err(|e| self.error(e))?;
        bind(&mut statement, params)?;
        Ok(statement)
    }

    fn error(&self, error: rusqlite::Error) -> Error {
        to_error(error).with_file_context(self.path.as_deref())
    }
}

impl SqliteDatabase for RusqliteDatabase {
    fn backend(&self) -> &'static str {
        NAME
    }

    fn exec(&mut self, sql: &str) -> sqlite_runtime::Result<()> {
        use rusqlite::fallible_iterator::FallibleIterator;

        // rusqlite's `execute_batch` steps each statement once; the trait runs each to
        // completion (as `sqlite3_exec` does), so a batch behaves alike on every backend.
        let mut batch = rusqlite::Batch::new(self.connection()?, sql);
        while let Some(mut statement) = batch.next().map_err(|e| self.error(e))? {
            let mut rows = statement.raw_query();
            while rows.next().map_err(|e| self.error(e))?.is_some() {}
        }
        Ok(())
    }

    fn run(&mut self, sql: &str, params: Params<'_>) -> sqlite_runtime::Result<RunResult> {
        let mut statement = self.prepare(sql, params)?;
        let mut rows = statement.raw_query();
        while rows.next().map_err(|e| self.error(e))?.is_some() {}
        drop(rows);
        drop(statement);
        let connection = self.connection()?;
        Ok(RunResult {
            changes: connection.changes(),
            last_insert_rowid: connection.last_insert_rowid(),
        })
    }

    fn for_each(
        &mut self,
        sql: &str,
        params: Params<'_>,
        visitor: &mut RowVisitor<'_>,
    ) -> sqlite_runtime::Result<()> {
        let mut statement = self.prepare(sql, params)?;
        let mut rows = statement.raw_query();
        let mut buffer = RowBuffer::default();
        while let Some(row) = rows.next().map_err(|e| self.error(e))? {
            let names = StatementNames(row.as_ref());
            let flow = buffer.visit(
                names.count(),
                |index| from_rusqlite(row.get_ref(index).map_err(to_error)?),
                |values| visitor(&RowRef::with_names(&names, values)),
            )?;
            if flow.is_break() {
                break;
            }
        }
        Ok(())
    }

    fn in_transaction(&mut self) -> sqlite_runtime::Result<bool> {
        Ok(!self.connection()?.is_autocommit())
    }

    fn statement_cache_stats(&mut self) -> sqlite_runtime::Result<StatementCacheStats> {
        let connection = self.connection()?;
        // SAFETY: the handle belongs to our open connection and `&mut self` keeps every
        // other user out for the duration of the call.
        Ok(unsafe { crate::raw::statement_cache_stats(connection.handle(), self.capacity) })
    }

    fn close(&mut self) -> sqlite_runtime::Result<()> {
        match self.connection.take() {
            None => Ok(()),
            Some(connection) => connection.close().map_err(|(_, e)| self.error(e)),
        }
    }

    fn is_closed(&self) -> bool {
        self.connection.is_none()
    }
}

impl Drop for RusqliteDatabase {
    fn drop(&mut self) {
        if let Err(error) = self.close() {
            tracing::warn!(%error, "closing a rusqlite connection on drop failed");
        }
    }
}
