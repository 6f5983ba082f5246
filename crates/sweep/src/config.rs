//! The experiment file: TOML in, a validated [`ExperimentConfig`] out, or errors that name the
//! file, the line, the key and what is allowed.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A whole experiment, as written in its TOML file (keys that are not `Option`s filled in with
/// their defaults by the parser). Its hash identifies the configuration; [`resolved`] fills in
/// every remaining default for `manifest.json`.
///
/// [`resolved`]: ExperimentConfig::resolved
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
    /// The dotted keys (`training.nesterov`) the file left out and [`ExperimentConfig::resolved`]
    /// filled in with their defaults; empty for a configuration as written. Not a key of the
    /// experiment file: only the resolved configuration in `manifest.json` holds it, so that
    /// [`ExperimentConfig::as_written`] can undo the resolution (run ids are hashes of the
    /// configuration as written). Left out of the JSON when empty, so hashes of configurations as
    /// written are those of the versions before it existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filled_defaults: Vec<String>,
    /// The file the configuration was read from, for locating keys in later messages.
    #[serde(skip)]
    pub origin: Origin,
}

/// Where a configuration was read from: its file name and text. Never serialised, and equal to
/// every other origin, so it takes no part in hashes or comparisons of configurations.
#[derive(Clone, Default)]
pub struct Origin(Option<Arc<(String, String)>>);

impl Origin {
    /// The origin of `text`, read from `file`.
    fn new(file: &str, text: &str) -> Origin {
        Origin(Some(Arc::new((file.to_string(), text.to_string()))))
    }

    /// The file name, or a stand-in for a configuration that was not read from a file.
    fn file(&self) -> &str {
        self.0
            .as_ref()
            .map_or("the experiment file", |origin| origin.0.as_str())
    }

    /// The 1-based line of the value at a dotted key, when the text is known and holds it.
    fn line_of(&self, key: &str) -> Option<usize> {
        self.0.as_ref().and_then(|origin| locate(&origin.1, key))
    }
}

impl PartialEq for Origin {
    fn eq(&self, _: &Origin) -> bool {
        true
    }
}

impl fmt::Debug for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Origin({:?})", self.file())
    }
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
    /// Share of each class held out for validation, in [0, 1): `round(validation_fraction · n_c)`
    /// of the n_c samples of class c in the data the split is drawn from, which is the whole data
    /// set for sources without a test split of their own (test and validation are then carved
    /// from the same pool, so with the default shares 70% is left for training) and the source's
    /// training set for those with one. Taken before `train_subset`.
    #[serde(default = "default_validation_fraction")]
    pub validation_fraction: f64,
    /// Share of each class held out for testing, in (0, 1); default 0.2. Not allowed for sources
    /// with their own test split (`idx`, `cifar10`, `cifar100`, and an `image-folder` with
    /// `test_path` or with `train/` and `test/` sub-folders).
    #[serde(default)]
    pub test_fraction: Option<f64>,
    /// Seed of the split; by default derived from the experiment seed.
    #[serde(default)]
    pub split_seed: Option<u64>,
    /// Keep only this many training samples (stratified), for quick experiments on large sets;
    /// at most the number of training samples there are. Default: all.
    #[serde(default)]
    pub train_subset: Option<usize>,
    /// Keep only this many validation samples (stratified), so that a quick experiment does not
    /// evaluate a large validation split every epoch; at most the number there are. Default: all.
    /// Left out of the JSON (and so of run ids) when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_subset: Option<usize>,
    /// `idx`, `cifar10`, `cifar100`, `image-folder`: the folder; `csv`: the file. Relative paths
    /// are relative to the current folder.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// `image-folder`: a folder of test images (`<class>/<image>`, the same classes as `path`)
    /// to test on instead of a share of `path`. Left out of the JSON when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_path: Option<PathBuf>,
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
    /// The test share in effect as far as the file tells: none for sources with their own test
    /// split and for an image folder with `test_path`. (An image folder whose `path` holds
    /// `train/` and `test/` sub-folders has its own split too; only the folder tells that.)
    pub fn test_fraction(&self) -> Option<f64> {
        if self.source.has_test_split() || self.test_path.is_some() {
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
                momentum: self.momentum.unwrap_or(DEFAULT_MOMENTUM),
                nesterov: self.nesterov.unwrap_or(false),
                weight_decay: self.weight_decay,
            },
            OptimizerName::Adamw => trainer::OptimizerParams::AdamW {
                learning_rate: self.learning_rate,
                beta1: self.beta1.unwrap_or(DEFAULT_BETA1),
                beta2: self.beta2.unwrap_or(DEFAULT_BETA2),
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
/// SGD momentum when the file does not say.
pub const DEFAULT_MOMENTUM: f64 = 0.9;
/// AdamW β1 when the file does not say.
pub const DEFAULT_BETA1: f64 = 0.9;
/// AdamW β2 when the file does not say.
pub const DEFAULT_BETA2: f64 = 0.999;
/// Number of classes of `idx` when the file does not say.
pub const IDX_DEFAULT_CLASSES: usize = 10;

impl ExperimentConfig {
    /// The configuration with every default filled in, as a sweep uses it: what `manifest.json`
    /// records. Each `Option` the file left out that applies to the source, model and optimiser
    /// gets its value (the test share, the derived split seed, the blobs parameters, the idx
    /// class count and the files found in `path`, the CIFAR-100 labels, `grayscale`, the CNN
    /// channels, momentum and Nesterov or the AdamW betas), and [`filled_defaults`] lists the
    /// keys so filled. Keys that do not apply stay `None`, as do `train_subset` and
    /// `validation_subset` when left out (they mean all samples). Run ids and `config_hash` are
    /// hashes of the configuration as written, which [`as_written`] recovers, so resolving
    /// changes neither.
    ///
    /// An image folder is looked at (whether `path` holds `train/` and `test/`), and the
    /// standard idx files are looked for, so the result depends on the files present.
    ///
    /// [`filled_defaults`]: ExperimentConfig::filled_defaults
    /// [`as_written`]: ExperimentConfig::as_written
    pub fn resolved(&self) -> ExperimentConfig {
        fn fill<T>(slot: &mut Option<T>, value: T, key: &str, filled: &mut Vec<String>) {
            if slot.is_none() {
                *slot = Some(value);
                filled.push(key.to_string());
            }
        }
        let mut config = self.as_written();
        let mut filled = Vec::new();
        let split_seed = crate::hashing::derive_seed(config.seed, "split");
        let data = &mut config.data;
        let source = data.source;
        let own_test_split = source.has_test_split()
            || data.test_path.is_some()
            || (source == DataSource::ImageFolder
                && data
                    .path
                    .as_deref()
                    .is_some_and(|path| data::find_image_folder_split(path).is_some()));
        if !own_test_split {
            fill(
                &mut data.test_fraction,
                DEFAULT_TEST_FRACTION,
                "data.test_fraction",
                &mut filled,
            );
        }
        fill(
            &mut data.split_seed,
            split_seed,
            "data.split_seed",
            &mut filled,
        );
        match source {
            DataSource::Blobs => {
                let defaults = data::BlobsParams::default();
                fill(
                    &mut data.n_classes,
                    BLOBS_DEFAULT_CLASSES,
                    "data.n_classes",
                    &mut filled,
                );
                fill(
                    &mut data.n_features,
                    defaults.n_features,
                    "data.n_features",
                    &mut filled,
                );
                fill(
                    &mut data.n_samples,
                    defaults.n_samples,
                    "data.n_samples",
                    &mut filled,
                );
                fill(
                    &mut data.separation,
                    defaults.separation,
                    "data.separation",
                    &mut filled,
                );
            }
            DataSource::Idx => {
                fill(
                    &mut data.n_classes,
                    IDX_DEFAULT_CLASSES,
                    "data.n_classes",
                    &mut filled,
                );
                let files = data
                    .path
                    .as_deref()
                    .and_then(|path| data::find_idx_files(path).ok());
                if let Some(files) = files {
                    fill(
                        &mut data.train_images,
                        files.train_images,
                        "data.train_images",
                        &mut filled,
                    );
                    fill(
                        &mut data.train_labels,
                        files.train_labels,
                        "data.train_labels",
                        &mut filled,
                    );
                    fill(
                        &mut data.test_images,
                        files.test_images,
                        "data.test_images",
                        &mut filled,
                    );
                    fill(
                        &mut data.test_labels,
                        files.test_labels,
                        "data.test_labels",
                        &mut filled,
                    );
                }
            }
            DataSource::Cifar100 => fill(
                &mut data.labels,
                Cifar100LabelsName::Fine,
                "data.labels",
                &mut filled,
            ),
            DataSource::ImageFolder => {
                fill(&mut data.grayscale, false, "data.grayscale", &mut filled);
            }
            DataSource::Digits | DataSource::Cifar10 | DataSource::Csv => {}
        }
        if config.model.kind == ModelKindName::Cnn {
            fill(
                &mut config.model.channels,
                DEFAULT_CNN_CHANNELS,
                "model.channels",
                &mut filled,
            );
        }
        let training = &mut config.training;
        match training.optimizer {
            OptimizerName::Sgd => {
                fill(
                    &mut training.momentum,
                    DEFAULT_MOMENTUM,
                    "training.momentum",
                    &mut filled,
                );
                fill(
                    &mut training.nesterov,
                    false,
                    "training.nesterov",
                    &mut filled,
                );
            }
            OptimizerName::Adamw => {
                fill(
                    &mut training.beta1,
                    DEFAULT_BETA1,
                    "training.beta1",
                    &mut filled,
                );
                fill(
                    &mut training.beta2,
                    DEFAULT_BETA2,
                    "training.beta2",
                    &mut filled,
                );
            }
        }
        config.filled_defaults = filled;
        config
    }

    /// The configuration as its file wrote it: [`resolved`](ExperimentConfig::resolved) undone,
    /// every key of [`filled_defaults`](ExperimentConfig::filled_defaults) set back to `None`.
    /// A configuration as written is returned unchanged.
    pub fn as_written(&self) -> ExperimentConfig {
        let mut config = self.clone();
        for key in std::mem::take(&mut config.filled_defaults) {
            let (data, model, training) =
                (&mut config.data, &mut config.model, &mut config.training);
            match key.as_str() {
                "data.test_fraction" => data.test_fraction = None,
                "data.split_seed" => data.split_seed = None,
                "data.n_classes" => data.n_classes = None,
                "data.n_features" => data.n_features = None,
                "data.n_samples" => data.n_samples = None,
                "data.separation" => data.separation = None,
                "data.train_images" => data.train_images = None,
                "data.train_labels" => data.train_labels = None,
                "data.test_images" => data.test_images = None,
                "data.test_labels" => data.test_labels = None,
                "data.labels" => data.labels = None,
                "data.grayscale" => data.grayscale = None,
                "model.channels" => model.channels = None,
                "training.momentum" => training.momentum = None,
                "training.nesterov" => training.nesterov = None,
                "training.beta1" => training.beta1 = None,
                "training.beta2" => training.beta2 = None,
                // Written by a later version: nothing this one fills in.
                _ => {}
            }
        }
        config
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
    let mut config: ExperimentConfig = toml::from_str(text).map_err(|error| ConfigError {
        file: file.into(),
        problems: vec![ConfigProblem {
            line: error.span().map(|span| line_of(text, span.start)),
            // A span covering the whole file (a missing top-level key) points at no key.
            key: error
                .span()
                .filter(|span| !(span.start == 0 && span.end >= text.trim_end().len()))
                .and_then(|span| key_at(text, span.start)),
            message: plain_type_names(error.message().trim()).replace('\n', " "),
        }],
    })?;
    // The one field of the struct that is no key of the file (see `filled_defaults`).
    if let Some(line) = locate(text, "filled_defaults") {
        return Err(ConfigError {
            file: file.into(),
            problems: vec![ConfigProblem {
                line: Some(line),
                key: Some("filled_defaults".into()),
                message: "unknown field `filled_defaults`, expected one of `name`, `seed`, `seeds`, `data`, `noise`, `targets`, `model`, `training`".into(),
            }],
        });
    }
    config.origin = Origin::new(file, text);
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

/// The parser's messages with Rust's type names (`expected usize`) in plain words (`expected a
/// non-negative integer`); other messages are returned unchanged.
fn plain_type_names(message: &str) -> String {
    let Some((found, expected)) = message.rsplit_once(", expected ") else {
        return message.to_string();
    };
    let plain = match expected {
        "usize" | "u64" => "a non-negative integer".to_string(),
        "u32" => format!("a non-negative integer up to {}", u32::MAX),
        "u16" => format!("a non-negative integer up to {}", u16::MAX),
        "u8" => format!("a non-negative integer up to {}", u8::MAX),
        "isize" | "i64" | "i32" | "i16" | "i8" => "an integer".to_string(),
        "f64" | "f32" => "a number".to_string(),
        "a boolean" | "bool" => "true or false".to_string(),
        "a string" | "path string" => "a string in quotes".to_string(),
        "a sequence" => "a list in brackets, such as [1, 2]".to_string(),
        other => match other
            .strip_prefix("an array of length ")
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(1) => "a list of 1 value".to_string(),
            Some(n) => format!("a list of {n} values"),
            None if other.starts_with("struct ") => "a table".to_string(),
            None => return message.to_string(),
        },
    };
    // An integer too large for any integer type is reported as an `i128`.
    let found = found
        .strip_suffix(" as i128")
        .map(|number| number.replacen("invalid type:", "invalid value:", 1))
        .unwrap_or_else(|| found.to_string());
    format!("{found}, expected {plain}")
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
        } else if data.test_path.is_some() && source == DataSource::ImageFolder {
            problem(
                "data.test_fraction",
                "not used: the test images come from data.test_path".into(),
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
    match data.validation_subset {
        Some(0) => problem(
            "data.validation_subset",
            "0 is not allowed: at least 1 sample (for no validation split, set validation_fraction = 0)"
                .into(),
        ),
        Some(_) if data.validation_fraction == 0.0 => problem(
            "data.validation_subset",
            "not used: validation_fraction = 0 leaves no validation split to take a subset of"
                .into(),
        ),
        _ => {}
    }
    // Which source-specific keys each source takes.
    let source_keys: [(&str, bool, &[DataSource]); 14] = [
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
            "test_path",
            data.test_path.is_some(),
            &[DataSource::ImageFolder],
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
    // Without noise the rate changes nothing: every rate would train the same runs, and a rate
    // other than 0 would be reported for labels that are all clean.
    if config.noise.model == NoiseModelName::None
        && !config.noise.rates.is_empty()
        && config.noise.rates != [0.0]
    {
        problem(
            "noise.rates",
            format!(
                "{} is not allowed with noise.model = \"none\": no label is flipped at any rate, so give the single rate rates = [0]",
                list(&config.noise.rates)
            ),
        );
    }
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
        && source == DataSource::ImageFolder
        && let Some(size) = data.image_size
        && size
            .iter()
            .any(|&side| (1..MIN_CNN_SIDE as u32).contains(&side))
    {
        problem(
            "data.image_size",
            format!(
                "{size:?} is too small for model.kind = \"cnn\": its two 2×2 max-pools need images of at least {MIN_CNN_SIDE}×{MIN_CNN_SIDE} pixels"
            ),
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

/// The smallest height and width of an image the CNN takes: two 2×2 max-pools must leave at
/// least one pixel.
pub const MIN_CNN_SIDE: usize = 4;

/// A list of grid values as the file would write it: `[0, 0.2]`.
fn list(values: &[f64]) -> String {
    let values: Vec<String> = values.iter().map(f64::to_string).collect();
    format!("[{}]", values.join(", "))
}

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
                NoiseModelName::None => continue,
            };
            found.push((format!("noise.rates[{index}]"), reason));
        }
        for (index, &epsilon) in self.targets.epsilons.iter().enumerate() {
            if epsilon == 1.0 {
                found.push((
                    format!("targets.epsilons[{index}]"),
                    "ε = 1 makes every target the uniform distribution 1/K whatever the label, so these runs' targets carry no label information".into(),
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
        NoiseModelName::None => None,
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
                "x.toml:19: training.epochs: invalid type: floating point `2.5`, expected a non-negative integer",
            ),
            (
                GOOD.replace("rates = [0.0, 0.4]", "rates = 0.4"),
                "x.toml:9: noise.rates: invalid type: floating point `0.4`, expected a list in brackets, such as [1, 2]",
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

    #[test]
    fn type_errors_name_the_expected_type_in_plain_words() {
        let image_folder = |size: &str| {
            GOOD.replace(
                "source = \"digits\"",
                &format!("source = \"image-folder\"\npath = \"p\"\nimage_size = {size}"),
            )
        };
        let cases = [
            (
                GOOD.replace("epochs = 2", "epochs = -1"),
                "x.toml:19: training.epochs: invalid value: integer `-1`, expected a non-negative integer",
            ),
            (
                GOOD.replace("epochs = 2", "epochs = 18446744073709551616"),
                "x.toml:19: training.epochs: invalid value: integer `18446744073709551616`, expected a non-negative integer",
            ),
            (
                GOOD.replace("seeds = 2", "seeds = 2.5"),
                "x.toml:2: seeds: invalid type: floating point `2.5`, expected a non-negative integer",
            ),
            (
                GOOD.replace("learning_rate = 0.05", "learning_rate = \"fast\""),
                "x.toml:22: training.learning_rate: invalid type: string \"fast\", expected a number",
            ),
            (
                GOOD.replace("rates = [0.0, 0.4]", "rates = [0.0, true]"),
                "x.toml:9: noise.rates[1]: invalid type: boolean `true`, expected a number",
            ),
            (
                GOOD.replace("learning_rate = 0.05", "learning_rate = 0.05\nnesterov = 1"),
                "x.toml:23: training.nesterov: invalid type: integer `1`, expected true or false",
            ),
            (
                GOOD.replace("name = \"t\"", "name = 5"),
                "x.toml:1: name: invalid type: integer `5`, expected a string in quotes",
            ),
            (
                GOOD.replace("source = \"digits\"", "source = \"csv\"\npath = 3"),
                "x.toml:6: data.path: invalid type: integer `3`, expected a string in quotes",
            ),
            (
                image_folder("[8.5, 8]"),
                "x.toml:7: data.image_size[0]: invalid type: floating point `8.5`, expected a non-negative integer up to 4294967295",
            ),
            (
                image_folder("[8]"),
                "x.toml:7: data.image_size: invalid length 1, expected a list of 2 values",
            ),
            (
                GOOD.replace("hidden = [16]", "hidden = [16.5]"),
                "x.toml:16: model.hidden[0]: invalid type: floating point `16.5`, expected a non-negative integer",
            ),
        ];
        for (text, expected) in &cases {
            check(text, expected);
        }
        // Messages that name no Rust type are left alone.
        assert_eq!(
            plain_type_names("invalid array, expected `]`"),
            "invalid array, expected `]`"
        );
    }

    #[test]
    fn no_noise_takes_the_single_rate_zero() {
        check(
            &GOOD.replace("model = \"symmetric\"", "model = \"none\""),
            "x.toml:9: noise.rates: [0, 0.4] is not allowed with noise.model = \"none\": no label is flipped at any rate, so give the single rate rates = [0]",
        );
        check(
            &GOOD
                .replace("model = \"symmetric\"", "model = \"none\"")
                .replace("rates = [0.0, 0.4]", "rates = [0.3]"),
            "x.toml:9: noise.rates: [0.3] is not allowed with noise.model = \"none\": no label is flipped at any rate, so give the single rate rates = [0]",
        );
        let config = parse(
            &GOOD
                .replace("model = \"symmetric\"", "model = \"none\"")
                .replace("rates = [0.0, 0.4]", "rates = [0.0]"),
            "x.toml",
        )
        .unwrap();
        assert_eq!(config.noise.rates, [0.0]);
    }

    #[test]
    fn a_cnn_on_image_folders_smaller_than_4_by_4_is_refused_by_the_parser() {
        let text = GOOD
            .replace(
                "source = \"digits\"",
                "source = \"image-folder\"\npath = \"p\"\nimage_size = [3, 3]",
            )
            .replace("kind = \"mlp\"\nhidden = [16]", "kind = \"cnn\"");
        check(
            &text,
            "x.toml:7: data.image_size: [3, 3] is too small for model.kind = \"cnn\": its two 2×2 max-pools need images of at least 4×4 pixels",
        );
        assert!(parse(&text.replace("[3, 3]", "[4, 4]"), "x.toml").is_ok());
        // Other models take any size.
        assert!(
            parse(
                &text.replace("kind = \"cnn\"", "kind = \"logistic\""),
                "x.toml"
            )
            .is_ok()
        );
    }

    #[test]
    fn test_path_and_validation_subset_are_checked() {
        let folder = |extra: &str| {
            GOOD.replace(
                "source = \"digits\"",
                &format!("source = \"image-folder\"\npath = \"p\"\nimage_size = [8, 8]\n{extra}"),
            )
        };
        check(
            &folder("test_path = \"q\"\ntest_fraction = 0.3"),
            "x.toml:9: data.test_fraction: not used: the test images come from data.test_path",
        );
        let config = parse(&folder("test_path = \"q\""), "x.toml").unwrap();
        assert_eq!(config.data.test_fraction(), None);
        check(
            &GOOD.replace(
                "source = \"digits\"",
                "source = \"digits\"\ntest_path = \"q\"",
            ),
            "x.toml:6: data.test_path: not used with source = \"digits\"; only with source = \"image-folder\"",
        );
        check(
            &GOOD.replace(
                "source = \"digits\"",
                "source = \"digits\"\nvalidation_subset = 0",
            ),
            "x.toml:6: data.validation_subset: 0 is not allowed: at least 1 sample (for no validation split, set validation_fraction = 0)",
        );
        check(
            &GOOD.replace(
                "source = \"digits\"",
                "source = \"digits\"\nvalidation_fraction = 0.0\nvalidation_subset = 10",
            ),
            "x.toml:7: data.validation_subset: not used: validation_fraction = 0 leaves no validation split to take a subset of",
        );
        let config = parse(
            &GOOD.replace(
                "source = \"digits\"",
                "source = \"digits\"\nvalidation_subset = 50",
            ),
            "x.toml",
        )
        .unwrap();
        assert_eq!(config.data.validation_subset, Some(50));
    }

    #[test]
    fn filled_defaults_is_no_key_of_the_file() {
        check(
            &format!("filled_defaults = []\n{GOOD}"),
            "x.toml:1: filled_defaults: unknown field `filled_defaults`, expected one of `name`, `seed`, `seeds`, `data`, `noise`, `targets`, `model`, `training`",
        );
    }

    /// Facts of a data set of `k` classes that fits every model.
    fn facts(k: usize) -> DataFacts {
        DataFacts {
            image_shape: Some([1, 8, 8]),
            n_classes: k,
            n_train: 1000,
            n_validation: 100,
            n_test: 200,
            found_split: None,
        }
    }

    #[test]
    fn settings_that_do_not_fit_the_data_are_errors_naming_file_line_and_key() {
        let cnn = GOOD.replace("kind = \"mlp\"\nhidden = [16]", "kind = \"cnn\"");
        let idx = cnn.replace("source = \"digits\"", "source = \"idx\"\npath = \"m\"");
        let config = parse(&idx, "x.toml").unwrap();
        let tiny_images = DataFacts {
            image_shape: Some([1, 3, 3]),
            ..facts(10)
        };
        assert_eq!(
            config.check_data(&tiny_images).unwrap_err().to_string(),
            "x.toml:16: model.kind: \"cnn\" needs images of at least 4×4 pixels (its two 2×2 max-pools); the idx images are 3×3"
        );
        let no_channels = DataFacts {
            image_shape: Some([0, 8, 8]),
            ..facts(10)
        };
        assert_eq!(
            config.check_data(&no_channels).unwrap_err().to_string(),
            "x.toml:16: model.kind: \"cnn\" needs images with at least 1 channel; the idx images have 0"
        );
        let table = DataFacts {
            image_shape: None,
            ..facts(10)
        };
        assert_eq!(
            config.check_data(&table).unwrap_err().to_string(),
            "x.toml:16: model.kind: \"cnn\" needs image data; the idx data are a table"
        );
        assert_eq!(config.check_data(&facts(10)).unwrap(), Vec::<String>::new());

        let subsets = parse(
            &GOOD.replace(
                "source = \"digits\"",
                "source = \"digits\"\ntrain_subset = 5000\nvalidation_subset = 500",
            ),
            "x.toml",
        )
        .unwrap();
        assert_eq!(
            subsets.check_data(&facts(10)).unwrap_err().to_string(),
            "x.toml:6: data.train_subset: 5000 is more than the 1000 training samples available (what the test and validation splits leave); give at most 1000, or leave it out to use them all\n\
             x.toml:7: data.validation_subset: 500 is more than the 100 validation samples available; give at most 100, or leave it out to use them all"
        );
        let config = parse(GOOD, "x.toml").unwrap();
        let one_class = facts(1);
        assert_eq!(
            config.check_data(&one_class).unwrap_err().to_string(),
            "x.toml:5: data.source: the digits data hold 1 class(es); noise and training need at least 2"
        );
        let no_test = DataFacts {
            n_test: 0,
            ..facts(10)
        };
        assert_eq!(
            config.check_data(&no_test).unwrap_err().to_string(),
            "x.toml:4: data.test_fraction: 0.2 leaves the test split empty: round(0.2 · n_c) is 0 for every class c; give a larger share (or more data)"
        );
        // An image folder with train/ and test/ keeps its test split: no test_fraction.
        let folder = parse(
            &GOOD.replace(
                "source = \"digits\"",
                "source = \"image-folder\"\npath = \"p\"\nimage_size = [8, 8]\ntest_fraction = 0.3",
            ),
            "x.toml",
        )
        .unwrap();
        let split = DataFacts {
            found_split: Some(data::ImageFolderSplit {
                train: "p/train".into(),
                test: "p/test".into(),
            }),
            ..facts(2)
        };
        assert_eq!(
            folder.check_data(&split).unwrap_err().to_string(),
            "x.toml:8: data.test_fraction: not used: the image folder has its own test split (p/train and p/test)"
        );
    }

    #[test]
    fn degenerate_settings_are_warned_about_with_the_reason() {
        let with = |model: &str, rates: &str, epsilons: &str| {
            parse(
                &GOOD
                    .replace("model = \"symmetric\"", &format!("model = \"{model}\""))
                    .replace("rates = [0.0, 0.4]", &format!("rates = {rates}"))
                    .replace("epsilons = [0.0, 0.1]", &format!("epsilons = {epsilons}")),
                "x.toml",
            )
            .unwrap()
        };
        // Symmetric: the clean class stays the most likely label below (K − 1)/K.
        let config = with("symmetric", "[0.0, 0.6, 0.9, 0.95]", "[0.0, 1.0]");
        assert_eq!(
            config.check_data(&facts(10)).unwrap(),
            [
                "x.toml:9: noise.rates[2]: ρ = 0.9 ≥ (K − 1)/K = 0.9 with K = 10 classes: under symmetric noise the true class (probability 1 − ρ) is then no more likely than each other class (ρ/(K − 1)), so the noisy label is no longer the most likely one",
                "x.toml:9: noise.rates[3]: ρ = 0.95 ≥ (K − 1)/K = 0.9 with K = 10 classes: under symmetric noise the true class (probability 1 − ρ) is then no more likely than each other class (ρ/(K − 1)), so the noisy label is no longer the most likely one",
                "x.toml:12: targets.epsilons[1]: ε = 1 makes every target the uniform distribution 1/K whatever the label, so these runs' targets carry no label information",
            ]
        );
        let three = with("symmetric", "[0.6, 0.7]", "[0.0]");
        assert_eq!(
            three.check_data(&facts(3)).unwrap(),
            [
                "x.toml:9: noise.rates[1]: ρ = 0.7 ≥ (K − 1)/K = 0.6667 with K = 3 classes: under symmetric noise the true class (probability 1 − ρ) is then no more likely than each other class (ρ/(K − 1)), so the noisy label is no longer the most likely one"
            ]
        );
        // Pair-flip: at 1/2, whatever K.
        let pair = with("pair-flip", "[0.4, 0.5]", "[0.0]");
        assert_eq!(
            pair.check_data(&facts(10)).unwrap(),
            [
                "x.toml:9: noise.rates[1]: ρ = 0.5 ≥ 1/2: under pair-flip noise class c is then labelled c + 1 (probability ρ) at least as often as c (1 − ρ), so the noisy label is no longer the most likely one"
            ]
        );
        // Uniform keeps the clean class ahead (1 − ρ + ρ/K against ρ/K) until ρ = 1.
        let uniform = with("uniform", "[0.9, 1.0]", "[0.0]");
        assert_eq!(
            uniform.check_data(&facts(10)).unwrap(),
            [
                "x.toml:9: noise.rates[1]: ρ = 1 ≥ 1: under uniform noise every label is then redrawn from all K = 10 classes alike, so the noisy label is no longer the most likely one and carries no label information"
            ]
        );
        assert!(
            with("none", "[0.0]", "[0.0, 0.5]")
                .check_data(&facts(10))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn resolved_fills_every_default_and_as_written_undoes_it() {
        let config = parse(GOOD, "x.toml").unwrap();
        let resolved = config.resolved();
        assert_eq!(resolved.data.test_fraction, Some(0.2));
        assert_eq!(
            resolved.data.split_seed,
            Some(crate::hashing::derive_seed(0, "split"))
        );
        assert_eq!(resolved.training.momentum, Some(0.9));
        assert_eq!(resolved.training.nesterov, Some(false));
        assert_eq!(
            (resolved.training.beta1, resolved.training.beta2),
            (None, None)
        );
        assert_eq!(
            resolved.filled_defaults,
            [
                "data.test_fraction",
                "data.split_seed",
                "training.momentum",
                "training.nesterov"
            ]
        );
        // The optimiser the trainer gets is the same either way.
        assert_eq!(
            resolved.training.optimizer_params(),
            config.training.optimizer_params()
        );
        assert_eq!(resolved.as_written(), config);
        assert_eq!(config.as_written(), config);
        assert_eq!(resolved.resolved(), resolved);
        // Through JSON, as merge reads a manifest back.
        let json = serde_json::to_value(&resolved).unwrap();
        assert_eq!(json["data"]["test_fraction"], 0.2);
        assert_eq!(json["training"]["nesterov"], false);
        let read: ExperimentConfig = serde_json::from_value(json).unwrap();
        assert_eq!(read.as_written(), config);
        // A configuration as written serialises as before: no new keys, so `config_hash` and
        // the run ids of existing folders stay what they were.
        let json = serde_json::to_value(&config).unwrap();
        for (table, key) in [
            ("", "filled_defaults"),
            ("", "origin"),
            ("data", "validation_subset"),
            ("data", "test_path"),
        ] {
            let object = if table.is_empty() {
                &json
            } else {
                &json[table]
            };
            assert!(object.get(key).is_none(), "{table}.{key}");
        }

        // Blobs, AdamW and the CNN; a default written out explicitly is not listed.
        let other = parse(
            &GOOD
                .replace("source = \"digits\"", "source = \"blobs\"\nn_features = 4")
                .replace("kind = \"mlp\"\nhidden = [16]", "kind = \"logistic\"")
                .replace("optimizer = \"sgd\"", "optimizer = \"adamw\"\nbeta1 = 0.9"),
            "x.toml",
        )
        .unwrap();
        let resolved = other.resolved();
        assert_eq!(
            resolved.filled_defaults,
            [
                "data.test_fraction",
                "data.split_seed",
                "data.n_classes",
                "data.n_samples",
                "data.separation",
                "training.beta2"
            ]
        );
        assert_eq!(
            (
                resolved.data.n_classes,
                resolved.data.n_features,
                resolved.data.n_samples,
                resolved.data.separation,
                resolved.training.beta2
            ),
            (Some(4), Some(4), Some(800), Some(1.5), Some(0.999))
        );
        assert_eq!(resolved.as_written(), other);
        let idx = parse(
            &GOOD
                .replace(
                    "source = \"digits\"",
                    "source = \"idx\"\npath = \"no/such/folder\"",
                )
                .replace("kind = \"mlp\"\nhidden = [16]", "kind = \"cnn\""),
            "x.toml",
        )
        .unwrap()
        .resolved();
        // Its own test split: no test share. The files are not there, so their names stay out.
        assert_eq!(idx.data.test_fraction, None);
        assert_eq!(idx.data.n_classes, Some(10));
        assert_eq!(idx.data.train_images, None);
        assert_eq!(idx.model.channels, Some([16, 32]));
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
