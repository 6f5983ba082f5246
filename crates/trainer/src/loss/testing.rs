//! What the tests of every loss share: a fixed table of logits, the two implementations run on
//! it, and the checks that hold them together and against finite differences.
//!
//! Reference values for this table come from `crates/trainer/tests/reference/losses.py`, which
//! writes every loss out in PyTorch (float64) from its definition; each test quotes the line of
//! that script's output it compares with.

use candle_core::{Device, Tensor, Var};

use super::Loss;

/// Classes of [`LOGITS`].
pub(super) const N_CLASSES: usize = 5;

/// Three rows of five logits, row-major (the table of the reference script). Row 0 predicts its
/// label; rows 1 and 2 predict another class (3 and 4), so the hard bootstrap's predicted class
/// differs from the label there.
pub(super) const LOGITS: [f32; 15] = [
    2.0, -1.0, 0.5, 0.0, 1.0, //
    0.3, 1.5, -0.7, 2.2, -2.0, //
    -1.2, 0.4, 0.9, -0.3, 3.1,
];

/// The labels of [`LOGITS`]'s rows.
pub(super) const LABELS: [u32; 3] = [0, 1, 2];

/// The plain path's mean loss and gradient on `logits` (rows of [`N_CLASSES`]).
pub(super) fn plain_at(loss: &Loss, logits: &[f32]) -> (f64, Vec<f32>) {
    let mut gradient = vec![f32::NAN; logits.len()];
    let value = loss.value_and_gradient(logits, &LABELS, N_CLASSES, &mut gradient);
    (value, gradient)
}

/// The plain path on [`LOGITS`].
pub(super) fn plain(loss: &Loss) -> (f64, Vec<f32>) {
    plain_at(loss, &LOGITS)
}

/// The candle expression's mean loss on [`LOGITS`] and its gradient by candle's autograd.
pub(super) fn candle(loss: &Loss) -> (f64, Vec<f32>) {
    candle_at(loss, &LOGITS)
}

/// The candle expression's mean loss on `logits` (rows of [`N_CLASSES`]) and its gradient by
/// candle's autograd.
pub(super) fn candle_at(loss: &Loss, logits: &[f32]) -> (f64, Vec<f32>) {
    let logits = Var::from_slice(logits, (LABELS.len(), N_CLASSES), &Device::Cpu).unwrap();
    let labels = Tensor::from_slice(&LABELS, LABELS.len(), &Device::Cpu).unwrap();
    let value = loss.candle(logits.as_tensor(), &labels).unwrap();
    let gradient = value.backward().unwrap().get(&logits).unwrap().clone();
    (
        f64::from(value.to_scalar::<f32>().unwrap()),
        gradient.flatten_all().unwrap().to_vec1().unwrap(),
    )
}

/// `|actual − expected| ≤ tolerance·max(1, |expected|)`.
pub(super) fn assert_close(actual: f64, expected: f64, tolerance: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= tolerance * expected.abs().max(1.0),
        "{what}: {actual} vs {expected}"
    );
}

/// Both implementations give `expected` (a float64 reference) on [`LOGITS`] to f32 precision.
pub(super) fn assert_value(loss: &Loss, expected: f64) {
    assert_close(plain(loss).0, expected, 2e-6, &format!("plain {loss:?}"));
    assert_close(candle(loss).0, expected, 2e-6, &format!("candle {loss:?}"));
}

/// The candle expression and the plain path agree within 1e-5 on [`LOGITS`], in value and in
/// every entry of the gradient (relative to the larger of 1 and the entry).
pub(super) fn assert_candle_agrees(loss: &Loss) {
    let (plain_value, plain_gradient) = plain(loss);
    let (candle_value, candle_gradient) = candle(loss);
    assert_close(plain_value, candle_value, 1e-5, &format!("{loss:?} value"));
    for (k, (&ours, &theirs)) in plain_gradient.iter().zip(&candle_gradient).enumerate() {
        assert_close(
            ours.into(),
            theirs.into(),
            1e-5,
            &format!("{loss:?} gradient {k}"),
        );
    }
}

/// `gradient` is the gradient of `value` at [`LOGITS`]: central differences `(f(z + h) −
/// f(z − h))/(2h)`, taken in f64 over the f32 values the function computes (the step is the
/// difference of the two f32 logits, h ≈ 1e-2), agree within 1e-3 of the largest gradient entry.
pub(super) fn assert_finite_differences(value: impl Fn(&[f32]) -> f64, gradient: &[f32]) {
    let scale = gradient.iter().fold(1e-2f32, |m, g| m.max(g.abs()));
    let mut logits = LOGITS;
    for k in 0..LOGITS.len() {
        let (up, down) = (LOGITS[k] + 1e-2, LOGITS[k] - 1e-2);
        logits[k] = up;
        let above = value(&logits);
        logits[k] = down;
        let below = value(&logits);
        logits[k] = LOGITS[k];
        let numeric = (above - below) / (f64::from(up) - f64::from(down));
        assert!(
            (numeric - f64::from(gradient[k])).abs() <= 1e-3 * f64::from(scale),
            "logit {k}: finite difference {numeric} vs gradient {}",
            gradient[k]
        );
    }
}

/// [`assert_finite_differences`] of the loss's own plain path.
pub(super) fn assert_gradient_matches_finite_differences(loss: &Loss) {
    assert_finite_differences(|logits| plain_at(loss, logits).0, &plain(loss).1);
}

/// The three checks of every loss whose test module has a `references()` table of (loss, value
/// from the reference script): the value, the gradient against finite differences, and the candle
/// expression against the plain path, each a test of that name in the calling module.
macro_rules! reference_checks {
    () => {
        #[test]
        fn value_matches_the_pytorch_reference() {
            for (loss, expected) in references() {
                $crate::loss::testing::assert_value(&loss, expected);
            }
        }

        #[test]
        fn gradient_matches_finite_differences() {
            for (loss, _) in references() {
                $crate::loss::testing::assert_gradient_matches_finite_differences(&loss);
            }
        }

        #[test]
        fn candle_agrees_with_the_plain_path() {
            for (loss, _) in references() {
                $crate::loss::testing::assert_candle_agrees(&loss);
            }
        }
    };
}
pub(super) use reference_checks;
