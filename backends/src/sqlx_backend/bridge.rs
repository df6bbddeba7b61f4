//! The sync bridge.
//!
//! sqlx-sqlite runs each connection on a dedicated OS thread and talks to it through
//! runtime-agnostic channels (flume, futures oneshot, a futures-intrusive mutex): its
//! futures are woken by that worker thread, never by a reactor or a timer. So they can be
//! driven by parking the calling thread (`futures_executor::block_on`), which needs no
//! tokio context and never calls `Handle::block_on` (which panics inside a runtime).
//! Inside a tokio runtime this blocks the calling worker thread like any synchronous
//! call (e.g. rusqlite) would; it cannot deadlock, because nothing the future waits for
//! runs on that runtime.
//!
//! Row streams are driven one item at a time ([`futures_executor::block_on_stream`]),
//! so a row visitor runs outside any executor and may itself use another database.

use std::future::Future;

/// Runs `future` to completion on the calling thread.
pub(super) fn wait<F: Future>(future: F) -> F::Output {
    futures_executor::block_on(future)
}

pub(super) use futures_executor::block_on_stream as stream;
