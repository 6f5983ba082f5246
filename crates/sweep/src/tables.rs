//! The per-run tables and their aggregates: writing `runs.csv`, `epochs.csv`, `calibration.csv`
//! and `penultimate.csv` from records and reading them back, checked, and computing and writing
//! `summary.csv`, `paired.csv`, `best_epsilon.csv` and `auc.csv` from them.
//!
//! A sweep writes the per-run tables from its records, reads them back and builds the rest from
//! what it read; `sweep report DIR` reads the same files. So both give the same bytes, and a
//! merged or edited result set can be re-reported.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use reporter::{
    AucRow, BestEpsilonRow, BestLossRow, CalibrationRow, CsvRow, EpochRow, HasSetting, PairedRow,
    ProjectionRow, RunRow, SummaryRow, TransitionRow, format_float, read_csv, write_csv,
};

use crate::config::ExperimentConfig;
use crate::experiment::RunRecord;
use crate::results::{
    AUC, BEST_EPSILON, BEST_LOSS, CALIBRATION, EPOCHS, MANIFEST, NOISY_LABELS, PAIRED, PENULTIMATE,
    RUNS, SUMMARY, TRANSITIONS, noisy_labels_file, write_atomic,
};

/// A results file that cannot be read: a usage error (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ReportInputError(pub anyhow::Error);

/// The per-run tables every aggregate is computed from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResultTables {
    /// `runs.csv`.
    pub runs: Vec<RunRow>,
    /// `epochs.csv`.
    pub epochs: Vec<EpochRow>,
    /// `calibration.csv`.
    pub calibration: Vec<CalibrationRow>,
    /// `penultimate.csv`.
    pub projections: Vec<ProjectionRow>,
}

impl ResultTables {
    /// The tables of `records`, in the given order.
    pub fn from_records(records: &[&RunRecord]) -> ResultTables {
        ResultTables {
            runs: records.iter().map(|r| r.run.clone()).collect(),
            epochs: records.iter().flat_map(|r| r.epochs.clone()).collect(),
            calibration: records.iter().flat_map(|r| r.calibration.clone()).collect(),
            projections: records.iter().flat_map(|r| r.projection.clone()).collect(),
        }
    }

    /// Writes the four tables into `dir` (each atomically) and returns them as read back from the
    /// bytes written, with floats rounded as in the files, and checked as `sweep report` checks
    /// them (see [`ResultTables::read`]), except that a sweep may write a table without runs (a
    /// shard with no run of the grid).
    pub fn write(&self, dir: &Path) -> Result<ResultTables> {
        let identity = RunIdentity::of(dir);
        let runs = write_table(dir, RUNS, &self.runs)?;
        let runs = reporter::read_csv_lines(runs.as_slice(), RUNS)?;
        reporter::check_runs(&runs, RUNS, |run| identity.check(run))?;
        let epochs = write_table(dir, EPOCHS, &self.epochs)?;
        let epochs = reporter::read_csv_lines(epochs.as_slice(), EPOCHS)?;
        reporter::check_epochs(&epochs, EPOCHS)?;
        Ok(ResultTables {
            runs: rows(runs),
            epochs: rows(epochs),
            calibration: write_and_reread(dir, CALIBRATION, &self.calibration)?,
            projections: write_and_reread(dir, PENULTIMATE, &self.projections)?,
        })
    }

    /// Reads the tables of a results folder: `runs.csv` and `epochs.csv` must exist;
    /// `calibration.csv` and `penultimate.csv` are optional (without them, the charts that need
    /// them are left out). Refuses, naming the file and the line, what a sweep could not have
    /// written: no runs, a run listed twice, an accuracy or share outside [0, 1], a `run_id`
    /// that is not the id the configuration in `manifest.json` gives the row's settings, an
    /// epoch listed twice.
    pub fn read(dir: &Path) -> Result<ResultTables, ReportInputError> {
        let identity = RunIdentity::of(dir);
        let runs_path = dir.join(RUNS);
        let runs_file = runs_path.display().to_string();
        let runs: Vec<(u64, RunRow)> = read_table(dir, RUNS, true)?;
        let input = |error: reporter::ReportError| ReportInputError(error.into());
        if runs.is_empty() {
            return Err(input(reporter::ReportError::Input {
                file: runs_file,
                line: 1,
                message: "no runs: the file has a header and no rows, and a sweep writes every \
                          run it has a record of, so there is nothing to report"
                    .into(),
            }));
        }
        reporter::check_runs(&runs, &runs_file, |run| identity.check(run)).map_err(input)?;
        let epochs: Vec<(u64, EpochRow)> = read_table(dir, EPOCHS, true)?;
        reporter::check_epochs(&epochs, &dir.join(EPOCHS).display().to_string()).map_err(input)?;
        Ok(ResultTables {
            runs: rows(runs),
            epochs: rows(epochs),
            calibration: rows(read_table(dir, CALIBRATION, false)?),
            projections: rows(read_table(dir, PENULTIMATE, false)?),
        })
    }
}

/// The run ids the configuration in a folder's `manifest.json` gives each (noise rate, seed, ε)
/// of its grid, computed by [`grid::expand`](crate::grid::expand), so a `runs.csv` row whose id
/// does not match its settings is refused. Without a readable configuration nothing is checked.
struct RunIdentity {
    /// The configuration's noise model name, and its run ids by (rate, seed, ε) as written in
    /// the CSVs (6 decimals); `None` without a configuration.
    grid: Option<(String, GridIds)>,
}

/// A noise level as [`GridIds`] keys it: the label set's name, or the rate as the CSVs write it.
fn level_key(label_set: Option<&str>, rate: f64) -> String {
    match label_set {
        Some(set) => format!("labels:{set}"),
        None => format_float(rate),
    }
}

/// Run ids by (noise level, seed, ε), the rate and ε formatted as in the CSVs.
type GridIds = HashMap<(String, u64, Vec<String>), String>;

impl RunIdentity {
    fn of(dir: &Path) -> RunIdentity {
        let path = dir.join(MANIFEST);
        let Ok(bytes) = fs::read(&path) else {
            // No manifest: `read_context` warns about it; there is nothing to check ids against.
            return RunIdentity { grid: None };
        };
        let config = serde_json::from_slice::<serde_json::Value>(&bytes)
            .map_err(anyhow::Error::new)
            .and_then(|manifest| {
                let config = manifest
                    .get("config")
                    .cloned()
                    .ok_or_else(|| anyhow::anyhow!("no `config`"))?;
                Ok(serde_json::from_value::<ExperimentConfig>(config)?.resolve()?)
            });
        match config {
            Ok(experiment) => {
                let ids = crate::grid::expand(&experiment)
                    .into_iter()
                    .map(|spec| {
                        let key = (
                            level_key(spec.label_set.as_deref(), spec.noise_rate),
                            spec.seed,
                            spec.setting().cells(),
                        );
                        (key, spec.run_id)
                    })
                    .collect();
                let model = experiment.noise.name().to_string();
                RunIdentity {
                    grid: Some((model, ids)),
                }
            }
            Err(error) => {
                errln!(
                    "warning: {}: no configuration to check run ids against ({error})",
                    path.display()
                );
                RunIdentity { grid: None }
            }
        }
    }

    /// `Ok` when `run`'s id is the one its settings give under the configuration (or there is no
    /// configuration); otherwise what is wrong.
    fn check(&self, run: &RunRow) -> Result<(), String> {
        let Some((model, ids)) = &self.grid else {
            return Ok(());
        };
        let level = match &run.label_set {
            Some(set) => format!("label set {set}"),
            None => format!("noise rate {}", run.noise_rate),
        };
        let settings = format!("{level}, seed {}, {}", run.seed, run.setting().label());
        if &run.noise_model != model {
            return Err(format!(
                "noise_model `{}` is not the noise model of the configuration in {MANIFEST} \
                 (`{model}`)",
                run.noise_model
            ));
        }
        let key = (
            level_key(run.label_set.as_deref(), run.noise_rate),
            run.seed,
            run.setting().cells(),
        );
        match ids.get(&key) {
            None => Err(format!(
                "run `{}` ({settings}) is not in the grid of the configuration in {MANIFEST}",
                run.run_id
            )),
            Some(expected) if expected != &run.run_id => Err(format!(
                "run_id `{}` does not match its settings ({settings}): the configuration in \
                 {MANIFEST} gives that run the id `{expected}`",
                run.run_id
            )),
            Some(_) => Ok(()),
        }
    }
}

/// The rows of `lines` without their line numbers.
fn rows<R>(lines: Vec<(u64, R)>) -> Vec<R> {
    lines.into_iter().map(|(_, row)| row).collect()
}

fn write_and_reread<R: CsvRow + serde::de::DeserializeOwned>(
    dir: &Path,
    name: &str,
    rows: &[R],
) -> Result<Vec<R>> {
    let bytes = write_table(dir, name, rows)?;
    Ok(read_csv(bytes.as_slice(), name)?)
}

/// The rows of table `name` in `dir` with their lines; a missing optional table has none.
fn read_table<R: CsvRow + serde::de::DeserializeOwned>(
    dir: &Path,
    name: &str,
    required: bool,
) -> Result<Vec<(u64, R)>, ReportInputError> {
    let path = dir.join(name);
    match fs::File::open(&path) {
        Ok(file) => {
            reporter::read_csv_lines(std::io::BufReader::new(file), &path.display().to_string())
                .map_err(|e| ReportInputError(e.into()))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && !required => Ok(Vec::new()),
        Err(error) => Err(ReportInputError(
            anyhow::Error::new(error).context(format!("reading {}", path.display())),
        )),
    }
}

/// The aggregate tables.
#[derive(Debug, Clone)]
pub struct Aggregates {
    /// `summary.csv`.
    pub summary: Vec<SummaryRow>,
    /// `paired.csv`.
    pub paired: Vec<PairedRow>,
    /// `best_epsilon.csv`.
    pub best: Vec<BestEpsilonRow>,
    /// `best_loss.csv`.
    pub losses: Vec<BestLossRow>,
    /// `auc.csv`.
    pub areas: Vec<AucRow>,
    /// The label sets the rates stand for, when the noise was read from a file.
    pub levels: reporter::NoiseLevels,
}

impl Aggregates {
    /// Computes every aggregate from the runs.
    pub fn of(runs: &[RunRow]) -> Aggregates {
        let summary = reporter::summarise(runs);
        let paired = reporter::paired_differences(runs);
        let best = reporter::best_epsilons(&summary, &paired);
        let losses = reporter::best_losses(&summary, &paired, &best);
        Aggregates {
            losses,
            areas: reporter::areas_under_curves(runs),
            levels: reporter::NoiseLevels::from_runs(runs),
            summary,
            paired,
            best,
        }
    }

    /// Writes `summary.csv`, `paired.csv`, `best_epsilon.csv`, `best_loss.csv` and `auc.csv`
    /// into `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        write_table(dir, SUMMARY, &self.summary)?;
        write_table(dir, PAIRED, &self.paired)?;
        write_table(dir, BEST_EPSILON, &self.best)?;
        write_table(dir, BEST_LOSS, &self.losses)?;
        write_table(dir, AUC, &self.areas)?;
        Ok(())
    }
}

/// Writes `rows` as the CSV file `name` in `dir` (atomically) and returns the bytes written.
fn write_table<R: CsvRow>(dir: &Path, name: &str, rows: &[R]) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    write_csv(&mut bytes, rows).with_context(|| format!("formatting {name}"))?;
    write_atomic(&dir.join(name), &bytes)?;
    Ok(bytes)
}

/// The realised transition counts of every (noise model, rate, seed) group of `runs`, read from
/// the group's file in `noisy-labels/`: ordered by model (first appearance), rate, seed, split
/// (training, then validation), clean class and noisy class, non-zero counts only. A group whose
/// file is missing (a folder whose noisy labels were removed) has no rows; the folders
/// `merge` writes carry their inputs' files.
pub fn transitions(dir: &Path, runs: &[RunRow]) -> Result<Vec<TransitionRow>> {
    let mut models: Vec<&str> = Vec::new();
    for run in runs {
        if !models.contains(&run.noise_model.as_str()) {
            models.push(&run.noise_model);
        }
    }
    let mut groups: Vec<(usize, f64, u64)> = runs
        .iter()
        .map(|run| {
            let model = models.iter().position(|&m| m == run.noise_model);
            (model.unwrap_or(usize::MAX), run.noise_rate, run.seed)
        })
        .collect();
    groups.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.cmp(&b.2)));
    groups.dedup();
    let mut rows = Vec::new();
    for (model, rate, seed) in groups {
        let model = models[model];
        let path = dir
            .join(NOISY_LABELS)
            .join(noisy_labels_file(model, rate, seed));
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        let mut counts: std::collections::BTreeMap<(u8, usize, usize), u64> = Default::default();
        for (index, line) in text.lines().enumerate().skip(1) {
            let fields: Vec<&str> = line.split(',').collect();
            let parsed = match fields.as_slice() {
                [split, _row, clean, noisy, _flipped] => {
                    let split = match *split {
                        "train" => Some(0u8),
                        "validation" => Some(1u8),
                        _ => None,
                    };
                    split
                        .zip(clean.parse::<usize>().ok())
                        .zip(noisy.parse::<usize>().ok())
                }
                _ => None,
            };
            let Some(((split, clean), noisy)) = parsed else {
                return Err(ReportInputError(anyhow::anyhow!(
                    "{}:{}: expected `split,row,clean,noisy,flipped` with split `train` or `validation` and class indices, found `{line}`",
                    path.display(),
                    index + 1
                ))
                .into());
            };
            *counts.entry((split, clean, noisy)).or_default() += 1;
        }
        let label_set = runs
            .iter()
            .find(|run| run.noise_model == model && run.noise_rate == rate)
            .and_then(|run| run.label_set.clone());
        rows.extend(
            counts
                .into_iter()
                .map(|((split, clean, noisy), count)| TransitionRow {
                    noise_model: model.to_string(),
                    noise_rate: rate,
                    label_set: label_set.clone(),
                    seed,
                    split: if split == 0 { "train" } else { "validation" }.to_string(),
                    clean_class: clean,
                    noisy_class: noisy,
                    count,
                }),
        );
    }
    Ok(rows)
}

/// Writes `transitions.csv` for `runs` (see [`transitions`]) and returns its rows.
pub fn write_transitions(dir: &Path, runs: &[RunRow]) -> Result<Vec<TransitionRow>> {
    let rows = transitions(dir, runs)?;
    write_table(dir, TRANSITIONS, &rows)?;
    Ok(rows)
}
