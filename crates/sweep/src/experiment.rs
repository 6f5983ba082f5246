//! Preparing an experiment's data and noise, and training one run of its grid.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::Instant;

use data::{BlobsParams, Dataset, Split, SplitParams, Standardizer};
use noise::{NoiseMode, NoiseModel, NoiseSpec, NoisyLabels};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use reporter::{CalibrationRow, EpochRow, ProjectionRow, RunRow, RunStatusLabel};
use serde::{Deserialize, Serialize};
use trainer::{RunOutcome, RunStatus, TrainData, TrainError, TrainParams, TrainSeeds};

use crate::config::{
    BLOBS_DEFAULT_CLASSES, Cifar100LabelsName, DEFAULT_TEST_FRACTION, DataFacts, DataSource,
    ExperimentConfig, IDX_DEFAULT_CLASSES,
};
use crate::grid::{RunSpec, derive_seed};

/// The data set split and standardised once for every run of an experiment.
#[derive(Debug, Clone)]
pub struct PreparedData {
    /// Training split, standardised with its own statistics; labels clean.
    pub train: Dataset,
    /// Validation split, standardised with the training statistics; labels clean.
    pub validation: Dataset,
    /// Test split, standardised with the training statistics; labels clean.
    pub test: Dataset,
    /// Row indices of each split in the original data set.
    pub split: Split,
}

/// Loads the configured data set, splits it (stratified, by the split seed; sources with their
/// own test split keep it and only carve validation from the training data), reduces the training
/// split to `train_subset` and the validation split to `validation_subset` samples if asked, and
/// standardises all splits with statistics fitted on the training split only.
///
/// The experiment is then checked against the data ([`ExperimentConfig::check_data`]): a setting
/// that does not fit them (a CNN on images smaller than 4×4, a subset larger than its split, …)
/// is an error naming the file, line and key ([`data::DataError::Setting`]), and each degenerate
/// setting (ε = 1, a noise rate at which the clean class is no longer the most likely label) is
/// warned about on stderr, once, before anything is trained. `sweep check` and `sweep run` both
/// come through here.
pub fn prepare_data(config: &ExperimentConfig) -> Result<PreparedData, data::DataError> {
    let (prepared, warnings) = prepare_checked(config)?;
    for warning in warnings {
        errln!("warning: {warning}");
    }
    Ok(prepared)
}

/// [`prepare_data`] without printing: the prepared data and the warnings, one line each.
pub fn prepare_checked(
    config: &ExperimentConfig,
) -> Result<(PreparedData, Vec<String>), data::DataError> {
    let settings = &config.data;
    let Source {
        pool,
        test: own_test,
        found_split,
    } = load_source(config)?;
    let seed = split_seed(config);
    let test_fraction = if own_test.is_some() {
        0.0
    } else {
        settings.test_fraction.unwrap_or(DEFAULT_TEST_FRACTION)
    };
    let mut split = data::stratified_split(
        &pool,
        &SplitParams {
            validation_fraction: settings.validation_fraction,
            test_fraction,
            seed,
        },
    )?;
    let facts = DataFacts {
        image_shape: pool.image_shape,
        n_classes: pool.n_classes,
        n_train: split.train.len(),
        n_validation: split.validation.len(),
        n_test: own_test
            .as_ref()
            .map_or(split.test.len(), |test| test.n_samples()),
        found_split,
    };
    // The experiment as it will run, every default filled in, is what is checked.
    let warnings = config
        .resolved()
        .check_data(&facts)
        .map_err(|error| data::DataError::Setting(error.to_string()))?;
    if let Some(n) = settings.train_subset {
        split.train =
            data::stratified_subset_of(&pool, &split.train, n, derive_seed(seed, "subset"));
    }
    if let Some(n) = settings.validation_subset {
        split.validation = data::stratified_subset_of(
            &pool,
            &split.validation,
            n,
            derive_seed(seed, "validation-subset"),
        );
    }
    let mut validation = pool.subset(&split.validation);
    let mut test = own_test.unwrap_or_else(|| pool.subset(&split.test));
    // The training rows, the largest share, are moved down inside the pool rather than copied
    // out of it, so the features are never held twice.
    let mut train = pool.into_subset(&split.train);
    let scaler = Standardizer::fit(&train);
    for part in [&mut train, &mut validation, &mut test] {
        scaler.apply(part);
    }
    Ok((
        PreparedData {
            train,
            validation,
            test,
            split,
        },
        warnings,
    ))
}

/// The configured data, as read.
struct Source {
    /// The pool that training and validation (and, without a test split of the source's own,
    /// test) are drawn from.
    pool: Dataset,
    /// The source's own test split, if it has one.
    test: Option<Dataset>,
    /// The two folders of an image folder that ships its own split.
    found_split: Option<data::ImageFolderSplit>,
}

impl Source {
    /// A source whose test split, if any, is a file or set of files of its own.
    fn new(pool: Dataset, test: Option<Dataset>) -> Source {
        Source {
            pool,
            test,
            found_split: None,
        }
    }
}

/// Reads the configured data.
fn load_source(config: &ExperimentConfig) -> Result<Source, data::DataError> {
    let settings = &config.data;
    // Validation guarantees `path` for every source that needs it.
    let path = || settings.path.clone().unwrap_or_default();
    let (pool, test) = match settings.source {
        DataSource::Digits => (data::digits()?, None),
        DataSource::Blobs => (
            data::blobs(&blobs_params(config).unwrap_or_default())?,
            None,
        ),
        DataSource::Idx => {
            let folder = path();
            // The folder is searched once, and only when a file is left to its standard name.
            let given = [
                &settings.train_images,
                &settings.train_labels,
                &settings.test_images,
                &settings.test_labels,
            ];
            let standard = if given.iter().all(|file| file.is_some()) {
                None
            } else {
                Some(data::find_idx_files(&folder)?)
            };
            let pick = |given: &Option<PathBuf>, standard_name: fn(&data::IdxFiles) -> &PathBuf| {
                given
                    .clone()
                    .or_else(|| standard.as_ref().map(|files| standard_name(files).clone()))
                    .unwrap_or_default()
            };
            let n_classes = settings.n_classes.unwrap_or(IDX_DEFAULT_CLASSES);
            let name = folder
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "idx".into());
            let train = data::load_idx(
                &pick(&settings.train_images, |f| &f.train_images),
                &pick(&settings.train_labels, |f| &f.train_labels),
                n_classes,
                &name,
            )?;
            let test = data::load_idx(
                &pick(&settings.test_images, |f| &f.test_images),
                &pick(&settings.test_labels, |f| &f.test_labels),
                n_classes,
                &name,
            )?;
            (train, Some(test))
        }
        DataSource::Cifar10 => {
            let (train, test) = data::load_cifar10(&path())?;
            (train, Some(test))
        }
        DataSource::Cifar100 => {
            let labels = match settings.labels {
                Some(Cifar100LabelsName::Coarse) => data::Cifar100Labels::Coarse,
                Some(Cifar100LabelsName::Fine) | None => data::Cifar100Labels::Fine,
            };
            let (train, test) = data::load_cifar100(&path(), labels)?;
            (train, Some(test))
        }
        DataSource::Csv => (
            data::load_csv_table(&path(), settings.label_column.as_deref().unwrap_or("label"))?,
            None,
        ),
        DataSource::ImageFolder => return load_image_folder(config),
    };
    Ok(Source::new(pool, test))
}

/// Reads an image folder: `path/<class>/…` alone (the test split is then a share of it), or with
/// its own test split, from `test_path` or from the `train`/`test` (or `training_set`/`test_set`)
/// sub-folders of `path`. Every folder goes through the image cache.
fn load_image_folder(config: &ExperimentConfig) -> Result<Source, data::DataError> {
    let settings = &config.data;
    let root = settings.path.clone().unwrap_or_default();
    let [width, height] = settings.image_size.unwrap_or([32, 32]);
    let grayscale = settings.grayscale.unwrap_or(false);
    let cache_dir = image_cache_dir();
    let note = |loaded: &data::CachedImageFolder| {
        if let data::CacheStatus::NotStored(reason) = &loaded.cache {
            note_uncached(reason);
        }
    };
    let found_split = match &settings.test_path {
        Some(_) => None,
        None => data::find_image_folder_split(&root),
    };
    let (train_root, test_root) = match (&settings.test_path, &found_split) {
        (Some(test), _) => (root.clone(), test.clone()),
        (None, Some(split)) => (split.train.clone(), split.test.clone()),
        (None, None) => {
            let loaded = data::load_image_folder_cached(
                &root,
                width,
                height,
                grayscale,
                cache_dir.as_deref(),
            )?;
            note(&loaded);
            return Ok(Source::new(loaded.dataset, None));
        }
    };
    let (train, test) = data::load_image_folder_split_cached(
        &train_root,
        &test_root,
        width,
        height,
        grayscale,
        cache_dir.as_deref(),
    )?;
    note(&train);
    note(&test);
    let (mut pool, mut test) = (train.dataset, test.dataset);
    // `path/train` and `path/test` are parts of one data set, named after `path`.
    if found_split.is_some() {
        pool.name = root.file_name().map_or_else(
            || root.display().to_string(),
            |name| name.to_string_lossy().into_owned(),
        );
        test.name = pool.name.clone();
    }
    Ok(Source {
        pool,
        test: Some(test),
        found_split,
    })
}

/// The folder decoded image folders are cached in: `LABELNOISE_CACHE_DIR` when set (an empty
/// value turns the cache off), otherwise `$XDG_CACHE_HOME/labelnoise`, otherwise
/// `$HOME/.cache/labelnoise`; `None` (no cache) when none of them is set.
pub fn image_cache_dir() -> Option<PathBuf> {
    cache_dir_from(|name| std::env::var_os(name))
}

/// [`image_cache_dir`] with the environment given by `var`. `XDG_CACHE_HOME` counts only when it
/// is an absolute path (the XDG Base Directory rule), `HOME` only when it is not empty.
fn cache_dir_from(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    if let Some(dir) = var(CACHE_DIR_VARIABLE) {
        return (!dir.is_empty()).then(|| PathBuf::from(dir));
    }
    if let Some(dir) = var("XDG_CACHE_HOME").filter(|dir| Path::new(dir).is_absolute()) {
        return Some(PathBuf::from(dir).join("labelnoise"));
    }
    var("HOME")
        .filter(|home| !home.is_empty())
        .map(|home| PathBuf::from(home).join(".cache").join("labelnoise"))
}

/// The environment variable that chooses (or, empty, turns off) the image cache folder.
const CACHE_DIR_VARIABLE: &str = "LABELNOISE_CACHE_DIR";

/// Says once per process, on stderr, that an image folder was decoded but could not be cached.
fn note_uncached(reason: &str) {
    static NOTED: Once = Once::new();
    NOTED.call_once(|| {
        errln!(
            "note: the decoded images are not cached, so the next run decodes them again: {reason} (set {CACHE_DIR_VARIABLE} to a writable folder, or to an empty value to turn the cache off)"
        );
    });
}

/// The seed of the train/validation/test split: the configured one, or one derived from the
/// experiment seed.
pub fn split_seed(config: &ExperimentConfig) -> u64 {
    config
        .data
        .split_seed
        .unwrap_or_else(|| derive_seed(config.seed, "split"))
}

/// The parameters of the synthetic data set, defaults filled in; `None` for other sources.
pub fn blobs_params(config: &ExperimentConfig) -> Option<BlobsParams> {
    let settings = &config.data;
    (settings.source == DataSource::Blobs).then(|| {
        let defaults = BlobsParams::default();
        BlobsParams {
            n_classes: settings.n_classes.unwrap_or(BLOBS_DEFAULT_CLASSES),
            n_features: settings.n_features.unwrap_or(defaults.n_features),
            n_samples: settings.n_samples.unwrap_or(defaults.n_samples),
            separation: settings.separation.unwrap_or(defaults.separation),
            seed: derive_seed(config.seed, "blobs"),
        }
    })
}

/// The noisy labels shared by every ε at one (noise rate, seed): the heart of the paired design.
#[derive(Debug, Clone)]
pub struct GroupNoise {
    /// Noisy training labels.
    pub train: NoisyLabels,
    /// Noisy validation labels (equal to the clean ones when validation is not corrupted).
    pub validation: NoisyLabels,
}

/// Draws the noisy training and validation labels of (noise rate, seed), each from its own stream.
/// The test split is never touched.
pub fn draw_noise(
    config: &ExperimentConfig,
    prepared: &PreparedData,
    noise_rate: f64,
    seed: u64,
) -> Result<GroupNoise, noise::NoiseError> {
    let model = config.noise.model.model();
    let spec = NoiseSpec {
        model,
        rate: noise_rate,
        mode: config.noise.mode.mode(),
    };
    let validation_spec = if config.noise.corrupt_validation {
        spec
    } else {
        NoiseSpec {
            model: NoiseModel::None,
            rate: 0.0,
            mode: NoiseMode::Exact,
        }
    };
    let draw = |split: &str, data: &Dataset, spec: &NoiseSpec| {
        let label = format!("noise-{split}|{}|{noise_rate:?}|{seed}", model.name());
        let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(config.seed, &label));
        noise::inject(&data.labels, data.n_classes, spec, &mut rng)
    };
    Ok(GroupNoise {
        train: draw("train", &prepared.train, &spec)?,
        validation: draw("validation", &prepared.validation, &validation_spec)?,
    })
}

/// A finished run as stored on disk: its `runs.csv` row, its `epochs.csv`, `calibration.csv` and
/// `penultimate.csv` rows, and its wall time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The `runs.csv` row.
    pub run: RunRow,
    /// The `epochs.csv` rows, in epoch order.
    pub epochs: Vec<EpochRow>,
    /// The `calibration.csv` rows (test confidence bins after the last epoch), in bin order.
    #[serde(default)]
    pub calibration: Vec<CalibrationRow>,
    /// The `penultimate.csv` rows (first seed of an MLP with three or more classes only).
    #[serde(default)]
    pub projection: Vec<ProjectionRow>,
    /// Wall-clock seconds the run took (kept out of the CSVs, which must not depend on timing).
    pub seconds: f64,
    /// Of those, the seconds spent in training steps (batches, forward, backward, update), the
    /// per-epoch evaluation excluded; 0 for a run that failed before training. Records written
    /// before this field existed read as 0.
    #[serde(default)]
    pub training_seconds: f64,
}

/// Trains the run `spec` on `prepared` with the noisy labels of its group.
pub fn run_one(
    config: &ExperimentConfig,
    prepared: &PreparedData,
    noise: &GroupNoise,
    spec: &RunSpec,
) -> Result<RunRecord, TrainError> {
    let started = Instant::now();
    let params = TrainParams {
        model: config.model.kind(),
        optimizer: config.training.optimizer_params(),
        schedule: config.training.schedule(),
        epochs: config.training.epochs,
        batch_size: config.training.batch_size,
        loss: trainer::Loss::label_smoothing(spec.epsilon),
        warmup_epochs: 0,
        device: trainer::Device::Cpu,
        project_classes: projected_classes(config, &prepared.test, spec),
    };
    // Initial weights and batch order depend on the seed index alone, so every ε (and every noise
    // rate) of one seed starts from the same weights and sees the same batches.
    let seeds = TrainSeeds {
        init: derive_seed(config.seed, &format!("init|{}", spec.seed)),
        order: derive_seed(config.seed, &format!("order|{}", spec.seed)),
    };
    let data = TrainData {
        train: &prepared.train,
        train_noisy: &noise.train.labels,
        validation: &prepared.validation,
        validation_noisy: &noise.validation.labels,
        test: &prepared.test,
    };
    let outcome = trainer::train(&data, &params, seeds)?;
    let (run, epochs) = rows(config, spec, noise, &outcome);
    let calibration = calibration_rows(&run, &outcome.test_calibration);
    let projection = outcome
        .projection
        .iter()
        .flatten()
        .map(|point| ProjectionRow {
            run_id: run.run_id.clone(),
            noise_model: run.noise_model.clone(),
            noise_rate: run.noise_rate,
            seed: run.seed,
            epsilon: run.epsilon,
            test_index: point.test_index,
            class: point.class,
            class_name: prepared
                .test
                .class_names
                .get(point.class)
                .cloned()
                .unwrap_or_else(|| point.class.to_string()),
            x: point.x,
            y: point.y,
        })
        .collect();
    Ok(RunRecord {
        run,
        epochs,
        calibration,
        projection,
        seconds: started.elapsed().as_secs_f64(),
        training_seconds: outcome.training_seconds,
    })
}

/// The record of a run that could not be trained: status `failed`, the error as its message, no
/// metrics. It is stored like any record, and resuming trains the run again.
pub fn failed_record(
    config: &ExperimentConfig,
    noise: Option<&GroupNoise>,
    spec: &RunSpec,
    message: String,
    seconds: f64,
) -> RunRecord {
    RunRecord {
        run: RunRow {
            run_id: spec.run_id.clone(),
            noise_model: config.noise.model.model().name().to_string(),
            noise_rate: spec.noise_rate,
            seed: spec.seed,
            epsilon: spec.epsilon,
            status: RunStatusLabel::Failed,
            epochs_completed: 0,
            realised_noise_rate: noise.map_or(0.0, |n| n.train.realised_rate()),
            test_accuracy: None,
            best_test_accuracy: None,
            best_epoch: None,
            val_selected_test_accuracy: None,
            val_selected_epoch: None,
            test_nll: None,
            test_ece: None,
            train_accuracy_noisy: None,
            train_accuracy_clean: None,
            memorised_share: None,
            message: Some(message),
        },
        epochs: Vec::new(),
        calibration: Vec::new(),
        projection: Vec::new(),
        seconds,
        training_seconds: 0.0,
    }
}

/// The classes whose penultimate-layer projection a run records: the first three, for the first
/// seed of an MLP with a hidden layer on three or more classes (as in Müller et al. 2019, one
/// seed is enough to see the clusters; the projection costs one forward pass).
fn projected_classes(
    config: &ExperimentConfig,
    test: &Dataset,
    spec: &RunSpec,
) -> Option<[usize; 3]> {
    let has_hidden_layer =
        matches!(config.model.kind(), trainer::ModelKind::Mlp { ref hidden } if !hidden.is_empty());
    (spec.seed == 0 && has_hidden_layer && test.n_classes >= 3).then_some([0, 1, 2])
}

/// The `calibration.csv` rows of a run: one per confidence bin, with the bin's edges.
fn calibration_rows(run: &RunRow, bins: &[trainer::CalibrationBin]) -> Vec<CalibrationRow> {
    let n_bins = bins.len() as f64;
    bins.iter()
        .enumerate()
        .map(|(index, bin)| {
            let occupied = bin.count > 0;
            CalibrationRow {
                run_id: run.run_id.clone(),
                noise_model: run.noise_model.clone(),
                noise_rate: run.noise_rate,
                seed: run.seed,
                epsilon: run.epsilon,
                bin: index,
                confidence_low: index as f64 / n_bins,
                confidence_high: (index + 1) as f64 / n_bins,
                count: bin.count as u64,
                mean_confidence: occupied.then(|| bin.confidence_sum / bin.count as f64),
                accuracy: occupied.then(|| bin.correct as f64 / bin.count as f64),
            }
        })
        .collect()
}

/// Turns a training outcome into report rows.
fn rows(
    config: &ExperimentConfig,
    spec: &RunSpec,
    noise: &GroupNoise,
    outcome: &RunOutcome,
) -> (RunRow, Vec<EpochRow>) {
    let noise_model = config.noise.model.model().name().to_string();
    let epochs: Vec<EpochRow> = outcome
        .epochs
        .iter()
        .map(|e| EpochRow {
            run_id: spec.run_id.clone(),
            noise_model: noise_model.clone(),
            noise_rate: spec.noise_rate,
            seed: spec.seed,
            epsilon: spec.epsilon,
            epoch: e.epoch,
            learning_rate: e.learning_rate,
            train_loss: e.train_loss,
            train_accuracy_noisy: e.train_accuracy_noisy,
            train_accuracy_clean: e.train_accuracy_clean,
            memorised_share: e.memorised_share,
            corrected_share: e.corrected_share,
            validation_accuracy: e.validation_accuracy,
            test_accuracy: e.test_accuracy,
            test_nll: e.test_nll,
            test_ece: e.test_ece,
        })
        .collect();
    let last = outcome.epochs.last();
    // The first epoch reaching the maximum wins ties.
    let first_max = |value: fn(&trainer::EpochMetrics) -> Option<f64>| {
        outcome
            .epochs
            .iter()
            .filter_map(|e| value(e).map(|v| (e, v)))
            .fold(
                None,
                |best: Option<(&trainer::EpochMetrics, f64)>, (e, v)| match best {
                    Some((_, best_value)) if best_value >= v => best,
                    _ => Some((e, v)),
                },
            )
            .map(|(e, _)| e)
    };
    let best = first_max(|e| Some(e.test_accuracy));
    let val_selected = first_max(|e| e.validation_accuracy);
    let run = RunRow {
        run_id: spec.run_id.clone(),
        noise_model,
        noise_rate: spec.noise_rate,
        seed: spec.seed,
        epsilon: spec.epsilon,
        status: match outcome.status {
            RunStatus::Finished => RunStatusLabel::Finished,
            RunStatus::Diverged { .. } => RunStatusLabel::Diverged,
        },
        epochs_completed: outcome.epochs.len(),
        realised_noise_rate: noise.train.realised_rate(),
        test_accuracy: last.map(|e| e.test_accuracy),
        best_test_accuracy: best.map(|e| e.test_accuracy),
        best_epoch: best.map(|e| e.epoch),
        val_selected_test_accuracy: val_selected.map(|e| e.test_accuracy),
        val_selected_epoch: val_selected.map(|e| e.epoch),
        test_nll: last.map(|e| e.test_nll),
        test_ece: last.map(|e| e.test_ece),
        train_accuracy_noisy: last.map(|e| e.train_accuracy_noisy),
        train_accuracy_clean: last.map(|e| e.train_accuracy_clean),
        memorised_share: last.and_then(|e| e.memorised_share),
        message: match outcome.status {
            RunStatus::Finished => None,
            RunStatus::Diverged { epoch } => Some(format!(
                "the training loss became NaN or infinite in epoch {epoch}"
            )),
        },
    };
    (run, epochs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;
    use crate::grid::expand;

    const CONFIG: &str = r#"name = "t"
seed = 5
seeds = 2
[data]
source = "blobs"
n_classes = 3
n_samples = 120
[noise]
model = "symmetric"
rates = [0.0, 0.5]
[targets]
epsilons = [0.0, 0.4]
[model]
kind = "logistic"
[training]
epochs = 2
batch_size = 8
optimizer = "sgd"
learning_rate = 0.1
"#;

    #[test]
    fn noise_is_drawn_per_group_and_never_touches_the_test_split() {
        let config = parse(CONFIG, "t.toml").unwrap();
        let prepared = prepare_data(&config).unwrap();
        let a = draw_noise(&config, &prepared, 0.5, 1).unwrap();
        let b = draw_noise(&config, &prepared, 0.5, 1).unwrap();
        assert_eq!(a.train, b.train);
        assert_eq!(a.validation, b.validation);
        // round(0.5 · n_c) flips per class on the training split.
        let expected: usize = prepared
            .train
            .class_counts()
            .iter()
            .map(|&n| (0.5 * n as f64).round() as usize)
            .sum();
        assert_eq!(a.train.n_flipped(), expected);
        assert!(a.validation.n_flipped() > 0);
        assert_ne!(
            a.train.labels,
            draw_noise(&config, &prepared, 0.5, 0).unwrap().train.labels
        );
        // The test split keeps its clean labels: nothing in GroupNoise covers it, and its size
        // and classes are those of the split.
        assert_eq!(prepared.test.labels.len(), prepared.split.test.len());

        let clean_validation = ExperimentConfig {
            noise: crate::config::NoiseConfig {
                corrupt_validation: false,
                ..config.noise.clone()
            },
            ..config.clone()
        };
        let c = draw_noise(&clean_validation, &prepared, 0.5, 1).unwrap();
        assert_eq!(c.validation.n_flipped(), 0);
        assert_eq!(c.train, a.train);
    }

    #[test]
    fn splits_moved_out_of_the_pool_equal_copies_of_its_rows() {
        for extra in [
            "",
            "train_subset = 37\n",
            "train_subset = 84\n",
            "validation_subset = 5\n",
            "train_subset = 40\nvalidation_subset = 6\n",
        ] {
            let text = CONFIG.replace("n_samples = 120\n", &format!("n_samples = 120\n{extra}"));
            let config = parse(&text, "t.toml").unwrap();
            let prepared = prepare_data(&config).unwrap();
            // The splits as copies of the pool's rows, standardised with the training statistics.
            let pool = load_source(&config).unwrap().pool;
            let split = &prepared.split;
            let mut parts = [
                pool.subset(&split.train),
                pool.subset(&split.validation),
                pool.subset(&split.test),
            ];
            let scaler = Standardizer::fit(&parts[0]);
            for part in &mut parts {
                scaler.apply(part);
            }
            let bits = |data: &Dataset| {
                data.features
                    .iter()
                    .map(|v| v.to_bits())
                    .collect::<Vec<_>>()
            };
            for (made, copied) in [&prepared.train, &prepared.validation, &prepared.test]
                .into_iter()
                .zip(&parts)
            {
                assert_eq!(made, copied, "{extra}");
                assert_eq!(bits(made), bits(copied), "{extra}");
            }
            if extra == "train_subset = 37\n" {
                assert_eq!(prepared.train.n_samples(), 37);
            }
            if extra.contains("validation_subset = 6") {
                assert_eq!(prepared.train.n_samples(), 40);
                assert_eq!(prepared.validation.n_samples(), 6);
            }
        }
    }

    #[test]
    fn the_cache_folder_comes_from_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| OsString::from(value))
            }
        };
        let all = &[
            ("LABELNOISE_CACHE_DIR", "/tmp/ln-cache"),
            ("XDG_CACHE_HOME", "/xdg"),
            ("HOME", "/home/u"),
        ];
        assert_eq!(
            cache_dir_from(env(all)),
            Some(PathBuf::from("/tmp/ln-cache"))
        );
        assert_eq!(
            cache_dir_from(env(&[("LABELNOISE_CACHE_DIR", "rel/cache")])),
            Some(PathBuf::from("rel/cache"))
        );
        // An empty value turns the cache off, whatever else is set.
        assert_eq!(
            cache_dir_from(env(&[
                ("LABELNOISE_CACHE_DIR", ""),
                ("XDG_CACHE_HOME", "/xdg"),
                ("HOME", "/home/u")
            ])),
            None
        );
        assert_eq!(
            cache_dir_from(env(&[("XDG_CACHE_HOME", "/xdg"), ("HOME", "/home/u")])),
            Some(PathBuf::from("/xdg/labelnoise"))
        );
        // A relative or empty XDG_CACHE_HOME is ignored, as the XDG rules say.
        let home = Some(PathBuf::from("/home/u/.cache/labelnoise"));
        assert_eq!(
            cache_dir_from(env(&[("XDG_CACHE_HOME", ""), ("HOME", "/home/u")])),
            home
        );
        assert_eq!(
            cache_dir_from(env(&[("XDG_CACHE_HOME", "relative"), ("HOME", "/home/u")])),
            home
        );
        assert_eq!(cache_dir_from(env(&[("HOME", "")])), None);
        assert_eq!(cache_dir_from(env(&[])), None);
    }

    #[test]
    fn paired_runs_differ_only_in_epsilon() {
        let config = parse(CONFIG, "t.toml").unwrap();
        let prepared = prepare_data(&config).unwrap();
        let specs = expand(&config);
        // Grid order: rate 0.5, seed 1 holds runs 6 (ε = 0) and 7 (ε = 0.4).
        let (hard, soft) = (&specs[6], &specs[7]);
        assert_eq!((hard.noise_rate, hard.seed, soft.seed), (0.5, 1, 1));
        let noise = draw_noise(&config, &prepared, 0.5, 1).unwrap();
        let hard_run = run_one(&config, &prepared, &noise, hard).unwrap();
        let soft_run = run_one(&config, &prepared, &noise, soft).unwrap();
        assert_eq!(
            hard_run.run.realised_noise_rate,
            soft_run.run.realised_noise_rate
        );
        assert_ne!(hard_run.epochs[0].train_loss, soft_run.epochs[0].train_loss);
        // With ε = 0 the loss is plain cross-entropy: rerunning gives the same bits.
        assert_eq!(
            hard_run.epochs,
            run_one(&config, &prepared, &noise, hard).unwrap().epochs
        );
    }
}
