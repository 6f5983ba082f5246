//! What the noise axis holds: nominal noise rates; for a `matrix` model, the scale of the
//! matrix's off-diagonal mass; or for noise read from a file its label sets, each placed at the
//! share of training labels it changes. The tables, sentences and charts name each level as what
//! it is.

use crate::rows::RunRow;

/// The noise levels of a result set, told from its runs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NoiseLevels {
    /// The label sets, by the rate their rows carry; empty unless the levels are label sets.
    sets: Vec<(f64, String)>,
    /// Whether the rates scale a given or estimated matrix (`noise_model` `matrix`).
    matrix_scale: bool,
}

impl NoiseLevels {
    /// The levels of `runs`: label sets when they name any (their `label_set` column), matrix
    /// scales when every run's noise model is `matrix`, nominal rates otherwise.
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
        let matrix_scale =
            sets.is_empty() && !runs.is_empty() && runs.iter().all(|r| r.noise_model == "matrix");
        NoiseLevels { sets, matrix_scale }
    }

    /// Whether the levels are label sets.
    pub fn are_label_sets(&self) -> bool {
        !self.sets.is_empty()
    }

    /// Whether the levels scale a transition matrix.
    pub fn are_matrix_scales(&self) -> bool {
        self.matrix_scale
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

    /// The level at `rate` in a sentence, after "at" or "for": `rate 0.2`, `matrix scale 0.5`,
    /// or `the label set worst (which changes 0.421 of the training labels)`.
    pub fn phrase(&self, rate: f64) -> String {
        match self.name(rate) {
            Some(set) => {
                format!("the label set {set} (which changes {rate:.3} of the training labels)")
            }
            None if self.matrix_scale => format!("matrix scale {rate}"),
            None => format!("rate {rate}"),
        }
    }

    /// The level at `rate` in a chart title: `noise rate 0.2`, `matrix scale 1`, `label set
    /// worst`.
    pub fn title(&self, rate: f64) -> String {
        match self.name(rate) {
            Some(set) => format!("label set {set}"),
            None if self.matrix_scale => format!("matrix scale {rate}"),
            None => format!("noise rate {rate}"),
        }
    }

    /// What one level is called: `noise rate`, `matrix scale` or `label set`.
    pub fn noun(&self) -> &'static str {
        if self.are_label_sets() {
            "label set"
        } else if self.matrix_scale {
            "matrix scale"
        } else {
            "noise rate"
        }
    }

    /// The noisiest level, in words: `the highest noise rate`, …
    pub fn highest(&self) -> &'static str {
        if self.are_label_sets() {
            "the label set that changes the most training labels"
        } else if self.matrix_scale {
            "the largest matrix scale"
        } else {
            "the highest noise rate"
        }
    }

    /// The heading of a table's level column: `rate`, `scale` or `label set (changed)`.
    pub fn heading(&self) -> &'static str {
        if self.are_label_sets() {
            "label set (changed)"
        } else if self.matrix_scale {
            "scale"
        } else {
            "rate"
        }
    }

    /// What the noise axis of a chart shows.
    pub fn axis_label(&self) -> &'static str {
        if self.are_label_sets() {
            "share of training labels changed (one point per label set)"
        } else if self.matrix_scale {
            "scale of the matrix's off-diagonal mass (1: as given)"
        } else {
            "nominal noise rate"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(model: &str, rate: f64, set: Option<&str>) -> RunRow {
        RunRow {
            run_id: "r".into(),
            noise_model: model.into(),
            label_set: set.map(String::from),
            ..crate::rows::test_run(rate, 0, 0.0, 0.5)
        }
    }

    #[test]
    fn each_kind_of_level_is_named_as_what_it_is() {
        let rates = NoiseLevels::from_runs(&[run("symmetric", 0.2, None)]);
        assert_eq!(
            (rates.heading(), rates.phrase(0.2), rates.axis_label()),
            ("rate", "rate 0.2".to_string(), "nominal noise rate")
        );
        let scales = NoiseLevels::from_runs(&[run("matrix", 1.0, None)]);
        assert_eq!(
            (scales.heading(), scales.title(1.0), scales.highest()),
            (
                "scale",
                "matrix scale 1".to_string(),
                "the largest matrix scale"
            )
        );
        let sets = NoiseLevels::from_runs(&[
            run("file", 0.42, Some("worst")),
            run("file", 0.05, Some("careful")),
        ]);
        assert_eq!(sets.cell(0.05), "careful (0.050)");
        assert_eq!(
            sets.phrase(0.42),
            "the label set worst (which changes 0.420 of the training labels)"
        );
        assert_eq!(sets.title(0.42), "label set worst");
        assert!(!NoiseLevels::default().are_label_sets());
    }
}
