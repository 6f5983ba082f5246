//! Optimisers (SGD with momentum, AdamW) updating plain parameter buffers in place, and
//! learning-rate schedules.

/// Which optimiser to use, with its hyper-parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum OptimizerParams {
    /// SGD with (optionally Nesterov) momentum and L2 weight decay, as PyTorch's `SGD` with
    /// dampening 0.
    Sgd {
        /// Peak learning rate (> 0).
        learning_rate: f64,
        /// Momentum factor μ in [0, 1).
        momentum: f64,
        /// Nesterov momentum.
        nesterov: bool,
        /// L2 penalty added to the gradient (≥ 0).
        weight_decay: f64,
    },
    /// AdamW with decoupled weight decay (candle's and PyTorch's definition).
    AdamW {
        /// Peak learning rate (> 0).
        learning_rate: f64,
        /// First-moment decay in [0, 1).
        beta1: f64,
        /// Second-moment decay in [0, 1).
        beta2: f64,
        /// Decoupled weight decay (≥ 0).
        weight_decay: f64,
    },
}

impl OptimizerParams {
    /// The peak learning rate.
    pub fn learning_rate(&self) -> f64 {
        match self {
            OptimizerParams::Sgd { learning_rate, .. }
            | OptimizerParams::AdamW { learning_rate, .. } => *learning_rate,
        }
    }

    /// Builds the optimiser.
    pub(crate) fn build(&self) -> AnyOptimizer {
        match *self {
            OptimizerParams::Sgd {
                learning_rate,
                momentum,
                nesterov,
                weight_decay,
            } => AnyOptimizer::Sgd(SgdMomentum::new(
                learning_rate,
                momentum,
                nesterov,
                weight_decay,
            )),
            OptimizerParams::AdamW {
                learning_rate,
                beta1,
                beta2,
                weight_decay,
            } => AnyOptimizer::AdamW(AdamW::new(learning_rate, beta1, beta2, weight_decay)),
        }
    }
}

/// How the learning rate moves over training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Schedule {
    /// The peak rate throughout.
    #[default]
    Constant,
    /// Cosine decay from the peak rate at the first step to 0 after the last:
    /// `lr_t = lr·(1 + cos(π·t/T))/2` for step t of T.
    Cosine,
}

impl Schedule {
    /// The learning rate at step `step` (0-based) of `total_steps`.
    pub fn learning_rate(self, peak: f64, step: usize, total_steps: usize) -> f64 {
        match self {
            Schedule::Constant => peak,
            Schedule::Cosine => {
                let progress = step as f64 / total_steps.max(1) as f64;
                peak * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }
}

/// One trainable tensor as plain host buffers: its values and the gradient of the last step.
///
/// Plain `f32` vectors cannot hold an autograd graph, so no state kept across steps can keep a
/// step's graph alive.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// The values, row-major in the tensor's shape.
    pub value: Vec<f32>,
    /// The gradient of the last step, the same length.
    pub grad: Vec<f32>,
}

impl Parameter {
    /// A parameter with the given values and a zero gradient.
    pub fn new(value: Vec<f32>) -> Parameter {
        let grad = vec![0.0; value.len()];
        Parameter { value, grad }
    }
}

/// SGD with momentum: `g = ∇ + λθ; b = μb + g; θ ← θ − lr·(g + μb if Nesterov else b)`, with the
/// buffer starting at the first gradient (PyTorch's definition). Updates the parameters in place.
#[derive(Debug, Clone)]
pub struct SgdMomentum {
    buffers: Vec<Vec<f32>>,
    learning_rate: f64,
    momentum: f64,
    nesterov: bool,
    weight_decay: f64,
}

impl SgdMomentum {
    /// An optimiser with the given hyper-parameters; its buffers are made at the first step.
    pub fn new(
        learning_rate: f64,
        momentum: f64,
        nesterov: bool,
        weight_decay: f64,
    ) -> SgdMomentum {
        SgdMomentum {
            buffers: Vec::new(),
            learning_rate,
            momentum,
            nesterov,
            weight_decay,
        }
    }

    /// Applies one update to `parameters` from their gradients.
    pub fn step(&mut self, parameters: &mut [Parameter]) {
        let first = self.buffers.is_empty();
        if first {
            self.buffers = parameters
                .iter()
                .map(|p| vec![0.0; p.value.len()])
                .collect();
        }
        let lr = self.learning_rate as f32;
        let momentum = self.momentum as f32;
        let decay = self.weight_decay as f32;
        for (parameter, buffer) in parameters.iter_mut().zip(&mut self.buffers) {
            let Parameter { value, grad } = parameter;
            for ((theta, &g), b) in value.iter_mut().zip(grad.iter()).zip(buffer.iter_mut()) {
                let g = if decay != 0.0 { g + decay * *theta } else { g };
                let direction = if momentum == 0.0 {
                    g
                } else {
                    *b = if first { g } else { momentum * *b + g };
                    if self.nesterov { g + momentum * *b } else { *b }
                };
                *theta -= lr * direction;
            }
        }
    }
}

/// AdamW (Loshchilov and Hutter), as candle and PyTorch define it:
/// `θ ← θ·(1 − lr·λ); m = β₁m + (1 − β₁)g; v = β₂v + (1 − β₂)g²;
/// θ ← θ − lr·m̂/(√v̂ + 1e−8)` with `m̂ = m/(1 − β₁ᵗ)`, `v̂ = v/(1 − β₂ᵗ)`. Updates in place.
#[derive(Debug, Clone)]
pub struct AdamW {
    moments: Vec<(Vec<f32>, Vec<f32>)>,
    step: i32,
    learning_rate: f64,
    beta1: f64,
    beta2: f64,
    weight_decay: f64,
}

impl AdamW {
    const EPSILON: f32 = 1e-8;

    /// An optimiser with the given hyper-parameters; its moments are made at the first step.
    pub fn new(learning_rate: f64, beta1: f64, beta2: f64, weight_decay: f64) -> AdamW {
        AdamW {
            moments: Vec::new(),
            step: 0,
            learning_rate,
            beta1,
            beta2,
            weight_decay,
        }
    }

    /// Applies one update to `parameters` from their gradients.
    pub fn step(&mut self, parameters: &mut [Parameter]) {
        if self.moments.is_empty() {
            self.moments = parameters
                .iter()
                .map(|p| (vec![0.0; p.value.len()], vec![0.0; p.value.len()]))
                .collect();
        }
        self.step = self.step.saturating_add(1);
        let shrink = (1.0 - self.learning_rate * self.weight_decay) as f32;
        let (beta1, beta2) = (self.beta1 as f32, self.beta2 as f32);
        let scale_m = (1.0 / (1.0 - self.beta1.powi(self.step))) as f32;
        let scale_v = (1.0 / (1.0 - self.beta2.powi(self.step))) as f32;
        let lr = self.learning_rate as f32;
        for (parameter, (m, v)) in parameters.iter_mut().zip(&mut self.moments) {
            let Parameter { value, grad } = parameter;
            for (((theta, &g), m), v) in value.iter_mut().zip(grad.iter()).zip(m).zip(v) {
                *m = beta1 * *m + (1.0 - beta1) * g;
                *v = beta2 * *v + (1.0 - beta2) * g * g;
                let update = (*m * scale_m) / ((*v * scale_v).sqrt() + Self::EPSILON);
                *theta = *theta * shrink - lr * update;
            }
        }
    }
}

/// The optimisers behind one interface, so the training loop need not be generic.
#[derive(Debug, Clone)]
pub(crate) enum AnyOptimizer {
    Sgd(SgdMomentum),
    AdamW(AdamW),
}

impl AnyOptimizer {
    pub(crate) fn step(&mut self, parameters: &mut [Parameter]) {
        match self {
            AnyOptimizer::Sgd(sgd) => sgd.step(parameters),
            AnyOptimizer::AdamW(adamw) => adamw.step(parameters),
        }
    }

    pub(crate) fn set_learning_rate(&mut self, learning_rate: f64) {
        match self {
            AnyOptimizer::Sgd(sgd) => sgd.learning_rate = learning_rate,
            AnyOptimizer::AdamW(adamw) => adamw.learning_rate = learning_rate,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};
    use candle_nn::optim::{Optimizer, ParamsAdamW};

    /// Two steps on f(θ) = θ²/2 (gradient θ) from θ = 1, lr 0.1, μ = 0.9, λ = 0.1.
    fn two_steps(nesterov: bool) -> f32 {
        let mut theta = [Parameter::new(vec![1.0])];
        let mut sgd = SgdMomentum::new(0.1, 0.9, nesterov, 0.1);
        for _ in 0..2 {
            theta[0].grad[0] = theta[0].value[0];
            sgd.step(&mut theta);
        }
        theta[0].value[0]
    }

    #[test]
    fn sgd_momentum_matches_the_pytorch_recurrence() {
        // Plain: g1 = 1 + 0.1 = 1.1, b1 = 1.1, θ1 = 1 − 0.11 = 0.89;
        //        g2 = 0.89·1.1 = 0.979, b2 = 0.9·1.1 + 0.979 = 1.969, θ2 = 0.89 − 0.1969 = 0.6931.
        assert!((two_steps(false) - (0.89 - 0.1969)).abs() < 1e-6);
        // Nesterov: d1 = 1.1 + 0.9·1.1 = 2.09, θ1 = 0.791; g2 = 0.8701, b2 = 0.99 + 0.8701 = 1.8601,
        //           d2 = 0.8701 + 0.9·1.8601 = 2.54419, θ2 = 0.791 − 0.254419 = 0.536581.
        assert!((two_steps(true) - 0.536581).abs() < 1e-6);
    }

    #[test]
    fn adamw_matches_candle() {
        // Five steps on f(θ) = Σ θ_i⁴/4 (gradient θ³) from three starting points.
        let start = [1.5f32, -0.3, 0.02];
        let mut ours = [Parameter::new(start.to_vec())];
        let mut adamw = AdamW::new(0.05, 0.8, 0.95, 0.1);
        let var = Var::new(&start, &Device::Cpu).unwrap();
        let mut reference = candle_nn::optim::AdamW::new(
            vec![var.clone()],
            ParamsAdamW {
                lr: 0.05,
                beta1: 0.8,
                beta2: 0.95,
                eps: 1e-8,
                weight_decay: 0.1,
            },
        )
        .unwrap();
        for _ in 0..5 {
            ours[0].grad = ours[0].value.iter().map(|x| x.powi(3)).collect();
            adamw.step(&mut ours);
            let loss = (var.as_tensor().sqr().unwrap().sqr().unwrap() * 0.25)
                .unwrap()
                .sum_all()
                .unwrap();
            reference.step(&loss.backward().unwrap()).unwrap();
        }
        let expected = var.as_tensor().to_vec1::<f32>().unwrap();
        for (x, y) in ours[0].value.iter().zip(&expected) {
            assert!((x - y).abs() < 1e-6, "{x} vs {y}");
        }
    }

    #[test]
    fn cosine_schedule_runs_from_peak_to_zero() {
        assert_eq!(Schedule::Cosine.learning_rate(0.2, 0, 100), 0.2);
        assert!((Schedule::Cosine.learning_rate(0.2, 50, 100) - 0.1).abs() < 1e-12);
        assert!(Schedule::Cosine.learning_rate(0.2, 100, 100).abs() < 1e-12);
        assert_eq!(Schedule::Constant.learning_rate(0.2, 70, 100), 0.2);
    }
}
