//! The physical limit: the driver's SQL through the SQLite C API (`libsqlite3-sys`),
//! every statement prepared once, blobs bound without a copy (`SQLITE_STATIC`).

use std::ffi::{CStr, CString, c_int};
use std::path::Path;
use std::ptr;

use libsqlite3_sys as ffi;
use sqlite_runtime::{OpenOptions, Synchronous, Target};

use super::{Entry, Settings, Store};
use crate::Result;
use crate::keys::{Key, Val};
use crate::sql;

/// A raw connection and its prepared statements.
pub(crate) struct RawStore {
    db: *mut ffi::sqlite3,
    get: *mut ffi::sqlite3_stmt,
    used: *mut ffi::sqlite3_stmt,
    put: *mut ffi::sqlite3_stmt,
    delete_range: *mut ffi::sqlite3_stmt,
    range: *mut ffi::sqlite3_stmt,
    begin: *mut ffi::sqlite3_stmt,
    commit: *mut ffi::sqlite3_stmt,
    /// [`sql::SQL_GET`], prepared at its first use: the template's writer opens a
    /// database that has no `items` table yet.
    sql_get: *mut ffi::sqlite3_stmt,
}

// SAFETY: the connection is opened with SQLITE_OPEN_NOMUTEX on a thread-safe SQLite and
// used through `&mut self` only, by one thread at a time.
unsafe impl Send for RawStore {}

fn error_message(db: *mut ffi::sqlite3, code: c_int) -> crate::BenchError {
    // SAFETY: `db` is an open connection (or null, which sqlite3_errmsg accepts); the
    // message is copied at once.
    let message = unsafe {
        let text = ffi::sqlite3_errmsg(db);
        if text.is_null() {
            String::new()
        } else {
            CStr::from_ptr(text).to_string_lossy().into_owned()
        }
    };
    format!("raw SQLite error {code}: {message}").into()
}

impl RawStore {
    /// Opens `path` with the same pragmas every backend applies (`OpenOptions::setup_sql`)
    /// and prepares the driver's statements.
    pub(crate) fn open(path: &Path, settings: Settings) -> Result<Self> {
        let target = Target::file(path);
        let setup = OpenOptions::new()
            .synchronous(settings.synchronous)
            .setup_sql(&target);
        let db = open_raw(path)?;
        let mut store = RawStore {
            db,
            get: ptr::null_mut(),
            used: ptr::null_mut(),
            put: ptr::null_mut(),
            delete_range: ptr::null_mut(),
            range: ptr::null_mut(),
            begin: ptr::null_mut(),
            commit: ptr::null_mut(),
            sql_get: ptr::null_mut(),
        };
        store.exec(&setup)?;
        if let Some(cache) = settings.cache_sql() {
            store.exec(&cache)?;
        }
        store.exec(sql::CREATE_TABLE)?;
        store.exec(&format!("BEGIN IMMEDIATE; {} COMMIT;", sql::INSTALL_SIZE))?;
        store.get = store.prepare(sql::GET)?;
        store.used = store.prepare(sql::USED_SIZE)?;
        store.put = store.prepare(sql::PUT)?;
        store.delete_range = store.prepare(sql::DELETE_RANGE)?;
        store.range = store.prepare(sql::RANGE_ASC)?;
        store.begin = store.prepare(sql::BEGIN)?;
        store.commit = store.prepare(sql::COMMIT)?;
        Ok(store)
    }

    /// Runs `;`-separated statements without parameters.
    pub(crate) fn exec(&mut self, text: &str) -> Result<()> {
        let text = CString::new(text)?;
        // SAFETY: an open connection and a NUL-terminated string; no callback.
        let code = unsafe {
            ffi::sqlite3_exec(
                self.db,
                text.as_ptr(),
                None,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        self.check(code)
    }

    fn check(&self, code: c_int) -> Result<()> {
        if code == ffi::SQLITE_OK {
            Ok(())
        } else {
            Err(error_message(self.db, code))
        }
    }

    fn prepare(&mut self, text: &str) -> Result<*mut ffi::sqlite3_stmt> {
        let mut stmt = ptr::null_mut();
        let length = c_int::try_from(text.len())?;
        // SAFETY: an open connection; `text` outlives the call (SQLite copies it).
        let code = unsafe {
            ffi::sqlite3_prepare_v3(
                self.db,
                text.as_ptr().cast(),
                length,
                ffi::SQLITE_PREPARE_PERSISTENT,
                &mut stmt,
                ptr::null_mut(),
            )
        };
        self.check(code)?;
        Ok(stmt)
    }

    /// Binds a blob without a copy: it must stay alive until the statement is reset.
    ///
    /// # Safety
    /// `stmt` must be one of ours; `bytes` must outlive the statement's current run.
    unsafe fn bind_blob(
        &self,
        stmt: *mut ffi::sqlite3_stmt,
        index: c_int,
        bytes: &[u8],
    ) -> Result<()> {
        // SAFETY: per the caller. SQLITE_STATIC is the null destructor.
        let code = unsafe {
            ffi::sqlite3_bind_blob(
                stmt,
                index,
                bytes.as_ptr().cast(),
                bytes.len() as c_int,
                ffi::SQLITE_STATIC(),
            )
        };
        self.check(code)
    }

    /// Steps: `Ok(true)` on a row.
    ///
    /// # Safety
    /// `stmt` must be one of ours with live bindings.
    unsafe fn step(&self, stmt: *mut ffi::sqlite3_stmt) -> Result<bool> {
        // SAFETY: per the caller.
        match unsafe { ffi::sqlite3_step(stmt) } {
            ffi::SQLITE_ROW => Ok(true),
            ffi::SQLITE_DONE => Ok(false),
            code => Err(error_message(self.db, code)),
        }
    }

    /// Resets a statement (ending the run its borrowed bindings were for) and returns
    /// `result`. Every run binds every parameter again, so bindings are not cleared.
    fn finish<T>(&self, stmt: *mut ffi::sqlite3_stmt, result: Result<T>) -> Result<T> {
        // SAFETY: one of our statements. The reset's code repeats a step error already
        // in `result`.
        unsafe { ffi::sqlite3_reset(stmt) };
        result
    }

    /// Runs a parameterless statement to completion.
    fn run_plain(&self, stmt: *mut ffi::sqlite3_stmt) -> Result<()> {
        // SAFETY: one of our statements, no bindings.
        let result = unsafe { self.step(stmt) }.map(|_| ());
        self.finish(stmt, result)
    }

    /// The bytes of column `index` of the current row.
    ///
    /// # Safety
    /// `stmt` must be positioned on a row; the slice dies with the row.
    unsafe fn column<'s>(stmt: *mut ffi::sqlite3_stmt, index: c_int) -> &'s [u8] {
        // SAFETY: per the caller; pointer first, then length, as SQLite recommends.
        unsafe {
            let data = ffi::sqlite3_column_blob(stmt, index);
            let length = ffi::sqlite3_column_bytes(stmt, index);
            if data.is_null() || length <= 0 {
                &[]
            } else {
                std::slice::from_raw_parts(data.cast(), length as usize)
            }
        }
    }

    /// The actor's size, read inside a put as the driver does (for its storage limit).
    fn used(&self) -> Result<u64> {
        let stmt = self.used;
        // SAFETY: a statement without bindings, reset by `finish`.
        let result = unsafe {
            Ok(if self.step(stmt)? {
                ffi::sqlite3_column_int64(stmt, 0) as u64
            } else {
                0
            })
        };
        self.finish(stmt, result)
    }

    fn put_one(&self, key: &[u8], value: &[u8]) -> Result<()> {
        let stmt = self.put;
        // SAFETY: `key` and `value` outlive the run, which `finish` ends.
        let result = unsafe {
            self.bind_blob(stmt, 1, key)
                .and_then(|()| self.bind_blob(stmt, 2, value))
                .and_then(|()| self.step(stmt))
        };
        self.finish(stmt, result).map(|_| ())
    }

    fn get_one(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let stmt = self.get;
        // SAFETY: `key` outlives the run; the column is copied before `finish`.
        let result = unsafe {
            self.bind_blob(stmt, 1, key).and_then(|()| {
                Ok(if self.step(stmt)? {
                    Some(Self::column(stmt, 0).to_vec())
                } else {
                    None
                })
            })
        };
        self.finish(stmt, result)
    }

    /// Binds a 64-bit integer.
    ///
    /// # Safety
    /// `stmt` must be one of ours.
    unsafe fn bind_int64(
        &self,
        stmt: *mut ffi::sqlite3_stmt,
        index: c_int,
        value: i64,
    ) -> Result<()> {
        // SAFETY: per the caller.
        let code = unsafe { ffi::sqlite3_bind_int64(stmt, index, value) };
        self.check(code)
    }

    fn range(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Vec<Entry>> {
        let stmt = self.range;
        // SAFETY: the bounds outlive the run; columns are copied before the next step.
        let result = unsafe {
            self.bind_blob(stmt, 1, start)
                .and_then(|()| self.bind_blob(stmt, 2, end))
                .and_then(|()| {
                    let mut entries = Vec::new();
                    while entries.len() < limit && self.step(stmt)? {
                        entries.push((
                            Self::column(stmt, 0).to_vec(),
                            Self::column(stmt, 1).to_vec(),
                        ));
                    }
                    Ok(entries)
                })
        };
        self.finish(stmt, result)
    }
}

/// Opens a connection the way rusqlite does (read-write, create, no mutex, URI) with
/// extended result codes.
fn open_raw(path: &Path) -> Result<*mut ffi::sqlite3> {
    let name = CString::new(path.to_str().ok_or("path is not UTF-8")?)?;
    let mut db = ptr::null_mut();
    let flags = ffi::SQLITE_OPEN_READWRITE
        | ffi::SQLITE_OPEN_CREATE
        | ffi::SQLITE_OPEN_NOMUTEX
        | ffi::SQLITE_OPEN_URI;
    // SAFETY: a NUL-terminated name and an out pointer.
    let code = unsafe { ffi::sqlite3_open_v2(name.as_ptr(), &mut db, flags, ptr::null()) };
    if code != ffi::SQLITE_OK {
        let error = error_message(db, code);
        // SAFETY: a handle from a failed open must still be closed (null is fine).
        unsafe { ffi::sqlite3_close(db) };
        return Err(error);
    }
    // SAFETY: an open connection.
    unsafe { ffi::sqlite3_extended_result_codes(db, 1) };
    Ok(db)
}

impl Store for RawStore {
    fn get(&mut self, key: &Key) -> Result<Option<Vec<u8>>> {
        self.get_one(key)
    }

    fn get_many(&mut self, keys: &[Key]) -> Result<Vec<Option<Vec<u8>>>> {
        let mut values = Vec::with_capacity(keys.len());
        for key in keys {
            values.push(self.get_one(key)?);
        }
        Ok(values)
    }

    fn put(&mut self, entries: &[(Key, Val)]) -> Result<()> {
        self.run_plain(self.begin)?;
        let written = self.used().and_then(|_| {
            entries
                .iter()
                .try_for_each(|(key, value)| self.put_one(key, value))
        });
        if let Err(error) = written {
            let _ = self.exec("ROLLBACK");
            return Err(error);
        }
        self.run_plain(self.commit)
    }

    fn list_range(&mut self, start: &[u8], end: &[u8], limit: usize) -> Result<Vec<Entry>> {
        self.range(start, end, limit)
    }

    fn delete_range(&mut self, start: &[u8], end: &[u8]) -> Result<Option<u64>> {
        let stmt = self.delete_range;
        self.run_plain(self.begin)?;
        // SAFETY: the bounds outlive the run, which `finish` ends.
        let result = unsafe {
            self.bind_blob(stmt, 1, start)
                .and_then(|()| self.bind_blob(stmt, 2, end))
                .and_then(|()| self.step(stmt))
                .map(|_| ffi::sqlite3_changes64(self.db) as u64)
        };
        let deleted = self.finish(stmt, result);
        if deleted.is_err() {
            let _ = self.exec("ROLLBACK");
        }
        let deleted = deleted?;
        self.run_plain(self.commit)?;
        Ok(Some(deleted))
    }

    fn sql_get(&mut self, id: i64) -> Result<Option<Vec<u8>>> {
        if self.sql_get.is_null() {
            self.sql_get = self.prepare(sql::SQL_GET)?;
        }
        let stmt = self.sql_get;
        // SAFETY: an integer binding; the column is copied before `finish`.
        let result = unsafe {
            self.bind_int64(stmt, 1, id).and_then(|()| {
                Ok(if self.step(stmt)? {
                    Some(Self::column(stmt, 0).to_vec())
                } else {
                    None
                })
            })
        };
        self.finish(stmt, result)
    }

    fn close(self: Box<Self>) -> Result<()> {
        drop(self);
        Ok(())
    }
}

impl Drop for RawStore {
    fn drop(&mut self) {
        // SAFETY: our statements (null ones are no-ops) and our connection, finalized
        // and closed exactly once.
        unsafe {
            for stmt in [
                self.get,
                self.used,
                self.put,
                self.delete_range,
                self.range,
                self.begin,
                self.commit,
                self.sql_get,
            ] {
                ffi::sqlite3_finalize(stmt);
            }
            ffi::sqlite3_close(self.db);
        }
    }
}

/// Writes the template database of `entries` entries at `path` (one transaction, key
/// order), checkpointed and closed so that no `-wal` file is left. The same transaction
/// makes the actor's own `items` table ([`sql::CREATE_ITEMS`]) with one row per entry,
/// `(index, initial_value(index))`, for the `sql_get` workload: every variant opens a
/// copy of this file, so all of them query the same rows.
pub(crate) fn write_template(path: &Path, entries: u64) -> Result<()> {
    let settings = Settings {
        synchronous: Synchronous::Normal,
        cache_kib: 0,
    };
    let mut store = RawStore::open(path, settings)?;
    store.run_plain(store.begin)?;
    let written = store.exec(sql::CREATE_ITEMS).and_then(|()| {
        let insert = store.prepare(sql::INSERT_ITEM)?;
        let filled = (0..entries).try_for_each(|index| {
            store.put_one(&crate::keys::key(index), &crate::keys::initial_value(index))?;
            store.insert_item(insert, index)
        });
        // SAFETY: our statement, finalized once, whatever the filling did.
        unsafe { ffi::sqlite3_finalize(insert) };
        filled
    });
    if let Err(error) = written {
        let _ = store.exec("ROLLBACK");
        return Err(error);
    }
    store.run_plain(store.commit)?;
    store.exec("PRAGMA wal_checkpoint(TRUNCATE)")?;
    drop(store);
    Ok(())
}

impl RawStore {
    /// Inserts row `index` of the `items` table with `insert` ([`sql::INSERT_ITEM`]).
    fn insert_item(&self, insert: *mut ffi::sqlite3_stmt, index: u64) -> Result<()> {
        let value = crate::keys::initial_value(index);
        // SAFETY: `value` outlives the run, which `finish` ends.
        let result = unsafe {
            self.bind_int64(insert, 1, i64::try_from(index)?)
                .and_then(|()| self.bind_blob(insert, 2, &value))
                .and_then(|()| self.step(insert))
        };
        self.finish(insert, result).map(|_| ())
    }

    /// `PRAGMA journal_mode` and `PRAGMA synchronous` as the connection reports them.
    pub(crate) fn durability(&mut self) -> Result<(String, i64)> {
        let journal = self.prepare("PRAGMA journal_mode")?;
        // SAFETY: a fresh statement, stepped once, column copied, then finalized.
        let mode = unsafe {
            let mode = if self.step(journal)? {
                String::from_utf8_lossy(Self::column(journal, 0)).into_owned()
            } else {
                String::new()
            };
            ffi::sqlite3_finalize(journal);
            mode
        };
        let sync = self.prepare("PRAGMA synchronous")?;
        // SAFETY: as above.
        let level = unsafe {
            let level = if self.step(sync)? {
                ffi::sqlite3_column_int64(sync, 0)
            } else {
                -1
            };
            ffi::sqlite3_finalize(sync);
            level
        };
        Ok((mode, level))
    }
}
