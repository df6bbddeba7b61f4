//! The text report: Markdown tables, readable in a terminal and pasteable into
//! BENCHMARKS.md.

use std::fmt::Write;

use crate::keys::{KEY_LEN, VALUE_LEN};
use crate::runner::{BenchReport, Cell};

/// Nanoseconds as a short human duration.
fn duration(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// A number with thousands separators.
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A summary table's column title: the workload, with the `synchronous` level for writes.
fn column_title(workload: crate::Workload, level: crate::SyncLevel) -> String {
    if workload.writes() {
        format!("{workload} {}", level.name())
    } else {
        workload.to_string()
    }
}

fn ratio(value: Option<f64>) -> String {
    value.map_or_else(String::new, |r| format!("{r:.2}×"))
}

fn cell_table(out: &mut String, cell: &Cell) {
    let _ = writeln!(
        out,
        "#### {} — {} (N = {}, synchronous = {})\n",
        cell.workload,
        cell.description,
        thousands(cell.entries as f64),
        cell.synchronous.name()
    );
    let _ = writeln!(
        out,
        "| variant | ops/s | p50 | p99 | ÷ raw C API (median paired ratio) | ÷ binding direct or engine floor (median paired ratio) | ops |"
    );
    let _ = writeln!(out, "|---|--:|--:|--:|--:|--:|--:|");
    for row in &cell.rows {
        if let Some(error) = &row.error {
            let _ = writeln!(
                out,
                "| {} | failed: {} | | | | | |",
                row.variant,
                error.replace('|', "/")
            );
            continue;
        }
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            row.variant,
            thousands(row.ops_per_sec),
            duration(row.p50_ns as f64),
            duration(row.p99_ns as f64),
            ratio(row.ratio_to_raw),
            ratio(row.ratio_to_direct),
            row.ops
        );
    }
    out.push('\n');
}

/// Renders the report: setup, one summary table of ratios, the driver rows' KV geometric
/// means, the put growth, the targets, then one table per cell.
pub fn render(report: &BenchReport) -> String {
    let mut out = String::new();
    if report.interrupted {
        let _ = writeln!(
            out,
            "Interrupted: {} cells measured before the stop (the last one may have fewer rounds).\n",
            report.cells.len()
        );
    }
    setup_section(&mut out, report);
    summary_section(&mut out, report);
    geomean_section(&mut out, report);
    growth_section(&mut out, report);
    targets_section(&mut out, report);
    out.push_str("### Per-workload results\n\n");
    for cell in &report.cells {
        cell_table(&mut out, cell);
    }
    out
}

/// The machine, the SQLite, and the durability each connection reported.
fn setup_section(out: &mut String, report: &BenchReport) {
    let m = &report.machine;
    let _ = writeln!(
        out,
        "Machine: {} {} ({}), {} MiB RAM, Linux {}; load average {} before, {} after.",
        m.cpus,
        if m.cpus == 1 { "CPU" } else { "CPUs" },
        m.cpu,
        m.memory_mib,
        m.kernel,
        m.load_before,
        m.load_after
    );
    let _ = writeln!(
        out,
        "SQLite {} (one libsqlite3-sys build for every variant). Keys {KEY_LEN} B, values {VALUE_LEN} B. {} s per cell{}; wall time {:.0} s.\n",
        report.sqlite_version,
        report.config.seconds,
        if report.config.quick { " (quick)" } else { "" },
        report.wall_seconds
    );
    out.push_str("Durability, as each connection reported it:\n\n");
    out.push_str("| variant | requested | journal_mode | synchronous |\n|---|---|---|---|\n");
    for record in &report.durability {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            record.variant,
            record.requested.name(),
            record.reported.journal_mode,
            record.reported.synchronous
        );
    }
    out.push('\n');
}

/// The cell of (`n`, `workload`, `level`), if measured.
fn cell_of(
    report: &BenchReport,
    n: u64,
    (workload, level): (crate::Workload, crate::SyncLevel),
) -> Option<&Cell> {
    report
        .cells
        .iter()
        .find(|c| c.entries == n && c.workload == workload && c.synchronous == level)
}

/// One table row per (variant, N), one column per (workload, level): each variant's
/// median paired ratio to the raw C API; then the raw C API's own throughput.
fn summary_section(out: &mut String, report: &BenchReport) {
    let mut columns: Vec<(crate::Workload, crate::SyncLevel)> = Vec::new();
    for cell in &report.cells {
        if !columns.contains(&(cell.workload, cell.synchronous)) {
            columns.push((cell.workload, cell.synchronous));
        }
    }
    let mut entries: Vec<u64> = report.cells.iter().map(|c| c.entries).collect();
    entries.dedup();
    let header = |out: &mut String, first: &str, align: &str| {
        out.push_str(first);
        for (workload, level) in &columns {
            let _ = write!(out, " {} |", column_title(*workload, *level));
        }
        out.push_str(align);
        out.push_str(&"--:|".repeat(columns.len()));
        out.push('\n');
    };
    out.push_str("Throughput relative to the raw C API: the median over interleaved rounds of each round's ops/s ÷ the raw C API's in the same round (higher is better):\n\n");
    header(out, "| variant | N |", "\n|---|--:|");
    for variant in &report.variants {
        for &n in &entries {
            let _ = write!(out, "| {variant} | {} |", thousands(n as f64));
            for &column in &columns {
                let text = match cell_of(report, n, column).and_then(|c| c.row(variant)) {
                    Some(row) if row.error.is_some() => "failed".to_owned(),
                    Some(row) => ratio(row.ratio_to_raw),
                    None => String::new(),
                };
                let _ = write!(out, " {text} |");
            }
            out.push('\n');
        }
    }
    out.push('\n');
    out.push_str("Raw C API throughput (ops/s) for reference:\n\n");
    header(out, "| N |", "\n|--:|");
    for &n in &entries {
        let _ = write!(out, "| {} |", thousands(n as f64));
        for &column in &columns {
            let value = cell_of(report, n, column)
                .and_then(|c| c.rows.iter().find(|r| r.kind == crate::VariantKind::Raw))
                .map(|r| thousands(r.ops_per_sec))
                .unwrap_or_default();
            let _ = write!(out, " {value} |");
        }
        out.push('\n');
    }
    out.push('\n');
}

/// The geometric mean of `variant`'s ratios to the raw C API over the KV cells (every N
/// and level), and how many cells it covers; `None` without any. The mean is a claim
/// about the driver's KV API, so `sql_get` (the actor's own SQL) is left out: its ratio
/// stays in its own table.
pub(crate) fn kv_geomean(cells: &[Cell], variant: &str) -> Option<(f64, usize)> {
    let logs: Vec<f64> = cells
        .iter()
        .filter(|cell| cell.workload.is_kv())
        .filter_map(|cell| cell.row(variant))
        .filter(|row| row.error.is_none())
        .filter_map(|row| row.ratio_to_raw)
        .filter(|ratio| *ratio > 0.0 && ratio.is_finite())
        .map(f64::ln)
        .collect();
    if logs.is_empty() {
        return None;
    }
    let mean = (logs.iter().sum::<f64>() / logs.len() as f64).exp();
    Some((mean, logs.len()))
}

/// One line per driver variant: its KV geometric mean ([`kv_geomean`]).
fn geomean_section(out: &mut String, report: &BenchReport) {
    let is_driver = |variant: &str| {
        report
            .cells
            .iter()
            .filter_map(|cell| cell.row(variant))
            .any(|row| row.kind == crate::VariantKind::Driver)
    };
    let means: Vec<(&str, f64, usize)> = report
        .variants
        .iter()
        .filter(|variant| is_driver(variant))
        .filter_map(|variant| {
            kv_geomean(&report.cells, variant).map(|(mean, cells)| (variant.as_str(), mean, cells))
        })
        .collect();
    if means.is_empty() {
        return;
    }
    out.push_str("Geometric mean of the driver rows' ratios to the raw C API over the KV workloads (every N and synchronous level; `sql_get`, the actor's own SQL, left out):\n\n");
    out.push_str("| variant | KV geometric mean | cells |\n|---|--:|--:|\n");
    for (variant, mean, cells) in means {
        let _ = writeln!(out, "| {variant} | {mean:.3}× | {cells} |");
    }
    out.push('\n');
}

fn growth_section(out: &mut String, report: &BenchReport) {
    if report.put_growth.is_empty() {
        return;
    }
    out.push_str("Put latency growth with table size: both sizes interleaved in one cell; growth = median over rounds of (batch time at the larger N ÷ at the smaller N); latency = 1 ÷ median-of-rounds ops/s:\n\n");
    out.push_str("| variant | synchronous | latency small N | latency large N | growth | growth of p50 |\n|---|---|--:|--:|--:|--:|\n");
    for g in &report.put_growth {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.2}× | {:.2}× |",
            g.variant,
            g.synchronous.name(),
            duration(g.small_mean_ns),
            duration(g.large_mean_ns),
            g.growth,
            g.growth_p50
        );
    }
    out.push('\n');
}

fn targets_section(out: &mut String, report: &BenchReport) {
    if report.targets.is_empty() {
        return;
    }
    let met = report.targets.iter().filter(|t| t.met).count();
    let _ = writeln!(
        out,
        "Targets: {met} of {} met.\n\n| target | value | bound | met |\n|---|--:|--:|---|",
        report.targets.len()
    );
    for t in &report.targets {
        let _ = writeln!(
            out,
            "| {} | {:.2} | {} | {} |",
            t.target,
            t.value,
            t.bound,
            if t.met { "yes" } else { "**no**" }
        );
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(variant: &str, kind: crate::VariantKind, ratio: f64) -> crate::Row {
        crate::Row {
            variant: variant.to_owned(),
            kind,
            backend: None,
            ops: 1,
            rounds: 1,
            measured_seconds: 1.0,
            ops_per_sec: 1.0,
            ops_per_sec_mean: 1.0,
            mean_ns: 1.0,
            p50_ns: 1,
            p99_ns: 1,
            ratio_to_raw: Some(ratio),
            ratio_to_direct: None,
            error: None,
        }
    }

    #[test]
    fn the_kv_geomean_leaves_sql_get_out() {
        use crate::{SyncLevel, VariantKind, Workload};
        let cell = |workload: Workload, ratio: f64| Cell {
            workload,
            description: workload.description().to_owned(),
            entries: 1000,
            synchronous: SyncLevel::Full,
            rows: vec![
                row("raw C API", VariantKind::Raw, 1.0),
                row("driver/x", VariantKind::Driver, ratio),
            ],
        };
        let cells = [
            cell(Workload::Get, 0.5),
            cell(Workload::Put, 2.0),
            cell(Workload::SqlGet, 0.01),
        ];
        let (mean, count) = kv_geomean(&cells, "driver/x").unwrap();
        assert!((mean - 1.0).abs() < 1e-12 && count == 2, "{mean} {count}");
        assert!(kv_geomean(&cells[2..], "driver/x").is_none());
    }

    #[test]
    fn numbers_are_readable() {
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(12.0), "12");
        assert_eq!(duration(1500.0), "1.5 µs");
        assert_eq!(duration(2_500_000.0), "2.50 ms");
    }
}
