//! Reads SQLite's own view of a connection through its raw handle, the same way for every
//! backend, so what the conformance suite checks is SQLite's state, not a backend's
//! bookkeeping.

use std::ffi::CStr;

use libsqlite3_sys as ffi;
use sqlite_runtime::{StatementCacheStats, StatementStats};

/// Lists every prepared statement alive on `db`.
///
/// # Safety
/// `db` must be a valid, open connection that no other thread uses during the call.
pub(crate) unsafe fn statement_cache_stats(
    db: *mut ffi::sqlite3,
    capacity: usize,
) -> StatementCacheStats {
    let mut statements = Vec::new();
    // SAFETY: the caller guarantees `db` is open and ours for the call; statements
    // returned by sqlite3_next_stmt stay valid while we hold the connection.
    unsafe {
        let mut stmt = ffi::sqlite3_next_stmt(db, std::ptr::null_mut());
        while !stmt.is_null() {
            let sql = ffi::sqlite3_sql(stmt);
            statements.push(StatementStats {
                sql: if sql.is_null() {
                    String::new()
                } else {
                    CStr::from_ptr(sql).to_string_lossy().into_owned()
                },
                runs: stat(stmt, ffi::SQLITE_STMTSTATUS_RUN),
                reprepares: stat(stmt, ffi::SQLITE_STMTSTATUS_REPREPARE),
            });
            stmt = ffi::sqlite3_next_stmt(db, stmt);
        }
    }
    StatementCacheStats {
        capacity,
        statements,
    }
}

/// # Safety
/// `stmt` must be a valid prepared statement.
unsafe fn stat(stmt: *mut ffi::sqlite3_stmt, op: i32) -> u64 {
    // SAFETY: per the caller; reset flag 0 only reads the counter.
    let value = unsafe { ffi::sqlite3_stmt_status(stmt, op, 0) };
    u64::try_from(value).unwrap_or(0)
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
