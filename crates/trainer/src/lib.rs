//! Training: models initialised from our own seeded generator (the MLP with hand-derived
//! gradients on plain buffers, the CNN through candle's autograd), the losses (label-smoothed
//! cross-entropy, positive or negative, and the noise-robust losses it is compared with;
//! docs/DEFINITIONS.md#label-smoothing and #losses) with an optional cross-entropy warm-up, SGD
//! with momentum and AdamW updating in place, learning-rate schedules, and the per-epoch metrics
//! (clean test accuracy, NLL, ECE, noisy/clean training accuracy, memorisation;
//! docs/DEFINITIONS.md#metrics).
//!
//! This is the only crate that knows candle. Inputs are `data::Dataset`s plus noisy label slices;
//! outputs are plain numbers ([`RunOutcome`]).

mod conv;
mod dense;
mod device;
mod kernels;
mod loss;
mod metrics;
mod model;
mod network;
mod optim;
mod probe;
mod train;

pub use device::Device;
pub use loss::{
    BootstrapHard, BootstrapSoft, Focal, ForwardCorrection, Gce, LabelSmoothing, Loss, Sce,
    SmoothingConvention, label_smoothed_cross_entropy, smoothed_targets,
};
pub use metrics::{
    CalibrationBin, ECE_BINS, EvalMetrics, calibration_bins, evaluate_log_probs,
    expected_calibration_error,
};
pub use model::{Cnn, Mlp, Model, ModelKind};
pub use optim::{AdamW, OptimizerParams, Parameter, Schedule, SgdMomentum};
pub use probe::{PROJECTION_MAX_PER_CLASS, ProjectedPoint, template_plane_coordinates};
pub use train::{
    EpochMetrics, RunOutcome, RunStatus, TrainData, TrainError, TrainParams, TrainSeeds, train,
};
