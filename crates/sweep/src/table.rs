//! The accuracy table printed at the end of a sweep and written to `summary.md`.

use std::fmt::Write;

use reporter::SummaryRow;

/// Clean test accuracy (last epoch) per noise rate × ε, as `mean ± half-width of the 95% CI`.
/// With `markdown`, a Markdown table; otherwise aligned plain text.
pub fn accuracy_table(summary: &[SummaryRow], markdown: bool) -> String {
    let mut epsilons: Vec<f64> = summary.iter().map(|r| r.epsilon).collect();
    epsilons.sort_by(f64::total_cmp);
    epsilons.dedup();
    let mut rates: Vec<(String, f64)> = summary
        .iter()
        .map(|r| (r.noise_model.clone(), r.noise_rate))
        .collect();
    rates.dedup();

    let mut header = vec!["noise model".to_string(), "rate".to_string()];
    header.extend(epsilons.iter().map(|e| format!("ε = {e}")));
    let mut body = Vec::new();
    for (model, rate) in &rates {
        let mut line = vec![model.clone(), format!("{rate}")];
        for &epsilon in &epsilons {
            let cell = summary
                .iter()
                .find(|r| &r.noise_model == model && r.noise_rate == *rate && r.epsilon == epsilon)
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

    let mut out = String::new();
    if markdown {
        let _ = writeln!(out, "| {} |", header.join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
        for line in &body {
            let _ = writeln!(out, "| {} |", line.join(" | "));
        }
    } else {
        let widths: Vec<usize> = (0..header.len())
            .map(|c| {
                std::iter::once(&header)
                    .chain(&body)
                    .map(|line| line[c].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for line in std::iter::once(&header).chain(&body) {
            let cells: Vec<String> = line
                .iter()
                .zip(&widths)
                .map(|(cell, &width)| format!("{cell}{}", " ".repeat(width - cell.chars().count())))
                .collect();
            let _ = writeln!(out, "{}", cells.join("  ").trim_end());
        }
    }
    out
}
