//! Configuration, the interleaved measurement loop, statistics and target checks.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sqlite_runtime::Synchronous;

use crate::keys::{BATCH_GET, BUCKET, LIST_LIMIT, Op, OpStream, VALUE_LEN, Workload};
use crate::variants::{Durability, Settings, Store, Variant, VariantKind, write_template};
use crate::{BenchError, Result};

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
            ..BenchConfig::full()
        }
    }
}

/// The variants a configuration runs: the raw C API, the driver on each selected
/// compiled-in backend, then the direct bindings.
pub fn available_variants(config: &BenchConfig) -> Result<Vec<Variant>> {
    let mut variants = vec![Variant::raw()];
    let compiled = sqlite_runtime_backends::compiled_backends();
    let selected: Vec<_> = match &config.backends {
        None => compiled,
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
    for descriptor in selected {
        let runtime = descriptor.runtime().ok_or("backend not compiled in")?;
        variants.push(Variant::driver(runtime));
    }
    if config.direct {
        variants.push(Variant::rusqlite_direct());
        variants.push(Variant::sqlx_direct());
    }
    Ok(variants)
}

/// The machine a report was made on.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Machine {
    /// `model name` from `/proc/cpuinfo`.
    pub cpu: String,
    /// Logical CPUs available.
    pub cpus: usize,
    /// `MemTotal` in MiB.
    pub memory_mib: u64,
    /// The kernel release.
    pub kernel: String,
    /// `/proc/loadavg` when the run started.
    pub load_before: String,
    /// `/proc/loadavg` when it ended.
    pub load_after: String,
}

fn read_proc(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

pub(crate) fn load_average() -> String {
    read_proc("/proc/loadavg")
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

impl Machine {
    pub(crate) fn detect() -> Self {
        let cpu = read_proc("/proc/cpuinfo")
            .lines()
            .find(|line| line.starts_with("model name"))
            .and_then(|line| line.split(':').nth(1))
            .map(|model| model.trim().to_owned())
            .unwrap_or_else(|| "unknown".to_owned());
        let memory_mib = read_proc("/proc/meminfo")
            .lines()
            .find(|line| line.starts_with("MemTotal:"))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kib| kib.parse::<u64>().ok())
            .map_or(0, |kib| kib / 1024);
        Machine {
            cpu,
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            memory_mib,
            kernel: read_proc("/proc/sys/kernel/osrelease").trim().to_owned(),
            load_before: load_average(),
            load_after: String::new(),
        }
    }
}

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
}

fn sqlite_version() -> String {
    // SAFETY: returns a static NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(libsqlite3_sys::sqlite3_libversion()) }
        .to_string_lossy()
        .into_owned()
}

/// A variant opened on a copy of the template of `entries` entries.
struct Open {
    store: Box<dyn Store>,
    variant_index: usize,
    entries: u64,
}

/// Opens every variant on a copy of `template` under `dir`.
fn settings(config: &BenchConfig, level: SyncLevel) -> Settings {
    Settings {
        synchronous: level.to_synchronous(),
        cache_kib: config.cache_kib,
    }
}

fn open_all(
    config: &BenchConfig,
    variants: &[Variant],
    dir: &std::path::Path,
    template: &std::path::Path,
    entries: u64,
    level: SyncLevel,
    durability: &mut Vec<DurabilityRecord>,
) -> Result<Vec<Open>> {
    let mut open = Vec::new();
    for (index, variant) in variants.iter().enumerate() {
        let dir = dir.join(format!("v{index}"));
        std::fs::create_dir_all(&dir)?;
        let (store, reported) = variant
            .open(&dir, template, entries, settings(config, level))
            .map_err(|e| context(&variant.name, "open", e))?;
        if let Some(reported) = reported {
            let record = DurabilityRecord {
                variant: variant.name.clone(),
                requested: level,
                reported,
            };
            if !durability.contains(&record) {
                durability.push(record);
            }
        }
        open.push(Open {
            store,
            variant_index: index,
            entries,
        });
    }
    Ok(open)
}

fn close_all(variants: &[Variant], open: Vec<Open>) -> Result<()> {
    for opened in open {
        let name = &variants[opened.variant_index].name;
        opened
            .store
            .close()
            .map_err(|e| context(name, "close", e))?;
    }
    Ok(())
}

/// Runs `config`, reporting progress lines to `progress`.
pub fn run(config: &BenchConfig, progress: &mut dyn FnMut(&str)) -> Result<BenchReport> {
    let started = Instant::now();
    let mut machine = Machine::detect();
    let variants = available_variants(config)?;
    if config.entries.iter().any(|&n| n < BUCKET * 2) {
        return Err(format!("every N must be at least {}", BUCKET * 2).into());
    }
    if config.entries.is_empty() || config.workloads.is_empty() || config.sync_levels.is_empty() {
        return Err("nothing to run: no N, no workload or no synchronous level".into());
    }
    let scratch = match &config.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            tempfile::Builder::new()
                .prefix("sqlrt-bench")
                .tempdir_in(dir)?
        }
        None => tempfile::Builder::new().prefix("sqlrt-bench").tempdir()?,
    };
    let mut entries_list = config.entries.clone();
    entries_list.sort_unstable();
    entries_list.dedup();
    let mut templates = Vec::new();
    for &entries in &entries_list {
        let template = scratch.path().join(format!("template-{entries}.db"));
        let t = Instant::now();
        write_template(&template, entries)?;
        progress(&format!(
            "N = {entries}: template written in {:.2} s",
            t.elapsed().as_secs_f64()
        ));
        templates.push((entries, template));
    }
    let mut cells = Vec::new();
    let mut durability: Vec<DurabilityRecord> = Vec::new();
    for (entries, template) in &templates {
        let entries = *entries;
        for (level_index, &level) in config.sync_levels.iter().enumerate() {
            let workloads: Vec<Workload> = config
                .workloads
                .iter()
                .copied()
                .filter(|w| level_index == 0 || w.writes())
                .collect();
            if workloads.is_empty() {
                continue;
            }
            let pass = scratch.path().join(format!("n{entries}-{}", level.name()));
            let mut open = open_all(
                config,
                &variants,
                &pass,
                template,
                entries,
                level,
                &mut durability,
            )?;
            for workload in workloads {
                let series = measure(config, &variants, &mut open, workload, progress)?;
                let cell = make_cell(&variants, &open, series, workload, entries, level);
                progress(&format!(
                    "N = {entries}, {workload} ({}): {}",
                    level.name(),
                    cell.rows
                        .iter()
                        .map(|r| format!("{} {:.0}/s", r.variant, r.ops_per_sec))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                cells.push(cell);
            }
            close_all(&variants, open)?;
            let _ = std::fs::remove_dir_all(&pass);
        }
    }
    // Put growth: every variant at the smallest and the largest N, interleaved in one
    // cell so that the disk's and the machine's moods hit both sizes alike.
    let mut put_growth = Vec::new();
    if let ([(small, small_template), ..], [.., (large, large_template)]) =
        (templates.as_slice(), templates.as_slice())
        && small < large
        && config.workloads.contains(&Workload::Put)
    {
        for &level in &config.sync_levels {
            let pass = scratch.path().join(format!("growth-{}", level.name()));
            let mut open = open_all(
                config,
                &variants,
                &pass.join("small"),
                small_template,
                *small,
                level,
                &mut durability,
            )?;
            open.extend(open_all(
                config,
                &variants,
                &pass.join("large"),
                large_template,
                *large,
                level,
                &mut durability,
            )?);
            let series = measure(config, &variants, &mut open, Workload::Put, progress)?;
            let count = variants.len();
            for (index, variant) in variants.iter().enumerate() {
                let (a, b) = (&series[index], &series[index + count]);
                if a.error.is_some() || b.error.is_some() {
                    continue;
                }
                let (Some(small_thr), Some(large_thr)) =
                    (median_throughput(a), median_throughput(b))
                else {
                    continue;
                };
                let p50 = |s: &Series| percentile(&s.latencies, 0.5) as f64;
                put_growth.push(Growth {
                    variant: variant.name.clone(),
                    workload: Workload::Put,
                    synchronous: level,
                    small_entries: *small,
                    large_entries: *large,
                    small_mean_ns: 1e9 / small_thr,
                    large_mean_ns: 1e9 / large_thr,
                    growth: paired_ratio(a, b).unwrap_or(f64::NAN),
                    growth_p50: p50(b) / p50(a).max(1.0),
                });
            }
            progress(&format!("put growth ({}): measured", level.name()));
            close_all(&variants, open)?;
            let _ = std::fs::remove_dir_all(&pass);
        }
    }
    machine.load_after = load_average();
    let targets = check_targets(&cells, &put_growth);
    Ok(BenchReport {
        machine,
        sqlite_version: sqlite_version(),
        config: config.clone(),
        variants: variants.iter().map(|v| v.name.clone()).collect(),
        durability,
        cells,
        put_growth,
        targets,
        wall_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Runs `ops` operations of `workload` on one variant alone (after a short warm-up), for
/// profilers: `valgrind --tool=callgrind` counts instructions, so two runs with
/// different `ops` give the exact cost of one operation by difference. Returns the
/// measured time.
pub fn run_single(
    variant: &str,
    workload: Workload,
    entries: u64,
    ops: u64,
    level: SyncLevel,
) -> Result<Duration> {
    let config = BenchConfig {
        entries: vec![entries],
        ..BenchConfig::tiny()
    };
    let variants = available_variants(&config)?;
    let index = variants
        .iter()
        .position(|v| v.name == variant)
        .ok_or_else(|| {
            let names: Vec<&str> = variants.iter().map(|v| v.name.as_str()).collect();
            format!("unknown variant `{variant}`: one of {}", names.join(", "))
        })?;
    let scratch = tempfile::Builder::new().prefix("sqlrt-bench").tempdir()?;
    let template = scratch.path().join("template.db");
    write_template(&template, entries)?;
    let dir = scratch.path().join("v");
    std::fs::create_dir_all(&dir)?;
    let (mut store, _) =
        variants[index].open(&dir, &template, entries, settings(&config, level))?;
    let mut stream = OpStream::new(workload, entries, config.seed);
    for _ in 0..10 {
        run_op(&mut *store, &stream.next_op())?;
    }
    let mut total = Duration::ZERO;
    for _ in 0..ops {
        total += run_op(&mut *store, &stream.next_op())?;
    }
    store.close()?;
    Ok(total)
}

fn context(variant: &str, what: &str, error: BenchError) -> BenchError {
    format!("{variant}: {what}: {error}").into()
}

/// Runs one operation; returns its latency (the untimed restore of a range delete is
/// not included).
fn run_op(store: &mut dyn Store, op: &Op) -> Result<Duration> {
    let started = Instant::now();
    let checked: Result<()> = match op {
        Op::Get(key) => match black_box(store.get(key)?) {
            Some(value) if value.len() == VALUE_LEN => Ok(()),
            other => Err(format!("get returned {:?} bytes", other.map(|v| v.len())).into()),
        },
        Op::GetMany(keys) => {
            let values = black_box(store.get_many(keys)?);
            if values.len() == BATCH_GET && values.iter().all(|v| v.is_some()) {
                Ok(())
            } else {
                Err("batch get missed keys".into())
            }
        }
        Op::Put(entries) => store.put(entries),
        Op::ListPrefix(prefix) => expect_len(black_box(store.list_prefix(prefix)?).len()),
        Op::ListRange { start, end } => {
            expect_len(black_box(store.list_range(start, end, LIST_LIMIT)?).len())
        }
        Op::DeleteRange { start, end, .. } => match store.delete_range(start, end)? {
            Some(deleted) if deleted != BUCKET => {
                Err(format!("delete range removed {deleted} rows").into())
            }
            _ => Ok(()),
        },
    };
    let elapsed = started.elapsed();
    checked?;
    if let Op::DeleteRange { restore, .. } = op {
        store.put(restore)?;
    }
    Ok(elapsed)
}

fn expect_len(len: usize) -> Result<()> {
    if len == LIST_LIMIT {
        Ok(())
    } else {
        Err(format!("list returned {len} entries, expected {LIST_LIMIT}").into())
    }
}

/// What one opened store measured in one cell.
struct Series {
    /// Per-operation latencies, ns, sorted.
    latencies: Vec<u64>,
    /// Per round, the batch's operations and their summed latency in ns (empty when the
    /// variant failed).
    batches: Vec<(u64, u64)>,
    /// The sum of the latencies.
    measured: Duration,
    /// Why it stopped, if it failed.
    error: Option<String>,
}

/// Everything a cell measured: one series per opened store.
struct Measured {
    series: Vec<Series>,
}

impl std::ops::Index<usize> for Measured {
    type Output = Series;

    fn index(&self, index: usize) -> &Series {
        &self.series[index]
    }
}

/// The median over rounds of a series' batch throughput (ops/s).
fn median_throughput(series: &Series) -> Option<f64> {
    let mut throughputs: Vec<f64> = series
        .batches
        .iter()
        .map(|&(ops, ns)| ops as f64 * 1e9 / ns as f64)
        .collect();
    median(&mut throughputs)
}

/// The throughput of `a` relative to `b`: the median over rounds of their paired batch
/// throughputs (same operations, same moment), robust to noise bursts.
fn paired_ratio(a: &Series, b: &Series) -> Option<f64> {
    let mut ratios: Vec<f64> = a
        .batches
        .iter()
        .zip(&b.batches)
        .map(|(&(_, ta), &(_, tb))| tb as f64 / ta as f64)
        .collect();
    median(&mut ratios)
}

/// Measures one workload on every opened store: warm-up, then rounds in which every
/// store runs one batch of the same size (the start rotating every round), until the
/// measured time reaches the budget and every store has `min_ops` operations. Stores
/// whose streams share a seed and N run the very same operations in each round.
fn measure(
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
    let mut series: Vec<Series> = (0..count)
        .map(|_| Series {
            latencies: Vec::new(),
            batches: Vec::new(),
            measured: Duration::ZERO,
            error: None,
        })
        .collect();
    // Warm-up (untimed), which also estimates each store's cost per operation. A
    // variant that fails is reported with its error and left out of the cell.
    let mut per_op = vec![f64::INFINITY; count];
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
        if (out_of_time && enough_ops) || series.iter().all(|s| s.error.is_some()) {
            break;
        }
        for step in 0..count {
            let index = (round + step) % count;
            let current = &mut series[index];
            if current.error.is_some() {
                continue;
            }
            let opened = &mut open[index];
            let mut batch_time = Duration::ZERO;
            for _ in 0..batch {
                let op = streams[index].next_op();
                match run_op(&mut *opened.store, &op) {
                    Ok(elapsed) => {
                        batch_time += elapsed;
                        current
                            .latencies
                            .push(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX));
                    }
                    Err(error) => {
                        current.error = Some(error.to_string());
                        break;
                    }
                }
            }
            current.measured += batch_time;
            let nanos = u64::try_from(batch_time.as_nanos())
                .unwrap_or(u64::MAX)
                .max(1);
            current.batches.push((batch, nanos));
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

/// The rows of a regular cell (one store per variant), with their ratios.
fn make_cell(
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
            v.kind == VariantKind::Direct && v.backend == *backend
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

/// The median (mean of the two middle values for an even count); `None` when empty.
fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[u64], quantile: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (quantile * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn check_targets(cells: &[Cell], growth: &[Growth]) -> Vec<TargetCheck> {
    let mut targets = Vec::new();
    for cell in cells {
        for row in &cell.rows {
            let is_sync_backend = matches!(row.backend.as_deref(), Some("rusqlite" | "sqlite"));
            if row.kind == VariantKind::Driver
                && is_sync_backend
                && matches!(
                    cell.workload,
                    Workload::Get | Workload::ListPrefix | Workload::Put
                )
                && let Some(ratio) = row.ratio_to_raw
            {
                targets.push(TargetCheck {
                    target: format!(
                        "{} {} N={} {}: ops/s ÷ raw C API",
                        row.variant,
                        cell.workload,
                        cell.entries,
                        cell.synchronous.name()
                    ),
                    value: ratio,
                    bound: 0.85,
                    met: ratio >= 0.85,
                });
            }
            if row.kind == VariantKind::Driver
                && row.backend.as_deref() == Some("sqlx")
                && let Some(ratio) = row.ratio_to_direct
            {
                targets.push(TargetCheck {
                    target: format!(
                        "{} {} N={} {}: ops/s ÷ sqlx direct",
                        row.variant,
                        cell.workload,
                        cell.entries,
                        cell.synchronous.name()
                    ),
                    value: ratio,
                    bound: 0.9,
                    met: ratio >= 0.9,
                });
            }
        }
    }
    for g in growth.iter().filter(|g| g.variant.starts_with("driver/")) {
        targets.push(TargetCheck {
            target: format!(
                "{} put N={} ÷ N={} {}: latency growth",
                g.variant,
                g.large_entries,
                g.small_entries,
                g.synchronous.name()
            ),
            value: g.growth,
            bound: 1.3,
            met: g.growth <= 1.3,
        });
    }
    targets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 0.5), 50);
        assert_eq!(percentile(&values, 0.99), 99);
        assert_eq!(percentile(&[7], 0.99), 7);
        assert_eq!(percentile(&[], 0.5), 0);
    }
}
