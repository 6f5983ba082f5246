//! Data sets for label-noise experiments: the bundled digits, a seeded synthetic Gaussian mixture,
//! stratified train/validation/test splits and standardisation fitted on the training split.
//!
//! Everything here is plain `f32` rows and `usize` class labels; no tensors.

mod blobs;
mod dataset;
mod digits;
mod split;

pub use blobs::{BlobsParams, blobs};
pub use dataset::{DataError, Dataset};
pub use digits::digits;
pub use split::{Split, SplitParams, Standardizer, stratified_split};
