//! What the noise axis holds: nominal noise rates, or for noise read from a file its label sets,
//! each placed at the share of training labels it changes. The tables, sentences and charts name
//! a label set wherever they would give a rate.

use crate::rows::RunRow;

/// The label sets of a result set, by the rate its rows carry; empty when the noise levels are
/// nominal rates.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NoiseLevels {
    sets: Vec<(f64, String)>,
}

impl NoiseLevels {
    /// The label sets named in `runs` (their `label_set` column), with the rate of their rows.
    pub fn from_runs(runs: &[RunRow]) -> NoiseLevels {
        let mut sets: Vec<(f64, String)> = Vec::new();
        for run in runs {
            if let Some(set) = &run.label_set
                && !sets.iter().any(|(_, s)| s == set)
            {
                sets.push((run.noise_rate, set.clone()));
            }
        }
        sets.sort_by(|a, b| a.0.total_cmp(&b.0));
        NoiseLevels { sets }
    }

    /// Whether the levels are label sets.
    pub fn are_label_sets(&self) -> bool {
        !self.sets.is_empty()
    }

    /// The label set at `rate`, if the levels are label sets.
    pub fn name(&self, rate: f64) -> Option<&str> {
        self.sets
            .iter()
            .find(|(r, _)| *r == rate)
            .map(|(_, set)| set.as_str())
    }

    /// The level at `rate` as a table cell: `0.2`, or `careful (0.050)`.
    pub fn cell(&self, rate: f64) -> String {
        match self.name(rate) {
            Some(set) => format!("{set} ({rate:.3})"),
            None => format!("{rate}"),
        }
    }

    /// The level at `rate` in a sentence, after "at" or "for": `rate 0.2`, or `the label set
    /// worst (which changes 0.421 of the training labels)`.
    pub fn phrase(&self, rate: f64) -> String {
        match self.name(rate) {
            Some(set) => {
                format!("the label set {set} (which changes {rate:.3} of the training labels)")
            }
            None => format!("rate {rate}"),
        }
    }

    /// The heading of a table's level column: `rate`, or `label set (changed)`.
    pub fn heading(&self) -> &'static str {
        if self.are_label_sets() {
            "label set (changed)"
        } else {
            "rate"
        }
    }

    /// What the noise axis of a chart shows.
    pub fn axis_label(&self) -> &'static str {
        if self.are_label_sets() {
            "share of training labels changed (one point per label set)"
        } else {
            "nominal noise rate"
        }
    }
}
