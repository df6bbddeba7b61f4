//! SQLite's own view of a connection and its statements, read through the C API on the
//! connection's handle, the same way for every backend: what the conformance suite
//! checks is SQLite's state, not a backend's bookkeeping, and what a binding cannot do
//! safely (read a column name that is not UTF-8) is done here.

use std::ffi::{CStr, c_char, c_int};
use std::marker::PhantomData;

use libsqlite3_sys as ffi;
use sqlite_runtime::raw::{RawRow, RawValue, column_name_not_utf8};
use sqlite_runtime::{Error, ErrorKind, Result, StatementStats};

/// Lists every prepared statement alive on `db`.
///
/// # Safety
/// `db` must be a valid, open connection that no other thread uses during the call.
pub(crate) unsafe fn live_statements(db: *mut ffi::sqlite3) -> Vec<StatementStats> {
    let mut statements = Vec::new();
    // SAFETY: the caller guarantees `db` is open and ours for the call; statements
    // returned by sqlite3_next_stmt stay valid while we hold the connection.
    unsafe {
        let mut stmt = ffi::sqlite3_next_stmt(db, std::ptr::null_mut());
        while !stmt.is_null() {
            statements.push(StatementStats {
                sql: statement_sql(stmt)
                    .map_or_else(String::new, |sql| String::from_utf8_lossy(sql).into_owned()),
                runs: stat(stmt, ffi::SQLITE_STMTSTATUS_RUN),
                reprepares: stat(stmt, ffi::SQLITE_STMTSTATUS_REPREPARE),
            });
            stmt = ffi::sqlite3_next_stmt(db, stmt);
        }
    }
    statements
}

/// # Safety
/// `stmt` must be a valid prepared statement.
unsafe fn stat(stmt: *mut ffi::sqlite3_stmt, op: i32) -> u64 {
    // SAFETY: per the caller; reset flag 0 only reads the counter.
    let value = unsafe { ffi::sqlite3_stmt_status(stmt, op, 0) };
    u64::try_from(value).unwrap_or(0)
}

/// The SQL text `stmt` was compiled from (`sqlite3_sql`), valid until it is finalized.
///
/// # Safety
/// `stmt` must be a valid prepared statement, and the text must not outlive it.
unsafe fn statement_sql<'s>(stmt: *mut ffi::sqlite3_stmt) -> Option<&'s [u8]> {
    // SAFETY: per the caller; the text is NUL-terminated and owned by the statement.
    unsafe {
        let sql = ffi::sqlite3_sql(stmt);
        (!sql.is_null()).then(|| CStr::from_ptr(sql).to_bytes())
    }
}

/// Whether `db` is in autocommit mode (no transaction open).
///
/// # Safety
/// `db` must be a valid, open connection.
#[allow(dead_code)] // Used by the backends whose binding does not expose it.
pub(crate) unsafe fn is_autocommit(db: *mut ffi::sqlite3) -> bool {
    // SAFETY: per the caller.
    unsafe { ffi::sqlite3_get_autocommit(db) != 0 }
}

/// The error SQLite reports on `db` right now (extended code and message), through
/// `backend`.
///
/// # Safety
/// `db` must be a valid connection that no other thread uses during the call.
#[allow(dead_code)] // Used by the backends that call SQLite directly.
pub(crate) unsafe fn last_error(backend: &'static str, db: *mut ffi::sqlite3) -> Error {
    // SAFETY: per the caller; errmsg returns a NUL-terminated string owned by SQLite,
    // copied before any other call on `db`.
    unsafe {
        let code = ffi::sqlite3_extended_errcode(db);
        let message = ffi::sqlite3_errmsg(db);
        let message = if message.is_null() {
            String::from("unknown error")
        } else {
            CStr::from_ptr(message).to_string_lossy().into_owned()
        };
        Error::from_sqlite(backend, code, message)
    }
}

/// The name of column `index` of `stmt`, as stored (not checked for UTF-8); `None` out
/// of range or out of memory.
///
/// # Safety
/// `stmt` must be a valid prepared statement, neither stepped (a schema change
/// re-prepares it there), reset nor finalized while the name is borrowed, and no one may
/// call `sqlite3_column_name16` on it meanwhile (which would convert the name in place).
/// SQLite keeps names in UTF-8, so this hands out the stored string unconverted.
pub(crate) unsafe fn column_name<'s>(
    stmt: *mut ffi::sqlite3_stmt,
    index: usize,
) -> Option<&'s [u8]> {
    let index = c_int::try_from(index).ok()?;
    // SAFETY: per the caller; a non-null name is NUL-terminated and lives as said.
    unsafe {
        let name = ffi::sqlite3_column_name(stmt, index);
        (!name.is_null()).then(|| CStr::from_ptr(name).to_bytes())
    }
}

/// The statement of `db` that is running (stepped, not yet reset) with SQL text `sql`
/// (compiled from `sql`, so its text is `sql` up to the end of its first statement).
///
/// For bindings that hand out no statement pointer: a connection driven by the kit runs
/// one statement at a time, so the busy statement with that text is the one being read.
///
/// # Safety
/// `db` must be a valid, open connection that no other thread uses during the call.
#[allow(dead_code)] // Used by the backends whose binding hides statement pointers.
pub(crate) unsafe fn running_statement(
    db: *mut ffi::sqlite3,
    sql: &str,
) -> Option<*mut ffi::sqlite3_stmt> {
    // SAFETY: per the caller; statements listed by sqlite3_next_stmt are valid while we
    // hold the connection, and their text while they are.
    unsafe {
        let mut stmt = ffi::sqlite3_next_stmt(db, std::ptr::null_mut());
        while !stmt.is_null() {
            if ffi::sqlite3_stmt_busy(stmt) != 0
                && statement_sql(stmt)
                    .is_some_and(|text| !text.is_empty() && sql.as_bytes().starts_with(text))
            {
                return Some(stmt);
            }
            stmt = ffi::sqlite3_next_stmt(db, stmt);
        }
    }
    None
}

/// Compiles `sql` on `db` once (then finalizes it) to check it before a binding
/// prepares it: exactly one statement (`Ok(None)` for none: only comments or white
/// space), and column names in UTF-8 (a hostile schema can hold others, on which some
/// bindings panic). `inspect` reads what else is needed from the compiled statement.
/// SQLite's errors are reported through `backend`.
///
/// # Safety
/// `db` must be a valid connection that no other thread uses during the call.
#[allow(dead_code)] // Used by the backends whose binding cannot read names safely.
pub(crate) unsafe fn check_statement<T>(
    backend: &'static str,
    db: *mut ffi::sqlite3,
    sql: &str,
    inspect: impl FnOnce(*mut ffi::sqlite3_stmt) -> T,
) -> Result<Option<T>> {
    // SAFETY: per the caller.
    let Some((stmt, rest)) = (unsafe { prepare(backend, db, sql) })? else {
        return Ok(None);
    };
    // SAFETY: `stmt` is ours, finalized below on every path.
    let names_are_utf8 = (0..unsafe { ffi::sqlite3_column_count(stmt) }).all(|index| {
        // SAFETY: a valid statement; the name is read before it is finalized.
        unsafe { column_name(stmt, usize::try_from(index).unwrap_or(usize::MAX)) }
            .is_none_or(|name| std::str::from_utf8(name).is_ok())
    });
    let inspected = inspect(stmt);
    // SAFETY: per the caller.
    let second = unsafe { has_statement(backend, db, rest) };
    // SAFETY: ours, finalized once.
    unsafe { ffi::sqlite3_finalize(stmt) };
    if second? {
        return Err(Error::new(
            ErrorKind::Misuse,
            "multiple statements provided (use exec to run several)",
        ));
    }
    if !names_are_utf8 {
        return Err(column_name_not_utf8());
    }
    Ok(Some(inspected))
}

/// Compiles the first statement of `sql`: the statement, to finalize (`None` when there
/// is none), and the text after it.
///
/// # Safety
/// `db` must be a valid connection that no other thread uses during the call.
unsafe fn prepare<'q>(
    backend: &'static str,
    db: *mut ffi::sqlite3,
    sql: &'q str,
) -> Result<Option<(*mut ffi::sqlite3_stmt, &'q str)>> {
    let length = c_int::try_from(sql.len())
        .map_err(|_| Error::from_sqlite(backend, ffi::SQLITE_TOOBIG, "the SQL text is too long"))?;
    let mut stmt = std::ptr::null_mut();
    let mut tail: *const c_char = std::ptr::null();
    // SAFETY: per the caller; `sql` outlives the call and its length is given.
    let rc =
        unsafe { ffi::sqlite3_prepare_v2(db, sql.as_ptr().cast(), length, &mut stmt, &mut tail) };
    if rc != ffi::SQLITE_OK {
        // SAFETY: per the caller; a failed prepare leaves no statement.
        return Err(unsafe { last_error(backend, db) });
    }
    if stmt.is_null() {
        return Ok(None);
    }
    let consumed = (tail as usize).saturating_sub(sql.as_ptr() as usize);
    Ok(Some((stmt, sql.get(consumed..).unwrap_or(""))))
}

/// Whether `rest` (the text after a statement) holds another statement.
///
/// # Safety
/// `db` must be a valid connection that no other thread uses during the call.
pub(crate) unsafe fn has_statement(
    backend: &'static str,
    db: *mut ffi::sqlite3,
    rest: &str,
) -> Result<bool> {
    if rest.trim().is_empty() {
        return Ok(false);
    }
    // SAFETY: per the caller.
    let next = unsafe { prepare(backend, db, rest) }?;
    if let Some((stmt, _)) = next {
        // SAFETY: compiled just now, ours.
        unsafe { ffi::sqlite3_finalize(stmt) };
    }
    Ok(next.is_some())
}

/// The row a statement's last step returned, read through the statement's raw handle:
/// values borrowed from SQLite without a copy, names as stored.
#[allow(dead_code)] // Used by the backends that step statements themselves.
pub(crate) struct StatementRow<'s> {
    stmt: *mut ffi::sqlite3_stmt,
    backend: &'static str,
    _row: PhantomData<&'s ()>,
}

#[allow(dead_code)] // As above.
impl StatementRow<'_> {
    /// The current row of `stmt`, for errors through `backend`.
    ///
    /// # Safety
    /// `stmt` must be a valid statement whose last step returned `SQLITE_ROW`, used by
    /// this thread only, and neither stepped, reset nor finalized for the row's lifetime
    /// (values and names borrowed from the row stay valid exactly that long).
    pub(crate) unsafe fn new(stmt: *mut ffi::sqlite3_stmt, backend: &'static str) -> Self {
        StatementRow {
            stmt,
            backend,
            _row: PhantomData,
        }
    }

    /// A column's bytes from their pointer and length (`sqlite3_value_{text,blob}` and
    /// `sqlite3_value_bytes`, in that order).
    ///
    /// # Safety
    /// `pointer` and `length` must come from the current row's value, as above.
    #[inline(always)]
    unsafe fn bytes(&self, pointer: *const u8, length: c_int) -> Result<&[u8]> {
        let length = usize::try_from(length).unwrap_or(0);
        if pointer.is_null() {
            // An empty value may come back as a null pointer; a non-empty one only when
            // SQLite could not allocate (expanding a zeroblob, terminating text).
            return match length {
                0 => Ok(&[]),
                _ => Err(Error::from_sqlite(
                    self.backend,
                    ffi::SQLITE_NOMEM,
                    "out of memory reading a column",
                )),
            };
        }
        // SAFETY: per the caller, SQLite owns `length` bytes at `pointer`, unchanged
        // while the row is current.
        Ok(unsafe { std::slice::from_raw_parts(pointer, length) })
    }
}

impl RawRow for StatementRow<'_> {
    fn column_count(&self) -> usize {
        // SAFETY: a live statement (see `new`).
        let count = unsafe { ffi::sqlite3_column_count(self.stmt) };
        usize::try_from(count).unwrap_or(0)
    }

    fn column_name(&self, index: usize) -> Option<&[u8]> {
        // SAFETY: a live statement, not stepped, reset or finalized while the row (and
        // so the name) is borrowed; nothing here reads UTF-16 names.
        unsafe { column_name(self.stmt, index) }
    }

    /// One call into the statement per column: its value (`sqlite3_column_value`, the
    /// cell `sqlite3_column_blob` and friends read too), then the value's accessors.
    fn column(&self, index: usize) -> Result<RawValue<'_>> {
        let Ok(index) = c_int::try_from(index) else {
            return Ok(RawValue::Null);
        };
        // SAFETY: a live statement positioned on a row, used by this thread only (see
        // `new`), so the value is the row's own cell, as stable as for the `column_*`
        // accessors. Each value is read once, with the accessor of its own storage
        // class, so no conversion invalidates a pointer handed out earlier; pointers are
        // fetched before lengths, as SQLite recommends. They stay valid while the row is
        // current.
        unsafe {
            let value = ffi::sqlite3_column_value(self.stmt, index);
            match ffi::sqlite3_value_type(value) {
                ffi::SQLITE_INTEGER => Ok(RawValue::Integer(ffi::sqlite3_value_int64(value))),
                ffi::SQLITE_FLOAT => Ok(RawValue::Real(ffi::sqlite3_value_double(value))),
                ffi::SQLITE_TEXT => {
                    let text = ffi::sqlite3_value_text(value);
                    let length = ffi::sqlite3_value_bytes(value);
                    self.bytes(text, length).map(RawValue::Text)
                }
                ffi::SQLITE_BLOB => {
                    let blob = ffi::sqlite3_value_blob(value);
                    let length = ffi::sqlite3_value_bytes(value);
                    self.bytes(blob.cast(), length).map(RawValue::Blob)
                }
                _ => Ok(RawValue::Null),
            }
        }
    }
}
