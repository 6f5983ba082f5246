//! Line charts: one line per target setting with 95% bands, in one or more panels side by side.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{FAMILY, chart_error, draw_note, setting_colour, short_number, titled};
use crate::ReportError;
use crate::setting::{SettingStyle, sorted_settings};
use crate::summary::SummaryRow;

/// Size of one panel in pixels.
const PANEL_SIZE: (u32, u32) = (750, 600);
/// Series with more points than this get no markers: on a per-epoch curve they would merge into
/// a thick smear that hides the line and its band.
const MAX_MARKED_POINTS: usize = 25;

/// One point of a series: a mean with an optional interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChartPoint {
    /// Horizontal position (a noise rate, an epoch).
    pub x: f64,
    /// Mean over seeds.
    pub y: f64,
    /// Lower end of the 95% interval, if known.
    pub low: Option<f64>,
    /// Upper end of the 95% interval, if known.
    pub high: Option<f64>,
}

/// One line of a panel.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSeries {
    /// Legend text.
    pub label: String,
    /// How the line is drawn: hard targets black, thick and dashed, with square markers; label
    /// smoothing in the first palette with circles; robust losses in the second with triangles.
    pub style: SettingStyle,
    /// Points in increasing x.
    pub points: Vec<ChartPoint>,
}

/// One panel of a [`LineChart`]: axes, lines and a legend.
#[derive(Debug, Clone, PartialEq)]
pub struct LinePanel {
    /// Caption above the panel; empty for none.
    pub title: String,
    /// Horizontal axis title.
    pub x_label: String,
    /// Vertical axis title.
    pub y_label: String,
    /// The lines.
    pub series: Vec<ChartSeries>,
    /// Vertical range; `None` fits it to the data (see [`auto_y_range`]). Panels meant to be
    /// compared should be given the same range.
    pub y_range: Option<(f64, f64)>,
}

/// Line panels side by side under one title.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    /// Caption above all panels.
    pub title: String,
    /// The panels, left to right.
    pub panels: Vec<LinePanel>,
}

/// The colour of a series (see [`setting_colour`](super::setting_colour)).
pub fn series_colour(series: &ChartSeries) -> RGBColor {
    setting_colour(series.style)
}

/// The vertical range that shows every mean and interval end of `series`, padded by 5% (at least
/// 0.01). It stays inside [0, 1] when all data do, so that accuracies and shares never get axis
/// ticks below 0 or above 1; data outside [0, 1] are shown unclamped. Without data it is [0, 1].
pub fn auto_y_range<'a>(series: impl IntoIterator<Item = &'a ChartSeries>) -> (f64, f64) {
    let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
    for point in series.into_iter().flat_map(|s| s.points.iter()) {
        for value in [Some(point.y), point.low, point.high].into_iter().flatten() {
            if value.is_finite() {
                low = low.min(value);
                high = high.max(value);
            }
        }
    }
    if !low.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((high - low) * 0.05).max(0.01);
    if low >= 0.0 && high <= 1.0 {
        ((low - pad).max(0.0), (high + pad).min(1.0))
    } else {
        (low - pad, high + pad)
    }
}

/// One series per setting of `summary` for the summary metric `metric` against the noise rate:
/// the mean over seeds with its 95% interval, styled by setting ([`Setting::style`](crate::Setting::style)).
pub fn metric_vs_noise_series(summary: &[SummaryRow], metric: &str) -> Vec<ChartSeries> {
    let settings = sorted_settings(summary.iter().map(|row| row.setting));
    settings
        .iter()
        .map(|&setting| {
            let mut rows: Vec<&SummaryRow> =
                summary.iter().filter(|r| r.setting == setting).collect();
            rows.sort_by(|a, b| a.noise_rate.total_cmp(&b.noise_rate));
            let points = rows
                .iter()
                .filter_map(|row| {
                    row.metric(metric).map(|e| ChartPoint {
                        x: row.noise_rate,
                        y: e.mean,
                        low: e.ci_low,
                        high: e.ci_high,
                    })
                })
                .collect();
            ChartSeries {
                label: setting.label(),
                style: setting.style(&settings),
                points,
            }
        })
        .collect()
}

/// The accuracy-versus-noise chart of a summary: clean test accuracy (mean over seeds, 95% band)
/// against the noise rate, one line per setting, after the last epoch and at the best epoch, both panels
/// on one vertical range so that they can be compared by eye.
pub fn accuracy_vs_noise_chart(summary: &[SummaryRow], title: &str, x_label: &str) -> LineChart {
    let last = metric_vs_noise_series(summary, "test_accuracy");
    let best = metric_vs_noise_series(summary, "best_test_accuracy");
    let y_range = auto_y_range(last.iter().chain(best.iter()));
    let panel = |title: &str, series| LinePanel {
        title: title.to_string(),
        x_label: x_label.to_string(),
        y_label: "clean test accuracy".into(),
        series,
        y_range: Some(y_range),
    };
    LineChart {
        title: title.to_string(),
        panels: vec![
            panel("last epoch", last),
            panel("best epoch (oracle: peeks at the test split)", best),
        ],
    }
}

impl LineChart {
    pub(super) fn size(&self) -> (u32, u32) {
        let panels = self.panels.len().max(1) as u32;
        (PANEL_SIZE.0 * panels, PANEL_SIZE.1 + super::TITLE_HEIGHT)
    }

    pub(super) fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), ReportError> {
        let body = titled(root, &self.title)?;
        if self.panels.is_empty() {
            return draw_note(&body, "no data");
        }
        let areas = body.split_evenly((1, self.panels.len()));
        for (panel, area) in self.panels.iter().zip(&areas) {
            draw_panel(area, panel)?;
        }
        Ok(())
    }
}

/// The horizontal range of the data, padded by 3% so that end markers are not cut; a single x
/// gets a small window around it.
fn x_range(series: &[ChartSeries]) -> (f64, f64) {
    let xs = || {
        series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.x))
            .filter(|x| x.is_finite())
    };
    let low = xs().fold(f64::INFINITY, f64::min);
    let high = xs().fold(f64::NEG_INFINITY, f64::max);
    if !low.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if high > low {
        (high - low) * 0.03
    } else {
        (low.abs() * 0.05).max(0.01)
    };
    (low - pad, high + pad)
}

/// A caller's y range if it is usable, else the one fitted to the data.
fn y_range(panel: &LinePanel) -> (f64, f64) {
    match panel.y_range {
        Some((low, high)) if low.is_finite() && high.is_finite() && low < high => (low, high),
        _ => auto_y_range(&panel.series),
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &LinePanel,
) -> Result<(), ReportError> {
    let (x_low, x_high) = x_range(&panel.series);
    let (y_low, y_high) = y_range(panel);
    let mut builder = ChartBuilder::on(area);
    if !panel.title.is_empty() {
        builder.caption(&panel.title, (FAMILY, 20));
    }
    let mut context = builder
        .margin(20)
        .x_label_area_size(55)
        .y_label_area_size(70)
        .build_cartesian_2d(x_low..x_high, y_low..y_high)
        .map_err(chart_error)?;
    context
        .configure_mesh()
        .x_label_formatter(&|v| short_number(*v))
        .y_label_formatter(&|v| short_number(*v))
        .x_desc(&panel.x_label)
        .y_desc(&panel.y_label)
        .axis_desc_style((FAMILY, 18))
        .label_style((FAMILY, 15))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(chart_error)?;

    let drawn: Vec<&ChartSeries> = panel
        .series
        .iter()
        .filter(|s| !s.points.is_empty())
        .collect();
    if drawn.is_empty() {
        return draw_note(&context.plotting_area().strip_coord_spec(), "no data");
    }
    // Bands first, so every line is drawn over every band.
    for series in &drawn {
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
            let opacity = if series.style.is_hard() { 0.12 } else { 0.18 };
            context
                .draw_series(std::iter::once(Polygon::new(
                    outline,
                    colour.mix(opacity).filled(),
                )))
                .map_err(chart_error)?;
        }
    }
    for series in &drawn {
        let colour = series_colour(series);
        let line: Vec<(f64, f64)> = series.points.iter().map(|p| (p.x, p.y)).collect();
        let hard = series.style.is_hard();
        let robust = matches!(series.style, SettingStyle::Robust(_));
        let width = if hard { 3 } else { 2 };
        let style = colour.stroke_width(width);
        let marked = line.len() <= MAX_MARKED_POINTS;
        let result = if hard {
            context.draw_series(DashedLineSeries::new(line.clone(), 12, 6, style))
        } else {
            context.draw_series(LineSeries::new(line.clone(), style))
        };
        let annotation = result.map_err(chart_error)?.label(&series.label);
        // The legend shows the line, dashed for hard targets, and the marker when there is one.
        let dash = move |start: i32, end: i32| PathElement::new(vec![(start, 0), (end, 0)], style);
        match (hard, marked) {
            (true, true) => annotation.legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + dash(0, 6)
                    + Rectangle::new([(7, -5), (17, 5)], colour.filled())
                    + dash(18, 24)
            }),
            (true, false) => annotation.legend(move |(x, y)| {
                EmptyElement::at((x, y)) + dash(0, 6) + dash(9, 15) + dash(18, 24)
            }),
            (false, true) if robust => annotation.legend(move |(x, y)| {
                EmptyElement::at((x, y))
                    + dash(0, 24)
                    + TriangleMarker::new((12, 0), 6, colour.filled())
            }),
            (false, true) => annotation.legend(move |(x, y)| {
                EmptyElement::at((x, y)) + dash(0, 24) + Circle::new((12, 0), 4, colour.filled())
            }),
            (false, false) => {
                annotation.legend(move |(x, y)| EmptyElement::at((x, y)) + dash(0, 24))
            }
        };
        if !marked {
            continue;
        }
        if hard {
            context
                .draw_series(line.iter().map(|&p| {
                    EmptyElement::at(p) + Rectangle::new([(-5, -5), (5, 5)], colour.filled())
                }))
                .map_err(chart_error)?;
        } else if robust {
            context
                .draw_series(
                    line.iter()
                        .map(|&p| TriangleMarker::new(p, 6, colour.filled())),
                )
                .map_err(chart_error)?;
        } else {
            context
                .draw_series(line.iter().map(|&p| Circle::new(p, 4, colour.filled())))
                .map_err(chart_error)?;
        }
    }
    context
        .configure_series_labels()
        .position(legend_position(&drawn, (x_low, x_high), (y_low, y_high)))
        .label_font((FAMILY, 16))
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(160, 160, 160))
        .draw()
        .map_err(chart_error)?;
    Ok(())
}

/// The legend corner that covers the fewest data: lines are sampled along their segments and
/// bands at their ends, and the corner box is the legend's estimated share of the plot. Ties go
/// to the lower left, where accuracy-versus-noise charts leave room.
fn legend_position(
    series: &[&ChartSeries],
    (x_low, x_high): (f64, f64),
    (y_low, y_high): (f64, f64),
) -> SeriesLabelPosition {
    let longest = series.iter().map(|s| s.label.chars().count()).max();
    let legend_width = 60.0 + 9.0 * longest.unwrap_or(0) as f64;
    let legend_height = 14.0 + 24.0 * series.len() as f64;
    // The plot's inner size: the panel less margins, label areas and caption.
    let (plot_width, plot_height) = (630.0, 470.0);
    let (width, height) = (legend_width / plot_width, legend_height / plot_height);
    let normalise = |(x, y): (f64, f64)| {
        (
            (x - x_low) / (x_high - x_low),
            (y - y_low) / (y_high - y_low),
        )
    };
    let mut samples = Vec::new();
    for series in series {
        for pair in series.points.windows(2) {
            for step in 0..10 {
                let t = step as f64 / 10.0;
                let x = pair[0].x + (pair[1].x - pair[0].x) * t;
                let y = pair[0].y + (pair[1].y - pair[0].y) * t;
                samples.push(normalise((x, y)));
            }
        }
        for point in &series.points {
            for y in [Some(point.y), point.low, point.high].into_iter().flatten() {
                samples.push(normalise((point.x, y)));
            }
        }
    }
    let corners = [
        (SeriesLabelPosition::LowerLeft, false, false),
        (SeriesLabelPosition::UpperRight, true, true),
        (SeriesLabelPosition::LowerRight, true, false),
        (SeriesLabelPosition::UpperLeft, false, true),
    ];
    let covered = |right: bool, upper: bool| {
        samples
            .iter()
            .filter(|&&(x, y)| {
                let in_x = if right { x > 1.0 - width } else { x < width };
                let in_y = if upper { y > 1.0 - height } else { y < height };
                in_x && in_y
            })
            .count()
    };
    corners
        .into_iter()
        .min_by_key(|&(_, right, upper)| covered(right, upper))
        .map_or(SeriesLabelPosition::LowerLeft, |(position, _, _)| position)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charts::Chart;
    use crate::charts::test_support::{WITH_DATA, WITHOUT_DATA, count_near, render_checked};
    use crate::stats::estimate;

    fn summary_row(rate: f64, epsilon: f64, last: &[f64], best: &[f64]) -> SummaryRow {
        let mut metrics = vec![None; crate::SUMMARY_METRICS.len()];
        metrics[0] = estimate(last);
        metrics[1] = estimate(best);
        SummaryRow {
            noise_model: "symmetric".into(),
            noise_rate: rate,
            setting: crate::Setting::smoothing(epsilon),
            n_runs: last.len(),
            n_finished: last.len(),
            metrics,
        }
    }

    fn example() -> LineChart {
        let summary = vec![
            summary_row(0.0, 0.0, &[0.95, 0.96, 0.97], &[0.96, 0.97, 0.97]),
            summary_row(0.0, 0.2, &[0.95, 0.97, 0.96], &[0.96, 0.97, 0.97]),
            summary_row(0.4, 0.0, &[0.70, 0.74, 0.72], &[0.85, 0.86, 0.84]),
            summary_row(0.4, 0.2, &[0.86, 0.88, 0.85], &[0.89, 0.90, 0.88]),
            summary_row(0.8, 0.0, &[0.30, 0.35, 0.32], &[0.52, 0.55, 0.50]),
            summary_row(0.8, 0.2, &[0.45, 0.48, 0.42], &[0.58, 0.60, 0.55]),
        ];
        accuracy_vs_noise_chart(&summary, "symmetric noise on digits", "nominal noise rate")
    }

    fn series(label: &str, hard: bool, colour_index: usize, points: &[(f64, f64)]) -> ChartSeries {
        ChartSeries {
            label: label.into(),
            style: if hard {
                crate::SettingStyle::Hard
            } else {
                crate::SettingStyle::Smoothing(colour_index)
            },
            points: points
                .iter()
                .map(|&(x, y)| ChartPoint {
                    x,
                    y,
                    low: Some(y - 0.02),
                    high: Some(y + 0.02),
                })
                .collect(),
        }
    }

    fn panel(series: Vec<ChartSeries>) -> LinePanel {
        LinePanel {
            title: String::new(),
            x_label: "epoch".into(),
            y_label: "test accuracy".into(),
            series,
            y_range: None,
        }
    }

    #[test]
    fn chart_has_two_panels_with_one_series_per_epsilon_and_one_y_range() {
        let chart = example();
        assert_eq!(chart.panels.len(), 2);
        let last = &chart.panels[0];
        assert_eq!(last.series.len(), 2);
        assert!(last.series[0].style.is_hard());
        assert_eq!(last.series[1].label, "ε = 0.2");
        assert_eq!(last.series[1].points.len(), 3);
        assert!((last.series[1].points[1].y - 0.8633333333).abs() < 1e-9);
        assert!(last.series[1].points[1].low.unwrap() < 0.86);
        assert!((chart.panels[1].series[0].points[2].y - 0.5233333333).abs() < 1e-9);
        // One range for both panels, wide enough for the lowest interval of the last epoch and the
        // highest of the best epoch.
        assert_eq!(last.y_range, chart.panels[1].y_range);
        let (low, high) = last.y_range.unwrap();
        let lowest = last.series[0].points[2].low.unwrap();
        assert!(low < lowest && lowest - low < 0.1, "{low} vs {lowest}");
        assert!(high <= 1.0 && high > 0.97);
    }

    #[test]
    fn accuracy_chart_renders_with_text_and_colours() {
        let chart = Chart::Lines(example());
        assert_eq!(chart.size(), (1500, 650));
        let buffer = render_checked(&chart, WITH_DATA, 50);
        // The ε = 0.2 line is drawn in the first palette colour, the hard-target line in black.
        assert!(count_near(&buffer, [31, 119, 180], 0) > 200);
        assert!(count_near(&buffer, [0, 0, 0], 0) > 2000);
        let svg = chart.render_svg().unwrap();
        for text in [
            "symmetric noise on digits",
            "hard targets",
            "ε = 0.2",
            "noise rate",
            "last epoch",
            "best epoch",
        ] {
            assert!(svg.contains(text), "{text:?} missing from the SVG");
        }
    }

    #[test]
    fn png_files_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chart.png");
        Chart::Lines(example()).write_png(&path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
    }

    #[test]
    fn curves_with_many_epochs_render_without_markers() {
        let rising: Vec<(f64, f64)> = (1..=60).map(|e| (e as f64, 0.9 - 0.5 / e as f64)).collect();
        let falling: Vec<(f64, f64)> = (1..=60)
            .map(|e| (e as f64, 0.8 - 0.002 * e as f64))
            .collect();
        let chart = Chart::Lines(LineChart {
            title: "training curves".into(),
            panels: vec![
                panel(vec![
                    series("ε = 0 (hard targets)", true, 0, &falling),
                    series("ε = 0.1", false, 0, &rising),
                ]),
                panel(vec![series("ε = 0.1", false, 0, &rising)]),
            ],
        });
        render_checked(&chart, WITH_DATA, 30);
        let svg = chart.render_svg().unwrap();
        assert!(svg.contains("training curves"));
        // Circle markers would be SVG circles; 60 points stay a plain line.
        assert!(
            !svg.contains("<circle"),
            "markers drawn on a 60-point curve"
        );
    }

    #[test]
    fn legend_avoids_the_data() {
        // Data crowd the lower left: the legend must go elsewhere.
        let low_left = series("a", false, 0, &[(0.0, 0.0), (0.1, 0.05), (0.2, 0.02)]);
        let wide = series("b", false, 1, &[(0.9, 0.9), (1.0, 1.0)]);
        let position = legend_position(&[&low_left, &wide], (0.0, 1.0), (0.0, 1.0));
        assert!(!matches!(position, SeriesLabelPosition::LowerLeft));
        assert!(!matches!(position, SeriesLabelPosition::UpperRight));
        // With a free lower left it stays there.
        let high = series("c", false, 0, &[(0.0, 0.9), (1.0, 0.95)]);
        let position = legend_position(&[&high], (0.0, 1.0), (0.0, 1.0));
        assert!(matches!(position, SeriesLabelPosition::LowerLeft));
    }

    #[test]
    fn y_range_is_clamped_to_the_unit_interval_only_for_data_inside_it() {
        let inside = series("a", false, 0, &[(0.0, 0.5), (1.0, 0.97)]);
        let (low, high) = auto_y_range([&inside]);
        assert!(low > 0.4 && low < 0.48 && high == 1.0, "{low}..{high}");
        let outside = series("b", false, 0, &[(0.0, 0.5), (1.0, 2.0)]);
        let (low, high) = auto_y_range([&outside]);
        assert!(low < 0.48 && high > 2.02, "{low}..{high}");
        let flat = series("c", false, 0, &[(0.0, 0.5), (1.0, 0.5)]);
        let (low, high) = auto_y_range([&flat]);
        assert!(low < 0.48 && high > 0.52, "{low}..{high}");
        assert_eq!(auto_y_range([]), (0.0, 1.0));
    }

    #[test]
    fn odd_inputs_still_render() {
        let no_panels = Chart::Lines(LineChart {
            title: "nothing yet".into(),
            panels: Vec::new(),
        });
        render_checked(&no_panels, WITHOUT_DATA, 3);
        assert!(no_panels.render_svg().unwrap().contains("no data"));

        let empty_series = Chart::Lines(LineChart {
            title: String::new(),
            panels: vec![panel(vec![series("a", false, 0, &[])])],
        });
        render_checked(&empty_series, WITHOUT_DATA, 3);
        assert!(empty_series.render_svg().unwrap().contains("no data"));

        let mut single = series("one point", true, 0, &[(0.3, 0.7)]);
        single.points[0].low = None;
        let mut equal = panel(vec![
            single,
            series("flat", false, 2, &[(0.3, 0.7), (0.3, 0.7)]),
        ]);
        // A reversed range from the caller is not drawable: the data decide instead.
        equal.y_range = Some((0.9, 0.1));
        let odd = Chart::Lines(LineChart {
            title: "odd".into(),
            panels: vec![equal],
        });
        render_checked(&odd, WITH_DATA, 10);
        assert!(odd.render_svg().unwrap().contains("one point"));
    }
}
