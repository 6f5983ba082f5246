//! Label-noise models: which training labels get flipped, and to what.
//!
//! Every class-conditional noise source produces a [`TransitionMatrix`]
//! `T[i][j] = P(noisy = j | clean = i)` (row = clean class): a built-in [`NoiseModel`]
//! (`NoiseModel::matrix`), an asymmetric [`ClassMap`] (`ClassMap::matrix`), a user's matrix
//! (`TransitionMatrix::from_rows`, `from_csv_str`, `scaled`) or one estimated from a pair of label
//! vectors (`TransitionMatrix::estimate`). [`inject_matrix`] applies a matrix to a slice of clean
//! labels with a caller-supplied, seeded generator, in exact-count or per-sample mode;
//! [`inject_nested`] does the same so that lower rates flip subsets of higher rates' samples;
//! [`inject`] is `inject_matrix` on a [`NoiseSpec`]. Noise that is not class-conditional has its
//! own entry points: [`inject_instance`] (instance-dependent, from features) and
//! [`file_labels_for_rows`] (labels given in a file, read by [`labels_from_csv_str`] or
//! [`labels_from_npy`]). All return [`NoisyLabels`]: the noisy labels, which samples were flipped
//! and the realised transition counts. This crate knows nothing of tensors or data sets.
//!
//! The matrices, the modes and the realised rate are defined in docs/DEFINITIONS.md, section
//! "Noise models" (`#noise-models`, `#injection-modes`, `#realised-noise-rate`, `#asymmetric`,
//! `#matrix`, `#instance`, `#file`, `#estimated-matrices`, `#nested-draws`).

mod class_map;
mod error;
mod file;
mod inject;
mod instance;
mod matrix;
mod model;
mod nested;

#[cfg(test)]
mod properties;

pub use class_map::ClassMap;
pub use error::NoiseError;
pub use file::{ROW_COLUMN, file_labels_for_rows, labels_from_csv_str, labels_from_npy};
pub use inject::{NoisyLabels, inject, inject_matrix};
pub use instance::{InstanceNoiseParams, inject_instance};
pub use matrix::{ROW_SUM_TOLERANCE, TransitionMatrix};
pub use model::{NoiseMode, NoiseModel, NoiseSpec};
pub use nested::inject_nested;
