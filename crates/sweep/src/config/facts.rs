//! The checks that need the data: made once they are read, before anything is trained.

use super::schema::{DataSource, ExperimentConfig, LossConfig, ModelKindName, NoiseModelName};
use super::validate::MIN_CNN_SIDE;
use super::{ConfigError, ConfigProblem};

/// What the data read for an experiment turned out to hold: all that the checks which need the
/// data ([`ExperimentConfig::check_data`]) look at.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DataFacts {
    /// `[channels, height, width]` of image data; `None` for a table.
    pub image_shape: Option<[usize; 3]>,
    /// Number of classes.
    pub n_classes: usize,
    /// Training samples the split leaves, before `train_subset`.
    pub n_train: usize,
    /// Validation samples the split leaves, before `validation_subset`.
    pub n_validation: usize,
    /// Test samples.
    pub n_test: usize,
    /// For an image folder that ships its own split (`path/train` and `path/test`, or
    /// `path/training_set` and `path/test_set`): those two folders.
    pub found_split: Option<data::ImageFolderSplit>,
    /// The class names, by class index.
    pub class_names: Vec<String>,
}

impl ExperimentConfig {
    /// The checks that need the data, made once they are read and before anything is trained or
    /// written, by `sweep check` and `sweep run` alike: that the model can be built on them and
    /// that `train()` would accept every run (a CNN needs images of at least 4×4 pixels with at
    /// least one channel; two classes or more; non-empty training and test splits; subsets no
    /// larger than their splits; no `test_fraction` for an image folder with its own split).
    ///
    /// Returns the warnings about degenerate settings (ε = 1; a noise rate at which the clean
    /// class is no longer the most likely label), one line each, or every problem found, each
    /// naming the file, the line, the key and what is allowed.
    pub fn check_data(&self, facts: &DataFacts) -> Result<Vec<String>, ConfigError> {
        let mut problems: Vec<(String, String)> = Vec::new();
        let mut problem = |key: &str, message: String| problems.push((key.to_string(), message));
        let data = &self.data;
        let source = data.source.name();

        if let (Some(split), Some(_)) = (&facts.found_split, data.test_fraction) {
            problem(
                "data.test_fraction",
                format!(
                    "not used: the image folder has its own test split ({} and {})",
                    split.train.display(),
                    split.test.display()
                ),
            );
        }
        if self.model.kind == ModelKindName::Cnn {
            match facts.image_shape {
                None => problem(
                    "model.kind",
                    format!("\"cnn\" needs image data; the {source} data are a table"),
                ),
                Some([channels, height, width]) => {
                    if height < MIN_CNN_SIDE || width < MIN_CNN_SIDE {
                        let key = if data.source == DataSource::ImageFolder {
                            "data.image_size"
                        } else {
                            "model.kind"
                        };
                        problem(
                            key,
                            format!(
                                "\"cnn\" needs images of at least {MIN_CNN_SIDE}×{MIN_CNN_SIDE} pixels (its two 2×2 max-pools); the {source} images are {width}×{height}"
                            ),
                        );
                    }
                    if channels == 0 {
                        problem(
                            "model.kind",
                            format!(
                                "\"cnn\" needs images with at least 1 channel; the {source} images have 0"
                            ),
                        );
                    }
                }
            }
        }
        if facts.n_classes < 2 {
            problem(
                "data.source",
                format!(
                    "the {source} data hold {} class(es); noise and training need at least 2",
                    facts.n_classes
                ),
            );
        }
        if facts.n_train == 0 {
            problem(
                "data.source",
                format!("the {source} data leave no training sample"),
            );
        }
        if facts.n_test == 0 {
            match data.test_fraction() {
                Some(share) if facts.found_split.is_none() => problem(
                    "data.test_fraction",
                    format!(
                        "{share} leaves the test split empty: round({share} · n_c) is 0 for every class c; give a larger share (or more data)"
                    ),
                ),
                _ => problem(
                    if data.test_path.is_some() {
                        "data.test_path"
                    } else {
                        "data.path"
                    },
                    "the test split holds no sample".into(),
                ),
            }
        }
        for (key, subset, available, what) in [
            (
                "data.train_subset",
                data.train_subset,
                facts.n_train,
                "training samples available (what the test and validation splits leave)",
            ),
            (
                "data.validation_subset",
                data.validation_subset,
                facts.n_validation,
                "validation samples available",
            ),
        ] {
            if let Some(n) = subset.filter(|&n| n > available) {
                problem(
                    key,
                    format!(
                        "{n} is more than the {available} {what}; give at most {available}, or leave it out to use them all"
                    ),
                );
            }
        }
        for (index, entry) in self.targets.losses.iter().enumerate() {
            // Forward correction's matrix is the noise's, of the data's size by construction.
            if matches!(entry, LossConfig::Forward {}) {
                continue;
            }
            if let Err(message) = entry.loss().check_classes(facts.n_classes) {
                problem(&format!("targets.losses[{index}]"), message);
            }
        }
        if !problems.is_empty() {
            return Err(self.located(problems));
        }
        Ok(self
            .located(self.degenerate_settings(facts.n_classes))
            .to_string()
            .lines()
            .map(String::from)
            .collect())
    }

    /// Settings a sweep can run but whose runs cannot answer the question, as (key, reason).
    fn degenerate_settings(&self, n_classes: usize) -> Vec<(String, String)> {
        let mut found = Vec::new();
        let k = n_classes;
        for (index, &rate) in self.noise.rates.iter().enumerate() {
            let Some(threshold) = degenerate_rate(self.noise.model, k) else {
                break;
            };
            if rate < threshold - 1e-12 {
                continue;
            }
            let reason = match self.noise.model {
                NoiseModelName::Symmetric => format!(
                    "ρ = {rate} ≥ (K − 1)/K = {} with K = {k} classes: under symmetric noise the true class (probability 1 − ρ) is then no more likely than each other class (ρ/(K − 1)), so the noisy label is no longer the most likely one",
                    short(threshold)
                ),
                NoiseModelName::PairFlip => format!(
                    "ρ = {rate} ≥ 1/2: under pair-flip noise class c is then labelled c + 1 (probability ρ) at least as often as c (1 − ρ), so the noisy label is no longer the most likely one"
                ),
                NoiseModelName::Uniform => format!(
                    "ρ = {rate} ≥ 1: under uniform noise every label is then redrawn from all K = {k} classes alike, so the noisy label is no longer the most likely one and carries no label information"
                ),
                NoiseModelName::Asymmetric => format!(
                    "ρ = {rate} ≥ 1/2: under asymmetric noise each mapped class c is then labelled as its destination (probability ρ) at least as often as c (1 − ρ), so the noisy label is no longer the most likely one"
                ),
                NoiseModelName::Instance => format!(
                    "ρ = {rate} ≥ 1/2: under instance-dependent noise the per-sample flip rates are drawn around ρ, so about half of the samples or more then have a flip rate of at least 1/2, at which their noisy label can be as likely as the clean one"
                ),
                // Each row of a matrix is checked at each rate with the matrix.
                NoiseModelName::None | NoiseModelName::Matrix | NoiseModelName::File => continue,
            };
            found.push((format!("noise.rates[{index}]"), reason));
        }
        let warmup = self.training.warmup_epochs.unwrap_or(0);
        for (index, &epsilon) in self.targets.epsilons.iter().enumerate() {
            if epsilon < 0.0 && warmup == 0 {
                found.push((
                    format!("targets.epsilons[{index}]"),
                    format!(
                        "ε = {epsilon} < 0 (negative smoothing) trains from the first step against targets above 1 on the label, whose loss has no lower bound; negative smoothing is usually applied after epochs of plain cross-entropy: set training.warmup_epochs"
                    ),
                ));
            }
            if epsilon == 1.0 {
                found.push((
                    format!("targets.epsilons[{index}]"),
                    "ε = 1 makes every target the uniform distribution 1/K whatever the label, so these runs' targets carry no label information".into(),
                ));
            }
        }
        let has_hard = self.targets.epsilons.contains(&0.0);
        if !self.targets.losses.is_empty() && !has_hard {
            found.push((
                "targets.epsilons".to_string(),
                "has no 0, so the losses of targets.losses have no hard-target run to be paired with: add 0 to compare them with hard targets".into(),
            ));
        }
        for (index, entry) in self.targets.losses.iter().enumerate() {
            let key = format!("targets.losses[{index}]");
            let same_as_hard = "trains exactly as hard targets (plain cross-entropy), so its runs repeat the ε = 0 runs";
            let reason = match *entry {
                LossConfig::Ce { epsilon, .. }
                    if (epsilon - (k as f64 - 1.0) / k as f64).abs() < 1e-12 =>
                {
                    Some(format!(
                        "ε = {epsilon} = (K − 1)/K in the off-classes convention makes every target uniform over the {k} classes whatever the label, so these runs' targets carry no label information"
                    ))
                }
                LossConfig::BootstrapSoft { beta: Some(beta) }
                | LossConfig::BootstrapHard { beta: Some(beta) }
                    if beta == 0.0 =>
                {
                    Some("β = 0 makes the target the model's own prediction, whatever the label, so these runs never see a label".to_string())
                }
                LossConfig::BootstrapSoft { beta: Some(beta) }
                | LossConfig::BootstrapHard { beta: Some(beta) }
                    if beta == 1.0 =>
                {
                    Some(format!("β = 1 {same_as_hard}"))
                }
                LossConfig::Focal { gamma: Some(0.0) } => {
                    Some(format!("γ = 0 {same_as_hard}"))
                }
                _ => None,
            };
            if let Some(reason) = reason {
                found.push((key.clone(), reason));
            }
            if let LossConfig::Ce { epsilon, .. } = entry
                && *epsilon < 0.0
                && warmup == 0
            {
                found.push((
                    format!("targets.losses[{index}]"),
                    format!(
                        "ε = {epsilon} < 0 (negative smoothing) without training.warmup_epochs trains against targets above 1 on the label from the first step"
                    ),
                ));
            }
        }
        found
    }

    /// `problems` as a [`ConfigError`] of the file this configuration was read from, each at the
    /// line of its key.
    pub fn located(&self, problems: Vec<(String, String)>) -> ConfigError {
        ConfigError {
            file: self.origin.file().to_string(),
            problems: problems
                .into_iter()
                .map(|(key, message)| ConfigProblem {
                    line: self.origin.line_of(&key),
                    key: Some(key),
                    message,
                })
                .collect(),
        }
    }
}

/// The smallest nominal rate at which `model`, on `k` classes, no longer keeps the clean class
/// the most likely noisy label of its samples (docs/DEFINITIONS.md#when-noise-makes-a-setting-meaningless): symmetric `T_cc = 1 − ρ` against
/// `ρ/(K − 1)` gives (K − 1)/K; pair-flip `1 − ρ` against `ρ` gives 1/2; uniform
/// `1 − ρ + ρ/K` against `ρ/K` gives 1. `None` for no noise.
fn degenerate_rate(model: NoiseModelName, k: usize) -> Option<f64> {
    match model {
        NoiseModelName::None | NoiseModelName::Matrix | NoiseModelName::File => None,
        NoiseModelName::Asymmetric | NoiseModelName::Instance => Some(0.5),
        NoiseModelName::Symmetric => Some((k.max(2) - 1) as f64 / k.max(2) as f64),
        NoiseModelName::PairFlip => Some(0.5),
        NoiseModelName::Uniform => Some(1.0),
    }
}

/// `value` with at most 4 decimals, trailing zeros removed: 0.9, 0.6667, 0.5.
fn short(value: f64) -> String {
    let text = format!("{value:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}
