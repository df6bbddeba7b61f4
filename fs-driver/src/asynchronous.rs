//! The driver for async callers: [`AsyncFsDriver`].

use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use sqlite_runtime::workers::{Lane, LaneWork, Reply, ReplyTo, Workers, WorkersOptions, reply};
use sqlite_runtime::{ErrorKind, OwnedParams, Row, RowRef, RunResult};

use crate::actor::ActorInfo;
use crate::driver::FsDriver;
use crate::error::{Error, Result};
use crate::kv::actor_sql::SqlTransaction;
use crate::kv::{KvWrite, ListOptions};
use crate::state::KvEntry;

/// Lanes are kept in this many maps, each with its own lock.
const SHARDS: usize = 64;
/// Every this many submits to a shard, its idle lanes are dropped.
const SWEEP_EVERY: u32 = 256;

/// Who waits for a write: a delete wants the entries it removed, a put nothing.
enum WriteReply {
    Removed(ReplyTo<Result<u64>>),
    Done(ReplyTo<Result<()>>),
}

impl WriteReply {
    fn is_cancelled(&self) -> bool {
        match self {
            WriteReply::Removed(to) => to.is_cancelled(),
            WriteReply::Done(to) => to.is_cancelled(),
        }
    }

    fn send(self, result: Result<u64>) {
        match self {
            WriteReply::Removed(to) => to.send(result),
            WriteReply::Done(to) => to.send(result.map(drop)),
        }
    }
}

/// A message on an actor's lane.
enum Message {
    /// A put or delete, which may be committed with its neighbours.
    Write(KvWrite, WriteReply),
    /// Anything else, run alone, in order.
    Call(Box<dyn FnOnce(&FsDriver) + Send>),
}

/// An actor's lane: the driver, and which actor (empty for calls about no one actor).
struct ActorLane {
    driver: Arc<FsDriver>,
    id: String,
}

impl LaneWork for ActorLane {
    type Message = Message;

    fn handle(&mut self, messages: Vec<Message>) {
        let mut group: Vec<(KvWrite, WriteReply)> = Vec::new();
        for message in messages {
            match message {
                Message::Write(write, to) => {
                    if !to.is_cancelled() {
                        group.push((write, to));
                    }
                }
                Message::Call(call) => {
                    self.commit(std::mem::take(&mut group));
                    call(&self.driver);
                }
            }
        }
        self.commit(group);
    }
}

impl ActorLane {
    /// Commits a group of writes together and answers each.
    fn commit(&self, group: Vec<(KvWrite, WriteReply)>) {
        if group.is_empty() {
            return;
        }
        let (writes, replies): (Vec<KvWrite>, Vec<WriteReply>) = group.into_iter().unzip();
        let results = self.driver.kv_write_group(&self.id, &writes);
        for (to, result) in replies.into_iter().zip(results) {
            to.send(result);
        }
    }
}

struct Shard {
    lanes: HashMap<String, Lane<ActorLane>>,
    submits: u32,
}

/// An [`FsDriver`] for async callers: every operation as a future, run on a
/// fixed pool of worker threads ([`sqlite_runtime::workers`]), never on the caller's
/// executor.
///
/// - Each actor is a lane: its operations run in the order they were called; different
///   actors run in parallel, however many there are, on the pool's threads.
/// - **Write coalescing.** Puts and deletes to one actor that queue up behind the one in
///   progress are committed together, in one transaction (each in a savepoint of its
///   own): one `fsync` for the group. Each caller is answered only after that commit; a
///   write that breaks its own checks (a limit, the quota, a bad key) fails alone; a
///   failed commit fails every write of the group the same way (not applied, or of
///   unknown outcome). A read called after a write was answered sees it.
/// - Bounded: past [`WorkersOptions::queue_capacity`] operations waiting for one actor,
///   a call fails at once with [`ErrorKind::Overloaded`]
///   (nothing applied; retry later).
/// - Cancel safety: an operation is submitted when it is called; a future dropped
///   before the operation starts cancels it, one dropped after lets it finish.
///
/// ```no_run
/// # async fn example(runtime: std::sync::Arc<dyn sqlite_runtime::SqliteRuntime>) -> fs_driver::Result<()> {
/// use fs_driver::{AsyncFsDriver, DriverOptions, FsDriver};
///
/// let driver = AsyncFsDriver::new(FsDriver::open(runtime, "./storage", DriverOptions::new())?)?;
/// driver.create_actor("counter", "counter", vec![], vec![]).await?;
/// driver.kv_put("counter", vec![(b"n".to_vec(), b"1".to_vec())]).await?;
/// assert_eq!(driver.kv_get_one("counter", b"n".to_vec()).await?, Some(b"1".to_vec()));
/// # Ok(()) }
/// ```
///
/// A cheap handle: clones share the driver, its pool and its lanes.
#[derive(Clone)]
pub struct AsyncFsDriver {
    inner: Arc<Inner>,
}

struct Inner {
    driver: Arc<FsDriver>,
    workers: Workers,
    shards: Vec<Mutex<Shard>>,
    hasher: RandomState,
}

impl std::fmt::Debug for AsyncFsDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncFsDriver")
            .field("driver", &self.inner.driver)
            .field("workers", &self.inner.workers)
            .finish()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl AsyncFsDriver {
    /// `driver` on a pool of its own with the default [`WorkersOptions`].
    pub fn new(driver: FsDriver) -> Result<Self> {
        Self::with_options(driver, WorkersOptions::new())
    }

    /// `driver` on a pool of its own sized by `options`.
    pub fn with_options(driver: FsDriver, options: WorkersOptions) -> Result<Self> {
        let workers = Workers::new(options).map_err(|error| {
            Error::Sqlite(sqlite_runtime::Error::new(
                ErrorKind::Other,
                format!("cannot start worker threads: {error}"),
            ))
        })?;
        Ok(Self::with_workers(Arc::new(driver), workers))
    }

    /// `driver` on an existing pool (shared with an
    /// [`AsyncRuntime`](sqlite_runtime::AsyncRuntime), say).
    pub fn with_workers(driver: Arc<FsDriver>, workers: Workers) -> Self {
        AsyncFsDriver {
            inner: Arc::new(Inner {
                driver,
                workers,
                shards: (0..SHARDS)
                    .map(|_| {
                        Mutex::new(Shard {
                            lanes: HashMap::new(),
                            submits: 0,
                        })
                    })
                    .collect(),
                hasher: RandomState::new(),
            }),
        }
    }

    /// The synchronous driver underneath (its calls block the calling thread).
    pub fn driver(&self) -> &Arc<FsDriver> {
        &self.inner.driver
    }

    /// The pool.
    pub fn workers(&self) -> &Workers {
        &self.inner.workers
    }

    /// Submits `message` to actor `id`'s lane (made when needed, under its shard's lock,
    /// so that a lane is dropped only when nothing waits on it).
    fn submit(&self, id: &str, message: Message) -> std::result::Result<(), Message> {
        let shard = &self.inner.shards[self.inner.hasher.hash_one(id) as usize % SHARDS];
        let mut shard = lock(shard);
        shard.submits = shard.submits.wrapping_add(1);
        if shard.submits.is_multiple_of(SWEEP_EVERY) {
            shard.lanes.retain(|_, lane| !lane.is_idle());
        }
        let lane = shard.lanes.entry(id.to_owned()).or_insert_with(|| {
            Lane::new(
                &self.inner.workers,
                ActorLane {
                    driver: self.inner.driver.clone(),
                    id: id.to_owned(),
                },
            )
        });
        lane.submit(message)
            .map_err(|refused| refused.into_message())
    }

    /// Runs `f` on actor `id`'s lane (`""` for calls about no one actor).
    fn call<T: Send + 'static>(
        &self,
        id: &str,
        f: impl FnOnce(&FsDriver) -> Result<T> + Send + 'static,
    ) -> DriverCall<T> {
        let (to, waiting) = reply::<Result<T>>();
        let message = Message::Call(Box::new(move |driver| {
            if to.is_cancelled() {
                return;
            }
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(driver)))
                .unwrap_or_else(|_| Err(internal("the driver panicked")));
            to.send(outcome);
        }));
        match self.submit(id, message) {
            Ok(()) => DriverCall::waiting(waiting),
            Err(_) => DriverCall::failed(overloaded(id)),
        }
    }

    fn write<T>(
        &self,
        id: &str,
        write: KvWrite,
        wrap: fn(ReplyTo<Result<T>>) -> WriteReply,
    ) -> DriverCall<T> {
        let (to, waiting) = reply::<Result<T>>();
        match self.submit(id, Message::Write(write, wrap(to))) {
            Ok(()) => DriverCall::waiting(waiting),
            Err(_) => DriverCall::failed(overloaded(id)),
        }
    }

    /// [`FsDriver::create_actor`].
    pub fn create_actor(
        &self,
        id: impl Into<String>,
        name: impl Into<String>,
        key: Vec<String>,
        initial: Vec<(Vec<u8>, Vec<u8>)>,
    ) -> DriverCall<ActorInfo> {
        let (id, name) = (id.into(), name.into());
        self.call(&id.clone(), move |driver| {
            driver.create_actor(&id, &name, key, &initial)
        })
    }

    /// [`FsDriver::load_actor`].
    pub fn load_actor(&self, id: impl Into<String>) -> DriverCall<ActorInfo> {
        let id = id.into();
        self.call(&id.clone(), move |driver| driver.load_actor(&id))
    }

    /// [`FsDriver::list_actors`].
    pub fn list_actors(&self, after: Option<String>, limit: usize) -> DriverCall<Vec<ActorInfo>> {
        self.call("", move |driver| {
            driver.list_actors(after.as_deref(), limit)
        })
    }

    /// [`FsDriver::sleep_actor`] (without a stop hook).
    pub fn sleep_actor(&self, id: impl Into<String>) -> DriverCall<()> {
        let id = id.into();
        self.call(&id.clone(), move |driver| driver.sleep_actor(&id, None))
    }

    /// [`FsDriver::destroy_actor`] (without a stop hook).
    pub fn destroy_actor(&self, id: impl Into<String>) -> DriverCall<()> {
        let id = id.into();
        self.call(&id.clone(), move |driver| driver.destroy_actor(&id, None))
    }

    /// [`FsDriver::kv_put`], committed with the writes queued beside it.
    pub fn kv_put(
        &self,
        id: impl Into<String>,
        entries: Vec<(Vec<u8>, Vec<u8>)>,
    ) -> DriverCall<()> {
        self.write(&id.into(), KvWrite::Put(entries), WriteReply::Done)
    }

    /// [`FsDriver::kv_delete`], committed with the writes queued beside it; the entries
    /// removed.
    pub fn kv_delete(&self, id: impl Into<String>, keys: Vec<Vec<u8>>) -> DriverCall<u64> {
        self.write(&id.into(), KvWrite::Delete(keys), WriteReply::Removed)
    }

    /// [`FsDriver::kv_delete_range`], committed with the writes queued beside it; the
    /// entries removed.
    pub fn kv_delete_range(
        &self,
        id: impl Into<String>,
        start: Vec<u8>,
        end: Vec<u8>,
    ) -> DriverCall<u64> {
        self.write(
            &id.into(),
            KvWrite::DeleteRange(start, end),
            WriteReply::Removed,
        )
    }

    /// [`FsDriver::kv_get`].
    pub fn kv_get(
        &self,
        id: impl Into<String>,
        keys: Vec<Vec<u8>>,
    ) -> DriverCall<Vec<Option<Vec<u8>>>> {
        let id = id.into();
        self.call(&id.clone(), move |driver| driver.kv_get(&id, &keys))
    }

    /// [`FsDriver::kv_get_one`].
    pub fn kv_get_one(&self, id: impl Into<String>, key: Vec<u8>) -> DriverCall<Option<Vec<u8>>> {
        let id = id.into();
        self.call(&id.clone(), move |driver| driver.kv_get_one(&id, &key))
    }

    /// [`FsDriver::kv_list_prefix`].
    pub fn kv_list_prefix(
        &self,
        id: impl Into<String>,
        prefix: Vec<u8>,
        options: ListOptions,
    ) -> DriverCall<Vec<KvEntry>> {
        let id = id.into();
        self.call(&id.clone(), move |driver| {
            driver.kv_list_prefix(&id, &prefix, options)
        })
    }

    /// [`FsDriver::kv_list_range`].
    pub fn kv_list_range(
        &self,
        id: impl Into<String>,
        start: Vec<u8>,
        end: Vec<u8>,
        options: ListOptions,
    ) -> DriverCall<Vec<KvEntry>> {
        let id = id.into();
        self.call(&id.clone(), move |driver| {
            driver.kv_list_range(&id, &start, &end, options)
        })
    }

    /// [`FsDriver::sql_execute`]: one statement of the actor's own SQL, in the actor's
    /// order with its KV calls (not coalesced with them).
    pub fn sql_execute(
        &self,
        id: impl Into<String>,
        sql: impl Into<String>,
        params: OwnedParams,
    ) -> DriverCall<RunResult> {
        let (id, sql) = (id.into(), sql.into());
        self.call(&id.clone(), move |driver| {
            params.with(|params| driver.sql_execute(&id, &sql, params))
        })
    }

    /// [`FsDriver::sql_query`].
    pub fn sql_query(
        &self,
        id: impl Into<String>,
        sql: impl Into<String>,
        params: OwnedParams,
    ) -> DriverCall<Vec<Row>> {
        let (id, sql) = (id.into(), sql.into());
        self.call(&id.clone(), move |driver| {
            params.with(|params| driver.sql_query(&id, &sql, params))
        })
    }

    /// [`FsDriver::sql_query_row`]: `map` runs on the worker.
    pub fn sql_query_row<T: Send + 'static>(
        &self,
        id: impl Into<String>,
        sql: impl Into<String>,
        params: OwnedParams,
        map: impl FnOnce(&RowRef<'_>) -> sqlite_runtime::Result<T> + Send + 'static,
    ) -> DriverCall<Option<T>> {
        let (id, sql) = (id.into(), sql.into());
        self.call(&id.clone(), move |driver| {
            params.with(|params| driver.sql_query_row(&id, &sql, params, map))
        })
    }

    /// [`FsDriver::sql_batch`].
    pub fn sql_batch(
        &self,
        id: impl Into<String>,
        statements: impl Into<String>,
    ) -> DriverCall<u64> {
        let (id, statements) = (id.into(), statements.into());
        self.call(&id.clone(), move |driver| {
            driver.sql_batch(&id, &statements)
        })
    }

    /// [`FsDriver::sql_transaction`]: `work` runs whole on a worker thread, under the
    /// actor's lock; dropping the future before it starts cancels it, after that it
    /// completes (committed or rolled back) and its result is dropped.
    pub fn sql_transaction<T: Send + 'static>(
        &self,
        id: impl Into<String>,
        work: impl FnOnce(&mut SqlTransaction<'_>) -> Result<T> + Send + 'static,
    ) -> DriverCall<T> {
        let id = id.into();
        self.call(&id.clone(), move |driver| driver.sql_transaction(&id, work))
    }

    /// [`FsDriver::sql_storage_used`].
    pub fn sql_storage_used(&self, id: impl Into<String>) -> DriverCall<u64> {
        let id = id.into();
        self.call(&id.clone(), move |driver| driver.sql_storage_used(&id))
    }

    /// [`FsDriver::kv_storage_used`].
    pub fn kv_storage_used(&self, id: impl Into<String>) -> DriverCall<u64> {
        let id = id.into();
        self.call(&id.clone(), move |driver| driver.kv_storage_used(&id))
    }

    /// [`FsDriver::set_alarm`].
    pub fn set_alarm(&self, id: impl Into<String>, timestamp_ms: u64) -> DriverCall<()> {
        let id = id.into();
        self.call(&id.clone(), move |driver| {
            driver.set_alarm(&id, timestamp_ms)
        })
    }

    /// [`FsDriver::get_alarm`].
    pub fn get_alarm(&self, id: impl Into<String>) -> DriverCall<Option<u64>> {
        let id = id.into();
        self.call(&id.clone(), move |driver| driver.get_alarm(&id))
    }

    /// [`FsDriver::clear_alarm`].
    pub fn clear_alarm(&self, id: impl Into<String>) -> DriverCall<()> {
        let id = id.into();
        self.call(&id.clone(), move |driver| driver.clear_alarm(&id))
    }

    /// [`FsDriver::due_alarms`].
    pub fn due_alarms(&self, now_ms: u64) -> DriverCall<Vec<(String, u64)>> {
        self.call("", move |driver| driver.due_alarms(now_ms))
    }

    /// How many lanes (actors with work waiting, or recently had) exist now.
    pub fn lanes(&self) -> usize {
        self.inner
            .shards
            .iter()
            .map(|shard| lock(shard).lanes.len())
            .sum()
    }
}

fn overloaded(id: &str) -> Error {
    Error::Sqlite(sqlite_runtime::Error::new(
        ErrorKind::Overloaded,
        format!("actor {id:?} has too many operations waiting: this one was not started"),
    ))
}

fn internal(message: &str) -> Error {
    Error::Sqlite(sqlite_runtime::Error::new(ErrorKind::Other, message))
}

/// The result of a driver operation submitted to a worker: a future woken through its
/// `Waker` (any executor). Dropping it before the operation starts cancels the
/// operation; after, the operation completes and its result is dropped.
#[must_use = "an operation is cancelled when its DriverCall is dropped before it starts"]
pub struct DriverCall<T> {
    state: State<T>,
}

enum State<T> {
    Waiting(Reply<Result<T>>),
    Failed(Option<Error>),
}

impl<T> std::fmt::Debug for DriverCall<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriverCall").finish_non_exhaustive()
    }
}

impl<T> DriverCall<T> {
    fn waiting(reply: Reply<Result<T>>) -> Self {
        DriverCall {
            state: State::Waiting(reply),
        }
    }

    fn failed(error: Error) -> Self {
        DriverCall {
            state: State::Failed(Some(error)),
        }
    }
}

fn abandoned() -> Error {
    internal("the worker dropped the operation without answering")
}

impl<T> Future for DriverCall<T> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        match &mut self.get_mut().state {
            State::Failed(error) => Poll::Ready(Err(error.take().unwrap_or_else(abandoned))),
            State::Waiting(reply) => Pin::new(reply)
                .poll(cx)
                .map(|answer| answer.unwrap_or_else(|| Err(abandoned()))),
        }
    }
}
