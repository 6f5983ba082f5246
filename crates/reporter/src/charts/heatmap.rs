//! Gain heatmaps: one cell per (noise rate, target setting), coloured on a diverging scale centred on zero, with
//! cells whose 95% interval contains zero muted so that only resolved differences stand out.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::{
    NOTE_GREY, blend, chart_error, draw_note, hatch, short_number, text_colour_on, text_style,
    titled,
};
use crate::ReportError;
use crate::setting::Setting;

/// Width of the row-label column, left of the grid.
const LEFT: i32 = 130;
/// Blank margin right of the grid.
const RIGHT: i32 = 40;
/// Top of the grid: below the title strip.
const TOP: i32 = super::TITLE_HEIGHT as i32 + 10;
/// Height of one ε row.
const ROW_HEIGHT: i32 = 90;
/// Narrowest column that still fits an interval such as "[−0.031, −0.007]".
const MIN_COLUMN_WIDTH: i32 = 125;
/// Space under the grid for column labels, axis title, colour bar and note.
const BOTTOM: i32 = 160;
/// Narrowest chart, so that the colour bar and note fit however few columns there are.
const MIN_WIDTH: i32 = 900;
/// Width of the colour bar.
const BAR_WIDTH: i32 = 360;
/// Smallest half-range of the colour scale, so that all-zero data do not divide by zero.
const MIN_SCALE: f64 = 0.01;
/// The grey that muted cells are blended toward.
const MUTED_GREY: RGBColor = RGBColor(232, 232, 232);
/// How far muted cells are blended toward [`MUTED_GREY`]: enough that they recede, little enough
/// that the sign of the mean still shows as a tint.
const MUTED_BLEND: f64 = 0.7;
/// ColorBrewer RdBu with 11 classes from −1 (dark blue) through near-white to +1 (dark red):
/// diverging and safe for the common colour-vision deficiencies.
const RAMP: [RGBColor; 11] = [
    RGBColor(5, 48, 97),
    RGBColor(33, 102, 172),
    RGBColor(67, 147, 195),
    RGBColor(146, 197, 222),
    RGBColor(209, 229, 240),
    RGBColor(247, 247, 247),
    RGBColor(253, 219, 199),
    RGBColor(244, 165, 130),
    RGBColor(214, 96, 77),
    RGBColor(178, 24, 43),
    RGBColor(103, 0, 31),
];

/// One cell of a [`GainHeatmap`]: a mean difference with its optional 95% interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeatmapCell {
    /// Noise rate (the column).
    pub rate: f64,
    /// The target setting (the row).
    pub setting: Setting,
    /// Mean over seeds.
    pub mean: f64,
    /// Lower end of the 95% interval, if known.
    pub low: Option<f64>,
    /// Upper end of the 95% interval, if known.
    pub high: Option<f64>,
}

impl HeatmapCell {
    /// Whether the interval is known and excludes zero; other cells are drawn muted.
    pub fn resolved(&self) -> bool {
        match (self.low, self.high) {
            (Some(low), Some(high)) => low > 0.0 || high < 0.0,
            _ => false,
        }
    }
}

/// A grid of differences: columns are noise rates, rows are target settings, colour is the mean on a
/// diverging scale symmetric around zero (blue below, red above).
#[derive(Debug, Clone, PartialEq)]
pub struct GainHeatmap {
    /// Caption above the grid.
    pub title: String,
    /// What the colour shows, written over the colour bar.
    pub value_label: String,
    /// What the columns are, written under them ("nominal noise rate").
    pub rate_label: String,
    /// Column values, left to right.
    pub rates: Vec<f64>,
    /// Row values, top to bottom.
    pub settings: Vec<Setting>,
    /// The cells; a (rate, setting) without a cell is drawn blank, a cell off the grid is ignored.
    pub cells: Vec<HeatmapCell>,
}

/// Pixel geometry of a heatmap, shared by drawing and tests.
struct Layout {
    /// Width of the row-label margin: [`LEFT`], or more for long setting labels.
    left: i32,
    width: i32,
    column_width: i32,
    rows: i32,
}

impl Layout {
    fn of(heatmap: &GainHeatmap) -> Self {
        let columns = heatmap.rates.len().max(1) as i32;
        // About 9 pixels a character at the labels' 17 px, and the gap before the grid.
        let longest = heatmap
            .settings
            .iter()
            .map(|s| s.label().chars().count())
            .max()
            .unwrap_or(0) as i32;
        let left = LEFT.max(9 * longest + 24);
        let width = MIN_WIDTH.max(left + RIGHT + MIN_COLUMN_WIDTH * columns);
        Layout {
            left,
            width,
            column_width: (width - left - RIGHT) / columns,
            rows: heatmap.settings.len().max(1) as i32,
        }
    }

    fn size(&self) -> (u32, u32) {
        (
            self.width as u32,
            (TOP + ROW_HEIGHT * self.rows + BOTTOM) as u32,
        )
    }

    /// Top-left and bottom-right pixels of a cell, inset by one pixel so that cells are parted
    /// by thin white lines.
    fn cell(&self, row: usize, column: usize) -> ((i32, i32), (i32, i32)) {
        let x = self.left + self.column_width * column as i32;
        let y = TOP + ROW_HEIGHT * row as i32;
        (
            (x + 1, y + 1),
            (x + self.column_width - 1, y + ROW_HEIGHT - 1),
        )
    }

    fn grid_bottom(&self) -> i32 {
        TOP + ROW_HEIGHT * self.rows
    }

    fn grid_centre(&self, columns: usize) -> i32 {
        self.left + self.column_width * columns.max(1) as i32 / 2
    }
}

/// The ramp's colour at `t` in [−1, 1], linear between the classes.
fn diverging(t: f64) -> RGBColor {
    let position = (t.clamp(-1.0, 1.0) + 1.0) * 5.0;
    let index = (position.floor() as usize).min(RAMP.len() - 2);
    let fraction = position - index as f64;
    blend(RAMP[index], RAMP[index + 1], fraction)
}

/// A mean with its sign and three decimals ("+0.219", "−0.012"); a value that rounds to zero has
/// no sign, so that the text never claims a direction the data do not show.
fn signed(value: f64) -> String {
    let digits = format!("{:.3}", value.abs());
    if digits == "0.000" {
        digits
    } else if value < 0.0 {
        format!("−{digits}")
    } else {
        format!("+{digits}")
    }
}

/// An interval end with three decimals and the minus sign for negatives.
fn plain(value: f64) -> String {
    let digits = format!("{:.3}", value.abs());
    if value < 0.0 && digits != "0.000" {
        format!("−{digits}")
    } else {
        digits
    }
}

fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

impl GainHeatmap {
    pub(super) fn size(&self) -> (u32, u32) {
        Layout::of(self).size()
    }

    /// The cell at (`rate`, `setting`), if any; the first wins if the caller gave several.
    fn cell(&self, rate: f64, setting: &Setting) -> Option<&HeatmapCell> {
        self.cells
            .iter()
            .find(|c| same(c.rate, rate) && c.setting == *setting)
    }

    /// Half the colour scale's range: the largest |mean| on the grid, at least [`MIN_SCALE`].
    fn scale(&self) -> f64 {
        self.cells
            .iter()
            .filter(|c| {
                c.mean.is_finite()
                    && self.rates.iter().any(|&r| same(r, c.rate))
                    && self.settings.contains(&c.setting)
            })
            .map(|c| c.mean.abs())
            .fold(MIN_SCALE, f64::max)
    }

    pub(super) fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), ReportError> {
        let body = titled(root, &self.title)?;
        if self.rates.is_empty() || self.settings.is_empty() {
            return draw_note(&body, "no data");
        }
        let layout = Layout::of(self);
        let scale = self.scale();
        for (row, setting) in self.settings.iter().enumerate() {
            let (_, (_, y1)) = layout.cell(row, 0);
            root.draw_text(
                &setting.label(),
                &text_style(17.0, BLACK, (HPos::Right, VPos::Center)),
                (layout.left - 12, y1 - ROW_HEIGHT / 2),
            )
            .map_err(chart_error)?;
            for (column, &rate) in self.rates.iter().enumerate() {
                let rect = layout.cell(row, column);
                match self.cell(rate, setting) {
                    Some(cell) if cell.mean.is_finite() => draw_cell(root, rect, cell, scale)?,
                    _ => draw_missing(root, rect)?,
                }
            }
        }
        let bottom = layout.grid_bottom();
        for (column, &rate) in self.rates.iter().enumerate() {
            let ((x0, _), (x1, _)) = layout.cell(0, column);
            root.draw_text(
                &short_number(rate),
                &text_style(16.0, BLACK, (HPos::Center, VPos::Top)),
                ((x0 + x1) / 2, bottom + 8),
            )
            .map_err(chart_error)?;
        }
        let centre = layout.grid_centre(self.rates.len());
        root.draw_text(
            &self.rate_label,
            &text_style(17.0, BLACK, (HPos::Center, VPos::Top)),
            (centre, bottom + 34),
        )
        .map_err(chart_error)?;
        self.draw_colour_bar(root, centre, bottom + 70, scale)
    }

    /// The colour bar centred at `centre`, its label above `top`, ticks and the muting note below.
    fn draw_colour_bar<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        centre: i32,
        top: i32,
        scale: f64,
    ) -> Result<(), ReportError> {
        root.draw_text(
            &self.value_label,
            &text_style(16.0, BLACK, (HPos::Center, VPos::Center)),
            (centre, top + 2),
        )
        .map_err(chart_error)?;
        let (bar_top, bar_bottom) = (top + 14, top + 32);
        let left = centre - BAR_WIDTH / 2;
        for offset in 0..BAR_WIDTH {
            let t = offset as f64 / (BAR_WIDTH - 1) as f64 * 2.0 - 1.0;
            root.draw(&PathElement::new(
                vec![(left + offset, bar_top), (left + offset, bar_bottom)],
                diverging(t).stroke_width(1),
            ))
            .map_err(chart_error)?;
        }
        root.draw(&Rectangle::new(
            [(left, bar_top), (left + BAR_WIDTH - 1, bar_bottom)],
            RGBColor(120, 120, 120).stroke_width(1),
        ))
        .map_err(chart_error)?;
        for tick in 0..5 {
            let x = left + (BAR_WIDTH - 1) * tick / 4;
            let value = scale * (tick as f64 / 2.0 - 1.0);
            root.draw(&PathElement::new(
                vec![(x, bar_bottom), (x, bar_bottom + 5)],
                BLACK.stroke_width(1),
            ))
            .map_err(chart_error)?;
            root.draw_text(
                &signed(value),
                &text_style(14.0, BLACK, (HPos::Center, VPos::Top)),
                (x, bar_bottom + 8),
            )
            .map_err(chart_error)?;
        }
        root.draw_text(
            "muted, hatched cells: the 95% interval contains 0 or is unknown",
            &text_style(14.0, NOTE_GREY, (HPos::Center, VPos::Top)),
            (centre, bar_bottom + 32),
        )
        .map_err(chart_error)
    }
}

/// The largest font size up to `size` at which `text` fits in `width` pixels (at least 8).
fn fitting_size<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    width: i32,
    size: f64,
) -> Result<f64, ReportError> {
    let mut size = size;
    while size > 8.0 {
        let style = text_style(size, BLACK, (HPos::Center, VPos::Center));
        let (w, _) = area.estimate_text_size(text, &style).map_err(chart_error)?;
        if w as i32 <= width {
            break;
        }
        size -= 1.0;
    }
    Ok(size)
}

fn draw_cell<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ((x0, y0), (x1, y1)): ((i32, i32), (i32, i32)),
    cell: &HeatmapCell,
    scale: f64,
) -> Result<(), ReportError> {
    let resolved = cell.resolved();
    let full = diverging(cell.mean / scale);
    let fill = if resolved {
        full
    } else {
        blend(full, MUTED_GREY, MUTED_BLEND)
    };
    root.draw(&Rectangle::new([(x0, y0), (x1, y1)], fill.filled()))
        .map_err(chart_error)?;
    let text_colour = if resolved {
        text_colour_on(fill)
    } else {
        hatch(
            root,
            (x0, y0),
            (x1, y1),
            9,
            RGBColor(188, 188, 188).stroke_width(1),
        )?;
        root.draw(&Rectangle::new(
            [(x0, y0), (x1, y1)],
            RGBColor(160, 160, 160).stroke_width(1),
        ))
        .map_err(chart_error)?;
        NOTE_GREY
    };
    let centre_x = (x0 + x1) / 2;
    let centre_y = (y0 + y1) / 2;
    let interval = match (cell.low, cell.high) {
        (Some(low), Some(high)) => Some(format!("[{}, {}]", plain(low), plain(high))),
        _ => None,
    };
    let mean_y = if interval.is_some() {
        centre_y - 11
    } else {
        centre_y
    };
    let mean = signed(cell.mean);
    let size = fitting_size(root, &mean, x1 - x0 - 10, 20.0)?;
    let style = text_style(size, text_colour, (HPos::Center, VPos::Center));
    root.draw_text(&mean, &style, (centre_x, mean_y))
        .map_err(chart_error)?;
    if resolved {
        // The font has no bold face; a second pass one pixel over thickens the strokes instead.
        root.draw_text(&mean, &style, (centre_x + 1, mean_y))
            .map_err(chart_error)?;
    }
    if let Some(interval) = interval {
        let size = fitting_size(root, &interval, x1 - x0 - 10, 14.0)?;
        root.draw_text(
            &interval,
            &text_style(size, text_colour, (HPos::Center, VPos::Center)),
            (centre_x, centre_y + 16),
        )
        .map_err(chart_error)?;
    }
    Ok(())
}

/// A (rate, setting) without data: white, outlined, marked "n/a".
fn draw_missing<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ((x0, y0), (x1, y1)): ((i32, i32), (i32, i32)),
) -> Result<(), ReportError> {
    root.draw(&Rectangle::new(
        [(x0, y0), (x1, y1)],
        RGBColor(200, 200, 200).stroke_width(1),
    ))
    .map_err(chart_error)?;
    root.draw_text(
        "n/a",
        &text_style(16.0, NOTE_GREY, (HPos::Center, VPos::Center)),
        ((x0 + x1) / 2, (y0 + y1) / 2),
    )
    .map_err(chart_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charts::Chart;
    use crate::charts::test_support::{WITH_DATA, WITHOUT_DATA, count_near, render_checked};

    fn cell(rate: f64, epsilon: f64, mean: f64, interval: Option<(f64, f64)>) -> HeatmapCell {
        HeatmapCell {
            rate,
            setting: Setting::smoothing(epsilon),
            mean,
            low: interval.map(|i| i.0),
            high: interval.map(|i| i.1),
        }
    }

    fn example() -> GainHeatmap {
        GainHeatmap {
            title: "test accuracy gain over hard targets".into(),
            value_label: "accuracy difference (ε − hard targets)".into(),
            rate_label: "nominal noise rate".into(),
            rates: vec![0.0, 0.2, 0.4, 0.6],
            settings: [0.05, 0.1, 0.2].map(Setting::smoothing).to_vec(),
            cells: vec![
                cell(0.0, 0.05, -0.012, Some((-0.031, 0.007))),
                cell(0.2, 0.05, 0.031, Some((0.012, 0.050))),
                cell(0.4, 0.05, 0.081, Some((0.052, 0.110))),
                cell(0.6, 0.05, 0.102, None),
                cell(0.0, 0.1, -0.004, Some((-0.020, 0.012))),
                cell(0.2, 0.1, 0.062, Some((0.040, 0.084))),
                cell(0.4, 0.1, 0.150, Some((0.120, 0.180))),
                cell(0.6, 0.1, 0.219, Some((0.185, 0.254))),
                cell(0.0, 0.2, -0.021, Some((-0.035, -0.007))),
                cell(0.2, 0.2, 0.080, Some((0.060, 0.100))),
                cell(0.4, 0.2, 0.170, Some((0.150, 0.190))),
                // (0.6, 0.2) is missing; this cell is off the grid and must be ignored.
                cell(0.9, 0.2, 5.0, Some((4.0, 6.0))),
            ],
        }
    }

    #[test]
    fn numbers_carry_a_sign_and_the_minus_sign() {
        assert_eq!(signed(0.219), "+0.219");
        assert_eq!(signed(-0.012), "−0.012");
        assert_eq!(signed(-0.0001), "0.000");
        assert_eq!(plain(-0.031), "−0.031");
        assert_eq!(plain(-0.0001), "0.000");
        assert_eq!(plain(0.254), "0.254");
    }

    #[test]
    fn scale_is_symmetric_diverging_and_never_zero() {
        assert_eq!(diverging(-1.0), RAMP[0]);
        assert_eq!(diverging(0.0), RAMP[5]);
        assert_eq!(diverging(1.0), RAMP[10]);
        assert_eq!(diverging(7.0), RAMP[10]);
        let halfway = diverging(0.1);
        assert_eq!(halfway, blend(RAMP[5], RAMP[6], 0.5));
        // The off-grid cell's mean of 5 must not set the scale.
        assert!((example().scale() - 0.219).abs() < 1e-12);
        let zeros = GainHeatmap {
            cells: vec![cell(0.0, 0.05, 0.0, Some((0.0, 0.0)))],
            ..example()
        };
        assert_eq!(zeros.scale(), MIN_SCALE);
    }

    #[test]
    fn heatmap_renders_cells_annotations_and_colour_bar() {
        let heatmap = example();
        let chart = Chart::Heatmap(heatmap.clone());
        assert_eq!(chart.size(), (900, 60 + 3 * 90 + 160));
        let buffer = render_checked(&chart, WITH_DATA, 100);
        // The largest resolved gain is drawn at the full end of the scale.
        assert!(count_near(&buffer, [103, 0, 31], 0) > 5000);
        let svg = chart.render_svg().unwrap();
        for text in [
            "test accuracy gain over hard targets",
            "accuracy difference",
            "+0.219",
            "+0.170",
            "[0.185, 0.254]",
            "−0.012",
            "[−0.031, 0.007]",
            "ε = 0.1",
            "0.6",
            "n/a",
            "interval contains 0",
        ] {
            assert!(svg.contains(text), "{text:?} missing from the SVG");
        }
        assert!(!svg.contains("+5.000"), "an off-grid cell was drawn");
    }

    /// The share of a one-cell heatmap's cell pixels in the full colour of its mean.
    fn full_colour_share(interval: Option<(f64, f64)>) -> f64 {
        let heatmap = GainHeatmap {
            title: "one cell".into(),
            value_label: "gain".into(),
            rate_label: "nominal noise rate".into(),
            rates: vec![0.4],
            settings: vec![Setting::smoothing(0.1)],
            cells: vec![cell(0.4, 0.1, 0.2, interval)],
        };
        let chart = Chart::Heatmap(heatmap.clone());
        let buffer = chart.render_rgb().unwrap();
        let (width, _) = chart.size();
        let ((x0, y0), (x1, y1)) = Layout::of(&heatmap).cell(0, 0);
        let full = diverging(1.0);
        let (mut total, mut matching) = (0, 0);
        for y in y0..=y1 {
            for x in x0..=x1 {
                let at = (y as usize * width as usize + x as usize) * 3;
                total += 1;
                if buffer[at..at + 3] == [full.0, full.1, full.2] {
                    matching += 1;
                }
            }
        }
        matching as f64 / total as f64
    }

    #[test]
    fn cells_whose_interval_contains_zero_are_muted() {
        let resolved = full_colour_share(Some((0.1, 0.3)));
        let straddling = full_colour_share(Some((-0.1, 0.5)));
        let unknown = full_colour_share(None);
        assert!(
            resolved > 0.8,
            "resolved cell only {resolved:.3} full colour"
        );
        assert_eq!(straddling, 0.0);
        assert_eq!(unknown, 0.0);
    }

    #[test]
    fn odd_heatmaps_still_render() {
        let all_muted = GainHeatmap {
            cells: example()
                .cells
                .into_iter()
                .map(|c| HeatmapCell {
                    low: Some(-1.0),
                    high: Some(1.0),
                    ..c
                })
                .collect(),
            ..example()
        };
        let buffer = render_checked(&Chart::Heatmap(all_muted), WITH_DATA, 50);
        assert_eq!(count_near(&buffer, [103, 0, 31], 0), 0);

        let all_zero = GainHeatmap {
            cells: vec![cell(0.0, 0.05, 0.0, Some((0.0, 0.0)))],
            ..example()
        };
        render_checked(&Chart::Heatmap(all_zero), WITH_DATA, 20);

        let empty = Chart::Heatmap(GainHeatmap {
            title: "nothing yet".into(),
            value_label: "gain".into(),
            rate_label: "nominal noise rate".into(),
            rates: Vec::new(),
            settings: Vec::new(),
            cells: Vec::new(),
        });
        render_checked(&empty, WITHOUT_DATA, 3);
        assert!(empty.render_svg().unwrap().contains("no data"));

        let many_columns = GainHeatmap {
            rates: (0..10).map(|i| i as f64 / 10.0).collect(),
            ..example()
        };
        let chart = Chart::Heatmap(many_columns);
        assert!(chart.size().0 >= 10 * MIN_COLUMN_WIDTH as u32);
        render_checked(&chart, WITH_DATA, 50);
    }
}
