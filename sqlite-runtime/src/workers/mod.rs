//! A fixed pool of worker threads that serves any number of *lanes*: async callers
//! submit work to a lane and await its reply, and no executor thread ever blocks on
//! SQLite.
//!
//! - Each lane (one database, one actor) runs its messages in FIFO order, one batch at a
//!   time on one worker; different lanes run in parallel.
//! - Lanes take turns: a worker runs one batch of a lane (at most
//!   [`WorkersOptions::max_batch`] messages), then the lane goes to the back of the
//!   queue if it has more, so that no lane is starved by a busy one.
//! - A lane's queue is bounded ([`WorkersOptions::queue_capacity`]): past it, a submit
//!   is refused at once ([`ErrorKind::Overloaded`](crate::ErrorKind::Overloaded)),
//!   never unbounded memory or threads.
//! - A batch is handed whole to the lane's [`LaneWork`], which may run it as it likes
//!   (one transaction for a group of writes, say).
//!
//! The threads exist while a [`Workers`] handle or a [`Lane`] does, and end when the
//! last is dropped. The pool uses threads, mutexes and wakers only: it depends on no
//! async runtime.

mod reply;

pub use reply::{Reply, ReplyTo, reply};

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

/// How a pool is sized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkersOptions {
    /// Worker threads (default: four per available core, between 4 and 64: a worker
    /// spends most of a write waiting on `fsync`, not on a core).
    pub threads: usize,
    /// Messages a lane may hold waiting before submits are refused (default 128).
    pub queue_capacity: usize,
    /// The most messages a worker hands to a lane at once (default 128).
    pub max_batch: usize,
}

impl Default for WorkersOptions {
    fn default() -> Self {
        WorkersOptions::new()
    }
}

impl WorkersOptions {
    /// The defaults.
    pub fn new() -> Self {
        WorkersOptions {
            threads: std::thread::available_parallelism()
                .map_or(4, |n| n.get().saturating_mul(4))
                .clamp(4, 64),
            queue_capacity: 128,
            max_batch: 128,
        }
    }

    /// Sets the number of worker threads (at least 1).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Sets how many messages a lane may hold waiting (at least 1).
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity.max(1);
        self
    }

    /// Sets the most messages handed to a lane at once (at least 1).
    pub fn max_batch(mut self, max_batch: usize) -> Self {
        self.max_batch = max_batch.max(1);
        self
    }
}

/// What a lane does with its messages: it owns the lane's state (a connection, say) and
/// is only ever called by one worker at a time.
pub trait LaneWork: Send + 'static {
    /// One unit of work submitted to the lane.
    type Message: Send + 'static;

    /// Handles `messages` (at least one, in submission order). A message whose reply
    /// is not answered is reported to its caller as abandoned.
    fn handle(&mut self, messages: Vec<Self::Message>);
}

/// Why a submit was refused; the message comes back.
#[derive(Debug)]
pub enum Refused<M> {
    /// The lane's queue is full.
    Overloaded(M),
}

impl<M> Refused<M> {
    /// The refused message.
    pub fn into_message(self) -> M {
        match self {
            Refused::Overloaded(message) => message,
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A lane with work waiting, as a worker sees it.
trait Runnable: Send + Sync {
    fn run(self: Arc<Self>);
}

struct Shared {
    ready: Mutex<VecDeque<Arc<dyn Runnable>>>,
    wake: Condvar,
    handles: AtomicUsize,
    stop: AtomicBool,
    options: WorkersOptions,
}

impl Shared {
    fn schedule(&self, lane: Arc<dyn Runnable>) {
        lock(&self.ready).push_back(lane);
        self.wake.notify_one();
    }

    fn next(&self) -> Option<Arc<dyn Runnable>> {
        let mut ready = lock(&self.ready);
        loop {
            if let Some(lane) = ready.pop_front() {
                return Some(lane);
            }
            if self.stop.load(Ordering::Acquire) {
                return None;
            }
            ready = self
                .wake
                .wait(ready)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// A pool of worker threads (a cheap handle: clones share the pool).
pub struct Workers {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Workers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workers")
            .field("options", &self.shared.options)
            .finish_non_exhaustive()
    }
}

impl Workers {
    /// Starts `options.threads` worker threads.
    pub fn new(options: WorkersOptions) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            ready: Mutex::new(VecDeque::new()),
            wake: Condvar::new(),
            handles: AtomicUsize::new(1),
            stop: AtomicBool::new(false),
            options,
        });
        for index in 0..options.threads.max(1) {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("sqlite-worker-{index}"))
                .spawn(move || {
                    while let Some(lane) = shared.next() {
                        lane.run();
                    }
                })?;
        }
        Ok(Workers { shared })
    }

    /// How the pool is sized.
    pub fn options(&self) -> WorkersOptions {
        self.shared.options
    }
}

impl Clone for Workers {
    fn clone(&self) -> Self {
        self.shared.handles.fetch_add(1, Ordering::Relaxed);
        Workers {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        if self.shared.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.stop.store(true, Ordering::Release);
            // Taken so that no worker is between its check and its wait.
            drop(lock(&self.shared.ready));
            self.shared.wake.notify_all();
        }
    }
}

struct Queue<M> {
    messages: VecDeque<M>,
    /// Whether the lane is in the ready queue or on a worker.
    scheduled: bool,
}

struct LaneInner<W: LaneWork> {
    workers: Workers,
    queue: Mutex<Queue<W::Message>>,
    work: Mutex<W>,
}

impl<W: LaneWork> Runnable for LaneInner<W> {
    fn run(self: Arc<Self>) {
        let max_batch = self.workers.shared.options.max_batch;
        let batch: Vec<W::Message> = {
            let mut queue = lock(&self.queue);
            let take = queue.messages.len().min(max_batch);
            queue.messages.drain(..take).collect()
        };
        if !batch.is_empty() {
            let mut work = lock(&self.work);
            // A panicking handler loses its batch (each caller is told its reply was
            // abandoned), not the lane or the worker.
            if catch_unwind(AssertUnwindSafe(|| work.handle(batch))).is_err() {
                tracing::error!("a lane's handler panicked; its batch was abandoned");
            }
        }
        let mut queue = lock(&self.queue);
        if queue.messages.is_empty() {
            queue.scheduled = false;
        } else {
            drop(queue);
            let shared = self.workers.shared.clone();
            shared.schedule(self);
        }
    }
}

/// One lane of a pool: its messages run in order, one batch at a time.
pub struct Lane<W: LaneWork> {
    inner: Arc<LaneInner<W>>,
}

impl<W: LaneWork> Clone for Lane<W> {
    fn clone(&self) -> Self {
        Lane {
            inner: self.inner.clone(),
        }
    }
}

impl<W: LaneWork> std::fmt::Debug for Lane<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lane")
            .field("waiting", &self.waiting())
            .finish_non_exhaustive()
    }
}

impl<W: LaneWork> Lane<W> {
    /// A lane of `workers` whose messages `work` handles.
    pub fn new(workers: &Workers, work: W) -> Self {
        Lane {
            inner: Arc::new(LaneInner {
                workers: workers.clone(),
                queue: Mutex::new(Queue {
                    messages: VecDeque::new(),
                    scheduled: false,
                }),
                work: Mutex::new(work),
            }),
        }
    }

    /// Queues `message`; refused when the lane already holds
    /// [`queue_capacity`](WorkersOptions::queue_capacity) messages waiting.
    pub fn submit(&self, message: W::Message) -> Result<(), Refused<W::Message>> {
        let capacity = self.inner.workers.shared.options.queue_capacity;
        let mut queue = lock(&self.inner.queue);
        if queue.messages.len() >= capacity {
            return Err(Refused::Overloaded(message));
        }
        queue.messages.push_back(message);
        if !queue.scheduled {
            queue.scheduled = true;
            drop(queue);
            self.inner.workers.shared.schedule(self.inner.clone());
        }
        Ok(())
    }

    /// How many messages wait (not counting a batch being handled).
    pub fn waiting(&self) -> usize {
        lock(&self.inner.queue).messages.len()
    }

    /// Whether the lane has nothing waiting and is not being handled.
    pub fn is_idle(&self) -> bool {
        let queue = lock(&self.inner.queue);
        queue.messages.is_empty() && !queue.scheduled
    }

    /// Runs `f` on the lane's work, waiting for a batch in progress to end (for
    /// synchronous access, e.g. closing the lane's connection).
    pub fn with_work<R>(&self, f: impl FnOnce(&mut W) -> R) -> R {
        f(&mut lock(&self.inner.work))
    }
}

#[cfg(test)]
mod tests;
