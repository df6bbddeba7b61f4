//! A tiny configuration runs every variant on every workload and yields sane numbers
//! (no timing assertions: the machine is shared and noisy).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sqlrt_bench::{BenchConfig, SyncLevel, VariantKind, Workload, available_variants, render, run};

#[test]
fn every_variant_runs_every_workload() {
    let config = BenchConfig::tiny();
    let variants = available_variants(&config).unwrap();
    let compiled = sqlite_runtime_backends::configured_backends().len();
    assert_eq!(variants.len(), 1 + compiled + 2, "{variants:?}");

    let report = run(&config, &mut |_| {}).unwrap();
    // Reads once (FULL), writes under FULL and NORMAL.
    let reads = Workload::ALL.iter().filter(|w| !w.writes()).count();
    let writes = Workload::ALL.len() - reads;
    assert_eq!(report.cells.len(), 2 * (reads + 2 * writes));
    // Put growth: every variant, under both levels.
    assert_eq!(report.put_growth.len(), 2 * variants.len());
    for growth in &report.put_growth {
        assert!(
            growth.growth > 0.0 && growth.growth.is_finite(),
            "{growth:?}"
        );
    }
    for cell in &report.cells {
        assert_eq!(cell.rows.len(), variants.len(), "{}", cell.workload);
        for row in &cell.rows {
            assert!(
                row.ops >= config.min_ops,
                "{} {}",
                cell.workload,
                row.variant
            );
            assert!(row.ops_per_sec > 0.0 && row.ops_per_sec.is_finite());
            assert!(row.p50_ns > 0 && row.p50_ns <= row.p99_ns);
            let ratio = row.ratio_to_raw.unwrap();
            assert!(ratio > 0.0 && ratio.is_finite());
            if row.kind == VariantKind::Raw {
                assert!((ratio - 1.0).abs() < 1e-9);
            }
        }
    }
    // Every connection reports WAL and the level asked for.
    assert!(!report.durability.is_empty());
    for record in &report.durability {
        assert_eq!(record.reported.journal_mode, "WAL", "{record:?}");
        assert_eq!(
            record.reported.synchronous,
            record.requested.name(),
            "{record:?}"
        );
    }
    assert!(
        report
            .durability
            .iter()
            .any(|r| r.requested == SyncLevel::Normal)
    );

    // The SQL workload ran at every N, and the KV geometric mean is printed beside it.
    let sql_cells = report
        .cells
        .iter()
        .filter(|c| c.workload == Workload::SqlGet)
        .count();
    assert_eq!(sql_cells, config.entries.len());

    let text = render(&report);
    assert!(text.contains("raw C API") && text.contains("put"), "{text}");
    assert!(
        text.contains("#### sql_get") && text.contains("KV geometric mean"),
        "{text}"
    );
    let json = serde_json::to_value(&report).unwrap();
    assert!(
        json["cells"]
            .as_array()
            .is_some_and(|cells| !cells.is_empty())
    );
}
