//! Label-noise models: which training labels get flipped, and to what.
//!
//! A [`NoiseModel`] names a transition matrix `T[i][j] = P(noisy = j | clean = i)` (row = clean
//! class); [`inject`] applies it to a slice of clean labels with a caller-supplied, seeded
//! generator and returns the [`NoisyLabels`]: the noisy labels, which samples were flipped and the
//! realised transition counts. This crate knows nothing of tensors or files.
//!
//! The matrices, the two injection modes and the realised rate are defined in
//! docs/DEFINITIONS.md, section "Noise models" (`#noise-models`, `#injection-modes`,
//! `#realised-noise-rate`).

mod inject;
mod model;

pub use inject::{NoisyLabels, inject};
pub use model::{NoiseError, NoiseMode, NoiseModel, NoiseSpec};
