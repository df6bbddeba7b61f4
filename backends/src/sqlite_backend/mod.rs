//! The `sqlite` crate backend (stainless-steel/sqlite), on libsqlite3-sys's SQLite.
//!
//! The crate is used without its default features, so it builds no SQLite of its own:
//! its `sqlite3-sys` declarations resolve to the SQLite libsqlite3-sys builds, which
//! this module links by calling it directly (raw handle access, `crate::raw`).
//!
//! The crate has no statement cache, so this backend keeps the kit's
//! ([`StatementCache`]), stored beside the connection its statements borrow, in a
//! `self_cell`. Everything else is the kit's ([`sqlite_runtime::raw`]).

mod error;
mod statement;
#[cfg(test)]
mod tests;

use libsqlite3_sys as ffi;
use sqlite::{Connection, OpenFlags, Statement};
use sqlite_runtime::raw::{GuardedWork, KitDatabase, RawConnection, StatementCache, StatementWork};
use sqlite_runtime::{
    BackendKind, Capabilities, Error, ErrorKind, Guard, OpenOptions, Result, SqliteDatabase,
    SqliteRuntime, StatementStats, Target,
};

use crate::guard::GuardedStatements;

use statement::{CrateStatement, Db};

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
    fn backend(&self) -> &'static str {
        NAME
    }

    fn kind(&self) -> BackendKind {
        BackendKind::Sync
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    fn open(&self, target: &Target, options: &OpenOptions) -> Result<Box<dyn SqliteDatabase>> {
        let database = KitDatabase::open(NAME, target, options, || {
            let connection = open_connection(target, options)?;
            let capacity = options.statement_cache_capacity;
            Ok(CrateConnection(
                Handle::new(connection, |_| StatementCache::new(capacity)),
                GuardedStatements::new(NAME),
            ))
        })?;
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
        ));
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
            ),
        })?;
    // SAFETY: the handle was just opened and is owned by `connection`.
    unsafe { ffi::sqlite3_extended_result_codes(Db::new(&connection).raw(), 1) };
    Ok(connection)
}

/// Prepared statements by their (trimmed) SQL text.
type Statements<'c> = StatementCache<Statement<'c>>;

self_cell::self_cell!(
    /// An open connection and its statement cache, whose statements borrow it. The
    /// cache (the dependent) is always dropped first, finalizing every statement, so the
    /// connection then closes cleanly.
    struct Handle {
        owner: Connection,

        #[covariant]
        dependent: Statements,
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

/// One `sqlite` crate connection, and its guarded statements. Dropping it closes it (see
/// [`Handle`]).
struct CrateConnection(Handle, GuardedStatements);

impl CrateConnection {
    fn db(&self) -> Db<'_> {
        Db::new(self.0.borrow_owner())
    }
}

impl RawConnection for CrateConnection {
    /// Takes `sql`'s statement from the cache (or prepares it), and hands it to `work`
    /// reset and cleared, as it leaves it.
    fn with_statement(&mut self, sql: &str, work: &mut StatementWork<'_>) -> Result<()> {
        self.0.with_dependent_mut(|connection, cache| {
            let db = Db::new(connection);
            // Like rusqlite's cache: surrounding whitespace is not part of the key.
            let sql = sql.trim();
            if let Some(statement) = cache.get(sql) {
                return CrateStatement::new(statement, db).run(work);
            }
            match cache.insert(sql, db.prepare(sql)?) {
                Ok(statement) => CrateStatement::new(statement, db).run(work),
                // Capacity 0: used once, then finalized.
                Err(mut statement) => CrateStatement::new(&mut statement, db).run(work),
            }
        })
    }

    fn exec_batch(&mut self, sql: &str) -> Result<()> {
        let db = self.db();
        self.0.borrow_owner().execute(sql).map_err(|e| db.error(e))
    }

    fn changes(&self) -> u64 {
        self.db().changes()
    }

    fn last_insert_rowid(&self) -> i64 {
        self.db().last_insert_rowid()
    }

    fn in_transaction(&mut self) -> Result<bool> {
        // SAFETY: the handle of our open connection.
        Ok(!unsafe { crate::c_api::is_autocommit(self.db().raw()) })
    }

    fn live_statements(&mut self) -> Result<Vec<StatementStats>> {
        // SAFETY: the handle of our open connection; `&mut self` keeps every other user
        // out for the duration of the call.
        Ok(unsafe { crate::c_api::live_statements(self.db().raw()) })
    }

    fn with_guarded_statement(
        &mut self,
        guard: &Guard,
        sql: &str,
        work: &mut GuardedWork<'_>,
    ) -> Result<()> {
        let db = self.db().raw();
        // SAFETY: the handle of our open connection, borrowed mutably for the call.
        unsafe { self.1.with_statement(db, guard, sql, work) }
    }

    fn close(mut self) -> Result<()> {
        let db = self.db().raw();
        // SAFETY: as above; the guarded statements go before the connection.
        unsafe { self.1.release(db) };
        // Dropping the handle finalizes the cached statements, then closes the
        // connection; with no statement left, closing cannot fail with SQLITE_BUSY.
        drop(self);
        Ok(())
    }
}
