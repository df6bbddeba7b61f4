//! Preparing, binding, stepping and reading `sqlite::Statement`s.
//!
//! Preparing, binding and stepping go through the crate. Reading does not: the crate
//! only offers owned reads (`String`, `Vec<u8>`), so column values are borrowed straight
//! from SQLite through the statement's raw handle, for as long as the row is current.

use crate::row_buffer::RowBuffer;
use std::ffi::{CStr, c_int};
use std::marker::PhantomData;

use libsqlite3_sys as ffi;
use sqlite::{Connection, State, Statement};
use sqlite_runtime::{ColumnNames, Error, ErrorKind, Params, Result, RowRef, RowVisitor, ValueRef};

use super::NAME;
use super::error::{self, MISUSE, NO_MEMORY, TOO_BIG};

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

    /// The crate's prepare. It panics on a column name that is not UTF-8, which a hostile
    /// database file's schema can hold; that becomes an error here.
    fn prepare_one(self, sql: &str) -> Result<Statement<'c>> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.connection.prepare(sql)
        }))
        .map_err(|_| {
            Error::new(ErrorKind::Corrupt, "a column name is not valid UTF-8").with_backend(NAME)
        })?
        .map_err(|e| self.error(e))
    }

    /// Prepares exactly one statement, like rusqlite: text with no statement and text
    /// with a second statement after the first are misuse (trailing comments and
    /// semicolons are fine).
    pub(super) fn prepare(self, sql: &str) -> Result<Statement<'c>> {
        let statement = self.prepare_one(sql)?;
        let raw = raw_statement(&statement);
        if raw.is_null() {
            return Err(Error::from_sqlite(
                NAME,
                MISUSE,
                "the SQL text contains no statement",
            ));
        }
        // SAFETY: `raw` is a live statement; sqlite3_sql returns its NUL-terminated text
        // (null only for a null statement), valid until it is finalized. That text is
        // exactly the part of `sql` SQLite compiled, so its length is the tail's offset.
        let compiled = unsafe {
            let text = ffi::sqlite3_sql(raw);
            if text.is_null() {
                sql.len()
            } else {
                CStr::from_ptr(text).to_bytes().len()
            }
        };
        let rest = sql.get(compiled..).unwrap_or("");
        if !rest.trim().is_empty() {
            let next = self.prepare_one(rest)?;
            if !raw_statement(&next).is_null() {
                return Err(Error::new(
                    ErrorKind::Misuse,
                    "multiple statements provided (use exec to run several)",
                )
                .with_backend(NAME));
            }
        }
        Ok(statement)
    }
}

/// The statement's raw handle, as libsqlite3-sys's type.
fn raw_statement(statement: &Statement<'_>) -> *mut ffi::sqlite3_stmt {
    statement.as_raw().cast()
}

/// Resets the statement and clears its bindings, so that it holds no lock and no
/// parameter. Exclusive access guarantees no value borrowed from a row is still alive.
pub(super) fn reset(statement: &mut Statement<'_>) {
    let raw = raw_statement(statement);
    // SAFETY: `raw` is a live, non-null statement (null ones are never kept). The result
    // of sqlite3_reset repeats the last step's error, which was already reported;
    // sqlite3_clear_bindings always succeeds.
    unsafe {
        ffi::sqlite3_reset(raw);
        ffi::sqlite3_clear_bindings(raw);
    }
}

/// Binds `params`: positional ones must match the parameter count; named ones are
/// bound by their full name (`":k"`), over cleared bindings so unbound names are NULL.
pub(super) fn bind(statement: &mut Statement<'_>, db: Db<'_>, params: Params<'_>) -> Result<()> {
    match params {
        Params::Positional(values) => {
            // SAFETY: a live statement, borrowed.
            let expected = unsafe { ffi::sqlite3_bind_parameter_count(raw_statement(statement)) };
            let expected = usize::try_from(expected).unwrap_or(0);
            if values.len() != expected {
                return Err(Error::new(
                    ErrorKind::Misuse,
                    format!(
                        "{} parameters given, the statement takes {expected}",
                        values.len()
                    ),
                )
                .with_backend(NAME));
            }
            for (index, value) in values.iter().enumerate() {
                bind_value(statement, db, index + 1, *value)?;
            }
        }
        Params::Named(values) => {
            // SAFETY: a live statement, borrowed; always succeeds.
            unsafe { ffi::sqlite3_clear_bindings(raw_statement(statement)) };
            for (name, value) in values {
                let index = statement
                    .parameter_index(name)
                    .map_err(|e| db.error(e))?
                    .ok_or_else(|| {
                        Error::new(ErrorKind::Misuse, format!("no parameter named `{name}`"))
                            .with_backend(NAME)
                    })?;
                bind_value(statement, db, index, *value)?;
            }
        }
    }
    Ok(())
}

/// Binds one value. The crate binds text and blobs with `SQLITE_TRANSIENT` (SQLite
/// copies them), so the borrow ends with the call.
fn bind_value(
    statement: &mut Statement<'_>,
    db: Db<'_>,
    index: usize,
    value: ValueRef<'_>,
) -> Result<()> {
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
    bound.map_err(|e| db.error(e))
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

/// Steps once: `true` when a row is available.
pub(super) fn step(statement: &mut Statement<'_>, db: Db<'_>) -> Result<bool> {
    match statement.next() {
        Ok(State::Row) => Ok(true),
        Ok(State::Done) => Ok(false),
        Err(e) => Err(db.error(e)),
    }
}

/// Steps through the rows, handing each to `visitor` as borrowed values, until the end,
/// an error, or the visitor's `Break`.
pub(super) fn visit_rows(
    statement: &mut Statement<'_>,
    db: Db<'_>,
    visitor: &mut RowVisitor<'_>,
) -> Result<()> {
    // Column names are read from the current row, on demand: after the first step, a
    // schema change may have re-prepared the statement and `SELECT *` may then have
    // different columns. (The crate's own `column_names` are those of the first prepare.)
    let mut buffer = RowBuffer::default();
    while step(statement, db)? {
        let row = CurrentRow::new(statement);
        let flow = buffer.visit(
            row.count(),
            |index| row.value(index),
            |values| visitor(&RowRef::with_names(&row, values)),
        )?;
        if flow.is_break() {
            break;
        }
    }
    Ok(())
}

/// The row a statement's last step returned, read through the raw handle.
///
/// It borrows the statement shared for `'s`; stepping, resetting or finalizing needs it
/// exclusively (or owned), so every value borrowed from the row is gone before SQLite
/// can invalidate it.
struct CurrentRow<'s> {
    raw: *mut ffi::sqlite3_stmt,
    _statement: PhantomData<&'s ()>,
}

impl<'s> CurrentRow<'s> {
    /// The current row of `statement`, whose last step returned `SQLITE_ROW`.
    fn new(statement: &'s Statement<'_>) -> Self {
        CurrentRow {
            raw: raw_statement(statement),
            _statement: PhantomData,
        }
    }

    /// Column `index`'s value, borrowed from SQLite without a copy.
    fn value(&self, index: usize) -> Result<ValueRef<'s>> {
        let Ok(index) = c_int::try_from(index) else {
            return Ok(ValueRef::Null);
        };
        // SAFETY: a live statement positioned on a row (see the type's docs). Each
        // column is read once, with the accessor of its own storage class, so no type
        // conversion invalidates a pointer handed out earlier; text and blob pointers
        // are fetched before their length, as SQLite recommends. They stay valid while
        // the row is current, i.e. for 's.
        unsafe {
            match ffi::sqlite3_column_type(self.raw, index) {
                ffi::SQLITE_INTEGER => Ok(ValueRef::Integer(ffi::sqlite3_column_int64(
                    self.raw, index,
                ))),
                ffi::SQLITE_FLOAT => {
                    Ok(ValueRef::Real(ffi::sqlite3_column_double(self.raw, index)))
                }
                ffi::SQLITE_TEXT => {
                    let text = ffi::sqlite3_column_text(self.raw, index);
                    let length = ffi::sqlite3_column_bytes(self.raw, index);
                    let bytes = self.bytes(text, length)?;
                    std::str::from_utf8(bytes).map(ValueRef::Text).map_err(|e| {
                        Error::new(
                            ErrorKind::TypeMismatch,
                            format!("text is not valid UTF-8: {e}"),
                        )
                        .with_backend(NAME)
                    })
                }
                ffi::SQLITE_BLOB => {
                    let blob = ffi::sqlite3_column_blob(self.raw, index);
                    let length = ffi::sqlite3_column_bytes(self.raw, index);
                    self.bytes(blob.cast(), length).map(ValueRef::Blob)
                }
                _ => Ok(ValueRef::Null),
            }
        }
    }

    /// A column's bytes from their pointer and length.
    ///
    /// # Safety
    /// `pointer` and `length` must come from `sqlite3_column_{text,blob}` and
    /// `sqlite3_column_bytes` for the current row of `self.raw`.
    unsafe fn bytes(&self, pointer: *const u8, length: c_int) -> Result<&'s [u8]> {
        if pointer.is_null() {
            // An empty value may come back as a null pointer; a null pointer for a
            // non-empty one, or with SQLITE_NOMEM set, is an allocation failure.
            // SAFETY: the statement's connection is open.
            let code = unsafe { ffi::sqlite3_errcode(ffi::sqlite3_db_handle(self.raw)) };
            return if length <= 0 && code != ffi::SQLITE_NOMEM {
                Ok(&[])
            } else {
                Err(out_of_memory())
            };
        }
        let length = usize::try_from(length).unwrap_or(0);
        // SAFETY: per the caller, SQLite owns `length` bytes at `pointer`, unchanged
        // while the row is current (for 's).
        Ok(unsafe { std::slice::from_raw_parts(pointer, length) })
    }
}

impl ColumnNames for CurrentRow<'_> {
    fn count(&self) -> usize {
        // SAFETY: a live statement.
        let count = unsafe { ffi::sqlite3_column_count(self.raw) };
        usize::try_from(count).unwrap_or(0)
    }

    fn name(&self, index: usize) -> Result<&str> {
        let Ok(column) = c_int::try_from(index) else {
            return Err(column_out_of_range(index));
        };
        // SAFETY: a live statement, borrowed shared for as long as the row (so it is
        // neither stepped, i.e. re-prepared, nor finalized meanwhile). SQLite keeps the
        // names in UTF-8, so sqlite3_column_name hands out the stored string without
        // converting it, and nothing here calls sqlite3_column_name16 (which would
        // convert it in place): the pointer stays valid for the borrow of `self`.
        let name = unsafe { ffi::sqlite3_column_name(self.raw, column) };
        if name.is_null() {
            // SAFETY: as above.
            let count = unsafe { ffi::sqlite3_column_count(self.raw) };
            return Err(if column < count {
                out_of_memory()
            } else {
                column_out_of_range(index)
            });
        }
        // SAFETY: non-null, NUL-terminated, valid as explained above.
        let name = unsafe { CStr::from_ptr(name) };
        name.to_str().map_err(|_| {
            Error::new(ErrorKind::Corrupt, "a column name is not valid UTF-8").with_backend(NAME)
        })
    }
}

fn column_out_of_range(index: usize) -> Error {
    Error::new(
        ErrorKind::Misuse,
        format!("column index {index} out of range"),
    )
    .with_backend(NAME)
}

fn out_of_memory() -> Error {
    Error::from_sqlite(NAME, NO_MEMORY, "out of memory reading a column")
}
