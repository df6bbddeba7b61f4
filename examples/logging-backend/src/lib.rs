//! A backend written as any other crate would write one: it depends on `sqlite-runtime`
//! alone, implements its two traits, and proves itself with the test kit
//! (`tests/conformance.rs` runs every runtime and driver case with one call).
//!
//! This one wraps another runtime and logs every call at `debug` level (SQL, how many
//! rows, how long, the error if any), under its own name.
//!
//! ```no_run
//! use std::sync::Arc;
//! use sqlite_runtime::SqliteRuntime;
//! use sqlite_runtime_logging::LoggingRuntime;
//!
//! fn wrap(inner: Arc<dyn SqliteRuntime>) -> Arc<dyn SqliteRuntime> {
//!     Arc::new(LoggingRuntime::new(inner))
//! }
//! ```

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Instant;

use sqlite_runtime::{
    BackendKind, Capabilities, OpenOptions, Params, Result, RowVisitor, RunResult, SqliteDatabase,
    SqliteRuntime, StatementCacheStats, Target,
};

/// This backend's name, in errors and in `SqliteDatabase::backend`.
pub const NAME: &str = "logging";

/// A runtime that logs every call of the runtime it wraps.
#[derive(Clone)]
pub struct LoggingRuntime {
    inner: Arc<dyn SqliteRuntime>,
}

impl std::fmt::Debug for LoggingRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoggingRuntime")
            .field("inner", &self.inner.backend())
            .finish()
    }
}

impl LoggingRuntime {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn SqliteRuntime>) -> Self {
        LoggingRuntime { inner }
    }
}

impl SqliteRuntime for LoggingRuntime {
    fn backend(&self) -> &'static str {
        NAME
    }

    fn kind(&self) -> BackendKind {
        self.inner.kind()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn open(&self, target: &Target, options: &OpenOptions) -> Result<Box<dyn SqliteDatabase>> {
        let started = Instant::now();
        let opened = self.inner.open(target, options);
        tracing::debug!(%target, elapsed = ?started.elapsed(), ok = opened.is_ok(), "open");
        Ok(Box::new(LoggingDatabase {
            inner: opened.map_err(ours)?,
        }))
    }
}

/// An error of the wrapped backend, reported under this backend's name.
fn ours(error: sqlite_runtime::Error) -> sqlite_runtime::Error {
    error.with_backend(NAME)
}

/// A connection that logs every call of the connection it wraps.
struct LoggingDatabase {
    inner: Box<dyn SqliteDatabase>,
}

impl LoggingDatabase {
    fn logged<T>(
        &mut self,
        call: &str,
        sql: &str,
        run: impl FnOnce(&mut dyn SqliteDatabase) -> Result<T>,
    ) -> Result<T> {
        let started = Instant::now();
        let result = run(&mut *self.inner).map_err(ours);
        match &result {
            Ok(_) => tracing::debug!(call, sql, elapsed = ?started.elapsed(), "ok"),
            Err(error) => {
                tracing::debug!(call, sql, elapsed = ?started.elapsed(), %error, "failed")
            }
        }
        result
    }
}

impl SqliteDatabase for LoggingDatabase {
    fn backend(&self) -> &'static str {
        NAME
    }

    fn exec(&mut self, sql: &str) -> Result<()> {
        self.logged("exec", sql, |db| db.exec(sql))
    }

    fn run(&mut self, sql: &str, params: Params<'_>) -> Result<RunResult> {
        self.logged("run", sql, |db| db.run(sql, params))
    }

    fn for_each(
        &mut self,
        sql: &str,
        params: Params<'_>,
        visitor: &mut RowVisitor<'_>,
    ) -> Result<()> {
        let mut rows = 0u64;
        let counted = &mut |row: &sqlite_runtime::RowRef<'_>| -> Result<ControlFlow<()>> {
            rows += 1;
            visitor(row)
        };
        let result = self.logged("for_each", sql, |db| db.for_each(sql, params, counted));
        tracing::trace!(sql, rows, "rows visited");
        result
    }

    fn in_transaction(&mut self) -> Result<bool> {
        self.inner.in_transaction().map_err(ours)
    }

    fn guarded_prepare(
        &mut self,
        guard: &sqlite_runtime::Guard,
        sql: &str,
    ) -> Result<sqlite_runtime::GuardedStatement> {
        self.logged("guarded_prepare", sql, |db| db.guarded_prepare(guard, sql))
    }

    fn guarded_read(
        &mut self,
        guard: &sqlite_runtime::Guard,
        sql: &str,
        params: Params<'_>,
        visitor: &mut RowVisitor<'_>,
    ) -> Result<bool> {
        self.logged("guarded_read", sql, |db| {
            db.guarded_read(guard, sql, params, visitor)
        })
    }

    fn guarded_for_each(
        &mut self,
        guard: &sqlite_runtime::Guard,
        sql: &str,
        params: Params<'_>,
        visitor: &mut RowVisitor<'_>,
    ) -> Result<RunResult> {
        self.logged("guarded_for_each", sql, |db| {
            db.guarded_for_each(guard, sql, params, visitor)
        })
    }

    fn statement_cache_stats(&mut self) -> Result<StatementCacheStats> {
        self.inner.statement_cache_stats().map_err(ours)
    }

    fn close(&mut self) -> Result<()> {
        self.logged("close", "", |db| db.close())
    }

    fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }
}
