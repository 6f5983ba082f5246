//! Symmetric cross-entropy (Wang et al. 2019, docs/DEFINITIONS.md#symmetric-cross-entropy):
//! `α·CE + β·RCE`, the reverse cross-entropy `RCE = −Σ_k p_k log q_k` taking the one-hot label q
//! as the "prediction", with the undefined `log 0` replaced by a constant A < 0.

use candle_core::{D, Result, Tensor};

use super::{
    LossFunction, check_range, label_log_probs, mean_over_rows, one_hot,
    write_scaled_softmax_gradient,
};

/// Symmetric cross-entropy `α·(−log p_y) + β·RCE`. With the one-hot label, `log q_y = 0` and
/// `log q_k = A` elsewhere, so `RCE = −A·(1 − p_y)`, a multiple of the mean absolute error. The
/// gradient with respect to the logits is `(α − β·A·p_y)·(p − e_y)`.
///
/// A = −4 is the value the paper states. The authors' code instead clamps the one-hot label to
/// at least 1e-4 before taking its log, which is A = ln(1e-4) ≈ −9.21 (it also clamps p at 1e-7,
/// which this implementation does not).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sce {
    /// Weight of the cross-entropy term, ≥ 0.
    pub alpha: f64,
    /// Weight of the reverse cross-entropy term, ≥ 0; α and β are not both 0.
    pub beta: f64,
    /// A, the value of `log 0` in the reverse cross-entropy, < 0.
    pub log_zero: f64,
}

impl Sce {
    /// α of Wang et al. (2019) on CIFAR-10.
    pub const DEFAULT_ALPHA: f64 = 0.1;
    /// β of Wang et al. (2019) on CIFAR-10.
    pub const DEFAULT_BETA: f64 = 1.0;
    /// A = −4, as Wang et al. (2019) state it.
    pub const DEFAULT_LOG_ZERO: f64 = -4.0;
}

impl Default for Sce {
    /// α = 0.1, β = 1, A = −4: the paper's CIFAR-10 setting.
    fn default() -> Sce {
        Sce {
            alpha: Self::DEFAULT_ALPHA,
            beta: Self::DEFAULT_BETA,
            log_zero: Self::DEFAULT_LOG_ZERO,
        }
    }
}

impl LossFunction for Sce {
    fn name(&self) -> &'static str {
        "sce"
    }

    fn parameters(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("alpha", self.alpha),
            ("beta", self.beta),
            ("log_zero", self.log_zero),
        ]
    }

    fn check(&self) -> std::result::Result<(), String> {
        check_range("SCE α", self.alpha, self.alpha >= 0.0, "[0, ∞)")?;
        check_range("SCE β", self.beta, self.beta >= 0.0, "[0, ∞)")?;
        check_range(
            "SCE log 0 (A)",
            self.log_zero,
            self.log_zero < 0.0,
            "(-∞, 0)",
        )?;
        if self.alpha == 0.0 && self.beta == 0.0 {
            return Err("SCE α and β are both 0: at least one must be positive".into());
        }
        Ok(())
    }

    /// The definition written out: `α·NLL + β·mean(−Σ_k p_k·log q_k)` with `log q` the tensor
    /// that is 0 at the label and A elsewhere.
    fn candle(&self, logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
        let cross_entropy = label_log_probs(logits, labels)?.mean_all()?.neg()?;
        let log_label = one_hot(labels, logits)?.affine(-self.log_zero, self.log_zero)?;
        let probs = candle_nn::ops::softmax(logits, D::Minus1)?;
        let reverse = (probs * log_label)?.sum(D::Minus1)?.mean_all()?.neg()?;
        cross_entropy.affine(self.alpha, 0.0)? + reverse.affine(self.beta, 0.0)?
    }

    fn value_and_gradient(
        &self,
        logits: &[f32],
        labels: &[u32],
        n_classes: usize,
        gradient: &mut [f32],
    ) -> f64 {
        let (alpha, beta, log_zero) = (self.alpha as f32, self.beta as f32, self.log_zero as f32);
        mean_over_rows(logits, labels, n_classes, gradient, |row, out| {
            let log_p = row.log_probs[row.label];
            // 1 − p_y without the cancellation of subtracting from 1.
            let off_label = -log_p.exp_m1();
            let p_label = row.probs[row.label];
            write_scaled_softmax_gradient(row, alpha - beta * log_zero * p_label, out);
            -alpha * log_p - beta * log_zero * off_label
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::Loss;

    fn references() -> [(Loss, f64); 2] {
        // crates/trainer/tests/reference/losses.py, lines `sce …`; the second is the paper's
        // CIFAR-100 setting with the authors' code's A.
        [
            (Loss::Sce(Sce::default()), 2.8834709103040987),
            (
                Loss::Sce(Sce {
                    alpha: 6.0,
                    beta: 0.1,
                    log_zero: 1e-4f64.ln(),
                }),
                9.066443695243875,
            ),
        ]
    }

    crate::loss::testing::reference_checks!();

    #[test]
    fn names_parameters_and_ranges() {
        let sce = Loss::Sce(Sce::default());
        assert_eq!(sce.name(), "sce");
        assert_eq!(
            sce.parameters(),
            vec![("alpha", 0.1), ("beta", 1.0), ("log_zero", -4.0)]
        );
        let with = |alpha, beta, log_zero| {
            Loss::Sce(Sce {
                alpha,
                beta,
                log_zero,
            })
            .check()
        };
        assert_eq!(with(0.0, 1.0, -4.0), Ok(()));
        assert_eq!(with(1.0, 0.0, -4.0), Ok(()));
        assert_eq!(
            with(0.0, 0.0, -4.0),
            Err("SCE α and β are both 0: at least one must be positive".into())
        );
        assert_eq!(
            with(0.1, 1.0, 0.0),
            Err("SCE log 0 (A) 0 is outside (-∞, 0)".into())
        );
        assert!(with(-0.1, 1.0, -4.0).is_err());
        assert!(with(0.1, f64::INFINITY, -4.0).is_err());
    }
}
