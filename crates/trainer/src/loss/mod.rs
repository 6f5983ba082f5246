//! The training losses (docs/DEFINITIONS.md#losses): cross-entropy with label smoothing, positive
//! or negative, in either target convention; the soft and hard bootstrap; generalised and
//! symmetric cross-entropy; the focal loss; and forward loss correction with a known transition
//! matrix.
//!
//! [`Loss`] is what a run trains with; each variant carries its own parameters as a plain struct
//! defined in its own file, with its literature defaults. Every loss has two implementations that
//! its tests hold together: a candle expression (autograd, for the CNN and as the reference) and
//! its value with its gradient with respect to the logits on plain buffers (for the hand-derived
//! MLP). Both are the mean over the minibatch.

mod bootstrap;
mod ce;
mod focal;
mod forward;
mod gce;
mod sce;
#[cfg(test)]
mod testing;

use candle_core::{D, Result, Tensor};

pub use bootstrap::{BootstrapHard, BootstrapSoft};
pub use ce::{LabelSmoothing, SmoothingConvention, label_smoothed_cross_entropy, smoothed_targets};
pub use focal::Focal;
pub use forward::ForwardCorrection;
pub use gce::Gce;
pub use sce::Sce;

/// The loss a run minimises, averaged over the minibatch. Each variant's struct holds its
/// parameters, their ranges and their literature defaults (its `Default`).
///
/// ```
/// use trainer::{Gce, LabelSmoothing, Loss};
/// let negative = Loss::LabelSmoothing(LabelSmoothing::uniform(-0.8));
/// assert_eq!(negative.name(), "ce");
/// assert_eq!(negative.parameters(), vec![("epsilon", -0.8)]);
/// let gce = Loss::Gce(Gce::default());
/// assert_eq!((gce.name(), gce.parameters()), ("gce", vec![("q", 0.7)]));
/// assert!(gce.check().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Loss {
    /// Cross-entropy against label-smoothed targets, ε ∈ [−8, 1]; ε = 0 is plain cross-entropy
    /// and ε < 0 negative label smoothing ([`LabelSmoothing`]). Name `ce` (`ce-off-classes` in
    /// the [`SmoothingConvention::OffClasses`] convention).
    LabelSmoothing(LabelSmoothing),
    /// Soft bootstrapping, target `β·e_y + (1 − β)·p` ([`BootstrapSoft`]). Name `bootstrap-soft`.
    BootstrapSoft(BootstrapSoft),
    /// Hard bootstrapping, target `β·e_y + (1 − β)·e_ŷ` ([`BootstrapHard`]). Name
    /// `bootstrap-hard`.
    BootstrapHard(BootstrapHard),
    /// Generalised cross-entropy `(1 − p_y^q)/q` ([`Gce`]). Name `gce`.
    Gce(Gce),
    /// Symmetric cross-entropy `α·CE + β·RCE` ([`Sce`]). Name `sce`.
    Sce(Sce),
    /// Focal loss `−(1 − p_y)^γ·log p_y` ([`Focal`]). Name `focal`.
    Focal(Focal),
    /// Forward correction `−log (Tᵀp)_y` with a known transition matrix
    /// ([`ForwardCorrection`]). Name `forward`.
    ForwardCorrection(ForwardCorrection),
}

/// Plain cross-entropy, the loss of warm-up epochs (see [`crate::TrainParams::warmup_epochs`]).
pub(crate) static CROSS_ENTROPY: Loss = Loss::cross_entropy();

impl Loss {
    /// Every value [`Loss::name`] can return, one per formula.
    pub const NAMES: [&'static str; 8] = [
        "ce",
        "ce-off-classes",
        "bootstrap-soft",
        "bootstrap-hard",
        "gce",
        "sce",
        "focal",
        "forward",
    ];

    /// Plain cross-entropy against hard targets: label smoothing with ε = 0.
    pub const fn cross_entropy() -> Loss {
        Loss::LabelSmoothing(LabelSmoothing::uniform(0.0))
    }

    /// Label smoothing `ε` in the default [`SmoothingConvention::Uniform`] convention,
    /// `(1 − ε)·e_y + ε/K`: what `Loss::LabelSmoothing { epsilon }` was before other losses and
    /// conventions existed, bit for bit.
    pub const fn label_smoothing(epsilon: f64) -> Loss {
        Loss::LabelSmoothing(LabelSmoothing::uniform(epsilon))
    }

    /// The loss's short name for tables and file names, one of [`Loss::NAMES`]: `ce`,
    /// `ce-off-classes`, `bootstrap-soft`, `bootstrap-hard`, `gce`, `sce`, `focal` or `forward`.
    pub fn name(&self) -> &'static str {
        self.function().name()
    }

    /// The loss's scalar parameters as `(name, value)` pairs in a fixed order, for CSV columns:
    /// `epsilon` (`ce`, `ce-off-classes`); `beta` (both bootstraps); `q` (`gce`); `alpha`,
    /// `beta`, `log_zero` (`sce`); `gamma` (`focal`); none for `forward`, whose parameter is its
    /// transition matrix. A name means the same within one loss name only (`beta` of `sce` is not
    /// `beta` of a bootstrap).
    pub fn parameters(&self) -> Vec<(&'static str, f64)> {
        self.function().parameters()
    }

    /// Why the loss cannot be trained with whatever the data, if it cannot: a parameter outside
    /// its range (the message names the value and the allowed range).
    pub fn check(&self) -> std::result::Result<(), String> {
        self.function().check()
    }

    /// [`Loss::check`], and why the loss cannot be trained on `n_classes` classes, if it cannot:
    /// a transition matrix that is not `n_classes × n_classes`, or a smoothing value that gives
    /// the given label less mass than the others at this K.
    pub fn check_classes(&self, n_classes: usize) -> std::result::Result<(), String> {
        let function = self.function();
        function.check()?;
        function.check_classes(n_classes)
    }

    /// The mean loss of `logits` (`[batch, K]`) for `labels` (`[batch]`, u32) as a candle scalar,
    /// differentiable by candle's autograd.
    pub(crate) fn candle(&self, logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
        self.function().candle(logits, labels)
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
        self.function()
            .value_and_gradient(logits, labels, n_classes, gradient)
    }

    fn function(&self) -> &dyn LossFunction {
        match self {
            Loss::LabelSmoothing(loss) => loss,
            Loss::BootstrapSoft(loss) => loss,
            Loss::BootstrapHard(loss) => loss,
            Loss::Gce(loss) => loss,
            Loss::Sce(loss) => loss,
            Loss::Focal(loss) => loss,
            Loss::ForwardCorrection(loss) => loss,
        }
    }
}

/// What every loss implements; [`Loss`] dispatches to it. See [`Loss`]'s methods of the same
/// names for the contracts.
trait LossFunction {
    fn name(&self) -> &'static str;
    fn parameters(&self) -> Vec<(&'static str, f64)>;
    fn check(&self) -> std::result::Result<(), String>;
    /// The part of the check that needs the number of classes; called after [`Self::check`].
    fn check_classes(&self, _n_classes: usize) -> std::result::Result<(), String> {
        Ok(())
    }
    fn candle(&self, logits: &Tensor, labels: &Tensor) -> Result<Tensor>;
    fn value_and_gradient(
        &self,
        logits: &[f32],
        labels: &[u32],
        n_classes: usize,
        gradient: &mut [f32],
    ) -> f64;
}

/// A parameter's range error unless `value` is finite and `allowed` holds: "`what` `value` is
/// outside `range`".
fn check_range(
    what: &str,
    value: f64,
    allowed: bool,
    range: &str,
) -> std::result::Result<(), String> {
    if value.is_finite() && allowed {
        Ok(())
    } else {
        Err(format!("{what} {value} is outside {range}"))
    }
}

/// The row of one sample as the per-sample losses see it: its label, the log-softmax and the
/// softmax of its logits.
struct Row<'a> {
    label: usize,
    log_probs: &'a [f32],
    probs: &'a [f32],
}

/// The mean over the rows of `logits` (`labels.len() × n_classes`) of a per-sample loss, and its
/// gradient. `sample` gets each [`Row`] and that sample's slice of `gradient`; it returns the
/// sample's loss and writes the gradient of that loss with respect to the sample's logits, which
/// this function then divides by the batch size.
///
/// The log-softmax is the largest logit subtracted, `z − max − ln Σ exp(z − max)`, and the
/// softmax its exponential.
fn mean_over_rows(
    logits: &[f32],
    labels: &[u32],
    n_classes: usize,
    gradient: &mut [f32],
    mut sample: impl FnMut(&Row<'_>, &mut [f32]) -> f32,
) -> f64 {
    let rows = labels.len();
    let scale = 1.0 / rows as f32;
    let mut log_probs = vec![0.0f32; n_classes];
    let mut probs = vec![0.0f32; n_classes];
    let mut total = 0.0f64;
    for ((row, out), &label) in logits
        .chunks_exact(n_classes)
        .zip(gradient.chunks_exact_mut(n_classes))
        .zip(labels)
    {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let log_sum = max + row.iter().map(|&z| (z - max).exp()).sum::<f32>().ln();
        for ((l, p), &z) in log_probs.iter_mut().zip(&mut probs).zip(row) {
            *l = z - log_sum;
            *p = l.exp();
        }
        let loss = sample(
            &Row {
                label: label as usize,
                log_probs: &log_probs,
                probs: &probs,
            },
            out,
        );
        total += f64::from(loss);
        out.iter_mut().for_each(|g| *g *= scale);
    }
    total / rows as f64
}

/// Writes `weight·(p − e_y)` to `out`: the gradient of every loss that is a function of `p_y`
/// alone, whose derivative with respect to `log p_y` is `−weight`.
fn write_scaled_softmax_gradient(row: &Row<'_>, weight: f32, out: &mut [f32]) {
    for (o, &p) in out.iter_mut().zip(row.probs) {
        *o = weight * p;
    }
    out[row.label] -= weight;
}

/// The one-hot rows of `labels` (`[batch]`, u32) as floats of `logits`'s dtype, `[batch, K]`.
fn one_hot(labels: &Tensor, logits: &Tensor) -> Result<Tensor> {
    let n_classes = logits.dim(D::Minus1)?;
    let classes = Tensor::arange(0u32, n_classes as u32, logits.device())?.unsqueeze(0)?;
    labels
        .unsqueeze(1)?
        .broadcast_eq(&classes)?
        .to_dtype(logits.dtype())
}

/// `log p_y` of each row, `[batch]`: the log-softmax of `logits` at `labels`.
fn label_log_probs(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    candle_nn::ops::log_softmax(logits, D::Minus1)?
        .gather(&labels.unsqueeze(1)?, 1)?
        .squeeze(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_a_listed_name_and_checks_its_defaults() {
        let losses = [
            Loss::cross_entropy(),
            Loss::LabelSmoothing(LabelSmoothing::off_classes(0.1)),
            Loss::BootstrapSoft(BootstrapSoft::default()),
            Loss::BootstrapHard(BootstrapHard::default()),
            Loss::Gce(Gce::default()),
            Loss::Sce(Sce::default()),
            Loss::Focal(Focal::default()),
            Loss::ForwardCorrection(ForwardCorrection::new(vec![vec![1.0, 0.0], vec![0.0, 1.0]])),
        ];
        let names: Vec<&str> = losses.iter().map(Loss::name).collect();
        assert_eq!(names, Loss::NAMES);
        for loss in &losses {
            assert_eq!(loss.check_classes(2), Ok(()), "{loss:?}");
        }
        assert_eq!(CROSS_ENTROPY, Loss::label_smoothing(0.0));
    }
}
