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

use crate::config::{Experiment, NoiseSource};
use crate::experiment::{
    GroupNoise, PreparedData, RunRecord, draw_noise, failed_record, level_rate, prepare_data,
    run_one,
};
use crate::grid::{RunSpec, Shard, expand, hex_digest, level_index};
use crate::report::write_report;
use crate::results::{RECORDS, RUNS};
use crate::store::ResultsDir;
use crate::tables::{Aggregates, ResultTables};
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

/// The error of a run made to fail through `SWEEP_FAIL_RUNS`. It carries a backtrace when
/// `RUST_BACKTRACE` (or `RUST_LIB_BACKTRACE`) asks for one, in the form candle gives its errors
/// (the message, a newline, the frames), so tests meet what a genuine error brings.
fn injected_failure() -> trainer::TrainError {
    let mut message = String::from("failure injected through SWEEP_FAIL_RUNS");
    let backtrace = std::backtrace::Backtrace::capture();
    if backtrace.status() == std::backtrace::BacktraceStatus::Captured {
        message.push_str(&format!("\n{backtrace}"));
    }
    trainer::TrainError::Invalid(message)
}

/// The `message` a failed run keeps in its record and in `runs.csv`: one line, the same on every
/// machine. A backtrace (candle appends one to its errors when `RUST_BACKTRACE` is set) is cut
/// off, the remaining lines are joined with spaces, a path inside the results folder `folder`
/// becomes relative to it, and any other absolute path is cut to its last component.
fn run_message(error: &str, folder: &Path) -> String {
    let lines: Vec<&str> = error
        .lines()
        .enumerate()
        .take_while(|(index, line)| *index == 0 || !is_backtrace_line(line))
        .map(|(_, line)| line.trim())
        .filter(|line| !line.is_empty())
        .collect();
    let mut message = lines.join(" ");
    for prefix in folder_prefixes(folder) {
        message = message.replace(&prefix, "");
    }
    shorten_absolute_paths(&message)
}

/// The first line of a backtrace as Rust formats it: `stack backtrace:`, or an indented frame
/// such as `   0: candle_core::error::Error::bt`.
fn is_backtrace_line(line: &str) -> bool {
    let trimmed = line.trim_start();
    if trimmed.starts_with("stack backtrace:") {
        return true;
    }
    let digits = trimmed.chars().take_while(char::is_ascii_digit).count();
    trimmed.len() < line.len() && digits > 0 && trimmed[digits..].starts_with(": ")
}

/// The absolute spellings of `folder` an error could use (as given below the current folder, and
/// with links resolved), each with a trailing separator. A relative spelling is no machine path,
/// and replacing it could cut into other words (`out/` in `timeout/`), so it is left alone.
fn folder_prefixes(folder: &Path) -> Vec<String> {
    let mut forms = Vec::new();
    if let Ok(current) = std::env::current_dir() {
        forms.push(current.join(folder));
    }
    if let Ok(canonical) = folder.canonicalize() {
        forms.push(canonical);
    }
    let mut prefixes: Vec<String> = forms
        .iter()
        .filter(|path| path.is_absolute())
        .map(|path| format!("{}/", path.display().to_string().trim_end_matches('/')))
        .filter(|prefix| prefix != "/")
        .collect();
    // Longest first, so that a form that is a prefix of another does not cut it short.
    prefixes.sort_by_key(|prefix| std::cmp::Reverse(prefix.len()));
    prefixes.dedup();
    prefixes
}

/// Replaces each absolute path in `text` (a `/` that starts a word) by its last component.
fn shorten_absolute_paths(text: &str) -> String {
    const OPENERS: &[char] = &['"', '\'', '`', '(', '[', '<', '='];
    const CLOSERS: &[char] = &['"', '\'', '`', ')', ']', '>', ',', ';'];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut at_word_start = true;
    while let Some(c) = rest.chars().next() {
        if c == '/' && at_word_start {
            let end = rest
                .find(|c: char| c.is_whitespace() || CLOSERS.contains(&c))
                .unwrap_or(rest.len());
            let path = &rest[..end];
            match path.rsplit('/').find(|part| !part.is_empty()) {
                Some(last) => out.push_str(last),
                None => out.push_str(path),
            }
            rest = &rest[end..];
            at_word_start = false;
            continue;
        }
        out.push(c);
        at_word_start = c.is_whitespace() || OPENERS.contains(&c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// What every step of a sweep reads: the experiment, the command line and the results folder.
#[derive(Clone, Copy)]
struct Sweep<'a> {
    experiment: &'a Experiment,
    options: &'a RunOptions,
    dir: &'a ResultsDir,
}

/// The runs of a sweep: the grid, the slice of it this process covers, and what is done already.
struct Plan<'a> {
    /// Every run of the grid, in grid order.
    specs: &'a [RunSpec],
    /// The runs this sweep covers (the whole grid, or its shard), in grid order.
    selected: Vec<&'a RunSpec>,
    /// Records by grid position; only the selected runs are ever filled in.
    records: Vec<Option<RunRecord>>,
    /// The selected runs to train: those without a record, or with a failed one.
    pending: Vec<&'a RunSpec>,
}

/// The noisy labels of each (rate index, seed) group, shared by its target settings.
type Groups = BTreeMap<(usize, u64), GroupNoise>;

/// Runs the experiment; completed runs are saved as they finish, so an interrupted sweep resumes
/// where it stopped.
pub fn run(experiment: &Experiment, options: &RunOptions) -> Result<RunSummary> {
    let started = Instant::now();
    let specs = expand(experiment);
    let out = options
        .out
        .clone()
        .unwrap_or_else(|| Path::new("results").join(&experiment.name));
    let dir = ResultsDir::new(&out);
    let sweep = Sweep {
        experiment,
        options,
        dir: &dir,
    };
    // Before anything is read or written: a second sweep of the folder stops here at once.
    let lock = dir.lock("sweep run")?;
    let mut plan = plan_runs(sweep, &specs);
    announce(sweep, &plan);
    // The data are read before anything is written, so a missing or malformed data file leaves
    // the results folder as it was (without even the lock file, if taking the lock made it).
    let prepared = if plan.pending.is_empty() {
        None
    } else {
        match prepare_data(experiment) {
            Ok(prepared) => Some(prepared),
            Err(error) => {
                lock.abandon();
                return Err(DataInputError(error).into());
            }
        }
    };
    open_folder(sweep, &plan)?;
    let mut stopped_early = false;
    if let Some(prepared) = prepared {
        let groups = draw_group_noise(sweep, &prepared, &plan.pending)?;
        stopped_early = train_and_store(sweep, &prepared, &groups, &mut plan)?;
    }
    let aggregates = write_tables_and_report(sweep, &plan)?;
    let summary = tally(&plan);
    print_outcome(sweep, &aggregates, &summary, stopped_early, started);
    drop(lock);
    Ok(summary)
}

/// Plans the sweep: selects the runs of the grid this sweep covers (its shard, if any) and,
/// unless `--fresh`, loads the records already stored for them. A record that cannot be read is
/// reported and its run trained again, as is a failed run (an error, not a result).
fn plan_runs<'a>(sweep: Sweep<'_>, specs: &'a [RunSpec]) -> Plan<'a> {
    let options = sweep.options;
    let selected: Vec<&RunSpec> = specs
        .iter()
        .filter(|spec| options.shard.is_none_or(|shard| shard.contains(spec.index)))
        .collect();
    let mut records: Vec<Option<RunRecord>> = vec![None; specs.len()];
    if !options.fresh {
        for spec in &selected {
            records[spec.index] = sweep.dir.load_record(&spec.run_id).unwrap_or_else(|error| {
                errln!("warning: {error:#}; the run will be trained again");
                None
            });
        }
    }
    let pending: Vec<&RunSpec> = selected
        .iter()
        .copied()
        .filter(|spec| {
            records[spec.index]
                .as_ref()
                .is_none_or(|r| r.run.status == RunStatusLabel::Failed)
        })
        .collect();
    Plan {
        specs,
        selected,
        records,
        pending,
    }
}

/// Says on stderr what the sweep covers, how much of it is done and where it writes.
fn announce(sweep: Sweep<'_>, plan: &Plan<'_>) {
    let (experiment, options) = (sweep.experiment, sweep.options);
    let skipped = plan.selected.len() - plan.pending.len();
    let slice = match options.shard {
        Some(shard) => format!(
            "shard {}/{}: {} of the grid's {}",
            shard.index,
            shard.count,
            plan.selected.len(),
            reporter::counted(plan.specs.len(), "run")
        ),
        None => reporter::counted(plan.specs.len(), "run"),
    };
    errln!(
        "{}: {slice} ({} × {} × {}), {} already finished, {} to train on {} job{} → {}",
        experiment.name,
        experiment.noise.levels_counted(),
        reporter::counted(experiment.seeds as usize, "seed"),
        experiment.targets_counted(),
        skipped,
        plan.pending.len(),
        options.jobs,
        if options.jobs == 1 { "" } else { "s" },
        sweep.dir.root().display()
    );
}

/// The first writes, once configuration and data have been checked: creates (or, with
/// `--fresh`, clears) the results folder, writes `manifest.json`, and notes records in the folder
/// that belong to no run of this sweep (they are kept, and left out of the tables).
fn open_folder(sweep: Sweep<'_>, plan: &Plan<'_>) -> Result<()> {
    let (dir, options) = (sweep.dir, sweep.options);
    dir.create(options.fresh)?;
    dir.write_manifest(&manifest(sweep.experiment, options, plan.specs.len()))?;
    let selected_ids: std::collections::HashSet<&str> = plan
        .selected
        .iter()
        .map(|spec| spec.run_id.as_str())
        .collect();
    let others = dir
        .record_ids()?
        .into_iter()
        .filter(|id| !selected_ids.contains(id.as_str()))
        .count();
    if others > 0 {
        errln!(
            "note: {others} record(s) in {} belong to runs outside this {} (an earlier configuration, or another shard); they are kept on disk and left out of the tables",
            dir.root().join(RECORDS).display(),
            if options.shard.is_some() {
                "shard"
            } else {
                "grid"
            }
        );
    }
    Ok(())
}

/// Draws the noisy labels of each (rate, seed) group of the pending runs once, to be shared by
/// its target settings, and writes each group's file into `noisy-labels/`.
fn draw_group_noise(
    sweep: Sweep<'_>,
    prepared: &PreparedData,
    pending: &[&RunSpec],
) -> Result<Groups> {
    let experiment = sweep.experiment;
    let mut groups = Groups::new();
    for spec in pending {
        if let std::collections::btree_map::Entry::Vacant(slot) =
            groups.entry((level_index(experiment, spec), spec.seed))
        {
            let noise = draw_noise(
                experiment,
                prepared,
                spec.noise_rate,
                spec.label_set.as_deref(),
                spec.seed,
            )
            .context("drawing noisy labels")?;
            sweep.dir.write_noisy_labels(
                experiment.noise.model.name(),
                level_rate(spec, Some(&noise)),
                spec.seed,
                prepared,
                &noise,
            )?;
            slot.insert(noise);
        }
    }
    Ok(groups)
}

/// Trains the pending runs on a worker pool while this thread stores each result as it arrives
/// (see [`store_results`]). Returns whether `--fail-fast` stopped the sweep early. If storing
/// fails, the workers start no further run and the error is returned once they are done.
fn train_and_store(
    sweep: Sweep<'_>,
    prepared: &PreparedData,
    groups: &Groups,
    plan: &mut Plan<'_>,
) -> Result<bool> {
    let pool = worker_pool(sweep.options)?;
    let progress = Progress::new(plan.pending.len());
    let (sender, receiver) = mpsc::channel();
    let workers = Workers {
        sweep,
        prepared,
        groups,
        injected: injected_failures(),
        stop: AtomicBool::new(false),
    };
    let Plan {
        specs,
        pending,
        records,
        ..
    } = plan;
    let stopped_early = std::thread::scope(|scope| -> Result<bool> {
        let (workers, pending) = (&workers, &*pending);
        scope.spawn(move || workers.train_all(pool, pending, sender));
        let stored = store_results(sweep, groups, specs, records, &progress, receiver);
        if stored.is_err() {
            workers.stop.store(true, Ordering::Relaxed);
        }
        stored
    })?;
    progress.done();
    Ok(stopped_early)
}

/// The pool the runs train on. With one job, runs go one after another and the pool's threads
/// serve candle's matmuls; with several, the pool has one thread per job, so no more than `jobs`
/// runs train at once.
fn worker_pool(options: &RunOptions) -> Result<rayon::ThreadPool> {
    let pool_threads = if options.jobs == 1 {
        options.inner_threads
    } else {
        options.jobs
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(pool_threads)
        .thread_name(|i| format!("sweep-run-{i}"))
        .build()
        .context("starting the worker threads")
}

/// What the workers share while they train the pending runs.
struct Workers<'a> {
    sweep: Sweep<'a>,
    prepared: &'a PreparedData,
    groups: &'a Groups,
    /// The runs made to fail on purpose (`SWEEP_FAIL_RUNS`).
    injected: Vec<String>,
    /// Raised to start no further run: by a failure under `--fail-fast`, or when storing fails.
    stop: AtomicBool,
}

impl Workers<'_> {
    /// Trains `pending` on `pool` (one after another with one job, in parallel otherwise),
    /// sending each result, with the run's grid position, through `sender`.
    fn train_all(
        &self,
        pool: rayon::ThreadPool,
        pending: &[&RunSpec],
        sender: mpsc::Sender<(usize, RunResult)>,
    ) {
        pool.install(|| {
            if self.sweep.options.jobs == 1 {
                pending.iter().for_each(|spec| self.train(&sender, spec));
            } else {
                pending
                    .par_iter()
                    .for_each_with(sender, |s, spec| self.train(s, spec));
            }
        });
    }

    /// Trains one run, unless the sweep was stopped, and sends its result.
    fn train(&self, sender: &mpsc::Sender<(usize, RunResult)>, spec: &RunSpec) {
        let experiment = self.sweep.experiment;
        if self.stop.load(Ordering::Relaxed) {
            return;
        }
        let noise = &self.groups[&(level_index(experiment, spec), spec.seed)];
        let result = if self.injected.contains(&spec.run_id) {
            Err(injected_failure())
        } else {
            run_one(experiment, self.prepared, noise, spec)
        };
        // The worker itself raises the flag, so with one job no further run starts before the
        // failure has been stored.
        if result.is_err() && self.sweep.options.fail_fast {
            self.stop.store(true, Ordering::Relaxed);
        }
        // The receiver lives until every sender is gone.
        let _ = sender.send((spec.index, result));
    }
}

/// Stores each result as its run finishes: the record first (what counts), then, at most every
/// [`TABLE_REFRESH`], the tables rebuilt in grid order from every record so far, so their bytes
/// do not depend on which run finished first. A failed run gets a `failed` record with its
/// one-line message. Returns whether `--fail-fast` stopped the sweep early.
fn store_results(
    sweep: Sweep<'_>,
    groups: &Groups,
    specs: &[RunSpec],
    records: &mut [Option<RunRecord>],
    progress: &Progress,
    receiver: mpsc::Receiver<(usize, RunResult)>,
) -> Result<bool> {
    let (experiment, options, dir) = (sweep.experiment, sweep.options, sweep.dir);
    let mut stopped_early = false;
    let mut last_tables = Instant::now();
    for (index, result) in receiver {
        let spec = &specs[index];
        let record = match result {
            Ok(record) => {
                progress.finished(spec, &record);
                record
            }
            Err(error) => {
                let message = run_message(&error.to_string(), dir.root());
                progress.failed(spec, &message);
                if options.fail_fast && !stopped_early {
                    stopped_early = true;
                    errln!(
                        "--fail-fast: starting no further run; runs already training finish and are kept"
                    );
                }
                let noise = groups.get(&(level_index(experiment, spec), spec.seed));
                failed_record(experiment, noise, spec, message, 0.0)
            }
        };
        dir.save_record(&record)?;
        records[index] = Some(record);
        // The tables are refreshed every few seconds so a long sweep does not rewrite them after
        // every run. Only selected runs are ever filled in, so these are the tables of the slice.
        if last_tables.elapsed() >= TABLE_REFRESH {
            let done: Vec<&RunRecord> = records.iter().flatten().collect();
            let tables = ResultTables::from_records(&done).write(dir.root())?;
            Aggregates::of(&tables.runs).write(dir.root())?;
            last_tables = Instant::now();
        }
    }
    Ok(stopped_early)
}

/// The records of the selected runs that have one, in grid order.
fn done_records<'p>(plan: &'p Plan<'_>) -> Vec<&'p RunRecord> {
    plan.selected
        .iter()
        .filter_map(|spec| plan.records[spec.index].as_ref())
        .collect()
}

/// Writes the per-run tables of the selected runs' records, then every aggregate, chart and
/// `report.md` from the tables as written; returns the aggregates.
fn write_tables_and_report(sweep: Sweep<'_>, plan: &Plan<'_>) -> Result<Aggregates> {
    let done = done_records(plan);
    let tables = ResultTables::from_records(&done).write(sweep.dir.root())?;
    let context = reporter::ReportContext {
        shard: sweep
            .options
            .shard
            .map(|shard| format!("{}/{}", shard.index, shard.count)),
        ..report_context(sweep.experiment)
    };
    write_report(sweep.dir.root(), &tables, &context)
}

/// Where the selected runs stand: finished, diverged, failed or never started.
fn tally(plan: &Plan<'_>) -> RunSummary {
    let done = done_records(plan);
    let count = |status: RunStatusLabel| done.iter().filter(|r| r.run.status == status).count();
    RunSummary {
        total: plan.selected.len(),
        finished: count(RunStatusLabel::Finished),
        diverged: count(RunStatusLabel::Diverged),
        failed: count(RunStatusLabel::Failed),
        not_started: plan.selected.len() - done.len(),
    }
}

/// Prints the outcome: the accuracy table and the headline on stdout, then on stderr what did
/// not finish and where the results are. (Which exit code it means is `main`'s to say.)
fn print_outcome(
    sweep: Sweep<'_>,
    aggregates: &Aggregates,
    summary: &RunSummary,
    stopped_early: bool,
    started: Instant,
) {
    let seeds = sweep.experiment.seeds;
    if let Some(shard) = sweep.options.shard {
        outln!(
            "Shard {}/{} only: these numbers cover this shard's runs, not the experiment (merge the shards with `sweep merge`).",
            shard.index,
            shard.count
        );
    }
    outln!(
        "Clean test accuracy at the last epoch, mean ± half-width of the 95% confidence interval over {} seed{}.",
        seeds,
        if seeds == 1 { "" } else { "s" }
    );
    out!(
        "{}",
        accuracy_table(&aggregates.summary, false, &aggregates.levels)
    );
    if let Some(answer) = reporter::headline(&aggregates.best, &aggregates.levels) {
        outln!("{answer}");
    }
    if let Some(answer) = reporter::robust_answer(&aggregates.losses, &aggregates.levels) {
        outln!("Against the losses built for label noise, last epoch. {answer}");
    }
    if summary.diverged > 0 {
        outln!(
            "{} run(s) diverged (status `diverged` in {RUNS}); they are left out of the summary",
            summary.diverged
        );
    }
    if stopped_early {
        errln!(
            "stopped at the first failure (--fail-fast): {} run(s) not started",
            summary.not_started
        );
    }
    errln!(
        "wrote {} in {:.1} s",
        sweep.dir.root().display(),
        started.elapsed().as_secs_f64()
    );
}

/// The noise model as the report's title and question name it: its name, and for the models
/// beyond the first four what defines it ("asymmetric (the mnist class map)").
fn noise_description(experiment: &Experiment) -> String {
    let name = experiment.noise.name();
    match &experiment.noise.source {
        NoiseSource::Model(_) => match experiment.resolved().noise.preset {
            Some(preset) => format!("{name} (the {} class map)", preset.name()),
            None => name.to_string(),
        },
        NoiseSource::Pairs(pairs) => {
            format!("{name} ({})", reporter::counted(pairs.len(), "class pair"))
        }
        NoiseSource::Matrix(matrix) => {
            let k = matrix.n_classes();
            format!("{name} (a given {k}×{k} transition matrix)")
        }
        NoiseSource::Instance { .. } => "instance-dependent".to_string(),
        NoiseSource::File(file) => format!(
            "given ({}: {})",
            reporter::counted(file.sets.len(), "label set"),
            file.sets.join(", ")
        ),
        NoiseSource::Estimated(file) => format!(
            "matrix (estimated from the labels {})",
            file.sets.join(", ")
        ),
    }
}

/// What the report says about the experiment besides its results.
pub fn report_context(experiment: &Experiment) -> reporter::ReportContext {
    let noise = noise_description(experiment);
    let data = experiment.data.source.name();
    let model = experiment.model_name();
    let mut settings = Vec::new();
    if let Ok(value) = serde_json::to_value(experiment.written()) {
        flatten_settings("", &value, &mut settings);
    }
    flatten_settings("resolved", &resolved_settings(experiment), &mut settings);
    let article = if model.starts_with(['M', 'a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    // In the order the tables list them.
    let robust: Vec<String> =
        reporter::sorted_settings(experiment.losses.iter().map(crate::grid::setting_of))
            .into_iter()
            .filter(|setting| setting.is_robust())
            .map(|setting| setting.label())
            .collect();
    let losses = if robust.is_empty() {
        String::new()
    } else {
        format!(
            " and with the losses built for label noise ({})",
            robust.join("; ")
        )
    };
    reporter::ReportContext {
        name: experiment.name.clone(),
        title: format!("{noise} noise on {data}: {model}"),
        question: match experiment.noise.label_sets() {
            Some(sets) => format!(
                "How much does label smoothing (ε ≠ 0) protect {article} {model} trained on {data} \
                 against the noise of the given labels ({}), compared with hard targets (ε = 0){losses}, \
                 for each label set?",
                sets.join(", ")
            ),
            None => format!(
                "How much does label smoothing (ε ≠ 0) protect {article} {model} trained on {data} \
                 against {noise} label noise, compared with hard targets (ε = 0){losses}, at each \
                 noise rate?"
            ),
        },
        settings,
        shard: None,
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
fn resolved_settings(experiment: &Experiment) -> serde_json::Value {
    serde_json::json!({
        "split_seed": experiment.data.split_seed,
        "blobs": experiment.data.source.blobs().map(|b| serde_json::json!({
            "n_classes": b.n_classes,
            "n_features": b.n_features,
            "n_samples": b.n_samples,
            "separation": b.separation,
            "seed": b.seed,
        })),
        "optimizer": optimizer_settings(&experiment.training.optimizer),
        // Every parameter of each loss, defaults included, as the tables name the setting.
        "losses": (!experiment.losses.is_empty()).then(|| {
            experiment
                .losses
                .iter()
                .map(|loss| crate::grid::setting_of(loss).label())
                .collect::<Vec<String>>()
        }),
    })
}

/// The optimiser and every hyper-parameter it uses, as plain values.
fn optimizer_settings(optimizer: &trainer::OptimizerParams) -> serde_json::Value {
    match *optimizer {
        trainer::OptimizerParams::Sgd {
            learning_rate,
            momentum,
            nesterov,
            weight_decay,
        } => serde_json::json!({
            "name": "sgd",
            "learning_rate": learning_rate,
            "momentum": momentum,
            "nesterov": nesterov,
            "weight_decay": weight_decay,
        }),
        trainer::OptimizerParams::AdamW {
            learning_rate,
            beta1,
            beta2,
            weight_decay,
        } => serde_json::json!({
            "name": "adamw",
            "learning_rate": learning_rate,
            "beta1": beta1,
            "beta2": beta2,
            "weight_decay": weight_decay,
        }),
    }
}

/// The resolved configuration and what produced the results.
fn manifest(experiment: &Experiment, options: &RunOptions, n_runs: usize) -> serde_json::Value {
    serde_json::json!({
        "name": experiment.name,
        "config_file": options.config_path.display().to_string(),
        "config_hash": hex_digest(experiment.written(), 64),
        "config": experiment.resolved(),
        // Values the file left to defaults or derivation, as used.
        "resolved": resolved_settings(experiment),
        "runs_in_grid": n_runs,
        "report": report_context(experiment),
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
        let level = match &spec.label_set {
            Some(set) => format!("labels {set}"),
            None => format!("rate {}", spec.noise_rate),
        };
        format!(
            "{level} seed {} {} ({})",
            spec.seed,
            spec.setting().label(),
            spec.run_id
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
            None => errln!("{line}"),
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
            None => errln!("{line}"),
        }
    }

    fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_message_is_one_line_without_backtrace_or_machine_path() {
        let folder = std::env::temp_dir().join("sweep-results");
        let error = format!(
            "tensor operation failed: cannot read {}/records/ab.json\ncaused by: \"/home/someone/data/x.bin\" is short\n   0: candle_core::error::Error::bt\n             at /root/.cargo/registry/src/candle-core/src/error.rs:260:25\n   1: trainer::train\n",
            folder.display()
        );
        assert_eq!(
            run_message(&error, &folder),
            "tensor operation failed: cannot read records/ab.json caused by: \"x.bin\" is short"
        );
        // A relative folder is found in its absolute spelling too.
        let relative = Path::new("results/tiny");
        let absolute = std::env::current_dir().unwrap().join(relative);
        assert_eq!(
            run_message(&format!("{}/runs.csv: bad", absolute.display()), relative),
            "runs.csv: bad"
        );
        assert_eq!(
            run_message("failure injected through SWEEP_FAIL_RUNS", relative),
            "failure injected through SWEEP_FAIL_RUNS"
        );
        // Text that is no path keeps its slashes.
        assert_eq!(
            run_message("shard 2/4: ratio a/b\nstack backtrace:\n  0: x", relative),
            "shard 2/4: ratio a/b"
        );
    }

    #[test]
    fn a_candle_error_keeps_its_first_line_only() {
        // A genuine candle error (`bail!`), with a backtrace when RUST_BACKTRACE or
        // RUST_LIB_BACKTRACE is set for the test process.
        let Err(error) = trainer::Cnn::new([1, 3, 3], [2, 2], 3, 0) else {
            panic!("a CNN on 3×3 images is refused");
        };
        let text = trainer::TrainError::from(error).to_string();
        let first = text.lines().next().unwrap();
        assert!(
            first.starts_with("tensor operation failed: a CNN needs images of at least 4×4"),
            "{text}"
        );
        assert_eq!(run_message(&text, Path::new("out")), first);
    }

    #[test]
    fn the_injected_failure_carries_a_backtrace_when_asked_like_a_candle_error() {
        let message = injected_failure().to_string();
        assert!(message.starts_with("failure injected through SWEEP_FAIL_RUNS"));
        assert_eq!(
            run_message(&message, Path::new("out")),
            "failure injected through SWEEP_FAIL_RUNS"
        );
    }
}
