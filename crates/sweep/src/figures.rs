//! Writing a report's charts as PNG and SVG, and what `report.md` says about each.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use reporter::{Chart, PageChart, ReportContext};

use crate::report::{Aggregates, ResultTables};
use crate::store::write_atomic;

/// Every chart a report can have, by file stem.
pub const CHART_NAMES: [&str; 5] = [
    "accuracy_vs_noise",
    "gain_heatmap",
    "curves",
    "reliability",
    "penultimate",
];

/// Draws every chart the tables have data for into `dir` (PNG and SVG, each written atomically)
/// and returns them for the page, the main chart first. A chart without data is not drawn, and
/// an earlier file of it is removed so the folder never shows a stale chart.
pub fn write_charts(
    dir: &Path,
    tables: &ResultTables,
    aggregates: &Aggregates,
    context: &ReportContext,
) -> Result<Vec<PageChart>> {
    let title = &context.title;
    let charts: [(&str, Option<Chart>, &str, &str); 5] = [
        (
            "accuracy_vs_noise",
            Some(reporter::accuracy_vs_noise_chart(&aggregates.summary, title).into()),
            "Accuracy versus noise",
            "Clean test accuracy against the share of flipped training labels, one line per ε \
             (mean over seeds, 95% band); left after the last epoch, right at the best epoch, \
             which peeks at the test split and so shows what early stopping could reach at best.",
        ),
        (
            "gain_heatmap",
            (!aggregates.paired.is_empty())
                .then(|| reporter::gain_heatmap(&aggregates.paired, "test_accuracy", title).into()),
            "Gain heatmap",
            "Each cell is the mean over seeds of (accuracy with ε) − (accuracy with ε = 0) at one \
             noise rate, with its 95% interval; red is a gain, blue a loss, and muted cells have \
             an interval that contains 0.",
        ),
        (
            "curves",
            reporter::curves_chart(&tables.epochs, title).map(Chart::from),
            "Training curves at the highest noise rate",
            "Clean test accuracy and the share of flipped training samples predicted as their \
             noisy label, per epoch. Memorisation shows as accuracy that peaks and then declines \
             while the memorised share climbs.",
        ),
        (
            "reliability",
            reporter::reliability_chart(&tables.calibration, &tables.runs, title).map(Chart::from),
            "Reliability",
            "Accuracy against confidence in 15 bins on the clean test split, seeds pooled; bars \
             below the diagonal are over-confident, above it under-confident. The ECE in each \
             title is the mean over seeds.",
        ),
        (
            "penultimate",
            reporter::penultimate_chart(&tables.projections, &tables.runs, title).map(Chart::from),
            "Penultimate-layer projection",
            "Test samples of the first three classes, first seed, in the plane through those \
             classes' last-layer templates (Müller et al. 2019, who found that label smoothing \
             pulls each class into a tight cluster, equally far from the other templates, \
             while hard targets leave broad clusters spread along the template directions).",
        ),
    ];
    let mut page = Vec::new();
    for (name, chart, heading, caption) in charts {
        let png = dir.join(format!("{name}.png"));
        let svg = dir.join(format!("{name}.svg"));
        let Some(chart) = chart else {
            for stale in [&png, &svg] {
                if stale.exists() {
                    fs::remove_file(stale)
                        .with_context(|| format!("removing {}", stale.display()))?;
                }
            }
            continue;
        };
        let png_tmp = dir.join(format!(".{name}.png.tmp.png"));
        chart
            .write_png(&png_tmp)
            .with_context(|| format!("drawing {}", png.display()))?;
        fs::rename(&png_tmp, &png).with_context(|| format!("writing {}", png.display()))?;
        let text = chart
            .render_svg()
            .with_context(|| format!("drawing {}", svg.display()))?;
        write_atomic(&svg, text.as_bytes())?;
        page.push(PageChart {
            heading: heading.to_string(),
            file: format!("{name}.png"),
            caption: caption.to_string(),
        });
    }
    Ok(page)
}
