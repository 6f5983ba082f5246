//! Charts of a sweep's results, drawn with plotters and an embedded font: lines with confidence
//! bands, gain heatmaps, noise transition matrices, reliability diagrams and two-dimensional
//! projections.
//!
//! Every chart is a plain data struct that the caller fills; this module computes no statistics.
//! [`Chart`] gathers the kinds so that each can be written as PNG, SVG or an in-memory RGB buffer.

mod heatmap;
mod lines;
mod matrix;
mod projection;
mod reliability;

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};

use crate::ReportError;
use crate::setting::SettingStyle;

pub use heatmap::{GainHeatmap, HeatmapCell};
pub use lines::{
    ChartPoint, ChartSeries, LineChart, LinePanel, accuracy_vs_noise_chart, auto_y_range,
    metric_vs_noise_series, series_colour,
};
pub use matrix::TransitionChart;
pub use projection::{ProjectionChart, ProjectionPanel, ProjectionPoint};
pub use reliability::{ReliabilityBin, ReliabilityChart, ReliabilityPanel};

/// DejaVu Sans, subset (ASCII, lowercase Greek, ±, ×, −, °); licence in `assets/DejaVu-LICENSE`.
const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans-subset.ttf");
const FAMILY: &str = "sans-serif";
/// Colours of ε ≠ 0, by the rank of ε among the positive values (tab10 without grey).
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
/// Colours of the robust losses: darker and warmer than [`PALETTE`], so that they are told apart
/// from the ε lines at a glance (and drawn with triangles, not circles).
const ROBUST_PALETTE: [RGBColor; 8] = [
    RGBColor(128, 0, 0),
    RGBColor(47, 79, 79),
    RGBColor(75, 0, 130),
    RGBColor(184, 134, 11),
    RGBColor(0, 128, 128),
    RGBColor(139, 69, 19),
    RGBColor(199, 21, 133),
    RGBColor(128, 128, 0),
];
/// Text colour of notes, missing values and muted annotations: readable, but clearly secondary.
const NOTE_GREY: RGBColor = RGBColor(105, 105, 105);
/// Height of a chart's overall title strip in pixels.
const TITLE_HEIGHT: u32 = 50;
/// Height of the legend strip that grid charts draw once under their title.
const LEGEND_HEIGHT: u32 = 40;

/// Any chart the reporter draws.
#[derive(Debug, Clone, PartialEq)]
pub enum Chart {
    /// Lines with 95% bands, one or more panels side by side.
    Lines(LineChart),
    /// Differences on a noise rate × ε grid, coloured on a diverging scale.
    Heatmap(GainHeatmap),
    /// A realised noise transition matrix: clean class × given label, coloured by row share.
    Transitions(TransitionChart),
    /// Several transition matrices side by side (one per label set).
    TransitionPanels(Vec<TransitionChart>),
    /// Reliability diagrams (accuracy against confidence), one panel per model.
    Reliability(ReliabilityChart),
    /// Scatter plots of two-dimensional projections, one panel per model.
    Projection(ProjectionChart),
}

impl Chart {
    /// The chart's size in pixels, width then height; it depends on the kind and the panels.
    pub fn size(&self) -> (u32, u32) {
        match self {
            Chart::Lines(chart) => chart.size(),
            Chart::Heatmap(chart) => chart.size(),
            Chart::Transitions(chart) => chart.size(),
            Chart::TransitionPanels(charts) => matrix::panels_size(charts),
            Chart::Reliability(chart) => chart.size(),
            Chart::Projection(chart) => chart.size(),
        }
    }

    /// Draws the chart into a PNG file at `path`.
    pub fn write_png(&self, path: &Path) -> Result<(), ReportError> {
        register_embedded_font()?;
        let root = BitMapBackend::new(path, self.size()).into_drawing_area();
        self.draw(&root)?;
        root.present().map_err(chart_error)
    }

    /// Draws the chart as an SVG document.
    pub fn render_svg(&self) -> Result<String, ReportError> {
        register_embedded_font()?;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, self.size()).into_drawing_area();
            self.draw(&root)?;
            root.present().map_err(chart_error)?;
        }
        Ok(svg)
    }

    /// Draws the chart into memory: `width × height × 3` bytes, RGB, rows from top to bottom.
    pub fn render_rgb(&self) -> Result<Vec<u8>, ReportError> {
        register_embedded_font()?;
        let (width, height) = self.size();
        let mut buffer = vec![0; width as usize * height as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut buffer, (width, height)).into_drawing_area();
            self.draw(&root)?;
            root.present().map_err(chart_error)?;
        }
        Ok(buffer)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ReportError> {
        root.fill(&WHITE).map_err(chart_error)?;
        match self {
            Chart::Lines(chart) => chart.draw(root),
            Chart::Heatmap(chart) => chart.draw(root),
            Chart::Transitions(chart) => chart.draw(root),
            Chart::TransitionPanels(charts) => matrix::draw_panels(charts, root),
            Chart::Reliability(chart) => chart.draw(root),
            Chart::Projection(chart) => chart.draw(root),
        }
    }
}

impl From<LineChart> for Chart {
    fn from(chart: LineChart) -> Self {
        Chart::Lines(chart)
    }
}

impl From<GainHeatmap> for Chart {
    fn from(chart: GainHeatmap) -> Self {
        Chart::Heatmap(chart)
    }
}

impl From<TransitionChart> for Chart {
    fn from(chart: TransitionChart) -> Self {
        Chart::Transitions(chart)
    }
}

impl From<ReliabilityChart> for Chart {
    fn from(chart: ReliabilityChart) -> Self {
        Chart::Reliability(chart)
    }
}

impl From<ProjectionChart> for Chart {
    fn from(chart: ProjectionChart) -> Self {
        Chart::Projection(chart)
    }
}

/// The colour of a setting in every chart: black for hard targets (ε = 0), the first palette
/// for label smoothing and the second for the robust losses, each by the setting's rank within
/// its family (see [`Setting::style`](crate::Setting::style)).
pub fn setting_colour(style: SettingStyle) -> RGBColor {
    match style {
        SettingStyle::Hard => BLACK,
        SettingStyle::Smoothing(rank) => PALETTE[rank % PALETTE.len()],
        SettingStyle::Robust(rank) => ROBUST_PALETTE[rank % ROBUST_PALETTE.len()],
    }
}

/// A number for labels and axis ticks: at most four decimals, trailing zeros dropped and the minus
/// sign for negatives, so that `0.30000000000000004` reads `0.3` and epoch 10 reads `10`.
pub fn short_number(value: f64) -> String {
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    match text {
        "-0" | "" => "0".to_string(),
        _ => text.replace('-', "−"),
    }
}

/// `from` moved a share `toward_share` of the way to `to`; heatmaps interpolate their colour ramps
/// and mute cells with it.
fn blend(from: RGBColor, to: RGBColor, toward_share: f64) -> RGBColor {
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * toward_share).round() as u8;
    RGBColor(mix(from.0, to.0), mix(from.1, to.1), mix(from.2, to.2))
}

/// Text colour readable on `fill`: white on dark cells, near-black on light ones.
fn text_colour_on(fill: RGBColor) -> RGBColor {
    let luminance = 0.2126 * fill.0 as f64 + 0.7152 * fill.1 as f64 + 0.0722 * fill.2 as f64;
    if luminance < 128.0 {
        WHITE
    } else {
        RGBColor(20, 20, 20)
    }
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

/// A plotters drawing error as the crate's error.
fn chart_error<E: std::error::Error + Send + Sync>(error: DrawingAreaErrorKind<E>) -> ReportError {
    ReportError::Chart(error.to_string())
}

/// A text style in the embedded font, anchored at `pos`.
fn text_style(size: f64, colour: RGBColor, pos: (HPos, VPos)) -> TextStyle<'static> {
    TextStyle {
        font: (FAMILY, size).into_font(),
        color: colour.to_backend_color(),
        pos: Pos::new(pos.0, pos.1),
    }
}

/// Pixels kept free on each side of a title, so that no glyph touches the chart's border.
const TITLE_SIDE_MARGIN: u32 = 10;
/// Font size of a chart's title when it fits on one line.
const TITLE_FONT: f64 = 24.0;
/// The smallest font of a one-line title before two lines are tried.
const TITLE_ONE_LINE_FONT: f64 = 18.0;
/// The largest font at which two title lines fit in [`TITLE_HEIGHT`].
const TITLE_TWO_LINE_FONT: f64 = 19.0;
/// The smallest font of a title: below it, the title is shortened instead.
const TITLE_MIN_FONT: f64 = 12.0;

/// The width in pixels of `text` drawn at `size` in the embedded font, as `area`'s backend
/// measures it.
fn text_width<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    size: f64,
) -> Result<u32, ReportError> {
    let style = text_style(size, BLACK, (HPos::Left, VPos::Top));
    Ok(area
        .estimate_text_size(text, &style)
        .map_err(chart_error)?
        .0)
}

/// `text` cut at a character boundary and ended with `...` so that it is at most `width` pixels
/// wide at `size` (just `...` if nothing else fits).
fn shortened<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    size: f64,
    width: u32,
) -> Result<String, ReportError> {
    let chars: Vec<char> = text.chars().collect();
    for keep in (0..chars.len()).rev() {
        let candidate = format!("{}...", chars[..keep].iter().collect::<String>().trim_end());
        if text_width(area, &candidate, size)? <= width {
            return Ok(candidate);
        }
    }
    Ok("...".to_string())
}

/// The largest whole font size from `max` down to `min` at which `text` fits in `width` pixels
/// on one line, and the text; if none does, the text shortened to fit at `min`.
pub(crate) fn fit_line<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    max: f64,
    min: f64,
    width: u32,
) -> Result<(String, f64), ReportError> {
    let mut size = max;
    while size >= min {
        if text_width(area, text, size)? <= width {
            return Ok((text.to_string(), size));
        }
        size -= 1.0;
    }
    Ok((shortened(area, text, min, width)?, min))
}

/// How a title is laid out in `width` pixels: one line, shrunk from [`TITLE_FONT`] down to
/// [`TITLE_ONE_LINE_FONT`] as needed; failing that, two lines split at a space, from
/// [`TITLE_TWO_LINE_FONT`] down to [`TITLE_MIN_FONT`]; failing that, two lines at that size, the
/// second shortened with `...`. Measured with the chart's font, so the title fits whatever the
/// backend.
pub(crate) fn fit_title<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    width: u32,
) -> Result<(Vec<String>, f64), ReportError> {
    let mut size = TITLE_FONT;
    while size >= TITLE_ONE_LINE_FONT {
        if text_width(area, title, size)? <= width {
            return Ok((vec![title.to_string()], size));
        }
        size -= 1.0;
    }
    let spaces: Vec<usize> = title.match_indices(' ').map(|(i, _)| i).collect();
    let mut size = TITLE_TWO_LINE_FONT;
    while size >= TITLE_MIN_FONT && !spaces.is_empty() {
        // The split whose longer line is shortest.
        let mut best: Option<(u32, usize)> = None;
        for &at in &spaces {
            let longer = text_width(area, title[..at].trim_end(), size)?.max(text_width(
                area,
                title[at..].trim_start(),
                size,
            )?);
            if best.is_none_or(|(w, _)| longer < w) {
                best = Some((longer, at));
            }
        }
        if let Some((longer, at)) = best
            && longer <= width
        {
            let lines = vec![
                title[..at].trim_end().to_string(),
                title[at..].trim_start().to_string(),
            ];
            return Ok((lines, size));
        }
        size -= 1.0;
    }
    // Still too long: as much as fits on the first line (up to a space), the rest shortened.
    let mut first = None;
    for &at in &spaces {
        if text_width(area, title[..at].trim_end(), TITLE_MIN_FONT)? <= width {
            first = Some(at);
        }
    }
    let Some(at) = first else {
        let (line, size) = fit_line(area, title, TITLE_MIN_FONT, TITLE_MIN_FONT, width)?;
        return Ok((vec![line], size));
    };
    let second = shortened(area, title[at..].trim_start(), TITLE_MIN_FONT, width)?;
    Ok((
        vec![title[..at].trim_end().to_string(), second],
        TITLE_MIN_FONT,
    ))
}

/// Draws `title` centred at the top of `root`, fitted to its width (see [`fit_title`]), and
/// returns the area below it, so that every chart kind places its caption alike; an empty title
/// leaves a thin margin only.
fn titled<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<DrawingArea<DB, Shift>, ReportError> {
    if title.is_empty() {
        return Ok(root.margin(10, 0, 0, 0));
    }
    let (width, _) = root.dim_in_pixel();
    let (lines, size) = fit_title(root, title, width.saturating_sub(2 * TITLE_SIDE_MARGIN))?;
    let style = text_style(size, BLACK, (HPos::Center, VPos::Center));
    let line_height = (size * 1.2).round() as i32;
    let first = TITLE_HEIGHT as i32 / 2 - line_height * (lines.len() as i32 - 1) / 2;
    for (i, line) in lines.iter().enumerate() {
        root.draw_text(
            line,
            &style,
            (width as i32 / 2, first + line_height * i as i32),
        )
        .map_err(chart_error)?;
    }
    Ok(root.margin(TITLE_HEIGHT, 0, 0, 0))
}

/// Writes a grey note such as "no data" in the middle of `area`, so that a chart without data
/// still says why it is empty instead of failing.
fn draw_note<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    note: &str,
) -> Result<(), ReportError> {
    let (width, height) = area.dim_in_pixel();
    let style = text_style(20.0, NOTE_GREY, (HPos::Center, VPos::Center));
    area.draw_text(note, &style, (width as i32 / 2, height as i32 / 2))
        .map_err(chart_error)
}

/// The pixel size of a grid chart: `n_panels` panels of `panel` pixels in rows of `columns`
/// (see [`grid_shape`]) under the title and the legend strip, at least `min_width` wide.
fn grid_chart_size(
    n_panels: usize,
    columns: usize,
    panel: (u32, u32),
    min_width: u32,
) -> (u32, u32) {
    let (rows, columns) = grid_shape(n_panels, columns);
    (
        (panel.0 * columns as u32).max(min_width),
        TITLE_HEIGHT + LEGEND_HEIGHT + panel.1 * rows as u32,
    )
}

/// Draws a grid chart: the title, one legend strip for all panels, then each panel in its cell
/// by `draw_panel`; a chart without panels shows "no data".
fn draw_grid_chart<DB: DrawingBackend, P>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    legend: &[(Swatch, &str)],
    panels: &[P],
    columns: usize,
    draw_panel: impl Fn(&DrawingArea<DB, Shift>, &P) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    let body = titled(root, title)?;
    if panels.is_empty() {
        return draw_note(&body, "no data");
    }
    let (legend_area, grid) = body.split_vertically(LEGEND_HEIGHT);
    legend_strip(&legend_area, legend)?;
    let shape = grid_shape(panels.len(), columns);
    for (panel, area) in panels.iter().zip(grid.split_evenly(shape)) {
        draw_panel(&area, panel)?;
    }
    Ok(())
}

/// Rows and columns of a grid of `panels` panels with at most `columns` columns; never fewer
/// than one of each, and no more columns than panels so that a lone panel is not squeezed.
fn grid_shape(panels: usize, columns: usize) -> (usize, usize) {
    let columns = columns.clamp(1, panels.max(1));
    (panels.div_ceil(columns).max(1), columns)
}

/// Draws 45° hatching inside the pixel rectangle `(x0, y0)`–`(x1, y1)` of `area`, `spacing` pixels
/// apart. Hatching marks a region by texture as well as colour, which survives grey-scale prints
/// and colour-blind readers.
fn hatch<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (x0, y0): (i32, i32),
    (x1, y1): (i32, i32),
    spacing: i32,
    style: ShapeStyle,
) -> Result<(), ReportError> {
    let (x0, x1) = (x0.min(x1), x0.max(x1));
    let (y0, y1) = (y0.min(y1), y0.max(y1));
    if x1 - x0 < 2 || y1 - y0 < 2 {
        return Ok(());
    }
    // Lines y = x − c, for every c that crosses the rectangle.
    let mut c = x0 - y1 + spacing / 2;
    while c < x1 - y0 {
        let start = x0.max(y0 + c);
        let end = x1.min(y1 + c);
        if end > start {
            area.draw(&PathElement::new(
                vec![(start, start - c), (end, end - c)],
                style,
            ))
            .map_err(chart_error)?;
        }
        c += spacing.max(2);
    }
    Ok(())
}

/// A legend entry's mark.
#[derive(Debug, Clone, Copy)]
enum Swatch {
    /// A filled box.
    Filled(RGBColor, f64),
    /// A hatched, outlined box.
    Hatched(RGBColor),
    /// A dashed line.
    Dashed(RGBColor),
    /// A filled circle.
    Dot(RGBColor),
}

/// Draws one row of legend entries centred in `area`, for grid charts whose panels share one
/// legend: repeating it in every panel would hide data.
fn legend_strip<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[(Swatch, &str)],
) -> Result<(), ReportError> {
    let style = text_style(16.0, BLACK, (HPos::Left, VPos::Center));
    let swatch_width = 26;
    let gap = 28;
    let mut widths = Vec::with_capacity(entries.len());
    for (_, label) in entries {
        let (w, _) = area
            .estimate_text_size(label, &style)
            .map_err(chart_error)?;
        widths.push(swatch_width + 8 + w as i32);
    }
    let total: i32 = widths.iter().sum::<i32>() + gap * (entries.len() as i32 - 1).max(0);
    let (width, height) = area.dim_in_pixel();
    let mut x = ((width as i32 - total) / 2).max(4);
    let y = height as i32 / 2;
    for ((swatch, label), w) in entries.iter().zip(widths) {
        let (top_left, bottom_right) = ((x, y - 8), (x + swatch_width, y + 8));
        match *swatch {
            Swatch::Filled(colour, opacity) => {
                area.draw(&Rectangle::new(
                    [top_left, bottom_right],
                    colour.mix(opacity).filled(),
                ))
                .map_err(chart_error)?;
                area.draw(&Rectangle::new(
                    [top_left, bottom_right],
                    colour.stroke_width(1),
                ))
                .map_err(chart_error)?;
            }
            Swatch::Hatched(colour) => {
                hatch(
                    area,
                    top_left,
                    bottom_right,
                    5,
                    colour.mix(0.7).stroke_width(1),
                )?;
                area.draw(&Rectangle::new(
                    [top_left, bottom_right],
                    colour.stroke_width(1),
                ))
                .map_err(chart_error)?;
            }
            Swatch::Dashed(colour) => {
                for start in (0..swatch_width).step_by(9) {
                    let end = (start + 5).min(swatch_width);
                    area.draw(&PathElement::new(
                        vec![(x + start, y), (x + end, y)],
                        colour.stroke_width(2),
                    ))
                    .map_err(chart_error)?;
                }
            }
            Swatch::Dot(colour) => {
                area.draw(&Circle::new((x + swatch_width / 2, y), 6, colour.filled()))
                    .map_err(chart_error)?;
            }
        }
        area.draw_text(label, &style, (x + swatch_width + 8, y))
            .map_err(chart_error)?;
        x += w + gap;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Checks shared by the tests of every chart kind.

    use std::collections::HashSet;

    use super::Chart;

    /// Share of drawn (non-white) pixels that a chart with data must exceed.
    pub const WITH_DATA: f64 = 0.01;
    /// Share that a chart without data (title and note only) must exceed.
    pub const WITHOUT_DATA: f64 = 0.001;

    /// Renders `chart` into memory, checks the buffer has the advertised size, more than
    /// `min_share` of its pixels drawn but not nearly all, and at least `min_colours` distinct
    /// colours, and returns it.
    pub fn render_checked(chart: &Chart, min_share: f64, min_colours: usize) -> Vec<u8> {
        let (width, height) = chart.size();
        let buffer = chart.render_rgb().unwrap();
        assert_eq!(buffer.len(), width as usize * height as usize * 3);
        let pixels = buffer.len() / 3;
        let non_white = buffer
            .chunks_exact(3)
            .filter(|p| p != &[255, 255, 255])
            .count();
        let share = non_white as f64 / pixels as f64;
        assert!(share > min_share, "only {share:.4} of the pixels are drawn");
        assert!(share < 0.9, "{share:.4} of the pixels are drawn: flooded");
        let colours: HashSet<&[u8]> = buffer.chunks_exact(3).collect();
        assert!(
            colours.len() >= min_colours,
            "{} distinct colours, expected at least {min_colours}",
            colours.len()
        );
        buffer
    }

    /// Pixels of the RGB `buffer` within `tolerance` of `colour` in every channel.
    pub fn count_near(buffer: &[u8], colour: [u8; 3], tolerance: u8) -> usize {
        buffer
            .chunks_exact(3)
            .filter(|p| {
                p.iter()
                    .zip(colour)
                    .all(|(&a, b)| a.abs_diff(b) <= tolerance)
            })
            .count()
    }

    /// `colour` drawn with `opacity` over white, as the bitmap backend blends it.
    pub fn over_white(colour: plotters::style::RGBColor, opacity: f64) -> [u8; 3] {
        let blend = |c: u8| (c as f64 * opacity + 255.0 * (1.0 - opacity)).round() as u8;
        [blend(colour.0), blend(colour.1), blend(colour.2)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The leftmost and rightmost columns with ink when `text` is drawn at x = 20 in a bitmap.
    fn ink_columns(text: &str) -> (usize, usize) {
        register_embedded_font().unwrap();
        let (width, height) = (200usize, 60usize);
        let mut buffer = vec![255u8; width * height * 3];
        {
            let root = BitMapBackend::with_buffer(&mut buffer, (width as u32, height as u32))
                .into_drawing_area();
            root.draw_text(
                text,
                &text_style(40.0, BLACK, (HPos::Left, VPos::Top)),
                (20, 5),
            )
            .unwrap();
            root.present().unwrap();
        }
        let inked: Vec<usize> = (0..width)
            .filter(|&x| (0..height).any(|y| buffer[(y * width + x) * 3] < 128))
            .collect();
        (inked[0], *inked.last().unwrap())
    }

    /// Bitmap text places each glyph at its outline's left edge: plotters 0.3.7 dropped that
    /// offset, so a glyph with a side bearing was drawn too far left and "cl" read as "d". DejaVu
    /// Sans's "l" has a left side bearing of about 0.09 em (3.8 px at 40 px); the two "l"s of
    /// "ll" must be parted by the bearings on both sides.
    #[test]
    fn bitmap_glyphs_keep_their_side_bearings() {
        let (left, _) = ink_columns("l");
        assert!(
            left >= 22,
            "the stem of \"l\" starts at {left}, its pen at 20"
        );
        let (_, single_right) = ink_columns("l");
        let (_, double_right) = ink_columns("ll");
        let (single_left, _) = ink_columns("l");
        let stem = single_right - single_left + 1;
        // The second stem is one advance to the right; with the bug both stems start at their
        // pen positions and the gap between them loses the bearings.
        let gap = double_right - single_right - stem;
        assert!(gap >= 5, "gap between the stems of \"ll\": {gap} px");
    }

    #[test]
    fn setting_colours_are_black_for_hard_targets_and_ranked_per_family() {
        assert_eq!(setting_colour(SettingStyle::Hard), BLACK);
        assert_eq!(setting_colour(SettingStyle::Smoothing(0)), PALETTE[0]);
        assert_eq!(
            setting_colour(SettingStyle::Smoothing(PALETTE.len() + 1)),
            PALETTE[1]
        );
        assert_eq!(setting_colour(SettingStyle::Robust(0)), ROBUST_PALETTE[0]);
        for colour in ROBUST_PALETTE {
            assert!(!PALETTE.contains(&colour));
        }
    }

    #[test]
    fn labels_are_short_and_use_the_minus_sign() {
        assert_eq!(short_number(0.1 + 0.2), "0.3");
        assert_eq!(short_number(-0.25), "−0.25");
        assert_eq!(short_number(-0.00001), "0");
    }

    #[test]
    fn grids_have_at_least_one_cell_and_no_empty_columns() {
        assert_eq!(grid_shape(4, 2), (2, 2));
        assert_eq!(grid_shape(3, 2), (2, 2));
        assert_eq!(grid_shape(1, 2), (1, 1));
        assert_eq!(grid_shape(0, 0), (1, 1));
        assert_eq!(grid_shape(5, 0), (5, 1));
    }
}
