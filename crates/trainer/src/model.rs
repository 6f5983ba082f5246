//! Models (logistic regression, MLP, a small CNN) with weights drawn from a seeded stream.

use candle_core::{Device, Result, Tensor, Var};

use crate::conv::{ConvScratch, conv_relu_pool};
use crate::kernels::{Operand, Threads, matmul};
use crate::loss::Loss;
use crate::network::log_softmax_rows;
use crate::optim::Parameter;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Which model to train.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ModelKind {
    /// One linear layer: features → class logits.
    Logistic,
    /// Linear layers with ReLU between them; `hidden` lists the hidden widths (each ≥ 1).
    Mlp {
        /// Widths of the hidden layers, input side first.
        hidden: Vec<usize>,
    },
    /// Two conv(3×3, padding 1)–ReLU–max-pool(2×2) blocks and a linear head; needs image inputs
    /// whose height and width are at least 4.
    Cnn {
        /// Output channels of the first and second convolution (each ≥ 1).
        channels: [usize; 2],
    },
}

impl ModelKind {
    /// Layer widths of the fully connected models, from input to output (the CNN: just the two).
    pub(crate) fn dense_widths(&self, n_features: usize, n_classes: usize) -> Vec<usize> {
        let mut widths = vec![n_features];
        if let ModelKind::Mlp { hidden } = self {
            widths.extend_from_slice(hidden);
        }
        widths.push(n_classes);
        widths
    }
}

/// A model of any kind, built by [`Model::new`].
#[derive(Debug)]
pub enum Model {
    /// Logistic regression or MLP (images are flattened).
    Mlp(Mlp),
    /// The CNN.
    Cnn(Cnn),
}

/// The image shape a CNN is built for: an error for data without one.
pub(crate) fn cnn_input_shape(image_shape: Option<[usize; 3]>) -> Result<[usize; 3]> {
    match image_shape {
        Some(shape) => Ok(shape),
        None => candle_core::bail!("a CNN needs image data; this data set has no image shape"),
    }
}

impl Model {
    /// Builds `kind` for rows of `n_features` values and `n_classes` outputs. The CNN needs
    /// `image_shape` (`[channels, height, width]`, CHW rows); the other models ignore it.
    pub fn new(
        kind: &ModelKind,
        n_features: usize,
        n_classes: usize,
        image_shape: Option<[usize; 3]>,
        seed: u64,
    ) -> Result<Model> {
        match kind {
            ModelKind::Cnn { channels } => Ok(Model::Cnn(Cnn::new(
                cnn_input_shape(image_shape)?,
                *channels,
                n_classes,
                seed,
            )?)),
            _ => Ok(Model::Mlp(Mlp::new(kind, n_features, n_classes, seed)?)),
        }
    }

    /// Logits `[batch, n_classes]` for rows `[batch, n_features]`.
    pub fn forward(&self, inputs: &Tensor) -> Result<Tensor> {
        match self {
            Model::Mlp(mlp) => mlp.forward(inputs),
            Model::Cnn(cnn) => cnn.forward(inputs),
        }
    }

    /// The trainable variables.
    pub fn vars(&self) -> Vec<Var> {
        match self {
            Model::Mlp(mlp) => mlp.vars(),
            Model::Cnn(cnn) => cnn.vars(),
        }
    }

    /// For an MLP with at least one hidden layer: the penultimate-layer activations
    /// `[batch, width]` of `inputs` (after the last hidden ReLU) and the class templates
    /// `[n_classes, width]` (the rows of the last layer's weight, bias left out). `None` for
    /// logistic regression, which has no hidden layer, and for the CNN.
    pub fn penultimate(&self, inputs: &Tensor) -> Result<Option<(Tensor, Tensor)>> {
        match self {
            Model::Mlp(mlp) if mlp.layers.len() >= 2 => {
                let (hidden, head) = mlp.layers.split_at(mlp.layers.len() - 1);
                let activations = Mlp::forward_layers(hidden, inputs, true)?;
                Ok(Some((
                    activations,
                    head[0].0.as_tensor().t()?.contiguous()?,
                )))
            }
            _ => Ok(None),
        }
    }
}

/// `n` values from `U(−bound, bound)`.
fn uniform(rng: &mut ChaCha8Rng, n: usize, bound: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-bound..bound)).collect()
}

/// The initial `(weight [in, out] row-major, bias [out])` of each layer of a fully connected model
/// with `widths`: every value from `U(−1/√fan_in, 1/√fan_in)` (PyTorch's `nn.Linear` default),
/// drawn by a ChaCha8 generator seeded by `seed`, layer by layer, the weight matrix row-major then
/// the bias.
pub(crate) fn dense_initial_weights(widths: &[usize], seed: u64) -> Vec<(Vec<f32>, Vec<f32>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    widths
        .windows(2)
        .map(|pair| {
            let (fan_in, fan_out) = (pair[0], pair[1]);
            let bound = 1.0 / (fan_in as f32).sqrt();
            let weight = uniform(&mut rng, fan_in * fan_out, bound);
            (weight, uniform(&mut rng, fan_out, bound))
        })
        .collect()
}

/// A stack of linear layers, ReLU between them, no activation on the logits.
#[derive(Debug)]
pub struct Mlp {
    /// `(weight [in, out], bias [out])` per layer, input side first.
    layers: Vec<(Var, Var)>,
}

impl Mlp {
    /// Builds the layers of `kind` for `n_features` inputs and `n_classes` outputs, drawing every
    /// weight and bias from `U(−1/√fan_in, 1/√fan_in)` (PyTorch's `nn.Linear` default) with a
    /// ChaCha8 generator seeded by `seed`: layer by layer, the weight matrix row-major then the bias.
    /// candle's own initialisers cannot be seeded, so they are not used.
    ///
    /// Training uses the same model with hand-derived gradients on plain buffers; this candle
    /// version, trained by autograd, is its reference.
    pub fn new(kind: &ModelKind, n_features: usize, n_classes: usize, seed: u64) -> Result<Mlp> {
        Mlp::new_on(
            kind,
            n_features,
            n_classes,
            seed,
            &crate::Device::default().candle(),
        )
    }

    /// [`Mlp::new`] with its variables on `device`.
    pub fn new_on(
        kind: &ModelKind,
        n_features: usize,
        n_classes: usize,
        seed: u64,
        device: &Device,
    ) -> Result<Mlp> {
        let widths = kind.dense_widths(n_features, n_classes);
        let mut layers = Vec::with_capacity(widths.len() - 1);
        for (pair, (weight, bias)) in widths.windows(2).zip(dense_initial_weights(&widths, seed)) {
            let weight = Tensor::from_vec(weight, (pair[0], pair[1]), device)?;
            let bias = Tensor::from_vec(bias, pair[1], device)?;
            layers.push((Var::from_tensor(&weight)?, Var::from_tensor(&bias)?));
        }
        Ok(Mlp { layers })
    }

    /// Logits `[batch, n_classes]` for inputs `[batch, n_features]`.
    pub fn forward(&self, inputs: &Tensor) -> Result<Tensor> {
        Mlp::forward_layers(&self.layers, inputs, false)
    }

    /// Applies `layers` with a ReLU after each one but the last, and after the last too when
    /// `relu_last`.
    fn forward_layers(layers: &[(Var, Var)], inputs: &Tensor, relu_last: bool) -> Result<Tensor> {
        let mut activations = inputs.clone();
        for (index, (weight, bias)) in layers.iter().enumerate() {
            activations = activations
                .matmul(weight.as_tensor())?
                .broadcast_add(bias.as_tensor())?;
            if relu_last || index + 1 < layers.len() {
                activations = activations.relu()?;
            }
        }
        Ok(activations)
    }

    /// The trainable variables, weight then bias, layer by layer.
    pub fn vars(&self) -> Vec<Var> {
        self.layers
            .iter()
            .flat_map(|(weight, bias)| [weight.clone(), bias.clone()])
            .collect()
    }
}

/// Two conv–ReLU–pool blocks and a linear head, for CHW image rows. The convolutions are
/// [`crate::conv`]'s, whose backward pass is as fast as its forward.
#[derive(Debug)]
pub struct Cnn {
    /// Where its variables live.
    device: Device,
    /// `[channels, height, width]` of the input images.
    shape: [usize; 3],
    /// `(kernel [out, in, 3, 3], bias [1, out, 1, 1])` of the two convolutions.
    convs: [(Var, Var); 2],
    /// `(weight [flattened, n_classes], bias [n_classes])` of the head.
    head: (Var, Var),
}

impl Cnn {
    /// Builds the CNN for images of `shape` (`[channels, height, width]`, height and width ≥ 4)
    /// with `channels` convolution widths. Weights and biases are drawn like the MLP's, from
    /// `U(−1/√fan_in, 1/√fan_in)` (fan_in = in channels · 9 for a convolution), in the order
    /// conv 1, conv 2, head.
    pub fn new(
        shape: [usize; 3],
        channels: [usize; 2],
        n_classes: usize,
        seed: u64,
    ) -> Result<Cnn> {
        Cnn::new_on(
            shape,
            channels,
            n_classes,
            seed,
            &crate::Device::default().candle(),
        )
    }

    /// [`Cnn::new`] with its variables on `device`.
    pub fn new_on(
        shape: [usize; 3],
        channels: [usize; 2],
        n_classes: usize,
        seed: u64,
        device: &Device,
    ) -> Result<Cnn> {
        let [in_channels, height, width] = shape;
        if height < 4 || width < 4 || channels.contains(&0) || in_channels == 0 {
            candle_core::bail!(
                "a CNN needs images of at least 4×4 and channel counts ≥ 1, got {shape:?} and {channels:?}"
            );
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut conv = |input: usize, output: usize| -> Result<(Var, Var)> {
            let bound = 1.0 / ((input * 9) as f32).sqrt();
            let kernel = Tensor::from_vec(
                uniform(&mut rng, output * input * 9, bound),
                (output, input, 3, 3),
                device,
            )?;
            let bias =
                Tensor::from_vec(uniform(&mut rng, output, bound), (1, output, 1, 1), device)?;
            Ok((Var::from_tensor(&kernel)?, Var::from_tensor(&bias)?))
        };
        let convs = [
            conv(in_channels, channels[0])?,
            conv(channels[0], channels[1])?,
        ];
        let flattened = channels[1] * (height / 4) * (width / 4);
        let bound = 1.0 / (flattened as f32).sqrt();
        let weight = Tensor::from_vec(
            uniform(&mut rng, flattened * n_classes, bound),
            (flattened, n_classes),
            device,
        )?;
        let bias = Tensor::from_vec(uniform(&mut rng, n_classes, bound), n_classes, device)?;
        Ok(Cnn {
            device: device.clone(),
            shape,
            convs,
            head: (Var::from_tensor(&weight)?, Var::from_tensor(&bias)?),
        })
    }

    /// Logits `[batch, n_classes]` for rows `[batch, channels·height·width]`.
    pub fn forward(&self, inputs: &Tensor) -> Result<Tensor> {
        let [channels, height, width] = self.shape;
        let batch = inputs.dim(0)?;
        let mut activations = inputs.reshape((batch, channels, height, width))?;
        for (kernel, bias) in &self.convs {
            activations = crate::conv::relu_max_pool2(&crate::conv::conv2d(
                &activations,
                kernel.as_tensor(),
                bias.as_tensor(),
                1,
            )?)?;
        }
        let (weight, bias) = &self.head;
        activations
            .flatten_from(1)?
            .matmul(weight.as_tensor())?
            .broadcast_add(bias.as_tensor())
    }

    /// The trainable variables: conv 1 kernel and bias, conv 2 kernel and bias, head weight
    /// and bias.
    pub fn vars(&self) -> Vec<Var> {
        self.convs
            .iter()
            .chain(std::iter::once(&self.head))
            .flat_map(|(weight, bias)| [weight.clone(), bias.clone()])
            .collect()
    }
}

/// The CNN trained through candle's autograd, its parameters mirrored in plain buffers that the
/// optimiser updates in place. Each step's gradients are copied out of candle's gradient store,
/// which is then dropped with the step's graph: nothing kept across steps holds a graph.
#[derive(Debug)]
pub(crate) struct ConvNet {
    cnn: Cnn,
    vars: Vec<Var>,
    parameters: Vec<Parameter>,
    threads: Threads,
}

impl ConvNet {
    pub(crate) fn new(cnn: Cnn, threads: Threads) -> Result<ConvNet> {
        let vars = cnn.vars();
        let parameters = vars
            .iter()
            .map(|var| Ok(Parameter::new(var.as_tensor().flatten_all()?.to_vec1()?)))
            .collect::<Result<_>>()?;
        Ok(ConvNet {
            cnn,
            vars,
            parameters,
            threads,
        })
    }

    pub(crate) fn parameters_mut(&mut self) -> &mut [Parameter] {
        &mut self.parameters
    }

    /// Floats held per input image by an evaluation: its pooled features and logits (each image
    /// goes through the convolutions on its own, in reused buffers).
    pub(crate) fn floats_per_row(&self) -> usize {
        self.parameters[4].value.len() / self.parameters[5].value.len()
            + self.parameters[5].value.len()
    }

    /// One training step's forward and backward pass on `labels.len()` rows of `inputs`: leaves
    /// the gradients in the parameters and returns the mean loss.
    pub(crate) fn loss_and_gradients(
        &mut self,
        inputs: &[f32],
        labels: &[u32],
        loss: &Loss,
    ) -> Result<f64> {
        let rows = labels.len();
        let device = &self.cnn.device;
        let x = Tensor::from_slice(inputs, (rows, inputs.len() / rows.max(1)), device)?;
        let y = Tensor::from_slice(labels, rows, device)?;
        let loss = loss.candle(&self.cnn.forward(&x)?, &y)?;
        let value = f64::from(loss.to_scalar::<f32>()?);
        let grads = loss.backward()?;
        for (var, parameter) in self.vars.iter().zip(&mut self.parameters) {
            match grads.get(var) {
                Some(grad) => {
                    let grad = grad.flatten_all()?;
                    parameter.grad.copy_from_slice(&grad.to_vec1::<f32>()?);
                }
                None => parameter.grad.fill(0.0),
            }
        }
        Ok(value)
    }

    /// Copies the updated parameters into the model's variables.
    pub(crate) fn load_parameters(&self) -> Result<()> {
        for (var, parameter) in self.vars.iter().zip(&self.parameters) {
            var.set(&Tensor::from_slice(
                &parameter.value,
                var.shape(),
                var.device(),
            )?)?;
        }
        Ok(())
    }

    /// Log-softmax of the logits of `rows` rows of `inputs`, appended to `out` row-major.
    ///
    /// Forward only, on the parameters' plain buffers: each image goes through both blocks with
    /// the training ops' own kernels ([`crate::conv::conv_relu_pool`]), then the head takes the
    /// whole chunk in one product. No tensor, graph or per-op allocation is made.
    pub(crate) fn log_probs_into(&self, inputs: &[f32], rows: usize, out: &mut Vec<f32>) {
        let [channels, height, width] = self.cnn.shape;
        let [kernel_1, bias_1, kernel_2, bias_2, head, head_bias] = &self.parameters[..] else {
            unreachable!("the CNN has six parameters")
        };
        let (channels_1, n_classes) = (bias_1.value.len(), head_bias.value.len());
        let flattened = head.value.len() / n_classes;
        let mut scratch = [ConvScratch::default(), ConvScratch::default()];
        let mut pooled = Vec::new();
        let mut features = Vec::with_capacity(rows * flattened);
        for image in inputs.chunks_exact(channels * height * width) {
            pooled.clear();
            conv_relu_pool(
                image,
                [channels, height, width],
                &kernel_1.value,
                &bias_1.value,
                self.threads,
                &mut scratch[0],
                &mut pooled,
            );
            conv_relu_pool(
                &pooled,
                [channels_1, height / 2, width / 2],
                &kernel_2.value,
                &bias_2.value,
                self.threads,
                &mut scratch[1],
                &mut features,
            );
        }
        let mut logits = Vec::with_capacity(rows * n_classes);
        for _ in 0..rows {
            logits.extend_from_slice(&head_bias.value);
        }
        matmul(
            &mut logits,
            Operand::new(&features, rows, flattened),
            Operand::new(&head.value, flattened, n_classes),
            true,
            self.threads,
        );
        log_softmax_rows(&logits, n_classes, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_weights_are_seeded_and_bounded() {
        let kind = ModelKind::Mlp { hidden: vec![5] };
        let flat = |m: &Mlp| -> Vec<f32> {
            m.vars()
                .iter()
                .flat_map(|v| {
                    v.as_tensor()
                        .flatten_all()
                        .unwrap()
                        .to_vec1::<f32>()
                        .unwrap()
                })
                .collect()
        };
        let a = flat(&Mlp::new(&kind, 4, 3, 1).unwrap());
        assert_eq!(a, flat(&Mlp::new(&kind, 4, 3, 1).unwrap()));
        assert_ne!(a, flat(&Mlp::new(&kind, 4, 3, 2).unwrap()));
        assert_eq!(a.len(), 4 * 5 + 5 + 5 * 3 + 3);
        // First layer: fan_in 4 → bound 0.5; second: fan_in 5 → bound 0.447.
        assert!(a[..25].iter().all(|w| w.abs() < 0.5));
        assert!(a[25..].iter().all(|w| w.abs() < 0.4473));
    }

    #[test]
    fn cnn_shapes_and_parameter_count() {
        let kind = ModelKind::Cnn { channels: [4, 6] };
        let model = Model::new(&kind, 2 * 8 * 6, 3, Some([2, 8, 6]), 0).unwrap();
        let x = Tensor::zeros((5, 2 * 8 * 6), candle_core::DType::F32, &Device::Cpu).unwrap();
        assert_eq!(model.forward(&x).unwrap().dims(), &[5, 3]);
        let n_params: usize = model
            .vars()
            .iter()
            .map(|v| v.as_tensor().elem_count())
            .sum();
        // conv 1: 4·2·9 + 4; conv 2: 6·4·9 + 6; head: (6·2·1)·3 + 3 (8×6 pooled twice is 2×1).
        assert_eq!(n_params, 76 + 222 + 39);
        let error = Model::new(&kind, 10, 3, None, 0).unwrap_err();
        assert!(
            error.to_string().contains("a CNN needs image data"),
            "{error}"
        );
    }

    /// The CNN's evaluation on plain buffers gives the log-probabilities of its candle forward
    /// pass (the one training differentiates), odd image sizes included.
    #[test]
    fn cnn_evaluation_matches_its_candle_forward_pass() {
        for shape in [[1, 8, 8], [2, 7, 9]] {
            let n_features: usize = shape.iter().product();
            let cnn = Cnn::new(shape, [3, 5], 4, 11).unwrap();
            let rows = 6;
            let inputs: Vec<f32> = (0..rows * n_features)
                .map(|i| ((i * 7919) % 997) as f32 / 498.5 - 1.0)
                .collect();
            let x = Tensor::from_slice(&inputs, (rows, n_features), &Device::Cpu).unwrap();
            let expected: Vec<f32> = candle_nn::ops::log_softmax(&cnn.forward(&x).unwrap(), 1)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let net = ConvNet::new(cnn, Threads::from_environment()).unwrap();
            let mut ours = Vec::new();
            net.log_probs_into(&inputs, rows, &mut ours);
            assert_eq!(ours.len(), expected.len());
            for (a, b) in ours.iter().zip(&expected) {
                assert!((a - b).abs() < 1e-5, "{shape:?}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn penultimate_activations_feed_the_head() {
        let kind = ModelKind::Mlp { hidden: vec![5] };
        let model = Model::new(&kind, 4, 3, None, 3).unwrap();
        let x = Tensor::from_vec(
            (0..8).map(|i| i as f32 / 4.0 - 1.0).collect::<Vec<f32>>(),
            (2, 4),
            &Device::Cpu,
        )
        .unwrap();
        let (activations, templates) = model.penultimate(&x).unwrap().unwrap();
        assert_eq!(activations.dims(), &[2, 5]);
        assert_eq!(templates.dims(), &[3, 5]);
        // Logits are the activations times the templates, plus the bias.
        let Model::Mlp(mlp) = &model else {
            unreachable!()
        };
        let bias = mlp.layers[1].1.as_tensor();
        let rebuilt = activations
            .matmul(&templates.t().unwrap())
            .unwrap()
            .broadcast_add(bias)
            .unwrap();
        let difference = (rebuilt - model.forward(&x).unwrap())
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(difference < 1e-6, "{difference}");
        let logistic = Model::new(&ModelKind::Logistic, 4, 3, None, 3).unwrap();
        assert!(logistic.penultimate(&x).unwrap().is_none());
    }

    #[test]
    fn forward_shapes() {
        let model = Mlp::new(&ModelKind::Logistic, 4, 3, 0).unwrap();
        let x = Tensor::zeros((7, 4), candle_core::DType::F32, &Device::Cpu).unwrap();
        assert_eq!(model.forward(&x).unwrap().dims(), &[7, 3]);
        assert_eq!(model.vars().len(), 2);
    }
}
