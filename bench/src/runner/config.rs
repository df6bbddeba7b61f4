//! What a run measures: presets, `synchronous` levels, the variants to compare.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sqlite_runtime::{Capability, Synchronous};

use crate::Result;
use crate::keys::Workload;
use crate::variants::Variant;

/// A `synchronous` level the write workloads run under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum SyncLevel {
    /// `synchronous = FULL` (the backends' default): every commit is synced.
    Full,
    /// `synchronous = NORMAL`: WAL synced at checkpoints only.
    Normal,
}

impl SyncLevel {
    pub(crate) fn to_synchronous(self) -> Synchronous {
        match self {
            SyncLevel::Full => Synchronous::Full,
            SyncLevel::Normal => Synchronous::Normal,
        }
    }

    /// `FULL` or `NORMAL`.
    pub fn name(self) -> &'static str {
        match self {
            SyncLevel::Full => "FULL",
            SyncLevel::Normal => "NORMAL",
        }
    }
}

/// What to run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BenchConfig {
    /// Actor sizes (entries prefilled).
    pub entries: Vec<u64>,
    /// Workloads, in order.
    pub workloads: Vec<Workload>,
    /// `synchronous` levels for the write workloads; reads run once, under the first.
    pub sync_levels: Vec<SyncLevel>,
    /// Driver rows only for these backends (`None`: every compiled-in backend).
    pub backends: Option<Vec<String>>,
    /// Include the bindings-used-directly rows.
    pub direct: bool,
    /// Measured seconds per workload cell, summed over its variants (rounds continue
    /// until this is reached, or three times this in wall time, and every variant has
    /// `min_ops`).
    pub seconds: f64,
    /// At least this many measured operations per variant per cell.
    pub min_ops: u64,
    /// Untimed operations per variant before measuring.
    pub warmup_ops: u64,
    /// Target wall time of one interleaved batch of one variant, in milliseconds.
    pub slice_ms: f64,
    /// The seed of every operation stream.
    pub seed: u64,
    /// `PRAGMA cache_size` in KiB applied to every connection of every variant (0: keep
    /// SQLite's default of 2000 KiB). See BENCHMARKS.md: the bundled SQLite shares one
    /// page cache between all connections of a process, so interleaved variants would
    /// evict each other's pages unless each cache holds its whole database.
    pub cache_kib: u64,
    /// Where the databases go (`None`: a temporary directory under the system's).
    pub dir: Option<PathBuf>,
    /// Whether this is the `--quick` configuration (reported only).
    pub quick: bool,
    /// Set (by a Ctrl-C handler, say) to stop the run: the cell being measured ends
    /// with the rounds it has, and the report holds what was measured.
    #[serde(skip)]
    pub stop: Option<&'static std::sync::atomic::AtomicBool>,
}

impl BenchConfig {
    /// Whether the run was asked to stop.
    pub fn stopped(&self) -> bool {
        self.stop
            .is_some_and(|stop| stop.load(std::sync::atomic::Ordering::Relaxed))
    }
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig::full()
    }
}

impl BenchConfig {
    /// The full run: N = 1,000 and 100,000, every workload, FULL and NORMAL, 6 s per
    /// cell (a few minutes in all).
    pub fn full() -> Self {
        BenchConfig {
            entries: vec![1_000, 100_000],
            workloads: Workload::ALL.to_vec(),
            sync_levels: vec![SyncLevel::Full, SyncLevel::Normal],
            backends: None,
            direct: true,
            seconds: 6.0,
            min_ops: 30,
            warmup_ops: 20,
            slice_ms: 20.0,
            seed: 0x5151_7274,
            cache_kib: 65_536,
            dir: None,
            quick: false,
            stop: None,
        }
    }

    /// A smoke run under a minute: the same cells, 0.75 s each.
    pub fn quick() -> Self {
        BenchConfig {
            seconds: 0.75,
            min_ops: 10,
            warmup_ops: 5,
            slice_ms: 10.0,
            quick: true,
            stop: None,
            ..BenchConfig::full()
        }
    }

    /// A tiny run for tests: N = 200 and 300, a handful of operations per cell.
    pub fn tiny() -> Self {
        BenchConfig {
            entries: vec![200, 300],
            seconds: 0.0,
            min_ops: 3,
            warmup_ops: 1,
            slice_ms: 1.0,
            quick: true,
            stop: None,
            ..BenchConfig::full()
        }
    }
}

/// The variants a configuration runs: the raw C API, the driver on each selected
/// compiled-in backend, then the direct bindings.
pub fn available_variants(config: &BenchConfig) -> Result<Vec<Variant>> {
    let mut variants = vec![Variant::raw()];
    let selected: Vec<_> = match &config.backends {
        None => sqlite_runtime_backends::configured_backends(),
        Some(names) => {
            let mut chosen = Vec::new();
            for name in names {
                let descriptor = sqlite_runtime_backends::backend(name)
                    .ok_or_else(|| format!("unknown backend `{name}`"))?;
                if !descriptor.is_compiled() {
                    return Err(format!(
                        "backend `{name}` is not compiled in (feature `{}`)",
                        descriptor.feature
                    )
                    .into());
                }
                chosen.push(descriptor);
            }
            chosen
        }
    };
    let mut floors = Vec::new();
    for descriptor in selected {
        let runtime = descriptor.runtime().ok_or("backend not compiled in")?;
        if !runtime.capabilities().has(Capability::LocalFiles) {
            floors.push(Variant::floor(runtime.clone()));
        }
        variants.push(Variant::driver(runtime));
    }
    variants.extend(floors);
    if config.direct {
        variants.push(Variant::rusqlite_direct());
        variants.push(Variant::sqlx_direct());
    }
    Ok(variants)
}
