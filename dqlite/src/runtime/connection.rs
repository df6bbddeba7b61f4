//! One database of a dqlite cluster as the kit's [`RawConnection`]: a [`Connection`] to
//! the leader, replaced after failures, with its statement cache, its transaction as
//! the client follows it, and the busy timeout applied client-side.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU8, Ordering};
use std::time::Duration;

use sqlite_runtime::raw::{
    RawConnection, RawRow, RawRowVisitor, RawValue, StatementCache, StatementWork,
};
use sqlite_runtime::{
    Error, ErrorKind, OpenOptions, Params, Result, RunResult, StatementStats, Target, Value,
    ValueRef,
};

use crate::cluster::Cluster;
use crate::connection::Connection;
use crate::error::refused;
use crate::sql_scan::{self, ParamNames, StatementKind};
use crate::statement::Statement;

use super::busy::BusyWait;
use super::errors::{Role, classify_failure};
use super::settings::{CONNECTION_PRAGMAS, Settings, apply_settings};
use super::statement::DqliteStatement;
use super::tracking::{PROBE_SQL, Probe, TxState};

/// `SQLITE_ROW`: what EXEC answers for a statement that returns rows (after running it
/// to its first row).
const SQLITE_ROW: i32 = 100;
/// `SQLITE_BUSY`.
const SQLITE_BUSY: i32 = 5;
/// `SQLITE_BUSY_SNAPSHOT`: a stale read transaction cannot write; waiting never helps
/// (SQLite does not call its busy handler for it either).
const SQLITE_BUSY_SNAPSHOT: i32 = 517;

/// The server's statements with SQLite's own counters (the `sqlite_stmt` virtual table,
/// `SQLITE_ENABLE_STMTVTAB`, which Debian's and Ubuntu's SQLite have).
const STATS_SQL: &str = "SELECT sql, run, reprep FROM sqlite_stmt";

/// Whether a prepared statement returns rows: not known yet (a pragma not run yet).
const ROWS_UNKNOWN: u8 = 0;
/// It returns none.
const ROWS_NONE: u8 = 1;
/// It returns rows.
const ROWS_SOME: u8 = 2;

/// A statement prepared on the current server connection.
pub(crate) struct Prepared {
    /// The server's statement.
    pub(crate) statement: Statement,
    /// What it is.
    pub(crate) kind: StatementKind,
    /// Its parameter names, when the client could number them as SQLite did.
    pub(crate) names: Option<ParamNames>,
    /// Whether it returns rows, learnt for pragmas (see `ROWS_*`).
    rows: AtomicU8,
    /// Whether its result columns come from a `*`, so change with the schema.
    star: bool,
    /// The schema version it last ran with (`SCHEMA_UNKNOWN`: not run yet).
    schema: AtomicI64,
}

/// The schema version of a statement not run yet (it was just compiled).
const SCHEMA_UNKNOWN: i64 = i64::MIN;

/// What one request runs: a prepared statement with its values, or SQL text.
#[derive(Clone, Copy)]
enum Request<'a> {
    Prepared(&'a Statement, &'a [ValueRef<'a>]),
    Text(&'a str),
}

/// One database of the cluster, through a connection to the leader.
pub(crate) struct DqliteConnection {
    cluster: Arc<Cluster>,
    patience: Duration,
    /// The database's name on the cluster.
    name: String,
    settings: Settings,
    /// Connection pragmas the caller set, by name, replayed on each new connection.
    replay: Vec<(String, String)>,
    /// `None` after a failure that made the server connection unusable: the next
    /// statement makes a new one.
    link: Option<Connection>,
    cache: StatementCache<Arc<Prepared>>,
    capacity: usize,
    tx: TxState,
    /// The busy timeout the server connection has, when known.
    busy_timeout: Option<Duration>,
    last: RunResult,
}

impl DqliteConnection {
    /// Opens database `name` on the leader and applies `options` (see
    /// [`Settings::new`]). With `create(false)` or read-only, a database never written is
    /// refused as missing: dqlite creates databases on OPEN and cannot tell a missing
    /// one from an empty one.
    pub(crate) fn connect(
        cluster: Arc<Cluster>,
        patience: Duration,
        name: String,
        target: &Target,
        options: &OpenOptions,
    ) -> Result<Self> {
        let capacity = options.statement_cache_capacity;
        let mut connection = DqliteConnection {
            cluster,
            patience,
            name,
            settings: Settings::new(options),
            replay: Vec::new(),
            link: None,
            cache: StatementCache::new(capacity),
            capacity,
            tx: TxState::default(),
            busy_timeout: None,
            last: RunResult::default(),
        };
        connection.reconnect()?;
        if !target.is_memory() && !options.creates() {
            connection.check_exists()?;
        }
        Ok(connection)
    }

    /// Refuses a database that was never written: no schema change and no user
    /// version ever (dqlite shows a database it just created as one empty page).
    fn check_exists(&mut self) -> Result<()> {
        let written = self.scalar(
            "SELECT schema_version OR user_version FROM pragma_schema_version, pragma_user_version",
        )?;
        if written == Some(Value::Integer(0)) {
            return Err(refused(
                ErrorKind::CannotOpen,
                format!(
                    "no database `{}` on the dqlite cluster (dqlite creates databases when \
                     they are opened and cannot tell a missing one from one never written, \
                     so an open that must not create refuses both)",
                    self.name
                ),
            ));
        }
        Ok(())
    }

    /// The first column of the first row of `sql`, run as a query on the current server
    /// connection (never a new one: statements prepared on it may be about to run).
    fn scalar(&mut self, sql: &str) -> Result<Option<Value>> {
        let mut value = None;
        let link = self.link.as_mut().ok_or_else(connection_gone)?;
        let result = link.query_sql_raw(sql, &mut |row| {
            value = Some(row.column(0)?.to_value_ref()?.to_owned_value());
            Ok(ControlFlow::Break(()))
        });
        match result {
            Ok(_) => Ok(value),
            Err(error) => Err(self.fail(error, None, Role::NoCommit)),
        }
    }

    /// A new server connection: leader discovery (up to the patience), OPEN, the
    /// settings, the pragmas the caller set. The statement cache and the transaction
    /// start empty.
    fn reconnect(&mut self) -> Result<()> {
        self.drop_link();
        let mut link = self
            .cluster
            .open(&self.name, self.patience)
            .map_err(|error| classify_failure(error, Role::NoCommit).error)?;
        let applied = apply_settings(&mut link, &self.settings, &self.replay);
        applied.map_err(|error| classify_failure(error, Role::NoCommit).error)?;
        tracing::debug!(database = %self.name, leader = link.address(), "dqlite database open");
        let replayed_timeout = self.replay.iter().any(|(name, _)| name == "busy_timeout");
        self.busy_timeout = (!replayed_timeout).then_some(self.settings.busy_timeout);
        self.link = Some(link);
        Ok(())
    }

    /// Forgets the server connection (closing it: the server rolls back its transaction
    /// and drops its statements) and everything that lived on it.
    fn drop_link(&mut self) {
        if self.link.take().is_some() {
            tracing::debug!(database = %self.name, "dqlite connection dropped; the next statement reconnects");
        }
        self.cache = StatementCache::new(self.capacity);
        self.tx.reset();
    }

    /// The server connection, made anew when the last one failed.
    fn link(&mut self) -> Result<&mut Connection> {
        if self.link.is_none() {
            self.reconnect()?;
        }
        self.link.as_mut().ok_or_else(connection_gone)
    }

    /// Reports `error`, the failure of a statement of `kind` (`None`: a request that runs
    /// nothing) in `role`: its kind adjusted, the connection dropped when it must be, the
    /// transaction state moved otherwise.
    fn fail(&mut self, error: Error, kind: Option<&StatementKind>, role: Role) -> Error {
        let failure = classify_failure(error, role);
        if failure.reconnect {
            tracing::debug!(database = %self.name, error = %failure.error, "dqlite request failed");
            self.drop_link();
        } else if let Some(kind) = kind {
            self.tx.after_failure(kind, &failure.error);
        }
        failure.error
    }

    /// The statement for `sql`: from the cache, or prepared (and cached, finalizing the
    /// statement it evicts). The flag says whether it is cached; an uncached one is
    /// finalized after use.
    fn prepared(&mut self, sql: &str) -> Result<(Arc<Prepared>, bool)> {
        self.link()?;
        if let Some(prepared) = self.cache.get(sql) {
            return Ok((Arc::clone(prepared), true));
        }
        let kind = sql_scan::classify(sql);
        let statement = match self.link()?.prepare(sql) {
            Ok(statement) => statement,
            Err(error) => return Err(self.fail(error, None, Role::NoCommit)),
        };
        let names = sql_scan::param_names(sql);
        let names = (!names.uncertain && names.count == statement.param_count()).then_some(names);
        let star = kind == StatementKind::Read && sql_scan::expands_star(sql);
        let prepared = Arc::new(Prepared {
            statement,
            kind,
            names,
            rows: AtomicU8::new(ROWS_UNKNOWN),
            star,
            schema: AtomicI64::new(SCHEMA_UNKNOWN),
        });
        match self.cache.insert_evicting(sql, Arc::clone(&prepared)) {
            Ok((_, evicted)) => {
                if let Some(evicted) = evicted {
                    self.finalize(&evicted);
                }
                Ok((prepared, true))
            }
            Err(_) => Ok((prepared, false)),
        }
    }

    /// Destroys a statement on the server (a failure is only logged: the statement dies
    /// with its connection anyway, and a broken connection fails the next request).
    fn finalize(&mut self, prepared: &Prepared) {
        if let Some(link) = self.link.as_mut()
            && let Err(error) = link.finalize_ref(&prepared.statement)
        {
            tracing::debug!(database = %self.name, %error, "finalizing a dqlite statement failed");
        }
    }

    /// Runs a prepared statement with `values`, its rows to `on_row` (`None`: run it to
    /// completion, rows discarded).
    pub(crate) fn run_prepared(
        &mut self,
        prepared: &Prepared,
        sql: &str,
        values: &[Value],
        on_row: Option<&mut RawRowVisitor<'_>>,
    ) -> Result<()> {
        let params: Vec<ValueRef<'_>> = values.iter().map(Value::as_ref).collect();
        if prepared.star {
            self.refresh_star(prepared, &params)?;
        }
        self.run(
            Request::Prepared(&prepared.statement, &params),
            sql,
            &prepared.kind,
            Some(&prepared.rows),
            on_row,
        )
    }

    /// Makes a cached `SELECT *` see a schema change before it runs: dqlite 1.11 sends a
    /// result set's columns before its first step, which is where SQLite recompiles a
    /// statement whose schema changed, so the first run after a change would come with
    /// the old columns. When the schema version moved since the statement last ran, one
    /// EXEC steps it once (a read: no effect; it answers "a row" or an error that the
    /// query then reports), which recompiles it.
    fn refresh_star(&mut self, prepared: &Prepared, params: &[ValueRef<'_>]) -> Result<()> {
        let version = match self.scalar("PRAGMA schema_version")? {
            Some(Value::Integer(version)) => version,
            _ => return Ok(()),
        };
        let seen = prepared.schema.swap(version, Ordering::Relaxed);
        if seen == SCHEMA_UNKNOWN || seen == version {
            return Ok(());
        }
        match self.exec(Request::Prepared(&prepared.statement, params)) {
            Err(error) if crate::classify::needs_reconnect(&error) => {
                Err(self.fail(error, None, Role::NoCommit))
            }
            _ => Ok(()),
        }
    }

    /// Runs one statement: the request its kind calls for, waiting out a locked
    /// database up to the busy timeout where SQLite's busy handler would, and following
    /// the transaction.
    fn run(
        &mut self,
        request: Request<'_>,
        sql: &str,
        kind: &StatementKind,
        rows: Option<&AtomicU8>,
        mut on_row: Option<&mut RawRowVisitor<'_>>,
    ) -> Result<()> {
        let role = Role::of(kind, &self.tx);
        let mut busy: Option<BusyWait> = None;
        loop {
            let mut delivered = 0_u64;
            let mut visitor_failed = false;
            let attempt = self.attempt(
                request,
                kind,
                rows,
                on_row.as_deref_mut(),
                &mut delivered,
                &mut visitor_failed,
            );
            let error = match attempt {
                Ok(()) => {
                    self.tx.after_success(kind);
                    self.note_success(kind, sql);
                    return Ok(());
                }
                Err(error) => error,
            };
            if visitor_failed {
                // The caller's own error, not the statement's.
                return Err(error);
            }
            if delivered == 0 && self.waits_when_busy(&error, kind) {
                let wait = match &mut busy {
                    Some(wait) => wait,
                    None => {
                        let timeout = self.server_busy_timeout()?;
                        busy.insert(BusyWait::new(timeout))
                    }
                };
                if wait.pause() {
                    continue;
                }
            }
            return Err(self.fail(error, Some(kind), role));
        }
    }

    /// One attempt of [`run`](Self::run).
    fn attempt(
        &mut self,
        request: Request<'_>,
        kind: &StatementKind,
        rows: Option<&AtomicU8>,
        on_row: Option<&mut RawRowVisitor<'_>>,
        delivered: &mut u64,
        visitor_failed: &mut bool,
    ) -> Result<()> {
        match kind {
            StatementKind::Read => self.query(request, on_row, delivered, visitor_failed),
            StatementKind::Pragma { assigns, .. } => {
                let known = rows.map_or(ROWS_UNKNOWN, |rows| rows.load(Ordering::Relaxed));
                if known == ROWS_SOME {
                    return self.query(request, on_row, delivered, visitor_failed);
                }
                // A pragma may or may not return rows: EXEC tells (a setter is applied
                // by it either way; a getter has no effect).
                match self.exec(request) {
                    Ok(()) => {
                        remember(rows, ROWS_NONE);
                        Ok(())
                    }
                    Err(error) if error.extended_code() == Some(SQLITE_ROW) => {
                        remember(rows, ROWS_SOME);
                        if on_row.is_none() && *assigns {
                            // A setter returning the new value (`busy_timeout = N`): done.
                            Ok(())
                        } else {
                            // A getter (harmless to run again) to its end, or rows asked
                            // for.
                            self.query(request, on_row, delivered, visitor_failed)
                        }
                    }
                    Err(error) => Err(error),
                }
            }
            StatementKind::Write { .. }
            | StatementKind::Begin
            | StatementKind::Commit
            | StatementKind::Rollback
            | StatementKind::RollbackTo(_)
            | StatementKind::Savepoint(_)
            | StatementKind::Release(_) => self.exec(request),
        }
    }

    /// EXEC or EXEC_SQL; records what it changed.
    fn exec(&mut self, request: Request<'_>) -> Result<()> {
        let link = self.link.as_mut().ok_or_else(connection_gone)?;
        let result = match request {
            Request::Prepared(statement, params) => {
                link.exec(statement, Params::Positional(params))
            }
            Request::Text(sql) => link.exec_sql(sql, Params::NONE),
        }?;
        self.last = result;
        Ok(())
    }

    /// QUERY or QUERY_SQL, rows to `on_row` or, without one, read to the end.
    fn query(
        &mut self,
        request: Request<'_>,
        mut on_row: Option<&mut RawRowVisitor<'_>>,
        delivered: &mut u64,
        visitor_failed: &mut bool,
    ) -> Result<()> {
        let link = self.link.as_mut().ok_or_else(connection_gone)?;
        let mut visit = |row: &dyn RawRow| -> Result<ControlFlow<()>> {
            *delivered += 1;
            match on_row.as_deref_mut() {
                Some(on_row) => {
                    let flow = on_row(row);
                    *visitor_failed = flow.is_err();
                    flow
                }
                None => Ok(ControlFlow::Continue(())),
            }
        };
        match request {
            Request::Prepared(statement, params) => link.query_raw(statement, params, &mut visit),
            Request::Text(sql) => link.query_sql_raw(sql, &mut visit),
        }
        .map(drop)
    }

    /// Whether SQLite would have waited for the lock behind `error` (its busy handler):
    /// a plain `SQLITE_BUSY` for a statement outside a transaction (which then did
    /// nothing and can run again) or for `BEGIN` (`IMMEDIATE`/`EXCLUSIVE`). Inside a
    /// transaction SQLite fails at once where waiting could deadlock, and so does this.
    fn waits_when_busy(&self, error: &Error, kind: &StatementKind) -> bool {
        let busy = error
            .extended_code()
            .is_some_and(|code| code & 0xff == SQLITE_BUSY && code != SQLITE_BUSY_SNAPSHOT);
        busy && (matches!(kind, StatementKind::Begin) || !self.tx.maybe_open())
    }

    /// The server connection's busy timeout (read from it once after the caller set it).
    fn server_busy_timeout(&mut self) -> Result<Duration> {
        if let Some(timeout) = self.busy_timeout {
            return Ok(timeout);
        }
        let timeout = match self.scalar("PRAGMA busy_timeout")? {
            Some(Value::Integer(ms)) => Duration::from_millis(u64::try_from(ms).unwrap_or(0)),
            _ => Duration::ZERO,
        };
        self.busy_timeout = Some(timeout);
        Ok(timeout)
    }

    /// Remembers connection pragmas the caller set, to run them again on a new
    /// connection.
    fn note_success(&mut self, kind: &StatementKind, sql: &str) {
        let StatementKind::Pragma {
            name,
            assigns,
            called,
        } = kind
        else {
            return;
        };
        if !(*assigns || *called) || !CONNECTION_PRAGMAS.contains(&name.as_str()) {
            return;
        }
        if name == "busy_timeout" {
            self.busy_timeout = None;
        }
        self.replay.retain(|(known, _)| known != name);
        self.replay.push((name.clone(), sql.to_owned()));
    }

    /// Runs the statements of a batch one by one (the right request for each), or, for a
    /// batch with a `CREATE TRIGGER` whose body the client might split wrongly and
    /// nothing that returns rows, all in one EXEC_SQL that the server splits.
    fn exec_statements(&mut self, sql: &str) -> Result<()> {
        let pieces = sql_scan::split(sql);
        if pieces.is_empty() {
            return Ok(());
        }
        self.link()?;
        let trigger = pieces
            .iter()
            .any(|piece| matches!(piece.kind, StatementKind::Write { trigger: true }));
        let no_rows = pieces.iter().all(|piece| {
            !matches!(
                piece.kind,
                StatementKind::Read | StatementKind::Pragma { .. }
            )
        });
        if trigger && no_rows && pieces.len() > 1 {
            let kinds: Vec<&StatementKind> = pieces.iter().map(|piece| &piece.kind).collect();
            return self.exec_whole(sql, &kinds);
        }
        for piece in &pieces {
            let text = sql.get(piece.range.clone()).unwrap_or_default();
            self.run(Request::Text(text), text, &piece.kind, None, None)?;
        }
        Ok(())
    }

    /// Runs a whole batch in one EXEC_SQL.
    fn exec_whole(&mut self, sql: &str, kinds: &[&StatementKind]) -> Result<()> {
        let mut tx = self.tx.clone();
        let mut role = Role::NoCommit;
        for kind in kinds {
            if Role::of(kind, &tx) == Role::Commit {
                role = Role::Commit;
            }
            tx.after_success(kind);
        }
        match self.exec(Request::Text(sql)) {
            Ok(()) => {
                self.tx.after_batch(kinds, false);
                Ok(())
            }
            Err(error) => {
                let error = self.fail(error, None, role);
                if self.link.is_some() {
                    // Some statements may have run.
                    self.tx.after_batch(&[], false);
                }
                Err(error)
            }
        }
    }
}

fn remember(rows: Option<&AtomicU8>, value: u8) {
    if let Some(rows) = rows {
        rows.store(value, Ordering::Relaxed);
    }
}

/// The error for a request with no server connection (never expected: every request
/// runs right after the connection was made or used).
fn connection_gone() -> Error {
    Error::new(
        ErrorKind::Unavailable,
        "the connection to the dqlite leader was lost",
    )
    .with_backend(crate::error::BACKEND)
}

impl RawConnection for DqliteConnection {
    fn with_statement(&mut self, sql: &str, work: &mut StatementWork<'_>) -> Result<()> {
        let (prepared, cached) = self.prepared(sql)?;
        let result = work(&mut DqliteStatement::new(self, &prepared, sql));
        if !cached {
            self.finalize(&prepared);
        }
        result
    }

    fn exec_batch(&mut self, sql: &str) -> Result<()> {
        self.exec_statements(sql)
    }

    fn setup_sql(&self, _options: &OpenOptions, _target: &Target) -> String {
        // `connect` applied the settings (and applies them on every reconnection).
        String::new()
    }

    fn changes(&self) -> u64 {
        self.last.changes
    }

    fn last_insert_rowid(&self) -> i64 {
        self.last.last_insert_rowid
    }

    fn in_transaction(&mut self) -> Result<bool> {
        let Some(link) = self.link.as_mut() else {
            // The server connection is gone, and its transaction with it.
            return Ok(false);
        };
        if self.tx.is_uncertain() {
            let result = link.exec_sql(PROBE_SQL, Params::NONE);
            if !self.tx.settle(Probe::from_result(&result))
                && let Err(error) = result
            {
                let error = self.fail(error, None, Role::NoCommit);
                if self.link.is_none() {
                    return Ok(false);
                }
                return Err(error);
            }
        }
        Ok(self.tx.is_open())
    }

    fn live_statements(&mut self) -> Result<Vec<StatementStats>> {
        let Some(link) = self.link.as_mut() else {
            return Ok(Vec::new());
        };
        let mut statements = Vec::new();
        let result = link.query_sql_raw(STATS_SQL, &mut |row| {
            let sql = match row.column(0)? {
                RawValue::Text(text) => String::from_utf8_lossy(text).into_owned(),
                _ => String::new(),
            };
            let count = |index| match row.column(index) {
                Ok(RawValue::Integer(n)) => Ok(u64::try_from(n).unwrap_or(0)),
                Ok(_) => Ok(0),
                Err(error) => Err(error),
            };
            if sql != STATS_SQL {
                statements.push(StatementStats {
                    sql,
                    runs: count(1)?,
                    reprepares: count(2)?,
                });
            }
            Ok(ControlFlow::Continue(()))
        });
        match result {
            Ok(_) => Ok(statements),
            Err(error) if error.message().contains("no such table: sqlite_stmt") => Err(refused(
                ErrorKind::Unsupported,
                "the dqlite server's SQLite lacks the sqlite_stmt table \
                 (SQLITE_ENABLE_STMTVTAB), which reports its prepared statements",
            )),
            Err(error) => Err(self.fail(error, None, Role::NoCommit)),
        }
    }

    fn close(mut self) -> Result<()> {
        let Some(mut link) = self.link.take() else {
            return Ok(());
        };
        // Rolled back now rather than when the server notices the closed socket, so
        // that the next connection finds the database unlocked.
        if self.tx.maybe_open()
            && let Err(error) = link.exec_sql("ROLLBACK", Params::NONE)
        {
            tracing::debug!(database = %self.name, %error, "rollback at close failed");
        }
        for (_, prepared) in self.cache.iter() {
            if link.is_broken() {
                break;
            }
            if let Err(error) = link.finalize_ref(&prepared.statement) {
                tracing::debug!(database = %self.name, %error, "finalizing at close failed");
            }
        }
        Ok(())
    }
}
