//! Bootstrapping (Reed et al. 2015, docs/DEFINITIONS.md#bootstrapping): cross-entropy against a
//! target that mixes the given label with the model's own prediction, soft
//! (`β·e_y + (1 − β)·p`) or hard (`β·e_y + (1 − β)·e_ŷ`, ŷ the predicted class).
//!
//! Gradients: the soft target is differentiated through — its p is the live prediction, not a
//! constant — so the soft loss is `β·CE + (1 − β)·H(p)`, cross-entropy plus the entropy
//! regulariser of Reed et al.'s own reading. A detached target would leave a gradient of exactly
//! β times cross-entropy's (`(p − t)/B = β·(p − e_y)/B`), the same training up to the learning
//! rate. The hard target is a constant for the step: `e_ŷ` is piecewise constant in the logits,
//! so its derivative is zero wherever it is defined, and holding it fixed is the exact gradient.

use candle_core::{D, Result, Tensor};

use super::{LossFunction, Row, check_range, mean_over_rows, one_hot};

/// Soft bootstrapping: cross-entropy against `β·e_y + (1 − β)·p`, per sample
/// `−β·log p_y + (1 − β)·H(p)` with `H(p) = −Σ_k p_k log p_k`; gradient through p (see the
/// module's documentation). β = 1 is plain cross-entropy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BootstrapSoft {
    /// Weight of the given label, in [0, 1].
    pub beta: f64,
}

impl BootstrapSoft {
    /// β of Reed et al. (2015) for soft bootstrapping.
    pub const DEFAULT_BETA: f64 = 0.95;
}

impl Default for BootstrapSoft {
    /// β = [`Self::DEFAULT_BETA`].
    fn default() -> BootstrapSoft {
        BootstrapSoft {
            beta: Self::DEFAULT_BETA,
        }
    }
}

/// Hard bootstrapping: cross-entropy against `β·e_y + (1 − β)·e_ŷ`, ŷ = argmax_k z_k (the lowest
/// index wins a tie), per sample `−β·log p_y − (1 − β)·log p_ŷ`; ŷ is held fixed in the gradient
/// (see the module's documentation). β = 1 is plain cross-entropy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BootstrapHard {
    /// Weight of the given label, in [0, 1].
    pub beta: f64,
}

impl BootstrapHard {
    /// β of Reed et al. (2015) for hard bootstrapping.
    pub const DEFAULT_BETA: f64 = 0.8;
}

impl Default for BootstrapHard {
    /// β = [`Self::DEFAULT_BETA`].
    fn default() -> BootstrapHard {
        BootstrapHard {
            beta: Self::DEFAULT_BETA,
        }
    }
}

fn check_beta(beta: f64) -> std::result::Result<(), String> {
    check_range("bootstrap β", beta, (0.0..=1.0).contains(&beta), "[0, 1]")
}

impl LossFunction for BootstrapSoft {
    fn name(&self) -> &'static str {
        "bootstrap-soft"
    }

    fn parameters(&self) -> Vec<(&'static str, f64)> {
        vec![("beta", self.beta)]
    }

    fn check(&self) -> std::result::Result<(), String> {
        check_beta(self.beta)
    }

    /// The definition written out: `−Σ_k t_k log p_k` with `t = β·e_y + (1 − β)·p`, p a live
    /// tensor of the graph.
    fn candle(&self, logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
        let log_probs = candle_nn::ops::log_softmax(logits, D::Minus1)?;
        let targets = (one_hot(labels, logits)?.affine(self.beta, 0.0)?
            + log_probs.exp()?.affine(1.0 - self.beta, 0.0)?)?;
        (targets * log_probs)?.sum(D::Minus1)?.mean_all()?.neg()
    }

    /// Gradient of one sample: `β·(p − e_y) − (1 − β)·p_k·(log p_k + H(p))`, the second term
    /// being the gradient of the entropy.
    fn value_and_gradient(
        &self,
        logits: &[f32],
        labels: &[u32],
        n_classes: usize,
        gradient: &mut [f32],
    ) -> f64 {
        let beta = self.beta as f32;
        let rest = (1.0 - self.beta) as f32;
        mean_over_rows(logits, labels, n_classes, gradient, |row, out| {
            let entropy = -row
                .probs
                .iter()
                .zip(row.log_probs)
                .map(|(&p, &l)| p * l)
                .sum::<f32>();
            for ((o, &p), &l) in out.iter_mut().zip(row.probs).zip(row.log_probs) {
                *o = beta * p - rest * p * (l + entropy);
            }
            out[row.label] -= beta;
            -beta * row.log_probs[row.label] + rest * entropy
        })
    }
}

impl LossFunction for BootstrapHard {
    fn name(&self) -> &'static str {
        "bootstrap-hard"
    }

    fn parameters(&self) -> Vec<(&'static str, f64)> {
        vec![("beta", self.beta)]
    }

    fn check(&self) -> std::result::Result<(), String> {
        check_beta(self.beta)
    }

    /// The definition written out: `−Σ_k t_k log p_k` with `t = β·e_y + (1 − β)·e_ŷ`, ŷ candle's
    /// arg-max of the logits (the first maximum), which carries no gradient.
    fn candle(&self, logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
        let log_probs = candle_nn::ops::log_softmax(logits, D::Minus1)?;
        let predicted = logits.argmax(D::Minus1)?;
        let targets = (one_hot(labels, logits)?.affine(self.beta, 0.0)?
            + one_hot(&predicted, logits)?.affine(1.0 - self.beta, 0.0)?)?;
        (targets * log_probs)?.sum(D::Minus1)?.mean_all()?.neg()
    }

    fn value_and_gradient(
        &self,
        logits: &[f32],
        labels: &[u32],
        n_classes: usize,
        gradient: &mut [f32],
    ) -> f64 {
        let predicted = predicted_classes(logits, n_classes);
        two_label_cross_entropy(logits, labels, &predicted, n_classes, self.beta, gradient)
    }
}

/// The arg-max of each row of `logits` (`n_classes` a row), the lowest index winning a tie.
fn predicted_classes(logits: &[f32], n_classes: usize) -> Vec<usize> {
    logits
        .chunks_exact(n_classes)
        .map(|row| {
            let mut best = 0;
            for (k, &z) in row.iter().enumerate() {
                if z > row[best] {
                    best = k;
                }
            }
            best
        })
        .collect()
}

/// The hard bootstrap with its predicted classes given: mean of `−β·log p_y − (1 − β)·log p_ŷ`
/// and its gradient `p − β·e_y − (1 − β)·e_ŷ` (over the batch size), `predicted` held fixed.
fn two_label_cross_entropy(
    logits: &[f32],
    labels: &[u32],
    predicted: &[usize],
    n_classes: usize,
    beta: f64,
    gradient: &mut [f32],
) -> f64 {
    let (on, rest) = (beta as f32, (1.0 - beta) as f32);
    let mut predicted = predicted.iter();
    mean_over_rows(logits, labels, n_classes, gradient, |row: &Row<'_>, out| {
        let guess = *predicted.next().expect("one predicted class a row");
        out.copy_from_slice(row.probs);
        out[row.label] -= on;
        out[guess] -= rest;
        -on * row.log_probs[row.label] - rest * row.log_probs[guess]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::Loss;
    use crate::loss::testing::{
        LABELS, LOGITS, N_CLASSES, assert_candle_agrees, assert_finite_differences,
        assert_gradient_matches_finite_differences, assert_value, plain,
    };

    fn references() -> [(Loss, f64); 4] {
        // crates/trainer/tests/reference/losses.py, lines `bootstrap-soft …`, `bootstrap-hard …`
        // (the soft target not detached there either).
        [
            (
                Loss::BootstrapSoft(BootstrapSoft::default()),
                1.3844327234950573,
            ),
            (
                Loss::BootstrapSoft(BootstrapSoft { beta: 0.5 }),
                1.1920222474465871,
            ),
            (
                Loss::BootstrapHard(BootstrapHard::default()),
                1.2124783335343443,
            ),
            (
                Loss::BootstrapHard(BootstrapHard { beta: 0.3 }),
                0.7291450041746539,
            ),
        ]
    }

    #[test]
    fn value_matches_the_pytorch_reference() {
        for (loss, expected) in references() {
            assert_value(&loss, expected);
        }
    }

    #[test]
    fn candle_agrees_with_the_plain_path() {
        for (loss, _) in references() {
            assert_candle_agrees(&loss);
        }
    }

    #[test]
    fn soft_gradient_matches_finite_differences_through_the_prediction() {
        for beta in [0.95, 0.5, 0.0] {
            assert_gradient_matches_finite_differences(&Loss::BootstrapSoft(BootstrapSoft {
                beta,
            }));
        }
    }

    #[test]
    fn hard_gradient_matches_finite_differences_with_the_prediction_held() {
        let predicted = predicted_classes(&LOGITS, N_CLASSES);
        assert_eq!(predicted, [0, 3, 4], "rows 1 and 2 predict another class");
        for beta in [0.8, 0.3] {
            let loss = Loss::BootstrapHard(BootstrapHard { beta });
            let fixed = |logits: &[f32]| {
                let mut scratch = vec![0.0; logits.len()];
                two_label_cross_entropy(logits, &LABELS, &predicted, N_CLASSES, beta, &mut scratch)
            };
            assert_finite_differences(fixed, &plain(&loss).1);
        }
    }

    #[test]
    fn a_detached_soft_target_would_only_rescale_cross_entropy_so_it_is_not_detached() {
        let cross_entropy = plain(&Loss::cross_entropy()).1;
        let soft = plain(&Loss::BootstrapSoft(BootstrapSoft::default())).1;
        let largest_difference = soft
            .iter()
            .zip(&cross_entropy)
            .map(|(s, c)| (s - 0.95 * c).abs())
            .fold(0.0f32, f32::max);
        assert!(largest_difference > 1e-3, "{largest_difference}");
        // At β = 1 both bootstraps are cross-entropy.
        for loss in [
            Loss::BootstrapSoft(BootstrapSoft { beta: 1.0 }),
            Loss::BootstrapHard(BootstrapHard { beta: 1.0 }),
        ] {
            let (value, gradient) = plain(&loss);
            let (ce_value, ce_gradient) = plain(&Loss::cross_entropy());
            assert!((value - ce_value).abs() < 1e-6);
            assert!(
                gradient
                    .iter()
                    .zip(&ce_gradient)
                    .all(|(a, b)| (a - b).abs() < 1e-7)
            );
        }
    }

    #[test]
    fn ties_go_to_the_lowest_index_in_both_paths() {
        assert_eq!(predicted_classes(&[1.0, 3.0, 3.0, 0.0], 4), [1]);
        assert_eq!(
            predicted_classes(&[0.0, 0.0, 2.0, 2.0, 5.0, 5.0], 3),
            [2, 1]
        );
        let logits = Tensor::new(&[[1.0f32, 3.0, 3.0, 0.0]], &candle_core::Device::Cpu).unwrap();
        let candle_predicted = logits.argmax(D::Minus1).unwrap().to_vec1::<u32>().unwrap();
        assert_eq!(candle_predicted, [1]);
    }

    #[test]
    fn names_parameters_and_ranges() {
        let soft = Loss::BootstrapSoft(BootstrapSoft::default());
        let hard = Loss::BootstrapHard(BootstrapHard::default());
        assert_eq!(
            (soft.name(), soft.parameters()),
            ("bootstrap-soft", vec![("beta", 0.95)])
        );
        assert_eq!(
            (hard.name(), hard.parameters()),
            ("bootstrap-hard", vec![("beta", 0.8)])
        );
        assert_eq!(
            Loss::BootstrapHard(BootstrapHard { beta: 1.5 }).check(),
            Err("bootstrap β 1.5 is outside [0, 1]".into())
        );
        assert!(
            Loss::BootstrapSoft(BootstrapSoft { beta: -0.1 })
                .check()
                .is_err()
        );
    }
}
