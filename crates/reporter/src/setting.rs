//! The target setting a run trained with: a loss and its scalar parameters (docs/DEFINITIONS.md,
//! `#losses`). It is the key every aggregate groups by, after the noise level: label smoothing at
//! each ε is one setting, each robust loss with its parameters another, and hard targets
//! (cross-entropy at ε = 0) is the one every other setting is paired with.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::charts::short_number;

/// The loss of a setting, as written in the `loss` column.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum LossName {
    /// Cross-entropy against label-smoothed targets `(1 − ε)·e_y + ε/K`; ε = 0 is hard targets.
    /// The loss of every table written before other losses existed.
    #[default]
    Ce,
    /// Cross-entropy with the other smoothing convention: `1 − ε` on the label, `ε/(K − 1)` on
    /// each other class.
    CeOffClasses,
    /// Soft bootstrapping (Reed et al. 2015).
    BootstrapSoft,
    /// Hard bootstrapping (Reed et al. 2015).
    BootstrapHard,
    /// Generalised cross-entropy (Zhang & Sabuncu 2018).
    Gce,
    /// Symmetric cross-entropy (Wang et al. 2019).
    Sce,
    /// Focal loss (Lin et al. 2017).
    Focal,
    /// Forward correction with the noise's transition matrix (Patrini et al. 2017).
    Forward,
}

impl LossName {
    /// Every loss, in the order settings are listed (label smoothing first).
    pub const ALL: [LossName; 8] = [
        LossName::Ce,
        LossName::CeOffClasses,
        LossName::BootstrapSoft,
        LossName::BootstrapHard,
        LossName::Gce,
        LossName::Sce,
        LossName::Focal,
        LossName::Forward,
    ];

    /// The column value: `ce`, `ce-off-classes`, `bootstrap-soft`, `bootstrap-hard`, `gce`,
    /// `sce`, `focal` or `forward`.
    pub fn as_str(self) -> &'static str {
        match self {
            LossName::Ce => "ce",
            LossName::CeOffClasses => "ce-off-classes",
            LossName::BootstrapSoft => "bootstrap-soft",
            LossName::BootstrapHard => "bootstrap-hard",
            LossName::Gce => "gce",
            LossName::Sce => "sce",
            LossName::Focal => "focal",
            LossName::Forward => "forward",
        }
    }

    /// The loss named `name` (a column value), if there is one.
    pub fn parse(name: &str) -> Option<LossName> {
        LossName::ALL.into_iter().find(|loss| loss.as_str() == name)
    }

    /// The parameter columns ([`PARAMETER_COLUMNS`]) the loss fills, in column order; the
    /// others are empty for it.
    pub fn parameter_columns(self) -> &'static [&'static str] {
        match self {
            LossName::Ce | LossName::CeOffClasses => &["epsilon"],
            LossName::BootstrapSoft | LossName::BootstrapHard => &["beta"],
            LossName::Gce => &["q"],
            LossName::Sce => &["alpha", "beta", "log_zero"],
            LossName::Focal => &["gamma"],
            LossName::Forward => &[],
        }
    }

    /// Whether the loss is cross-entropy against label-smoothed targets, in either convention.
    pub fn is_smoothing(self) -> bool {
        matches!(self, LossName::Ce | LossName::CeOffClasses)
    }
}

impl fmt::Display for LossName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The parameter columns a setting fills, in column order. Each is empty where its loss does not
/// have it; a name means the same within one loss only (`beta` of `sce` is not `beta` of a
/// bootstrap).
pub const PARAMETER_COLUMNS: [&str; 6] = ["epsilon", "alpha", "beta", "q", "gamma", "log_zero"];

/// A parameter column, whether a value is allowed in it, and the allowed range as text.
type ParameterRange = (&'static str, fn(f64) -> bool, &'static str);

/// The most negative ε a sweep accepts (the trainer's bound for negative smoothing).
const MIN_EPSILON: f64 = -8.0;

/// A loss and its scalar parameters: one value of the grid's target axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Setting {
    /// The loss.
    pub loss: LossName,
    /// The values of [`PARAMETER_COLUMNS`], `None` where the loss does not have the parameter.
    pub parameters: [Option<f64>; 6],
}

impl Setting {
    /// Hard targets: cross-entropy at ε = 0, the setting every other one is paired with.
    pub const HARD: Setting = Setting::smoothing(0.0);

    /// Label smoothing `epsilon` in the default convention (ε = 0 is [`Setting::HARD`]).
    pub const fn smoothing(epsilon: f64) -> Setting {
        Setting {
            loss: LossName::Ce,
            parameters: [Some(epsilon), None, None, None, None, None],
        }
    }

    /// The setting of `loss` with the named parameters (names of [`PARAMETER_COLUMNS`]), or why
    /// not: a name that is not a column.
    pub fn new(loss: LossName, parameters: &[(&str, f64)]) -> Result<Setting, String> {
        let mut values = [None; 6];
        for &(name, value) in parameters {
            let index = PARAMETER_COLUMNS
                .iter()
                .position(|column| *column == name)
                .ok_or_else(|| format!("`{name}` is not a parameter column"))?;
            values[index] = Some(value);
        }
        Ok(Setting {
            loss,
            parameters: values,
        })
    }

    /// Why a row with this setting cannot have been written by a sweep, if it cannot: a
    /// parameter column filled that the loss does not have, or one of its own left empty, or an
    /// ε outside [−8, 1].
    pub fn check(&self) -> Result<(), String> {
        let own = self.loss.parameter_columns();
        for (column, value) in PARAMETER_COLUMNS.iter().zip(&self.parameters) {
            match (own.contains(column), value) {
                (true, None) => {
                    return Err(format!(
                        "column `{column}` is empty, but loss `{}` has that parameter",
                        self.loss
                    ));
                }
                (false, Some(value)) => {
                    return Err(format!(
                        "column `{column}` holds {value}, but loss `{}` has no such parameter \
                         (it has {})",
                        self.loss,
                        if own.is_empty() {
                            "none".to_string()
                        } else {
                            own.join(", ")
                        }
                    ));
                }
                _ => {}
            }
        }
        if let Some(epsilon) = self.epsilon()
            && !(MIN_EPSILON..=1.0).contains(&epsilon)
        {
            return Err(format!(
                "column `epsilon`: {epsilon} is outside [{MIN_EPSILON}, 1], the label-smoothing \
                 values a sweep can run"
            ));
        }
        // The ranges a sweep accepts for the other parameters (docs/DEFINITIONS.md#losses).
        let ranges: &[ParameterRange] = match self.loss {
            LossName::BootstrapSoft | LossName::BootstrapHard => {
                &[("beta", |v| (0.0..=1.0).contains(&v), "[0, 1]")]
            }
            LossName::Gce => &[("q", |v| v > 0.0 && v <= 1.0, "(0, 1]")],
            LossName::Sce => &[
                ("alpha", |v| v >= 0.0, "[0, ∞)"),
                ("beta", |v| v >= 0.0, "[0, ∞)"),
                ("log_zero", |v| v < 0.0, "(−∞, 0)"),
            ],
            LossName::Focal => &[("gamma", |v| v >= 0.0, "[0, ∞)")],
            _ => &[],
        };
        for (column, allowed, range) in ranges {
            if let Some(value) = self.parameter(column)
                && !(value.is_finite() && allowed(value))
            {
                return Err(format!(
                    "column `{column}`: {value} is outside {range}, the values a sweep runs `{}` \
                     with",
                    self.loss
                ));
            }
        }
        Ok(())
    }

    /// The value of the parameter column `name`, if the setting has it.
    pub fn parameter(&self, name: &str) -> Option<f64> {
        let index = PARAMETER_COLUMNS.iter().position(|c| *c == name)?;
        self.parameters[index]
    }

    /// ε of a label-smoothing setting (`ce`, `ce-off-classes`); `None` for the other losses.
    pub fn epsilon(&self) -> Option<f64> {
        self.loss
            .is_smoothing()
            .then(|| self.parameters[0])
            .flatten()
    }

    /// Whether this is hard targets: cross-entropy at ε = 0 (the other convention agrees there,
    /// and a grid gives it as `ce` only).
    pub fn is_hard(&self) -> bool {
        self.loss == LossName::Ce && self.parameters[0] == Some(0.0)
    }

    /// Whether this is label smoothing with ε ≠ 0, positive or negative, in either convention.
    pub fn is_smoothing(&self) -> bool {
        self.epsilon().is_some() && !self.is_hard()
    }

    /// Whether this is one of the losses built for label noise (neither label smoothing nor hard
    /// targets).
    pub fn is_robust(&self) -> bool {
        !self.loss.is_smoothing()
    }

    /// The order settings are listed in: label smoothing first (by ε, negative values first),
    /// then its other convention, then each robust loss in the order of [`LossName::ALL`], each
    /// by its parameters in column order.
    pub fn order(&self, other: &Setting) -> Ordering {
        self.loss.cmp(&other.loss).then_with(|| {
            self.parameters
                .iter()
                .zip(&other.parameters)
                .map(|(a, b)| match (a, b) {
                    (Some(a), Some(b)) => a.total_cmp(b),
                    (a, b) => a.is_some().cmp(&b.is_some()),
                })
                .find(|ordering| ordering.is_ne())
                .unwrap_or(Ordering::Equal)
        })
    }

    /// The setting's name in legends, tables and sentences: `ε = 0 (hard targets)`, `ε = 0.1`,
    /// `ε = 0.1 (off-classes)`, `gce q = 0.7`, `sce α = 0.1, β = 1, A = −4`, `forward (known T)`.
    pub fn label(&self) -> String {
        if self.is_hard() {
            return "ε = 0 (hard targets)".to_string();
        }
        let symbols = ["ε", "α", "β", "q", "γ", "A"];
        let values: Vec<String> = self
            .parameters
            .iter()
            .zip(symbols)
            .filter_map(|(value, symbol)| {
                value.map(|v| format!("{symbol} = {}", parameter_text(v)))
            })
            .collect();
        match self.loss {
            LossName::Ce => values.join(", "),
            LossName::CeOffClasses => format!("{} (off-classes)", values.join(", ")),
            LossName::Forward if values.is_empty() => "forward (known T)".to_string(),
            loss if values.is_empty() => loss.to_string(),
            loss => format!("{loss} {}", values.join(", ")),
        }
    }

    /// The setting's style in charts: hard targets, or its rank within its family (label
    /// smoothing, or the robust losses) among the distinct settings of `all`, so that one grid
    /// gives every setting the same colour in every chart.
    pub fn style(&self, all: &[Setting]) -> SettingStyle {
        if self.is_hard() {
            return SettingStyle::Hard;
        }
        let mut family: Vec<Setting> = Vec::new();
        for setting in all {
            if !setting.is_hard()
                && setting.is_robust() == self.is_robust()
                && !family.contains(setting)
            {
                family.push(*setting);
            }
        }
        family.sort_by(Setting::order);
        let rank = family.iter().position(|s| s == self).unwrap_or(0);
        if self.is_robust() {
            SettingStyle::Robust(rank)
        } else {
            SettingStyle::Smoothing(rank)
        }
    }

    /// The loss column's value and the parameter columns' cells (six decimals, empty where the
    /// loss has no such parameter), in column order.
    pub fn cells(&self) -> Vec<String> {
        let mut cells = vec![self.loss.to_string()];
        cells.extend(
            self.parameters
                .iter()
                .map(|value| crate::csv_out::format_optional(*value)),
        );
        cells
    }

    /// The `loss` column and the [`PARAMETER_COLUMNS`], as header names.
    pub fn header() -> Vec<String> {
        std::iter::once("loss")
            .chain(PARAMETER_COLUMNS)
            .map(String::from)
            .collect()
    }
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// A parameter value in a label: as [`short_number`] writes it, or in scientific notation when
/// that would hide it (a non-zero value below 10⁻⁴, which it rounds to 0) or spell it out in
/// hundreds of digits (10⁶ and above).
fn parameter_text(value: f64) -> String {
    if value != 0.0 && value.is_finite() && !(1e-4..1e6).contains(&value.abs()) {
        format!("{value:e}").replace('-', "−")
    } else {
        short_number(value)
    }
}

/// How a setting is drawn: hard targets black and dashed with square markers; label smoothing in
/// the first palette with round markers; the robust losses in a second palette with triangles.
/// The number is the setting's rank within its family ([`Setting::style`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingStyle {
    /// Hard targets (ε = 0).
    Hard,
    /// Label smoothing with ε ≠ 0, by rank of its setting.
    Smoothing(usize),
    /// A robust loss, by rank of its setting.
    Robust(usize),
}

impl SettingStyle {
    /// Whether this is hard targets.
    pub fn is_hard(self) -> bool {
        self == SettingStyle::Hard
    }
}

/// The distinct settings of `settings`, in [`Setting::order`].
pub fn sorted_settings(settings: impl IntoIterator<Item = Setting>) -> Vec<Setting> {
    let mut unique: Vec<Setting> = Vec::new();
    for setting in settings {
        if !unique.contains(&setting) {
            unique.push(setting);
        }
    }
    unique.sort_by(Setting::order);
    unique
}

/// Row types that carry a setting in their `loss` and parameter columns.
pub trait HasSetting {
    /// The row's setting.
    fn setting(&self) -> Setting;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_ordered_smoothing_first_and_labelled_by_their_parameters() {
        let gce = Setting::new(LossName::Gce, &[("q", 0.7)]).unwrap();
        let sce = Setting::new(
            LossName::Sce,
            &[("alpha", 0.1), ("beta", 1.0), ("log_zero", -4.0)],
        )
        .unwrap();
        let off = Setting::new(LossName::CeOffClasses, &[("epsilon", 0.1)]).unwrap();
        let forward = Setting::new(LossName::Forward, &[]).unwrap();
        let sorted = sorted_settings([
            forward,
            gce,
            Setting::smoothing(0.1),
            sce,
            off,
            Setting::HARD,
            Setting::smoothing(-0.8),
            gce,
        ]);
        let labels: Vec<String> = sorted.iter().map(Setting::label).collect();
        assert_eq!(
            labels,
            [
                "ε = −0.8",
                "ε = 0 (hard targets)",
                "ε = 0.1",
                "ε = 0.1 (off-classes)",
                "gce q = 0.7",
                "sce α = 0.1, β = 1, A = −4",
                "forward (known T)",
            ]
        );
        assert!(Setting::HARD.is_hard() && !Setting::HARD.is_smoothing());
        assert!(off.is_smoothing() && !off.is_robust() && gce.is_robust());
        assert_eq!(gce.epsilon(), None);
        assert_eq!(sce.parameter("beta"), Some(1.0));
        assert!(Setting::new(LossName::Gce, &[("p", 1.0)]).is_err());
        // Each family is ranked on its own, so adding a robust loss keeps the ε colours.
        assert_eq!(Setting::HARD.style(&sorted), SettingStyle::Hard);
        assert_eq!(
            Setting::smoothing(0.1).style(&sorted),
            SettingStyle::Smoothing(1)
        );
        assert_eq!(gce.style(&sorted), SettingStyle::Robust(0));
        assert_eq!(forward.style(&sorted), SettingStyle::Robust(2));
        assert_eq!(
            gce.cells(),
            ["gce", "", "", "", "0.700000", "", ""].map(String::from)
        );
        assert_eq!(Setting::header().len(), gce.cells().len());
        // Parameters that short numbers would hide or spell out in full stay readable.
        let tiny = Setting::new(LossName::Focal, &[("gamma", 1e-300)]).unwrap();
        assert_eq!(tiny.label(), "focal γ = 1e−300");
        let huge = Setting::new(
            LossName::Sce,
            &[("alpha", 1e30), ("beta", 1.0), ("log_zero", -4.0)],
        );
        assert_eq!(huge.unwrap().label(), "sce α = 1e30, β = 1, A = −4");
        for loss in LossName::ALL {
            assert_eq!(LossName::parse(loss.as_str()), Some(loss));
        }
    }
}
