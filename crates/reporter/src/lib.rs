//! Result rows, their CSV form, statistics over seeds, and charts.
//!
//! `reporter` knows nothing of training: `sweep` turns outcomes into [`RunRow`]s and [`EpochRow`]s,
//! and this crate writes them (to any `io::Write`), aggregates them into [`SummaryRow`]s and draws
//! [`Chart`]s (lines, gain heatmaps, reliability diagrams, projections) with an embedded font.

mod charts;
mod csv_out;
mod paired;
mod rows;
mod stats;
mod summary;

pub use charts::{
    Chart, ChartPoint, ChartSeries, GainHeatmap, HeatmapCell, LineChart, LinePanel,
    ProjectionChart, ProjectionPanel, ProjectionPoint, ReliabilityBin, ReliabilityChart,
    ReliabilityPanel, accuracy_vs_noise_chart, auto_y_range, epsilon_colour, epsilon_label,
    epsilon_rank, metric_vs_noise_series, series_colour,
};
pub use csv_out::{CsvRow, format_float, write_csv};
pub use paired::{PairedRow, paired_differences};
pub use rows::{EpochRow, RunRow, RunStatusLabel};
pub use stats::{Estimate, estimate, student_t_975};
pub use summary::{SUMMARY_METRICS, SummaryMetric, SummaryRow, paired_metrics, summarise};

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Writing CSV failed.
    #[error("writing CSV: {0}")]
    Csv(#[from] csv::Error),
    /// Writing a file failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Drawing a chart failed.
    #[error("drawing chart: {0}")]
    Chart(String),
}
