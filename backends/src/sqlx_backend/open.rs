//! Connect options: only what [`OpenOptions`] says, every other setting left at
//! SQLite's default so that the setup SQL makes all backends alike.

use std::ffi::CStr;
use std::path::Path;
use std::time::Duration;

use libsqlite3_sys as ffi;
use sqlite_runtime::OpenOptions;
use sqlx::sqlite::SqliteConnectOptions;

/// The connect options for `path` (`None`: a private in-memory database).
///
/// sqlx sends `PRAGMA foreign_keys = ON` at connect unless told otherwise; we send
/// SQLite's compiled-in default instead, so `PRAGMA foreign_keys` reads as it does
/// through rusqlite. sqlx sets no journal mode, locking mode or `synchronous` of its own.
/// `":memory:"` without `SQLITE_OPEN_SHAREDCACHE` (sqlx uses a private cache) is a new
/// database on every open.
pub(super) fn connect_options(path: Option<&Path>, options: &OpenOptions) -> SqliteConnectOptions {
    // sqlx panics on a busy timeout above i32::MAX ms; SQLite could not use more.
    let busy_timeout = options
        .busy_timeout_value()
        .min(Duration::from_millis(i32::MAX as u64));
    SqliteConnectOptions::new()
        .filename(path.unwrap_or(Path::new(":memory:")))
        .read_only(options.is_read_only())
        .create_if_missing(options.creates())
        .busy_timeout(busy_timeout)
        .statement_cache_capacity(options.statement_cache_capacity_value())
        .foreign_keys(default_foreign_keys())
}

/// Whether this SQLite enforces foreign keys on new connections
/// (`SQLITE_DEFAULT_FOREIGN_KEYS`; libsqlite3-sys's bundled build sets it).
fn default_foreign_keys() -> bool {
    const OPTION: &CStr = c"DEFAULT_FOREIGN_KEYS=1";
    // SAFETY: a NUL-terminated string; the call only reads SQLite's option table.
    unsafe { ffi::sqlite3_compileoption_used(OPTION.as_ptr()) != 0 }
}

#[cfg(test)]
pub(super) fn tests_default_foreign_keys() -> bool {
    default_foreign_keys()
}
