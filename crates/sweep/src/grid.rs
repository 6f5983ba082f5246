//! The experiment grid, stable run ids and seed streams.
//!
//! Every random stream is derived from the experiment seed and a label naming its purpose
//! (`noise-train|symmetric|0.4|2`) by SHA-256, so streams are independent of each other, of the
//! order runs execute in and of the number of threads.

use serde::Serialize;

pub use crate::hashing::{derive_seed, hex_digest};

use reporter::{LossName, Setting};

use crate::config::{
    ClassRef, DataConfig, Experiment, ModelConfig, NoiseModeName, NoiseModelName, NoiseSource,
    PresetName, TrainingConfig,
};

/// Bumped whenever the meaning of a run's results changes for the same settings (training loop,
/// metrics, seed derivation, what a record holds), so stale records are not reused. Version 2
/// records hold the calibration bins and the penultimate projection.
const RUN_FORMAT_VERSION: u32 = 2;

/// One run of the grid.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    /// Position in grid order (rate, then seed, then ε), 0-based.
    pub index: usize,
    /// Nominal noise rate; NaN for a label set, whose rate is measured when its labels are read.
    pub noise_rate: f64,
    /// The label set of a `file` noise model (its noise level); `None` for the other models.
    pub label_set: Option<String>,
    /// Seed index, 0-based.
    pub seed: u64,
    /// The target setting: label smoothing at one ε of `targets.epsilons`, or one entry of
    /// `targets.losses` (forward correction with an empty matrix, filled in by the run).
    pub loss: trainer::Loss,
    /// Stable id: 16 hex digits of the hash of the run's resolved settings.
    pub run_id: String,
}

impl RunSpec {
    /// The run's target setting as its rows write it.
    pub fn setting(&self) -> Setting {
        setting_of(&self.loss)
    }
}

/// The target setting of `loss` as rows write it: its name and its scalar parameters.
pub fn setting_of(loss: &trainer::Loss) -> Setting {
    let name = LossName::parse(loss.name()).expect("every loss name is a column value");
    Setting::new(name, &loss.parameters()).expect("every loss parameter is a column")
}

/// A setting of `targets.losses` as it is hashed into a run id: its name and every parameter,
/// defaults included, so that a changed default changes the ids.
#[derive(Serialize)]
struct LossKey {
    name: &'static str,
    parameters: Vec<(&'static str, f64)>,
}

/// Everything that determines a run's results, hashed into its id.
#[derive(Serialize)]
struct RunSettings<'a> {
    format_version: u32,
    experiment_seed: u64,
    data: &'a DataConfig,
    noise_model: NoiseModelName,
    noise_mode: NoiseModeName,
    corrupt_validation: bool,
    /// The model-specific noise settings, each left out when not given, so the ids of grids of
    /// the first four models are those of the versions before these settings existed.
    #[serde(skip_serializing_if = "Option::is_none")]
    noise_preset: Option<PresetName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    noise_pairs: Option<&'a Vec<Vec<ClassRef>>>,
    /// The matrix itself (also when read from `matrix_file`), so a changed file changes the ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    noise_matrix: Option<&'a [Vec<f64>]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    flip_rate_std: Option<f64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    nested: bool,
    /// The SHA-256 of a labels file (`file`, `matrix_from`) and the label set used.
    #[serde(skip_serializing_if = "Option::is_none")]
    noise_labels: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    label_set: Option<&'a str>,
    /// `None` for a label set, whose level is its name.
    #[serde(skip_serializing_if = "Option::is_none")]
    noise_rate: Option<f64>,
    seed: u64,
    /// ε of label smoothing in `targets.epsilons`; left out for the settings of
    /// `targets.losses`, which hash their loss instead, so the ids of ε runs are those of the
    /// versions before losses existed.
    #[serde(skip_serializing_if = "Option::is_none")]
    epsilon: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    loss: Option<LossKey>,
    model: &'a ModelConfig,
    training: &'a TrainingConfig,
}

/// A slice of the grid for one machine: the `index`-th (1-based) of `count` disjoint slices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which slice, 1 ≤ index ≤ count.
    pub index: usize,
    /// How many slices.
    pub count: usize,
}

impl Shard {
    /// Parses `I/N` with 1 ≤ I ≤ N.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let (index, count) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}` is not of the form I/N (such as 2/4)"))?;
        let parse = |part: &str| {
            part.trim()
                .parse::<usize>()
                .map_err(|_| format!("`{text}`: `{part}` is not a whole number"))
        };
        let (index, count) = (parse(index)?, parse(count)?);
        if count == 0 || index == 0 || index > count {
            return Err(format!(
                "`{text}`: the shard must satisfy 1 ≤ I ≤ N (I counts from 1)"
            ));
        }
        Ok(Shard { index, count })
    }

    /// Whether the run at grid position `grid_index` belongs to this slice. Every run of a grid
    /// costs about the same (same data, model and epochs; ε does not change the cost), so dealing
    /// runs out in grid order, round robin, balances the slices to within one run. The slice of a
    /// run depends only on its grid position, so it is stable under resume.
    pub fn contains(&self, grid_index: usize) -> bool {
        grid_index % self.count == self.index - 1
    }
}

/// The position of `spec`'s noise level (its rate, or its label set) in the experiment's levels;
/// runs of one level and seed share their noisy labels.
pub fn level_index(experiment: &Experiment, spec: &RunSpec) -> usize {
    match (&spec.label_set, experiment.noise.label_sets()) {
        (Some(set), Some(sets)) => sets.iter().position(|s| s == set),
        _ => experiment
            .noise
            .rates
            .iter()
            .position(|&rate| rate == spec.noise_rate),
    }
    .unwrap_or(usize::MAX)
}

/// Expands the grid: noise levels (rates, or label sets) × seeds × target settings (the ε values,
/// then the entries of `targets.losses`), in that nesting order.
///
/// Run ids hash the configuration as written ([`Experiment::written`]), whether the experiment
/// was resolved from its file or from the resolved configuration a `manifest.json` holds, so
/// folders merge whichever form their manifest holds.
pub fn expand(experiment: &Experiment) -> Vec<RunSpec> {
    let config = experiment.written();
    let noise = &experiment.noise;
    let noise_matrix = match &noise.source {
        NoiseSource::Matrix(matrix) => Some(matrix.rows()),
        _ => None,
    };
    let flip_rate_std = match noise.source {
        NoiseSource::Instance { flip_rate_std } => Some(flip_rate_std),
        _ => None,
    };
    let labels = match &noise.source {
        NoiseSource::File(file) | NoiseSource::Estimated(file) => Some(file),
        _ => None,
    };
    let estimated_set = match &noise.source {
        NoiseSource::Estimated(file) => file.sets.first().map(String::as_str),
        _ => None,
    };
    // The noise levels: each rate, or each label set of a `file` model.
    let levels: Vec<(f64, Option<&str>)> = match noise.label_sets() {
        Some(sets) => sets
            .iter()
            .map(|set| (f64::NAN, Some(set.as_str())))
            .collect(),
        None => noise.rates.iter().map(|&rate| (rate, None)).collect(),
    };
    let mut runs = Vec::new();
    for (noise_rate, label_set) in levels {
        for seed in 0..config.seeds {
            let targets = experiment
                .epsilons
                .iter()
                .map(|&epsilon| (trainer::Loss::label_smoothing(epsilon), true))
                .chain(experiment.losses.iter().map(|loss| (loss.clone(), false)));
            for (loss, from_epsilons) in targets {
                let settings = RunSettings {
                    format_version: RUN_FORMAT_VERSION,
                    experiment_seed: config.seed,
                    data: &config.data,
                    noise_model: config.noise.model,
                    noise_mode: config.noise.mode,
                    corrupt_validation: config.noise.corrupt_validation,
                    noise_preset: config.noise.preset,
                    noise_pairs: config.noise.pairs.as_ref(),
                    noise_matrix,
                    flip_rate_std,
                    nested: noise.nested,
                    noise_labels: labels.map(|file| file.digest.as_str()),
                    label_set: label_set.or(estimated_set),
                    noise_rate: label_set.is_none().then_some(noise_rate),
                    seed,
                    epsilon: match &loss {
                        trainer::Loss::LabelSmoothing(smoothing) if from_epsilons => {
                            Some(smoothing.epsilon)
                        }
                        _ => None,
                    },
                    loss: (!from_epsilons).then(|| LossKey {
                        name: loss.name(),
                        parameters: loss.parameters(),
                    }),
                    model: &config.model,
                    training: &config.training,
                };
                runs.push(RunSpec {
                    index: runs.len(),
                    noise_rate,
                    label_set: label_set.map(String::from),
                    seed,
                    run_id: hex_digest(&settings, 16),
                    loss,
                });
            }
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ExperimentConfig, parse};

    const CONFIG: &str = r#"name = "t"
seeds = 2
[data]
source = "digits"
[noise]
model = "symmetric"
rates = [0.0, 0.4]
[targets]
epsilons = [0.0, 0.1, 0.3]
[model]
kind = "logistic"
[training]
epochs = 1
batch_size = 8
optimizer = "sgd"
learning_rate = 0.1
"#;

    #[test]
    fn grid_is_rates_then_seeds_then_epsilons_with_distinct_stable_ids() {
        let config = parse(CONFIG, "t.toml").unwrap();
        let runs = expand(&config.resolve().unwrap());
        assert_eq!(runs.len(), 2 * 2 * 3);
        assert_eq!(
            (runs[4].noise_rate, runs[4].seed, runs[4].setting()),
            (0.0, 1, Setting::smoothing(0.1))
        );
        assert_eq!(
            (runs[6].noise_rate, runs[6].seed, runs[6].setting()),
            (0.4, 0, Setting::HARD)
        );
        let mut ids: Vec<&str> = runs.iter().map(|r| r.run_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), runs.len());
        // Renaming the experiment keeps ids; changing a training setting changes all of them.
        let renamed = parse(&CONFIG.replace("name = \"t\"", "name = \"u\""), "t.toml").unwrap();
        assert_eq!(expand(&renamed.resolve().unwrap()), runs);
        let changed = parse(&CONFIG.replace("epochs = 1", "epochs = 2"), "t.toml").unwrap();
        assert!(
            expand(&changed.resolve().unwrap())
                .iter()
                .zip(&runs)
                .all(|(a, b)| a.run_id != b.run_id)
        );
    }

    #[test]
    fn a_resolved_configuration_keeps_the_run_ids_of_the_file() {
        let config = parse(CONFIG, "t.toml").unwrap();
        let runs = expand(&config.resolve().unwrap());
        let resolved = config.resolved();
        assert!(!resolved.filled_defaults.is_empty());
        assert_eq!(expand(&resolved.resolve().unwrap()), runs);
        // Read back from the JSON of a manifest, as `sweep merge` does.
        let read: ExperimentConfig =
            serde_json::from_value(serde_json::to_value(&resolved).unwrap()).unwrap();
        assert_eq!(expand(&read.resolve().unwrap()), runs);
        // The same defaults written out in the file are other settings as written: other ids,
        // as before resolution existed.
        let explicit = parse(
            &CONFIG.replace(
                "learning_rate = 0.1",
                "learning_rate = 0.1\nnesterov = false",
            ),
            "t.toml",
        )
        .unwrap();
        assert_ne!(
            expand(&explicit.resolve().unwrap())[0].run_id,
            runs[0].run_id
        );
        assert_eq!(
            expand(&explicit.resolved().resolve().unwrap()),
            expand(&explicit.resolve().unwrap())
        );
        // Pinned: a change to what is hashed would retrain every finished run.
        assert_eq!(runs[0].run_id, FIRST_RUN_ID);
    }

    // `sweep list` of CONFIG before resolution existed.
    const FIRST_RUN_ID: &str = "49f4db864f560725";

    #[test]
    fn derived_seeds_are_stable_and_distinct() {
        // Pinned so that a change to the derivation is noticed: it would change every result.
        assert_eq!(derive_seed(0, "init|0"), derive_seed(0, "init|0"));
        assert_ne!(derive_seed(0, "init|0"), derive_seed(0, "init|1"));
        assert_ne!(derive_seed(0, "init|0"), derive_seed(1, "init|0"));
        assert_eq!(format!("{:016x}", derive_seed(7, "split")), SPLIT_SEED_7);
    }

    // python: hashlib.sha256(b"labelnoise-seed-v1|7|split").digest()[:8], little-endian.
    const SPLIT_SEED_7: &str = "db02345e32f618da";

    #[test]
    fn shards_partition_the_grid() {
        for count in 1..6 {
            let shards: Vec<Shard> = (1..=count)
                .map(|index| Shard::parse(&format!("{index}/{count}")).unwrap())
                .collect();
            for grid_index in 0..23 {
                let owners = shards.iter().filter(|s| s.contains(grid_index)).count();
                assert_eq!(owners, 1, "run {grid_index} with {count} shards");
            }
            let sizes: Vec<usize> = shards
                .iter()
                .map(|s| (0..23).filter(|&i| s.contains(i)).count())
                .collect();
            assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
        }
        for bad in ["0/4", "5/4", "1/0", "2", "a/4", "1/-2"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_loss_of_the_trainer_has_a_loss_column_value_and_parameter_columns() {
        for name in trainer::Loss::NAMES {
            let loss = LossName::parse(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(loss.as_str(), name);
        }
        let losses = [
            trainer::Loss::cross_entropy(),
            trainer::Loss::LabelSmoothing(trainer::LabelSmoothing::off_classes(0.2)),
            trainer::Loss::BootstrapSoft(trainer::BootstrapSoft::default()),
            trainer::Loss::BootstrapHard(trainer::BootstrapHard::default()),
            trainer::Loss::Gce(trainer::Gce::default()),
            trainer::Loss::Sce(trainer::Sce::default()),
            trainer::Loss::Focal(trainer::Focal::default()),
            trainer::Loss::ForwardCorrection(trainer::ForwardCorrection::new(Vec::new())),
        ];
        for loss in &losses {
            let setting = setting_of(loss);
            assert_eq!(setting.loss.as_str(), loss.name());
            let columns: Vec<&str> = loss.parameters().iter().map(|(name, _)| *name).collect();
            assert_eq!(setting.loss.parameter_columns(), columns.as_slice());
            assert!(setting.check().is_ok(), "{setting}");
        }
    }
}
