//! Loaders for the binary versions of CIFAR-10 and CIFAR-100 (32×32 colour images).

use std::io;
use std::path::{Path, PathBuf};

use crate::dataset::{DataError, Dataset, numbered_class_names};

/// Pixel bytes per record: 1024 red, then 1024 green, then 1024 blue, each 32×32 row-major, which
/// is already the CHW layout `Dataset` wants.
const N_PIXELS: usize = 3 * 32 * 32;
const IMAGE_SHAPE: [usize; 3] = [3, 32, 32];

const CIFAR10_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];
const CIFAR10_TRAIN: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
const CIFAR10_TEST: &str = "test_batch.bin";
const CIFAR100_TRAIN: &str = "train.bin";
const CIFAR100_TEST: &str = "test.bin";
const N_COARSE: usize = 20;
const N_FINE: usize = 100;

/// Which CIFAR-100 label to keep; every record carries both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cifar100Labels {
    /// The 20 superclasses, labels 0..20.
    Coarse,
    /// The 100 classes, labels 0..100.
    Fine,
}

/// The layout of one kind of record: its label bytes, then `N_PIXELS` pixel bytes.
struct RecordLayout {
    /// Each label byte in record order: its name (for messages) and its number of classes.
    label_bytes: &'static [(&'static str, usize)],
    /// Index into `label_bytes` of the label returned.
    keep: usize,
    /// Appended to "file not found" to say what the folder should hold.
    expected_files: &'static str,
}

const CIFAR10_LAYOUT: RecordLayout = RecordLayout {
    label_bytes: &[("label", 10)],
    keep: 0,
    expected_files: "expected the CIFAR-10 binary version: data_batch_1.bin … data_batch_5.bin and test_batch.bin",
};

const CIFAR100_FILES: &str = "expected the CIFAR-100 binary version: train.bin and test.bin";

/// Features and labels gathered from one or more files.
#[derive(Default)]
struct Parts {
    features: Vec<f32>,
    labels: Vec<usize>,
}

impl Parts {
    /// No records yet, but room for those of the files at `paths` as large as they are now, so
    /// that several files fill one buffer without it growing (and being copied) on the way.
    /// The sizes are only a hint: each file is checked when it is read.
    fn with_room_for(paths: &[PathBuf], record_size: usize) -> Parts {
        let records: u64 = paths
            .iter()
            .filter_map(|path| std::fs::metadata(path).ok())
            .map(|metadata| metadata.len() / record_size as u64)
            .sum();
        let mut parts = Parts::default();
        if let Ok(records) = usize::try_from(records) {
            // A reservation that fails only leaves the buffers to grow as records are read.
            parts
                .features
                .try_reserve_exact(records.saturating_mul(N_PIXELS))
                .ok();
            parts.labels.try_reserve_exact(records).ok();
        }
        parts
    }

    fn into_dataset(self, name: &str, n_classes: usize, class_names: Vec<String>) -> Dataset {
        Dataset {
            name: name.into(),
            features: self.features,
            labels: self.labels,
            n_features: N_PIXELS,
            n_classes,
            class_names,
            image_shape: Some(IMAGE_SHAPE),
        }
    }
}

/// Loads the binary version of CIFAR-10 from `folder`: `(train, test)` with 50,000 and 10,000
/// samples.
///
/// The training set is `data_batch_1.bin` … `data_batch_5.bin` concatenated in that order, the
/// test set `test_batch.bin`. Each sample has 3,072 features (pixel bytes as `f32` in 0..=255,
/// CHW with `image_shape` `[3, 32, 32]`) and a label in 0..10; the classes are, in order,
/// airplane, automobile, bird, cat, deer, dog, frog, horse, ship, truck.
pub fn load_cifar10(folder: &Path) -> Result<(Dataset, Dataset), DataError> {
    let record_size = CIFAR10_LAYOUT.label_bytes.len() + N_PIXELS;
    let train_paths: Vec<PathBuf> = CIFAR10_TRAIN.iter().map(|name| folder.join(name)).collect();
    let mut train = Parts::with_room_for(&train_paths, record_size);
    for path in &train_paths {
        read_records(path, &CIFAR10_LAYOUT, &mut train)?;
    }
    let test_path = folder.join(CIFAR10_TEST);
    let mut test = Parts::with_room_for(std::slice::from_ref(&test_path), record_size);
    read_records(&test_path, &CIFAR10_LAYOUT, &mut test)?;
    let class_names: Vec<String> = CIFAR10_CLASSES.iter().map(|&c| c.into()).collect();
    Ok((
        train.into_dataset("cifar10", CIFAR10_CLASSES.len(), class_names.clone()),
        test.into_dataset("cifar10", CIFAR10_CLASSES.len(), class_names),
    ))
}

/// Loads the binary version of CIFAR-100 from `folder` (`train.bin`, `test.bin`): `(train, test)`
/// with 50,000 and 10,000 samples.
///
/// Features are as for [`load_cifar10`]; labels are the 20 coarse (0..20) or 100 fine (0..100)
/// classes, named by number. Both label bytes of every record are checked whichever is kept.
pub fn load_cifar100(
    folder: &Path,
    labels: Cifar100Labels,
) -> Result<(Dataset, Dataset), DataError> {
    let (keep, n_classes) = match labels {
        Cifar100Labels::Coarse => (0, N_COARSE),
        Cifar100Labels::Fine => (1, N_FINE),
    };
    let layout = RecordLayout {
        label_bytes: &[("coarse label", N_COARSE), ("fine label", N_FINE)],
        keep,
        expected_files: CIFAR100_FILES,
    };
    let record_size = layout.label_bytes.len() + N_PIXELS;
    let read = |name: &str| {
        let path = folder.join(name);
        let mut parts = Parts::with_room_for(std::slice::from_ref(&path), record_size);
        read_records(&path, &layout, &mut parts).map(|()| parts)
    };
    let train = read(CIFAR100_TRAIN)?;
    let test = read(CIFAR100_TEST)?;
    Ok((
        train.into_dataset("cifar100", n_classes, numbered_class_names(n_classes)),
        test.into_dataset("cifar100", n_classes, numbered_class_names(n_classes)),
    ))
}

/// Appends the records of the file at `path` to `parts`, checking its size and every label.
fn read_records(path: &Path, layout: &RecordLayout, parts: &mut Parts) -> Result<(), DataError> {
    let file_error = |message: String| DataError::File {
        path: path.display().to_string(),
        message,
    };
    // The whole file is read (it is at most a few hundred MB for CIFAR) so its size is known
    // exactly; nothing is allocated from numbers inside the file.
    let bytes = std::fs::read(path).map_err(|error| {
        if error.kind() == io::ErrorKind::NotFound {
            file_error(format!("file not found, {}", layout.expected_files))
        } else {
            DataError::Io {
                source_name: path.display().to_string(),
                error,
            }
        }
    })?;
    let record_size = layout.label_bytes.len() + N_PIXELS;
    if bytes.is_empty() {
        return Err(file_error(format!(
            "file is empty, expected {record_size}-byte records"
        )));
    }
    if bytes.len() % record_size != 0 {
        let complete = bytes.len() / record_size;
        return Err(file_error(format!(
            "size {} bytes is not a whole number of {record_size}-byte records: {complete} complete {} and {} bytes left over",
            bytes.len(),
            if complete == 1 { "record" } else { "records" },
            bytes.len() % record_size,
        )));
    }
    let n_records = bytes.len() / record_size;
    parts.features.reserve(n_records * N_PIXELS);
    parts.labels.reserve(n_records);
    for (record, chunk) in bytes.chunks_exact(record_size).enumerate() {
        let (label_bytes, pixels) = chunk.split_at(layout.label_bytes.len());
        for (&byte, &(what, n_classes)) in label_bytes.iter().zip(layout.label_bytes) {
            if usize::from(byte) >= n_classes {
                return Err(DataError::Record {
                    path: path.display().to_string(),
                    record,
                    message: format!("{what} {byte} is out of range, expected 0..{n_classes}"),
                });
            }
        }
        parts.labels.push(usize::from(label_bytes[layout.keep]));
        parts.features.extend(pixels.iter().map(|&p| f32::from(p)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One record: `labels`, then pixel `i` holding `(i + seed) % 256`.
    fn record(labels: &[u8], seed: usize) -> Vec<u8> {
        let mut bytes = labels.to_vec();
        bytes.extend((0..N_PIXELS).map(|i| ((i + seed) % 256) as u8));
        bytes
    }

    fn write(folder: &Path, name: &str, records: &[Vec<u8>]) -> PathBuf {
        let path = folder.join(name);
        std::fs::write(&path, records.concat()).unwrap();
        path
    }

    /// A CIFAR-10 folder whose batch `b` (1-based) holds one record with label `b` and seed `b`,
    /// and whose test batch holds labels 0 and 9.
    fn cifar10_folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (b, name) in CIFAR10_TRAIN.iter().enumerate() {
            let b = b + 1;
            write(dir.path(), name, &[record(&[b as u8], b)]);
        }
        write(
            dir.path(),
            CIFAR10_TEST,
            &[record(&[0], 100), record(&[9], 200)],
        );
        dir
    }

    #[test]
    fn cifar10_round_trip_keeps_batch_order() {
        let dir = cifar10_folder();
        let (train, test) = load_cifar10(dir.path()).unwrap();
        assert_eq!(train.name, "cifar10");
        assert_eq!(train.labels, vec![1, 2, 3, 4, 5]);
        assert_eq!(test.labels, vec![0, 9]);
        assert_eq!(train.n_features, 3072);
        assert_eq!(train.image_shape, Some([3, 32, 32]));
        assert_eq!(train.class_names[0], "airplane");
        assert_eq!(test.class_names[9], "truck");
        assert_eq!(train.row(2)[..3], [3.0, 4.0, 5.0]);
        // The first blue pixel is byte 2048 of the image.
        assert_eq!(test.row(1)[2048], ((2048 + 200) % 256) as f32);
    }

    #[test]
    fn cifar100_keeps_the_chosen_label() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "train.bin",
            &[record(&[19, 99], 1), record(&[0, 5], 2)],
        );
        write(dir.path(), "test.bin", &[record(&[3, 42], 3)]);
        let (train, test) = load_cifar100(dir.path(), Cifar100Labels::Coarse).unwrap();
        assert_eq!(train.labels, vec![19, 0]);
        assert_eq!(test.labels, vec![3]);
        assert_eq!(train.n_classes, 20);
        assert_eq!(train.class_names, numbered_class_names(20));
        assert_eq!(train.name, "cifar100");
        assert_eq!(test.row(0)[..2], [3.0, 4.0]);
        let (train, test) = load_cifar100(dir.path(), Cifar100Labels::Fine).unwrap();
        assert_eq!(train.labels, vec![99, 5]);
        assert_eq!(test.labels, vec![42]);
        assert_eq!(test.n_classes, 100);
    }

    #[test]
    fn missing_batch_is_named() {
        let dir = cifar10_folder();
        let missing = dir.path().join("data_batch_3.bin");
        std::fs::remove_file(&missing).unwrap();
        assert_eq!(
            load_cifar10(dir.path()).unwrap_err().to_string(),
            format!(
                "{}: file not found, expected the CIFAR-10 binary version: data_batch_1.bin … data_batch_5.bin and test_batch.bin",
                missing.display()
            )
        );
    }

    #[test]
    fn partial_record_is_reported() {
        let dir = cifar10_folder();
        let mut bytes = [record(&[1], 0), record(&[2], 0)].concat();
        bytes.truncate(3073 + 100);
        let path = dir.path().join("test_batch.bin");
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(
            load_cifar10(dir.path()).unwrap_err().to_string(),
            format!(
                "{}: size 3173 bytes is not a whole number of 3073-byte records: 1 complete record and 100 bytes left over",
                path.display()
            )
        );
        std::fs::write(&path, b"").unwrap();
        assert_eq!(
            load_cifar10(dir.path()).unwrap_err().to_string(),
            format!(
                "{}: file is empty, expected 3073-byte records",
                path.display()
            )
        );
    }

    #[test]
    fn cifar10_label_out_of_range_names_the_record() {
        let dir = cifar10_folder();
        let path = write(
            dir.path(),
            "data_batch_2.bin",
            &[record(&[1], 0), record(&[10], 0)],
        );
        assert_eq!(
            load_cifar10(dir.path()).unwrap_err().to_string(),
            format!(
                "{}: record 1: label 10 is out of range, expected 0..10",
                path.display()
            )
        );
    }

    #[test]
    fn cifar100_checks_both_labels() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "train.bin", &[record(&[1, 100], 0)]);
        write(dir.path(), "test.bin", &[record(&[1, 1], 0)]);
        assert_eq!(
            load_cifar100(dir.path(), Cifar100Labels::Coarse)
                .unwrap_err()
                .to_string(),
            format!(
                "{}: record 0: fine label 100 is out of range, expected 0..100",
                path.display()
            )
        );
        write(dir.path(), "train.bin", &[record(&[20, 1], 0)]);
        assert_eq!(
            load_cifar100(dir.path(), Cifar100Labels::Fine)
                .unwrap_err()
                .to_string(),
            format!(
                "{}: record 0: coarse label 20 is out of range, expected 0..20",
                path.display()
            )
        );
    }
}
