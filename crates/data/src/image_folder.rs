//! Image folders laid out as `root/<class>/<image>.png|jpg|jpeg`, as in cats-versus-dogs.

use std::ffi::OsString;
use std::fs;
use std::io::Cursor;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread;

use image::imageops::{self, FilterType};
use image::{DynamicImage, ImageFormat};

use crate::dataset::{DataError, Dataset};

/// File extensions read as images, compared case-insensitively.
const IMAGE_EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// The most bytes the intermediate buffer of one resize may take (2 GiB). `imageops::resize`
/// first resamples the columns into an RGBA `f32` image of the source's width and the requested
/// height, so a very wide image or a very tall request could otherwise ask for more memory than
/// exists, which aborts the process instead of returning an error.
const MAX_RESIZE_BYTES: u128 = 2 << 30;
/// Bytes per pixel of that intermediate buffer: four `f32` channels.
const RESIZE_PIXEL_BYTES: u128 = 16;
/// Resizes whose intermediate buffer exceeds this (256 MiB) run one at a time.
const LARGE_RESIZE_BYTES: u128 = 1 << 28;

/// Loads every image under `root/<class>/`, one class per subfolder.
///
/// Classes are the subfolder names, sorted, and labels index into them (`0..n_classes`, at least
/// 2 classes). Inside each class folder the files ending in `.png`, `.jpg` or `.jpeg` (any case)
/// are read in name order and other files are ignored; every class needs at least one image.
/// Each image is converted to RGB (or to luma when `grayscale`), resized to `width × height`
/// with a triangle filter and stored channel-major (CHW) as `f32` values in `0..=255`, so
/// `image_shape` is `[3 or 1, height, width]` and `n_features` its product. The data set is
/// named after the root folder. `width` and `height` must be at least 1, with `width · height`
/// at most 2²⁷ pixels; an image whose width is so large that resizing it to `height` rows would
/// need more than 2 GiB of intermediate buffer is refused.
///
/// The images are decoded on [`std::thread::available_parallelism`] threads; the result does
/// not depend on their number, and when several images are broken the error names the first in
/// load order (classes in order, files in name order). Nothing is cached: see
/// [`load_image_folder_cached`](crate::load_image_folder_cached).
pub fn load_image_folder(
    root: &Path,
    width: u32,
    height: u32,
    grayscale: bool,
) -> Result<Dataset, DataError> {
    let settings = DecodeSettings::new(width, height, grayscale)?;
    let listing = list_image_folder(root)?;
    decode_listing(root, listing, &settings)
}

/// The pairs of sub-folder names that mark an image folder shipping its own split, in the order
/// they are looked for: `train/` and `test/`, or `training_set/` and `test_set/` (the layout of
/// the common cats-versus-dogs download). Names are compared exactly, case included.
pub const IMAGE_FOLDER_SPLIT_NAMES: [(&str, &str); 2] =
    [("train", "test"), ("training_set", "test_set")];

/// The training and test folders of an image folder that ships its own split, each laid out as
/// `<class>/<image>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFolderSplit {
    /// The folder of training images (`root/train` or `root/training_set`).
    pub train: PathBuf,
    /// The folder of test images (`root/test` or `root/test_set`).
    pub test: PathBuf,
}

/// The split `root` ships, if it has both folders of one of the [`IMAGE_FOLDER_SPLIT_NAMES`]
/// pairs; `None` for a plain `root/<class>/<image>` folder (or one with only half of a pair,
/// whose sub-folders are then classes like any other).
pub fn find_image_folder_split(root: &Path) -> Option<ImageFolderSplit> {
    IMAGE_FOLDER_SPLIT_NAMES
        .iter()
        .map(|(train, test)| ImageFolderSplit {
            train: root.join(train),
            test: root.join(test),
        })
        .find(|split| split.train.is_dir() && split.test.is_dir())
}

/// The checked decode settings of one load.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DecodeSettings {
    /// Width every image is resized to, at least 1.
    pub(crate) width: u32,
    /// Height every image is resized to, at least 1.
    pub(crate) height: u32,
    /// One grey channel instead of three.
    pub(crate) grayscale: bool,
}

impl DecodeSettings {
    /// Checks the requested size.
    pub(crate) fn new(width: u32, height: u32, grayscale: bool) -> Result<Self, DataError> {
        if width == 0 {
            return Err(DataError::InvalidParameter {
                name: "width",
                value: width.to_string(),
                allowed: "at least 1 pixel",
            });
        }
        if height == 0 {
            return Err(DataError::InvalidParameter {
                name: "height",
                value: height.to_string(),
                allowed: "at least 1 pixel",
            });
        }
        // The requested size is held to the same budget, at 16 bytes a pixel, before any image
        // is read: each image's features alone take 12 bytes a pixel (three `f32` channels) and
        // its resized copy more besides, so a larger request cannot be meant.
        if u128::from(width) * u128::from(height) * RESIZE_PIXEL_BYTES > MAX_RESIZE_BYTES {
            return Err(DataError::InvalidParameter {
                name: "width × height",
                value: format!("{width} × {height}"),
                allowed: "at most 2^27 pixels in all",
            });
        }
        Ok(DecodeSettings {
            width,
            height,
            grayscale,
        })
    }

    /// Channels per pixel: 1 or 3.
    pub(crate) fn channels(&self) -> usize {
        if self.grayscale { 1 } else { 3 }
    }

    /// `[channels, height, width]`.
    pub(crate) fn image_shape(&self) -> [usize; 3] {
        [self.channels(), self.height as usize, self.width as usize]
    }

    /// Features per image: `channels · height · width`.
    pub(crate) fn n_features(&self) -> usize {
        self.channels() * self.width as usize * self.height as usize
    }
}

/// The files of an image folder in load order, found before any image is decoded.
#[derive(Debug)]
pub(crate) struct Listing {
    /// The class folder names, sorted; labels index into them.
    pub(crate) class_folders: Vec<OsString>,
    /// The images, class by class, each class's in name order.
    pub(crate) files: Vec<ImageFile>,
    /// What the listing stopped at, if anything: a class folder that cannot be read or holds no
    /// image. `files` then holds the images of the classes before it, which are decoded first
    /// so that a broken one among them is reported instead, as in a load that decodes each
    /// class as it lists it.
    pub(crate) error: Option<DataError>,
}

/// One image file of a [`Listing`].
#[derive(Debug)]
pub(crate) struct ImageFile {
    /// Index of its class folder.
    pub(crate) label: usize,
    /// Its file name inside the class folder.
    pub(crate) name: OsString,
    /// Its path.
    pub(crate) path: PathBuf,
    /// Its metadata, read when it was listed (it is a file: `is_file()` holds).
    pub(crate) metadata: fs::Metadata,
}

/// Lists the class folders of `root` and their images, checking the layout; see [`Listing`].
pub(crate) fn list_image_folder(root: &Path) -> Result<Listing, DataError> {
    let root_name = root.display().to_string();
    if !root.is_dir() {
        let message = if root.exists() {
            "not a folder; expected a folder with one subfolder of images per class"
        } else {
            "folder not found; expected a folder with one subfolder of images per class"
        };
        return Err(DataError::File {
            path: root_name,
            message: message.into(),
        });
    }

    let mut class_folders: Vec<(OsString, PathBuf)> = read_folder(root)?
        .into_iter()
        .filter(|(_, path)| path.is_dir())
        .collect();
    class_folders.sort();
    if class_folders.len() < 2 {
        let found: Vec<String> = class_folders
            .iter()
            .map(|(name, _)| format!("`{}`", name.to_string_lossy()))
            .collect();
        let found = if found.is_empty() {
            "none".to_owned()
        } else {
            format!("only {}", found.join(", "))
        };
        return Err(DataError::File {
            path: root_name,
            message: format!("expected at least 2 class folders, one per class; found {found}"),
        });
    }

    let mut files = Vec::new();
    let mut error = None;
    for (label, (_, class_path)) in class_folders.iter().enumerate() {
        let entries = match read_folder(class_path) {
            Ok(entries) => entries,
            Err(listing_error) => {
                error = Some(listing_error);
                break;
            }
        };
        // `fs::metadata` follows links, as `Path::is_file` does.
        let mut image_files: Vec<(OsString, PathBuf, fs::Metadata)> = entries
            .into_iter()
            .filter(|(_, path)| has_image_extension(path))
            .filter_map(|(name, path)| {
                let metadata = fs::metadata(&path).ok().filter(fs::Metadata::is_file)?;
                Some((name, path, metadata))
            })
            .collect();
        image_files.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        if image_files.is_empty() {
            error = Some(DataError::File {
                path: class_path.display().to_string(),
                message: "class folder holds no .png, .jpg or .jpeg images".into(),
            });
            break;
        }
        files.extend(
            image_files
                .into_iter()
                .map(|(name, path, metadata)| ImageFile {
                    label,
                    name,
                    path,
                    metadata,
                }),
        );
    }
    Ok(Listing {
        class_folders: class_folders.into_iter().map(|(name, _)| name).collect(),
        files,
        error,
    })
}

/// The data set's name: the root folder's own name.
pub(crate) fn dataset_name(root: &Path) -> String {
    root.file_name().map_or_else(
        || root.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    )
}

/// The class names of a listing, as the data set reports them.
pub(crate) fn class_names(listing: &Listing) -> Vec<String> {
    listing
        .class_folders
        .iter()
        .map(|name| name.to_string_lossy().into_owned())
        .collect()
}

/// Decodes every image of `listing`, in parallel, into a data set; or reports the listing's
/// error, or the first image in load order that cannot be decoded, whichever comes first.
pub(crate) fn decode_listing(
    root: &Path,
    listing: Listing,
    settings: &DecodeSettings,
) -> Result<Dataset, DataError> {
    let n_features = settings.n_features();
    let mut features = vec![0.0; listing.files.len() * n_features];
    decode_all(&listing.files, settings, &mut features)?;
    if let Some(error) = listing.error {
        return Err(error);
    }
    Ok(Dataset {
        name: dataset_name(root),
        features,
        labels: listing.files.iter().map(|file| file.label).collect(),
        n_features,
        n_classes: listing.class_folders.len(),
        class_names: class_names(&listing),
        image_shape: Some(settings.image_shape()),
    })
}

/// Decodes `files[i]` into row `i` of `features` (`n_features` values a row) on up to
/// `available_parallelism()` threads, handing out images one at a time in load order. On
/// failure the error of the first failing image in load order is returned: every image before
/// it has been decoded, and images after a known failure are skipped.
fn decode_all(
    files: &[ImageFile],
    settings: &DecodeSettings,
    features: &mut [f32],
) -> Result<(), DataError> {
    let workers = thread::available_parallelism().map_or(1, usize::from);
    decode_on(files, settings, features, workers)
}

/// [`decode_all`] on at most `workers` threads (the calling one alone when that is 1).
fn decode_on(
    files: &[ImageFile],
    settings: &DecodeSettings,
    features: &mut [f32],
    workers: usize,
) -> Result<(), DataError> {
    let n_features = settings.n_features();
    // At most one resize needing a large intermediate buffer runs at a time, so that decoding
    // on many threads does not multiply the 2 GiB budget of one resize by their number.
    let large_resize = Mutex::new(());
    let workers = workers.min(files.len());
    if workers <= 1 {
        for (file, row) in files.iter().zip(features.chunks_exact_mut(n_features)) {
            decode_into(&file.path, settings, &large_resize, row)?;
        }
        return Ok(());
    }
    let work = Mutex::new(
        files
            .iter()
            .zip(features.chunks_exact_mut(n_features))
            .enumerate(),
    );
    // The lowest index known to fail; images after it need not be decoded.
    let first_failure = AtomicUsize::new(usize::MAX);
    let worker = || {
        loop {
            let next = work.lock().unwrap_or_else(PoisonError::into_inner).next();
            let (index, (file, row)) = next?;
            if index > first_failure.load(Ordering::Relaxed) {
                return None;
            }
            if let Err(error) = decode_into(&file.path, settings, &large_resize, row) {
                first_failure.fetch_min(index, Ordering::Relaxed);
                // Indices are handed out in increasing order, so this is the worker's first
                // failure in load order, and later images cannot matter.
                return Some((index, error));
            }
        }
    };
    let failures: Vec<(usize, DataError)> = thread::scope(|scope| {
        // The calling thread is one of the workers.
        let handles: Vec<_> = (1..workers).map(|_| scope.spawn(worker)).collect();
        let mut failures: Vec<(usize, DataError)> = worker().into_iter().collect();
        for handle in handles {
            match handle.join() {
                Ok(failure) => failures.extend(failure),
                // A panic outside the decoder (which is caught) is a bug: pass it on as the
                // single-threaded load would have.
                Err(payload) => panic::resume_unwind(payload),
            }
        }
        failures
    });
    match failures.into_iter().min_by_key(|(index, _)| *index) {
        Some((_, error)) => Err(error),
        None => Ok(()),
    }
}

/// Decodes the image at `path`, resizes it and writes it channel-major into `row`.
fn decode_into(
    path: &Path,
    settings: &DecodeSettings,
    large_resize: &Mutex<()>,
    row: &mut [f32],
) -> Result<(), DataError> {
    let &DecodeSettings {
        width,
        height,
        grayscale,
    } = settings;
    let image = decode_image(path)?;
    let resize_bytes = u128::from(image.width()) * u128::from(height) * RESIZE_PIXEL_BYTES;
    if resize_bytes > MAX_RESIZE_BYTES {
        return Err(DataError::File {
            path: path.display().to_string(),
            message: format!(
                "the image is {}×{} pixels, too wide to resize to {width}×{height}: that needs {resize_bytes} bytes of working memory, more than the 2 GiB allowed",
                image.width(),
                image.height()
            ),
        });
    }
    let _guard = (resize_bytes > LARGE_RESIZE_BYTES)
        .then(|| large_resize.lock().unwrap_or_else(PoisonError::into_inner));
    // The raw buffers are interleaved (HWC); transpose them to CHW.
    let raw = if grayscale {
        imageops::resize(&image.to_luma8(), width, height, FilterType::Triangle).into_raw()
    } else {
        imageops::resize(&image.to_rgb8(), width, height, FilterType::Triangle).into_raw()
    };
    let channels = settings.channels();
    let pixels = width as usize * height as usize;
    for (channel, plane) in row.chunks_exact_mut(pixels).enumerate() {
        for (pixel, value) in plane.iter_mut().enumerate() {
            *value = f32::from(raw[pixel * channels + channel]);
        }
    }
    Ok(())
}

/// The entries of `folder` as (file name, path) pairs, unsorted.
fn read_folder(folder: &Path) -> Result<Vec<(OsString, PathBuf)>, DataError> {
    let io_error = |error| DataError::Io {
        source_name: folder.display().to_string(),
        error,
    };
    fs::read_dir(folder)
        .map_err(io_error)?
        .map(|entry| {
            let entry = entry.map_err(io_error)?;
            Ok((entry.file_name(), entry.path()))
        })
        .collect()
}

/// Whether `path` ends in one of [`IMAGE_EXTENSIONS`], in any case.
fn has_image_extension(path: &Path) -> bool {
    path.extension().is_some_and(|extension| {
        IMAGE_EXTENSIONS
            .iter()
            .any(|known| extension.eq_ignore_ascii_case(known))
    })
}

/// Reads and decodes one image, guessing the format from its contents and falling back on the
/// extension, so that a JPEG saved as `.png` still loads.
fn decode_image(path: &Path) -> Result<DynamicImage, DataError> {
    let file_error = |message: String| DataError::File {
        path: path.display().to_string(),
        message,
    };
    let bytes =
        fs::read(path).map_err(|error| file_error(format!("cannot read the image: {error}")))?;
    let mut reader = image::io::Reader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|error| file_error(format!("cannot read the image: {error}")))?;
    if reader.format().is_none()
        && let Ok(format) = ImageFormat::from_path(path)
    {
        reader.set_format(format);
    }
    // The decoders are third-party code that can panic on malformed files: jpeg-decoder 0.3.2
    // overflows a `u16` on some, which panics when overflow checks are on, as in debug builds
    // (image-rs/jpeg-decoder#283). Such a panic says the file is broken, like any decoding
    // error, so it becomes one. Nothing outlives the panic but the file's bytes, moved into the
    // closure and dropped with it, so no broken state can be observed afterwards.
    match panic::catch_unwind(AssertUnwindSafe(|| reader.decode())) {
        Ok(decoded) => {
            decoded.map_err(|error| file_error(format!("cannot decode the image: {error}")))
        }
        Err(payload) => {
            let reason = payload
                .downcast_ref::<&str>()
                .map(|reason| (*reason).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no reason given".to_owned());
            Err(file_error(format!(
                "cannot decode the image: the decoder panicked: {reason}"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use image::{Rgb, RgbImage};

    use super::*;

    /// A 4×3 image whose pixel (x, y) is `(10x + y, 100 + 10x + y, 200 + 10x + y)`, so every
    /// channel and position is distinguishable.
    fn gradient() -> RgbImage {
        RgbImage::from_fn(4, 3, |x, y| {
            let v = (10 * x + y) as u8;
            Rgb([v, 100 + v, 200 + v])
        })
    }

    /// A folder `pets/` with `cats/` (two PNGs and a text file) and `dogs/` (one uniform JPEG).
    fn pets() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("pets");
        fs::create_dir_all(root.join("cats")).unwrap();
        fs::create_dir_all(root.join("dogs")).unwrap();
        gradient().save(root.join("cats/b.png")).unwrap();
        RgbImage::from_pixel(4, 3, Rgb([1, 2, 3]))
            .save(root.join("cats/a.PNG"))
            .unwrap();
        fs::write(root.join("cats/notes.txt"), "not an image").unwrap();
        RgbImage::from_pixel(4, 3, Rgb([200, 100, 50]))
            .save(root.join("dogs/d.jpg"))
            .unwrap();
        (dir, root)
    }

    #[test]
    fn round_trip_stores_rgb_channel_major() {
        let (_dir, root) = pets();
        let data = load_image_folder(&root, 4, 3, false).unwrap();
        assert_eq!(data.name, "pets");
        assert_eq!(data.class_names, vec!["cats", "dogs"]);
        assert_eq!(data.labels, vec![0, 0, 1]);
        assert_eq!(data.image_shape, Some([3, 3, 4]));
        assert_eq!((data.n_features, data.n_classes), (36, 2));
        assert_eq!(data.features.len(), 3 * 36);
        // `a.PNG` sorts before `b.png`.
        assert!(data.row(0)[..12].iter().all(|&v| v == 1.0));
        assert!(data.row(0)[24..].iter().all(|&v| v == 3.0));
        // Pixel (x = 1, y = 2) of the gradient, one plane per channel.
        let row = data.row(1);
        let offset = 2 * 4 + 1;
        assert_eq!(
            [row[offset], row[12 + offset], row[24 + offset]],
            [12.0, 112.0, 212.0]
        );
        // The JPEG is lossy: a uniform colour comes back close, not exact.
        let jpeg = data.row(2);
        for (channel, expected) in [200.0_f32, 100.0, 50.0].into_iter().enumerate() {
            let plane = &jpeg[channel * 12..(channel + 1) * 12];
            assert!(
                plane.iter().all(|&v| (v - expected).abs() <= 8.0),
                "{plane:?}"
            );
        }
    }

    #[test]
    fn grayscale_has_one_channel() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("grey");
        for class in ["a", "b"] {
            fs::create_dir_all(root.join(class)).unwrap();
            RgbImage::from_pixel(4, 3, Rgb([90, 90, 90]))
                .save(root.join(class).join("x.png"))
                .unwrap();
        }
        let data = load_image_folder(&root, 4, 3, true).unwrap();
        assert_eq!(data.image_shape, Some([1, 3, 4]));
        assert_eq!(data.n_features, 12);
        assert!(data.features.iter().all(|&v| v == 90.0));
    }

    #[test]
    fn images_are_resized_to_the_requested_size() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("sizes");
        fs::create_dir_all(root.join("dark")).unwrap();
        fs::create_dir_all(root.join("split")).unwrap();
        RgbImage::from_pixel(4, 4, Rgb([40, 80, 120]))
            .save(root.join("dark/u.png"))
            .unwrap();
        // Left half black, right half white.
        let halves = RgbImage::from_fn(4, 4, |x, _| {
            if x < 2 {
                Rgb([0, 0, 0])
            } else {
                Rgb([255, 255, 255])
            }
        });
        halves.save(root.join("split/h.png")).unwrap();
        let data = load_image_folder(&root, 2, 2, false).unwrap();
        assert_eq!(data.image_shape, Some([3, 2, 2]));
        assert_eq!(data.n_features, 12);
        assert_eq!(
            data.row(0),
            &[
                40.0, 40.0, 40.0, 40.0, 80.0, 80.0, 80.0, 80.0, 120.0, 120.0, 120.0, 120.0
            ]
        );
        let expected = imageops::resize(&halves, 2, 2, FilterType::Triangle);
        let row = data.row(1);
        for y in 0..2 {
            for x in 0..2 {
                for channel in 0..3 {
                    let value = row[channel * 4 + (y * 2 + x) as usize];
                    assert_eq!(value, f32::from(expected.get_pixel(x, y)[channel]));
                }
            }
            // The left column stays darker than the right.
            assert!(row[(y * 2) as usize] < row[(y * 2 + 1) as usize]);
        }
    }

    #[test]
    fn zero_size_is_rejected() {
        let (_dir, root) = pets();
        let error = load_image_folder(&root, 0, 3, false).unwrap_err();
        assert_eq!(error.to_string(), "width = 0 is invalid: at least 1 pixel");
        let error = load_image_folder(&root, 4, 0, false).unwrap_err();
        assert_eq!(error.to_string(), "height = 0 is invalid: at least 1 pixel");
    }

    #[test]
    fn sizes_that_cannot_be_resized_to_are_refused() {
        // Found by fuzzing: u32::MAX × u32::MAX made the resize ask for hundreds of gigabytes,
        // which aborted the process rather than returning an error.
        let (_dir, root) = pets();
        let error = load_image_folder(&root, u32::MAX, u32::MAX, false).unwrap_err();
        assert_eq!(
            error.to_string(),
            "width × height = 4294967295 × 4294967295 is invalid: at most 2^27 pixels in all"
        );
        let error = load_image_folder(&root, 1 << 14, 1 << 14, true).unwrap_err();
        assert_eq!(
            error.to_string(),
            "width × height = 16384 × 16384 is invalid: at most 2^27 pixels in all"
        );
    }

    #[test]
    fn images_too_wide_to_resize_are_refused() {
        // A one-row image a million pixels wide is a few kilobytes as PNG, yet resizing it to
        // 135 rows would need a 2.16 GB intermediate buffer (1,000,000 × 135 × 16 bytes).
        let (_dir, root) = pets();
        let wide = root.join("dogs/wide.png");
        image::GrayImage::new(1_000_000, 1).save(&wide).unwrap();
        let error = load_image_folder(&root, 1, 135, false).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: the image is 1000000×1 pixels, too wide to resize to 1×135: that needs 2160000000 bytes of working memory, more than the 2 GiB allowed",
                wide.display()
            )
        );
        // Resizing it to a single row needs only 16 MB.
        let data = load_image_folder(&root, 1, 1, false).unwrap();
        assert_eq!(data.n_samples(), 4);
    }

    #[test]
    fn decoder_panics_become_errors() {
        // Found by fuzzing: a one-component JPEG claiming more than 65,528 rows makes
        // jpeg-decoder 0.3.2 overflow a `u16`, which panics when overflow checks are on. This is
        // a valid 8×8 greyscale JPEG whose frame header claims 65,535 rows.
        let mut jpeg = Cursor::new(Vec::new());
        image::GrayImage::from_pixel(8, 8, image::Luma([90]))
            .write_to(&mut jpeg, image::ImageOutputFormat::Jpeg(75))
            .unwrap();
        let mut jpeg = jpeg.into_inner();
        let frame = jpeg.windows(2).position(|w| w == [0xff, 0xc0]).unwrap();
        jpeg[frame + 5..frame + 7].copy_from_slice(&u16::MAX.to_be_bytes());
        let (_dir, root) = pets();
        let tall = root.join("dogs/tall.jpg");
        fs::write(&tall, &jpeg).unwrap();
        let result = load_image_folder(&root, 4, 3, false);
        // Without overflow checks the arithmetic wraps and the decoder carries on, so only a
        // build with them can see the panic turned into an error.
        if cfg!(debug_assertions) {
            assert_eq!(
                result.unwrap_err().to_string(),
                format!(
                    "{}: cannot decode the image: the decoder panicked: attempt to multiply with overflow",
                    tall.display()
                )
            );
        }
    }

    #[test]
    fn missing_root_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("absent");
        let error = load_image_folder(&root, 4, 3, false).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: folder not found; expected a folder with one subfolder of images per class",
                root.display()
            )
        );
    }

    #[test]
    fn root_that_is_a_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("file.png");
        gradient().save(&root).unwrap();
        let error = load_image_folder(&root, 4, 3, false).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: not a folder; expected a folder with one subfolder of images per class",
                root.display()
            )
        );
    }

    #[test]
    fn single_class_folder_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("one");
        fs::create_dir_all(root.join("cats")).unwrap();
        gradient().save(root.join("cats/a.png")).unwrap();
        // A loose image beside the class folders is not a class.
        gradient().save(root.join("stray.png")).unwrap();
        let error = load_image_folder(&root, 4, 3, false).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: expected at least 2 class folders, one per class; found only `cats`",
                root.display()
            )
        );
    }

    #[test]
    fn class_folder_without_images_is_reported() {
        let (_dir, root) = pets();
        fs::remove_file(root.join("dogs/d.jpg")).unwrap();
        fs::write(root.join("dogs/readme.txt"), "no images here").unwrap();
        let error = load_image_folder(&root, 4, 3, false).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: class folder holds no .png, .jpg or .jpeg images",
                root.join("dogs").display()
            )
        );
    }

    /// `root/a/` and `root/b/` with `per_class` distinct 9×7 images each, PNG and JPEG mixed.
    fn many(per_class: u8) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("many");
        for (class, base) in [("a", 0u8), ("b", 128)] {
            fs::create_dir_all(root.join(class)).unwrap();
            for i in 0..per_class {
                let image = RgbImage::from_fn(9, 7, |x, y| {
                    let v = base
                        .wrapping_add(i.wrapping_mul(13))
                        .wrapping_add((x * 5 + y) as u8);
                    Rgb([v, v.wrapping_mul(3), 255 - v])
                });
                let extension = if i % 3 == 0 { "jpg" } else { "png" };
                image
                    .save(root.join(class).join(format!("{i:02}.{extension}")))
                    .unwrap();
            }
        }
        (dir, root)
    }

    #[test]
    fn decoding_on_many_threads_gives_the_bytes_of_one() {
        let (_dir, root) = many(13);
        for grayscale in [false, true] {
            let settings = DecodeSettings::new(5, 4, grayscale).unwrap();
            let listing = list_image_folder(&root).unwrap();
            let decode = |workers| {
                let mut features = vec![0.0; listing.files.len() * settings.n_features()];
                decode_on(&listing.files, &settings, &mut features, workers).unwrap();
                features.iter().map(|v| v.to_bits()).collect::<Vec<u32>>()
            };
            let one = decode(1);
            for workers in [2, 3, 4, 7, 64] {
                assert_eq!(decode(workers), one, "{workers} workers");
            }
            let data = load_image_folder(&root, 5, 4, grayscale).unwrap();
            assert_eq!(data.n_samples(), 26);
            assert_eq!(data.labels, [vec![0; 13], vec![1; 13]].concat());
            let bits: Vec<u32> = data.features.iter().map(|v| v.to_bits()).collect();
            assert_eq!(bits, one);
            // Row 14 is b/01.png, decoded on its own.
            let single = decode_image(&root.join("b/01.png")).unwrap();
            let expected = imageops::resize(&single.to_rgb8(), 5, 4, FilterType::Triangle);
            if !grayscale {
                assert_eq!(data.row(14)[7], f32::from(expected.get_pixel(2, 1)[0]));
            }
        }
    }

    #[test]
    fn the_first_broken_image_in_load_order_is_reported() {
        let (_dir, root) = many(12);
        for broken in ["a/09.png", "b/00.jpg", "a/04.png", "b/10.png"] {
            fs::write(root.join(broken), "broken").unwrap();
        }
        let settings = DecodeSettings::new(3, 3, false).unwrap();
        let listing = list_image_folder(&root).unwrap();
        for workers in [1, 2, 3, 5, 8, 24] {
            for _ in 0..5 {
                let mut features = vec![0.0; listing.files.len() * settings.n_features()];
                let error = decode_on(&listing.files, &settings, &mut features, workers)
                    .unwrap_err()
                    .to_string();
                assert!(
                    error.starts_with(&format!(
                        "{}: cannot decode",
                        root.join("a/04.png").display()
                    )),
                    "{workers} workers: {error}"
                );
            }
        }
    }

    #[test]
    fn a_broken_image_is_reported_before_a_later_class_folder_without_images() {
        let (_dir, root) = many(3);
        for entry in fs::read_dir(root.join("b")).unwrap() {
            fs::remove_file(entry.unwrap().path()).unwrap();
        }
        let empty = format!(
            "{}: class folder holds no .png, .jpg or .jpeg images",
            root.join("b").display()
        );
        assert_eq!(
            load_image_folder(&root, 3, 3, false)
                .unwrap_err()
                .to_string(),
            empty
        );
        // Classes are read in order, so the broken image of the first comes first.
        let broken = root.join("a/02.png");
        fs::write(&broken, "broken").unwrap();
        let error = load_image_folder(&root, 3, 3, false)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(&format!("{}: cannot decode", broken.display())),
            "{error}"
        );
    }

    #[test]
    fn undecodable_image_names_the_file_and_the_decoder_error() {
        let (_dir, root) = pets();
        let broken = root.join("dogs/broken.png");
        fs::write(&broken, "not a png").unwrap();
        let error = load_image_folder(&root, 4, 3, false).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: cannot decode the image: Format error decoding Png: Invalid PNG signature.",
                broken.display()
            )
        );
    }
}
