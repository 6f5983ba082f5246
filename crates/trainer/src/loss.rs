//! The training loss: label-smoothed cross-entropy, `t = (1 − ε)·e_y + ε/K`, loss
//! `−Σ_k t_k log p_k` (docs/DEFINITIONS.md#label-smoothing).
//!
//! [`Loss`] is what a run trains with. Each loss has two implementations that a test holds
//! together: a candle expression (autograd, for the CNN and as the reference) and its value with
//! its gradient with respect to the logits on plain buffers (for the hand-derived MLP).

use candle_core::{D, Result, Tensor};

/// The loss a run minimises, averaged over the minibatch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Loss {
    /// Cross-entropy against label-smoothed targets `(1 − ε)·onehot(y) + ε/K`; ε = 0 is plain
    /// cross-entropy against hard targets.
    LabelSmoothing {
        /// ε in [0, 1].
        epsilon: f64,
    },
}

impl Loss {
    /// Why the loss cannot be trained with, if it cannot.
    pub(crate) fn check(&self) -> std::result::Result<(), String> {
        match *self {
            Loss::LabelSmoothing { epsilon } if !(0.0..=1.0).contains(&epsilon) => {
                Err(format!("label smoothing {epsilon} is outside [0, 1]"))
            }
            Loss::LabelSmoothing { .. } => Ok(()),
        }
    }

    /// The mean loss of `logits` (`[batch, K]`) for `labels` (`[batch]`, u32) as a candle scalar,
    /// differentiable by candle's autograd.
    pub(crate) fn candle(&self, logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
        match *self {
            Loss::LabelSmoothing { epsilon } => {
                label_smoothed_cross_entropy(logits, labels, epsilon)
            }
        }
    }

    /// The mean loss of `logits` (`labels.len() × n_classes`, row-major) and its gradient with
    /// respect to the logits, written to `gradient` (the same shape).
    pub(crate) fn value_and_gradient(
        &self,
        logits: &[f32],
        labels: &[u32],
        n_classes: usize,
        gradient: &mut [f32],
    ) -> f64 {
        match *self {
            Loss::LabelSmoothing { epsilon } => {
                smoothed_cross_entropy_gradient(logits, labels, n_classes, epsilon, gradient)
            }
        }
    }
}

/// The mean label-smoothed cross-entropy of `logits` (`labels.len() × K`) and its gradient with
/// respect to the logits, written to `gradient`: `(softmax(z) − t)/B`.
fn smoothed_cross_entropy_gradient(
    logits: &[f32],
    labels: &[u32],
    n_classes: usize,
    epsilon: f64,
    gradient: &mut [f32],
) -> f64 {
    let rows = labels.len();
    let off = (epsilon / n_classes as f64) as f32;
    let on = (1.0 - epsilon) as f32;
    let scale = 1.0 / rows as f32;
    let mut total = 0.0f64;
    for ((row, out), &label) in logits
        .chunks_exact(n_classes)
        .zip(gradient.chunks_exact_mut(n_classes))
        .zip(labels)
    {
        let label = label as usize;
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0f32;
        for (o, &z) in out.iter_mut().zip(row) {
            *o = (z - max).exp();
            sum += *o;
        }
        let log_sum = max + sum.ln();
        let mean_log_prob = row.iter().map(|&z| z - log_sum).sum::<f32>() / n_classes as f32;
        let loss = -on * (row[label] - log_sum) - epsilon as f32 * mean_log_prob;
        total += f64::from(loss);
        let inverse = 1.0 / sum;
        for o in out.iter_mut() {
            *o = (*o * inverse - off) * scale;
        }
        out[label] -= on * scale;
    }
    total / rows as f64
}

/// The smoothed target rows for `labels` (each in `0..n_classes`), `labels.len() × n_classes`,
/// row-major: the true class gets `1 − ε + ε/K`, every other class `ε/K`. With ε = 0 these are
/// one-hot vectors. This is the PyTorch/Keras/TensorFlow convention, not the `ε/(K − 1)` one.
pub fn smoothed_targets(labels: &[usize], n_classes: usize, epsilon: f64) -> Vec<f32> {
    let off = epsilon / n_classes as f64;
    let mut targets = vec![off as f32; labels.len() * n_classes];
    for (row, &label) in labels.iter().enumerate() {
        targets[row * n_classes + label] = (1.0 - epsilon + off) as f32;
    }
    targets
}

/// Mean over the batch of `−Σ_k t_k log softmax(z)_k` with the targets of [`smoothed_targets`],
/// computed as `(1 − ε)·NLL + ε·mean_k(−log p_k)` so no target tensor is built.
///
/// `logits`: `[batch, K]` floats; `labels`: `[batch]` u32 class indices. Returns a scalar tensor.
/// With ε = 0 this is exactly candle's `cross_entropy`.
pub fn label_smoothed_cross_entropy(
    logits: &Tensor,
    labels: &Tensor,
    epsilon: f64,
) -> Result<Tensor> {
    let log_probs = candle_nn::ops::log_softmax(logits, D::Minus1)?;
    let nll = candle_nn::loss::nll(&log_probs, labels)?;
    if epsilon == 0.0 {
        return Ok(nll);
    }
    let uniform = log_probs.mean(D::Minus1)?.mean_all()?.neg()?;
    nll.affine(1.0 - epsilon, 0.0)? + uniform.affine(epsilon, 0.0)?
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn close(a: f64, b: f64, tolerance: f64) {
        assert!((a - b).abs() <= tolerance, "{a} vs {b}");
    }

    #[test]
    fn binary_targets_match_the_keras_worked_example() {
        // ε = 0.2, K = 2, one-hot [0, 1] → [0.1, 0.9] (Keras: y·(1 − ε) + 0.5·ε).
        let targets = smoothed_targets(&[1], 2, 0.2);
        close(targets[0].into(), 0.1, 1e-7);
        close(targets[1].into(), 0.9, 1e-7);
    }

    #[test]
    fn multiclass_targets_match_reference_vectors() {
        // burn's test vector: ε = 0.05, K = 5 → 0.96 / 0.01.
        let targets = smoothed_targets(&[2], 5, 0.05);
        for (k, &t) in targets.iter().enumerate() {
            close(t.into(), if k == 2 { 0.96 } else { 0.01 }, 1e-7);
        }
        // K = 10, ε = 0.1 → 0.91 / 0.01, and every row sums to 1.
        let targets = smoothed_targets(&[0, 9], 10, 0.1);
        close(targets[0].into(), 0.91, 1e-7);
        close(targets[19].into(), 0.91, 1e-7);
        close(targets[1].into(), 0.01, 1e-7);
        for row in targets.chunks(10) {
            close(row.iter().map(|&t| f64::from(t)).sum(), 1.0, 1e-6);
        }
        assert_eq!(smoothed_targets(&[1], 3, 0.0), vec![0.0, 1.0, 0.0]);
    }

    fn example() -> (Tensor, Tensor) {
        let logits = Tensor::new(&[[2.0f32, 1.0, 0.0], [0.5, -1.0, 3.0]], &Device::Cpu).unwrap();
        let labels = Tensor::new(&[0u32, 1], &Device::Cpu).unwrap();
        (logits, labels)
    }

    #[test]
    fn loss_matches_hand_computed_values() {
        // Reference values from numpy, the definition written out:
        //   lp = z - log(exp(z).sum(1, keepdims=True))
        //   t = full((2, 3), eps/3); t[0, 0] += 1 - eps; t[1, 1] += 1 - eps
        //   -(t * lp).sum(1).mean()
        // eps = 0.0 → 2.2516401469293816, 0.1 → 2.2099734802627147, 0.3 → 2.126640146929381
        let (logits, labels) = example();
        for (epsilon, expected) in [
            (0.0, 2.2516401469293816),
            (0.1, 2.2099734802627147),
            (0.3, 2.126640146929381),
        ] {
            let loss = label_smoothed_cross_entropy(&logits, &labels, epsilon).unwrap();
            close(loss.to_scalar::<f32>().unwrap().into(), expected, 1e-6);
        }
    }

    #[test]
    fn loss_equals_explicit_soft_target_cross_entropy() {
        let (logits, labels) = example();
        for epsilon in [0.05, 0.2, 0.6] {
            let targets =
                Tensor::from_vec(smoothed_targets(&[0, 1], 3, epsilon), (2, 3), &Device::Cpu)
                    .unwrap();
            let log_probs = candle_nn::ops::log_softmax(&logits, D::Minus1).unwrap();
            let explicit = (targets * log_probs)
                .unwrap()
                .sum(D::Minus1)
                .unwrap()
                .mean_all()
                .unwrap()
                .neg()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            let ours = label_smoothed_cross_entropy(&logits, &labels, epsilon)
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            close(ours.into(), explicit.into(), 1e-6);
        }
    }

    #[test]
    fn loss_at_zero_epsilon_is_plain_cross_entropy() {
        let (logits, labels) = example();
        let ours = label_smoothed_cross_entropy(&logits, &labels, 0.0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let library = candle_nn::loss::cross_entropy(&logits, &labels)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert_eq!(ours.to_bits(), library.to_bits());
    }

    #[test]
    fn confident_correct_prediction_on_a_hard_label_costs_about_one_hundredth() {
        // p = 0.99 on the true class of two: −ln 0.99 ≈ 0.01005.
        let logit = (0.99f64 / 0.01).ln() as f32;
        let logits = Tensor::new(&[[logit, 0.0f32]], &Device::Cpu).unwrap();
        let labels = Tensor::new(&[0u32], &Device::Cpu).unwrap();
        let loss = label_smoothed_cross_entropy(&logits, &labels, 0.0).unwrap();
        close(
            loss.to_scalar::<f32>().unwrap().into(),
            0.010050335853501,
            1e-6,
        );
    }
}
