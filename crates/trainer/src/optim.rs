//! Optimisers (SGD with momentum, AdamW) and learning-rate schedules.

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};
use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW};

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
    /// AdamW with decoupled weight decay (candle's implementation).
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

    /// Builds the optimiser over `vars`.
    pub(crate) fn build(&self, vars: Vec<Var>) -> Result<AnyOptimizer> {
        Ok(match *self {
            OptimizerParams::Sgd {
                learning_rate,
                momentum,
                nesterov,
                weight_decay,
            } => AnyOptimizer::Sgd(SgdMomentum::new(
                vars,
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
            } => AnyOptimizer::AdamW(AdamW::new(
                vars,
                ParamsAdamW {
                    lr: learning_rate,
                    beta1,
                    beta2,
                    eps: 1e-8,
                    weight_decay,
                },
            )?),
        })
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

/// SGD with momentum: `g = ∇ + λθ; b = μb + g; θ ← θ − lr·(g + μb if Nesterov else b)`, with the
/// buffer starting at the first gradient (PyTorch's definition). candle ships SGD without momentum.
#[derive(Debug)]
pub struct SgdMomentum {
    vars: Vec<Var>,
    buffers: Vec<Option<Tensor>>,
    learning_rate: f64,
    momentum: f64,
    nesterov: bool,
    weight_decay: f64,
}

impl SgdMomentum {
    /// An optimiser over `vars` with the given hyper-parameters.
    pub fn new(
        vars: Vec<Var>,
        learning_rate: f64,
        momentum: f64,
        nesterov: bool,
        weight_decay: f64,
    ) -> SgdMomentum {
        let buffers = vec![None; vars.len()];
        SgdMomentum {
            vars,
            buffers,
            learning_rate,
            momentum,
            nesterov,
            weight_decay,
        }
    }

    /// Applies one update with the gradients in `grads`; variables without a gradient are skipped.
    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        for (var, buffer) in self.vars.iter().zip(self.buffers.iter_mut()) {
            let Some(grad) = grads.get(var) else { continue };
            let mut direction = if self.weight_decay != 0.0 {
                (grad + var.as_tensor().affine(self.weight_decay, 0.0)?)?
            } else {
                grad.clone()
            };
            if self.momentum != 0.0 {
                let next = match buffer.take() {
                    None => direction.clone(),
                    Some(previous) => (previous.affine(self.momentum, 0.0)? + &direction)?,
                };
                direction = if self.nesterov {
                    (direction + next.affine(self.momentum, 0.0)?)?
                } else {
                    next.clone()
                };
                *buffer = Some(next);
            }
            var.set(&(var.as_tensor() - direction.affine(self.learning_rate, 0.0)?)?)?;
        }
        Ok(())
    }
}

/// The optimisers behind one interface, so the training loop need not be generic.
pub(crate) enum AnyOptimizer {
    Sgd(SgdMomentum),
    AdamW(AdamW),
}

impl AnyOptimizer {
    pub(crate) fn step(&mut self, grads: &GradStore) -> Result<()> {
        match self {
            AnyOptimizer::Sgd(sgd) => sgd.step(grads),
            AnyOptimizer::AdamW(adamw) => adamw.step(grads),
        }
    }

    pub(crate) fn set_learning_rate(&mut self, learning_rate: f64) {
        match self {
            AnyOptimizer::Sgd(sgd) => sgd.learning_rate = learning_rate,
            AnyOptimizer::AdamW(adamw) => adamw.set_learning_rate(learning_rate),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// Two steps on f(θ) = θ²/2 (gradient θ) from θ = 1, lr 0.1, μ = 0.9, λ = 0.1.
    fn two_steps(nesterov: bool) -> f32 {
        let theta = Var::new(&[1.0f32], &Device::Cpu).unwrap();
        let mut sgd = SgdMomentum::new(vec![theta.clone()], 0.1, 0.9, nesterov, 0.1);
        for _ in 0..2 {
            let loss = (theta.as_tensor().sqr().unwrap() * 0.5)
                .unwrap()
                .sum_all()
                .unwrap();
            sgd.step(&loss.backward().unwrap()).unwrap();
        }
        theta.as_tensor().to_vec1::<f32>().unwrap()[0]
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
    fn cosine_schedule_runs_from_peak_to_zero() {
        assert_eq!(Schedule::Cosine.learning_rate(0.2, 0, 100), 0.2);
        assert!((Schedule::Cosine.learning_rate(0.2, 50, 100) - 0.1).abs() < 1e-12);
        assert!(Schedule::Cosine.learning_rate(0.2, 100, 100).abs() < 1e-12);
        assert_eq!(Schedule::Constant.learning_rate(0.2, 70, 100), 0.2);
    }
}
