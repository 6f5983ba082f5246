//! The rows of `runs.csv` and `epochs.csv`: one per run, and one per run and epoch.

use serde::{Deserialize, Serialize};

use crate::csv_out::{CsvRow, format_float, format_optional};

/// The columns that identify a run, first in every per-run table.
const RUN_KEY_COLUMNS: [&str; 5] = ["run_id", "noise_model", "noise_rate", "seed", "epsilon"];

/// [`RUN_KEY_COLUMNS`] followed by `columns`.
fn with_run_key_columns(columns: &[&str]) -> Vec<String> {
    RUN_KEY_COLUMNS
        .iter()
        .chain(columns)
        .map(|c| c.to_string())
        .collect()
}

/// The cells of [`RUN_KEY_COLUMNS`] for one run.
fn run_key_cells(
    run_id: &str,
    noise_model: &str,
    noise_rate: f64,
    seed: u64,
    epsilon: f64,
) -> Vec<String> {
    vec![
        run_id.to_string(),
        noise_model.to_string(),
        format_float(noise_rate),
        seed.to_string(),
        format_float(epsilon),
    ]
}

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
    /// Nominal noise rate in [0, 1].
    pub noise_rate: f64,
    /// Seed index (0-based) within the experiment.
    pub seed: u64,
    /// Label smoothing ε in [0, 1].
    pub epsilon: f64,
    /// `finished`, `diverged` or `failed`.
    pub status: RunStatusLabel,
    /// Number of completed epochs.
    pub epochs_completed: usize,
    /// Share of training labels actually flipped.
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
    /// Test ECE (15 bins) after the last completed epoch.
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

impl CsvRow for RunRow {
    fn header() -> Vec<String> {
        with_run_key_columns(&[
            "status",
            "epochs_completed",
            "realised_noise_rate",
            "test_accuracy",
            "best_test_accuracy",
            "best_epoch",
            "val_selected_test_accuracy",
            "val_selected_epoch",
            "test_nll",
            "test_ece",
            "train_accuracy_noisy",
            "train_accuracy_clean",
            "memorised_share",
            "message",
        ])
    }

    fn record(&self) -> Vec<String> {
        let mut record = run_key_cells(
            &self.run_id,
            &self.noise_model,
            self.noise_rate,
            self.seed,
            self.epsilon,
        );
        record.extend([
            self.status.as_str().into(),
            self.epochs_completed.to_string(),
            format_float(self.realised_noise_rate),
            format_optional(self.test_accuracy),
            format_optional(self.best_test_accuracy),
            self.best_epoch.map(|e| e.to_string()).unwrap_or_default(),
            format_optional(self.val_selected_test_accuracy),
            self.val_selected_epoch
                .map(|e| e.to_string())
                .unwrap_or_default(),
            format_optional(self.test_nll),
            format_optional(self.test_ece),
            format_optional(self.train_accuracy_noisy),
            format_optional(self.train_accuracy_clean),
            format_optional(self.memorised_share),
            self.message.clone().unwrap_or_default(),
        ]);
        record
    }
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
    /// Label smoothing ε.
    pub epsilon: f64,
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

impl CsvRow for EpochRow {
    fn header() -> Vec<String> {
        with_run_key_columns(&[
            "epoch",
            "learning_rate",
            "train_loss",
            "train_accuracy_noisy",
            "train_accuracy_clean",
            "memorised_share",
            "corrected_share",
            "validation_accuracy",
            "test_accuracy",
            "test_nll",
            "test_ece",
        ])
    }

    fn record(&self) -> Vec<String> {
        let mut record = run_key_cells(
            &self.run_id,
            &self.noise_model,
            self.noise_rate,
            self.seed,
            self.epsilon,
        );
        record.extend([
            self.epoch.to_string(),
            format_float(self.learning_rate),
            format_float(self.train_loss),
            format_float(self.train_accuracy_noisy),
            format_float(self.train_accuracy_clean),
            format_optional(self.memorised_share),
            format_optional(self.corrected_share),
            format_optional(self.validation_accuracy),
            format_float(self.test_accuracy),
            format_float(self.test_nll),
            format_float(self.test_ece),
        ]);
        record
    }
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
    /// Label smoothing ε.
    pub epsilon: f64,
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

impl CsvRow for CalibrationRow {
    fn header() -> Vec<String> {
        with_run_key_columns(&[
            "bin",
            "confidence_low",
            "confidence_high",
            "count",
            "mean_confidence",
            "accuracy",
        ])
    }

    fn record(&self) -> Vec<String> {
        let mut record = run_key_cells(
            &self.run_id,
            &self.noise_model,
            self.noise_rate,
            self.seed,
            self.epsilon,
        );
        record.extend([
            self.bin.to_string(),
            format_float(self.confidence_low),
            format_float(self.confidence_high),
            self.count.to_string(),
            format_optional(self.mean_confidence),
            format_optional(self.accuracy),
        ]);
        record
    }
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
    /// Label smoothing ε.
    pub epsilon: f64,
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

impl CsvRow for ProjectionRow {
    fn header() -> Vec<String> {
        with_run_key_columns(&["test_index", "class", "class_name", "x", "y"])
    }

    fn record(&self) -> Vec<String> {
        let mut record = run_key_cells(
            &self.run_id,
            &self.noise_model,
            self.noise_rate,
            self.seed,
            self.epsilon,
        );
        record.extend([
            self.test_index.to_string(),
            self.class.to_string(),
            self.class_name.clone(),
            format_float(self.x),
            format_float(self.y),
        ]);
        record
    }
}
