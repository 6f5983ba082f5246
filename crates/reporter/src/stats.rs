//! Summary statistics over seeds: mean, standard deviation, a Student-t 95% interval, a
//! percentile-bootstrap 95% interval and the trapezoid area under a curve, as defined in
//! docs/DEFINITIONS.md, section "Statistics over seeds" (`#statistics-over-seeds`).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Two-sided 95% Student-t quantiles `t_{0.975, df}` for df = 1..=30 (scipy.stats.t.ppf(0.975, df),
/// rounded to 9 decimals).
const T_975: [f64; 30] = [
    12.706204736,
    4.302652730,
    3.182446305,
    2.776445105,
    2.570581836,
    2.446911851,
    2.364624252,
    2.306004135,
    2.262157163,
    2.228138852,
    2.200985160,
    2.178812830,
    2.160368656,
    2.144786688,
    2.131449546,
    2.119905299,
    2.109815578,
    2.100922040,
    2.093024054,
    2.085963447,
    2.079613845,
    2.073873068,
    2.068657610,
    2.063898562,
    2.059538553,
    2.055529439,
    2.051830516,
    2.048407142,
    2.045229642,
    2.042272456,
];

/// The 0.975 quantile of Student's t with `df ≥ 1` degrees of freedom: a table up to 30, then the
/// Cornish–Fisher expansion around the normal quantile (error below 1e-5 there).
pub fn student_t_975(df: usize) -> f64 {
    assert!(df >= 1, "Student t needs at least one degree of freedom");
    if df <= T_975.len() {
        return T_975[df - 1];
    }
    let z: f64 = 1.959963984540054;
    let v = df as f64;
    let (z3, z5, z7) = (z.powi(3), z.powi(5), z.powi(7));
    z + (z3 + z) / (4.0 * v)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * v * v)
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * v * v * v)
}

/// Mean and spread of one metric over n values (seeds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Number of values.
    pub n: usize,
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (n − 1 in the denominator); `None` for n = 1.
    pub std: Option<f64>,
    /// Lower end of the 95% interval `mean − t_{0.975, n−1}·std/√n`; `None` for n = 1.
    pub ci_low: Option<f64>,
    /// Upper end of the 95% interval; `None` for n = 1.
    pub ci_high: Option<f64>,
}

/// Fewest values (paired seeds) whose 95% interval the report judges: with fewer, a mean
/// difference is never called significant, however narrow its interval.
pub const MIN_SAMPLES_FOR_INTERVAL: usize = 3;

/// Standard deviations at or below this count as no spread: the CSVs round to 6 decimals, so
/// differences of equal values that read back unequal differ by float error only.
const NO_SPREAD: f64 = 1e-9;

/// Why an [`Estimate`]'s interval cannot be judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoInterval {
    /// Fewer than [`MIN_SAMPLES_FOR_INTERVAL`] values (the count).
    TooFew(usize),
    /// Enough values, but all equal: the interval has width zero (the count).
    NoSpread(usize),
}

impl Estimate {
    /// Whether the interval can be judged: at least [`MIN_SAMPLES_FOR_INTERVAL`] values, not all
    /// equal; otherwise why not.
    pub fn interval_estimable(&self) -> Result<(f64, f64), NoInterval> {
        if self.n < MIN_SAMPLES_FOR_INTERVAL {
            return Err(NoInterval::TooFew(self.n));
        }
        match (self.std, self.ci_low, self.ci_high) {
            (Some(std), Some(low), Some(high)) if std > NO_SPREAD => Ok((low, high)),
            _ => Err(NoInterval::NoSpread(self.n)),
        }
    }

    /// `Some(true)` when the interval can be judged and lies entirely above or below 0,
    /// `Some(false)` when it contains 0, `None` when it cannot be judged (see
    /// [`Estimate::interval_estimable`]).
    pub fn excludes_zero(&self) -> Option<bool> {
        self.interval_estimable()
            .ok()
            .map(|(low, high)| low > 0.0 || high < 0.0)
    }
}

/// The [`Estimate`] of `values`, or `None` when there are none. Sums run in the given order.
pub fn estimate(values: &[f64]) -> Option<Estimate> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return Some(Estimate {
            n,
            mean,
            std: None,
            ci_low: None,
            ci_high: None,
        });
    }
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let std = variance.sqrt();
    let half_width = student_t_975(n - 1) * std / (n as f64).sqrt();
    Some(Estimate {
        n,
        mean,
        std: Some(std),
        ci_low: Some(mean - half_width),
        ci_high: Some(mean + half_width),
    })
}

/// The distinct values of `values` in increasing order (the noise rates, ε values or epochs of a
/// set of rows).
pub(crate) fn sorted_unique(values: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut values: Vec<f64> = values.into_iter().collect();
    values.sort_by(f64::total_cmp);
    values.dedup();
    values
}

/// Resamples drawn by [`bootstrap_interval`].
pub const BOOTSTRAP_RESAMPLES: usize = 10_000;

/// The generator seed of [`bootstrap_interval`]: fixed, so the same values always give the same
/// interval.
pub const BOOTSTRAP_SEED: u64 = 20_190_612;

/// Smallest sample for which `paired.csv` reports a bootstrap interval; with fewer values the
/// resampled means take too few distinct values for their percentiles to mean much.
pub const BOOTSTRAP_MIN_SAMPLES: usize = 10;

/// The percentile-bootstrap 95% interval of the mean of `values` (Efron & Tibshirani 1993, §13.3):
/// `resamples` times, draw `values.len()` values with replacement (ChaCha8 seeded with `seed`)
/// and take their mean; the interval runs from the 2.5th to the 97.5th percentile of those means
/// (linear interpolation between order statistics, numpy's default). `None` for an empty sample or
/// no resamples.
pub fn bootstrap_interval(values: &[f64], resamples: usize, seed: u64) -> Option<(f64, f64)> {
    let n = values.len();
    if n == 0 || resamples == 0 {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut means: Vec<f64> = (0..resamples)
        .map(|_| (0..n).map(|_| values[rng.random_range(0..n)]).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    Some((percentile(&means, 0.025), percentile(&means, 0.975)))
}

/// The `q`-quantile (q in [0, 1]) of sorted `values`, interpolating linearly between the order
/// statistics at ranks `q·(n − 1)`.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let rank = q * (sorted.len() - 1) as f64;
    let below = rank.floor() as usize;
    let above = rank.ceil() as usize;
    sorted[below] + (sorted[above] - sorted[below]) * (rank - below as f64)
}

/// The trapezoid-rule area under the curve through `points` (x, y), taken in the given order:
/// `Σ (x_{i+1} − x_i)·(y_i + y_{i+1})/2`. Zero for fewer than two points.
pub fn trapezoid_area(points: &[(f64, f64)]) -> f64 {
    points
        .windows(2)
        .map(|pair| (pair[1].0 - pair[0].0) * (pair[0].1 + pair[1].1) / 2.0)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trapezoid_area_by_hand() {
        // Rates 0, 0.2, 0.6 with accuracies 1.0, 0.8, 0.4:
        // 0.2·(1.0 + 0.8)/2 + 0.4·(0.8 + 0.4)/2 = 0.18 + 0.24 = 0.42.
        let area = trapezoid_area(&[(0.0, 1.0), (0.2, 0.8), (0.6, 0.4)]);
        assert!((area - 0.42).abs() < 1e-12, "{area}");
        assert_eq!(trapezoid_area(&[(0.3, 0.9)]), 0.0);
        assert_eq!(trapezoid_area(&[]), 0.0);
    }

    #[test]
    fn percentiles_interpolate_like_numpy() {
        // numpy.percentile([1, 2, 3, 4], [2.5, 97.5]) → [1.075, 3.925].
        let sorted = [1.0, 2.0, 3.0, 4.0];
        assert!((percentile(&sorted, 0.025) - 1.075).abs() < 1e-12);
        assert!((percentile(&sorted, 0.975) - 3.925).abs() < 1e-12);
        assert_eq!(percentile(&[7.0], 0.5), 7.0);
    }

    #[test]
    fn the_bootstrap_is_fixed_by_its_seed() {
        let values: Vec<f64> = (0..12)
            .map(|i| 0.1 + 0.03 * (f64::from(i) * 1.618_034).fract())
            .collect();
        let a = bootstrap_interval(&values, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED).unwrap();
        // The same seed gives the same bits; another seed gives another interval.
        assert_eq!(
            a,
            bootstrap_interval(&values, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED).unwrap()
        );
        assert_ne!(
            a,
            bootstrap_interval(&values, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED + 1).unwrap()
        );
        // The interval brackets the mean and, for this near-normal sample, is close to the
        // Student-t interval (the bootstrap is somewhat narrower, as it ignores the t tails).
        let t = estimate(&values).unwrap();
        assert!(a.0 < t.mean && t.mean < a.1, "{a:?} {t:?}");
        let (t_low, t_high) = (t.ci_low.unwrap(), t.ci_high.unwrap());
        assert!((a.0 - t_low).abs() < 0.3 * (t_high - t_low), "{a:?} {t:?}");
        assert!((a.1 - t_high).abs() < 0.3 * (t_high - t_low), "{a:?} {t:?}");
        // A constant sample has a zero-width interval; nothing to resample gives none.
        assert_eq!(bootstrap_interval(&[0.5; 10], 100, 1), Some((0.5, 0.5)));
        assert_eq!(bootstrap_interval(&[], 100, 1), None);
    }

    #[test]
    fn t_quantiles_match_scipy() {
        // scipy.stats.t.ppf(0.975, df) for df = 2, 40, 60, 120, 1000.
        for (df, expected) in [
            (2, 4.30265273),
            (40, 2.021075390306273),
            (60, 2.0002978220142604),
            (120, 1.9799304050824402),
            (1000, 1.9623390808264083),
        ] {
            assert!((student_t_975(df) - expected).abs() < 1e-5, "df {df}");
        }
    }

    #[test]
    fn estimate_matches_a_hand_computed_interval() {
        // numpy/scipy: x = [0.9, 0.8, 0.85]; mean 0.85, std(ddof=1) 0.05,
        // t.ppf(0.975, 2)·0.05/√3 → [0.7257931144124836, 0.9742068855875166].
        let e = estimate(&[0.9, 0.8, 0.85]).unwrap();
        assert_eq!(e.n, 3);
        assert!((e.mean - 0.85).abs() < 1e-12);
        assert!((e.std.unwrap() - 0.05).abs() < 1e-12);
        assert!((e.ci_low.unwrap() - 0.7257931144124836).abs() < 1e-9);
        assert!((e.ci_high.unwrap() - 0.9742068855875166).abs() < 1e-9);
    }

    #[test]
    fn single_and_empty_samples() {
        let e = estimate(&[0.5]).unwrap();
        assert_eq!((e.mean, e.std, e.ci_low), (0.5, None, None));
        assert_eq!(estimate(&[]), None);
    }
}
