//! `sweep report` refuses per-run tables that a sweep could not have written, and the page a sweep
//! writes says what its grid can answer.

use std::fs;
use std::path::Path;

mod common;
use common::{TINY, assert_success, stderr, sweep};

/// Trains `config_text` into `dir/out` and returns that folder.
fn trained(dir: &Path, config_text: &str) -> std::path::PathBuf {
    let config = dir.join("experiment.toml");
    fs::write(&config, config_text).unwrap();
    let out = dir.join("out");
    assert_success(&sweep(&[
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    out
}

/// `runs.csv` with cell `column` of data line `line` (1-based, the header is line 1) replaced.
fn with_cell(runs: &str, line: usize, column: usize, value: &str) -> String {
    let mut lines: Vec<String> = runs.lines().map(String::from).collect();
    let mut cells: Vec<&str> = lines[line - 1].split(',').collect();
    cells[column] = value;
    lines[line - 1] = cells.join(",");
    lines.join("\n") + "\n"
}

#[test]
fn sweep_report_refuses_runs_a_sweep_could_not_have_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = trained(dir.path(), TINY);
    let runs_path = out.join("runs.csv");
    let runs = fs::read_to_string(&runs_path).unwrap();
    let summary = fs::read(out.join("summary.csv")).unwrap();
    let header = runs.lines().next().unwrap().to_string();
    let column = |name: &str| header.split(',').position(|c| c == name).unwrap();
    let last = runs.lines().last().unwrap();
    let cases: Vec<(&str, String, String)> = vec![
        (
            "a duplicate row",
            format!("{runs}{last}\n"),
            format!(
                "{}:10: the run with noise model symmetric, noise rate 0.4, seed 1 and ε = 0.3 is \
                 listed again (first on line 9)",
                runs_path.display()
            ),
        ),
        (
            "an accuracy above 1",
            with_cell(&runs, 3, column("test_accuracy"), "1.500000"),
            format!(
                "{}:3: column `test_accuracy`: 1.5 is outside [0, 1]",
                runs_path.display()
            ),
        ),
        (
            "a negative share",
            with_cell(&runs, 8, column("memorised_share"), "-0.100000"),
            format!(
                "{}:8: column `memorised_share`: -0.1 is outside [0, 1]",
                runs_path.display()
            ),
        ),
        (
            "a run id that does not match its settings",
            with_cell(&runs, 4, column("run_id"), "0123456789abcdef"),
            format!(
                "{}:4: run_id `0123456789abcdef` does not match its settings (noise rate 0, seed \
                 1, ε = 0 (hard targets)): the configuration in manifest.json gives that run the id `",
                runs_path.display()
            ),
        ),
        (
            "a seed outside the grid",
            with_cell(&runs, 5, column("seed"), "7"),
            format!(
                "{}:5: run `{}` (noise rate 0, seed 7, ε = 0.3) is not in the grid of the \
                 configuration in manifest.json",
                runs_path.display(),
                runs.lines().nth(4).unwrap().split(',').next().unwrap()
            ),
        ),
        (
            "no runs",
            format!("{header}\n"),
            format!("{}:1: no runs", runs_path.display()),
        ),
    ];
    for (what, text, expected) in cases {
        fs::write(&runs_path, text).unwrap();
        let output = sweep(&["report", out.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(2), "{what}: {}", stderr(&output));
        let message = stderr(&output);
        assert!(
            message.starts_with(&format!("error: {expected}")),
            "{what}: {message}"
        );
        assert_eq!(
            fs::read(out.join("summary.csv")).unwrap(),
            summary,
            "{what}: the aggregates were rewritten"
        );
    }
    // The table as the sweep wrote it still reports, to the same bytes.
    fs::write(&runs_path, &runs).unwrap();
    assert_success(&sweep(&["report", out.to_str().unwrap()]));
    assert_eq!(fs::read(out.join("summary.csv")).unwrap(), summary);
}

#[test]
fn a_sweep_without_hard_targets_says_what_it_can_answer() {
    let dir = tempfile::tempdir().unwrap();
    let out = trained(
        dir.path(),
        &TINY.replace("epsilons = [0.0, 0.3]", "epsilons = [0.1, 0.3]"),
    );
    let page = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        page.contains(
            "**Answer.** This grid has no hard-target (ε = 0) runs, so there is nothing to \
             compare label smoothing against. At the highest noise rate run (0.4), the best ε is "
        ),
        "{page}"
    );
    assert!(!page.contains("beats hard targets"), "{page}");
    assert!(
        page.contains(
            "No paired gains: this grid has no hard-target (ε = 0) runs to pair the ε ≠ 0 runs \
             with."
        ),
        "{page}"
    );
    assert!(
        page.contains(
            "## Charts not drawn\n\n- Gain heatmap: there are no paired gains to show (see the \
             paired-gain section)."
        ),
        "{page}"
    );
    // `sweep report` writes the same page.
    assert_success(&sweep(&["report", out.to_str().unwrap()]));
    assert_eq!(fs::read_to_string(out.join("report.md")).unwrap(), page);
}

#[test]
fn the_settings_table_shows_plain_values() {
    let dir = tempfile::tempdir().unwrap();
    let out = trained(dir.path(), TINY);
    let page = fs::read_to_string(out.join("report.md")).unwrap();
    let settings = &page[page.find("## Settings").unwrap()..];
    assert!(!settings.contains(" { "), "{settings}");
    for row in [
        "| `resolved.optimizer.name` | sgd |",
        "| `resolved.optimizer.learning_rate` | 0.05 |",
        "| `resolved.optimizer.nesterov` | false |",
        "| `noise.rates` | 0.0, 0.4 |",
    ] {
        assert!(settings.contains(row), "{row} missing from\n{settings}");
    }
}
