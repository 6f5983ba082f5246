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
            .any(|l| l.starts_with("symmetric,0.400000,ce,-0.800000,,,,,,2,")),
        "{paired}"
    );
    let report = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("(ε ≠ 0)"), "{report}");
}

/// The columns of a CSV file, as maps from header to cell, in row order.
fn table(path: &std::path::Path) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            header
                .iter()
                .zip(record.iter())
                .map(|(h, c)| (h.to_string(), c.to_string()))
                .collect()
        })
        .collect()
}

#[test]
fn every_loss_of_the_losses_example_is_a_setting_paired_with_hard_targets() {
    let root = tempfile::tempdir().unwrap();
    let config = fs::read_to_string("../../experiments/losses.toml")
        .unwrap()
        .replace("seeds = 5", "seeds = 3")
        .replace("epochs = 30", "epochs = 5");
    let path = root.path().join("t.toml");
    fs::write(&path, config).unwrap();
    let out = root.path().join("out");
    let output = sweep(&[path.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_success(&output);
    let printed = String::from_utf8(output.stdout).unwrap();
    assert!(
        printed.contains("Against the losses built for label noise, last epoch. At rate 0.2, the best setting is "),
        "{printed}"
    );

    // Each setting's loss and parameters, one column each, empty where the loss has none.
    let expected: [(&str, &[(&str, &str)]); 10] = [
        ("ce", &[("epsilon", "0.000000")]),
        ("ce", &[("epsilon", "0.100000")]),
        ("ce", &[("epsilon", "0.600000")]),
        ("ce-off-classes", &[("epsilon", "0.600000")]),
        ("bootstrap-soft", &[("beta", "0.950000")]),
        ("bootstrap-hard", &[("beta", "0.800000")]),
        ("gce", &[("q", "0.700000")]),
        (
            "sce",
            &[
                ("alpha", "0.100000"),
                ("beta", "1.000000"),
                ("log_zero", "-4.000000"),
            ],
        ),
        ("focal", &[("gamma", "2.000000")]),
        ("forward", &[]),
    ];
    let runs = table(&out.join("runs.csv"));
    assert_eq!(runs.len(), 2 * 3 * expected.len());
    for (index, run) in runs.iter().enumerate() {
        assert_eq!(run["status"], "finished", "{run:?}");
        let (loss, parameters) = expected[index % expected.len()];
        assert_eq!(run["loss"], loss, "{run:?}");
        for column in ["epsilon", "alpha", "beta", "q", "gamma", "log_zero"] {
            let cell = parameters
                .iter()
                .find(|(name, _)| *name == column)
                .map_or("", |(_, value)| value);
            assert_eq!(run[column], cell, "{column} of {run:?}");
        }
    }
    // Forward correction trains on its own loss from the first epoch: not the hard-target one.
    let epochs = table(&out.join("epochs.csv"));
    let first_loss = |loss: &str| {
        epochs
            .iter()
            .find(|e| e["loss"] == loss && e["seed"] == "0" && e["epoch"] == "1")
            .map(|e| e["train_loss"].clone())
            .unwrap()
    };
    assert_ne!(first_loss("forward"), first_loss("gce"));

    // Every setting other than hard targets is paired with them, over all three seeds.
    let paired = table(&out.join("paired.csv"));
    assert_eq!(paired.len(), 2 * (expected.len() - 1));
    assert!(paired.iter().all(|p| p["n_pairs"] == "3"), "{paired:?}");
    assert!(paired.iter().any(|p| p["loss"] == "forward"));

    // The best robust loss per rate and criterion, with the best ε and the verdict its numbers
    // give.
    let best = table(&out.join("best_loss.csv"));
    assert_eq!(best.len(), 2 * 2);
    for row in &best {
        assert!(
            !["ce", "ce-off-classes"].contains(&row["loss"].as_str()),
            "{row:?}"
        );
        let number = |column: &str| row[column].parse::<f64>().unwrap();
        let within = number("ci95_low") <= number("best_epsilon_mean")
            && number("best_epsilon_mean") <= number("ci95_high");
        assert_eq!(
            row["epsilon_within_interval"],
            if within { "1" } else { "0" },
            "{row:?}"
        );
        assert_eq!(row["n_seeds"], "3");
    }

    let report = fs::read_to_string(out.join("report.md")).unwrap();
    for expected in [
        "and with the losses built for label noise (bootstrap-soft β = 0.95; bootstrap-hard β = 0.8; gce q = 0.7; sce α = 0.1, β = 1, A = −4; focal γ = 2; forward (known T))",
        "**Against the losses built for label noise** (last epoch). At rate 0.2, the best setting is ",
        "## Best loss built for label noise per noise rate",
        "| ε = 0.6 (off-classes) |",
        "10 target settings (4 ε values and 6 losses built for label noise)",
    ] {
        assert!(report.contains(expected), "{expected}\n{report}");
    }

    // `sweep report` rebuilds the same tables and page from the per-run tables.
    let before: Vec<Vec<u8>> = ["best_loss.csv", "paired.csv", "report.md"]
        .iter()
        .map(|file| fs::read(out.join(file)).unwrap())
        .collect();
    assert_success(&sweep(&["report", out.to_str().unwrap()]));
    for (file, bytes) in ["best_loss.csv", "paired.csv", "report.md"]
        .iter()
        .zip(before)
    {
        assert_eq!(fs::read(out.join(file)).unwrap(), bytes, "{file}");
    }
}

#[test]
fn check_refuses_an_off_classes_epsilon_the_classes_cannot_take_and_warns_without_hard_targets() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("t.toml");
    // Three classes: the off-classes ε must stay at most 2/3 for the label to keep the most mass.
    let config = common::TINY.replace(
        "epsilons = [0.0, 0.3]",
        "epsilons = [0.0, 0.3]\nlosses = [{ loss = \"ce\", epsilon = 0.9, convention = \"off-classes\" }]",
    );
    fs::write(&path, &config).unwrap();
    let check = sweep(&["check", path.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(2));
    let message = common::stderr(&check);
    assert!(
        message.starts_with(&format!(
            "error: {}:18: targets.losses[0]: ",
            path.display()
        )) && message.contains("for K = 3: the given label would get less mass"),
        "{message}"
    );
    fs::write(
        &path,
        config
            .replace("epsilons = [0.0, 0.3]", "epsilons = [0.3]")
            .replace("epsilon = 0.9", "epsilon = 0.5"),
    )
    .unwrap();
    let check = sweep(&["check", path.to_str().unwrap()]);
    assert_success(&check);
    assert!(
        common::stderr(&check).contains("targets.epsilons: has no 0, so the losses of targets.losses have no hard-target run to be paired with"),
        "{}",
        common::stderr(&check)
    );
    // Settings that carry no label information, or repeat hard targets, are warned about.
    fs::write(
        &path,
        config.replace(
            "losses = [{ loss = \"ce\", epsilon = 0.9, convention = \"off-classes\" }]",
            "losses = [{ loss = \"ce\", epsilon = 0.6666666666666666, convention = \"off-classes\" }, { loss = \"focal\", gamma = 0 }]",
        ),
    )
    .unwrap();
    let check = sweep(&["check", path.to_str().unwrap()]);
    assert_success(&check);
    let warnings = common::stderr(&check);
    assert!(
        warnings.contains("targets.losses[0]: ε = 0.6666666666666666 = (K − 1)/K in the off-classes convention makes every target uniform over the 3 classes")
            && warnings.contains("targets.losses[1]: γ = 0 trains exactly as hard targets"),
        "{warnings}"
    );
    // Forward correction at a rate whose matrix gives some label no mass can never train: an
    // error before anything runs, not a failed run to retry.
    fs::write(
        &path,
        config
            .replace(
                "model = \"symmetric\"",
                "model = \"matrix\"\nmatrix = [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.5, 0.5]]",
            )
            .replace("rates = [0.0, 0.4]", "rates = [0.0, 1.0]")
            .replace(
                "losses = [{ loss = \"ce\", epsilon = 0.9, convention = \"off-classes\" }]",
                "losses = [{ loss = \"forward\" }]",
            ),
    )
    .unwrap();
    let check = sweep(&["check", path.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(2), "{}", common::stderr(&check));
    assert!(
        common::stderr(&check)
            .contains("targets.losses[0]: forward correction cannot train at noise rate 1: column 0 of the forward-correction transition matrix is all zero"),
        "{}",
        common::stderr(&check)
    );
}
