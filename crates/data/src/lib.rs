//! Data sets for label-noise experiments: the bundled digits, a seeded synthetic Gaussian mixture,
//! file loaders (IDX, CIFAR, CSV, image folders, the latter with an optional cache of decoded
//! images), stratified train/validation/test splits and standardisation fitted on the training
//! split.
//!
//! Everything here is plain `f32` rows and `usize` class labels; no tensors.

mod blobs;
mod cifar;
mod dataset;
mod digits;
mod idx;
mod image_cache;
mod image_folder;
mod split;
mod table;

pub use blobs::{BlobsParams, blobs};
pub use cifar::{Cifar100Labels, load_cifar10, load_cifar100};
pub use dataset::{DataError, Dataset, numbered_class_names};
pub use digits::digits;
pub use idx::{IdxFiles, find_idx_files, load_idx};
pub use image_cache::{
    CacheStatus, CachedImageFolder, load_image_folder_cached, load_image_folder_split_cached,
};
pub use image_folder::{
    IMAGE_FOLDER_SPLIT_NAMES, ImageFolderSplit, find_image_folder_split, load_image_folder,
};
pub use split::{
    Split, SplitParams, Standardizer, stratified_split, stratified_subset, stratified_subset_of,
};
pub use table::load_csv_table;
