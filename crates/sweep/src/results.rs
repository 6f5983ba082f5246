//! The bottom layer of a results folder: the name of every file and folder in it, declared once
//! here, and writing a file without ever leaving a half-written one. It uses no other module of
//! the crate.
//!
//! ```text
//! results/<name>/
//!   manifest.json            resolved configuration, its hash, versions, thread count
//!   records/<run_id>.json    one finished run (what resume reads)
//!   noisy-labels/<model>-rate<r>-seed<s>.csv
//!   runs.csv epochs.csv calibration.csv penultimate.csv      per-run tables
//!   transitions.csv          realised transition counts of every group's noisy labels
//!   summary.csv paired.csv best_epsilon.csv best_loss.csv auc.csv   aggregates of runs.csv
//!   <chart>.png <chart>.svg report.md                        charts and the report page
//!   .lock                    held by the one process (sweep, merge, report) working on it
//! ```

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};

/// The resolved configuration and what produced the results.
pub const MANIFEST: &str = "manifest.json";
/// The lock file: held by the one process working on the folder.
pub const LOCK: &str = ".lock";
/// The folder of run records, one `<run_id>.json` each.
pub const RECORDS: &str = "records";
/// The folder of each (rate, seed) group's noisy labels.
pub const NOISY_LABELS: &str = "noisy-labels";

/// Per-run table: one row per run.
pub const RUNS: &str = "runs.csv";
/// Per-run table: one row per run and epoch.
pub const EPOCHS: &str = "epochs.csv";
/// Per-run table: the final test calibration bins.
pub const CALIBRATION: &str = "calibration.csv";
/// Per-run table: the penultimate-layer projection.
pub const PENULTIMATE: &str = "penultimate.csv";

/// Per-group table: the realised transition counts of the noisy labels in `noisy-labels/`.
pub const TRANSITIONS: &str = "transitions.csv";

/// Aggregate: per noise model, rate and target setting over seeds.
pub const SUMMARY: &str = "summary.csv";
/// Aggregate: paired differences of every other setting against hard targets (ε = 0).
pub const PAIRED: &str = "paired.csv";
/// Aggregate: the best ε per noise rate.
pub const BEST_EPSILON: &str = "best_epsilon.csv";
/// Aggregate: the best loss built for label noise per noise rate, against the best ε.
pub const BEST_LOSS: &str = "best_loss.csv";
/// Aggregate: areas under the accuracy-versus-noise curves.
pub const AUC: &str = "auc.csv";

/// The report page.
pub const REPORT: &str = "report.md";

/// Every file a sweep writes at the top of the folder besides the charts (what a fresh start
/// removes, with `records/`, `noisy-labels/` and the charts).
pub const OUTPUT_FILES: [&str; 12] = [
    MANIFEST,
    RUNS,
    EPOCHS,
    CALIBRATION,
    PENULTIMATE,
    TRANSITIONS,
    SUMMARY,
    PAIRED,
    BEST_EPSILON,
    BEST_LOSS,
    AUC,
    REPORT,
];

/// The sub-folders of a results folder.
pub const FOLDERS: [&str; 2] = [RECORDS, NOISY_LABELS];

/// Every chart a report can have, in the order the page shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartFile {
    /// Accuracy against the noise rate, one line per target setting: the main chart.
    AccuracyVsNoise,
    /// Paired gains over ε = 0 by rate and ε.
    GainHeatmap,
    /// Training curves at the highest noise rate.
    Curves,
    /// Reliability diagrams.
    Reliability,
    /// The penultimate-layer projection.
    Penultimate,
    /// The realised transition matrix at the highest noise rate.
    NoiseMatrix,
}

impl ChartFile {
    /// Every chart, in page order.
    pub const ALL: [ChartFile; 6] = [
        ChartFile::AccuracyVsNoise,
        ChartFile::GainHeatmap,
        ChartFile::Curves,
        ChartFile::Reliability,
        ChartFile::Penultimate,
        ChartFile::NoiseMatrix,
    ];

    /// The file stem shared by the chart's PNG and SVG.
    pub fn stem(self) -> &'static str {
        match self {
            ChartFile::AccuracyVsNoise => "accuracy_vs_noise",
            ChartFile::GainHeatmap => "gain_heatmap",
            ChartFile::Curves => "curves",
            ChartFile::Reliability => "reliability",
            ChartFile::Penultimate => "penultimate",
            ChartFile::NoiseMatrix => "noise_matrix",
        }
    }

    /// `<stem>.png`.
    pub fn png(self) -> String {
        format!("{}.png", self.stem())
    }

    /// `<stem>.svg`.
    pub fn svg(self) -> String {
        format!("{}.svg", self.stem())
    }
}

/// The file name of `run_id`'s record in [`RECORDS`].
pub fn record_file(run_id: &str) -> String {
    format!("{run_id}{RECORD_SUFFIX}")
}

/// How a record's file name ends.
pub const RECORD_SUFFIX: &str = ".json";

/// The file name, in [`NOISY_LABELS`], of the noisy labels of one (rate, seed) group.
pub fn noisy_labels_file(noise_model: &str, noise_rate: f64, seed: u64) -> String {
    format!(
        "{noise_model}-rate{}-seed{seed}.csv",
        reporter::format_float(noise_rate)
    )
}

/// Writes `bytes` to a temporary file beside `path`, flushes it to disk and renames it over
/// `path`, so readers see the old file or the new one, never a torn one. The temporary file's name
/// is unique to the process and the call, so writers of the same file never share one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temporary_path(path);
    let result = (|| -> io::Result<()> {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)?;
        // The rename is durable only once the folder's entry is on disk too.
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::File::open(folder)?.sync_all()?;
        }
        Ok(())
    })();
    if result.is_err() {
        // Gone already when the rename succeeded.
        let _ = fs::remove_file(&tmp);
    }
    result.with_context(|| format!("writing {}", path.display()))
}

/// Temporary files made by this process so far; part of each one's name.
static TEMPORARY_FILES: AtomicU64 = AtomicU64::new(0);

/// `.<name>.<pid>.<n>.tmp` beside `path`: no other writer, in this process or another, uses the
/// same name at the same time. Names starting with a dot are never taken for records.
pub fn temporary_path(path: &Path) -> PathBuf {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = TEMPORARY_FILES.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{file_name}.{}.{n}.tmp", std::process::id()))
}

/// [`temporary_path`] with `path`'s extension kept last (`.NAME.<pid>.<n>.tmp.png`), for writers
/// that choose the format from the extension, such as the PNG encoder.
pub fn temporary_path_keeping_extension(path: &Path) -> PathBuf {
    let temporary = temporary_path(path);
    match path.extension() {
        Some(extension) => {
            let mut name = temporary.into_os_string();
            name.push(".");
            name.push(extension);
            PathBuf::from(name)
        }
        None => temporary,
    }
}

/// Whether `name` is one of [`temporary_path`]'s or [`temporary_path_keeping_extension`]'s names.
pub fn is_temporary(name: &str) -> bool {
    name.starts_with('.')
        && (name.ends_with(".tmp")
            || name
                .rsplit_once('.')
                .is_some_and(|(stem, _)| stem.ends_with(".tmp")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_temporary_name_is_recognised_and_no_result_is() {
        let chart = Path::new("out").join("curves.png");
        let png = temporary_path_keeping_extension(&chart);
        let name = png.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.ends_with(".tmp.png") && name.starts_with(".curves.png."),
            "{name}"
        );
        assert!(is_temporary(&name));
        let table = temporary_path(Path::new("runs.csv"));
        assert!(is_temporary(&table.file_name().unwrap().to_string_lossy()));
        for result in [
            "runs.csv",
            "curves.png",
            "report.md",
            ".lock",
            "manifest.json",
        ] {
            assert!(!is_temporary(result), "{result}");
        }
    }

    #[test]
    fn concurrent_writers_of_one_file_never_fail_and_leave_a_complete_version() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("runs.csv");
        // Two complete versions, large enough that a torn write would show.
        let versions: Vec<Vec<u8>> = (0..2)
            .map(|v| format!("version {v}\n").repeat(10_000).into_bytes())
            .collect();
        let writing = std::sync::atomic::AtomicBool::new(true);
        std::thread::scope(|scope| {
            let writers: Vec<_> = versions
                .iter()
                .map(|version| {
                    scope.spawn(|| {
                        for _ in 0..100 {
                            write_atomic(&target, version).unwrap();
                        }
                    })
                })
                .collect();
            // A reader meanwhile sees no file yet or a complete version, never a torn one.
            scope.spawn(|| {
                while writing.load(Ordering::Relaxed) {
                    match fs::read(&target) {
                        Ok(bytes) => assert!(versions.contains(&bytes), "a torn file was read"),
                        Err(error) => assert_eq!(error.kind(), io::ErrorKind::NotFound),
                    }
                }
            });
            for writer in writers {
                writer.join().unwrap();
            }
            writing.store(false, Ordering::Relaxed);
        });
        assert!(versions.contains(&fs::read(&target).unwrap()));
        let left: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, ["runs.csv"], "no temporary file is left behind");
    }

    #[test]
    fn names_are_the_documented_ones() {
        let charts: Vec<&str> = ChartFile::ALL.iter().map(|c| c.stem()).collect();
        assert_eq!(
            charts,
            [
                "accuracy_vs_noise",
                "gain_heatmap",
                "curves",
                "reliability",
                "penultimate",
                "noise_matrix"
            ]
        );
        assert_eq!(ChartFile::Curves.png(), "curves.png");
        assert_eq!(record_file("ab12"), "ab12.json");
        assert_eq!(
            noisy_labels_file("symmetric", 0.2, 3),
            "symmetric-rate0.200000-seed3.csv"
        );
    }
}
