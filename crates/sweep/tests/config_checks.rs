//! `sweep check` and `sweep run` validate the same resolved experiment against the data they
//! read: settings no run could train are errors (exit 2, nothing written) that name the file, the
//! line, the key and what is allowed; degenerate settings are warned about once; image folders
//! may bring their own test split; the manifest holds the resolved configuration.

use std::fs;
use std::path::{Path, PathBuf};

mod common;
use common::{TINY, assert_success, stderr, stdout, sweep, sweep_with_env, write_config};

/// Runs `sweep check CONFIG` and `sweep CONFIG --out OUT` and checks that both exit 2 with
/// `expected` as their last line on stderr, and that the sweep wrote nothing.
fn assert_refused(config: &Path, expected: &str) {
    let check = sweep(&["check", config.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(2), "{}", stderr(&check));
    assert_eq!(stderr(&check), format!("{expected}\n"));
    assert_eq!(stdout(&check), "");
    let out = config.with_extension("out");
    let run = sweep(&[config.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    assert_eq!(
        stderr(&run).lines().last(),
        Some(expected),
        "{}",
        stderr(&run)
    );
    assert!(!out.exists(), "nothing is written for a refused experiment");
}

/// IDX images (magic 0x803) and labels (0x801) of `n` images of `side × side` pixels.
fn idx_files(folder: &Path, prefix: &str, n: usize, side: u32) {
    let mut images = vec![0, 0, 8, 3];
    let mut labels = vec![0, 0, 8, 1];
    for header in [&mut images, &mut labels] {
        header.extend_from_slice(&(n as u32).to_be_bytes());
    }
    images.extend_from_slice(&side.to_be_bytes());
    images.extend_from_slice(&side.to_be_bytes());
    for i in 0..n {
        let class = (i % 3) as u8;
        images.extend((0..side * side).map(|p| class * 60 + (p as u8 * 7 + i as u8) % 50));
        labels.push(class);
    }
    fs::write(folder.join(format!("{prefix}-images-idx3-ubyte")), images).unwrap();
    fs::write(folder.join(format!("{prefix}-labels-idx1-ubyte")), labels).unwrap();
}

/// TINY on IDX files of `side × side` images in `folder`, with the CNN.
fn idx_cnn(folder: &Path, side: u32) -> String {
    idx_files(folder, "train", 90, side);
    idx_files(folder, "t10k", 30, side);
    TINY.replace(
        "source = \"blobs\"\nn_classes = 3\nn_features = 5\nn_samples = 150\nseparation = 1.2",
        &format!(
            "source = \"idx\"\npath = \"{}\"\nn_classes = 3",
            folder.display()
        ),
    )
    .replace(
        "kind = \"mlp\"\nhidden = [8]",
        "kind = \"cnn\"\nchannels = [2, 2]",
    )
}

#[test]
fn check_and_run_refuse_a_cnn_on_images_smaller_than_4_by_4() {
    let dir = tempfile::tempdir().unwrap();
    // Known from the file alone: an image folder resized to 3×3.
    let folder = write_config(
        dir.path(),
        "folder.toml",
        &TINY
            .replace(
                "source = \"blobs\"\nn_classes = 3\nn_features = 5\nn_samples = 150\nseparation = 1.2",
                "source = \"image-folder\"\npath = \"pets\"\nimage_size = [3, 3]",
            )
            .replace("kind = \"mlp\"\nhidden = [8]", "kind = \"cnn\""),
    );
    assert_refused(
        &folder,
        &format!(
            "error: {}:8: data.image_size: [3, 3] is too small for model.kind = \"cnn\": its two 2×2 max-pools need images of at least 4×4 pixels",
            folder.display()
        ),
    );
    // Known once the data are read: IDX files of 3×3 images.
    let small = dir.path().join("small");
    fs::create_dir(&small).unwrap();
    let config = write_config(dir.path(), "idx.toml", &idx_cnn(&small, 3));
    assert_refused(
        &config,
        &format!(
            "error: {}:18: model.kind: \"cnn\" needs images of at least 4×4 pixels (its two 2×2 max-pools); the idx images are 3×3",
            config.display()
        ),
    );
    // 4×4 images are enough.
    let fits = dir.path().join("fits");
    fs::create_dir(&fits).unwrap();
    let config = write_config(dir.path(), "fits.toml", &idx_cnn(&fits, 4));
    assert_success(&sweep(&["check", config.to_str().unwrap()]));
}

#[test]
fn a_train_subset_larger_than_the_training_data_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    // 150 samples in 3 classes: per class 10 test, 5 validation, 35 training.
    let config = write_config(
        dir.path(),
        "subset.toml",
        &TINY.replace("separation = 1.2", "separation = 1.2\ntrain_subset = 200"),
    );
    assert_refused(
        &config,
        &format!(
            "error: {}:11: data.train_subset: 200 is more than the 105 training samples available (what the test and validation splits leave); give at most 105, or leave it out to use them all",
            config.display()
        ),
    );
    let config = write_config(
        dir.path(),
        "exact.toml",
        &TINY.replace("separation = 1.2", "separation = 1.2\ntrain_subset = 105"),
    );
    let check = sweep(&["check", config.to_str().unwrap()]);
    assert_success(&check);
    assert!(stdout(&check).contains("data: 105 training, 15 validation, 30 test samples"));
}

#[test]
fn degenerate_settings_are_warned_about_once_before_training() {
    let dir = tempfile::tempdir().unwrap();
    // 3 classes: symmetric noise at ρ ≥ 2/3 leaves the clean class no longer the most likely.
    let config = write_config(
        dir.path(),
        "degenerate.toml",
        &TINY
            .replace("rates = [0.0, 0.4]", "rates = [0.0, 0.7]")
            .replace("epsilons = [0.0, 0.3]", "epsilons = [0.0, 1.0]"),
    );
    let warnings = [
        format!(
            "warning: {}:14: noise.rates[1]: ρ = 0.7 ≥ (K − 1)/K = 0.6667 with K = 3 classes: under symmetric noise the true class (probability 1 − ρ) is then no more likely than each other class (ρ/(K − 1)), so the noisy label is no longer the most likely one",
            config.display()
        ),
        format!(
            "warning: {}:17: targets.epsilons[1]: ε = 1 makes every target the uniform distribution 1/K whatever the label, so these runs' targets carry no label information",
            config.display()
        ),
    ];
    let check = sweep(&["check", config.to_str().unwrap()]);
    assert_success(&check);
    assert_eq!(stderr(&check), format!("{}\n", warnings.join("\n")));
    let out = dir.path().join("out");
    let run = sweep(&[config.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_success(&run);
    let text = stderr(&run);
    let lines: Vec<&str> = text.lines().collect();
    for warning in &warnings {
        assert_eq!(lines.iter().filter(|l| **l == warning).count(), 1, "{text}");
    }
    // Before any run is reported (`[1/8] rate …` without a terminal).
    let first_run = lines.iter().position(|line| line.starts_with('['));
    assert!(first_run.is_some(), "{text}");
    assert!(
        lines.iter().position(|l| *l == warnings[1]) < first_run,
        "{text}"
    );
    // Below the threshold nothing is said.
    let fine = write_config(
        dir.path(),
        "fine.toml",
        &TINY.replace("rates = [0.0, 0.4]", "rates = [0.0, 0.6]"),
    );
    let check = sweep(&["check", fine.to_str().unwrap()]);
    assert_success(&check);
    assert_eq!(stderr(&check), "");
}

#[test]
fn no_noise_takes_only_the_rate_zero() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "none.toml",
        &TINY.replace("model = \"symmetric\"", "model = \"none\""),
    );
    let check = sweep(&["check", config.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(2));
    assert_eq!(
        stderr(&check),
        format!(
            "error: {}:14: noise.rates: [0, 0.4] is not allowed with noise.model = \"none\": no label is flipped at any rate, so give the single rate rates = [0]\n",
            config.display()
        )
    );
    let config = write_config(
        dir.path(),
        "clean.toml",
        &TINY
            .replace("model = \"symmetric\"", "model = \"none\"")
            .replace("rates = [0.0, 0.4]", "rates = [0]"),
    );
    assert_success(&sweep(&["check", config.to_str().unwrap()]));
}

#[test]
fn type_errors_name_the_expected_type_in_plain_words() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "types.toml",
        &TINY.replace("epochs = 3", "epochs = 2.5"),
    );
    let check = sweep(&["check", config.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(2));
    assert_eq!(
        stderr(&check),
        format!(
            "error: {}:24: training.epochs: invalid type: floating point `2.5`, expected a non-negative integer\n",
            config.display()
        )
    );
}

/// `root/<train>/<class>/` and `root/<test>/<class>/` with `n_train` and `n_test` images a class.
fn image_folder_with_split(root: &Path, train: &str, test: &str, n_train: u8, n_test: u8) {
    for (part, count) in [(train, n_train), (test, n_test)] {
        for (class, base) in [("cats", 30u8), ("dogs", 160)] {
            let folder = root.join(part).join(class);
            fs::create_dir_all(&folder).unwrap();
            for i in 0..count {
                let image = image::RgbImage::from_fn(9, 9, |x, y| {
                    let v = base.wrapping_add(i * 3).wrapping_add((x * 4 + y) as u8);
                    image::Rgb([v, v / 2, 255 - v])
                });
                image.save(folder.join(format!("{part}-{i}.png"))).unwrap();
            }
        }
    }
}

fn image_folder_config(data: &str) -> String {
    TINY.replace(
        "source = \"blobs\"\nn_classes = 3\nn_features = 5\nn_samples = 150\nseparation = 1.2",
        &format!("source = \"image-folder\"\n{data}image_size = [6, 6]"),
    )
    .replace(
        "kind = \"mlp\"\nhidden = [8]",
        "kind = \"cnn\"\nchannels = [2, 2]",
    )
    .replace("rates = [0.0, 0.4]", "rates = [0.0, 0.2]")
}

#[test]
fn an_image_folder_keeps_its_own_test_split() {
    let dir = tempfile::tempdir().unwrap();
    for (train, test) in [("train", "test"), ("training_set", "test_set")] {
        let root = dir.path().join(train);
        image_folder_with_split(&root, train, test, 20, 6);
        let config = write_config(
            dir.path(),
            &format!("{train}.toml"),
            &image_folder_config(&format!("path = \"{}\"\n", root.display())),
        );
        let cache = dir.path().join(format!("cache-{train}"));
        let with_cache = [("LABELNOISE_CACHE_DIR", cache.as_os_str())];
        let check = sweep_with_env(&["check", config.to_str().unwrap()], &with_cache);
        assert_success(&check);
        // 40 training images less 10% (2 a class) for validation; the 12 test images as given.
        assert!(
            stdout(&check).contains("data: 36 training, 4 validation, 12 test samples"),
            "{}",
            stdout(&check)
        );
        // Both parts go through the image cache, and the sweep reads them back.
        assert_eq!(fs::read_dir(&cache).unwrap().count(), 2);
        let out = dir.path().join(format!("out-{train}"));
        let run = sweep_with_env(
            &[config.to_str().unwrap(), "--out", out.to_str().unwrap()],
            &with_cache,
        );
        assert_success(&run);
        assert_eq!(fs::read_dir(&cache).unwrap().count(), 2);
        let runs = fs::read_to_string(out.join("runs.csv")).unwrap();
        assert_eq!(runs.lines().count(), 1 + 8);

        // A test share is not used: the folder has its own test split.
        let shared = write_config(
            dir.path(),
            &format!("{train}-share.toml"),
            &image_folder_config(&format!(
                "path = \"{}\"\ntest_fraction = 0.2\n",
                root.display()
            )),
        );
        assert_refused(
            &shared,
            &format!(
                "error: {}:8: data.test_fraction: not used: the image folder has its own test split ({} and {})",
                shared.display(),
                root.join(train).display(),
                root.join(test).display()
            ),
        );
    }

    // `test_path` names the test folder of any layout.
    let root = dir.path().join("own");
    image_folder_with_split(&root, "all", "holdout", 20, 5);
    let config = write_config(
        dir.path(),
        "test-path.toml",
        &image_folder_config(&format!(
            "path = \"{}\"\ntest_path = \"{}\"\n",
            root.join("all").display(),
            root.join("holdout").display()
        )),
    );
    let check = sweep(&["check", config.to_str().unwrap()]);
    assert_success(&check);
    assert!(
        stdout(&check).contains("data: 36 training, 4 validation, 10 test samples"),
        "{}",
        stdout(&check)
    );
}

#[test]
fn validation_subset_bounds_the_validation_split() {
    let dir = tempfile::tempdir().unwrap();
    // 150 samples: 15 for validation (10% of each class of the whole data set), 6 kept.
    let config = write_config(
        dir.path(),
        "validation.toml",
        &TINY.replace(
            "separation = 1.2",
            "separation = 1.2\ntrain_subset = 60\nvalidation_subset = 6",
        ),
    );
    let check = sweep(&["check", config.to_str().unwrap()]);
    assert_success(&check);
    assert!(
        stdout(&check).contains("data: 60 training, 6 validation, 30 test samples"),
        "{}",
        stdout(&check)
    );
    let out = dir.path().join("out");
    assert_success(&sweep(&[
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    let noisy =
        fs::read_to_string(out.join("noisy-labels/symmetric-rate0.400000-seed0.csv")).unwrap();
    assert_eq!(
        noisy
            .lines()
            .filter(|l| l.starts_with("validation,"))
            .count(),
        6
    );
    assert_eq!(
        noisy.lines().filter(|l| l.starts_with("train,")).count(),
        60
    );
    // Without it every validation sample is kept; more than there are is an error.
    let too_many = write_config(
        dir.path(),
        "too-many.toml",
        &TINY.replace(
            "separation = 1.2",
            "separation = 1.2\nvalidation_subset = 16",
        ),
    );
    assert_refused(
        &too_many,
        &format!(
            "error: {}:11: data.validation_subset: 16 is more than the 15 validation samples available; give at most 15, or leave it out to use them all",
            too_many.display()
        ),
    );
}

#[test]
fn merge_joins_folders_whose_manifests_hold_the_resolved_or_the_written_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "tiny.toml", TINY);
    let config = config.to_str().unwrap();
    let single = dir.path().join("single");
    assert_success(&sweep(&[config, "--out", single.to_str().unwrap()]));
    let shards: Vec<PathBuf> = (1..=2)
        .map(|i| dir.path().join(format!("shard-{i}")))
        .collect();
    for (i, shard) in shards.iter().enumerate() {
        let shard_arg = format!("{}/2", i + 1);
        assert_success(&sweep(&[
            "run",
            config,
            "--shard",
            &shard_arg,
            "--out",
            shard.to_str().unwrap(),
        ]));
    }
    // The second shard's manifest as the version before resolution wrote it: the configuration
    // as written, its unset keys null. Its `config_hash` was the same.
    let path = shards[1].join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    let written = &mut manifest["config"];
    for key in ["test_fraction", "split_seed"] {
        written["data"][key] = serde_json::Value::Null;
    }
    for key in ["momentum", "nesterov"] {
        written["training"][key] = serde_json::Value::Null;
    }
    written.as_object_mut().unwrap().remove("filled_defaults");
    fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    let first: serde_json::Value =
        serde_json::from_slice(&fs::read(shards[0].join("manifest.json")).unwrap()).unwrap();
    assert_eq!(first["config"]["data"]["test_fraction"], 0.2);
    assert_eq!(first["config_hash"], manifest["config_hash"]);
    for order in [[&shards[0], &shards[1]], [&shards[1], &shards[0]]] {
        let merged = dir.path().join(format!(
            "merged-{}",
            order[0].file_name().unwrap().display()
        ));
        let output = sweep(&[
            "merge",
            order[0].to_str().unwrap(),
            order[1].to_str().unwrap(),
            "--out",
            merged.to_str().unwrap(),
        ]);
        assert_success(&output);
        assert_eq!(
            fs::read(merged.join("runs.csv")).unwrap(),
            fs::read(single.join("runs.csv")).unwrap()
        );
    }
}

/// `run.rs` writes `"config": config.resolved()` into `manifest.json`, and `config_hash` of the
/// configuration as written.
#[test]
fn the_manifest_holds_the_resolved_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "tiny.toml", TINY);
    let out = dir.path().join("out");
    assert_success(&sweep(&[
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]));
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let resolved = &manifest["config"];
    assert_eq!(resolved["data"]["test_fraction"], 0.2);
    assert_eq!(
        resolved["data"]["split_seed"],
        manifest["resolved"]["split_seed"]
    );
    assert_eq!(resolved["training"]["momentum"], 0.9);
    assert_eq!(resolved["training"]["nesterov"], false);
    assert_eq!(
        resolved["filled_defaults"],
        serde_json::json!([
            "data.test_fraction",
            "data.split_seed",
            "training.momentum",
            "training.nesterov"
        ])
    );
    // `sweep report` and `sweep merge` read it back and find every run by its id.
    let report = sweep(&["report", out.to_str().unwrap()]);
    assert_success(&report);
    let merged = dir.path().join("merged");
    assert_success(&sweep(&[
        "merge",
        out.to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
    ]));
    assert_eq!(
        fs::read(merged.join("runs.csv")).unwrap(),
        fs::read(out.join("runs.csv")).unwrap()
    );
}
