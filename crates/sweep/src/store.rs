//! The layout of a results folder, and writing into it without ever leaving a half-written file.
//!
//! ```text
//! results/<name>/
//!   manifest.json            resolved configuration, its hash, versions, thread count
//!   records/<run_id>.json    one finished run (what resume reads)
//!   noisy-labels/<model>-rate<r>-seed<s>.csv
//!   runs.csv epochs.csv calibration.csv penultimate.csv      per-run tables
//!   summary.csv paired.csv best_epsilon.csv auc.csv          aggregates of runs.csv
//!   <chart>.png <chart>.svg report.md                        charts and the report page
//! ```

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::experiment::{GroupNoise, PreparedData, RunRecord};
use crate::figures::CHART_NAMES;

/// Files a fresh start removes, besides `records/`, `noisy-labels/` and the charts.
const OUTPUT_FILES: [&str; 10] = [
    "manifest.json",
    "runs.csv",
    "epochs.csv",
    "calibration.csv",
    "penultimate.csv",
    "summary.csv",
    "paired.csv",
    "best_epsilon.csv",
    "auc.csv",
    "report.md",
];

/// A results folder.
#[derive(Debug, Clone)]
pub struct ResultsDir {
    root: PathBuf,
}

impl ResultsDir {
    /// The folder at `root`, not yet touched: records can be read from it before
    /// [`ResultsDir::create`] makes it.
    pub fn new(root: &Path) -> ResultsDir {
        ResultsDir {
            root: root.to_path_buf(),
        }
    }

    /// Creates the folder and its sub-folders if needed. With `fresh`, first removes the records
    /// and outputs a previous sweep left there, and nothing else.
    pub fn create(&self, fresh: bool) -> Result<()> {
        let root = &self.root;
        if fresh {
            for sub in ["records", "noisy-labels"] {
                let path = root.join(sub);
                if path.exists() {
                    fs::remove_dir_all(&path)
                        .with_context(|| format!("removing {}", path.display()))?;
                }
            }
            let charts = CHART_NAMES
                .iter()
                .flat_map(|name| [format!("{name}.png"), format!("{name}.svg")]);
            for file in OUTPUT_FILES.map(String::from).into_iter().chain(charts) {
                let path = root.join(file);
                if path.exists() {
                    fs::remove_file(&path)
                        .with_context(|| format!("removing {}", path.display()))?;
                }
            }
        }
        for sub in ["records", "noisy-labels"] {
            let path = root.join(sub);
            fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        }
        Ok(())
    }

    /// The folder's path.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn record_path(&self, run_id: &str) -> PathBuf {
        self.root.join("records").join(format!("{run_id}.json"))
    }

    /// The stored record of `run_id`, if a complete one exists. A record that cannot be read is
    /// reported through `Err` so the caller can say so and run it again.
    pub fn load_record(&self, run_id: &str) -> Result<Option<RunRecord>> {
        let path = self.record_path(run_id);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error).with_context(|| format!("reading {}", path.display())),
        };
        let record: RunRecord = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a valid run record", path.display()))?;
        anyhow::ensure!(
            record.run.run_id == run_id,
            "{} holds run {}, not {run_id}",
            path.display(),
            record.run.run_id
        );
        Ok(Some(record))
    }

    /// The run ids of every record in the folder (none when it has no `records/`).
    pub fn record_ids(&self) -> Result<Vec<String>> {
        let folder = self.root.join("records");
        let entries = match fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => {
                return Err(error).with_context(|| format!("reading {}", folder.display()));
            }
        };
        let mut ids = Vec::new();
        for entry in entries {
            let name = entry
                .with_context(|| format!("reading {}", folder.display()))?
                .file_name();
            let name = name.to_string_lossy();
            // Temporary files start with a dot and are not records.
            if let Some(id) = name.strip_suffix(".json").filter(|id| !id.starts_with('.')) {
                ids.push(id.to_string());
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// Stores a finished run atomically: the record is complete on disk, or absent.
    pub fn save_record(&self, record: &RunRecord) -> Result<()> {
        let json = serde_json::to_vec_pretty(record)?;
        write_atomic(&self.record_path(&record.run.run_id), &json)
    }

    /// Writes `manifest.json`.
    pub fn write_manifest(&self, manifest: &serde_json::Value) -> Result<()> {
        let mut json = serde_json::to_vec_pretty(manifest)?;
        json.push(b'\n');
        write_atomic(&self.root.join("manifest.json"), &json)
    }

    /// Writes the noisy labels of one (rate, seed) group as CSV (`split,row,clean,noisy,flipped`,
    /// `row` being the sample's index in the full data set), replacing any earlier file.
    pub fn write_noisy_labels(
        &self,
        noise_model: &str,
        noise_rate: f64,
        seed: u64,
        prepared: &PreparedData,
        noise: &GroupNoise,
    ) -> Result<()> {
        let path = self.root.join("noisy-labels").join(format!(
            "{noise_model}-rate{}-seed{seed}.csv",
            reporter::format_float(noise_rate)
        ));
        let mut out = Vec::new();
        writeln!(out, "split,row,clean,noisy,flipped")?;
        for (split, rows, clean, noisy) in [
            (
                "train",
                &prepared.split.train,
                &prepared.train.labels,
                &noise.train,
            ),
            (
                "validation",
                &prepared.split.validation,
                &prepared.validation.labels,
                &noise.validation,
            ),
        ] {
            for (i, &row) in rows.iter().enumerate() {
                writeln!(
                    out,
                    "{split},{row},{},{},{}",
                    clean[i],
                    noisy.labels[i],
                    u8::from(noisy.flipped[i])
                )?;
            }
        }
        write_atomic(&path, &out)
    }
}

/// Writes `bytes` to a temporary file beside `path`, flushes it to disk and renames it over
/// `path`, so readers see the old file or the new one, never a torn one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.tmp"));
    let result = (|| -> io::Result<()> {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        // The rename is durable only once the folder's entry is on disk too.
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::File::open(folder)?.sync_all()?;
        }
        Ok(())
    })();
    result.with_context(|| format!("writing {}", path.display()))
}
