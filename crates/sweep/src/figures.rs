//! Writing a report's charts as PNG and SVG, and what `report.md` says about each.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use reporter::{Chart, HasSetting, PageChart, ReportContext};

use crate::results::{
    CALIBRATION, ChartFile, EPOCHS, PENULTIMATE, TRANSITIONS, temporary_path_keeping_extension,
    write_atomic,
};
use crate::tables::{Aggregates, ResultTables};

/// The charts of a report: those drawn, for the page, and those left out with why.
#[derive(Debug, Clone, Default)]
pub struct ReportCharts {
    /// The charts drawn, the main one first.
    pub drawn: Vec<PageChart>,
    /// The charts not drawn for want of data: (heading, why).
    pub missing: Vec<(String, String)>,
}

/// Draws every chart the tables have data for into `dir` (PNG and SVG, each written atomically)
/// and returns them for the page, the main chart first, with the headings of the charts not
/// drawn and why. A chart without data is not drawn, and an earlier file of it is removed so the
/// folder never shows a stale chart.
pub fn write_charts(
    dir: &Path,
    tables: &ResultTables,
    aggregates: &Aggregates,
    transitions: &[reporter::TransitionRow],
    context: &ReportContext,
) -> Result<ReportCharts> {
    let title = &context.title;
    let mut seeds: Vec<u64> = tables.runs.iter().map(|r| r.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    let one_seed = seeds.len() == 1;
    let has_losses = tables.runs.iter().any(|r| r.setting().is_robust());
    let lines = if has_losses {
        "one line per target setting (hard targets black and dashed, label smoothing with \
         circles, the losses built for label noise with triangles in darker colours)"
    } else {
        "one line per ε"
    };
    let with = if has_losses {
        "accuracy of the setting"
    } else {
        "accuracy with ε"
    };
    let against = if aggregates.levels.are_label_sets() {
        "the share of training labels each label set changes (one point per label set)"
    } else {
        "the nominal noise rate of the configuration (the accuracy table gives the realised share \
         of flipped training labels where it differs)"
    };
    let main_caption = format!(
        "Clean test accuracy against {against}, {lines} ({}); left after the last epoch, \
         right at the best epoch, which peeks at the test split and so shows what early stopping \
         could reach at best.",
        if one_seed {
            "a single seed, so no band"
        } else {
            "mean over seeds, 95% band"
        }
    );
    let heatmap_caption = if one_seed {
        format!(
            "Each cell is ({with}) − (accuracy with ε = 0) of the single seed at one noise \
             rate; red is a gain, blue a loss. With 1 seed there is no interval, so every cell \
             is muted: no difference can be told from chance."
        )
    } else {
        format!(
            "Each cell is the mean over seeds of ({with}) − (accuracy with ε = 0) at one \
             noise rate, with its 95% interval; red is a gain, blue a loss, and muted cells have \
             an interval that contains 0 or that cannot be judged (fewer than \
             {} pairs, or every pair's difference the same).",
            reporter::MIN_SAMPLES_FOR_INTERVAL
        )
    };
    let curves_heading = format!("Training curves at {}", aggregates.levels.highest());
    let curves_caption = format!(
        "Clean test accuracy and the share of flipped training samples predicted as their noisy \
         label, per epoch ({}). Memorisation shows as accuracy that peaks and then declines \
         while the memorised share climbs.",
        if one_seed {
            "a single seed"
        } else {
            "mean over seeds, 95% band"
        }
    );
    let reliability_caption = if one_seed {
        "Accuracy against confidence in 15 bins on the clean test split, from the single seed; \
         bars below the diagonal are over-confident, above it under-confident. The ECE in each \
         title is that seed's."
    } else {
        "Accuracy against confidence in 15 bins on the clean test split, seeds pooled; bars \
         below the diagonal are over-confident, above it under-confident. The ECE in each \
         title is the mean over seeds."
    };
    let noise_matrix = reporter::noise_matrix_charts(transitions, title, &aggregates.levels);
    let noise_matrix_caption = match &noise_matrix {
        Some(_) if aggregates.levels.are_label_sets() => format!(
            "How each label set changed the training labels, one matrix per set (the first \
             seed's: every seed trains on the same given labels): row c holds the training \
             samples of clean class c, and each cell the share of them given that label (with \
             its count). The outlined diagonal is the share that kept its label; the rest of \
             the row is where the set's labels sent the others. {TRANSITIONS} has the counts of \
             every set, seed and split."
        ),
        Some((_, rate)) => format!(
            "How the training labels were changed at {} run ({}), seeds \
             pooled: row c holds the training samples of clean class c, and each cell the share \
             of them given that label (with its count). The outlined diagonal is the share that \
             kept its label; the rest of the row is where the noise sent the others: evenly \
             spread for symmetric noise, one cell per row for pair-flip or a class map. \
             {TRANSITIONS} has the counts of every rate, seed and split.",
            aggregates.levels.highest(),
            reporter::short_number(*rate)
        ),
        None => String::new(),
    };
    let charts: [(ChartFile, Option<Chart>, &str, &str, String); 6] = [
        (
            ChartFile::AccuracyVsNoise,
            Some(
                reporter::accuracy_vs_noise_chart(
                    &aggregates.summary,
                    title,
                    aggregates.levels.axis_label(),
                )
                .into(),
            ),
            "Accuracy versus noise",
            &main_caption,
            String::new(),
        ),
        (
            ChartFile::GainHeatmap,
            aggregates.paired.iter().any(|p| p.n_pairs > 0).then(|| {
                reporter::gain_heatmap(
                    &aggregates.paired,
                    "test_accuracy",
                    title,
                    aggregates.levels.axis_label(),
                )
                .into()
            }),
            "Gain heatmap",
            &heatmap_caption,
            "there are no paired gains to show (see the paired-gain section)".into(),
        ),
        (
            ChartFile::Curves,
            reporter::curves_chart(&tables.epochs, title, &aggregates.levels).map(Chart::from),
            &curves_heading,
            &curves_caption,
            format!("{EPOCHS} has no rows: no run completed an epoch"),
        ),
        (
            ChartFile::Reliability,
            reporter::reliability_chart(&tables.calibration, &tables.runs, title).map(Chart::from),
            "Reliability",
            reliability_caption,
            format!(
                "{CALIBRATION} is missing or has no rows: no run completed an epoch, or the \
                 folder lacks the file"
            ),
        ),
        (
            ChartFile::Penultimate,
            reporter::penultimate_chart(&tables.projections, &tables.runs, title).map(Chart::from),
            "Penultimate-layer projection",
            "Test samples of the first three classes, first seed, in the plane through those \
             classes' last-layer templates (Müller et al. 2019, who found that label smoothing \
             pulls each class into a tight cluster, equally far from the other templates, \
             while hard targets leave broad clusters spread along the template directions).",
            format!(
                "{PENULTIMATE} is missing or has no rows: a sweep writes it only for an MLP with \
                 a hidden layer on three or more classes, from its first seed"
            ),
        ),
        (
            ChartFile::NoiseMatrix,
            noise_matrix.map(|(mut charts, _)| match charts.len() {
                1 => Chart::from(charts.remove(0)),
                _ => Chart::TransitionPanels(charts),
            }),
            "Realised noise",
            &noise_matrix_caption,
            format!(
                "no training label was flipped at the highest noise rate run (or {TRANSITIONS} \
                 has no rows: the folder lacks its noisy labels)"
            ),
        ),
    ];
    let mut page = Vec::new();
    let mut missing = Vec::new();
    for (file, chart, heading, caption, why_missing) in charts {
        let png = dir.join(file.png());
        let svg = dir.join(file.svg());
        let Some(chart) = chart else {
            for stale in [&png, &svg] {
                if stale.exists() {
                    fs::remove_file(stale)
                        .with_context(|| format!("removing {}", stale.display()))?;
                }
            }
            missing.push((heading.to_string(), why_missing));
            continue;
        };
        let png_tmp = temporary_path_keeping_extension(&png);
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
            file: file.png(),
            caption: caption.to_string(),
        });
    }
    Ok(ReportCharts {
        drawn: page,
        missing,
    })
}
