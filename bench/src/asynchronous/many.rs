//! The many-actors cell: 10,000 actors on a tokio runtime of two threads, tasks doing 90%
//! gets and 10% puts on random actors, with the executor's lateness and the process's
//! threads.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use fs_driver::{AsyncFsDriver, DriverOptions, FsDriver};
use sqlite_runtime::workers::WorkersOptions;

use super::{AsyncConfig, ManyActors};
use crate::Result;
use crate::keys::Rng;

/// Pool threads of the many-actors cell. A worker waits on `fsync` without using a
/// core, so the pool may be larger than the machine's cores.
const POOL_THREADS: usize = 8;

fn actor(index: u64) -> String {
    format!("a{index:06}")
}

/// The process's threads, from `/proc/self/status` (0 where there is none).
fn threads() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Threads:"))
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[index.min(sorted.len() - 1)] as f64 / 1000.0
}

pub(super) fn many_actors(
    config: &AsyncConfig,
    dir: &Path,
    tokio: &tokio::runtime::Runtime,
    progress: &mut dyn FnMut(&str),
) -> Result<ManyActors> {
    let runtime = Arc::new(sqlite_runtime_backends::RusqliteRuntime::new());
    let root = dir.join("many");
    // Every actor's database open at once, as far as the descriptor limit allows (the
    // driver fits the budget to it): what is measured is the async path, not reopens.
    let options = DriverOptions::new().max_open_databases(config.actors as usize);
    let driver = FsDriver::open(runtime, &root, options)?;
    let started = Instant::now();
    for index in 0..config.actors {
        driver.create_actor(&actor(index), "bench", vec![], &[(b"k", b"v")])?;
    }
    progress(&format!(
        "{} actors created in {:.1} s",
        config.actors,
        started.elapsed().as_secs_f64()
    ));
    let open_budget = driver.open_databases().1;
    let driver = AsyncFsDriver::with_options(driver, WorkersOptions::new().threads(POOL_THREADS))?;
    // Every actor woken once (a wake records itself in the actor's state file): what is
    // measured is the steady state of actors that are awake.
    let started = Instant::now();
    tokio.block_on(async {
        for chunk in (0..config.actors).collect::<Vec<_>>().chunks(64) {
            let loads: Vec<_> = chunk.iter().map(|&i| driver.load_actor(actor(i))).collect();
            for load in loads {
                load.await?;
            }
        }
        Ok::<_, crate::BenchError>(())
    })?;
    progress(&format!(
        "{} actors woken in {:.1} s",
        config.actors,
        started.elapsed().as_secs_f64()
    ));
    let time = Duration::from_secs_f64(config.seconds.max(0.01) * 3.0);
    let (actors, tasks) = (config.actors, config.tasks);
    let peak_threads = Arc::new(AtomicU64::new(0));
    let peak = peak_threads.clone();
    let outcome = tokio.block_on(async move {
        let done = Arc::new(AtomicBool::new(false));
        let ticker = {
            let done = done.clone();
            let peak_threads = peak.clone();
            tokio::spawn(async move {
                let mut worst = Duration::ZERO;
                while !done.load(Ordering::Relaxed) {
                    let asked = Instant::now();
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    worst = worst.max(asked.elapsed().saturating_sub(Duration::from_millis(1)));
                    peak_threads.fetch_max(threads(), Ordering::Relaxed);
                }
                worst
            })
        };
        let started = Instant::now();
        let workers: Vec<_> = (0..tasks)
            .map(|task| {
                let driver = driver.clone();
                tokio::spawn(async move {
                    let mut rng = Rng::new(0x3A11 ^ task as u64);
                    let (mut latencies, mut errors) = (Vec::new(), 0u64);
                    while started.elapsed() < time {
                        let id = actor(rng.below(actors));
                        let op = Instant::now();
                        let outcome = if rng.below(10) == 0 {
                            driver
                                .kv_put(id, vec![(b"k".to_vec(), rng.value().to_vec())])
                                .await
                        } else {
                            driver.kv_get_one(id, b"k".to_vec()).await.map(drop)
                        };
                        latencies.push(op.elapsed().as_nanos() as u64);
                        errors += u64::from(outcome.is_err());
                    }
                    (latencies, errors)
                })
            })
            .collect();
        let (mut latencies, mut errors) = (Vec::new(), 0);
        for worker in workers {
            let (mut mine, failed) = worker.await?;
            latencies.append(&mut mine);
            errors += failed;
        }
        let elapsed = started.elapsed();
        done.store(true, Ordering::Relaxed);
        let lateness = ticker.await?;
        Ok::<_, crate::BenchError>((latencies, errors, elapsed, lateness))
    });
    let (mut latencies, errors, elapsed, lateness) = outcome?;
    latencies.sort_unstable();
    let report = ManyActors {
        actors: config.actors,
        tasks: config.tasks,
        ops: latencies.len() as u64,
        errors,
        ops_per_sec: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50_us: percentile(&latencies, 0.5),
        p99_us: percentile(&latencies, 0.99),
        worst_lateness_us: lateness.as_secs_f64() * 1e6,
        threads: peak_threads.load(Ordering::Relaxed),
        pool_threads: POOL_THREADS,
        open_budget,
    };
    progress(&format!(
        "{} actors ({} open at most): {:.0} ops/s, p50 {:.0} µs, p99 {:.0} µs, {} errors, lateness {:.0} µs, {} threads",
        report.actors,
        report.open_budget,
        report.ops_per_sec,
        report.p50_us,
        report.p99_us,
        report.errors,
        report.worst_lateness_us,
        report.threads
    ));
    Ok(report)
}
