//! Faults a long sweep meets: a `kill -9` at any moment, runs that fail, a changed configuration,
//! a grid split over machines. Each test injects the fault and checks what survives.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{
    SLOW, TINY, assert_same_results, assert_success, record_count, run_ids, stderr, sweep,
    write_config,
};

#[test]
fn kill_9_then_resume_gives_the_bytes_of_an_uninterrupted_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "slow.toml", SLOW);
    let config = config.to_str().unwrap();
    let reference = dir.path().join("reference");
    assert_success(&sweep(&[config, "--out", reference.to_str().unwrap()]));

    let out = dir.path().join("killed");
    // Kill twice at different moments: after a few runs, and after more have finished.
    for kill_after in [3, 12] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sweep"))
            .args([config, "--out", out.to_str().unwrap(), "--jobs", "2"])
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while record_count(&out) < kill_after && started.elapsed() < Duration::from_secs(120) {
            std::thread::sleep(Duration::from_millis(5));
        }
        // `Child::kill` is SIGKILL on Unix: no destructor, no flush, no cleanup runs.
        child.kill().unwrap();
        child.wait().unwrap();
        let survived = record_count(&out);
        assert!(survived >= kill_after, "{survived} records after the kill");
        assert!(
            survived < 24,
            "the sweep finished before it could be killed"
        );
    }
    let before_resume = record_count(&out);

    let resumed = sweep(&[config, "--out", out.to_str().unwrap()]);
    assert_success(&resumed);
    let message = stderr(&resumed);
    // Every finished run is kept and none is trained twice.
    assert!(
        message.contains(&format!(
            "{before_resume} already finished, {} to train",
            24 - before_resume
        )),
        "{message}"
    );
    assert_eq!(record_count(&out), 24);
    assert_same_results(&reference, &out);
    // Every record is complete JSON, and no temporary file is counted as a record.
    for entry in fs::read_dir(out.join("records")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = fs::read_to_string(&path).unwrap();
            serde_json_is_complete(&text, &path);
        }
    }
}

/// A record is complete when it ends with its closing brace: a torn write would not.
fn serde_json_is_complete(text: &str, path: &Path) {
    assert!(
        text.trim_end().ends_with('}') && text.contains("\"seconds\""),
        "{path:?} is incomplete"
    );
}

#[test]
fn failed_runs_are_recorded_reported_and_retried() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "tiny.toml", TINY);
    let config = config.to_str().unwrap();
    let ids = run_ids(config);
    let out = dir.path().join("out");
    let out_str = out.to_str().unwrap();

    let failing = Command::new(env!("CARGO_BIN_EXE_sweep"))
        .args([config, "--out", out_str])
        .env("NO_COLOR", "1")
        .env("SWEEP_FAIL_RUNS", format!("{},{}", ids[1], ids[6]))
        .output()
        .unwrap();
    assert_eq!(failing.status.code(), Some(1), "{}", stderr(&failing));
    assert!(
        stderr(&failing).contains("error: 2 of 8 runs did not finish: 2 failed"),
        "{}",
        stderr(&failing)
    );
    let runs = fs::read_to_string(out.join("runs.csv")).unwrap();
    let failed: Vec<&str> = runs.lines().filter(|l| l.contains(",failed,")).collect();
    assert_eq!(failed.len(), 2, "{runs}");
    assert!(failed[0].starts_with(&ids[1]));
    assert!(failed[0].ends_with("failure injected through SWEEP_FAIL_RUNS"));
    // The summary counts the failed run in its group but computes statistics without it.
    let summary = fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(
        summary
            .lines()
            .nth(2)
            .unwrap()
            .contains(",ce,0.300000,,,,,,2,1,"),
        "{summary}"
    );

    // Rerunning retries the failed runs only, and then everything has finished.
    let retried = sweep(&[config, "--out", out_str]);
    assert_success(&retried);
    assert!(
        stderr(&retried).contains("6 already finished, 2 to train"),
        "{}",
        stderr(&retried)
    );
    let runs = fs::read_to_string(out.join("runs.csv")).unwrap();
    assert!(!runs.contains(",failed,"), "{runs}");
}

#[test]
fn fail_fast_stops_starting_runs_at_the_first_failure() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "tiny.toml", TINY);
    let config = config.to_str().unwrap();
    let ids = run_ids(config);
    let out = dir.path().join("out");
    let output = Command::new(env!("CARGO_BIN_EXE_sweep"))
        .args([
            config,
            "--out",
            out.to_str().unwrap(),
            "--jobs",
            "1",
            "--fail-fast",
        ])
        .env("NO_COLOR", "1")
        .env("SWEEP_FAIL_RUNS", &ids[2])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    // With one job, runs go in grid order: two finish, the third fails, five never start.
    assert!(
        message.contains("error: 6 of 8 runs did not finish: 1 failed (rerun the same command to retry them), 0 diverged (a result, kept), 5 not started"),
        "{message}"
    );
    assert_eq!(
        fs::read_to_string(out.join("runs.csv"))
            .unwrap()
            .lines()
            .count(),
        1 + 3
    );
}

#[test]
fn a_changed_config_reruns_only_changed_runs_and_sets_the_others_aside() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "tiny.toml", TINY);
    let out = dir.path().join("out");
    let args = [config.to_str().unwrap(), "--out", out.to_str().unwrap()];
    assert_success(&sweep(&args));
    // Replacing ε = 0.3 by 0.2 changes the ids of half the runs; the ε = 0 runs are kept.
    fs::write(&config, TINY.replace("[0.0, 0.3]", "[0.0, 0.2]")).unwrap();
    let changed = sweep(&args);
    assert_success(&changed);
    let message = stderr(&changed);
    assert!(
        message.contains("4 already finished, 4 to train"),
        "{message}"
    );
    assert!(
        message.contains("note: 4 record(s) in ") && message.contains("they are kept on disk"),
        "{message}"
    );
    assert_eq!(record_count(&out), 12, "old records stay on disk");
    let runs = fs::read_to_string(out.join("runs.csv")).unwrap();
    assert_eq!(runs.lines().count(), 1 + 8);
    assert!(!runs.contains(",0.300000,"), "{runs}");
}

#[test]
fn shards_merge_into_the_bytes_of_a_single_machine_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "tiny.toml", TINY);
    let config = config.to_str().unwrap();
    let single = dir.path().join("single");
    assert_success(&sweep(&[config, "--out", single.to_str().unwrap()]));
    let shards: Vec<PathBuf> = (1..=3)
        .map(|i| dir.path().join(format!("shard-{i}")))
        .collect();
    let mut sizes = Vec::new();
    for (i, shard) in shards.iter().enumerate() {
        let output = sweep(&[
            "run",
            config,
            "--shard",
            &format!("{}/3", i + 1),
            "--out",
            shard.to_str().unwrap(),
        ]);
        assert_success(&output);
        sizes.push(record_count(shard));
    }
    assert_eq!(sizes, vec![3, 3, 2], "8 runs dealt to 3 shards");
    // A shard's page says it covers the shard only, also when rebuilt from its folder.
    let shard_page = || fs::read_to_string(shards[1].join("report.md")).unwrap();
    assert!(
        shard_page().contains("**Shard 2/3.** This folder holds one shard of the grid, 3 runs,"),
        "{}",
        shard_page()
    );
    assert_success(&sweep(&["report", shards[1].to_str().unwrap()]));
    assert!(shard_page().contains("**Shard 2/3.**"));

    // A missing shard leaves runs out: exit 1, and the report covers what was found.
    let partial = dir.path().join("partial");
    let mut args = vec!["merge"];
    args.extend(shards[..2].iter().map(|s| s.to_str().unwrap()));
    args.extend(["--out", partial.to_str().unwrap()]);
    let output = sweep(&args);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("only 6 of the grid's 8 runs finished"));

    let merged = dir.path().join("merged");
    let mut args = vec!["merge"];
    args.extend(shards.iter().map(|s| s.to_str().unwrap()));
    args.extend(["--out", merged.to_str().unwrap()]);
    assert_success(&sweep(&args));
    assert_same_results(&single, &merged);
    let merged_page = fs::read_to_string(merged.join("report.md")).unwrap();
    assert!(!merged_page.contains("Shard"), "{merged_page}");

    // Folders of a different experiment are refused before anything is written.
    let other_config = write_config(
        dir.path(),
        "other.toml",
        &TINY.replace("seed = 11", "seed = 12"),
    );
    let other = dir.path().join("other");
    assert_success(&sweep(&[
        other_config.to_str().unwrap(),
        "--out",
        other.to_str().unwrap(),
    ]));
    let refused_out = dir.path().join("refused");
    let output = sweep(&[
        "merge",
        shards[0].to_str().unwrap(),
        other.to_str().unwrap(),
        "--out",
        refused_out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("differs from") && stderr(&output).contains("cannot be merged"),
        "{}",
        stderr(&output)
    );
    assert!(!refused_out.exists());
    let bad_shard = sweep(&["run", config, "--shard", "4/3"]);
    assert_eq!(bad_shard.status.code(), Some(2));
}

#[test]
fn check_validates_config_and_data_without_running() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "tiny.toml", TINY);
    let output = sweep(&["check", config.to_str().unwrap()]);
    assert_success(&output);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("valid; 8 runs (2 noise rates × 2 seeds × 2 ε)"),
        "{text}"
    );
    assert!(!dir.path().join("results").exists());
    let bad = write_config(
        dir.path(),
        "bad.toml",
        &TINY.replace("epochs = 3", "epochs = 0"),
    );
    let output = sweep(&["check", bad.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("training.epochs: 0 is not allowed: at least 1"));
}
