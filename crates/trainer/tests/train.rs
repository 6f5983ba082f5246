//! Training end to end on small synthetic data.

use data::Dataset;

mod common;
use common::{noisy_data, splits_of};
use trainer::{
    Device, Loss, ModelKind, OptimizerParams, RunOutcome, RunStatus, Schedule, TrainData,
    TrainParams, TrainSeeds, train,
};

fn splits() -> (Dataset, Dataset, Dataset) {
    splits_of(4, 1)
}

fn params(epsilon: f64, optimizer: OptimizerParams) -> TrainParams {
    TrainParams {
        model: ModelKind::Mlp { hidden: vec![16] },
        optimizer,
        schedule: Schedule::Cosine,
        epochs: 5,
        batch_size: 16,
        loss: Loss::label_smoothing(epsilon),
        warmup_epochs: 0,
        device: Device::Cpu,
        project_classes: None,
    }
}

fn sgd(learning_rate: f64) -> OptimizerParams {
    OptimizerParams::Sgd {
        learning_rate,
        momentum: 0.9,
        nesterov: true,
        weight_decay: 1e-4,
    }
}

const SEEDS: TrainSeeds = TrainSeeds { init: 3, order: 4 };

/// Two outcomes agree bit for bit in everything but their timing.
fn assert_same_results(a: &RunOutcome, b: &RunOutcome) {
    assert_eq!(a.status, b.status);
    assert_eq!(a.epochs, b.epochs);
    assert_eq!(a.test_calibration, b.test_calibration);
    assert_eq!(a.projection, b.projection);
    assert!(a.training_seconds > 0.0 && b.training_seconds > 0.0);
}

/// The splits with their clean labels as the labels trained on.
fn clean_data<'a>(train: &'a Dataset, validation: &'a Dataset, test: &'a Dataset) -> TrainData<'a> {
    noisy_data(train, &train.labels, validation, test)
}

#[test]
fn a_separable_problem_is_learned_and_training_is_deterministic() {
    let (train_set, validation, test) = splits();
    let data = clean_data(&train_set, &validation, &test);
    for optimizer in [
        sgd(0.05),
        OptimizerParams::AdamW {
            learning_rate: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            weight_decay: 0.01,
        },
    ] {
        let outcome = train(&data, &params(0.1, optimizer.clone()), SEEDS).unwrap();
        assert_eq!(outcome.status, RunStatus::Finished);
        assert_eq!(outcome.epochs.len(), 5);
        let last = outcome.epochs.last().unwrap();
        assert!(last.test_accuracy > 0.9, "{optimizer:?}: {last:?}");
        assert_eq!(last.memorised_share, None, "no label was flipped");
        assert!(last.validation_accuracy.unwrap() > 0.9);
        // The same inputs give bit-identical metrics.
        assert_same_results(
            &outcome,
            &train(&data, &params(0.1, optimizer), SEEDS).unwrap(),
        );
    }
}

#[test]
fn the_final_model_is_described_by_calibration_bins_and_a_projection() {
    let (train_set, validation, test) = splits();
    let data = clean_data(&train_set, &validation, &test);
    let mut with_projection = params(0.1, sgd(0.05));
    with_projection.project_classes = Some([2, 0, 1]);
    let outcome = train(&data, &with_projection, SEEDS).unwrap();
    // The bins partition the test split; the ECE of the last epoch is computed from them.
    assert_eq!(outcome.test_calibration.len(), trainer::ECE_BINS);
    let counted: usize = outcome.test_calibration.iter().map(|b| b.count).sum();
    assert_eq!(counted, test.n_samples());
    let points = outcome.projection.as_ref().unwrap();
    assert_eq!(
        points.len(),
        test.n_samples(),
        "3 classes, fewer than the cap each"
    );
    assert!(points.windows(2).all(|w| w[0].test_index < w[1].test_index));
    assert!(points.iter().all(|p| p.class == test.labels[p.test_index]));
    assert!(points.iter().all(|p| p.x.is_finite() && p.y.is_finite()));
    // Asking for the projection changes nothing else.
    let plain = train(&data, &params(0.1, sgd(0.05)), SEEDS).unwrap();
    assert_eq!(plain.projection, None);
    assert_eq!(plain.epochs, outcome.epochs);
    assert_eq!(plain.test_calibration, outcome.test_calibration);

    let mut repeated = with_projection.clone();
    repeated.project_classes = Some([0, 0, 1]);
    let error = train(&data, &repeated, SEEDS).unwrap_err();
    assert_eq!(
        error.to_string(),
        "projection classes [0, 0, 1] must be three distinct classes below 3"
    );
}

#[test]
fn memorisation_is_measured_on_flipped_samples_only() {
    let (train_set, validation, test) = splits();
    // Flip every fifth training label to the next class.
    let noisy: Vec<usize> = train_set
        .labels
        .iter()
        .enumerate()
        .map(|(i, &l)| if i % 5 == 0 { (l + 1) % 3 } else { l })
        .collect();
    let data = noisy_data(&train_set, &noisy, &validation, &test);
    let outcome = train(&data, &params(0.0, sgd(0.05)), SEEDS).unwrap();
    for epoch in &outcome.epochs {
        let memorised = epoch.memorised_share.unwrap();
        let corrected = epoch.corrected_share.unwrap();
        assert!(memorised + corrected <= 1.0 + 1e-12);
        // A flipped sample matches its noisy or its clean label, never both: with 20% of the
        // labels flipped the two accuracies sum to at most 1 + 0.8.
        assert!(epoch.train_accuracy_noisy + epoch.train_accuracy_clean <= 1.81);
    }
    // Five short epochs on well-separated classes: the model mostly predicts the clean class.
    assert!(outcome.epochs.last().unwrap().corrected_share.unwrap() > 0.8);
}

#[test]
fn a_huge_learning_rate_diverges_without_failing() {
    let (train_set, validation, test) = splits();
    let data = clean_data(&train_set, &validation, &test);
    let mut explosive = params(0.0, sgd(1e30));
    explosive.schedule = Schedule::Constant;
    let outcome = train(&data, &explosive, SEEDS).unwrap();
    assert!(
        matches!(outcome.status, RunStatus::Diverged { epoch } if epoch <= 2),
        "{:?}",
        outcome.status
    );
}

#[test]
fn mismatched_inputs_are_errors_not_panics() {
    let (train_set, validation, test) = splits();
    let short = vec![0; 3];
    let data = noisy_data(&train_set, &short, &validation, &test);
    let error = train(&data, &params(0.0, sgd(0.05)), SEEDS).unwrap_err();
    assert_eq!(
        error.to_string(),
        "noisy labels and features differ in length"
    );
}

#[test]
fn a_cnn_learns_separable_images() {
    // Blobs of 16 features stand in for 1×4×4 images.
    let (mut train_set, mut validation, mut test) = splits_of(16, 2);
    for data in [&mut train_set, &mut validation, &mut test] {
        data.image_shape = Some([1, 4, 4]);
    }
    let data = clean_data(&train_set, &validation, &test);
    let mut cnn = params(0.0, sgd(0.05));
    cnn.model = ModelKind::Cnn { channels: [4, 8] };
    let outcome = train(&data, &cnn, SEEDS).unwrap();
    assert_eq!(outcome.status, RunStatus::Finished);
    let last = outcome.epochs.last().unwrap();
    assert!(last.test_accuracy > 0.9, "{last:?}");
    assert_same_results(&outcome, &train(&data, &cnn, SEEDS).unwrap());
}
