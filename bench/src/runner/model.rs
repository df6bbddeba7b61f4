//! What a run reports: rows, cells, growth, target checks.

use serde::{Deserialize, Serialize};

use super::config::*;
use super::machine::*;
use crate::keys::Workload;
use crate::variants::{Durability, VariantKind};

/// One variant's numbers in one cell.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Row {
    /// The variant's name.
    pub variant: String,
    /// Its kind.
    pub kind: VariantKind,
    /// The backend behind it, if any.
    pub backend: Option<String>,
    /// Measured operations.
    pub ops: u64,
    /// Interleaved rounds (batches) they ran in.
    pub rounds: u64,
    /// The sum of their latencies, in seconds.
    pub measured_seconds: f64,
    /// Throughput: the median over rounds of the batch's ops/s (robust to a noise burst
    /// hitting one batch).
    pub ops_per_sec: f64,
    /// `ops / measured_seconds` (the plain mean; sensitive to noise bursts).
    pub ops_per_sec_mean: f64,
    /// Mean latency, ns.
    pub mean_ns: f64,
    /// Median latency, ns.
    pub p50_ns: u64,
    /// 99th percentile latency, ns.
    pub p99_ns: u64,
    /// Throughput relative to the raw C API row: the median over rounds of the paired
    /// batch ratios (both batches ran the same operations in the same round).
    pub ratio_to_raw: Option<f64>,
    /// For driver rows: the same, relative to its binding used directly.
    pub ratio_to_direct: Option<f64>,
    /// Why the variant could not run this workload (its numbers are then empty).
    pub error: Option<String>,
}

/// One workload on one actor size under one `synchronous` level.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Cell {
    /// The workload.
    pub workload: Workload,
    /// What one operation does.
    pub description: String,
    /// Entries in the actor.
    pub entries: u64,
    /// The `synchronous` level.
    pub synchronous: SyncLevel,
    /// One row per variant, in variant order.
    pub rows: Vec<Row>,
}

impl Cell {
    /// The row of `variant`.
    pub fn row(&self, variant: &str) -> Option<&Row> {
        self.rows.iter().find(|row| row.variant == variant)
    }
}

/// The durability a variant's connection reported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DurabilityRecord {
    /// The variant.
    pub variant: String,
    /// The level asked for.
    pub requested: SyncLevel,
    /// What the connection reported.
    pub reported: Durability,
}

/// How put latency grows with the table, measured with both sizes interleaved in one
/// cell: latency at the largest N over latency at the smallest.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Growth {
    /// The variant.
    pub variant: String,
    /// The workload (`put`).
    pub workload: Workload,
    /// The `synchronous` level.
    pub synchronous: SyncLevel,
    /// The smaller N.
    pub small_entries: u64,
    /// The larger N.
    pub large_entries: u64,
    /// Latency at the smaller N, ns: `1 / ops_per_sec` (median-of-rounds throughput).
    pub small_mean_ns: f64,
    /// The same at the larger N.
    pub large_mean_ns: f64,
    /// Latency growth: the median over rounds of the paired batch-time ratios
    /// (large ÷ small; the same rounds, so noise cancels).
    pub growth: f64,
    /// The ratio of median per-operation latencies.
    pub growth_p50: f64,
}

/// One target of the issue, checked against the numbers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TargetCheck {
    /// What is compared.
    pub target: String,
    /// The measured value.
    pub value: f64,
    /// The bound.
    pub bound: f64,
    /// Whether the value is on the right side of the bound.
    pub met: bool,
}

/// Everything a run measured.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BenchReport {
    /// Where it ran.
    pub machine: Machine,
    /// The SQLite every variant links.
    pub sqlite_version: String,
    /// What ran.
    pub config: BenchConfig,
    /// The variants, in row order.
    pub variants: Vec<String>,
    /// What each variant's connection reported, per requested level.
    pub durability: Vec<DurabilityRecord>,
    /// The measurements.
    pub cells: Vec<Cell>,
    /// Put latency at the largest N over the smallest, per variant.
    pub put_growth: Vec<Growth>,
    /// The targets.
    pub targets: Vec<TargetCheck>,
    /// Wall time of the whole run, seconds.
    pub wall_seconds: f64,
    /// Whether the run was stopped before the end ([`BenchConfig::stop`]): the cells are
    /// those measured until then.
    #[serde(default)]
    pub interrupted: bool,
}
