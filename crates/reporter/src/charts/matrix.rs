//! Transition-matrix heatmaps: the realised label noise of a training split, one row per clean
//! class and one column per given (noisy) label, each cell coloured by its share of the row on a
//! sequential scale, with the diagonal outlined so that kept labels stand out whatever the shares.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontTransform;
use plotters::style::text_anchor::{HPos, VPos};

use super::{
    NOTE_GREY, blend, chart_error, draw_note, fit_line, hatch, short_number, text_colour_on,
    text_style, text_width, titled,
};
use crate::ReportError;

/// Side of a cell for up to 12 classes (`GRID_BUDGET / MAX_CELL`).
const MAX_CELL: i32 = 60;
/// Smallest side of a cell, reached from about 50 classes on: CIFAR-100's 100 classes still give
/// a 1400-pixel grid in which every cell can be seen.
const MIN_CELL: i32 = 14;
/// Width and height of the grid that cells shrink to share once there are more than 12 classes.
const GRID_BUDGET: i32 = 720;
/// Smallest cell that holds its count; in smaller cells only the colour speaks.
const MIN_TEXT_CELL: i32 = 24;
/// Smallest cell that holds the share over the count in two lines.
const MIN_TWO_LINE_CELL: i32 = 40;
/// Width of the row labels, right-aligned against the grid.
const ROW_LABEL_WIDTH: i32 = 120;
/// Space left of the grid: the rotated axis title, the row labels and gaps between them.
const LEFT: i32 = 170;
/// Blank margin right of the grid.
const RIGHT: i32 = 40;
/// Top of the grid: below the title strip.
const TOP: i32 = super::TITLE_HEIGHT as i32 + 10;
/// Height of the column-label band when the labels are written horizontally.
const HORIZONTAL_LABELS: i32 = 28;
/// Height of the column-label band when the labels are rotated to read upwards.
const ROTATED_LABELS: i32 = 96;
/// Space under the column labels for the axis title, the colour bar and its note.
const BOTTOM: i32 = 150;
/// Narrowest chart, as the gain heatmap's, so that the title, colour bar and note fit however
/// few classes there are.
const MIN_WIDTH: i32 = 900;
/// Width of the colour bar.
const BAR_WIDTH: i32 = 360;
/// Smallest font of text inside cells; text that does not fit at this size is left out.
const MIN_CELL_FONT: f64 = 8.0;
/// Rough width of a label character in pixels at the smallest horizontal label font, used to
/// decide before any text is measured whether the column labels are written across or upwards.
const LABEL_CHAR_WIDTH: i32 = 6;
/// ColorBrewer Blues with 9 classes, from near-white (share 0) to dark blue (share 1): sequential,
/// safe for the common colour-vision deficiencies and legible in grey scale.
const RAMP: [RGBColor; 9] = [
    RGBColor(247, 251, 255),
    RGBColor(222, 235, 247),
    RGBColor(198, 219, 239),
    RGBColor(158, 202, 225),
    RGBColor(107, 174, 214),
    RGBColor(66, 146, 198),
    RGBColor(33, 113, 181),
    RGBColor(8, 81, 156),
    RGBColor(8, 48, 107),
];
/// Outline of the diagonal cells: dark enough to show on the light end of the ramp, and set off
/// from the dark end by the white lines between cells.
const DIAGONAL_OUTLINE: RGBColor = RGBColor(25, 25, 25);
/// Fill of a row without samples, the heatmap's muted grey.
const MISSING_FILL: RGBColor = RGBColor(232, 232, 232);
/// Hatching over a row without samples.
const MISSING_HATCH: RGBColor = RGBColor(188, 188, 188);
/// Outline of a row without samples and frame of the whole grid.
const FRAME_GREY: RGBColor = RGBColor(160, 160, 160);
/// Text of cells with a count of zero: present, so that no cell reads as unknown, but quiet.
const ZERO_GREY: RGBColor = RGBColor(150, 150, 150);

/// A realised noise transition matrix: how many training samples of each clean class were given
/// each label. Rows are clean classes, columns given labels, both in class-index order; a cell's
/// colour is its share of the row, so rows are comparable however unbalanced the classes.
#[derive(Debug, Clone, PartialEq)]
pub struct TransitionChart {
    /// Caption above the grid.
    pub title: String,
    /// Class labels, by class index (row i and column i); long names are shrunk and shortened.
    pub classes: Vec<String>,
    /// counts\[clean\]\[noisy\], K × K with K = `classes.len()`; any other shape draws a note
    /// instead of a grid. A row of zeros (a class without samples) is drawn hatched.
    pub counts: Vec<Vec<u64>>,
}

/// What a cell of a given size holds besides its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CellText {
    /// The share of the row over the count in brackets: "0.80" over "(113)".
    ShareAndCount,
    /// The count alone.
    Count,
    /// Nothing: the cell is too small to hold legible text.
    Nothing,
}

/// Pixel geometry of a transition chart, shared by drawing and tests.
struct Layout {
    /// K, or 0 when there is no grid to draw (no classes, or counts of the wrong shape).
    classes: usize,
    width: i32,
    cell: i32,
    grid_left: i32,
    /// Whether the column labels are written across (short labels in wide cells) or upwards.
    horizontal_labels: bool,
}

impl Layout {
    fn of(chart: &TransitionChart) -> Self {
        let classes = chart.grid_classes().unwrap_or(0);
        let cell = cell_size(classes);
        let grid = cell * classes as i32;
        let width = MIN_WIDTH.max(LEFT + grid + RIGHT);
        // The grid is centred under the title where there is room, else it starts after the
        // row labels.
        let grid_left = LEFT.max((width - grid) / 2);
        let horizontal_labels = chart.classes.iter().all(|label| {
            cell >= MIN_TWO_LINE_CELL && label.chars().count() as i32 * LABEL_CHAR_WIDTH <= cell - 4
        });
        Layout {
            classes,
            width,
            cell,
            grid_left,
            horizontal_labels,
        }
    }

    fn label_band(&self) -> i32 {
        if self.horizontal_labels {
            HORIZONTAL_LABELS
        } else {
            ROTATED_LABELS
        }
    }

    fn size(&self) -> (u32, u32) {
        let grid = self.cell * self.classes.max(1) as i32;
        (
            self.width as u32,
            (TOP + grid + self.label_band() + BOTTOM) as u32,
        )
    }

    fn text(&self) -> CellText {
        if self.cell >= MIN_TWO_LINE_CELL {
            CellText::ShareAndCount
        } else if self.cell >= MIN_TEXT_CELL {
            CellText::Count
        } else {
            CellText::Nothing
        }
    }

    /// Top-left and bottom-right pixels of a cell, inset by one pixel so that cells are parted
    /// by thin white lines.
    fn cell(&self, row: usize, column: usize) -> ((i32, i32), (i32, i32)) {
        let x = self.grid_left + self.cell * column as i32;
        let y = TOP + self.cell * row as i32;
        ((x + 1, y + 1), (x + self.cell - 1, y + self.cell - 1))
    }

    fn grid_right(&self) -> i32 {
        self.grid_left + self.cell * self.classes as i32
    }

    fn grid_bottom(&self) -> i32 {
        TOP + self.cell * self.classes as i32
    }

    fn grid_centre(&self) -> i32 {
        (self.grid_left + self.grid_right()) / 2
    }
}

/// The side of a cell for `classes` classes: [`MAX_CELL`] up to 12 classes, then shrinking so
/// that the grid stays about [`GRID_BUDGET`] pixels, down to [`MIN_CELL`].
fn cell_size(classes: usize) -> i32 {
    let classes = classes.clamp(1, GRID_BUDGET as usize) as i32;
    (GRID_BUDGET / classes).clamp(MIN_CELL, MAX_CELL)
}

/// The ramp's colour at `share` in [0, 1], linear between the classes.
fn sequential(share: f64) -> RGBColor {
    let position = share.clamp(0.0, 1.0) * (RAMP.len() - 1) as f64;
    let index = (position.floor() as usize).min(RAMP.len() - 2);
    blend(RAMP[index], RAMP[index + 1], position - index as f64)
}

/// A share for a cell, with two decimals; shares that would round to 0 or 1 without being so are
/// written "<0.01" and ">0.99", so that the text never hides a flip or invents a clean row.
fn share_text(count: u64, total: u128) -> String {
    let share = count as f64 / total as f64;
    if count as u128 == total {
        "1.00".to_string()
    } else if share < 0.005 {
        "<0.01".to_string()
    } else if share >= 0.995 {
        ">0.99".to_string()
    } else {
        format!("{share:.2}")
    }
}

/// The largest whole font size from `max` down to `min` at which `text` fits in `width` pixels,
/// or `None` if it does not fit even at `min`: cell text is left out rather than overflowing.
fn fitting_font<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    width: i32,
    max: f64,
    min: f64,
) -> Result<Option<f64>, ReportError> {
    let mut size = max.floor();
    while size >= min {
        if text_width(area, text, size)? as i32 <= width {
            return Ok(Some(size));
        }
        size -= 1.0;
    }
    Ok(None)
}

impl TransitionChart {
    pub(super) fn size(&self) -> (u32, u32) {
        Layout::of(self).size()
    }

    /// K when the counts are K × K with K = `classes.len()` ≥ 1, the only shape drawn as a grid.
    fn grid_classes(&self) -> Option<usize> {
        let classes = self.classes.len();
        let square = self.counts.len() == classes && self.counts.iter().all(|r| r.len() == classes);
        (classes > 0 && square).then_some(classes)
    }

    pub(super) fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> Result<(), ReportError> {
        let body = titled(root, &self.title)?;
        if self.classes.is_empty() && self.counts.is_empty() {
            return draw_note(&body, "no data");
        }
        if self.grid_classes().is_none() {
            let classes = self.classes.len();
            let note = if classes == 0 {
                "no data: counts given without class labels".to_string()
            } else {
                format!("no data: {classes} class labels need {classes} × {classes} counts")
            };
            return draw_note(&body, &note);
        }
        let layout = Layout::of(self);
        let mut missing_rows = false;
        for (row, counts) in self.counts.iter().enumerate() {
            self.draw_row_label(root, &layout, row)?;
            let total: u128 = counts.iter().map(|&c| c as u128).sum();
            if total == 0 {
                missing_rows = true;
                draw_missing_row(root, &layout, row)?;
                continue;
            }
            for (column, &count) in counts.iter().enumerate() {
                draw_cell(root, &layout, (row, column), count, total)?;
            }
        }
        root.draw(&Rectangle::new(
            [
                (layout.grid_left, TOP),
                (layout.grid_right(), layout.grid_bottom()),
            ],
            FRAME_GREY.mix(0.6).stroke_width(1),
        ))
        .map_err(chart_error)?;
        let label_end = self.draw_column_labels(root, &layout)?;
        self.draw_axis_titles(root, &layout, label_end)?;
        draw_colour_bar(
            root,
            &layout,
            layout.grid_bottom() + layout.label_band() + 40,
            missing_rows,
        )
    }

    /// The class label of `row`, right-aligned against the grid, shrunk and at worst shortened to
    /// [`ROW_LABEL_WIDTH`].
    fn draw_row_label<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        layout: &Layout,
        row: usize,
    ) -> Result<(), ReportError> {
        let max = (layout.cell as f64 * 0.7).floor().min(14.0);
        let (label, size) = fit_line(
            root,
            &self.classes[row],
            max,
            max.min(9.0),
            ROW_LABEL_WIDTH as u32,
        )?;
        let ((_, y0), (_, y1)) = layout.cell(row, 0);
        root.draw_text(
            &label,
            &text_style(size, BLACK, (HPos::Right, VPos::Center)),
            (layout.grid_left - 8, (y0 + y1) / 2),
        )
        .map_err(chart_error)
    }

    /// The column labels under the grid, across or upwards as the layout says; returns the
    /// lowest pixel they reach, so that the axis title sits just below them.
    fn draw_column_labels<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        layout: &Layout,
    ) -> Result<i32, ReportError> {
        let top = layout.grid_bottom() + 6;
        let max = (layout.cell as f64 * 0.7).floor().min(14.0);
        let mut lowest = top;
        for (column, label) in self.classes.iter().enumerate() {
            let ((x0, _), (x1, _)) = layout.cell(0, column);
            let centre = (x0 + x1) / 2;
            if layout.horizontal_labels {
                let (label, size) = fit_line(root, label, max, 9.0, (layout.cell - 4) as u32)?;
                root.draw_text(
                    &label,
                    &text_style(size, BLACK, (HPos::Center, VPos::Top)),
                    (centre, top),
                )
                .map_err(chart_error)?;
                lowest = lowest.max(top + (size * 1.2).ceil() as i32);
            } else {
                let length = (ROTATED_LABELS - 10) as u32;
                let (label, size) = fit_line(root, label, max, max.min(9.0), length)?;
                let style = text_style(size, BLACK, (HPos::Right, VPos::Center))
                    .transform(FontTransform::Rotate270);
                root.draw_text(&label, &style, (centre, top))
                    .map_err(chart_error)?;
                lowest = lowest.max(top + text_width(root, &label, size)? as i32);
            }
        }
        Ok(lowest)
    }

    /// "noisy label" under the column labels and "clean class" upwards left of the row labels.
    fn draw_axis_titles<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        layout: &Layout,
        label_end: i32,
    ) -> Result<(), ReportError> {
        root.draw_text(
            "noisy label",
            &text_style(17.0, BLACK, (HPos::Center, VPos::Top)),
            (layout.grid_centre(), label_end + 10),
        )
        .map_err(chart_error)?;
        let grid_height = layout.grid_bottom() - TOP;
        let (title, size) = fit_line(root, "clean class", 17.0, 9.0, grid_height as u32)?;
        let style = text_style(size, BLACK, (HPos::Center, VPos::Center))
            .transform(FontTransform::Rotate270);
        root.draw_text(
            &title,
            &style,
            (
                layout.grid_left - ROW_LABEL_WIDTH - 28,
                TOP + grid_height / 2,
            ),
        )
        .map_err(chart_error)
    }
}

/// A cell of a row with samples: its share's colour, the count (and share) where it fits, and a
/// dark outline on the diagonal.
fn draw_cell<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    layout: &Layout,
    (row, column): (usize, usize),
    count: u64,
    total: u128,
) -> Result<(), ReportError> {
    let ((x0, y0), (x1, y1)) = layout.cell(row, column);
    let fill = sequential(count as f64 / total as f64);
    root.draw(&Rectangle::new([(x0, y0), (x1, y1)], fill.filled()))
        .map_err(chart_error)?;
    if row == column {
        // Two one-pixel rings in larger cells; a 2-pixel stroke would straddle the cell edge.
        let rings = if layout.cell >= MIN_TEXT_CELL { 2 } else { 1 };
        for inset in 0..rings {
            root.draw(&Rectangle::new(
                [(x0 + inset, y0 + inset), (x1 - inset, y1 - inset)],
                DIAGONAL_OUTLINE.stroke_width(1),
            ))
            .map_err(chart_error)?;
        }
    }
    let text = layout.text();
    if text == CellText::Nothing {
        return Ok(());
    }
    let (centre_x, centre_y) = ((x0 + x1) / 2, (y0 + y1) / 2);
    let room = x1 - x0 - 6;
    let cell = layout.cell as f64;
    if count == 0 {
        let max = (cell * 0.3).clamp(MIN_CELL_FONT, 14.0);
        if let Some(size) = fitting_font(root, "0", room, max, MIN_CELL_FONT)? {
            root.draw_text(
                "0",
                &text_style(size, ZERO_GREY, (HPos::Center, VPos::Center)),
                (centre_x, centre_y),
            )
            .map_err(chart_error)?;
        }
        return Ok(());
    }
    let colour = text_colour_on(fill);
    let mut lines = Vec::with_capacity(2);
    if text == CellText::ShareAndCount {
        let size = (cell * 0.28).clamp(10.0, 17.0);
        lines.push((
            share_text(count, total),
            size,
            centre_y - (cell * 0.13) as i32,
        ));
        lines.push((
            format!("({count})"),
            size - 3.0,
            centre_y + (cell * 0.15) as i32,
        ));
    } else {
        lines.push((
            count.to_string(),
            (cell * 0.42).clamp(MIN_CELL_FONT, 14.0),
            centre_y,
        ));
    }
    for (line, max, y) in lines {
        if let Some(size) = fitting_font(root, &line, room, max, MIN_CELL_FONT)? {
            root.draw_text(
                &line,
                &text_style(size, colour, (HPos::Center, VPos::Center)),
                (centre_x, y),
            )
            .map_err(chart_error)?;
        }
    }
    Ok(())
}

/// A clean class without samples: the whole row grey, hatched and outlined, with "no samples"
/// where it fits, as the gain heatmap marks what it cannot show.
fn draw_missing_row<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    layout: &Layout,
    row: usize,
) -> Result<(), ReportError> {
    let ((x0, y0), _) = layout.cell(row, 0);
    let (_, (x1, y1)) = layout.cell(row, layout.classes - 1);
    root.draw(&Rectangle::new([(x0, y0), (x1, y1)], MISSING_FILL.filled()))
        .map_err(chart_error)?;
    hatch(root, (x0, y0), (x1, y1), 9, MISSING_HATCH.stroke_width(1))?;
    root.draw(&Rectangle::new(
        [(x0, y0), (x1, y1)],
        FRAME_GREY.stroke_width(1),
    ))
    .map_err(chart_error)?;
    if layout.text() == CellText::Nothing {
        return Ok(());
    }
    let max = (layout.cell as f64 * 0.3).clamp(MIN_CELL_FONT, 15.0);
    if let Some(size) = fitting_font(root, "no samples", x1 - x0 - 10, max, MIN_CELL_FONT)? {
        root.draw_text(
            "no samples",
            &text_style(size, NOTE_GREY, (HPos::Center, VPos::Center)),
            ((x0 + x1) / 2, (y0 + y1) / 2),
        )
        .map_err(chart_error)?;
    }
    Ok(())
}

/// The colour bar from share 0 to 1, centred under the grid with its label above `top`, ticks
/// and a note on the outline (and on hatched rows, if any) below.
fn draw_colour_bar<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    layout: &Layout,
    top: i32,
    missing_rows: bool,
) -> Result<(), ReportError> {
    // Centred under the grid, but never so far left or right that the bar leaves the chart.
    let centre = layout
        .grid_centre()
        .clamp(BAR_WIDTH / 2 + 10, layout.width - BAR_WIDTH / 2 - 10);
    root.draw_text(
        "share of the clean class's samples given this label",
        &text_style(16.0, BLACK, (HPos::Center, VPos::Center)),
        (centre, top + 2),
    )
    .map_err(chart_error)?;
    let (bar_top, bar_bottom) = (top + 14, top + 32);
    let left = centre - BAR_WIDTH / 2;
    for offset in 0..BAR_WIDTH {
        let share = offset as f64 / (BAR_WIDTH - 1) as f64;
        root.draw(&PathElement::new(
            vec![(left + offset, bar_top), (left + offset, bar_bottom)],
            sequential(share).stroke_width(1),
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
        root.draw(&PathElement::new(
            vec![(x, bar_bottom), (x, bar_bottom + 5)],
            BLACK.stroke_width(1),
        ))
        .map_err(chart_error)?;
        root.draw_text(
            &short_number(tick as f64 / 4.0),
            &text_style(14.0, BLACK, (HPos::Center, VPos::Top)),
            (x, bar_bottom + 8),
        )
        .map_err(chart_error)?;
    }
    let note = if missing_rows {
        "outlined cells: label kept (the diagonal); hatched rows: no samples of that clean class"
    } else {
        "outlined cells: label kept (the diagonal)"
    };
    root.draw_text(
        note,
        &text_style(14.0, NOTE_GREY, (HPos::Center, VPos::Top)),
        (layout.width / 2, bar_bottom + 32),
    )
    .map_err(chart_error)
}

/// The size of `charts` side by side: their widths added, the tallest height.
pub(super) fn panels_size(charts: &[TransitionChart]) -> (u32, u32) {
    charts
        .iter()
        .map(TransitionChart::size)
        .fold((0, 0), |(w, h), (cw, ch)| (w + cw, h.max(ch)))
}

/// Draws `charts` side by side, each in its own width; nothing to draw is a note.
pub(super) fn draw_panels<DB: DrawingBackend>(
    charts: &[TransitionChart],
    root: &DrawingArea<DB, Shift>,
) -> Result<(), ReportError> {
    if charts.is_empty() {
        return draw_note(root, "no data");
    }
    let mut rest = root.clone();
    for chart in charts {
        let (width, _) = chart.size();
        let (area, right) = rest.split_horizontally(width);
        chart.draw(&area)?;
        rest = right;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charts::test_support::{WITH_DATA, WITHOUT_DATA, count_near, render_checked};
    use crate::charts::{Chart, TITLE_SIDE_MARGIN, register_embedded_font};

    /// Symmetric noise at `rate` over `classes` classes of `per_class` samples, the flips spread
    /// evenly over the other labels (the remainder to the next class up), as an exact-count noise
    /// model would give them.
    fn symmetric(classes: usize, per_class: u64, rate: f64) -> Vec<Vec<u64>> {
        let flipped = (per_class as f64 * rate).round() as u64;
        let others = (classes as u64 - 1).max(1);
        (0..classes)
            .map(|clean| {
                (0..classes)
                    .map(|noisy| {
                        if noisy == clean {
                            per_class - flipped
                        } else {
                            let offset = (noisy + classes - clean) as u64 % classes as u64;
                            flipped / others + u64::from(offset <= flipped % others)
                        }
                    })
                    .collect()
            })
            .collect()
    }

    fn cifar10() -> TransitionChart {
        let classes = [
            "airplane",
            "automobile",
            "bird",
            "cat",
            "deer",
            "dog",
            "frog",
            "horse",
            "ship",
            "truck",
        ];
        TransitionChart {
            title: "realised noise on the training split: CIFAR-10, symmetric 20%".into(),
            classes: classes.iter().map(|c| c.to_string()).collect(),
            counts: symmetric(10, 5000, 0.2),
        }
    }

    fn numbered(classes: usize, per_class: u64, rate: f64) -> TransitionChart {
        TransitionChart {
            title: format!("{classes} classes, symmetric noise at {rate}"),
            classes: (0..classes).map(|i| format!("class {i}")).collect(),
            counts: symmetric(classes, per_class, rate),
        }
    }

    #[test]
    fn symmetric_example_counts_keep_the_class_sizes() {
        let counts = symmetric(10, 5000, 0.2);
        for (clean, row) in counts.iter().enumerate() {
            assert_eq!(row.iter().sum::<u64>(), 5000);
            assert_eq!(row[clean], 4000);
        }
    }

    #[test]
    fn shares_are_written_without_hiding_flips() {
        assert_eq!(share_text(4000, 5000), "0.80");
        assert_eq!(share_text(5000, 5000), "1.00");
        assert_eq!(share_text(1, 1000), "<0.01");
        assert_eq!(share_text(999, 1000), ">0.99");
        assert_eq!(share_text(5, 1000), "0.01");
    }

    #[test]
    fn scale_runs_from_near_white_to_dark_blue() {
        assert_eq!(sequential(0.0), RAMP[0]);
        assert_eq!(sequential(1.0), RAMP[8]);
        assert_eq!(sequential(-3.0), RAMP[0]);
        assert_eq!(sequential(3.0), RAMP[8]);
        assert_eq!(sequential(0.5), RAMP[4]);
        assert_eq!(sequential(1.0 / 16.0), blend(RAMP[0], RAMP[1], 0.5));
        // The bar's ends are light and dark enough for the cell text to switch colour.
        assert_ne!(
            text_colour_on(sequential(0.0)),
            text_colour_on(sequential(1.0))
        );
    }

    #[test]
    fn cells_shrink_with_the_classes_and_drop_text_when_small() {
        let table = [
            // (classes, cell side, cell text)
            (2, 60, CellText::ShareAndCount),
            (10, 60, CellText::ShareAndCount),
            (12, 60, CellText::ShareAndCount),
            (13, 55, CellText::ShareAndCount),
            (18, 40, CellText::ShareAndCount),
            (20, 36, CellText::Count),
            (30, 24, CellText::Count),
            (31, 23, CellText::Nothing),
            (100, MIN_CELL, CellText::Nothing),
            (1000, MIN_CELL, CellText::Nothing),
        ];
        for (classes, cell, text) in table {
            let layout = Layout::of(&numbered(classes, 10, 0.5));
            assert_eq!(layout.cell, cell, "{classes} classes");
            assert_eq!(layout.text(), text, "{classes} classes");
            assert!(layout.width >= MIN_WIDTH);
            assert!(layout.grid_left >= LEFT && layout.grid_right() + RIGHT <= layout.width);
        }
        // Every size below the text threshold draws no text.
        for cell in MIN_CELL..MIN_TEXT_CELL {
            let layout = Layout {
                cell,
                ..Layout::of(&numbered(100, 10, 0.5))
            };
            assert_eq!(layout.text(), CellText::Nothing, "cell of {cell} pixels");
        }
        // Short labels in wide cells go across, long ones or narrow cells upwards.
        assert!(Layout::of(&numbered(4, 10, 0.5)).horizontal_labels);
        assert!(!Layout::of(&cifar10()).horizontal_labels);
        assert!(!Layout::of(&numbered(30, 10, 0.5)).horizontal_labels);
    }

    #[test]
    fn ten_classes_render_with_shares_counts_and_labels() {
        let chart = Chart::Transitions(cifar10());
        let (width, height) = chart.size();
        assert_eq!(width, MIN_WIDTH as u32);
        assert_eq!(
            height,
            (TOP + 10 * 60 + ROTATED_LABELS + BOTTOM) as u32,
            "ten 60-pixel rows and rotated labels"
        );
        let buffer = render_checked(&chart, WITH_DATA, 50);
        // The diagonal share of 0.8 fills most of each diagonal cell's 58 × 58 pixels.
        let kept = sequential(0.8);
        assert!(count_near(&buffer, [kept.0, kept.1, kept.2], 0) > 10 * 40 * 40);
        // Every diagonal cell is outlined.
        let outline = [DIAGONAL_OUTLINE.0, DIAGONAL_OUTLINE.1, DIAGONAL_OUTLINE.2];
        assert!(count_near(&buffer, outline, 0) >= 10 * 4 * 50);
        let svg = chart.render_svg().unwrap();
        for text in [
            "realised noise on the training split",
            "0.80",
            "(4000)",
            "(111)",
            "0.02",
            "automobile",
            "truck",
            "clean class",
            "noisy label",
            "samples given this label",
            "label kept",
        ] {
            assert!(svg.contains(text), "{text:?} missing from the SVG");
        }
        assert!(!svg.contains("no samples"));
    }

    #[test]
    fn two_classes_render() {
        let chart = Chart::Transitions(TransitionChart {
            title: "binary, 30% flips".into(),
            classes: vec!["cat".into(), "dog".into()],
            counts: vec![vec![70, 30], vec![25, 75]],
        });
        assert_eq!(
            chart.size(),
            (
                MIN_WIDTH as u32,
                (TOP + 2 * 60 + HORIZONTAL_LABELS + BOTTOM) as u32
            )
        );
        render_checked(&chart, WITH_DATA, 30);
        let svg = chart.render_svg().unwrap();
        for text in ["0.70", "(30)", "0.25", "(75)", "cat", "dog"] {
            assert!(svg.contains(text), "{text:?} missing from the SVG");
        }
    }

    #[test]
    fn a_hundred_classes_render_without_cell_text() {
        let chart = TransitionChart {
            classes: (0..100)
                .map(|i| format!("a rather long fine label {i}"))
                .collect(),
            ..numbered(100, 500, 0.4)
        };
        let chart = Chart::Transitions(chart);
        let (width, height) = chart.size();
        assert_eq!(width, (LEFT + 100 * MIN_CELL + RIGHT) as u32);
        assert_eq!(
            height,
            (TOP + 100 * MIN_CELL + ROTATED_LABELS + BOTTOM) as u32
        );
        let buffer = render_checked(&chart, WITH_DATA, 20);
        let kept = sequential(0.6);
        assert!(count_near(&buffer, [kept.0, kept.1, kept.2], 0) > 100 * 8 * 8);
        let svg = chart.render_svg().unwrap();
        assert!(
            !svg.contains("(300)") && !svg.contains("0.60"),
            "cell text drawn"
        );
        assert!(svg.contains("a rather long"), "labels missing");
        assert!(svg.contains("..."), "long labels not shortened");
    }

    #[test]
    fn rows_without_samples_are_hatched() {
        let mut counts = symmetric(4, 100, 0.3);
        counts[2] = vec![0; 4];
        let chart = Chart::Transitions(TransitionChart {
            title: "a class without samples".into(),
            classes: ["a", "b", "c", "d"].map(String::from).to_vec(),
            counts,
        });
        let buffer = render_checked(&chart, WITH_DATA, 30);
        let fill = [MISSING_FILL.0, MISSING_FILL.1, MISSING_FILL.2];
        assert!(count_near(&buffer, fill, 0) > 4 * 40 * 40);
        let svg = chart.render_svg().unwrap();
        assert!(svg.contains("no samples"));
        assert!(svg.contains("hatched rows"));
    }

    #[test]
    fn empty_or_malformed_counts_draw_a_note() {
        let base = numbered(3, 10, 0.2);
        let cases = [
            ("empty", Vec::new(), Vec::new(), "no data"),
            (
                "ragged",
                base.classes.clone(),
                vec![vec![1, 2, 3], vec![1, 2], vec![3]],
                "3 × 3",
            ),
            (
                "too few rows",
                base.classes.clone(),
                vec![vec![1, 2, 3]],
                "3 × 3",
            ),
            ("no counts", base.classes.clone(), Vec::new(), "3 × 3"),
            (
                "counts without labels",
                Vec::new(),
                vec![vec![1]],
                "without class labels",
            ),
            (
                "too wide",
                base.classes.clone(),
                vec![vec![1; 4]; 3],
                "3 × 3",
            ),
        ];
        for (case, classes, counts, note) in cases {
            let chart = Chart::Transitions(TransitionChart {
                title: format!("malformed: {case}"),
                classes,
                counts,
            });
            render_checked(&chart, WITHOUT_DATA, 3);
            let svg = chart.render_svg().unwrap();
            assert!(svg.contains("no data"), "{case}: no note");
            assert!(svg.contains(note), "{case}: {note:?} missing");
        }
    }

    #[test]
    fn titles_fit_at_the_smallest_size() {
        register_embedded_font().unwrap();
        let title = "realised label noise on the training split: CIFAR-10, pair flip at 45%, \
                     nested draws, seed 3";
        for classes in [1, 2] {
            let chart = Chart::Transitions(TransitionChart {
                title: title.into(),
                ..numbered(classes, 10, 0.5)
            });
            let (width, _) = chart.size();
            let buffer = render_checked(&chart, WITH_DATA, 10);
            // No title glyph reaches into the side margins of the title strip.
            let margin = TITLE_SIDE_MARGIN as usize;
            for y in 0..super::super::TITLE_HEIGHT as usize {
                for x in (0..margin).chain(width as usize - margin..width as usize) {
                    let at = (y * width as usize + x) * 3;
                    assert_eq!(
                        buffer[at..at + 3],
                        [255, 255, 255],
                        "title pixel at ({x}, {y})"
                    );
                }
            }
            // And it fits whole, without being shortened.
            let svg = chart.render_svg().unwrap();
            assert!(svg.contains("nested draws, seed 3"), "title shortened");
        }
    }
}
