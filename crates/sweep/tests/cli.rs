//! End-to-end tests of the `sweep` binary on tiny grids.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::{TINY, assert_success, stderr, sweep};

const TABLES: [&str; 8] = [
    "runs.csv",
    "epochs.csv",
    "calibration.csv",
    "penultimate.csv",
    "summary.csv",
    "paired.csv",
    "best_epsilon.csv",
    "auc.csv",
];

/// Every file a report consists of: the tables, each chart as PNG and SVG, and the page.
const REPORT_FILES: [&str; 19] = [
    "runs.csv",
    "epochs.csv",
    "calibration.csv",
    "penultimate.csv",
    "summary.csv",
    "paired.csv",
    "best_epsilon.csv",
    "auc.csv",
    "accuracy_vs_noise.png",
    "accuracy_vs_noise.svg",
    "gain_heatmap.png",
    "gain_heatmap.svg",
    "curves.png",
    "curves.svg",
    "reliability.png",
    "reliability.svg",
    "penultimate.png",
    "penultimate.svg",
    "report.md",
];

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("experiment.toml");
    fs::write(&path, text).unwrap();
    path
}

fn run_tiny(config: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![config.to_str().unwrap(), "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let output = sweep(&args);
    assert_success(&output);
    output
}

#[test]
fn one_and_two_jobs_give_byte_identical_csvs() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), TINY);
    let one = dir.path().join("one");
    let two = dir.path().join("two");
    run_tiny(&config, &one, &["--jobs", "1"]);
    run_tiny(&config, &two, &["--jobs", "2"]);
    for table in TABLES {
        let a = fs::read(one.join(table)).unwrap();
        let b = fs::read(two.join(table)).unwrap();
        assert!(a == b, "{table} differs between --jobs 1 and --jobs 2");
    }
    let runs = fs::read_to_string(one.join("runs.csv")).unwrap();
    // Header plus 2 rates × 2 seeds × 2 ε.
    assert_eq!(runs.lines().count(), 1 + 8);
    let epochs = fs::read_to_string(one.join("epochs.csv")).unwrap();
    assert_eq!(epochs.lines().count(), 1 + 8 * 3);
    let summary = fs::read_to_string(one.join("summary.csv")).unwrap();
    assert_eq!(summary.lines().count(), 1 + 4);
    // One paired row per (rate, ε ≠ 0), each over 2 seeds.
    let paired = fs::read_to_string(one.join("paired.csv")).unwrap();
    assert_eq!(paired.lines().count(), 1 + 2);
    assert!(
        paired
            .lines()
            .skip(1)
            .all(|l| l.contains(",ce,0.300000,,,,,,2,")),
        "{paired}"
    );
    for file in REPORT_FILES.iter().chain(&["manifest.json"]) {
        assert!(one.join(file).exists(), "{file} missing");
    }
    // 15 bins per run; the penultimate projection for the first seed's 4 runs only.
    let calibration = fs::read_to_string(one.join("calibration.csv")).unwrap();
    assert_eq!(calibration.lines().count(), 1 + 8 * 15);
    let projected: Vec<String> = fs::read_to_string(one.join("penultimate.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| line.split(',').nth(3).unwrap().to_string())
        .collect();
    assert!(!projected.is_empty() && projected.iter().all(|seed| seed == "0"));
    let noisy = fs::read_dir(one.join("noisy-labels")).unwrap().count();
    assert_eq!(noisy, 4, "one noisy-label file per (rate, seed)");
}

#[test]
fn rerunning_skips_finished_runs_and_resumes_missing_ones() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), TINY);
    let out = dir.path().join("out");
    let first = run_tiny(&config, &out, &["--jobs", "2"]);
    assert!(
        stderr(&first).contains("0 already finished, 8 to train"),
        "{}",
        stderr(&first)
    );
    let tables: Vec<Vec<u8>> = TABLES
        .iter()
        .map(|t| fs::read(out.join(t)).unwrap())
        .collect();

    let second = run_tiny(&config, &out, &[]);
    assert!(
        stderr(&second).contains("8 already finished, 0 to train"),
        "{}",
        stderr(&second)
    );

    // Lose one finished run (as if the sweep had been killed before it completed): only that run
    // is trained again, and the results are the same bytes as before.
    let records: Vec<PathBuf> = fs::read_dir(out.join("records"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(records.len(), 8);
    // Each record times its run, and within that its training steps.
    for path in &records {
        let record: serde_json::Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
        let (seconds, training) = (
            record["seconds"].as_f64().unwrap(),
            record["training_seconds"].as_f64().unwrap(),
        );
        assert!(
            0.0 < training && training <= seconds,
            "{path:?}: {training} of {seconds} s"
        );
    }
    fs::remove_file(&records[3]).unwrap();
    let third = run_tiny(&config, &out, &["--jobs", "1"]);
    assert!(
        stderr(&third).contains("7 already finished, 1 to train"),
        "{}",
        stderr(&third)
    );
    for (table, before) in TABLES.iter().zip(&tables) {
        assert!(
            &fs::read(out.join(table)).unwrap() == before,
            "{table} changed on resume"
        );
    }

    // --fresh trains everything again.
    let fresh = run_tiny(&config, &out, &["--fresh"]);
    assert!(
        stderr(&fresh).contains("0 already finished, 8 to train"),
        "{}",
        stderr(&fresh)
    );

    // Adding a seed keeps the finished runs and trains only the new ones.
    fs::write(&config, TINY.replace("seeds = 2", "seeds = 3")).unwrap();
    let grown = run_tiny(&config, &out, &[]);
    assert!(
        stderr(&grown).contains("8 already finished, 4 to train"),
        "{}",
        stderr(&grown)
    );
}

#[test]
fn report_rebuilds_every_output_from_the_per_run_tables() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), TINY);
    let out = dir.path().join("out");
    run_tiny(&config, &out, &[]);
    let before: Vec<Vec<u8>> = REPORT_FILES
        .iter()
        .map(|f| fs::read(out.join(f)).unwrap())
        .collect();
    let page = String::from_utf8(fs::read(out.join("report.md")).unwrap()).unwrap();
    assert!(page.starts_with("# tiny\n\n**Question.** How much does label smoothing"));
    for chart in [
        "accuracy_vs_noise",
        "gain_heatmap",
        "curves",
        "reliability",
        "penultimate",
    ] {
        assert!(
            page.contains(&format!("]({chart}.png)")),
            "{chart} not embedded"
        );
    }

    // Without the records, the aggregates, charts and page, only the per-run tables remain.
    fs::remove_dir_all(out.join("records")).unwrap();
    for file in &REPORT_FILES[4..] {
        fs::remove_file(out.join(file)).unwrap();
    }
    let output = sweep(&["report", out.to_str().unwrap()]);
    assert_success(&output);
    for (file, bytes) in REPORT_FILES.iter().zip(&before) {
        assert!(
            &fs::read(out.join(file)).unwrap() == bytes,
            "{file} differs after `sweep report`"
        );
    }

    // An edited result set is re-reported: dropping seed 1 leaves one pair per group.
    let runs = fs::read_to_string(out.join("runs.csv")).unwrap();
    let seed = runs
        .lines()
        .next()
        .unwrap()
        .split(',')
        .position(|column| column == "seed")
        .unwrap();
    let kept: Vec<&str> = runs
        .lines()
        .filter(|line| line.split(',').nth(seed) != Some("1"))
        .collect();
    fs::write(out.join("runs.csv"), kept.join("\n") + "\n").unwrap();
    assert_success(&sweep(&["report", out.to_str().unwrap()]));
    let paired = fs::read_to_string(out.join("paired.csv")).unwrap();
    assert!(
        paired
            .lines()
            .skip(1)
            .all(|l| l.contains(",ce,0.300000,,,,,,1,")),
        "{paired}"
    );

    // A malformed table is a usage error naming the file and line; nothing is rewritten.
    fs::write(out.join("runs.csv"), runs.replacen("finished", "done", 1)).unwrap();
    let summary = fs::read(out.join("summary.csv")).unwrap();
    let broken = sweep(&["report", out.to_str().unwrap()]);
    assert_eq!(broken.status.code(), Some(2));
    let message = stderr(&broken);
    assert!(
        message.starts_with(&format!("error: {}:2: ", out.join("runs.csv").display())),
        "{message}"
    );
    assert_eq!(fs::read(out.join("summary.csv")).unwrap(), summary);
    let missing = sweep(&["report", dir.path().join("nothing").to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn an_unknown_key_is_a_usage_error_naming_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &TINY.replace("batch_size = 16", "batch_size = 16\nbatchsize = 16"),
    );
    let out = dir.path().join("out");
    let output = sweep(&[config.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    let expected = format!(
        "error: {}:26: training.batchsize: unknown field `batchsize`, expected one of `epochs`, `batch_size`",
        config.display()
    );
    assert!(message.starts_with(&expected), "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(!out.exists(), "nothing is written for a bad config");
}

#[test]
fn a_noise_rate_outside_the_unit_interval_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &TINY.replace("rates = [0.0, 0.4]", "rates = [0.0, 1.4]"),
    );
    let output = sweep(&[config.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output).trim_end(),
        format!(
            "error: {}:14: noise.rates[1]: 1.4 is outside [0, 1]: a noise rate is a probability in [0, 1]",
            config.display()
        )
    );
}

#[test]
fn a_missing_config_file_is_a_usage_error() {
    let output = sweep(&["no/such/experiment.toml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).starts_with("error: no/such/experiment.toml: cannot read"));
}

#[test]
fn diff_exits_one_on_a_difference_and_zero_on_agreement() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.csv");
    let b = dir.path().join("b.csv");
    fs::write(&a, "k,v\nx,0.100000\n").unwrap();
    fs::write(&b, "k,v\nx,0.100400\n").unwrap();
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let differ = sweep(&["diff", a, b]);
    assert_eq!(differ.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&differ.stdout).contains("line 2 column v: 0.100000 vs 0.100400")
    );
    assert_eq!(
        sweep(&["diff", a, b, "--atol", "0.001"]).status.code(),
        Some(0)
    );
    assert_eq!(sweep(&["diff", a, "missing.csv"]).status.code(), Some(2));
}

#[test]
fn list_prints_the_grid() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), TINY);
    let output = sweep(&["list", config.to_str().unwrap()]);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(text.lines().count(), 1 + 8);
    assert!(
        text.lines()
            .nth(4)
            .unwrap()
            .ends_with(",symmetric,0,1,ce,0.3,,,,,"),
        "{text}"
    );
}

#[test]
fn a_missing_data_file_is_a_usage_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("missing.csv");
    let config = write_config(
        dir.path(),
        &TINY.replace(
            "source = \"blobs\"\nn_classes = 3\nn_features = 5\nn_samples = 150\nseparation = 1.2",
            &format!(
                "source = \"csv\"\npath = \"{}\"\nlabel_column = \"y\"",
                table.display()
            ),
        ),
    );
    let out = dir.path().join("out");
    let output = sweep(&[config.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    let error_line = message.lines().last().unwrap();
    assert!(
        error_line.starts_with(&format!("error: {}: ", table.display())),
        "{message}"
    );
    assert!(
        !out.exists(),
        "nothing is written when the data cannot be read"
    );
}
