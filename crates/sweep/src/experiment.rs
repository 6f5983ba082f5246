//! Preparing an experiment's data and noise, and training one run of its grid.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::Instant;

use data::{Dataset, Split, SplitParams, Standardizer};
use noise::NoisyLabels;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use reporter::{CalibrationRow, EpochRow, HasSetting, ProjectionRow, RunRow, RunStatusLabel};
use serde::{Deserialize, Serialize};
use trainer::{RunOutcome, RunStatus, TrainData, TrainError, TrainParams, TrainSeeds};

use crate::config::{
    DataFacts, Experiment, ImageFolderTest, NoiseSource, Source as DataSource, failing_rows,
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
    /// For noise read from a labels file (`file`, `matrix_from`): its label sets, in the order
    /// of the experiment's, each a label per row of the original data set; empty otherwise.
    pub label_sets: Vec<Vec<usize>>,
    /// For `matrix_from`: the realised transition matrix of its label set on the training split,
    /// estimated once; `None` otherwise.
    pub estimated: Option<noise::TransitionMatrix>,
}

/// Loads the configured data set, splits it (stratified, by the split seed; sources with their
/// own test split keep it and only carve validation from the training data), reduces the training
/// split to `train_subset` and the validation split to `validation_subset` samples if asked, and
/// standardises all splits with statistics fitted on the training split only.
///
/// The experiment is then checked against the data ([`Experiment::check_data`]): a setting
/// that does not fit them (a CNN on images smaller than 4×4, a subset larger than its split, …)
/// is an error naming the file, line and key ([`data::DataError::Setting`]), and each degenerate
/// setting (ε = 1, a noise rate at which the clean class is no longer the most likely label) is
/// warned about on stderr, once, before anything is trained. `sweep check` and `sweep run` both
/// come through here.
pub fn prepare_data(experiment: &Experiment) -> Result<PreparedData, data::DataError> {
    let (prepared, warnings) = prepare_checked(experiment)?;
    for warning in warnings {
        errln!("warning: {warning}");
    }
    Ok(prepared)
}

/// [`prepare_data`] without printing: the prepared data and the warnings, one line each.
pub fn prepare_checked(
    experiment: &Experiment,
) -> Result<(PreparedData, Vec<String>), data::DataError> {
    let settings = &experiment.data;
    let Source {
        pool,
        test: own_test,
        found_split,
    } = load_source(experiment)?;
    let seed = settings.split_seed;
    // A source with a test split of its own has no test share.
    let test_fraction = settings.test_fraction.unwrap_or(0.0);
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
        class_names: pool.class_names.clone(),
    };
    // The experiment as it will run, every default filled in, is what is checked.
    let warnings = experiment
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
    let label_sets = read_label_sets(experiment, &pool, &split)?;
    let estimated = match &experiment.noise.source {
        NoiseSource::Estimated(_) => label_sets
            .first()
            .and_then(|labels| training_matrix(&pool, &split, labels)),
        _ => None,
    };
    let mut warnings = warnings;
    warnings.extend(label_set_warnings(
        experiment,
        &pool,
        &split,
        &label_sets,
        estimated.as_ref(),
    ));
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
            label_sets,
            estimated,
        },
        warnings,
    ))
}

/// The realised transition matrix of `labels` (a label per row of `pool`) on the training rows.
fn training_matrix(
    pool: &Dataset,
    split: &Split,
    labels: &[usize],
) -> Option<noise::TransitionMatrix> {
    let clean: Vec<usize> = split.train.iter().map(|&row| pool.labels[row]).collect();
    let noisy: Vec<usize> = split.train.iter().map(|&row| labels[row]).collect();
    noise::TransitionMatrix::estimate(&clean, &noisy, pool.n_classes).ok()
}

/// The warnings about label sets read from a file: for `matrix_from`, the rates at which a row
/// of the `estimated` matrix no longer keeps the clean class the most likely label (see
/// [`Experiment::degenerate_matrix_rows`]), as for a given matrix; for `file`, each label set
/// whose labels of some class are another class at least as often as the class itself.
fn label_set_warnings(
    experiment: &Experiment,
    pool: &Dataset,
    split: &Split,
    label_sets: &[Vec<usize>],
    estimated: Option<&noise::TransitionMatrix>,
) -> Vec<String> {
    let found = match (&experiment.noise.source, estimated) {
        (NoiseSource::Estimated(_), Some(matrix)) => {
            experiment.degenerate_matrix_rows(matrix, pool.n_classes)
        }
        (NoiseSource::File(file), _) => label_sets
            .iter()
            .zip(&file.sets)
            .enumerate()
            .filter_map(|(index, (labels, name))| {
                let failing = failing_rows(&training_matrix(pool, split, labels)?);
                if failing.is_empty() {
                    return None;
                }
                let key = if file.npy {
                    "noise.labels_file".to_string()
                } else {
                    format!("noise.columns[{index}]")
                };
                Some((
                    key,
                    format!(
                        "label set \"{name}\" gives the training samples of class{} {} another label at least as often as their own, so for those classes the clean class is no longer the most likely label",
                        if failing.len() == 1 { "" } else { "es" },
                        failing
                            .iter()
                            .map(usize::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ))
            })
            .collect(),
        _ => Vec::new(),
    };
    if found.is_empty() {
        return Vec::new();
    }
    experiment
        .resolved()
        .located(found)
        .to_string()
        .lines()
        .map(String::from)
        .collect()
}

/// The label sets of a `file` or `matrix_from` noise model, checked against the data: one label
/// per sample of the original data set, each a class of the data, and (for `file`) no two sets
/// changing the same share of the training labels, which would put them on one point of the
/// noise axis.
fn read_label_sets(
    experiment: &Experiment,
    pool: &Dataset,
    split: &Split,
) -> Result<Vec<Vec<usize>>, data::DataError> {
    let (file, key) = match &experiment.noise.source {
        NoiseSource::File(file) => (file, "noise.labels_file"),
        NoiseSource::Estimated(file) => (file, "noise.matrix_from"),
        _ => return Ok(Vec::new()),
    };
    let problem = |message: String| {
        data::DataError::Setting(
            experiment
                .resolved()
                .located(vec![(key.to_string(), message)])
                .to_string(),
        )
    };
    let sets = file.read().map_err(problem)?;
    let n = pool.n_samples();
    let k = pool.n_classes;
    let mut rates: Vec<(String, &str)> = Vec::new();
    for (labels, name) in sets.iter().zip(&file.sets) {
        if labels.len() != n {
            return Err(problem(format!(
                "{}: {} rows, but the {} data that the splits are drawn from have {n} samples; \
                 a label file has one row per sample, in the source's order",
                file.path.display(),
                labels.len(),
                experiment.data.source.name()
            )));
        }
        if let Some((row, &label)) = labels.iter().enumerate().find(|&(_, &l)| l >= k) {
            return Err(problem(format!(
                "{}: label set \"{name}\" gives row {row} the label {label}, but the data have {k} classes (0 to {})",
                file.path.display(),
                k - 1
            )));
        }
        let flipped = split
            .train
            .iter()
            .filter(|&&row| labels[row] != pool.labels[row])
            .count();
        let rate = reporter::format_float(flipped as f64 / split.train.len().max(1) as f64);
        if let Some((_, other)) = rates.iter().find(|(r, _)| *r == rate) {
            return Err(problem(format!(
                "label sets \"{other}\" and \"{name}\" both change {rate} of the training labels, so they would be one point of the noise axis; compare them in two experiments"
            )));
        }
        rates.push((rate, name));
    }
    Ok(sets)
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
fn load_source(experiment: &Experiment) -> Result<Source, data::DataError> {
    let (pool, test) = match &experiment.data.source {
        DataSource::Digits => (data::digits()?, None),
        DataSource::Blobs(params) => (data::blobs(params)?, None),
        DataSource::Idx {
            folder,
            files,
            n_classes,
        } => {
            // A file neither given nor found: searching again says which standard name is missing.
            let files = match files {
                [Some(a), Some(b), Some(c), Some(d)] => {
                    [a.clone(), b.clone(), c.clone(), d.clone()]
                }
                _ => {
                    let found = data::find_idx_files(folder)?;
                    [
                        found.train_images,
                        found.train_labels,
                        found.test_images,
                        found.test_labels,
                    ]
                }
            };
            let name = folder
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "idx".into());
            let train = data::load_idx(&files[0], &files[1], *n_classes, &name)?;
            let test = data::load_idx(&files[2], &files[3], *n_classes, &name)?;
            (train, Some(test))
        }
        DataSource::Cifar10 { folder } => {
            let (train, test) = data::load_cifar10(folder)?;
            (train, Some(test))
        }
        DataSource::Cifar100 { folder, labels } => {
            let (train, test) = data::load_cifar100(folder, *labels)?;
            (train, Some(test))
        }
        DataSource::Csv { file, label_column } => (data::load_csv_table(file, label_column)?, None),
        DataSource::ImageFolder {
            root,
            test,
            size,
            grayscale,
        } => return load_image_folder(root, test, *size, *grayscale),
    };
    Ok(Source::new(pool, test))
}

/// Reads an image folder: `root/<class>/…` alone (the test split is then a share of it), or with
/// its own test split, from `test_path` or from the `train`/`test` (or `training_set`/`test_set`)
/// sub-folders of `root`. Every folder goes through the image cache.
fn load_image_folder(
    root: &Path,
    test: &ImageFolderTest,
    [width, height]: [u32; 2],
    grayscale: bool,
) -> Result<Source, data::DataError> {
    let cache_dir = image_cache_dir();
    let note = |loaded: &data::CachedImageFolder| {
        if let data::CacheStatus::NotStored(reason) = &loaded.cache {
            note_uncached(reason);
        }
    };
    let (train_root, test_root, found_split) = match test {
        ImageFolderTest::Path(test) => (root.to_path_buf(), test.clone(), None),
        ImageFolderTest::Found(split) => {
            (split.train.clone(), split.test.clone(), Some(split.clone()))
        }
        ImageFolderTest::Share => {
            let loaded = data::load_image_folder_cached(
                root,
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

/// The noisy labels shared by every target setting at one (noise rate, seed): the heart of the paired design.
#[derive(Debug, Clone)]
pub struct GroupNoise {
    /// Noisy training labels.
    pub train: NoisyLabels,
    /// Noisy validation labels (equal to the clean ones when validation is not corrupted).
    pub validation: NoisyLabels,
    /// The transition matrix the training labels were drawn from (rows = clean class), which
    /// forward correction corrects with; `None` for noise without one (instance-dependent, or
    /// read from a file).
    pub transition: Option<noise::TransitionMatrix>,
}

/// Draws the noisy training and validation labels of (noise rate, seed), each from its own stream.
/// The test split is never touched.
pub fn draw_noise(
    experiment: &Experiment,
    prepared: &PreparedData,
    noise_rate: f64,
    label_set: Option<&str>,
    seed: u64,
) -> anyhow::Result<GroupNoise> {
    let settings = &experiment.noise;
    let name = settings.name();
    let draw = |split: &str, data: &Dataset, rows: &[usize]| -> anyhow::Result<NoisyLabels> {
        // Nested draws share one stream across the rates of a seed; otherwise every rate has
        // its own.
        let label = if settings.nested {
            format!("noise-{split}|{name}|nested|{seed}")
        } else {
            format!("noise-{split}|{name}|{noise_rate:?}|{seed}")
        };
        let mut rng = ChaCha8Rng::seed_from_u64(derive_seed(experiment.seed, &label));
        let k = data.n_classes;
        let matrix = match &settings.source {
            NoiseSource::Instance { flip_rate_std } => {
                // ρ = 0 is the clean baseline of the curve (a truncated normal around 0 would
                // still flip about 8% of the labels).
                if noise_rate == 0.0 {
                    return Ok(NoisyLabels::from_pair(
                        &data.labels,
                        data.labels.clone(),
                        k,
                    )?);
                }
                let params = noise::InstanceNoiseParams {
                    rate: noise_rate,
                    flip_rate_std: *flip_rate_std,
                };
                return Ok(noise::inject_instance(
                    &data.labels,
                    k,
                    &data.features,
                    data.n_features,
                    &params,
                    &mut rng,
                )?);
            }
            NoiseSource::File(file) => {
                let index = label_set
                    .and_then(|set| file.sets.iter().position(|s| s == set))
                    .ok_or_else(|| anyhow::anyhow!("no label set {label_set:?} in the file"))?;
                let labels = prepared
                    .label_sets
                    .get(index)
                    .ok_or_else(|| anyhow::anyhow!("the label sets were not read"))?;
                let noisy = rows.iter().map(|&row| labels[row]).collect();
                return Ok(NoisyLabels::from_pair(&data.labels, noisy, k)?);
            }
            _ => noise_transition(experiment, prepared, noise_rate, data)?
                .ok_or_else(|| anyhow::anyhow!("the noise has no transition matrix"))?,
        };
        Ok(if settings.nested {
            noise::inject_nested(&data.labels, &matrix, settings.mode, &mut rng)?
        } else {
            noise::inject_matrix(&data.labels, &matrix, settings.mode, &mut rng)?
        })
    };
    let validation = &prepared.validation;
    Ok(GroupNoise {
        transition: noise_transition(experiment, prepared, noise_rate, &prepared.train)?,
        train: draw("train", &prepared.train, &prepared.split.train)?,
        validation: if settings.corrupt_validation {
            draw("validation", validation, &prepared.split.validation)?
        } else {
            NoisyLabels::from_pair(
                &validation.labels,
                validation.labels.clone(),
                validation.n_classes,
            )?
        },
    })
}

/// `$row { … }`, a row type with setting columns, with the `loss` and parameter columns of
/// `$setting` (a [`reporter::Setting`]) and the other fields as given.
macro_rules! with_setting {
    ($setting:expr, $row:ident { $($fields:tt)* }) => {{
        let setting: reporter::Setting = $setting;
        let [epsilon, alpha, beta, q, gamma, log_zero] = setting.parameters;
        $row {
            loss: setting.loss,
            epsilon,
            alpha,
            beta,
            q,
            gamma,
            log_zero,
            $($fields)*
        }
    }};
}

/// The transition matrix (rows = clean class) that noise of `noise_rate` draws the labels of
/// `data` from; `None` for noise without one: instance-dependent noise and labels read from a
/// file.
fn noise_transition(
    experiment: &Experiment,
    prepared: &PreparedData,
    noise_rate: f64,
    data: &Dataset,
) -> anyhow::Result<Option<noise::TransitionMatrix>> {
    let source = &experiment.noise.source;
    if matches!(source, NoiseSource::Estimated(_)) && prepared.estimated.is_none() {
        anyhow::bail!("the label set was not read");
    }
    source
        .transition(
            noise_rate,
            data.n_classes,
            &data.class_names,
            prepared.estimated.as_ref(),
        )
        .map_err(anyhow::Error::msg)
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

/// The loss `spec` trains with: its setting, forward correction with the transition matrix of
/// its group's noise.
fn run_loss(spec: &RunSpec, noise: &GroupNoise) -> Result<trainer::Loss, TrainError> {
    let mut loss = spec.loss.clone();
    if let trainer::Loss::ForwardCorrection(forward) = &mut loss {
        let matrix = noise.transition.as_ref().ok_or_else(|| {
            TrainError::Invalid(
                "forward correction needs the transition matrix of the noise, and this noise has none"
                    .into(),
            )
        })?;
        forward.transition = matrix.rows().to_vec();
    }
    Ok(loss)
}

/// Trains the run `spec` on `prepared` with the noisy labels of its group.
pub fn run_one(
    experiment: &Experiment,
    prepared: &PreparedData,
    noise: &GroupNoise,
    spec: &RunSpec,
) -> Result<RunRecord, TrainError> {
    let started = Instant::now();
    let params = TrainParams {
        model: experiment.model.clone(),
        optimizer: experiment.training.optimizer.clone(),
        schedule: experiment.training.schedule,
        epochs: experiment.training.epochs,
        batch_size: experiment.training.batch_size,
        loss: run_loss(spec, noise)?,
        warmup_epochs: experiment.training.warmup_epochs,
        device: trainer::Device::Cpu,
        project_classes: projected_classes(experiment, &prepared.test, spec),
    };
    // Initial weights and batch order depend on the seed index alone, so every setting (and
    // every noise rate) of one seed starts from the same weights and sees the same batches.
    let seeds = TrainSeeds {
        init: derive_seed(experiment.seed, &format!("init|{}", spec.seed)),
        order: derive_seed(experiment.seed, &format!("order|{}", spec.seed)),
    };
    let data = TrainData {
        train: &prepared.train,
        train_noisy: &noise.train.labels,
        validation: &prepared.validation,
        validation_noisy: &noise.validation.labels,
        test: &prepared.test,
    };
    let outcome = trainer::train(&data, &params, seeds)?;
    let (run, epochs) = rows(experiment, spec, noise, &outcome);
    let calibration = calibration_rows(&run, &outcome.test_calibration);
    let projection = outcome
        .projection
        .iter()
        .flatten()
        .map(|point| {
            with_setting!(
                run.setting(),
                ProjectionRow {
                    run_id: run.run_id.clone(),
                    noise_model: run.noise_model.clone(),
                    noise_rate: run.noise_rate,
                    seed: run.seed,
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
                }
            )
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
    experiment: &Experiment,
    noise: Option<&GroupNoise>,
    spec: &RunSpec,
    message: String,
    seconds: f64,
) -> RunRecord {
    let setting = spec.setting();
    RunRecord {
        run: with_setting!(
            setting,
            RunRow {
                run_id: spec.run_id.clone(),
                noise_model: experiment.noise.name().to_string(),
                noise_rate: level_rate(spec, noise),
                label_set: spec.label_set.clone(),
                seed: spec.seed,
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
            }
        ),
        epochs: Vec::new(),
        calibration: Vec::new(),
        projection: Vec::new(),
        seconds,
        training_seconds: 0.0,
    }
}

/// The noise rate a run's rows carry: the nominal rate, or for a label set the share of training
/// labels it changes (NaN when its labels were never read).
pub fn level_rate(spec: &RunSpec, noise: Option<&GroupNoise>) -> f64 {
    match (&spec.label_set, noise) {
        (None, _) => spec.noise_rate,
        (Some(_), Some(noise)) => noise.train.realised_rate(),
        (Some(_), None) => f64::NAN,
    }
}

/// The classes whose penultimate-layer projection a run records: the first three, for the first
/// seed of an MLP with a hidden layer on three or more classes (as in Müller et al. 2019, one
/// seed is enough to see the clusters; the projection costs one forward pass).
fn projected_classes(
    experiment: &Experiment,
    test: &Dataset,
    spec: &RunSpec,
) -> Option<[usize; 3]> {
    let has_hidden_layer =
        matches!(&experiment.model, trainer::ModelKind::Mlp { hidden } if !hidden.is_empty());
    (spec.seed == 0 && has_hidden_layer && test.n_classes >= 3).then_some([0, 1, 2])
}

/// The `calibration.csv` rows of a run: one per confidence bin, with the bin's edges.
fn calibration_rows(run: &RunRow, bins: &[trainer::CalibrationBin]) -> Vec<CalibrationRow> {
    let n_bins = bins.len() as f64;
    bins.iter()
        .enumerate()
        .map(|(index, bin)| {
            let occupied = bin.count > 0;
            with_setting!(
                run.setting(),
                CalibrationRow {
                    run_id: run.run_id.clone(),
                    noise_model: run.noise_model.clone(),
                    noise_rate: run.noise_rate,
                    seed: run.seed,
                    bin: index,
                    confidence_low: index as f64 / n_bins,
                    confidence_high: (index + 1) as f64 / n_bins,
                    count: bin.count as u64,
                    mean_confidence: occupied.then(|| bin.confidence_sum / bin.count as f64),
                    accuracy: occupied.then(|| bin.correct as f64 / bin.count as f64),
                }
            )
        })
        .collect()
}

/// Turns a training outcome into report rows.
fn rows(
    experiment: &Experiment,
    spec: &RunSpec,
    noise: &GroupNoise,
    outcome: &RunOutcome,
) -> (RunRow, Vec<EpochRow>) {
    let noise_model = experiment.noise.name().to_string();
    let noise_rate = level_rate(spec, Some(noise));
    let setting = spec.setting();
    let epochs: Vec<EpochRow> = outcome
        .epochs
        .iter()
        .map(|e| {
            with_setting!(
                setting,
                EpochRow {
                    run_id: spec.run_id.clone(),
                    noise_model: noise_model.clone(),
                    noise_rate,
                    seed: spec.seed,
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
                }
            )
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
    let run = with_setting!(
        setting,
        RunRow {
            run_id: spec.run_id.clone(),
            noise_model,
            noise_rate,
            label_set: spec.label_set.clone(),
            seed: spec.seed,
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
        }
    );
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
        let experiment = parse(CONFIG, "t.toml").unwrap().resolve().unwrap();
        let prepared = prepare_data(&experiment).unwrap();
        let a = draw_noise(&experiment, &prepared, 0.5, None, 1).unwrap();
        let b = draw_noise(&experiment, &prepared, 0.5, None, 1).unwrap();
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
            draw_noise(&experiment, &prepared, 0.5, None, 0)
                .unwrap()
                .train
                .labels
        );
        // The test split keeps its clean labels: nothing in GroupNoise covers it, and its size
        // and classes are those of the split.
        assert_eq!(prepared.test.labels.len(), prepared.split.test.len());

        let mut clean_validation = experiment.clone();
        clean_validation.noise.corrupt_validation = false;
        let c = draw_noise(&clean_validation, &prepared, 0.5, None, 1).unwrap();
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
            let experiment = parse(&text, "t.toml").unwrap().resolve().unwrap();
            let prepared = prepare_data(&experiment).unwrap();
            // The splits as copies of the pool's rows, standardised with the training statistics.
            let pool = load_source(&experiment).unwrap().pool;
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
        let experiment = parse(CONFIG, "t.toml").unwrap().resolve().unwrap();
        let prepared = prepare_data(&experiment).unwrap();
        let specs = expand(&experiment);
        // Grid order: rate 0.5, seed 1 holds runs 6 (ε = 0) and 7 (ε = 0.4).
        let (hard, soft) = (&specs[6], &specs[7]);
        assert_eq!((hard.noise_rate, hard.seed, soft.seed), (0.5, 1, 1));
        let noise = draw_noise(&experiment, &prepared, 0.5, None, 1).unwrap();
        let hard_run = run_one(&experiment, &prepared, &noise, hard).unwrap();
        let soft_run = run_one(&experiment, &prepared, &noise, soft).unwrap();
        assert_eq!(
            hard_run.run.realised_noise_rate,
            soft_run.run.realised_noise_rate
        );
        assert_ne!(hard_run.epochs[0].train_loss, soft_run.epochs[0].train_loss);
        // With ε = 0 the loss is plain cross-entropy: rerunning gives the same bits.
        assert_eq!(
            hard_run.epochs,
            run_one(&experiment, &prepared, &noise, hard)
                .unwrap()
                .epochs
        );
    }

    /// The digits with `noise` as the `[noise]` table.
    fn digits_with(noise: &str) -> Experiment {
        let text = CONFIG
            .replace(
                "source = \"blobs\"\nn_classes = 3\nn_samples = 120",
                "source = \"digits\"",
            )
            .replace("model = \"symmetric\"\nrates = [0.0, 0.5]", noise);
        parse(&text, "t.toml").unwrap().resolve().unwrap()
    }

    #[test]
    fn every_noise_model_draws_its_defining_labels_on_the_digits() {
        let flips = |noise: &GroupNoise| -> Vec<(usize, usize)> {
            noise
                .train
                .transitions
                .iter()
                .enumerate()
                .flat_map(|(c, row)| {
                    row.iter()
                        .enumerate()
                        .filter(move |&(j, &n)| j != c && n > 0)
                        .map(move |(j, _)| (c, j))
                })
                .collect()
        };
        // The MNIST preset sends 2→7, 3→8, 5↔6, 7→1 and nothing else; by name, pairs do the same.
        for noise in [
            "model = \"asymmetric\"\npreset = \"mnist\"\nrates = [0.2, 0.4]\nnested = true",
            "model = \"asymmetric\"\npairs = [[\"2\", \"7\"], [3, 8], [5, 6], [6, 5], [7, 1]]\nrates = [0.2, 0.4]\nnested = true",
        ] {
            let experiment = digits_with(noise);
            let prepared = prepare_data(&experiment).unwrap();
            let low = draw_noise(&experiment, &prepared, 0.2, None, 0).unwrap();
            let high = draw_noise(&experiment, &prepared, 0.4, None, 0).unwrap();
            assert_eq!(
                flips(&high),
                [(2, 7), (3, 8), (5, 6), (6, 5), (7, 1)],
                "{noise}"
            );
            // Nested: every sample flipped at 0.2 is flipped, to the same label, at 0.4.
            for (i, &flipped) in low.train.flipped.iter().enumerate() {
                if flipped {
                    assert!(high.train.flipped[i]);
                    assert_eq!(low.train.labels[i], high.train.labels[i]);
                }
            }
            assert!(low.train.n_flipped() < high.train.n_flipped());
        }
        // A matrix at scale 1 is realised exactly in count mode.
        let experiment = digits_with(
            "model = \"matrix\"\nmatrix_file = \"../../experiments/matrices/digits.csv\"\nrates = [1.0]",
        );
        let prepared = prepare_data(&experiment).unwrap();
        let noise = draw_noise(&experiment, &prepared, 1.0, None, 0).unwrap();
        let NoiseSource::Matrix(matrix) = &experiment.noise.source else {
            panic!("a matrix source");
        };
        for (c, row) in noise.train.transitions.iter().enumerate() {
            let n: usize = row.iter().sum();
            let kept = (n as f64 - (n as f64 * (1.0 - matrix.row(c)[c])).round()) as usize;
            assert_eq!(row[c], kept, "class {c}");
        }
        // Instance-dependent noise: ρ = 0 is clean; at ρ = 0.3 no flip lands on the clean class
        // (every flip changes the label) and the realised rate is near ρ.
        let experiment = digits_with("model = \"instance\"\nrates = [0.0, 0.3]");
        let prepared = prepare_data(&experiment).unwrap();
        assert_eq!(
            draw_noise(&experiment, &prepared, 0.0, None, 0)
                .unwrap()
                .train
                .n_flipped(),
            0
        );
        let noise = draw_noise(&experiment, &prepared, 0.3, None, 0).unwrap();
        assert!(
            (noise.train.realised_rate() - 0.3).abs() < 0.04,
            "{}",
            noise.train.realised_rate()
        );
        for (i, &flipped) in noise.train.flipped.iter().enumerate() {
            assert_eq!(flipped, noise.train.labels[i] != prepared.train.labels[i]);
        }
    }

    #[test]
    fn a_labels_file_that_does_not_fit_the_data_is_refused_with_file_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, rows: usize, label: &dyn Fn(usize) -> String| {
            let path = dir.path().join(name);
            let mut text = String::from("row,a,b\n");
            for row in 0..rows {
                text.push_str(&format!("{row},{}\n", label(row)));
            }
            std::fs::write(&path, text).unwrap();
            path.display().to_string()
        };
        let refused = |path: &str| {
            let experiment = digits_with(&format!(
                "model = \"file\"\nlabels_file = \"{path}\"\ncolumns = [\"a\", \"b\"]"
            ));
            prepare_data(&experiment).unwrap_err().to_string()
        };
        let short = write("short.csv", 100, &|row| {
            format!("{},{}", row % 10, row % 10)
        });
        assert!(
            refused(&short).ends_with("100 rows, but the digits data that the splits are drawn from have 1797 samples; a label file has one row per sample, in the source's order"),
            "{}",
            refused(&short)
        );
        let wide = write("wide.csv", 1797, &|row| {
            format!("{},{}", row % 10, if row == 5 { 12 } else { 1 })
        });
        assert!(
            refused(&wide).contains(
                "label set \"b\" gives row 5 the label 12, but the data have 10 classes (0 to 9)"
            ),
            "{}",
            refused(&wide)
        );
        // Two sets that change the same share of the training labels would be one point.
        let same = write("same.csv", 1797, &|_| "3,3".to_string());
        assert!(
            refused(&same).contains("label sets \"a\" and \"b\" both change"),
            "{}",
            refused(&same)
        );
        assert!(refused(&same).starts_with("t.toml:"), "{}", refused(&same));
    }

    #[test]
    fn an_estimated_matrix_that_keeps_a_class_below_another_is_warned_about() {
        // A label set that gives 3 of every 5 digits "3" the label 5: its estimated row 3 keeps
        // about 0.4 and sends about 0.6 to 5, so at scale 1 (not at 0.5) 5 is the likelier label.
        let clean = data::digits().unwrap().labels;
        let mut text = String::from("row,a\n");
        let mut threes = 0;
        for (row, &label) in clean.iter().enumerate() {
            let given = if label == 3 {
                threes += 1;
                if threes % 5 < 3 { 5 } else { 3 }
            } else {
                label
            };
            text.push_str(&format!("{row},{given}\n"));
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("labels.csv");
        std::fs::write(&path, text).unwrap();
        let experiment = digits_with(&format!(
            "model = \"matrix\"\nmatrix_from = \"{}\"\ncolumn = \"a\"\nrates = [0.5, 1.0]",
            path.display()
        ));
        let (_, warnings) = prepare_checked(&experiment).unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with("t.toml:")
                && warnings[0].contains("noise.rates[1]: ρ = 1: in the row of clean class 3 "),
            "{warnings:?}"
        );
        // The same labels given as a label set: one warning, naming the set and the class.
        let experiment = digits_with(&format!(
            "model = \"file\"\nlabels_file = \"{}\"\ncolumns = [\"a\"]",
            path.display()
        ));
        let (_, warnings) = prepare_checked(&experiment).unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("noise.columns[0]: label set \"a\" gives the training samples of class 3 another label"),
            "{warnings:?}"
        );
    }
}
