//! The guard against stale column metadata.
//!
//! sqlx caches each statement's columns when it prepares it. When the schema changes,
//! SQLite re-prepares a cached statement inside `sqlite3_step`, and `SELECT *` may then
//! return a different column set; sqlx 0.9 indexes its stale column list with the new
//! column count, which panics on its worker thread when columns were added (the
//! connection is then dead and the query silently returns no rows), or reports stale
//! names.
//!
//! The guard is an authorizer that refuses exactly those re-prepares: SQLite compiles a
//! statement again only after its first `sqlite3Step` stopped with `SQLITE_SCHEMA`,
//! which is still the connection's error code while the authorizer runs. Denying makes
//! `sqlite3_step` fail with `SQLITE_AUTH` before the statement did anything (the schema
//! check is its first action, and a failed re-prepare leaves any open transaction
//! alone). The backend then clears sqlx's statement cache and runs the call again on a
//! freshly prepared statement, whose column metadata is current. Ordinary prepares are
//! never refused, and nothing is paid per call: one retry per schema change and cached
//! statement.

use std::ffi::{c_char, c_int, c_void};

use libsqlite3_sys as ffi;

/// `SQLITE_AUTH`: the code a refused re-prepare fails with. Nothing else installs an
/// authorizer on the connection, so the code is ours alone.
pub(super) const REFUSED: i32 = ffi::SQLITE_AUTH;

/// Installs the guard on `db`.
///
/// # Safety
/// `db` must be a valid connection that no other thread uses during the call. The
/// pointer is handed to the callback, which SQLite only calls on this connection.
pub(super) unsafe fn install(db: *mut ffi::sqlite3) -> c_int {
    // SAFETY: per the caller.
    unsafe { ffi::sqlite3_set_authorizer(db, Some(authorize), db.cast()) }
}

unsafe extern "C" fn authorize(
    db: *mut c_void,
    _action: c_int,
    _a: *const c_char,
    _b: *const c_char,
    _c: *const c_char,
    _d: *const c_char,
) -> c_int {
    // SAFETY: `db` is the connection this authorizer was installed on, and SQLite calls
    // it from inside a call on that connection.
    let code = unsafe { ffi::sqlite3_extended_errcode(db.cast()) };
    if code == ffi::SQLITE_SCHEMA {
        ffi::SQLITE_DENY
    } else {
        ffi::SQLITE_OK
    }
}
