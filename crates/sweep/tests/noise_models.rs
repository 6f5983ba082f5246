//! The example experiment of each noise model beyond the first four, end to end on the bundled
//! digits: the labels it draws have the model's defining property, `transitions.csv` is the
//! audit trail of exactly those labels, and `sweep report` rebuilds it byte for byte.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

mod common;
use common::{assert_success, sweep, sweep_command};

/// (split, clean, noisy) → count of one group, from `transitions.csv`.
type Counts = BTreeMap<(String, usize, usize), u64>;

/// `transitions.csv` by (noise rate, seed) group.
fn transitions(out: &Path) -> BTreeMap<(String, u64), Counts> {
    let mut reader = csv::Reader::from_path(out.join("transitions.csv")).unwrap();
    let mut groups: BTreeMap<(String, u64), Counts> = BTreeMap::new();
    for record in reader.records() {
        let record = record.unwrap();
        let group = (record[1].to_string(), record[3].parse().unwrap());
        let key = (
            record[4].to_string(),
            record[5].parse().unwrap(),
            record[6].parse().unwrap(),
        );
        groups
            .entry(group)
            .or_default()
            .insert(key, record[7].parse().unwrap());
    }
    groups
}

/// The realised rate of every run in `runs.csv`, by (noise rate, seed).
fn realised_rates(out: &Path) -> BTreeMap<(String, u64), BTreeSet<String>> {
    let mut reader = csv::Reader::from_path(out.join("runs.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (rate, seed, realised) = (
        column("noise_rate"),
        column("seed"),
        column("realised_noise_rate"),
    );
    let mut rates: BTreeMap<(String, u64), BTreeSet<String>> = BTreeMap::new();
    for record in reader.records() {
        let record = record.unwrap();
        rates
            .entry((record[rate].to_string(), record[seed].parse().unwrap()))
            .or_default()
            .insert(record[realised].to_string());
    }
    rates
}

/// Runs `experiments/<name>.toml` into a fresh folder and checks the audit trail against
/// `runs.csv` and against `sweep report`; returns the folder and the transitions.
fn run_example(name: &str, root: &Path) -> BTreeMap<(String, u64), Counts> {
    let out = root.join(name);
    // From the workspace root, as README runs them: the matrix file's path is relative to it.
    let config = format!("experiments/{name}.toml");
    assert_success(
        &sweep_command(&[&config, "--out", out.to_str().unwrap()])
            .current_dir("../..")
            .output()
            .unwrap(),
    );
    let groups = transitions(&out);
    let rates = realised_rates(&out);
    assert_eq!(
        groups.keys().collect::<Vec<_>>(),
        rates.keys().collect::<Vec<_>>()
    );
    for (group, counts) in &groups {
        let train: Vec<(&(String, usize, usize), &u64)> = counts
            .iter()
            .filter(|((split, _, _), _)| split == "train")
            .collect();
        let total: u64 = train.iter().map(|(_, n)| **n).sum();
        let flipped: u64 = train
            .iter()
            .filter(|((_, clean, noisy), _)| clean != noisy)
            .map(|(_, n)| **n)
            .sum();
        // Every ε of the group trained on these labels: one realised rate, the counts'.
        let expected = format!("{:.6}", flipped as f64 / total as f64);
        assert_eq!(rates[group], BTreeSet::from([expected]), "{name} {group:?}");
    }
    // The realised matrix of the highest rate is drawn and explained.
    assert!(out.join("noise_matrix.png").exists() && out.join("noise_matrix.svg").exists());
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("## Realised noise"), "{report}");
    // `sweep report` rebuilds the table from the noisy labels alone.
    let before = fs::read(out.join("transitions.csv")).unwrap();
    assert_success(&sweep(&["report", out.to_str().unwrap()]));
    assert_eq!(fs::read(out.join("transitions.csv")).unwrap(), before);
    groups
}

#[test]
fn each_example_noise_model_draws_its_defining_labels_and_audits_them() {
    let root = tempfile::tempdir().unwrap();

    // The MNIST class map: 2→7, 3→8, 5↔6, 7→1 and no other flip; nested across rates.
    let asymmetric = run_example("asymmetric", root.path());
    let allowed = [(2, 7), (3, 8), (5, 6), (6, 5), (7, 1)];
    for counts in asymmetric.values() {
        for (_, clean, noisy) in counts.keys() {
            assert!(
                clean == noisy || allowed.contains(&(*clean, *noisy)),
                "{clean}→{noisy}"
            );
        }
    }

    // A matrix with per-sample draws: every flip goes where the matrix has mass.
    let matrix = run_example("matrix", root.path());
    let rows: Vec<Vec<f64>> = fs::read_to_string("../../experiments/matrices/digits.csv")
        .unwrap()
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| line.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    for counts in matrix.values() {
        for (_, clean, noisy) in counts.keys() {
            assert!(rows[*clean][*noisy] > 0.0, "{clean}→{noisy}");
        }
    }

    // Instance-dependent noise: ρ = 0 is clean, higher rates flip more, near their rate.
    let instance = run_example("instance", root.path());
    for ((rate, _), counts) in &instance {
        let flipped: u64 = counts
            .iter()
            .filter(|((split, clean, noisy), _)| split == "train" && clean != noisy)
            .map(|(_, &n)| n)
            .sum();
        let total: u64 = counts
            .iter()
            .filter(|((split, _, _), _)| split == "train")
            .map(|(_, &n)| n)
            .sum();
        let rho: f64 = rate.parse().unwrap();
        let realised = flipped as f64 / total as f64;
        assert!((realised - rho).abs() < 0.05, "ρ = {rho}: {realised}");
        if rho == 0.0 {
            assert_eq!(flipped, 0);
        }
    }

    // Given label sets: every noisy label is the file's label of that row for that set, and each
    // set is one point of the noise axis at the share it changes.
    let sets = run_example("label-sets", root.path());
    assert_eq!(sets.len(), 3 * 3, "3 label sets × 3 seeds");
    // transitions.csv names each group's label set.
    let audit = fs::read_to_string(root.path().join("label-sets/transitions.csv")).unwrap();
    assert!(
        audit.starts_with("noise_model,noise_rate,label_set,seed,split,"),
        "{audit}"
    );
    assert!(
        audit
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("file,0.050040,careful,0,train,"),
        "{audit}"
    );
    let out = root.path().join("label-sets");
    let file = fs::read_to_string("../../experiments/labels/digits-annotators.csv").unwrap();
    let header: Vec<&str> = file.lines().next().unwrap().split(',').collect();
    let given: Vec<Vec<usize>> = file
        .lines()
        .skip(1)
        .map(|line| line.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    let mut runs = csv::Reader::from_path(out.join("runs.csv")).unwrap();
    let columns = runs.headers().unwrap().clone();
    let at = |name: &str| columns.iter().position(|h| h == name).unwrap();
    let mut levels = BTreeSet::new();
    for record in runs.records() {
        let record = record.unwrap();
        levels.insert((
            record[at("label_set")].to_string(),
            record[at("noise_rate")].to_string(),
        ));
    }
    assert_eq!(levels.len(), 3, "{levels:?}");
    for (set, rate) in &levels {
        let column = header.iter().position(|h| h == set).unwrap();
        let labels = fs::read_to_string(
            out.join("noisy-labels")
                .join(format!("file-rate{rate}-seed0.csv")),
        )
        .unwrap();
        for line in labels.lines().skip(1) {
            let fields: Vec<&str> = line.split(',').collect();
            let row: usize = fields[1].parse().unwrap();
            assert_eq!(
                fields[3].parse::<usize>().unwrap(),
                given[row][column],
                "{set} row {row}"
            );
        }
    }
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    for set in ["careful", "hurried", "worst"] {
        assert!(report.contains(&format!("| file | {set} (")), "{report}");
    }
    assert!(report.contains("for each label set?"), "{report}");
    let list = sweep_command(&["list", "experiments/label-sets.toml"])
        .current_dir("../..")
        .output()
        .unwrap();
    assert_success(&list);
    let listing = String::from_utf8(list.stdout).unwrap();
    assert!(
        listing.starts_with(
            "index,run_id,noise_model,label_set,seed,loss,epsilon,alpha,beta,q,gamma,log_zero\n0,"
        ),
        "{listing}"
    );

    // A matrix estimated from the worst annotator: flips only go where that annotator's labels go.
    let estimated = run_example("estimated-matrix", root.path());
    let worst = header.iter().position(|h| *h == "worst").unwrap();
    let out = root.path().join("estimated-matrix");
    let clean_labels = fs::read_to_string(
        out.join("noisy-labels")
            .join("matrix-rate1.000000-seed0.csv"),
    )
    .unwrap();
    let mut seen = BTreeSet::new();
    for line in clean_labels.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let (row, clean): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
        seen.insert((clean, given[row][worst]));
    }
    for counts in estimated.values() {
        for (split, clean, noisy) in counts.keys() {
            if split == "train" {
                assert!(seen.contains(&(*clean, *noisy)), "{clean}→{noisy}");
            }
        }
    }
}

#[test]
fn shards_run_on_different_contents_of_one_labels_file_are_not_merged() {
    let root = tempfile::tempdir().unwrap();
    let labels = root.path().join("labels.csv");
    fs::copy("../../experiments/labels/digits-annotators.csv", &labels).unwrap();
    let config = fs::read_to_string("../../experiments/label-sets.toml")
        .unwrap()
        .replace(
            "labels_file = \"experiments/labels/digits-annotators.csv\"",
            &format!("labels_file = \"{}\"", labels.display()),
        )
        .replace("seeds = 3", "seeds = 1")
        .replace("epochs = 30", "epochs = 1");
    let config_path = root.path().join("t.toml");
    fs::write(&config_path, config).unwrap();
    let (config, dir) = (config_path.to_str().unwrap(), root.path());
    let shard = |index: &str, out: &str| {
        let out = dir.join(out);
        assert_success(&sweep(&[
            config,
            "--shard",
            index,
            "--out",
            out.to_str().unwrap(),
        ]));
    };
    shard("1/2", "a");
    // One label changed between the shards: the same file name, other contents.
    let text = fs::read_to_string(&labels).unwrap();
    fs::write(&labels, text.replacen("\n0,0,0,0\n", "\n0,0,0,6\n", 1)).unwrap();
    shard("2/2", "b");
    let merged = dir.join("m");
    let output = sweep(&[
        "merge",
        dir.join("a").to_str().unwrap(),
        dir.join("b").to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("noise.labels_digest differs"), "{stderr}");
    assert!(!merged.exists(), "nothing is written");
}
