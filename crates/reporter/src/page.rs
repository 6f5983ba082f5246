//! `report.md`: one Markdown page with the question, the settings, the answer, the tables and
//! every chart, readable as is on a code-hosting site.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::levels::NoiseLevels;
use crate::paired::PairedRow;
use crate::rows::{RunRow, RunStatusLabel};
use crate::setting::{HasSetting, LossName, Setting};
use crate::stats::{Estimate, MIN_SAMPLES_FOR_INTERVAL, NoInterval, estimate, sorted_unique};
use crate::summary::SummaryRow;
use crate::tables::{
    accuracy_table, accuracy_table_with_realised, auc_table, best_epsilon_table, best_loss_table,
    counted, paired_gain_table,
};
use crate::verdict::{AucRow, BestEpsilonRow, BestLossRow};

/// What a report says about its experiment besides the results: written into `manifest.json` by
/// a sweep, so a report can be rebuilt from the results folder alone.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ReportContext {
    /// The experiment's name (the page title).
    pub name: String,
    /// One line naming noise model, data set and model, used as the charts' caption.
    pub title: String,
    /// The experiment's question in one line.
    pub question: String,
    /// The resolved settings, as (dotted key, value) pairs.
    pub settings: Vec<(String, String)>,
    /// `I/N` when the folder holds one shard of the grid (`--shard I/N`), whose tables and
    /// sentences then cover that shard's runs only. Not stored in the manifest's `report`: a
    /// sweep takes it from its options, `sweep report` from the manifest's `shard`, and a merge
    /// has none.
    #[serde(skip)]
    pub shard: Option<String>,
}

/// A chart embedded in the page.
#[derive(Debug, Clone, PartialEq)]
pub struct PageChart {
    /// Section heading.
    pub heading: String,
    /// File name of the PNG, relative to the page.
    pub file: String,
    /// One or two sentences on how to read it.
    pub caption: String,
}

/// Everything `report.md` shows.
#[derive(Debug, Clone, Copy)]
pub struct ReportPage<'a> {
    /// Question, title and settings.
    pub context: &'a ReportContext,
    /// `runs.csv` rows: what the grid holds (rates, seeds, target settings, statuses, realised noise).
    pub runs: &'a [RunRow],
    /// `summary.csv` rows.
    pub summary: &'a [SummaryRow],
    /// `paired.csv` rows.
    pub paired: &'a [PairedRow],
    /// `best_epsilon.csv` rows.
    pub best: &'a [BestEpsilonRow],
    /// `best_loss.csv` rows.
    pub losses: &'a [BestLossRow],
    /// `auc.csv` rows.
    pub areas: &'a [AucRow],
    /// Charts, the main one first.
    pub charts: &'a [PageChart],
    /// Charts left out for want of data: (heading, why), listed on the page so that nothing is
    /// missing without a word.
    pub missing_charts: &'a [(String, String)],
}

/// The ε of a label-smoothing setting as the sentences print it: `0.1`, or `0.1 in the
/// off-classes convention`.
fn epsilon_text(setting: Setting) -> String {
    let epsilon = setting.epsilon().unwrap_or(0.0);
    if setting.loss == LossName::CeOffClasses {
        format!("{epsilon} in the off-classes convention")
    } else {
        format!("{epsilon}")
    }
}

/// How the page names what hard targets are compared with: label smoothing with ε ≠ 0, or, when
/// the grid has losses built for label noise, every other setting.
struct Others {
    /// `ε ≠ 0` / `each other setting`, before "minus ε = 0".
    minus: &'static str,
    /// The same, opening a sentence.
    starts: &'static str,
    /// `the ε ≠ 0 runs` / `the runs of the other settings`.
    runs: &'static str,
    /// `an ε ≠ 0` / `another setting`.
    one: &'static str,
    /// `run with ε ≠ 0` / `run of another setting`.
    run: &'static str,
    /// The kind of run in "none of the grid's N … runs finished".
    kind: &'static str,
}

fn others_phrase(runs: &[RunRow]) -> Others {
    if runs.iter().any(|r| r.setting().is_robust()) {
        Others {
            minus: "each other setting",
            starts: "Each other setting",
            runs: "the runs of the other settings",
            one: "another setting",
            run: "run of another setting",
            kind: "other-setting",
        }
    } else {
        Others {
            minus: "ε ≠ 0",
            starts: "ε ≠ 0",
            runs: "the ε ≠ 0 runs",
            one: "an ε ≠ 0",
            run: "run with ε ≠ 0",
            kind: "label-smoothing (ε ≠ 0)",
        }
    }
}

/// The answer to the second question, whether label smoothing does as well as the losses built
/// for label noise: per noise level (last-epoch accuracy), the best setting of all, and whether
/// the best ε lies within the 95% interval of the best robust loss. `None` when the grid has no
/// robust loss with a finished run.
pub fn robust_answer(losses: &[BestLossRow], levels: &NoiseLevels) -> Option<String> {
    let rows: Vec<&BestLossRow> = losses
        .iter()
        .filter(|row| row.criterion == "test_accuracy")
        .collect();
    if rows.is_empty() {
        return None;
    }
    let sentences: Vec<String> = rows
        .iter()
        .map(|row| {
            let rate = levels.phrase(row.noise_rate);
            let loss = row.best.label();
            let mean = row.accuracy.mean;
            let Some((epsilon, epsilon_mean)) = row.best_epsilon else {
                return format!(
                    "At {rate}, the best setting is {loss} ({}); there is no label-smoothing run \
                     there to compare it with.",
                    accuracy(mean)
                );
            };
            let best = if epsilon_mean == mean {
                format!(
                    "ε = {} ties with the best robust loss, {loss}, as the best setting ({})",
                    epsilon_text(epsilon),
                    accuracy(mean)
                )
            } else if epsilon_mean > mean {
                format!(
                    "the best setting is ε = {} ({})",
                    epsilon_text(epsilon),
                    accuracy(epsilon_mean)
                )
            } else {
                format!("the best setting is {loss} ({})", accuracy(mean))
            };
            let epsilon = if epsilon.is_hard() {
                format!(
                    "the best ε (0, hard targets, at {})",
                    accuracy(epsilon_mean)
                )
            } else {
                format!(
                    "the best ε ({}, at {})",
                    epsilon_text(epsilon),
                    accuracy(epsilon_mean)
                )
            };
            let verdict = match (
                row.epsilon_within_interval(),
                row.accuracy.interval_estimable(),
            ) {
                (Some(true), Ok((low, high))) => format!(
                    "{epsilon} is within the 95% interval of the best robust loss, {loss} \
                     [{low:.3}, {high:.3}]"
                ),
                (Some(false), Ok((low, high))) => format!(
                    "{epsilon} is {} the 95% interval of the best robust loss, {loss} \
                     [{low:.3}, {high:.3}]",
                    if epsilon_mean > high {
                        "above"
                    } else {
                        "below"
                    }
                ),
                _ => format!(
                    "{epsilon} cannot be judged against the best robust loss, {loss} ({}): {}",
                    accuracy(mean),
                    match row.accuracy.interval_estimable() {
                        Err(NoInterval::NoSpread(n)) => {
                            format!("its {n} seeds are all equal, so it has no interval")
                        }
                        _ => format!(
                            "with {} it has no interval",
                            counted(row.accuracy.n, "seed")
                        ),
                    }
                ),
            };
            format!("At {rate}, {best}; {verdict}.")
        })
        .collect();
    Some(sentences.join(" "))
}

/// A mean accuracy as the page prints it.
fn accuracy(value: f64) -> String {
    format!("{value:.3}")
}

/// How a paired gain is told in the headline: the mean, and its interval with what it says, or
/// why there is no interval to judge by.
fn gain_phrase(gain: &Estimate) -> String {
    let seeds = counted(gain.n, "seed");
    match gain.interval_estimable() {
        Ok((low, high)) => {
            let verdict = if gain.excludes_zero() == Some(true) {
                "an interval that excludes 0"
            } else {
                "an interval that includes 0, so this could be chance"
            };
            format!(
                "{:+.3} [{low:.3}, {high:.3}] ({verdict}) over {seeds}",
                gain.mean
            )
        }
        Err(NoInterval::TooFew(_)) => format!(
            "{:+.3} over {seeds}, too few seeds to tell whether it is more than chance (an \
             interval needs at least {MIN_SAMPLES_FOR_INTERVAL})",
            gain.mean
        ),
        Err(NoInterval::NoSpread(_)) => format!(
            "{:+.3}, the same in each of the {seeds}, so there is no interval to tell whether it \
             is more than chance",
            gain.mean
        ),
    }
}

/// `0.725 against 0.505 with hard targets`, or, when the two print alike, that they are level.
fn against_hard(mean: f64, hard: f64) -> String {
    if accuracy(mean) == accuracy(hard) {
        format!(
            "{}, level with hard targets to three decimals",
            accuracy(mean)
        )
    } else {
        format!(
            "{} against {} with hard targets",
            accuracy(mean),
            accuracy(hard)
        )
    }
}

/// What the grid as a whole cannot answer, if anything: said once, before the per-rate sentences.
fn grid_gap(rows: &[&BestEpsilonRow]) -> Option<&'static str> {
    if rows.iter().all(|r| r.hard_mean.is_none()) {
        return Some(if rows.iter().all(|r| r.hard_runs == 0) {
            "This grid has no hard-target (ε = 0) runs, so there is nothing to compare label \
             smoothing against."
        } else {
            "No hard-target (ε = 0) run of this grid finished, so there is nothing to compare \
             label smoothing against."
        });
    }
    if rows.iter().all(|r| r.best_soft.is_none()) {
        return Some(if rows.iter().all(|r| r.soft_runs == 0) {
            if rows.iter().any(|r| r.robust_runs > 0) {
                "This grid has no label smoothing (ε ≠ 0) beside hard targets (ε = 0), so there \
                 is no ε to compare them against; its losses built for label noise are compared \
                 with hard targets in the paired-gain table."
            } else {
                "This grid has only hard targets (ε = 0), so there is no ε ≠ 0 to compare them \
                 against."
            }
        } else {
            "No label-smoothing (ε ≠ 0) run of this grid finished, so there is nothing to compare \
             hard targets against."
        });
    }
    None
}

/// `none of the 3 hard-target (ε = 0) runs finished`, or `the only hard-target (ε = 0) run did
/// not finish`; `whose` is `the` or `the grid's`.
fn none_finished(n: usize, whose: &str, what: &str) -> String {
    if n == 1 {
        format!("{whose} only {what} run did not finish")
    } else {
        format!("none of {whose} {n} {what} runs finished")
    }
}

/// The sentence about the highest noise rate; `place` opens it, `gap_said` tells whether the
/// grid-wide gap has been stated already.
fn main_sentence(row: &BestEpsilonRow, place: &str, gap_said: bool) -> String {
    let best = epsilon_text(row.best);
    let negative = row.best.epsilon().is_some_and(|e| e < 0.0);
    let mean = accuracy(row.best_mean);
    let best_soft = |intro: &str| {
        if row.n_epsilons <= 1 {
            format!("{intro}ε = {best} reaches a last-epoch clean test accuracy of {mean}.",)
        } else {
            format!("{intro}the best ε is {best}, with a last-epoch clean test accuracy of {mean}.",)
        }
    };
    let smoothing = if negative {
        "negative label smoothing"
    } else {
        "label smoothing"
    };
    if !row.best.is_hard() {
        return match (row.hard_mean, row.gain) {
            (Some(hard), Some(gain)) => format!(
                "{place}, {smoothing} with ε = {best} reaches a last-epoch clean test \
                 accuracy of {}: a paired gain of {}.",
                against_hard(row.best_mean, hard),
                gain_phrase(&gain)
            ),
            (Some(hard), None) => format!(
                "{place}, {smoothing} with ε = {best} reaches a last-epoch clean test \
                 accuracy of {}, but no seed has finished runs of both, so there is no paired \
                 gain.",
                against_hard(row.best_mean, hard)
            ),
            (None, _) if gap_said => best_soft(&format!("{place}, ")),
            (None, _) if row.hard_runs == 0 => best_soft(&format!(
                "{place} there is no hard-target (ε = 0) run, so there is nothing to compare \
                 label smoothing against; "
            )),
            (None, _) => best_soft(&format!(
                "{place}, {}, so there is nothing to compare label smoothing against; ",
                none_finished(row.hard_runs, "the", "hard-target (ε = 0)")
            )),
        };
    }
    match row.best_soft.map(|(s, soft)| (epsilon_text(s), soft)) {
        Some((epsilon, soft)) if soft == row.best_mean => format!(
            "{place}, no ε ≠ 0 beats hard targets on average: ε = {epsilon} ties with them at a \
             last-epoch clean test accuracy of {mean}."
        ),
        Some((epsilon, soft)) if accuracy(soft) == mean => format!(
            "{place}, no ε ≠ 0 beats hard targets on average: ε = {epsilon} comes closest, level \
             with them to three decimals at a last-epoch clean test accuracy of {mean}."
        ),
        Some((epsilon, soft)) => format!(
            "{place}, no ε ≠ 0 beats hard targets on average: they reach a last-epoch clean test \
             accuracy of {mean}, the best ε ≠ 0 (ε = {epsilon}) {}.",
            accuracy(soft)
        ),
        None if gap_said => {
            format!("{place}, hard targets reach a last-epoch clean test accuracy of {mean}.")
        }
        None if row.soft_runs == 0 => format!(
            "{place} there is no label-smoothing (ε ≠ 0) run to compare with; hard targets reach \
             a last-epoch clean test accuracy of {mean}."
        ),
        None => format!(
            "{place}, {}, so there is nothing to compare hard targets against; they reach a \
             last-epoch clean test accuracy of {mean}.",
            none_finished(row.soft_runs, "the", "label-smoothing (ε ≠ 0)")
        ),
    }
}

/// The shorter sentence about the lowest noise level.
fn low_rate_sentence(row: &BestEpsilonRow, gap_said: bool, levels: &NoiseLevels) -> String {
    let rate = levels.phrase(row.noise_rate);
    let best = epsilon_text(row.best);
    let mean = accuracy(row.best_mean);
    if !row.best.is_hard() {
        return match row.hard_mean {
            Some(hard) => format!(
                "At {rate}, the best ε is {best} ({}).",
                against_hard(row.best_mean, hard)
            ),
            None if row.n_epsilons <= 1 && gap_said => {
                format!("At {rate}, ε = {best} reaches {mean}.")
            }
            None if row.n_epsilons <= 1 => format!(
                "At {rate}, ε = {best} reaches {mean}, with no finished hard-target run to \
                 compare."
            ),
            None if gap_said => format!("At {rate}, the best ε is {best} ({mean})."),
            None => format!(
                "At {rate}, the best ε is {best} ({mean}; no finished hard-target run to \
                 compare)."
            ),
        };
    }
    match row.best_soft.map(|(s, soft)| (epsilon_text(s), soft)) {
        Some((epsilon, soft)) if soft == row.best_mean => format!(
            "At {rate}, no ε ≠ 0 beats hard targets (ε = {epsilon} ties with them at {mean})."
        ),
        Some((epsilon, soft)) if accuracy(soft) == mean => format!(
            "At {rate}, hard targets are best ({mean}), with ε = {epsilon} level to three \
             decimals."
        ),
        Some((epsilon, soft)) => format!(
            "At {rate}, hard targets are best ({mean}; the best ε ≠ 0, ε = {epsilon}, \
             reaches {}).",
            accuracy(soft)
        ),
        None if gap_said => format!("At {rate}, hard targets reach {mean}."),
        None => {
            format!("At {rate}, hard targets reach {mean}, with no finished ε ≠ 0 run to compare.")
        }
    }
}

/// The answer in a sentence or two: the best ε at the highest noise rate by last-epoch accuracy,
/// with its paired gain over hard targets, then the lowest rate. Where the grid cannot answer the
/// question (no hard targets, or nothing but hard targets), it says so and what it can answer.
///
/// For label sets (`levels`), each level is named with the share of training labels it changes.
pub fn headline(best: &[BestEpsilonRow], levels: &NoiseLevels) -> Option<String> {
    let last_epoch: Vec<&BestEpsilonRow> = best
        .iter()
        .filter(|row| row.criterion == "test_accuracy")
        .collect();
    let highest = last_epoch
        .iter()
        .copied()
        .max_by(|a, b| a.noise_rate.total_cmp(&b.noise_rate))?;
    let rate = highest.noise_rate;
    let n_rates = sorted_unique(last_epoch.iter().map(|r| r.noise_rate)).len();
    let place = match levels.name(rate) {
        Some(set) if n_rates == 1 => format!(
            "With the only label set, {set} (which changes {rate:.3} of the training labels)"
        ),
        Some(set) => {
            format!("With the label set that changes the most training labels, {set} ({rate:.3})")
        }
        None if levels.are_matrix_scales() && n_rates == 1 => {
            format!("At the only matrix scale run ({rate})")
        }
        None if levels.are_matrix_scales() => format!("At the largest matrix scale run ({rate})"),
        None if n_rates == 1 => format!("At the only noise rate run ({rate})"),
        None => format!("At the highest noise rate run ({rate})"),
    };
    let gap = grid_gap(&last_epoch);
    let mut text = String::new();
    if let Some(gap) = gap {
        text.push_str(gap);
        text.push(' ');
    }
    text.push_str(&main_sentence(highest, &place, gap.is_some()));
    if let Some(lowest) = last_epoch
        .iter()
        .copied()
        .min_by(|a, b| a.noise_rate.total_cmp(&b.noise_rate))
        .filter(|row| row.noise_rate < rate)
    {
        text.push(' ');
        text.push_str(&low_rate_sentence(lowest, gap.is_some(), levels));
    }
    Some(text)
}

/// Per (noise model, nominal rate) of `runs`, the realised share of flipped training labels:
/// the mean over seeds of `realised_noise_rate`, taking each seed's first run that did not fail
/// (or its first run when all failed), since every setting of a seed shares its noisy labels.
fn realised_rates(runs: &[RunRow]) -> Vec<(String, f64, f64)> {
    let mut groups: Vec<(String, f64)> = Vec::new();
    for run in runs {
        let key = (run.noise_model.clone(), run.noise_rate);
        if !groups.contains(&key) {
            groups.push(key);
        }
    }
    groups
        .into_iter()
        .filter_map(|(model, rate)| {
            let of_rate: Vec<&RunRow> = runs
                .iter()
                .filter(|r| r.noise_model == model && r.noise_rate == rate)
                .collect();
            let mut seeds: Vec<u64> = of_rate.iter().map(|r| r.seed).collect();
            seeds.sort_unstable();
            seeds.dedup();
            let shares: Vec<f64> = seeds
                .iter()
                .filter_map(|&seed| {
                    let of_seed = || of_rate.iter().filter(move |r| r.seed == seed);
                    of_seed()
                        .find(|r| r.status != RunStatusLabel::Failed)
                        .or_else(|| of_seed().next())
                        .map(|r| r.realised_noise_rate)
                })
                .collect();
            estimate(&shares).map(|e| (model, rate, e.mean))
        })
        .collect()
}

/// Distinct seeds of `runs`.
fn seed_count(runs: &[RunRow]) -> usize {
    let mut seeds: Vec<u64> = runs.iter().map(|r| r.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    seeds.len()
}

/// Distinct (noise model, rate) pairs of `runs`.
fn rate_count(runs: &[RunRow]) -> usize {
    let mut rates: Vec<(&str, f64)> = Vec::new();
    for run in runs {
        if !rates.contains(&(run.noise_model.as_str(), run.noise_rate)) {
            rates.push((&run.noise_model, run.noise_rate));
        }
    }
    rates.len()
}

/// The settings as (key, value) rows of plain values: a value in Rust's debug form
/// (`Sgd { learning_rate: 0.05, momentum: 0.9 }`) becomes one row naming the variant (`sgd`) and
/// one row per field (`….learning_rate`); a JSON list (`[0.0,0.2]`) is written `0.0, 0.2`.
fn plain_settings(settings: &[(String, String)]) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    for (key, value) in settings {
        if let Some((name, fields)) = debug_struct(value) {
            rows.push((key.clone(), name.to_lowercase()));
            for (field, field_value) in fields {
                rows.push((format!("{key}.{field}"), plain_value(field_value)));
            }
        } else {
            rows.push((key.clone(), plain_value(value)));
        }
    }
    rows
}

/// `Name { a: 1, b: x }` as the name and its (field, value) pairs; `None` for anything else.
fn debug_struct(value: &str) -> Option<(&str, Vec<(&str, &str)>)> {
    let (name, rest) = value.trim().split_once(" { ")?;
    let body = rest.strip_suffix(" }")?;
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let fields = body
        .split(", ")
        .map(|field| field.split_once(": "))
        .collect::<Option<Vec<_>>>()?;
    Some((name, fields))
}

/// A flat JSON list without its brackets and quotes, items joined by `, `; other values as is.
fn plain_value(value: &str) -> String {
    match value.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
        Some(items) if !items.contains(['[', '{']) => items
            .split(',')
            .map(|item| item.trim().trim_matches('"'))
            .collect::<Vec<_>>()
            .join(", "),
        _ => value.to_string(),
    }
}

/// The paragraph after the answer: what the grid holds and how to read its numbers.
fn grid_paragraph(runs: &[RunRow], paired: &[PairedRow]) -> String {
    let n_finished = runs
        .iter()
        .filter(|r| r.status == RunStatusLabel::Finished)
        .count();
    if runs.is_empty() {
        return "The folder holds no runs, so every table below is empty.".to_string();
    }
    let seeds = seed_count(runs);
    let settings = crate::setting::sorted_settings(runs.iter().map(|r| r.setting()));
    let n_losses = settings.iter().filter(|s| s.is_robust()).count();
    let targets = if n_losses == 0 {
        counted(settings.len(), "ε value")
    } else {
        format!(
            "{} ({} and {} built for label noise)",
            counted(settings.len(), "target setting"),
            counted(settings.len() - n_losses, "ε value"),
            if n_losses == 1 {
                "1 loss".to_string()
            } else {
                format!("{n_losses} losses")
            }
        )
    };
    let mut text = format!(
        "The grid: {} × {} × {targets}; {}, {n_finished} finished.",
        counted(rate_count(runs), NoiseLevels::from_runs(runs).noun()),
        counted(seeds, "seed"),
        counted(runs.len(), "run"),
    );
    let others = others_phrase(runs);
    if seeds == 1 {
        let _ = write!(
            text,
            " With 1 seed there are no intervals: each number is a single run, and a gain (the \
             {} minus the run with ε = 0 on the same noisy labels, initial weights and \
             batches) cannot be told from chance.",
            others.run
        );
        return text;
    }
    text.push_str(" Every interval is a 95% Student-t interval over seeds.");
    if paired.iter().any(|p| p.n_pairs > 0) {
        let _ = write!(
            text,
            " Gains are paired: each seed's {} minus its run with ε = 0 (same noisy labels, \
             initial weights and batches). Bold gains have an interval that excludes 0. \
             A gain is judged only over at least {MIN_SAMPLES_FOR_INTERVAL} pairs whose \
             differences are not all equal; otherwise it is marked n/a: too few seeds to tell.",
            others.run
        );
    }
    text
}

/// The accuracy section: the table, with the realised noise where it differs from the nominal.
fn accuracy_section(out: &mut String, page: &ReportPage<'_>) {
    let seeds = seed_count(page.runs);
    let intro = if seeds == 1 {
        "Last epoch; with 1 seed, each cell is a single run."
    } else {
        "Last epoch, mean ± half-width of the 95% interval."
    };
    let _ = writeln!(out, "## Clean test accuracy\n\n{intro}\n");
    if page.summary.iter().all(|r| r.n_finished == 0) {
        let _ = writeln!(out, "No run finished, so there is no accuracy to show.\n");
        return;
    }
    let levels = NoiseLevels::from_runs(page.runs);
    let realised = realised_rates(page.runs);
    if levels.are_label_sets() {
        let _ = writeln!(out, "{}", accuracy_table(page.summary, true, &levels));
        let _ = writeln!(
            out,
            "Each row is one label set of the labels file, with the share of training labels it \
             changes (`noise_rate` and `realised_noise_rate` in `runs.csv`), which the charts \
             plot.\n"
        );
        if page.summary.iter().any(|r| r.n_finished == 0) {
            let _ = writeln!(out, "– marks a cell without a finished run.\n");
        }
        return;
    }
    let differs = realised
        .iter()
        .any(|(_, rate, share)| (rate - share).abs() >= 5e-4);
    if differs {
        let _ = writeln!(
            out,
            "{}",
            accuracy_table_with_realised(page.summary, &realised, &levels)
        );
        let _ = writeln!(
            out,
            "{}; `flipped (realised)` is the share of training labels that actually differ from \
             their clean label (mean over seeds of `realised_noise_rate` in `runs.csv`).\n",
            if levels.are_matrix_scales() {
                "`scale` multiplies the off-diagonal mass of every row of the matrix (1: the \
                 matrix as given), which the charts plot"
            } else {
                "`rate` is the nominal noise rate of the configuration, which the charts plot"
            }
        );
    } else {
        let _ = writeln!(out, "{}", accuracy_table(page.summary, true, &levels));
        let _ = writeln!(
            out,
            "`rate` is the nominal noise rate; the share of training labels actually flipped \
             equals it (to three decimals) at every rate.\n"
        );
    }
    if page.summary.iter().any(|r| r.n_finished == 0) {
        let _ = writeln!(out, "– marks a cell without a finished run.\n");
    }
}

/// The paired-gain section, or why there are no paired gains.
fn paired_section(out: &mut String, page: &ReportPage<'_>) {
    let _ = writeln!(out, "## Paired gain over hard targets\n");
    let others = others_phrase(page.runs);
    let has_hard = page.runs.iter().any(|r| r.setting().is_hard());
    let has_soft = page.runs.iter().any(|r| !r.setting().is_hard());
    if page.paired.is_empty() {
        let why = if page.runs.is_empty() {
            "No paired gains: there are no runs.".to_string()
        } else if !has_hard {
            format!(
                "No paired gains: this grid has no hard-target (ε = 0) runs to pair {} with.",
                others.runs
            )
        } else if !has_soft {
            "No paired gains: this grid has only hard targets (ε = 0), so there is no ε ≠ 0 to \
             compare with them."
                .to_string()
        } else {
            format!(
                "No paired gains: no noise rate has runs with both ε = 0 and {}.",
                others.one
            )
        };
        let _ = writeln!(out, "{why}\n");
        return;
    }
    if page.paired.iter().all(|p| p.n_pairs == 0) {
        let finished = |hard: bool| {
            page.runs
                .iter()
                .filter(|r| r.setting().is_hard() == hard && r.status == RunStatusLabel::Finished)
                .count()
        };
        let count = |hard: bool| {
            page.runs
                .iter()
                .filter(|r| r.setting().is_hard() == hard)
                .count()
        };
        let why = if finished(true) == 0 {
            none_finished(count(true), "the grid's", "hard-target (ε = 0)")
        } else if finished(false) == 0 {
            none_finished(count(false), "the grid's", others.kind)
        } else {
            "the runs that finished are at different rates or seeds".to_string()
        };
        let _ = writeln!(
            out,
            "No paired gains: {why}, so no seed has finished runs at both {} and ε = 0.\n",
            others.one
        );
        return;
    }
    let intro = if seed_count(page.runs) == 1 {
        format!(
            "{} minus ε = 0 of the single seed; with 1 pair there is no interval (n/a).",
            others.starts
        )
    } else {
        format!(
            "{} minus ε = 0, per seed; mean [95% interval].",
            others.starts
        )
    };
    let _ = writeln!(
        out,
        "{intro} Higher is better for accuracy; lower is better for ECE and memorised share. \
         `paired.csv` has NLL and, with 10 or more seeds, bootstrap intervals.\n"
    );
    let _ = writeln!(
        out,
        "{}",
        paired_gain_table(page.paired, &NoiseLevels::from_runs(page.runs))
    );
    let mut notes = Vec::new();
    if page.paired.iter().any(|p| p.n_pairs == 0) {
        notes.push(
            "A row with 0 pairs has no seed where both its run and the ε = 0 run finished."
                .to_string(),
        );
    }
    if page
        .paired
        .iter()
        .any(|p| p.n_pairs > 0 && p.differences.iter().any(Option::is_none))
    {
        notes.push(
            "– marks a metric no pair has: the memorised share where no training label was \
             flipped, or the validation-selected accuracy without a validation split."
                .to_string(),
        );
    }
    let unpaired: Vec<String> = {
        let mut rates: Vec<(String, f64)> = Vec::new();
        for run in page.runs.iter().filter(|r| !r.setting().is_hard()) {
            let key = (run.noise_model.clone(), run.noise_rate);
            let paired = page
                .paired
                .iter()
                .any(|p| p.noise_model == key.0 && p.noise_rate == key.1);
            if !paired && !rates.contains(&key) {
                rates.push(key);
            }
        }
        rates.iter().map(|(_, rate)| rate.to_string()).collect()
    };
    if !unpaired.is_empty() {
        notes.push(format!(
            "No row for rate{} {}: no ε = 0 run there to pair with.",
            if unpaired.len() == 1 { "" } else { "s" },
            unpaired.join(", ")
        ));
    }
    for note in notes {
        let _ = writeln!(out, "{note}\n");
    }
}

/// The best-ε section.
fn best_section(out: &mut String, page: &ReportPage<'_>) {
    let per = NoiseLevels::from_runs(page.runs).noun();
    let _ = writeln!(
        out,
        "## Best ε per {per}\n\nThe ε with the highest mean accuracy (the ε closest to 0 on a \
         tie), after the last epoch and at the epoch the noisy validation split selects.\n"
    );
    if page.best.is_empty() {
        let _ = writeln!(out, "No best ε: no run finished.\n");
        return;
    }
    let _ = writeln!(
        out,
        "{}",
        best_epsilon_table(page.best, &NoiseLevels::from_runs(page.runs))
    );
    let mut notes = Vec::new();
    if page
        .best
        .iter()
        .all(|r| r.best_soft.is_none() && r.soft_runs == 0)
    {
        notes.push(
            "Only hard targets (ε = 0) were run, so they are best everywhere, with no gain (–).",
        );
    } else if page.best.iter().any(|r| r.best.is_hard()) {
        notes.push("Where the best ε is 0, hard targets are best and there is no gain (–).");
    }
    if page.best.iter().any(|r| r.hard_mean.is_none()) {
        notes.push("– under hard targets: no finished ε = 0 run at that rate, so no gain either.");
    }
    if page
        .best
        .iter()
        .any(|r| !r.best.is_hard() && r.hard_mean.is_some() && r.gain.is_none())
    {
        notes.push("– under gain: no seed has finished runs of both the best ε and ε = 0.");
    }
    for note in notes {
        let _ = writeln!(out, "{note}\n");
    }
}

/// The best-robust-loss section; nothing when the grid has no loss built for label noise.
fn loss_section(out: &mut String, page: &ReportPage<'_>) {
    if !page.runs.iter().any(|r| r.setting().is_robust()) {
        return;
    }
    let per = NoiseLevels::from_runs(page.runs).noun();
    let _ = writeln!(
        out,
        "## Best loss built for label noise per {per}\n\nAmong the settings that are not \
         cross-entropy, the one with the highest mean accuracy, its 95% interval over seeds and \
         its paired gain over hard targets; then the best ε and whether its mean accuracy lies \
         within that interval (`best_loss.csv`).\n"
    );
    if page.losses.is_empty() {
        let _ = writeln!(out, "No best loss: no run of a robust loss finished.\n");
        return;
    }
    let _ = writeln!(
        out,
        "{}",
        best_loss_table(page.losses, &NoiseLevels::from_runs(page.runs))
    );
    if page.losses.iter().any(|r| r.gain.is_none()) {
        let _ = writeln!(
            out,
            "– under gain: no seed has finished runs of both that loss and hard targets (ε = 0) \
             at that rate.\n"
        );
    }
    if page
        .losses
        .iter()
        .any(|r| r.epsilon_within_interval().is_none())
    {
        let _ = writeln!(
            out,
            "– under within: no best ε at that rate, or no interval to judge by (fewer than \
             {MIN_SAMPLES_FOR_INTERVAL} seeds, or all equal).\n"
        );
    }
}

/// The area-under-the-curve section, or why there are no areas.
fn area_section(out: &mut String, page: &ReportPage<'_>) {
    let others = others_phrase(page.runs);
    let _ = writeln!(out, "## Area under the accuracy-versus-noise curve\n");
    if page.areas.is_empty() {
        let rates = sorted_unique(page.runs.iter().map(|r| r.noise_rate));
        let why = match rates.as_slice() {
            [] => "No areas: there are no runs.".to_string(),
            [only] if rate_count(page.runs) == 1 => format!(
                "No areas: this grid has a single noise rate ({only}), and a curve needs at least \
                 two."
            ),
            _ => "No areas: no seed has a finished run at every noise rate, so no curve is \
                  complete."
                .to_string(),
        };
        let _ = writeln!(out, "{why}\n");
        return;
    }
    let _ = writeln!(
        out,
        "Trapezoid rule over the noise rates run, per seed; divided by the width of the rate \
         range it is the mean accuracy over that range.\n"
    );
    let _ = writeln!(out, "{}", auc_table(page.areas));
    if page.areas.iter().any(|a| a.setting.is_hard()) {
        let _ = writeln!(
            out,
            "ε = 0 is the baseline the area gains subtract, so it has none (–).\n"
        );
    }
    if page
        .areas
        .iter()
        .any(|a| !a.setting.is_hard() && a.gain.is_none())
    {
        let why = if page.areas.iter().any(|a| a.setting.is_hard()) {
            "no seed has complete curves for both that setting and ε = 0"
        } else {
            "there is no hard-target (ε = 0) curve to subtract"
        };
        let _ = writeln!(out, "– under area gain for {}: {why}.\n", others.minus);
    }
}

/// The Markdown text of `report.md`.
pub fn report_markdown(page: &ReportPage<'_>) -> String {
    let mut out = String::new();
    let context = page.context;
    let _ = writeln!(out, "# {}\n", context.name);
    let _ = writeln!(out, "**Question.** {}\n", context.question);
    if let Some(shard) = &context.shard {
        let _ = writeln!(
            out,
            "**Shard {shard}.** This folder holds one shard of the grid, {}, so every table, \
             chart and sentence below covers those runs only: a setting or noise level may have \
             fewer seeds here, or none. Run every shard and `sweep merge` them for the \
             experiment's answer.\n",
            counted(page.runs.len(), "run")
        );
    }
    match headline(page.best, &NoiseLevels::from_runs(page.runs)) {
        Some(answer) => {
            let _ = writeln!(out, "**Answer.** {answer}\n");
        }
        None if page.runs.is_empty() => {
            let _ = writeln!(
                out,
                "**Answer.** None: there are no runs to answer it with.\n"
            );
        }
        None => {
            let _ = writeln!(
                out,
                "**Answer.** None: no run finished, so this grid cannot answer the question.\n"
            );
        }
    }
    if let Some(answer) = robust_answer(page.losses, &NoiseLevels::from_runs(page.runs)) {
        let _ = writeln!(
            out,
            "**Against the losses built for label noise** (last epoch). {answer}\n"
        );
    }
    let _ = writeln!(out, "{}\n", grid_paragraph(page.runs, page.paired));
    if let Some(main) = page.charts.first() {
        let _ = writeln!(out, "![{}]({})\n", main.heading, main.file);
        let _ = writeln!(out, "{}\n", main.caption);
    }
    accuracy_section(&mut out, page);
    paired_section(&mut out, page);
    best_section(&mut out, page);
    loss_section(&mut out, page);
    area_section(&mut out, page);
    for chart in page.charts.iter().skip(1) {
        let _ = writeln!(out, "## {}\n", chart.heading);
        let _ = writeln!(out, "![{}]({})\n", chart.heading, chart.file);
        let _ = writeln!(out, "{}\n", chart.caption);
    }
    if !page.missing_charts.is_empty() {
        let _ = writeln!(out, "## Charts not drawn\n");
        for (heading, why) in page.missing_charts {
            let _ = writeln!(out, "- {heading}: {why}.");
        }
        out.push('\n');
    }
    let settings = plain_settings(&context.settings);
    if !settings.is_empty() {
        let _ = writeln!(out, "## Settings\n\n| key | value |\n|---|---|");
        for (key, value) in &settings {
            let _ = writeln!(out, "| `{key}` | {} |", value.replace('|', "\\|"));
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "## Files\n\n`runs.csv` (one row per run), `epochs.csv` (per run and epoch), \
         `calibration.csv` (test confidence bins per run), `penultimate.csv` (template-plane \
         projections), `transitions.csv` (how the noise changed the labels), `summary.csv` (per \
         noise rate and target setting over seeds), `paired.csv` (paired gains), \
         `best_epsilon.csv`, `best_loss.csv`, `auc.csv`; every column is described in the project's \
         README. `sweep report <this folder>` rebuilds every table, chart and this page from the \
         per-run tables."
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Estimate;

    fn best(rate: f64, epsilon: f64, mean: f64, gain: Option<(f64, f64, f64)>) -> BestEpsilonRow {
        BestEpsilonRow {
            noise_model: "symmetric".into(),
            noise_rate: rate,
            criterion: "test_accuracy",
            best: Setting::smoothing(epsilon),
            best_mean: mean,
            hard_mean: Some(0.505),
            gain: gain.map(|(mean, low, high)| Estimate {
                n: 5,
                mean,
                std: Some(0.03),
                ci_low: Some(low),
                ci_high: Some(high),
            }),
            best_soft: (epsilon != 0.0).then_some((Setting::smoothing(epsilon), mean)),
            hard_runs: 5,
            soft_runs: 10,
            robust_runs: 0,
            n_epsilons: 3,
        }
    }

    #[test]
    fn the_headline_reads_the_highest_rate() {
        let rows = [
            best(0.0, 0.1, 0.9855, Some((0.008, 0.002, 0.014))),
            best(0.6, 0.6, 0.7248, Some((0.2195, 0.185, 0.254))),
        ];
        let text = headline(&rows, &NoiseLevels::default()).unwrap();
        assert!(
            text.starts_with(
                "At the highest noise rate run (0.6), label smoothing with ε = 0.6 reaches a \
                 last-epoch clean test accuracy of 0.725 against 0.505 with hard targets: a paired \
                 gain of +0.220 [0.185, 0.254] (an interval that excludes 0) over 5 seeds."
            ),
            "{text}"
        );
        assert!(
            text.ends_with("At rate 0, the best ε is 0.1 (0.986 against 0.505 with hard targets)."),
            "{text}"
        );
        let hard_best = BestEpsilonRow {
            best_mean: 0.7,
            hard_mean: Some(0.7),
            best_soft: Some((Setting::smoothing(0.1), 0.65)),
            ..best(0.4, 0.0, 0.7, None)
        };
        let none = headline(&[hard_best], &NoiseLevels::default()).unwrap();
        assert_eq!(
            none,
            "At the only noise rate run (0.4), no ε ≠ 0 beats hard targets on average: they \
             reach a last-epoch clean test accuracy of 0.700, the best ε ≠ 0 (ε = 0.1) 0.650."
        );
        assert_eq!(headline(&[], &NoiseLevels::default()), None);
    }

    #[test]
    fn settings_in_debug_form_become_plain_rows() {
        let rows = plain_settings(&[
            ("noise.rates".into(), "[0.0,0.2,0.4]".into()),
            (
                "resolved.optimizer".into(),
                "Sgd { learning_rate: 0.05, momentum: 0.9, nesterov: false, weight_decay: 0.0 }"
                    .into(),
            ),
            ("data.source".into(), "blobs".into()),
        ]);
        let expected: Vec<(String, String)> = [
            ("noise.rates", "0.0, 0.2, 0.4"),
            ("resolved.optimizer", "sgd"),
            ("resolved.optimizer.learning_rate", "0.05"),
            ("resolved.optimizer.momentum", "0.9"),
            ("resolved.optimizer.nesterov", "false"),
            ("resolved.optimizer.weight_decay", "0.0"),
            ("data.source", "blobs"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .to_vec();
        assert_eq!(rows, expected);
    }

    #[test]
    fn the_page_embeds_every_chart_by_relative_path() {
        let context = ReportContext {
            name: "noise".into(),
            title: "symmetric noise on digits".into(),
            question: "Does ε help?".into(),
            settings: vec![("training.epochs".into(), "30".into())],
            shard: None,
        };
        let charts = [
            PageChart {
                heading: "Accuracy versus noise".into(),
                file: "accuracy_vs_noise.png".into(),
                caption: "Main.".into(),
            },
            PageChart {
                heading: "Gain".into(),
                file: "gain_heatmap.png".into(),
                caption: "Cells.".into(),
            },
        ];
        let page = report_markdown(&ReportPage {
            context: &context,
            runs: &[],
            summary: &[],
            paired: &[],
            best: &[],
            losses: &[],
            areas: &[],
            charts: &charts,
            missing_charts: &[("Reliability".into(), "no calibration.csv".into())],
        });
        assert!(page.starts_with("# noise\n\n**Question.** Does ε help?\n"));
        assert!(page.contains("![Accuracy versus noise](accuracy_vs_noise.png)"));
        assert!(page.contains("## Gain\n\n![Gain](gain_heatmap.png)\n\nCells."));
        assert!(page.contains("| `training.epochs` | 30 |"));
        assert!(page.contains("- Reliability: no calibration.csv"));
    }
}
