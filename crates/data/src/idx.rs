//! Loader for the IDX format of MNIST and its look-alikes (Fashion-MNIST, KMNIST, EMNIST), raw or
//! gzip-compressed.

use std::fs::File;
use std::io::{self, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::dataset::{DataError, Dataset, numbered_class_names};

/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The most classes single-byte labels can tell apart.
const MAX_CLASSES: usize = 256;

/// What one kind of IDX file must look like.
struct IdxKind {
    /// Magic number: two zero bytes, the element type (0x08: unsigned byte), the number of
    /// dimensions.
    magic: u32,
    /// Number of big-endian `u32` dimensions after the magic number; the first is the item count.
    n_dims: usize,
    /// One item, for messages.
    item: &'static str,
    /// Several items, for messages.
    items: &'static str,
}

const IMAGES: IdxKind = IdxKind {
    magic: 0x0000_0803,
    n_dims: 3,
    item: "image",
    items: "images",
};

const LABELS: IdxKind = IdxKind {
    magic: 0x0000_0801,
    n_dims: 1,
    item: "label",
    items: "labels",
};

/// The decoded contents of one IDX file.
struct IdxContents<T> {
    /// The dimensions from the header, item count first.
    dims: Vec<u32>,
    /// The data bytes, converted to `T`, exactly `product(dims)` of them.
    data: Vec<T>,
}

/// Bytes read at a time from a raw file's data.
const CHUNK_BYTES: usize = 1 << 16;

/// Loads an IDX images file (`count × rows × cols` unsigned bytes) and its IDX labels file, each
/// raw or gzip-compressed (recognised by content, not by name).
///
/// Features are the pixel bytes as `f32` in 0..=255, `rows · cols` per sample, with
/// `image_shape` `[1, rows, cols]`; labels must lie in `0..n_classes` and the classes are named
/// by number, so `n_classes` must lie in 1..=256 (IDX labels are single bytes). Each file must
/// hold at least one item. Every header size is checked against the data actually present
/// before anything that large is allocated, so a corrupt header gives an error rather than an
/// abort.
///
/// EMNIST stores its images transposed (column-major); they are returned as stored.
pub fn load_idx(
    images: &Path,
    labels: &Path,
    n_classes: usize,
    name: &str,
) -> Result<Dataset, DataError> {
    // Labels are bytes, so more than 256 classes could never be used; refusing them also keeps
    // a huge count from naming every class (a capacity-overflow panic, or an abort when the
    // allocation merely fails).
    if !(1..=MAX_CLASSES).contains(&n_classes) {
        return Err(DataError::InvalidParameter {
            name: "n_classes",
            value: n_classes.to_string(),
            allowed: "1 to 256 classes (IDX labels are single bytes)",
        });
    }
    // The pixels of a raw file are read straight into `f32`s, without a copy as bytes.
    let image_file = read_idx::<f32>(images, &IMAGES)?;
    let label_file = read_idx::<u8>(labels, &LABELS)?;
    let (n_images, rows, cols) = (image_file.dims[0], image_file.dims[1], image_file.dims[2]);
    let n_labels = label_file.dims[0];
    if n_images != n_labels {
        return Err(DataError::File {
            path: images.display().to_string(),
            message: format!(
                "holds {n_images} images but {} holds {n_labels} labels, expected one label per image",
                labels.display()
            ),
        });
    }
    let labels_out = label_file
        .data
        .iter()
        .enumerate()
        .map(|(record, &label)| {
            let label = usize::from(label);
            if label < n_classes {
                Ok(label)
            } else {
                Err(DataError::Record {
                    path: labels.display().to_string(),
                    record,
                    message: format!("label {label} is out of range, expected 0..{n_classes}"),
                })
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Both fit in memory already (the data was read), so these conversions and the product
    // cannot overflow.
    let (rows, cols) = (rows as usize, cols as usize);
    Ok(Dataset {
        name: name.into(),
        features: image_file.data,
        labels: labels_out,
        n_features: rows * cols,
        n_classes,
        class_names: numbered_class_names(n_classes),
        image_shape: Some([1, rows, cols]),
    })
}

/// Paths of the four standard MNIST-style IDX files in one folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxFiles {
    /// `train-images-idx3-ubyte`, or the same with `.gz`.
    pub train_images: PathBuf,
    /// `train-labels-idx1-ubyte`, or the same with `.gz`.
    pub train_labels: PathBuf,
    /// `t10k-images-idx3-ubyte`, or the same with `.gz`.
    pub test_images: PathBuf,
    /// `t10k-labels-idx1-ubyte`, or the same with `.gz`.
    pub test_labels: PathBuf,
}

/// Finds the standard MNIST file names in `folder`, each raw or with a `.gz` suffix (the raw one
/// when both exist). Fashion-MNIST and KMNIST use the same names.
pub fn find_idx_files(folder: &Path) -> Result<IdxFiles, DataError> {
    if !folder.is_dir() {
        return Err(DataError::File {
            path: folder.display().to_string(),
            message: "not found or not a folder, expected a folder holding IDX files".into(),
        });
    }
    let find = |stem: &str| {
        // The raw file wins: it needs no decompression, and it is usually what `gunzip -k`
        // left beside the download.
        let raw = folder.join(stem);
        if raw.is_file() {
            return Ok(raw);
        }
        let compressed = folder.join(format!("{stem}.gz"));
        if compressed.is_file() {
            return Ok(compressed);
        }
        Err(DataError::File {
            path: folder.display().to_string(),
            message: format!("neither {stem} nor {stem}.gz exists in this folder"),
        })
    };
    Ok(IdxFiles {
        train_images: find("train-images-idx3-ubyte")?,
        train_labels: find("train-labels-idx1-ubyte")?,
        test_images: find("t10k-images-idx3-ubyte")?,
        test_labels: find("t10k-labels-idx1-ubyte")?,
    })
}

/// Reads one IDX file of `kind`, raw or gzip-compressed, checking its header against its data,
/// and converts the data bytes to `T`.
fn read_idx<T: From<u8>>(path: &Path, kind: &IdxKind) -> Result<IdxContents<T>, DataError> {
    let file_error = |message: String| DataError::File {
        path: path.display().to_string(),
        message,
    };
    let io_error = |error: io::Error| DataError::Io {
        source_name: path.display().to_string(),
        error,
    };
    let file = File::open(path).map_err(|error| {
        if error.kind() == io::ErrorKind::NotFound {
            file_error("file not found".into())
        } else {
            io_error(error)
        }
    })?;
    let file_len = file.metadata().map_err(io_error)?.len();
    let mut file = BufReader::new(file);

    // Peek at the first two bytes to tell gzip from raw, then put them back in front.
    let mut prefix = Vec::with_capacity(GZIP_MAGIC.len());
    (&mut file)
        .take(GZIP_MAGIC.len() as u64)
        .read_to_end(&mut prefix)
        .map_err(io_error)?;
    let compressed = prefix == GZIP_MAGIC;
    let whole = Cursor::new(prefix).chain(file);
    let mut reader: Box<dyn Read> = if compressed {
        Box::new(MultiGzDecoder::new(whole))
    } else {
        Box::new(whole)
    };

    let header_len = 4 + 4 * kind.n_dims;
    let mut header = Vec::with_capacity(header_len);
    (&mut reader)
        .take(header_len as u64)
        .read_to_end(&mut header)
        .map_err(io_error)?;
    if let Some(magic) = header.get(..4) {
        let magic = u32::from_be_bytes([magic[0], magic[1], magic[2], magic[3]]);
        if magic != kind.magic {
            return Err(file_error(format!(
                "magic number {magic:#010x} is not that of an IDX {items} file, expected {:#010x}",
                kind.magic,
                items = kind.items,
            )));
        }
    }
    if header.len() < header_len {
        return Err(file_error(format!(
            "truncated header: {}, expected the {header_len}-byte header of an IDX {} file",
            plural(header.len() as u64, "byte", "bytes"),
            kind.items,
        )));
    }
    let dims: Vec<u32> = header[4..]
        .chunks_exact(4)
        .map(|d| u32::from_be_bytes([d[0], d[1], d[2], d[3]]))
        .collect();

    let count = u64::from(dims[0]);
    // At most two u32 factors here, so this cannot overflow a u64.
    let item_size = dims[1..].iter().map(|&d| u64::from(d)).product::<u64>();
    if item_size == 0 {
        let shape: Vec<String> = dims[1..].iter().map(u32::to_string).collect();
        return Err(file_error(format!(
            "each {} is {} bytes, expected every dimension to be at least 1",
            kind.item,
            shape.join("×"),
        )));
    }
    // An empty file would give an empty data set whose features per sample the header alone
    // decides, unchecked by any data: nearly 2^64 of them, which later allocations trip over.
    if count == 0 {
        return Err(file_error(format!(
            "header says 0 {}, expected at least 1",
            kind.items
        )));
    }
    let sizes = format!(
        "header says {} of {} each",
        plural(count, kind.item, kind.items),
        plural(item_size, "byte", "bytes"),
    );
    let total = count
        .checked_mul(item_size)
        .filter(|&total| usize::try_from(total).is_ok())
        .ok_or_else(|| file_error(format!("{sizes}, more than this machine can address")))?;

    // Never allocate more up front than the file itself could hold; a lying header then costs
    // only as much memory as the data really present.
    let capacity = usize::try_from(total.min(file_len)).unwrap_or(0);
    let (data, present): (Vec<T>, u64) = if compressed {
        // The compressed size says little about the data's, so the bytes are gathered as they
        // come (the buffer growing with the data present) and converted once complete.
        let mut bytes = Vec::with_capacity(capacity);
        reader
            .take(total.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(io_error)?;
        let present = bytes.len() as u64;
        (bytes.into_iter().map(T::from).collect(), present)
    } else {
        // A raw file holds at most its length in data, and for a sound file the capacity is
        // exactly the data's size: convert chunk by chunk into the final buffer, then look for
        // one byte more.
        let mut data = Vec::with_capacity(capacity);
        let mut chunk = vec![0; CHUNK_BYTES];
        let mut data_reader = (&mut reader).take(total);
        loop {
            let n = match data_reader.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(io_error(error)),
            };
            data.extend(chunk[..n].iter().map(|&byte| T::from(byte)));
        }
        let mut extra = Vec::with_capacity(1);
        reader.take(1).read_to_end(&mut extra).map_err(io_error)?;
        let present = data.len() as u64 + extra.len() as u64;
        (data, present)
    };
    let total_bytes = plural(total, "byte", "bytes");
    if present < total {
        let complete = present / item_size;
        return Err(file_error(format!(
            "truncated: {sizes} ({total_bytes}) but only {} of data follow: {complete} complete {}",
            plural(present, "byte", "bytes"),
            if complete == 1 { kind.item } else { kind.items },
        )));
    }
    if present > total {
        return Err(file_error(format!(
            "{sizes} ({total_bytes}) but more data follows, expected the file to end there"
        )));
    }
    Ok(IdxContents { dims, data })
}

/// `"1 image"`, `"2 images"`.
fn plural(n: u64, singular: &str, plural: &str) -> String {
    format!("{n} {}", if n == 1 { singular } else { plural })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    /// An IDX images file: `count` images of `rows × cols` bytes, pixel `i` holding `i % 256`.
    fn images_file(count: u32, rows: u32, cols: u32) -> Vec<u8> {
        let mut bytes = IMAGES.magic.to_be_bytes().to_vec();
        for dim in [count, rows, cols] {
            bytes.extend_from_slice(&dim.to_be_bytes());
        }
        let n = (count * rows * cols) as usize;
        bytes.extend((0..n).map(|i| (i % 256) as u8));
        bytes
    }

    fn labels_file(labels: &[u8]) -> Vec<u8> {
        let mut bytes = LABELS.magic.to_be_bytes().to_vec();
        bytes.extend_from_slice(&(labels.len() as u32).to_be_bytes());
        bytes.extend_from_slice(labels);
        bytes
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn write(folder: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let path = folder.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn check_round_trip(data: &Dataset) {
        assert_eq!(data.name, "mnist");
        assert_eq!(data.n_samples(), 3);
        assert_eq!(data.n_features, 6);
        assert_eq!(data.image_shape, Some([1, 2, 3]));
        assert_eq!(data.labels, vec![7, 0, 9]);
        assert_eq!(data.class_names, numbered_class_names(10));
        assert_eq!(data.row(1), &[6.0, 7.0, 8.0, 9.0, 10.0, 11.0]);
    }

    #[test]
    fn raw_files_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let images = write(dir.path(), "images", &images_file(3, 2, 3));
        let labels = write(dir.path(), "labels", &labels_file(&[7, 0, 9]));
        check_round_trip(&load_idx(&images, &labels, 10, "mnist").unwrap());
    }

    #[test]
    fn gzip_is_recognised_by_content_not_name() {
        let dir = tempfile::tempdir().unwrap();
        let images = write(dir.path(), "images", &gzip(&images_file(3, 2, 3)));
        let labels = write(dir.path(), "labels.gz", &gzip(&labels_file(&[7, 0, 9])));
        check_round_trip(&load_idx(&images, &labels, 10, "mnist").unwrap());
    }

    #[test]
    fn pixels_span_the_full_byte_range() {
        let dir = tempfile::tempdir().unwrap();
        let images = write(dir.path(), "images", &images_file(1, 16, 16));
        let labels = write(dir.path(), "labels", &labels_file(&[0]));
        let data = load_idx(&images, &labels, 1, "x").unwrap();
        assert_eq!(data.row(0)[0], 0.0);
        assert_eq!(data.row(0)[255], 255.0);
    }

    #[test]
    fn find_idx_files_takes_raw_or_gz_and_prefers_raw() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path();
        write(folder, "train-images-idx3-ubyte", b"");
        write(folder, "train-labels-idx1-ubyte.gz", b"");
        write(folder, "t10k-images-idx3-ubyte", b"");
        write(folder, "t10k-images-idx3-ubyte.gz", b"");
        write(folder, "t10k-labels-idx1-ubyte.gz", b"");
        assert_eq!(
            find_idx_files(folder).unwrap(),
            IdxFiles {
                train_images: folder.join("train-images-idx3-ubyte"),
                train_labels: folder.join("train-labels-idx1-ubyte.gz"),
                test_images: folder.join("t10k-images-idx3-ubyte"),
                test_labels: folder.join("t10k-labels-idx1-ubyte.gz"),
            }
        );
        std::fs::remove_file(folder.join("t10k-labels-idx1-ubyte.gz")).unwrap();
        assert_eq!(
            find_idx_files(folder).unwrap_err().to_string(),
            format!(
                "{}: neither t10k-labels-idx1-ubyte nor t10k-labels-idx1-ubyte.gz exists in this folder",
                folder.display()
            )
        );
    }

    #[test]
    fn missing_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let images = dir.path().join("absent");
        let labels = write(dir.path(), "labels", &labels_file(&[0]));
        let error = load_idx(&images, &labels, 10, "x").unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("{}: file not found", images.display())
        );
    }

    #[test]
    fn swapped_files_report_the_magic_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let images = write(dir.path(), "images", &images_file(1, 2, 2));
        let labels = write(dir.path(), "labels", &labels_file(&[0]));
        let error = load_idx(&labels, &images, 10, "x").unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: magic number 0x00000801 is not that of an IDX images file, expected 0x00000803",
                labels.display()
            )
        );
    }

    #[test]
    fn truncated_header_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let images = write(dir.path(), "images", &images_file(1, 2, 2)[..10]);
        let labels = write(dir.path(), "labels", &labels_file(&[0]));
        let error = load_idx(&images, &labels, 10, "x").unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: truncated header: 10 bytes, expected the 16-byte header of an IDX images file",
                images.display()
            )
        );
    }

    #[test]
    fn truncated_data_counts_complete_items() {
        let dir = tempfile::tempdir().unwrap();
        let full = gzip(&images_file(3, 2, 3));
        let images = write(dir.path(), "images", &full);
        let labels = write(dir.path(), "labels", &labels_file(&[0, 1, 2])[..10]);
        let error = load_idx(&images, &labels, 10, "x").unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: truncated: header says 3 labels of 1 byte each (3 bytes) but only 2 bytes of data follow: 2 complete labels",
                labels.display()
            )
        );
        let images = write(dir.path(), "images", &images_file(3, 2, 3)[..16 + 10]);
        let error = load_idx(&images, &labels, 10, "x").unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: truncated: header says 3 images of 6 bytes each (18 bytes) but only 10 bytes of data follow: 1 complete image",
                images.display()
            )
        );
    }

    #[test]
    fn huge_header_counts_fail_without_allocating() {
        let dir = tempfile::tempdir().unwrap();
        let labels = write(dir.path(), "labels", &labels_file(&[0]));
        let mut header = images_file(0, 0, 0);
        header[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        header[8..12].copy_from_slice(&28u32.to_be_bytes());
        header[12..16].copy_from_slice(&28u32.to_be_bytes());
        let images = write(dir.path(), "images", &header);
        let error = load_idx(&images, &labels, 10, "x").unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: truncated: header says 4294967295 images of 784 bytes each (3367254359280 bytes) but only 0 bytes of data follow: 0 complete images",
                images.display()
            )
        );
        header[8..16].copy_from_slice(&[0xff; 8]);
        let images = write(dir.path(), "images", &header);
        let error = load_idx(&images, &labels, 10, "x").unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: header says 4294967295 images of 18446744065119617025 bytes each, more than this machine can address",
                images.display()
            )
        );
    }

    #[test]
    fn empty_files_are_rejected() {
        // Found by fuzzing: header-only files with zero counts loaded as a data set with no
        // samples and as many features per sample as the header claimed, here
        // 0xffffffff × 0xffffffff.
        let dir = tempfile::tempdir().unwrap();
        let mut header = images_file(0, 0, 0);
        header[8..16].copy_from_slice(&[0xff; 8]);
        let images = write(dir.path(), "images", &gzip(&header));
        let labels = write(dir.path(), "labels", &labels_file(&[]));
        let error = load_idx(&images, &labels, 10, "x").unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: header says 0 images, expected at least 1",
                images.display()
            )
        );
        let images = write(dir.path(), "images", &images_file(1, 2, 2));
        let error = load_idx(&images, &labels, 10, "x").unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: header says 0 labels, expected at least 1",
                labels.display()
            )
        );
    }

    #[test]
    fn trailing_data_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let images = write(dir.path(), "images", &images_file(1, 2, 2));
        let mut long_labels = labels_file(&[0]);
        long_labels.push(0);
        let labels = write(dir.path(), "labels", &long_labels);
        let error = load_idx(&images, &labels, 10, "x").unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: header says 1 label of 1 byte each (1 byte) but more data follows, expected the file to end there",
                labels.display()
            )
        );
    }

    #[test]
    fn image_and_label_counts_must_match() {
        let dir = tempfile::tempdir().unwrap();
        let images = write(dir.path(), "images", &images_file(3, 2, 3));
        let labels = write(dir.path(), "labels", &labels_file(&[0, 1]));
        let error = load_idx(&images, &labels, 10, "x").unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: holds 3 images but {} holds 2 labels, expected one label per image",
                images.display(),
                labels.display()
            )
        );
    }

    #[test]
    fn class_counts_beyond_a_byte_are_refused() {
        // Found by fuzzing: `usize::MAX` classes panicked with a capacity overflow while naming
        // them, and counts just small enough to attempt would abort on the failed allocation.
        let dir = tempfile::tempdir().unwrap();
        let images = write(dir.path(), "images", &images_file(1, 2, 2));
        let labels = write(dir.path(), "labels", &labels_file(&[0]));
        for n_classes in [0, 257, 1 << 40, usize::MAX] {
            let error = load_idx(&images, &labels, n_classes, "x").unwrap_err();
            assert_eq!(
                error.to_string(),
                format!(
                    "n_classes = {n_classes} is invalid: 1 to 256 classes (IDX labels are single bytes)"
                )
            );
        }
        assert_eq!(load_idx(&images, &labels, 256, "x").unwrap().n_classes, 256);
    }

    #[test]
    fn labels_beyond_the_classes_name_the_record() {
        let dir = tempfile::tempdir().unwrap();
        let images = write(dir.path(), "images", &images_file(3, 2, 3));
        let labels = write(dir.path(), "labels", &labels_file(&[0, 1, 10]));
        let error = load_idx(&images, &labels, 10, "x").unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: record 2: label 10 is out of range, expected 0..10",
                labels.display()
            )
        );
    }
}
