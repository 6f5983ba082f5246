//! The model being trained, whichever way its gradients are computed, behind one interface for
//! the training loop: a step's loss and gradients, the optimiser's update, chunked evaluation.

use candle_core::Result;

use crate::dense::DenseNet;
use crate::device::Device;
use crate::kernels::Threads;
use crate::loss::Loss;
use crate::model::{Cnn, ConvNet, ModelKind, cnn_input_shape};
use crate::optim::AnyOptimizer;

/// Bytes of activations one evaluation chunk may hold; the rows per chunk follow from the model's
/// activations per row, so memory stays bounded whatever the split's size or the model's width.
const EVAL_CHUNK_BYTES: usize = 16 << 20;

/// Appends the log-softmax of each row of `logits` (`n_classes` values a row) to `out`.
pub(crate) fn log_softmax_rows(logits: &[f32], n_classes: usize, out: &mut Vec<f32>) {
    for row in logits.chunks_exact(n_classes) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let log_sum = max + row.iter().map(|&z| (z - max).exp()).sum::<f32>().ln();
        out.extend(row.iter().map(|&z| z - log_sum));
    }
}

/// A model in training.
#[derive(Debug)]
pub(crate) enum Network {
    /// Logistic regression and the MLP: hand-derived gradients on plain buffers.
    Dense(DenseNet),
    /// The CNN: candle's autograd.
    Conv(ConvNet),
}

impl Network {
    /// The model of `kind` on `device`, its weights seeded by `seed` (see [`crate::Model::new`]).
    pub(crate) fn new(
        kind: &ModelKind,
        n_features: usize,
        n_classes: usize,
        image_shape: Option<[usize; 3]>,
        seed: u64,
        device: Device,
    ) -> Result<Network> {
        let threads = Threads::from_environment();
        match (kind, device) {
            (ModelKind::Cnn { channels }, _) => {
                let shape = cnn_input_shape(image_shape)?;
                let cnn = Cnn::new_on(shape, *channels, n_classes, seed, &device.candle())?;
                Ok(Network::Conv(ConvNet::new(cnn, threads)?))
            }
            // The hand-derived layers work on host memory.
            (_, Device::Cpu) => Ok(Network::Dense(DenseNet::new(
                kind, n_features, n_classes, seed, threads,
            ))),
        }
    }

    /// Forward and backward pass of one minibatch (`labels.len()` rows of `inputs`): leaves the
    /// gradients in the parameters and returns the mean loss.
    pub(crate) fn loss_and_gradients(
        &mut self,
        inputs: &[f32],
        labels: &[u32],
        loss: &Loss,
    ) -> Result<f64> {
        match self {
            Network::Dense(net) => Ok(net.loss_and_gradients(inputs, labels, loss)),
            Network::Conv(net) => net.loss_and_gradients(inputs, labels, loss),
        }
    }

    /// Applies the optimiser to the gradients of the last step, in place.
    pub(crate) fn update(&mut self, optimizer: &mut AnyOptimizer) -> Result<()> {
        match self {
            Network::Dense(net) => {
                optimizer.step(net.parameters_mut());
                Ok(())
            }
            Network::Conv(net) => {
                optimizer.step(net.parameters_mut());
                net.load_parameters()
            }
        }
    }

    /// Rows evaluated at once.
    fn chunk_rows(&self) -> usize {
        let floats = match self {
            Network::Dense(net) => net.floats_per_row(),
            Network::Conv(net) => net.floats_per_row(),
        };
        (EVAL_CHUNK_BYTES / (4 * floats.max(1))).max(1)
    }

    /// Log-softmax of the logits of every row of `features` (`n_features` values a row),
    /// row-major, computed in chunks of [`EVAL_CHUNK_BYTES`] of activations.
    pub(crate) fn log_probs(&mut self, features: &[f32], n_features: usize) -> Result<Vec<f32>> {
        let chunk_rows = self.chunk_rows();
        let mut out = Vec::new();
        for chunk in features.chunks(chunk_rows * n_features) {
            let rows = chunk.len() / n_features;
            match self {
                Network::Dense(net) => {
                    let logits = net.forward(chunk, rows);
                    log_softmax_rows(logits, logits.len() / rows, &mut out);
                }
                Network::Conv(net) => net.log_probs_into(chunk, rows, &mut out),
            }
        }
        Ok(out)
    }

    /// For an MLP with a hidden layer: the penultimate activations of `rows` rows of `inputs`
    /// (`rows × width`), the width, and the class templates (rows of the last layer's weight,
    /// `K × width`). `None` for logistic regression and the CNN.
    pub(crate) fn penultimate(
        &mut self,
        inputs: &[f32],
        rows: usize,
    ) -> Option<(Vec<f32>, usize, Vec<Vec<f32>>)> {
        let Network::Dense(net) = self else {
            return None;
        };
        net.forward(inputs, rows);
        let (activations, width) = net.penultimate()?;
        let activations = activations.to_vec();
        Some((activations, width, net.templates()))
    }
}
