//! Cross-entropy with label smoothing (docs/DEFINITIONS.md#label-smoothing and
//! #negative-label-smoothing): target `t = (1 − ε)·e_y + ε/K`, loss `−Σ_k t_k log p_k`, gradient
//! `(p − t)/B`. ε = 0 is plain cross-entropy; ε < 0 is negative label smoothing (Wei et al.
//! 2022), which the same formula and the same code cover. The other target convention, true class
//! `1 − ε` and every other class `ε/(K − 1)`, is the uniform one at `ε·K/(K − 1)` and is computed
//! that way. The uniform path's arithmetic is that of the single-loss implementation before it,
//! bit for bit (a test holds it).

use candle_core::{D, Result, Tensor};

use super::{LossFunction, check_range};

/// How a smoothing value ε spreads the mass it takes from the given label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SmoothingConvention {
    /// `(1 − ε)·e_y + ε/K`: every class, the given one included, gets ε/K, so the given label
    /// keeps `1 − ε + ε/K`. PyTorch's `label_smoothing`, Keras, Müller et al. (2019), Wei et al.
    /// (2022). The default, and the only convention before this enum existed.
    #[default]
    Uniform,
    /// The given label gets `1 − ε` and each of the K − 1 others `ε/(K − 1)`, so that ε is
    /// exactly the mass moved off the label (fairseq's `label_smoothed_cross_entropy`, for
    /// example; Szegedy et al. 2016 spread ε/K over all K classes, as the uniform convention
    /// does). Equal to [`SmoothingConvention::Uniform`] at `ε·K/(K − 1)`. Never the default: name
    /// it explicitly.
    OffClasses,
}

/// Cross-entropy against label-smoothed targets. Build it with [`LabelSmoothing::uniform`] or
/// [`LabelSmoothing::off_classes`]; its `Default` is the literature's ε = 0.1 in the uniform
/// convention (plain cross-entropy is [`crate::Loss::cross_entropy`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelSmoothing {
    /// The smoothing value ε, in [[`Self::MIN_EPSILON`], [`Self::MAX_EPSILON`]] = [−8, 1]:
    /// ε = 0 is hard targets, ε > 0 label smoothing, ε < 0 negative label smoothing. In the
    /// off-classes convention ε must also be at most (K − 1)/K (see
    /// [`crate::Loss::check_classes`]).
    pub epsilon: f64,
    /// Which target convention ε is read in.
    pub convention: SmoothingConvention,
}

impl LabelSmoothing {
    /// The usual positive smoothing value (Szegedy et al. 2016, §7; Müller et al. 2019).
    pub const DEFAULT_EPSILON: f64 = 0.1;
    /// The most negative ε allowed: −8, the most negative smoothing rate Wei et al. (2022) report
    /// results for (their grid is 0.8, 0.6, …, −1, −2, −4, −6, −8). Below 0 the loss is
    /// unbounded below (the target puts negative weight on the other classes), so no value is
    /// safe in principle; beyond their grid there is no published evidence at all.
    pub const MIN_EPSILON: f64 = -8.0;
    /// The largest ε allowed: 1, where the uniform convention's target is 1/K for every class
    /// and carries no label information; beyond it the given label would get less mass than the
    /// others.
    pub const MAX_EPSILON: f64 = 1.0;

    /// Smoothing ε in the default [`SmoothingConvention::Uniform`] convention.
    pub const fn uniform(epsilon: f64) -> LabelSmoothing {
        LabelSmoothing {
            epsilon,
            convention: SmoothingConvention::Uniform,
        }
    }

    /// Smoothing ε in the [`SmoothingConvention::OffClasses`] convention.
    pub const fn off_classes(epsilon: f64) -> LabelSmoothing {
        LabelSmoothing {
            epsilon,
            convention: SmoothingConvention::OffClasses,
        }
    }

    /// The ε of the uniform convention that gives the same targets on `n_classes` (≥ 2) classes:
    /// ε itself, or `ε·K/(K − 1)` in the off-classes convention.
    pub fn uniform_epsilon(&self, n_classes: usize) -> f64 {
        match self.convention {
            SmoothingConvention::Uniform => self.epsilon,
            SmoothingConvention::OffClasses => {
                self.epsilon * n_classes as f64 / (n_classes as f64 - 1.0)
            }
        }
    }

    /// The target rows for `labels` (each in `0..n_classes`), `labels.len() × n_classes`,
    /// row-major, in this convention (see [`smoothed_targets`] for the uniform one).
    pub fn targets(&self, labels: &[usize], n_classes: usize) -> Vec<f32> {
        smoothed_targets(labels, n_classes, self.uniform_epsilon(n_classes))
    }
}

impl Default for LabelSmoothing {
    fn default() -> LabelSmoothing {
        LabelSmoothing::uniform(LabelSmoothing::DEFAULT_EPSILON)
    }
}

impl LossFunction for LabelSmoothing {
    fn name(&self) -> &'static str {
        match self.convention {
            SmoothingConvention::Uniform => "ce",
            SmoothingConvention::OffClasses => "ce-off-classes",
        }
    }

    fn parameters(&self) -> Vec<(&'static str, f64)> {
        vec![("epsilon", self.epsilon)]
    }

    fn check(&self) -> std::result::Result<(), String> {
        check_range(
            "label smoothing",
            self.epsilon,
            (Self::MIN_EPSILON..=Self::MAX_EPSILON).contains(&self.epsilon),
            "[-8, 1]",
        )
    }

    fn check_classes(&self, n_classes: usize) -> std::result::Result<(), String> {
        if self.convention == SmoothingConvention::Uniform {
            return Ok(());
        }
        if n_classes < 2 {
            return Err(format!(
                "the off-classes smoothing convention needs at least 2 classes, not {n_classes}"
            ));
        }
        let most = (n_classes as f64 - 1.0) / n_classes as f64;
        if self.epsilon > most {
            return Err(format!(
                "label smoothing {} in the off-classes convention is above (K − 1)/K = {most} for \
                 K = {n_classes}: the given label would get less mass than each other class",
                self.epsilon
            ));
        }
        Ok(())
    }

    fn candle(&self, logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
        let n_classes = logits.dim(D::Minus1)?;
        label_smoothed_cross_entropy(logits, labels, self.uniform_epsilon(n_classes))
    }

    fn value_and_gradient(
        &self,
        logits: &[f32],
        labels: &[u32],
        n_classes: usize,
        gradient: &mut [f32],
    ) -> f64 {
        smoothed_cross_entropy_gradient(
            logits,
            labels,
            n_classes,
            self.uniform_epsilon(n_classes),
            gradient,
        )
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
    use crate::loss::Loss;
    use crate::loss::testing::{
        LABELS, N_CLASSES, assert_candle_agrees, assert_gradient_matches_finite_differences,
        assert_value, candle, plain, plain_at,
    };
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

    /// FNV-1a over the bits of the plain path's value and gradient on the shared table.
    fn plain_bits_hash(loss: &Loss) -> u64 {
        let (value, gradient) = plain(loss);
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let bits =
            std::iter::once(value.to_bits()).chain(gradient.iter().map(|g| u64::from(g.to_bits())));
        for word in bits {
            hash ^= word;
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        hash
    }

    #[test]
    fn uniform_smoothing_is_bit_identical_to_the_single_loss_implementation() {
        // Printed by the implementation before the losses were split into files (commit c6cfc48,
        // `Loss::LabelSmoothing { epsilon }`), on the same table: the golden result files depend
        // on these bits.
        for (epsilon, hash, candle_bits) in [
            (0.0, 0x83a6_2f4a_88c8_f7c3, 0x3fb3_f1a3),
            (0.1, 0xd521_6ce8_9ed8_149b, 0x3fc0_fff8),
            (0.6, 0xf5a3_c69a_704e_d69c, 0x4001_23d4),
            (1.0, 0xfd19_1af3_279c_2d23, 0x401b_4080),
        ] {
            let loss = Loss::label_smoothing(epsilon);
            assert_eq!(plain_bits_hash(&loss), hash, "ε = {epsilon}");
            assert_eq!(
                (candle(&loss).0 as f32).to_bits(),
                candle_bits,
                "ε = {epsilon}"
            );
        }
    }

    fn references() -> [(LabelSmoothing, f64); 6] {
        // crates/trainer/tests/reference/losses.py, lines `ce …` and `ce-off-classes …`.
        [
            (LabelSmoothing::uniform(0.0), 1.4058116652782207),
            (LabelSmoothing::uniform(0.1), 1.5078116651590114),
            (LabelSmoothing::uniform(-0.8), 0.5898116662318952),
            (LabelSmoothing::uniform(-8.0), -6.754188325185036),
            (LabelSmoothing::off_classes(0.1), 1.5333116651292091),
            (LabelSmoothing::off_classes(-0.5), 0.7683116660232786),
        ]
    }

    #[test]
    fn value_matches_the_pytorch_reference() {
        for (loss, expected) in references() {
            assert_value(&Loss::LabelSmoothing(loss), expected);
        }
    }

    #[test]
    fn gradient_matches_finite_differences() {
        for (loss, _) in references() {
            assert_gradient_matches_finite_differences(&Loss::LabelSmoothing(loss));
        }
    }

    #[test]
    fn candle_agrees_with_the_plain_path() {
        for (loss, _) in references() {
            assert_candle_agrees(&Loss::LabelSmoothing(loss));
        }
    }

    #[test]
    fn off_classes_targets_keep_one_minus_epsilon_on_the_label() {
        // K = 5, ε = 0.2: 0.8 on the label and 0.05 on each of the four others; the uniform
        // convention at 0.2·5/4 = 0.25 gives the same.
        let loss = LabelSmoothing::off_classes(0.2);
        let targets = loss.targets(&[3], 5);
        for (k, &t) in targets.iter().enumerate() {
            close(t.into(), if k == 3 { 0.8 } else { 0.05 }, 1e-7);
        }
        close(loss.uniform_epsilon(5), 0.25, 1e-15);
        assert_eq!(
            LabelSmoothing::uniform(0.2).targets(&[3], 5),
            smoothed_targets(&[3], 5, 0.2)
        );
    }

    #[test]
    fn negative_smoothing_pushes_the_label_above_one_and_is_unbounded_below() {
        // ε = −0.8, K = 5: the label's target is 1 + 0.8 − 0.16 = 1.64, every other −0.16.
        let targets = LabelSmoothing::uniform(-0.8).targets(&[0], 5);
        close(targets[0].into(), 1.64, 1e-6);
        close(targets[1].into(), -0.16, 1e-7);
        // A correct prediction made ever more confident keeps lowering the loss below zero.
        let loss = Loss::label_smoothing(-0.8);
        let values: Vec<f64> = [1.0f32, 10.0, 100.0]
            .iter()
            .map(|&margin| {
                let logits: Vec<f32> = (0..3 * N_CLASSES)
                    .map(|i| {
                        if i % N_CLASSES == LABELS[i / N_CLASSES] as usize {
                            margin
                        } else {
                            0.0
                        }
                    })
                    .collect();
                plain_at(&loss, &logits).0
            })
            .collect();
        assert!(
            values[0] > values[1] && values[1] > values[2] && values[2] < -10.0,
            "{values:?}"
        );
    }

    #[test]
    fn smoothing_outside_its_range_is_refused() {
        for epsilon in [-8.0, -0.8, 0.0, 1.0] {
            assert_eq!(Loss::label_smoothing(epsilon).check(), Ok(()));
        }
        assert_eq!(
            Loss::label_smoothing(-8.5).check(),
            Err("label smoothing -8.5 is outside [-8, 1]".into())
        );
        assert!(Loss::label_smoothing(1.1).check().is_err());
        assert!(Loss::label_smoothing(f64::NAN).check().is_err());
        let off = Loss::LabelSmoothing(LabelSmoothing::off_classes(0.95));
        assert_eq!(off.check(), Ok(()));
        assert_eq!(off.check_classes(20), Ok(()));
        assert_eq!(
            off.check_classes(10),
            Err(
                "label smoothing 0.95 in the off-classes convention is above (K − 1)/K = 0.9 \
                 for K = 10: the given label would get less mass than each other class"
                    .into()
            )
        );
        assert!(off.check_classes(1).is_err());
    }

    #[test]
    fn names_and_parameters_say_which_convention() {
        let uniform = Loss::label_smoothing(0.1);
        let off = Loss::LabelSmoothing(LabelSmoothing::off_classes(0.1));
        assert_eq!(
            (uniform.name(), uniform.parameters()),
            ("ce", vec![("epsilon", 0.1)])
        );
        assert_eq!(
            (off.name(), off.parameters()),
            ("ce-off-classes", vec![("epsilon", 0.1)])
        );
        assert_eq!(LabelSmoothing::default(), LabelSmoothing::uniform(0.1));
        assert_eq!(SmoothingConvention::default(), SmoothingConvention::Uniform);
    }
}
