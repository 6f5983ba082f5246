//! Result rows, their CSV form, statistics over seeds, and charts.
//!
//! `reporter` knows nothing of training: `sweep` turns outcomes into [`RunRow`]s and [`EpochRow`]s,
//! and this crate writes them (to any `io::Write`), aggregates them into [`SummaryRow`]s and draws
//! the accuracy-versus-noise chart with an embedded font.

mod chart;
mod csv_out;
mod paired;
mod rows;
mod stats;
mod summary;

pub use chart::{
    AccuracyChart, ChartPoint, ChartSeries, accuracy_vs_noise_chart, render_accuracy_vs_noise_svg,
    series_colour, write_accuracy_vs_noise_png, write_accuracy_vs_noise_svg,
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
