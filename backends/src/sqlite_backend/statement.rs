//! Preparing, binding, stepping and reading `sqlite::Statement`s.
//!
//! Preparing, binding and stepping go through the crate. Reading does not: the crate
//! only offers owned reads (`String`, `Vec<u8>`), so column values are borrowed straight
//! from SQLite through the statement's raw handle, for as long as the row is current.

use std::ffi::c_int;

use libsqlite3_sys as ffi;
use sqlite::{Connection, State, Statement};
use sqlite_runtime::raw::{RawRowVisitor, RawStatement, StatementWork};
use sqlite_runtime::{Error, Result, ValueRef};

use super::NAME;
use super::error::{self, MISUSE, TOO_BIG};
use crate::c_api::StatementRow;

/// An open connection, borrowed: prepares statements and reads connection-wide state
/// through the raw handle.
#[derive(Clone, Copy)]
pub(super) struct Db<'c> {
    connection: &'c Connection,
}

impl<'c> Db<'c> {
    /// Borrows `connection`.
    pub(super) fn new(connection: &'c Connection) -> Self {
        Db { connection }
    }

    /// The raw handle. The `sqlite` crate's `sqlite3` is an opaque FFI type like
    /// libsqlite3-sys's, and both crates' functions resolve to the same SQLite.
    pub(super) fn raw(self) -> *mut ffi::sqlite3 {
        self.connection.as_raw().cast()
    }

    /// Converts an error of the crate, reading the connection's extended code.
    pub(super) fn error(self, error: sqlite::Error) -> Error {
        // SAFETY: the handle is open for as long as `connection` is borrowed.
        let extended = unsafe { ffi::sqlite3_extended_errcode(self.raw()) };
        error::from_crate(error, Some(extended))
    }

    /// Rows changed by the most recent INSERT, UPDATE or DELETE.
    pub(super) fn changes(self) -> u64 {
        // SAFETY (both): the handle is open for as long as `connection` is borrowed.
        // The bundled SQLite has the 64-bit counter; the bindings of a system SQLite
        // (at least 3.34.1) may not.
        #[cfg(feature = "bundled")]
        let changes = unsafe { ffi::sqlite3_changes64(self.raw()) };
        #[cfg(not(feature = "bundled"))]
        let changes = unsafe { ffi::sqlite3_changes(self.raw()) };
        u64::try_from(changes).unwrap_or(0)
    }

    /// The rowid of the most recent successful insert.
    pub(super) fn last_insert_rowid(self) -> i64 {
        // SAFETY: the handle is open for as long as `connection` is borrowed.
        unsafe { ffi::sqlite3_last_insert_rowid(self.raw()) }
    }

    /// Prepares exactly one statement, like rusqlite: text with no statement and text
    /// with a second statement after the first are misuse (trailing comments and
    /// semicolons are fine).
    ///
    /// The SQL is checked on the raw handle first: the crate's prepare panics on a
    /// column name that is not UTF-8, which a hostile database file's schema can hold.
    /// (Both compile against the same in-memory schema: nothing runs in between.)
    pub(super) fn prepare(self, sql: &str) -> Result<Statement<'c>> {
        // SAFETY: the handle of our open connection, used by this thread only.
        let checked = unsafe { crate::c_api::check_statement(NAME, self.raw(), sql, drop) }?;
        if checked.is_none() {
            return Err(Error::from_sqlite(
                NAME,
                MISUSE,
                "the SQL text contains no statement",
            ));
        }
        self.connection.prepare(sql).map_err(|e| self.error(e))
    }
}

/// The statement's raw handle, as libsqlite3-sys's type.
fn raw_statement(statement: &Statement<'_>) -> *mut ffi::sqlite3_stmt {
    statement.as_raw().cast()
}

/// A cached (or one-off) statement, lent to the kit for one call.
pub(super) struct CrateStatement<'s, 'c> {
    statement: &'s mut Statement<'c>,
    db: Db<'c>,
}

impl<'s, 'c> CrateStatement<'s, 'c> {
    /// Lends `statement` of `db`.
    pub(super) fn new(statement: &'s mut Statement<'c>, db: Db<'c>) -> Self {
        CrateStatement { statement, db }
    }

    /// Runs `work` on the statement, reset and cleared before and after.
    pub(super) fn run(mut self, work: &mut StatementWork<'_>) -> Result<()> {
        // A use cut short by a panicking visitor may have left it mid-step: start clean.
        self.reset();
        let result = work(&mut self);
        self.reset();
        result
    }

    /// Resets the statement and clears its bindings, so that it holds no lock and no
    /// parameter. Exclusive access guarantees no value borrowed from a row is still alive.
    fn reset(&mut self) {
        let raw = raw_statement(self.statement);
        // SAFETY: `raw` is a live, non-null statement (null ones are never prepared). The
        // result of sqlite3_reset repeats the last step's error, which was already
        // reported; sqlite3_clear_bindings always succeeds.
        unsafe {
            ffi::sqlite3_reset(raw);
            ffi::sqlite3_clear_bindings(raw);
        }
    }
}

impl RawStatement for CrateStatement<'_, '_> {
    fn parameter_count(&self) -> usize {
        // SAFETY: a live statement, borrowed.
        let count = unsafe { ffi::sqlite3_bind_parameter_count(raw_statement(self.statement)) };
        usize::try_from(count).unwrap_or(0)
    }

    fn parameter_index(&self, name: &str) -> Option<usize> {
        // An error means the name cannot be passed to SQLite (a NUL in it): no such name.
        self.statement.parameter_index(name).ok().flatten()
    }

    /// Binds one value. The crate binds text and blobs with `SQLITE_TRANSIENT` (SQLite
    /// copies them), so the borrow ends with the call.
    fn bind(&mut self, index: usize, value: ValueRef<'_>) -> Result<()> {
        let statement = &mut *self.statement;
        let bound = match value {
            ValueRef::Null => statement.bind((index, ())),
            ValueRef::Integer(i) => statement.bind((index, i)),
            ValueRef::Real(r) => statement.bind((index, r)),
            ValueRef::Text(text) => {
                // The crate passes the length as a C int; a larger one must not wrap.
                check_length(text.len())?;
                statement.bind((index, text))
            }
            ValueRef::Blob(blob) => {
                check_length(blob.len())?;
                statement.bind((index, blob))
            }
        };
        bound.map_err(|e| self.db.error(e))
    }

    fn rows(&mut self, on_row: &mut RawRowVisitor<'_>) -> Result<()> {
        loop {
            match self.statement.next() {
                Ok(State::Row) => {}
                Ok(State::Done) => return Ok(()),
                Err(e) => return Err(self.db.error(e)),
            }
            // Column names are read from the running statement too: after the first
            // step, a schema change may have re-prepared it and `SELECT *` may then have
            // different columns (the crate's own `column_names` are those of the first
            // prepare).
            // SAFETY: our statement, just stepped to a row; the row is borrowed only
            // for the call, while `self.statement` is not stepped, reset or finalized.
            let row = unsafe { StatementRow::new(raw_statement(self.statement), NAME) };
            if on_row(&row)?.is_break() {
                return Ok(());
            }
        }
    }
}

fn check_length(length: usize) -> Result<()> {
    match c_int::try_from(length) {
        Ok(_) => Ok(()),
        Err(_) => Err(Error::from_sqlite(
            NAME,
            TOO_BIG,
            format!("a parameter of {length} bytes is too big"),
        )),
    }
}
