//! `sqlrt bench --async`: what async callers pay, on a tokio runtime of two threads.
//!
//! The same operations (point get, 100-entry list, put) through the async driver
//! ([`fs_driver::AsyncFsDriver`]), through the async runtime layer
//! ([`sqlite_runtime::AsyncDatabase`], running the driver's own SQL) on the rusqlite and
//! sqlx backends, and through sqlx used directly (its own async API, a pool of one
//! connection); tokio-rusqlite, whose rusqlite cannot share this build's SQLite, runs the
//! same SQL in a program of its own (`tools/tokio-rusqlite/`) in the same run. Then 64
//! writers against one, and 10,000 actors at once.

mod cells;
mod many;
mod report;
mod stores;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use report::render_async;

use crate::Result;

/// What `sqlrt bench --async` runs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AsyncConfig {
    /// Measured time per variant per round.
    pub seconds: f64,
    /// Rounds (variants take turns within a round; ratios are medians over rounds).
    pub rounds: usize,
    /// Entries prefilled in the measured database.
    pub entries: u64,
    /// Actors in the many-actors cell.
    pub actors: u64,
    /// Tasks in flight in the many-actors cell.
    pub tasks: usize,
    /// Concurrent writers in the coalescing cell.
    pub writers: usize,
    /// The tokio-rusqlite program (`tools/tokio-rusqlite/run.sh` builds it); `None`:
    /// its rows are reported as not run.
    pub tokio_rusqlite: Option<PathBuf>,
    /// Where the databases go (`None`: the system's temporary directory).
    pub dir: Option<PathBuf>,
}

impl AsyncConfig {
    /// The full run (a few minutes).
    pub fn full() -> Self {
        AsyncConfig {
            seconds: 1.0,
            rounds: 5,
            entries: 1000,
            actors: 10_000,
            tasks: 64,
            writers: 64,
            tokio_rusqlite: None,
            dir: None,
        }
    }

    /// A smoke run (well under a minute).
    pub fn quick() -> Self {
        AsyncConfig {
            seconds: 0.25,
            rounds: 3,
            actors: 2000,
            ..Self::full()
        }
    }

    fn measured(&self) -> Duration {
        Duration::from_secs_f64(self.seconds.max(0.01))
    }
}

/// One variant's figures in one cell.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AsyncRow {
    /// The variant.
    pub variant: String,
    /// Operations per second (median over rounds).
    pub ops_per_sec: f64,
    /// Median over rounds of its throughput ÷ tokio-rusqlite's in the same round.
    pub vs_tokio_rusqlite: Option<f64>,
    /// Median over rounds of its throughput ÷ sqlx used directly in the same round.
    pub vs_sqlx_direct: Option<f64>,
    /// Why it did not run, if it did not.
    pub skipped: Option<String>,
}

/// One workload's rows.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AsyncCell {
    /// The workload.
    pub workload: String,
    /// The rows.
    pub rows: Vec<AsyncRow>,
}

/// Many writers to one database against one writer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CoalescingRow {
    /// The variant.
    pub variant: String,
    /// Puts per second with one writer (median over rounds).
    pub one_writer: f64,
    /// Puts per second with [`AsyncConfig::writers`] writers (median over rounds).
    pub many_writers: f64,
    /// Median over rounds of many ÷ one.
    pub gain: Option<f64>,
}

/// The many-actors cell.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ManyActors {
    /// Actors.
    pub actors: u64,
    /// Tasks in flight.
    pub tasks: usize,
    /// Operations done (90% gets, 10% puts), all without error.
    pub ops: u64,
    /// Errors (must be 0).
    pub errors: u64,
    /// Operations per second.
    pub ops_per_sec: f64,
    /// Latency percentiles, microseconds.
    pub p50_us: f64,
    /// 99th percentile, microseconds.
    pub p99_us: f64,
    /// The longest delay of a task that ticks every millisecond on the same runtime
    /// (how late the executor ran), microseconds.
    pub worst_lateness_us: f64,
    /// Threads of the process while it ran.
    pub threads: u64,
    /// The pool's worker threads.
    pub pool_threads: usize,
    /// The most actor databases open at once (the descriptor limit caps it at a third of
    /// the limit, less a reserve): actors beyond it are closed and reopened in turn.
    pub open_budget: usize,
}

/// Everything `--async` measured.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AsyncReport {
    /// What ran.
    pub config: AsyncConfig,
    /// Point get, list, put: each variant against tokio-rusqlite (when it ran) and
    /// against sqlx used directly.
    pub cells: Vec<AsyncCell>,
    /// 64 writers to one actor at `synchronous = FULL` against one writer.
    pub coalescing: Vec<CoalescingRow>,
    /// 10,000 actors on a 2-thread runtime.
    pub many: Option<ManyActors>,
}

/// Runs the async benchmark, reporting progress lines to `progress`.
pub fn run_async(config: &AsyncConfig, progress: &mut dyn FnMut(&str)) -> Result<AsyncReport> {
    let scratch = match &config.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            tempfile::Builder::new()
                .prefix("sqlrt-bench-async")
                .tempdir_in(dir)?
        }
        None => tempfile::Builder::new()
            .prefix("sqlrt-bench-async")
            .tempdir()?,
    };
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()?;
    let cells = cells::point_cells(config, scratch.path(), &tokio, progress)?;
    let coalescing = cells::coalescing(config, scratch.path(), &tokio, progress)?;
    let many = many::many_actors(config, scratch.path(), &tokio, progress)?;
    Ok(AsyncReport {
        config: config.clone(),
        cells,
        coalescing,
        many: Some(many),
    })
}
