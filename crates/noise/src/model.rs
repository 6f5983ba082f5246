//! Noise models as transition matrices, and the parameters that select one.

use std::fmt;

/// A named label-noise model (docs/DEFINITIONS.md, section "Noise models": `#noise-models`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoiseModel {
    /// No label is changed, whatever the rate.
    None,
    /// A flipped label moves to one of the K − 1 other classes, uniformly: `T_ii = 1 − ρ`,
    /// `T_ij = ρ / (K − 1)`. The realised flip rate is ρ.
    Symmetric,
    /// With probability ρ the label is redrawn uniformly from all K classes (itself included):
    /// `T_ii = 1 − ρ + ρ / K`, `T_ij = ρ / K`. The realised flip rate is ρ·(K − 1)/K.
    Uniform,
    /// Class c moves to c + 1 mod K: `T_ii = 1 − ρ`, `T_i,(i+1 mod K) = ρ`.
    PairFlip,
}

impl NoiseModel {
    /// Every model, in the order used for listing and sorting.
    pub const ALL: [NoiseModel; 4] = [
        NoiseModel::None,
        NoiseModel::Symmetric,
        NoiseModel::Uniform,
        NoiseModel::PairFlip,
    ];

    /// The name used in configuration files and CSV columns (`none`, `symmetric`, `uniform`,
    /// `pair-flip`).
    pub fn name(self) -> &'static str {
        match self {
            NoiseModel::None => "none",
            NoiseModel::Symmetric => "symmetric",
            NoiseModel::Uniform => "uniform",
            NoiseModel::PairFlip => "pair-flip",
        }
    }

    /// Parses a name as written by [`NoiseModel::name`].
    pub fn from_name(name: &str) -> Option<NoiseModel> {
        NoiseModel::ALL
            .into_iter()
            .find(|model| model.name() == name)
    }

    /// The K × K transition matrix at nominal rate `rate` (row = clean class, column = noisy class;
    /// each row sums to 1).
    pub fn transition_matrix(self, rate: f64, n_classes: usize) -> Vec<Vec<f64>> {
        let k = n_classes;
        let mut matrix = vec![vec![0.0; k]; k];
        for (clean, row) in matrix.iter_mut().enumerate() {
            match self {
                NoiseModel::None => row[clean] = 1.0,
                NoiseModel::Symmetric => {
                    for (noisy, cell) in row.iter_mut().enumerate() {
                        *cell = if noisy == clean {
                            1.0 - rate
                        } else {
                            rate / (k - 1) as f64
                        };
                    }
                }
                NoiseModel::Uniform => {
                    for (noisy, cell) in row.iter_mut().enumerate() {
                        *cell = rate / k as f64 + if noisy == clean { 1.0 - rate } else { 0.0 };
                    }
                }
                NoiseModel::PairFlip => {
                    row[clean] = 1.0 - rate;
                    row[(clean + 1) % k] += rate;
                }
            }
        }
        matrix
    }
}

impl fmt::Display for NoiseModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the number of flipped labels is decided (docs/DEFINITIONS.md, `#injection-modes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NoiseMode {
    /// Exactly `round(off_diagonal_mass · n_c)` samples of each class c are flipped, chosen without
    /// replacement, and their destinations are apportioned to the off-diagonal row of T
    /// (cleanlab style). The realised rate then matches the nominal one up to rounding.
    #[default]
    Exact,
    /// Every sample draws its noisy label independently from its row of T; the realised count is
    /// binomial.
    Bernoulli,
}

impl NoiseMode {
    /// The name used in configuration files (`exact`, `bernoulli`).
    pub fn name(self) -> &'static str {
        match self {
            NoiseMode::Exact => "exact",
            NoiseMode::Bernoulli => "bernoulli",
        }
    }
}

/// A fully specified noise process: model, nominal rate and sampling mode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoiseSpec {
    /// The noise model.
    pub model: NoiseModel,
    /// The nominal rate ρ, in [0, 1].
    pub rate: f64,
    /// Exact-count or per-sample sampling.
    pub mode: NoiseMode,
}

/// Why labels could not be corrupted.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum NoiseError {
    /// The rate is not a probability.
    #[error("noise rate {rate} is outside [0, 1]")]
    RateOutOfRange {
        /// The offending rate.
        rate: f64,
    },
    /// Noise needs at least two classes to flip between.
    #[error("noise needs at least 2 classes, got {n_classes}")]
    TooFewClasses {
        /// The number of classes given.
        n_classes: usize,
    },
    /// A clean label is not a valid class index.
    #[error("label {label} at index {index} is outside the {n_classes} classes")]
    LabelOutOfRange {
        /// Position of the label in the input slice.
        index: usize,
        /// The offending label.
        label: usize,
        /// The number of classes.
        n_classes: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_sum_to_one_for_every_model() {
        for model in NoiseModel::ALL {
            for rate in [0.0, 0.3, 1.0] {
                for row in model.transition_matrix(rate, 4) {
                    let sum: f64 = row.iter().sum();
                    assert!((sum - 1.0).abs() < 1e-12, "{model} at {rate}: {row:?}");
                }
            }
        }
    }

    #[test]
    fn matrices_match_reference_definitions() {
        let symmetric = NoiseModel::Symmetric.transition_matrix(0.3, 4);
        assert!((symmetric[0][0] - 0.7).abs() < 1e-12);
        assert!((symmetric[0][2] - 0.1).abs() < 1e-12);
        let uniform = NoiseModel::Uniform.transition_matrix(0.4, 4);
        assert!((uniform[1][1] - 0.7).abs() < 1e-12);
        assert!((uniform[1][0] - 0.1).abs() < 1e-12);
        let pair = NoiseModel::PairFlip.transition_matrix(0.25, 3);
        assert_eq!(pair[2], vec![0.25, 0.0, 0.75]);
        assert_eq!(pair[0], vec![0.75, 0.25, 0.0]);
    }

    #[test]
    fn names_round_trip() {
        for model in NoiseModel::ALL {
            assert_eq!(NoiseModel::from_name(model.name()), Some(model));
        }
        assert_eq!(NoiseModel::from_name("asymmetric"), None);
    }
}
