//! The experiment file: TOML in, a validated [`ExperimentConfig`] out, or errors that name the
//! file, the line, the key and what is allowed.

use std::fmt;
use std::path::{Path, PathBuf};

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
    /// Where the data come from.
    pub source: DataSource,
    /// Share of each class of the training data held out for validation, in [0, 1).
    #[serde(default = "default_validation_fraction")]
    pub validation_fraction: f64,
    /// Share of each class held out for testing, in (0, 1); default 0.2. Not allowed for sources
    /// with their own test split (`idx`, `cifar10`, `cifar100`).
    #[serde(default)]
    pub test_fraction: Option<f64>,
    /// Seed of the split; by default derived from the experiment seed.
    #[serde(default)]
    pub split_seed: Option<u64>,
    /// Keep only this many training samples (stratified), for quick experiments on large sets.
    #[serde(default)]
    pub train_subset: Option<usize>,
    /// `idx`, `cifar10`, `cifar100`, `image-folder`: the folder; `csv`: the file. Relative paths
    /// are relative to the current folder.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// `idx`: training images file, instead of the standard name in `path`.
    #[serde(default)]
    pub train_images: Option<PathBuf>,
    /// `idx`: training labels file.
    #[serde(default)]
    pub train_labels: Option<PathBuf>,
    /// `idx`: test images file.
    #[serde(default)]
    pub test_images: Option<PathBuf>,
    /// `idx`: test labels file.
    #[serde(default)]
    pub test_labels: Option<PathBuf>,
    /// `cifar100`: `coarse` (20 classes) or `fine` (100 classes, the default).
    #[serde(default)]
    pub labels: Option<Cifar100LabelsName>,
    /// `csv`: the name of the label column.
    #[serde(default)]
    pub label_column: Option<String>,
    /// `image-folder`: `[width, height]` every image is resized to.
    #[serde(default)]
    pub image_size: Option<[u32; 2]>,
    /// `image-folder`: convert images to one grey channel (default false: RGB).
    #[serde(default)]
    pub grayscale: Option<bool>,
    /// blobs and idx: number of classes (idx default 10).
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

/// The test share for sources without their own test split, when the file does not say.
pub const DEFAULT_TEST_FRACTION: f64 = 0.2;

/// A data source name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DataSource {
    /// The bundled UCI 8×8 digits.
    Digits,
    /// A seeded Gaussian mixture.
    Blobs,
    /// MNIST-format IDX files (MNIST, Fashion-MNIST, KMNIST, EMNIST), raw or gzip.
    Idx,
    /// The CIFAR-10 binary version.
    Cifar10,
    /// The CIFAR-100 binary version.
    Cifar100,
    /// A CSV table with a header and a label column.
    Csv,
    /// `root/<class>/*.png|jpg` images.
    ImageFolder,
}

impl DataSource {
    /// Whether the source comes with its own test split.
    pub fn has_test_split(self) -> bool {
        matches!(
            self,
            DataSource::Idx | DataSource::Cifar10 | DataSource::Cifar100
        )
    }

    /// The name used in the TOML file.
    pub fn name(self) -> &'static str {
        match self {
            DataSource::Digits => "digits",
            DataSource::Blobs => "blobs",
            DataSource::Idx => "idx",
            DataSource::Cifar10 => "cifar10",
            DataSource::Cifar100 => "cifar100",
            DataSource::Csv => "csv",
            DataSource::ImageFolder => "image-folder",
        }
    }
}

/// Which CIFAR-100 labels to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cifar100LabelsName {
    /// The 20 superclasses.
    Coarse,
    /// The 100 classes.
    Fine,
}

impl DataConfig {
    /// The test share in effect (none for sources with their own test split).
    pub fn test_fraction(&self) -> Option<f64> {
        if self.source.has_test_split() {
            None
        } else {
            Some(self.test_fraction.unwrap_or(DEFAULT_TEST_FRACTION))
        }
    }
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
    /// Hidden widths of the MLP, each ≥ 1 (only for `mlp`).
    #[serde(default)]
    pub hidden: Vec<usize>,
    /// Output channels of the CNN's two convolutions, each ≥ 1 (only for `cnn`; default [16, 32]).
    #[serde(default)]
    pub channels: Option<[usize; 2]>,
}

/// A model name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKindName {
    /// Logistic regression.
    Logistic,
    /// Multi-layer perceptron.
    Mlp,
    /// Two conv–ReLU–pool blocks and a linear head (image data only).
    Cnn,
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
            ModelKindName::Cnn => trainer::ModelKind::Cnn {
                channels: self.channels.unwrap_or(DEFAULT_CNN_CHANNELS),
            },
        }
    }
}

/// CNN channel counts when the file does not say.
pub const DEFAULT_CNN_CHANNELS: [usize; 2] = [16, 32];

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
            // A span covering the whole file (a missing top-level key) points at no key.
            key: error
                .span()
                .filter(|span| !(span.start == 0 && span.end >= text.trim_end().len()))
                .and_then(|span| key_at(text, span.start)),
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
    let source = data.source;
    if let Some(test_fraction) = data.test_fraction {
        if source.has_test_split() {
            problem(
                "data.test_fraction",
                format!(
                    "not used: source = \"{}\" has its own test split",
                    source.name()
                ),
            );
        } else if !(test_fraction > 0.0 && test_fraction < 1.0) {
            problem(
                "data.test_fraction",
                format!("{test_fraction} is outside (0, 1)"),
            );
        }
    }
    let test_fraction = data.test_fraction().unwrap_or(0.0);
    if !(0.0..1.0).contains(&data.validation_fraction)
        || data.validation_fraction + test_fraction >= 1.0
    {
        problem(
            "data.validation_fraction",
            format!(
                "{} is not allowed: a share in [0, 1) that with test_fraction ({test_fraction}) leaves training data",
                data.validation_fraction
            ),
        );
    }
    if data.train_subset == Some(0) {
        problem(
            "data.train_subset",
            "0 is not allowed: at least 1 sample".into(),
        );
    }
    // Which source-specific keys each source takes.
    let source_keys: [(&str, bool, &[DataSource]); 13] = [
        (
            "path",
            data.path.is_some(),
            &[
                DataSource::Idx,
                DataSource::Cifar10,
                DataSource::Cifar100,
                DataSource::Csv,
                DataSource::ImageFolder,
            ],
        ),
        (
            "train_images",
            data.train_images.is_some(),
            &[DataSource::Idx],
        ),
        (
            "train_labels",
            data.train_labels.is_some(),
            &[DataSource::Idx],
        ),
        (
            "test_images",
            data.test_images.is_some(),
            &[DataSource::Idx],
        ),
        (
            "test_labels",
            data.test_labels.is_some(),
            &[DataSource::Idx],
        ),
        ("labels", data.labels.is_some(), &[DataSource::Cifar100]),
        (
            "label_column",
            data.label_column.is_some(),
            &[DataSource::Csv],
        ),
        (
            "image_size",
            data.image_size.is_some(),
            &[DataSource::ImageFolder],
        ),
        (
            "grayscale",
            data.grayscale.is_some(),
            &[DataSource::ImageFolder],
        ),
        (
            "n_classes",
            data.n_classes.is_some(),
            &[DataSource::Blobs, DataSource::Idx],
        ),
        (
            "n_features",
            data.n_features.is_some(),
            &[DataSource::Blobs],
        ),
        ("n_samples", data.n_samples.is_some(), &[DataSource::Blobs]),
        (
            "separation",
            data.separation.is_some(),
            &[DataSource::Blobs],
        ),
    ];
    for (key, given, sources) in source_keys {
        if given && !sources.contains(&source) {
            let names: Vec<String> = sources
                .iter()
                .map(|s| format!("\"{}\"", s.name()))
                .collect();
            problem(
                &format!("data.{key}"),
                format!(
                    "not used with source = \"{}\"; only with source = {}",
                    source.name(),
                    names.join(" or ")
                ),
            );
        }
    }
    let needs_path = matches!(
        source,
        DataSource::Cifar10 | DataSource::Cifar100 | DataSource::Csv | DataSource::ImageFolder
    ) || (source == DataSource::Idx
        && [
            &data.train_images,
            &data.train_labels,
            &data.test_images,
            &data.test_labels,
        ]
        .iter()
        .any(|file| file.is_none()));
    if needs_path && data.path.is_none() {
        problem(
            "data.path",
            format!(
                "missing: source = \"{}\" needs the folder (or, for csv, the file) to read",
                source.name()
            ),
        );
    }
    if source == DataSource::Csv && data.label_column.is_none() {
        problem(
            "data.label_column",
            "missing: source = \"csv\" needs the name of the label column".into(),
        );
    }
    if source == DataSource::ImageFolder {
        match data.image_size {
            None => problem(
                "data.image_size",
                "missing: source = \"image-folder\" needs [width, height], e.g. [32, 32]".into(),
            ),
            Some(size) if size.contains(&0) => problem(
                "data.image_size",
                format!("{size:?} is not allowed: width and height ≥ 1"),
            ),
            _ => {}
        }
    }
    if source == DataSource::Blobs {
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
    if source == DataSource::Idx && data.n_classes.is_some_and(|k| k < 2) {
        problem("data.n_classes", "must be at least 2".into());
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

    if config.model.kind != ModelKindName::Cnn && config.model.channels.is_some() {
        problem("model.channels", "only used with kind = \"cnn\"".into());
    }
    if config.model.channels.is_some_and(|c| c.contains(&0)) {
        problem(
            "model.channels",
            "0 is not allowed: a channel count is at least 1".into(),
        );
    }
    if config.model.kind == ModelKindName::Cnn
        && matches!(source, DataSource::Blobs | DataSource::Csv)
    {
        problem(
            "model.kind",
            format!(
                "\"cnn\" needs image data; source = \"{}\" is a table",
                source.name()
            ),
        );
    }
    match config.model.kind {
        ModelKindName::Logistic | ModelKindName::Cnn if !config.model.hidden.is_empty() => problem(
            "model.hidden",
            "only used with kind = \"mlp\"; remove it or use kind = \"mlp\"".into(),
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

/// The dotted key (such as `training.batch_size` or `noise.rates[1]`) whose key or value holds
/// byte `offset` of `text`, the innermost one; `None` outside any key.
fn key_at(text: &str, offset: usize) -> Option<String> {
    use toml::de::{DeTable, DeValue};
    fn walk(table: &DeTable<'_>, prefix: &str, offset: usize, found: &mut Option<String>) {
        for (key, value) in table.iter() {
            let name = if prefix.is_empty() {
                key.get_ref().to_string()
            } else {
                format!("{prefix}.{}", key.get_ref())
            };
            // A `[table]`'s span is its header only, so its keys are searched whatever it holds.
            if let DeValue::Table(inner) = value.get_ref() {
                if key.span().contains(&offset) {
                    *found = Some(name.clone());
                }
                walk(inner, &name, offset, found);
                continue;
            }
            if !(key.span().contains(&offset) || value.span().contains(&offset)) {
                continue;
            }
            *found = Some(name.clone());
            if let DeValue::Array(items) = value.get_ref() {
                for (index, item) in items.iter().enumerate() {
                    if item.span().contains(&offset) {
                        let element = format!("{name}[{index}]");
                        *found = Some(element.clone());
                        if let DeValue::Table(inner) = item.get_ref() {
                            walk(inner, &element, offset, found);
                        }
                    }
                }
            }
        }
    }
    let document = DeTable::parse(text).ok()?;
    let mut found = None;
    walk(document.get_ref(), "", offset, &mut found);
    found
}

/// The line of the value at a dotted key such as `noise.rates[2]`; for a key the file lacks, the
/// line of the table it belongs in.
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
        // A missing key (a required one left out) is located at its table.
        let Some((_, value)) = table.iter().find(|(k, _)| k.get_ref().as_ref() == name) else {
            break;
        };
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
            error.starts_with(
                "x.toml:20: training.epoch_count: unknown field `epoch_count`, expected one of"
            ),
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
            error.starts_with("x.toml:8: noise.model: unknown variant `asymmetric`"),
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
            error.starts_with("x.toml:20: training.batch_size: invalid type: string"),
            "{error}"
        );
    }

    /// One case per class of configuration error: the whole message, with file, line, key, the
    /// value and what is allowed.
    #[test]
    fn every_error_class_has_a_precise_message() {
        let cases = [
            // An unknown key.
            (
                GOOD.replace("hidden = [16]", "hidden = [16]\nwidth = 3"),
                "x.toml:17: model.width: unknown field `width`, expected one of `kind`, `hidden`, `channels`",
            ),
            // A wrong type.
            (
                GOOD.replace("epochs = 2", "epochs = 2.5"),
                "x.toml:19: training.epochs: invalid type: floating point `2.5`, expected usize",
            ),
            (
                GOOD.replace("rates = [0.0, 0.4]", "rates = 0.4"),
                "x.toml:9: noise.rates: invalid type: floating point `0.4`, expected a sequence",
            ),
            // A noise rate outside [0, 1].
            (
                GOOD.replace("rates = [0.0, 0.4]", "rates = [-0.1, 0.4]"),
                "x.toml:9: noise.rates[0]: -0.1 is outside [0, 1]: a noise rate is a probability in [0, 1]",
            ),
            // ε outside the loss's range.
            (
                GOOD.replace("epsilons = [0.0, 0.1]", "epsilons = [0.0, 1.1]"),
                "x.toml:12: targets.epsilons[1]: 1.1 is outside [0, 1]: label smoothing ε must be in [0, 1]",
            ),
            // Zero epochs, batch size 0.
            (
                GOOD.replace("epochs = 2", "epochs = 0"),
                "x.toml:19: training.epochs: 0 is not allowed: at least 1",
            ),
            (
                GOOD.replace("batch_size = 32", "batch_size = 0"),
                "x.toml:20: training.batch_size: 0 is not allowed: at least 1",
            ),
            // Empty grids.
            (
                GOOD.replace("epsilons = [0.0, 0.1]", "epsilons = []"),
                "x.toml:12: targets.epsilons: the list is empty: give at least one value",
            ),
            (
                GOOD.replace("seeds = 2", "seeds = 0"),
                "x.toml:2: seeds: 0 is not allowed: at least 1 seed",
            ),
            // Duplicate grid values.
            (
                GOOD.replace("rates = [0.0, 0.4]", "rates = [0.4, 0.0, 0.4]"),
                "x.toml:9: noise.rates[2]: 0.4 appears twice: each grid value once",
            ),
        ];
        for (text, expected) in &cases {
            check(text, expected);
        }
    }

    #[test]
    fn every_shipped_experiment_file_is_valid() {
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
        let mut n_files = 0;
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                load(&path).unwrap_or_else(|e| panic!("{e}"));
                n_files += 1;
            }
        }
        assert!(n_files >= 5, "found {n_files} experiment files");
    }

    #[test]
    fn source_specific_keys_are_checked() {
        let with_data = |data: &str| GOOD.replace("source = \"digits\"", data);
        check(
            &with_data("source = \"csv\""),
            "x.toml:4: data.path: missing: source = \"csv\" needs the folder (or, for csv, the file) to read\n\
             x.toml:4: data.label_column: missing: source = \"csv\" needs the name of the label column",
        );
        check(
            &with_data("source = \"idx\"\npath = \"m\"\ntest_fraction = 0.3"),
            "x.toml:7: data.test_fraction: not used: source = \"idx\" has its own test split",
        );
        check(
            &with_data("source = \"digits\"\nlabel_column = \"y\""),
            "x.toml:6: data.label_column: not used with source = \"digits\"; only with source = \"csv\"",
        );
        check(
            &with_data("source = \"image-folder\"\npath = \"p\"\nimage_size = [0, 8]"),
            "x.toml:7: data.image_size: [0, 8] is not allowed: width and height ≥ 1",
        );
        check(
            &GOOD.replace(
                "kind = \"mlp\"\nhidden = [16]",
                "kind = \"cnn\"\nhidden = [16]",
            ),
            "x.toml:16: model.hidden: only used with kind = \"mlp\"; remove it or use kind = \"mlp\"",
        );
        let cnn_on_table = with_data("source = \"blobs\"")
            .replace("kind = \"mlp\"\nhidden = [16]", "kind = \"cnn\"");
        check(
            &cnn_on_table,
            "x.toml:15: model.kind: \"cnn\" needs image data; source = \"blobs\" is a table",
        );
        let config = parse(
            &with_data("source = \"idx\"\npath = \"data/mnist\"\ntrain_subset = 100"),
            "x.toml",
        )
        .unwrap();
        assert_eq!(config.data.test_fraction(), None);
        assert_eq!(config.data.train_subset, Some(100));
    }

    #[test]
    fn options_of_the_other_optimizer_are_rejected() {
        check(
            &GOOD.replace("learning_rate = 0.05", "learning_rate = 0.05\nbeta1 = 0.8"),
            "x.toml:23: training.beta1: only used with optimizer = \"adamw\", not \"sgd\"",
        );
    }

    /// A time-bounded mutation fuzzer over the shipped experiment files: whatever the text,
    /// `parse` returns a configuration or an error, never panics, and an error always names the
    /// file. `LABELNOISE_FUZZ_SECONDS` sets the budget (default 8 s); the executions are printed.
    #[test]
    fn the_parser_never_panics_on_mutated_files() {
        use rand::{RngExt, SeedableRng};
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
        let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "toml"))
            .map(|path| std::fs::read(path).unwrap())
            .collect();
        seeds.sort();
        seeds.push(GOOD.as_bytes().to_vec());
        let budget = std::env::var("LABELNOISE_FUZZ_SECONDS")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(8.0);
        // Fragments that reach the validator's corners: huge and odd numbers, wrong types,
        // repeated tables, inline tables, unicode and control characters.
        const FRAGMENTS: [&str; 22] = [
            "=",
            "[",
            "]",
            "\"",
            "'",
            ",",
            "\n",
            "[[noise]]\n",
            "[training]\n",
            "{ a = 1 }",
            "nan",
            "inf",
            "-inf",
            "1e309",
            "-0.0",
            "18446744073709551616",
            "-1",
            "0",
            "\u{0}",
            "ε",
            "\"\"\"",
            "# comment\n",
        ];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let started = std::time::Instant::now();
        let (mut executions, mut accepted) = (0u64, 0u64);
        while started.elapsed().as_secs_f64() < budget {
            let mut bytes = seeds[rng.random_range(0..seeds.len())].clone();
            for _ in 0..rng.random_range(1..6) {
                let at = rng.random_range(0..=bytes.len());
                match rng.random_range(0..5) {
                    0 if !bytes.is_empty() => {
                        let at = at.min(bytes.len() - 1);
                        bytes[at] = rng.random::<u8>();
                    }
                    1 => {
                        let end = (at + rng.random_range(0..40)).min(bytes.len());
                        bytes.drain(at..end);
                    }
                    2 => {
                        let fragment = FRAGMENTS[rng.random_range(0..FRAGMENTS.len())];
                        bytes.splice(at..at, fragment.bytes());
                    }
                    3 => bytes.truncate(at),
                    _ => {
                        let end = (at + rng.random_range(0..60)).min(bytes.len());
                        let chunk = bytes[at..end].to_vec();
                        let to = rng.random_range(0..=bytes.len());
                        bytes.splice(to..to, chunk);
                    }
                }
            }
            let text = String::from_utf8_lossy(&bytes);
            let outcome = std::panic::catch_unwind(|| parse(&text, "fuzz.toml"));
            match outcome {
                Ok(Ok(_)) => accepted += 1,
                Ok(Err(error)) => assert!(error.to_string().starts_with("fuzz.toml"), "{error}"),
                Err(_) => panic!("parse panicked on:\n{text}"),
            }
            executions += 1;
        }
        eprintln!(
            "fuzz config parser: {executions} executions in {budget} s, {accepted} accepted, 0 panics"
        );
        assert!(executions > 0);
    }
}
