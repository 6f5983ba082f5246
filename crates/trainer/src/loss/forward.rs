//! Forward loss correction (Patrini et al. 2017, docs/DEFINITIONS.md#forward-correction): the
//! model's clean-class prediction p is pushed through a known noise transition matrix T before
//! the cross-entropy with the noisy label, `−log (Tᵀp)_ỹ = −log Σ_i p_i·T[i][ỹ]`.

use candle_core::{D, Result, Tensor};

use super::{LossFunction, mean_over_rows};

/// Forward correction with the transition matrix `transition`, `T[i][j] = P(ỹ = j | y = i)`
/// (row = clean class, column = noisy class, as everywhere in labelnoise). Per sample
/// `−log m` with `m = Σ_i p_i·T[i][ỹ]`; its gradient with respect to logit k is
/// `p_k − p_k·T[k][ỹ]/m`. Both paths compute `log m` as a log-sum-exp of `log p_i + log T[i][ỹ]`,
/// so m never underflows to 0 while some class with `T[i][ỹ] > 0` has a finite log-probability.
///
/// T is given, not estimated: the estimator of Patrini et al. is not part of this loss. With
/// T = I this is plain cross-entropy.
#[derive(Debug, Clone, PartialEq)]
pub struct ForwardCorrection {
    /// T as K rows of K entries in [0, 1], each row summing to 1 (within 1e-6), each column with
    /// at least one positive entry (every noisy label must be possible).
    pub transition: Vec<Vec<f64>>,
}

impl ForwardCorrection {
    /// How far a row of T may sum from 1.
    pub const ROW_SUM_TOLERANCE: f64 = 1e-6;

    /// Forward correction with `transition` (rows = clean class); [`crate::Loss::check_classes`]
    /// validates it.
    pub fn new(transition: Vec<Vec<f64>>) -> ForwardCorrection {
        ForwardCorrection { transition }
    }

    /// `log T[i][j]` transposed, row-major `K × K`: row j holds column j of T, the entries that
    /// weigh each clean class for noisy label j; `−∞` where T is 0.
    fn log_columns(&self) -> Vec<f32> {
        let n = self.transition.len();
        (0..n * n)
            .map(|index| (self.transition[index % n][index / n].ln()) as f32)
            .collect()
    }
}

impl LossFunction for ForwardCorrection {
    fn name(&self) -> &'static str {
        "forward"
    }

    /// None: the parameter is the matrix, which is not a scalar column.
    fn parameters(&self) -> Vec<(&'static str, f64)> {
        Vec::new()
    }

    fn check(&self) -> std::result::Result<(), String> {
        let n = self.transition.len();
        if n == 0 {
            return Err("the forward-correction transition matrix is empty".into());
        }
        for (i, row) in self.transition.iter().enumerate() {
            if row.len() != n {
                return Err(format!(
                    "row {i} of the forward-correction transition matrix has {} entries, not {n}: \
                     the matrix must be square",
                    row.len()
                ));
            }
            if let Some(&value) = row.iter().find(|v| !(0.0..=1.0).contains(*v)) {
                return Err(format!(
                    "row {i} of the forward-correction transition matrix holds {value}, outside \
                     [0, 1]"
                ));
            }
            let sum: f64 = row.iter().sum();
            if (sum - 1.0).abs() > Self::ROW_SUM_TOLERANCE {
                return Err(format!(
                    "row {i} of the forward-correction transition matrix sums to {sum}, not 1"
                ));
            }
        }
        if let Some(j) = (0..n).find(|&j| self.transition.iter().all(|row| row[j] == 0.0)) {
            return Err(format!(
                "column {j} of the forward-correction transition matrix is all zero: no clean \
                 class could be labelled {j}"
            ));
        }
        Ok(())
    }

    fn check_classes(&self, n_classes: usize) -> std::result::Result<(), String> {
        let n = self.transition.len();
        if n != n_classes {
            return Err(format!(
                "the forward-correction transition matrix is {n} × {n}, but the data have \
                 {n_classes} classes"
            ));
        }
        Ok(())
    }

    /// `−mean(logsumexp_i(log p_i + log T[i][ỹ]))`, the rows `log T[·][ỹ]` selected by label; the
    /// maximum subtracted inside the log-sum-exp is detached (its derivative cancels).
    fn candle(&self, logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
        let n = self.transition.len();
        let log_columns = Tensor::from_vec(self.log_columns(), (n, n), logits.device())?
            .to_dtype(logits.dtype())?;
        let log_probs = candle_nn::ops::log_softmax(logits, D::Minus1)?;
        let terms = (log_probs + log_columns.index_select(labels, 0)?)?;
        let max = terms.max_keepdim(D::Minus1)?.detach();
        let log_noisy = (terms
            .broadcast_sub(&max)?
            .exp()?
            .sum_keepdim(D::Minus1)?
            .log()?
            + max)?;
        log_noisy.mean_all()?.neg()
    }

    fn value_and_gradient(
        &self,
        logits: &[f32],
        labels: &[u32],
        n_classes: usize,
        gradient: &mut [f32],
    ) -> f64 {
        let log_columns = self.log_columns();
        let mut terms = vec![0.0f32; n_classes];
        mean_over_rows(logits, labels, n_classes, gradient, |row, out| {
            let column = &log_columns[row.label * n_classes..(row.label + 1) * n_classes];
            for ((t, &l), &c) in terms.iter_mut().zip(row.log_probs).zip(column) {
                *t = l + c;
            }
            let max = terms.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let log_noisy = max + terms.iter().map(|&t| (t - max).exp()).sum::<f32>().ln();
            for ((o, &p), &t) in out.iter_mut().zip(row.probs).zip(&terms) {
                *o = p - (t - log_noisy).exp();
            }
            -log_noisy
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::Loss;
    use crate::loss::testing::{N_CLASSES, plain};

    /// The reference script's T: 0.7 stays, 0.2 moves to the next class, 0.1 three classes on.
    fn transition() -> Vec<Vec<f64>> {
        (0..N_CLASSES)
            .map(|i| {
                let mut row = vec![0.0; N_CLASSES];
                row[i] += 0.7;
                row[(i + 1) % N_CLASSES] += 0.2;
                row[(i + 3) % N_CLASSES] += 0.1;
                row
            })
            .collect()
    }

    fn identity() -> Vec<Vec<f64>> {
        (0..N_CLASSES)
            .map(|i| {
                (0..N_CLASSES)
                    .map(|j| f64::from(u8::from(i == j)))
                    .collect()
            })
            .collect()
    }

    fn references() -> [(Loss, f64); 2] {
        // crates/trainer/tests/reference/losses.py, lines `forward …`.
        [
            (
                Loss::ForwardCorrection(ForwardCorrection::new(transition())),
                1.3134457442946685,
            ),
            (
                Loss::ForwardCorrection(ForwardCorrection::new(identity())),
                1.4058116652782202,
            ),
        ]
    }

    crate::loss::testing::reference_checks!();

    #[test]
    fn the_identity_matrix_gives_cross_entropy() {
        let (value, gradient) = plain(&Loss::ForwardCorrection(ForwardCorrection::new(identity())));
        let (ce, ce_gradient) = plain(&Loss::cross_entropy());
        assert!((value - ce).abs() < 1e-6);
        assert!(
            gradient
                .iter()
                .zip(&ce_gradient)
                .all(|(a, b)| (a - b).abs() < 1e-6)
        );
    }

    #[test]
    fn a_matrix_that_does_not_fit_is_refused() {
        let check = |transition: Vec<Vec<f64>>, n_classes| {
            Loss::ForwardCorrection(ForwardCorrection::new(transition)).check_classes(n_classes)
        };
        assert_eq!(check(transition(), N_CLASSES), Ok(()));
        assert_eq!(
            check(transition(), 4),
            Err(
                "the forward-correction transition matrix is 5 × 5, but the data have 4 classes"
                    .into()
            )
        );
        assert_eq!(
            check(vec![vec![1.0, 0.0], vec![1.0]], 2),
            Err(
                "row 1 of the forward-correction transition matrix has 1 entries, not 2: the \
                 matrix must be square"
                    .into()
            )
        );
        assert_eq!(
            check(vec![vec![0.5, 0.6], vec![0.0, 1.0]], 2),
            Err("row 0 of the forward-correction transition matrix sums to 1.1, not 1".into())
        );
        assert_eq!(
            check(vec![vec![1.5, -0.5], vec![0.0, 1.0]], 2),
            Err(
                "row 0 of the forward-correction transition matrix holds 1.5, outside [0, 1]"
                    .into()
            )
        );
        assert_eq!(
            check(vec![vec![1.0, 0.0], vec![1.0, 0.0]], 2),
            Err(
                "column 1 of the forward-correction transition matrix is all zero: no clean \
                 class could be labelled 1"
                    .into()
            )
        );
        assert!(check(Vec::new(), 0).is_err());
        assert!(check(vec![vec![f64::NAN, 1.0], vec![0.0, 1.0]], 2).is_err());
    }

    #[test]
    fn name_and_no_scalar_parameters() {
        let loss = Loss::ForwardCorrection(ForwardCorrection::new(identity()));
        assert_eq!((loss.name(), loss.parameters()), ("forward", Vec::new()));
    }
}
