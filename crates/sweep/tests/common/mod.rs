//! Helpers shared by the integration tests: running the `sweep` binary and checking its exit.

// Each test file uses only some of these helpers.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A grid of 8 runs (2 rates × 2 seeds × 2 ε) that trains in a fraction of a second.
pub const TINY: &str = r#"name = "tiny"
seed = 11
seeds = 2

[data]
source = "blobs"
n_classes = 3
n_features = 5
n_samples = 150
separation = 1.2

[noise]
model = "symmetric"
rates = [0.0, 0.4]

[targets]
epsilons = [0.0, 0.3]

[model]
kind = "mlp"
hidden = [8]

[training]
epochs = 3
batch_size = 16
optimizer = "sgd"
learning_rate = 0.05
"#;

/// 24 runs of about a quarter of a second each on a fast core (some 3 s with two jobs): slow
/// enough to be killed in the middle, or for a second process to meet the first at work.
pub const SLOW: &str = r#"name = "slow"
seed = 3
seeds = 4

[data]
source = "blobs"
n_classes = 4
n_features = 16
n_samples = 8000
separation = 1.0

[noise]
model = "symmetric"
rates = [0.0, 0.3, 0.6]

[targets]
epsilons = [0.0, 0.4]

[model]
kind = "mlp"
hidden = [128]

[training]
epochs = 40
batch_size = 16
optimizer = "sgd"
learning_rate = 0.05
"#;

/// Runs the `sweep` binary with `args`, without colours or a progress bar, and without the
/// image cache (so that no test writes to the user's cache folder).
pub fn sweep(args: &[&str]) -> Output {
    sweep_with_env(args, &[])
}

/// [`sweep`] with the environment variables `env` set on top (`LABELNOISE_CACHE_DIR` among them
/// to use an image cache).
pub fn sweep_with_env(args: &[&str], env: &[(&str, &OsStr)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sweep"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("LABELNOISE_CACHE_DIR", "")
        .envs(env.iter().copied())
        .output()
        .expect("the sweep binary runs")
}

/// Fails the test with both output streams unless the command succeeded.
pub fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A [`Command`] running the `sweep` binary with `args` in the environment of [`sweep`], for a
/// test that spawns it and wires its streams itself.
pub fn sweep_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sweep"));
    command
        .args(args)
        .env("NO_COLOR", "1")
        .env("LABELNOISE_CACHE_DIR", "");
    command
}

/// The files whose bytes must not depend on how a sweep got there (interrupted, resumed, merged,
/// with its console closed or a neighbour turned away).
pub const RESULT_FILES: [&str; 10] = [
    "runs.csv",
    "epochs.csv",
    "calibration.csv",
    "penultimate.csv",
    "transitions.csv",
    "summary.csv",
    "paired.csv",
    "best_epsilon.csv",
    "auc.csv",
    "report.md",
];

/// Writes `text` to `dir/name` and returns the path.
pub fn write_config(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

/// A command's standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A command's standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Fails unless every one of [`RESULT_FILES`] has the same bytes in both folders.
pub fn assert_same_results(expected: &Path, actual: &Path) {
    for file in RESULT_FILES {
        let a = fs::read(expected.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let b = fs::read(actual.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(a == b, "{file} differs between {expected:?} and {actual:?}");
    }
}

/// Finished records in a results folder (temporary files not counted).
pub fn record_count(out: &Path) -> usize {
    fs::read_dir(out.join("records")).map_or(0, |entries| {
        entries
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                let name = name.to_string_lossy();
                name.ends_with(".json") && !name.starts_with('.')
            })
            .count()
    })
}

/// The run ids of a config's grid, in grid order.
pub fn run_ids(config: &str) -> Vec<String> {
    let output = sweep(&["list", config]);
    assert_success(&output);
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .skip(1)
        .map(|line| line.split(',').nth(1).unwrap().to_string())
        .collect()
}
