//! `sweep`: run label-noise experiments from a TOML file and compare result CSVs.
//!
//! ```text
//! sweep experiments/noise.toml [--jobs N] [--out DIR] [--fresh]   run or resume
//! sweep run experiments/noise.toml ...                            the same
//! sweep run experiments/noise.toml --shard 2/4 --out DIR          run one slice of the grid
//! sweep merge DIR1 DIR2 … --out DIR                               join shard folders and report
//! sweep check experiments/noise.toml                              validate without running
//! sweep list experiments/noise.toml                               print the grid
//! sweep report results/noise                                      rebuild aggregates, charts, report.md
//! sweep diff A.csv B.csv [--atol X]                               compare two CSVs
//! ```
//! Exit codes ([`Outcome`], mapped in [`exit_code`]): 0 success; 1 the command ran but came out
//! short (a run failed or diverged, runs are missing, the CSVs differ); 2 a usage error: bad
//! arguments, configuration or data, or a results folder that cannot be written or is in use.

/// Prints a line to stdout; a closed or broken stdout drops it (see [`console`]).
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::console::out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// Prints to stdout without a newline; a closed or broken stdout drops it.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::console::out(format_args!($($arg)*))
    };
}

/// Prints a line to stderr; a closed or broken stderr drops it.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::console::err(format_args!("{}\n", format_args!($($arg)*)))
    };
}

mod config;
mod diff;
mod experiment;
mod figures;
mod grid;
mod hashing;
mod merge;
mod report;
mod results;
mod run;
mod store;
mod tables;

use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

// candle allocates a fresh buffer for every tensor op; mimalloc keeps freed memory for reuse and
// makes parallel runs markedly faster than glibc malloc does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The console. What a sweep prints is a courtesy: the results are in the folder. So a stdout or
/// stderr that is closed (`sweep … | head`) or fails never stops a command: the output is dropped,
/// and once a stream has failed nothing more is written to it. (`println!` would panic instead.)
mod console {
    use std::fmt;
    use std::io::{self, Write};
    use std::sync::atomic::{AtomicBool, Ordering};

    static STDOUT_FAILED: AtomicBool = AtomicBool::new(false);
    static STDERR_FAILED: AtomicBool = AtomicBool::new(false);

    /// Writes to stdout and reports a failure, for output that is the command's product
    /// (`sweep list`).
    pub fn try_out(args: fmt::Arguments<'_>) -> io::Result<()> {
        let result = io::stdout().lock().write_fmt(args);
        if result.is_err() {
            STDOUT_FAILED.store(true, Ordering::Relaxed);
        }
        result
    }

    /// Writes to stdout, dropping the output if stdout has failed.
    pub fn out(args: fmt::Arguments<'_>) {
        if !STDOUT_FAILED.load(Ordering::Relaxed) {
            let _ = try_out(args);
        }
    }

    /// Writes to stderr, dropping the output if stderr has failed.
    pub fn err(args: fmt::Arguments<'_>) {
        if !STDERR_FAILED.load(Ordering::Relaxed) && io::stderr().lock().write_fmt(args).is_err() {
            STDERR_FAILED.store(true, Ordering::Relaxed);
        }
    }
}

/// How a command ends. [`exit_code`] turns it, or the error a command stopped with, into the exit
/// code, in this one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Exit 0: everything asked for was done.
    Success,
    /// Exit 1: the command ran, but the result is incomplete or negative: a run failed,
    /// diverged or was not started, runs are missing from every merged folder, or `diff` found a
    /// difference. (An error while writing results midway also exits 1.)
    Incomplete,
}

/// The exit code of a command's result: 0 and 1 as [`Outcome`] says; an error is printed on one
/// line and exits 2 when it is a usage error (arguments, configuration, data, a results folder
/// that cannot be written or is in use, folders that cannot be merged, a results file that cannot
/// be read), 1 otherwise.
fn exit_code(result: Result<Outcome>) -> ExitCode {
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Incomplete) => ExitCode::from(1),
        Err(error) => {
            errln!("error: {error:#}");
            if is_usage_error(&error) {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

/// Whether `error` (or an error it was caused by) is one the user fixes before anything can run.
fn is_usage_error(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.is::<UsageError>()
            || cause.is::<config::ConfigError>()
            || cause.is::<run::DataInputError>()
            || cause.is::<store::FolderError>()
            || cause.is::<merge::MergeInputError>()
            || cause.is::<tables::ReportInputError>()
    })
}

/// A usage error without a type of its own (a bad argument, an unreadable input).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UsageError(String);

#[derive(Parser)]
#[command(
    name = "sweep",
    version,
    about = "Label-noise robustness sweeps: hard versus label-smoothed targets",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run (or resume) an experiment.
    Run(RunArgs),
    /// Check an experiment file and its data without training: exit 0 when a sweep would start.
    Check {
        /// The experiment file.
        config: PathBuf,
    },
    /// Join the results folders of shards of one experiment into one folder and report on it.
    Merge {
        /// The folders to join (each written by `sweep run … --shard I/N` or a plain sweep).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// The merged results folder.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the expanded grid: one line per run with its id.
    List {
        /// The experiment file.
        config: PathBuf,
    },
    /// Rebuild every aggregate CSV, chart and report.md of a results folder from its per-run
    /// tables (runs.csv, epochs.csv, calibration.csv, penultimate.csv), without training.
    Report {
        /// The results folder.
        dir: PathBuf,
    },
    /// Compare two result CSVs cell by cell; exit 1 when they differ.
    Diff {
        /// The reference CSV.
        left: PathBuf,
        /// The CSV to check.
        right: PathBuf,
        /// Largest absolute difference between numeric cells that counts as equal.
        #[arg(long, default_value_t = 0.0)]
        atol: f64,
    },
}

#[derive(Args, Clone)]
struct RunArgs {
    /// The experiment file (TOML).
    #[arg(required = true)]
    config: Option<PathBuf>,
    /// Runs trained at once; default: the number of available cores.
    #[arg(long, short = 'j', value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Results folder; default: results/<name> in the current folder.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Start over: discard the folder's earlier records and outputs instead of resuming.
    #[arg(long)]
    fresh: bool,
    /// Run only the I-th of N disjoint slices of the grid (1 ≤ I ≤ N), e.g. `--shard 2/4`.
    #[arg(long, value_parser = grid::Shard::parse, value_name = "I/N")]
    shard: Option<grid::Shard>,
    /// Stop starting runs at the first failure (runs already training finish and are kept).
    #[arg(long)]
    fail_fast: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Run(cli.run));
    exit_code(match command {
        Command::Run(args) => run_command(args),
        Command::List { config } => list_command(&config),
        Command::Check { config } => check_command(&config),
        Command::Merge { dirs, out } => merge_command(&dirs, &out),
        Command::Report { dir } => report_command(&dir),
        Command::Diff { left, right, atol } => diff_command(&left, &right, atol),
    })
}

fn check_command(config_path: &Path) -> Result<Outcome> {
    let experiment = config::load(config_path)?.resolve()?;
    let prepared = experiment::prepare_data(&experiment).map_err(run::DataInputError)?;
    outln!(
        "{}: valid; {} ({} × {} × {}); data: {} training, {} validation, {} test samples, {} features, {} classes",
        config_path.display(),
        reporter::counted(grid::expand(&experiment).len(), "run"),
        experiment.noise.levels_counted(),
        reporter::counted(experiment.seeds as usize, "seed"),
        experiment.targets_counted(),
        prepared.train.n_samples(),
        prepared.validation.n_samples(),
        prepared.test.n_samples(),
        prepared.train.n_features,
        prepared.train.n_classes
    );
    Ok(Outcome::Success)
}

fn merge_command(dirs: &[PathBuf], out: &Path) -> Result<Outcome> {
    let summary = merge::merge(dirs, out)?;
    if summary.finished == summary.total {
        errln!(
            "merged {} folders into {}: all {} runs finished",
            dirs.len(),
            out.display(),
            summary.total
        );
        Ok(Outcome::Success)
    } else {
        errln!(
            "error: merged {} folders into {}, but only {} of the grid's {} runs finished ({} have no record in any folder); the report covers the runs found",
            dirs.len(),
            out.display(),
            summary.finished,
            summary.total,
            summary.total - summary.found
        );
        Ok(Outcome::Incomplete)
    }
}

fn report_command(dir: &Path) -> Result<Outcome> {
    // A missing folder is reported by reading its tables; an existing one is locked first, so no
    // sweep writes the tables while they are read and the outputs rebuilt.
    let lock = if dir.is_dir() {
        Some(store::ResultsDir::new(dir).lock("sweep report")?)
    } else {
        None
    };
    let tables = match tables::ResultTables::read(dir) {
        Ok(tables) => tables,
        Err(error) => {
            if let Some(lock) = lock {
                lock.abandon();
            }
            return Err(error.into());
        }
    };
    let context = report::read_context(dir);
    let aggregates = report::write_report(dir, &tables, &context)?;
    out!(
        "{}",
        reporter::accuracy_table(&aggregates.summary, false, &aggregates.levels)
    );
    if let Some(answer) = reporter::headline(&aggregates.best, &aggregates.levels) {
        outln!("{answer}");
    }
    if let Some(answer) = reporter::robust_answer(&aggregates.losses, &aggregates.levels) {
        outln!("Against the losses built for label noise, last epoch. {answer}");
    }
    errln!(
        "rebuilt the aggregates, charts and {} of {} from {} runs",
        results::REPORT,
        dir.display(),
        tables.runs.len()
    );
    Ok(Outcome::Success)
}

fn run_command(args: RunArgs) -> Result<Outcome> {
    let Some(config_path) = args.config else {
        return Err(UsageError(
            "no experiment file given; try `sweep experiments/noise.toml`".into(),
        )
        .into());
    };
    let experiment = config::load(&config_path)?.resolve()?;
    let jobs = args.jobs.map(usize::from).unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let inner_threads = configure_inner_threads(jobs);
    let options = run::RunOptions {
        config_path,
        jobs,
        inner_threads,
        out: args.out,
        fresh: args.fresh,
        shard: args.shard,
        fail_fast: args.fail_fast,
    };
    let summary = run::run(&experiment, &options)?;
    if summary.finished == summary.total {
        return Ok(Outcome::Success);
    }
    errln!(
        "error: {} of {} runs did not finish: {} failed (rerun the same command to retry them), {} diverged (a result, kept), {} not started",
        summary.total - summary.finished,
        summary.total,
        summary.failed,
        summary.diverged,
        summary.not_started
    );
    Ok(Outcome::Incomplete)
}

/// Sets how many threads candle's CPU matmul may use inside one run, and returns it.
///
/// candle reads `RAYON_NUM_THREADS` on every matmul and has no other setting. Runs in parallel
/// with multi-threaded matmuls fight over the cores: on 2 cores, the default experiment took 55 s
/// with `--jobs 2` and candle's default, 35 s with one matmul thread per run. So with several jobs
/// each run gets `cores / jobs` threads (at least 1); with one job it gets every core. A value the
/// user set is kept.
#[allow(unsafe_code)]
fn configure_inner_threads(jobs: usize) -> usize {
    if let Some(threads) = std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
    {
        return threads;
    }
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let threads = (cores / jobs).max(1);
    // SAFETY: this runs on the main thread before any other thread is started (no run, pool or
    // progress bar exists yet), so nothing can read the environment while it is written.
    unsafe { std::env::set_var("RAYON_NUM_THREADS", threads.to_string()) };
    threads
}

fn list_command(config_path: &Path) -> Result<Outcome> {
    let experiment = config::load(config_path)?.resolve()?;
    // Label sets are the noise levels of a `file` model: their rate is measured when the labels
    // are read, so the list names the set instead.
    let label_sets = experiment.noise.label_sets().is_some();
    let level = if label_sets {
        "label_set"
    } else {
        "noise_rate"
    };
    let setting_columns = reporter::Setting::header().join(",");
    let mut lines = vec![format!(
        "index,run_id,noise_model,{level},seed,{setting_columns}"
    )];
    lines.extend(grid::expand(&experiment).into_iter().map(|spec| {
        let level = match &spec.label_set {
            // A set's name is a CSV field: quoted when it holds a comma, quote or line break.
            Some(set) if set.contains([',', '"', '\n', '\r']) => {
                format!("\"{}\"", set.replace('"', "\"\""))
            }
            Some(set) => set.clone(),
            None => spec.noise_rate.to_string(),
        };
        let setting = spec.setting();
        let parameters: Vec<String> = setting
            .parameters
            .iter()
            .map(|value| value.map(|v| v.to_string()).unwrap_or_default())
            .collect();
        format!(
            "{},{},{},{level},{},{},{}",
            spec.index,
            spec.run_id,
            experiment.noise.model.name(),
            spec.seed,
            setting.loss,
            parameters.join(",")
        )
    }));
    for line in lines {
        match console::try_out(format_args!("{line}\n")) {
            Ok(()) => {}
            // The reader has all it wanted (`sweep list … | head`).
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => break,
            Err(error) => return Err(anyhow::Error::new(error).context("writing the grid")),
        }
    }
    Ok(Outcome::Success)
}

fn diff_command(left: &Path, right: &Path, atol: f64) -> Result<Outcome> {
    if !(atol.is_finite() && atol >= 0.0) {
        return Err(
            UsageError(format!("--atol {atol} is not allowed: a finite number ≥ 0")).into(),
        );
    }
    let differences =
        diff::diff_csv(left, right, atol).map_err(|error| UsageError(format!("{error:#}")))?;
    diff::report(&differences, left, right);
    Ok(if differences.is_empty() {
        Outcome::Success
    } else {
        Outcome::Incomplete
    })
}
