//! The rules of the experiment file that its types cannot express.

use super::resolve::BLOBS_DEFAULT_CLASSES;
use super::schema::{
    ConventionName, DataSource, ExperimentConfig, LossConfig, ModelKindName, NoiseModelName,
    OptimizerName,
};

/// Every range and consistency rule the types cannot express, as (dotted key, message) pairs.
pub(super) fn validate(config: &ExperimentConfig) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    let mut problem = |key: &str, message: String| problems.push((key.to_string(), message));

    let name_ok = !config.name.is_empty()
        && config
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !config.name.starts_with('.');
    if !name_ok {
        problem(
            "name",
            format!(
                "`{}` is not allowed: use letters, digits, `-`, `_` and `.`, not starting with `.`",
                config.name
            ),
        );
    }
    if config.seeds == 0 {
        problem("seeds", "0 is not allowed: at least 1 seed".into());
    }

    let data = &config.data;
    let source = data.source;
    if let Some(test_fraction) = data.test_fraction {
        if source.has_test_split() {
            problem(
                "data.test_fraction",
                format!(
                    "not used: source = \"{}\" has its own test split",
                    source.name()
                ),
            );
        } else if data.test_path.is_some() && source == DataSource::ImageFolder {
            problem(
                "data.test_fraction",
                "not used: the test images come from data.test_path".into(),
            );
        } else if !(test_fraction > 0.0 && test_fraction < 1.0) {
            problem(
                "data.test_fraction",
                format!("{test_fraction} is outside (0, 1)"),
            );
        }
    }
    let test_fraction = data.test_fraction().unwrap_or(0.0);
    if !(0.0..1.0).contains(&data.validation_fraction)
        || data.validation_fraction + test_fraction >= 1.0
    {
        problem(
            "data.validation_fraction",
            format!(
                "{} is not allowed: a share in [0, 1) that with test_fraction ({test_fraction}) leaves training data",
                data.validation_fraction
            ),
        );
    }
    if data.train_subset == Some(0) {
        problem(
            "data.train_subset",
            "0 is not allowed: at least 1 sample".into(),
        );
    }
    match data.validation_subset {
        Some(0) => problem(
            "data.validation_subset",
            "0 is not allowed: at least 1 sample (for no validation split, set validation_fraction = 0)"
                .into(),
        ),
        Some(_) if data.validation_fraction == 0.0 => problem(
            "data.validation_subset",
            "not used: validation_fraction = 0 leaves no validation split to take a subset of"
                .into(),
        ),
        _ => {}
    }
    // Which source-specific keys each source takes.
    let source_keys: [(&str, bool, &[DataSource]); 14] = [
        (
            "path",
            data.path.is_some(),
            &[
                DataSource::Idx,
                DataSource::Cifar10,
                DataSource::Cifar100,
                DataSource::Csv,
                DataSource::ImageFolder,
            ],
        ),
        (
            "test_path",
            data.test_path.is_some(),
            &[DataSource::ImageFolder],
        ),
        (
            "train_images",
            data.train_images.is_some(),
            &[DataSource::Idx],
        ),
        (
            "train_labels",
            data.train_labels.is_some(),
            &[DataSource::Idx],
        ),
        (
            "test_images",
            data.test_images.is_some(),
            &[DataSource::Idx],
        ),
        (
            "test_labels",
            data.test_labels.is_some(),
            &[DataSource::Idx],
        ),
        ("labels", data.labels.is_some(), &[DataSource::Cifar100]),
        (
            "label_column",
            data.label_column.is_some(),
            &[DataSource::Csv],
        ),
        (
            "image_size",
            data.image_size.is_some(),
            &[DataSource::ImageFolder],
        ),
        (
            "grayscale",
            data.grayscale.is_some(),
            &[DataSource::ImageFolder],
        ),
        (
            "n_classes",
            data.n_classes.is_some(),
            &[DataSource::Blobs, DataSource::Idx],
        ),
        (
            "n_features",
            data.n_features.is_some(),
            &[DataSource::Blobs],
        ),
        ("n_samples", data.n_samples.is_some(), &[DataSource::Blobs]),
        (
            "separation",
            data.separation.is_some(),
            &[DataSource::Blobs],
        ),
    ];
    for (key, given, sources) in source_keys {
        if given && !sources.contains(&source) {
            let names: Vec<String> = sources
                .iter()
                .map(|s| format!("\"{}\"", s.name()))
                .collect();
            problem(
                &format!("data.{key}"),
                format!(
                    "not used with source = \"{}\"; only with source = {}",
                    source.name(),
                    names.join(" or ")
                ),
            );
        }
    }
    let needs_path = matches!(
        source,
        DataSource::Cifar10 | DataSource::Cifar100 | DataSource::Csv | DataSource::ImageFolder
    ) || (source == DataSource::Idx
        && [
            &data.train_images,
            &data.train_labels,
            &data.test_images,
            &data.test_labels,
        ]
        .iter()
        .any(|file| file.is_none()));
    if needs_path && data.path.is_none() {
        problem(
            "data.path",
            format!(
                "missing: source = \"{}\" needs the folder (or, for csv, the file) to read",
                source.name()
            ),
        );
    }
    if source == DataSource::Csv && data.label_column.is_none() {
        problem(
            "data.label_column",
            "missing: source = \"csv\" needs the name of the label column".into(),
        );
    }
    if source == DataSource::ImageFolder {
        match data.image_size {
            None => problem(
                "data.image_size",
                "missing: source = \"image-folder\" needs [width, height], e.g. [32, 32]".into(),
            ),
            Some(size) if size.contains(&0) => problem(
                "data.image_size",
                format!("{size:?} is not allowed: width and height ≥ 1"),
            ),
            _ => {}
        }
    }
    if source == DataSource::Blobs {
        if data.n_classes.is_some_and(|k| k < 2) {
            problem("data.n_classes", "must be at least 2".into());
        }
        if data.n_features == Some(0) {
            problem("data.n_features", "must be at least 1".into());
        }
        if data
            .n_samples
            .is_some_and(|n| n < 10 * data.n_classes.unwrap_or(BLOBS_DEFAULT_CLASSES))
        {
            problem(
                "data.n_samples",
                "must be at least 10 per class, so every split gets samples".into(),
            );
        }
        if data
            .separation
            .is_some_and(|s| !(s.is_finite() && s >= 0.0))
        {
            problem("data.separation", "must be a finite number ≥ 0".into());
        }
    }
    if source == DataSource::Idx && data.n_classes.is_some_and(|k| k < 2) {
        problem("data.n_classes", "must be at least 2".into());
    }

    let noise = &config.noise;
    let model = noise.model;
    // A matrix without rates is used as given; label sets are the levels of `file`; every other
    // model needs its rates.
    if model == NoiseModelName::File {
        if !noise.rates.is_empty() {
            problem(
                "noise.rates",
                "not used with noise.model = \"file\": each label set is one noise level, at the share of training labels it actually changes".into(),
            );
        }
    } else if !(model == NoiseModelName::Matrix && noise.rates.is_empty()) {
        check_grid(
            &mut problem,
            "noise.rates",
            &noise.rates,
            "a noise rate is a probability in [0, 1]",
        );
    }
    for (key, given, only) in [
        (
            "noise.preset",
            noise.preset.is_some(),
            NoiseModelName::Asymmetric,
        ),
        (
            "noise.pairs",
            noise.pairs.is_some(),
            NoiseModelName::Asymmetric,
        ),
        (
            "noise.matrix",
            noise.matrix.is_some(),
            NoiseModelName::Matrix,
        ),
        (
            "noise.matrix_file",
            noise.matrix_file.is_some(),
            NoiseModelName::Matrix,
        ),
        (
            "noise.matrix_from",
            noise.matrix_from.is_some(),
            NoiseModelName::Matrix,
        ),
        (
            "noise.column",
            noise.column.is_some(),
            NoiseModelName::Matrix,
        ),
        (
            "noise.labels_file",
            noise.labels_file.is_some(),
            NoiseModelName::File,
        ),
        (
            "noise.columns",
            noise.columns.is_some(),
            NoiseModelName::File,
        ),
        (
            "noise.flip_rate_std",
            noise.flip_rate_std.is_some(),
            NoiseModelName::Instance,
        ),
    ] {
        if given && model != only {
            problem(
                key,
                format!(
                    "not used with noise.model = \"{}\"; only with model = \"{}\"",
                    model.name(),
                    only.name()
                ),
            );
        }
    }
    match model {
        NoiseModelName::Asymmetric => match (&noise.preset, &noise.pairs) {
            (None, None) => problem(
                "noise.model",
                "\"asymmetric\" needs its class map: preset = \"mnist\" or \"cifar10\", or pairs = [[clean, noisy], …] by class index or name".into(),
            ),
            (Some(_), Some(_)) => problem(
                "noise.pairs",
                "give either preset or pairs, not both".into(),
            ),
            (None, Some(pairs)) if pairs.is_empty() => problem(
                "noise.pairs",
                "the list is empty: give at least one [clean, noisy] pair".into(),
            ),
            (None, Some(pairs)) => {
                for (index, pair) in pairs.iter().enumerate() {
                    let [clean, noisy] = pair.as_slice() else {
                        problem(
                            &format!("noise.pairs[{index}]"),
                            format!(
                                "a pair is [clean, noisy]: 2 classes, not {}",
                                pair.len()
                            ),
                        );
                        continue;
                    };
                    if clean == noisy {
                        problem(
                            &format!("noise.pairs[{index}]"),
                            format!("[{clean}, {noisy}] maps a class to itself: a flip changes the class"),
                        );
                    } else if pairs[..index].iter().any(|earlier| earlier.first() == Some(clean)) {
                        problem(
                            &format!("noise.pairs[{index}]"),
                            format!("class {clean} already has a destination: each class flips to at most one other"),
                        );
                    }
                }
            }
            _ => {}
        },
        NoiseModelName::Matrix => {
            let given = [
                ("matrix", noise.matrix.is_some()),
                ("matrix_file", noise.matrix_file.is_some()),
                ("matrix_from", noise.matrix_from.is_some()),
            ];
            let named: Vec<&str> = given.iter().filter(|(_, g)| *g).map(|(k, _)| *k).collect();
            match named.as_slice() {
                [] => problem(
                    "noise.model",
                    "\"matrix\" needs its transition matrix: matrix = [[…], …] (row = clean class, column = noisy class), matrix_file = \"T.csv\", or matrix_from = \"labels.csv\" with its column".into(),
                ),
                [_] => {}
                [_, second, ..] => problem(
                    &format!("noise.{second}"),
                    format!(
                        "give one of matrix, matrix_file and matrix_from, not {}",
                        named.join(" and ")
                    ),
                ),
            }
            if let Some(rows) = &noise.matrix
                && let Err(error) = noise::TransitionMatrix::from_rows(rows.clone())
            {
                problem("noise.matrix", error.to_string());
            }
            match (&noise.matrix_from, &noise.column) {
                (Some(file), None) if !is_npy(file) => problem(
                    "noise.matrix_from",
                    "a CSV labels file needs column = \"…\": the label column whose transition matrix is used".into(),
                ),
                (Some(file), Some(_)) if is_npy(file) => problem(
                    "noise.column",
                    "not used with a .npy labels file, which holds one label set".into(),
                ),
                (None, Some(_)) => problem(
                    "noise.column",
                    "only with matrix_from: the label column of its CSV file".into(),
                ),
                _ => {}
            }
        }
        NoiseModelName::File => {
            match (&noise.labels_file, &noise.columns) {
                (None, _) => problem(
                    "noise.model",
                    "\"file\" needs labels_file = \"labels.csv\" (with columns = [\"…\"]) or a .npy file of labels".into(),
                ),
                (Some(file), None) if !is_npy(file) => problem(
                    "noise.labels_file",
                    "a CSV labels file needs columns = [\"…\", …]: the label columns to compare, one noise level each".into(),
                ),
                (Some(file), Some(_)) if is_npy(file) => problem(
                    "noise.columns",
                    "not used with a .npy labels file, which holds one label set (named after the file)".into(),
                ),
                (Some(_), Some(columns)) => {
                    if columns.is_empty() {
                        problem(
                            "noise.columns",
                            "the list is empty: give at least one label column".into(),
                        );
                    }
                    for (index, column) in columns.iter().enumerate() {
                        if columns[..index].contains(column) {
                            problem(
                                &format!("noise.columns[{index}]"),
                                format!("\"{column}\" appears twice: each label set once"),
                            );
                        } else if column == noise::ROW_COLUMN {
                            problem(
                                &format!("noise.columns[{index}]"),
                                format!(
                                    "\"{column}\" is the column of row indices, not a label set"
                                ),
                            );
                        }
                    }
                }
                _ => {}
            }
            if noise.nested {
                problem(
                    "noise.nested",
                    "not used with noise.model = \"file\": its labels are given, not drawn".into(),
                );
            }
        }
        NoiseModelName::Instance => {
            if noise.nested {
                problem(
                    "noise.nested",
                    "not used with noise.model = \"instance\": its flips are drawn per sample from the features, not from a matrix whose flips could nest".into(),
                );
            }
            if let Some(std) = noise.flip_rate_std
                && !(std.is_finite() && std >= 0.0)
            {
                problem(
                    "noise.flip_rate_std",
                    format!("{std} is not allowed: a standard deviation, a finite number ≥ 0"),
                );
            }
        }
        _ => {}
    }
    // Without noise the rate changes nothing: every rate would train the same runs, and a rate
    // other than 0 would be reported for labels that are all clean.
    if model == NoiseModelName::None
        && !config.noise.rates.is_empty()
        && config.noise.rates != [0.0]
    {
        problem(
            "noise.rates",
            format!(
                "{} is not allowed with noise.model = \"none\": no label is flipped at any rate, so give the single rate rates = [0]",
                list(&config.noise.rates)
            ),
        );
    }
    check_grid_in(
        &mut problem,
        "targets.epsilons",
        &config.targets.epsilons,
        (trainer::LabelSmoothing::MIN_EPSILON, 1.0),
        "ε = 1 already makes every target uniform, and below −8 negative smoothing (ε < 0) is untried",
    );
    check_losses(&mut problem, config);
    if let Some(warmup) = config.training.warmup_epochs
        && warmup >= config.training.epochs
    {
        problem(
            "training.warmup_epochs",
            format!(
                "{warmup} is not allowed: give fewer than training.epochs ({}), so that the configured targets train at all",
                config.training.epochs
            ),
        );
    }

    if config.model.kind != ModelKindName::Cnn && config.model.channels.is_some() {
        problem("model.channels", "only used with kind = \"cnn\"".into());
    }
    if config.model.channels.is_some_and(|c| c.contains(&0)) {
        problem(
            "model.channels",
            "0 is not allowed: a channel count is at least 1".into(),
        );
    }
    if config.model.kind == ModelKindName::Cnn
        && source == DataSource::ImageFolder
        && let Some(size) = data.image_size
        && size
            .iter()
            .any(|&side| (1..MIN_CNN_SIDE as u32).contains(&side))
    {
        problem(
            "data.image_size",
            format!(
                "{size:?} is too small for model.kind = \"cnn\": its two 2×2 max-pools need images of at least {MIN_CNN_SIDE}×{MIN_CNN_SIDE} pixels"
            ),
        );
    }
    if config.model.kind == ModelKindName::Cnn
        && matches!(source, DataSource::Blobs | DataSource::Csv)
    {
        problem(
            "model.kind",
            format!(
                "\"cnn\" needs image data; source = \"{}\" is a table",
                source.name()
            ),
        );
    }
    match config.model.kind {
        ModelKindName::Logistic | ModelKindName::Cnn if !config.model.hidden.is_empty() => problem(
            "model.hidden",
            "only used with kind = \"mlp\"; remove it or use kind = \"mlp\"".into(),
        ),
        ModelKindName::Mlp if config.model.hidden.is_empty() => problem(
            "model.hidden",
            "kind = \"mlp\" needs at least one hidden width, e.g. hidden = [128]".into(),
        ),
        _ => {}
    }
    for (index, &width) in config.model.hidden.iter().enumerate() {
        if width == 0 {
            problem(
                &format!("model.hidden[{index}]"),
                "0 is not allowed: a hidden width is at least 1".into(),
            );
        }
    }

    let training = &config.training;
    if training.epochs == 0 {
        problem("training.epochs", "0 is not allowed: at least 1".into());
    }
    if training.batch_size == 0 {
        problem("training.batch_size", "0 is not allowed: at least 1".into());
    }
    if !(training.learning_rate.is_finite() && training.learning_rate > 0.0) {
        problem(
            "training.learning_rate",
            format!(
                "{} is not allowed: a finite number > 0",
                training.learning_rate
            ),
        );
    }
    if !(training.weight_decay.is_finite() && training.weight_decay >= 0.0) {
        problem(
            "training.weight_decay",
            format!(
                "{} is not allowed: a finite number ≥ 0",
                training.weight_decay
            ),
        );
    }
    let unit = |value: f64| (0.0..1.0).contains(&value);
    let (own, other) = match training.optimizer {
        OptimizerName::Sgd => ("sgd", "adamw"),
        OptimizerName::Adamw => ("adamw", "sgd"),
    };
    let per_optimizer = [
        ("momentum", training.momentum, OptimizerName::Sgd),
        ("beta1", training.beta1, OptimizerName::Adamw),
        ("beta2", training.beta2, OptimizerName::Adamw),
    ];
    for (key, value, belongs_to) in per_optimizer {
        match value {
            Some(_) if belongs_to != training.optimizer => problem(
                &format!("training.{key}"),
                format!("only used with optimizer = \"{other}\", not \"{own}\""),
            ),
            Some(v) if !unit(v) => {
                problem(&format!("training.{key}"), format!("{v} is outside [0, 1)"))
            }
            _ => {}
        }
    }
    if training.nesterov.is_some() && training.optimizer != OptimizerName::Sgd {
        problem(
            "training.nesterov",
            format!("only used with optimizer = \"sgd\", not \"{own}\""),
        );
    }
    problems
}

/// The entries of `targets.losses`: each a loss the trainer can run (parameters in range), none
/// that `targets.epsilons` already expresses, none twice, and forward correction only for noise
/// with a known transition matrix.
fn check_losses(problem: &mut impl FnMut(&str, String), config: &ExperimentConfig) {
    // Each setting as the tables write it (six decimals), with its entry's index.
    let mut seen: Vec<(Vec<String>, usize, trainer::Loss)> = Vec::new();
    for (index, entry) in config.targets.losses.iter().enumerate() {
        let key = format!("targets.losses[{index}]");
        if let LossConfig::Ce {
            epsilon,
            convention,
        } = entry
        {
            if *convention == ConventionName::Uniform {
                problem(
                    &key,
                    format!(
                        "cross-entropy with uniform smoothing is what targets.epsilons runs: list ε = {epsilon} there; a `ce` entry here is for convention = \"off-classes\""
                    ),
                );
                continue;
            }
            if *epsilon == 0.0 {
                problem(
                    &key,
                    "ε = 0 is hard targets in either convention: list 0 in targets.epsilons".into(),
                );
                continue;
            }
        }
        if let LossConfig::Forward {} = entry {
            let unknown = match config.noise.model {
                NoiseModelName::Instance => Some(
                    "instance-dependent noise has no class-level transition matrix: each sample's flip rate and destination depend on its features",
                ),
                NoiseModelName::File => Some(
                    "labels read from a file come with no transition matrix (to correct with their estimate, use noise.model = \"matrix\" with matrix_from)",
                ),
                _ => None,
            };
            if let Some(why) = unknown {
                problem(
                    &key,
                    format!(
                        "forward correction needs the known transition matrix of the noise, and {why}"
                    ),
                );
                continue;
            }
        }
        let loss = entry.loss();
        // Forward correction's one parameter, its matrix, is the noise's: nothing to check here.
        let checked = match entry {
            LossConfig::Forward {} => Ok(()),
            _ => loss.check(),
        };
        if let Err(message) = checked {
            problem(&key, message);
        } else {
            let setting = crate::grid::setting_of(&loss);
            let cells = setting.cells();
            if let Some((_, earlier, first)) = seen.iter().find(|(other, ..)| *other == cells) {
                let how = if *first == loss {
                    ""
                } else {
                    " to the six decimals the tables write"
                };
                problem(
                    &key,
                    format!("{setting} is targets.losses[{earlier}] again{how}: each setting once"),
                );
            }
            seen.push((cells, index, loss));
        }
    }
}

/// The smallest height and width of an image the CNN takes: two 2×2 max-pools must leave at
/// least one pixel.
pub const MIN_CNN_SIDE: usize = 4;

/// A list of grid values as the file would write it: `[0, 0.2]`.
fn list(values: &[f64]) -> String {
    let values: Vec<String> = values.iter().map(f64::to_string).collect();
    format!("[{}]", values.join(", "))
}

/// Grid values: non-empty, each in [0, 1], no duplicates.
fn check_grid(problem: &mut impl FnMut(&str, String), key: &str, values: &[f64], why: &str) {
    check_grid_in(problem, key, values, (0.0, 1.0), why);
}

/// Grid values: non-empty, each in `[low, high]`, no duplicates.
fn check_grid_in(
    problem: &mut impl FnMut(&str, String),
    key: &str,
    values: &[f64],
    (low, high): (f64, f64),
    why: &str,
) {
    if values.is_empty() {
        problem(key, "the list is empty: give at least one value".into());
    }
    for (index, &value) in values.iter().enumerate() {
        if !(low..=high).contains(&value) {
            problem(
                &format!("{key}[{index}]"),
                format!("{value} is outside [{low}, {high}]: {why}"),
            );
        } else if let Some(&earlier) = values[..index]
            .iter()
            .find(|&&earlier| reporter::format_float(earlier) == reporter::format_float(value))
        {
            // The tables write six decimals: two values that agree to them would be one group.
            let again = if earlier == value {
                format!("{value} appears twice")
            } else {
                format!("{value} is {earlier} again to the six decimals the tables write")
            };
            problem(
                &format!("{key}[{index}]"),
                format!("{again}: each grid value once"),
            );
        }
    }
}

/// Whether a labels file is a NumPy `.npy` array (by its extension); otherwise it is read as CSV.
pub(super) fn is_npy(path: &std::path::Path) -> bool {
    path.extension()
        .is_some_and(|extension| extension.eq_ignore_ascii_case("npy"))
}
