//! Negative label smoothing with a warm-up, end to end: `experiments/negative-smoothing.toml`,
//! cut short, trains every ε < 0 run to the end, its warm-up epochs are plain cross-entropy (the
//! same losses as the hard-target run of its seed), and the paired tables cover ε < 0.

use std::collections::HashMap;
use std::fs;

mod common;
use common::{assert_success, sweep};

#[test]
fn negative_smoothing_warms_up_with_cross_entropy_and_is_paired_with_hard_targets() {
    let root = tempfile::tempdir().unwrap();
    let config = fs::read_to_string("../../experiments/negative-smoothing.toml")
        .unwrap()
        .replace("seeds = 3", "seeds = 2")
        .replace("rates = [0.0, 0.2, 0.4]", "rates = [0.4]")
        .replace("epochs = 30", "epochs = 6")
        .replace("warmup_epochs = 10", "warmup_epochs = 3");
    let path = root.path().join("t.toml");
    fs::write(&path, config).unwrap();
    let out = root.path().join("out");
    assert_success(&sweep(&[
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));

    let mut runs = csv::Reader::from_path(out.join("runs.csv")).unwrap();
    let header = runs.headers().unwrap().clone();
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    for record in runs.records() {
        let record = record.unwrap();
        assert_eq!(&record[at("status")], "finished", "{record:?}");
    }
    // train_loss per (seed, ε) and epoch.
    let mut epochs = csv::Reader::from_path(out.join("epochs.csv")).unwrap();
    let header = epochs.headers().unwrap().clone();
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let mut loss: HashMap<(String, String, u32), String> = HashMap::new();
    for record in epochs.records() {
        let record = record.unwrap();
        loss.insert(
            (
                record[at("seed")].to_string(),
                record[at("epsilon")].to_string(),
                record[at("epoch")].parse().unwrap(),
            ),
            record[at("train_loss")].to_string(),
        );
    }
    for seed in ["0", "1"] {
        let of = |epsilon: &str, epoch: u32| &loss[&(seed.to_string(), epsilon.to_string(), epoch)];
        for epoch in 1..=3 {
            // The warm-up trains every ε with plain cross-entropy from the same weights and
            // batches: the losses are those of the hard-target run, to the printed digit.
            assert_eq!(
                of("-0.800000", epoch),
                of("0.000000", epoch),
                "seed {seed} epoch {epoch}"
            );
            assert_eq!(
                of("0.600000", epoch),
                of("0.000000", epoch),
                "seed {seed} epoch {epoch}"
            );
        }
        assert_ne!(
            of("-0.800000", 4),
            of("0.000000", 4),
            "the targets apply after the warm-up"
        );
    }
    let paired = fs::read_to_string(out.join("paired.csv")).unwrap();
    assert!(
        paired
            .lines()
            .any(|l| l.starts_with("symmetric,0.400000,-0.800000,2,")),
        "{paired}"
    );
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("(ε ≠ 0)"), "{report}");
}
