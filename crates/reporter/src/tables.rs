//! Tables of results as text: the accuracy table printed at the end of a sweep, and the
//! Markdown tables of `report.md`.

use std::fmt::Write;

use crate::levels::NoiseLevels;
use crate::paired::PairedRow;
use crate::setting::{LossName, sorted_settings};
use crate::stats::{Estimate, NoInterval};
use crate::summary::SummaryRow;
use crate::verdict::{AucRow, BestEpsilonRow, BestLossRow};

/// Clean test accuracy (last epoch) per noise level × target setting, as `mean ± half-width of the 95% CI`;
/// a label set of `levels` is named beside its rate. With `markdown`, a Markdown table;
/// otherwise aligned plain text.
pub fn accuracy_table(summary: &[SummaryRow], markdown: bool, levels: &NoiseLevels) -> String {
    let (header, body) = accuracy_cells(summary, None, levels);
    if markdown {
        markdown_table(&header, &body)
    } else {
        plain_table(&header, &body)
    }
}

/// [`accuracy_table`] as Markdown with a column after the rate: `realised` gives, per (noise
/// model, nominal rate), the realised share of flipped training labels (mean over seeds).
pub(crate) fn accuracy_table_with_realised(
    summary: &[SummaryRow],
    realised: &[(String, f64, f64)],
    levels: &NoiseLevels,
) -> String {
    let (header, body) = accuracy_cells(summary, Some(realised), levels);
    markdown_table(&header, &body)
}

/// Header and body of the accuracy table, with the realised-rate column when `realised` is given.
fn accuracy_cells(
    summary: &[SummaryRow],
    realised: Option<&[(String, f64, f64)]>,
    levels: &NoiseLevels,
) -> (Vec<String>, Vec<Vec<String>>) {
    let settings = sorted_settings(summary.iter().map(|r| r.setting));
    let mut rates: Vec<(String, f64)> = summary
        .iter()
        .map(|r| (r.noise_model.clone(), r.noise_rate))
        .collect();
    rates.dedup();

    let mut header = vec!["noise model".to_string(), levels.heading().to_string()];
    if realised.is_some() {
        header.push("flipped (realised)".to_string());
    }
    header.extend(settings.iter().map(|s| s.label()));
    let mut body = Vec::new();
    for (model, rate) in &rates {
        let mut line = vec![model.clone(), levels.cell(*rate)];
        if let Some(realised) = realised {
            line.push(
                realised
                    .iter()
                    .find(|(m, r, _)| m == model && r == rate)
                    .map(|(_, _, share)| format!("{share:.3}"))
                    .unwrap_or_else(|| "–".to_string()),
            );
        }
        for setting in &settings {
            let cell = summary
                .iter()
                .find(|r| &r.noise_model == model && r.noise_rate == *rate && r.setting == *setting)
                .and_then(|r| r.metric("test_accuracy"))
                .map(|e| match e.ci_high {
                    Some(high) => format!("{:.4} ± {:.4}", e.mean, high - e.mean),
                    None => format!("{:.4}", e.mean),
                })
                .unwrap_or_else(|| "–".to_string());
            line.push(cell);
        }
        body.push(line);
    }
    (header, body)
}

/// `n` and `noun`, the noun in the plural unless `n` is 1: `1 seed`, `2 seeds`, `0 runs`.
pub fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A Markdown table.
fn markdown_table(header: &[String], body: &[Vec<String>]) -> String {
    // A `|` in a cell (a label set's name) would end the cell.
    let row = |cells: &[String]| {
        cells
            .iter()
            .map(|cell| cell.replace('|', "\\|"))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    let mut out = String::new();
    let _ = writeln!(out, "| {} |", row(header));
    let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
    for line in body {
        let _ = writeln!(out, "| {} |", row(line));
    }
    out
}

/// Left-aligned plain-text columns, two spaces apart.
fn plain_table(header: &[String], body: &[Vec<String>]) -> String {
    let mut out = String::new();
    let lines = || std::iter::once(header).chain(body.iter().map(Vec::as_slice));
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            lines()
                .map(|line| line.get(c).map_or(0, |cell| cell.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    for line in lines() {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            .map(|(cell, &width)| format!("{cell}{}", " ".repeat(width - cell.chars().count())))
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    out
}

/// `+0.123 [0.045, 0.201]`, in bold when the interval excludes 0; when the interval cannot be
/// judged (fewer than three `unit`s, or all of them equal), `+0.123 (n/a: 2 pairs)` or
/// `+0.123 (n/a: all 3 pairs equal)`, never bold.
pub(crate) fn signed_with_interval(estimate: &Estimate, unit: &str) -> String {
    // A value that rounds to zero is written `0.000`, never `+0.000` or `-0.000`.
    let rounds_to_zero = |v: f64| v.abs() < 5e-4;
    let signed = |v: f64| {
        if rounds_to_zero(v) {
            "0.000".to_string()
        } else {
            format!("{v:+.3}")
        }
    };
    let plain = |v: f64| {
        if rounds_to_zero(v) {
            "0.000".to_string()
        } else {
            format!("{v:.3}")
        }
    };
    match estimate.interval_estimable() {
        Ok((low, high)) => {
            let text = format!(
                "{} [{}, {}]",
                signed(estimate.mean),
                plain(low),
                plain(high)
            );
            if estimate.excludes_zero() == Some(true) {
                format!("**{text}**")
            } else {
                text
            }
        }
        Err(NoInterval::TooFew(n)) => {
            format!("{} (n/a: {})", signed(estimate.mean), counted(n, unit))
        }
        Err(NoInterval::NoSpread(n)) => {
            format!("{} (n/a: all {n} {unit}s equal)", signed(estimate.mean))
        }
    }
}

/// The columns of the paired-gain table: metric name and heading.
const GAIN_COLUMNS: [(&str, &str); 5] = [
    ("test_accuracy", "accuracy, last epoch"),
    (
        "val_selected_test_accuracy",
        "accuracy, val.-selected epoch",
    ),
    ("best_test_accuracy", "accuracy, best epoch"),
    ("test_ece", "test ECE"),
    ("memorised_share", "memorised share"),
];

/// The paired differences against hard targets as a Markdown table: per (rate, setting other
/// than hard targets), the mean
/// difference and its 95% t interval for accuracy (last, validation-selected and best epoch), ECE
/// and memorised share; bold where the interval excludes 0.
pub fn paired_gain_table(paired: &[PairedRow], levels: &NoiseLevels) -> String {
    let mut header = vec![
        "noise model".to_string(),
        levels.heading().into(),
        "setting".into(),
        "pairs".into(),
    ];
    header.extend(GAIN_COLUMNS.iter().map(|(_, heading)| heading.to_string()));
    let body: Vec<Vec<String>> = paired
        .iter()
        .map(|row| {
            let mut line = vec![
                row.noise_model.clone(),
                levels.cell(row.noise_rate),
                row.setting.label(),
                row.n_pairs.to_string(),
            ];
            line.extend(GAIN_COLUMNS.iter().map(|(metric, _)| {
                row.difference(metric)
                    .map(|e| signed_with_interval(&e, "pair"))
                    .unwrap_or_else(|| "–".into())
            }));
            line
        })
        .collect();
    markdown_table(&header, &body)
}

/// The best ε per noise rate as a Markdown table, one column pair per criterion.
pub fn best_epsilon_table(best: &[BestEpsilonRow], levels: &NoiseLevels) -> String {
    let header: Vec<String> = [
        "noise model",
        levels.heading(),
        "criterion",
        "best ε",
        "its accuracy",
        "hard targets",
        "gain over hard targets",
    ]
    .map(String::from)
    .to_vec();
    let body: Vec<Vec<String>> = best
        .iter()
        .map(|row| {
            // When hard targets are best, their accuracy is the best one: it is not repeated.
            let hard_is_best = row.best.is_hard();
            vec![
                row.noise_model.clone(),
                levels.cell(row.noise_rate),
                criterion_name(row.criterion).to_string(),
                if hard_is_best {
                    "0 (hard targets)".to_string()
                } else {
                    let epsilon = row.best.epsilon().unwrap_or(0.0);
                    match row.best.loss {
                        LossName::CeOffClasses => format!("{epsilon} (off-classes)"),
                        _ => format!("{epsilon}"),
                    }
                },
                format!("{:.4}", row.best_mean),
                match row.hard_mean {
                    _ if hard_is_best => "the same".to_string(),
                    Some(mean) => format!("{mean:.4}"),
                    None => "–".to_string(),
                },
                row.gain
                    .map(|g| signed_with_interval(&g, "pair"))
                    .unwrap_or_else(|| "–".into()),
            ]
        })
        .collect();
    markdown_table(&header, &body)
}

/// The best robust loss per noise level as a Markdown table, with the best ε beside it.
pub fn best_loss_table(losses: &[BestLossRow], levels: &NoiseLevels) -> String {
    let header: Vec<String> = [
        "noise model",
        levels.heading(),
        "criterion",
        "best robust loss",
        "its accuracy",
        "gain over hard targets",
        "best ε (accuracy)",
        "ε within its interval",
    ]
    .map(String::from)
    .to_vec();
    let body: Vec<Vec<String>> = losses
        .iter()
        .map(|row| {
            let accuracy = match row.accuracy.interval_estimable() {
                Ok((low, high)) => format!("{:.4} [{low:.4}, {high:.4}]", row.accuracy.mean),
                Err(_) => format!("{:.4}", row.accuracy.mean),
            };
            vec![
                row.noise_model.clone(),
                levels.cell(row.noise_rate),
                criterion_name(row.criterion).to_string(),
                row.best.label(),
                accuracy,
                row.gain
                    .map(|g| signed_with_interval(&g, "pair"))
                    .unwrap_or_else(|| "–".into()),
                row.best_epsilon
                    .map(|(setting, mean)| {
                        let epsilon = setting.epsilon().unwrap_or(0.0);
                        match setting.loss {
                            LossName::CeOffClasses => {
                                format!("{epsilon} off-classes ({mean:.4})")
                            }
                            _ => format!("{epsilon} ({mean:.4})"),
                        }
                    })
                    .unwrap_or_else(|| "–".into()),
                match row.epsilon_within_interval() {
                    Some(true) => "yes".into(),
                    Some(false) => "no".into(),
                    None => "–".into(),
                },
            ]
        })
        .collect();
    markdown_table(&header, &body)
}

/// The areas under the accuracy-versus-noise curves as a Markdown table.
pub fn auc_table(areas: &[AucRow]) -> String {
    let header: Vec<String> = [
        "noise model",
        "setting",
        "accuracy",
        "area [95% CI]",
        "mean accuracy over the rates",
        "area gain over hard targets",
    ]
    .map(String::from)
    .to_vec();
    let body: Vec<Vec<String>> = areas
        .iter()
        .map(|row| {
            let area = match (row.auc.ci_low, row.auc.ci_high) {
                (Some(low), Some(high)) => format!("{:.4} [{low:.4}, {high:.4}]", row.auc.mean),
                _ => format!("{:.4}", row.auc.mean),
            };
            vec![
                row.noise_model.clone(),
                row.setting.label(),
                criterion_name(row.metric).to_string(),
                area,
                format!("{:.4}", row.auc.mean / (row.rate_max - row.rate_min)),
                row.gain
                    .map(|g| signed_with_interval(&g, "seed"))
                    .unwrap_or_else(|| "–".into()),
            ]
        })
        .collect();
    markdown_table(&header, &body)
}

/// How a verdict metric is named in tables.
fn criterion_name(metric: &str) -> &str {
    match metric {
        "test_accuracy" => "last epoch",
        "val_selected_test_accuracy" => "val.-selected epoch",
        "best_test_accuracy" => "best epoch",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estimate(mean: f64, low: f64, high: f64) -> Estimate {
        Estimate {
            n: 5,
            mean,
            std: Some(0.01),
            ci_low: Some(low),
            ci_high: Some(high),
        }
    }

    #[test]
    fn gains_are_signed_and_bold_when_the_interval_excludes_zero() {
        assert_eq!(
            signed_with_interval(&estimate(0.2191, 0.1854, 0.2536), "pair"),
            "**+0.219 [0.185, 0.254]**"
        );
        assert_eq!(
            signed_with_interval(&estimate(-0.01, -0.03, 0.01), "pair"),
            "-0.010 [-0.030, 0.010]"
        );
        assert_eq!(
            signed_with_interval(&estimate(0.011, -0.0004, 0.023), "pair"),
            "+0.011 [0.000, 0.023]"
        );
        assert_eq!(
            signed_with_interval(
                &Estimate {
                    n: 1,
                    mean: 0.0001,
                    std: None,
                    ci_low: None,
                    ci_high: None
                },
                "pair"
            ),
            "0.000 (n/a: 1 pair)"
        );
        // Two pairs, or three equal ones, are never bold, however narrow the interval.
        let two = Estimate {
            n: 2,
            ..estimate(0.005, 0.004, 0.006)
        };
        assert_eq!(signed_with_interval(&two, "pair"), "+0.005 (n/a: 2 pairs)");
        let equal = Estimate {
            n: 3,
            std: Some(0.0),
            ..estimate(0.005, 0.005, 0.005)
        };
        assert_eq!(
            signed_with_interval(&equal, "seed"),
            "+0.005 (n/a: all 3 seeds equal)"
        );
    }

    #[test]
    fn tables_have_a_row_per_entry() {
        let markdown = markdown_table(
            &["a".to_string(), "b".to_string()],
            &[vec!["1".into(), "2".into()]],
        );
        assert_eq!(markdown, "| a | b |\n|---|---|\n| 1 | 2 |\n");
        let plain = plain_table(
            &["rate".to_string(), "ε".to_string()],
            &[vec!["0.2".into(), "0.95".into()]],
        );
        assert_eq!(plain, "rate  ε\n0.2   0.95\n");
    }
}
