//! The answer per noise rate and over all rates: which ε did best (`best_epsilon.csv`), and the
//! area under each ε's accuracy-versus-noise curve (`auc.csv`); see docs/DEFINITIONS.md,
//! `#best-smoothing-value` and `#area-under-the-accuracy-versus-noise-curve`.

use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::csv_out::{CsvRow, SixDecimals, serde_header, serde_record};
use crate::paired::PairedRow;
use crate::rows::{RunRow, RunStatusLabel};
use crate::stats::{Estimate, estimate, sorted_unique, trapezoid_area};
use crate::summary::{SUMMARY_METRICS, SummaryRow};

/// The accuracies a verdict is reached on: after the last epoch, and at the epoch a noisy
/// validation split selects (the honest alternative to early stopping on the test split).
pub const VERDICT_METRICS: [&str; 2] = ["test_accuracy", "val_selected_test_accuracy"];

/// One row of `best_epsilon.csv`: the ε with the highest mean accuracy at one noise rate, by one
/// criterion, and its paired gain over hard targets.
#[derive(Debug, Clone, PartialEq)]
pub struct BestEpsilonRow {
    /// Noise model name.
    pub noise_model: String,
    /// Nominal noise rate.
    pub noise_rate: f64,
    /// The accuracy compared: one of [`VERDICT_METRICS`].
    pub criterion: &'static str,
    /// The ε with the highest mean (on a tie, the one closest to 0).
    pub best_epsilon: f64,
    /// Its mean accuracy over seeds.
    pub best_mean: f64,
    /// Mean accuracy of hard targets (ε = 0) at the same rate, if run.
    pub hard_mean: Option<f64>,
    /// Paired gain of the best ε over hard targets (`None` when the best ε is 0 or unpaired).
    pub gain: Option<Estimate>,
    /// The best ε ≠ 0 and its mean (on a tie, the one closest to 0), whatever the best ε is;
    /// `None` when no ε ≠ 0 has a value at this rate. Not a column of `best_epsilon.csv`: it lets
    /// the report say how close the runner-up came when hard targets are best.
    pub best_soft: Option<(f64, f64)>,
    /// Runs with ε = 0 at this rate, finished or not (0 when the grid has no ε = 0 here).
    pub hard_runs: usize,
    /// Runs with ε ≠ 0 at this rate, finished or not.
    pub soft_runs: usize,
    /// The ε values with a mean of this criterion at this rate: the candidates compared.
    pub n_epsilons: usize,
}

/// The columns of `best_epsilon.csv`, each declared once: what a [`BestEpsilonRow`] writes.
#[derive(Serialize, Deserialize)]
struct BestEpsilonCells<'a> {
    noise_model: &'a str,
    noise_rate: f64,
    criterion: &'a str,
    best_epsilon: f64,
    best_mean: f64,
    hard_mean: Option<f64>,
    gain_mean: Option<f64>,
    gain_ci95_low: Option<f64>,
    gain_ci95_high: Option<f64>,
    n_pairs: Option<usize>,
}

impl BestEpsilonRow {
    fn cells(&self) -> BestEpsilonCells<'_> {
        BestEpsilonCells {
            noise_model: &self.noise_model,
            noise_rate: self.noise_rate,
            criterion: self.criterion,
            best_epsilon: self.best_epsilon,
            best_mean: self.best_mean,
            hard_mean: self.hard_mean,
            gain_mean: self.gain.map(|g| g.mean),
            gain_ci95_low: self.gain.and_then(|g| g.ci_low),
            gain_ci95_high: self.gain.and_then(|g| g.ci_high),
            n_pairs: self.gain.map(|g| g.n),
        }
    }
}

impl CsvRow for BestEpsilonRow {
    fn header() -> Vec<String> {
        serde_header::<BestEpsilonCells<'_>>()
    }

    fn record(&self) -> Vec<String> {
        serde_record(&self.cells())
    }

    fn write_row<W: Write>(&self, writer: &mut csv::Writer<W>) -> Result<(), csv::Error> {
        writer.serialize(SixDecimals(&self.cells()))
    }
}

/// For every (noise model, rate) of `summary` and every criterion of [`VERDICT_METRICS`] with a
/// value, the best ε and its gain from `paired`. Rows follow the summary's order, criteria in the
/// order of [`VERDICT_METRICS`].
pub fn best_epsilons(summary: &[SummaryRow], paired: &[PairedRow]) -> Vec<BestEpsilonRow> {
    let mut groups: Vec<(&str, f64)> = Vec::new();
    for row in summary {
        if !groups.contains(&(row.noise_model.as_str(), row.noise_rate)) {
            groups.push((&row.noise_model, row.noise_rate));
        }
    }
    let mut rows = Vec::new();
    for (model, rate) in groups {
        let at_rate: Vec<&SummaryRow> = summary
            .iter()
            .filter(|r| r.noise_model == model && r.noise_rate == rate)
            .collect();
        let hard_runs = at_rate
            .iter()
            .filter(|r| r.epsilon == 0.0)
            .map(|r| r.n_runs)
            .sum();
        let soft_runs = at_rate
            .iter()
            .filter(|r| r.epsilon != 0.0)
            .map(|r| r.n_runs)
            .sum();
        for criterion in VERDICT_METRICS {
            let candidates: Vec<(f64, f64)> = at_rate
                .iter()
                .filter_map(|r| r.metric(criterion).map(|e| (r.epsilon, e.mean)))
                .collect();
            let best_of = |candidates: &mut dyn Iterator<Item = (f64, f64)>| {
                candidates.fold(
                    None,
                    |best: Option<(f64, f64)>, (epsilon, mean)| match best {
                        Some((best_epsilon, best_mean))
                            // On a tie the ε closest to 0 (the least change from hard
                            // targets) wins, then the smaller.
                            if best_mean > mean
                                || (best_mean == mean
                                    && (best_epsilon.abs(), best_epsilon)
                                        <= (epsilon.abs(), epsilon)) =>
                        {
                            best
                        }
                        _ => Some((epsilon, mean)),
                    },
                )
            };
            let Some((best_epsilon, best_mean)) = best_of(&mut candidates.iter().copied()) else {
                continue;
            };
            let best_soft = best_of(&mut candidates.iter().copied().filter(|(e, _)| *e != 0.0));
            let hard_mean = at_rate
                .iter()
                .find(|r| r.epsilon == 0.0)
                .and_then(|r| r.metric(criterion))
                .map(|e| e.mean);
            let gain = paired
                .iter()
                .find(|p| {
                    p.noise_model == model && p.noise_rate == rate && p.epsilon == best_epsilon
                })
                .and_then(|p| p.difference(criterion));
            rows.push(BestEpsilonRow {
                noise_model: model.to_string(),
                noise_rate: rate,
                criterion,
                best_epsilon,
                best_mean,
                hard_mean,
                gain,
                best_soft,
                hard_runs,
                soft_runs,
                n_epsilons: candidates.len(),
            });
        }
    }
    rows
}

/// One row of `auc.csv`: the area under one ε's accuracy-versus-noise curve, by the trapezoid
/// rule over the noise rates run, computed per seed and summarised over seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct AucRow {
    /// Noise model name.
    pub noise_model: String,
    /// Label smoothing ε.
    pub epsilon: f64,
    /// The accuracy integrated: one of [`VERDICT_METRICS`].
    pub metric: &'static str,
    /// Number of noise rates (the curve's points).
    pub n_rates: usize,
    /// Smallest rate.
    pub rate_min: f64,
    /// Largest rate.
    pub rate_max: f64,
    /// The per-seed areas over the seeds with a finished run at every rate.
    pub auc: Estimate,
    /// The per-seed difference of areas, ε minus hard targets, over seeds complete at both;
    /// `None` for ε = 0 or without such seeds.
    pub gain: Option<Estimate>,
}

/// The columns of `auc.csv`, each declared once: what an [`AucRow`] writes.
#[derive(Serialize, Deserialize)]
struct AucCells<'a> {
    noise_model: &'a str,
    epsilon: f64,
    metric: &'a str,
    n_rates: usize,
    rate_min: f64,
    rate_max: f64,
    n_seeds: usize,
    auc_mean: f64,
    auc_ci95_low: Option<f64>,
    auc_ci95_high: Option<f64>,
    mean_accuracy: f64,
    auc_gain_mean: Option<f64>,
    auc_gain_ci95_low: Option<f64>,
    auc_gain_ci95_high: Option<f64>,
}

impl AucRow {
    fn cells(&self) -> AucCells<'_> {
        AucCells {
            noise_model: &self.noise_model,
            epsilon: self.epsilon,
            metric: self.metric,
            n_rates: self.n_rates,
            rate_min: self.rate_min,
            rate_max: self.rate_max,
            n_seeds: self.auc.n,
            auc_mean: self.auc.mean,
            auc_ci95_low: self.auc.ci_low,
            auc_ci95_high: self.auc.ci_high,
            mean_accuracy: self.auc.mean / (self.rate_max - self.rate_min),
            auc_gain_mean: self.gain.map(|g| g.mean),
            auc_gain_ci95_low: self.gain.and_then(|g| g.ci_low),
            auc_gain_ci95_high: self.gain.and_then(|g| g.ci_high),
        }
    }
}

impl CsvRow for AucRow {
    fn header() -> Vec<String> {
        serde_header::<AucCells<'_>>()
    }

    fn record(&self) -> Vec<String> {
        serde_record(&self.cells())
    }

    fn write_row<W: Write>(&self, writer: &mut csv::Writer<W>) -> Result<(), csv::Error> {
        writer.serialize(SixDecimals(&self.cells()))
    }
}

/// The area under the accuracy-versus-noise curve of every (noise model, ε) and metric of
/// [`VERDICT_METRICS`]. A seed counts when it has a finished run with the metric at every rate of
/// its noise model; models with fewer than two rates have no curve and no rows. Rows are ordered
/// by noise model (first appearance), ε, then metric.
pub fn areas_under_curves(runs: &[RunRow]) -> Vec<AucRow> {
    let mut models: Vec<&str> = Vec::new();
    for run in runs {
        if !models.contains(&run.noise_model.as_str()) {
            models.push(&run.noise_model);
        }
    }
    let mut rows = Vec::new();
    for model in models {
        let of_model: Vec<&RunRow> = runs.iter().filter(|r| r.noise_model == model).collect();
        let rates = sorted_unique(of_model.iter().map(|r| r.noise_rate));
        if rates.len() < 2 {
            continue;
        }
        let epsilons = sorted_unique(of_model.iter().map(|r| r.epsilon));
        let mut seeds: Vec<u64> = of_model.iter().map(|r| r.seed).collect();
        seeds.sort_unstable();
        seeds.dedup();
        for &epsilon in &epsilons {
            for metric in VERDICT_METRICS {
                let value = SUMMARY_METRICS
                    .iter()
                    .find(|m| m.name == metric)
                    .map(|m| m.value)
                    .expect("verdict metrics are summary metrics");
                // The area of one seed's curve, if it has every point.
                let area = |seed: u64, epsilon: f64| -> Option<f64> {
                    let points: Option<Vec<(f64, f64)>> = rates
                        .iter()
                        .map(|&rate| {
                            of_model
                                .iter()
                                .find(|r| {
                                    r.noise_rate == rate
                                        && r.seed == seed
                                        && r.epsilon == epsilon
                                        && r.status == RunStatusLabel::Finished
                                })
                                .and_then(|r| value(r))
                                .map(|v| (rate, v))
                        })
                        .collect();
                    points.map(|p| trapezoid_area(&p))
                };
                let areas: Vec<f64> = seeds.iter().filter_map(|&s| area(s, epsilon)).collect();
                let Some(auc) = estimate(&areas) else {
                    continue;
                };
                let gains: Vec<f64> = if epsilon == 0.0 {
                    Vec::new()
                } else {
                    seeds
                        .iter()
                        .filter_map(|&s| Some(area(s, epsilon)? - area(s, 0.0)?))
                        .collect()
                };
                rows.push(AucRow {
                    noise_model: model.to_string(),
                    epsilon,
                    metric,
                    n_rates: rates.len(),
                    rate_min: rates[0],
                    rate_max: rates[rates.len() - 1],
                    auc,
                    gain: estimate(&gains),
                });
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csv_out::format_float;
    use crate::{paired_differences, summarise};

    fn run(rate: f64, seed: u64, epsilon: f64, accuracy: f64) -> RunRow {
        RunRow {
            run_id: format!("{rate}-{seed}-{epsilon}"),
            noise_model: "symmetric".into(),
            noise_rate: rate,
            label_set: None,
            seed,
            epsilon,
            status: RunStatusLabel::Finished,
            epochs_completed: 1,
            realised_noise_rate: rate,
            test_accuracy: Some(accuracy),
            best_test_accuracy: Some(accuracy),
            best_epoch: Some(1),
            val_selected_test_accuracy: Some(accuracy - 0.01),
            val_selected_epoch: Some(1),
            test_nll: Some(1.0),
            test_ece: Some(0.1),
            train_accuracy_noisy: Some(0.5),
            train_accuracy_clean: Some(0.5),
            memorised_share: None,
            message: None,
        }
    }

    /// Two seeds, rates 0 / 0.2 / 0.6, ε = 0 and 0.3.
    fn grid() -> Vec<RunRow> {
        let mut runs = Vec::new();
        for seed in 0..2 {
            let shift = 0.02 * seed as f64;
            for (rate, hard, soft) in [(0.0, 0.96, 0.96), (0.2, 0.80, 0.90), (0.6, 0.40, 0.70)] {
                runs.push(run(rate, seed, 0.0, hard + shift));
                runs.push(run(rate, seed, 0.3, soft + shift));
            }
        }
        runs
    }

    #[test]
    fn best_epsilon_per_rate_and_criterion() {
        let runs = grid();
        let summary = summarise(&runs);
        let best = best_epsilons(&summary, &paired_differences(&runs));
        assert_eq!(best.len(), 6, "3 rates × 2 criteria");
        // At rate 0 both ε tie (0.97 on average): the smaller ε wins, with no gain to report.
        assert_eq!((best[0].best_epsilon, best[0].gain), (0.0, None));
        assert_eq!(best[0].record()[6..], ["", "", "", ""]);
        let at_06 = &best[4];
        assert_eq!((at_06.noise_rate, at_06.criterion), (0.6, "test_accuracy"));
        assert_eq!(at_06.best_epsilon, 0.3);
        assert!((at_06.best_mean - 0.71).abs() < 1e-12);
        assert!((at_06.hard_mean.unwrap() - 0.41).abs() < 1e-12);
        let gain = at_06.gain.unwrap();
        assert_eq!(gain.n, 2);
        assert!((gain.mean - 0.3).abs() < 1e-12);
        assert_eq!(best[5].criterion, "val_selected_test_accuracy");
        assert!((best[5].best_mean - 0.70).abs() < 1e-12);
    }

    #[test]
    fn areas_are_trapezoids_per_seed() {
        let areas = areas_under_curves(&grid());
        assert_eq!(areas.len(), 4, "2 ε × 2 metrics");
        // Hard targets, seed 0: 0.2·(0.96 + 0.80)/2 + 0.4·(0.80 + 0.40)/2 = 0.176 + 0.24 = 0.416;
        // seed 1 adds 0.02 everywhere: + 0.6·0.02 = 0.428. Mean 0.422.
        let hard = &areas[0];
        assert_eq!(
            (hard.epsilon, hard.metric, hard.n_rates),
            (0.0, "test_accuracy", 3)
        );
        assert_eq!(hard.auc.n, 2);
        assert!((hard.auc.mean - 0.422).abs() < 1e-12, "{:?}", hard.auc);
        assert_eq!(hard.gain, None);
        // ε = 0.3, seed 0: 0.2·(0.96 + 0.90)/2 + 0.4·(0.90 + 0.70)/2 = 0.186 + 0.32 = 0.506,
        // so the paired gain is 0.09 for both seeds.
        let soft = &areas[2];
        assert_eq!(soft.epsilon, 0.3);
        let gain = soft.gain.unwrap();
        assert!((gain.mean - 0.09).abs() < 1e-12, "{gain:?}");
        assert!(gain.std.unwrap().abs() < 1e-12);
        let record = soft.record();
        assert_eq!(record.len(), AucRow::header().len());
        // Mean accuracy over the noise range: area / 0.6.
        assert_eq!(record[10], format_float(soft.auc.mean / 0.6));
    }

    #[test]
    fn incomplete_seeds_and_single_rates_are_left_out() {
        let mut runs = grid();
        // Seed 1 loses its hard-target run at rate 0.2: only seed 0 has a complete hard curve.
        runs.retain(|r| !(r.seed == 1 && r.epsilon == 0.0 && r.noise_rate == 0.2));
        let areas = areas_under_curves(&runs);
        assert_eq!(areas[0].auc.n, 1);
        assert_eq!(areas[2].gain.unwrap().n, 1);
        let one_rate: Vec<RunRow> = grid().into_iter().filter(|r| r.noise_rate == 0.2).collect();
        assert!(areas_under_curves(&one_rate).is_empty());
    }
}
