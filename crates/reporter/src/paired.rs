//! Paired differences against hard targets: for each seed, a run of any other setting (label
//! smoothing with ε ≠ 0, or another loss) minus the run with hard targets (cross-entropy at ε = 0)
//! at the same noise model, rate and seed (same noisy labels, initial weights and batches);
//! see docs/DEFINITIONS.md, `#paired-differences` and `#percentile-bootstrap`.

use crate::csv_out::{CsvRow, format_float, format_optional};
use crate::rows::{RunRow, RunStatusLabel};
use crate::setting::{HasSetting, Setting};
use crate::stats::{
    BOOTSTRAP_MIN_SAMPLES, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, Estimate, bootstrap_interval,
    estimate,
};
use crate::summary::paired_metrics;

/// One row of `paired.csv`: for one (noise model, noise rate, setting other than hard targets),
/// each metric's per-seed difference (run of the setting minus run with hard targets), summarised
/// over the seeds where both runs finished.
#[derive(Debug, Clone, PartialEq)]
pub struct PairedRow {
    /// Noise model name.
    pub noise_model: String,
    /// Nominal noise rate.
    pub noise_rate: f64,
    /// The setting compared with hard targets.
    pub setting: Setting,
    /// Seeds with a finished run of both the setting and hard targets.
    pub n_pairs: usize,
    /// One estimate of the mean difference per metric of [`paired_metrics`]; `None` without pairs
    /// that have the metric.
    pub differences: Vec<Option<Estimate>>,
    /// Per metric, the percentile-bootstrap 95% interval of the mean difference
    /// ([`bootstrap_interval`] with [`BOOTSTRAP_RESAMPLES`] and the fixed [`BOOTSTRAP_SEED`]);
    /// `None` with fewer than [`BOOTSTRAP_MIN_SAMPLES`] pairs.
    pub bootstrap: Vec<Option<(f64, f64)>>,
}

impl PairedRow {
    /// The estimate for the metric called `name`, if it is a paired metric and has pairs.
    pub fn difference(&self, name: &str) -> Option<Estimate> {
        let index = paired_metrics().position(|m| m.name == name)?;
        self.differences[index]
    }
}

/// `1` when the 95% interval lies entirely above or below 0, `0` when it contains 0, empty when
/// the interval cannot be judged: fewer than [`MIN_SAMPLES_FOR_INTERVAL`](crate::MIN_SAMPLES_FOR_INTERVAL) pairs, or every pair's
/// difference the same (see [`Estimate::excludes_zero`]).
fn excludes_zero(estimate: Option<Estimate>) -> String {
    estimate
        .and_then(|e| e.excludes_zero())
        .map(|excludes| u8::from(excludes).to_string())
        .unwrap_or_default()
}

impl CsvRow for PairedRow {
    fn header() -> Vec<String> {
        let mut header: Vec<String> = vec!["noise_model".into(), "noise_rate".into()];
        header.extend(Setting::header());
        header.push("n_pairs".into());
        for metric in paired_metrics() {
            for suffix in [
                "mean",
                "ci95_low",
                "ci95_high",
                "excludes_zero",
                "boot95_low",
                "boot95_high",
            ] {
                header.push(format!("{}_diff_{suffix}", metric.name));
            }
        }
        header
    }

    fn record(&self) -> Vec<String> {
        let mut record = vec![self.noise_model.clone(), format_float(self.noise_rate)];
        record.extend(self.setting.cells());
        record.push(self.n_pairs.to_string());
        for (&estimate, &bootstrap) in self.differences.iter().zip(&self.bootstrap) {
            record.push(format_optional(estimate.map(|e| e.mean)));
            record.push(format_optional(estimate.and_then(|e| e.ci_low)));
            record.push(format_optional(estimate.and_then(|e| e.ci_high)));
            record.push(excludes_zero(estimate));
            record.push(format_optional(bootstrap.map(|b| b.0)));
            record.push(format_optional(bootstrap.map(|b| b.1)));
        }
        record
    }
}

/// Pairs every finished run of a setting other than hard targets with the finished hard-target
/// run of the same noise model, rate and seed, and summarises the differences per (noise model,
/// rate, setting), in the order of the groups' first appearance in `runs`. Groups without any
/// hard-target run are left out.
pub fn paired_differences(runs: &[RunRow]) -> Vec<PairedRow> {
    let finished: Vec<&RunRow> = runs
        .iter()
        .filter(|r| r.status == RunStatusLabel::Finished)
        .collect();
    let hard_of = |run: &RunRow| {
        finished.iter().copied().find(|h| {
            h.setting().is_hard()
                && h.noise_model == run.noise_model
                && h.noise_rate == run.noise_rate
                && h.seed == run.seed
        })
    };
    let mut keys: Vec<(&str, f64, Setting)> = Vec::new();
    for run in runs.iter().filter(|r| !r.setting().is_hard()) {
        let key = (run.noise_model.as_str(), run.noise_rate, run.setting());
        let has_baseline = runs.iter().any(|h| {
            h.setting().is_hard()
                && h.noise_model == run.noise_model
                && h.noise_rate == run.noise_rate
        });
        if has_baseline && !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys.into_iter()
        .map(|(model, rate, setting)| {
            let pairs: Vec<(&RunRow, &RunRow)> = finished
                .iter()
                .copied()
                .filter(|r| {
                    r.noise_model == model && r.noise_rate == rate && r.setting() == setting
                })
                .filter_map(|soft| hard_of(soft).map(|hard| (soft, hard)))
                .collect();
            let (differences, bootstrap) = paired_metrics()
                .map(|metric| {
                    let values: Vec<f64> = pairs
                        .iter()
                        .filter_map(|(soft, hard)| {
                            Some((metric.value)(soft)? - (metric.value)(hard)?)
                        })
                        .collect();
                    let bootstrap = (values.len() >= BOOTSTRAP_MIN_SAMPLES)
                        .then(|| bootstrap_interval(&values, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED))
                        .flatten();
                    (estimate(&values), bootstrap)
                })
                .unzip();
            PairedRow {
                noise_model: model.to_string(),
                noise_rate: rate,
                setting,
                n_pairs: pairs.len(),
                differences,
                bootstrap,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seed: u64, epsilon: f64, accuracy: f64, status: RunStatusLabel) -> RunRow {
        RunRow {
            run_id: format!("{seed}-{epsilon}"),
            status,
            epochs_completed: 3,
            val_selected_test_accuracy: None,
            val_selected_epoch: None,
            train_accuracy_noisy: Some(0.9),
            train_accuracy_clean: Some(0.6),
            memorised_share: Some(0.5),
            ..crate::rows::test_run(0.4, seed, epsilon, accuracy)
        }
    }

    #[test]
    fn differences_are_paired_by_seed() {
        use RunStatusLabel::*;
        // Per-seed gains of ε = 0.3 over ε = 0: 0.10, 0.05, 0.15 (seed 3 has no finished pair).
        // mean 0.1, sd 0.05, t(0.975, 2)·0.05/√3 = 0.12420688… → [−0.02420688, 0.22420688].
        let runs = vec![
            run(0, 0.0, 0.60, Finished),
            run(0, 0.3, 0.70, Finished),
            run(1, 0.0, 0.50, Finished),
            run(1, 0.3, 0.55, Finished),
            run(2, 0.0, 0.65, Finished),
            run(2, 0.3, 0.80, Finished),
            run(3, 0.0, 0.10, Diverged),
            run(3, 0.3, 0.90, Finished),
        ];
        let paired = paired_differences(&runs);
        assert_eq!(paired.len(), 1);
        let row = &paired[0];
        assert_eq!((row.setting, row.n_pairs), (Setting::smoothing(0.3), 3));
        let gain = row.difference("test_accuracy").unwrap();
        assert!((gain.mean - 0.1).abs() < 1e-12);
        assert!((gain.ci_low.unwrap() + 0.02420688).abs() < 1e-7);
        assert!((gain.ci_high.unwrap() - 0.22420688).abs() < 1e-7);
        assert_eq!(row.difference("val_selected_test_accuracy"), None);
        let ece = row.difference("test_ece").unwrap();
        assert_eq!((ece.mean, ece.std), (0.0, Some(0.0)));
        let record = row.record();
        assert_eq!(record.len(), PairedRow::header().len());
        // The accuracy interval contains 0. The zero-width ECE interval [0, 0] (every pair
        // differs by the same amount) cannot be judged: its flag is empty. Three pairs are too
        // few for a bootstrap interval.
        assert_eq!(
            &record[10..16],
            &["0.100000", "-0.024207", "0.224207", "0", "", ""]
        );
        assert_eq!(
            &record[34..40],
            &["0.000000", "0.000000", "0.000000", "", "", ""]
        );
    }

    #[test]
    fn a_consistent_gain_excludes_zero() {
        use RunStatusLabel::*;
        let runs: Vec<RunRow> = (0..4)
            .flat_map(|seed| {
                let base = 0.5 + seed as f64 * 0.01;
                [
                    run(seed, 0.0, base, Finished),
                    run(seed, 0.2, base + 0.1 + seed as f64 * 0.001, Finished),
                ]
            })
            .collect();
        let row = &paired_differences(&runs)[0];
        assert_eq!(row.n_pairs, 4);
        assert_eq!(row.record()[13], "1");
        assert_eq!(row.bootstrap[0], None);
    }

    #[test]
    fn ten_pairs_get_a_bootstrap_interval() {
        use RunStatusLabel::*;
        // Gains 0.05, 0.06, …, 0.14 over ten seeds.
        let runs: Vec<RunRow> = (0..10)
            .flat_map(|seed| {
                [
                    run(seed, 0.0, 0.5, Finished),
                    run(seed, 0.2, 0.55 + seed as f64 * 0.01, Finished),
                ]
            })
            .collect();
        let row = &paired_differences(&runs)[0];
        let gains: Vec<f64> = (0..10).map(|seed| 0.05 + seed as f64 * 0.01).collect();
        let (low, high) = row.bootstrap[0].unwrap();
        // The row's interval is the bootstrap of the per-seed gains with the fixed seed.
        let expected = bootstrap_interval(&gains, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED).unwrap();
        assert!((low - expected.0).abs() < 1e-12 && (high - expected.1).abs() < 1e-12);
        assert!(
            low > 0.05 && low < 0.095 && high > 0.095 && high < 0.14,
            "{low} {high}"
        );
        let record = row.record();
        assert_eq!(record[14], crate::format_float(low));
        assert_eq!(record[15], crate::format_float(high));
    }
}
