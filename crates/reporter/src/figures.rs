//! The charts of a report, built from the result tables: which runs each chart shows and how
//! their values are pooled. The drawing itself is in `charts`.

use crate::charts::{
    ChartPoint, ChartSeries, GainHeatmap, HeatmapCell, LineChart, LinePanel, ProjectionChart,
    ProjectionPanel, ProjectionPoint, ReliabilityBin, ReliabilityChart, ReliabilityPanel,
    TransitionChart,
};
use crate::levels::NoiseLevels;
use crate::paired::PairedRow;
use crate::rows::{CalibrationRow, EpochRow, ProjectionRow, RunRow, TransitionRow};
use crate::setting::{HasSetting, Setting, sorted_settings};
use crate::stats::{estimate, sorted_unique};

/// The paired gain of `metric` (a paired summary metric) over hard targets on the grid of noise
/// rates × settings other than hard targets of `paired`; a cell's interval only where it can be judged
/// ([`Estimate::interval_estimable`](crate::Estimate::interval_estimable)).
pub fn gain_heatmap(
    paired: &[PairedRow],
    metric: &str,
    title: &str,
    rate_label: &str,
) -> GainHeatmap {
    let model = paired.first().map(|p| p.noise_model.clone());
    let rows: Vec<&PairedRow> = paired
        .iter()
        .filter(|p| Some(&p.noise_model) == model.as_ref())
        .collect();
    let cells = rows
        .iter()
        .filter_map(|row| {
            row.difference(metric).map(|e| {
                // An interval that cannot be judged (too few pairs, no spread) is left out, so
                // the cell is drawn muted, like one whose interval contains 0.
                let interval = e.interval_estimable().ok();
                HeatmapCell {
                    rate: row.noise_rate,
                    setting: row.setting,
                    mean: e.mean,
                    low: interval.map(|i| i.0),
                    high: interval.map(|i| i.1),
                }
            })
        })
        .collect();
    GainHeatmap {
        title: title.to_string(),
        value_label: "gain in clean test accuracy over hard targets (last epoch)".into(),
        rate_label: rate_label.to_string(),
        rates: sorted_unique(rows.iter().map(|r| r.noise_rate)),
        settings: sorted_settings(rows.iter().map(|r| r.setting)),
        cells,
    }
}

/// The realised transition matrix of the training labels at the highest noise rate of the first
/// noise model of `transitions`, counts pooled over its seeds; classes are numbered by index.
/// For label sets (`levels`), one matrix per set instead, from the first seed (every seed trains
/// on the same given labels), lowest share first. Returns the charts and the rate of the first
/// one shown, or `None` when no training label was flipped there (there is no noise to show).
pub fn noise_matrix_charts(
    transitions: &[TransitionRow],
    title: &str,
    levels: &NoiseLevels,
) -> Option<(Vec<TransitionChart>, f64)> {
    let model = &transitions.first()?.noise_model;
    let train: Vec<&TransitionRow> = transitions
        .iter()
        .filter(|t| &t.noise_model == model && t.split == "train")
        .collect();
    let rates = sorted_unique(train.iter().map(|t| t.noise_rate));
    let shown: Vec<f64> = if levels.are_label_sets() {
        rates
    } else {
        rates.last().copied().into_iter().collect()
    };
    let mut charts = Vec::new();
    for &rate in &shown {
        let mut at_rate: Vec<&&TransitionRow> =
            train.iter().filter(|t| t.noise_rate == rate).collect();
        let seeds = sorted_unique(at_rate.iter().map(|t| t.seed as f64));
        if levels.are_label_sets() {
            let first = seeds.first().copied();
            at_rate.retain(|t| Some(t.seed as f64) == first);
        }
        if !at_rate.iter().any(|t| t.clean_class != t.noisy_class) {
            continue;
        }
        let k = at_rate
            .iter()
            .map(|t| t.clean_class.max(t.noisy_class) + 1)
            .max()?;
        let mut counts = vec![vec![0u64; k]; k];
        for t in &at_rate {
            counts[t.clean_class][t.noisy_class] += t.count;
        }
        let title = match levels.name(rate) {
            Some(set) => format!("label set {set}: {rate:.3} of the training labels changed"),
            None => format!(
                "{title}: training labels at {}, {}",
                levels.title(rate),
                if seeds.len() == 1 {
                    "one seed".to_string()
                } else {
                    format!("{} seeds pooled", seeds.len())
                }
            ),
        };
        charts.push((
            TransitionChart {
                title,
                classes: (0..k).map(|c| c.to_string()).collect(),
                counts,
            },
            rate,
        ));
    }
    let rate = charts.first()?.1;
    Some((charts.into_iter().map(|(chart, _)| chart).collect(), rate))
}

/// Clean test accuracy and memorised share against the epoch at the highest noise rate, one line
/// per setting (mean over the seeds with that epoch, 95% band). `None` without epochs.
pub fn curves_chart(epochs: &[EpochRow], title: &str, levels: &NoiseLevels) -> Option<LineChart> {
    let model = epochs.first()?.noise_model.clone();
    let of_model: Vec<&EpochRow> = epochs.iter().filter(|e| e.noise_model == model).collect();
    let rate = of_model
        .iter()
        .map(|e| e.noise_rate)
        .fold(f64::NEG_INFINITY, f64::max);
    let at_rate: Vec<&EpochRow> = of_model
        .iter()
        .copied()
        .filter(|e| e.noise_rate == rate)
        .collect();
    let all_settings = sorted_settings(of_model.iter().map(|e| e.setting()));
    let settings = sorted_settings(at_rate.iter().map(|e| e.setting()));
    let series = |value: fn(&EpochRow) -> Option<f64>| -> Vec<ChartSeries> {
        settings
            .iter()
            .map(|&setting| {
                let rows: Vec<&EpochRow> = at_rate
                    .iter()
                    .copied()
                    .filter(|e| e.setting() == setting)
                    .collect();
                let points = sorted_unique(rows.iter().map(|e| e.epoch as f64))
                    .into_iter()
                    .filter_map(|epoch| {
                        let values: Vec<f64> = rows
                            .iter()
                            .filter(|e| e.epoch as f64 == epoch)
                            .filter_map(|e| value(e))
                            .collect();
                        estimate(&values).map(|e| ChartPoint {
                            x: epoch,
                            y: e.mean,
                            low: e.ci_low,
                            high: e.ci_high,
                        })
                    })
                    .collect();
                ChartSeries {
                    label: setting.label(),
                    style: setting.style(&all_settings),
                    points,
                }
            })
            .collect()
    };
    let panel = |title: &str, y_label: &str, series| LinePanel {
        title: title.to_string(),
        x_label: "epoch".into(),
        y_label: y_label.to_string(),
        series,
        y_range: None,
    };
    Some(LineChart {
        title: format!("{title}, {}", levels.title(rate)),
        panels: vec![
            panel(
                "clean test accuracy",
                "clean test accuracy",
                series(|e| Some(e.test_accuracy)),
            ),
            panel(
                "memorisation: flipped samples fitted to their noisy label",
                "memorised share",
                series(|e| e.memorised_share),
            ),
        ],
    })
}

/// The (noise rate, setting) cells of the reliability and projection grids: rows are the lowest
/// and the highest noise rate, columns hard targets and the largest ε (whichever exist; the first
/// and the last setting when the grid has no label-smoothing setting). `settings` are in
/// [`Setting::order`].
fn grid_cells(rates: &[f64], settings: &[Setting]) -> (Vec<(f64, Setting)>, usize) {
    fn pick<T: Copy>(values: &[T]) -> Vec<T> {
        match values {
            [] => Vec::new(),
            [only] => vec![*only],
            [first, .., last] => vec![*first, *last],
        }
    }
    let smoothing: Vec<Setting> = settings
        .iter()
        .copied()
        .filter(|s| !s.is_robust() && s.epsilon().is_some_and(|e| e >= 0.0))
        .collect();
    // Hard targets alone are no comparison: then the first and the last setting of all.
    let columns = if smoothing.len() < 2 {
        pick(settings)
    } else {
        pick(&smoothing)
    };
    let cells = pick(rates)
        .into_iter()
        .flat_map(|rate| columns.iter().map(move |&setting| (rate, setting)))
        .collect();
    (cells, columns.len().max(1))
}

/// Reliability diagrams for hard targets and the largest ε at the lowest and the highest noise
/// rate: each bin's accuracy and mean confidence pooled over seeds (weighted by the bin's count),
/// and the ECE (mean over seeds) in the panel title. `None` without calibration rows.
pub fn reliability_chart(
    calibration: &[CalibrationRow],
    runs: &[RunRow],
    title: &str,
) -> Option<ReliabilityChart> {
    let model = calibration.first()?.noise_model.clone();
    let rows: Vec<&CalibrationRow> = calibration
        .iter()
        .filter(|c| c.noise_model == model)
        .collect();
    let all_settings = sorted_settings(runs.iter().map(|r| r.setting()));
    let (cells, columns) = grid_cells(
        &sorted_unique(rows.iter().map(|c| c.noise_rate)),
        &sorted_settings(rows.iter().map(|c| c.setting())),
    );
    let panels = cells
        .into_iter()
        .map(|(rate, setting)| {
            let in_cell: Vec<&CalibrationRow> = rows
                .iter()
                .copied()
                .filter(|c| c.noise_rate == rate && c.setting() == setting)
                .collect();
            let bins = sorted_unique(in_cell.iter().map(|c| c.bin as f64))
                .into_iter()
                .filter_map(|bin| {
                    let same: Vec<&CalibrationRow> = in_cell
                        .iter()
                        .copied()
                        .filter(|c| c.bin as f64 == bin)
                        .collect();
                    let first = same.first()?;
                    let count: u64 = same.iter().map(|c| c.count).sum();
                    let weighted = |value: fn(&CalibrationRow) -> Option<f64>| {
                        (count > 0).then(|| {
                            same.iter()
                                .filter_map(|c| Some(value(c)? * c.count as f64))
                                .sum::<f64>()
                                / count as f64
                        })
                    };
                    Some(ReliabilityBin {
                        low: first.confidence_low,
                        high: first.confidence_high,
                        count,
                        mean_confidence: weighted(|c| c.mean_confidence),
                        accuracy: weighted(|c| c.accuracy),
                    })
                })
                .collect();
            let run_ids: Vec<&str> = in_cell.iter().map(|c| c.run_id.as_str()).collect();
            let eces: Vec<f64> = runs
                .iter()
                .filter(|r| run_ids.contains(&r.run_id.as_str()))
                .filter_map(|r| r.test_ece)
                .collect();
            let ece = estimate(&eces)
                .map(|e| format!(", ECE {:.3}", e.mean))
                .unwrap_or_default();
            ReliabilityPanel {
                title: format!("rate {rate}, {}{ece}", setting.label()),
                style: setting.style(&all_settings),
                bins,
            }
        })
        .collect();
    Some(ReliabilityChart {
        title: format!("{title}: reliability on the clean test split, seeds pooled"),
        panels,
        columns,
    })
}

/// The penultimate-layer projections of the first seed, for hard targets and the largest ε at
/// the lowest and the highest noise rate. `None` without projection rows.
pub fn penultimate_chart(
    projections: &[ProjectionRow],
    runs: &[RunRow],
    title: &str,
) -> Option<ProjectionChart> {
    let first = projections.first()?;
    let (model, seed) = (first.noise_model.clone(), first.seed);
    let rows: Vec<&ProjectionRow> = projections
        .iter()
        .filter(|p| p.noise_model == model && p.seed == seed)
        .collect();
    let mut classes: Vec<(usize, String)> = rows
        .iter()
        .map(|p| (p.class, p.class_name.clone()))
        .collect();
    classes.sort();
    classes.dedup();
    let all_settings = sorted_settings(runs.iter().map(|r| r.setting()));
    let (cells, columns) = grid_cells(
        &sorted_unique(rows.iter().map(|p| p.noise_rate)),
        &sorted_settings(rows.iter().map(|p| p.setting())),
    );
    let panels = cells
        .into_iter()
        .map(|(rate, setting)| ProjectionPanel {
            title: format!("rate {rate}, {}", setting.label()),
            style: setting.style(&all_settings),
            points: rows
                .iter()
                .filter(|p| p.noise_rate == rate && p.setting() == setting)
                .map(|p| ProjectionPoint {
                    x: p.x,
                    y: p.y,
                    class: classes.iter().position(|(c, _)| *c == p.class).unwrap_or(0),
                })
                .collect(),
        })
        .collect();
    Some(ProjectionChart {
        title: format!("{title}: penultimate layer, seed {seed}"),
        class_names: classes.into_iter().map(|(_, name)| name).collect(),
        panels,
        columns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        rate: f64,
        seed: u64,
        split: &str,
        clean: usize,
        noisy: usize,
        count: u64,
    ) -> TransitionRow {
        TransitionRow {
            noise_model: "pair-flip".into(),
            noise_rate: rate,
            label_set: None,
            seed,
            split: split.into(),
            clean_class: clean,
            noisy_class: noisy,
            count,
        }
    }

    #[test]
    fn the_noise_matrix_pools_the_training_labels_of_the_highest_rate_over_seeds() {
        let rows = [
            row(0.0, 0, "train", 0, 0, 10),
            row(0.0, 0, "train", 1, 1, 10),
            row(0.4, 0, "train", 0, 0, 6),
            row(0.4, 0, "train", 0, 1, 4),
            row(0.4, 0, "train", 1, 1, 6),
            row(0.4, 0, "train", 1, 0, 4),
            row(0.4, 0, "validation", 1, 0, 99),
            row(0.4, 1, "train", 0, 0, 7),
            row(0.4, 1, "train", 0, 1, 3),
            row(0.2, 1, "train", 2, 0, 5),
        ];
        let (charts, rate) = noise_matrix_charts(&rows, "t", &NoiseLevels::default()).unwrap();
        assert_eq!((charts.len(), rate), (1, 0.4));
        let chart = &charts[0];
        // Classes 0 and 1 at 0.4; class 2 appears only at another rate, so K = 2.
        assert_eq!(chart.counts, vec![vec![13, 7], vec![4, 6]]);
        assert_eq!(chart.classes, ["0", "1"]);
        assert_eq!(
            chart.title,
            "t: training labels at noise rate 0.4, 2 seeds pooled"
        );
        // Nothing flipped at the highest rate: no chart.
        assert!(noise_matrix_charts(&rows[..2], "t", &NoiseLevels::default()).is_none());
        assert!(noise_matrix_charts(&[], "t", &NoiseLevels::default()).is_none());
    }

    #[test]
    fn label_sets_get_one_matrix_each_from_one_seed() {
        let run = |rate: f64, set: &str| crate::RunRow {
            run_id: set.into(),
            noise_model: "file".into(),
            label_set: Some(set.into()),
            val_selected_test_accuracy: None,
            val_selected_epoch: None,
            ..crate::rows::test_run(rate, 0, 0.0, 0.5)
        };
        let levels = NoiseLevels::from_runs(&[run(0.4, "worst"), run(0.1, "careful")]);
        let rows: Vec<TransitionRow> = [0.4, 0.1]
            .into_iter()
            .flat_map(|rate| {
                let n = (rate * 10.0) as u64;
                [0, 1].into_iter().flat_map(move |seed| {
                    [
                        row(rate, seed, "train", 0, 0, 10 - n),
                        row(rate, seed, "train", 0, 1, n),
                        row(rate, seed, "train", 1, 1, 10),
                    ]
                })
            })
            .map(|mut t| {
                t.noise_model = "file".into();
                t
            })
            .collect();
        let (charts, first) = noise_matrix_charts(&rows, "t", &levels).unwrap();
        assert_eq!(first, 0.1);
        let titles: Vec<&str> = charts.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "label set careful: 0.100 of the training labels changed",
                "label set worst: 0.400 of the training labels changed"
            ]
        );
        // One seed's counts: the given labels are the same for every seed.
        assert_eq!(charts[1].counts, vec![vec![6, 4], vec![0, 10]]);
    }
}
