//! Applying a transition matrix to a set of clean labels: the default (non-nested) draw shared
//! by every class-conditional noise source.

use rand::seq::SliceRandom;
use rand::{Rng, RngExt};

use crate::error::NoiseError;
use crate::matrix::{TransitionMatrix, check_labels, count_transitions};
use crate::model::{NoiseMode, NoiseSpec};

/// The outcome of corrupting a set of labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoisyLabels {
    /// The noisy label of every sample, in the input order; each is in `0..n_classes`.
    pub labels: Vec<usize>,
    /// `flipped[i]` is true when `labels[i]` differs from the clean label.
    pub flipped: Vec<bool>,
    /// Realised transition counts, `transitions[clean][noisy]`; sums to the number of samples.
    pub transitions: Vec<Vec<usize>>,
}

impl NoisyLabels {
    /// Pairs `clean` with `noisy` (same length, both in `0..n_classes`, n_classes ≥ 2): the
    /// flipped mask and the realised transition counts, measured. Errors:
    /// [`NoiseError::LengthMismatch`], [`NoiseError::TooFewClasses`],
    /// [`NoiseError::LabelOutOfRange`] (index into the offending vector).
    pub fn from_pair(
        clean: &[usize],
        noisy: Vec<usize>,
        n_classes: usize,
    ) -> Result<NoisyLabels, NoiseError> {
        if clean.len() != noisy.len() {
            return Err(NoiseError::LengthMismatch {
                clean: clean.len(),
                noisy: noisy.len(),
            });
        }
        if n_classes < 2 {
            return Err(NoiseError::TooFewClasses { n_classes });
        }
        check_labels(clean, n_classes)?;
        check_labels(&noisy, n_classes)?;
        Ok(NoisyLabels::measure(clean, noisy, n_classes))
    }

    /// [`NoisyLabels::from_pair`] for labels already checked.
    pub(crate) fn measure(clean: &[usize], labels: Vec<usize>, n_classes: usize) -> NoisyLabels {
        let transitions = count_transitions(clean, &labels, n_classes);
        let flipped = clean.iter().zip(&labels).map(|(a, b)| a != b).collect();
        NoisyLabels {
            labels,
            flipped,
            transitions,
        }
    }

    /// The number of flipped samples.
    pub fn n_flipped(&self) -> usize {
        self.flipped.iter().filter(|&&flipped| flipped).count()
    }

    /// The realised flip rate, in [0, 1] (0 for an empty set).
    pub fn realised_rate(&self) -> f64 {
        if self.labels.is_empty() {
            0.0
        } else {
            self.n_flipped() as f64 / self.labels.len() as f64
        }
    }

    /// The realised transition matrix, [`NoisyLabels::transitions`] divided by each class's
    /// count (identity rows for classes with no samples; [`TransitionMatrix::from_counts`]).
    pub fn realised_matrix(&self) -> Result<TransitionMatrix, NoiseError> {
        TransitionMatrix::from_counts(&self.transitions)
    }
}

/// Corrupts `clean` (class indices in `0..n_classes`) under `spec`, drawing all randomness from
/// `rng`. The same generator state gives the same result on every platform. This is
/// [`inject_matrix`] on `spec.model.matrix(spec.rate, n_classes)`.
///
/// Errors, in this order: [`NoiseError::RateOutOfRange`], [`NoiseError::TooFewClasses`],
/// [`NoiseError::PresetClassCount`], [`NoiseError::LabelOutOfRange`].
pub fn inject<R: Rng + ?Sized>(
    clean: &[usize],
    n_classes: usize,
    spec: &NoiseSpec,
    rng: &mut R,
) -> Result<NoisyLabels, NoiseError> {
    let matrix = spec.matrix(n_classes)?;
    inject_matrix(clean, &matrix, spec.mode, rng)
}

/// Corrupts `clean` (class indices in `0..matrix.n_classes()`) by drawing each noisy label from
/// its clean class's row of `matrix`, in `mode` (docs/DEFINITIONS.md, `#injection-modes`):
///
/// - [`NoiseMode::Exact`]: exactly `min(round((1 − T[c][c])·n_c), n_c)` samples of each class c
///   flip, chosen without replacement; their destinations are apportioned to the off-diagonal
///   row by largest remainder, so each destination j gets the floor or the ceiling of its share.
/// - [`NoiseMode::Bernoulli`]: each sample draws its label from its row on one uniform number.
///
/// The flipped samples of one rate are unrelated to those of another; see [`inject_nested`]
/// for draws that nest across rates. Errors with [`NoiseError::LabelOutOfRange`] for a clean
/// label outside `0..K`.
///
/// [`inject_nested`]: crate::inject_nested
pub fn inject_matrix<R: Rng + ?Sized>(
    clean: &[usize],
    matrix: &TransitionMatrix,
    mode: NoiseMode,
    rng: &mut R,
) -> Result<NoisyLabels, NoiseError> {
    let n_classes = matrix.n_classes();
    check_labels(clean, n_classes)?;
    let matrix = matrix.rows();
    let mut labels = clean.to_vec();
    match mode {
        NoiseMode::Exact => flip_exact(clean, matrix, &mut labels, rng),
        NoiseMode::Bernoulli => {
            for (label, &class) in labels.iter_mut().zip(clean) {
                *label = draw_from_row(&matrix[class], rng.random::<f64>());
            }
        }
    }
    Ok(NoisyLabels::measure(clean, labels, n_classes))
}

/// Flips exactly `round(off-diagonal mass · n_c)` samples of each class c, chosen without
/// replacement, with destination counts apportioned to the off-diagonal row by largest remainder.
fn flip_exact<R: Rng + ?Sized>(
    clean: &[usize],
    matrix: &[Vec<f64>],
    labels: &mut [usize],
    rng: &mut R,
) {
    for (class, row) in matrix.iter().enumerate() {
        let mut members: Vec<usize> = (0..clean.len()).filter(|&i| clean[i] == class).collect();
        let off_diagonal = 1.0 - row[class];
        let n_flip = ((off_diagonal * members.len() as f64).round() as usize).min(members.len());
        // A user's row may sum to 1 − 1e-7 with nothing off the diagonal: nowhere to flip to.
        let nowhere = row.iter().enumerate().all(|(j, &p)| j == class || p == 0.0);
        if n_flip == 0 || nowhere {
            continue;
        }
        members.shuffle(rng);
        let destinations = apportion(row, class, n_flip, rng);
        for (&sample, &destination) in members.iter().zip(&destinations) {
            labels[sample] = destination;
        }
    }
}

/// Splits `n_flip` flips over the classes other than `class`, in proportion to `row`, by the
/// largest-remainder method; ties in the remainder are broken at random so no class is favoured.
/// Returns one destination per flip.
fn apportion<R: Rng + ?Sized>(row: &[f64], class: usize, n_flip: usize, rng: &mut R) -> Vec<usize> {
    let off_diagonal: f64 = row
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != class)
        .map(|(_, p)| p)
        .sum();
    let mut quotas: Vec<(usize, usize, i64)> = row
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != class)
        .map(|(j, &p)| {
            let quota = n_flip as f64 * p / off_diagonal;
            // Remainders are compared on a coarse grid so that rounding noise in equal shares
            // does not decide ties; the shuffle below does.
            let fraction = ((quota - quota.floor()) * 1e9).round() as i64;
            (j, quota.floor() as usize, fraction)
        })
        .collect();
    quotas.shuffle(rng);
    quotas.sort_by_key(|&(_, _, fraction)| std::cmp::Reverse(fraction));
    let assigned: usize = quotas.iter().map(|&(_, base, _)| base).sum();
    let mut remaining = n_flip.saturating_sub(assigned);
    let mut destinations = Vec::with_capacity(n_flip);
    for &(j, base, _) in &quotas {
        let extra = usize::from(remaining > 0);
        remaining -= extra;
        destinations.extend(std::iter::repeat_n(j, base + extra));
    }
    destinations
}

/// The class whose cumulative probability first exceeds `u` (u in [0, 1)).
pub(crate) fn draw_from_row(row: &[f64], u: f64) -> usize {
    let mut cumulative = 0.0;
    for (j, &p) in row.iter().enumerate() {
        cumulative += p;
        if u < cumulative {
            return j;
        }
    }
    // Rounding can leave the cumulative sum a hair under 1: fall back to the last class with mass.
    row.iter().rposition(|&p| p > 0.0).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NoiseModel;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn balanced_labels(n_classes: usize, per_class: usize) -> Vec<usize> {
        (0..n_classes * per_class).map(|i| i % n_classes).collect()
    }

    fn spec(model: NoiseModel, rate: f64, mode: NoiseMode) -> NoiseSpec {
        NoiseSpec { model, rate, mode }
    }

    #[test]
    fn symmetric_exact_flips_round_rate_times_class_size_and_never_to_self() {
        // 10 classes of 37: round(0.4 · 37) = round(14.8) = 15 flips per class.
        let clean = balanced_labels(10, 37);
        let noisy = inject(
            &clean,
            10,
            &spec(NoiseModel::Symmetric, 0.4, NoiseMode::Exact),
            &mut ChaCha8Rng::seed_from_u64(7),
        )
        .unwrap();
        for class in 0..10 {
            let flipped_here = clean
                .iter()
                .zip(&noisy.flipped)
                .filter(|&(&c, &f)| c == class && f)
                .count();
            assert_eq!(flipped_here, 15, "class {class}");
            let row = &noisy.transitions[class];
            assert_eq!(row[class], 37 - 15);
            // 15 flips over 9 destinations: each gets 1 or 2.
            for (j, &count) in row.iter().enumerate().filter(|&(j, _)| j != class) {
                assert!((1..=2).contains(&count), "{class}→{j}: {count}");
            }
        }
        for (i, (&c, &n)) in clean.iter().zip(&noisy.labels).enumerate() {
            assert_eq!(noisy.flipped[i], c != n);
        }
        assert_eq!(noisy.n_flipped(), 150);
    }

    #[test]
    fn symmetric_at_full_rate_flips_everything() {
        let clean = balanced_labels(3, 20);
        let noisy = inject(
            &clean,
            3,
            &spec(NoiseModel::Symmetric, 1.0, NoiseMode::Exact),
            &mut ChaCha8Rng::seed_from_u64(1),
        )
        .unwrap();
        assert!(noisy.flipped.iter().all(|&f| f));
        for class in 0..3 {
            assert_eq!(noisy.transitions[class][class], 0);
            assert_eq!(noisy.transitions[class].iter().sum::<usize>(), 20);
            // 20 flips over 2 destinations: exactly 10 each.
            for j in (0..3).filter(|&j| j != class) {
                assert_eq!(noisy.transitions[class][j], 10);
            }
        }
    }

    #[test]
    fn pair_flip_sends_each_class_to_the_next() {
        let clean = balanced_labels(4, 50);
        let noisy = inject(
            &clean,
            4,
            &spec(NoiseModel::PairFlip, 0.3, NoiseMode::Exact),
            &mut ChaCha8Rng::seed_from_u64(3),
        )
        .unwrap();
        for (&c, &n) in clean.iter().zip(&noisy.labels) {
            assert!(n == c || n == (c + 1) % 4, "{c} became {n}");
        }
        for class in 0..4 {
            assert_eq!(noisy.transitions[class][(class + 1) % 4], 15);
            assert_eq!(noisy.transitions[class][class], 35);
        }
    }

    #[test]
    fn uniform_exact_flips_the_off_diagonal_share() {
        // Uniform at 0.5 with K = 10 flips 45%: round(0.45 · 100) = 45 per class.
        let clean = balanced_labels(10, 100);
        let noisy = inject(
            &clean,
            10,
            &spec(NoiseModel::Uniform, 0.5, NoiseMode::Exact),
            &mut ChaCha8Rng::seed_from_u64(11),
        )
        .unwrap();
        assert_eq!(noisy.n_flipped(), 450);
        for class in 0..10 {
            for j in (0..10).filter(|&j| j != class) {
                assert_eq!(noisy.transitions[class][j], 5);
            }
        }
    }

    #[test]
    fn same_seed_gives_same_noise_and_other_seed_differs() {
        let clean = balanced_labels(5, 40);
        for mode in [NoiseMode::Exact, NoiseMode::Bernoulli] {
            let s = spec(NoiseModel::Symmetric, 0.3, mode);
            let a = inject(&clean, 5, &s, &mut ChaCha8Rng::seed_from_u64(42)).unwrap();
            let b = inject(&clean, 5, &s, &mut ChaCha8Rng::seed_from_u64(42)).unwrap();
            let c = inject(&clean, 5, &s, &mut ChaCha8Rng::seed_from_u64(43)).unwrap();
            assert_eq!(a, b);
            assert_ne!(a.labels, c.labels);
        }
    }

    #[test]
    fn bernoulli_rate_is_close_to_nominal_and_never_to_self() {
        let clean = balanced_labels(10, 1000);
        let noisy = inject(
            &clean,
            10,
            &spec(NoiseModel::Symmetric, 0.4, NoiseMode::Bernoulli),
            &mut ChaCha8Rng::seed_from_u64(5),
        )
        .unwrap();
        // Binomial(10000, 0.4): sd ≈ 49, so ±250 is five standard deviations.
        assert!(
            (noisy.n_flipped() as i64 - 4000).abs() < 250,
            "{}",
            noisy.n_flipped()
        );
        for (&c, (&n, &f)) in clean.iter().zip(noisy.labels.iter().zip(&noisy.flipped)) {
            assert_eq!(f, c != n);
        }
    }

    #[test]
    fn none_and_zero_rate_change_nothing() {
        let clean = balanced_labels(3, 10);
        for s in [
            spec(NoiseModel::None, 0.8, NoiseMode::Exact),
            spec(NoiseModel::Symmetric, 0.0, NoiseMode::Exact),
            spec(NoiseModel::PairFlip, 0.0, NoiseMode::Bernoulli),
        ] {
            let noisy = inject(&clean, 3, &s, &mut ChaCha8Rng::seed_from_u64(0)).unwrap();
            assert_eq!(noisy.labels, clean);
            assert_eq!(noisy.realised_rate(), 0.0);
        }
    }

    #[test]
    fn invalid_input_is_an_error() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let s = spec(NoiseModel::Symmetric, 1.5, NoiseMode::Exact);
        assert_eq!(
            inject(&[0, 1], 2, &s, &mut rng),
            Err(NoiseError::RateOutOfRange { rate: 1.5 })
        );
        let s = spec(NoiseModel::Symmetric, 0.5, NoiseMode::Exact);
        assert_eq!(
            inject(&[0, 2], 2, &s, &mut rng),
            Err(NoiseError::LabelOutOfRange {
                index: 1,
                label: 2,
                n_classes: 2
            })
        );
        assert_eq!(
            inject(&[0], 1, &s, &mut rng),
            Err(NoiseError::TooFewClasses { n_classes: 1 })
        );
    }
}
