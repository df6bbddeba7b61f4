//! sqlx errors to typed errors, with the same rules as the other backends.

use std::ffi::CStr;

use libsqlite3_sys as ffi;
use sqlite_runtime::{Error, ErrorKind};

use super::NAME;

/// Maps an sqlx error. sqlx reports SQLite's extended result code
/// (`sqlite3_extended_errcode`) as the database error's code.
pub(super) fn to_error(error: sqlx::Error) -> Error {
    match error {
        sqlx::Error::Database(database) => {
            let code = database.code().and_then(|code| code.parse::<i32>().ok());
            match code {
                Some(code) => Error::from_sqlite(NAME, code, database.message()),
                None => Error::new(ErrorKind::Other, database.message()).with_backend(NAME),
            }
        }
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
            Error::new(ErrorKind::TypeMismatch, error.to_string()).with_backend(NAME)
        }
        sqlx::Error::ColumnIndexOutOfBounds { .. } | sqlx::Error::ColumnNotFound(_) => {
            Error::new(ErrorKind::Misuse, error.to_string()).with_backend(NAME)
        }
        sqlx::Error::WorkerCrashed => Error::new(
            ErrorKind::Other,
            "the sqlx connection worker thread stopped; the connection is unusable",
        )
        .with_backend(NAME),
        other => Error::new(ErrorKind::Other, other.to_string()).with_backend(NAME),
    }
}

/// The SQLite code of an sqlx error, if it is one.
pub(super) fn sqlite_code(error: &sqlx::Error) -> Option<i32> {
    match error {
        sqlx::Error::Database(database) => database.code().and_then(|c| c.parse().ok()),
        _ => None,
    }
}

/// The error SQLite reports on `db` right now.
///
/// # Safety
/// `db` must be a valid connection that no other thread uses during the call.
pub(super) unsafe fn last_error(db: *mut ffi::sqlite3) -> Error {
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
        Error::from_sqlite(NAME, code, message)
    }
}

/// A misuse of the API, such as a wrong parameter count.
pub(super) fn misuse(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Misuse, message).with_backend(NAME)
}
