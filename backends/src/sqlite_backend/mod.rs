//! The `sqlite` crate backend (stainless-steel/sqlite), on libsqlite3-sys's SQLite.
//!
//! The crate is used without its default features, so it builds no SQLite of its own:
//! its `sqlite3-sys` declarations resolve to the SQLite libsqlite3-sys builds, which
//! this module links by calling it directly (raw handle access, `crate::raw`).
//!
//! The crate has no statement cache, so this backend keeps one ([`cache`]): an LRU of
//! prepared statements stored beside the connection they borrow, in a `self_cell`.

mod cache;
mod error;
mod statement;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

use libsqlite3_sys as ffi;
use sqlite::{Connection, OpenFlags, Statement};
use sqlite_runtime::{
    BindingKind, Capabilities, Error, ErrorKind, OpenOptions, Params, Result, RowVisitor,
    RunResult, SqliteDatabase, SqliteRuntime, StatementCacheStats, Target,
};

use cache::StatementCache;
use statement::Db;

const NAME: &str = "sqlite";

/// The `sqlite` crate binding (synchronous).
#[derive(Clone, Copy, Debug, Default)]
pub struct SqliteCrateRuntime;

impl SqliteCrateRuntime {
    /// A runtime for the `sqlite` crate binding.
    pub fn new() -> Self {
        SqliteCrateRuntime
    }
}

impl SqliteRuntime for SqliteCrateRuntime {
    fn name(&self) -> &'static str {
        NAME
    }

    fn kind(&self) -> BindingKind {
        BindingKind::Sync
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    fn open(&self, target: &Target, options: &OpenOptions) -> Result<Box<dyn SqliteDatabase>> {
        let path = target.path().map(PathBuf::from);
        let connection =
            open_connection(target, options).map_err(|e| e.with_file_context(path.as_deref()))?;
        let capacity = options.statement_cache_capacity_value();
        let mut database = SqliteCrateDatabase {
            handle: Some(Handle::new(connection, |_| StatementCache::new(capacity))),
            path,
            capacity,
        };
        database.exec(&options.setup_sql(target))?;
        Ok(Box::new(database))
    }
}

/// Opens `target` with extended result codes.
fn open_connection(target: &Target, options: &OpenOptions) -> Result<Connection> {
    // SAFETY: a plain query of a compile-time setting.
    if unsafe { ffi::sqlite3_threadsafe() } == 0 {
        // Moving a connection between threads (the database type is `Send`) needs a
        // thread-safe build; a NOMUTEX connection of one is used by one thread at a time.
        return Err(Error::new(
            ErrorKind::Unsupported,
            "the linked SQLite was built without thread safety (SQLITE_THREADSAFE=0)",
        )
        .with_backend(NAME));
    }
    let mut flags = OpenFlags::new().with_no_mutex().with_uri();
    if options.is_read_only() {
        flags = flags.with_read_only();
    } else {
        flags = flags.with_read_write();
        if options.creates() {
            flags = flags.with_create();
        }
    }
    let connection =
        Connection::open_with_flags(options.sqlite_filename(target), flags).map_err(|e| match e
            .code
        {
            Some(_) => error::from_crate(e, None),
            // The crate could not hand the path to SQLite (not UTF-8, or a NUL in it).
            None => Error::new(
                ErrorKind::CannotOpen,
                e.message
                    .unwrap_or_else(|| "the path cannot be passed to SQLite".to_owned()),
            )
            .with_backend(NAME),
        })?;
    // SAFETY: the handle was just opened and is owned by `connection`.
    unsafe { ffi::sqlite3_extended_result_codes(Db::new(&connection).raw(), 1) };
    Ok(connection)
}

self_cell::self_cell!(
    /// An open connection and its statement cache, whose statements borrow it. The
    /// cache (the dependent) is always dropped first, finalizing every statement, so the
    /// connection then closes cleanly.
    struct Handle {
        owner: Connection,

        #[covariant]
        dependent: StatementCache,
    }
);

// SAFETY: `Connection` is `Send`; the cached `sqlite::Statement`s are not, for two
// reasons, neither of which applies while they stay inside a `Handle`:
// - They hold raw SQLite pointers. The connection is opened with SQLITE_OPEN_NOMUTEX on
//   a thread-safe SQLite (checked at open): SQLite's multi-thread mode lets a connection
//   and its statements be used from any thread, one thread at a time. A `Handle` moves
//   as a unit (statements borrow the owner for a closure-scoped lifetime and cannot
//   leave the cell), every use goes through `&mut`, and `Handle` is not `Sync`.
// - They hold `Rc`s (column names and their index). The crate clones those only when
//   making a cursor or in `column_mapping()`, which this backend never calls, so each
//   count stays 1 with its sole owner inside the `Handle`: no count is ever shared
//   between threads.
unsafe impl Send for Handle {}

/// One `sqlite` crate connection. Dropping it closes it (see [`Handle`]).
struct SqliteCrateDatabase {
    /// `None` once closed.
    handle: Option<Handle>,
    path: Option<PathBuf>,
    capacity: usize,
}

impl SqliteCrateDatabase {
    fn connection(&self) -> Result<&Connection> {
        self.handle
            .as_ref()
            .map(Handle::borrow_owner)
            .ok_or_else(|| Error::closed(NAME))
    }

    /// Takes `sql`'s statement from the cache (or prepares it), binds `params`, runs
    /// `work`, and resets the statement whatever happened.
    fn with_statement<R>(
        &mut self,
        sql: &str,
        params: Params<'_>,
        work: impl for<'c> FnOnce(&mut Statement<'c>, Db<'c>) -> Result<R>,
    ) -> Result<R> {
        let path = self.path.as_deref();
        let handle = self.handle.as_mut().ok_or_else(|| Error::closed(NAME))?;
        handle
            .with_dependent_mut(|connection, cache| {
                let db = Db::new(connection);
                // Like rusqlite's cache: surrounding whitespace is not part of the key.
                let sql = sql.trim();
                if let Some(statement) = cache.get(sql) {
                    return use_statement(statement, db, params, work);
                }
                let mut statement = db.prepare(sql)?;
                if cache.is_enabled() {
                    use_statement(cache.insert(sql, statement), db, params, work)
                } else {
                    use_statement(&mut statement, db, params, work)
                }
            })
            .map_err(|e| e.with_file_context(path))
    }
}

fn use_statement<'c, R>(
    statement: &mut Statement<'c>,
    db: Db<'c>,
    params: Params<'_>,
    work: impl FnOnce(&mut Statement<'c>, Db<'c>) -> Result<R>,
) -> Result<R> {
    // A use cut short by a panicking visitor may have left it mid-step: start clean.
    statement::reset(statement);
    let result = statement::bind(statement, db, params).and_then(|()| work(statement, db));
    statement::reset(statement);
    result
}

impl SqliteDatabase for SqliteCrateDatabase {
    fn backend(&self) -> &'static str {
        NAME
    }

    fn exec(&mut self, sql: &str) -> Result<()> {
        let connection = self.connection()?;
        connection.execute(sql).map_err(|e| {
            Db::new(connection)
                .error(e)
                .with_file_context(self.path.as_deref())
        })
    }

    fn run(&mut self, sql: &str, params: Params<'_>) -> Result<RunResult> {
        self.with_statement(sql, params, |statement, db| {
            while statement::step(statement, db)? {}
            Ok(RunResult {
                changes: db.changes(),
                last_insert_rowid: db.last_insert_rowid(),
            })
        })
    }

    fn for_each(
        &mut self,
        sql: &str,
        params: Params<'_>,
        visitor: &mut RowVisitor<'_>,
    ) -> Result<()> {
        self.with_statement(sql, params, |statement, db| {
            statement::visit_rows(statement, db, visitor)
        })
    }

    fn in_transaction(&mut self) -> Result<bool> {
        let raw = Db::new(self.connection()?).raw();
        // SAFETY: the handle of our open connection.
        Ok(!unsafe { crate::raw::is_autocommit(raw) })
    }

    fn statement_cache_stats(&mut self) -> Result<StatementCacheStats> {
        let raw = Db::new(self.connection()?).raw();
        // SAFETY: the handle of our open connection; `&mut self` keeps every other user
        // out for the duration of the call.
        Ok(unsafe { crate::raw::statement_cache_stats(raw, self.capacity) })
    }

    fn close(&mut self) -> Result<()> {
        // Dropping the handle finalizes the cached statements, then closes the
        // connection; with no statement left, closing cannot fail with SQLITE_BUSY.
        drop(self.handle.take());
        Ok(())
    }

    fn is_closed(&self) -> bool {
        self.handle.is_none()
    }
}
