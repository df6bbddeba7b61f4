//! The interleaved measurement of one cell: every variant runs the same operations,
//! round after round, each round starting with another variant.

use std::time::{Duration, Instant};

use super::config::*;
use super::model::*;
use super::stats::*;
use super::{Open, run_op};
use crate::Result;
use crate::keys::{OpStream, Workload};
use crate::variants::{Store, Variant, VariantKind};

/// What one opened store measured in one cell.
#[derive(Default)]
pub(super) struct Series {
    /// Per-operation latencies, ns, sorted.
    pub(super) latencies: Vec<u64>,
    /// Per round, the batch's operations and their summed latency in ns (empty when the
    /// variant failed).
    pub(super) batches: Vec<(u64, u64)>,
    /// The sum of the latencies.
    pub(super) measured: Duration,
    /// Why it stopped, if it failed.
    pub(super) error: Option<String>,
}

/// Everything a cell measured: one series per opened store.
pub(super) struct Measured {
    pub(super) series: Vec<Series>,
}

impl std::ops::Index<usize> for Measured {
    type Output = Series;

    fn index(&self, index: usize) -> &Series {
        &self.series[index]
    }
}

/// Measures one workload on every opened store: warm-up, then rounds in which every
/// store runs one batch of the same size (the start rotating every round), until the
/// measured time reaches the budget and every store has `min_ops` operations. Stores
/// whose streams share a seed and N run the very same operations in each round.
pub(super) fn measure(
    config: &BenchConfig,
    variants: &[Variant],
    open: &mut [Open],
    workload: Workload,
    progress: &mut dyn FnMut(&str),
) -> Result<Measured> {
    let count = open.len();
    let seed = config.seed ^ (workload as u64).rotate_left(40);
    let mut streams: Vec<OpStream> = open
        .iter()
        .map(|o| OpStream::new(workload, o.entries, seed ^ o.entries.rotate_left(17)))
        .collect();
    let mut series: Vec<Series> = (0..count).map(|_| Series::default()).collect();
    let per_op = warm_up(config, open, &mut streams, &mut series);
    // One batch size for every store in a round, sized on the fastest store's cost per
    // operation, re-estimated after every round (a mixed workload's warm-up may have
    // seen no slow operation).
    let slice = config.slice_ms / 1000.0;
    let batch_for = |per_op: f64| -> u64 {
        if per_op.is_finite() {
            ((slice / per_op.max(1e-9)) as u64).clamp(1, 100_000)
        } else {
            1
        }
    };
    let mut batch = batch_for(per_op.iter().copied().fold(f64::INFINITY, f64::min));
    let budget = Duration::from_secs_f64(config.seconds.max(0.0));
    let started = Instant::now();
    let mut round = 0usize;
    loop {
        let total: Duration = series.iter().map(|s| s.measured).sum();
        let enough_ops = series
            .iter()
            .all(|s| s.error.is_some() || s.latencies.len() as u64 >= config.min_ops);
        // The untimed work (a range delete's restore, which costs more than the delete)
        // counts against a wall-time cap of three budgets.
        let out_of_time = total >= budget || started.elapsed() >= budget * 3;
        if (out_of_time && enough_ops)
            || series.iter().all(|s| s.error.is_some())
            || (config.stopped() && round > 0)
        {
            break;
        }
        for step in 0..count {
            let index = (round + step) % count;
            timed_batch(
                &mut *open[index].store,
                &mut streams[index],
                &mut series[index],
                batch,
            );
        }
        let fastest = series
            .iter()
            .filter(|s| s.error.is_none())
            .filter_map(|s| s.batches.last())
            .map(|&(ops, ns)| ns as f64 / 1e9 / ops as f64)
            .fold(f64::INFINITY, f64::min);
        batch = batch_for(fastest);
        round += 1;
    }
    for (index, current) in series.iter_mut().enumerate() {
        current.latencies.sort_unstable();
        if let Some(error) = &current.error {
            progress(&format!(
                "warning: {} failed on {workload}: {error}",
                variants[open[index].variant_index].name
            ));
            current.batches.clear();
        }
    }
    Ok(Measured { series })
}

/// Runs `warmup_ops` untimed operations on each store; returns each store's cost per
/// operation (infinite for a store that failed, whose series then holds the error and
/// which the cell leaves out).
fn warm_up(
    config: &BenchConfig,
    open: &mut [Open],
    streams: &mut [OpStream],
    series: &mut [Series],
) -> Vec<f64> {
    let mut per_op = vec![f64::INFINITY; open.len()];
    for (index, opened) in open.iter_mut().enumerate() {
        let warmup = config.warmup_ops.max(1);
        let started = Instant::now();
        for _ in 0..warmup {
            let op = streams[index].next_op();
            if let Err(error) = run_op(&mut *opened.store, &op) {
                series[index].error = Some(error.to_string());
                break;
            }
        }
        if series[index].error.is_none() {
            per_op[index] = started.elapsed().as_secs_f64() / warmup as f64;
        }
    }
    per_op
}

/// One store's timed batch of `batch` operations in a round, recorded in `series` (a
/// failure ends the store's part in the cell).
fn timed_batch(store: &mut dyn Store, stream: &mut OpStream, series: &mut Series, batch: u64) {
    if series.error.is_some() {
        return;
    }
    let mut batch_time = Duration::ZERO;
    for _ in 0..batch {
        let op = stream.next_op();
        match run_op(store, &op) {
            Ok(elapsed) => {
                batch_time += elapsed;
                series
                    .latencies
                    .push(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX));
            }
            Err(error) => {
                series.error = Some(error.to_string());
                break;
            }
        }
    }
    series.measured += batch_time;
    let nanos = u64::try_from(batch_time.as_nanos())
        .unwrap_or(u64::MAX)
        .max(1);
    series.batches.push((batch, nanos));
}

/// The rows of a regular cell (one store per variant), with their ratios.
pub(super) fn make_cell(
    variants: &[Variant],
    open: &[Open],
    measured: Measured,
    workload: Workload,
    entries: u64,
    level: SyncLevel,
) -> Cell {
    let kind = |index: usize| variants[open[index].variant_index].kind;
    let raw_index = (0..open.len()).find(|&i| kind(i) == VariantKind::Raw);
    let direct_of = |backend: &Option<String>| {
        (0..open.len()).find(|&i| {
            let v = &variants[open[i].variant_index];
            matches!(v.kind, VariantKind::Direct | VariantKind::Floor) && v.backend == *backend
        })
    };
    let rows = open
        .iter()
        .enumerate()
        .map(|(index, opened)| {
            let variant = &variants[opened.variant_index];
            let series = &measured[index];
            let ops = series.latencies.len() as u64;
            let seconds = series.measured.as_secs_f64();
            let to_raw = raw_index.and_then(|raw| paired_ratio(series, &measured[raw]));
            let to_direct = if variant.kind == VariantKind::Driver {
                direct_of(&variant.backend).and_then(|d| paired_ratio(series, &measured[d]))
            } else {
                None
            };
            Row {
                variant: variant.name.clone(),
                kind: variant.kind,
                backend: variant.backend.clone(),
                ops,
                rounds: series.batches.len() as u64,
                measured_seconds: seconds,
                ops_per_sec: median_throughput(series).unwrap_or(0.0),
                ops_per_sec_mean: if seconds > 0.0 {
                    ops as f64 / seconds
                } else {
                    0.0
                },
                mean_ns: if ops > 0 {
                    seconds * 1e9 / ops as f64
                } else {
                    0.0
                },
                p50_ns: percentile(&series.latencies, 0.50),
                p99_ns: percentile(&series.latencies, 0.99),
                ratio_to_raw: to_raw,
                ratio_to_direct: to_direct,
                error: series.error.clone(),
            }
        })
        .collect();
    Cell {
        workload,
        description: workload.description().to_owned(),
        entries,
        synchronous: level,
        rows,
    }
}
