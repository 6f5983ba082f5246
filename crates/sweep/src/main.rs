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
//! Exit codes: 0 success (every run finished); 1 a run failed or diverged, or the CSVs differ;
//! 2 a usage or configuration error.

mod config;
mod diff;
mod experiment;
mod figures;
mod grid;
mod merge;
mod report;
mod run;
mod store;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

// candle allocates a fresh buffer for every tensor op; mimalloc keeps freed memory for reuse and
// makes parallel runs markedly faster than glibc malloc does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    match command {
        Command::Run(args) => run_command(args),
        Command::List { config } => list_command(&config),
        Command::Check { config } => check_command(&config),
        Command::Merge { dirs, out } => merge_command(&dirs, &out),
        Command::Report { dir } => report_command(&dir),
        Command::Diff { left, right, atol } => diff_command(&left, &right, atol),
    }
}

fn check_command(config_path: &std::path::Path) -> ExitCode {
    let config = match load_config(config_path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let prepared = match experiment::prepare_data(&config) {
        Ok(prepared) => prepared,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    println!(
        "{}: valid; {} runs ({} noise rates × {} seeds × {} ε); data: {} training, {} validation, {} test samples, {} features, {} classes",
        config_path.display(),
        grid::expand(&config).len(),
        config.noise.rates.len(),
        config.seeds,
        config.targets.epsilons.len(),
        prepared.train.n_samples(),
        prepared.validation.n_samples(),
        prepared.test.n_samples(),
        prepared.train.n_features,
        prepared.train.n_classes
    );
    ExitCode::SUCCESS
}

fn merge_command(dirs: &[PathBuf], out: &std::path::Path) -> ExitCode {
    match merge::merge(dirs, out) {
        Ok(summary) if summary.finished == summary.total => {
            eprintln!(
                "merged {} folders into {}: all {} runs finished",
                dirs.len(),
                out.display(),
                summary.total
            );
            ExitCode::SUCCESS
        }
        Ok(summary) => {
            eprintln!(
                "error: merged {} folders into {}, but only {} of the grid's {} runs finished ({} have no record in any folder); the report covers the runs found",
                dirs.len(),
                out.display(),
                summary.finished,
                summary.total,
                summary.total - summary.found
            );
            ExitCode::from(1)
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            if error.is::<merge::MergeInputError>() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

fn report_command(dir: &std::path::Path) -> ExitCode {
    let tables = match report::ResultTables::read(dir) {
        Ok(tables) => tables,
        Err(error) => {
            eprintln!("error: {:#}", error.0);
            return ExitCode::from(2);
        }
    };
    let context = report::read_context(dir);
    match report::write_report(dir, &tables, &context) {
        Ok(aggregates) => {
            print!("{}", reporter::accuracy_table(&aggregates.summary, false));
            if let Some(answer) = reporter::headline(&aggregates.best) {
                println!("{answer}");
            }
            eprintln!(
                "rebuilt the aggregates, charts and report.md of {} from {} runs",
                dir.display(),
                tables.runs.len()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}

fn load_config(path: &std::path::Path) -> Result<config::ExperimentConfig, ExitCode> {
    config::load(path).map_err(|error| {
        eprintln!("error: {error}");
        ExitCode::from(2)
    })
}

fn run_command(args: RunArgs) -> ExitCode {
    let Some(config_path) = args.config else {
        eprintln!("error: no experiment file given; try `sweep experiments/noise.toml`");
        return ExitCode::from(2);
    };
    let config = match load_config(&config_path) {
        Ok(config) => config,
        Err(code) => return code,
    };
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
    match run::run(&config, &options) {
        Ok(summary) if summary.finished == summary.total => ExitCode::SUCCESS,
        Ok(summary) => {
            eprintln!(
                "error: {} of {} runs did not finish: {} failed (rerun the same command to retry them), {} diverged (a result, kept), {} not started",
                summary.total - summary.finished,
                summary.total,
                summary.failed,
                summary.diverged,
                summary.not_started
            );
            ExitCode::from(1)
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            if error.is::<run::DataInputError>() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
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

fn list_command(config_path: &std::path::Path) -> ExitCode {
    let config = match load_config(config_path) {
        Ok(config) => config,
        Err(code) => return code,
    };
    println!("index,run_id,noise_model,noise_rate,seed,epsilon");
    for spec in grid::expand(&config) {
        println!(
            "{},{},{},{},{},{}",
            spec.index,
            spec.run_id,
            config.noise.model.model().name(),
            spec.noise_rate,
            spec.seed,
            spec.epsilon
        );
    }
    ExitCode::SUCCESS
}

fn diff_command(left: &std::path::Path, right: &std::path::Path, atol: f64) -> ExitCode {
    if !(atol.is_finite() && atol >= 0.0) {
        eprintln!("error: --atol {atol} is not allowed: a finite number ≥ 0");
        return ExitCode::from(2);
    }
    match diff::diff_csv(left, right, atol) {
        Ok(differences) => {
            diff::report(&differences, left, right);
            if differences.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
