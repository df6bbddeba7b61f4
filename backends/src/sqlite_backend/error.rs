//! Mapping the `sqlite` crate's errors to [`sqlite_runtime::Error`].

use std::ffi::CStr;

use libsqlite3_sys as ffi;
use sqlite_runtime::{Error, ErrorKind};

use super::NAME;

/// `SQLITE_MISUSE`.
pub(super) const MISUSE: i32 = 21;
/// `SQLITE_TOOBIG`.
pub(super) const TOO_BIG: i32 = 18;

/// Converts an error of the `sqlite` crate.
///
/// `extended` is the connection's `sqlite3_extended_errcode`, read right after the
/// failing call when the connection is still there. Extended result codes are enabled on
/// every connection, so the crate's code is normally extended already; a primary code
/// that agrees with the connection's extended one is widened to it.
///
/// An error without a code is one the crate raised itself before calling SQLite (an
/// interior NUL in a string or name, an out-of-range index): API misuse.
pub(super) fn from_crate(error: sqlite::Error, extended: Option<i32>) -> Error {
    let sqlite::Error { code, message } = error;
    match code {
        Some(code) => {
            let code = i32::try_from(code).unwrap_or(ffi::SQLITE_ERROR);
            let code = match extended {
                Some(extended) if code <= 0xff && extended & 0xff == code => extended,
                _ => code,
            };
            Error::from_sqlite(NAME, code, message.unwrap_or_else(|| code_message(code)))
        }
        None => Error::new(
            ErrorKind::Misuse,
            message.unwrap_or_else(|| "misuse of the sqlite crate".to_owned()),
        ),
    }
}

/// SQLite's English description of a result code.
fn code_message(code: i32) -> String {
    // SAFETY: sqlite3_errstr accepts any code and returns a static, NUL-terminated
    // string (or null, handled below).
    let text = unsafe { ffi::sqlite3_errstr(code) };
    if text.is_null() {
        format!("SQLite error {code}")
    } else {
        // SAFETY: non-null, static and NUL-terminated per the SQLite documentation.
        unsafe { CStr::from_ptr(text) }
            .to_string_lossy()
            .into_owned()
    }
}
