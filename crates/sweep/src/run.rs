//! `sweep run`: execute (or resume) an experiment's grid and write its results.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use crate::config::ExperimentConfig;
use crate::experiment::{
    GroupNoise, RunRecord, blobs_params, draw_noise, failed_record, prepare_data, run_one,
    split_seed,
};
use crate::grid::{RunSpec, Shard, expand, hex_digest};
use crate::report::{Aggregates, ResultTables, write_report};
use crate::store::ResultsDir;
use reporter::{RunStatusLabel, accuracy_table};

/// How often the CSV tables are rewritten while runs finish (they are always written at the end).
const TABLE_REFRESH: std::time::Duration = std::time::Duration::from_secs(5);

/// A data file that could not be read: a usage error (exit code 2), like a bad configuration.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct DataInputError(pub data::DataError);

type RunResult = Result<RunRecord, trainer::TrainError>;

/// Options of a sweep, as given on the command line.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The experiment file.
    pub config_path: PathBuf,
    /// Runs trained at once (≥ 1).
    pub jobs: usize,
    /// Threads candle's matmul may use inside one run (≥ 1).
    pub inner_threads: usize,
    /// Results folder; `results/<name>` when not given.
    pub out: Option<PathBuf>,
    /// Discard earlier results instead of resuming.
    pub fresh: bool,
    /// Run only this slice of the grid.
    pub shard: Option<Shard>,
    /// Stop starting runs at the first failure.
    pub fail_fast: bool,
}

/// Where the runs of a sweep (or of its shard) stand at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    /// Runs in the grid, or in the shard.
    pub total: usize,
    /// Runs that finished every epoch.
    pub finished: usize,
    /// Runs whose loss became NaN or infinite (a result; not retried).
    pub diverged: usize,
    /// Runs that failed with an error (retried by the next sweep).
    pub failed: usize,
    /// Runs not started because `--fail-fast` stopped the sweep.
    pub not_started: usize,
}

/// The ids listed in `SWEEP_FAIL_RUNS` (comma-separated): runs made to fail on purpose, to test
/// how failures are recorded, reported and retried.
fn injected_failures() -> Vec<String> {
    std::env::var("SWEEP_FAIL_RUNS")
        .map(|ids| ids.split(',').map(|id| id.trim().to_string()).collect())
        .unwrap_or_default()
}

/// Runs the experiment; completed runs are saved as they finish, so an interrupted sweep resumes
/// where it stopped.
pub fn run(config: &ExperimentConfig, options: &RunOptions) -> Result<RunSummary> {
    let started = Instant::now();
    let specs = expand(config);
    let out = options
        .out
        .clone()
        .unwrap_or_else(|| Path::new("results").join(&config.name));
    let dir = ResultsDir::new(&out);
    let selected: Vec<&RunSpec> = specs
        .iter()
        .filter(|spec| options.shard.is_none_or(|shard| shard.contains(spec.index)))
        .collect();

    // Indexed by grid position; only the selected runs are ever filled in.
    let mut records: Vec<Option<RunRecord>> = vec![None; specs.len()];
    if !options.fresh {
        for spec in &selected {
            records[spec.index] = dir.load_record(&spec.run_id).unwrap_or_else(|error| {
                eprintln!("warning: {error:#}; the run will be trained again");
                None
            });
        }
    }
    // A failed run is an error, not a result: it is trained again.
    let pending: Vec<&RunSpec> = selected
        .iter()
        .copied()
        .filter(|spec| {
            records[spec.index]
                .as_ref()
                .is_none_or(|r| r.run.status == RunStatusLabel::Failed)
        })
        .collect();
    let skipped = selected.len() - pending.len();
    let slice = match options.shard {
        Some(shard) => format!(
            "shard {}/{}: {} of the grid's {} runs",
            shard.index,
            shard.count,
            selected.len(),
            specs.len()
        ),
        None => format!("{} runs", specs.len()),
    };
    eprintln!(
        "{}: {slice} ({} noise rates × {} seeds × {} ε), {} already finished, {} to train on {} job{} → {}",
        config.name,
        config.noise.rates.len(),
        config.seeds,
        config.targets.epsilons.len(),
        skipped,
        pending.len(),
        options.jobs,
        if options.jobs == 1 { "" } else { "s" },
        dir.root().display()
    );
    // The data are read before anything is written, so a missing or malformed data file leaves
    // the results folder as it was.
    let prepared = if pending.is_empty() {
        None
    } else {
        Some(prepare_data(config).map_err(|error| anyhow::Error::new(DataInputError(error)))?)
    };
    dir.create(options.fresh)?;
    dir.write_manifest(&manifest(config, options, specs.len()))?;
    let selected_ids: std::collections::HashSet<&str> =
        selected.iter().map(|spec| spec.run_id.as_str()).collect();
    let others = dir
        .record_ids()?
        .into_iter()
        .filter(|id| !selected_ids.contains(id.as_str()))
        .count();
    if others > 0 {
        eprintln!(
            "note: {others} record(s) in {} belong to runs outside this {} (an earlier configuration, or another shard); they are kept on disk and left out of the tables",
            dir.root().join("records").display(),
            if options.shard.is_some() {
                "shard"
            } else {
                "grid"
            }
        );
    }

    let injected = injected_failures();
    let mut stopped_early = false;
    if let Some(prepared) = prepared {
        // The noisy labels of each (rate, seed) group are drawn once and shared by its ε values.
        let mut groups: BTreeMap<(usize, u64), GroupNoise> = BTreeMap::new();
        for spec in &pending {
            let rate_index = rate_index(config, spec.noise_rate);
            if let std::collections::btree_map::Entry::Vacant(slot) =
                groups.entry((rate_index, spec.seed))
            {
                let noise = draw_noise(config, &prepared, spec.noise_rate, spec.seed)
                    .context("drawing noisy labels")?;
                dir.write_noisy_labels(
                    config.noise.model.model().name(),
                    spec.noise_rate,
                    spec.seed,
                    &prepared,
                    &noise,
                )?;
                slot.insert(noise);
            }
        }

        // With one job, runs go one after another and the pool's threads serve candle's matmuls;
        // with several, the pool has one thread per job, so no more than `jobs` runs train at once.
        let pool_threads = if options.jobs == 1 {
            options.inner_threads
        } else {
            options.jobs
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(pool_threads)
            .thread_name(|i| format!("sweep-run-{i}"))
            .build()
            .context("starting the worker threads")?;
        let progress = Progress::new(pending.len());
        let (sender, receiver) = mpsc::channel();
        let stop = AtomicBool::new(false);
        std::thread::scope(|scope| -> Result<()> {
            let (groups, prepared, pending, stop, injected) =
                (&groups, &prepared, &pending, &stop, &injected);
            scope.spawn(move || {
                let train = |sender: &mpsc::Sender<_>, spec: &&RunSpec| {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let noise = &groups[&(rate_index(config, spec.noise_rate), spec.seed)];
                    let result = if injected.contains(&spec.run_id) {
                        Err(trainer::TrainError::Invalid(
                            "failure injected through SWEEP_FAIL_RUNS".into(),
                        ))
                    } else {
                        run_one(config, prepared, noise, spec)
                    };
                    // The worker itself raises the flag, so with one job no further run starts
                    // before the failure has been stored.
                    if result.is_err() && options.fail_fast {
                        stop.store(true, Ordering::Relaxed);
                    }
                    // The receiver lives until every sender is gone.
                    let _ = sender.send((spec.index, result));
                };
                pool.install(|| {
                    if options.jobs == 1 {
                        pending.iter().for_each(|spec| train(&sender, spec));
                    } else {
                        pending
                            .par_iter()
                            .for_each_with(sender, |s, spec| train(s, spec));
                    }
                });
            });
            // Results are stored as each run finishes; tables are rebuilt in grid order, so
            // their bytes do not depend on which run finished first. If storing fails, the
            // workers start no further run.
            let mut last_tables = Instant::now();
            let mut store_results = |receiver: mpsc::Receiver<(usize, RunResult)>| -> Result<()> {
                for (index, result) in receiver {
                    let spec = &specs[index];
                    let record = match result {
                        Ok(record) => {
                            progress.finished(spec, &record);
                            record
                        }
                        Err(error) => {
                            progress.failed(spec, &error.to_string());
                            if options.fail_fast && !stopped_early {
                                stopped_early = true;
                                eprintln!(
                                    "--fail-fast: starting no further run; runs already training finish and are kept"
                                );
                            }
                            let noise =
                                groups.get(&(rate_index(config, spec.noise_rate), spec.seed));
                            failed_record(config, noise, spec, error.to_string(), 0.0)
                        }
                    };
                    dir.save_record(&record)?;
                    records[index] = Some(record);
                    // The records are what counts; the tables are refreshed every few seconds so
                    // a long sweep does not rewrite them after every run. Only selected runs are
                    // ever filled in, so these are the tables of the slice.
                    if last_tables.elapsed() >= TABLE_REFRESH {
                        let done: Vec<&RunRecord> = records.iter().flatten().collect();
                        let tables = ResultTables::from_records(&done).write(dir.root())?;
                        Aggregates::of(&tables.runs).write(dir.root())?;
                        last_tables = Instant::now();
                    }
                }
                Ok(())
            };
            let stored = store_results(receiver);
            if stored.is_err() {
                stop.store(true, Ordering::Relaxed);
            }
            stored
        })?;
        progress.done();
    }

    let done: Vec<&RunRecord> = selected
        .iter()
        .filter_map(|spec| records[spec.index].as_ref())
        .collect();
    let tables = ResultTables::from_records(&done).write(dir.root())?;
    let aggregates = write_report(dir.root(), &tables, &report_context(config))?;
    println!(
        "Clean test accuracy at the last epoch, mean ± half-width of the 95% confidence interval over {} seed{}.",
        config.seeds,
        if config.seeds == 1 { "" } else { "s" }
    );
    print!("{}", accuracy_table(&aggregates.summary, false));
    if let Some(answer) = reporter::headline(&aggregates.best) {
        println!("{answer}");
    }
    let count = |status: RunStatusLabel| done.iter().filter(|r| r.run.status == status).count();
    let summary = RunSummary {
        total: selected.len(),
        finished: count(RunStatusLabel::Finished),
        diverged: count(RunStatusLabel::Diverged),
        failed: count(RunStatusLabel::Failed),
        not_started: selected.len() - done.len(),
    };
    if summary.diverged > 0 {
        println!(
            "{} run(s) diverged (status `diverged` in runs.csv); they are left out of the summary",
            summary.diverged
        );
    }
    if stopped_early {
        eprintln!(
            "stopped at the first failure (--fail-fast): {} run(s) not started",
            summary.not_started
        );
    }
    eprintln!(
        "wrote {} in {:.1} s",
        dir.root().display(),
        started.elapsed().as_secs_f64()
    );
    Ok(summary)
}

fn rate_index(config: &ExperimentConfig, rate: f64) -> usize {
    config
        .noise
        .rates
        .iter()
        .position(|&r| r == rate)
        .unwrap_or(usize::MAX)
}

fn model_name(config: &ExperimentConfig) -> String {
    match config.model.kind {
        crate::config::ModelKindName::Logistic => "logistic regression".into(),
        crate::config::ModelKindName::Cnn => {
            let [first, second] = config
                .model
                .channels
                .unwrap_or(crate::config::DEFAULT_CNN_CHANNELS);
            format!("CNN {first}-{second}")
        }
        crate::config::ModelKindName::Mlp => format!(
            "MLP {}",
            config
                .model
                .hidden
                .iter()
                .map(|w| w.to_string())
                .collect::<Vec<_>>()
                .join("-")
        ),
    }
}

/// What the report says about the experiment besides its results.
pub fn report_context(config: &ExperimentConfig) -> reporter::ReportContext {
    let noise = config.noise.model.model().name();
    let data = config.data.source.name();
    let model = model_name(config);
    let mut settings = Vec::new();
    if let Ok(value) = serde_json::to_value(config) {
        flatten_settings("", &value, &mut settings);
    }
    flatten_settings("resolved", &resolved_settings(config), &mut settings);
    let article = if model.starts_with(['M', 'a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    reporter::ReportContext {
        name: config.name.clone(),
        title: format!("{noise} noise on {data}: {model}"),
        question: format!(
            "How much does label smoothing (ε > 0) protect {article} {model} trained on {data} against \
             {noise} label noise, compared with hard targets (ε = 0), at each noise rate?"
        ),
        settings,
    }
}

/// Turns a JSON value into (dotted key, value) pairs, leaving out nulls.
fn flatten_settings(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, String)>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                let key = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten_settings(&key, value, out);
            }
        }
        serde_json::Value::Null => {}
        serde_json::Value::String(text) => out.push((prefix.to_string(), text.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

/// Values the experiment file left to defaults or derivation, as used.
fn resolved_settings(config: &ExperimentConfig) -> serde_json::Value {
    serde_json::json!({
        "split_seed": split_seed(config),
        "blobs": blobs_params(config).map(|b| serde_json::json!({
            "n_classes": b.n_classes,
            "n_features": b.n_features,
            "n_samples": b.n_samples,
            "separation": b.separation,
            "seed": b.seed,
        })),
        "optimizer": format!("{:?}", config.training.optimizer_params()),
    })
}

/// The resolved configuration and what produced the results.
fn manifest(config: &ExperimentConfig, options: &RunOptions, n_runs: usize) -> serde_json::Value {
    serde_json::json!({
        "name": config.name,
        "config_file": options.config_path.display().to_string(),
        "config_hash": hex_digest(config, 64),
        "config": config,
        // Values the file left to defaults or derivation, as used.
        "resolved": resolved_settings(config),
        "runs_in_grid": n_runs,
        "report": report_context(config),
        "sweep_version": env!("CARGO_PKG_VERSION"),
        "jobs": options.jobs,
        "shard": options.shard.map(|s| format!("{}/{}", s.index, s.count)),
        "inner_threads": options.inner_threads,
        "available_parallelism": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "git_commit": git_commit(&options.config_path),
    })
}

/// The commit of the repository holding the experiment file, if there is one.
fn git_commit(config_path: &Path) -> Option<String> {
    let folder = config_path.parent().filter(|p| !p.as_os_str().is_empty())?;
    let output = std::process::Command::new("git")
        .arg("-C")
        .arg(folder)
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// A progress bar on a terminal; plain log lines otherwise (or with `NO_COLOR` set).
struct Progress {
    bar: Option<ProgressBar>,
    total: usize,
    count: std::cell::Cell<usize>,
}

impl Progress {
    fn new(total: usize) -> Progress {
        let interactive = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        let bar = interactive.then(|| {
            let bar = ProgressBar::new(total as u64);
            if let Ok(style) = ProgressStyle::with_template(
                "{bar:30.cyan/blue} {pos}/{len} runs  {elapsed} elapsed, eta {eta}  {msg}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Progress {
            bar,
            total,
            count: std::cell::Cell::new(0),
        }
    }

    fn describe(spec: &RunSpec) -> String {
        format!(
            "rate {} seed {} ε {} ({})",
            spec.noise_rate, spec.seed, spec.epsilon, spec.run_id
        )
    }

    fn finished(&self, spec: &RunSpec, record: &RunRecord) {
        self.count.set(self.count.get() + 1);
        let accuracy = record
            .run
            .test_accuracy
            .map(|a| format!("{a:.4}"))
            .unwrap_or_else(|| "–".into());
        let line = format!(
            "[{}/{}] {}: {}, test accuracy {accuracy}, {:.1} s",
            self.count.get(),
            self.total,
            Self::describe(spec),
            record.run.status.as_str(),
            record.seconds
        );
        match &self.bar {
            Some(bar) => {
                bar.set_message(format!(
                    "last: {}, accuracy {accuracy}",
                    Self::describe(spec)
                ));
                bar.inc(1);
            }
            None => eprintln!("{line}"),
        }
    }

    fn failed(&self, spec: &RunSpec, error: &str) {
        self.count.set(self.count.get() + 1);
        let line = format!(
            "[{}/{}] {}: failed: {error}",
            self.count.get(),
            self.total,
            Self::describe(spec)
        );
        match &self.bar {
            Some(bar) => {
                bar.println(&line);
                bar.inc(1);
            }
            None => eprintln!("{line}"),
        }
    }

    fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
