//! The MLP and logistic regression with hand-derived gradients on plain buffers.
//!
//! Forward: `a₀ = x`, `aₗ = relu(aₗ₋₁·Wₗ + bₗ)` for hidden layers, logits `z = a_{L−1}·W_L + b_L`.
//! Loss: any [`Loss`], mean over the batch of B rows, whose `value_and_gradient` gives the
//! gradient `δ_L` with respect to the logits (for label-smoothed cross-entropy
//! `−(1 − ε)·log p_y − (ε/K)·Σ_k log p_k`, `p = softmax(z)`, it is `(p − t)/B` with
//! `t = (1 − ε)·e_y + ε/K`), and backward is
//! `∂Wₗ = aₗ₋₁ᵀ·δₗ`, `∂bₗ = Σ_rows δₗ`, `δₗ₋₁ = (δₗ·Wₗᵀ) ⊙ [aₗ₋₁ > 0]`. The gradient of the
//! input batch is never formed: nothing needs it.
//!
//! The same model in candle ([`crate::Mlp`], autograd) is the reference: a test checks that both
//! give the same loss and gradients from the same weights.

use crate::kernels::{Operand, Threads, matmul};
use crate::loss::Loss;
use crate::model::{ModelKind, dense_initial_weights};
use crate::optim::Parameter;

/// An MLP (no hidden layer: logistic regression) whose parameters are plain `f32` buffers.
#[derive(Debug)]
pub(crate) struct DenseNet {
    /// Layer widths, input first, classes last.
    widths: Vec<usize>,
    /// Weight `[in, out]` (row-major) then bias `[out]`, layer by layer.
    parameters: Vec<Parameter>,
    /// Output of every layer for the last forward pass, `rows × width` each (after the ReLU for
    /// hidden layers; the logits last).
    activations: Vec<Vec<f32>>,
    /// Gradient of the loss with respect to the current layer's output, and the one below it.
    delta: Vec<f32>,
    delta_below: Vec<f32>,
    threads: Threads,
}

impl DenseNet {
    /// The model of `kind` (logistic or MLP), initialised exactly like [`crate::Mlp::new`].
    pub(crate) fn new(
        kind: &ModelKind,
        n_features: usize,
        n_classes: usize,
        seed: u64,
        threads: Threads,
    ) -> DenseNet {
        let widths = kind.dense_widths(n_features, n_classes);
        let parameters = dense_initial_weights(&widths, seed)
            .into_iter()
            .flat_map(|(weight, bias)| [Parameter::new(weight), Parameter::new(bias)])
            .collect();
        DenseNet {
            activations: vec![Vec::new(); widths.len() - 1],
            widths,
            parameters,
            delta: Vec::new(),
            delta_below: Vec::new(),
            threads,
        }
    }

    pub(crate) fn parameters_mut(&mut self) -> &mut [Parameter] {
        &mut self.parameters
    }

    #[cfg(test)]
    pub(crate) fn parameters(&self) -> &[Parameter] {
        &self.parameters
    }

    fn n_layers(&self) -> usize {
        self.widths.len() - 1
    }

    /// Floats held per input row by a forward pass: every layer's output.
    pub(crate) fn floats_per_row(&self) -> usize {
        self.widths[1..].iter().sum()
    }

    /// Runs `rows` rows of `inputs` through the network; returns the logits, `rows × K`.
    pub(crate) fn forward(&mut self, inputs: &[f32], rows: usize) -> &[f32] {
        let layers = self.n_layers();
        for layer in 0..layers {
            let (fan_in, fan_out) = (self.widths[layer], self.widths[layer + 1]);
            let (below, rest) = self.activations.split_at_mut(layer);
            let input = if layer == 0 {
                inputs
            } else {
                below[layer - 1].as_slice()
            };
            let out = &mut rest[0];
            out.resize(rows * fan_out, 0.0);
            let bias = &self.parameters[2 * layer + 1].value;
            for row in out.chunks_exact_mut(fan_out) {
                row.copy_from_slice(bias);
            }
            matmul(
                out,
                Operand::new(input, rows, fan_in),
                Operand::new(&self.parameters[2 * layer].value, fan_in, fan_out),
                true,
                self.threads,
            );
            if layer + 1 < layers {
                out.iter_mut().for_each(|x| *x = x.max(0.0));
            }
        }
        &self.activations[layers - 1]
    }

    /// The last hidden layer's output of the last forward pass (`None` without hidden layers).
    pub(crate) fn penultimate(&self) -> Option<(&[f32], usize)> {
        let layers = self.n_layers();
        (layers >= 2).then(|| {
            (
                self.activations[layers - 2].as_slice(),
                self.widths[layers - 1],
            )
        })
    }

    /// The class templates: row c is the last layer's weights into class c, `K × width`.
    pub(crate) fn templates(&self) -> Vec<Vec<f32>> {
        let layers = self.n_layers();
        let (width, n_classes) = (self.widths[layers - 1], self.widths[layers]);
        let weight = &self.parameters[2 * (layers - 1)].value;
        (0..n_classes)
            .map(|c| (0..width).map(|i| weight[i * n_classes + c]).collect())
            .collect()
    }

    /// One training step's forward and backward pass on `rows` rows of `inputs` with `labels`:
    /// leaves the gradients in the parameters and returns the mean loss.
    pub(crate) fn loss_and_gradients(
        &mut self,
        inputs: &[f32],
        labels: &[u32],
        loss: &Loss,
    ) -> f64 {
        let rows = labels.len();
        let layers = self.n_layers();
        let n_classes = self.widths[layers];
        self.forward(inputs, rows);
        let mut delta = std::mem::take(&mut self.delta);
        delta.resize(rows * n_classes, 0.0);
        let value =
            loss.value_and_gradient(&self.activations[layers - 1], labels, n_classes, &mut delta);
        let mut delta_below = std::mem::take(&mut self.delta_below);
        for layer in (0..layers).rev() {
            let (fan_in, fan_out) = (self.widths[layer], self.widths[layer + 1]);
            let input = if layer == 0 {
                inputs
            } else {
                self.activations[layer - 1].as_slice()
            };
            let (weight, bias) = match &mut self.parameters[2 * layer..2 * layer + 2] {
                [weight, bias] => (weight, bias),
                _ => unreachable!("every layer has a weight and a bias"),
            };
            matmul(
                &mut weight.grad,
                Operand::new(input, rows, fan_in).t(),
                Operand::new(&delta, rows, fan_out),
                false,
                self.threads,
            );
            bias.grad.fill(0.0);
            for row in delta.chunks_exact(fan_out) {
                bias.grad.iter_mut().zip(row).for_each(|(g, d)| *g += d);
            }
            if layer > 0 {
                delta_below.resize(rows * fan_in, 0.0);
                matmul(
                    &mut delta_below,
                    Operand::new(&delta, rows, fan_out),
                    Operand::new(&weight.value, fan_in, fan_out).t(),
                    false,
                    self.threads,
                );
                for (d, &a) in delta_below.iter_mut().zip(input) {
                    if a <= 0.0 {
                        *d = 0.0;
                    }
                }
                std::mem::swap(&mut delta, &mut delta_below);
            }
        }
        self.delta = delta;
        self.delta_below = delta_below;
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::{
        BootstrapHard, BootstrapSoft, Focal, ForwardCorrection, Gce, LabelSmoothing, Sce,
    };
    use crate::model::Mlp;
    use candle_core::{Device, Tensor};

    /// Largest |a − b| relative to the largest |b| (or 1, if smaller).
    fn relative_error(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        let scale = b.iter().fold(1e-3f32, |m, x| m.max(x.abs()));
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
            / scale
    }

    /// Loss and gradients of the hand-derived pass agree with candle's autograd on the same
    /// weights and batch, within 1e-5 of each gradient's largest entry (f32 sums in another
    /// order), for logistic regression and MLPs of one and two hidden layers, and every loss:
    /// hard, soft and negatively smoothed targets and each of the other losses.
    #[test]
    fn gradients_match_candle_autograd() {
        let (n_features, n_classes, rows) = (13, 5, 37);
        let inputs: Vec<f32> = (0..rows * n_features)
            .map(|i| ((i * 7919) % 1000) as f32 / 250.0 - 2.0)
            .collect();
        let labels: Vec<u32> = (0..rows as u32)
            .map(|i| (i * 3 + 1) % n_classes as u32)
            .collect();
        for kind in [
            ModelKind::Logistic,
            ModelKind::Mlp { hidden: vec![11] },
            ModelKind::Mlp {
                hidden: vec![17, 9],
            },
        ] {
            let losses = [
                Loss::label_smoothing(0.0),
                Loss::label_smoothing(0.1),
                Loss::label_smoothing(0.6),
                Loss::label_smoothing(-0.8),
                Loss::LabelSmoothing(LabelSmoothing::off_classes(0.3)),
                Loss::BootstrapSoft(BootstrapSoft::default()),
                Loss::BootstrapHard(BootstrapHard::default()),
                Loss::Gce(Gce::default()),
                Loss::Sce(Sce::default()),
                Loss::Focal(Focal::default()),
                Loss::ForwardCorrection(ForwardCorrection::new(
                    (0..n_classes)
                        .map(|i| {
                            (0..n_classes)
                                .map(|j| if i == j { 0.6 } else { 0.1 })
                                .collect()
                        })
                        .collect(),
                )),
            ];
            for chosen in &losses {
                let mut ours =
                    DenseNet::new(&kind, n_features, n_classes, 4, Threads::from_environment());
                let loss = ours.loss_and_gradients(&inputs, &labels, chosen);

                let reference = Mlp::new(&kind, n_features, n_classes, 4).unwrap();
                let x = Tensor::from_slice(&inputs, (rows, n_features), &Device::Cpu).unwrap();
                let y = Tensor::from_slice(&labels, rows, &Device::Cpu).unwrap();
                let candle_loss = chosen.candle(&reference.forward(&x).unwrap(), &y).unwrap();
                let grads = candle_loss.backward().unwrap();
                let expected_loss = f64::from(candle_loss.to_scalar::<f32>().unwrap());
                assert!(
                    (loss - expected_loss).abs() < 1e-5 * expected_loss.abs().max(1.0),
                    "{kind:?} {chosen:?}: loss {loss} vs {expected_loss}"
                );
                for (index, (parameter, var)) in
                    ours.parameters().iter().zip(reference.vars()).enumerate()
                {
                    assert_eq!(
                        parameter.value,
                        var.as_tensor()
                            .flatten_all()
                            .unwrap()
                            .to_vec1::<f32>()
                            .unwrap(),
                        "the same initial weights"
                    );
                    let expected = grads
                        .get(&var)
                        .unwrap()
                        .flatten_all()
                        .unwrap()
                        .to_vec1::<f32>()
                        .unwrap();
                    let error = relative_error(&parameter.grad, &expected);
                    assert!(
                        error < 1e-5,
                        "{kind:?} {chosen:?}, parameter {index}: {error}"
                    );
                }
            }
        }
    }

    #[test]
    fn forward_matches_candle_and_exposes_the_penultimate_layer() {
        let kind = ModelKind::Mlp { hidden: vec![6] };
        let inputs: Vec<f32> = (0..4 * 3).map(|i| i as f32 / 6.0 - 1.0).collect();
        let mut ours = DenseNet::new(&kind, 3, 2, 9, Threads::from_environment());
        let logits = ours.forward(&inputs, 4).to_vec();
        let reference = Mlp::new(&kind, 3, 2, 9).unwrap();
        let expected: Vec<f32> = reference
            .forward(&Tensor::from_slice(&inputs, (4, 3), &Device::Cpu).unwrap())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert!(relative_error(&logits, &expected) < 1e-6);
        let (activations, width) = ours.penultimate().unwrap();
        assert_eq!((activations.len(), width), (4 * 6, 6));
        assert!(activations.iter().all(|&a| a >= 0.0));
        assert_eq!(ours.templates().len(), 2);
        assert_eq!(ours.floats_per_row(), 6 + 2);
    }
}
