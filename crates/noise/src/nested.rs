//! Nested draws: one generator state flips, at a lower rate, a subset of the samples it flips at a
//! higher rate (docs/DEFINITIONS.md, `#nested-draws`).
//!
//! Everything random is drawn before the matrix is looked at, and how much is drawn depends only
//! on the clean labels and K, never on T: a per-class order of the samples (exact mode) or two
//! uniform numbers per sample (Bernoulli mode). T then only decides how far down that order, or
//! below which threshold, samples flip, so a larger off-diagonal mass flips a superset.

use rand::seq::SliceRandom;
use rand::{Rng, RngExt};

use crate::error::NoiseError;
use crate::inject::NoisyLabels;
use crate::matrix::{TransitionMatrix, check_labels};
use crate::model::NoiseMode;

/// Relative slack in the comparisons of [`balanced_destinations`], so that two matrices whose
/// normalised rows differ only by rounding (a matrix and its [`TransitionMatrix::scaled`] forms)
/// pick the same destinations.
const SLACK: f64 = 1e-9;

/// Corrupts `clean` with `matrix` like [`crate::inject_matrix`], but so that draws nest across
/// matrices (docs/DEFINITIONS.md, `#nested-draws`).
///
/// Guarantee: for one generator state, the same `clean` and `mode`, and two matrices A and B with
/// `A[c][c] ≥ B[c][c]` for every class c (B flips each class at least as often, e.g. a model at
/// rates ρ_A ≤ ρ_B), every sample flipped under A is flipped under B. When A and B also have the
/// same off-diagonal proportions `T[c][j] / (1 − T[c][c])` (any built-in model at two rates, or
/// [`TransitionMatrix::scaled`] of one matrix), such a sample also gets the same noisy label.
///
/// - [`NoiseMode::Exact`]: per class c, one uniformly random order of its samples and one random
///   order of the K classes (for ties) are drawn; the first
///   `f_c = min(round((1 − T[c][c])·n_c), n_c)` samples of the order flip, as many as in
///   [`crate::inject_matrix`]. The k-th of them goes to the k-th class of a fixed balanced
///   sequence over the destinations j ≠ c with shares `T[c][j] / (1 − T[c][c])`, so each
///   destination gets the floor or the ceiling of its share of f_c, for every f_c.
/// - [`NoiseMode::Bernoulli`]: each sample draws two uniform numbers u, v in [0, 1); it flips
///   when `u < 1 − T[c][c]`, to the class where v falls in the cumulative off-diagonal shares.
///   The marginal law of each label is its row of T, as in [`crate::inject_matrix`].
///
/// The labels differ from those of [`crate::inject_matrix`] for the same generator state.
/// Errors with [`NoiseError::LabelOutOfRange`] for a clean label outside `0..K`.
pub fn inject_nested<R: Rng + ?Sized>(
    clean: &[usize],
    matrix: &TransitionMatrix,
    mode: NoiseMode,
    rng: &mut R,
) -> Result<NoisyLabels, NoiseError> {
    let n_classes = matrix.n_classes();
    check_labels(clean, n_classes)?;
    let mut labels = clean.to_vec();
    match mode {
        NoiseMode::Exact => {
            for class in 0..n_classes {
                let mut members: Vec<usize> =
                    (0..clean.len()).filter(|&i| clean[i] == class).collect();
                members.shuffle(rng);
                let mut tie_order: Vec<usize> = (0..n_classes).collect();
                tie_order.shuffle(rng);
                let row = matrix.row(class);
                let Some(shares) = destination_shares(row, class) else {
                    continue;
                };
                let mass = 1.0 - row[class];
                let n_flip = ((mass * members.len() as f64).round() as usize).min(members.len());
                let destinations = balanced_destinations(&shares, &tie_order, n_flip);
                for (&sample, &destination) in members.iter().zip(&destinations) {
                    labels[sample] = destination;
                }
            }
        }
        NoiseMode::Bernoulli => {
            let uniforms: Vec<(f64, f64)> = (0..clean.len())
                .map(|_| (rng.random::<f64>(), rng.random::<f64>()))
                .collect();
            let shares: Vec<Option<Vec<f64>>> = (0..n_classes)
                .map(|class| destination_shares(matrix.row(class), class))
                .collect();
            for ((label, &class), &(u, v)) in labels.iter_mut().zip(clean).zip(&uniforms) {
                let Some(shares) = &shares[class] else {
                    continue;
                };
                if u < 1.0 - matrix.row(class)[class] {
                    *label = draw_from_shares(shares, v);
                }
            }
        }
    }
    Ok(NoisyLabels::measure(clean, labels, n_classes))
}

/// The off-diagonal part of `row` normalised to sum to 1 (0 at `class`), or `None` when it has
/// no mass: such a class never flips.
fn destination_shares(row: &[f64], class: usize) -> Option<Vec<f64>> {
    let off_diagonal: f64 = crate::matrix::off_diagonal_mass(row, class);
    (off_diagonal > 0.0).then(|| {
        row.iter()
            .enumerate()
            .map(|(j, &p)| if j == class { 0.0 } else { p / off_diagonal })
            .collect()
    })
}

/// The class where `v` (in [0, 1)) falls in the cumulative `shares`; the last class with a share
/// when rounding leaves the sum a hair under 1.
pub(crate) fn draw_from_shares(shares: &[f64], v: f64) -> usize {
    let mut cumulative = 0.0;
    for (j, &p) in shares.iter().enumerate() {
        cumulative += p;
        if p > 0.0 && v < cumulative {
            return j;
        }
    }
    shares.iter().rposition(|&p| p > 0.0).unwrap_or(0)
}

/// The first `n` terms of a sequence over the classes with `shares[j] > 0` whose every prefix of
/// length t gives class j the floor or the ceiling of `t·shares[j]` terms.
///
/// It is an earliest-deadline-first schedule: the (m + 1)-th term of class j becomes available at
/// time m / p_j and is due by (m + 1) / p_j; step t (covering time t to t + 1) takes the available
/// class due first, ties going to the class earliest in `tie_order`. Because the shares sum to 1,
/// no interval of time holds more due terms than steps, so every term is placed in time: after t
/// steps class j has at least ⌊t·p_j⌋ terms (all those due) and at most ⌈t·p_j⌉ (all those
/// available). The test below checks it on random shares.
fn balanced_destinations(shares: &[f64], tie_order: &[usize], n: usize) -> Vec<usize> {
    let mut counts = vec![0usize; shares.len()];
    let mut sequence = Vec::with_capacity(n);
    for step in 0..n {
        let time = step as f64;
        let mut best: Option<(usize, f64)> = None;
        for &j in tie_order {
            let p = shares[j];
            if p <= 0.0 {
                continue;
            }
            let due_so_far = time * p;
            if counts[j] as f64 > due_so_far + SLACK * (1.0 + due_so_far) {
                continue;
            }
            let deadline = (counts[j] + 1) as f64 / p;
            if best.is_none_or(|(_, earliest)| deadline < earliest * (1.0 - SLACK)) {
                best = Some((j, deadline));
            }
        }
        // Some class is always available: the counts sum to `step` = Σ_j step·p_j.
        let (j, _) = best.expect("a class with a positive share is available");
        counts[j] += 1;
        sequence.push(j);
    }
    sequence
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn balanced_sequence_stays_within_one_of_every_share() {
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        for _ in 0..300 {
            let k = rng.random_range(2..9usize);
            let weights: Vec<f64> = (0..k)
                .map(|_| {
                    if rng.random::<f64>() < 0.3 {
                        0.0
                    } else {
                        rng.random_range(1..20u32) as f64
                    }
                })
                .collect();
            let total: f64 = weights.iter().sum();
            if total == 0.0 {
                continue;
            }
            let shares: Vec<f64> = weights.iter().map(|w| w / total).collect();
            let mut tie_order: Vec<usize> = (0..k).collect();
            tie_order.shuffle(&mut rng);
            let sequence = balanced_destinations(&shares, &tie_order, 150);
            let mut counts = vec![0usize; k];
            for (t, &j) in sequence.iter().enumerate() {
                assert!(shares[j] > 0.0);
                counts[j] += 1;
                for (class, &count) in counts.iter().enumerate() {
                    let due = (t + 1) as f64 * shares[class];
                    assert!(
                        count as f64 > due - 1.0 - 1e-9 && (count as f64) < due + 1.0 + 1e-9,
                        "shares {shares:?}, prefix {}, class {class}: {count} vs {due}",
                        t + 1
                    );
                }
            }
        }
    }
}
