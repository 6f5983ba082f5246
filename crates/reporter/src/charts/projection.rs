//! Projections: each model's representations of a few classes in two dimensions, one scatter
//! panel per model, framed in the model's ε colour.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{
    FAMILY, Swatch, chart_error, draw_grid_chart, draw_note, grid_chart_size, setting_colour,
    short_number, text_style,
};
use crate::ReportError;

/// Size of one panel in pixels.
const PANEL_SIZE: (u32, u32) = (480, 480);
/// Narrowest chart, so that the class legend fits over a single column.
const MIN_WIDTH: u32 = 520;
/// Class colours: Okabe–Ito, a qualitative palette built for colour-blind readers and distinct
/// from the tab10 colours that mark ε (black is left out, it marks hard targets).
const CLASS_COLOURS: [RGBColor; 7] = [
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(240, 228, 66),
];
/// Opacity of the points, so that overlapping clusters stay visible through each other.
const POINT_OPACITY: f64 = 0.75;
/// Estimated plotting size of a panel (the panel less margins, labels and caption); used to give
/// both axes about the same data units per pixel.
const PLOT_SIZE: (f64, f64) = (400.0, 375.0);

/// One projected example.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProjectionPoint {
    /// First coordinate.
    pub x: f64,
    /// Second coordinate.
    pub y: f64,
    /// Index into the chart's `class_names`.
    pub class: usize,
}

/// One model's projection.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectionPanel {
    /// Caption above the panel.
    pub title: String,
    /// How the panel is coloured (see [`setting_colour`](super::setting_colour)).
    pub style: crate::SettingStyle,
    /// The points.
    pub points: Vec<ProjectionPoint>,
}

/// Projections in a grid under one title and one class legend.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectionChart {
    /// Caption above all panels.
    pub title: String,
    /// Class names, indexed by [`ProjectionPoint::class`].
    pub class_names: Vec<String>,
    /// The panels, row by row.
    pub panels: Vec<ProjectionPanel>,
    /// Panels per row (0 is taken as 1).
    pub columns: usize,
}

/// The colour of class `class`.
fn class_colour(class: usize) -> RGBColor {
    CLASS_COLOURS[class % CLASS_COLOURS.len()]
}

impl ProjectionChart {
    pub(super) fn size(&self) -> (u32, u32) {
        grid_chart_size(self.panels.len(), self.columns, PANEL_SIZE, MIN_WIDTH)
    }

    pub(super) fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), ReportError> {
        let entries: Vec<(Swatch, &str)> = self
            .class_names
            .iter()
            .enumerate()
            .map(|(class, name)| (Swatch::Dot(class_colour(class)), name.as_str()))
            .collect();
        draw_grid_chart(
            root,
            &self.title,
            &entries,
            &self.panels,
            self.columns,
            draw_panel,
        )
    }
}

/// Axis ranges around the finite points, padded by 6% and widened so that both axes have about
/// the same data units per pixel: distances in a projection mean the same in every direction.
fn ranges(points: &[ProjectionPoint]) -> ((f64, f64), (f64, f64)) {
    let finite = || points.iter().filter(|p| p.x.is_finite() && p.y.is_finite());
    let (mut x_low, mut x_high) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut y_low, mut y_high) = (f64::INFINITY, f64::NEG_INFINITY);
    for point in finite() {
        x_low = x_low.min(point.x);
        x_high = x_high.max(point.x);
        y_low = y_low.min(point.y);
        y_high = y_high.max(point.y);
    }
    if !x_low.is_finite() {
        return ((-1.0, 1.0), (-1.0, 1.0));
    }
    // Half-widths; a degenerate spread gets a window scaled to its magnitude.
    let half = |low: f64, high: f64| {
        let spread = (high - low) / 2.0;
        if spread > 0.0 {
            spread * 1.06
        } else if low != 0.0 {
            low.abs() * 0.1
        } else {
            1.0
        }
    };
    let (x_half, y_half) = (half(x_low, x_high), half(y_low, y_high));
    let per_pixel = (x_half / PLOT_SIZE.0).max(y_half / PLOT_SIZE.1);
    let (x_half, y_half) = (per_pixel * PLOT_SIZE.0, per_pixel * PLOT_SIZE.1);
    let (x_mid, y_mid) = ((x_low + x_high) / 2.0, (y_low + y_high) / 2.0);
    (
        (x_mid - x_half, x_mid + x_half),
        (y_mid - y_half, y_mid + y_half),
    )
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &ProjectionPanel,
) -> Result<(), ReportError> {
    let colour = setting_colour(panel.style);
    let ((x_low, x_high), (y_low, y_high)) = ranges(&panel.points);
    let mut builder = ChartBuilder::on(area);
    if !panel.title.is_empty() {
        builder.caption(
            &panel.title,
            text_style(17.0, colour, (HPos::Center, VPos::Top)),
        );
    }
    let mut context = builder
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d(x_low..x_high, y_low..y_high)
        .map_err(chart_error)?;
    context
        .configure_mesh()
        .x_label_formatter(&|v| short_number(*v))
        .y_label_formatter(&|v| short_number(*v))
        .x_desc("template-plane axis 1")
        .y_desc("template-plane axis 2")
        .axis_desc_style((FAMILY, 15))
        .label_style((FAMILY, 12))
        .max_light_lines(1)
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()
        .map_err(chart_error)?;
    let radius = match panel.points.len() {
        0..=400 => 3,
        401..=4000 => 2,
        _ => 1,
    };
    context
        .draw_series(
            panel
                .points
                .iter()
                .filter(|p| p.x.is_finite() && p.y.is_finite())
                .map(|p| {
                    Circle::new(
                        (p.x, p.y),
                        radius,
                        class_colour(p.class).mix(POINT_OPACITY).filled(),
                    )
                }),
        )
        .map_err(chart_error)?;
    let plot = context.plotting_area().strip_coord_spec();
    let (width, height) = plot.dim_in_pixel();
    // The frame in the ε colour names the model at a glance, as the line colours do elsewhere.
    plot.draw(&Rectangle::new(
        [(0, 0), (width as i32 - 1, height as i32 - 1)],
        colour.stroke_width(3),
    ))
    .map_err(chart_error)?;
    if panel.points.is_empty() {
        draw_note(&plot, "no data")?;
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

    /// Three clusters around the corners of a triangle, `spread` wide.
    fn points(spread: f64) -> Vec<ProjectionPoint> {
        let centres = [(0.0, 1.0), (-0.9, -0.5), (0.9, -0.5)];
        (0..90)
            .map(|i| {
                let class = i % 3;
                let angle = i as f64 * 0.7;
                let r = spread * ((i * 37 % 11) as f64 / 11.0);
                ProjectionPoint {
                    x: centres[class].0 + r * angle.cos(),
                    y: centres[class].1 + r * angle.sin(),
                    class,
                }
            })
            .collect()
    }

    fn panel(title: &str, hard: bool, colour_index: usize, spread: f64) -> ProjectionPanel {
        ProjectionPanel {
            title: title.into(),
            style: if hard {
                crate::SettingStyle::Hard
            } else {
                crate::SettingStyle::Smoothing(colour_index)
            },
            points: points(spread),
        }
    }

    fn example() -> ProjectionChart {
        ProjectionChart {
            title: "penultimate layer, classes 0, 1, 2".into(),
            class_names: vec!["zero".into(), "one".into(), "two".into()],
            panels: vec![
                panel("noise 0, hard targets", true, 0, 0.5),
                panel("noise 0, ε = 0.2", false, 2, 0.2),
                panel("noise 0.6, hard targets", true, 0, 0.9),
                panel("noise 0.6, ε = 0.2", false, 2, 0.4),
            ],
            columns: 2,
        }
    }

    #[test]
    fn projection_renders_points_frames_and_legend() {
        let chart = Chart::Projection(example());
        assert_eq!(chart.size(), (960, 50 + 40 + 960));
        let buffer = render_checked(&chart, WITH_DATA, 50);
        for class in 0..3 {
            let colour = over_white(class_colour(class), POINT_OPACITY);
            assert!(
                count_near(&buffer, colour, 2) > 300,
                "class {class} hardly drawn"
            );
        }
        // The soft-target frames are drawn in the ε colour.
        assert!(count_near(&buffer, [PALETTE[2].0, PALETTE[2].1, PALETTE[2].2], 0) > 2000);
        let svg = chart.render_svg().unwrap();
        for text in [
            "penultimate layer",
            "zero",
            "one",
            "two",
            "noise 0.6, ε = 0.2",
            "template-plane axis 1",
        ] {
            assert!(svg.contains(text), "{text:?} missing from the SVG");
        }
    }

    #[test]
    fn axes_have_equal_units_and_cover_the_data() {
        let wide = [
            ProjectionPoint {
                x: -10.0,
                y: 0.0,
                class: 0,
            },
            ProjectionPoint {
                x: 10.0,
                y: 1.0,
                class: 1,
            },
        ];
        let ((x_low, x_high), (y_low, y_high)) = ranges(&wide);
        assert!(x_low < -10.0 && x_high > 10.0);
        assert!(y_low < 0.0 && y_high > 1.0);
        let x_per_pixel = (x_high - x_low) / PLOT_SIZE.0;
        let y_per_pixel = (y_high - y_low) / PLOT_SIZE.1;
        assert!((x_per_pixel - y_per_pixel).abs() < 1e-12);
        let ((x_low, x_high), (y_low, y_high)) = ranges(&wide[..1]);
        assert!(x_low < -10.0 && x_high > -10.0 && y_low < 0.0 && y_high > 0.0);
    }

    #[test]
    fn odd_projections_still_render() {
        let empty = Chart::Projection(ProjectionChart {
            panels: vec![ProjectionPanel {
                points: Vec::new(),
                ..panel("empty", false, 0, 0.1)
            }],
            ..example()
        });
        assert_eq!(empty.size(), (MIN_WIDTH, 50 + 40 + 480));
        render_checked(&empty, WITH_DATA, 5);
        assert!(empty.render_svg().unwrap().contains("no data"));

        let no_panels = Chart::Projection(ProjectionChart {
            panels: Vec::new(),
            class_names: Vec::new(),
            ..example()
        });
        render_checked(&no_panels, WITHOUT_DATA, 3);

        let same_point = ProjectionPoint {
            x: 0.0,
            y: 0.0,
            class: 7,
        };
        let odd = Chart::Projection(ProjectionChart {
            panels: vec![
                ProjectionPanel {
                    points: vec![same_point; 5],
                    ..panel("all equal, unknown class", true, 0, 0.1)
                },
                ProjectionPanel {
                    points: vec![same_point],
                    ..panel("one point", false, 1, 0.1)
                },
            ],
            columns: 5,
            ..example()
        });
        assert_eq!(odd.size(), (960, 50 + 40 + 480));
        render_checked(&odd, WITH_DATA, 10);
    }
}
