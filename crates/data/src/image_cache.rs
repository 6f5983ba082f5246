//! A cache of decoded image folders, so that a folder of thousands of JPEGs is decoded once.
//!
//! A cache file holds one decoded folder at one decode setting. Its name is the SHA-256 of the
//! format version, the decode settings (width, height, grayscale) and, for every image in load
//! order, its path relative to the root, its size in bytes and its modification time in
//! nanoseconds; so any added, removed, renamed, rewritten or touched image, or another setting,
//! names another file. The contents (all integers little-endian):
//!
//! ```text
//! magic         8 bytes   b"lnimgfc\0"
//! version       u32       FORMAT_VERSION
//! key           32 bytes  the SHA-256 the file is named after
//! shape         3 × u32   channels, height, width
//! n_samples     u64
//! n_classes     u64
//! class names   n_classes × (u64 length, UTF-8 bytes)
//! labels        n_samples × u64
//! features      n_samples · channels · height · width × f32
//! checksum      32 bytes  SHA-256 of everything above
//! ```
//!
//! Every field is checked on reading, the class names and labels against the folder as listed
//! now, and a file that fails any check is treated as missing: the folder is decoded and the file
//! replaced. Files are written to a uniquely named temporary file in the cache folder, flushed to
//! disk and renamed, so a reader never sees a partial one.

use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::dataset::{DataError, Dataset};
use crate::image_folder::{
    DecodeSettings, Listing, class_names, dataset_name, decode_listing, list_image_folder,
};

/// The version of the cache format and of the decoding it stores. Bump it whenever either
/// changes (including an upgrade of the `image` crate that changes decoded or resized pixels),
/// so that files written before are no longer found.
const FORMAT_VERSION: u32 = 1;
/// The first bytes of every cache file.
const MAGIC: [u8; 8] = *b"lnimgfc\0";
/// Bytes of a SHA-256.
const DIGEST_LEN: usize = 32;
/// Bytes read or written at a time for the features.
const CHUNK_BYTES: usize = 1 << 16;

/// Tells the temporary files of one process apart.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// What [`load_image_folder_cached`] did with its cache folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheStatus {
    /// No cache folder was given: the images were decoded and nothing was written.
    Disabled,
    /// The data set was read from this cache file; no image was decoded.
    Hit(PathBuf),
    /// The images were decoded and stored in this cache file for the next load (there was none
    /// for this folder and these settings, or it was incomplete or corrupt).
    Stored(PathBuf),
    /// The images were decoded but could not be cached; the reason names the file or folder
    /// concerned and what went wrong. The load itself succeeded.
    NotStored(String),
}

/// A data set loaded by [`load_image_folder_cached`], and how the cache took part.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedImageFolder {
    /// The data set, exactly as [`load_image_folder`](crate::load_image_folder) returns it.
    pub dataset: Dataset,
    /// Whether it came from the cache, was stored there, or neither.
    pub cache: CacheStatus,
}

/// Loads an image folder as [`load_image_folder`](crate::load_image_folder) does, reading the
/// decoded images from `cache_dir` when they are there and storing them there when not.
///
/// The data set, and every error for a folder that cannot be loaded, is the same as that of
/// `load_image_folder(root, width, height, grayscale)`, byte for byte: only the time differs. A
/// cache file is used when the folder's image files, in load order, have the same paths
/// relative to `root`, sizes and modification times as when it was written, and the decode
/// settings are the same (see the module documentation for the format). A missing, truncated
/// or corrupt cache file is ignored and replaced. `cache_dir` (created if need be) is never a
/// reason to fail: when it cannot be created or written the images are decoded as without a
/// cache, and [`CacheStatus::NotStored`] says why. With `cache_dir` `None` nothing is read or
/// written.
///
/// The folder is listed and every image's metadata read on each call, but images are decoded
/// only when the cache cannot serve them; stale cache files are not removed (delete the cache
/// folder at any time to reclaim the space).
pub fn load_image_folder_cached(
    root: &Path,
    width: u32,
    height: u32,
    grayscale: bool,
    cache_dir: Option<&Path>,
) -> Result<CachedImageFolder, DataError> {
    let settings = DecodeSettings::new(width, height, grayscale)?;
    let listing = list_image_folder(root)?;
    let decoded = |listing, cache| {
        Ok(CachedImageFolder {
            dataset: decode_listing(root, listing, &settings)?,
            cache,
        })
    };
    // A folder that cannot be loaded is reported exactly as without a cache.
    let Some(cache_dir) = cache_dir.filter(|_| listing.error.is_none()) else {
        return decoded(listing, CacheStatus::Disabled);
    };
    let key = match cache_key(&listing, &settings) {
        Ok(key) => key,
        Err(reason) => return decoded(listing, CacheStatus::NotStored(reason)),
    };
    let path = cache_dir.join(format!("image-folder-{}.bin", hex(&key)));
    if let Some(dataset) = read_cache(&path, &key, root, &listing, &settings) {
        return Ok(CachedImageFolder {
            dataset,
            cache: CacheStatus::Hit(path),
        });
    }
    let dataset = decode_listing(root, listing, &settings)?;
    let cache = match write_cache(cache_dir, &path, &key, &dataset) {
        Ok(()) => CacheStatus::Stored(path),
        Err(reason) => CacheStatus::NotStored(reason),
    };
    Ok(CachedImageFolder { dataset, cache })
}

/// Loads an image folder that comes with its own test split: the training images from
/// `train_root` and the test images from `test_root`, each laid out as `<class>/<image>` and
/// each loaded (and cached in `cache_dir`) as [`load_image_folder_cached`] loads one folder.
///
/// Both folders must hold the same class folders, so that a label means the same class in both:
/// the two are listed before any image is decoded, and a test folder whose class folders differ
/// is an error naming both lists. Every other error is that of loading either folder alone, the
/// training folder's first.
pub fn load_image_folder_split_cached(
    train_root: &Path,
    test_root: &Path,
    width: u32,
    height: u32,
    grayscale: bool,
    cache_dir: Option<&Path>,
) -> Result<(CachedImageFolder, CachedImageFolder), DataError> {
    DecodeSettings::new(width, height, grayscale)?;
    let train_classes = list_image_folder(train_root)?.class_folders;
    let test_classes = list_image_folder(test_root)?.class_folders;
    if train_classes != test_classes {
        let names = |classes: &[std::ffi::OsString]| {
            classes
                .iter()
                .map(|name| format!("`{}`", name.to_string_lossy()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(DataError::File {
            path: test_root.display().to_string(),
            message: format!(
                "its class folders are {}, but those of the training folder {} are {}; the test folder needs the same class folders",
                names(&test_classes),
                train_root.display(),
                names(&train_classes)
            ),
        });
    }
    let train = load_image_folder_cached(train_root, width, height, grayscale, cache_dir)?;
    let test = load_image_folder_cached(test_root, width, height, grayscale, cache_dir)?;
    Ok((train, test))
}

/// The SHA-256 naming the cache file of `listing` decoded with `settings`; an error when an
/// image's modification time cannot be read, without which a changed image could go unnoticed.
fn cache_key(listing: &Listing, settings: &DecodeSettings) -> Result<[u8; DIGEST_LEN], String> {
    let mut hasher = Sha256::new();
    hasher.update(b"labelnoise image-folder cache\0");
    hasher.update(FORMAT_VERSION.to_le_bytes());
    hasher.update(settings.width.to_le_bytes());
    hasher.update(settings.height.to_le_bytes());
    hasher.update([u8::from(settings.grayscale)]);
    hasher.update((listing.files.len() as u64).to_le_bytes());
    for file in &listing.files {
        let relative = Path::new(&listing.class_folders[file.label]).join(&file.name);
        let relative = relative.as_os_str().as_encoded_bytes();
        hasher.update((relative.len() as u64).to_le_bytes());
        hasher.update(relative);
        hasher.update(file.metadata.len().to_le_bytes());
        let modified = file.metadata.modified().map_err(|error| {
            format!(
                "{}: cannot read the modification time ({error}), so a cache could not tell when the image changes",
                file.path.display()
            )
        })?;
        hasher.update(nanoseconds_since_epoch(modified).to_le_bytes());
    }
    Ok(hasher.finalize().into())
}

/// `time` in nanoseconds since the Unix epoch, negative before it.
fn nanoseconds_since_epoch(time: SystemTime) -> i128 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_nanos() as i128,
        Err(before) => -(before.duration().as_nanos() as i128),
    }
}

/// Lower-case hexadecimal.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The header of a cache file, up to and including the labels.
fn header(key: &[u8; DIGEST_LEN], dataset: &Dataset) -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(key);
    for dim in dataset.image_shape.unwrap_or_default() {
        // Decode settings bound every dimension by 2^27.
        bytes.extend_from_slice(&(dim as u32).to_le_bytes());
    }
    bytes.extend_from_slice(&(dataset.n_samples() as u64).to_le_bytes());
    bytes.extend_from_slice(&(dataset.n_classes as u64).to_le_bytes());
    for name in &dataset.class_names {
        bytes.extend_from_slice(&(name.len() as u64).to_le_bytes());
        bytes.extend_from_slice(name.as_bytes());
    }
    for &label in &dataset.labels {
        bytes.extend_from_slice(&(label as u64).to_le_bytes());
    }
    bytes
}

/// Writes `dataset` to `path` in `cache_dir` through a temporary file, flushed and renamed; the
/// error says which file or folder failed and how.
fn write_cache(
    cache_dir: &Path,
    path: &Path,
    key: &[u8; DIGEST_LEN],
    dataset: &Dataset,
) -> Result<(), String> {
    fs::create_dir_all(cache_dir).map_err(|error| {
        format!(
            "cannot create the cache folder {}: {error}",
            cache_dir.display()
        )
    })?;
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.subsec_nanos());
    let temp = cache_dir.join(format!(
        ".image-folder-{}.{}-{stamp:09}-{}.tmp",
        hex(&key[..8]),
        process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed),
    ));
    let result = write_file(&temp, key, dataset).and_then(|()| fs::rename(&temp, path));
    result.map_err(|error| {
        // Nothing else names the temporary file; a failure to remove it leaves only litter.
        let _ = fs::remove_file(&temp);
        format!("cannot write the cache file {}: {error}", path.display())
    })
}

/// Writes the cache file of `dataset` to the new file `path` and flushes it to disk.
fn write_file(path: &Path, key: &[u8; DIGEST_LEN], dataset: &Dataset) -> io::Result<()> {
    let mut file = File::create_new(path)?;
    let mut hasher = Sha256::new();
    let header = header(key, dataset);
    hasher.update(&header);
    file.write_all(&header)?;
    let mut chunk = Vec::with_capacity(CHUNK_BYTES);
    for values in dataset.features.chunks(CHUNK_BYTES / 4) {
        chunk.clear();
        for value in values {
            chunk.extend_from_slice(&value.to_le_bytes());
        }
        hasher.update(&chunk);
        file.write_all(&chunk)?;
    }
    file.write_all(&hasher.finalize())?;
    file.sync_all()
}

/// Reads a cache file and hashes what it reads, never reading past the file's length.
struct CacheReader {
    inner: BufReader<File>,
    hasher: Sha256,
    /// Bytes of the file not yet read.
    left: u64,
}

impl CacheReader {
    /// Fills `buffer` from the file; `None` when the file ends first.
    fn fill(&mut self, buffer: &mut [u8]) -> Option<()> {
        self.left = self.left.checked_sub(buffer.len() as u64)?;
        self.inner.read_exact(buffer).ok()?;
        self.hasher.update(&*buffer);
        Some(())
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let mut bytes = [0; N];
        self.fill(&mut bytes)?;
        Some(bytes)
    }

    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_le_bytes)
    }
}

/// The data set stored at `path` for `key`, if the file is there, complete, intact and agrees
/// with `listing` and `settings` in every field; `None` otherwise.
fn read_cache(
    path: &Path,
    key: &[u8; DIGEST_LEN],
    root: &Path,
    listing: &Listing,
    settings: &DecodeSettings,
) -> Option<Dataset> {
    let file = File::open(path).ok()?;
    let left = file.metadata().ok()?.len();
    let mut reader = CacheReader {
        inner: BufReader::with_capacity(CHUNK_BYTES, file),
        hasher: Sha256::new(),
        left,
    };
    let expect = |ok: bool| ok.then_some(());
    expect(reader.array::<8>()? == MAGIC)?;
    expect(reader.u32()? == FORMAT_VERSION)?;
    expect(reader.array::<DIGEST_LEN>()? == *key)?;
    for dim in settings.image_shape() {
        expect(u64::from(reader.u32()?) == dim as u64)?;
    }
    let n_samples = listing.files.len();
    expect(reader.u64()? == n_samples as u64)?;
    let class_names = class_names(listing);
    expect(reader.u64()? == class_names.len() as u64)?;
    for name in &class_names {
        // The length is compared before anything that long is read.
        expect(reader.u64()? == name.len() as u64)?;
        let mut stored = vec![0; name.len()];
        reader.fill(&mut stored)?;
        expect(stored == name.as_bytes())?;
    }
    for file in &listing.files {
        let label = reader.u64()?;
        expect(label < class_names.len() as u64 && label == file.label as u64)?;
    }
    let n_values = n_samples.checked_mul(settings.n_features())?;
    let feature_bytes = (n_values as u64).checked_mul(4)?;
    expect(reader.left == feature_bytes.checked_add(DIGEST_LEN as u64)?)?;
    // The file really holds this many bytes, so the allocation is what the data needs.
    let mut features = Vec::with_capacity(n_values);
    let mut chunk = vec![0; CHUNK_BYTES];
    while features.len() < n_values {
        let take = ((n_values - features.len()) * 4).min(CHUNK_BYTES);
        reader.fill(&mut chunk[..take])?;
        features.extend(
            chunk[..take]
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
    }
    let computed: [u8; DIGEST_LEN] = reader.hasher.clone().finalize().into();
    expect(reader.array::<DIGEST_LEN>()? == computed && reader.left == 0)?;
    Some(Dataset {
        name: dataset_name(root),
        features,
        labels: listing.files.iter().map(|file| file.label).collect(),
        n_features: settings.n_features(),
        n_classes: class_names.len(),
        class_names,
        image_shape: Some(settings.image_shape()),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use image::{Rgb, RgbImage};

    use super::*;
    use crate::load_image_folder;

    /// `root/<class>/<n>.png` for 2 classes of 5 distinct 6×5 images each.
    fn folder() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("shapes");
        for (class, base) in [("circles", 10u8), ("squares", 120)] {
            fs::create_dir_all(root.join(class)).unwrap();
            for i in 0..5u8 {
                image(base + i * 9)
                    .save(root.join(class).join(format!("{i}.png")))
                    .unwrap();
            }
        }
        (dir, root)
    }

    /// A 6×5 image with a different value in every channel and position, offset by `shade`.
    fn image(shade: u8) -> RgbImage {
        RgbImage::from_fn(6, 5, |x, y| {
            let v = shade.wrapping_add((7 * x + 3 * y) as u8);
            Rgb([v, v.wrapping_add(50), v.wrapping_add(100)])
        })
    }

    fn load(root: &Path, cache: &Path) -> CachedImageFolder {
        load_image_folder_cached(root, 4, 3, false, Some(cache)).unwrap()
    }

    /// The one cache file in `cache`, checking that no temporary file was left beside it.
    fn only_cache_file(cache: &Path) -> PathBuf {
        let files: Vec<PathBuf> = fs::read_dir(cache)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        files.into_iter().next().unwrap()
    }

    #[test]
    fn cached_load_equals_uncached_load_and_the_second_is_a_hit() {
        let (dir, root) = folder();
        let cache = dir.path().join("cache");
        let uncached = load_image_folder(&root, 4, 3, false).unwrap();
        let first = load(&root, &cache);
        let stored = only_cache_file(&cache);
        assert_eq!(first.cache, CacheStatus::Stored(stored.clone()));
        assert_eq!(first.dataset, uncached);
        let second = load(&root, &cache);
        assert_eq!(second.cache, CacheStatus::Hit(stored.clone()));
        assert_eq!(second.dataset, uncached);
        // Byte for byte, not only as floats compare.
        let bits = |data: &Dataset| {
            data.features
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>()
        };
        assert_eq!(bits(&second.dataset), bits(&uncached));
        // The file is named after its key and holds what the module documentation says.
        let name = stored.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("image-folder-") && name.ends_with(".bin"),
            "{name}"
        );
        let bytes = fs::read(&stored).unwrap();
        assert_eq!(&bytes[..8], b"lnimgfc\0");
        assert_eq!(&bytes[12..44], hex_decode(&name[13..77]).as_slice());
        let header_len = 8 + 4 + 32 + 12 + 8 + 8 + (8 + 7) + (8 + 7) + 10 * 8;
        assert_eq!(bytes.len(), header_len + 10 * 36 * 4 + 32);
        // The same folder under another name is served by the same file, named after itself.
        let moved = dir.path().join("moved");
        fs::rename(&root, &moved).unwrap();
        let third = load(&moved, &cache);
        assert_eq!(third.cache, CacheStatus::Hit(stored));
        assert_eq!(third.dataset.name, "moved");
        assert_eq!(third.dataset.features, uncached.features);
    }

    fn hex_decode(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn without_a_cache_folder_nothing_is_written() {
        let (dir, root) = folder();
        let loaded = load_image_folder_cached(&root, 4, 3, false, None).unwrap();
        assert_eq!(loaded.cache, CacheStatus::Disabled);
        assert_eq!(
            loaded.dataset,
            load_image_folder(&root, 4, 3, false).unwrap()
        );
        let entries: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(entries.len(), 1);
    }

    #[test]
    fn changed_images_miss_the_cache() {
        let (dir, root) = folder();
        let cache = dir.path().join("cache");
        let image_path = root.join("squares/3.png");
        let mut seen = vec![only_key(&load(&root, &cache))];
        let mut check_miss = |what: &str| {
            let loaded = load(&root, &cache);
            assert!(
                matches!(loaded.cache, CacheStatus::Stored(_)),
                "{what}: {:?}",
                loaded.cache
            );
            assert_eq!(
                loaded.dataset,
                load_image_folder(&root, 4, 3, false).unwrap(),
                "{what}"
            );
            let key = only_key(&loaded);
            assert!(!seen.contains(&key), "{what}");
            seen.push(key);
            assert!(
                matches!(load(&root, &cache).cache, CacheStatus::Hit(_)),
                "{what}"
            );
        };

        // Other content of another size.
        RgbImage::from_pixel(6, 5, Rgb([1, 2, 3]))
            .save(&image_path)
            .unwrap();
        check_miss("rewritten");
        // The same bytes, another modification time.
        let file = File::options().write(true).open(&image_path).unwrap();
        let modified = file.metadata().unwrap().modified().unwrap();
        file.set_modified(modified - Duration::from_secs(3600))
            .unwrap();
        drop(file);
        check_miss("touched");
        // An image added, then renamed.
        image(200).save(root.join("circles/9.png")).unwrap();
        check_miss("added");
        fs::rename(root.join("circles/9.png"), root.join("circles/8.png")).unwrap();
        check_miss("renamed");
        // Removed again: the folder is as it was when touched, and so is its key.
        fs::remove_file(root.join("circles/8.png")).unwrap();
        let loaded = load(&root, &cache);
        assert!(
            matches!(loaded.cache, CacheStatus::Hit(_)),
            "{:?}",
            loaded.cache
        );
        assert_eq!(only_key(&loaded), seen[2]);
    }

    /// The key (as hex) of the cache file a load used or wrote.
    fn only_key(loaded: &CachedImageFolder) -> String {
        match &loaded.cache {
            CacheStatus::Hit(path) | CacheStatus::Stored(path) => {
                path.file_name().unwrap().to_string_lossy().into_owned()
            }
            other => panic!("expected a cache file, got {other:?}"),
        }
    }

    #[test]
    fn changed_settings_miss_the_cache() {
        let (dir, root) = folder();
        let cache = dir.path().join("cache");
        let mut keys = Vec::new();
        for (width, height, grayscale) in
            [(4, 3, false), (3, 4, false), (4, 4, false), (4, 3, true)]
        {
            let loaded =
                load_image_folder_cached(&root, width, height, grayscale, Some(&cache)).unwrap();
            assert!(matches!(loaded.cache, CacheStatus::Stored(_)), "{loaded:?}");
            assert_eq!(
                loaded.dataset,
                load_image_folder(&root, width, height, grayscale).unwrap()
            );
            keys.push(only_key(&loaded));
        }
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), 4);
        let again = load_image_folder_cached(&root, 4, 3, true, Some(&cache)).unwrap();
        assert!(matches!(again.cache, CacheStatus::Hit(_)));
        assert_eq!(again.dataset.image_shape, Some([1, 3, 4]));
    }

    #[test]
    fn corrupt_or_truncated_cache_files_are_ignored_and_replaced() {
        let (dir, root) = folder();
        let cache = dir.path().join("cache");
        let expected = load_image_folder(&root, 4, 3, false).unwrap();
        load(&root, &cache);
        let path = only_cache_file(&cache);
        let good = fs::read(&path).unwrap();
        let mut damaged: Vec<(String, Vec<u8>)> = Vec::new();
        for len in [
            0,
            1,
            7,
            8,
            12,
            44,
            100,
            good.len() / 2,
            good.len() - 33,
            good.len() - 1,
        ] {
            damaged.push((format!("cut to {len} bytes"), good[..len].to_vec()));
        }
        let mut longer = good.clone();
        longer.push(0);
        damaged.push(("one byte too many".into(), longer));
        // Every field: magic, version, key, shape, counts, a class name, a label, a feature, the
        // checksum.
        for at in [
            0,
            9,
            20,
            45,
            57,
            65,
            75,
            100,
            200,
            good.len() - 40,
            good.len() - 1,
        ] {
            let mut flipped = good.clone();
            flipped[at] ^= 0x10;
            damaged.push((format!("byte {at} flipped"), flipped));
        }
        for (what, bytes) in damaged {
            fs::write(&path, &bytes).unwrap();
            let loaded = load(&root, &cache);
            assert_eq!(loaded.cache, CacheStatus::Stored(path.clone()), "{what}");
            assert_eq!(loaded.dataset, expected, "{what}");
            assert_eq!(fs::read(&path).unwrap(), good, "{what}: not replaced");
            assert_eq!(only_cache_file(&cache), path);
        }
        // A label changed consistently (checksum recomputed) is still caught: it must agree
        // with the folder.
        let labels_at = 8 + 4 + 32 + 12 + 8 + 8 + (8 + 7) + (8 + 7);
        let mut relabelled = good.clone();
        relabelled[labels_at] = 1;
        let body = relabelled.len() - 32;
        let checksum = Sha256::digest(&relabelled[..body]);
        relabelled[body..].copy_from_slice(&checksum);
        fs::write(&path, &relabelled).unwrap();
        assert_eq!(load(&root, &cache).cache, CacheStatus::Stored(path.clone()));
        assert_eq!(load(&root, &cache).cache, CacheStatus::Hit(path));
    }

    #[test]
    fn randomly_damaged_cache_files_never_serve_wrong_data() {
        use rand::{RngExt, SeedableRng};
        let (dir, root) = folder();
        let cache = dir.path().join("cache");
        let expected = load_image_folder(&root, 4, 3, false).unwrap();
        load(&root, &cache);
        let path = only_cache_file(&cache);
        let good = fs::read(&path).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for iteration in 0..100 {
            let mut bytes = good.clone();
            for _ in 0..rng.random_range(1..4) {
                let at = rng.random_range(0..bytes.len());
                match rng.random_range(0..4) {
                    0 => bytes[at] = rng.random(),
                    1 => bytes.truncate(at),
                    2 => bytes.insert(at, rng.random()),
                    _ => {
                        bytes.remove(at);
                    }
                }
                if bytes.is_empty() {
                    break;
                }
            }
            fs::write(&path, &bytes).unwrap();
            let loaded = load(&root, &cache);
            assert_eq!(loaded.dataset, expected, "iteration {iteration}");
            let status = if bytes == good {
                CacheStatus::Hit(path.clone())
            } else {
                CacheStatus::Stored(path.clone())
            };
            assert_eq!(loaded.cache, status, "iteration {iteration}");
        }
    }

    #[test]
    fn an_unusable_cache_folder_still_loads() {
        let (dir, root) = folder();
        let expected = load_image_folder(&root, 4, 3, false).unwrap();
        // A file where the folder should be: it can be neither created nor written, whoever
        // runs the test (permissions would not stop root).
        let blocker = dir.path().join("not-a-folder");
        fs::write(&blocker, "a file").unwrap();
        for cache in [blocker.clone(), blocker.join("cache")] {
            let loaded = load(&root, &cache);
            assert_eq!(loaded.dataset, expected);
            match loaded.cache {
                CacheStatus::NotStored(reason) => assert!(
                    reason.starts_with(&format!(
                        "cannot create the cache folder {}: ",
                        cache.display()
                    )),
                    "{reason}"
                ),
                other => panic!("expected NotStored, got {other:?}"),
            }
        }
        assert_eq!(fs::read_to_string(&blocker).unwrap(), "a file");
    }

    /// `root/<train>/<class>/` and `root/<test>/<class>/` with 4 and 2 distinct images a class.
    fn split_folder(train: &str, test: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("pets");
        for (part, per_class, offset) in [(train, 4u8, 0u8), (test, 2, 100)] {
            for (class, base) in [("cats", 10u8), ("dogs", 120)] {
                let folder = root.join(part).join(class);
                fs::create_dir_all(&folder).unwrap();
                for i in 0..per_class {
                    image(base + offset / 4 + i * 9)
                        .save(folder.join(format!("{part}-{i}.png")))
                        .unwrap();
                }
            }
        }
        (dir, root)
    }

    #[test]
    fn a_folder_with_its_own_split_is_found_and_both_parts_are_cached() {
        for (train, test) in crate::IMAGE_FOLDER_SPLIT_NAMES {
            let (dir, root) = split_folder(train, test);
            let split = crate::find_image_folder_split(&root).unwrap();
            assert_eq!(
                split,
                crate::ImageFolderSplit {
                    train: root.join(train),
                    test: root.join(test),
                }
            );
            let cache = dir.path().join("cache");
            let load = || {
                load_image_folder_split_cached(&split.train, &split.test, 4, 3, false, Some(&cache))
                    .unwrap()
            };
            let (first_train, first_test) = load();
            assert!(
                matches!(first_train.cache, CacheStatus::Stored(_)),
                "{train}"
            );
            assert!(matches!(first_test.cache, CacheStatus::Stored(_)), "{test}");
            assert_eq!(fs::read_dir(&cache).unwrap().count(), 2);
            let (second_train, second_test) = load();
            assert!(matches!(second_train.cache, CacheStatus::Hit(_)), "{train}");
            assert!(matches!(second_test.cache, CacheStatus::Hit(_)), "{test}");
            for (loaded, folder) in [(second_train, &split.train), (second_test, &split.test)] {
                assert_eq!(
                    loaded.dataset,
                    load_image_folder(folder, 4, 3, false).unwrap()
                );
            }
            assert_eq!(first_train.dataset.n_samples(), 8);
            assert_eq!(first_test.dataset.n_samples(), 4);
            assert_eq!(first_test.dataset.class_names, ["cats", "dogs"]);
        }
        // Half a pair is not a split: its folder is a class like any other.
        let (_dir, root) = split_folder("train", "valid");
        assert_eq!(crate::find_image_folder_split(&root), None);
        let (_dir, root) = folder();
        assert_eq!(crate::find_image_folder_split(&root), None);
    }

    #[test]
    fn a_test_folder_with_other_classes_is_refused_before_decoding() {
        let (dir, root) = split_folder("train", "test");
        let (train, test) = (root.join("train"), root.join("test"));
        fs::rename(test.join("dogs"), test.join("wolves")).unwrap();
        let cache = dir.path().join("cache");
        let error =
            load_image_folder_split_cached(&train, &test, 4, 3, false, Some(&cache)).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: its class folders are `cats`, `wolves`, but those of the training folder {} are `cats`, `dogs`; the test folder needs the same class folders",
                test.display(),
                train.display()
            )
        );
        assert!(!cache.exists(), "nothing is decoded or cached");
        // A missing test folder is reported as any missing image folder.
        let missing = root.join("absent");
        assert_eq!(
            load_image_folder_split_cached(&train, &missing, 4, 3, false, None)
                .unwrap_err()
                .to_string(),
            load_image_folder(&missing, 4, 3, false)
                .unwrap_err()
                .to_string()
        );
    }

    #[test]
    fn errors_are_those_of_the_uncached_loader() {
        let (dir, root) = folder();
        let cache = dir.path().join("cache");
        fs::write(root.join("circles/2.png"), "not a png").unwrap();
        let uncached = load_image_folder(&root, 4, 3, false)
            .unwrap_err()
            .to_string();
        let cached = load_image_folder_cached(&root, 4, 3, false, Some(&cache))
            .unwrap_err()
            .to_string();
        assert_eq!(cached, uncached);
        assert!(!cache.exists());
        let error = load_image_folder_cached(&root, 0, 3, false, Some(&cache)).unwrap_err();
        assert_eq!(error.to_string(), "width = 0 is invalid: at least 1 pixel");
        // A cache file written before the image broke is not used to hide the breakage: the
        // broken file has another size and time.
        fs::remove_file(root.join("circles/2.png")).unwrap();
        assert!(matches!(load(&root, &cache).cache, CacheStatus::Stored(_)));
        fs::write(root.join("circles/2.png"), "not a png").unwrap();
        let cached = load_image_folder_cached(&root, 4, 3, false, Some(&cache))
            .unwrap_err()
            .to_string();
        assert_eq!(cached, uncached);
        // An emptied class folder is reported as such.
        for entry in fs::read_dir(root.join("squares")).unwrap() {
            fs::remove_file(entry.unwrap().path()).unwrap();
        }
        fs::remove_file(root.join("circles/2.png")).unwrap();
        assert_eq!(
            load_image_folder_cached(&root, 4, 3, false, Some(&cache))
                .unwrap_err()
                .to_string(),
            load_image_folder(&root, 4, 3, false)
                .unwrap_err()
                .to_string()
        );
    }
}
