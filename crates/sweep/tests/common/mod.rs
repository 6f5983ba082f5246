//! Helpers shared by the integration tests: running the `sweep` binary and checking its exit.

use std::ffi::OsStr;
use std::process::{Command, Output};

/// A grid of 8 runs (2 rates × 2 seeds × 2 ε) that trains in a fraction of a second.
#[allow(dead_code)] // Not every test file that shares these helpers uses it.
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
#[allow(dead_code)] // Not every test file that shares these helpers uses it.
pub fn sweep_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sweep"));
    command
        .args(args)
        .env("NO_COLOR", "1")
        .env("LABELNOISE_CACHE_DIR", "");
    command
}
