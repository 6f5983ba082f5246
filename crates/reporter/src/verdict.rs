//! The answer per noise rate and over all rates: which ε did best (`best_epsilon.csv`), which
//! loss built for label noise did best and whether the best ε is within its interval
//! (`best_loss.csv`), and the area under each setting's accuracy-versus-noise curve (`auc.csv`);
//! see docs/DEFINITIONS.md, `#best-smoothing-value`, `#best-robust-loss` and
//! `#area-under-the-accuracy-versus-noise-curve`.

use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::csv_out::{CsvRow, SixDecimals, serde_header, serde_record};
use crate::paired::PairedRow;
use crate::rows::{RunRow, RunStatusLabel};
use crate::setting::{HasSetting, LossName, Setting, sorted_settings};
use crate::stats::{Estimate, estimate, sorted_unique, trapezoid_area};
use crate::summary::{SUMMARY_METRICS, SummaryRow};

/// The accuracies a verdict is reached on: after the last epoch, and at the epoch a noisy
/// validation split selects (the honest alternative to early stopping on the test split).
pub const VERDICT_METRICS: [&str; 2] = ["test_accuracy", "val_selected_test_accuracy"];

/// One row of `best_epsilon.csv`: the label-smoothing ε (hard targets included) with the highest
/// mean accuracy at one noise rate, by one criterion, and its paired gain over hard targets. The
/// other losses are not candidates: [`BestLossRow`] compares the best of them with this ε.
#[derive(Debug, Clone, PartialEq)]
pub struct BestEpsilonRow {
    /// Noise model name.
    pub noise_model: String,
    /// Nominal noise rate.
    pub noise_rate: f64,
    /// The accuracy compared: one of [`VERDICT_METRICS`].
    pub criterion: &'static str,
    /// The smoothing setting with the highest mean (on a tie, the ε closest to 0): `ce` or
    /// `ce-off-classes` with its ε.
    pub best: Setting,
    /// Its mean accuracy over seeds.
    pub best_mean: f64,
    /// Mean accuracy of hard targets (ε = 0) at the same rate, if run.
    pub hard_mean: Option<f64>,
    /// Paired gain of the best ε over hard targets (`None` when the best ε is 0 or unpaired).
    pub gain: Option<Estimate>,
    /// The best setting with ε ≠ 0 and its mean (on a tie, the ε closest to 0), whatever the
    /// best ε is; `None` when no ε ≠ 0 has a value at this rate. Not a column of
    /// `best_epsilon.csv`: it lets the report say how close the runner-up came when hard targets
    /// are best.
    pub best_soft: Option<(Setting, f64)>,
    /// Runs with ε = 0 at this rate, finished or not (0 when the grid has no ε = 0 here).
    pub hard_runs: usize,
    /// Runs with ε ≠ 0 at this rate, finished or not.
    pub soft_runs: usize,
    /// Runs of the losses built for label noise at this rate, finished or not: not candidates,
    /// but the report says the grid has them.
    pub robust_runs: usize,
    /// The label-smoothing settings with a mean of this criterion at this rate: the candidates
    /// compared.
    pub n_epsilons: usize,
}

/// The columns of `best_epsilon.csv`, each declared once: what a [`BestEpsilonRow`] writes.
#[derive(Serialize, Deserialize)]
struct BestEpsilonCells<'a> {
    noise_model: &'a str,
    noise_rate: f64,
    criterion: &'a str,
    loss: LossName,
    best_epsilon: Option<f64>,
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
            loss: self.best.loss,
            best_epsilon: self.best.epsilon(),
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

/// The closer of two (setting, mean) candidates to win: the higher mean; on a tie, the ε closest
/// to 0 (the least change from hard targets), then the smaller ε, then the earlier setting.
fn better(best: Option<(Setting, f64)>, candidate: (Setting, f64)) -> Option<(Setting, f64)> {
    let key = |setting: &Setting| {
        let epsilon = setting.epsilon().unwrap_or(0.0);
        (epsilon.abs(), epsilon)
    };
    match best {
        Some((best_setting, best_mean))
            if best_mean > candidate.1
                || (best_mean == candidate.1 && (key(&best_setting) <= key(&candidate.0))) =>
        {
            best
        }
        _ => Some(candidate),
    }
}

/// The (noise model, rate) groups of `summary`, in its order.
fn rate_groups(summary: &[SummaryRow]) -> Vec<(&str, f64)> {
    let mut groups: Vec<(&str, f64)> = Vec::new();
    for row in summary {
        if !groups.contains(&(row.noise_model.as_str(), row.noise_rate)) {
            groups.push((&row.noise_model, row.noise_rate));
        }
    }
    groups
}

/// For every (noise model, rate) of `summary` and every criterion of [`VERDICT_METRICS`] with a
/// value among the label-smoothing settings, the best ε and its gain from `paired`. Rows follow
/// the summary's order, criteria in the order of [`VERDICT_METRICS`].
pub fn best_epsilons(summary: &[SummaryRow], paired: &[PairedRow]) -> Vec<BestEpsilonRow> {
    let mut rows = Vec::new();
    for (model, rate) in rate_groups(summary) {
        let at_rate: Vec<&SummaryRow> = summary
            .iter()
            .filter(|r| r.noise_model == model && r.noise_rate == rate && !r.setting.is_robust())
            .collect();
        let hard_runs = at_rate
            .iter()
            .filter(|r| r.setting.is_hard())
            .map(|r| r.n_runs)
            .sum();
        let soft_runs = at_rate
            .iter()
            .filter(|r| r.setting.is_smoothing())
            .map(|r| r.n_runs)
            .sum();
        let robust_runs = summary
            .iter()
            .filter(|r| r.noise_model == model && r.noise_rate == rate && r.setting.is_robust())
            .map(|r| r.n_runs)
            .sum();
        for criterion in VERDICT_METRICS {
            let candidates: Vec<(Setting, f64)> = at_rate
                .iter()
                .filter_map(|r| r.metric(criterion).map(|e| (r.setting, e.mean)))
                .collect();
            let Some((best, best_mean)) = candidates.iter().copied().fold(None, better) else {
                continue;
            };
            let best_soft = candidates
                .iter()
                .copied()
                .filter(|(setting, _)| !setting.is_hard())
                .fold(None, better);
            let hard_mean = at_rate
                .iter()
                .find(|r| r.setting.is_hard())
                .and_then(|r| r.metric(criterion))
                .map(|e| e.mean);
            let gain = paired
                .iter()
                .find(|p| p.noise_model == model && p.noise_rate == rate && p.setting == best)
                .and_then(|p| p.difference(criterion));
            rows.push(BestEpsilonRow {
                noise_model: model.to_string(),
                noise_rate: rate,
                criterion,
                best,
                best_mean,
                hard_mean,
                gain,
                best_soft,
                hard_runs,
                soft_runs,
                robust_runs,
                n_epsilons: candidates.len(),
            });
        }
    }
    rows
}

/// One row of `best_loss.csv`: among the losses built for label noise (every setting that is not
/// cross-entropy), the one with the highest mean accuracy at one noise rate by one criterion, its
/// 95% interval over seeds and paired gain over hard targets, and whether the best ε's mean
/// accuracy lies within that interval.
#[derive(Debug, Clone, PartialEq)]
pub struct BestLossRow {
    /// Noise model name.
    pub noise_model: String,
    /// Nominal noise rate.
    pub noise_rate: f64,
    /// The accuracy compared: one of [`VERDICT_METRICS`].
    pub criterion: &'static str,
    /// The robust-loss setting with the highest mean (on a tie, the first in setting order).
    pub best: Setting,
    /// Its accuracy over seeds: mean and Student-t 95% interval.
    pub accuracy: Estimate,
    /// Its paired gain over hard targets, if hard targets were run.
    pub gain: Option<Estimate>,
    /// The best ε at this rate by this criterion (see [`BestEpsilonRow`]) and its mean, if the
    /// grid has label-smoothing settings here.
    pub best_epsilon: Option<(Setting, f64)>,
}

impl BestLossRow {
    /// Whether the best ε's mean lies within the robust loss's 95% interval: `None` without a
    /// best ε or without an interval (fewer than two seeds, or all seeds equal).
    pub fn epsilon_within_interval(&self) -> Option<bool> {
        let (_, mean) = self.best_epsilon?;
        let (low, high) = self.accuracy.interval_estimable().ok()?;
        Some(low <= mean && mean <= high)
    }
}

/// The columns of `best_loss.csv`, each declared once: what a [`BestLossRow`] writes.
#[derive(Serialize, Deserialize)]
struct BestLossCells<'a> {
    noise_model: &'a str,
    noise_rate: f64,
    criterion: &'a str,
    loss: LossName,
    epsilon: Option<f64>,
    alpha: Option<f64>,
    beta: Option<f64>,
    q: Option<f64>,
    gamma: Option<f64>,
    log_zero: Option<f64>,
    n_seeds: usize,
    mean: f64,
    ci95_low: Option<f64>,
    ci95_high: Option<f64>,
    gain_mean: Option<f64>,
    gain_ci95_low: Option<f64>,
    gain_ci95_high: Option<f64>,
    n_pairs: Option<usize>,
    best_epsilon_loss: Option<LossName>,
    best_epsilon: Option<f64>,
    best_epsilon_mean: Option<f64>,
    epsilon_within_interval: Option<u8>,
}

impl BestLossRow {
    fn cells(&self) -> BestLossCells<'_> {
        let [epsilon, alpha, beta, q, gamma, log_zero] = self.best.parameters;
        BestLossCells {
            noise_model: &self.noise_model,
            noise_rate: self.noise_rate,
            criterion: self.criterion,
            loss: self.best.loss,
            epsilon,
            alpha,
            beta,
            q,
            gamma,
            log_zero,
            n_seeds: self.accuracy.n,
            mean: self.accuracy.mean,
            ci95_low: self.accuracy.ci_low,
            ci95_high: self.accuracy.ci_high,
            gain_mean: self.gain.map(|g| g.mean),
            gain_ci95_low: self.gain.and_then(|g| g.ci_low),
            gain_ci95_high: self.gain.and_then(|g| g.ci_high),
            n_pairs: self.gain.map(|g| g.n),
            best_epsilon_loss: self.best_epsilon.map(|(s, _)| s.loss),
            best_epsilon: self.best_epsilon.and_then(|(s, _)| s.epsilon()),
            best_epsilon_mean: self.best_epsilon.map(|(_, mean)| mean),
            epsilon_within_interval: self.epsilon_within_interval().map(u8::from),
        }
    }
}

impl CsvRow for BestLossRow {
    fn header() -> Vec<String> {
        serde_header::<BestLossCells<'_>>()
    }

    fn record(&self) -> Vec<String> {
        serde_record(&self.cells())
    }

    fn write_row<W: Write>(&self, writer: &mut csv::Writer<W>) -> Result<(), csv::Error> {
        writer.serialize(SixDecimals(&self.cells()))
    }
}

/// For every (noise model, rate) of `summary` with a robust-loss setting and every criterion of
/// [`VERDICT_METRICS`] with a value among them, the best robust loss, its gain from `paired`, and
/// the best ε from `best` (what [`best_epsilons`] gave). Rows follow the summary's order.
pub fn best_losses(
    summary: &[SummaryRow],
    paired: &[PairedRow],
    best: &[BestEpsilonRow],
) -> Vec<BestLossRow> {
    let mut rows = Vec::new();
    for (model, rate) in rate_groups(summary) {
        let robust: Vec<&SummaryRow> = summary
            .iter()
            .filter(|r| r.noise_model == model && r.noise_rate == rate && r.setting.is_robust())
            .collect();
        for criterion in VERDICT_METRICS {
            let winner = robust
                .iter()
                .filter_map(|r| r.metric(criterion).map(|e| (r.setting, e)))
                .fold(
                    None,
                    |best: Option<(Setting, Estimate)>, (setting, e)| match best {
                        Some((_, b)) if b.mean >= e.mean => best,
                        _ => Some((setting, e)),
                    },
                );
            let Some((setting, accuracy)) = winner else {
                continue;
            };
            let gain = paired
                .iter()
                .find(|p| p.noise_model == model && p.noise_rate == rate && p.setting == setting)
                .and_then(|p| p.difference(criterion));
            let best_epsilon = best
                .iter()
                .find(|b| {
                    b.noise_model == model && b.noise_rate == rate && b.criterion == criterion
                })
                .map(|b| (b.best, b.best_mean));
            rows.push(BestLossRow {
                noise_model: model.to_string(),
                noise_rate: rate,
                criterion,
                best: setting,
                accuracy,
                gain,
                best_epsilon,
            });
        }
    }
    rows
}

/// One row of `auc.csv`: the area under one setting's accuracy-versus-noise curve, by the trapezoid
/// rule over the noise rates run, computed per seed and summarised over seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct AucRow {
    /// Noise model name.
    pub noise_model: String,
    /// The target setting.
    pub setting: Setting,
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
    /// The per-seed difference of areas, the setting minus hard targets, over seeds complete at
    /// both; `None` for hard targets or without such seeds.
    pub gain: Option<Estimate>,
}

/// The columns of `auc.csv`, each declared once: what an [`AucRow`] writes.
#[derive(Serialize, Deserialize)]
struct AucCells<'a> {
    noise_model: &'a str,
    loss: LossName,
    epsilon: Option<f64>,
    alpha: Option<f64>,
    beta: Option<f64>,
    q: Option<f64>,
    gamma: Option<f64>,
    log_zero: Option<f64>,
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
        let [epsilon, alpha, beta, q, gamma, log_zero] = self.setting.parameters;
        AucCells {
            noise_model: &self.noise_model,
            loss: self.setting.loss,
            epsilon,
            alpha,
            beta,
            q,
            gamma,
            log_zero,
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

/// The area under the accuracy-versus-noise curve of every (noise model, setting) and metric of
/// [`VERDICT_METRICS`]. A seed counts when it has a finished run with the metric at every rate of
/// its noise model; models with fewer than two rates have no curve and no rows. Rows are ordered
/// by noise model (first appearance), setting ([`Setting::order`]), then metric.
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
        let settings = sorted_settings(of_model.iter().map(|r| r.setting()));
        let mut seeds: Vec<u64> = of_model.iter().map(|r| r.seed).collect();
        seeds.sort_unstable();
        seeds.dedup();
        for &setting in &settings {
            for metric in VERDICT_METRICS {
                let value = SUMMARY_METRICS
                    .iter()
                    .find(|m| m.name == metric)
                    .map(|m| m.value)
                    .expect("verdict metrics are summary metrics");
                // The area of one seed's curve, if it has every point.
                let area = |seed: u64, setting: Setting| -> Option<f64> {
                    let points: Option<Vec<(f64, f64)>> = rates
                        .iter()
                        .map(|&rate| {
                            of_model
                                .iter()
                                .find(|r| {
                                    r.noise_rate == rate
                                        && r.seed == seed
                                        && r.setting() == setting
                                        && r.status == RunStatusLabel::Finished
                                })
                                .and_then(|r| value(r))
                                .map(|v| (rate, v))
                        })
                        .collect();
                    points.map(|p| trapezoid_area(&p))
                };
                let areas: Vec<f64> = seeds.iter().filter_map(|&s| area(s, setting)).collect();
                let Some(auc) = estimate(&areas) else {
                    continue;
                };
                let gains: Vec<f64> = if setting.is_hard() {
                    Vec::new()
                } else {
                    seeds
                        .iter()
                        .filter_map(|&s| Some(area(s, setting)? - area(s, Setting::HARD)?))
                        .collect()
                };
                rows.push(AucRow {
                    noise_model: model.to_string(),
                    setting,
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
            val_selected_test_accuracy: Some(accuracy - 0.01),
            ..crate::rows::test_run(rate, seed, epsilon, accuracy)
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
        assert_eq!((best[0].best, best[0].gain), (Setting::HARD, None));
        assert_eq!(best[0].record()[3..5], ["ce", "0.000000"]);
        assert_eq!(best[0].record()[7..], ["", "", "", ""]);
        let at_06 = &best[4];
        assert_eq!((at_06.noise_rate, at_06.criterion), (0.6, "test_accuracy"));
        assert_eq!(at_06.best, Setting::smoothing(0.3));
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
            (hard.setting, hard.metric, hard.n_rates),
            (Setting::HARD, "test_accuracy", 3)
        );
        assert_eq!(hard.auc.n, 2);
        assert!((hard.auc.mean - 0.422).abs() < 1e-12, "{:?}", hard.auc);
        assert_eq!(hard.gain, None);
        // ε = 0.3, seed 0: 0.2·(0.96 + 0.90)/2 + 0.4·(0.90 + 0.70)/2 = 0.186 + 0.32 = 0.506,
        // so the paired gain is 0.09 for both seeds.
        let soft = &areas[2];
        assert_eq!(soft.setting, Setting::smoothing(0.3));
        let gain = soft.gain.unwrap();
        assert!((gain.mean - 0.09).abs() < 1e-12, "{gain:?}");
        assert!(gain.std.unwrap().abs() < 1e-12);
        let record = soft.record();
        assert_eq!(record.len(), AucRow::header().len());
        // Mean accuracy over the noise range: area / 0.6.
        assert_eq!(record[16], format_float(soft.auc.mean / 0.6));
    }

    #[test]
    fn incomplete_seeds_and_single_rates_are_left_out() {
        let mut runs = grid();
        // Seed 1 loses its hard-target run at rate 0.2: only seed 0 has a complete hard curve.
        runs.retain(|r| !(r.seed == 1 && r.epsilon == Some(0.0) && r.noise_rate == 0.2));
        let areas = areas_under_curves(&runs);
        assert_eq!(areas[0].auc.n, 1);
        assert_eq!(areas[2].gain.unwrap().n, 1);
        let one_rate: Vec<RunRow> = grid().into_iter().filter(|r| r.noise_rate == 0.2).collect();
        assert!(areas_under_curves(&one_rate).is_empty());
    }

    /// `run` trained with the robust loss `gce` at `q`.
    fn gce(rate: f64, seed: u64, q: f64, accuracy: f64) -> RunRow {
        RunRow {
            run_id: format!("{rate}-{seed}-gce{q}"),
            loss: LossName::Gce,
            epsilon: None,
            q: Some(q),
            ..run(rate, seed, 0.0, accuracy)
        }
    }

    #[test]
    fn the_best_robust_loss_is_compared_with_the_best_epsilon_by_its_interval() {
        // Three seeds, ε = 0 and 0.3 and GCE at q = 0.5 and 0.7. At 0.2, q = 0.7 (0.93 on
        // average, interval 0.93 ± 4.303·0.01) holds ε = 0.3 (0.92); at 0.6 it (0.60 ± 0.043)
        // is beaten by ε = 0.3 (0.70), which lies above its interval.
        let mut runs = Vec::new();
        for seed in 0..3 {
            let shift = 0.01 * seed as f64;
            for (rate, hard, soft, q5, q7) in
                [(0.2, 0.80, 0.91, 0.85, 0.92), (0.6, 0.40, 0.69, 0.50, 0.59)]
            {
                runs.push(run(rate, seed, 0.0, hard + shift));
                runs.push(run(rate, seed, 0.3, soft + shift));
                runs.push(gce(rate, seed, 0.5, q5 + shift));
                runs.push(gce(rate, seed, 0.7, q7 + shift));
            }
        }
        let summary = summarise(&runs);
        let paired = paired_differences(&runs);
        let best = best_epsilons(&summary, &paired);
        // The robust losses are no candidates for the best ε.
        assert!(best.iter().all(|b| !b.best.is_robust()));
        let losses = best_losses(&summary, &paired, &best);
        assert_eq!(losses.len(), 4, "2 rates with a robust loss × 2 criteria");
        let at_02 = &losses[0];
        assert_eq!(
            at_02.best,
            Setting::new(LossName::Gce, &[("q", 0.7)]).unwrap()
        );
        assert!((at_02.accuracy.mean - 0.93).abs() < 1e-12);
        assert!((at_02.best_epsilon.unwrap().1 - 0.92).abs() < 1e-12);
        assert_eq!(
            at_02.best_epsilon.map(|b| b.0),
            Some(Setting::smoothing(0.3))
        );
        assert_eq!(at_02.epsilon_within_interval(), Some(true));
        assert!((at_02.gain.unwrap().mean - 0.12).abs() < 1e-12);
        let at_06 = &losses[2];
        assert_eq!(at_06.noise_rate, 0.6);
        assert_eq!(at_06.epsilon_within_interval(), Some(false));
        let record = at_06.record();
        assert_eq!(record.len(), BestLossRow::header().len());
        assert_eq!(&record[3..10], ["gce", "", "", "", "0.700000", "", ""]);
        assert_eq!(record.last().unwrap(), "0");
        // One seed: no interval, so no verdict.
        let one_seed: Vec<RunRow> = runs.into_iter().filter(|r| r.seed == 0).collect();
        let summary = summarise(&one_seed);
        let paired = paired_differences(&one_seed);
        let best = best_epsilons(&summary, &paired);
        let losses = best_losses(&summary, &paired, &best);
        assert_eq!(losses[0].epsilon_within_interval(), None);
        assert_eq!(losses[0].record().last().unwrap(), "");
        // A grid without robust losses has none.
        let summary = summarise(&grid());
        assert!(best_losses(&summary, &[], &best_epsilons(&summary, &[])).is_empty());
    }
}
