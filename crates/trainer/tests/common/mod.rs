//! What the trainer's integration tests share.

use data::{BlobsParams, Dataset, blobs};
use trainer::TrainData;

/// Three well-separated classes of 300 samples with `n_features` features, split 2:1 between
/// training (less every tenth sample, kept for validation) and test.
pub fn splits_of(n_features: usize, seed: u64) -> (Dataset, Dataset, Dataset) {
    let all = blobs(&BlobsParams {
        n_classes: 3,
        n_features,
        n_samples: 300,
        separation: 3.0,
        seed,
    })
    .unwrap();
    // Samples are stored class by class; every third one goes to test, every tenth to validation.
    let test: Vec<usize> = (0..300).filter(|i| i % 3 == 0).collect();
    let validation: Vec<usize> = (0..300).filter(|i| i % 3 != 0 && i % 10 == 1).collect();
    let train: Vec<usize> = (0..300).filter(|i| i % 3 != 0 && i % 10 != 1).collect();
    (
        all.subset(&train),
        all.subset(&validation),
        all.subset(&test),
    )
}

/// The splits with `train_noisy` as the training labels and clean validation labels.
pub fn noisy_data<'a>(
    train: &'a Dataset,
    train_noisy: &'a [usize],
    validation: &'a Dataset,
    test: &'a Dataset,
) -> TrainData<'a> {
    TrainData {
        train,
        train_noisy,
        validation,
        validation_noisy: &validation.labels,
        test,
    }
}
