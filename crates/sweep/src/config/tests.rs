//! Tests of both stages of reading an experiment file.

use super::resolve::{
    DEFAULT_BETA1, DEFAULT_CNN_CHANNELS, DEFAULT_MOMENTUM, DEFAULT_TEST_FRACTION,
};
use super::*;

const GOOD: &str = r#"name = "t"
seeds = 2

[data]
source = "digits"

[noise]
model = "symmetric"
rates = [0.0, 0.4]

[targets]
epsilons = [0.0, 0.1]

[model]
kind = "mlp"
hidden = [16]

[training]
epochs = 2
batch_size = 32
optimizer = "sgd"
learning_rate = 0.05
"#;

fn check(text: &str, expected: &str) {
    let error = parse(text, "x.toml").unwrap_err();
    assert_eq!(error.to_string(), expected);
}

#[test]
fn a_good_file_parses_with_defaults() {
    let config = parse(GOOD, "x.toml").unwrap();
    assert_eq!(config.seeds, 2);
    assert_eq!(config.data.validation_fraction, 0.1);
    assert_eq!(config.noise.mode, NoiseModeName::Exact);
    assert!(config.noise.corrupt_validation);
    assert_eq!(
        config.resolve().unwrap().training.optimizer,
        trainer::OptimizerParams::Sgd {
            learning_rate: 0.05,
            momentum: 0.9,
            nesterov: false,
            weight_decay: 0.0
        }
    );
}

#[test]
fn unknown_key_names_the_key_its_line_and_the_allowed_keys() {
    let text = GOOD.replace("epochs = 2", "epochs = 2\nepoch_count = 3");
    let error = parse(&text, "x.toml").unwrap_err().to_string();
    assert!(
        error.starts_with(
            "x.toml:20: training.epoch_count: unknown field `epoch_count`, expected one of"
        ),
        "{error}"
    );
    assert!(error.contains("`batch_size`"), "{error}");
}

#[test]
fn out_of_range_values_name_key_line_and_range() {
    check(
        &GOOD.replace("rates = [0.0, 0.4]", "rates = [0.0,\n  1.5]"),
        "x.toml:10: noise.rates[1]: 1.5 is outside [0, 1]: a noise rate is a probability in [0, 1]",
    );
    check(
        &GOOD.replace("epsilons = [0.0, 0.1]", "epsilons = [0.1, 0.1]"),
        "x.toml:12: targets.epsilons[1]: 0.1 appears twice: each grid value once",
    );
    check(
        &GOOD.replace("epochs = 2", "epochs = 0"),
        "x.toml:19: training.epochs: 0 is not allowed: at least 1",
    );
    check(
        &GOOD.replace("rates = [0.0, 0.4]", "rates = []"),
        "x.toml:9: noise.rates: the list is empty: give at least one value",
    );
}

#[test]
fn wrong_names_and_types_are_reported_with_the_allowed_values() {
    let error = parse(&GOOD.replace("\"symmetric\"", "\"symetric\""), "x.toml")
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("x.toml:8: noise.model: unknown variant `symetric`"),
        "{error}"
    );
    assert!(error.contains("`pair-flip`"), "{error}");
    assert!(error.contains("`instance`"), "{error}");
    let error = parse(
        &GOOD.replace("batch_size = 32", "batch_size = \"32\""),
        "x.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.starts_with("x.toml:20: training.batch_size: invalid type: string"),
        "{error}"
    );
}

/// One case per class of configuration error: the whole message, with file, line, key, the
/// value and what is allowed.
#[test]
fn every_error_class_has_a_precise_message() {
    let cases = [
        // An unknown key.
        (
            GOOD.replace("hidden = [16]", "hidden = [16]\nwidth = 3"),
            "x.toml:17: model.width: unknown field `width`, expected one of `kind`, `hidden`, `channels`",
        ),
        // A wrong type.
        (
            GOOD.replace("epochs = 2", "epochs = 2.5"),
            "x.toml:19: training.epochs: invalid type: floating point `2.5`, expected a non-negative integer",
        ),
        (
            GOOD.replace("rates = [0.0, 0.4]", "rates = 0.4"),
            "x.toml:9: noise.rates: invalid type: floating point `0.4`, expected a list in brackets, such as [1, 2]",
        ),
        // A noise rate outside [0, 1].
        (
            GOOD.replace("rates = [0.0, 0.4]", "rates = [-0.1, 0.4]"),
            "x.toml:9: noise.rates[0]: -0.1 is outside [0, 1]: a noise rate is a probability in [0, 1]",
        ),
        // ε outside the loss's range.
        (
            GOOD.replace("epsilons = [0.0, 0.1]", "epsilons = [0.0, 1.1]"),
            "x.toml:12: targets.epsilons[1]: 1.1 is outside [-8, 1]: ε = 1 already makes every target uniform, and below −8 negative smoothing (ε < 0) is untried",
        ),
        // Zero epochs, batch size 0.
        (
            GOOD.replace("epochs = 2", "epochs = 0"),
            "x.toml:19: training.epochs: 0 is not allowed: at least 1",
        ),
        (
            GOOD.replace("batch_size = 32", "batch_size = 0"),
            "x.toml:20: training.batch_size: 0 is not allowed: at least 1",
        ),
        // Empty grids.
        (
            GOOD.replace("epsilons = [0.0, 0.1]", "epsilons = []"),
            "x.toml:12: targets.epsilons: the list is empty: give at least one value",
        ),
        (
            GOOD.replace("seeds = 2", "seeds = 0"),
            "x.toml:2: seeds: 0 is not allowed: at least 1 seed",
        ),
        // Duplicate grid values.
        (
            GOOD.replace("rates = [0.0, 0.4]", "rates = [0.4, 0.0, 0.4]"),
            "x.toml:9: noise.rates[2]: 0.4 appears twice: each grid value once",
        ),
    ];
    for (text, expected) in &cases {
        check(text, expected);
    }
}

#[test]
fn every_shipped_experiment_file_is_valid() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
    let mut n_files = 0;
    for entry in std::fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            load(&path).unwrap_or_else(|e| panic!("{e}"));
            n_files += 1;
        }
    }
    assert!(n_files >= 5, "found {n_files} experiment files");
}

#[test]
fn source_specific_keys_are_checked() {
    let with_data = |data: &str| GOOD.replace("source = \"digits\"", data);
    check(
        &with_data("source = \"csv\""),
        "x.toml:4: data.path: missing: source = \"csv\" needs the folder (or, for csv, the file) to read\n\
         x.toml:4: data.label_column: missing: source = \"csv\" needs the name of the label column",
    );
    check(
        &with_data("source = \"idx\"\npath = \"m\"\ntest_fraction = 0.3"),
        "x.toml:7: data.test_fraction: not used: source = \"idx\" has its own test split",
    );
    check(
        &with_data("source = \"digits\"\nlabel_column = \"y\""),
        "x.toml:6: data.label_column: not used with source = \"digits\"; only with source = \"csv\"",
    );
    check(
        &with_data("source = \"image-folder\"\npath = \"p\"\nimage_size = [0, 8]"),
        "x.toml:7: data.image_size: [0, 8] is not allowed: width and height ≥ 1",
    );
    check(
        &GOOD.replace(
            "kind = \"mlp\"\nhidden = [16]",
            "kind = \"cnn\"\nhidden = [16]",
        ),
        "x.toml:16: model.hidden: only used with kind = \"mlp\"; remove it or use kind = \"mlp\"",
    );
    let cnn_on_table =
        with_data("source = \"blobs\"").replace("kind = \"mlp\"\nhidden = [16]", "kind = \"cnn\"");
    check(
        &cnn_on_table,
        "x.toml:15: model.kind: \"cnn\" needs image data; source = \"blobs\" is a table",
    );
    let config = parse(
        &with_data("source = \"idx\"\npath = \"data/mnist\"\ntrain_subset = 100"),
        "x.toml",
    )
    .unwrap();
    assert_eq!(config.data.test_fraction(), None);
    assert_eq!(config.data.train_subset, Some(100));
}

#[test]
fn options_of_the_other_optimizer_are_rejected() {
    check(
        &GOOD.replace("learning_rate = 0.05", "learning_rate = 0.05\nbeta1 = 0.8"),
        "x.toml:23: training.beta1: only used with optimizer = \"adamw\", not \"sgd\"",
    );
}

#[test]
fn type_errors_name_the_expected_type_in_plain_words() {
    let image_folder = |size: &str| {
        GOOD.replace(
            "source = \"digits\"",
            &format!("source = \"image-folder\"\npath = \"p\"\nimage_size = {size}"),
        )
    };
    let cases = [
        (
            GOOD.replace("epochs = 2", "epochs = -1"),
            "x.toml:19: training.epochs: invalid value: integer `-1`, expected a non-negative integer",
        ),
        (
            GOOD.replace("epochs = 2", "epochs = 18446744073709551616"),
            "x.toml:19: training.epochs: invalid value: integer `18446744073709551616`, expected a non-negative integer",
        ),
        (
            GOOD.replace("seeds = 2", "seeds = 2.5"),
            "x.toml:2: seeds: invalid type: floating point `2.5`, expected a non-negative integer",
        ),
        (
            GOOD.replace("learning_rate = 0.05", "learning_rate = \"fast\""),
            "x.toml:22: training.learning_rate: invalid type: string \"fast\", expected a number",
        ),
        (
            GOOD.replace("rates = [0.0, 0.4]", "rates = [0.0, true]"),
            "x.toml:9: noise.rates[1]: invalid type: boolean `true`, expected a number",
        ),
        (
            GOOD.replace("learning_rate = 0.05", "learning_rate = 0.05\nnesterov = 1"),
            "x.toml:23: training.nesterov: invalid type: integer `1`, expected true or false",
        ),
        (
            GOOD.replace("name = \"t\"", "name = 5"),
            "x.toml:1: name: invalid type: integer `5`, expected a string in quotes",
        ),
        (
            GOOD.replace("source = \"digits\"", "source = \"csv\"\npath = 3"),
            "x.toml:6: data.path: invalid type: integer `3`, expected a string in quotes",
        ),
        (
            image_folder("[8.5, 8]"),
            "x.toml:7: data.image_size[0]: invalid type: floating point `8.5`, expected a non-negative integer up to 4294967295",
        ),
        (
            image_folder("[8]"),
            "x.toml:7: data.image_size: invalid length 1, expected a list of 2 values",
        ),
        (
            GOOD.replace("hidden = [16]", "hidden = [16.5]"),
            "x.toml:16: model.hidden[0]: invalid type: floating point `16.5`, expected a non-negative integer",
        ),
    ];
    for (text, expected) in &cases {
        check(text, expected);
    }
    // Messages that name no Rust type are left alone.
    assert_eq!(
        plain_type_names("invalid array, expected `]`"),
        "invalid array, expected `]`"
    );
}

#[test]
fn no_noise_takes_the_single_rate_zero() {
    check(
        &GOOD.replace("model = \"symmetric\"", "model = \"none\""),
        "x.toml:9: noise.rates: [0, 0.4] is not allowed with noise.model = \"none\": no label is flipped at any rate, so give the single rate rates = [0]",
    );
    check(
        &GOOD
            .replace("model = \"symmetric\"", "model = \"none\"")
            .replace("rates = [0.0, 0.4]", "rates = [0.3]"),
        "x.toml:9: noise.rates: [0.3] is not allowed with noise.model = \"none\": no label is flipped at any rate, so give the single rate rates = [0]",
    );
    let config = parse(
        &GOOD
            .replace("model = \"symmetric\"", "model = \"none\"")
            .replace("rates = [0.0, 0.4]", "rates = [0.0]"),
        "x.toml",
    )
    .unwrap();
    assert_eq!(config.noise.rates, [0.0]);
}

#[test]
fn a_cnn_on_image_folders_smaller_than_4_by_4_is_refused_by_the_parser() {
    let text = GOOD
        .replace(
            "source = \"digits\"",
            "source = \"image-folder\"\npath = \"p\"\nimage_size = [3, 3]",
        )
        .replace("kind = \"mlp\"\nhidden = [16]", "kind = \"cnn\"");
    check(
        &text,
        "x.toml:7: data.image_size: [3, 3] is too small for model.kind = \"cnn\": its two 2×2 max-pools need images of at least 4×4 pixels",
    );
    assert!(parse(&text.replace("[3, 3]", "[4, 4]"), "x.toml").is_ok());
    // Other models take any size.
    assert!(
        parse(
            &text.replace("kind = \"cnn\"", "kind = \"logistic\""),
            "x.toml"
        )
        .is_ok()
    );
}

#[test]
fn test_path_and_validation_subset_are_checked() {
    let folder = |extra: &str| {
        GOOD.replace(
            "source = \"digits\"",
            &format!("source = \"image-folder\"\npath = \"p\"\nimage_size = [8, 8]\n{extra}"),
        )
    };
    check(
        &folder("test_path = \"q\"\ntest_fraction = 0.3"),
        "x.toml:9: data.test_fraction: not used: the test images come from data.test_path",
    );
    let config = parse(&folder("test_path = \"q\""), "x.toml").unwrap();
    assert_eq!(config.data.test_fraction(), None);
    check(
        &GOOD.replace(
            "source = \"digits\"",
            "source = \"digits\"\ntest_path = \"q\"",
        ),
        "x.toml:6: data.test_path: not used with source = \"digits\"; only with source = \"image-folder\"",
    );
    check(
        &GOOD.replace(
            "source = \"digits\"",
            "source = \"digits\"\nvalidation_subset = 0",
        ),
        "x.toml:6: data.validation_subset: 0 is not allowed: at least 1 sample (for no validation split, set validation_fraction = 0)",
    );
    check(
        &GOOD.replace(
            "source = \"digits\"",
            "source = \"digits\"\nvalidation_fraction = 0.0\nvalidation_subset = 10",
        ),
        "x.toml:7: data.validation_subset: not used: validation_fraction = 0 leaves no validation split to take a subset of",
    );
    let config = parse(
        &GOOD.replace(
            "source = \"digits\"",
            "source = \"digits\"\nvalidation_subset = 50",
        ),
        "x.toml",
    )
    .unwrap();
    assert_eq!(config.data.validation_subset, Some(50));
}

#[test]
fn filled_defaults_is_no_key_of_the_file() {
    check(
        &format!("filled_defaults = []\n{GOOD}"),
        "x.toml:1: filled_defaults: unknown field `filled_defaults`, expected one of `name`, `seed`, `seeds`, `data`, `noise`, `targets`, `model`, `training`",
    );
}

/// Facts of a data set of `k` classes that fits every model.
fn facts(k: usize) -> DataFacts {
    DataFacts {
        image_shape: Some([1, 8, 8]),
        n_classes: k,
        n_train: 1000,
        n_validation: 100,
        n_test: 200,
        found_split: None,
        class_names: (0..k).map(|c| c.to_string()).collect(),
    }
}

#[test]
fn settings_that_do_not_fit_the_data_are_errors_naming_file_line_and_key() {
    let cnn = GOOD.replace("kind = \"mlp\"\nhidden = [16]", "kind = \"cnn\"");
    let idx = cnn.replace("source = \"digits\"", "source = \"idx\"\npath = \"m\"");
    let config = parse(&idx, "x.toml").unwrap();
    let tiny_images = DataFacts {
        image_shape: Some([1, 3, 3]),
        ..facts(10)
    };
    assert_eq!(
        config.check_data(&tiny_images).unwrap_err().to_string(),
        "x.toml:16: model.kind: \"cnn\" needs images of at least 4×4 pixels (its two 2×2 max-pools); the idx images are 3×3"
    );
    let no_channels = DataFacts {
        image_shape: Some([0, 8, 8]),
        ..facts(10)
    };
    assert_eq!(
        config.check_data(&no_channels).unwrap_err().to_string(),
        "x.toml:16: model.kind: \"cnn\" needs images with at least 1 channel; the idx images have 0"
    );
    let table = DataFacts {
        image_shape: None,
        ..facts(10)
    };
    assert_eq!(
        config.check_data(&table).unwrap_err().to_string(),
        "x.toml:16: model.kind: \"cnn\" needs image data; the idx data are a table"
    );
    assert_eq!(config.check_data(&facts(10)).unwrap(), Vec::<String>::new());

    let subsets = parse(
        &GOOD.replace(
            "source = \"digits\"",
            "source = \"digits\"\ntrain_subset = 5000\nvalidation_subset = 500",
        ),
        "x.toml",
    )
    .unwrap();
    assert_eq!(
        subsets.check_data(&facts(10)).unwrap_err().to_string(),
        "x.toml:6: data.train_subset: 5000 is more than the 1000 training samples available (what the test and validation splits leave); give at most 1000, or leave it out to use them all\n\
         x.toml:7: data.validation_subset: 500 is more than the 100 validation samples available; give at most 100, or leave it out to use them all"
    );
    let config = parse(GOOD, "x.toml").unwrap();
    let one_class = facts(1);
    assert_eq!(
        config.check_data(&one_class).unwrap_err().to_string(),
        "x.toml:5: data.source: the digits data hold 1 class(es); noise and training need at least 2"
    );
    let no_test = DataFacts {
        n_test: 0,
        ..facts(10)
    };
    assert_eq!(
        config.check_data(&no_test).unwrap_err().to_string(),
        "x.toml:4: data.test_fraction: 0.2 leaves the test split empty: round(0.2 · n_c) is 0 for every class c; give a larger share (or more data)"
    );
    // An image folder with train/ and test/ keeps its test split: no test_fraction.
    let folder = parse(
        &GOOD.replace(
            "source = \"digits\"",
            "source = \"image-folder\"\npath = \"p\"\nimage_size = [8, 8]\ntest_fraction = 0.3",
        ),
        "x.toml",
    )
    .unwrap();
    let split = DataFacts {
        found_split: Some(data::ImageFolderSplit {
            train: "p/train".into(),
            test: "p/test".into(),
        }),
        ..facts(2)
    };
    assert_eq!(
        folder.check_data(&split).unwrap_err().to_string(),
        "x.toml:8: data.test_fraction: not used: the image folder has its own test split (p/train and p/test)"
    );
}

#[test]
fn degenerate_settings_are_warned_about_with_the_reason() {
    let with = |model: &str, rates: &str, epsilons: &str| {
        parse(
            &GOOD
                .replace("model = \"symmetric\"", &format!("model = \"{model}\""))
                .replace("rates = [0.0, 0.4]", &format!("rates = {rates}"))
                .replace("epsilons = [0.0, 0.1]", &format!("epsilons = {epsilons}")),
            "x.toml",
        )
        .unwrap()
    };
    // Symmetric: the clean class stays the most likely label below (K − 1)/K.
    let config = with("symmetric", "[0.0, 0.6, 0.9, 0.95]", "[0.0, 1.0]");
    assert_eq!(
        config.check_data(&facts(10)).unwrap(),
        [
            "x.toml:9: noise.rates[2]: ρ = 0.9 ≥ (K − 1)/K = 0.9 with K = 10 classes: under symmetric noise the true class (probability 1 − ρ) is then no more likely than each other class (ρ/(K − 1)), so the noisy label is no longer the most likely one",
            "x.toml:9: noise.rates[3]: ρ = 0.95 ≥ (K − 1)/K = 0.9 with K = 10 classes: under symmetric noise the true class (probability 1 − ρ) is then no more likely than each other class (ρ/(K − 1)), so the noisy label is no longer the most likely one",
            "x.toml:12: targets.epsilons[1]: ε = 1 makes every target the uniform distribution 1/K whatever the label, so these runs' targets carry no label information",
        ]
    );
    let three = with("symmetric", "[0.6, 0.7]", "[0.0]");
    assert_eq!(
        three.check_data(&facts(3)).unwrap(),
        [
            "x.toml:9: noise.rates[1]: ρ = 0.7 ≥ (K − 1)/K = 0.6667 with K = 3 classes: under symmetric noise the true class (probability 1 − ρ) is then no more likely than each other class (ρ/(K − 1)), so the noisy label is no longer the most likely one"
        ]
    );
    // Pair-flip: at 1/2, whatever K.
    let pair = with("pair-flip", "[0.4, 0.5]", "[0.0]");
    assert_eq!(
        pair.check_data(&facts(10)).unwrap(),
        [
            "x.toml:9: noise.rates[1]: ρ = 0.5 ≥ 1/2: under pair-flip noise class c is then labelled c + 1 (probability ρ) at least as often as c (1 − ρ), so the noisy label is no longer the most likely one"
        ]
    );
    // Uniform keeps the clean class ahead (1 − ρ + ρ/K against ρ/K) until ρ = 1.
    let uniform = with("uniform", "[0.9, 1.0]", "[0.0]");
    assert_eq!(
        uniform.check_data(&facts(10)).unwrap(),
        [
            "x.toml:9: noise.rates[1]: ρ = 1 ≥ 1: under uniform noise every label is then redrawn from all K = 10 classes alike, so the noisy label is no longer the most likely one and carries no label information"
        ]
    );
    assert!(
        with("none", "[0.0]", "[0.0, 0.5]")
            .check_data(&facts(10))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn resolved_fills_every_default_and_as_written_undoes_it() {
    let config = parse(GOOD, "x.toml").unwrap();
    let resolved = config.resolved();
    assert_eq!(resolved.data.test_fraction, Some(0.2));
    assert_eq!(
        resolved.data.split_seed,
        Some(crate::hashing::derive_seed(0, "split"))
    );
    assert_eq!(resolved.training.momentum, Some(0.9));
    assert_eq!(resolved.training.nesterov, Some(false));
    assert_eq!(
        (resolved.training.beta1, resolved.training.beta2),
        (None, None)
    );
    assert_eq!(
        resolved.filled_defaults,
        [
            "data.test_fraction",
            "data.split_seed",
            "training.momentum",
            "training.nesterov"
        ]
    );
    // The optimiser the trainer gets is the same either way.
    assert_eq!(
        resolved.resolve().unwrap().training.optimizer,
        config.resolve().unwrap().training.optimizer
    );
    assert_eq!(resolved.as_written(), config);
    assert_eq!(config.as_written(), config);
    assert_eq!(resolved.resolved(), resolved);
    // Through JSON, as merge reads a manifest back.
    let json = serde_json::to_value(&resolved).unwrap();
    assert_eq!(json["data"]["test_fraction"], 0.2);
    assert_eq!(json["training"]["nesterov"], false);
    let read: ExperimentConfig = serde_json::from_value(json).unwrap();
    assert_eq!(read.as_written(), config);
    // A configuration as written serialises as before: no new keys, so `config_hash` and
    // the run ids of existing folders stay what they were.
    let json = serde_json::to_value(&config).unwrap();
    for (table, key) in [
        ("", "filled_defaults"),
        ("", "origin"),
        ("data", "validation_subset"),
        ("data", "test_path"),
    ] {
        let object = if table.is_empty() {
            &json
        } else {
            &json[table]
        };
        assert!(object.get(key).is_none(), "{table}.{key}");
    }

    // Blobs, AdamW and the CNN; a default written out explicitly is not listed.
    let other = parse(
        &GOOD
            .replace("source = \"digits\"", "source = \"blobs\"\nn_features = 4")
            .replace("kind = \"mlp\"\nhidden = [16]", "kind = \"logistic\"")
            .replace("optimizer = \"sgd\"", "optimizer = \"adamw\"\nbeta1 = 0.9"),
        "x.toml",
    )
    .unwrap();
    let resolved = other.resolved();
    assert_eq!(
        resolved.filled_defaults,
        [
            "data.test_fraction",
            "data.split_seed",
            "data.n_classes",
            "data.n_samples",
            "data.separation",
            "training.beta2"
        ]
    );
    assert_eq!(
        (
            resolved.data.n_classes,
            resolved.data.n_features,
            resolved.data.n_samples,
            resolved.data.separation,
            resolved.training.beta2
        ),
        (Some(4), Some(4), Some(800), Some(1.5), Some(0.999))
    );
    assert_eq!(resolved.as_written(), other);
    let idx = parse(
        &GOOD
            .replace(
                "source = \"digits\"",
                "source = \"idx\"\npath = \"no/such/folder\"",
            )
            .replace("kind = \"mlp\"\nhidden = [16]", "kind = \"cnn\""),
        "x.toml",
    )
    .unwrap()
    .resolved();
    // Its own test split: no test share. The files are not there, so their names stay out.
    assert_eq!(idx.data.test_fraction, None);
    assert_eq!(idx.data.n_classes, Some(10));
    assert_eq!(idx.data.train_images, None);
    assert_eq!(idx.model.channels, Some([16, 32]));
}

/// A time-bounded mutation fuzzer over the shipped experiment files: whatever the text,
/// `parse` returns a configuration or an error, never panics, and an error always names the
/// file. `LABELNOISE_FUZZ_SECONDS` sets the budget (default 8 s); the executions are printed.
#[test]
fn the_parser_never_panics_on_mutated_files() {
    use rand::{RngExt, SeedableRng};
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments");
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .map(|path| std::fs::read(path).unwrap())
        .collect();
    seeds.sort();
    seeds.push(GOOD.as_bytes().to_vec());
    let budget = std::env::var("LABELNOISE_FUZZ_SECONDS")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(8.0);
    // Fragments that reach the validator's corners: huge and odd numbers, wrong types,
    // repeated tables, inline tables, unicode and control characters.
    const FRAGMENTS: [&str; 22] = [
        "=",
        "[",
        "]",
        "\"",
        "'",
        ",",
        "\n",
        "[[noise]]\n",
        "[training]\n",
        "{ a = 1 }",
        "nan",
        "inf",
        "-inf",
        "1e309",
        "-0.0",
        "18446744073709551616",
        "-1",
        "0",
        "\u{0}",
        "ε",
        "\"\"\"",
        "# comment\n",
    ];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let started = std::time::Instant::now();
    let (mut executions, mut accepted) = (0u64, 0u64);
    while started.elapsed().as_secs_f64() < budget {
        let mut bytes = seeds[rng.random_range(0..seeds.len())].clone();
        for _ in 0..rng.random_range(1..6) {
            let at = rng.random_range(0..=bytes.len());
            match rng.random_range(0..5) {
                0 if !bytes.is_empty() => {
                    let at = at.min(bytes.len() - 1);
                    bytes[at] = rng.random::<u8>();
                }
                1 => {
                    let end = (at + rng.random_range(0..40)).min(bytes.len());
                    bytes.drain(at..end);
                }
                2 => {
                    let fragment = FRAGMENTS[rng.random_range(0..FRAGMENTS.len())];
                    bytes.splice(at..at, fragment.bytes());
                }
                3 => bytes.truncate(at),
                _ => {
                    let end = (at + rng.random_range(0..60)).min(bytes.len());
                    let chunk = bytes[at..end].to_vec();
                    let to = rng.random_range(0..=bytes.len());
                    bytes.splice(to..to, chunk);
                }
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        let outcome = std::panic::catch_unwind(|| parse(&text, "fuzz.toml"));
        match outcome {
            Ok(Ok(_)) => accepted += 1,
            Ok(Err(error)) => assert!(error.to_string().starts_with("fuzz.toml"), "{error}"),
            Err(_) => panic!("parse panicked on:\n{text}"),
        }
        executions += 1;
    }
    eprintln!(
        "fuzz config parser: {executions} executions in {budget} s, {accepted} accepted, 0 panics"
    );
    assert!(executions > 0);
}

#[test]
fn resolve_gives_each_source_model_and_optimizer_its_typed_settings_with_every_default() {
    let resolve = |data: &str, model: &str, training: &str| {
        let text = GOOD
            .replace("source = \"digits\"", data)
            .replace("kind = \"mlp\"\nhidden = [16]", model)
            .replace(
                "optimizer = \"sgd\"\nlearning_rate = 0.05",
                &format!("learning_rate = 0.05\n{training}"),
            );
        parse(&text, "x.toml").unwrap().resolve().unwrap()
    };
    let digits = parse(GOOD, "x.toml").unwrap().resolve().unwrap();
    assert_eq!(digits.data.source, Source::Digits);
    assert_eq!(digits.data.test_fraction, Some(DEFAULT_TEST_FRACTION));
    assert_eq!(
        digits.data.split_seed,
        crate::hashing::derive_seed(0, "split")
    );
    assert_eq!(digits.model, trainer::ModelKind::Mlp { hidden: vec![16] });
    assert_eq!(digits.model_name(), "MLP 16");
    assert_eq!(
        digits.training.optimizer,
        trainer::OptimizerParams::Sgd {
            learning_rate: 0.05,
            momentum: DEFAULT_MOMENTUM,
            nesterov: false,
            weight_decay: 0.0
        }
    );
    assert_eq!(digits.training.schedule, trainer::Schedule::Constant);
    assert_eq!(
        digits.noise.source,
        NoiseSource::Model(noise::NoiseModel::Symmetric)
    );
    assert_eq!(digits.epsilons, [0.0, 0.1]);
    assert_eq!(digits.written(), &parse(GOOD, "x.toml").unwrap());

    let blobs = resolve(
        "source = \"blobs\"\nn_classes = 3\nsplit_seed = 9",
        "kind = \"logistic\"",
        "optimizer = \"adamw\"\nbeta2 = 0.99\nschedule = \"cosine\"",
    );
    let defaults = data::BlobsParams::default();
    assert_eq!(
        blobs.data.source,
        Source::Blobs(data::BlobsParams {
            n_classes: 3,
            n_features: defaults.n_features,
            n_samples: defaults.n_samples,
            separation: defaults.separation,
            seed: crate::hashing::derive_seed(0, "blobs"),
        })
    );
    assert_eq!(blobs.data.split_seed, 9);
    assert_eq!(blobs.model_name(), "logistic regression");
    assert_eq!(
        blobs.training.optimizer,
        trainer::OptimizerParams::AdamW {
            learning_rate: 0.05,
            beta1: DEFAULT_BETA1,
            beta2: 0.99,
            weight_decay: 0.0
        }
    );
    assert_eq!(blobs.training.schedule, trainer::Schedule::Cosine);
    // What was filled in, and only that, is listed for the manifest.
    assert_eq!(
        blobs.resolved().filled_defaults,
        [
            "data.test_fraction",
            "data.n_features",
            "data.n_samples",
            "data.separation",
            "training.beta1"
        ]
    );

    let images = resolve(
        "source = \"image-folder\"\npath = \"no/such/folder\"\nimage_size = [12, 10]",
        "kind = \"cnn\"",
        "optimizer = \"sgd\"",
    );
    assert_eq!(
        images.data.source,
        Source::ImageFolder {
            root: "no/such/folder".into(),
            test: ImageFolderTest::Share,
            size: [12, 10],
            grayscale: false,
        }
    );
    assert_eq!(
        images.model,
        trainer::ModelKind::Cnn {
            channels: DEFAULT_CNN_CHANNELS
        }
    );
    assert_eq!(images.model_name(), "CNN 16-32");

    let cifar = resolve(
        "source = \"cifar100\"\npath = \"c\"",
        "kind = \"logistic\"",
        "optimizer = \"sgd\"",
    );
    assert_eq!(
        cifar.data.source,
        Source::Cifar100 {
            folder: "c".into(),
            labels: data::Cifar100Labels::Fine
        }
    );
    // Its own test split: no test share.
    assert_eq!(cifar.data.test_fraction, None);

    let csv = resolve(
        "source = \"csv\"\npath = \"t.csv\"\nlabel_column = \"y\"",
        "kind = \"logistic\"",
        "optimizer = \"sgd\"",
    );
    assert_eq!(
        csv.data.source,
        Source::Csv {
            file: "t.csv".into(),
            label_column: "y".into()
        }
    );
}

/// `GOOD` with its `[noise]` table replaced by `noise`.
fn with_noise(noise: &str) -> String {
    let start = GOOD.find("[noise]").unwrap();
    let end = GOOD.find("[targets]").unwrap();
    format!("{}[noise]\n{noise}\n\n{}", &GOOD[..start], &GOOD[end..])
}

#[test]
fn every_noise_model_of_the_noise_crate_is_reachable_from_the_file() {
    for model in noise::NoiseModel::ALL {
        let noise = match model {
            noise::NoiseModel::AsymmetricMnist => {
                "model = \"asymmetric\"\npreset = \"mnist\"\nrates = [0.2]".to_string()
            }
            noise::NoiseModel::AsymmetricCifar10 => {
                "model = \"asymmetric\"\npreset = \"cifar10\"\nrates = [0.2]".to_string()
            }
            noise::NoiseModel::None => "model = \"none\"\nrates = [0.0]".to_string(),
            other => format!("model = \"{}\"\nrates = [0.2]", other.name()),
        };
        let experiment = parse(&with_noise(&noise), "x.toml")
            .unwrap()
            .resolve()
            .unwrap();
        assert_eq!(
            experiment.noise.source,
            NoiseSource::Model(model),
            "{noise}"
        );
    }
    // And the sources that are not a built-in model.
    let pairs = parse(
        &with_noise("model = \"asymmetric\"\npairs = [[3, 5], [\"5\", \"3\"]]\nrates = [0.2]"),
        "x.toml",
    )
    .unwrap()
    .resolve()
    .unwrap();
    assert_eq!(
        pairs.noise.source,
        NoiseSource::Pairs(vec![
            [ClassRef::Index(3), ClassRef::Index(5)],
            [ClassRef::Name("5".into()), ClassRef::Name("3".into())]
        ])
    );
    let matrix = parse(
        &with_noise("model = \"matrix\"\nmatrix = [[0.9, 0.1], [0.2, 0.8]]"),
        "x.toml",
    )
    .unwrap()
    .resolve()
    .unwrap();
    assert!(matches!(matrix.noise.source, NoiseSource::Matrix(_)));
    // Without rates the matrix is used as given: the single rate 1.
    assert_eq!(matrix.noise.rates, [1.0]);
    let instance = parse(&with_noise("model = \"instance\"\nrates = [0.2]"), "x.toml")
        .unwrap()
        .resolve()
        .unwrap();
    assert_eq!(
        instance.noise.source,
        NoiseSource::Instance { flip_rate_std: 0.1 }
    );
}

#[test]
fn noise_model_keys_are_checked_with_file_line_and_key() {
    for (noise, expected) in [
        (
            "model = \"asymmetric\"\nrates = [0.2]",
            "x.toml:8: noise.model: \"asymmetric\" needs its class map: preset = \"mnist\" or \"cifar10\", or pairs = [[clean, noisy], …] by class index or name",
        ),
        (
            "model = \"asymmetric\"\npairs = [[3, 3]]\nrates = [0.2]",
            "x.toml:9: noise.pairs[0]: [3, 3] maps a class to itself: a flip changes the class",
        ),
        (
            "model = \"asymmetric\"\npairs = [[3, 5], [3, 6]]\nrates = [0.2]",
            "x.toml:9: noise.pairs[1]: class 3 already has a destination: each class flips to at most one other",
        ),
        (
            "model = \"symmetric\"\npreset = \"mnist\"\nrates = [0.2]",
            "x.toml:9: noise.preset: not used with noise.model = \"symmetric\"; only with model = \"asymmetric\"",
        ),
        (
            "model = \"matrix\"\nmatrix = [[0.9, 0.2], [0.2, 0.8]]",
            "x.toml:9: noise.matrix: row 1 (clean class 0) sums to 1.1, not 1 (tolerance 1e-6)",
        ),
        (
            "model = \"matrix\"\nrates = [0.2]",
            "x.toml:8: noise.model: \"matrix\" needs its transition matrix: matrix = [[…], …] (row = clean class, column = noisy class), matrix_file = \"T.csv\", or matrix_from = \"labels.csv\" with its column",
        ),
        (
            "model = \"matrix\"\nmatrix_file = \"no/such/T.csv\"",
            "x.toml:9: noise.matrix_file: no/such/T.csv: cannot read it (No such file or directory (os error 2))",
        ),
        (
            "model = \"asymmetric\"\npairs = [[1, 2, 3]]\nrates = [0.2]",
            "x.toml:9: noise.pairs[0]: a pair is [clean, noisy]: 2 classes, not 3",
        ),
        (
            "model = \"asymmetric\"\npairs = [[0, -1]]\nrates = [0.2]",
            "x.toml:9: noise.pairs[0]: invalid value: integer `-1`, expected a class index (a non-negative integer) or a class name in quotes",
        ),
        (
            "model = \"file\"\nlabels_file = \"l.csv\"",
            "x.toml:9: noise.labels_file: a CSV labels file needs columns = [\"…\", …]: the label columns to compare, one noise level each",
        ),
        (
            "model = \"file\"\nlabels_file = \"l.npy\"\ncolumns = [\"a\"]",
            "x.toml:10: noise.columns: not used with a .npy labels file, which holds one label set (named after the file)",
        ),
        (
            "model = \"file\"\nlabels_file = \"l.csv\"\ncolumns = [\"a\", \"row\", \"a\"]",
            "x.toml:10: noise.columns[1]: \"row\" is the column of row indices, not a label set\nx.toml:10: noise.columns[2]: \"a\" appears twice: each label set once",
        ),
        (
            "model = \"file\"\nlabels_file = \"l.csv\"\ncolumns = [\"a\"]\nrates = [0.2]",
            "x.toml:11: noise.rates: not used with noise.model = \"file\": each label set is one noise level, at the share of training labels it actually changes",
        ),
        (
            "model = \"file\"\nlabels_file = \"no/such/l.csv\"\ncolumns = [\"a\"]",
            "x.toml:9: noise.labels_file: no/such/l.csv: cannot read it (No such file or directory (os error 2))",
        ),
        (
            "model = \"matrix\"\nmatrix_from = \"l.csv\"",
            "x.toml:9: noise.matrix_from: a CSV labels file needs column = \"…\": the label column whose transition matrix is used",
        ),
        (
            "model = \"matrix\"\nmatrix = [[1.0, 0.0], [0.0, 1.0]]\nmatrix_from = \"l.csv\"\ncolumn = \"a\"",
            "x.toml:10: noise.matrix_from: give one of matrix, matrix_file and matrix_from, not matrix and matrix_from",
        ),
        (
            "model = \"symmetric\"\nrates = [0.2]\nlabels_digest = \"ab\"",
            "x.toml:10: noise.labels_digest: not a key of the experiment file: it is the digest of the labels file, which resolution records in manifest.json",
        ),
        (
            "model = \"instance\"\nrates = [0.2]\nnested = true",
            "x.toml:10: noise.nested: not used with noise.model = \"instance\": its flips are drawn per sample from the features, not from a matrix whose flips could nest",
        ),
        (
            "model = \"instance\"\nrates = [0.2]\nflip_rate_std = -1.0",
            "x.toml:10: noise.flip_rate_std: -1 is not allowed: a standard deviation, a finite number ≥ 0",
        ),
    ] {
        let error = parse(&with_noise(noise), "x.toml").and_then(|config| config.resolve());
        assert_eq!(error.unwrap_err().to_string(), expected, "{noise}");
    }
}

#[test]
fn noise_settings_that_do_not_fit_the_data_are_errors_and_degenerate_ones_warnings() {
    let resolved = |noise: &str| {
        parse(&with_noise(noise), "x.toml")
            .unwrap()
            .resolve()
            .unwrap()
    };
    let error = resolved("model = \"asymmetric\"\npreset = \"cifar10\"\nrates = [0.2]")
        .check_data(&facts(4))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "x.toml:9: noise.preset: the cifar10 class map is for 10-class data; the digits data have 4 classes"
    );
    let error =
        resolved("model = \"asymmetric\"\npairs = [[0, 1], [\"cat\", \"0\"]]\nrates = [0.2]")
            .check_data(&facts(3))
            .unwrap_err();
    assert_eq!(
        error.to_string(),
        "x.toml:9: noise.pairs[1]: no class of the data is named \"cat\"; its classes are 0, 1, 2"
    );
    let error = resolved("model = \"matrix\"\nmatrix = [[0.9, 0.1], [0.2, 0.8]]")
        .check_data(&facts(3))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "x.toml:9: noise.matrix: the matrix is 2×2; the digits data have 3 classes, so it must be 3×3"
    );
    let warnings =
        resolved("model = \"matrix\"\nmatrix = [[0.4, 0.6], [0.2, 0.8]]\nrates = [0.5, 1.0]")
            .check_data(&facts(2))
            .unwrap();
    assert_eq!(
        warnings,
        [
            "x.toml:10: noise.rates[1]: ρ = 1: in the row of clean class 0 another class is at least as likely as the clean one, so for those classes the clean class is no longer the most likely label"
        ]
    );
    let warnings = resolved("model = \"asymmetric\"\npreset = \"mnist\"\nrates = [0.2, 0.5]")
        .check_data(&facts(10))
        .unwrap();
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].starts_with("x.toml:10: noise.rates[1]: ρ = 0.5 ≥ 1/2"),
        "{warnings:?}"
    );
}

#[test]
fn negative_smoothing_takes_a_warm_up_and_is_warned_about_without_one() {
    let with = |epsilons: &str, training: &str| {
        GOOD.replace("epsilons = [0.0, 0.1]", &format!("epsilons = {epsilons}"))
            .replace(
                "learning_rate = 0.05",
                &format!("learning_rate = 0.05\n{training}"),
            )
    };
    check(
        &with("[0.0, -9.0]", ""),
        "x.toml:12: targets.epsilons[1]: -9 is outside [-8, 1]: ε = 1 already makes every target uniform, and below −8 negative smoothing (ε < 0) is untried",
    );
    check(
        &with("[0.0, -0.8]", "warmup_epochs = 2"),
        "x.toml:23: training.warmup_epochs: 2 is not allowed: give fewer than training.epochs (2), so that the configured targets train at all",
    );
    let warnings = |text: &str| {
        parse(text, "x.toml")
            .unwrap()
            .resolve()
            .unwrap()
            .check_data(&facts(10))
            .unwrap()
    };
    let without = warnings(&with("[0.0, -0.8]", ""));
    assert_eq!(without.len(), 1, "{without:?}");
    assert!(
        without[0].starts_with("x.toml:12: targets.epsilons[1]: ε = -0.8 < 0 (negative smoothing)"),
        "{without:?}"
    );
    assert!(warnings(&with("[0.0, -0.8]", "warmup_epochs = 1")).is_empty());
    let resolved = parse(&with("[0.0, -0.8]", "warmup_epochs = 1"), "x.toml")
        .unwrap()
        .resolve()
        .unwrap();
    assert_eq!(resolved.training.warmup_epochs, 1);
    // Left out, no warm-up, and nothing new in the configuration as written.
    let plain = parse(GOOD, "x.toml").unwrap();
    assert_eq!(plain.resolve().unwrap().training.warmup_epochs, 0);
    assert!(
        serde_json::to_value(&plain).unwrap()["training"]
            .get("warmup_epochs")
            .is_none()
    );
}

#[test]
fn losses_resolve_with_their_defaults_and_keep_the_ids_of_their_file() {
    let text = GOOD.replace(
        "epsilons = [0.0, 0.1]",
        "epsilons = [0.0, 0.1]\nlosses = [\n    { loss = \"gce\" },\n    { loss = \"sce\", beta = 0.5 },\n    { loss = \"ce\", epsilon = 0.2, convention = \"off-classes\" },\n    { loss = \"forward\" },\n]",
    );
    let config = parse(&text, "x.toml").unwrap();
    let experiment = config.resolve().unwrap();
    let names: Vec<&str> = experiment.losses.iter().map(trainer::Loss::name).collect();
    assert_eq!(names, ["gce", "sce", "ce-off-classes", "forward"]);
    assert_eq!(experiment.losses[0].parameters(), [("q", 0.7)]);
    assert_eq!(
        experiment.losses[1].parameters(),
        [("alpha", 0.1), ("beta", 0.5), ("log_zero", -4.0)]
    );
    assert_eq!(
        experiment.targets_counted(),
        "6 target settings (3 ε, 3 losses built for label noise)"
    );
    // The manifest records every default and names it; the ids are those of the file.
    let resolved = experiment.resolved();
    for key in [
        "targets.losses[0].q",
        "targets.losses[1].alpha",
        "targets.losses[1].log_zero",
    ] {
        assert!(resolved.filled_defaults.contains(&key.to_string()), "{key}");
    }
    assert!(
        !resolved
            .filled_defaults
            .contains(&"targets.losses[1].beta".to_string())
    );
    assert_eq!(resolved.as_written(), *experiment.written());
    let runs = crate::grid::expand(&experiment);
    assert_eq!(runs, crate::grid::expand(&resolved.resolve().unwrap()));
    assert_eq!(runs.len(), 2 * 2 * 6);
    // The ε runs keep the ids of the grid without losses; each loss has its own.
    let without = crate::grid::expand(&parse(GOOD, "x.toml").unwrap().resolve().unwrap());
    for spec in &without {
        assert!(runs.iter().any(|r| r.run_id == spec.run_id));
    }
    let mut ids: Vec<&str> = runs.iter().map(|r| r.run_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), runs.len());
    // A loss hashes its parameters as resolved, so a default written out is the same setting
    // with the same id (and a changed default would change the ids).
    let explicit = parse(
        &text.replace("{ loss = \"gce\" }", "{ loss = \"gce\", q = 0.7 }"),
        "x.toml",
    )
    .unwrap()
    .resolve()
    .unwrap();
    assert_eq!(explicit.losses, experiment.losses);
    let gce = |runs: &[crate::grid::RunSpec]| runs[2].run_id.clone();
    assert_eq!(gce(&crate::grid::expand(&explicit)), gce(&runs));
}

#[test]
fn a_loss_entry_that_no_run_could_train_is_refused_with_its_index() {
    let with = |losses: &str| {
        GOOD.replace(
            "epsilons = [0.0, 0.1]",
            &format!("epsilons = [0.0, 0.1]\nlosses = [{losses}]"),
        )
    };
    check(
        &with("{ loss = \"gce\", q = 0 }"),
        "x.toml:13: targets.losses[0]: GCE q 0 is outside (0, 1]",
    );
    check(
        &with("{ loss = \"ce\", epsilon = 0.3, convention = \"uniform\" }"),
        "x.toml:13: targets.losses[0]: cross-entropy with uniform smoothing is what targets.epsilons runs: list ε = 0.3 there; a `ce` entry here is for convention = \"off-classes\"",
    );
    check(
        &with("{ loss = \"ce\", epsilon = 0, convention = \"off-classes\" }"),
        "x.toml:13: targets.losses[0]: ε = 0 is hard targets in either convention: list 0 in targets.epsilons",
    );
    check(
        &with("{ loss = \"focal\" }, { loss = \"focal\", gamma = 2 }"),
        "x.toml:13: targets.losses[1]: focal γ = 2 is targets.losses[0] again: each setting once",
    );
    // Values the tables would write alike are one setting, as are grid values.
    check(
        &with("{ loss = \"focal\" }, { loss = \"focal\", gamma = 2.0000001 }"),
        "x.toml:13: targets.losses[1]: focal γ = 2 is targets.losses[0] again to the six decimals the tables write: each setting once",
    );
    check(
        &GOOD.replace("epsilons = [0.0, 0.1]", "epsilons = [0.0, 0.1, 0.1000001]"),
        "x.toml:12: targets.epsilons[2]: 0.1000001 is 0.1 again to the six decimals the tables write: each grid value once",
    );
    // An array of tables names the entry at fault, at its header.
    check(
        &GOOD.replace(
            "[model]",
            "[[targets.losses]]\nloss = \"focal\"\n\n[[targets.losses]]\nloss = \"gce\"\ngamma = 3\n\n[model]",
        ),
        "x.toml:17: targets.losses[1]: unknown field `gamma`, expected `q`",
    );
    let instance =
        with("{ loss = \"forward\" }").replace("model = \"symmetric\"", "model = \"instance\"");
    let error = parse(&instance, "x.toml").unwrap_err().to_string();
    assert!(
        error.contains("targets.losses[0]: forward correction needs the known transition matrix of the noise, and instance-dependent noise has no class-level transition matrix"),
        "{error}"
    );
    for bad in [
        "{ loss = \"gce\", beta = 0.5 }",
        "{ loss = \"nope\" }",
        "{ q = 0.7 }",
        "\"gce\"",
        // An array in field order would carry numbers without names.
        "[\"gce\", 0.5]",
    ] {
        let error = parse(&with(bad), "x.toml").unwrap_err().to_string();
        assert!(
            error.starts_with("x.toml:13: targets.losses"),
            "{bad}: {error}"
        );
        assert_eq!(error.lines().count(), 1, "{error}");
        assert!(!error.contains("LossConfig"), "{error}");
    }
}
