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
