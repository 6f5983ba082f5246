//! `sweep merge`: join the results folders of shards (or of any partial sweeps of one experiment)
//! into one folder, and report on the whole grid.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::config::ExperimentConfig;
use crate::experiment::RunRecord;
use crate::grid::expand;
use crate::report::write_report;
use crate::results::{MANIFEST, NOISY_LABELS, write_atomic};
use crate::store::ResultsDir;
use crate::tables::{Aggregates, ResultTables};

/// Folders that cannot be merged: a usage error (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MergeInputError(pub String);

/// What a merge found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeSummary {
    /// Runs in the experiment's grid.
    pub total: usize,
    /// Runs with a record in some folder.
    pub found: usize,
    /// Runs whose record says `finished`.
    pub finished: usize,
}

/// A folder's `manifest.json`: its configuration hash and the configuration itself.
fn read_manifest(dir: &Path) -> Result<(String, ExperimentConfig, serde_json::Value)> {
    let path = dir.join(MANIFEST);
    let bytes = fs::read(&path).map_err(|error| {
        MergeInputError(format!(
            "{}: cannot read it ({error}); is {} a results folder?",
            path.display(),
            dir.display()
        ))
    })?;
    let manifest: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|error| MergeInputError(format!("{}: not valid JSON: {error}", path.display())))?;
    let hash = manifest
        .get("config_hash")
        .and_then(|h| h.as_str())
        .ok_or_else(|| MergeInputError(format!("{}: no `config_hash`", path.display())))?
        .to_string();
    let config: ExperimentConfig = manifest
        .get("config")
        .cloned()
        .ok_or_else(|| MergeInputError(format!("{}: no `config`", path.display())))
        .and_then(|value| {
            serde_json::from_value(value).map_err(|error| {
                MergeInputError(format!(
                    "{}: `config` is not valid: {error}",
                    path.display()
                ))
            })
        })?;
    Ok((hash, config, manifest))
}

/// Merges `inputs` into `out`: every folder must hold the same experiment (the same
/// `config_hash`); each run of the grid is taken from the first folder that has a record of it
/// (a `failed` record only when no folder has a better one). The records are copied into
/// `out/records`, the noisy labels into `out/noisy-labels`, and every table, chart and
/// `report.md` is built for the whole grid.
pub fn merge(inputs: &[PathBuf], out: &Path) -> Result<MergeSummary> {
    let mut manifests = Vec::new();
    for dir in inputs {
        manifests.push(read_manifest(dir)?);
    }
    let (hash, config, manifest) = manifests
        .first()
        .cloned()
        .ok_or_else(|| MergeInputError("no folder to merge".into()))?;
    for (dir, (other, _, _)) in inputs.iter().zip(&manifests).skip(1) {
        if *other != hash {
            return Err(MergeInputError(format!(
                "{}: config_hash {} differs from {}'s {}: these folders hold different experiments and cannot be merged",
                dir.join(MANIFEST).display(),
                short(other),
                inputs[0].display(),
                short(&hash)
            ))
            .into());
        }
    }
    // The same file can name a labels or matrix file whose contents differ between folders: the
    // contents resolution recorded must agree too.
    for (dir, (_, other, _)) in inputs.iter().zip(&manifests).skip(1) {
        for (key, mine, theirs) in [
            (
                "noise.labels_digest",
                json_of(&config.noise.labels_digest),
                json_of(&other.noise.labels_digest),
            ),
            (
                "noise.matrix",
                json_of(&config.noise.matrix),
                json_of(&other.noise.matrix),
            ),
        ] {
            if mine != theirs {
                return Err(MergeInputError(format!(
                    "{}: {key} differs from {}'s: the folders were run on different contents of the same labels or matrix file, so they hold different experiments and cannot be merged",
                    dir.join(MANIFEST).display(),
                    inputs[0].display(),
                ))
                .into());
            }
        }
    }

    let specs = expand(&config.resolve()?);
    let folders: Vec<ResultsDir> = inputs.iter().map(|dir| ResultsDir::new(dir)).collect();
    let mut records: Vec<RunRecord> = Vec::new();
    for spec in &specs {
        let mut chosen: Option<RunRecord> = None;
        for folder in &folders {
            let Some(record) = folder.load_record(&spec.run_id)? else {
                continue;
            };
            let failed = record.run.status == reporter::RunStatusLabel::Failed;
            if chosen.is_none() || !failed {
                chosen = Some(record);
            }
            if !failed {
                break;
            }
        }
        records.extend(chosen);
    }

    // Records of another experiment must not be mixed with these: the merged folder is checked
    // before it is touched (so a refusal changes nothing, not even its lock file), and again once
    // it is locked, in case a sweep wrote it in between.
    check_target(out, &hash)?;
    let target = ResultsDir::new(out);
    let lock = target.lock("sweep merge")?;
    if let Err(error) = check_target(out, &hash) {
        lock.abandon();
        return Err(error.into());
    }
    target.create(false)?;
    for record in &records {
        target.save_record(record)?;
    }
    for dir in inputs {
        copy_noisy_labels(dir, out)?;
    }
    let mut merged_manifest = manifest;
    merged_manifest["merged_from"] = serde_json::Value::Array(
        inputs
            .iter()
            .map(|dir| serde_json::Value::String(dir.display().to_string()))
            .collect(),
    );
    // How one shard was run says nothing about the merged set.
    if let Some(object) = merged_manifest.as_object_mut() {
        for key in ["jobs", "inner_threads", "shard"] {
            object.remove(key);
        }
    }
    target.write_manifest(&merged_manifest)?;

    let views: Vec<&RunRecord> = records.iter().collect();
    let tables = ResultTables::from_records(&views).write(out)?;
    let context = crate::report::read_context(out);
    let aggregates: Aggregates = write_report(out, &tables, &context)?;
    out!(
        "{}",
        reporter::accuracy_table(&aggregates.summary, false, &aggregates.levels)
    );
    drop(lock);
    Ok(MergeSummary {
        total: specs.len(),
        found: records.len(),
        finished: records
            .iter()
            .filter(|r| r.run.status == reporter::RunStatusLabel::Finished)
            .count(),
    })
}

/// `value` as JSON text, for comparing what two manifests recorded.
fn json_of<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Refuses a merged folder that already holds another experiment: its `manifest.json` has another
/// `config_hash` than `hash` (or cannot be read). A folder without a manifest is fine.
fn check_target(out: &Path, hash: &str) -> Result<(), MergeInputError> {
    let path = out.join(MANIFEST);
    // A folder that is not there yet holds nothing (and one that cannot be made is reported by
    // taking its lock).
    if !out.is_dir() {
        return Ok(());
    }
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => {
            return Err(MergeInputError(format!(
                "{}: cannot read it ({error}), so which experiment {} holds cannot be told; choose another --out",
                path.display(),
                out.display()
            )));
        }
    };
    let other = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|manifest| Some(manifest.get("config_hash")?.as_str()?.to_string()));
    match other {
        Some(other) if other == hash => Ok(()),
        Some(other) => Err(MergeInputError(format!(
            "{}: config_hash {} differs from the merged folders' {}: {} holds another experiment; choose another --out",
            path.display(),
            short(&other),
            short(hash),
            out.display()
        ))),
        None => Err(MergeInputError(format!(
            "{}: no readable config_hash, so which experiment {} holds cannot be told; choose another --out",
            path.display(),
            out.display()
        ))),
    }
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(12)]
}

/// Copies the noisy-label files of `dir` into `out`, keeping any `out` already has (the files of
/// one group are identical in every shard that drew it).
fn copy_noisy_labels(dir: &Path, out: &Path) -> Result<()> {
    let from = dir.join(NOISY_LABELS);
    let Ok(entries) = fs::read_dir(&from) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", from.display()))?;
        let target = out.join(NOISY_LABELS).join(entry.file_name());
        if target.exists() || entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let bytes = fs::read(entry.path())
            .with_context(|| format!("reading {}", entry.path().display()))?;
        write_atomic(&target, &bytes)?;
    }
    Ok(())
}
