//! The accuracy-versus-noise chart, drawn with plotters and an embedded font.

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::ReportError;
use crate::summary::SummaryRow;

/// DejaVu Sans, subset (ASCII, Greek, ±, ×, −); licence in `assets/DejaVu-LICENSE`.
const FONT: &[u8] = include_bytes!("../assets/DejaVuSans-subset.ttf");
const FAMILY: &str = "sans-serif";
/// Chart size in pixels.
const SIZE: (u32, u32) = (900, 600);
/// Colours of ε > 0 series, by the rank of ε among the positive values (tab10 without grey).
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// One point of a series: a mean with an optional interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChartPoint {
    /// Horizontal position (the noise rate).
    pub x: f64,
    /// Mean over seeds.
    pub y: f64,
    /// Lower end of the 95% interval, if known.
    pub low: Option<f64>,
    /// Upper end of the 95% interval, if known.
    pub high: Option<f64>,
}

/// One line of the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSeries {
    /// Legend text.
    pub label: String,
    /// Hard targets (ε = 0): drawn black, thick and dashed, with square markers.
    pub hard: bool,
    /// Colour index for soft targets (rank of ε among the positive values); ignored when `hard`.
    pub colour_index: usize,
    /// Points in increasing x.
    pub points: Vec<ChartPoint>,
}

/// A line chart with confidence bands.
#[derive(Debug, Clone, PartialEq)]
pub struct AccuracyChart {
    /// Caption above the plot.
    pub title: String,
    /// Horizontal axis title.
    pub x_label: String,
    /// Vertical axis title.
    pub y_label: String,
    /// The lines.
    pub series: Vec<ChartSeries>,
}

/// Registers the embedded font under the family name the charts use, once per process.
fn register_embedded_font() -> Result<(), ReportError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(ReportError::Chart(
            "the embedded font could not be parsed".into(),
        ))
    }
}

/// The colour of a series: black for hard targets, else the palette entry.
pub fn series_colour(series: &ChartSeries) -> RGBColor {
    if series.hard {
        BLACK
    } else {
        PALETTE[series.colour_index % PALETTE.len()]
    }
}

/// Draws `chart` into a PNG file at `path` (900 × 600 pixels).
pub fn write_accuracy_vs_noise_png(path: &Path, chart: &AccuracyChart) -> Result<(), ReportError> {
    register_embedded_font()?;
    let root = BitMapBackend::new(path, SIZE).into_drawing_area();
    draw(&root, chart)?;
    root.present()
        .map_err(|e| ReportError::Chart(e.to_string()))
}

/// Draws `chart` as an SVG document.
pub fn render_accuracy_vs_noise_svg(chart: &AccuracyChart) -> Result<String, ReportError> {
    register_embedded_font()?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        draw(&root, chart)?;
        root.present()
            .map_err(|e| ReportError::Chart(e.to_string()))?;
    }
    Ok(svg)
}

/// Draws `chart` into an SVG file at `path`.
pub fn write_accuracy_vs_noise_svg(path: &Path, chart: &AccuracyChart) -> Result<(), ReportError> {
    std::fs::write(path, render_accuracy_vs_noise_svg(chart)?)?;
    Ok(())
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &AccuracyChart,
) -> Result<(), ReportError> {
    let error = |e: DrawingAreaErrorKind<DB::ErrorType>| ReportError::Chart(e.to_string());
    root.fill(&WHITE).map_err(error)?;
    let points = || chart.series.iter().flat_map(|s| s.points.iter());
    let x_min = points().map(|p| p.x).fold(f64::INFINITY, f64::min);
    let x_max = points().map(|p| p.x).fold(f64::NEG_INFINITY, f64::max);
    let y_min = points()
        .map(|p| p.low.unwrap_or(p.y))
        .fold(f64::INFINITY, f64::min);
    let y_max = points()
        .map(|p| p.high.unwrap_or(p.y))
        .fold(f64::NEG_INFINITY, f64::max);
    let (x_min, x_max) = if x_min.is_finite() {
        (x_min, x_max)
    } else {
        (0.0, 1.0)
    };
    let (y_min, y_max) = if y_min.is_finite() {
        (y_min, y_max)
    } else {
        (0.0, 1.0)
    };
    let x_pad = ((x_max - x_min) * 0.03).max(0.01);
    let y_pad = ((y_max - y_min) * 0.05).max(0.01);
    let mut context = ChartBuilder::on(root)
        .caption(&chart.title, (FAMILY, 24))
        .margin(20)
        .x_label_area_size(55)
        .y_label_area_size(70)
        .build_cartesian_2d(
            (x_min - x_pad)..(x_max + x_pad),
            (y_min - y_pad).max(0.0)..(y_max + y_pad).min(1.0),
        )
        .map_err(error)?;
    context
        .configure_mesh()
        .x_desc(&chart.x_label)
        .y_desc(&chart.y_label)
        .axis_desc_style((FAMILY, 18))
        .label_style((FAMILY, 15))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(error)?;

    // Bands first, so every line is drawn over every band.
    for series in &chart.series {
        let colour = series_colour(series);
        let upper = series
            .points
            .iter()
            .filter_map(|p| p.high.map(|h| (p.x, h)));
        let lower = series
            .points
            .iter()
            .rev()
            .filter_map(|p| p.low.map(|l| (p.x, l)));
        let outline: Vec<(f64, f64)> = upper.chain(lower).collect();
        if outline.len() >= 3 {
            let opacity = if series.hard { 0.12 } else { 0.18 };
            context
                .draw_series(std::iter::once(Polygon::new(
                    outline,
                    colour.mix(opacity).filled(),
                )))
                .map_err(error)?;
        }
    }
    for series in &chart.series {
        let colour = series_colour(series);
        let line: Vec<(f64, f64)> = series.points.iter().map(|p| (p.x, p.y)).collect();
        let width = if series.hard { 3 } else { 2 };
        let style = colour.stroke_width(width);
        let legend_style = style;
        let drawn = if series.hard {
            context.draw_series(DashedLineSeries::new(line.clone(), 12, 6, style))
        } else {
            context.draw_series(LineSeries::new(line.clone(), style))
        };
        drawn
            .map_err(error)?
            .label(&series.label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], legend_style));
        if series.hard {
            context
                .draw_series(line.iter().map(|&p| {
                    EmptyElement::at(p) + Rectangle::new([(-5, -5), (5, 5)], colour.filled())
                }))
                .map_err(error)?;
        } else {
            context
                .draw_series(line.iter().map(|&p| Circle::new(p, 4, colour.filled())))
                .map_err(error)?;
        }
    }
    context
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .label_font((FAMILY, 16))
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(160, 160, 160))
        .draw()
        .map_err(error)?;
    Ok(())
}

/// The accuracy-versus-noise chart of a summary: clean test accuracy after the last epoch (mean
/// over seeds, 95% band) against the noise rate, one line per ε, hard targets distinct.
pub fn accuracy_vs_noise_chart(summary: &[SummaryRow], title: &str) -> AccuracyChart {
    let mut epsilons: Vec<f64> = summary.iter().map(|row| row.epsilon).collect();
    epsilons.sort_by(f64::total_cmp);
    epsilons.dedup();
    let positive: Vec<f64> = epsilons.iter().copied().filter(|&e| e > 0.0).collect();
    let series = epsilons
        .iter()
        .map(|&epsilon| {
            let mut rows: Vec<&SummaryRow> =
                summary.iter().filter(|r| r.epsilon == epsilon).collect();
            rows.sort_by(|a, b| a.noise_rate.total_cmp(&b.noise_rate));
            let points = rows
                .iter()
                .filter_map(|row| {
                    row.metric("test_accuracy").map(|e| ChartPoint {
                        x: row.noise_rate,
                        y: e.mean,
                        low: e.ci_low,
                        high: e.ci_high,
                    })
                })
                .collect();
            let hard = epsilon == 0.0;
            ChartSeries {
                label: if hard {
                    "ε = 0 (hard targets)".to_string()
                } else {
                    format!("ε = {epsilon}")
                },
                hard,
                colour_index: positive.iter().position(|&e| e == epsilon).unwrap_or(0),
                points,
            }
        })
        .collect();
    AccuracyChart {
        title: title.to_string(),
        x_label: "noise rate (share of training labels flipped)".into(),
        y_label: "clean test accuracy, last epoch".into(),
        series,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::estimate;

    fn summary_row(rate: f64, epsilon: f64, accuracies: &[f64]) -> SummaryRow {
        let mut metrics = vec![None; crate::SUMMARY_METRICS.len()];
        metrics[0] = estimate(accuracies);
        SummaryRow {
            noise_model: "symmetric".into(),
            noise_rate: rate,
            epsilon,
            n_runs: accuracies.len(),
            n_finished: accuracies.len(),
            metrics,
        }
    }

    fn example() -> AccuracyChart {
        let summary = vec![
            summary_row(0.0, 0.0, &[0.95, 0.96, 0.97]),
            summary_row(0.0, 0.2, &[0.95, 0.97, 0.96]),
            summary_row(0.5, 0.0, &[0.60, 0.65, 0.62]),
            summary_row(0.5, 0.2, &[0.80, 0.82, 0.78]),
        ];
        accuracy_vs_noise_chart(&summary, "symmetric noise on digits")
    }

    #[test]
    fn chart_has_one_series_per_epsilon_with_hard_targets_marked() {
        let chart = example();
        assert_eq!(chart.series.len(), 2);
        assert!(chart.series[0].hard);
        assert_eq!(chart.series[1].label, "ε = 0.2");
        assert_eq!(chart.series[1].points.len(), 2);
        assert!((chart.series[1].points[1].y - 0.8).abs() < 1e-12);
        assert!(chart.series[1].points[1].low.unwrap() < 0.8);
    }

    #[test]
    fn charts_render_with_text_and_pixels() {
        let svg = render_accuracy_vs_noise_svg(&example()).unwrap();
        assert!(svg.contains("hard targets"), "legend text missing");
        assert!(svg.contains("noise rate"), "axis title missing");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chart.png");
        write_accuracy_vs_noise_png(&path, &example()).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        // A blank 900×600 white PNG compresses to a few kilobytes; lines, bands and text do not.
        assert!(
            bytes.len() > 15_000,
            "PNG of {} bytes looks blank",
            bytes.len()
        );
    }
}
