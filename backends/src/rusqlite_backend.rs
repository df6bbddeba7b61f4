//! The rusqlite backend: statements come from rusqlite's own LRU cache (`prepare_cached`);
//! everything else is the kit's ([`sqlite_runtime::raw`]).

use libsqlite3_sys as ffi;
use rusqlite::types::{ToSqlOutput, ValueRef as RusqliteValueRef};
use rusqlite::{CachedStatement, Connection, OpenFlags};
use sqlite_runtime::raw::{
    GuardedWork, KitDatabase, RawConnection, RawRowVisitor, RawStatement, StatementWork,
};
use sqlite_runtime::{
    BackendKind, Capabilities, Error, ErrorKind, Guard, OpenOptions, Result, SqliteDatabase,
    SqliteRuntime, StatementStats, Target, ValueRef,
};

use crate::guard::GuardedStatements;

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
    fn backend(&self) -> &'static str {
        NAME
    }

    fn kind(&self) -> BackendKind {
        BackendKind::Sync
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    fn open(&self, target: &Target, options: &OpenOptions) -> Result<Box<dyn SqliteDatabase>> {
        let database = KitDatabase::open(NAME, target, options, || connect(target, options))?;
        Ok(Box::new(database))
    }
}

/// Opens `target` as [`OpenOptions`] say, with rusqlite's statement cache sized.
fn connect(target: &Target, options: &OpenOptions) -> Result<RusqliteConnection> {
    let mut flags = OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    if options.is_read_only() {
        flags |= OpenFlags::SQLITE_OPEN_READ_ONLY;
    } else {
        flags |= OpenFlags::SQLITE_OPEN_READ_WRITE;
        if options.creates() {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
    }
    let connection = match target {
        Target::Memory => Connection::open_in_memory_with_flags(flags),
        Target::File(_) => Connection::open_with_flags(options.sqlite_filename(target), flags),
    }
    .map_err(to_error)?;
    connection.set_prepared_statement_cache_capacity(options.statement_cache_capacity);
    Ok(RusqliteConnection(connection, GuardedStatements::new(NAME)))
}

/// Maps a rusqlite error (the kit adds the backend's name and the path).
fn to_error(error: rusqlite::Error) -> Error {
    match error {
        rusqlite::Error::SqliteFailure(failure, message) => Error::from_sqlite(
            NAME,
            failure.extended_code,
            message.unwrap_or_else(|| failure.to_string()),
        ),
        rusqlite::Error::Utf8Error(..) | rusqlite::Error::InvalidColumnType(..) => {
            Error::new(ErrorKind::TypeMismatch, error.to_string())
        }
        rusqlite::Error::MultipleStatement | rusqlite::Error::NulError(_) => {
            Error::new(ErrorKind::Misuse, error.to_string())
        }
        other => Error::new(ErrorKind::Other, other.to_string()),
    }
}

/// One rusqlite connection, and its guarded statements (finalized before it closes).
struct RusqliteConnection(Connection, GuardedStatements);

impl RusqliteConnection {
    fn handle(&self) -> *mut ffi::sqlite3 {
        // SAFETY: only reads the pointer; every use of it is on this thread while the
        // connection is borrowed.
        unsafe { self.0.handle() }
    }
}

impl RawConnection for RusqliteConnection {
    fn with_statement(&mut self, sql: &str, work: &mut StatementWork<'_>) -> Result<()> {
        // The cache resets a statement as its rows are dropped, and clears its bindings
        // as it takes it back.
        let statement = self.0.prepare_cached(sql).map_err(to_error)?;
        work(&mut RusqliteStatement {
            statement,
            db: self.handle(),
            // The cache prepares (and keys) the trimmed text.
            sql: sql.trim(),
        })
    }

    fn exec_batch(&mut self, sql: &str) -> Result<()> {
        use rusqlite::fallible_iterator::FallibleIterator;

        // rusqlite's `execute_batch` steps each statement once; the trait runs each to
        // completion (as `sqlite3_exec` does), so a batch behaves alike on every backend.
        let mut batch = rusqlite::Batch::new(&self.0, sql);
        while let Some(mut statement) = batch.next().map_err(to_error)? {
            let mut rows = statement.raw_query();
            while rows.next().map_err(to_error)?.is_some() {}
        }
        Ok(())
    }

    fn changes(&self) -> u64 {
        self.0.changes()
    }

    fn last_insert_rowid(&self) -> i64 {
        self.0.last_insert_rowid()
    }

    fn in_transaction(&mut self) -> Result<bool> {
        Ok(!self.0.is_autocommit())
    }

    fn live_statements(&mut self) -> Result<Vec<StatementStats>> {
        // SAFETY: the handle of our open connection; `&mut self` keeps every other user
        // out for the duration of the call.
        Ok(unsafe { crate::c_api::live_statements(self.handle()) })
    }

    fn with_guarded_statement(
        &mut self,
        guard: &Guard,
        sql: &str,
        work: &mut GuardedWork<'_>,
    ) -> Result<()> {
        let db = self.handle();
        // SAFETY: the handle of our open connection, borrowed mutably for the call.
        unsafe { self.1.with_statement(db, guard, sql, work) }
    }

    fn close(mut self) -> Result<()> {
        let db = self.handle();
        // SAFETY: as above; before the connection closes.
        unsafe { self.1.release(db) };
        self.0.close().map_err(|(_, e)| to_error(e))
    }
}

/// A statement from rusqlite's cache, with what is needed to find its raw handle
/// (rusqlite hands out none): the connection's, and the text it was prepared from.
struct RusqliteStatement<'c> {
    statement: CachedStatement<'c>,
    db: *mut ffi::sqlite3,
    sql: &'c str,
}

impl RawStatement for RusqliteStatement<'_> {
    fn parameter_count(&self) -> usize {
        self.statement.parameter_count()
    }

    fn parameter_index(&self, name: &str) -> Option<usize> {
        // An error means the name cannot be passed to SQLite (a NUL in it): no such name.
        self.statement.parameter_index(name).ok().flatten()
    }

    fn bind(&mut self, index: usize, value: ValueRef<'_>) -> Result<()> {
        let value = ToSqlOutput::Borrowed(match value {
            ValueRef::Null => RusqliteValueRef::Null,
            ValueRef::Integer(i) => RusqliteValueRef::Integer(i),
            ValueRef::Real(r) => RusqliteValueRef::Real(r),
            ValueRef::Text(t) => RusqliteValueRef::Text(t.as_bytes()),
            ValueRef::Blob(b) => RusqliteValueRef::Blob(b),
        });
        self.statement
            .raw_bind_parameter(index, value)
            .map_err(to_error)
    }

    /// Steps through rusqlite; reads each row through the raw statement (rusqlite
    /// panics on a column name that is not UTF-8, which a hostile database file's
    /// schema can hold, and its reads check the column count on every value).
    fn rows(&mut self, on_row: &mut RawRowVisitor<'_>) -> Result<()> {
        let (db, sql) = (self.db, self.sql);
        let mut running = None;
        let mut rows = self.statement.raw_query();
        while rows.next().map_err(to_error)?.is_some() {
            let stmt = match running {
                Some(stmt) => stmt,
                // SAFETY: our open connection, used by this thread only.
                None => *running.insert(
                    unsafe { crate::c_api::running_statement(db, sql) }.ok_or_else(|| {
                        Error::new(ErrorKind::Other, "the running statement cannot be found")
                    })?,
                ),
            };
            // SAFETY: the statement rusqlite just stepped to a row, used by this thread
            // only; the row is borrowed for the call only, while `rows` (which steps and
            // resets) waits.
            let row = unsafe { crate::c_api::StatementRow::new(stmt, NAME) };
            if on_row(&row)?.is_break() {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::ops::ControlFlow;

    use sqlite_runtime::{Params, Value};

    use super::*;

    fn memory() -> Result<Box<dyn SqliteDatabase>> {
        RusqliteRuntime::new().open(&Target::Memory, &OpenOptions::new())
    }

    #[test]
    fn names_are_read_from_the_running_statement() -> Result<()> {
        let mut db = memory()?;
        db.exec("CREATE TABLE t (a, b); INSERT INTO t VALUES (1, 2)")?;
        // Other live statements, one of them with a prefix of the same text.
        db.get("SELECT a FROM t", Params::NONE)?;
        db.get("SELECT 1", Params::NONE)?;
        for sql in [
            "SELECT a, b AS bee FROM t",
            "  SELECT a, b AS bee FROM t; -- done\n",
        ] {
            let row = db.get(sql, Params::NONE)?;
            assert_eq!(
                row.map(|r| r.columns().to_vec()),
                Some(vec!["a".to_owned(), "bee".to_owned()])
            );
        }
        db.exec("ALTER TABLE t ADD COLUMN c DEFAULT 3")?;
        let row = db.get("SELECT * FROM t", Params::NONE)?;
        assert_eq!(row.as_ref().map(|r| r.columns().len()), Some(3));
        assert_eq!(
            row.map(|r| r.into_values()),
            Some(vec![
                Value::Integer(1),
                Value::Integer(2),
                Value::Integer(3)
            ])
        );
        Ok(())
    }

    #[test]
    fn a_column_name_that_is_not_utf8_is_an_error_not_a_panic() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::new(ErrorKind::Io, e.to_string()))?;
        let target = Target::file(dir.path().join("hostile.db"));
        let runtime = RusqliteRuntime::new();
        // A schema whose column name holds the byte 0xff.
        runtime.open(&target, &OpenOptions::new())?.exec(
            "CREATE TABLE t (ab INTEGER); INSERT INTO t VALUES (7); PRAGMA writable_schema = ON;
             UPDATE sqlite_schema SET sql = 'CREATE TABLE t (a' || CAST(x'ff' AS TEXT) || ' INTEGER)';
             PRAGMA writable_schema = OFF;",
        )?;
        let mut db = runtime.open(&target, &OpenOptions::new())?;
        let mut read = None;
        db.for_each("SELECT * FROM t", Params::NONE, &mut |row| {
            read = Some((row.get::<i64>(0)?, row.column_name(0).err()));
            Ok(ControlFlow::Continue(()))
        })?;
        let (value, error) = read.unzip();
        assert_eq!(value, Some(7));
        let described = error
            .flatten()
            .map(|e| (e.kind(), e.backend(), e.message().to_owned()));
        let message = "a column name is not valid UTF-8".to_owned();
        assert_eq!(described, Some((ErrorKind::Corrupt, Some(NAME), message)));
        let error = db.all("SELECT * FROM t", Params::NONE).err();
        assert_eq!(error.map(|e| e.kind()), Some(ErrorKind::Corrupt));
        assert_eq!(
            db.get("SELECT 40 + 2", Params::NONE)?
                .map(|r| r.into_values()),
            Some(vec![Value::Integer(42)])
        );
        Ok(())
    }
}
