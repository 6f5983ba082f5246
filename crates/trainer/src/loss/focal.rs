//! The focal loss (Lin et al. 2017, docs/DEFINITIONS.md#focal-loss): cross-entropy scaled by
//! `(1 − p_y)^γ`, which shrinks the loss of samples the model already classifies confidently.

use candle_core::{Result, Tensor};

use super::{
    LossFunction, check_range, label_log_probs, mean_over_rows, write_scaled_softmax_gradient,
};

/// The focal loss `−(1 − p_y)^γ·log p_y`, without the class-balancing weight α of the paper
/// (there for foreground/background imbalance in detection). γ = 0 is plain cross-entropy. Its
/// gradient with respect to the logits is `w·(p − e_y)` with
/// `w = (1 − p_y)^γ − γ·p_y·(1 − p_y)^(γ−1)·log p_y`, taken as 0 where `p_y = 1` (its limit for
/// γ > 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Focal {
    /// The focusing exponent γ, ≥ 0.
    pub gamma: f64,
}

impl Focal {
    /// γ that Lin et al. (2017) found best.
    pub const DEFAULT_GAMMA: f64 = 2.0;
}

impl Default for Focal {
    /// γ = [`Self::DEFAULT_GAMMA`].
    fn default() -> Focal {
        Focal {
            gamma: Self::DEFAULT_GAMMA,
        }
    }
}

impl LossFunction for Focal {
    fn name(&self) -> &'static str {
        "focal"
    }

    fn parameters(&self) -> Vec<(&'static str, f64)> {
        vec![("gamma", self.gamma)]
    }

    fn check(&self) -> std::result::Result<(), String> {
        check_range("focal γ", self.gamma, self.gamma >= 0.0, "[0, ∞)")
    }

    /// `−mean((1 − p_y)^γ·log p_y)`. Where `1 − p_y` is exactly 0 the factor is set to 0 behind
    /// a mask, so that `powf`'s derivative `γ·x^(γ−1)`, infinite at 0 for γ < 1, never meets the
    /// zero it would be multiplied by; γ = 0 is computed as cross-entropy for the same reason.
    fn candle(&self, logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
        let log_p = label_log_probs(logits, labels)?;
        if self.gamma == 0.0 {
            return log_p.mean_all()?.neg();
        }
        let off_label = log_p.exp()?.affine(-1.0, 1.0)?;
        let positive = off_label.gt(0.0)?;
        let safe = positive.where_cond(&off_label, &off_label.ones_like()?)?;
        let factor = positive.where_cond(&safe.powf(self.gamma)?, &off_label.zeros_like()?)?;
        (factor * log_p)?.mean_all()?.neg()
    }

    fn value_and_gradient(
        &self,
        logits: &[f32],
        labels: &[u32],
        n_classes: usize,
        gradient: &mut [f32],
    ) -> f64 {
        let gamma = self.gamma as f32;
        mean_over_rows(logits, labels, n_classes, gradient, |row, out| {
            let log_p = row.log_probs[row.label];
            // 1 − p_y without the cancellation of subtracting from 1.
            let off_label = -log_p.exp_m1();
            let factor = off_label.powf(gamma);
            let through_factor = if gamma == 0.0 || off_label == 0.0 {
                0.0
            } else {
                gamma * row.probs[row.label] * off_label.powf(gamma - 1.0) * log_p
            };
            write_scaled_softmax_gradient(row, factor - through_factor, out);
            -factor * log_p
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::Loss;
    use crate::loss::testing::{candle_at, plain, plain_at};

    fn references() -> [(Loss, f64); 3] {
        // crates/trainer/tests/reference/losses.py, lines `focal …`.
        [
            (Loss::Focal(Focal::default()), 0.907935850477137),
            (Loss::Focal(Focal { gamma: 0.0 }), 1.4058116652782207),
            (Loss::Focal(Focal { gamma: 0.5 }), 1.2389245629354617),
        ]
    }

    crate::loss::testing::reference_checks!();

    #[test]
    fn gamma_zero_is_cross_entropy() {
        let (focal, focal_gradient) = plain(&Loss::Focal(Focal { gamma: 0.0 }));
        let (ce, ce_gradient) = plain(&Loss::cross_entropy());
        assert!((focal - ce).abs() < 1e-7);
        assert!(
            focal_gradient
                .iter()
                .zip(&ce_gradient)
                .all(|(a, b)| (a - b).abs() < 1e-7)
        );
    }

    #[test]
    fn a_certain_prediction_has_a_finite_zero_gradient_for_any_gamma() {
        // p_y rounds to exactly 1 in f32: both paths must give 0, not NaN, even for γ < 1.
        let logits: Vec<f32> = (0..15)
            .map(|i| if i % 6 == 0 { 60.0 } else { 0.0 })
            .collect();
        for gamma in [0.3, 1.0, 2.0] {
            let loss = Loss::Focal(Focal { gamma });
            for (path, (value, gradient)) in [
                ("plain", plain_at(&loss, &logits)),
                ("candle", candle_at(&loss, &logits)),
            ] {
                assert!(value.abs() < 1e-20, "{path} γ = {gamma}: {value}");
                assert!(
                    gradient.iter().all(|g| g.abs() < 1e-20),
                    "{path} γ = {gamma}: {gradient:?}"
                );
            }
        }
    }

    #[test]
    fn names_parameters_and_ranges() {
        let focal = Loss::Focal(Focal::default());
        assert_eq!(
            (focal.name(), focal.parameters()),
            ("focal", vec![("gamma", 2.0)])
        );
        assert_eq!(
            Loss::Focal(Focal { gamma: -1.0 }).check(),
            Err("focal γ -1 is outside [0, ∞)".into())
        );
        assert!(Loss::Focal(Focal { gamma: f64::NAN }).check().is_err());
    }
}
