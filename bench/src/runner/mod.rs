//! Configuration, the interleaved measurement loop, statistics and target checks, one
//! concern per module; this one runs them in order.

mod config;
mod machine;
mod measure;
mod model;
mod stats;
mod targets;

pub use config::{BenchConfig, SyncLevel, available_variants};
pub use machine::Machine;
pub(crate) use machine::load_average;
pub use model::{BenchReport, Cell, DurabilityRecord, Growth, Row, TargetCheck};

use std::hint::black_box;
use std::time::{Duration, Instant};

use self::measure::*;
use self::stats::*;
use self::targets::*;
use crate::keys::{BATCH_GET, BUCKET, LIST_LIMIT, Op, OpStream, VALUE_LEN, Workload};
use crate::variants::{Settings, Store, Variant, write_template};
use crate::{BenchError, Result};

pub(super) fn sqlite_version() -> String {
    // SAFETY: returns a static NUL-terminated string.
    unsafe { std::ffi::CStr::from_ptr(libsqlite3_sys::sqlite3_libversion()) }
        .to_string_lossy()
        .into_owned()
}

/// A variant opened on a copy of the template of `entries` entries.
pub(super) struct Open {
    pub(super) store: Box<dyn Store>,
    pub(super) variant_index: usize,
    pub(super) entries: u64,
}

/// Opens every variant on a copy of `template` under `dir`.
pub(super) fn settings(config: &BenchConfig, level: SyncLevel) -> Settings {
    Settings {
        synchronous: level.to_synchronous(),
        cache_kib: config.cache_kib,
    }
}

pub(super) fn open_all(
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

pub(super) fn close_all(variants: &[Variant], open: Vec<Open>) -> Result<()> {
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
    // Removed when dropped, whatever happens below.
    let scratch = scratch_dir(config)?;
    let templates = write_templates(config, scratch.path(), progress)?;
    let mut durability: Vec<DurabilityRecord> = Vec::new();
    let cells = measure_cells(
        config,
        &variants,
        scratch.path(),
        &templates,
        &mut durability,
        progress,
    )?;
    let put_growth = measure_put_growth(
        config,
        &variants,
        scratch.path(),
        &templates,
        &mut durability,
        progress,
    )?;
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
        interrupted: config.stopped(),
    })
}

/// The run's temporary directory, under `config.dir` when given.
fn scratch_dir(config: &BenchConfig) -> Result<tempfile::TempDir> {
    let mut builder = tempfile::Builder::new();
    builder.prefix("sqlrt-bench");
    Ok(match &config.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            builder.tempdir_in(dir)?
        }
        None => builder.tempdir()?,
    })
}

/// One template database per actor size, smallest first.
fn write_templates(
    config: &BenchConfig,
    scratch: &std::path::Path,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<(u64, std::path::PathBuf)>> {
    let mut entries_list = config.entries.clone();
    entries_list.sort_unstable();
    entries_list.dedup();
    let mut templates = Vec::new();
    for entries in entries_list {
        let template = scratch.join(format!("template-{entries}.db"));
        let t = Instant::now();
        write_template(&template, entries)?;
        progress(&format!(
            "N = {entries}: template written in {:.2} s",
            t.elapsed().as_secs_f64()
        ));
        templates.push((entries, template));
    }
    Ok(templates)
}

/// Every (size, level, workload) cell, every variant interleaved within a cell; reads
/// run once, under the first level.
fn measure_cells(
    config: &BenchConfig,
    variants: &[Variant],
    scratch: &std::path::Path,
    templates: &[(u64, std::path::PathBuf)],
    durability: &mut Vec<DurabilityRecord>,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<Cell>> {
    let mut cells = Vec::new();
    for (entries, template) in templates {
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
            let pass = scratch.join(format!("n{entries}-{}", level.name()));
            let mut open = open_all(
                config, variants, &pass, template, entries, level, durability,
            )?;
            for workload in workloads {
                if config.stopped() {
                    break;
                }
                // The variants that run this workload first, measured alone.
                open.sort_by_key(|o| {
                    (
                        !variants[o.variant_index].measures(workload),
                        o.variant_index,
                    )
                });
                let running = open
                    .iter()
                    .filter(|o| variants[o.variant_index].measures(workload))
                    .count();
                let series = measure(config, variants, &mut open[..running], workload, progress)?;
                let cell = make_cell(variants, &open[..running], series, workload, entries, level);
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
            close_all(variants, open)?;
            let _ = std::fs::remove_dir_all(&pass);
        }
    }
    Ok(cells)
}

/// Put latency at the largest N over the smallest: every variant at both sizes,
/// interleaved in one cell so that the disk's and the machine's moods hit both alike.
fn measure_put_growth(
    config: &BenchConfig,
    variants: &[Variant],
    scratch: &std::path::Path,
    templates: &[(u64, std::path::PathBuf)],
    durability: &mut Vec<DurabilityRecord>,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<Growth>> {
    let mut put_growth = Vec::new();
    let ([(small, small_template), ..], [.., (large, large_template)]) = (templates, templates)
    else {
        return Ok(put_growth);
    };
    if small >= large || !config.workloads.contains(&Workload::Put) || config.stopped() {
        return Ok(put_growth);
    }
    for &level in &config.sync_levels {
        let pass = scratch.join(format!("growth-{}", level.name()));
        let mut open = open_all(
            config,
            variants,
            &pass.join("small"),
            small_template,
            *small,
            level,
            durability,
        )?;
        open.extend(open_all(
            config,
            variants,
            &pass.join("large"),
            large_template,
            *large,
            level,
            durability,
        )?);
        let series = measure(config, variants, &mut open, Workload::Put, progress)?;
        let count = variants.len();
        for (index, variant) in variants.iter().enumerate() {
            let (a, b) = (&series[index], &series[index + count]);
            if a.error.is_some() || b.error.is_some() {
                continue;
            }
            let (Some(small_thr), Some(large_thr)) = (median_throughput(a), median_throughput(b))
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
        close_all(variants, open)?;
        let _ = std::fs::remove_dir_all(&pass);
    }
    Ok(put_growth)
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

pub(super) fn context(variant: &str, what: &str, error: BenchError) -> BenchError {
    format!("{variant}: {what}: {error}").into()
}

/// Runs one operation; returns its latency (the untimed restore of a range delete is
/// not included).
pub(super) fn run_op(store: &mut dyn Store, op: &Op) -> Result<Duration> {
    let started = Instant::now();
    let checked: Result<()> = match op {
        Op::Get(key) => match black_box(store.get(key)?) {
            Some(value) if value.len() == VALUE_LEN => Ok(()),
            other => Err(format!("get returned {:?} bytes", other.map(|v| v.len())).into()),
        },
        Op::SqlGet(id) => match black_box(store.sql_get(*id)?) {
            Some(value) if value.len() == VALUE_LEN => Ok(()),
            other => Err(format!("sql get returned {:?} bytes", other.map(|v| v.len())).into()),
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

pub(super) fn expect_len(len: usize) -> Result<()> {
    if len == LIST_LIMIT {
        Ok(())
    } else {
        Err(format!("list returned {len} entries, expected {LIST_LIMIT}").into())
    }
}
