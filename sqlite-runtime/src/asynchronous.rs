//! Async access to any backend: an [`AsyncRuntime`] opens [`AsyncDatabase`]s whose
//! statements run on a fixed pool of worker threads ([`workers`](crate::workers)), never
//! on the caller's executor.
//!
//! - Each database is a lane: its operations run in the order they were called, one at a
//!   time; different databases run in parallel, however many are open.
//! - Its queue is bounded: past it, an operation fails at once with
//!   [`ErrorKind::Overloaded`] (retryable; nothing was applied).
//! - The returned futures are executor-agnostic (woken through their `Waker`).
//! - Cancel safety: an operation is submitted when it is called; a future dropped before
//!   the operation starts cancels it, and once started the operation runs to its end and
//!   its result is dropped. [`transaction`](AsyncDatabase::transaction) runs its closure
//!   whole on the worker, so that no transaction outlives one operation: an operation
//!   that leaves one open is rolled back and fails, and a closure that panics rolls back
//!   and fails with [`ErrorKind::Misuse`]; the connection stays usable.
//!
//! ```no_run
//! # async fn example(runtime: std::sync::Arc<dyn sqlite_runtime::SqliteRuntime>) -> sqlite_runtime::Result<()> {
//! use sqlite_runtime::{AsyncRuntime, OpenOptions, OwnedParams, Target, Value};
//!
//! let runtime = AsyncRuntime::new(runtime)?;
//! let db = runtime.open(Target::file("app.db"), OpenOptions::new()).await?;
//! db.exec("CREATE TABLE IF NOT EXISTS t (x INTEGER)").await?;
//! let inserted = db
//!     .transaction(|tx| {
//!         tx.run("INSERT INTO t VALUES (?)", sqlite_runtime::params![1])?;
//!         tx.run("INSERT INTO t VALUES (?)", sqlite_runtime::params![2])?;
//!         Ok(2)
//!     })
//!     .await?;
//! let rows = db.query("SELECT x FROM t WHERE x > ?", OwnedParams::from(vec![Value::Integer(0)])).await?;
//! assert_eq!(rows.len(), inserted);
//! # Ok(()) }
//! ```

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::database::{RunResult, SqliteDatabase};
use crate::error::{Error, ErrorKind, Result};
use crate::options::{OpenOptions, Target};
use crate::params::Params;
use crate::row::Row;
use crate::runtime::SqliteRuntime;
use crate::transaction::Transaction;
use crate::value::{Value, ValueRef};
use crate::workers::{Lane, LaneWork, Reply, Workers, WorkersOptions, reply};

/// Parameters that own their values, for operations that run on another thread.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum OwnedParams {
    /// No parameter.
    #[default]
    None,
    /// Bound by position.
    Positional(Vec<Value>),
    /// Bound by name (the name including its prefix character).
    Named(Vec<(String, Value)>),
}

impl From<Vec<Value>> for OwnedParams {
    fn from(values: Vec<Value>) -> Self {
        OwnedParams::Positional(values)
    }
}

impl From<Vec<(String, Value)>> for OwnedParams {
    fn from(values: Vec<(String, Value)>) -> Self {
        OwnedParams::Named(values)
    }
}

impl From<Params<'_>> for OwnedParams {
    /// Owned copies of borrowed parameters.
    fn from(params: Params<'_>) -> Self {
        match params {
            Params::Positional(values) => {
                OwnedParams::Positional(values.iter().map(ValueRef::to_owned_value).collect())
            }
            Params::Named(values) => OwnedParams::Named(
                values
                    .iter()
                    .map(|(name, value)| ((*name).to_owned(), value.to_owned_value()))
                    .collect(),
            ),
        }
    }
}

impl OwnedParams {
    /// Runs `f` with these parameters borrowed as [`Params`].
    pub fn with<R>(&self, f: impl FnOnce(Params<'_>) -> R) -> R {
        match self {
            OwnedParams::None => f(Params::NONE),
            OwnedParams::Positional(values) => {
                let refs: Vec<ValueRef<'_>> = values.iter().map(Value::as_ref).collect();
                f(Params::Positional(&refs))
            }
            OwnedParams::Named(values) => {
                let refs: Vec<(&str, ValueRef<'_>)> = values
                    .iter()
                    .map(|(name, value)| (name.as_str(), value.as_ref()))
                    .collect();
                f(Params::Named(&refs))
            }
        }
    }
}

/// A runtime whose databases are used from async code: operations run on a pool of
/// worker threads shared by every database it opens.
#[derive(Clone)]
pub struct AsyncRuntime {
    runtime: Arc<dyn SqliteRuntime>,
    workers: Workers,
}

impl std::fmt::Debug for AsyncRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncRuntime")
            .field("backend", &self.runtime.backend())
            .field("workers", &self.workers)
            .finish()
    }
}

impl AsyncRuntime {
    /// `runtime` on a pool of its own with the default [`WorkersOptions`].
    pub fn new(runtime: Arc<dyn SqliteRuntime>) -> Result<Self> {
        Self::with_options(runtime, WorkersOptions::new())
    }

    /// `runtime` on a pool of its own sized by `options`.
    pub fn with_options(runtime: Arc<dyn SqliteRuntime>, options: WorkersOptions) -> Result<Self> {
        let workers = Workers::new(options).map_err(|error| {
            Error::new(
                ErrorKind::Other,
                format!("cannot start worker threads: {error}"),
            )
        })?;
        Ok(Self::with_workers(runtime, workers))
    }

    /// `runtime` on an existing pool (shared with other runtimes or drivers).
    pub fn with_workers(runtime: Arc<dyn SqliteRuntime>, workers: Workers) -> Self {
        AsyncRuntime { runtime, workers }
    }

    /// The synchronous runtime underneath.
    pub fn runtime(&self) -> &Arc<dyn SqliteRuntime> {
        &self.runtime
    }

    /// The pool.
    pub fn workers(&self) -> &Workers {
        &self.workers
    }

    /// Opens a database on a worker.
    pub fn open(&self, target: Target, options: OpenOptions) -> Call<AsyncDatabase> {
        let lane = Lane::new(&self.workers, Connection { db: None });
        let database = AsyncDatabase { lane: lane.clone() };
        let runtime = self.runtime.clone();
        submit(&lane, move |connection: &mut Connection| {
            connection.db = Some(runtime.open(&target, &options)?);
            Ok(database)
        })
    }
}

/// The lane's state: the connection, once opened.
struct Connection {
    db: Option<Box<dyn SqliteDatabase>>,
}

type Message = Box<dyn FnOnce(&mut Connection) + Send>;

impl LaneWork for Connection {
    type Message = Message;

    fn handle(&mut self, messages: Vec<Message>) {
        for message in messages {
            message(self);
        }
    }
}

/// Submits `work` to `lane`: it runs unless the returned call is dropped first.
fn submit<T: Send + 'static>(
    lane: &Lane<Connection>,
    work: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
) -> Call<T> {
    let (to, waiting) = reply::<Result<T>>();
    let message: Message = Box::new(move |connection| {
        if to.is_cancelled() {
            return;
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| work(connection)))
            .unwrap_or_else(|panic| Err(panicked(panic.as_ref())));
        to.send(settle(connection, outcome));
    });
    match lane.submit(message) {
        Ok(()) => Call::waiting(waiting),
        Err(_) => Call::failed(overloaded()),
    }
}

/// An operation must not leave a transaction open (its future may be gone, and the
/// next caller would write inside it): one left open is rolled back, and the operation
/// fails.
fn settle<T>(connection: &mut Connection, outcome: Result<T>) -> Result<T> {
    let Some(db) = connection.db.as_mut() else {
        return outcome;
    };
    match db.in_transaction() {
        Ok(false) => outcome,
        // Unknown (a remote engine out of reach): the outcome stands as reported; the
        // next operation finds out.
        Err(error) => {
            tracing::debug!(%error, "whether an async operation left a transaction open is unknown");
            outcome
        }
        Ok(true) => {
            let rolled_back = db.exec("ROLLBACK");
            let left_open = Error::new(
                ErrorKind::Misuse,
                "an async operation left a transaction open; it was rolled back (use transaction())",
            );
            match (outcome, rolled_back) {
                (Err(error), _) => Err(error),
                (Ok(_), Ok(())) => Err(left_open),
                (Ok(_), Err(error)) => Err(error),
            }
        }
    }
}

fn panicked(panic: &(dyn std::any::Any + Send)) -> Error {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned());
    Error::new(
        ErrorKind::Misuse,
        format!("the operation panicked: {message}"),
    )
}

fn overloaded() -> Error {
    Error::new(
        ErrorKind::Overloaded,
        "the database's queue is full: the operation was not started",
    )
}

fn closed() -> Error {
    Error::new(ErrorKind::Closed, "the database is closed")
}

/// A database used from async code (a cheap handle: clones share the connection and its
/// order). Dropping the last handle closes the connection once its operations are done.
#[derive(Clone)]
pub struct AsyncDatabase {
    lane: Lane<Connection>,
}

impl std::fmt::Debug for AsyncDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncDatabase")
            .field("waiting", &self.lane.waiting())
            .finish()
    }
}

impl AsyncDatabase {
    /// Runs `f` on the connection, on a worker. The closure must not leave a
    /// transaction open (use [`transaction`](Self::transaction)).
    pub fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn SqliteDatabase) -> Result<T> + Send + 'static,
    ) -> Call<T> {
        submit(&self.lane, move |connection| match connection.db.as_mut() {
            Some(db) => f(&mut **db),
            None => Err(closed()),
        })
    }

    /// Runs one or more statements without parameters or results.
    pub fn exec(&self, sql: impl Into<String>) -> Call<()> {
        let sql = sql.into();
        self.call(move |db| db.exec(&sql))
    }

    /// Runs one statement; returns what it changed.
    pub fn execute(
        &self,
        sql: impl Into<String>,
        params: impl Into<OwnedParams>,
    ) -> Call<RunResult> {
        let (sql, params) = (sql.into(), params.into());
        self.call(move |db| params.with(|params| db.run(&sql, params)))
    }

    /// Runs one query; returns its rows.
    pub fn query(&self, sql: impl Into<String>, params: impl Into<OwnedParams>) -> Call<Vec<Row>> {
        let (sql, params) = (sql.into(), params.into());
        self.call(move |db| params.with(|params| db.all(&sql, params)))
    }

    /// Runs one query; returns its first row, if any.
    pub fn query_row(
        &self,
        sql: impl Into<String>,
        params: impl Into<OwnedParams>,
    ) -> Call<Option<Row>> {
        let (sql, params) = (sql.into(), params.into());
        self.call(move |db| params.with(|params| db.get(&sql, params)))
    }

    /// Runs statements with their parameters in one transaction, all or nothing;
    /// returns what each changed.
    pub fn batch(&self, statements: Vec<(String, OwnedParams)>) -> Call<Vec<RunResult>> {
        self.transaction(move |tx| {
            statements
                .iter()
                .map(|(sql, params)| params.with(|params| tx.run(sql, params)))
                .collect()
        })
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction on a worker: committed when it
    /// returns `Ok`, rolled back when it returns `Err` or panics.
    pub fn transaction<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<T> + Send + 'static,
    ) -> Call<T> {
        self.call(move |db| {
            let mut tx = db.transaction()?;
            let value = f(&mut tx)?;
            tx.commit()?;
            Ok(value)
        })
    }

    /// Closes the connection after the operations queued before this one.
    pub fn close(&self) -> Call<()> {
        submit(&self.lane, |connection| match connection.db.take() {
            Some(mut db) => db.close(),
            None => Ok(()),
        })
    }
}

/// The result of an operation submitted to a worker: a future, woken through its
/// `Waker` (any executor). Dropping it before the operation starts cancels the
/// operation; after, the operation completes and its result is dropped.
#[must_use = "an operation is cancelled when its Call is dropped before it starts"]
pub struct Call<T> {
    state: CallState<T>,
}

enum CallState<T> {
    Waiting(Reply<Result<T>>),
    Failed(Option<Error>),
}

impl<T> std::fmt::Debug for Call<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call").finish_non_exhaustive()
    }
}

impl<T> Call<T> {
    pub(crate) fn waiting(reply: Reply<Result<T>>) -> Self {
        Call {
            state: CallState::Waiting(reply),
        }
    }

    /// A call that failed before it was submitted.
    pub(crate) fn failed(error: Error) -> Self {
        Call {
            state: CallState::Failed(Some(error)),
        }
    }
}

impl<T> Future for Call<T> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let this = self.get_mut();
        match &mut this.state {
            CallState::Failed(error) => Poll::Ready(Err(error.take().unwrap_or_else(closed))),
            CallState::Waiting(reply) => Pin::new(reply)
                .poll(cx)
                .map(|answer| answer.unwrap_or_else(|| Err(abandoned()))),
        }
    }
}

fn abandoned() -> Error {
    Error::new(
        ErrorKind::Other,
        "the worker dropped the operation without answering",
    )
}
