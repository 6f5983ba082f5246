//! Fully connected models (logistic regression and MLP) with weights drawn from a seeded stream.

use candle_core::{Device, Result, Tensor, Var};
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
}

impl ModelKind {
    /// Layer widths from input to output.
    fn widths(&self, n_features: usize, n_classes: usize) -> Vec<usize> {
        let mut widths = vec![n_features];
        if let ModelKind::Mlp { hidden } = self {
            widths.extend_from_slice(hidden);
        }
        widths.push(n_classes);
        widths
    }
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
    pub fn new(kind: &ModelKind, n_features: usize, n_classes: usize, seed: u64) -> Result<Mlp> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let widths = kind.widths(n_features, n_classes);
        let mut layers = Vec::with_capacity(widths.len() - 1);
        for pair in widths.windows(2) {
            let (fan_in, fan_out) = (pair[0], pair[1]);
            let bound = 1.0 / (fan_in as f32).sqrt();
            let mut uniform = |n: usize| -> Vec<f32> {
                (0..n).map(|_| rng.random_range(-bound..bound)).collect()
            };
            let weight =
                Tensor::from_vec(uniform(fan_in * fan_out), (fan_in, fan_out), &Device::Cpu)?;
            let bias = Tensor::from_vec(uniform(fan_out), fan_out, &Device::Cpu)?;
            layers.push((Var::from_tensor(&weight)?, Var::from_tensor(&bias)?));
        }
        Ok(Mlp { layers })
    }

    /// Logits `[batch, n_classes]` for inputs `[batch, n_features]`.
    pub fn forward(&self, inputs: &Tensor) -> Result<Tensor> {
        let mut activations = inputs.clone();
        for (index, (weight, bias)) in self.layers.iter().enumerate() {
            activations = activations
                .matmul(weight.as_tensor())?
                .broadcast_add(bias.as_tensor())?;
            if index + 1 < self.layers.len() {
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
    fn forward_shapes() {
        let model = Mlp::new(&ModelKind::Logistic, 4, 3, 0).unwrap();
        let x = Tensor::zeros((7, 4), candle_core::DType::F32, &Device::Cpu).unwrap();
        assert_eq!(model.forward(&x).unwrap().dims(), &[7, 3]);
        assert_eq!(model.vars().len(), 2);
    }
}
