//! The in-memory data set type shared by loaders, splitters and the trainer.

/// A labelled data set held in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Short name, used in logs and manifests (`digits`, `blobs`).
    pub name: String,
    /// Features, `n_samples × n_features`, row-major.
    pub features: Vec<f32>,
    /// Class labels, `n_samples` of them, each in `0..n_classes`.
    pub labels: Vec<usize>,
    /// Number of features per sample.
    pub n_features: usize,
    /// Number of classes.
    pub n_classes: usize,
    /// Name of each class, indexed by label (`n_classes` of them).
    pub class_names: Vec<String>,
    /// For images: `[channels, height, width]`, each row holding the pixels channel-major
    /// (CHW), so `channels · height · width == n_features`. `None` for tabular data.
    pub image_shape: Option<[usize; 3]>,
}

impl Dataset {
    /// Number of samples.
    pub fn n_samples(&self) -> usize {
        self.labels.len()
    }

    /// The features of sample `index` (`n_features` values).
    pub fn row(&self, index: usize) -> &[f32] {
        &self.features[index * self.n_features..(index + 1) * self.n_features]
    }

    /// The samples at `indices`, in that order, as a new data set with the same name and classes.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let mut features = Vec::with_capacity(indices.len() * self.n_features);
        for &index in indices {
            features.extend_from_slice(self.row(index));
        }
        Dataset {
            name: self.name.clone(),
            features,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            n_features: self.n_features,
            n_classes: self.n_classes,
            class_names: self.class_names.clone(),
            image_shape: self.image_shape,
        }
    }

    /// The samples at `indices`, in that order, like [`subset`](Self::subset), but reusing this
    /// data set's memory where it can: when `indices` are strictly increasing (as the row lists
    /// of a [`Split`](crate::Split) are) the kept rows are moved down in place and the rest
    /// dropped, so no second copy of the kept features is ever held. Other index lists are
    /// copied by `subset`. The result is the same either way.
    pub fn into_subset(mut self, indices: &[usize]) -> Dataset {
        let increasing = indices.windows(2).all(|pair| pair[0] < pair[1])
            && indices.last().is_none_or(|&last| last < self.n_samples());
        if !increasing {
            return self.subset(indices);
        }
        let d = self.n_features;
        // Row `index` moves to position `kept` ≤ `index`, so every source row is still intact
        // when it is moved.
        for (kept, &index) in indices.iter().enumerate() {
            if kept != index {
                self.features
                    .copy_within(index * d..(index + 1) * d, kept * d);
                self.labels[kept] = self.labels[index];
            }
        }
        self.features.truncate(indices.len() * d);
        self.features.shrink_to_fit();
        self.labels.truncate(indices.len());
        self.labels.shrink_to_fit();
        self
    }

    /// Number of samples in each class, indexed by class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.n_classes];
        for &label in &self.labels {
            counts[label] += 1;
        }
        counts
    }
}

/// Class names `"0"`, `"1"`, … for data sets whose classes are plain indices.
pub fn numbered_class_names(n_classes: usize) -> Vec<String> {
    (0..n_classes).map(|c| c.to_string()).collect()
}

/// Why a data set could not be built or read.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A data file could not be decoded.
    #[error("{source_name}: line {line}: {message}")]
    Decode {
        /// The file or embedded asset being read.
        source_name: String,
        /// 1-based line number of the problem.
        line: usize,
        /// What was wrong and what was expected.
        message: String,
    },
    /// A data file as a whole is unusable: missing, wrong magic number, wrong size, counts that
    /// do not match.
    #[error("{path}: {message}")]
    File {
        /// The file (or folder) concerned.
        path: String,
        /// What was wrong and what was expected.
        message: String,
    },
    /// One record of a binary data file is unusable.
    #[error("{path}: record {record}: {message}")]
    Record {
        /// The file concerned.
        path: String,
        /// 0-based index of the record.
        record: usize,
        /// What was wrong and what was expected.
        message: String,
    },
    /// Reading a data file failed.
    #[error("{source_name}: {error}")]
    Io {
        /// The file or embedded asset being read.
        source_name: String,
        /// The underlying error.
        error: std::io::Error,
    },
    /// A parameter is out of range.
    #[error("{name} = {value} is invalid: {allowed}")]
    InvalidParameter {
        /// The parameter's name.
        name: &'static str,
        /// The offending value, formatted.
        value: String,
        /// What is allowed.
        allowed: &'static str,
    },
    /// A setting of the experiment does not fit the data that were read (a CNN on images too
    /// small for it, a subset larger than its split, …). The message is complete: it names the
    /// experiment file, the line and the key, and says what is allowed.
    #[error("{0}")]
    Setting(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subset_keeps_rows_and_labels_together() {
        let data = Dataset {
            name: "t".into(),
            features: vec![0.0, 1.0, 10.0, 11.0, 20.0, 21.0],
            labels: vec![0, 1, 0],
            n_features: 2,
            n_classes: 2,
            class_names: vec!["a".into(), "b".into()],
            image_shape: None,
        };
        let picked = data.subset(&[2, 0]);
        assert_eq!(picked.features, vec![20.0, 21.0, 0.0, 1.0]);
        assert_eq!(picked.labels, vec![0, 0]);
        assert_eq!(data.class_counts(), vec![2, 1]);
    }

    #[test]
    fn into_subset_equals_subset() {
        let data = Dataset {
            name: "t".into(),
            features: (0..7 * 3).map(|v| v as f32 + 0.5).collect(),
            labels: vec![0, 1, 2, 1, 0, 2, 1],
            n_features: 3,
            n_classes: 3,
            class_names: crate::numbered_class_names(3),
            image_shape: None,
        };
        let lists: [&[usize]; 8] = [
            &[],
            &[0, 1, 2, 3, 4, 5, 6],
            &[1, 3, 6],
            &[0, 2, 4],
            &[6],
            &[5, 1],
            &[2, 2, 3],
            &[4, 0, 6],
        ];
        for indices in lists {
            assert_eq!(
                data.clone().into_subset(indices),
                data.subset(indices),
                "{indices:?}"
            );
        }
        let empty = Dataset {
            features: Vec::new(),
            n_features: 0,
            ..data.clone()
        };
        assert_eq!(empty.clone().into_subset(&[1, 4]), empty.subset(&[1, 4]));
    }
}
