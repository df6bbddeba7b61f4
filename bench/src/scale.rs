//! The scale benchmark (`sqlrt bench --scale`): what grows with an actor's size and with
//! the number of actors, through the public `FsDriver` API.
//!
//! - **Wake**: `load_actor` + one get on an actor put to sleep just before, for actors of
//!   several sizes (default 1 MB, 100 MB, 1 GB), p50/p99 and the ratio to the smallest.
//! - **Awake actors**: N actors (default 10,000 and 100,000) created and left awake in one
//!   driver, in a process limited to 1024 descriptors, then random gets and puts on
//!   random actors: ops/s, p50/p99 per kind, RSS, open descriptors, open databases.
//! - **Memory after sleep**: RSS once every actor slept, and after returning free heap
//!   pages to the OS (`malloc_trim`), to tell the allocator from the driver's own maps.
//! - **Churn**: sleep then wake random actors.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fs_driver::{DriverOptions, FsDriver};
use serde::{Deserialize, Serialize};
use sqlite_runtime::SqliteRuntime;

use crate::keys::Rng;
use crate::{Machine, Result};

/// What the scale benchmark runs.
#[derive(Clone, Debug)]
pub struct ScaleConfig {
    /// Actor sizes for the wake measurement, in MiB.
    pub wake_sizes_mib: Vec<u64>,
    /// Wakes measured per size.
    pub wakes: usize,
    /// Actor counts for the awake measurement.
    pub awake_counts: Vec<usize>,
    /// Random operations per actor count (half gets, half puts).
    pub operations: usize,
    /// Sleep-then-wake cycles of the churn measurement.
    pub churn: usize,
    /// The descriptor limit the benchmark sets on its own process.
    pub descriptor_limit: u64,
    /// The backend (default: the loader's first).
    pub backend: Option<String>,
    /// Where the roots go (default: the system temporary directory).
    pub dir: Option<PathBuf>,
}

impl ScaleConfig {
    /// The full measurement: 1 MiB / 100 MiB / 1 GiB actors; 10,000 and 100,000
    /// awake actors under 1024 descriptors.
    pub fn full() -> Self {
        ScaleConfig {
            wake_sizes_mib: vec![1, 100, 1024],
            wakes: 40,
            awake_counts: vec![10_000, 100_000],
            operations: 20_000,
            churn: 2_000,
            descriptor_limit: 1024,
            backend: None,
            dir: None,
        }
    }

    /// A smaller run (minutes, not tens of minutes).
    pub fn quick() -> Self {
        ScaleConfig {
            wake_sizes_mib: vec![1, 100],
            wakes: 20,
            awake_counts: vec![2_000],
            operations: 4_000,
            churn: 500,
            ..ScaleConfig::full()
        }
    }
}

/// Latency statistics of one kind of operation.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Latency {
    /// How many were measured.
    pub count: usize,
    /// Median, microseconds.
    pub p50_us: f64,
    /// 99th percentile, microseconds.
    pub p99_us: f64,
}

impl Latency {
    fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        let at = |q: f64| {
            samples
                .get(((samples.len() as f64 - 1.0) * q).round() as usize)
                .map_or(0.0, |d| d.as_secs_f64() * 1e6)
        };
        Latency {
            count: samples.len(),
            p50_us: at(0.5),
            p99_us: at(0.99),
        }
    }
}

/// Wakes of one actor size.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WakeRow {
    /// The actor's storage size (sum of key + value), bytes.
    pub size_bytes: u64,
    /// `load_actor` + one get after a sleep.
    pub wake: Latency,
    /// p50 relative to the smallest actor's p50.
    pub ratio_to_smallest: f64,
}

/// N awake actors taking random operations.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AwakeRow {
    /// Awake actors.
    pub actors: usize,
    /// Seconds to create them (each create writes its database and state file).
    pub create_seconds: f64,
    /// Random gets.
    pub get: Latency,
    /// Random puts (one entry, `synchronous = FULL`).
    pub put: Latency,
    /// Operations per second over the random phase.
    pub ops_per_sec: f64,
    /// Errors during the random phase (must be 0).
    pub errors: usize,
    /// Resident memory with every actor awake, MiB.
    pub rss_awake_mib: f64,
    /// Open descriptors of the process at the end of the random phase.
    pub open_descriptors: usize,
    /// Open actor databases, and the budget.
    pub open_databases: (usize, usize),
    /// Resident memory after every actor slept, MiB.
    pub rss_asleep_mib: f64,
    /// The same after `malloc_trim(0)`, MiB.
    pub rss_trimmed_mib: f64,
}

/// Sleep-then-wake cycles.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChurnRow {
    /// Actors cycled among.
    pub actors: usize,
    /// One sleep then one get (which wakes).
    pub cycle: Latency,
}

/// The whole scale report.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScaleReport {
    /// The machine.
    pub machine: Machine,
    /// The backend used.
    pub backend: String,
    /// The descriptor limit set.
    pub descriptor_limit: u64,
    /// Wakes by actor size.
    pub wake: Vec<WakeRow>,
    /// Awake actors.
    pub awake: Vec<AwakeRow>,
    /// Churn.
    pub churn: Option<ChurnRow>,
}

/// Runs the scale benchmark.
pub fn run_scale(config: &ScaleConfig, progress: &mut dyn FnMut(&str)) -> Result<ScaleReport> {
    set_descriptor_limit(config.descriptor_limit)?;
    let loaded = sqlite_runtime_backends::Loader::new()
        .selected(config.backend.as_deref())
        .load()?;
    let runtime = loaded.runtime;
    let base = tempfile::Builder::new()
        .prefix("sqlrt-scale-")
        .tempdir_in(config.dir.clone().unwrap_or_else(std::env::temp_dir))?;
    let mut machine = Machine::detect();
    let mut wake = Vec::new();
    for &mib in &config.wake_sizes_mib {
        progress(&format!("wake: filling a {mib} MiB actor"));
        wake.push(measure_wake(
            &runtime,
            &base.path().join(format!("wake-{mib}")),
            mib,
            config.wakes,
        )?);
    }
    let smallest = wake.first().map_or(1.0, |row| row.wake.p50_us.max(1e-9));
    for row in &mut wake {
        row.ratio_to_smallest = row.wake.p50_us / smallest;
    }
    let mut awake = Vec::new();
    for &actors in &config.awake_counts {
        progress(&format!("awake: creating {actors} actors"));
        awake.push(measure_awake(
            &runtime,
            &base.path().join(format!("awake-{actors}")),
            actors,
            config.operations,
            progress,
        )?);
    }
    let churn = config.awake_counts.first().map(|&actors| {
        progress("churn");
        measure_churn(
            &runtime,
            &base.path().join("churn"),
            actors.min(10_000),
            config.churn,
        )
    });
    machine.load_after = crate::runner::load_average();
    Ok(ScaleReport {
        machine,
        backend: runtime.backend().to_owned(),
        descriptor_limit: config.descriptor_limit,
        wake,
        awake,
        churn: churn.transpose()?,
    })
}

fn driver(runtime: &Arc<dyn SqliteRuntime>, root: &Path) -> Result<FsDriver> {
    Ok(FsDriver::open(runtime.clone(), root, DriverOptions::new())?)
}

fn measure_wake(
    runtime: &Arc<dyn SqliteRuntime>,
    root: &Path,
    mib: u64,
    wakes: usize,
) -> Result<WakeRow> {
    let driver = driver(runtime, root)?;
    let none: &[(&[u8], &[u8])] = &[];
    driver.create_actor("big", "scale", Vec::new(), none)?;
    // Batches of 7 values of 128 KiB: under the 976 KiB payload limit.
    let value = vec![0x5au8; 131_072];
    let mut batch = 0u64;
    while driver.kv_storage_used("big")? < mib * 1024 * 1024 {
        let entries: Vec<(Vec<u8>, &[u8])> = (0..7)
            .map(|i| (format!("k{batch:08}-{i}").into_bytes(), value.as_slice()))
            .collect();
        driver.kv_put("big", &entries)?;
        batch += 1;
    }
    let size_bytes = driver.kv_storage_used("big")?;
    let mut samples = Vec::with_capacity(wakes);
    for _ in 0..wakes {
        driver.sleep_actor("big", None)?;
        let started = Instant::now();
        driver.load_actor("big")?;
        driver.kv_get_one("big", b"k00000000-0")?;
        samples.push(started.elapsed());
    }
    Ok(WakeRow {
        size_bytes,
        wake: Latency::of(samples),
        ratio_to_smallest: 1.0,
    })
}

fn actor_id(index: usize) -> String {
    format!("actor-{index:06}")
}

fn measure_awake(
    runtime: &Arc<dyn SqliteRuntime>,
    root: &Path,
    actors: usize,
    operations: usize,
    progress: &mut dyn FnMut(&str),
) -> Result<AwakeRow> {
    let driver = Arc::new(driver(runtime, root)?);
    let started = Instant::now();
    create_actors(&driver, actors)?;
    let create_seconds = started.elapsed().as_secs_f64();
    progress(&format!(
        "awake: {actors} actors in {create_seconds:.1} s; random operations"
    ));
    let mut rng = Rng::new(0x5ca1e ^ actors as u64);
    let (mut gets, mut puts) = (Vec::new(), Vec::new());
    let mut errors = 0;
    let phase = Instant::now();
    for op in 0..operations {
        let id = actor_id(rng.below(actors as u64) as usize);
        let started = Instant::now();
        let result = if op % 2 == 0 {
            driver.kv_get_one(&id, b"k").map(|_| ())
        } else {
            driver.kv_put(&id, &[(b"k".as_slice(), rng.value().as_slice())])
        };
        let elapsed = started.elapsed();
        match result {
            Ok(()) if op % 2 == 0 => gets.push(elapsed),
            Ok(()) => puts.push(elapsed),
            Err(_) => errors += 1,
        }
    }
    let ops_per_sec = operations as f64 / phase.elapsed().as_secs_f64();
    let rss_awake_mib = rss_mib();
    let open_descriptors = open_descriptors();
    let open_databases = driver.open_databases();
    for index in 0..actors {
        driver.sleep_actor(&actor_id(index), None)?;
    }
    let rss_asleep_mib = rss_mib();
    trim_heap();
    let rss_trimmed_mib = rss_mib();
    Ok(AwakeRow {
        actors,
        create_seconds,
        get: Latency::of(gets),
        put: Latency::of(puts),
        ops_per_sec,
        errors,
        rss_awake_mib,
        open_descriptors,
        open_databases,
        rss_asleep_mib,
        rss_trimmed_mib,
    })
}

/// Creates `actors` actors from a few threads (each create waits on its own `fsync`s).
fn create_actors(driver: &Arc<FsDriver>, actors: usize) -> Result<()> {
    const THREADS: usize = 8;
    let workers: Vec<_> = (0..THREADS)
        .map(|thread| {
            let driver = driver.clone();
            std::thread::spawn(move || -> std::result::Result<(), String> {
                for index in (thread..actors).step_by(THREADS) {
                    driver
                        .create_actor(&actor_id(index), "scale", Vec::new(), &[(b"k", b"v")])
                        .map_err(|e| e.to_string())?;
                }
                Ok(())
            })
        })
        .collect();
    for worker in workers {
        worker.join().map_err(|_| "a create thread panicked")??;
    }
    Ok(())
}

fn measure_churn(
    runtime: &Arc<dyn SqliteRuntime>,
    root: &Path,
    actors: usize,
    cycles: usize,
) -> Result<ChurnRow> {
    let driver = Arc::new(driver(runtime, root)?);
    create_actors(&driver, actors)?;
    let mut rng = Rng::new(0xc4u64);
    let mut samples = Vec::with_capacity(cycles);
    for _ in 0..cycles {
        let id = actor_id(rng.below(actors as u64) as usize);
        let started = Instant::now();
        driver.sleep_actor(&id, None)?;
        driver.kv_get_one(&id, b"k")?;
        samples.push(started.elapsed());
    }
    Ok(ChurnRow {
        actors,
        cycle: Latency::of(samples),
    })
}

/// Sets this process's descriptor limit (soft and hard, when allowed; soft otherwise).
fn set_descriptor_limit(limit: u64) -> Result<()> {
    let rlimit = libc::rlimit {
        rlim_cur: limit as libc::rlim_t,
        rlim_max: limit as libc::rlim_t,
    };
    // SAFETY: a plain struct passed by reference for the call's duration.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) } == 0 {
        return Ok(());
    }
    Err(format!(
        "cannot set the descriptor limit to {limit}: {}",
        std::io::Error::last_os_error()
    )
    .into())
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kib| kib.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |dir| dir.count())
}

/// Returns free heap pages to the OS (glibc's `malloc_trim`).
fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only releases free memory of the allocator.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The report as Markdown.
pub fn render_scale(report: &ScaleReport) -> String {
    let mut out = String::new();
    let m = &report.machine;
    out.push_str(&format!(
        "Scale benchmark: backend {}, descriptor limit {}; {} ({} CPUs, {} MiB), kernel {}, load {} -> {}\n\n",
        report.backend, report.descriptor_limit, m.cpu, m.cpus, m.memory_mib, m.kernel, m.load_before, m.load_after
    ));
    out.push_str("| wake of an actor of | p50 | p99 | p50 / smallest |\n|---|---:|---:|---:|\n");
    for row in &report.wake {
        out.push_str(&format!(
            "| {:.1} MiB | {:.0} µs | {:.0} µs | {:.2} |\n",
            row.size_bytes as f64 / 1048576.0,
            row.wake.p50_us,
            row.wake.p99_us,
            row.ratio_to_smallest
        ));
    }
    out.push_str("\n| awake actors | create | ops/s | get p50 / p99 | put p50 / p99 | errors | RSS awake | RSS asleep | after trim | descriptors | open dbs |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for row in &report.awake {
        out.push_str(&format!(
            "| {} | {:.1} s | {:.0} | {:.0} / {:.0} µs | {:.0} / {:.0} µs | {} | {:.0} MiB | {:.0} MiB | {:.0} MiB | {} | {} / {} |\n",
            row.actors, row.create_seconds, row.ops_per_sec, row.get.p50_us, row.get.p99_us,
            row.put.p50_us, row.put.p99_us, row.errors, row.rss_awake_mib, row.rss_asleep_mib,
            row.rss_trimmed_mib, row.open_descriptors, row.open_databases.0, row.open_databases.1
        ));
    }
    if let Some(churn) = &report.churn {
        out.push_str(&format!(
            "\nSleep/wake churn over {} actors: p50 {:.0} µs, p99 {:.0} µs per sleep + wake ({} cycles)\n",
            churn.actors, churn.cycle.p50_us, churn.cycle.p99_us, churn.cycle.count
        ));
    }
    out
}
