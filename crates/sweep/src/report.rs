//! Everything a report shows, built from the per-run tables: the aggregate CSVs
//! ([`tables`](crate::tables)), the charts ([`figures`](crate::figures)) and `report.md`.

use std::fs;
use std::path::Path;

use anyhow::Result;
use reporter::ReportContext;

use crate::results::{MANIFEST, REPORT, write_atomic};
use crate::tables::{Aggregates, ResultTables};

/// The report context a sweep stored in the folder's `manifest.json`; without one (or with an
/// unreadable one), a generic context named after the folder, with a warning.
pub fn read_context(dir: &Path) -> ReportContext {
    let path = dir.join(MANIFEST);
    let stored = fs::read(&path)
        .map_err(anyhow::Error::new)
        .and_then(|bytes| Ok(serde_json::from_slice::<serde_json::Value>(&bytes)?))
        .and_then(|manifest| {
            let mut context = serde_json::from_value::<ReportContext>(
                manifest.get("report").cloned().unwrap_or_default(),
            )?;
            // A shard's folder says so; a merged one has no `shard`.
            context.shard = manifest
                .get("shard")
                .and_then(|shard| shard.as_str())
                .map(String::from);
            Ok(context)
        });
    stored.unwrap_or_else(|error| {
        errln!(
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
            question: "How much does label smoothing (ε ≠ 0) protect the classifier against label \
                       noise, compared with hard targets (ε = 0), at each noise rate?"
                .into(),
            settings: Vec::new(),
            shard: None,
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
    let transitions = crate::tables::write_transitions(dir, &tables.runs)?;
    let charts = crate::figures::write_charts(dir, tables, &aggregates, &transitions, context)?;
    let page = reporter::report_markdown(&reporter::ReportPage {
        context,
        runs: &tables.runs,
        summary: &aggregates.summary,
        paired: &aggregates.paired,
        best: &aggregates.best,
        losses: &aggregates.losses,
        areas: &aggregates.areas,
        charts: &charts.drawn,
        missing_charts: &charts.missing,
    });
    write_atomic(&dir.join(REPORT), page.as_bytes())?;
    Ok(aggregates)
}
