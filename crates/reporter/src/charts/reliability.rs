//! Reliability diagrams: accuracy against confidence per confidence bin, one panel per model, with
//! the gap to perfect calibration marked as in Guo et al. (2017).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{
    FAMILY, Swatch, chart_error, draw_grid_chart, draw_note, fit_line, grid_chart_size, hatch,
    setting_colour, short_number, text_style,
};
use crate::ReportError;

/// Size of one panel in pixels.
const PANEL_SIZE: (u32, u32) = (460, 460);
/// Narrowest chart, so that the shared legend fits over a single column.
const MIN_WIDTH: u32 = 600;
/// Opacity of the accuracy bars: the ε colour stays recognisable while grid lines show through.
const BAR_OPACITY: f64 = 0.55;
/// Colour of the calibration gap. It is hatched as well, so it stays distinct from bars even when
/// the ε colour is itself red.
const GAP_RED: RGBColor = RGBColor(200, 0, 40);
/// Font size of a panel's caption when it fits, and the smallest it shrinks to.
const PANEL_TITLE_FONT: f64 = 17.0;
const PANEL_TITLE_MIN_FONT: f64 = 11.0;
/// Colour of the diagonal of perfect calibration.
const DIAGONAL_GREY: RGBColor = RGBColor(110, 110, 110);

/// One confidence bin of a reliability diagram.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReliabilityBin {
    /// Lower edge of the bin (confidence).
    pub low: f64,
    /// Upper edge of the bin (confidence).
    pub high: f64,
    /// Predictions whose confidence falls in the bin.
    pub count: u64,
    /// Mean confidence of those predictions; `None` for an empty bin.
    pub mean_confidence: Option<f64>,
    /// Share of those predictions that are correct; `None` for an empty bin.
    pub accuracy: Option<f64>,
}

/// One reliability diagram: a model's bins, coloured by its ε.
#[derive(Debug, Clone, PartialEq)]
pub struct ReliabilityPanel {
    /// Caption above the panel (for example the setting and its ECE).
    pub title: String,
    /// How the panel is coloured (see [`setting_colour`](super::setting_colour)).
    pub style: crate::SettingStyle,
    /// The bins, in any order; empty bins are skipped.
    pub bins: Vec<ReliabilityBin>,
}

/// Reliability diagrams in a grid under one title and one legend.
#[derive(Debug, Clone, PartialEq)]
pub struct ReliabilityChart {
    /// Caption above all panels.
    pub title: String,
    /// The panels, row by row.
    pub panels: Vec<ReliabilityPanel>,
    /// Panels per row (0 is taken as 1).
    pub columns: usize,
}

impl ReliabilityChart {
    pub(super) fn size(&self) -> (u32, u32) {
        grid_chart_size(self.panels.len(), self.columns, PANEL_SIZE, MIN_WIDTH)
    }

    pub(super) fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), ReportError> {
        draw_grid_chart(
            root,
            &self.title,
            &[
                (
                    Swatch::Filled(DIAGONAL_GREY, BAR_OPACITY),
                    "accuracy (ε colour)",
                ),
                (Swatch::Hatched(GAP_RED), "gap to mean confidence"),
                (Swatch::Dashed(DIAGONAL_GREY), "perfect calibration"),
            ],
            &self.panels,
            self.columns,
            draw_panel,
        )
    }
}

/// A bin's edges and values clamped to the unit square, or `None` when there is nothing to draw.
fn drawable(bin: &ReliabilityBin) -> Option<(f64, f64, f64, Option<f64>)> {
    let accuracy = bin.accuracy.filter(|a| a.is_finite())?;
    let (low, high) = (bin.low.clamp(0.0, 1.0), bin.high.clamp(0.0, 1.0));
    if bin.count == 0 || high <= low {
        return None;
    }
    let confidence = bin
        .mean_confidence
        .filter(|c| c.is_finite())
        .map(|c| c.clamp(0.0, 1.0));
    Some((low, high, accuracy.clamp(0.0, 1.0), confidence))
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &ReliabilityPanel,
) -> Result<(), ReportError> {
    let colour = setting_colour(panel.style);
    let mut builder = ChartBuilder::on(area);
    if !panel.title.is_empty() {
        // Shrunk (and at worst shortened) to the panel's width, less a margin on each side.
        let (width, _) = area.dim_in_pixel();
        let (caption, size) = fit_line(
            area,
            &panel.title,
            PANEL_TITLE_FONT,
            PANEL_TITLE_MIN_FONT,
            width.saturating_sub(2 * 8),
        )?;
        builder.caption(caption, text_style(size, colour, (HPos::Center, VPos::Top)));
    }
    let mut context = builder
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d(0.0..1.0, 0.0..1.0)
        .map_err(chart_error)?;
    context
        .configure_mesh()
        .x_label_formatter(&|v| short_number(*v))
        .y_label_formatter(&|v| short_number(*v))
        .x_desc("confidence")
        .y_desc("accuracy")
        .axis_desc_style((FAMILY, 15))
        .label_style((FAMILY, 13))
        .max_light_lines(1)
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()
        .map_err(chart_error)?;

    let bins: Vec<_> = panel.bins.iter().filter_map(drawable).collect();
    for &(low, high, accuracy, _) in &bins {
        if accuracy > 0.0 {
            let corners = [(low, 0.0), (high, accuracy)];
            context
                .draw_series([
                    Rectangle::new(corners, colour.mix(BAR_OPACITY).filled()),
                    Rectangle::new(corners, colour.stroke_width(1)),
                ])
                .map_err(chart_error)?;
        }
    }
    // Gaps over bars, so that a bar's outline never hides a gap's edge.
    let plot = context.plotting_area().strip_coord_spec();
    let (base_x, base_y) = context.plotting_area().get_base_pixel();
    for &(low, high, accuracy, confidence) in &bins {
        let Some(confidence) = confidence else {
            continue;
        };
        let corners = [(low, accuracy), (high, confidence)];
        context
            .draw_series([Rectangle::new(corners, GAP_RED.mix(0.12).filled())])
            .map_err(chart_error)?;
        let (x0, y0) = context.backend_coord(&corners[0]);
        let (x1, y1) = context.backend_coord(&corners[1]);
        hatch(
            &plot,
            (x0 - base_x, y0 - base_y),
            (x1 - base_x, y1 - base_y),
            5,
            GAP_RED.mix(0.7).stroke_width(1),
        )?;
        context
            .draw_series([Rectangle::new(corners, GAP_RED.stroke_width(1))])
            .map_err(chart_error)?;
    }
    context
        .draw_series(DashedLineSeries::new(
            [(0.0, 0.0), (1.0, 1.0)],
            8,
            5,
            DIAGONAL_GREY.stroke_width(2),
        ))
        .map_err(chart_error)?;
    if bins.is_empty() {
        draw_note(&plot, "no predictions")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charts::test_support::{
        WITH_DATA, WITHOUT_DATA, count_near, over_white, render_checked,
    };
    use crate::charts::{Chart, PALETTE};

    /// Fifteen equal bins of a model whose accuracy is `slope` times its confidence; bins below
    /// `first` are empty.
    fn bins(first: usize, slope: f64) -> Vec<ReliabilityBin> {
        (0..15)
            .map(|i| {
                let (low, high) = (i as f64 / 15.0, (i + 1) as f64 / 15.0);
                if i < first {
                    ReliabilityBin {
                        low,
                        high,
                        count: 0,
                        mean_confidence: None,
                        accuracy: None,
                    }
                } else {
                    let confidence = (low + high) / 2.0;
                    ReliabilityBin {
                        low,
                        high,
                        count: 40 + i as u64 * 10,
                        mean_confidence: Some(confidence),
                        accuracy: Some((confidence * slope).min(1.0)),
                    }
                }
            })
            .collect()
    }

    fn panel(title: &str, hard: bool, colour_index: usize, slope: f64) -> ReliabilityPanel {
        ReliabilityPanel {
            title: title.into(),
            style: if hard {
                crate::SettingStyle::Hard
            } else {
                crate::SettingStyle::Smoothing(colour_index)
            },
            bins: bins(3, slope),
        }
    }

    fn example() -> ReliabilityChart {
        ReliabilityChart {
            title: "calibration on the clean test split".into(),
            panels: vec![
                panel("noise 0, hard targets, ECE 0.021", true, 0, 0.97),
                panel("noise 0, ε = 0.2, ECE 0.043", false, 1, 1.15),
                panel("noise 0.6, hard targets, ECE 0.312", true, 0, 0.6),
                panel("noise 0.6, ε = 0.2, ECE 0.087", false, 1, 0.85),
            ],
            columns: 2,
        }
    }

    #[test]
    fn reliability_renders_bars_in_the_epsilon_colour_and_titles() {
        let chart = Chart::Reliability(example());
        assert_eq!(chart.size(), (920, 50 + 40 + 920));
        let buffer = render_checked(&chart, WITH_DATA, 50);
        let bar = over_white(PALETTE[1], BAR_OPACITY);
        assert!(
            count_near(&buffer, bar, 2) > 5000,
            "few pixels in the ε colour's bar fill"
        );
        let svg = chart.render_svg().unwrap();
        for text in [
            "calibration on the clean test split",
            "ECE 0.312",
            "ε = 0.2",
            "perfect calibration",
            "gap to mean confidence",
            "confidence",
        ] {
            assert!(svg.contains(text), "{text:?} missing from the SVG");
        }
    }

    #[test]
    fn odd_reliability_charts_still_render() {
        let empty_bins = Chart::Reliability(ReliabilityChart {
            title: "no predictions at all".into(),
            panels: vec![ReliabilityPanel {
                bins: bins(15, 1.0),
                ..panel("empty, ECE 0", false, 0, 1.0)
            }],
            columns: 2,
        });
        // A lone panel takes one column, widened to fit the legend.
        assert_eq!(empty_bins.size(), (MIN_WIDTH, 50 + 40 + 460));
        render_checked(&empty_bins, WITH_DATA, 5);
        assert!(empty_bins.render_svg().unwrap().contains("no predictions"));

        let no_panels = Chart::Reliability(ReliabilityChart {
            title: "nothing yet".into(),
            panels: Vec::new(),
            columns: 0,
        });
        render_checked(&no_panels, WITHOUT_DATA, 3);
        assert!(no_panels.render_svg().unwrap().contains("no data"));

        // One full bin, bins without accuracy, zero-width and out-of-range bins, zero columns.
        let odd_bins = vec![
            ReliabilityBin {
                low: 0.9,
                high: 1.0,
                count: 10,
                mean_confidence: Some(0.95),
                accuracy: Some(1.0),
            },
            ReliabilityBin {
                low: 0.5,
                high: 0.5,
                count: 3,
                mean_confidence: Some(0.5),
                accuracy: Some(0.5),
            },
            ReliabilityBin {
                low: 0.2,
                high: 0.3,
                count: 3,
                mean_confidence: None,
                accuracy: Some(0.4),
            },
            ReliabilityBin {
                low: -0.5,
                high: 1.5,
                count: 3,
                mean_confidence: Some(2.0),
                accuracy: None,
            },
        ];
        let odd = Chart::Reliability(ReliabilityChart {
            title: String::new(),
            panels: vec![
                ReliabilityPanel {
                    bins: odd_bins,
                    ..panel("odd", true, 0, 1.0)
                };
                3
            ],
            columns: 0,
        });
        assert_eq!(odd.size(), (MIN_WIDTH, 50 + 40 + 3 * 460));
        render_checked(&odd, WITH_DATA, 10);
    }
}
