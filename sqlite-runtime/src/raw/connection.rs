//! A binding's connection: the one trait a backend implements.

use crate::{
    Error, ErrorKind, Guard, GuardedStatement, OpenOptions, Result, StatementStats, Target,
};

use super::RawStatement;

/// The work the kit does with one statement (binding, stepping), inside
/// [`RawConnection::with_statement`].
pub type StatementWork<'w> = dyn FnMut(&mut dyn RawStatement) -> Result<()> + 'w;

/// The work the kit does with one guarded statement, told what the statement does,
/// inside [`RawConnection::with_guarded_statement`].
pub type GuardedWork<'w> = dyn FnMut(&mut dyn RawStatement, GuardedStatement) -> Result<()> + 'w;

/// One open connection of a binding, as [`KitDatabase`](super::KitDatabase) drives it.
///
/// Errors need no backend name nor path: the kit adds both. The kit never calls a method
/// after [`close`](RawConnection::close).
pub trait RawConnection: Send {
    /// Prepares `sql` (exactly one statement: none, or a second one after it, is an
    /// error), or takes it from the binding's cache (see
    /// [`StatementCache`](super::StatementCache)), and hands it to `work` reset and with
    /// no parameter bound. After `work`, whatever it returned, the statement is reset and
    /// its parameters cleared, so that it holds no lock and no value.
    fn with_statement(&mut self, sql: &str, work: &mut StatementWork<'_>) -> Result<()>;

    /// Runs `;`-separated statements without parameters, each to completion (as
    /// `sqlite3_exec` does), stopping at the first error.
    fn exec_batch(&mut self, sql: &str) -> Result<()>;

    /// The SQL [`KitDatabase::open`](super::KitDatabase::open) runs right after
    /// connecting. The default, [`OpenOptions::setup_sql`], is what every local binding
    /// runs; a binding whose engine gives some of those settings no meaning (a
    /// replicated engine keeps its own journal and syncing) returns what applies, or
    /// nothing (`""`) when its `connect` applied the settings itself, e.g. because it
    /// applies them again on every reconnection.
    fn setup_sql(&self, options: &OpenOptions, target: &Target) -> String {
        options.setup_sql(target)
    }

    /// Rows changed by the most recent `INSERT`, `UPDATE` or `DELETE` (`sqlite3_changes64`).
    fn changes(&self) -> u64;

    /// The rowid of the most recent successful insert (`sqlite3_last_insert_rowid`).
    fn last_insert_rowid(&self) -> i64;

    /// Whether a transaction is open (SQLite is not in autocommit mode).
    fn in_transaction(&mut self) -> Result<bool>;

    /// Every prepared statement alive on the connection, as SQLite reports it
    /// (`sqlite3_next_stmt`); the kit adds the cache capacity.
    fn live_statements(&mut self) -> Result<Vec<StatementStats>>;

    /// Closes the connection, finalizing its statements.
    fn close(self) -> Result<()>;

    /// Like [`with_statement`](RawConnection::with_statement) for untrusted SQL: `sql` is
    /// compiled under `guard` (an authorizer that asks [`Guard::check`]) and its limits
    /// (statement length, parameters, value length, expression depth), and `work` runs
    /// while a statement that runs longer than the time limit is interrupted. Afterwards
    /// the connection's limits and handlers are as before. Guarded statements are cached
    /// apart from the connection's own, so that a statement compiled without the guard
    /// is never handed to guarded SQL. The default: unsupported (no
    /// [`Capability::GuardedSql`](crate::Capability::GuardedSql)).
    fn with_guarded_statement(
        &mut self,
        guard: &Guard,
        sql: &str,
        work: &mut GuardedWork<'_>,
    ) -> Result<()> {
        let _ = (guard, sql, work);
        Err(Error::new(
            ErrorKind::Unsupported,
            "this backend cannot run guarded SQL",
        ))
    }
}
