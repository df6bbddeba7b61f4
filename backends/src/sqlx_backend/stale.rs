//! The guard against stale column metadata.
//!
//! sqlx caches each statement's columns when it prepares it. When the schema changes,
//! SQLite re-prepares a cached statement inside `sqlite3_step`, and `SELECT *` may then
//! return a different column set; sqlx 0.9 indexes its stale column list with the new
//! column count, which panics on its worker thread when columns were added (the
//! connection is then dead and the query silently returns no rows), or reports stale
//! names.
//!
//! The guard is an authorizer. SQLite compiles a statement again only after its step
//! stopped with `SQLITE_SCHEMA`, which is still the connection's error code while the
//! authorizer runs. Not every such re-prepare follows a schema change: a statement whose
//! `LIMIT ?`, `LIKE ?` or `GLOB ?` parameter is bound anew is re-prepared too, with the
//! same columns. So the guard refuses a re-prepare only when the schema may have changed
//! since the last one it allowed: this connection prepared DDL (the authorizer sees its
//! action codes) or another connection committed (`SQLITE_FCNTL_DATA_VERSION` moved).
//! Refusing makes `sqlite3_step` fail with `SQLITE_AUTH` before the statement did
//! anything (a failed re-prepare leaves any open transaction alone). The backend then
//! clears sqlx's statement cache and runs the call again on a freshly prepared statement,
//! whose column metadata is current. Ordinary prepares are never refused.

use std::ffi::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use libsqlite3_sys as ffi;

/// `SQLITE_AUTH`: the code a refused re-prepare fails with. Guarded SQL's authorizer
/// (`crate::guard`) refuses with it too, but only while a guarded statement compiles,
/// never inside sqlx's own calls.
pub(super) const REFUSED: i32 = ffi::SQLITE_AUTH;

/// What the guard remembers between calls. SQLite calls the authorizer on sqlx's worker
/// thread, hence the atomics.
pub(super) struct Guard {
    db: *mut ffi::sqlite3,
    /// This connection prepared a statement that changes the schema.
    schema_touched: AtomicBool,
    /// The data version when the guard last allowed or refused a re-prepare.
    data_version: AtomicU32,
}

// SAFETY: `db` is only used from inside SQLite's own calls on that connection (the
// authorizer), which sqlx serialises on its worker thread; the rest is atomics.
unsafe impl Send for Guard {}
// SAFETY: as above.
unsafe impl Sync for Guard {}

/// Installs the guard on `db`. The returned box must outlive the authorizer: call
/// [`uninstall`] before dropping it.
///
/// # Safety
/// `db` must be a valid connection that no other thread uses during the call.
pub(super) unsafe fn install(db: *mut ffi::sqlite3) -> Result<Box<Guard>, c_int> {
    let guard = Box::new(Guard {
        db,
        schema_touched: AtomicBool::new(false),
        // SAFETY: per the caller.
        data_version: AtomicU32::new(unsafe { data_version(db) }),
    });
    let state: *const Guard = &*guard;
    // SAFETY: per the caller; the box's address is stable and outlives the authorizer.
    match unsafe { ffi::sqlite3_set_authorizer(db, Some(authorize), state.cast_mut().cast()) } {
        ffi::SQLITE_OK => Ok(guard),
        code => Err(code),
    }
}

/// Removes the guard from `db`.
///
/// # Safety
/// `db` must be a valid connection that no other thread uses during the call.
pub(super) unsafe fn uninstall(db: *mut ffi::sqlite3) {
    // SAFETY: per the caller.
    unsafe { ffi::sqlite3_set_authorizer(db, None, std::ptr::null_mut()) };
}

/// The pager's data version: it moves when another connection commits.
///
/// # Safety
/// `db` must be a valid connection used by this thread only for the call.
unsafe fn data_version(db: *mut ffi::sqlite3) -> u32 {
    let mut version: u32 = 0;
    // SAFETY: per the caller; the file control writes one u32.
    unsafe {
        ffi::sqlite3_file_control(
            db,
            c"main".as_ptr(),
            ffi::SQLITE_FCNTL_DATA_VERSION,
            (&raw mut version).cast(),
        )
    };
    version
}

/// Whether `action` is one that changes the schema.
fn changes_schema(action: c_int) -> bool {
    matches!(
        action,
        ffi::SQLITE_CREATE_INDEX..=ffi::SQLITE_CREATE_VIEW
            | ffi::SQLITE_DROP_INDEX..=ffi::SQLITE_DROP_VIEW
            | ffi::SQLITE_ATTACH..=ffi::SQLITE_DROP_VTABLE
    )
}

pub(super) unsafe extern "C" fn authorize(
    state: *mut c_void,
    action: c_int,
    _a: *const c_char,
    _b: *const c_char,
    _c: *const c_char,
    _d: *const c_char,
) -> c_int {
    // SAFETY: `state` is the guard installed with this authorizer, alive until
    // `uninstall`.
    let guard = unsafe { &*state.cast::<Guard>() };
    if changes_schema(action) {
        guard.schema_touched.store(true, Ordering::Relaxed);
        return ffi::SQLITE_OK;
    }
    // SAFETY: SQLite calls the authorizer from inside a call on `guard.db`.
    if unsafe { ffi::sqlite3_extended_errcode(guard.db) } != ffi::SQLITE_SCHEMA {
        return ffi::SQLITE_OK;
    }
    // A re-prepare. The first authorizer call of it decides; later ones see the flags
    // already reset.
    // SAFETY: as above.
    let version = unsafe { data_version(guard.db) };
    let local = guard.schema_touched.swap(false, Ordering::Relaxed);
    let remote = guard.data_version.swap(version, Ordering::Relaxed) != version;
    if local || remote {
        ffi::SQLITE_DENY
    } else {
        ffi::SQLITE_OK
    }
}
