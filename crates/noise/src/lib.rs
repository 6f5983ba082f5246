//! Label-noise models: which training labels get flipped, and to what.
//!
//! A [`NoiseModel`] names a transition matrix `T[i][j] = P(noisy = j | clean = i)` (row = clean
//! class); [`inject`] applies it to a slice of clean labels with a caller-supplied, seeded
//! generator and returns the [`NoisyLabels`]: the noisy labels, which samples were flipped and the
//! realised transition counts. This crate knows nothing of tensors or files.

mod inject;
mod model;

pub use inject::{NoisyLabels, inject};
pub use model::{NoiseError, NoiseMode, NoiseModel, NoiseSpec};
