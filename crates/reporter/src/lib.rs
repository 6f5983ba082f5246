//! Result rows, their CSV form, statistics over seeds, and charts.
//!
//! `reporter` knows nothing of training: `sweep` turns outcomes into [`RunRow`]s and [`EpochRow`]s,
//! and this crate writes them (to any `io::Write`), aggregates them into [`SummaryRow`]s and draws
//! [`Chart`]s (lines, gain heatmaps, transition matrices, reliability diagrams, projections) with
//! an embedded font.

mod charts;
mod csv_in;
mod csv_out;
mod figures;
mod levels;
mod page;
mod paired;
mod rows;
mod setting;
mod stats;
mod summary;
mod tables;
mod verdict;

pub use charts::{
    Chart, ChartPoint, ChartSeries, GainHeatmap, HeatmapCell, LineChart, LinePanel,
    ProjectionChart, ProjectionPanel, ProjectionPoint, ReliabilityBin, ReliabilityChart,
    ReliabilityPanel, TransitionChart, accuracy_vs_noise_chart, auto_y_range,
    metric_vs_noise_series, series_colour, setting_colour, short_number,
};
pub use csv_in::{check_epochs, check_runs, read_csv, read_csv_lines};
pub use csv_out::{CsvRow, format_float, write_csv};
pub use figures::{
    curves_chart, gain_heatmap, noise_matrix_charts, penultimate_chart, reliability_chart,
};
pub use levels::NoiseLevels;
pub use page::{PageChart, ReportContext, ReportPage, headline, report_markdown, robust_answer};
pub use paired::{PairedRow, paired_differences};
pub use rows::{CalibrationRow, EpochRow, ProjectionRow, RunRow, RunStatusLabel, TransitionRow};
pub use setting::{
    HasSetting, LossName, PARAMETER_COLUMNS, Setting, SettingStyle, sorted_settings,
};
pub use stats::{
    BOOTSTRAP_MIN_SAMPLES, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, Estimate, MIN_SAMPLES_FOR_INTERVAL,
    NoInterval, bootstrap_interval, estimate, student_t_975, trapezoid_area,
};
pub use summary::{SUMMARY_METRICS, SummaryMetric, SummaryRow, paired_metrics, summarise};
pub use tables::{
    accuracy_table, auc_table, best_epsilon_table, best_loss_table, counted, paired_gain_table,
};
pub use verdict::{
    AucRow, BestEpsilonRow, BestLossRow, VERDICT_METRICS, areas_under_curves, best_epsilons,
    best_losses,
};

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Writing CSV failed.
    #[error("writing CSV: {0}")]
    Csv(#[from] csv::Error),
    /// Writing a file failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// An input file (such as `runs.csv`) does not hold what it should.
    #[error("{file}:{line}: {message}")]
    Input {
        /// The file, as named by the caller.
        file: String,
        /// 1-based line number (1 is the header).
        line: u64,
        /// What is wrong and what was expected.
        message: String,
    },
    /// Drawing a chart failed.
    #[error("drawing chart: {0}")]
    Chart(String),
}
