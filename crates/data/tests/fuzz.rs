//! Time-bounded mutation fuzzing of every file loader in `data`: each target starts from small
//! valid inputs, mutates their bytes (and, for folders, their layout) with a seeded ChaCha8
//! generator, and checks that the loader returns `Ok` or `Err` without panicking and that every
//! data set it accepts is self-consistent.
//!
//! Each target runs for `LABELNOISE_FUZZ_SECONDS` seconds (default 8) or 1,000,000 executions,
//! whichever comes first; `LABELNOISE_FUZZ_SEED` (default 0) picks another sequence of inputs.
//! Execution `i` is generated from the seed and `i` alone, so a failure names both and the input
//! can be regenerated; it is also saved under `fuzz-crashes/` in the Cargo target folder. Run
//! with `--nocapture` to see the execution counts.

use std::any::Any;
use std::fmt::Debug;
use std::fs;
use std::io::{Cursor, Read, Write};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use data::{
    Cifar100Labels, Dataset, find_idx_files, load_cifar10, load_cifar100, load_csv_table, load_idx,
    load_image_folder,
};
use flate2::Compression;
use flate2::read::{MultiGzDecoder, ZlibDecoder};
use flate2::write::{GzEncoder, ZlibEncoder};
use image::{DynamicImage, ImageBuffer, ImageOutputFormat, Luma, Rgb, Rgba};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The embedded digits decoder, compiled a second time into this test: its parser takes text,
/// but the library only exposes it through `digits()`, which always reads the same bundled file.
/// Including the source keeps the parser out of the public API. Its own unit tests come along
/// and run here too.
#[path = "../src/digits.rs"]
mod digits;

/// Stands in for the library module that `digits.rs` imports as `crate::dataset`.
mod dataset {
    pub use data::{DataError, Dataset, numbered_class_names};
}

/// Seconds per target when `LABELNOISE_FUZZ_SECONDS` is not set.
const DEFAULT_SECONDS: f64 = 8.0;
/// Executions per target at most, however much time is left.
const MAX_EXECUTIONS: u64 = 1_000_000;
/// A target stops after this many failures: later ones are usually the same bug again.
const MAX_FAILURES: usize = 5;
/// Mutated files are cut to this length, so that stacked insertions keep memory small.
const MAX_FILE_LEN: usize = 1 << 16;

const INTERESTING_BYTES: [u8; 4] = [0x00, 0xff, 0x7f, 0x80];
const INTERESTING_U16: [u16; 10] = [0, 1, 2, 8, 255, 256, 0x7fff, 0x8000, 0xfffe, 0xffff];
const INTERESTING_U32: [u32; 17] = [
    0,
    1,
    2,
    3,
    4,
    7,
    8,
    16,
    255,
    256,
    1000,
    4096,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
];
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

// ---------------------------------------------------------------------------------------------
// The harness.

/// The files and folders of one input, written under a fresh folder before each execution.
#[derive(Clone, Debug, Default)]
struct Tree {
    /// Relative path and contents; `None` makes an (empty) folder instead of a file.
    entries: Vec<(PathBuf, Option<Vec<u8>>)>,
}

impl Tree {
    fn file(mut self, path: &str, bytes: Vec<u8>) -> Tree {
        self.entries.push((PathBuf::from(path), Some(bytes)));
        self
    }

    /// Indices of the files (not folders) whose path satisfies `keep`.
    fn files_where(&self, keep: impl Fn(&Path) -> bool) -> Vec<usize> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, (path, bytes))| bytes.is_some() && keep(path))
            .map(|(index, _)| index)
            .collect()
    }

    /// Writes every entry under `root`, which is emptied first. An entry that cannot be written
    /// (a file inside what an earlier entry made a file) is skipped: the input is whatever the
    /// mutations left possible.
    fn write(&self, root: &Path) {
        if root.exists() {
            fs::remove_dir_all(root).expect("the previous input can be removed");
        }
        fs::create_dir_all(root).expect("the input folder can be created");
        for (path, bytes) in &self.entries {
            let path = root.join(path);
            match bytes {
                None => {
                    fs::create_dir_all(&path).ok();
                }
                Some(bytes) => {
                    if let Some(parent) = path.parent() {
                        fs::create_dir_all(parent).ok();
                    }
                    fs::write(&path, bytes).ok();
                }
            }
        }
    }
}

/// What an execution did with its input, when it neither panicked nor broke a promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Loaded,
    Rejected,
}

/// Runs one fuzz target: `mutate` turns a copy of a randomly chosen base input (files and loader
/// parameters) into a new input, and `execute` calls the loader on the input written under the
/// given folder, checking what it returns.
///
/// Every base is first executed unmutated and must load, so that the fuzzer starts from inputs
/// that reach the end of the loader rather than only its first checks.
fn fuzz<P: Clone + Debug>(
    target: &str,
    bases: &[(Tree, P)],
    mutate: impl Fn(&mut ChaCha8Rng, &mut Tree, &mut P),
    execute: impl Fn(&Path, &P) -> Result<Outcome, String>,
) {
    let budget = fuzz_duration();
    let seed = fuzz_seed();
    let work = tempfile::tempdir().expect("a temporary folder can be created");
    let case_dir = work.path().join("case");

    for (index, (tree, params)) in bases.iter().enumerate() {
        tree.write(&case_dir);
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| execute(&case_dir, params)));
        match outcome {
            Ok(Ok(Outcome::Loaded)) => {}
            other => panic!(
                "fuzz {target}: base input {index} ({params:?}) should load, but gave {:?}",
                other.map_err(|payload| panic_message(payload.as_ref()))
            ),
        }
    }

    let started = Instant::now();
    let mut executions = 0u64;
    let mut loaded = 0u64;
    let mut failures = Vec::new();
    // The slowest execution and its iteration, reported so that slow inputs can be found.
    let mut slowest = (Duration::ZERO, 0);
    // At least one execution, so that even a zero budget exercises the target.
    while executions == 0
        || (executions < MAX_EXECUTIONS
            && started.elapsed() < budget
            && failures.len() < MAX_FAILURES)
    {
        let iteration = executions;
        executions += 1;
        let mut rng = iteration_rng(target, seed, iteration);
        let (mut tree, mut params) = bases[rng.random_range(0..bases.len())].clone();
        // Mostly a few stacked mutations, occasionally many, as mutation fuzzers do.
        let mut rounds = 1;
        while rounds < 8 && rng.random_bool(0.5) {
            rounds += 1;
        }
        for _ in 0..rounds {
            mutate(&mut rng, &mut tree, &mut params);
        }
        tree.write(&case_dir);
        let execution_started = Instant::now();
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| execute(&case_dir, &params)));
        slowest = slowest.max((execution_started.elapsed(), iteration));
        let problem = match outcome {
            Ok(Ok(Outcome::Loaded)) => {
                loaded += 1;
                None
            }
            Ok(Ok(Outcome::Rejected)) => None,
            Ok(Err(broken)) => Some(format!("broke a promise: {broken}")),
            Err(payload) => Some(format!("panicked: {}", panic_message(payload.as_ref()))),
        };
        if let Some(problem) = problem {
            let saved = save_failure(target, &tree);
            failures.push(format!(
                "seed {seed}, iteration {iteration}, parameters {params:?}: {problem}; input saved to {}",
                saved.display()
            ));
        }
    }
    eprintln!(
        "fuzz {target}: {executions} executions in {:.1} s, {} crashes ({loaded} inputs loaded; \
         slowest {:.3} s, iteration {})",
        started.elapsed().as_secs_f64(),
        failures.len(),
        slowest.0.as_secs_f64(),
        slowest.1,
    );
    assert!(
        failures.is_empty(),
        "fuzz {target}: {} failing inputs:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The time each target runs for, from `LABELNOISE_FUZZ_SECONDS`.
fn fuzz_duration() -> Duration {
    match std::env::var("LABELNOISE_FUZZ_SECONDS") {
        Err(_) => Duration::from_secs_f64(DEFAULT_SECONDS),
        Ok(text) => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
            .unwrap_or_else(|| {
                panic!("LABELNOISE_FUZZ_SECONDS = `{text}` is not a number of seconds (≥ 0)")
            }),
    }
}

/// The seed of the input sequence, from `LABELNOISE_FUZZ_SEED`.
fn fuzz_seed() -> u64 {
    match std::env::var("LABELNOISE_FUZZ_SEED") {
        Err(_) => 0,
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("LABELNOISE_FUZZ_SEED = `{text}` is not a u64")),
    }
}

/// The generator of execution `iteration`: a function of the target, the seed and the iteration
/// only, so that any one input can be regenerated without replaying those before it.
fn iteration_rng(target: &str, seed: u64, iteration: u64) -> ChaCha8Rng {
    // FNV-1a keeps the targets' sequences apart.
    let target_hash = target.bytes().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&iteration.to_le_bytes());
    key[16..24].copy_from_slice(&target_hash.to_le_bytes());
    ChaCha8Rng::from_seed(key)
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "(a panic payload that is not a string)".to_owned()
    }
}

/// `fuzz-crashes/` in the Cargo target folder: `CARGO_TARGET_DIR` when set (relative to the
/// workspace root if relative), otherwise the workspace's `target/`.
fn crash_folder() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace.join("target"), |dir| workspace.join(dir));
    target.join("fuzz-crashes")
}

/// Saves a failing input as `<target>-<n>.bin` when it is a single file, otherwise as the folder
/// `<target>-<n>/` holding its files, with the first `n` not yet used; returns the path.
fn save_failure(target: &str, tree: &Tree) -> PathBuf {
    let folder = crash_folder();
    fs::create_dir_all(&folder).expect("the crash folder can be created");
    let mut n = 0;
    while folder.join(format!("{target}-{n}.bin")).exists()
        || folder.join(format!("{target}-{n}")).exists()
    {
        n += 1;
    }
    match tree.entries.as_slice() {
        [(_, Some(bytes))] => {
            let path = folder.join(format!("{target}-{n}.bin"));
            fs::write(&path, bytes).expect("the failing input can be saved");
            path
        }
        _ => {
            let path = folder.join(format!("{target}-{n}"));
            tree.write(&path);
            path
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Checks of what the loaders return.

/// What a loader promises about its feature values.
#[derive(Debug, Clone, Copy)]
enum Values {
    /// Pixel bytes: integers in 0..=255.
    Bytes,
    /// Finite numbers.
    Finite,
    /// Nothing.
    Any,
}

/// The promises every loader makes: consistent sizes, labels within the classes, one name per
/// class, an image shape matching the features and, unless `allow_empty`, at least one sample.
fn check_dataset(data: &Dataset, values: Values, allow_empty: bool) -> Result<(), String> {
    let n = data.n_samples();
    if n == 0 && !allow_empty {
        return Err("a data set with no samples".into());
    }
    if n.checked_mul(data.n_features) != Some(data.features.len()) {
        return Err(format!(
            "{} feature values for {n} samples of {} features",
            data.features.len(),
            data.n_features
        ));
    }
    if data.class_names.len() != data.n_classes {
        return Err(format!(
            "{} class names for {} classes",
            data.class_names.len(),
            data.n_classes
        ));
    }
    if let Some((index, label)) = data
        .labels
        .iter()
        .enumerate()
        .find(|&(_, &label)| label >= data.n_classes)
    {
        return Err(format!(
            "sample {index} has label {label}, expected 0..{}",
            data.n_classes
        ));
    }
    if let Some(shape) = data.image_shape {
        let product = shape
            .iter()
            .try_fold(1usize, |product, &d| product.checked_mul(d));
        if product != Some(data.n_features) {
            return Err(format!(
                "image shape {shape:?} for {} features",
                data.n_features
            ));
        }
    }
    let bad_value = match values {
        Values::Bytes => data
            .features
            .iter()
            .find(|&&v| !(0.0..=255.0).contains(&v) || v.fract() != 0.0),
        Values::Finite => data.features.iter().find(|v| !v.is_finite()),
        Values::Any => None,
    };
    if let Some(value) = bad_value {
        return Err(format!("feature value {value}, expected {values:?}"));
    }
    Ok(())
}

/// Every class is used by some sample, as for loaders whose classes are what the data holds.
fn check_every_class_used(data: &Dataset) -> Result<(), String> {
    match data.class_counts().iter().position(|&count| count == 0) {
        Some(class) => Err(format!(
            "class {class} (`{}`) has no samples",
            data.class_names[class]
        )),
        None => Ok(()),
    }
}

/// Formats a loader error, which must not panic either, and counts the input as rejected.
fn rejected(error: &data::DataError) -> Result<Outcome, String> {
    if error.to_string().is_empty() {
        return Err("an error with an empty message".into());
    }
    Ok(Outcome::Rejected)
}

// ---------------------------------------------------------------------------------------------
// Mutations shared by the targets.

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn random_bytes(rng: &mut ChaCha8Rng, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.random::<u8>()).collect()
}

/// One generic byte-level mutation: bit flip, overwrite with an interesting or random byte,
/// truncation, insertion or extension with random bytes, chunk duplication or deletion, or an
/// interesting 16- or 32-bit value written in either byte order.
fn mutate_bytes(rng: &mut ChaCha8Rng, bytes: &mut Vec<u8>) {
    let len = bytes.len();
    match rng.random_range(0..10) {
        0 if len > 0 => {
            let at = rng.random_range(0..len);
            bytes[at] ^= 1 << rng.random_range(0..8);
        }
        1 if len > 0 => {
            let at = rng.random_range(0..len);
            bytes[at] = *pick(rng, &INTERESTING_BYTES);
        }
        2 if len > 0 => {
            let at = rng.random_range(0..len);
            bytes[at] = rng.random();
        }
        3 => bytes.truncate(rng.random_range(0..=len)),
        4 => {
            let at = rng.random_range(0..=len);
            let n = rng.random_range(1..=64);
            let extra = random_bytes(rng, n);
            bytes.splice(at..at, extra);
        }
        5 if len > 0 => {
            let start = rng.random_range(0..len);
            let end = rng.random_range(start + 1..=len.min(start + 512));
            let chunk = bytes[start..end].to_vec();
            let at = rng.random_range(0..=len);
            bytes.splice(at..at, chunk);
        }
        6 if len > 0 => {
            let start = rng.random_range(0..len);
            let end = rng.random_range(start + 1..=len.min(start + 512));
            bytes.drain(start..end);
        }
        7 if len >= 4 => {
            let at = rng.random_range(0..=len - 4);
            let value = *pick(rng, &INTERESTING_U32);
            let value = if rng.random_bool(0.5) {
                value.to_be_bytes()
            } else {
                value.to_le_bytes()
            };
            bytes[at..at + 4].copy_from_slice(&value);
        }
        8 if len >= 2 => {
            let at = rng.random_range(0..=len - 2);
            let value = *pick(rng, &INTERESTING_U16);
            let value = if rng.random_bool(0.5) {
                value.to_be_bytes()
            } else {
                value.to_le_bytes()
            };
            bytes[at..at + 2].copy_from_slice(&value);
        }
        _ => {
            let n = rng.random_range(1..=256);
            let extra = random_bytes(rng, n);
            bytes.extend(extra);
        }
    }
    bytes.truncate(MAX_FILE_LEN);
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder
        .write_all(bytes)
        .expect("writing to memory succeeds");
    encoder.finish().expect("writing to memory succeeds")
}

/// The decompressed contents of a valid gzip stream, `None` otherwise.
fn gunzip(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    MultiGzDecoder::new(bytes)
        .take(MAX_FILE_LEN as u64 * 4)
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

/// A piece of text that CSV parsers and number parsers find hard: separators, quotes, line
/// breaks, bytes that are not UTF-8, very long numbers, NaN, infinities, negative numbers.
fn csv_token(rng: &mut ChaCha8Rng) -> Vec<u8> {
    const FIXED: [&[u8]; 34] = [
        b",",
        b",,",
        b"\"",
        b"\"\"",
        b"\"a,b\"",
        b"\"a\nb\"",
        b"\n",
        b"\r",
        b"\r\n",
        b"\n\n",
        b" ",
        b"\t",
        b";",
        b"#",
        b"\xff",
        b"\xc3",
        b"\xed\xa0\x80",
        b"\x00",
        b"\xef\xbb\xbf",
        b"NaN",
        b"nan",
        b"inf",
        b"-inf",
        b"+Infinity",
        b"-1",
        b"-0",
        b"1e39",
        b"-1e39",
        b"1e-46",
        b"3.4028236e38",
        b"0x10",
        b"1_000",
        b"1.5",
        b"18446744073709551616",
    ];
    match rng.random_range(0..5) {
        0 => {
            // A very long number, which overflows every integer type and `f32`.
            let n = rng.random_range(20..3000);
            let mut digits = if rng.random_bool(0.5) {
                b"-".to_vec()
            } else {
                Vec::new()
            };
            digits.extend((0..n).map(|_| b'0' + rng.random_range(0..10u8)));
            if rng.random_bool(0.3) {
                digits.splice(n / 2..n / 2, *b".");
            }
            digits
        }
        1 => rng.random_range(-3i64..200).to_string().into_bytes(),
        _ => pick(rng, &FIXED).to_vec(),
    }
}

/// One text-level mutation of a CSV-like file: a hard token inserted or replacing a field, or a
/// line duplicated, deleted or swapped with another; otherwise a generic byte mutation.
fn mutate_csv_text(rng: &mut ChaCha8Rng, bytes: &mut Vec<u8>) {
    let len = bytes.len();
    match rng.random_range(0..7) {
        0 | 1 => {
            let at = rng.random_range(0..=len);
            let token = csv_token(rng);
            bytes.splice(at..at, token);
        }
        2 => {
            // Replace one field: the bytes between two separators.
            let separators: Vec<usize> = bytes
                .iter()
                .enumerate()
                .filter(|&(_, &b)| matches!(b, b',' | b'\n' | b'\r'))
                .map(|(index, _)| index)
                .collect();
            let start = if separators.is_empty() || rng.random_bool(0.1) {
                0
            } else {
                *pick(rng, &separators) + 1
            };
            let end = separators
                .iter()
                .copied()
                .find(|&s| s >= start)
                .unwrap_or(len);
            let token = csv_token(rng);
            bytes.splice(start..end, token);
        }
        3..=5 => {
            let mut lines: Vec<Vec<u8>> = bytes
                .split_inclusive(|&b| b == b'\n')
                .map(<[u8]>::to_vec)
                .collect();
            if lines.is_empty() {
                return;
            }
            let a = rng.random_range(0..lines.len());
            let b = rng.random_range(0..lines.len());
            match rng.random_range(0..3) {
                0 => {
                    let copy = lines[a].clone();
                    lines.insert(b, copy);
                }
                1 => {
                    lines.remove(a);
                }
                _ => lines.swap(a, b),
            }
            *bytes = lines.concat();
        }
        _ => mutate_bytes(rng, bytes),
    }
    bytes.truncate(MAX_FILE_LEN);
}

// ---------------------------------------------------------------------------------------------
// IDX.

const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
const IDX_LABELS_MAGIC: u32 = 0x0000_0801;
const IDX_STEMS: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// An IDX images file of `count` images of `rows × cols` bytes, pixel `i` holding `i % 256`.
fn idx_images(count: u32, rows: u32, cols: u32) -> Vec<u8> {
    let mut bytes = IDX_IMAGES_MAGIC.to_be_bytes().to_vec();
    for dim in [count, rows, cols] {
        bytes.extend_from_slice(&dim.to_be_bytes());
    }
    bytes.extend((0..count * rows * cols).map(|i| (i % 256) as u8));
    bytes
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut bytes = IDX_LABELS_MAGIC.to_be_bytes().to_vec();
    bytes.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    bytes.extend_from_slice(labels);
    bytes
}

/// One mutation of an IDX file, raw or gzip: the raw contents are mutated (mostly in the header:
/// magic number, element type, dimension counts set to huge, zero or nearly consistent values)
/// and compressed again, or the compressed bytes themselves are mutated.
fn mutate_idx_file(rng: &mut ChaCha8Rng, bytes: &mut Vec<u8>) {
    let compressed = bytes.starts_with(&GZIP_MAGIC);
    let raw = if compressed { gunzip(bytes) } else { None };
    if compressed && (raw.is_none() || rng.random_bool(0.2)) {
        // Corrupt the gzip stream itself: header flags, deflate blocks, CRC or length trailer.
        mutate_bytes(rng, bytes);
        return;
    }
    let mut raw = raw.unwrap_or_else(|| bytes.clone());
    match rng.random_range(0..4) {
        0 => {
            // A dimension count: the magic number is 4 bytes and each count 4 more.
            let n_counts = (raw.len().saturating_sub(4) / 4).clamp(1, 3);
            let at = 4 + 4 * rng.random_range(0..n_counts);
            let data_len = raw.len().saturating_sub(4 + 4 * n_counts) as u32;
            let value = match rng.random_range(0..4) {
                0 => data_len,
                1 => data_len.wrapping_add(1),
                2 => rng.random_range(0..=8),
                _ => *pick(rng, &INTERESTING_U32),
            };
            if raw.len() < at + 4 {
                raw.resize(at + 4, 0);
            }
            raw[at..at + 4].copy_from_slice(&value.to_be_bytes());
        }
        1 => {
            // The element type (byte 2) and number of dimensions (byte 3) of the magic number.
            if raw.len() < 4 {
                raw.resize(4, 0);
            }
            if rng.random_bool(0.5) {
                raw[2] = *pick(rng, &[0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e, 0x00, 0xff]);
            } else {
                raw[3] = *pick(rng, &[0, 1, 2, 3, 4, 0xff]);
            }
        }
        2 => {
            // Rewrite the header to be consistent with some other split of the same data, so
            // that odd shapes (one long row, one image per byte, no items at all) reach the end
            // of the loader.
            let header_len = if raw.len() >= 16 && raw[3] == 3 {
                16
            } else {
                8
            };
            if raw.len() >= header_len && rng.random_bool(0.25) {
                // No items: only the header, its count zero and its other dimensions anything.
                raw.truncate(header_len);
                raw[4..8].copy_from_slice(&0u32.to_be_bytes());
                for at in (8..header_len).step_by(4) {
                    let dim = *pick(rng, &INTERESTING_U32);
                    raw[at..at + 4].copy_from_slice(&dim.to_be_bytes());
                }
            } else if raw.len() >= 8 && raw[3] == 3 && raw.len() >= 16 {
                let data_len = (raw.len() - 16) as u32;
                let (count, rows, cols) = match rng.random_range(0..3) {
                    0 => (1, 1, data_len),
                    1 => (data_len, 1, 1),
                    _ => (data_len, 0, 1),
                };
                for (i, dim) in [count, rows, cols].into_iter().enumerate() {
                    raw[4 + 4 * i..8 + 4 * i].copy_from_slice(&dim.to_be_bytes());
                }
            } else if raw.len() >= 8 {
                let data_len = (raw.len() - 8) as u32;
                raw[4..8].copy_from_slice(&data_len.to_be_bytes());
            }
        }
        _ => {
            // Anywhere else, biased towards the header.
            if rng.random_bool(0.5) && raw.len() > 16 {
                let mut header = raw[..16].to_vec();
                mutate_bytes(rng, &mut header);
                raw.splice(..16, header);
            } else {
                mutate_bytes(rng, &mut raw);
            }
        }
    }
    raw.truncate(MAX_FILE_LEN);
    // Occasionally switch between raw and gzip, since content (not name) decides.
    let compress = compressed != rng.random_bool(0.1);
    *bytes = if compress { gzip(&raw) } else { raw };
}

/// Parameters of the `load_idx` target.
#[derive(Debug, Clone)]
struct IdxParams {
    n_classes: usize,
}

/// `n_classes` values that stress the loader's parameter checks. Values between 2^16 and
/// `usize::MAX` are left out on purpose: they would be honest requests for that many class
/// names, which would exhaust memory rather than exercise a check.
const IDX_CLASS_COUNTS: [usize; 9] = [0, 1, 2, 9, 10, 255, 256, 257, usize::MAX];

fn mutate_idx_params(rng: &mut ChaCha8Rng, params: &mut IdxParams) {
    params.n_classes = *pick(rng, &IDX_CLASS_COUNTS);
}

/// Checks an `Ok` from `load_idx` called with `n_classes` and `name`.
fn check_idx(data: &Dataset, n_classes: usize, name: &str) -> Result<(), String> {
    check_dataset(data, Values::Bytes, false)?;
    if data.n_classes != n_classes || data.name != name {
        return Err(format!(
            "asked for {n_classes} classes named {name}, got {} named {}",
            data.n_classes, data.name
        ));
    }
    match data.image_shape {
        Some([1, _, _]) => Ok(()),
        other => Err(format!("image shape {other:?}, expected one channel")),
    }
}

#[test]
fn fuzz_load_idx() {
    let images = idx_images(3, 2, 3);
    let labels = idx_labels(&[7, 0, 9]);
    let params = IdxParams { n_classes: 10 };
    let bases = [
        (
            Tree::default()
                .file("images", images.clone())
                .file("labels", labels.clone()),
            params.clone(),
        ),
        (
            Tree::default()
                .file("images", gzip(&images))
                .file("labels", gzip(&labels)),
            params.clone(),
        ),
        (
            Tree::default()
                .file("images", gzip(&idx_images(1, 1, 1)))
                .file("labels", idx_labels(&[0])),
            IdxParams { n_classes: 1 },
        ),
    ];
    fuzz(
        "idx",
        &bases,
        |rng, tree, params| match rng.random_range(0..10) {
            0 => mutate_idx_params(rng, params),
            // Images more often than labels: their header has more to get wrong.
            1..=5 => mutate_idx_file(rng, tree.entries[0].1.as_mut().expect("a file")),
            _ => mutate_idx_file(rng, tree.entries[1].1.as_mut().expect("a file")),
        },
        |dir, params| match load_idx(
            &dir.join("images"),
            &dir.join("labels"),
            params.n_classes,
            "fuzz",
        ) {
            Ok(data) => check_idx(&data, params.n_classes, "fuzz").map(|()| Outcome::Loaded),
            Err(error) => rejected(&error),
        },
    );
}

/// Mutates the layout of an MNIST folder: a file removed, turned into a folder, given a `.gz`
/// twin, renamed to or from `.gz` without changing its contents, or emptied; otherwise the
/// contents of one file.
fn mutate_idx_folder(rng: &mut ChaCha8Rng, tree: &mut Tree) {
    if tree.entries.is_empty() || rng.random_bool(0.6) {
        let files = tree.files_where(|_| true);
        if files.is_empty() {
            let stem = *pick(rng, &IDX_STEMS);
            tree.entries
                .push((PathBuf::from(stem), Some(idx_labels(&[1, 2]))));
        } else {
            let index = *pick(rng, &files);
            mutate_idx_file(rng, tree.entries[index].1.as_mut().expect("a file"));
        }
        return;
    }
    let index = rng.random_range(0..tree.entries.len());
    let path = tree.entries[index].0.clone();
    let name = path.to_string_lossy().into_owned();
    match rng.random_range(0..6) {
        0 => {
            tree.entries.remove(index);
        }
        1 => tree.entries[index].1 = None,
        2 => {
            let twin = match name.strip_suffix(".gz") {
                Some(stem) => stem.to_owned(),
                None => format!("{name}.gz"),
            };
            let mut bytes = tree.entries[index].1.clone().unwrap_or_default();
            mutate_bytes(rng, &mut bytes);
            tree.entries.push((PathBuf::from(twin), Some(bytes)));
        }
        3 => {
            let renamed = match name.strip_suffix(".gz") {
                Some(stem) => stem.to_owned(),
                None => format!("{name}.gz"),
            };
            tree.entries[index].0 = PathBuf::from(renamed);
        }
        4 => tree.entries[index].1 = Some(Vec::new()),
        _ => {
            // A stray file with a name close to the expected ones.
            let stem = *pick(rng, &IDX_STEMS);
            let name = format!("{}{}", stem, pick(rng, &[".GZ", ".gz.gz", "-", ".zip"]));
            tree.entries.push((PathBuf::from(name), Some(Vec::new())));
        }
    }
}

#[test]
fn fuzz_find_idx_files() {
    let train_images = idx_images(3, 2, 2);
    let train_labels = idx_labels(&[1, 0, 9]);
    let test_images = idx_images(2, 2, 2);
    let test_labels = idx_labels(&[3, 3]);
    let contents = [&train_images, &train_labels, &test_images, &test_labels];
    let raw = IDX_STEMS
        .iter()
        .zip(contents)
        .fold(Tree::default(), |tree, (stem, bytes)| {
            tree.file(stem, bytes.clone())
        });
    let compressed = IDX_STEMS
        .iter()
        .zip(contents)
        .fold(Tree::default(), |tree, (stem, bytes)| {
            tree.file(&format!("{stem}.gz"), gzip(bytes))
        });
    // Both versions of every file: the raw ones must win.
    let both = Tree {
        entries: raw
            .entries
            .iter()
            .chain(&compressed.entries)
            .cloned()
            .collect(),
    };
    let bases = [(raw, ()), (compressed, ()), (both, ())];
    fuzz(
        "idx_folder",
        &bases,
        |rng, tree, ()| mutate_idx_folder(rng, tree),
        |dir, ()| {
            let files = match find_idx_files(dir) {
                Ok(files) => files,
                Err(error) => return rejected(&error),
            };
            let found = [
                &files.train_images,
                &files.train_labels,
                &files.test_images,
                &files.test_labels,
            ];
            for (path, stem) in found.into_iter().zip(IDX_STEMS) {
                let raw = dir.join(stem);
                let expected = if raw.is_file() {
                    raw
                } else {
                    dir.join(format!("{stem}.gz"))
                };
                if *path != expected || !path.is_file() {
                    return Err(format!(
                        "found {} for {stem}, expected {}",
                        path.display(),
                        expected.display()
                    ));
                }
            }
            let mut outcome = Outcome::Loaded;
            for (images, labels) in [
                (&files.train_images, &files.train_labels),
                (&files.test_images, &files.test_labels),
            ] {
                match load_idx(images, labels, 10, "mnist") {
                    Ok(data) => check_idx(&data, 10, "mnist")?,
                    Err(error) => outcome = rejected(&error)?,
                }
            }
            Ok(outcome)
        },
    );
}

// ---------------------------------------------------------------------------------------------
// CIFAR.

const CIFAR_PIXELS: usize = 3 * 32 * 32;
const CIFAR10_FILES: [&str; 6] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
    "test_batch.bin",
];
const CIFAR100_FILES: [&str; 2] = ["train.bin", "test.bin"];

/// One CIFAR record: `labels`, then pixel `i` holding `(i + seed) % 256`.
fn cifar_record(labels: &[u8], seed: usize) -> Vec<u8> {
    let mut bytes = labels.to_vec();
    bytes.extend((0..CIFAR_PIXELS).map(|i| ((i + seed) % 256) as u8));
    bytes
}

/// One mutation of a CIFAR folder whose records are `record_size` bytes with `n_label_bytes`
/// label bytes first: a label byte set to an interesting or random value, a record duplicated
/// or cut short, a file emptied, removed or turned into a folder, or a generic byte mutation.
fn mutate_cifar(
    rng: &mut ChaCha8Rng,
    tree: &mut Tree,
    names: &[&str],
    record_size: usize,
    n_label_bytes: usize,
) {
    let files = tree.files_where(|_| true);
    if files.is_empty() || rng.random_bool(0.05) {
        // Bring back a missing or broken file with one valid record.
        let name = PathBuf::from(pick(rng, names));
        tree.entries.retain(|(path, _)| *path != name);
        let labels = vec![0; n_label_bytes];
        tree.entries.push((name, Some(cifar_record(&labels, 0))));
        return;
    }
    let index = *pick(rng, &files);
    match rng.random_range(0..10) {
        0..=3 => {
            let bytes = tree.entries[index].1.as_mut().expect("a file");
            let n_records = bytes.len() / record_size;
            if n_records == 0 {
                mutate_bytes(rng, bytes);
                return;
            }
            let at =
                rng.random_range(0..n_records) * record_size + rng.random_range(0..n_label_bytes);
            bytes[at] = match rng.random_range(0..3) {
                0 => *pick(rng, &INTERESTING_BYTES),
                1 => rng.random_range(0..=100),
                _ => rng.random(),
            };
        }
        4 => {
            let bytes = tree.entries[index].1.as_mut().expect("a file");
            if bytes.len() >= record_size {
                let record = bytes[..record_size].to_vec();
                bytes.extend(record);
            }
            bytes.truncate(MAX_FILE_LEN);
        }
        5 => {
            let bytes = tree.entries[index].1.as_mut().expect("a file");
            let keep = match rng.random_range(0..3) {
                0 => 0,
                1 => bytes.len().saturating_sub(rng.random_range(1..=2)),
                _ => rng.random_range(0..=bytes.len()),
            };
            bytes.truncate(keep);
        }
        6 => {
            tree.entries.remove(index);
        }
        7 => tree.entries[index].1 = None,
        _ => mutate_bytes(rng, tree.entries[index].1.as_mut().expect("a file")),
    }
}

/// The number of whole records in the file `dir/name`, for checking sample counts.
fn record_count(dir: &Path, name: &str, record_size: usize) -> usize {
    fs::metadata(dir.join(name)).map_or(0, |m| m.len() as usize / record_size)
}

/// Checks one CIFAR split: pixel bytes in CHW order, `n_classes` classes, and one sample per
/// record of the files it came from.
fn check_cifar(data: &Dataset, n_classes: usize, n_records: usize) -> Result<(), String> {
    check_dataset(data, Values::Bytes, false)?;
    if data.n_features != CIFAR_PIXELS || data.image_shape != Some([3, 32, 32]) {
        return Err(format!(
            "{} features of shape {:?}, expected 3×32×32",
            data.n_features, data.image_shape
        ));
    }
    if data.n_classes != n_classes {
        return Err(format!("{} classes, expected {n_classes}", data.n_classes));
    }
    if data.n_samples() != n_records {
        return Err(format!(
            "{} samples from files holding {n_records} records",
            data.n_samples()
        ));
    }
    Ok(())
}

#[test]
fn fuzz_load_cifar10() {
    let record_size = 1 + CIFAR_PIXELS;
    let mut tree = Tree::default();
    for (b, name) in CIFAR10_FILES.iter().enumerate() {
        let records = if *name == "test_batch.bin" {
            [cifar_record(&[0], 100), cifar_record(&[9], 200)].concat()
        } else {
            cifar_record(&[b as u8 + 1], b)
        };
        tree = tree.file(name, records);
    }
    fuzz(
        "cifar10",
        &[(tree, ())],
        |rng, tree, ()| mutate_cifar(rng, tree, &CIFAR10_FILES, record_size, 1),
        |dir, ()| {
            let (train, test) = match load_cifar10(dir) {
                Ok(split) => split,
                Err(error) => return rejected(&error),
            };
            let n_train = CIFAR10_FILES[..5]
                .iter()
                .map(|name| record_count(dir, name, record_size))
                .sum();
            check_cifar(&train, 10, n_train)?;
            check_cifar(&test, 10, record_count(dir, "test_batch.bin", record_size))?;
            if train.class_names != test.class_names || train.class_names[9] != "truck" {
                return Err(format!(
                    "class names {:?} and {:?}",
                    train.class_names, test.class_names
                ));
            }
            Ok(Outcome::Loaded)
        },
    );
}

#[test]
fn fuzz_load_cifar100() {
    let record_size = 2 + CIFAR_PIXELS;
    let tree = Tree::default()
        .file(
            "train.bin",
            [cifar_record(&[19, 99], 1), cifar_record(&[0, 5], 2)].concat(),
        )
        .file("test.bin", cifar_record(&[3, 42], 3));
    let bases = [
        (tree.clone(), Cifar100Labels::Coarse),
        (tree, Cifar100Labels::Fine),
    ];
    fuzz(
        "cifar100",
        &bases,
        |rng, tree, labels| {
            if rng.random_bool(0.1) {
                *labels = *pick(rng, &[Cifar100Labels::Coarse, Cifar100Labels::Fine]);
            } else {
                mutate_cifar(rng, tree, &CIFAR100_FILES, record_size, 2);
            }
        },
        |dir, &labels| {
            let (train, test) = match load_cifar100(dir, labels) {
                Ok(split) => split,
                Err(error) => return rejected(&error),
            };
            let n_classes = match labels {
                Cifar100Labels::Coarse => 20,
                Cifar100Labels::Fine => 100,
            };
            let [n_train, n_test] = CIFAR100_FILES.map(|name| record_count(dir, name, record_size));
            check_cifar(&train, n_classes, n_train)?;
            check_cifar(&test, n_classes, n_test)?;
            Ok(Outcome::Loaded)
        },
    );
}

// ---------------------------------------------------------------------------------------------
// CSV tables.

/// Parameters of the CSV target: the label column asked for.
#[derive(Debug, Clone)]
struct CsvParams {
    label_column: String,
}

/// Class names must be sorted numerically when every one is a finite number, otherwise
/// lexicographically, and must be distinct.
fn check_class_order(names: &[String]) -> Result<(), String> {
    let numbers: Option<Vec<f64>> = names
        .iter()
        .map(|name| name.parse::<f64>().ok().filter(|v| v.is_finite()))
        .collect();
    let sorted = match numbers {
        Some(numbers) => numbers.windows(2).all(|pair| pair[0] <= pair[1]),
        None => names.windows(2).all(|pair| pair[0] <= pair[1]),
    };
    let mut distinct = names.to_vec();
    distinct.sort();
    distinct.dedup();
    if !sorted || distinct.len() != names.len() {
        return Err(format!("class names {names:?} are not distinct and sorted"));
    }
    Ok(())
}

#[test]
fn fuzz_load_csv_table() {
    let table = |text: &str, label: &str| {
        (
            Tree::default().file("table.csv", text.as_bytes().to_vec()),
            CsvParams {
                label_column: label.into(),
            },
        )
    };
    let bases = [
        table("a,kind,b\n1,dog,2\n3, cat ,4.5\n\n-5,dog,6e1\n", "kind"),
        table("x,y,z\n0.5,1,0\n1.5,0,1\n2.5,1,1\n", "y"),
        table("\u{feff}y,a\n1,2\n0,3\n", "y"),
        table("f,label\r\n1,10\r\n2,9\r\n3,-2.5\r\n", "label"),
        table("\"a\",\"y\"\n\"1\",\"p,q\"\n\"2\",\"r\"\"s\"\n", "y"),
    ];
    fuzz(
        "csv",
        &bases,
        |rng, tree, params| {
            if rng.random_bool(0.1) {
                params.label_column = match rng.random_range(0..4) {
                    0 => String::new(),
                    1 => format!(" {} ", params.label_column),
                    2 => "a".into(),
                    _ => String::from_utf8_lossy(&csv_token(rng)).into_owned(),
                };
            } else {
                mutate_csv_text(rng, tree.entries[0].1.as_mut().expect("a file"));
            }
        },
        |dir, params| {
            let data = match load_csv_table(&dir.join("table.csv"), &params.label_column) {
                Ok(data) => data,
                Err(error) => return rejected(&error),
            };
            check_dataset(&data, Values::Finite, false)?;
            check_every_class_used(&data)?;
            check_class_order(&data.class_names)?;
            if data.n_classes < 2 || data.n_features == 0 || data.image_shape.is_some() {
                return Err(format!(
                    "{} classes, {} features, image shape {:?}",
                    data.n_classes, data.n_features, data.image_shape
                ));
            }
            if data.name != "table" {
                return Err(format!("named `{}`, expected the file stem", data.name));
            }
            Ok(Outcome::Loaded)
        },
    );
}

// ---------------------------------------------------------------------------------------------
// The embedded digits decoder.

#[test]
fn fuzz_digits_decoder() {
    // Real rows of the bundled file, written back as the CSV it was decoded from.
    let bundled = data::digits().expect("the bundled digits load");
    let mut text = String::new();
    for index in 0..4 {
        let row: Vec<String> = bundled.row(index).iter().map(f32::to_string).collect();
        text.push_str(&format!("{},{}\n", row.join(","), bundled.labels[index]));
    }
    let bases = [(Tree::default().file("digits.csv", text.into_bytes()), ())];
    fuzz(
        "digits",
        &bases,
        |rng, tree, ()| mutate_csv_text(rng, tree.entries[0].1.as_mut().expect("a file")),
        |dir, ()| {
            // The decoder reads text that gzip decoded into a `String`, so invalid UTF-8 never
            // reaches it; replace it here the same way.
            let bytes = fs::read(dir.join("digits.csv")).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            let data = match digits::parse_digits_csv(&text, "digits.csv") {
                Ok(data) => data,
                Err(error) => return rejected(&error),
            };
            // The decoder only promises structure: its one real input is the bundled file,
            // whose values the unit tests check, and any text without rows is an empty set.
            check_dataset(&data, Values::Any, true)?;
            if data.n_features != 64 || data.n_classes != 10 {
                return Err(format!(
                    "{} features and {} classes, expected 64 and 10",
                    data.n_features, data.n_classes
                ));
            }
            Ok(Outcome::Loaded)
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Image folders.

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];

/// Parameters of the image-folder target.
#[derive(Debug, Clone)]
struct ImageParams {
    width: u32,
    height: u32,
    grayscale: bool,
}

fn encode(image: &DynamicImage, format: ImageOutputFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image
        .write_to(&mut out, format)
        .expect("encoding to memory succeeds");
    out.into_inner()
}

/// A `width × height` RGB image with a different value in every channel and position.
fn gradient(width: u32, height: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(ImageBuffer::from_fn(width, height, |x, y| {
        let v = (10 * x + y) as u8;
        Rgb([v, v.wrapping_add(100), v.wrapping_add(200)])
    }))
}

/// One PNG chunk: its type and data; lengths and CRCs are recomputed when written.
struct PngChunk {
    kind: [u8; 4],
    data: Vec<u8>,
}

/// The chunks of a PNG file and whatever follows the last whole one, or `None` without the PNG
/// signature.
fn png_chunks(bytes: &[u8]) -> Option<(Vec<PngChunk>, Vec<u8>)> {
    let mut rest = bytes.strip_prefix(&PNG_SIGNATURE)?;
    let mut chunks = Vec::new();
    while rest.len() >= 12 {
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if rest.len() < 12 + len {
            break;
        }
        chunks.push(PngChunk {
            kind: [rest[4], rest[5], rest[6], rest[7]],
            data: rest[8..8 + len].to_vec(),
        });
        rest = &rest[12 + len..];
    }
    Some((chunks, rest.to_vec()))
}

/// A PNG file from its chunks, each with its true length and CRC, so that mutations get past
/// the decoder's integrity checks.
fn png_join(chunks: &[PngChunk], trailing: &[u8]) -> Vec<u8> {
    let mut out = PNG_SIGNATURE.to_vec();
    for chunk in chunks {
        out.extend_from_slice(&(chunk.data.len() as u32).to_be_bytes());
        out.extend_from_slice(&chunk.kind);
        out.extend_from_slice(&chunk.data);
        let mut crc = flate2::Crc::new();
        crc.update(&chunk.kind);
        crc.update(&chunk.data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    out.extend_from_slice(trailing);
    out
}

/// One structure-aware PNG mutation, with valid CRCs: an IHDR field (width, height, bit depth,
/// colour type, interlacing) set to an interesting value, a chunk's data mutated, a chunk
/// removed, duplicated or inserted, or the decompressed scanlines (filter bytes included)
/// mutated and compressed again.
fn mutate_png(rng: &mut ChaCha8Rng, bytes: &mut Vec<u8>) {
    let Some((mut chunks, trailing)) = png_chunks(bytes) else {
        mutate_bytes(rng, bytes);
        return;
    };
    if chunks.is_empty() {
        mutate_bytes(rng, bytes);
        return;
    }
    match rng.random_range(0..6) {
        0 => {
            if let Some(header) = chunks
                .iter_mut()
                .find(|c| &c.kind == b"IHDR" && c.data.len() >= 13)
            {
                match rng.random_range(0..5) {
                    0 | 1 => {
                        let at = 4 * rng.random_range(0..2);
                        let value = *pick(rng, &INTERESTING_U32);
                        header.data[at..at + 4].copy_from_slice(&value.to_be_bytes());
                    }
                    2 => header.data[8] = *pick(rng, &[0, 1, 2, 4, 8, 16, 3, 255]),
                    3 => header.data[9] = *pick(rng, &[0, 2, 3, 4, 6, 1, 5, 255]),
                    _ => {
                        let at = rng.random_range(10..13);
                        header.data[at] = *pick(rng, &[0, 1, 2, 255]);
                    }
                }
            }
        }
        1 => {
            let index = rng.random_range(0..chunks.len());
            mutate_bytes(rng, &mut chunks[index].data);
        }
        2 => {
            chunks.remove(rng.random_range(0..chunks.len()));
        }
        3 => {
            let index = rng.random_range(0..chunks.len());
            let copy = PngChunk {
                kind: chunks[index].kind,
                data: chunks[index].data.clone(),
            };
            chunks.insert(rng.random_range(0..=chunks.len()), copy);
        }
        4 => {
            let kind = *pick(
                rng,
                &[
                    *b"PLTE", *b"tRNS", *b"gAMA", *b"IDAT", *b"IEND", *b"acTL", *b"fcTL", *b"sBIT",
                ],
            );
            let n = rng.random_range(0..48);
            let data = random_bytes(rng, n);
            chunks.insert(rng.random_range(0..=chunks.len()), PngChunk { kind, data });
        }
        _ => {
            // Decompress the image data, mutate the scanlines and compress them again.
            let compressed: Vec<u8> = chunks
                .iter()
                .filter(|c| &c.kind == b"IDAT")
                .flat_map(|c| c.data.iter().copied())
                .collect();
            let mut raw = Vec::new();
            if ZlibDecoder::new(compressed.as_slice())
                .take(MAX_FILE_LEN as u64)
                .read_to_end(&mut raw)
                .is_err()
            {
                return;
            }
            if rng.random_bool(0.5) && !raw.is_empty() {
                // A filter-type byte, most likely at the start of a scanline.
                let at = rng.random_range(0..raw.len());
                raw[at] = rng.random_range(0..=6);
            } else {
                mutate_bytes(rng, &mut raw);
            }
            let mut encoder = ZlibEncoder::new(Vec::new(), Compression::fast());
            encoder.write_all(&raw).expect("writing to memory succeeds");
            let data = encoder.finish().expect("writing to memory succeeds");
            let Some(first) = chunks.iter().position(|c| &c.kind == b"IDAT") else {
                return;
            };
            chunks.retain(|c| &c.kind != b"IDAT");
            chunks.insert(
                first.min(chunks.len()),
                PngChunk {
                    kind: *b"IDAT",
                    data,
                },
            );
        }
    }
    *bytes = png_join(&chunks, &trailing);
    bytes.truncate(MAX_FILE_LEN);
}

/// One JPEG-aware mutation: the frame header's height, width, precision or component count set
/// to an interesting value, or a marker's type or segment length changed; otherwise a generic
/// byte mutation. JPEG has no checksums, so these reach the decoder.
fn mutate_jpeg(rng: &mut ChaCha8Rng, bytes: &mut Vec<u8>) {
    let markers: Vec<usize> = (0..bytes.len().saturating_sub(1))
        .filter(|&i| bytes[i] == 0xff && !matches!(bytes[i + 1], 0x00 | 0xff))
        .collect();
    let frames: Vec<usize> = markers
        .iter()
        .copied()
        .filter(|&i| matches!(bytes[i + 1], 0xc0..=0xc2) && i + 10 <= bytes.len())
        .collect();
    match rng.random_range(0..4) {
        0 if !frames.is_empty() => {
            let at = *pick(rng, &frames);
            match rng.random_range(0..4) {
                0 | 1 => {
                    // Height at +5, width at +7, both big-endian u16.
                    let field = at + 5 + 2 * rng.random_range(0..2);
                    let value = if rng.random_bool(0.7) {
                        *pick(rng, &[0u16, 1, 2, 7, 8, 9, 16, 17, 4096, 0xffff])
                    } else {
                        rng.random()
                    };
                    bytes[field..field + 2].copy_from_slice(&value.to_be_bytes());
                }
                2 => bytes[at + 4] = *pick(rng, &[0, 8, 12, 16, 255]),
                _ => bytes[at + 9] = *pick(rng, &[0, 1, 2, 3, 4, 255]),
            }
        }
        1 if !markers.is_empty() => {
            let at = *pick(rng, &markers);
            if rng.random_bool(0.5) {
                bytes[at + 1] = *pick(
                    rng,
                    &[
                        0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xcc, 0xd8, 0xd9, 0xda, 0xdb, 0xdd, 0xe0,
                        0xfe,
                    ],
                );
            } else if at + 4 <= bytes.len() {
                let value = *pick(rng, &INTERESTING_U16);
                bytes[at + 2..at + 4].copy_from_slice(&value.to_be_bytes());
            }
        }
        _ => mutate_bytes(rng, bytes),
    }
}

fn is_image_name(path: &Path) -> bool {
    path.extension().is_some_and(|extension| {
        ["png", "jpg", "jpeg"]
            .iter()
            .any(|known| extension.eq_ignore_ascii_case(known))
    })
}

/// The class folders of an image-folder tree: the first component below the root, for every
/// entry that has one below it.
fn class_folders(tree: &Tree) -> Vec<PathBuf> {
    let mut classes: Vec<PathBuf> = tree
        .entries
        .iter()
        .filter_map(|(path, _)| {
            let mut components = path.components();
            let root = components.next()?;
            let class = components.next()?;
            Some(Path::new(&root).join(class))
        })
        .collect();
    classes.sort();
    classes.dedup();
    classes
}

/// One mutation of an image folder: mostly the bytes of one image (PNG- or JPEG-aware, or
/// generic), sometimes its layout: empty and zero-byte images, nested folders, folders named like
/// images, class folders without images, extensions that lie about the contents, stray files.
fn mutate_image_folder(rng: &mut ChaCha8Rng, tree: &mut Tree) {
    let images = tree.files_where(is_image_name);
    let classes = class_folders(tree);
    let class = if classes.is_empty() {
        PathBuf::from("pets/cats")
    } else {
        pick(rng, &classes).clone()
    };
    let op = rng.random_range(0..20);
    if op < 12 && !images.is_empty() {
        let index = *pick(rng, &images);
        let bytes = tree.entries[index].1.as_mut().expect("a file");
        if bytes.starts_with(&PNG_SIGNATURE) && op < 6 {
            mutate_png(rng, bytes);
        } else if bytes.starts_with(&[0xff, 0xd8]) && op < 6 {
            mutate_jpeg(rng, bytes);
        } else {
            mutate_bytes(rng, bytes);
        }
        return;
    }
    let image_bytes = |rng: &mut ChaCha8Rng| {
        let image = gradient(rng.random_range(1..6), rng.random_range(1..6));
        if rng.random_bool(0.5) {
            encode(&image, ImageOutputFormat::Png)
        } else {
            encode(&image, ImageOutputFormat::Jpeg(80))
        }
    };
    match op {
        12 if !images.is_empty() => {
            let index = *pick(rng, &images);
            tree.entries[index].1 = Some(Vec::new());
        }
        13 => {
            let name = pick(rng, &["z.png", "z.jpg", "z.JPEG", ".png"]);
            tree.entries.push((class.join(name), Some(Vec::new())));
        }
        14 => {
            // Images in a nested folder are not part of the class; a folder named like an image
            // is not an image.
            let bytes = image_bytes(rng);
            tree.entries.push((class.join("nested/x.png"), Some(bytes)));
            tree.entries.push((class.join("folder.png"), None));
        }
        15 => {
            let name = pick(
                rng,
                &[
                    "empty",
                    "zz",
                    "a",
                    " spaced ",
                    "ünïcode",
                    ".hidden",
                    "x.png",
                ],
            );
            let folder = Path::new("pets").join(name);
            match rng.random_range(0..3) {
                0 => tree.entries.push((folder, None)),
                1 => tree
                    .entries
                    .push((folder.join("notes.txt"), Some(b"no images".to_vec()))),
                _ => {
                    let bytes = image_bytes(rng);
                    tree.entries.push((folder.join("only.jpeg"), Some(bytes)));
                }
            }
        }
        16 => tree.entries.retain(|(path, _)| !path.starts_with(&class)),
        17 if !images.is_empty() => {
            // An extension that lies about the contents, or one that hides the image.
            let index = *pick(rng, &images);
            let extension = pick(rng, &["png", "jpg", "JPEG", "txt", ""]);
            let path = &mut tree.entries[index].0;
            path.set_extension(extension);
        }
        18 => {
            let bytes = image_bytes(rng);
            tree.entries
                .push((PathBuf::from("pets/stray.png"), Some(bytes)));
        }
        _ if !images.is_empty() => {
            let index = *pick(rng, &images);
            mutate_bytes(rng, tree.entries[index].1.as_mut().expect("a file"));
        }
        _ => {}
    }
}

fn mutate_image_params(rng: &mut ChaCha8Rng, params: &mut ImageParams) {
    match rng.random_range(0..8) {
        0 => params.grayscale = !params.grayscale,
        // Sizes beyond the loader's limit must be refused, not attempted. Large sizes within
        // it are left out: they are honest requests for gigabytes of features.
        1 => {
            (params.width, params.height) = *pick(
                rng,
                &[
                    (u32::MAX, u32::MAX),
                    (u32::MAX, 1),
                    (1, u32::MAX),
                    (1 << 14, 1 << 14),
                ],
            );
        }
        _ => {
            params.width = *pick(rng, &[0, 1, 2, 3, 4, 5, 8, 16]);
            params.height = *pick(rng, &[0, 1, 2, 3, 4, 5, 8, 16]);
        }
    }
}

#[test]
fn fuzz_load_image_folder() {
    let uniform = DynamicImage::ImageRgb8(ImageBuffer::from_pixel(4, 3, Rgb([1, 2, 3])));
    let pets = Tree::default()
        .file("pets/cats/a.PNG", encode(&uniform, ImageOutputFormat::Png))
        .file(
            "pets/cats/b.png",
            encode(&gradient(4, 3), ImageOutputFormat::Png),
        )
        .file("pets/cats/notes.txt", b"not an image".to_vec())
        .file(
            "pets/dogs/d.jpg",
            encode(&gradient(8, 8), ImageOutputFormat::Jpeg(90)),
        );
    let grey16 = DynamicImage::ImageLuma16(ImageBuffer::from_fn(5, 5, |x, y| {
        Luma([(x * 5000 + y * 300) as u16])
    }));
    let grey8 = DynamicImage::ImageLuma8(ImageBuffer::from_fn(9, 7, |x, y| {
        Luma([(x * 20 + y) as u8])
    }));
    let alpha = DynamicImage::ImageRgba8(ImageBuffer::from_fn(3, 2, |x, y| {
        Rgba([x as u8 * 80, y as u8 * 120, 7, 128])
    }));
    let mixed = Tree::default()
        .file("pets/alpha/a.png", encode(&alpha, ImageOutputFormat::Png))
        .file("pets/grey/g16.png", encode(&grey16, ImageOutputFormat::Png))
        .file(
            "pets/grey/g8.jpeg",
            encode(&grey8, ImageOutputFormat::Jpeg(75)),
        )
        .file(
            "pets/tiny/t.png",
            encode(&gradient(1, 1), ImageOutputFormat::Png),
        );
    let bases = [
        (
            pets,
            ImageParams {
                width: 4,
                height: 3,
                grayscale: false,
            },
        ),
        (
            mixed,
            ImageParams {
                width: 2,
                height: 2,
                grayscale: true,
            },
        ),
    ];
    fuzz(
        "image_folder",
        &bases,
        |rng, tree, params| {
            if rng.random_bool(0.05) {
                mutate_image_params(rng, params);
            } else {
                mutate_image_folder(rng, tree);
            }
        },
        |dir, params| {
            let data = match load_image_folder(
                &dir.join("pets"),
                params.width,
                params.height,
                params.grayscale,
            ) {
                Ok(data) => data,
                Err(error) => return rejected(&error),
            };
            check_dataset(&data, Values::Bytes, false)?;
            check_every_class_used(&data)?;
            let channels = if params.grayscale { 1 } else { 3 };
            let shape = [channels, params.height as usize, params.width as usize];
            if data.image_shape != Some(shape) || data.n_classes < 2 || data.name != "pets" {
                return Err(format!(
                    "image shape {:?} (expected {shape:?}), {} classes, named `{}`",
                    data.image_shape, data.n_classes, data.name
                ));
            }
            if !data.class_names.windows(2).all(|pair| pair[0] < pair[1]) {
                return Err(format!(
                    "class names {:?} are not distinct and sorted",
                    data.class_names
                ));
            }
            Ok(Outcome::Loaded)
        },
    );
}
