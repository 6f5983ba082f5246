//! The first stage: the experiment file's schema, as written. Every key the file may leave out
//! is an `Option` (or has a serde default the parser fills in); [`ExperimentConfig::resolve`]
//! turns it into the typed [`Experiment`](super::Experiment).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::locate::Origin;
use super::resolve::DEFAULT_TEST_FRACTION;

/// A whole experiment, as written in its TOML file (keys that are not `Option`s filled in with
/// their defaults by the parser). Its hash identifies the configuration;
/// [`resolve`](ExperimentConfig::resolve) fills in every remaining default.
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
    /// `none`, `symmetric`, `uniform`, `pair-flip`, `asymmetric`, `matrix`, `instance` or `file`.
    pub model: NoiseModelName,
    /// `exact` (default) or `bernoulli`.
    #[serde(default)]
    pub mode: NoiseModeName,
    /// Nominal noise rates, each in [0, 1], no duplicates. Required, except for `matrix`, where
    /// leaving it out uses the matrix as given (the single rate 1), and not allowed for `file`,
    /// whose noise levels are its label sets.
    #[serde(default)]
    pub rates: Vec<f64>,
    /// Corrupt the validation split like the training split (default true): model selection then
    /// sees only noisy labels, as it would in practice.
    #[serde(default = "default_true")]
    pub corrupt_validation: bool,
    /// `asymmetric`: a built-in class map, `mnist` or `cifar10`. Left out of the JSON (and so of
    /// run ids) when not given, as are the other model-specific keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<PresetName>,
    /// `asymmetric`: the class map as `[clean, noisy]` pairs, by class index or by class name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pairs: Option<Vec<Vec<ClassRef>>>,
    /// `matrix`: the K × K row-stochastic matrix `T[clean][noisy]`, row by row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matrix: Option<Vec<Vec<f64>>>,
    /// `matrix`: a CSV file holding the matrix (one row per line, no header), instead of
    /// `matrix`. Relative paths are relative to the current folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matrix_file: Option<PathBuf>,
    /// `matrix`, instead of `matrix` or `matrix_file`: a labels file (as `labels_file`) whose
    /// labels' realised transition matrix on the training split is the matrix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matrix_from: Option<PathBuf>,
    /// `matrix_from`: the label column of a CSV file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// `file`: given noisy labels, a CSV file with a header, a `row` column (the sample's index in
    /// the source's training data) and label columns, or a `.npy` integer array in that order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels_file: Option<PathBuf>,
    /// `file`: the label columns of a CSV `labels_file` to compare, one label set each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    /// The SHA-256 of the bytes of `labels_file` or `matrix_from`, which run ids hash so that
    /// editing the file changes them. Not a key of the experiment file: resolution fills it in,
    /// so a manifest's configuration gives the same ids without the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels_digest: Option<String>,
    /// `instance`: σ of the normal the per-sample flip rates are drawn from (default 0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flip_rate_std: Option<f64>,
    /// Draw the noise of every rate of one seed from one stream, so that the samples flipped at
    /// a lower rate are a subset of those flipped at a higher one (default false; not for
    /// `instance`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub nested: bool,
}

fn default_true() -> bool {
    true
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// A built-in asymmetric class map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PresetName {
    /// 2→7, 3→8, 5↔6, 7→1 (Patrini et al. 2017).
    Mnist,
    /// truck→automobile, bird→airplane, cat↔dog, deer→horse (Patrini et al. 2017).
    Cifar10,
}

impl PresetName {
    /// The name in the experiment file.
    pub fn name(self) -> &'static str {
        match self {
            PresetName::Mnist => "mnist",
            PresetName::Cifar10 => "cifar10",
        }
    }
}

/// A class named in the experiment file: by its index or by its name in the data set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ClassRef {
    /// The 0-based class index.
    Index(usize),
    /// The class name (a folder name, a CIFAR class name, a CSV label).
    Name(String),
}

impl<'de> Deserialize<'de> for ClassRef {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = ClassRef;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a class index (a non-negative integer) or a class name in quotes")
            }
            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<ClassRef, E> {
                usize::try_from(value)
                    .map(ClassRef::Index)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(value), &self))
            }
            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<ClassRef, E> {
                u64::try_from(value)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(value), &self))
                    .and_then(|value| self.visit_u64(value))
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<ClassRef, E> {
                Ok(ClassRef::Name(value.to_string()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl std::fmt::Display for ClassRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClassRef::Index(index) => write!(f, "{index}"),
            ClassRef::Name(name) => write!(f, "\"{name}\""),
        }
    }
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
    /// Flip each mapped class to its destination (a preset or the file's pairs).
    Asymmetric,
    /// A given transition matrix, its off-diagonal mass scaled by the rate.
    Matrix,
    /// Instance-dependent noise (Xia et al. 2020).
    Instance,
    /// Noisy labels given in a file, one noise level per label set.
    File,
}

impl NoiseModelName {
    /// The name used in the experiment file and in the `noise_model` column.
    pub fn name(self) -> &'static str {
        match self {
            NoiseModelName::None => "none",
            NoiseModelName::Symmetric => "symmetric",
            NoiseModelName::Uniform => "uniform",
            NoiseModelName::PairFlip => "pair-flip",
            NoiseModelName::Asymmetric => "asymmetric",
            NoiseModelName::Matrix => "matrix",
            NoiseModelName::Instance => "instance",
            NoiseModelName::File => "file",
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
    /// Label-smoothing ε values, each in [−8, 1] (ε < 0 is negative smoothing), no duplicates;
    /// include 0 for the hard-target baseline.
    pub epsilons: Vec<f64>,
    /// The other target settings, each a loss with its parameters (those left out take their
    /// literature defaults), every one paired with hard targets like an ε. Left out of the
    /// serialized form when empty, so configurations without it hash as before it existed.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "loss_tables"
    )]
    pub losses: Vec<LossConfig>,
}

/// The entries of `targets.losses`, each only as a table: serde would also read a loss from an
/// array of values in field order (`["gce", 0.5]`), whose numbers carry no names.
fn loss_tables<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<LossConfig>, D::Error> {
    struct Table(LossConfig);

    impl<'de> Deserialize<'de> for Table {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct Entry;
            impl<'de> serde::de::Visitor<'de> for Entry {
                type Value = LossConfig;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str(
                        "a table naming a loss and its parameters, such as { loss = \"gce\", q = 0.7 }",
                    )
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    map: A,
                ) -> Result<LossConfig, A::Error> {
                    LossConfig::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                }
            }
            deserializer.deserialize_map(Entry).map(Table)
        }
    }

    let tables = Vec::<Table>::deserialize(deserializer)?;
    Ok(tables.into_iter().map(|Table(loss)| loss).collect())
}

/// One entry of `targets.losses`: `{ loss = "gce", q = 0.7 }`. Each loss takes only its own
/// parameters (docs/DEFINITIONS.md#losses).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "loss",
    rename_all = "kebab-case",
    deny_unknown_fields,
    expecting = "a table naming a loss and its parameters, such as { loss = \"gce\", q = 0.7 }"
)]
pub enum LossConfig {
    /// Cross-entropy with label smoothing in a convention that must be named: `uniform` is what
    /// `targets.epsilons` runs, so only `off-classes` (1 − ε on the label, ε/(K − 1) on each
    /// other class) is accepted here.
    Ce {
        /// ε, required.
        epsilon: f64,
        /// The smoothing convention, required.
        convention: ConventionName,
    },
    /// Soft bootstrapping (Reed et al. 2015): target β·e_y + (1 − β)·p.
    BootstrapSoft {
        /// β in [0, 1], default 0.95.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        beta: Option<f64>,
    },
    /// Hard bootstrapping (Reed et al. 2015): target β·e_y + (1 − β)·e_argmax p.
    BootstrapHard {
        /// β in [0, 1], default 0.8.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        beta: Option<f64>,
    },
    /// Generalised cross-entropy (Zhang & Sabuncu 2018): (1 − p_y^q)/q.
    Gce {
        /// q in (0, 1], default 0.7.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        q: Option<f64>,
    },
    /// Symmetric cross-entropy (Wang et al. 2019): α·CE + β·RCE with log 0 clipped to A.
    Sce {
        /// α ≥ 0, default 0.1.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        alpha: Option<f64>,
        /// β ≥ 0, default 1.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        beta: Option<f64>,
        /// A < 0, default −4.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        log_zero: Option<f64>,
    },
    /// Focal loss (Lin et al. 2017): −(1 − p_y)^γ·log p_y.
    Focal {
        /// γ ≥ 0, default 2.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        gamma: Option<f64>,
    },
    /// Forward correction (Patrini et al. 2017) with the transition matrix of the injected noise.
    Forward {},
}

/// The smoothing convention of a `ce` entry of `targets.losses`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConventionName {
    /// (1 − ε)·e_y + ε/K: the convention of `targets.epsilons`.
    Uniform,
    /// 1 − ε on the label, ε/(K − 1) on each other class.
    OffClasses,
}

impl LossConfig {
    /// The optional parameters of the entry by key, for filling in and undoing defaults: each
    /// key, its slot and its default.
    pub fn optional_parameters(&mut self) -> Vec<(&'static str, &mut Option<f64>, f64)> {
        use trainer::{BootstrapHard, BootstrapSoft, Focal, Gce, Sce};
        match self {
            LossConfig::Ce { .. } | LossConfig::Forward {} => Vec::new(),
            LossConfig::BootstrapSoft { beta } => {
                vec![("beta", beta, BootstrapSoft::default().beta)]
            }
            LossConfig::BootstrapHard { beta } => {
                vec![("beta", beta, BootstrapHard::default().beta)]
            }
            LossConfig::Gce { q } => vec![("q", q, Gce::default().q)],
            LossConfig::Sce {
                alpha,
                beta,
                log_zero,
            } => {
                let standard = Sce::default();
                vec![
                    ("alpha", alpha, standard.alpha),
                    ("beta", beta, standard.beta),
                    ("log_zero", log_zero, standard.log_zero),
                ]
            }
            LossConfig::Focal { gamma } => vec![("gamma", gamma, Focal::default().gamma)],
        }
    }

    /// The loss the trainer minimises, parameters left out at their defaults. Forward
    /// correction gets an empty matrix: a run fills in the transition matrix of its noise.
    pub fn loss(&self) -> trainer::Loss {
        use trainer::{BootstrapHard, BootstrapSoft, Focal, Gce, LabelSmoothing, Loss, Sce};
        // The defaults are those of `optional_parameters`, filled into a copy.
        let mut filled = self.clone();
        for (_, slot, default) in filled.optional_parameters() {
            slot.get_or_insert(default);
        }
        let value = |slot: Option<f64>| slot.expect("every optional parameter is filled in");
        match filled {
            LossConfig::Ce {
                epsilon,
                convention,
            } => Loss::LabelSmoothing(match convention {
                ConventionName::Uniform => LabelSmoothing::uniform(epsilon),
                ConventionName::OffClasses => LabelSmoothing::off_classes(epsilon),
            }),
            LossConfig::BootstrapSoft { beta } => {
                Loss::BootstrapSoft(BootstrapSoft { beta: value(beta) })
            }
            LossConfig::BootstrapHard { beta } => {
                Loss::BootstrapHard(BootstrapHard { beta: value(beta) })
            }
            LossConfig::Gce { q } => Loss::Gce(Gce { q: value(q) }),
            LossConfig::Sce {
                alpha,
                beta,
                log_zero,
            } => Loss::Sce(Sce {
                alpha: value(alpha),
                beta: value(beta),
                log_zero: value(log_zero),
            }),
            LossConfig::Focal { gamma } => Loss::Focal(Focal {
                gamma: value(gamma),
            }),
            LossConfig::Forward {} => {
                Loss::ForwardCorrection(trainer::ForwardCorrection::new(Vec::new()))
            }
        }
    }
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
    /// Epochs of plain cross-entropy (ε = 0) before the configured targets apply, for negative
    /// smoothing (Wei et al. 2022b warm up with cross-entropy); fewer than `epochs`. Default 0.
    /// Left out of the JSON (and so of run ids) when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup_epochs: Option<usize>,
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
