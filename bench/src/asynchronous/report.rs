//! `--async` as Markdown tables.

use std::fmt::Write;

use super::AsyncReport;

fn ratio(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_owned(), |r| format!("{r:.2}×"))
}

/// Renders the async report.
pub fn render_async(report: &AsyncReport) -> String {
    let mut out = String::new();
    let c = &report.config;
    let _ = writeln!(
        out,
        "Async callers on a tokio runtime of 2 threads; {} entries; {} s per variant per round, {} rounds; ratios are medians over rounds of the paired throughputs (higher is better).\n",
        c.entries, c.seconds, c.rounds
    );
    for cell in &report.cells {
        let _ = writeln!(
            out,
            "#### {} (one task, sequential)\n\n| variant | ops/s | ÷ tokio-rusqlite | ÷ sqlx direct |\n|---|--:|--:|--:|",
            cell.workload
        );
        for row in &cell.rows {
            match &row.skipped {
                Some(why) => {
                    let _ = writeln!(out, "| {} | not run: {why} | | |", row.variant);
                }
                None => {
                    let _ = writeln!(
                        out,
                        "| {} | {:.0} | {} | {} |",
                        row.variant,
                        row.ops_per_sec,
                        ratio(row.vs_tokio_rusqlite),
                        ratio(row.vs_sqlx_direct)
                    );
                }
            }
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "#### {} writers to one database (synchronous = FULL)\n\n| variant | one writer, puts/s | {} writers, puts/s | gain |\n|---|--:|--:|--:|",
        c.writers, c.writers
    );
    for row in &report.coalescing {
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.0} | {} |",
            row.variant,
            row.one_writer,
            row.many_writers,
            ratio(row.gain)
        );
    }
    out.push('\n');
    if let Some(many) = &report.many {
        let _ = writeln!(
            out,
            "#### {} actors, {} tasks, 90% get / 10% put (async driver, pool of {} threads, at most {} databases open)\n\n| ops | errors | ops/s | p50 | p99 | worst executor lateness | process threads |\n|--:|--:|--:|--:|--:|--:|--:|\n| {} | {} | {:.0} | {:.0} µs | {:.0} µs | {:.0} µs | {} |\n",
            many.actors,
            many.tasks,
            many.pool_threads,
            many.open_budget,
            many.ops,
            many.errors,
            many.ops_per_sec,
            many.p50_us,
            many.p99_us,
            many.worst_lateness_us,
            many.threads
        );
    }
    out
}
