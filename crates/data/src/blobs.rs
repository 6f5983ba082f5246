//! A seeded synthetic Gaussian mixture ("blobs") for tests and benchmarks.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use crate::dataset::{DataError, Dataset, numbered_class_names};

/// Parameters of [`blobs`].
#[derive(Debug, Clone, PartialEq)]
pub struct BlobsParams {
    /// Number of classes (≥ 2).
    pub n_classes: usize,
    /// Number of features (≥ 1).
    pub n_features: usize,
    /// Total number of samples (≥ `n_classes`); classes get equal shares, the first ones one more
    /// when it does not divide.
    pub n_samples: usize,
    /// Class centres are drawn from N(0, separation²·I); samples are centre + N(0, I). Larger is
    /// easier; around 1.0 classes overlap noticeably in 10 dimensions.
    pub separation: f64,
    /// Seed of the generator that draws centres and samples.
    pub seed: u64,
}

impl Default for BlobsParams {
    fn default() -> Self {
        BlobsParams {
            n_classes: 4,
            n_features: 8,
            n_samples: 800,
            separation: 1.5,
            seed: 0,
        }
    }
}

/// Draws a Gaussian-mixture data set. Samples are stored class after class; the split shuffles.
pub fn blobs(params: &BlobsParams) -> Result<Dataset, DataError> {
    let invalid = |name, value: String, allowed| DataError::InvalidParameter {
        name,
        value,
        allowed,
    };
    if params.n_classes < 2 {
        return Err(invalid(
            "n_classes",
            params.n_classes.to_string(),
            "at least 2",
        ));
    }
    if params.n_features == 0 {
        return Err(invalid("n_features", "0".into(), "at least 1"));
    }
    if params.n_samples < params.n_classes {
        return Err(invalid(
            "n_samples",
            params.n_samples.to_string(),
            "at least one sample per class",
        ));
    }
    if !(params.separation.is_finite() && params.separation >= 0.0) {
        return Err(invalid(
            "separation",
            params.separation.to_string(),
            "a finite number ≥ 0",
        ));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
    let centres: Vec<f64> = (0..params.n_classes * params.n_features)
        .map(|_| params.separation * rng.sample::<f64, _>(StandardNormal))
        .collect();
    let mut features = Vec::with_capacity(params.n_samples * params.n_features);
    let mut labels = Vec::with_capacity(params.n_samples);
    for class in 0..params.n_classes {
        let n_in_class = params.n_samples / params.n_classes
            + usize::from(class < params.n_samples % params.n_classes);
        let centre = &centres[class * params.n_features..(class + 1) * params.n_features];
        for _ in 0..n_in_class {
            for &c in centre {
                features.push((c + rng.sample::<f64, _>(StandardNormal)) as f32);
            }
            labels.push(class);
        }
    }
    Ok(Dataset {
        name: "blobs".into(),
        features,
        labels,
        n_features: params.n_features,
        n_classes: params.n_classes,
        class_names: numbered_class_names(params.n_classes),
        image_shape: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_are_seeded_and_sized() {
        let params = BlobsParams {
            n_classes: 3,
            n_features: 5,
            n_samples: 100,
            separation: 2.0,
            seed: 9,
        };
        let a = blobs(&params).unwrap();
        assert_eq!(a, blobs(&params).unwrap());
        assert_ne!(
            a,
            blobs(&BlobsParams {
                seed: 10,
                ..params.clone()
            })
            .unwrap()
        );
        assert_eq!(a.class_counts(), vec![34, 33, 33]);
        assert_eq!(a.features.len(), 500);
    }

    #[test]
    fn invalid_parameters_are_errors() {
        let error = blobs(&BlobsParams {
            n_classes: 1,
            ..BlobsParams::default()
        })
        .unwrap_err();
        assert_eq!(error.to_string(), "n_classes = 1 is invalid: at least 2");
    }
}
