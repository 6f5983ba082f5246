//! Generalised cross-entropy (Zhang & Sabuncu 2018, docs/DEFINITIONS.md#generalised-cross-entropy):
//! the negative Box–Cox transform of p_y, `(1 − p_y^q)/q`, between cross-entropy (q → 0) and the
//! mean absolute error (q = 1 gives `1 − p_y`, half the MAE between p and the one-hot label).

use candle_core::{Result, Tensor};

use super::{
    LossFunction, check_range, label_log_probs, mean_over_rows, write_scaled_softmax_gradient,
};

/// Generalised cross-entropy `(1 − p_y^q)/q`. Its gradient with respect to the logits is
/// `p_y^q·(p − e_y)`: cross-entropy's, weighted by `p_y^q`, so samples the model finds
/// implausible (often the mislabelled ones) pull less. This is the untruncated `L_q` loss, not
/// the truncated variant of the same paper.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gce {
    /// The exponent q, in (0, 1].
    pub q: f64,
}

impl Gce {
    /// q of Zhang & Sabuncu (2018) in their experiments.
    pub const DEFAULT_Q: f64 = 0.7;
}

impl Default for Gce {
    /// q = [`Self::DEFAULT_Q`].
    fn default() -> Gce {
        Gce { q: Self::DEFAULT_Q }
    }
}

impl LossFunction for Gce {
    fn name(&self) -> &'static str {
        "gce"
    }

    fn parameters(&self) -> Vec<(&'static str, f64)> {
        vec![("q", self.q)]
    }

    fn check(&self) -> std::result::Result<(), String> {
        check_range("GCE q", self.q, self.q > 0.0 && self.q <= 1.0, "(0, 1]")
    }

    /// `p_y^q` as `exp(q·log p_y)`, mean of `(1 − p_y^q)/q`.
    fn candle(&self, logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
        label_log_probs(logits, labels)?
            .affine(self.q, 0.0)?
            .exp()?
            .affine(-1.0 / self.q, 1.0 / self.q)?
            .mean_all()
    }

    fn value_and_gradient(
        &self,
        logits: &[f32],
        labels: &[u32],
        n_classes: usize,
        gradient: &mut [f32],
    ) -> f64 {
        let q = self.q as f32;
        mean_over_rows(logits, labels, n_classes, gradient, |row, out| {
            let scaled = q * row.log_probs[row.label];
            write_scaled_softmax_gradient(row, scaled.exp(), out);
            -scaled.exp_m1() / q
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::Loss;
    use crate::loss::testing::plain;

    fn references() -> [(Loss, f64); 3] {
        // crates/trainer/tests/reference/losses.py, lines `gce …`.
        [
            (Loss::Gce(Gce::default()), 0.8215869912135628),
            (Loss::Gce(Gce { q: 1.0 }), 0.685722435944069),
            (Loss::Gce(Gce { q: 0.1 }), 1.2868466662228502),
        ]
    }

    crate::loss::testing::reference_checks!();

    #[test]
    fn small_q_approaches_cross_entropy() {
        let (gce, _) = plain(&Loss::Gce(Gce { q: 1e-4 }));
        let (ce, _) = plain(&Loss::cross_entropy());
        assert!((gce - ce).abs() < 1e-3, "{gce} vs {ce}");
    }

    #[test]
    fn names_parameters_and_ranges() {
        let gce = Loss::Gce(Gce::default());
        assert_eq!((gce.name(), gce.parameters()), ("gce", vec![("q", 0.7)]));
        assert_eq!(
            Loss::Gce(Gce { q: 0.0 }).check(),
            Err("GCE q 0 is outside (0, 1]".into())
        );
        assert!(Loss::Gce(Gce { q: 1.2 }).check().is_err());
        assert_eq!(Loss::Gce(Gce { q: 1.0 }).check(), Ok(()));
    }
}
