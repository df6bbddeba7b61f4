//! Statistics over rounds: medians, paired ratios, percentiles.

use super::measure::*;

/// The median over rounds of a series' batch throughput (ops/s).
pub(super) fn median_throughput(series: &Series) -> Option<f64> {
    let mut throughputs: Vec<f64> = series
        .batches
        .iter()
        .map(|&(ops, ns)| ops as f64 * 1e9 / ns as f64)
        .collect();
    median(&mut throughputs)
}

/// The throughput of `a` relative to `b`: the median over rounds of their paired batch
/// throughputs (same operations, same moment), robust to noise bursts.
pub(super) fn paired_ratio(a: &Series, b: &Series) -> Option<f64> {
    let mut ratios: Vec<f64> = a
        .batches
        .iter()
        .zip(&b.batches)
        .map(|(&(_, ta), &(_, tb))| tb as f64 / ta as f64)
        .collect();
    median(&mut ratios)
}

/// The median (mean of the two middle values for an even count); `None` when empty.
pub(super) fn median(values: &mut [f64]) -> Option<f64> {
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
pub(super) fn percentile(sorted: &[u64], quantile: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (quantile * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
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
