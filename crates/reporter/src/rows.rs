//! The rows of `runs.csv` and `epochs.csv` (one per run, and one per run and epoch),
//! `calibration.csv` and `penultimate.csv`. Each field is one column, in order, named after the
//! field; the first five identify the run. Every metric is defined in docs/DEFINITIONS.md,
//! section "Metrics" (`#metrics`).

use serde::{Deserialize, Serialize};

use crate::csv_out::serde_csv_row;
use crate::setting::{HasSetting, LossName, Setting};

/// How a run ended, as written in the `status` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatusLabel {
    /// Every epoch ran.
    Finished,
    /// The training loss became NaN or infinite; the run stopped early. A result: resuming does
    /// not train it again.
    Diverged,
    /// Training could not run (an error, not a result): resuming trains it again.
    Failed,
}

impl RunStatusLabel {
    /// The column value (`finished`, `diverged`).
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatusLabel::Finished => "finished",
            RunStatusLabel::Diverged => "diverged",
            RunStatusLabel::Failed => "failed",
        }
    }
}

/// One row of `runs.csv`: a run's identity and its end-of-training results.
/// Metrics of a run without a completed epoch are `None` (empty cells).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    /// Stable run id: 16 hex digits of the SHA-256 of the run's resolved settings.
    pub run_id: String,
    /// Noise model name (`symmetric`, …).
    pub noise_model: String,
    /// Nominal noise rate in [0, 1]; for a label set, the share of training labels it changes.
    pub noise_rate: f64,
    /// The label set of noise read from a file (its noise level); empty for drawn noise. Tables
    /// written before it existed read as empty.
    #[serde(default)]
    pub label_set: Option<String>,
    /// Seed index (0-based) within the experiment.
    pub seed: u64,
    /// The loss (`ce` for label smoothing; docs/DEFINITIONS.md, `#losses`). Tables written
    /// before other losses existed read as `ce`.
    #[serde(default)]
    pub loss: LossName,
    /// Label smoothing ε in [−8, 1] (`ce`, `ce-off-classes`); empty for the other losses.
    pub epsilon: Option<f64>,
    /// α of `sce`; empty for the other losses.
    #[serde(default)]
    pub alpha: Option<f64>,
    /// β of `sce` or of a bootstrap; empty for the other losses.
    #[serde(default)]
    pub beta: Option<f64>,
    /// q of `gce`; empty for the other losses.
    #[serde(default)]
    pub q: Option<f64>,
    /// γ of `focal`; empty for the other losses.
    #[serde(default)]
    pub gamma: Option<f64>,
    /// The clip A of log 0 of `sce`; empty for the other losses.
    #[serde(default)]
    pub log_zero: Option<f64>,
    /// `finished`, `diverged` or `failed`.
    pub status: RunStatusLabel,
    /// Number of completed epochs.
    pub epochs_completed: usize,
    /// Share of training labels actually flipped (docs/DEFINITIONS.md, `#realised-noise-rate`).
    pub realised_noise_rate: f64,
    /// Clean test accuracy after the last completed epoch.
    pub test_accuracy: Option<f64>,
    /// Highest clean test accuracy over epochs (an oracle: it peeks at the test split).
    pub best_test_accuracy: Option<f64>,
    /// Epoch (1-based) of `best_test_accuracy`, the first if tied.
    pub best_epoch: Option<usize>,
    /// Clean test accuracy at the epoch with the best noisy-validation accuracy.
    pub val_selected_test_accuracy: Option<f64>,
    /// Epoch (1-based) with the best noisy-validation accuracy, the first if tied.
    pub val_selected_epoch: Option<usize>,
    /// Test NLL after the last completed epoch, in nats.
    pub test_nll: Option<f64>,
    /// Test ECE (15 bins, docs/DEFINITIONS.md `#expected-calibration-error`) after the last
    /// completed epoch.
    pub test_ece: Option<f64>,
    /// Training accuracy against the noisy labels, last epoch.
    pub train_accuracy_noisy: Option<f64>,
    /// Training accuracy against the clean labels, last epoch.
    pub train_accuracy_clean: Option<f64>,
    /// Share of flipped training samples predicted as their noisy label, last epoch.
    pub memorised_share: Option<f64>,
    /// Why a run did not finish (empty for a finished run).
    #[serde(default)]
    pub message: Option<String>,
}

/// One row of `epochs.csv`: a run's metrics after one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRow {
    /// The run's id (see [`RunRow::run_id`]).
    pub run_id: String,
    /// Noise model name.
    pub noise_model: String,
    /// Nominal noise rate in [0, 1].
    pub noise_rate: f64,
    /// Seed index.
    pub seed: u64,
    /// The loss (`ce` for label smoothing; docs/DEFINITIONS.md, `#losses`). Tables written
    /// before other losses existed read as `ce`.
    #[serde(default)]
    pub loss: LossName,
    /// Label smoothing ε in [−8, 1] (`ce`, `ce-off-classes`); empty for the other losses.
    pub epsilon: Option<f64>,
    /// α of `sce`; empty for the other losses.
    #[serde(default)]
    pub alpha: Option<f64>,
    /// β of `sce` or of a bootstrap; empty for the other losses.
    #[serde(default)]
    pub beta: Option<f64>,
    /// q of `gce`; empty for the other losses.
    #[serde(default)]
    pub q: Option<f64>,
    /// γ of `focal`; empty for the other losses.
    #[serde(default)]
    pub gamma: Option<f64>,
    /// The clip A of log 0 of `sce`; empty for the other losses.
    #[serde(default)]
    pub log_zero: Option<f64>,
    /// 1-based epoch number.
    pub epoch: usize,
    /// Learning rate of the epoch's first step.
    pub learning_rate: f64,
    /// Mean label-smoothed training loss over the epoch's minibatches, in nats.
    pub train_loss: f64,
    /// Training accuracy against the noisy labels.
    pub train_accuracy_noisy: f64,
    /// Training accuracy against the clean labels.
    pub train_accuracy_clean: f64,
    /// Share of flipped training samples predicted as their noisy label (empty without flips).
    pub memorised_share: Option<f64>,
    /// Share of flipped training samples predicted as their clean label (empty without flips).
    pub corrected_share: Option<f64>,
    /// Validation accuracy against noisy validation labels (empty without a validation split).
    pub validation_accuracy: Option<f64>,
    /// Clean test accuracy.
    pub test_accuracy: f64,
    /// Test NLL in nats.
    pub test_nll: f64,
    /// Test ECE (15 bins).
    pub test_ece: f64,
}

/// One row of `calibration.csv`: one of the 15 equal-width confidence bins of a run's clean test
/// predictions after its last completed epoch (the data of a reliability diagram).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationRow {
    /// The run's id.
    pub run_id: String,
    /// Noise model name.
    pub noise_model: String,
    /// Nominal noise rate.
    pub noise_rate: f64,
    /// Seed index.
    pub seed: u64,
    /// The loss (`ce` for label smoothing; docs/DEFINITIONS.md, `#losses`). Tables written
    /// before other losses existed read as `ce`.
    #[serde(default)]
    pub loss: LossName,
    /// Label smoothing ε in [−8, 1] (`ce`, `ce-off-classes`); empty for the other losses.
    pub epsilon: Option<f64>,
    /// α of `sce`; empty for the other losses.
    #[serde(default)]
    pub alpha: Option<f64>,
    /// β of `sce` or of a bootstrap; empty for the other losses.
    #[serde(default)]
    pub beta: Option<f64>,
    /// q of `gce`; empty for the other losses.
    #[serde(default)]
    pub q: Option<f64>,
    /// γ of `focal`; empty for the other losses.
    #[serde(default)]
    pub gamma: Option<f64>,
    /// The clip A of log 0 of `sce`; empty for the other losses.
    #[serde(default)]
    pub log_zero: Option<f64>,
    /// 0-based bin number.
    pub bin: usize,
    /// Lower edge of the bin (exclusive).
    pub confidence_low: f64,
    /// Upper edge of the bin (inclusive).
    pub confidence_high: f64,
    /// Test samples whose confidence (max-class probability) falls in the bin.
    pub count: u64,
    /// Their mean confidence; empty for an empty bin.
    pub mean_confidence: Option<f64>,
    /// Their accuracy; empty for an empty bin.
    pub accuracy: Option<f64>,
}

/// One row of `penultimate.csv`: a test sample's penultimate-layer activations projected onto
/// the plane through three classes' last-layer templates (Müller et al. 2019), for the first
/// seed's runs of an MLP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectionRow {
    /// The run's id.
    pub run_id: String,
    /// Noise model name.
    pub noise_model: String,
    /// Nominal noise rate.
    pub noise_rate: f64,
    /// Seed index.
    pub seed: u64,
    /// The loss (`ce` for label smoothing; docs/DEFINITIONS.md, `#losses`). Tables written
    /// before other losses existed read as `ce`.
    #[serde(default)]
    pub loss: LossName,
    /// Label smoothing ε in [−8, 1] (`ce`, `ce-off-classes`); empty for the other losses.
    pub epsilon: Option<f64>,
    /// α of `sce`; empty for the other losses.
    #[serde(default)]
    pub alpha: Option<f64>,
    /// β of `sce` or of a bootstrap; empty for the other losses.
    #[serde(default)]
    pub beta: Option<f64>,
    /// q of `gce`; empty for the other losses.
    #[serde(default)]
    pub q: Option<f64>,
    /// γ of `focal`; empty for the other losses.
    #[serde(default)]
    pub gamma: Option<f64>,
    /// The clip A of log 0 of `sce`; empty for the other losses.
    #[serde(default)]
    pub log_zero: Option<f64>,
    /// The sample's row in the test split.
    pub test_index: usize,
    /// Its clean class index.
    pub class: usize,
    /// Its clean class name.
    pub class_name: String,
    /// Coordinate along the plane's first axis (template of the first class towards the second).
    pub x: f64,
    /// Coordinate along the plane's second axis.
    pub y: f64,
}

/// One row of `transitions.csv`: how many samples of one clean class carry one noisy label in one
/// split of one (noise model, rate, seed) group: the realised transition counts of the labels a
/// group's runs were trained on. Only non-zero counts are written; a clean class's row total is
/// the number of its samples in the split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransitionRow {
    /// Noise model name.
    pub noise_model: String,
    /// Nominal noise rate; for a label set, the share of training labels it changes.
    pub noise_rate: f64,
    /// The label set (noise read from a file); empty for drawn noise.
    pub label_set: Option<String>,
    /// Seed index.
    pub seed: u64,
    /// `train` or `validation`.
    pub split: String,
    /// The clean class index.
    pub clean_class: usize,
    /// The noisy class index.
    pub noisy_class: usize,
    /// Samples of the split with that clean class and that noisy label.
    pub count: u64,
}

/// The setting a row's `loss` and parameter columns hold.
macro_rules! setting_columns {
    ($($row:ty),*) => {$(
        impl HasSetting for $row {
            fn setting(&self) -> Setting {
                Setting {
                    loss: self.loss,
                    parameters: [
                        self.epsilon,
                        self.alpha,
                        self.beta,
                        self.q,
                        self.gamma,
                        self.log_zero,
                    ],
                }
            }
        }

    )*};
}

setting_columns!(RunRow, EpochRow, CalibrationRow, ProjectionRow);

serde_csv_row!(
    RunRow [added: "label_set", "loss", "alpha", "beta", "q", "gamma", "log_zero"],
    EpochRow [added: "loss", "alpha", "beta", "q", "gamma", "log_zero"],
    CalibrationRow [added: "loss", "alpha", "beta", "q", "gamma", "log_zero"],
    ProjectionRow [added: "loss", "alpha", "beta", "q", "gamma", "log_zero"],
    TransitionRow
);

/// A finished label-smoothing run for the crate's tests: symmetric noise, label smoothing at
/// `epsilon`, every accuracy `accuracy`, NLL 1, ECE 0.1, training accuracies 0.5, one epoch, no
/// memorised share. Tests override what they are about.
#[cfg(test)]
pub(crate) fn test_run(rate: f64, seed: u64, epsilon: f64, accuracy: f64) -> RunRow {
    RunRow {
        run_id: format!("{rate}-{seed}-{epsilon}"),
        noise_model: "symmetric".into(),
        noise_rate: rate,
        label_set: None,
        seed,
        loss: LossName::Ce,
        epsilon: Some(epsilon),
        alpha: None,
        beta: None,
        q: None,
        gamma: None,
        log_zero: None,
        status: RunStatusLabel::Finished,
        epochs_completed: 1,
        realised_noise_rate: rate,
        test_accuracy: Some(accuracy),
        best_test_accuracy: Some(accuracy),
        best_epoch: Some(1),
        val_selected_test_accuracy: Some(accuracy),
        val_selected_epoch: Some(1),
        test_nll: Some(1.0),
        test_ece: Some(0.1),
        train_accuracy_noisy: Some(0.5),
        train_accuracy_clean: Some(0.5),
        memorised_share: None,
        message: None,
    }
}
