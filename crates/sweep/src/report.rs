//! Everything computed from the per-run tables: the aggregate CSVs, the charts and `report.md`.
//!
//! A sweep writes `runs.csv`, `epochs.csv`, `calibration.csv` and `penultimate.csv` from its
//! records, reads them back and builds the rest from what it read; `sweep report DIR` reads the
//! same files. So both give the same bytes, and a merged or edited result set can be re-reported.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use reporter::{
    AucRow, BestEpsilonRow, CalibrationRow, CsvRow, EpochRow, PairedRow, ProjectionRow,
    ReportContext, RunRow, SummaryRow, read_csv, write_csv,
};

use crate::experiment::RunRecord;
use crate::store::write_atomic;

/// A results file that cannot be read: a usage error (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ReportInputError(pub anyhow::Error);

/// The per-run tables every aggregate is computed from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResultTables {
    /// `runs.csv`.
    pub runs: Vec<RunRow>,
    /// `epochs.csv`.
    pub epochs: Vec<EpochRow>,
    /// `calibration.csv`.
    pub calibration: Vec<CalibrationRow>,
    /// `penultimate.csv`.
    pub projections: Vec<ProjectionRow>,
}

impl ResultTables {
    /// The tables of `records`, in the given order.
    pub fn from_records(records: &[&RunRecord]) -> ResultTables {
        ResultTables {
            runs: records.iter().map(|r| r.run.clone()).collect(),
            epochs: records.iter().flat_map(|r| r.epochs.clone()).collect(),
            calibration: records.iter().flat_map(|r| r.calibration.clone()).collect(),
            projections: records.iter().flat_map(|r| r.projection.clone()).collect(),
        }
    }

    /// Writes the four tables into `dir` (each atomically) and returns them as read back from the
    /// bytes written, with floats rounded as in the files.
    pub fn write(&self, dir: &Path) -> Result<ResultTables> {
        Ok(ResultTables {
            runs: write_and_reread(dir, "runs.csv", &self.runs)?,
            epochs: write_and_reread(dir, "epochs.csv", &self.epochs)?,
            calibration: write_and_reread(dir, "calibration.csv", &self.calibration)?,
            projections: write_and_reread(dir, "penultimate.csv", &self.projections)?,
        })
    }

    /// Reads the tables of a results folder: `runs.csv` and `epochs.csv` must exist;
    /// `calibration.csv` and `penultimate.csv` are optional (without them, the charts that need
    /// them are left out).
    pub fn read(dir: &Path) -> Result<ResultTables, ReportInputError> {
        Ok(ResultTables {
            runs: read_table(dir, "runs.csv", true)?,
            epochs: read_table(dir, "epochs.csv", true)?,
            calibration: read_table(dir, "calibration.csv", false)?,
            projections: read_table(dir, "penultimate.csv", false)?,
        })
    }
}

fn write_and_reread<R: CsvRow + serde::de::DeserializeOwned>(
    dir: &Path,
    name: &str,
    rows: &[R],
) -> Result<Vec<R>> {
    let bytes = write_table(dir, name, rows)?;
    Ok(read_csv(bytes.as_slice(), name)?)
}

fn read_table<R: CsvRow + serde::de::DeserializeOwned>(
    dir: &Path,
    name: &str,
    required: bool,
) -> Result<Vec<R>, ReportInputError> {
    let path = dir.join(name);
    match fs::File::open(&path) {
        Ok(file) => read_csv(std::io::BufReader::new(file), &path.display().to_string())
            .map_err(|e| ReportInputError(e.into())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && !required => Ok(Vec::new()),
        Err(error) => Err(ReportInputError(
            anyhow::Error::new(error).context(format!("reading {}", path.display())),
        )),
    }
}

/// The aggregate tables.
#[derive(Debug, Clone)]
pub struct Aggregates {
    /// `summary.csv`.
    pub summary: Vec<SummaryRow>,
    /// `paired.csv`.
    pub paired: Vec<PairedRow>,
    /// `best_epsilon.csv`.
    pub best: Vec<BestEpsilonRow>,
    /// `auc.csv`.
    pub areas: Vec<AucRow>,
}

impl Aggregates {
    /// Computes every aggregate from the runs.
    pub fn of(runs: &[RunRow]) -> Aggregates {
        let summary = reporter::summarise(runs);
        let paired = reporter::paired_differences(runs);
        let best = reporter::best_epsilons(&summary, &paired);
        Aggregates {
            areas: reporter::areas_under_curves(runs),
            summary,
            paired,
            best,
        }
    }

    /// Writes `summary.csv`, `paired.csv`, `best_epsilon.csv` and `auc.csv` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        write_table(dir, "summary.csv", &self.summary)?;
        write_table(dir, "paired.csv", &self.paired)?;
        write_table(dir, "best_epsilon.csv", &self.best)?;
        write_table(dir, "auc.csv", &self.areas)?;
        Ok(())
    }
}

/// Writes `rows` as the CSV file `name` in `dir` (atomically) and returns the bytes written.
fn write_table<R: CsvRow>(dir: &Path, name: &str, rows: &[R]) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    write_csv(&mut bytes, rows).with_context(|| format!("formatting {name}"))?;
    write_atomic(&dir.join(name), &bytes)?;
    Ok(bytes)
}

/// The report context a sweep stored in the folder's `manifest.json`; without one (or with an
/// unreadable one), a generic context named after the folder, with a warning.
pub fn read_context(dir: &Path) -> ReportContext {
    let path = dir.join("manifest.json");
    let stored = fs::read(&path)
        .map_err(anyhow::Error::new)
        .and_then(|bytes| Ok(serde_json::from_slice::<serde_json::Value>(&bytes)?))
        .and_then(|manifest| {
            Ok(serde_json::from_value::<ReportContext>(
                manifest.get("report").cloned().unwrap_or_default(),
            )?)
        });
    stored.unwrap_or_else(|error| {
        eprintln!(
            "warning: no report settings from {} ({error}); the report will have no settings",
            path.display()
        );
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "results".into());
        ReportContext {
            title: name.clone(),
            name,
            question: "How much does label smoothing (ε > 0) protect the classifier against label \
                       noise, compared with hard targets (ε = 0), at each noise rate?"
                .into(),
            settings: Vec::new(),
        }
    })
}

/// Writes every aggregate, chart and `report.md` of `tables` into `dir`, and returns the
/// aggregates.
pub fn write_report(
    dir: &Path,
    tables: &ResultTables,
    context: &ReportContext,
) -> Result<Aggregates> {
    let aggregates = Aggregates::of(&tables.runs);
    aggregates.write(dir)?;
    let charts = crate::figures::write_charts(dir, tables, &aggregates, context)?;
    let n_finished = tables
        .runs
        .iter()
        .filter(|r| r.status == reporter::RunStatusLabel::Finished)
        .count();
    let page = reporter::report_markdown(&reporter::ReportPage {
        context,
        summary: &aggregates.summary,
        paired: &aggregates.paired,
        best: &aggregates.best,
        areas: &aggregates.areas,
        charts: &charts,
        n_runs: (tables.runs.len(), n_finished),
    });
    write_atomic(&dir.join("report.md"), page.as_bytes())?;
    Ok(aggregates)
}
