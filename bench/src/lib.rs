//! Benchmarks of the fs-driver's KV workloads on every backend, against the SQLite C API
//! and against each binding used directly, interleaved in one process so that machine
//! noise hits every variant alike.
//!
//! - [`BenchConfig`] says what to run; [`run`] runs it and returns a [`BenchReport`]
//!   (serde-serializable); [`render`] prints it as Markdown tables.
//! - Every variant runs the driver's own SQL ([`sql`]) with the backends' pragmas on a
//!   byte-identical copy of one prefilled template database.
//!
//! ```no_run
//! let report = sqlrt_bench::run(&sqlrt_bench::BenchConfig::quick(), &mut |line| eprintln!("{line}"))?;
//! println!("{}", sqlrt_bench::render(&report));
//! # Ok::<(), sqlrt_bench::BenchError>(())
//! ```

mod asynchronous;
pub mod keys;
mod report;
mod runner;
mod scale;
pub mod sql;
mod variants;

pub use asynchronous::{
    AsyncCell, AsyncConfig, AsyncReport, AsyncRow, CoalescingRow, ManyActors, render_async,
    run_async,
};
pub use keys::Workload;
pub use report::render;
pub use runner::{
    BenchConfig, BenchReport, Cell, DurabilityRecord, Growth, Machine, Row, SyncLevel, TargetCheck,
    available_variants, run, run_single,
};
pub use scale::{
    AwakeRow, ChurnRow, Latency, ScaleConfig, ScaleReport, WakeRow, render_scale, run_scale,
};
pub use variants::{Durability, Variant, VariantKind};

/// A benchmark failure (setup, SQL, or a variant returning a wrong result).
pub type BenchError = Box<dyn std::error::Error + Send + Sync>;

/// A benchmark result.
pub type Result<T> = std::result::Result<T, BenchError>;
