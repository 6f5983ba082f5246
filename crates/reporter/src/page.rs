//! `report.md`: one Markdown page with the question, the settings, the answer, the tables and
//! every chart, readable as is on a code-hosting site.

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::paired::PairedRow;
use crate::summary::SummaryRow;
use crate::tables::{accuracy_table, auc_table, best_epsilon_table, paired_gain_table};
use crate::verdict::{AucRow, BestEpsilonRow};

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
    /// `summary.csv` rows.
    pub summary: &'a [SummaryRow],
    /// `paired.csv` rows.
    pub paired: &'a [PairedRow],
    /// `best_epsilon.csv` rows.
    pub best: &'a [BestEpsilonRow],
    /// `auc.csv` rows.
    pub areas: &'a [AucRow],
    /// Charts, the main one first.
    pub charts: &'a [PageChart],
    /// Runs in the results, and how many of them finished.
    pub n_runs: (usize, usize),
}

/// The answer in a sentence or two: the best ε at the highest noise rate by last-epoch accuracy,
/// with its paired gain over hard targets.
pub fn headline(best: &[BestEpsilonRow]) -> Option<String> {
    let last_epoch: Vec<&BestEpsilonRow> = best
        .iter()
        .filter(|row| row.criterion == "test_accuracy")
        .collect();
    let highest = last_epoch
        .iter()
        .copied()
        .max_by(|a, b| a.noise_rate.total_cmp(&b.noise_rate))?;
    let rate = highest.noise_rate;
    let mut text = match (highest.gain, highest.hard_mean) {
        (Some(gain), Some(hard)) if highest.best_epsilon > 0.0 => {
            let interval = match (gain.ci_low, gain.ci_high) {
                (Some(low), Some(high)) => {
                    let verdict = if low > 0.0 {
                        "an interval that excludes 0"
                    } else {
                        "an interval that includes 0, so this could be chance"
                    };
                    format!(" [{low:.3}, {high:.3}] ({verdict})")
                }
                _ => String::new(),
            };
            format!(
                "At the highest noise rate run ({rate}), label smoothing with ε = {} reaches a \
                 last-epoch clean test accuracy of {:.3} against {hard:.3} with hard targets: a \
                 paired gain of {:+.3}{interval} over {} seed{}.",
                highest.best_epsilon,
                highest.best_mean,
                gain.mean,
                gain.n,
                if gain.n == 1 { "" } else { "s" }
            )
        }
        _ => format!(
            "At the highest noise rate run ({rate}), no ε > 0 beats hard targets on average \
             (last-epoch clean test accuracy {:.3}).",
            highest.best_mean
        ),
    };
    if let Some(lowest) = last_epoch
        .iter()
        .copied()
        .min_by(|a, b| a.noise_rate.total_cmp(&b.noise_rate))
        .filter(|row| row.noise_rate < rate)
    {
        let _ = write!(
            text,
            " At rate {}, the best ε is {} ({:.3}{}).",
            lowest.noise_rate,
            lowest.best_epsilon,
            lowest.best_mean,
            lowest
                .hard_mean
                .map(|hard| format!(" against {hard:.3} with hard targets"))
                .unwrap_or_default()
        );
    }
    Some(text)
}

/// The Markdown text of `report.md`.
pub fn report_markdown(page: &ReportPage<'_>) -> String {
    let mut out = String::new();
    let context = page.context;
    let _ = writeln!(out, "# {}\n", context.name);
    let _ = writeln!(out, "**Question.** {}\n", context.question);
    if let Some(answer) = headline(page.best) {
        let _ = writeln!(out, "**Answer.** {answer}\n");
    }
    let (n_runs, n_finished) = page.n_runs;
    let _ = writeln!(
        out,
        "{n_runs} runs, {n_finished} finished. Every interval is a 95% Student-t interval over \
         seeds; gains are paired: each seed's run with ε > 0 minus its run with ε = 0 (same noisy \
         labels, initial weights and batches). Bold gains have an interval that excludes 0.\n"
    );
    if let Some(main) = page.charts.first() {
        let _ = writeln!(out, "![{}]({})\n", main.heading, main.file);
        let _ = writeln!(out, "{}\n", main.caption);
    }
    let _ = writeln!(
        out,
        "## Clean test accuracy\n\nLast epoch, mean ± half-width of the 95% interval.\n"
    );
    let _ = writeln!(out, "{}", accuracy_table(page.summary, true));
    let _ = writeln!(
        out,
        "## Paired gain over hard targets\n\nε > 0 minus ε = 0, per seed; mean [95% interval]. \
         Higher is better for accuracy; lower is better for ECE and memorised share. `paired.csv` \
         has NLL and, with 10 or more seeds, bootstrap intervals.\n"
    );
    let _ = writeln!(out, "{}", paired_gain_table(page.paired));
    let _ = writeln!(
        out,
        "## Best ε per noise rate\n\nThe ε with the highest mean accuracy (the smaller ε on a \
         tie), after the last epoch and at the epoch the noisy validation split selects.\n"
    );
    let _ = writeln!(out, "{}", best_epsilon_table(page.best));
    if !page.areas.is_empty() {
        let _ = writeln!(
            out,
            "## Area under the accuracy-versus-noise curve\n\nTrapezoid rule over the noise rates \
             run, per seed; divided by the width of the rate range it is the mean accuracy over \
             that range.\n"
        );
        let _ = writeln!(out, "{}", auc_table(page.areas));
    }
    for chart in page.charts.iter().skip(1) {
        let _ = writeln!(out, "## {}\n", chart.heading);
        let _ = writeln!(out, "![{}]({})\n", chart.heading, chart.file);
        let _ = writeln!(out, "{}\n", chart.caption);
    }
    if !context.settings.is_empty() {
        let _ = writeln!(out, "## Settings\n\n| key | value |\n|---|---|");
        for (key, value) in &context.settings {
            let _ = writeln!(out, "| `{key}` | {} |", value.replace('|', "\\|"));
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "## Files\n\n`runs.csv` (one row per run), `epochs.csv` (per run and epoch), \
         `calibration.csv` (test confidence bins per run), `penultimate.csv` (template-plane \
         projections), `summary.csv` (per noise rate and ε over seeds), `paired.csv` (paired \
         gains), `best_epsilon.csv`, `auc.csv`; every column is described in the project's \
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
            best_epsilon: epsilon,
            best_mean: mean,
            hard_mean: Some(0.505),
            gain: gain.map(|(mean, low, high)| Estimate {
                n: 5,
                mean,
                std: Some(0.03),
                ci_low: Some(low),
                ci_high: Some(high),
            }),
        }
    }

    #[test]
    fn the_headline_reads_the_highest_rate() {
        let rows = [
            best(0.0, 0.1, 0.9855, Some((0.008, 0.002, 0.014))),
            best(0.6, 0.6, 0.7248, Some((0.2195, 0.185, 0.254))),
        ];
        let text = headline(&rows).unwrap();
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
        let none = headline(&[best(0.4, 0.0, 0.7, None)]).unwrap();
        assert!(none.contains("no ε > 0 beats hard targets"), "{none}");
        assert_eq!(headline(&[]), None);
    }

    #[test]
    fn the_page_embeds_every_chart_by_relative_path() {
        let context = ReportContext {
            name: "noise".into(),
            title: "symmetric noise on digits".into(),
            question: "Does ε help?".into(),
            settings: vec![("training.epochs".into(), "30".into())],
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
            summary: &[],
            paired: &[],
            best: &[],
            areas: &[],
            charts: &charts,
            n_runs: (4, 3),
        });
        assert!(page.starts_with("# noise\n\n**Question.** Does ε help?\n"));
        assert!(page.contains("![Accuracy versus noise](accuracy_vs_noise.png)"));
        assert!(page.contains("## Gain\n\n![Gain](gain_heatmap.png)\n\nCells."));
        assert!(page.contains("| `training.epochs` | 30 |"));
        assert!(page.contains("4 runs, 3 finished."));
    }
}
