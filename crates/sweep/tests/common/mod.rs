//! Helpers shared by the integration tests: running the `sweep` binary and checking its exit.

use std::process::{Command, Output};

/// Runs the `sweep` binary with `args`, without colours or a progress bar.
pub fn sweep(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sweep"))
        .args(args)
        .env("NO_COLOR", "1")
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
