//! Training end to end with each loss, with negative label smoothing and with a warm-up.

use data::Dataset;
use trainer::{
    BootstrapHard, BootstrapSoft, Device, Focal, ForwardCorrection, Gce, LabelSmoothing, Loss,
    ModelKind, OptimizerParams, RunStatus, Sce, Schedule, TrainParams, TrainSeeds, train,
};

mod common;
use common::{noisy_data, splits_of};

/// Every fifth training label moved to the next class: 20% pair-flip noise.
fn flipped(train: &Dataset) -> Vec<usize> {
    train
        .labels
        .iter()
        .enumerate()
        .map(|(i, &l)| if i % 5 == 0 { (l + 1) % 3 } else { l })
        .collect()
}

fn params(loss: Loss, warmup_epochs: usize, epochs: usize) -> TrainParams {
    TrainParams {
        model: ModelKind::Mlp { hidden: vec![16] },
        optimizer: OptimizerParams::Sgd {
            learning_rate: 0.05,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 1e-4,
        },
        schedule: Schedule::Cosine,
        epochs,
        batch_size: 16,
        loss,
        warmup_epochs,
        device: Device::Cpu,
        project_classes: None,
    }
}

const SEEDS: TrainSeeds = TrainSeeds { init: 3, order: 4 };

#[test]
fn negative_smoothing_after_a_warm_up_trains_without_diverging() {
    let (train_set, validation, test) = splits_of(4, 1);
    let noisy = flipped(&train_set);
    let data = noisy_data(&train_set, &noisy, &validation, &test);
    let outcome = train(&data, &params(Loss::label_smoothing(-0.8), 3, 15), SEEDS).unwrap();
    assert_eq!(outcome.status, RunStatus::Finished);
    assert_eq!(outcome.epochs.len(), 15);
    assert!(
        outcome.epochs.iter().all(|e| e.train_loss.is_finite()),
        "{:?}",
        outcome.epochs
    );
    let last = outcome.epochs.last().unwrap();
    assert!(last.test_accuracy > 0.8, "chance is 1/3: {last:?}");
    // The warm-up's cross-entropy is positive; negative smoothing is unbounded below and its
    // training loss goes negative once it applies. (On this problem it keeps falling: the MLP's
    // logits grow without bound, to a loss of about −4e8 by the last epoch, while the test
    // accuracy stays high. Without the warm-up this run also finishes here, at about −1e13; at
    // ε = −8 both diverge, the warm-up only delaying it from epoch 5 to 9.)
    assert!(outcome.epochs[..3].iter().all(|e| e.train_loss > 0.0));
    assert!(last.train_loss < 0.0, "{last:?}");
}

#[test]
fn warm_up_epochs_train_plain_cross_entropy_then_the_configured_loss() {
    let (train_set, validation, test) = splits_of(4, 1);
    let noisy = flipped(&train_set);
    let data = noisy_data(&train_set, &noisy, &validation, &test);
    let warmed = params(Loss::Gce(Gce::default()), 2, 4);
    assert_eq!(warmed.epoch_loss(2), &Loss::cross_entropy());
    assert_eq!(warmed.epoch_loss(3), &Loss::Gce(Gce::default()));
    let warmed = train(&data, &warmed, SEEDS).unwrap();
    let cross_entropy = train(&data, &params(Loss::cross_entropy(), 0, 4), SEEDS).unwrap();
    let gce = train(&data, &params(Loss::Gce(Gce::default()), 0, 4), SEEDS).unwrap();
    // Same seeds and schedule: the warm-up epochs are the cross-entropy run's, bit for bit, and
    // the run departs from it when GCE takes over.
    assert_eq!(warmed.epochs[..2], cross_entropy.epochs[..2]);
    assert_ne!(warmed.epochs[2], cross_entropy.epochs[2]);
    assert_ne!(warmed.epochs[0], gce.epochs[0]);
}

#[test]
fn a_warm_up_as_long_as_training_is_refused() {
    let (train_set, validation, test) = splits_of(4, 1);
    let data = noisy_data(&train_set, &train_set.labels, &validation, &test);
    let error = train(&data, &params(Loss::label_smoothing(-0.8), 5, 5), SEEDS).unwrap_err();
    assert_eq!(
        error.to_string(),
        "warmup_epochs (5) must be fewer than epochs (5): the configured loss would never train"
    );
    let wrong_matrix =
        Loss::ForwardCorrection(ForwardCorrection::new(vec![vec![1.0, 0.0], vec![0.0, 1.0]]));
    let error = train(&data, &params(wrong_matrix, 0, 5), SEEDS).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the forward-correction transition matrix is 2 × 2, but the data have 3 classes"
    );
}

/// Every loss, at its literature defaults, learns the noisy separable problem with the MLP (the
/// hand-derived gradients); the CNN (candle's autograd) learns it with the hard bootstrap, whose
/// candle expression takes an arg-max.
#[test]
fn every_loss_learns_a_separable_problem() {
    let (train_set, validation, test) = splits_of(4, 1);
    let noisy = flipped(&train_set);
    let data = noisy_data(&train_set, &noisy, &validation, &test);
    // The noise of `flipped`: a fifth of each class moves to the next one.
    let transition: Vec<Vec<f64>> = (0..3)
        .map(|i| (0..3).map(|j| [0.8, 0.2, 0.0][(j + 3 - i) % 3]).collect())
        .collect();
    for loss in [
        Loss::LabelSmoothing(LabelSmoothing::default()),
        Loss::LabelSmoothing(LabelSmoothing::off_classes(0.1)),
        Loss::BootstrapSoft(BootstrapSoft::default()),
        Loss::BootstrapHard(BootstrapHard::default()),
        Loss::Gce(Gce::default()),
        Loss::Sce(Sce::default()),
        Loss::Focal(Focal::default()),
        Loss::ForwardCorrection(ForwardCorrection::new(transition)),
    ] {
        let outcome = train(&data, &params(loss.clone(), 0, 5), SEEDS).unwrap();
        assert_eq!(outcome.status, RunStatus::Finished, "{loss:?}");
        let last = outcome.epochs.last().unwrap();
        assert!(last.test_accuracy > 0.9, "{loss:?}: {last:?}");
    }

    let (mut train_set, mut validation, mut test) = splits_of(16, 2);
    for data in [&mut train_set, &mut validation, &mut test] {
        data.image_shape = Some([1, 4, 4]);
    }
    let noisy = flipped(&train_set);
    let data = noisy_data(&train_set, &noisy, &validation, &test);
    let mut cnn = params(Loss::BootstrapHard(BootstrapHard::default()), 1, 5);
    cnn.model = ModelKind::Cnn { channels: [4, 8] };
    let outcome = train(&data, &cnn, SEEDS).unwrap();
    assert_eq!(outcome.status, RunStatus::Finished);
    let last = outcome.epochs.last().unwrap();
    assert!(last.test_accuracy > 0.9, "{last:?}");
}
