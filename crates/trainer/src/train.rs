//! The training loop of one run, and what it reports.

use std::time::{Duration, Instant};

use data::Dataset;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::device::Device;
use crate::loss::{CROSS_ENTROPY, Loss};
use crate::metrics::{CalibrationBin, evaluate_log_probs, ratio};
use crate::model::ModelKind;
use crate::network::Network;
use crate::optim::{OptimizerParams, Schedule};
use crate::probe::{PROJECTION_MAX_PER_CLASS, ProjectedPoint, template_plane_coordinates};

/// Everything that decides how one run trains, except its data and seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainParams {
    /// The model.
    pub model: ModelKind,
    /// The optimiser and its hyper-parameters.
    pub optimizer: OptimizerParams,
    /// The learning-rate schedule, applied per step.
    pub schedule: Schedule,
    /// Number of passes over the training split (≥ 1).
    pub epochs: usize,
    /// Samples per minibatch (≥ 1); the last batch of an epoch may be smaller.
    pub batch_size: usize,
    /// The loss trained with after the warm-up epochs (docs/DEFINITIONS.md#losses).
    pub loss: Loss,
    /// Number of warm-up epochs, `0 ≤ warmup_epochs < epochs`: the first `warmup_epochs` epochs
    /// train with plain cross-entropy ([`Loss::cross_entropy`], hard targets), whatever `loss`
    /// is, and `loss` applies from epoch `warmup_epochs + 1` on (docs/DEFINITIONS.md#warm-up).
    /// Wei et al. (2022) warm up with cross-entropy before negative label smoothing, whose loss
    /// is unbounded below. Nothing else changes at the switch: the weights, the optimiser's state
    /// and the learning-rate schedule (over all `epochs`) carry on. 0, no warm-up, gives the
    /// runs of before this field existed.
    pub warmup_epochs: usize,
    /// The device the run trains on.
    pub device: Device,
    /// Three distinct classes whose test samples are projected onto their templates' plane when
    /// the run finishes (see [`template_plane_coordinates`]); `None` for no projection. Only an
    /// MLP with a hidden layer has a penultimate layer; other models give no projection.
    pub project_classes: Option<[usize; 3]>,
}

impl TrainParams {
    /// The loss the 1-based `epoch` trains with: plain cross-entropy during the
    /// [`TrainParams::warmup_epochs`], [`TrainParams::loss`] after them.
    pub fn epoch_loss(&self, epoch: usize) -> &Loss {
        if epoch <= self.warmup_epochs {
            &CROSS_ENTROPY
        } else {
            &self.loss
        }
    }
}

/// The seeds of a run's random streams. Runs that share them (every ε at one noise rate and seed)
/// start from the same weights and see the same minibatches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrainSeeds {
    /// Seeds the initial weights.
    pub init: u64,
    /// Seeds the minibatch order.
    pub order: u64,
}

/// The data of one run: features with clean labels, and the noisy labels trained on.
#[derive(Debug, Clone, Copy)]
pub struct TrainData<'a> {
    /// Training features and their clean labels.
    pub train: &'a Dataset,
    /// The labels the model is trained on (`train.n_samples()` of them).
    pub train_noisy: &'a [usize],
    /// Validation features (their clean labels are not used).
    pub validation: &'a Dataset,
    /// The validation labels model selection sees (noisy, like the training labels).
    pub validation_noisy: &'a [usize],
    /// Test features and clean labels.
    pub test: &'a Dataset,
}

/// Metrics at the end of one epoch. Shares and accuracies are in [0, 1].
#[derive(Debug, Clone, PartialEq)]
pub struct EpochMetrics {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Learning rate of the epoch's first step.
    pub learning_rate: f64,
    /// Mean training loss over the epoch's minibatches, in nats: of the loss this epoch trained
    /// with ([`TrainParams::epoch_loss`]; plain cross-entropy in warm-up epochs).
    pub train_loss: f64,
    /// Training accuracy against the noisy labels trained on.
    pub train_accuracy_noisy: f64,
    /// Training accuracy against the clean labels.
    pub train_accuracy_clean: f64,
    /// Among flipped training samples, the share predicted as their noisy label; `None` without
    /// flipped samples.
    pub memorised_share: Option<f64>,
    /// Among flipped training samples, the share predicted as their clean label; `None` without
    /// flipped samples.
    pub corrected_share: Option<f64>,
    /// Accuracy on the validation split against its noisy labels; `None` for an empty split.
    pub validation_accuracy: Option<f64>,
    /// Accuracy on the clean test split.
    pub test_accuracy: f64,
    /// Mean `−ln p_y` on the clean test split, in nats.
    pub test_nll: f64,
    /// Expected calibration error (15 bins) on the clean test split.
    pub test_ece: f64,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// Every epoch ran.
    Finished,
    /// A minibatch loss was NaN or infinite during this 1-based epoch; training stopped there.
    Diverged {
        /// The epoch in which the loss stopped being finite.
        epoch: usize,
    },
}

/// The result of one run: its status, the metrics of every completed epoch, and a closer look at
/// the final model.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// How the run ended.
    pub status: RunStatus,
    /// One entry per completed epoch, in order.
    pub epochs: Vec<EpochMetrics>,
    /// The [`ECE_BINS`](crate::ECE_BINS) confidence bins of the clean test split after the last
    /// completed epoch (empty without one): the data of a reliability diagram.
    pub test_calibration: Vec<CalibrationBin>,
    /// Test samples of [`TrainParams::project_classes`] (at most
    /// [`PROJECTION_MAX_PER_CLASS`] per class, in test order) in their templates' plane, after
    /// the last epoch of a finished run; `None` when not asked for, not finished, or the model
    /// has no penultimate layer.
    pub projection: Option<Vec<ProjectedPoint>>,
    /// Wall-clock seconds spent in training steps (gathering the batch, forward, backward and
    /// update), evaluation excluded. The only field that varies between identical runs.
    pub training_seconds: f64,
}

/// Why a run could not be trained at all (as opposed to diverging, which is an outcome).
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A tensor operation failed.
    #[error("tensor operation failed: {0}")]
    Candle(#[from] candle_core::Error),
    /// The inputs do not fit together or a parameter is out of range.
    #[error("{0}")]
    Invalid(String),
}

/// Trains one model and evaluates it after every epoch. Deterministic: the same data, parameters
/// and seeds give bit-identical metrics whatever the number of threads.
pub fn train(
    data: &TrainData<'_>,
    params: &TrainParams,
    seeds: TrainSeeds,
) -> Result<RunOutcome, TrainError> {
    check_inputs(data, params)?;
    let train = data.train;
    let (n_classes, n_features) = (train.n_classes, train.n_features);
    let noisy_labels: Vec<u32> = data.train_noisy.iter().map(|&l| l as u32).collect();

    let mut network = Network::new(
        &params.model,
        n_features,
        n_classes,
        train.image_shape,
        seeds.init,
        params.device,
    )?;
    let mut optimizer = params.optimizer.build();
    let mut order_rng = ChaCha8Rng::seed_from_u64(seeds.order);
    let mut order: Vec<u32> = (0..train.n_samples() as u32).collect();
    let steps_per_epoch = train.n_samples().div_ceil(params.batch_size);
    let total_steps = steps_per_epoch * params.epochs;
    let flipped: Vec<usize> = (0..train.n_samples())
        .filter(|&i| data.train_noisy[i] != train.labels[i])
        .collect();
    // The minibatch's rows and labels, gathered into buffers reused by every step.
    let mut batch_inputs: Vec<f32> = Vec::with_capacity(params.batch_size * n_features);
    let mut batch_labels: Vec<u32> = Vec::with_capacity(params.batch_size);

    let mut epochs = Vec::with_capacity(params.epochs);
    let mut test_calibration = Vec::new();
    let mut training_time = Duration::ZERO;
    for epoch in 1..=params.epochs {
        order.shuffle(&mut order_rng);
        let first_step = (epoch - 1) * steps_per_epoch;
        let epoch_learning_rate = params.schedule.learning_rate(
            params.optimizer.learning_rate(),
            first_step,
            total_steps,
        );
        let loss = params.epoch_loss(epoch);
        let mut loss_sum = 0.0;
        let steps_started = Instant::now();
        for (batch_index, batch) in order.chunks(params.batch_size).enumerate() {
            let step = first_step + batch_index;
            optimizer.set_learning_rate(params.schedule.learning_rate(
                params.optimizer.learning_rate(),
                step,
                total_steps,
            ));
            batch_inputs.clear();
            batch_labels.clear();
            for &row in batch {
                batch_inputs.extend_from_slice(train.row(row as usize));
                batch_labels.push(noisy_labels[row as usize]);
            }
            let loss_value = network.loss_and_gradients(&batch_inputs, &batch_labels, loss)?;
            if !loss_value.is_finite() {
                return Ok(RunOutcome {
                    status: RunStatus::Diverged { epoch },
                    epochs,
                    test_calibration,
                    projection: None,
                    training_seconds: (training_time + steps_started.elapsed()).as_secs_f64(),
                });
            }
            loss_sum += loss_value;
            network.update(&mut optimizer)?;
        }
        training_time += steps_started.elapsed();

        let train_eval = evaluate_log_probs(
            &network.log_probs(&train.features, n_features)?,
            n_classes,
            data.train_noisy,
        );
        let predictions = &train_eval.predictions;
        let n_clean_correct = (0..train.n_samples())
            .filter(|&i| predictions[i] == train.labels[i])
            .count();
        let n_memorised = flipped
            .iter()
            .filter(|&&i| predictions[i] == data.train_noisy[i])
            .count();
        let n_corrected = flipped
            .iter()
            .filter(|&&i| predictions[i] == train.labels[i])
            .count();
        let share = |count: usize| (!flipped.is_empty()).then(|| ratio(count, flipped.len()));
        let validation_accuracy = if data.validation.n_samples() > 0 {
            let log_probs = network.log_probs(&data.validation.features, n_features)?;
            Some(evaluate_log_probs(&log_probs, n_classes, data.validation_noisy).accuracy)
        } else {
            None
        };
        let test_eval = evaluate_log_probs(
            &network.log_probs(&data.test.features, n_features)?,
            n_classes,
            &data.test.labels,
        );
        test_calibration = test_eval.calibration;
        epochs.push(EpochMetrics {
            epoch,
            learning_rate: epoch_learning_rate,
            train_loss: loss_sum / steps_per_epoch as f64,
            train_accuracy_noisy: train_eval.accuracy,
            train_accuracy_clean: ratio(n_clean_correct, train.n_samples()),
            memorised_share: share(n_memorised),
            corrected_share: share(n_corrected),
            validation_accuracy,
            test_accuracy: test_eval.accuracy,
            test_nll: test_eval.nll,
            test_ece: test_eval.ece,
        });
    }
    let projection = match params.project_classes {
        Some(classes) => project(&mut network, data.test, classes),
        None => None,
    };
    Ok(RunOutcome {
        status: RunStatus::Finished,
        epochs,
        test_calibration,
        projection,
        training_seconds: training_time.as_secs_f64(),
    })
}

/// Projects up to [`PROJECTION_MAX_PER_CLASS`] test samples of each of `classes` onto the plane
/// of those classes' templates; `None` when the model has no penultimate layer.
fn project(
    network: &mut Network,
    test: &Dataset,
    classes: [usize; 3],
) -> Option<Vec<ProjectedPoint>> {
    let mut taken = [0usize; 3];
    let rows: Vec<usize> = (0..test.n_samples())
        .filter(
            |&i| match classes.iter().position(|&c| c == test.labels[i]) {
                Some(slot) if taken[slot] < PROJECTION_MAX_PER_CLASS => {
                    taken[slot] += 1;
                    true
                }
                _ => false,
            },
        )
        .collect();
    if rows.is_empty() {
        return Some(Vec::new());
    }
    let inputs: Vec<f32> = rows
        .iter()
        .flat_map(|&i| test.row(i).iter().copied())
        .collect();
    let (activations, width, templates) = network.penultimate(&inputs, rows.len())?;
    let coordinates = template_plane_coordinates(
        &activations,
        width,
        classes.map(|c| templates[c].as_slice()),
    );
    Some(
        rows.iter()
            .zip(coordinates)
            .map(|(&test_index, [x, y])| ProjectedPoint {
                test_index,
                class: test.labels[test_index],
                x,
                y,
            })
            .collect(),
    )
}

fn check_inputs(data: &TrainData<'_>, params: &TrainParams) -> Result<(), TrainError> {
    let invalid = |message: String| Err(TrainError::Invalid(message));
    if params.epochs == 0 || params.batch_size == 0 {
        return invalid(format!(
            "epochs ({}) and batch_size ({}) must both be at least 1",
            params.epochs, params.batch_size
        ));
    }
    if params.warmup_epochs >= params.epochs {
        return invalid(format!(
            "warmup_epochs ({}) must be fewer than epochs ({}): the configured loss would never \
             train",
            params.warmup_epochs, params.epochs
        ));
    }
    params
        .loss
        .check_classes(data.train.n_classes)
        .map_err(TrainError::Invalid)?;
    if let Some(classes) = params.project_classes
        && (classes.iter().any(|&c| c >= data.train.n_classes)
            || classes[0] == classes[1]
            || classes[0] == classes[2]
            || classes[1] == classes[2])
    {
        return invalid(format!(
            "projection classes {classes:?} must be three distinct classes below {}",
            data.train.n_classes
        ));
    }
    if data.train.n_samples() == 0 || data.test.n_samples() == 0 {
        return invalid("the training and test splits must not be empty".into());
    }
    if data.train_noisy.len() != data.train.n_samples()
        || data.validation_noisy.len() != data.validation.n_samples()
    {
        return invalid("noisy labels and features differ in length".into());
    }
    let n_classes = data.train.n_classes;
    if data
        .train_noisy
        .iter()
        .chain(data.validation_noisy)
        .any(|&l| l >= n_classes)
    {
        return invalid(format!("a noisy label is outside the {n_classes} classes"));
    }
    Ok(())
}
