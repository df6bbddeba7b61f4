//! The targets a run is checked against.

use super::model::*;
use crate::keys::Workload;
use crate::variants::VariantKind;

pub(super) fn check_targets(cells: &[Cell], growth: &[Growth]) -> Vec<TargetCheck> {
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
    targets.extend(floor_targets(cells));
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

/// A remote engine's driver against its floor: a put ≥ 0.8× the floor's insert and a
/// get ≥ 0.8× its select (paired, same cell); a 128-entry batch put ≥ 0.5× the floor's
/// single insert (the put cell's floor row, same size and level).
fn floor_targets(cells: &[Cell]) -> Vec<TargetCheck> {
    let floor_of = |cell: &Cell, backend: &Option<String>| {
        cell.rows
            .iter()
            .find(|row| {
                row.kind == VariantKind::Floor && row.backend == *backend && row.error.is_none()
            })
            .map(|row| row.ops_per_sec)
    };
    let mut targets = Vec::new();
    for cell in cells {
        for row in cell
            .rows
            .iter()
            .filter(|row| row.kind == VariantKind::Driver)
        {
            let (ratio, bound, against) = match cell.workload {
                Workload::Put | Workload::Get if floor_of(cell, &row.backend).is_some() => {
                    let Some(ratio) = row.ratio_to_direct else {
                        continue;
                    };
                    (ratio, 0.8, "the floor's same request")
                }
                Workload::BatchPut => {
                    let put_floor = cells
                        .iter()
                        .filter(|c| c.workload == Workload::Put)
                        .filter(|c| c.entries == cell.entries && c.synchronous == cell.synchronous)
                        .find_map(|c| floor_of(c, &row.backend));
                    let Some(floor) = put_floor.filter(|&f| f > 0.0) else {
                        continue;
                    };
                    (row.ops_per_sec / floor, 0.5, "the floor's single insert")
                }
                _ => continue,
            };
            targets.push(TargetCheck {
                target: format!(
                    "{} {} N={} {}: ops/s ÷ {against}",
                    row.variant,
                    cell.workload,
                    cell.entries,
                    cell.synchronous.name()
                ),
                value: ratio,
                bound,
                met: ratio >= bound,
            });
        }
    }
    targets
}
