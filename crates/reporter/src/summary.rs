//! Aggregation of runs over seeds: one [`SummaryRow`] per (noise model, noise rate, setting), with the
//! mean, standard deviation and Student-t interval of docs/DEFINITIONS.md
//! (`#mean-and-standard-deviation`, `#student-t-interval`).

use crate::csv_out::{CsvRow, format_float, format_optional};
use crate::rows::{RunRow, RunStatusLabel};
use crate::setting::{HasSetting, Setting};
use crate::stats::{Estimate, estimate};

/// A metric summarised over seeds: its column stem and how to read it from a run.
pub struct SummaryMetric {
    /// Column stem; the summary has `<stem>_mean`, `_std`, `_ci95_low`, `_ci95_high`.
    pub name: &'static str,
    /// The metric's value in a run (None when the run has no completed epoch).
    pub value: fn(&RunRow) -> Option<f64>,
    /// Whether `paired.csv` reports its difference against hard targets.
    pub paired: bool,
}

/// The metrics of `summary.csv`, in column order. Each is the same-named `runs.csv` column.
pub const SUMMARY_METRICS: &[SummaryMetric] = &[
    SummaryMetric {
        name: "test_accuracy",
        value: |r| r.test_accuracy,
        paired: true,
    },
    SummaryMetric {
        name: "best_test_accuracy",
        value: |r| r.best_test_accuracy,
        paired: true,
    },
    SummaryMetric {
        name: "val_selected_test_accuracy",
        value: |r| r.val_selected_test_accuracy,
        paired: true,
    },
    SummaryMetric {
        name: "test_nll",
        value: |r| r.test_nll,
        paired: true,
    },
    SummaryMetric {
        name: "test_ece",
        value: |r| r.test_ece,
        paired: true,
    },
    SummaryMetric {
        name: "train_accuracy_noisy",
        value: |r| r.train_accuracy_noisy,
        paired: false,
    },
    SummaryMetric {
        name: "train_accuracy_clean",
        value: |r| r.train_accuracy_clean,
        paired: false,
    },
    SummaryMetric {
        name: "memorised_share",
        value: |r| r.memorised_share,
        paired: true,
    },
];

/// The metrics whose paired differences `paired.csv` reports, in column order.
pub fn paired_metrics() -> impl Iterator<Item = &'static SummaryMetric> {
    SUMMARY_METRICS.iter().filter(|metric| metric.paired)
}

/// One row of `summary.csv`: every metric of [`SUMMARY_METRICS`] over the finished runs (seeds)
/// of one (noise model, noise rate, target setting).
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    /// Noise model name.
    pub noise_model: String,
    /// Nominal noise rate.
    pub noise_rate: f64,
    /// The target setting (loss and parameters).
    pub setting: Setting,
    /// Runs in the group, finished or not.
    pub n_runs: usize,
    /// Runs that finished; only these enter the statistics.
    pub n_finished: usize,
    /// One estimate per entry of [`SUMMARY_METRICS`], `None` when no finished run has the metric.
    pub metrics: Vec<Option<Estimate>>,
}

impl SummaryRow {
    /// The estimate of the metric called `name`, if it is a summary metric and has values.
    pub fn metric(&self, name: &str) -> Option<Estimate> {
        let index = SUMMARY_METRICS.iter().position(|m| m.name == name)?;
        self.metrics[index]
    }
}

impl CsvRow for SummaryRow {
    fn header() -> Vec<String> {
        let mut header: Vec<String> = vec!["noise_model".into(), "noise_rate".into()];
        header.extend(Setting::header());
        header.extend(["n_runs".into(), "n_finished".into()]);
        for metric in SUMMARY_METRICS {
            for suffix in ["mean", "std", "ci95_low", "ci95_high"] {
                header.push(format!("{}_{suffix}", metric.name));
            }
        }
        header
    }

    fn record(&self) -> Vec<String> {
        let mut record = vec![self.noise_model.clone(), format_float(self.noise_rate)];
        record.extend(self.setting.cells());
        record.extend([self.n_runs.to_string(), self.n_finished.to_string()]);
        for estimate in &self.metrics {
            record.push(format_optional(estimate.map(|e| e.mean)));
            record.push(format_optional(estimate.and_then(|e| e.std)));
            record.push(format_optional(estimate.and_then(|e| e.ci_low)));
            record.push(format_optional(estimate.and_then(|e| e.ci_high)));
        }
        record
    }
}

/// Groups `runs` by (noise model, noise rate, setting) and summarises each group over its
/// finished runs. Groups come out ordered by noise model (in order of first appearance), then
/// rate, then setting ([`Setting::order`]);
/// within a group, values are taken in the order of `runs`, so the output depends only on it.
pub fn summarise(runs: &[RunRow]) -> Vec<SummaryRow> {
    let mut models: Vec<&str> = Vec::new();
    for run in runs {
        if !models.contains(&run.noise_model.as_str()) {
            models.push(&run.noise_model);
        }
    }
    let model_rank = |name: &str| models.iter().position(|m| *m == name).unwrap_or(usize::MAX);
    let mut keys: Vec<(&str, f64, Setting)> = Vec::new();
    for run in runs {
        let key = (run.noise_model.as_str(), run.noise_rate, run.setting());
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys.sort_by(|a, b| {
        model_rank(a.0)
            .cmp(&model_rank(b.0))
            .then(a.1.total_cmp(&b.1))
            .then(a.2.order(&b.2))
    });
    keys.into_iter()
        .map(|(model, rate, setting)| {
            let group: Vec<&RunRow> = runs
                .iter()
                .filter(|r| {
                    r.noise_model == model && r.noise_rate == rate && r.setting() == setting
                })
                .collect();
            let finished: Vec<&RunRow> = group
                .iter()
                .copied()
                .filter(|r| r.status == RunStatusLabel::Finished)
                .collect();
            let metrics = SUMMARY_METRICS
                .iter()
                .map(|metric| {
                    let values: Vec<f64> =
                        finished.iter().filter_map(|r| (metric.value)(r)).collect();
                    estimate(&values)
                })
                .collect();
            SummaryRow {
                noise_model: model.to_string(),
                noise_rate: rate,
                setting,
                n_runs: group.len(),
                n_finished: finished.len(),
                metrics,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rate: f64, seed: u64, epsilon: f64, accuracy: f64, status: RunStatusLabel) -> RunRow {
        RunRow {
            status,
            ..crate::rows::test_run(rate, seed, epsilon, accuracy)
        }
    }

    #[test]
    fn groups_are_ordered_and_exclude_diverged_runs() {
        use RunStatusLabel::*;
        let runs = vec![
            run(0.4, 0, 0.0, 0.9, Finished),
            run(0.0, 0, 0.1, 0.7, Finished),
            run(0.4, 1, 0.0, 0.8, Finished),
            run(0.4, 2, 0.0, 0.85, Finished),
            run(0.4, 3, 0.0, 0.1, Diverged),
        ];
        let summary = summarise(&runs);
        assert_eq!(summary.len(), 2);
        assert_eq!(
            (summary[0].noise_rate, summary[0].setting),
            (0.0, Setting::smoothing(0.1))
        );
        let group = &summary[1];
        assert_eq!((group.n_runs, group.n_finished), (4, 3));
        let accuracy = group.metric("test_accuracy").unwrap();
        assert!((accuracy.mean - 0.85).abs() < 1e-12);
        assert!((accuracy.ci_high.unwrap() - 0.9742068855875166).abs() < 1e-9);
        assert_eq!(group.metric("memorised_share"), None);
        let record = group.record();
        assert_eq!(record.len(), SummaryRow::header().len());
        assert_eq!(
            &record[..11],
            &[
                "symmetric",
                "0.400000",
                "ce",
                "0.000000",
                "",
                "",
                "",
                "",
                "",
                "4",
                "3"
            ]
        );
    }
}
