//! The public actor-SQL operations: each runs on the awake actor (waking it if needed),
//! on its own database, guarded (see [`crate::kv::actor_sql`]).

use sqlite_runtime::{Params, Row, RowRef, RunResult};

use super::FsDriver;
use crate::error::Result;
use crate::kv::actor_sql::{self, SqlTransaction};
use crate::script;

impl FsDriver {
    /// Runs one statement of actor `id`'s own SQL and reports the rows it changed.
    ///
    /// The actor's SQL shares its database with its KV and may do anything with tables
    /// of its own; it may not touch the driver's (`kv` and every name starting with
    /// `kv_`), change a setting (`PRAGMA`s other than schema reads), `ATTACH`, load
    /// extensions or run transaction statements (use
    /// [`sql_transaction`](FsDriver::sql_transaction)): SQLite refuses such a statement
    /// as it compiles it, with an error of kind
    /// [`NotAuthorized`](sqlite_runtime::ErrorKind::NotAuthorized). Each statement is
    /// bounded by [`DriverOptions::sql_limits`](crate::DriverOptions::sql_limits), and
    /// what it stores counts toward the actor's storage quota with its KV. A statement
    /// that writes is committed (durably) before this returns. Needs a backend with
    /// [`Capability::GuardedSql`](sqlite_runtime::Capability::GuardedSql); others fail
    /// with [`Unsupported`](sqlite_runtime::ErrorKind::Unsupported).
    ///
    /// ```no_run
    /// # fn demo(driver: &fs_driver::FsDriver) -> fs_driver::Result<()> {
    /// use sqlite_runtime::params;
    ///
    /// driver.sql_execute("a1", "CREATE TABLE IF NOT EXISTS todo (id INTEGER PRIMARY KEY, text TEXT)", params![])?;
    /// driver.sql_execute("a1", "INSERT INTO todo (text) VALUES (?)", params!["write docs"])?;
    /// let rows = driver.sql_query("a1", "SELECT id, text FROM todo", params![])?;
    /// assert_eq!(rows[0].get::<String>("text")?, "write docs");
    /// # Ok(()) }
    /// ```
    pub fn sql_execute(&self, id: &str, sql: &str, params: Params<'_>) -> Result<RunResult> {
        self.with_actor(id, |loaded| {
            actor_sql::query(&mut loaded.kv, &self.sql_guard, sql, params).map(|(_, run)| run)
        })
    }

    /// Runs one statement of actor `id`'s SQL and returns its rows (as
    /// [`sql_execute`](FsDriver::sql_execute): a statement that writes is committed).
    pub fn sql_query(&self, id: &str, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
        self.with_actor(id, |loaded| {
            actor_sql::query(&mut loaded.kv, &self.sql_guard, sql, params).map(|(rows, _)| rows)
        })
    }

    /// Runs one statement of actor `id`'s SQL and returns both its rows and what it
    /// changed: for a statement of unknown kind (a tool running what a person typed).
    pub fn sql_run(
        &self,
        id: &str,
        sql: &str,
        params: Params<'_>,
    ) -> Result<(Vec<Row>, RunResult)> {
        self.with_actor(id, |loaded| {
            actor_sql::query(&mut loaded.kv, &self.sql_guard, sql, params)
        })
    }

    /// The first row of one statement of actor `id`'s SQL, mapped by `map` (as
    /// `query_row` on a connection);
    /// `None` when there is no row. Reading stops after the first row.
    ///
    /// ```no_run
    /// # fn demo(driver: &fs_driver::FsDriver) -> fs_driver::Result<()> {
    /// use sqlite_runtime::params;
    ///
    /// let text: Option<String> =
    ///     driver.sql_query_row("a1", "SELECT text FROM todo WHERE id = ?", params![1], |row| row.get(0))?;
    /// # Ok(()) }
    /// ```
    pub fn sql_query_row<T>(
        &self,
        id: &str,
        sql: &str,
        params: Params<'_>,
        map: impl FnOnce(&RowRef<'_>) -> sqlite_runtime::Result<T>,
    ) -> Result<Option<T>> {
        self.with_actor(id, |loaded| {
            actor_sql::query_row(&mut loaded.kv, &self.sql_guard, sql, params, map)
        })
    }

    /// Runs `;`-separated statements (without parameters) of actor `id`'s SQL in one
    /// transaction: all of them or none. Returns the rows they changed.
    pub fn sql_batch(&self, id: &str, statements: &str) -> Result<u64> {
        self.sql_transaction(id, |transaction| {
            let mut changes = 0;
            for statement in script::statements(statements) {
                changes += transaction.execute(statement, Params::NONE)?.changes;
            }
            Ok(changes)
        })
    }

    /// What actor `id`'s own SQL takes (pages its statements added, in bytes); with
    /// [`kv_storage_used`](FsDriver::kv_storage_used), what counts toward its quota.
    pub fn sql_storage_used(&self, id: &str) -> Result<u64> {
        self.with_actor(id, |loaded| loaded.kv.sql_storage_used())
    }

    /// Runs `work` in one write transaction on actor `id`'s database that may mix its
    /// SQL and its KV: committed (durably) when `work` returns `Ok`, rolled back when it
    /// returns an error or panics (a panic comes back as
    /// [`Error::Panicked`](crate::Error::Panicked)). `work` runs under the actor's lock:
    /// it must not call back into the driver for the same actor.
    ///
    /// ```no_run
    /// # fn demo(driver: &fs_driver::FsDriver) -> fs_driver::Result<()> {
    /// use sqlite_runtime::params;
    ///
    /// driver.sql_transaction("a1", |tx| {
    ///     tx.execute("UPDATE todo SET text = ? WHERE id = 1", params!["done"])?;
    ///     tx.kv_put(&[(b"last-edit", b"todo/1")])
    /// })?;
    /// # Ok(()) }
    /// ```
    pub fn sql_transaction<T>(
        &self,
        id: &str,
        work: impl FnOnce(&mut SqlTransaction<'_>) -> Result<T>,
    ) -> Result<T> {
        self.with_actor(id, |loaded| {
            loaded.kv.sql_transaction(&self.sql_guard, work)
        })
    }
}
