//! The second stage of reading an experiment: the configuration as written, every default filled
//! in once, as one typed [`Experiment`] that `check`, the grid, the runs, the manifest and the
//! report all read. Nothing after this stage looks at an `Option` of the file or knows a default.

use std::path::PathBuf;

use super::schema::{
    Cifar100LabelsName, ClassRef, DataSource, ExperimentConfig, LossConfig, ModelKindName,
    NoiseModelName, OptimizerName, PresetName, ScheduleName,
};
use super::{ConfigError, DataFacts};
use crate::hashing::derive_seed;

/// Number of classes of `blobs` when the file does not say.
pub const BLOBS_DEFAULT_CLASSES: usize = 4;
/// The test share for sources without their own test split, when the file does not say.
pub const DEFAULT_TEST_FRACTION: f64 = 0.2;
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
/// The label column of `csv` when the file does not say.
pub const DEFAULT_LABEL_COLUMN: &str = "label";
/// The size image folders are resized to when the file does not say.
pub const DEFAULT_IMAGE_SIZE: [u32; 2] = [32, 32];

/// An experiment as a sweep runs it: every setting typed and every default filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    /// Folder name under `results/`.
    pub name: String,
    /// The experiment seed; every random stream is derived from it.
    pub seed: u64,
    /// Number of seeds (repetitions) per noise rate and ε.
    pub seeds: u64,
    /// The data set and its split.
    pub data: DataSettings,
    /// The noise applied to the training (and validation) labels.
    pub noise: NoiseSettings,
    /// The label-smoothing values compared, in file order.
    pub epsilons: Vec<f64>,
    /// The other target settings (`targets.losses`), in file order, every parameter filled in.
    /// Forward correction's matrix is empty here: each run fills in its noise's.
    pub losses: Vec<trainer::Loss>,
    /// The model, as the trainer builds it.
    pub model: trainer::ModelKind,
    /// The optimiser and the training loop.
    pub training: TrainingSettings,
    /// The configuration as its file wrote it: what run ids and `config_hash` are hashes of.
    written: ExperimentConfig,
    /// The configuration with every default filled in: what `manifest.json` records.
    resolved: ExperimentConfig,
}

/// The data set and how it is split.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSettings {
    /// Where the data come from, with the settings of that source.
    pub source: Source,
    /// Share of each class held out for validation, in [0, 1).
    pub validation_fraction: f64,
    /// Share of each class held out for testing; `None` for a source with its own test split.
    pub test_fraction: Option<f64>,
    /// Seed of the split (given, or derived from the experiment seed).
    pub split_seed: u64,
    /// Keep only this many training samples (stratified); `None`: all.
    pub train_subset: Option<usize>,
    /// Keep only this many validation samples (stratified); `None`: all.
    pub validation_subset: Option<usize>,
}

/// A data source with its own settings.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// The bundled UCI 8×8 digits.
    Digits,
    /// A seeded Gaussian mixture.
    Blobs(data::BlobsParams),
    /// MNIST-format IDX files.
    Idx {
        /// The folder the standard file names are looked for in.
        folder: PathBuf,
        /// Each file, given or found in `folder`; `None` when neither (reading then says which
        /// standard name is missing).
        files: [Option<PathBuf>; 4],
        /// Number of classes.
        n_classes: usize,
    },
    /// The CIFAR-10 binary version.
    Cifar10 {
        /// The folder of the batch files.
        folder: PathBuf,
    },
    /// The CIFAR-100 binary version.
    Cifar100 {
        /// The folder of the batch files.
        folder: PathBuf,
        /// Coarse or fine labels.
        labels: data::Cifar100Labels,
    },
    /// A CSV table with a header and a label column.
    Csv {
        /// The file.
        file: PathBuf,
        /// The name of the label column.
        label_column: String,
    },
    /// `root/<class>/*.png|jpg` images.
    ImageFolder {
        /// The folder given as `path`.
        root: PathBuf,
        /// Where the test images come from.
        test: ImageFolderTest,
        /// `[width, height]` every image is resized to.
        size: [u32; 2],
        /// Convert images to one grey channel.
        grayscale: bool,
    },
}

/// Where an image folder's test images come from.
#[derive(Debug, Clone, PartialEq)]
pub enum ImageFolderTest {
    /// A share of the folder's images (`test_fraction`).
    Share,
    /// The folder given as `test_path`.
    Path(PathBuf),
    /// The folder's own `train`/`test` (or `training_set`/`test_set`) sub-folders.
    Found(data::ImageFolderSplit),
}

impl Source {
    /// The source's name in the experiment file.
    pub fn name(&self) -> &'static str {
        match self {
            Source::Digits => DataSource::Digits,
            Source::Blobs(_) => DataSource::Blobs,
            Source::Idx { .. } => DataSource::Idx,
            Source::Cifar10 { .. } => DataSource::Cifar10,
            Source::Cifar100 { .. } => DataSource::Cifar100,
            Source::Csv { .. } => DataSource::Csv,
            Source::ImageFolder { .. } => DataSource::ImageFolder,
        }
        .name()
    }

    /// The synthetic data set's parameters; `None` for other sources.
    pub fn blobs(&self) -> Option<&data::BlobsParams> {
        match self {
            Source::Blobs(params) => Some(params),
            _ => None,
        }
    }
}

/// The noise process.
#[derive(Debug, Clone, PartialEq)]
pub struct NoiseSettings {
    /// The noise model's name, as in the file.
    pub model: NoiseModelName,
    /// What the noisy labels are drawn from.
    pub source: NoiseSource,
    /// Exact counts or per-sample draws.
    pub mode: noise::NoiseMode,
    /// Nominal noise rates, in file order (for `matrix` without rates: the single rate 1, the
    /// matrix as given).
    pub rates: Vec<f64>,
    /// Whether the validation split is corrupted like the training split.
    pub corrupt_validation: bool,
    /// Whether every rate of one seed is drawn from one stream, so flipped sets nest.
    pub nested: bool,
}

impl NoiseSettings {
    /// The noise model's name: the `noise_model` column.
    pub fn name(&self) -> &'static str {
        self.model.name()
    }
}

/// What a group's noisy labels are drawn from.
#[derive(Debug, Clone, PartialEq)]
pub enum NoiseSource {
    /// A built-in model of the `noise` crate: none, symmetric, uniform, pair-flip, or an
    /// asymmetric preset.
    Model(noise::NoiseModel),
    /// An asymmetric class map given as `[clean, noisy]` pairs; names are looked up in the
    /// data's class names when the noise is drawn.
    Pairs(Vec<[ClassRef; 2]>),
    /// A transition matrix, its off-diagonal mass scaled by each rate.
    Matrix(noise::TransitionMatrix),
    /// Instance-dependent noise with this σ of the per-sample flip rates.
    Instance {
        /// σ of the truncated normal the flip rates are drawn from.
        flip_rate_std: f64,
    },
    /// Noisy labels given in a file: each label set is one noise level, at the share of
    /// training labels it changes. The labels are read with the data.
    File(LabelsFile),
    /// The realised transition matrix of a file's label set on the training split, scaled by
    /// each rate and injected like a given matrix.
    Estimated(LabelsFile),
}

impl NoiseSource {
    /// The transition matrix (rows = clean class) that noise of `rate` draws the labels of data
    /// with `class_names` (`n_classes` of them) from; `Ok(None)` for noise without one
    /// (instance-dependent, or read from a file), and for `matrix_from` until its matrix is
    /// `estimated` from the labels.
    pub fn transition(
        &self,
        rate: f64,
        n_classes: usize,
        class_names: &[String],
        estimated: Option<&noise::TransitionMatrix>,
    ) -> Result<Option<noise::TransitionMatrix>, String> {
        let k = n_classes;
        let matrix = match self {
            NoiseSource::Instance { .. } | NoiseSource::File(_) => return Ok(None),
            NoiseSource::Estimated(_) => match estimated {
                Some(matrix) => matrix.scaled(rate),
                None => return Ok(None),
            },
            NoiseSource::Model(model) => model.matrix(rate, k),
            NoiseSource::Pairs(pairs) => {
                let pairs = class_pairs(pairs, class_names, k)
                    .map_err(|(_, message)| format!("noise.pairs: {message}"))?;
                noise::ClassMap::new(&pairs, k).and_then(|map| map.matrix(rate))
            }
            NoiseSource::Matrix(matrix) => matrix.scaled(rate),
        };
        matrix.map(Some).map_err(|error| error.to_string())
    }
}

/// A labels file and the label sets read from it.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelsFile {
    /// The file (a CSV with a `row` column, or a `.npy` array).
    pub path: PathBuf,
    /// The label sets: the CSV columns, or for a `.npy` file its one set, named after the file.
    pub sets: Vec<String>,
    /// Whether the file is read as a `.npy` array.
    pub npy: bool,
    /// The SHA-256 of the file's bytes, which run ids hash.
    pub digest: String,
}

impl LabelsFile {
    /// Reads the label sets, each a label per row of the source's training data. Errors name
    /// the file and what is wrong.
    pub fn read(&self) -> Result<Vec<Vec<usize>>, String> {
        let bytes = std::fs::read(&self.path)
            .map_err(|error| format!("{}: cannot read it ({error})", self.path.display()))?;
        let in_file = |error: noise::NoiseError| format!("{}: {error}", self.path.display());
        if self.npy {
            Ok(vec![noise::labels_from_npy(&bytes).map_err(in_file)?])
        } else {
            let text = String::from_utf8(bytes)
                .map_err(|_| format!("{}: not a text (UTF-8) CSV file", self.path.display()))?;
            let columns: Vec<&str> = self.sets.iter().map(String::as_str).collect();
            noise::labels_from_csv_str(&text, &columns).map_err(in_file)
        }
    }
}

impl NoiseSettings {
    /// The noise levels counted: "3 noise rates", or "2 label sets" for `file`.
    pub fn levels_counted(&self) -> String {
        match self.label_sets() {
            Some(sets) => reporter::counted(sets.len(), "label set"),
            None => reporter::counted(self.rates.len(), "noise rate"),
        }
    }

    /// The names of the noise levels when they are label sets (`file`), in file order.
    pub fn label_sets(&self) -> Option<&[String]> {
        match &self.source {
            NoiseSource::File(file) => Some(&file.sets),
            _ => None,
        }
    }
}

/// The optimiser and the training loop.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingSettings {
    /// Passes over the training split.
    pub epochs: usize,
    /// Minibatch size.
    pub batch_size: usize,
    /// Epochs of plain cross-entropy before the configured targets apply.
    pub warmup_epochs: usize,
    /// The optimiser with every hyper-parameter.
    pub optimizer: trainer::OptimizerParams,
    /// The learning-rate schedule.
    pub schedule: trainer::Schedule,
}

impl Experiment {
    /// The target axis counted: `3 ε`, or with `targets.losses` `10 target settings (4 ε, 6
    /// losses built for label noise)`, where the ε count includes the other smoothing
    /// convention's.
    pub fn targets_counted(&self) -> String {
        if self.losses.is_empty() {
            return format!("{} ε", self.epsilons.len());
        }
        let smoothing = self
            .losses
            .iter()
            .filter(|loss| matches!(loss, trainer::Loss::LabelSmoothing(_)))
            .count();
        let robust = self.losses.len() - smoothing;
        if robust == 0 {
            return format!("{} ε", self.epsilons.len() + smoothing);
        }
        format!(
            "{} ({} ε, {} built for label noise)",
            reporter::counted(self.epsilons.len() + self.losses.len(), "target setting"),
            self.epsilons.len() + smoothing,
            if robust == 1 {
                "1 loss".to_string()
            } else {
                format!("{robust} losses")
            }
        )
    }

    /// The configuration as its file wrote it: run ids and `config_hash` hash it.
    pub fn written(&self) -> &ExperimentConfig {
        &self.written
    }

    /// The configuration with every default filled in and [`ExperimentConfig::filled_defaults`]
    /// naming the keys so filled: what `manifest.json` records.
    pub fn resolved(&self) -> &ExperimentConfig {
        &self.resolved
    }

    /// The checks that need the data ([`ExperimentConfig::check_data`]) of this experiment, with
    /// every default filled in; the warnings, or every problem found.
    pub fn check_data(&self, facts: &DataFacts) -> Result<Vec<String>, ConfigError> {
        let noise = self.noise_problems(facts);
        match self.resolved.check_data(facts) {
            Err(mut error) => {
                error.problems.extend(self.resolved.located(noise).problems);
                Err(error)
            }
            Ok(_) if !noise.is_empty() => Err(self.resolved.located(noise)),
            Ok(mut warnings) => {
                let degenerate = match &self.noise.source {
                    NoiseSource::Matrix(matrix) => {
                        self.degenerate_matrix_rows(matrix, facts.n_classes)
                    }
                    _ => Vec::new(),
                };
                warnings.extend(
                    self.resolved
                        .located(degenerate)
                        .to_string()
                        .lines()
                        .map(String::from),
                );
                Ok(warnings)
            }
        }
    }

    /// Noise settings that do not fit the data: a preset on a data set that is not 10-class,
    /// pairs naming classes the data do not have, a matrix of another size.
    fn noise_problems(&self, facts: &DataFacts) -> Vec<(String, String)> {
        let k = facts.n_classes;
        let mut problems = Vec::new();
        match &self.noise.source {
            NoiseSource::Model(model) => {
                if let Some(required) = model.required_classes()
                    && required != k
                {
                    problems.push((
                        "noise.preset".to_string(),
                        format!(
                            "the {} class map is for {required}-class data; the {} data have {k} classes",
                            self.resolved.noise.preset.map_or("preset", PresetName::name),
                            self.data.source.name()
                        ),
                    ));
                }
            }
            NoiseSource::Pairs(pairs) if k >= 2 => {
                match class_pairs(pairs, &facts.class_names, k) {
                    Err((index, message)) => {
                        problems.push((format!("noise.pairs[{index}]"), message))
                    }
                    Ok(indices) => {
                        if let Err(error) = noise::ClassMap::new(&indices, k) {
                            problems.push(("noise.pairs".to_string(), error.to_string()));
                        }
                    }
                }
            }
            NoiseSource::Matrix(matrix) if matrix.n_classes() != k => {
                let key = if self.resolved.noise.matrix_file.is_some() {
                    "noise.matrix_file"
                } else {
                    "noise.matrix"
                };
                let n = matrix.n_classes();
                problems.push((
                    key.to_string(),
                    format!(
                        "the matrix is {n}×{n}; the {} data have {k} classes, so it must be {k}×{k}",
                        self.data.source.name()
                    ),
                ));
            }
            _ => {}
        }
        if problems.is_empty() {
            problems.extend(self.forward_problems(facts));
        }
        problems
    }

    /// Forward correction at each rate whose transition matrix it cannot use (a noisy label that
    /// never occurs: a column of T without mass), as (key, reason). The matrix of `matrix_from`
    /// is known only once the labels are read; a run at such a rate fails with the same reason.
    fn forward_problems(&self, facts: &DataFacts) -> Vec<(String, String)> {
        let k = facts.n_classes;
        let Some(index) = self
            .losses
            .iter()
            .position(|loss| matches!(loss, trainer::Loss::ForwardCorrection(_)))
        else {
            return Vec::new();
        };
        let mut problems = Vec::new();
        for &rate in &self.noise.rates {
            // A matrix that cannot be built is the noise checks' to report.
            let Ok(Some(matrix)) = self
                .noise
                .source
                .transition(rate, k, &facts.class_names, None)
            else {
                continue;
            };
            let forward = trainer::Loss::ForwardCorrection(trainer::ForwardCorrection::new(
                matrix.rows().to_vec(),
            ));
            if let Err(message) = forward.check_classes(k) {
                problems.push((
                    format!("targets.losses[{index}]"),
                    format!(
                        "forward correction cannot train at noise rate {rate}: {message}; leave that rate out or drop forward"
                    ),
                ));
            }
        }
        problems
    }

    /// For a `matrix` model, the rates at which a row no longer keeps its clean class the most
    /// likely label, as (key, reason).
    ///
    /// `matrix` is the given one, or (for `matrix_from`) the one estimated from the data.
    pub fn degenerate_matrix_rows(
        &self,
        matrix: &noise::TransitionMatrix,
        n_classes: usize,
    ) -> Vec<(String, String)> {
        let mut found = Vec::new();
        for (index, &rate) in self.noise.rates.iter().enumerate() {
            let Ok(scaled) = matrix.scaled(rate) else {
                continue;
            };
            let failing: Vec<String> = failing_rows(&scaled)
                .into_iter()
                .filter(|&c| c < n_classes)
                .map(|c| c.to_string())
                .collect();
            if failing.is_empty() {
                continue;
            }
            let noise = &self.resolved.noise;
            let key = if !noise.rates.is_empty() {
                format!("noise.rates[{index}]")
            } else if noise.matrix_from.is_some() {
                "noise.matrix_from".to_string()
            } else if noise.matrix_file.is_some() {
                "noise.matrix_file".to_string()
            } else {
                "noise.matrix".to_string()
            };
            found.push((
                key,
                format!(
                    "ρ = {rate}: in the row{} of clean class{} {} another class is at least as likely as the clean one, so for those classes the clean class is no longer the most likely label",
                    if failing.len() == 1 { "" } else { "s" },
                    if failing.len() == 1 { "" } else { "es" },
                    failing.join(", ")
                ),
            ));
        }
        found
    }

    /// The model as the report names it: "logistic regression", "MLP 64-32", "CNN 16-32".
    pub fn model_name(&self) -> String {
        match &self.model {
            trainer::ModelKind::Logistic => "logistic regression".into(),
            trainer::ModelKind::Cnn {
                channels: [first, second],
            } => format!("CNN {first}-{second}"),
            trainer::ModelKind::Mlp { hidden } => format!(
                "MLP {}",
                hidden
                    .iter()
                    .map(|w| w.to_string())
                    .collect::<Vec<_>>()
                    .join("-")
            ),
        }
    }
}

/// `slot`'s value, or `default` written into it (and `key` recorded in `filled`) when the file
/// left it out.
fn fill<T: Clone>(slot: &mut Option<T>, default: T, key: &str, filled: &mut Vec<String>) -> T {
    match slot {
        Some(value) => value.clone(),
        None => {
            filled.push(key.to_string());
            *slot = Some(default.clone());
            default
        }
    }
}

impl ExperimentConfig {
    /// The experiment as a sweep runs it: every `Option` the file left out that applies to the
    /// source, model and optimiser gets its default (the test share, the derived split seed, the
    /// blobs parameters, the idx class count and the files found in `path`, the CIFAR-100
    /// labels, the CSV label column, the image size and `grayscale`, the CNN channels, momentum
    /// and Nesterov or the AdamW betas), here and nowhere else. Keys that do not apply stay
    /// unset, as do `train_subset` and `validation_subset` when left out (they mean all
    /// samples).
    ///
    /// The resolved configuration ([`Experiment::resolved`]) lists the keys so filled in
    /// [`filled_defaults`](ExperimentConfig::filled_defaults), except the label column and the
    /// image size, which validation requires the file to give. Run ids and `config_hash` hash
    /// the configuration as written, which [`as_written`](ExperimentConfig::as_written) recovers
    /// from either form, so resolving changes neither.
    ///
    /// An image folder is looked at (whether `path` holds `train/` and `test/`), and the
    /// standard idx files are looked for, so the result depends on the files present.
    ///
    /// A resolved configuration (a manifest's) resolves to the same experiment: what it filled
    /// in is kept, not looked up again. Fails only when `noise.matrix_file` cannot be read or
    /// holds no valid matrix.
    pub fn resolve(&self) -> Result<Experiment, ConfigError> {
        let written = self.as_written();
        let mut config = self.clone();
        let mut filled = std::mem::take(&mut config.filled_defaults);
        let experiment_seed = config.seed;
        let data = &mut config.data;
        let path = data.path.clone().unwrap_or_default();
        let found_split = (data.source == DataSource::ImageFolder && data.test_path.is_none())
            .then(|| data::find_image_folder_split(&path))
            .flatten();
        let own_test_split =
            data.source.has_test_split() || data.test_path.is_some() || found_split.is_some();
        let test_fraction = (!own_test_split).then(|| {
            fill(
                &mut data.test_fraction,
                DEFAULT_TEST_FRACTION,
                "data.test_fraction",
                &mut filled,
            )
        });
        let split_seed = fill(
            &mut data.split_seed,
            derive_seed(experiment_seed, "split"),
            "data.split_seed",
            &mut filled,
        );
        let source = match data.source {
            DataSource::Digits => Source::Digits,
            DataSource::Blobs => {
                let defaults = data::BlobsParams::default();
                Source::Blobs(data::BlobsParams {
                    n_classes: fill(
                        &mut data.n_classes,
                        BLOBS_DEFAULT_CLASSES,
                        "data.n_classes",
                        &mut filled,
                    ),
                    n_features: fill(
                        &mut data.n_features,
                        defaults.n_features,
                        "data.n_features",
                        &mut filled,
                    ),
                    n_samples: fill(
                        &mut data.n_samples,
                        defaults.n_samples,
                        "data.n_samples",
                        &mut filled,
                    ),
                    separation: fill(
                        &mut data.separation,
                        defaults.separation,
                        "data.separation",
                        &mut filled,
                    ),
                    seed: derive_seed(experiment_seed, "blobs"),
                })
            }
            DataSource::Idx => {
                let n_classes = fill(
                    &mut data.n_classes,
                    IDX_DEFAULT_CLASSES,
                    "data.n_classes",
                    &mut filled,
                );
                let slots = [
                    (&mut data.train_images, "data.train_images"),
                    (&mut data.train_labels, "data.train_labels"),
                    (&mut data.test_images, "data.test_images"),
                    (&mut data.test_labels, "data.test_labels"),
                ];
                // The folder is searched only when a file is left to its standard name.
                let standard = slots
                    .iter()
                    .any(|(slot, _)| slot.is_none())
                    .then(|| data::find_idx_files(&path).ok())
                    .flatten()
                    .map(|found| {
                        [
                            found.train_images,
                            found.train_labels,
                            found.test_images,
                            found.test_labels,
                        ]
                    });
                let mut files: [Option<PathBuf>; 4] = Default::default();
                for (index, (slot, key)) in slots.into_iter().enumerate() {
                    files[index] = match &standard {
                        Some(standard) => {
                            Some(fill(slot, standard[index].clone(), key, &mut filled))
                        }
                        None => slot.clone(),
                    };
                }
                Source::Idx {
                    folder: path.clone(),
                    files,
                    n_classes,
                }
            }
            DataSource::Cifar10 => Source::Cifar10 {
                folder: path.clone(),
            },
            DataSource::Cifar100 => Source::Cifar100 {
                folder: path.clone(),
                labels: match fill(
                    &mut data.labels,
                    Cifar100LabelsName::Fine,
                    "data.labels",
                    &mut filled,
                ) {
                    Cifar100LabelsName::Coarse => data::Cifar100Labels::Coarse,
                    Cifar100LabelsName::Fine => data::Cifar100Labels::Fine,
                },
            },
            DataSource::Csv => Source::Csv {
                file: path.clone(),
                label_column: data
                    .label_column
                    .clone()
                    .unwrap_or_else(|| DEFAULT_LABEL_COLUMN.into()),
            },
            DataSource::ImageFolder => Source::ImageFolder {
                root: path.clone(),
                test: match (&data.test_path, found_split) {
                    (Some(test), _) => ImageFolderTest::Path(test.clone()),
                    (None, Some(found)) => ImageFolderTest::Found(found),
                    (None, None) => ImageFolderTest::Share,
                },
                size: data.image_size.unwrap_or(DEFAULT_IMAGE_SIZE),
                grayscale: fill(&mut data.grayscale, false, "data.grayscale", &mut filled),
            },
        };
        let data_settings = DataSettings {
            source,
            validation_fraction: data.validation_fraction,
            test_fraction,
            split_seed,
            train_subset: data.train_subset,
            validation_subset: data.validation_subset,
        };
        let model = match config.model.kind {
            ModelKindName::Logistic => trainer::ModelKind::Logistic,
            ModelKindName::Mlp => trainer::ModelKind::Mlp {
                hidden: config.model.hidden.clone(),
            },
            ModelKindName::Cnn => trainer::ModelKind::Cnn {
                channels: fill(
                    &mut config.model.channels,
                    DEFAULT_CNN_CHANNELS,
                    "model.channels",
                    &mut filled,
                ),
            },
        };
        let training = &mut config.training;
        let optimizer = match training.optimizer {
            OptimizerName::Sgd => trainer::OptimizerParams::Sgd {
                learning_rate: training.learning_rate,
                momentum: fill(
                    &mut training.momentum,
                    DEFAULT_MOMENTUM,
                    "training.momentum",
                    &mut filled,
                ),
                nesterov: fill(
                    &mut training.nesterov,
                    false,
                    "training.nesterov",
                    &mut filled,
                ),
                weight_decay: training.weight_decay,
            },
            OptimizerName::Adamw => trainer::OptimizerParams::AdamW {
                learning_rate: training.learning_rate,
                beta1: fill(
                    &mut training.beta1,
                    DEFAULT_BETA1,
                    "training.beta1",
                    &mut filled,
                ),
                beta2: fill(
                    &mut training.beta2,
                    DEFAULT_BETA2,
                    "training.beta2",
                    &mut filled,
                ),
                weight_decay: training.weight_decay,
            },
        };
        let training = TrainingSettings {
            epochs: training.epochs,
            batch_size: training.batch_size,
            // Left unset in the resolved configuration when not given (no warm-up), so manifests
            // of experiments without one read as before.
            warmup_epochs: training.warmup_epochs.unwrap_or(0),
            optimizer,
            schedule: match training.schedule {
                ScheduleName::Constant => trainer::Schedule::Constant,
                ScheduleName::Cosine => trainer::Schedule::Cosine,
            },
        };
        let noise = self.noise_settings(&mut config, &mut filled)?;
        for (index, entry) in config.targets.losses.iter_mut().enumerate() {
            for (name, slot, default) in entry.optional_parameters() {
                fill(
                    slot,
                    default,
                    &format!("targets.losses[{index}].{name}"),
                    &mut filled,
                );
            }
        }
        let losses = config.targets.losses.iter().map(LossConfig::loss).collect();
        config.filled_defaults = filled;
        Ok(Experiment {
            name: config.name.clone(),
            seed: config.seed,
            seeds: config.seeds,
            data: data_settings,
            noise,
            epsilons: config.targets.epsilons.clone(),
            losses,
            model,
            training,
            written,
            resolved: config,
        })
    }

    /// The typed noise settings of `config` (this configuration, being resolved): the matrix of
    /// `noise.matrix_file` is read and recorded as `noise.matrix`.
    fn noise_settings(
        &self,
        config: &mut ExperimentConfig,
        filled: &mut Vec<String>,
    ) -> Result<NoiseSettings, ConfigError> {
        let noise_config = &mut config.noise;
        if noise_config.matrix.is_none()
            && let Some(file) = &noise_config.matrix_file
        {
            let problem = |message: String| {
                self.located(vec![(
                    "noise.matrix_file".to_string(),
                    format!("{}: {message}", file.display()),
                )])
            };
            let text = std::fs::read_to_string(file)
                .map_err(|error| problem(format!("cannot read it ({error})")))?;
            let matrix = noise::TransitionMatrix::from_csv_str(&text)
                .map_err(|error| problem(error.to_string()))?;
            noise_config.matrix = Some(matrix.into_rows());
            filled.push("noise.matrix".into());
        }
        let labels_key = if noise_config.model == NoiseModelName::File {
            "noise.labels_file"
        } else {
            "noise.matrix_from"
        };
        let labels_file = match (&noise_config.labels_file, &noise_config.matrix_from) {
            (Some(path), _) | (None, Some(path)) => {
                let npy = super::validate::is_npy(path);
                let sets = match (&noise_config.columns, &noise_config.column) {
                    (Some(columns), _) => columns.clone(),
                    (None, Some(column)) => vec![column.clone()],
                    (None, None) => vec![
                        path.file_stem()
                            .map_or_else(|| "labels".into(), |s| s.to_string_lossy().into_owned()),
                    ],
                };
                let digest = match &noise_config.labels_digest {
                    Some(digest) => digest.clone(),
                    None => {
                        let bytes = std::fs::read(path).map_err(|error| {
                            self.located(vec![(
                                labels_key.to_string(),
                                format!("{}: cannot read it ({error})", path.display()),
                            )])
                        })?;
                        let digest = crate::hashing::bytes_digest(&bytes);
                        noise_config.labels_digest = Some(digest.clone());
                        filled.push("noise.labels_digest".into());
                        digest
                    }
                };
                Some(LabelsFile {
                    path: path.clone(),
                    sets,
                    npy,
                    digest,
                })
            }
            (None, None) => None,
        };
        let source = match noise_config.model {
            NoiseModelName::None => NoiseSource::Model(noise::NoiseModel::None),
            NoiseModelName::Symmetric => NoiseSource::Model(noise::NoiseModel::Symmetric),
            NoiseModelName::Uniform => NoiseSource::Model(noise::NoiseModel::Uniform),
            NoiseModelName::PairFlip => NoiseSource::Model(noise::NoiseModel::PairFlip),
            NoiseModelName::Asymmetric => match (noise_config.preset, &noise_config.pairs) {
                (Some(PresetName::Mnist), _) => {
                    NoiseSource::Model(noise::NoiseModel::AsymmetricMnist)
                }
                (Some(PresetName::Cifar10), _) => {
                    NoiseSource::Model(noise::NoiseModel::AsymmetricCifar10)
                }
                // Validation leaves only pairs of two classes.
                (None, pairs) => NoiseSource::Pairs(
                    pairs
                        .iter()
                        .flatten()
                        .filter_map(|pair| match pair.as_slice() {
                            [clean, noisy] => Some([clean.clone(), noisy.clone()]),
                            _ => None,
                        })
                        .collect(),
                ),
            },
            NoiseModelName::File => match labels_file {
                Some(file) => NoiseSource::File(file),
                None => {
                    return Err(self.located(vec![(
                        "noise.model".to_string(),
                        "\"file\" needs labels_file".to_string(),
                    )]));
                }
            },
            NoiseModelName::Matrix => match labels_file {
                Some(file) => NoiseSource::Estimated(file),
                None => {
                    let rows = noise_config.matrix.clone().unwrap_or_default();
                    NoiseSource::Matrix(noise::TransitionMatrix::from_rows(rows).map_err(
                        |error| self.located(vec![("noise.matrix".to_string(), error.to_string())]),
                    )?)
                }
            },
            NoiseModelName::Instance => NoiseSource::Instance {
                flip_rate_std: fill(
                    &mut noise_config.flip_rate_std,
                    noise::InstanceNoiseParams::PUBLIC_FLIP_RATE_STD,
                    "noise.flip_rate_std",
                    filled,
                ),
            },
        };
        let rates = if noise_config.model == NoiseModelName::Matrix && noise_config.rates.is_empty()
        {
            vec![1.0]
        } else {
            noise_config.rates.clone()
        };
        Ok(NoiseSettings {
            model: noise_config.model,
            source,
            mode: noise_config.mode.mode(),
            rates,
            corrupt_validation: noise_config.corrupt_validation,
            nested: noise_config.nested,
        })
    }

    /// The configuration with every default filled in, as `manifest.json` records it
    /// ([`Experiment::resolved`] of [`resolve`](ExperimentConfig::resolve)).
    #[cfg(test)]
    pub fn resolved(&self) -> ExperimentConfig {
        self.resolve().expect("a resolvable configuration").resolved
    }

    /// The configuration as its file wrote it: [`resolved`](ExperimentConfig::resolved) undone,
    /// every key of [`filled_defaults`](ExperimentConfig::filled_defaults) set back to `None`.
    /// A configuration as written is returned unchanged.
    pub fn as_written(&self) -> ExperimentConfig {
        let mut config = self.clone();
        for key in std::mem::take(&mut config.filled_defaults) {
            let (data, noise, model, training) = (
                &mut config.data,
                &mut config.noise,
                &mut config.model,
                &mut config.training,
            );
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
                "noise.matrix" => noise.matrix = None,
                "noise.labels_digest" => noise.labels_digest = None,
                "noise.flip_rate_std" => noise.flip_rate_std = None,
                "model.channels" => model.channels = None,
                "training.momentum" => training.momentum = None,
                "training.nesterov" => training.nesterov = None,
                "training.beta1" => training.beta1 = None,
                "training.beta2" => training.beta2 = None,
                loss if loss.starts_with("targets.losses[") => {
                    let unset = loss
                        .strip_prefix("targets.losses[")
                        .and_then(|rest| rest.split_once("]."))
                        .and_then(|(index, name)| Some((index.parse::<usize>().ok()?, name)));
                    if let Some((index, name)) = unset
                        && let Some(entry) = config.targets.losses.get_mut(index)
                    {
                        for (key, slot, _) in entry.optional_parameters() {
                            if key == name {
                                *slot = None;
                            }
                        }
                    }
                }
                // Written by a later version: nothing this one fills in.
                _ => {}
            }
        }
        config
    }
}

/// The clean classes whose row of `matrix` gives another class at least the probability of the
/// clean one (docs/DEFINITIONS.md#when-noise-makes-a-setting-meaningless).
pub fn failing_rows(matrix: &noise::TransitionMatrix) -> Vec<usize> {
    (0..matrix.n_classes())
        .filter(|&c| {
            let row = matrix.row(c);
            row.iter()
                .enumerate()
                .any(|(j, &p)| j != c && p >= row[c] - 1e-12)
        })
        .collect()
}

/// The `[clean, noisy]` pairs of an asymmetric class map as class indices, names looked up in
/// `class_names` (the data's, index = class). On failure, the index of the first pair that
/// names no class of the data and why.
fn class_pairs(
    pairs: &[[ClassRef; 2]],
    class_names: &[String],
    n_classes: usize,
) -> Result<Vec<(usize, usize)>, (usize, String)> {
    let index = |class: &ClassRef| match class {
        ClassRef::Index(index) if *index < n_classes => Ok(*index),
        ClassRef::Index(index) => Err(format!(
            "class {index} is not a class of the data, which has {n_classes} (0 to {})",
            n_classes - 1
        )),
        ClassRef::Name(name) => class_names
            .iter()
            .position(|known| known == name)
            .ok_or_else(|| {
                let shown: Vec<&str> = class_names.iter().take(12).map(String::as_str).collect();
                format!(
                    "no class of the data is named \"{name}\"; its classes are {}{}",
                    shown.join(", "),
                    if class_names.len() > shown.len() {
                        ", …"
                    } else {
                        ""
                    }
                )
            }),
    };
    pairs
        .iter()
        .enumerate()
        .map(|(position, [clean, noisy])| {
            Ok((
                index(clean).map_err(|message| (position, message))?,
                index(noisy).map_err(|message| (position, message))?,
            ))
        })
        .collect()
}
