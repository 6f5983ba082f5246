//! Nothing lost, nothing corrupted: a closed pipe, a second process on the same folder, a folder
//! of another experiment, an unwritable folder, a last-digit difference, an error with a
//! backtrace. Each test provokes the fault against the built binary and checks what survives.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

mod common;
use common::{
    SLOW, TINY, assert_same_results, assert_success, record_count, run_ids, stderr, sweep,
    sweep_command, sweep_with_env, write_config,
};

/// Every file below `dir` with its bytes, in path order.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let bytes = fs::read(&path).unwrap();
                files.push((path, bytes));
            }
        }
    }
    files.sort();
    files
}

/// The rows of a results CSV as maps from column to cell.
fn csv_rows(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    reader
        .records()
        .map(|record| {
            header
                .iter()
                .cloned()
                .zip(record.unwrap().iter().map(String::from))
                .collect()
        })
        .collect()
}

#[test]
fn a_closed_stdout_or_stderr_never_stops_a_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "tiny.toml", TINY);
    let config = config.to_str().unwrap();
    let reference = dir.path().join("reference");
    assert_success(&sweep(&[config, "--out", reference.to_str().unwrap()]));

    // Which stream is a pipe whose reader goes away, and how many lines it reads first.
    for (stream, lines_read) in [("stdout", 0), ("stderr", 0), ("stderr", 1)] {
        let out = dir.path().join(format!("{stream}-{lines_read}"));
        let mut command = sweep_command(&[config, "--out", out.to_str().unwrap(), "--jobs", "2"]);
        command.stdin(Stdio::null());
        if stream == "stdout" {
            command.stdout(Stdio::piped()).stderr(Stdio::null());
        } else {
            command.stdout(Stdio::null()).stderr(Stdio::piped());
        }
        let mut child = command.spawn().unwrap();
        let pipe: Box<dyn std::io::Read> = match stream {
            "stdout" => Box::new(child.stdout.take().unwrap()),
            _ => Box::new(child.stderr.take().unwrap()),
        };
        let mut reader = BufReader::new(pipe);
        for _ in 0..lines_read {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            assert!(!line.is_empty());
        }
        // Closing the read end: every later write of the child meets a broken pipe.
        drop(reader);
        let status = child.wait().unwrap();
        assert!(
            status.success(),
            "{stream} closed after {lines_read} line(s): {status}"
        );
        assert_same_results(&reference, &out);
        assert_eq!(record_count(&out), 8);
    }
}

#[test]
fn list_into_a_closed_pipe_exits_zero_quietly() {
    let dir = tempfile::tempdir().unwrap();
    // 8,000 runs: far more lines than a pipe buffers, so the writer meets the closed end.
    let config = write_config(
        dir.path(),
        "big.toml",
        &TINY.replace("seeds = 2", "seeds = 2000"),
    );
    let mut child = sweep_command(&["list", config.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // `sweep list … | head -2`.
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    for expected in ["index,run_id,", "0,"] {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert!(line.starts_with(expected), "{line}");
    }
    drop(reader);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stderr(&output), "", "nothing is said about the closed pipe");
}

#[test]
fn a_second_process_on_a_results_folder_exits_2_at_once_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "slow.toml", SLOW);
    let config = config.to_str().unwrap();
    let reference = dir.path().join("reference");
    assert_success(&sweep(&[
        config,
        "--out",
        reference.to_str().unwrap(),
        "--jobs",
        "2",
    ]));

    let out = dir.path().join("shared");
    let out_str = out.to_str().unwrap();
    let mut first = sweep_command(&[config, "--out", out_str, "--jobs", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The first sweep holds the lock once it has written its pid and finished a run.
    let lock = out.join(".lock");
    let started = Instant::now();
    while !(fs::read_to_string(&lock).is_ok_and(|text| text.contains("pid"))
        && record_count(&out) > 0)
    {
        assert!(started.elapsed() < Duration::from_secs(120), "no record");
        std::thread::sleep(Duration::from_millis(5));
    }
    let holder = format!("is in use by another process (pid {}", first.id());

    for (args, what) in [
        (vec![config, "--out", out_str], "a second sweep"),
        (vec![config, "--out", out_str, "--fresh"], "a fresh sweep"),
        (vec!["report", out_str], "a report"),
        (
            vec!["merge", reference.to_str().unwrap(), "--out", out_str],
            "a merge",
        ),
    ] {
        let asked = Instant::now();
        let second = sweep(&args);
        let message = stderr(&second);
        assert_eq!(second.status.code(), Some(2), "{what}: {message}");
        assert_eq!(message.lines().count(), 1, "{what}: one line: {message}");
        let prefix = format!("error: results folder {out_str} {holder}");
        assert!(
            message.starts_with(&prefix) && message[prefix.len()..].starts_with([' ', ',']),
            "{what}: {message}"
        );
        assert!(
            message.contains("`sweep run` started ")
                && message.contains(&format!("lock file {}", lock.display())),
            "{what}: {message}"
        );
        assert!(second.stdout.is_empty(), "{what} printed nothing else");
        assert!(asked.elapsed() < Duration::from_secs(20), "{what} waited");
    }
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first sweep ended before the others were refused: make SLOW slower"
    );

    assert!(first.wait().unwrap().success());
    assert_eq!(record_count(&out), 24);
    assert_same_results(&reference, &out);
    // Once the holder has ended, the folder is free again.
    assert_success(&sweep(&["report", out_str]));
}

#[test]
fn merging_into_a_folder_of_another_experiment_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "tiny.toml", TINY);
    let other_config = write_config(
        dir.path(),
        "other.toml",
        &TINY.replace("seed = 11", "seed = 12"),
    );
    let shard = dir.path().join("shard");
    let other = dir.path().join("other");
    assert_success(&sweep(&[
        "run",
        config.to_str().unwrap(),
        "--shard",
        "1/2",
        "--out",
        shard.to_str().unwrap(),
    ]));
    assert_success(&sweep(&[
        other_config.to_str().unwrap(),
        "--out",
        other.to_str().unwrap(),
    ]));
    let hash = |folder: &Path| -> String {
        let manifest: serde_json::Value =
            serde_json::from_slice(&fs::read(folder.join("manifest.json")).unwrap()).unwrap();
        manifest["config_hash"].as_str().unwrap()[..12].to_string()
    };
    let before = snapshot(&other);

    let output = sweep(&[
        "merge",
        shard.to_str().unwrap(),
        "--out",
        other.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert_eq!(
        message.trim_end(),
        format!(
            "error: {}: config_hash {} differs from the merged folders' {}: {} holds another experiment; choose another --out",
            other.join("manifest.json").display(),
            hash(&other),
            hash(&shard),
            other.display()
        )
    );
    assert!(output.stdout.is_empty());
    assert!(snapshot(&other) == before, "the folder was changed");

    // Into a folder of the same experiment (the other shard's, say) it merges.
    assert_eq!(
        sweep(&[
            "merge",
            shard.to_str().unwrap(),
            "--out",
            dir.path().join("fresh").to_str().unwrap()
        ])
        .status
        .code(),
        Some(1),
        "half the grid: merged, with runs missing"
    );
}

#[test]
fn an_unwritable_results_folder_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "tiny.toml", TINY);
    let config = config.to_str().unwrap();
    // A path whose parent is a regular file cannot be created, even by root.
    let file = dir.path().join("a-file");
    fs::write(&file, "not a folder").unwrap();
    let out = file.join("out");
    let expected = format!(
        "error: results folder {}: cannot create it: Not a directory (os error 20)",
        out.display()
    );
    let run = sweep(&[config, "--out", out.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    assert_eq!(stderr(&run).trim_end(), expected);

    let shard = dir.path().join("shard");
    assert_success(&sweep(&[config, "--out", shard.to_str().unwrap()]));
    let merge = sweep(&[
        "merge",
        shard.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(merge.status.code(), Some(2), "{}", stderr(&merge));
    assert_eq!(stderr(&merge).trim_end(), expected);
    assert_eq!(fs::read(&file).unwrap(), b"not a folder");

    // A read-only folder, where permissions apply (not to root).
    let locked = dir.path().join("read-only");
    fs::create_dir(&locked).unwrap();
    let mut permissions = fs::metadata(&locked).unwrap().permissions();
    permissions.set_readonly(true);
    fs::set_permissions(&locked, permissions.clone()).unwrap();
    if fs::write(locked.join("probe"), "").is_err() {
        let out = locked.join("out");
        let run = sweep(&[config, "--out", out.to_str().unwrap()]);
        assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
        assert!(
            stderr(&run).starts_with(&format!(
                "error: results folder {}: cannot create it: Permission denied",
                out.display()
            )),
            "{}",
            stderr(&run)
        );
    }
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    fs::set_permissions(&locked, permissions).unwrap();
}

#[test]
fn diff_tolerates_a_last_digit_change_within_atol() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.csv");
    let b = dir.path().join("b.csv");
    let c = dir.path().join("c.csv");
    fs::write(&a, "k,v\nx,0.876250\n").unwrap();
    fs::write(&b, "k,v\nx,0.876251\n").unwrap();
    fs::write(&c, "k,v\nx,0.876252\n").unwrap();
    let (a, b, c) = (
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        c.to_str().unwrap(),
    );
    let within = sweep(&["diff", a, b, "--atol", "1e-6"]);
    assert_eq!(
        within.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&within.stdout)
    );
    let beyond = sweep(&["diff", a, c, "--atol", "1e-6"]);
    assert_eq!(beyond.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&beyond.stdout)
            .contains("line 2 column v: 0.876250 vs 0.876252 (|Δ| = 2.000e-6)")
    );
}

/// Asserts that every `failed` run's message in `out`'s runs.csv and records is one line, names
/// no absolute path, and starts with `start`; returns the messages.
fn failed_messages(out: &Path, start: &str) -> Vec<String> {
    let runs = fs::read_to_string(out.join("runs.csv")).unwrap();
    let rows = csv_rows(&out.join("runs.csv"));
    assert_eq!(
        runs.lines().count(),
        1 + rows.len(),
        "one line per row:\n{runs}"
    );
    let messages: Vec<String> = rows
        .iter()
        .filter(|row| row["status"] == "failed")
        .map(|row| row["message"].clone())
        .collect();
    assert!(!messages.is_empty(), "{runs}");
    for message in &messages {
        assert!(
            !message.contains('\n') && !message.contains('/') && message.starts_with(start),
            "{message}"
        );
    }
    for entry in fs::read_dir(out.join("records")).unwrap() {
        let record: serde_json::Value =
            serde_json::from_slice(&fs::read(entry.unwrap().path()).unwrap()).unwrap();
        if record["run"]["status"] == "failed" {
            assert!(messages.contains(&record["run"]["message"].as_str().unwrap().to_string()));
        }
    }
    messages
}

#[test]
fn a_failed_runs_message_is_one_line_without_backtrace_or_machine_path() {
    let dir = tempfile::tempdir().unwrap();
    let backtrace = [
        ("RUST_BACKTRACE", std::ffi::OsStr::new("1")),
        ("RUST_LIB_BACKTRACE", std::ffi::OsStr::new("1")),
    ];

    // An injected failure, which carries a backtrace as a candle error does.
    let config = write_config(dir.path(), "tiny.toml", TINY);
    let config = config.to_str().unwrap();
    let ids = run_ids(config);
    let out = dir.path().join("injected");
    let mut env = backtrace.to_vec();
    let failing = format!("{},{}", ids[1], ids[6]);
    env.push(("SWEEP_FAIL_RUNS", std::ffi::OsStr::new(&failing)));
    let output = sweep_with_env(&[config, "--out", out.to_str().unwrap()], &env);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let messages = failed_messages(&out, "failure injected");
    assert_eq!(
        messages,
        vec!["failure injected through SWEEP_FAIL_RUNS"; 2],
        "{messages:?}"
    );
    // The console says the same, on one line per run.
    assert!(
        !stderr(&output).contains("stack backtrace") && !stderr(&output).contains("   0: "),
        "{}",
        stderr(&output)
    );

    // A genuine candle error goes through the same `run_message` (see its unit test in
    // `run.rs`, on the error of a CNN built for images smaller than 4×4).
}
