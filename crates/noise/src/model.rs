//! Noise models as transition matrices, and the parameters that select one.

use std::fmt;

use crate::class_map::ClassMap;
use crate::error::NoiseError;
use crate::matrix::TransitionMatrix;

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
    /// The MNIST class map of Patrini et al. (2017), [`ClassMap::MNIST_PAIRS`]: 2 → 7, 3 → 8,
    /// 5 ↔ 6, 7 → 1 each with probability ρ, other classes clean. Needs K = 10.
    AsymmetricMnist,
    /// The CIFAR-10 class map of Patrini et al. (2017), [`ClassMap::CIFAR10_PAIRS`]: 9 → 1,
    /// 2 → 0, 3 ↔ 5, 4 → 7 each with probability ρ, other classes clean. Needs K = 10.
    AsymmetricCifar10,
}

impl NoiseModel {
    /// Every model, in the order used for listing and sorting.
    pub const ALL: [NoiseModel; 6] = [
        NoiseModel::None,
        NoiseModel::Symmetric,
        NoiseModel::Uniform,
        NoiseModel::PairFlip,
        NoiseModel::AsymmetricMnist,
        NoiseModel::AsymmetricCifar10,
    ];

    /// The name used in configuration files and CSV columns (`none`, `symmetric`, `uniform`,
    /// `pair-flip`, `asymmetric-mnist`, `asymmetric-cifar10`).
    pub fn name(self) -> &'static str {
        match self {
            NoiseModel::None => "none",
            NoiseModel::Symmetric => "symmetric",
            NoiseModel::Uniform => "uniform",
            NoiseModel::PairFlip => "pair-flip",
            NoiseModel::AsymmetricMnist => "asymmetric-mnist",
            NoiseModel::AsymmetricCifar10 => "asymmetric-cifar10",
        }
    }

    /// The number of classes the model is defined for, when it is defined for one K only (the
    /// class-map presets: `Some(10)`); `None` when any K ≥ 2 works.
    pub fn required_classes(self) -> Option<usize> {
        self.class_map().map(|map| map.n_classes())
    }

    /// The class map of a preset asymmetric model; `None` for the other models.
    pub fn class_map(self) -> Option<ClassMap> {
        match self {
            NoiseModel::AsymmetricMnist => Some(ClassMap::mnist()),
            NoiseModel::AsymmetricCifar10 => Some(ClassMap::cifar10()),
            NoiseModel::None
            | NoiseModel::Symmetric
            | NoiseModel::Uniform
            | NoiseModel::PairFlip => None,
        }
    }

    /// The validated K × K transition matrix at nominal rate `rate`; its rows are exactly those
    /// of [`NoiseModel::transition_matrix`].
    ///
    /// Errors, in this order: `rate` outside [0, 1] ([`NoiseError::RateOutOfRange`]),
    /// `n_classes < 2` ([`NoiseError::TooFewClasses`]), a preset given another K than
    /// [`NoiseModel::required_classes`] ([`NoiseError::PresetClassCount`]).
    pub fn matrix(self, rate: f64, n_classes: usize) -> Result<TransitionMatrix, NoiseError> {
        if !(0.0..=1.0).contains(&rate) {
            return Err(NoiseError::RateOutOfRange { rate });
        }
        if n_classes < 2 {
            return Err(NoiseError::TooFewClasses { n_classes });
        }
        if let Some(required) = self.required_classes()
            && required != n_classes
        {
            return Err(NoiseError::PresetClassCount {
                model: self.name(),
                required,
                n_classes,
            });
        }
        TransitionMatrix::from_rows(self.transition_matrix(rate, n_classes))
    }

    /// Parses a name as written by [`NoiseModel::name`].
    pub fn from_name(name: &str) -> Option<NoiseModel> {
        NoiseModel::ALL
            .into_iter()
            .find(|model| model.name() == name)
    }

    /// The K × K transition matrix at nominal rate `rate` (row = clean class, column = noisy class;
    /// each row sums to 1), unchecked; [`NoiseModel::matrix`] is the validated form.
    ///
    /// # Panics
    /// For a class-map preset when `n_classes` is not its [`NoiseModel::required_classes`].
    pub fn transition_matrix(self, rate: f64, n_classes: usize) -> Vec<Vec<f64>> {
        let k = n_classes;
        if let Some(map) = self.class_map() {
            assert_eq!(
                map.n_classes(),
                k,
                "noise model `{}` needs exactly {} classes",
                self.name(),
                map.n_classes()
            );
            return map.rows(rate);
        }
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
                NoiseModel::AsymmetricMnist | NoiseModel::AsymmetricCifar10 => {
                    unreachable!("class-map presets returned above")
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

impl NoiseSpec {
    /// The validated transition matrix of `model` at `rate` for `n_classes` classes
    /// ([`NoiseModel::matrix`]).
    pub fn matrix(&self, n_classes: usize) -> Result<TransitionMatrix, NoiseError> {
        self.model.matrix(self.rate, n_classes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_sum_to_one_for_every_model() {
        for model in NoiseModel::ALL {
            let k = model.required_classes().unwrap_or(4);
            for rate in [0.0, 0.3, 1.0] {
                assert!(model.matrix(rate, k).is_ok(), "{model} at {rate}");
                for row in model.transition_matrix(rate, k) {
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
        let mnist = NoiseModel::AsymmetricMnist.transition_matrix(0.25, 10);
        assert_eq!(mnist[5][6], 0.25);
        assert_eq!(mnist[6][5], 0.25);
        assert_eq!(mnist[7][7], 0.75);
        assert_eq!(mnist[0][0], 1.0);
        let cifar = NoiseModel::AsymmetricCifar10.transition_matrix(0.25, 10);
        assert_eq!(cifar[4][7], 0.25);
        assert_eq!(cifar[1][1], 1.0);
    }

    #[test]
    fn matrix_checks_rate_classes_and_preset_size() {
        assert_eq!(
            NoiseModel::Symmetric.matrix(-0.1, 4),
            Err(NoiseError::RateOutOfRange { rate: -0.1 })
        );
        assert_eq!(
            NoiseModel::PairFlip.matrix(0.1, 1),
            Err(NoiseError::TooFewClasses { n_classes: 1 })
        );
        let wrong_k = NoiseModel::AsymmetricCifar10.matrix(0.2, 5).unwrap_err();
        assert_eq!(
            wrong_k.to_string(),
            "noise model `asymmetric-cifar10` needs exactly 10 classes, the data has 5"
        );
        assert_eq!(NoiseModel::AsymmetricMnist.required_classes(), Some(10));
        assert_eq!(NoiseModel::Uniform.required_classes(), None);
        for model in NoiseModel::ALL {
            let k = model.required_classes().unwrap_or(7);
            let matrix = model.matrix(0.4, k).unwrap();
            assert_eq!(matrix.rows(), model.transition_matrix(0.4, k).as_slice());
        }
    }

    #[test]
    fn names_round_trip() {
        for model in NoiseModel::ALL {
            assert_eq!(NoiseModel::from_name(model.name()), Some(model));
        }
        assert_eq!(NoiseModel::from_name("asymmetric"), None);
    }
}
