//! Metrics computed on the host from log-probabilities (docs/DEFINITIONS.md#metrics).

/// Number of equal-width confidence bins used for ECE (Guo et al. 2017).
pub const ECE_BINS: usize = 15;

/// Accuracy, NLL and ECE of a set of predictions against one set of labels.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalMetrics {
    /// Share of samples whose arg-max class equals the label, in [0, 1].
    pub accuracy: f64,
    /// Mean `−ln p_y` over samples, in nats.
    pub nll: f64,
    /// Expected calibration error with [`ECE_BINS`] bins, in [0, 1].
    pub ece: f64,
    /// The [`ECE_BINS`] confidence bins the ECE is computed from (a reliability diagram).
    pub calibration: Vec<CalibrationBin>,
    /// The arg-max class of every sample (the lowest index wins a tie).
    pub predictions: Vec<usize>,
}

/// Evaluates `log_probs` (`labels.len() × n_classes`, row-major, each row a log-softmax) against
/// `labels`. Sums run in sample order in `f64`, so the result is reproducible bit for bit.
pub fn evaluate_log_probs(log_probs: &[f32], n_classes: usize, labels: &[usize]) -> EvalMetrics {
    let n = labels.len();
    let mut predictions = Vec::with_capacity(n);
    let mut confidences = Vec::with_capacity(n);
    let mut correct = Vec::with_capacity(n);
    let mut nll_sum = 0.0;
    for (row, &label) in log_probs.chunks_exact(n_classes).zip(labels) {
        let (predicted, max_log_prob) =
            row.iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |best, (k, &lp)| {
                    if lp > best.1 { (k, lp) } else { best }
                });
        predictions.push(predicted);
        confidences.push(f64::from(max_log_prob).exp());
        correct.push(predicted == label);
        nll_sum -= f64::from(row[label]);
    }
    let n_correct = correct.iter().filter(|&&c| c).count();
    let calibration = calibration_bins(&confidences, &correct, ECE_BINS);
    EvalMetrics {
        accuracy: ratio(n_correct, n),
        nll: if n == 0 { 0.0 } else { nll_sum / n as f64 },
        ece: ece_of_bins(&calibration, n),
        calibration,
        predictions,
    }
}

/// The samples of one confidence bin, `low < confidence ≤ high`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CalibrationBin {
    /// Number of samples whose confidence falls in the bin.
    pub count: usize,
    /// Sum of their confidences (max-class probabilities).
    pub confidence_sum: f64,
    /// How many of them are predicted correctly.
    pub correct: usize,
}

/// Sorts samples into `n_bins` equal-width bins of (0, 1]: a sample is in bin m (0-based) when
/// `m/n_bins < confidence ≤ (m + 1)/n_bins`. Sums run in sample order.
pub fn calibration_bins(
    confidences: &[f64],
    correct: &[bool],
    n_bins: usize,
) -> Vec<CalibrationBin> {
    let mut bins = vec![
        CalibrationBin {
            count: 0,
            confidence_sum: 0.0,
            correct: 0,
        };
        n_bins
    ];
    for (&confidence, &is_correct) in confidences.iter().zip(correct) {
        let bin = &mut bins[((confidence * n_bins as f64).ceil() as usize).clamp(1, n_bins) - 1];
        bin.count += 1;
        bin.confidence_sum += confidence;
        bin.correct += usize::from(is_correct);
    }
    bins
}

/// `ECE = Σ_m (|B_m|/N)·|acc(B_m) − conf(B_m)|` over bins of `n` samples; empty bins are skipped.
fn ece_of_bins(bins: &[CalibrationBin], n: usize) -> f64 {
    if n == 0 {
        return 0.0;
    }
    bins.iter()
        .filter(|bin| bin.count > 0)
        .map(|bin| {
            let size = bin.count as f64;
            (size / n as f64) * (bin.correct as f64 / size - bin.confidence_sum / size).abs()
        })
        .sum()
}

/// `ECE = Σ_m (|B_m|/N)·|acc(B_m) − conf(B_m)|` over `n_bins` equal-width bins of (0, 1] (see
/// [`calibration_bins`]); empty bins are skipped.
pub fn expected_calibration_error(confidences: &[f64], correct: &[bool], n_bins: usize) -> f64 {
    ece_of_bins(
        &calibration_bins(confidences, correct, n_bins),
        confidences.len(),
    )
}

/// `numerator / denominator`, or 0 for an empty denominator.
pub(crate) fn ratio(numerator: usize, denominator: usize) -> f64 {
    if denominator == 0 {
        0.0
    } else {
        numerator as f64 / denominator as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ece_on_a_hand_built_example() {
        // Four samples, 15 bins of width 1/15:
        //   0.95, 0.95 (bin 14), one right one wrong: |0.5 − 0.95| = 0.45, weight 2/4
        //   0.60 (bin 8: 0.5333 < 0.6 ≤ 0.6), right: |1 − 0.6| = 0.4, weight 1/4
        //   0.30 (bin 4), wrong: |0 − 0.3| = 0.3, weight 1/4
        // ECE = 0.5·0.45 + 0.25·0.4 + 0.25·0.3 = 0.4
        let ece = expected_calibration_error(
            &[0.95, 0.95, 0.6, 0.3],
            &[true, false, true, false],
            ECE_BINS,
        );
        assert!((ece - 0.4).abs() < 1e-12, "{ece}");
    }

    #[test]
    fn ece_bins_are_closed_on_the_right() {
        // 1/3 lies exactly on the edge between bins 4 and 5 (5/15): it belongs to bin 4, with
        // 0.3; so the two are averaged: conf 0.31667, acc 0.5 → |0.5 − 0.31667| = 0.18333.
        let ece = expected_calibration_error(&[1.0 / 3.0, 0.3], &[true, false], ECE_BINS);
        assert!(
            (ece - (0.5 - (1.0 / 3.0 + 0.3) / 2.0)).abs() < 1e-12,
            "{ece}"
        );
        // A perfectly calibrated set has ECE 0.
        assert_eq!(
            expected_calibration_error(&[1.0, 1.0], &[true, true], ECE_BINS),
            0.0
        );
    }

    #[test]
    fn accuracy_and_nll_from_log_probs() {
        let ln = |p: f32| p.ln();
        let log_probs = [ln(0.7), ln(0.2), ln(0.1), ln(0.25), ln(0.25), ln(0.5)];
        let metrics = evaluate_log_probs(&log_probs, 3, &[0, 1]);
        assert_eq!(metrics.predictions, vec![0, 2]);
        assert_eq!(metrics.accuracy, 0.5);
        let expected_nll = -(0.7f64.ln() + 0.25f64.ln()) / 2.0;
        assert!((metrics.nll - expected_nll).abs() < 1e-6);
        // conf 0.7 (bin 10) right, 0.5 (bin 7) wrong: 0.5·0.3 + 0.5·0.5 = 0.4.
        assert!((metrics.ece - 0.4).abs() < 1e-6, "{}", metrics.ece);
        let occupied: Vec<(usize, usize, usize)> = metrics
            .calibration
            .iter()
            .enumerate()
            .filter(|(_, bin)| bin.count > 0)
            .map(|(m, bin)| (m, bin.count, bin.correct))
            .collect();
        assert_eq!(occupied, vec![(7, 1, 0), (10, 1, 1)]);
        assert_eq!(metrics.calibration.len(), ECE_BINS);
    }
}
