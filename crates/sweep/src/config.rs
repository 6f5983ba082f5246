//! The experiment file: TOML in, a validated [`ExperimentConfig`] out, or errors that name the
//! file, the line, the key and what is allowed.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// A whole experiment, as written in its TOML file with every default filled in. Serialised into
/// `manifest.json`; its hash identifies the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    /// Folder name under `results/`; letters, digits, `-`, `_` and `.`.
    pub name: String,
    /// The experiment seed; every random stream is derived from it.
    #[serde(default)]
    pub seed: u64,
    /// Number of seeds (repetitions) per noise rate and ε.
    #[serde(default = "default_seeds")]
    pub seeds: u64,
    /// The data set and its split.
    pub data: DataConfig,
    /// The noise applied to the training (and validation) labels.
    pub noise: NoiseConfig,
    /// The targets compared: label-smoothing values.
    pub targets: TargetsConfig,
    /// The model.
    pub model: ModelConfig,
    /// The optimiser and training loop.
    pub training: TrainingConfig,
}

fn default_seeds() -> u64 {
    3
}

/// Which data set, and how it is split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// `digits` (bundled) or `blobs` (synthetic).
    pub source: DataSource,
    /// Share of each class held out for validation, in [0, 1).
    #[serde(default = "default_validation_fraction")]
    pub validation_fraction: f64,
    /// Share of each class held out for testing, in (0, 1).
    #[serde(default = "default_test_fraction")]
    pub test_fraction: f64,
    /// Seed of the split; by default derived from the experiment seed.
    #[serde(default)]
    pub split_seed: Option<u64>,
    /// blobs: number of classes.
    #[serde(default)]
    pub n_classes: Option<usize>,
    /// blobs: number of features.
    #[serde(default)]
    pub n_features: Option<usize>,
    /// blobs: number of samples.
    #[serde(default)]
    pub n_samples: Option<usize>,
    /// blobs: spread of the class centres.
    #[serde(default)]
    pub separation: Option<f64>,
}

fn default_validation_fraction() -> f64 {
    0.1
}

fn default_test_fraction() -> f64 {
    0.2
}

/// A data source name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DataSource {
    /// The bundled UCI 8×8 digits.
    Digits,
    /// A seeded Gaussian mixture.
    Blobs,
}

/// The noise process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoiseConfig {
    /// `none`, `symmetric`, `uniform` or `pair-flip`.
    pub model: NoiseModelName,
    /// `exact` (default) or `bernoulli`.
    #[serde(default)]
    pub mode: NoiseModeName,
    /// Nominal noise rates, each in [0, 1], no duplicates.
    pub rates: Vec<f64>,
    /// Corrupt the validation split like the training split (default true): model selection then
    /// sees only noisy labels, as it would in practice.
    #[serde(default = "default_true")]
    pub corrupt_validation: bool,
}

fn default_true() -> bool {
    true
}

/// A noise model name, as in the TOML file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoiseModelName {
    /// No noise.
    None,
    /// Flip to one of the K − 1 other classes.
    Symmetric,
    /// Redraw from all K classes.
    Uniform,
    /// Flip c to c + 1 mod K.
    PairFlip,
}

impl NoiseModelName {
    /// The `noise` crate's model.
    pub fn model(self) -> noise::NoiseModel {
        match self {
            NoiseModelName::None => noise::NoiseModel::None,
            NoiseModelName::Symmetric => noise::NoiseModel::Symmetric,
            NoiseModelName::Uniform => noise::NoiseModel::Uniform,
            NoiseModelName::PairFlip => noise::NoiseModel::PairFlip,
        }
    }
}

/// A sampling mode name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoiseModeName {
    /// Exact per-class counts.
    #[default]
    Exact,
    /// Independent per-sample draws.
    Bernoulli,
}

impl NoiseModeName {
    /// The `noise` crate's mode.
    pub fn mode(self) -> noise::NoiseMode {
        match self {
            NoiseModeName::Exact => noise::NoiseMode::Exact,
            NoiseModeName::Bernoulli => noise::NoiseMode::Bernoulli,
        }
    }
}

/// The target settings compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetsConfig {
    /// Label-smoothing ε values, each in [0, 1], no duplicates; include 0 for the hard-target
    /// baseline.
    pub epsilons: Vec<f64>,
}

/// The model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// `logistic` or `mlp`.
    pub kind: ModelKindName,
    /// Hidden widths of the MLP, each ≥ 1 (not allowed for `logistic`).
    #[serde(default)]
    pub hidden: Vec<usize>,
}

/// A model name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKindName {
    /// Logistic regression.
    Logistic,
    /// Multi-layer perceptron.
    Mlp,
}

/// The optimiser and the training loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingConfig {
    /// Passes over the training split, ≥ 1.
    pub epochs: usize,
    /// Minibatch size, ≥ 1.
    pub batch_size: usize,
    /// `sgd` or `adamw`.
    pub optimizer: OptimizerName,
    /// Peak learning rate, > 0.
    pub learning_rate: f64,
    /// SGD momentum in [0, 1) (default 0.9).
    #[serde(default)]
    pub momentum: Option<f64>,
    /// SGD Nesterov momentum (default false).
    #[serde(default)]
    pub nesterov: Option<bool>,
    /// Weight decay ≥ 0 (SGD: L2 added to the gradient; AdamW: decoupled). Default 0.
    #[serde(default)]
    pub weight_decay: f64,
    /// AdamW β1 in [0, 1) (default 0.9).
    #[serde(default)]
    pub beta1: Option<f64>,
    /// AdamW β2 in [0, 1) (default 0.999).
    #[serde(default)]
    pub beta2: Option<f64>,
    /// `constant` (default) or `cosine`.
    #[serde(default)]
    pub schedule: ScheduleName,
}

/// An optimiser name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerName {
    /// SGD with momentum.
    Sgd,
    /// AdamW.
    Adamw,
}

/// A schedule name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScheduleName {
    /// Constant learning rate.
    #[default]
    Constant,
    /// Cosine decay to 0.
    Cosine,
}

impl TrainingConfig {
    /// The trainer's optimiser parameters, defaults filled in.
    pub fn optimizer_params(&self) -> trainer::OptimizerParams {
        match self.optimizer {
            OptimizerName::Sgd => trainer::OptimizerParams::Sgd {
                learning_rate: self.learning_rate,
                momentum: self.momentum.unwrap_or(0.9),
                nesterov: self.nesterov.unwrap_or(false),
                weight_decay: self.weight_decay,
            },
            OptimizerName::Adamw => trainer::OptimizerParams::AdamW {
                learning_rate: self.learning_rate,
                beta1: self.beta1.unwrap_or(0.9),
                beta2: self.beta2.unwrap_or(0.999),
                weight_decay: self.weight_decay,
            },
        }
    }

    /// The trainer's schedule.
    pub fn schedule(&self) -> trainer::Schedule {
        match self.schedule {
            ScheduleName::Constant => trainer::Schedule::Constant,
            ScheduleName::Cosine => trainer::Schedule::Cosine,
        }
    }
}

impl ModelConfig {
    /// The trainer's model kind.
    pub fn kind(&self) -> trainer::ModelKind {
        match self.kind {
            ModelKindName::Logistic => trainer::ModelKind::Logistic,
            ModelKindName::Mlp => trainer::ModelKind::Mlp {
                hidden: self.hidden.clone(),
            },
        }
    }
}

/// One problem in a configuration file, located as precisely as the parser allows.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigProblem {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The dotted key (`noise.rates[2]`), when known.
    pub key: Option<String>,
    /// What is wrong and what is allowed.
    pub message: String,
}

/// A configuration file that could not be used: every problem found, with the file's path.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigError {
    /// The file as given on the command line.
    pub file: String,
    /// The problems, in file order where known.
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, problem) in self.problems.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", self.file)?;
            if let Some(line) = problem.line {
                write!(f, ":{line}")?;
            }
            write!(f, ": ")?;
            if let Some(key) = &problem.key {
                write!(f, "{key}: ")?;
            }
            write!(f, "{}", problem.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Reads, parses and validates the experiment file at `path`.
pub fn load(path: &Path) -> Result<ExperimentConfig, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError {
        file: file.clone(),
        problems: vec![ConfigProblem {
            line: None,
            key: None,
            message: format!("cannot read the experiment file: {error}"),
        }],
    })?;
    parse(&text, &file)
}

/// Parses and validates an experiment from TOML text; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<ExperimentConfig, ConfigError> {
    let config: ExperimentConfig = toml::from_str(text).map_err(|error| ConfigError {
        file: file.into(),
        problems: vec![ConfigProblem {
            line: error.span().map(|span| line_of(text, span.start)),
            key: None,
            message: error.message().trim().replace('\n', " "),
        }],
    })?;
    let problems: Vec<ConfigProblem> = validate(&config)
        .into_iter()
        .map(|(key, message)| ConfigProblem {
            line: locate(text, &key),
            key: Some(key),
            message,
        })
        .collect();
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError {
            file: file.into(),
            problems,
        })
    }
}

/// Every range and consistency rule the types cannot express, as (dotted key, message) pairs.
fn validate(config: &ExperimentConfig) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let mut problem = |key: &str, message: String| problems.push((key.to_string(), message));

    let name_ok = !config.name.is_empty()
        && config
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !config.name.starts_with('.');
    if !name_ok {
        problem(
            "name",
            format!(
                "`{}` is not allowed: use letters, digits, `-`, `_` and `.`, not starting with `.`",
                config.name
            ),
        );
    }
    if config.seeds == 0 {
        problem("seeds", "0 is not allowed: at least 1 seed".into());
    }

    let data = &config.data;
    if !(data.test_fraction > 0.0 && data.test_fraction < 1.0) {
        problem(
            "data.test_fraction",
            format!("{} is outside (0, 1)", data.test_fraction),
        );
    }
    if !(0.0..1.0).contains(&data.validation_fraction)
        || data.validation_fraction + data.test_fraction >= 1.0
    {
        problem(
            "data.validation_fraction",
            format!(
                "{} is not allowed: a share in [0, 1) that with test_fraction ({}) leaves training data",
                data.validation_fraction, data.test_fraction
            ),
        );
    }
    let blobs_keys = [
        ("n_classes", data.n_classes.is_some()),
        ("n_features", data.n_features.is_some()),
        ("n_samples", data.n_samples.is_some()),
        ("separation", data.separation.is_some()),
    ];
    match data.source {
        DataSource::Digits => {
            for (key, given) in blobs_keys {
                if given {
                    problem(
                        &format!("data.{key}"),
                        "only used with source = \"blobs\"; remove it for digits".into(),
                    );
                }
            }
        }
        DataSource::Blobs => {
            if data.n_classes.is_some_and(|k| k < 2) {
                problem("data.n_classes", "must be at least 2".into());
            }
            if data.n_features == Some(0) {
                problem("data.n_features", "must be at least 1".into());
            }
            if data
                .n_samples
                .is_some_and(|n| n < 10 * data.n_classes.unwrap_or(BLOBS_DEFAULT_CLASSES))
            {
                problem(
                    "data.n_samples",
                    "must be at least 10 per class, so every split gets samples".into(),
                );
            }
            if data
                .separation
                .is_some_and(|s| !(s.is_finite() && s >= 0.0))
            {
                problem("data.separation", "must be a finite number ≥ 0".into());
            }
        }
    }

    check_grid(
        &mut problem,
        "noise.rates",
        &config.noise.rates,
        "a noise rate is a probability in [0, 1]",
    );
    check_grid(
        &mut problem,
        "targets.epsilons",
        &config.targets.epsilons,
        "label smoothing ε must be in [0, 1]",
    );

    match config.model.kind {
        ModelKindName::Logistic if !config.model.hidden.is_empty() => problem(
            "model.hidden",
            "not used by kind = \"logistic\"; remove it or use kind = \"mlp\"".into(),
        ),
        ModelKindName::Mlp if config.model.hidden.is_empty() => problem(
            "model.hidden",
            "kind = \"mlp\" needs at least one hidden width, e.g. hidden = [128]".into(),
        ),
        _ => {}
    }
    for (index, &width) in config.model.hidden.iter().enumerate() {
        if width == 0 {
            problem(
                &format!("model.hidden[{index}]"),
                "0 is not allowed: a hidden width is at least 1".into(),
            );
        }
    }

    let training = &config.training;
    if training.epochs == 0 {
        problem("training.epochs", "0 is not allowed: at least 1".into());
    }
    if training.batch_size == 0 {
        problem("training.batch_size", "0 is not allowed: at least 1".into());
    }
    if !(training.learning_rate.is_finite() && training.learning_rate > 0.0) {
        problem(
            "training.learning_rate",
            format!(
                "{} is not allowed: a finite number > 0",
                training.learning_rate
            ),
        );
    }
    if !(training.weight_decay.is_finite() && training.weight_decay >= 0.0) {
        problem(
            "training.weight_decay",
            format!(
                "{} is not allowed: a finite number ≥ 0",
                training.weight_decay
            ),
        );
    }
    let unit = |value: f64| (0.0..1.0).contains(&value);
    let (own, other) = match training.optimizer {
        OptimizerName::Sgd => ("sgd", "adamw"),
        OptimizerName::Adamw => ("adamw", "sgd"),
    };
    let per_optimizer = [
        ("momentum", training.momentum, OptimizerName::Sgd),
        ("beta1", training.beta1, OptimizerName::Adamw),
        ("beta2", training.beta2, OptimizerName::Adamw),
    ];
    for (key, value, belongs_to) in per_optimizer {
        match value {
            Some(_) if belongs_to != training.optimizer => problem(
                &format!("training.{key}"),
                format!("only used with optimizer = \"{other}\", not \"{own}\""),
            ),
            Some(v) if !unit(v) => {
                problem(&format!("training.{key}"), format!("{v} is outside [0, 1)"))
            }
            _ => {}
        }
    }
    if training.nesterov.is_some() && training.optimizer != OptimizerName::Sgd {
        problem(
            "training.nesterov",
            format!("only used with optimizer = \"sgd\", not \"{own}\""),
        );
    }
    problems
}

/// Number of classes of `blobs` when the file does not say.
pub const BLOBS_DEFAULT_CLASSES: usize = 4;

/// Grid values: non-empty, each in [0, 1], no duplicates.
fn check_grid(problem: &mut impl FnMut(&str, String), key: &str, values: &[f64], why: &str) {
    if values.is_empty() {
        problem(key, "the list is empty: give at least one value".into());
    }
    for (index, &value) in values.iter().enumerate() {
        if !(0.0..=1.0).contains(&value) {
            problem(
                &format!("{key}[{index}]"),
                format!("{value} is outside [0, 1]: {why}"),
            );
        } else if values[..index].contains(&value) {
            problem(
                &format!("{key}[{index}]"),
                format!("{value} appears twice: each grid value once"),
            );
        }
    }
}

/// 1-based line of byte offset `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The line of the value at a dotted key such as `noise.rates[2]`, if the file has it.
fn locate(text: &str, key: &str) -> Option<usize> {
    use toml::de::{DeTable, DeValue};
    let document = DeTable::parse(text).ok()?;
    let mut table = document.get_ref();
    let mut span = None;
    let segments: Vec<&str> = key.split('.').collect();
    for (position, segment) in segments.iter().enumerate() {
        let (name, index) = match segment.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (*segment, None),
        };
        let (_, value) = table.iter().find(|(k, _)| k.get_ref().as_ref() == name)?;
        span = Some(value.span());
        let mut current = value.get_ref();
        if let Some(index) = index {
            let DeValue::Array(items) = current else {
                break;
            };
            let item = items.get(index)?;
            span = Some(item.span());
            current = item.get_ref();
        }
        match current {
            DeValue::Table(inner) if position + 1 < segments.len() => table = inner,
            _ => break,
        }
    }
    span.map(|span| line_of(text, span.start))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"name = "t"
seeds = 2

[data]
source = "digits"

[noise]
model = "symmetric"
rates = [0.0, 0.4]

[targets]
epsilons = [0.0, 0.1]

[model]
kind = "mlp"
hidden = [16]

[training]
epochs = 2
batch_size = 32
optimizer = "sgd"
learning_rate = 0.05
"#;

    fn check(text: &str, expected: &str) {
        let error = parse(text, "x.toml").unwrap_err();
        assert_eq!(error.to_string(), expected);
    }

    #[test]
    fn a_good_file_parses_with_defaults() {
        let config = parse(GOOD, "x.toml").unwrap();
        assert_eq!(config.seeds, 2);
        assert_eq!(config.data.validation_fraction, 0.1);
        assert_eq!(config.noise.mode, NoiseModeName::Exact);
        assert!(config.noise.corrupt_validation);
        assert_eq!(
            config.training.optimizer_params(),
            trainer::OptimizerParams::Sgd {
                learning_rate: 0.05,
                momentum: 0.9,
                nesterov: false,
                weight_decay: 0.0
            }
        );
    }

    #[test]
    fn unknown_key_names_the_key_its_line_and_the_allowed_keys() {
        let text = GOOD.replace("epochs = 2", "epochs = 2\nepoch_count = 3");
        let error = parse(&text, "x.toml").unwrap_err().to_string();
        assert!(
            error.starts_with("x.toml:20: unknown field `epoch_count`, expected one of"),
            "{error}"
        );
        assert!(error.contains("`batch_size`"), "{error}");
    }

    #[test]
    fn out_of_range_values_name_key_line_and_range() {
        check(
            &GOOD.replace("rates = [0.0, 0.4]", "rates = [0.0,\n  1.5]"),
            "x.toml:10: noise.rates[1]: 1.5 is outside [0, 1]: a noise rate is a probability in [0, 1]",
        );
        check(
            &GOOD.replace("epsilons = [0.0, 0.1]", "epsilons = [0.1, 0.1]"),
            "x.toml:12: targets.epsilons[1]: 0.1 appears twice: each grid value once",
        );
        check(
            &GOOD.replace("epochs = 2", "epochs = 0"),
            "x.toml:19: training.epochs: 0 is not allowed: at least 1",
        );
        check(
            &GOOD.replace("rates = [0.0, 0.4]", "rates = []"),
            "x.toml:9: noise.rates: the list is empty: give at least one value",
        );
    }

    #[test]
    fn wrong_names_and_types_are_reported_with_the_allowed_values() {
        let error = parse(&GOOD.replace("\"symmetric\"", "\"asymmetric\""), "x.toml")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("x.toml:8: unknown variant `asymmetric`"),
            "{error}"
        );
        assert!(error.contains("`pair-flip`"), "{error}");
        let error = parse(
            &GOOD.replace("batch_size = 32", "batch_size = \"32\""),
            "x.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.starts_with("x.toml:20: invalid type: string"),
            "{error}"
        );
    }

    #[test]
    fn options_of_the_other_optimizer_are_rejected() {
        check(
            &GOOD.replace("learning_rate = 0.05", "learning_rate = 0.05\nbeta1 = 0.8"),
            "x.toml:23: training.beta1: only used with optimizer = \"adamw\", not \"sgd\"",
        );
    }
}
