//! A runtime whose every call runs on a worker of a [`Workers`] pool, in its
//! connection's lane: the runtime and driver suites run through it to show that the
//! pool keeps each connection's calls in order and its results intact, with a fixed
//! number of threads for any number of connections.

use std::sync::Arc;
use std::sync::mpsc;

use sqlite_runtime::workers::{Lane, LaneWork, Workers};
use sqlite_runtime::{
    BackendKind, Capabilities, Error, ErrorKind, Guard, GuardedStatement, OpenOptions, OwnedParams,
    Params, Result, Row, RowVisitor, RunResult, SqliteDatabase, SqliteRuntime, StatementCacheStats,
    Target, Value, ValueRef,
};

/// `inner`, each of whose connections lives on a lane of `workers`; the caller's thread
/// waits for each call's answer.
///
/// ```
/// use std::sync::Arc;
/// use conformance_tests::ThroughWorkers;
/// use sqlite_runtime::workers::{Workers, WorkersOptions};
/// use sqlite_runtime::{OpenOptions, SqliteRuntime, Target};
///
/// let workers = Workers::new(WorkersOptions::new().threads(2))?;
/// let runtime = ThroughWorkers::new(Arc::new(sqlite_runtime_backends::RusqliteRuntime::new()), workers);
/// let mut db = runtime.open(&Target::Memory, &OpenOptions::new())?;
/// db.exec("CREATE TABLE t (x)")?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ThroughWorkers {
    inner: Arc<dyn SqliteRuntime>,
    workers: Workers,
}

impl std::fmt::Debug for ThroughWorkers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThroughWorkers")
            .field("inner", &self.inner.backend())
            .field("workers", &self.workers)
            .finish()
    }
}

impl ThroughWorkers {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn SqliteRuntime>, workers: Workers) -> Self {
        ThroughWorkers { inner, workers }
    }
}

impl SqliteRuntime for ThroughWorkers {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn kind(&self) -> BackendKind {
        self.inner.kind()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn open(&self, target: &Target, options: &OpenOptions) -> Result<Box<dyn SqliteDatabase>> {
        let lane = Lane::new(&self.workers, Held(None));
        let connection = WorkerConnection {
            lane,
            backend: self.inner.backend(),
            closed: false,
        };
        let (inner, target, options) = (self.inner.clone(), target.clone(), options.clone());
        connection.call(move |held| {
            held.0 = Some(inner.open(&target, &options)?);
            Ok(())
        })?;
        Ok(Box::new(connection))
    }
}

/// The lane's state: its connection.
struct Held(Option<Box<dyn SqliteDatabase>>);

type Message = Box<dyn FnOnce(&mut Held) + Send>;

impl LaneWork for Held {
    type Message = Message;

    fn handle(&mut self, messages: Vec<Message>) {
        for message in messages {
            message(self);
        }
    }
}

struct WorkerConnection {
    lane: Lane<Held>,
    backend: &'static str,
    closed: bool,
}

impl WorkerConnection {
    /// Runs `f` on the lane and waits for its answer.
    fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Held) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (answer, answered) = mpsc::sync_channel(1);
        let message: Message = Box::new(move |held| {
            let _ = answer.send(f(held));
        });
        if self.lane.submit(message).is_err() {
            return Err(Error::new(
                ErrorKind::Overloaded,
                "the lane's queue is full",
            ));
        }
        answered
            .recv()
            .unwrap_or_else(|_| Err(Error::new(ErrorKind::Other, "the worker dropped the call")))
    }

    /// Runs `f` on the lane's open connection.
    fn on_db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn SqliteDatabase) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.call(move |held| match held.0.as_mut() {
            Some(db) => f(&mut **db),
            None => Err(Error::new(ErrorKind::Closed, "the connection is closed")),
        })
    }
}

/// A guarded call on the worker, handed a visitor that keeps the rows.
type GuardedCall<T> =
    fn(&mut dyn SqliteDatabase, &Guard, &str, Params<'_>, &mut RowVisitor<'_>) -> Result<T>;

impl WorkerConnection {
    /// Runs `call` on the worker, keeping its rows there, and visits them here.
    fn guarded_rows<T: Send + 'static>(
        &self,
        guard: &Guard,
        sql: &str,
        params: Params<'_>,
        visitor: &mut RowVisitor<'_>,
        call: GuardedCall<T>,
    ) -> Result<T> {
        let (guard, sql, params) = (guard.clone(), sql.to_owned(), OwnedParams::from(params));
        let (rows, outcome) = self.on_db(move |db| {
            params.with(|params| {
                let mut rows: Vec<Row> = Vec::new();
                let outcome = call(db, &guard, &sql, params, &mut |row| {
                    rows.push(row.to_row(row.column_names()?.into()));
                    Ok(std::ops::ControlFlow::Continue(()))
                })?;
                Ok((rows, outcome))
            })
        })?;
        visit(&rows, visitor)?;
        Ok(outcome)
    }
}

impl SqliteDatabase for WorkerConnection {
    fn backend(&self) -> &'static str {
        self.backend
    }

    fn exec(&mut self, sql: &str) -> Result<()> {
        let sql = sql.to_owned();
        self.on_db(move |db| db.exec(&sql))
    }

    fn run(&mut self, sql: &str, params: Params<'_>) -> Result<RunResult> {
        let (sql, params) = (sql.to_owned(), OwnedParams::from(params));
        self.on_db(move |db| params.with(|params| db.run(&sql, params)))
    }

    /// The rows are read on the worker and visited here: a visitor borrows the caller's
    /// state, which cannot cross threads.
    fn for_each(
        &mut self,
        sql: &str,
        params: Params<'_>,
        visitor: &mut RowVisitor<'_>,
    ) -> Result<()> {
        let (sql, params) = (sql.to_owned(), OwnedParams::from(params));
        let rows: Vec<Row> = self.on_db(move |db| params.with(|params| db.all(&sql, params)))?;
        visit(&rows, visitor)
    }

    fn in_transaction(&mut self) -> Result<bool> {
        self.on_db(|db| db.in_transaction())
    }

    fn guarded_prepare(&mut self, guard: &Guard, sql: &str) -> Result<GuardedStatement> {
        let (guard, sql) = (guard.clone(), sql.to_owned());
        self.on_db(move |db| db.guarded_prepare(&guard, &sql))
    }

    /// Rows as in [`for_each`](SqliteDatabase::for_each): read there, visited here.
    fn guarded_read(
        &mut self,
        guard: &Guard,
        sql: &str,
        params: Params<'_>,
        visitor: &mut RowVisitor<'_>,
    ) -> Result<bool> {
        self.guarded_rows(
            guard,
            sql,
            params,
            visitor,
            |db, guard, sql, params, keep| db.guarded_read(guard, sql, params, keep),
        )
    }

    /// Rows as in [`for_each`](SqliteDatabase::for_each): read there, visited here.
    fn guarded_for_each(
        &mut self,
        guard: &Guard,
        sql: &str,
        params: Params<'_>,
        visitor: &mut RowVisitor<'_>,
    ) -> Result<RunResult> {
        self.guarded_rows(
            guard,
            sql,
            params,
            visitor,
            |db, guard, sql, params, keep| db.guarded_for_each(guard, sql, params, keep),
        )
    }

    fn statement_cache_stats(&mut self) -> Result<StatementCacheStats> {
        self.on_db(|db| db.statement_cache_stats())
    }

    /// Closes the connection and keeps it, closed, on the lane: it refuses every call
    /// as its backend does.
    fn close(&mut self) -> Result<()> {
        self.closed = true;
        self.on_db(|db| db.close())
    }

    fn is_closed(&self) -> bool {
        self.closed
    }
}

/// Hands rows read on the worker to `visitor`, until it breaks.
fn visit(rows: &[Row], visitor: &mut RowVisitor<'_>) -> Result<()> {
    for row in rows {
        let values: Vec<ValueRef<'_>> = row.values().iter().map(Value::as_ref).collect();
        let row = sqlite_runtime::RowRef::new(row.columns(), &values);
        if visitor(&row)?.is_break() {
            break;
        }
    }
    Ok(())
}

impl Drop for WorkerConnection {
    /// Drops the connection on its lane and waits, so that it is closed (its `-wal`
    /// checkpointed and removed) when the drop returns, as a backend's own is.
    fn drop(&mut self) {
        let _ = self.call(|held| {
            held.0 = None;
            Ok(())
        });
    }
}
