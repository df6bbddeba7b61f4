//! Connect options: only what [`OpenOptions`] says, every other setting left at
//! SQLite's default so that the setup SQL makes all backends alike.

use std::time::Duration;

use sqlite_runtime::{OpenOptions, Target};
use sqlx::sqlite::SqliteConnectOptions;

/// The connect options for `target`, named by the URI every backend opens
/// ([`OpenOptions::sqlite_filename`]; sqlx passes it to SQLite unchanged).
///
/// sqlx sends its own `PRAGMA foreign_keys` at connect; we pass the value the options ask
/// for (the setup SQL sets it again, as on every backend). sqlx sets no journal mode,
/// locking mode or `synchronous` of its own.
/// `":memory:"` without `SQLITE_OPEN_SHAREDCACHE` (sqlx uses a private cache) is a new
/// database on every open.
pub(super) fn connect_options(target: &Target, options: &OpenOptions) -> SqliteConnectOptions {
    // sqlx panics on a busy timeout above i32::MAX ms; SQLite could not use more.
    let busy_timeout = options
        .busy_timeout
        .min(Duration::from_millis(i32::MAX as u64));
    SqliteConnectOptions::new()
        .filename(options.sqlite_filename(target))
        .read_only(options.is_read_only())
        .create_if_missing(options.creates())
        .busy_timeout(busy_timeout)
        .statement_cache_capacity(options.statement_cache_capacity)
        .foreign_keys(options.foreign_keys)
}
