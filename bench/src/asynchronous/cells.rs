//! The point cells (get, list, put: every variant, rounds interleaved) and the
//! coalescing cell (64 writers against one).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::stores::{Store, Variant, open_all};
use super::{AsyncCell, AsyncConfig, AsyncRow, CoalescingRow};
use crate::Result;
use crate::keys::{BUCKET, LIST_LIMIT, Rng, key};

/// An operation of the point cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Op {
    Get,
    List,
    Put,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Get => "get",
            Op::List => "list",
            Op::Put => "put",
        }
    }
}

/// Runs one `op` on `store`, checking its result.
pub(super) async fn run_op(store: &Store, op: Op, rng: &mut Rng, entries: u64) -> Result<()> {
    match op {
        Op::Get => {
            let index = rng.below(entries);
            if store.get(&key(index)).await?.is_none() {
                return Err(format!("get of entry {index} found nothing").into());
            }
        }
        Op::List => {
            let bucket = rng.below(entries / BUCKET);
            let found = store
                .list(&key(bucket * BUCKET), &key((bucket + 1) * BUCKET))
                .await?;
            if found != LIST_LIMIT {
                return Err(format!("list found {found} entries, not {LIST_LIMIT}").into());
            }
        }
        Op::Put => store.put(&key(rng.below(entries)), &rng.value()).await?,
    }
    Ok(())
}

/// `tasks` tasks doing `op` on `store` for `time`; operations per second over all.
async fn throughput(
    store: Arc<Variant>,
    op: Op,
    tasks: usize,
    time: Duration,
    entries: u64,
) -> Result<f64> {
    let started = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|task| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut rng = Rng::new(0xA5 ^ task as u64);
                let mut ops = 0u64;
                while started.elapsed() < time {
                    run_op(&store.store, op, &mut rng, entries).await?;
                    ops += 1;
                }
                Ok::<u64, crate::BenchError>(ops)
            })
        })
        .collect();
    let mut total = 0;
    for handle in handles {
        total += handle.await??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// tokio-rusqlite's ops/s for `op` on a copy of `template`, measured by its program.
fn external(
    program: &Path,
    template: &Path,
    dir: &Path,
    op: Op,
    config: &AsyncConfig,
) -> Result<f64> {
    // A fresh copy each round, beside no `-wal` of an earlier one.
    let scratch = tempfile::Builder::new()
        .prefix("tokio-rusqlite")
        .tempdir_in(dir)?;
    let path = scratch.path().join(format!("{}.db", op.name()));
    std::fs::copy(template, &path)?;
    let output = std::process::Command::new(program)
        .arg(&path)
        .arg(op.name())
        .arg(config.seconds.to_string())
        .arg(config.entries.to_string())
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "{}: {}",
            program.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )
        .into());
    }
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace()
        .find_map(|word| word.parse::<f64>().ok())
        .ok_or_else(|| format!("{}: no figure in {text:?}", program.display()).into())
}

fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied()
}

/// Per-round ratios of `a` to `b`, their median.
fn ratio(a: &[f64], b: &[f64]) -> Option<f64> {
    let mut ratios: Vec<f64> = a
        .iter()
        .zip(b)
        .filter(|(_, b)| **b > 0.0)
        .map(|(a, b)| a / b)
        .collect();
    median(&mut ratios)
}

/// Writes the template every variant copies.
fn template(dir: &Path, entries: u64) -> Result<PathBuf> {
    let path = dir.join("template.db");
    crate::variants::write_template(&path, entries)?;
    Ok(path)
}

/// Get, list and put: every variant, interleaved in rounds, with tokio-rusqlite's
/// program between them.
pub(super) fn point_cells(
    config: &AsyncConfig,
    dir: &Path,
    tokio: &tokio::runtime::Runtime,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<AsyncCell>> {
    let template = template(dir, config.entries)?;
    let variants: Vec<Arc<Variant>> = tokio
        .block_on(open_all(&dir.join("point"), &template, config.entries))?
        .into_iter()
        .map(Arc::new)
        .collect();
    let mut cells = Vec::new();
    for op in [Op::Get, Op::List, Op::Put] {
        let mut figures: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
        let mut baseline: Vec<f64> = Vec::new();
        let mut skipped = None;
        for _ in 0..config.rounds {
            for (variant, figures) in variants.iter().zip(&mut figures) {
                let measured =
                    throughput(variant.clone(), op, 1, config.measured(), config.entries);
                figures.push(tokio.block_on(async { tokio::spawn(measured).await })??);
            }
            match &config.tokio_rusqlite {
                Some(program) => baseline.push(external(program, &template, dir, op, config)?),
                None => skipped = Some("not built: tools/tokio-rusqlite/run.sh".to_owned()),
            }
        }
        let sqlx_direct = figures.last().cloned().unwrap_or_default();
        let mut rows: Vec<AsyncRow> = variants
            .iter()
            .zip(&mut figures)
            .map(|(variant, figures)| AsyncRow {
                variant: variant.name.clone(),
                ops_per_sec: median(&mut figures.clone()).unwrap_or(0.0),
                vs_tokio_rusqlite: ratio(figures, &baseline),
                vs_sqlx_direct: ratio(figures, &sqlx_direct),
                skipped: None,
            })
            .collect();
        rows.push(AsyncRow {
            variant: "tokio-rusqlite 0.7 (rusqlite 0.37, its own SQLite)".into(),
            ops_per_sec: median(&mut baseline.clone()).unwrap_or(0.0),
            vs_tokio_rusqlite: None,
            vs_sqlx_direct: ratio(&baseline, &sqlx_direct),
            skipped,
        });
        progress(&format!(
            "{}: {}",
            op.name(),
            rows.iter()
                .map(|r| format!("{} {:.0}/s", r.variant, r.ops_per_sec))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        cells.push(AsyncCell {
            workload: op.name().into(),
            rows,
        });
    }
    Ok(cells)
}

/// `config.writers` writers to one database against one writer, at `synchronous =
/// FULL`: the ratio of their throughputs (median over rounds) per variant.
pub(super) fn coalescing(
    config: &AsyncConfig,
    dir: &Path,
    tokio: &tokio::runtime::Runtime,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<CoalescingRow>> {
    let template = template(dir, config.entries)?;
    let variants: Vec<Arc<Variant>> = tokio
        .block_on(open_all(&dir.join("writers"), &template, config.entries))?
        .into_iter()
        .map(Arc::new)
        .collect();
    let mut rows = Vec::new();
    for variant in &variants {
        let (mut one, mut many) = (Vec::new(), Vec::new());
        for _ in 0..config.rounds {
            let single = throughput(
                variant.clone(),
                Op::Put,
                1,
                config.measured(),
                config.entries,
            );
            one.push(tokio.block_on(async { tokio::spawn(single).await })??);
            let all = throughput(
                variant.clone(),
                Op::Put,
                config.writers,
                config.measured(),
                config.entries,
            );
            many.push(tokio.block_on(async { tokio::spawn(all).await })??);
        }
        let row = CoalescingRow {
            variant: variant.name.clone(),
            one_writer: median(&mut one.clone()).unwrap_or(0.0),
            many_writers: median(&mut many.clone()).unwrap_or(0.0),
            gain: ratio(&many, &one),
        };
        progress(&format!(
            "{} writers, {}: {:.0}/s, one writer {:.0}/s",
            config.writers, row.variant, row.many_writers, row.one_writer
        ));
        rows.push(row);
    }
    Ok(rows)
}
