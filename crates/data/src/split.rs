//! Stratified train/validation/test splits and standardisation fitted on the training split.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::dataset::{DataError, Dataset};

/// Parameters of [`stratified_split`].
#[derive(Debug, Clone, PartialEq)]
pub struct SplitParams {
    /// Share of each class held out for validation, in [0, 1).
    pub validation_fraction: f64,
    /// Share of each class held out for testing, in [0, 1); 0 for data with a separate test set.
    pub test_fraction: f64,
    /// Seed of the shuffle; fixed across the runs of an experiment so all share one split.
    pub seed: u64,
}

/// Row indices into the original data set for each split, each sorted ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Training rows.
    pub train: Vec<usize>,
    /// Validation rows.
    pub validation: Vec<usize>,
    /// Test rows.
    pub test: Vec<usize>,
}

/// Splits every class separately: of its `n_c` samples, `round(test_fraction·n_c)` go to test,
/// `round(validation_fraction·n_c)` to validation and the rest to training, chosen by a shuffle
/// seeded with `params.seed`. Fails if a class would leave the training split empty.
pub fn stratified_split(data: &Dataset, params: &SplitParams) -> Result<Split, DataError> {
    let fraction_ok = |f: f64| (0.0..1.0).contains(&f);
    if !fraction_ok(params.test_fraction) {
        return Err(DataError::InvalidParameter {
            name: "test_fraction",
            value: params.test_fraction.to_string(),
            allowed: "a share in [0, 1)",
        });
    }
    if !fraction_ok(params.validation_fraction)
        || params.validation_fraction + params.test_fraction >= 1.0
    {
        return Err(DataError::InvalidParameter {
            name: "validation_fraction",
            value: params.validation_fraction.to_string(),
            allowed: "a share in [0, 1) that leaves room for training after the test share",
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
    let mut split = Split {
        train: Vec::new(),
        validation: Vec::new(),
        test: Vec::new(),
    };
    for class in 0..data.n_classes {
        let mut members: Vec<usize> = (0..data.n_samples())
            .filter(|&i| data.labels[i] == class)
            .collect();
        members.shuffle(&mut rng);
        let n = members.len();
        let n_test = (params.test_fraction * n as f64).round() as usize;
        let n_validation = (params.validation_fraction * n as f64).round() as usize;
        if n > 0 && n_test + n_validation >= n {
            return Err(DataError::InvalidParameter {
                name: "test_fraction",
                value: params.test_fraction.to_string(),
                allowed: "small enough to leave every class a training sample",
            });
        }
        split.test.extend_from_slice(&members[..n_test]);
        split
            .validation
            .extend_from_slice(&members[n_test..n_test + n_validation]);
        split
            .train
            .extend_from_slice(&members[n_test + n_validation..]);
    }
    split.train.sort_unstable();
    split.validation.sort_unstable();
    split.test.sort_unstable();
    Ok(split)
}

/// A stratified sample of `n` rows of `data` (all rows when `n` ≥ its size): each class keeps a
/// share proportional to its size, rounded by largest remainder so the total is exactly `n`, and
/// the rows are chosen by a shuffle seeded with `seed`. Returns row indices, sorted ascending.
pub fn stratified_subset(data: &Dataset, n: usize, seed: u64) -> Vec<usize> {
    subset_of_labels(&data.labels, data.n_classes, n, seed)
}

/// The sample [`stratified_subset`] draws from `data.subset(rows)`, as rows of `data` (members of
/// `rows`, in their order) rather than positions in `rows`, and without copying any features:
/// only the labels of `rows` are looked at.
pub fn stratified_subset_of(data: &Dataset, rows: &[usize], n: usize, seed: u64) -> Vec<usize> {
    let labels: Vec<usize> = rows.iter().map(|&row| data.labels[row]).collect();
    subset_of_labels(&labels, data.n_classes, n, seed)
        .into_iter()
        .map(|position| rows[position])
        .collect()
}

/// [`stratified_subset`] of the samples with these labels, each below `n_classes`.
fn subset_of_labels(labels: &[usize], n_classes: usize, n: usize, seed: u64) -> Vec<usize> {
    let total = labels.len();
    if n >= total {
        return (0..total).collect();
    }
    let mut counts = vec![0; n_classes];
    for &label in labels {
        counts[label] += 1;
    }
    let quotas: Vec<f64> = counts
        .iter()
        .map(|&c| n as f64 * c as f64 / total as f64)
        .collect();
    let mut keep: Vec<usize> = quotas.iter().map(|q| q.floor() as usize).collect();
    let mut by_remainder: Vec<usize> = (0..counts.len()).collect();
    // Largest remainder first; equal remainders go to the lower class index.
    by_remainder.sort_by(|&a, &b| {
        let fraction = |c: usize| quotas[c] - quotas[c].floor();
        fraction(b).total_cmp(&fraction(a)).then(a.cmp(&b))
    });
    let short = n - keep.iter().sum::<usize>();
    for &class in by_remainder.iter().take(short) {
        keep[class] += 1;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rows = Vec::with_capacity(n);
    for (class, &k) in keep.iter().enumerate() {
        let mut members: Vec<usize> = (0..total).filter(|&i| labels[i] == class).collect();
        members.shuffle(&mut rng);
        rows.extend_from_slice(&members[..k.min(members.len())]);
    }
    rows.sort_unstable();
    rows
}

/// Per-feature standardisation `(x − mean) / std`.
#[derive(Debug, Clone, PartialEq)]
pub struct Standardizer {
    /// Mean of each feature on the data it was fitted on.
    pub mean: Vec<f32>,
    /// Population standard deviation of each feature; a constant feature gets 1 so it maps to 0.
    pub std: Vec<f32>,
}

impl Standardizer {
    /// Fits the mean and standard deviation of every feature of `data` (in `f64`).
    pub fn fit(data: &Dataset) -> Standardizer {
        let d = data.n_features;
        let n = data.n_samples().max(1) as f64;
        let mut sum = vec![0.0f64; d];
        let mut sum_sq = vec![0.0f64; d];
        for row in data.features.chunks_exact(d) {
            for (j, &x) in row.iter().enumerate() {
                sum[j] += f64::from(x);
                sum_sq[j] += f64::from(x) * f64::from(x);
            }
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
        let std = sum_sq
            .iter()
            .zip(&mean)
            .map(|(sq, m)| {
                let variance = (sq / n - m * m).max(0.0);
                if variance > 1e-12 {
                    variance.sqrt() as f32
                } else {
                    1.0
                }
            })
            .collect();
        Standardizer {
            mean: mean.iter().map(|&m| m as f32).collect(),
            std,
        }
    }

    /// Standardises `data` in place.
    pub fn apply(&self, data: &mut Dataset) {
        for row in data.features.chunks_exact_mut(data.n_features) {
            for ((x, m), s) in row.iter_mut().zip(&self.mean).zip(&self.std) {
                *x = (*x - m) / s;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digits;

    #[test]
    fn split_is_stratified_disjoint_and_seeded() {
        let data = digits().unwrap();
        let params = SplitParams {
            validation_fraction: 0.1,
            test_fraction: 0.2,
            seed: 3,
        };
        let split = stratified_split(&data, &params).unwrap();
        let mut all: Vec<usize> = [&split.train[..], &split.validation, &split.test].concat();
        all.sort_unstable();
        assert_eq!(all, (0..1797).collect::<Vec<_>>());
        let counts = data.class_counts();
        let test_counts = data.subset(&split.test).class_counts();
        for (c, (&n, &t)) in counts.iter().zip(&test_counts).enumerate() {
            assert_eq!(t, (0.2 * n as f64).round() as usize, "class {c}");
        }
        assert_eq!(split, stratified_split(&data, &params).unwrap());
        let other = stratified_split(&data, &SplitParams { seed: 4, ..params }).unwrap();
        assert_ne!(split.test, other.test);
    }

    #[test]
    fn standardizer_uses_only_the_data_it_was_fitted_on() {
        let train = Dataset {
            name: "t".into(),
            features: vec![1.0, 5.0, 3.0, 5.0],
            labels: vec![0, 1],
            n_features: 2,
            n_classes: 2,
            class_names: crate::numbered_class_names(2),
            image_shape: None,
        };
        let scaler = Standardizer::fit(&train);
        assert_eq!(scaler.mean, vec![2.0, 5.0]);
        assert_eq!(scaler.std, vec![1.0, 1.0]);
        let mut test = Dataset {
            features: vec![4.0, 7.0],
            labels: vec![0],
            ..train.clone()
        };
        scaler.apply(&mut test);
        // The test row is scaled with the training statistics, not its own.
        assert_eq!(test.features, vec![2.0, 2.0]);
    }

    #[test]
    fn subset_is_stratified_exact_and_seeded() {
        let data = digits().unwrap();
        let rows = stratified_subset(&data, 100, 1);
        assert_eq!(rows.len(), 100);
        let counts = data.subset(&rows).class_counts();
        // 1,797 digits in 10 nearly equal classes: 10 of each.
        assert!(counts.iter().all(|&c| c == 10), "{counts:?}");
        assert_eq!(rows, stratified_subset(&data, 100, 1));
        assert_ne!(rows, stratified_subset(&data, 100, 2));
        assert_eq!(stratified_subset(&data, 5000, 1).len(), 1797);
    }

    #[test]
    fn subset_of_rows_is_the_subset_of_their_copy() {
        let data = digits().unwrap();
        let rows: Vec<usize> = (0..data.n_samples()).filter(|i| i % 3 != 1).collect();
        for (n, seed) in [(0, 1), (1, 1), (100, 1), (100, 2), (1000, 3), (5000, 1)] {
            let positions = stratified_subset(&data.subset(&rows), n, seed);
            let expected: Vec<usize> = positions.iter().map(|&p| rows[p]).collect();
            assert_eq!(stratified_subset_of(&data, &rows, n, seed), expected);
        }
    }

    #[test]
    fn a_zero_test_fraction_leaves_the_test_split_empty() {
        let data = digits().unwrap();
        let params = SplitParams {
            validation_fraction: 0.1,
            test_fraction: 0.0,
            seed: 0,
        };
        let split = stratified_split(&data, &params).unwrap();
        assert!(split.test.is_empty());
        assert_eq!(split.train.len() + split.validation.len(), 1797);
    }

    #[test]
    fn fractions_that_leave_no_training_data_are_rejected() {
        let data = digits().unwrap();
        let error = stratified_split(
            &data,
            &SplitParams {
                validation_fraction: 0.5,
                test_fraction: 0.5,
                seed: 0,
            },
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("validation_fraction = 0.5 is invalid")
        );
    }
}
