//! Drawing code shared by the PNG and SVG backends: one generic function per figure kind.
//! Degenerate input (no points, all NaN, a single value) draws a labelled empty frame rather
//! than failing, so a run with nothing to show in one chart still gets its other charts.

use super::palette::{self, GRID};
use super::{
    BarTone, Bars, Chart, Corner, FAMILY, Figure, Heatmap, LineKind, MarkerKind, SIZE, Scale,
    Scatter,
};
use crate::number::format_number;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged, SegmentValue};
use plotters::prelude::*;
use std::error::Error;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn colour(i: usize) -> RGBColor {
    palette::series(i)
}

fn font(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&BLACK)
}

pub(super) fn figure<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, fig: &Figure) -> Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    match fig {
        Figure::Chart(c) => chart(root, c),
        Figure::Heatmap(h) => heatmap(root, h),
        Figure::Scatter(s) => scatter(root, s),
        Figure::Bars(b) => bars(root, b),
    }
}

/// `[min, max]` of the finite values, widened by 5% (and made non-empty) so lines do not sit
/// on the frame.
fn padded(values: impl Iterator<Item = f64>, from_zero: bool) -> (f64, f64) {
    let (mut lo, mut hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(v), h.max(v))
        });
    if lo > hi {
        return (0.0, 1.0);
    }
    if from_zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    if hi - lo < 1e-12 * hi.abs().max(1.0) {
        let d = if hi == 0.0 { 1.0 } else { hi.abs() * 0.5 };
        return (lo - d, hi + d);
    }
    let pad = (hi - lo) * 0.05;
    let lo = if from_zero && lo >= 0.0 { lo } else { lo - pad };
    (lo, hi + pad)
}

/// Splits a polyline at non-finite points.
fn segments(points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut out = vec![Vec::new()];
    for &(x, y) in points {
        if x.is_finite() && y.is_finite() {
            out.last_mut().expect("never empty").push((x, y));
        } else if !out.last().expect("never empty").is_empty() {
            out.push(Vec::new());
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// An axis tick: a round number, so at most three significant digits, and without the padded
/// exponent of the table's format (`8e-4`, not `8.0000e-4`).
pub(super) fn tick(v: f64) -> String {
    let m = v.abs();
    if m < 1e-12 {
        return "0".to_string();
    }
    if (1e-3..1e9).contains(&m) {
        return format_number(v);
    }
    let rounded: f64 = format!("{v:.2e}").parse().unwrap_or(v);
    format!("{rounded:e}")
}

/// An x axis whose ticks can be given rather than computed: a sweep's axis ticks at the values
/// it swept, so an integer parameter never shows 1.5 and a log sweep shows 1, 10, 100. Without
/// given ticks it is plotters' own f64 axis. (Labels always come from our own formatter, so the
/// default formatting it declares is never used.)
struct TickedAxis {
    inner: plotters::coord::types::RangedCoordf64,
    ticks: Option<Vec<f64>>,
}

impl Ranged for TickedAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        match &self.ticks {
            // Given ticks are bold grid lines; there are no light ones.
            Some(_) if hint.weight().allow_light_points() => Vec::new(),
            Some(t) => t.clone(),
            None => self.inner.key_points(hint),
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

/// The gap plotters leaves between the x axis and its labels: twice its 5-pixel tick marks.
const X_LABEL_GAP: i32 = 10;

/// Whether an x tick label centred at `px` (13-pixel DejaVu Sans, at most about 8.4 pixels a
/// character) reaches past `right_px`, the right end of the axis, where plotters clips it.
pub(super) fn label_overhangs(px: i32, text: &str, right_px: i32) -> bool {
    !text.is_empty() && px as f64 + text.chars().count() as f64 * 4.2 > right_px as f64
}

fn chart<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &Chart) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let log = c.x_scale == Scale::Log;
    let tx = |x: f64| {
        if !log {
            x
        } else if x > 0.0 {
            x.log10()
        } else {
            f64::NAN
        }
    };
    let xs = c
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| tx(p.0)))
        .chain(c.shaded.iter().flat_map(|s| [tx(s.from), tx(s.to)]))
        .chain(c.markers.iter().map(|m| tx(m.at)));
    let (mut x0, mut x1) = padded(xs, false);
    if let Some((a, b)) = c.x_range.map(|(a, b)| (tx(a), tx(b)))
        && a.is_finite()
        && b.is_finite()
        && a < b
    {
        (x0, x1) = (a, b);
    } else if !log {
        // Time and parameter axes read best starting where the data starts.
        let first = c
            .lines
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.0))
            .filter(|x| x.is_finite())
            .fold(f64::INFINITY, f64::min);
        if first.is_finite() && first >= x0 && first < x1 {
            x0 = first;
        }
        if x1 <= x0 {
            x1 = x0 + 1.0;
        }
    }
    let ylog = c.y_scale == Scale::Log;
    let ty = |y: f64| {
        if !ylog {
            y
        } else if y > 0.0 {
            y.log10()
        } else {
            f64::NAN
        }
    };
    let ys = c.lines.iter().flat_map(|l| {
        let floor = if c.y_from_zero {
            0.0
        } else {
            f64::NEG_INFINITY
        };
        let band = l
            .band
            .iter()
            .flatten()
            .flat_map(move |b| [b.0.max(floor), b.1]);
        l.points.iter().map(|p| p.1).chain(band).map(ty)
    });
    let (y0, y1) = padded(ys, c.y_from_zero && !ylog);
    // Marker and fault labels go in a band above the plot area, where they cover no line.
    let labelled = c.markers.iter().any(|m| !m.label.is_empty())
        || c.shaded.iter().any(|s| !s.label.is_empty());
    let label_band = if labelled { 18 } else { 0 };
    // The legend goes in a corner no line crosses, or else outside, to the right.
    let inside = c.legend_inside();
    let legend_width = if c.lines.len() > 1 && inside.is_none() {
        let longest = c.lines.iter().map(|l| l.label.chars().count()).max();
        (longest.unwrap_or(0) as u32 * 7 + 40).clamp(80, 300)
    } else {
        0
    };
    let titled = root.margin(14, 14, 14, 14).titled(&c.title, font(22))?;
    let plot_area = titled.margin(label_band, 0, 0, legend_width);
    let mut ch = ChartBuilder::on(&plot_area)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(
            TickedAxis {
                inner: (x0..x1).into(),
                ticks: c.x_ticks.as_ref().map(|t| {
                    t.iter()
                        .map(|&v| tx(v))
                        .filter(|v| v.is_finite() && *v >= x0 && *v <= x1)
                        .collect()
                }),
            },
            y0..y1,
        )?;
    // plotters clips a tick label to the label area under the plot, so a tick at (or within
    // half a label of) the right end loses the end of its label: such labels are left out of
    // the mesh and drawn on the whole figure instead, in the same place.
    let (left_px, bottom_px) = ch.backend_coord(&(x0, y0));
    let right_px = ch.backend_coord(&(x1, y0)).0;
    let px_of = |v: f64| {
        (left_px as f64 + (v - x0) / (x1 - x0) * (right_px - left_px) as f64).round() as i32
    };
    let edge_labels: std::cell::RefCell<Vec<(i32, String)>> = Default::default();
    let x_text = |v: &f64| {
        if log {
            // Ticks fall at arbitrary exponents; two significant digits read as latencies.
            let x = 10f64.powf(*v);
            let digits = (1 - x.log10().floor() as i32).max(0) as usize;
            tick(format!("{x:.digits$}").parse().unwrap_or(x))
        } else {
            tick(*v)
        }
    };
    let x_fmt = |v: &f64| {
        let text = x_text(v);
        let px = px_of(*v);
        if label_overhangs(px, &text, right_px) {
            let mut edge = edge_labels.borrow_mut();
            if !edge.iter().any(|(p, _)| *p == px) {
                edge.push((px, text));
            }
            String::new()
        } else {
            text
        }
    };
    let y_fmt = |v: &f64| {
        if ylog {
            // Shares of requests: 0.1, 0.01, … read as they are.
            let y = 10f64.powf(*v);
            let digits = (1 - y.log10().floor() as i32).max(0) as usize;
            tick(format!("{y:.digits$}").parse().unwrap_or(y))
        } else {
            tick(*v)
        }
    };
    ch.configure_mesh()
        .x_desc(&c.x_label)
        .y_desc(&c.y_label)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(font(13))
        .axis_desc_style(font(15))
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .draw()?;
    for (px, text) in edge_labels.take() {
        root.draw(&Text::new(
            text,
            (px, bottom_px + 1 + X_LABEL_GAP),
            font(13).pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Top,
            )),
        ))?;
    }
    for s in &c.shaded {
        let (a, b) = (tx(s.from).max(x0), tx(s.to).min(x1));
        if a.is_finite() && b.is_finite() && a < b {
            ch.draw_series(std::iter::once(Rectangle::new(
                [(a, y0), (b, y1)],
                palette::FAULT.mix(0.15).filled(),
            )))?;
        }
    }
    // Data lines take the series colours in turn; reference levels do not use one up.
    let mut next_colour = 0;
    let mut legend: Vec<(String, RGBColor, u32, bool)> = Vec::new();
    for l in &c.lines {
        let reference = l.kind == LineKind::Reference;
        let col = match l.kind {
            LineKind::Reference => palette::REFERENCE,
            // The colour of the data line it belongs to, the one drawn just before.
            LineKind::Peak => colour(next_colour.max(1) - 1),
            LineKind::Data => {
                next_colour += 1;
                colour(next_colour - 1)
            }
        };
        let width = if l.kind == LineKind::Peak { 1 } else { 2 };
        if let Some(band) = &l.band {
            let pts: Vec<(f64, f64, f64)> = l
                .points
                .iter()
                .zip(band)
                // Rates and depths cannot be negative, whatever a symmetric interval says.
                .map(|(p, b)| {
                    let lo = if c.y_from_zero { b.0.max(0.0) } else { b.0 };
                    (tx(p.0), ty(lo), ty(b.1))
                })
                .collect();
            // One polygon per finite run, so a gap in the data is a gap in the band.
            let mut run: Vec<(f64, f64, f64)> = Vec::new();
            let mut flush = |run: &mut Vec<(f64, f64, f64)>| -> Result<()> {
                if run.len() >= 2 {
                    let mut poly: Vec<(f64, f64)> = run.iter().map(|p| (p.0, p.2)).collect();
                    poly.extend(run.iter().rev().map(|p| (p.0, p.1)));
                    ch.draw_series(std::iter::once(Polygon::new(poly, col.mix(0.18))))?;
                }
                run.clear();
                Ok(())
            };
            for p in pts {
                if p.0.is_finite() && p.1.is_finite() && p.2.is_finite() {
                    run.push(p);
                } else {
                    flush(&mut run)?;
                }
            }
            flush(&mut run)?;
        }
        let pts: Vec<(f64, f64)> = l.points.iter().map(|p| (tx(p.0), ty(p.1))).collect();
        let segs = segments(&pts);
        let mut first = true;
        for seg in segs {
            let single = seg.len() == 1;
            let drawn = if reference {
                ch.draw_series(DashedLineSeries::new(
                    seg.clone(),
                    8,
                    5,
                    col.stroke_width(width),
                ))?
            } else {
                ch.draw_series(LineSeries::new(seg.clone(), col.stroke_width(width)))?
            };
            if first {
                legend.push((l.label.clone(), col, width, reference));
                drawn.label(l.label.clone()).legend(move |(x, y)| {
                    if reference {
                        // Dashed in the legend too: two short strokes.
                        PathElement::new(vec![(x, y), (x + 7, y)], col.stroke_width(width))
                    } else {
                        PathElement::new(vec![(x, y), (x + 18, y)], col.stroke_width(width))
                    }
                });
                first = false;
            }
            if single {
                ch.draw_series(seg.iter().map(|p| Circle::new(*p, 3, col.filled())))?;
            }
        }
    }
    // Labels in the band above the plot: alerts first, then the faults' where they leave
    // room, none over another.
    // (text, x, ink, centred, the rightmost x a left-aligned label may start at).
    let mut band: Vec<(String, i32, RGBColor, bool, i32)> = Vec::new();
    for m in &c.markers {
        let x = tx(m.at);
        if x.is_finite() && x >= x0 && x <= x1 {
            let (ink, width) = match m.kind {
                MarkerKind::Alert => (palette::ALERT, 1),
                MarkerKind::Chosen => (palette::CHOSEN, 2),
            };
            ch.draw_series(std::iter::once(PathElement::new(
                vec![(x, y0), (x, y1)],
                ink.stroke_width(width),
            )))?;
            if !m.label.is_empty() {
                let px = ch.backend_coord(&(x, y1)).0;
                band.push((m.label.clone(), px, ink, true, px));
            }
        }
    }
    for s in &c.shaded {
        let a = tx(s.from).max(x0);
        let b = tx(s.to).min(x1);
        if !s.label.is_empty() && a.is_finite() && a < x1 {
            let w = s.label.chars().count() as i32 * 7;
            let end = if b.is_finite() {
                ch.backend_coord(&(b, y1)).0
            } else {
                0
            };
            let start = ch.backend_coord(&(a, y1)).0;
            band.push((s.label.clone(), start, palette::FAULT, false, end - w));
        }
    }
    let top = ch.backend_coord(&(x0, y1)).1;
    let mut taken: Vec<(i32, i32)> = Vec::new();
    for (text, x, ink, centred, last) in band {
        // DejaVu Sans at 12 px: about 7 pixels a character.
        let w = text.chars().count() as i32 * 7;
        let span = |x: i32| {
            if centred {
                (x - w / 2, x + w / 2)
            } else {
                (x, x + w)
            }
        };
        let clear = |(from, to): (i32, i32), taken: &[(i32, i32)]| {
            !taken.iter().any(|&(a, b)| from < b + 4 && a < to + 4)
        };
        // A fault's label that an alert's covers moves right, past the labels in its way,
        // while it stays over its shaded window (an alert soon after a fault's start would
        // otherwise leave the window unnamed).
        let mut x = x;
        if !centred {
            let mut ends: Vec<i32> = taken
                .iter()
                .map(|&(_, b)| b + 5)
                .filter(|&b| b > x)
                .collect();
            ends.sort_unstable();
            let mut candidates = std::iter::once(x).chain(ends).filter(|&c| c <= last.max(x));
            match candidates.find(|&c| clear(span(c), &taken)) {
                Some(c) => x = c,
                None => continue,
            }
        } else if !clear(span(x), &taken) {
            continue;
        }
        let (from, to) = span(x);
        taken.push((from, to));
        root.draw(&Text::new(
            text,
            (x, top - 3),
            font(12)
                .color(&ink)
                .pos(plotters::style::text_anchor::Pos::new(
                    if centred {
                        plotters::style::text_anchor::HPos::Center
                    } else {
                        plotters::style::text_anchor::HPos::Left
                    },
                    plotters::style::text_anchor::VPos::Bottom,
                )),
        ))?;
    }
    if legend_width > 0 {
        // Outside, to the right of the plot area: one row per line, as the corner legend.
        let (right, top) = ch.backend_coord(&(x1, y1));
        let x = right + 12;
        for (k, (label, col, width, reference)) in legend.iter().enumerate() {
            let y = top + 10 + k as i32 * 20;
            let stroke = if *reference { 7 } else { 18 };
            root.draw(&PathElement::new(
                vec![(x, y), (x + stroke, y)],
                col.stroke_width(*width),
            ))?;
            root.draw(&Text::new(
                label.clone(),
                (x + 24, y),
                font(13).pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Left,
                    plotters::style::text_anchor::VPos::Center,
                )),
            ))?;
        }
    } else if c.lines.len() > 1 {
        ch.configure_series_labels()
            .position(match inside.unwrap_or_else(|| c.legend_corner()) {
                Corner::UpperRight => SeriesLabelPosition::UpperRight,
                Corner::UpperLeft => SeriesLabelPosition::UpperLeft,
                Corner::LowerRight => SeriesLabelPosition::LowerRight,
                Corner::LowerLeft => SeriesLabelPosition::LowerLeft,
                Corner::MiddleRight => SeriesLabelPosition::MiddleRight,
                Corner::MiddleLeft => SeriesLabelPosition::MiddleLeft,
            })
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font(font(13))
            .draw()?;
    }
    Ok(())
}

/// Viridis, by linear interpolation between five of its stops.
fn viridis(t: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let pos = t * 4.0;
    let i = (pos.floor() as usize).min(3);
    let f = pos - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |x: f64, y: f64| (x + (y - x) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

fn heatmap<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, h: &Heatmap) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let nx = h.x_ticks.len().max(1) as u32;
    let ny = h.y_ticks.len().max(1) as u32;
    let range = h.colour_range();
    let (lo, hi) = range.unwrap_or((f64::INFINITY, f64::NEG_INFINITY));
    // The colour bar takes a strip on the right; the grid the rest.
    let (grid_area, bar_area) = root.split_horizontally(SIZE.0 as i32 - 110);
    if let Some(range) = range {
        colour_bar(&bar_area, range)?;
    }
    let caption = if h.marked.is_empty() {
        h.title.clone()
    } else {
        format!("{}  (outlined: chosen)", h.title)
    };
    let root = &grid_area;
    let mut ch = ChartBuilder::on(root)
        .caption(caption, font(20))
        .margin(14)
        .x_label_area_size(48)
        .y_label_area_size(90)
        .build_cartesian_2d((0..nx - 1).into_segmented(), (0..ny - 1).into_segmented())?;
    let label = |ticks: &[String], v: &SegmentValue<u32>| match v {
        SegmentValue::CenterOf(i) => ticks.get(*i as usize).cloned().unwrap_or_default(),
        _ => String::new(),
    };
    let xl = |v: &SegmentValue<u32>| label(&h.x_ticks, v);
    let yl = |v: &SegmentValue<u32>| label(&h.y_ticks, v);
    ch.configure_mesh()
        .disable_mesh()
        .x_desc(&h.x_label)
        .y_desc(&h.y_label)
        .x_labels(nx as usize)
        .y_labels(ny as usize)
        .x_label_formatter(&xl)
        .y_label_formatter(&yl)
        .label_style(font(13))
        .axis_desc_style(font(15))
        .draw()?;
    let cells = (h.x_ticks.len() * h.y_ticks.len()) as u32;
    let show_text = cells > 0 && cells <= 400;
    for (row, values) in h.values.iter().enumerate().take(h.y_ticks.len()) {
        for (col, v) in values.iter().enumerate().take(h.x_ticks.len()) {
            let (r, c) = (row as u32, col as u32);
            let v = v.filter(|v| v.is_finite());
            let t = match v {
                Some(v) if hi > lo => (v - lo) / (hi - lo),
                Some(_) => 0.5,
                None => f64::NAN,
            };
            let fill = match v {
                Some(_) => viridis(t),
                None => palette::MISSING,
            };
            ch.draw_series(std::iter::once(Rectangle::new(
                [
                    (SegmentValue::Exact(c), SegmentValue::Exact(r)),
                    (SegmentValue::Exact(c + 1), SegmentValue::Exact(r + 1)),
                ],
                fill.filled(),
            )))?;
            if show_text {
                let text = v.map(tick).unwrap_or_else(|| "n/a".to_string());
                let ink = if v.is_some() && t < 0.6 { WHITE } else { BLACK };
                let style = font(12)
                    .color(&ink)
                    .pos(plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Center,
                        plotters::style::text_anchor::VPos::Center,
                    ));
                ch.draw_series(std::iter::once(Text::new(
                    text,
                    (SegmentValue::CenterOf(c), SegmentValue::CenterOf(r)),
                    style,
                )))?;
            }
        }
    }
    for &(row, col) in &h.marked {
        if row < h.y_ticks.len() && col < h.x_ticks.len() {
            let (r, c) = (row as u32, col as u32);
            // Nested 1-pixel outlines: the SVG backend ignores a rectangle's stroke width.
            for inset in 2..6 {
                let mut cell = Rectangle::new(
                    [
                        (SegmentValue::Exact(c), SegmentValue::Exact(r)),
                        (SegmentValue::Exact(c + 1), SegmentValue::Exact(r + 1)),
                    ],
                    palette::CHOSEN.stroke_width(1),
                );
                cell.set_margin(inset, inset, inset, inset);
                ch.draw_series(std::iter::once(cell))?;
            }
        }
    }
    Ok(())
}

/// The legend of a heatmap's colours: a vertical viridis strip from `lo` (bottom) to `hi` (top)
/// with value ticks, aligned with the grid's plot area.
fn colour_bar<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, (lo, hi): (f64, f64)) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let (y0, y1) = if hi > lo {
        (lo, hi)
    } else {
        (lo - 0.5, lo + 0.5)
    };
    let mut ch = ChartBuilder::on(area)
        // Caption height and margin of the grid beside it, so the strip spans the same rows.
        .margin_top(14 + 30)
        .margin_bottom(14)
        .margin_left(6)
        .margin_right(6)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(
            0.0..1.0,
            // The ends are labelled exactly: they are the lowest and highest cell.
            TickedAxis {
                inner: (y0..y1).into(),
                ticks: Some(
                    (0..5)
                        .map(|k| y0 + (y1 - y0) * f64::from(k) / 4.0)
                        .collect(),
                ),
            },
        )?;
    // Three significant digits: the bar tells colours apart, the cells carry exact values.
    let fmt = |v: &f64| {
        if *v == 0.0 || !v.is_finite() {
            return tick(*v);
        }
        let digits = (2 - v.abs().log10().floor() as i32).max(0) as usize;
        tick(format!("{v:.digits$}").parse().unwrap_or(*v))
    };
    ch.configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_label_formatter(&fmt)
        .label_style(font(12))
        .draw()?;
    const STEPS: usize = 64;
    ch.draw_series((0..STEPS).map(|k| {
        let a = y0 + (y1 - y0) * k as f64 / STEPS as f64;
        let b = y0 + (y1 - y0) * (k + 1) as f64 / STEPS as f64;
        let t = (k as f64 + 0.5) / STEPS as f64;
        Rectangle::new([(0.0, a), (1.0, b)], viridis(t).filled())
    }))?;
    Ok(())
}

fn scatter<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, s: &Scatter) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let finite: Vec<_> = s
        .points
        .iter()
        .filter(|p| p.0.is_finite() && p.1.is_finite())
        .collect();
    let (x0, x1) = padded(finite.iter().map(|p| p.0), false);
    let (y0, y1) = padded(finite.iter().map(|p| p.1), false);
    let mut ch = ChartBuilder::on(root)
        .caption(&s.title, font(22))
        .margin(14)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    let fmt = |v: &f64| tick(*v);
    ch.configure_mesh()
        .x_desc(&s.x_label)
        .y_desc(&s.y_label)
        .x_label_formatter(&fmt)
        .y_label_formatter(&fmt)
        .label_style(font(13))
        .axis_desc_style(font(15))
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .draw()?;
    let grey = RGBColor(160, 160, 160);
    ch.draw_series(
        finite
            .iter()
            .filter(|p| !p.2)
            .map(|p| Circle::new((p.0, p.1), 4, grey.filled())),
    )?;
    let mut front: Vec<_> = finite.iter().filter(|p| p.2).collect();
    front.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let col = colour(0);
    if front.len() > 1 {
        ch.draw_series(LineSeries::new(
            front.iter().map(|p| (p.0, p.1)),
            col.stroke_width(2),
        ))?;
    }
    ch.draw_series(
        front
            .iter()
            .map(|p| Circle::new((p.0, p.1), 5, col.filled())),
    )?;
    ch.draw_series(
        front
            .iter()
            .map(|p| Text::new(format!(" {}", p.3), (p.0, p.1), font(12))),
    )?;
    Ok(())
}

fn bars<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, b: &Bars) -> Result<()>
where
    DB::ErrorType: 'static,
{
    // Slots on the y axis: one per row, and at least two, since plotters cannot map a
    // segmented axis of one slot (a single bar was drawn over the title, unlabelled).
    let n = b.rows.len().max(2) as u32;
    let xs = b
        .rows
        .iter()
        .flat_map(|r| [r.1, r.2, r.3])
        .chain(std::iter::once(0.0));
    let (mut x0, mut x1) = padded(xs, true);
    // Counts and shares start at 0, not in a padding below it.
    let nonnegative = b
        .rows
        .iter()
        .all(|r| [r.1, r.2].iter().all(|v| v.is_nan() || *v >= 0.0));
    if nonnegative {
        x0 = 0.0;
    }
    // Room at the right for each bar's value, printed at its end, so a bar too short to see
    // still says what it is.
    x1 += (x1 - x0) * 0.12;
    let longest = b
        .rows
        .iter()
        .map(|r| r.0.chars().count())
        .max()
        .unwrap_or(0);
    let label_area = (longest as u32 * 8 + 16).clamp(60, 320);
    let mut ch = ChartBuilder::on(root)
        .caption(&b.title, font(22))
        .margin(14)
        .x_label_area_size(48)
        .y_label_area_size(label_area)
        .build_cartesian_2d(x0..x1, (0..n - 1).into_segmented())?;
    let xf = |v: &f64| tick(*v);
    // Row i is drawn at slot n-1-i, so the rows read top to bottom in their given order.
    let slot = |i: usize| n - 1 - i as u32;
    let yf = |v: &SegmentValue<u32>| match v {
        SegmentValue::CenterOf(i) if *i < n => b
            .rows
            .get((n - 1 - *i) as usize)
            .map(|r| r.0.clone())
            .unwrap_or_default(),
        _ => String::new(),
    };
    ch.configure_mesh()
        .x_desc(&b.x_label)
        .y_labels(n as usize)
        .x_label_formatter(&xf)
        .y_label_formatter(&yf)
        .label_style(font(13))
        .axis_desc_style(font(15))
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .draw()?;
    for (row, r) in b.rows.iter().enumerate() {
        let i = slot(row);
        if !r.1.is_finite() {
            continue;
        }
        let col = match b.tones.get(row).copied().unwrap_or(BarTone::Amount) {
            BarTone::Amount => palette::AMOUNT,
            BarTone::Better => palette::BETTER,
            BarTone::Worse => palette::WORSE,
            BarTone::Unclear => palette::UNCLEAR,
        };
        let mut bar = Rectangle::new(
            [
                (0.0_f64.min(r.1), SegmentValue::Exact(i)),
                (0.0_f64.max(r.1), SegmentValue::Exact(i + 1)),
            ],
            col.mix(0.7).filled(),
        );
        bar.set_margin(8, 8, 0, 0);
        ch.draw_series(std::iter::once(bar))?;
        if r.2.is_finite() && r.3.is_finite() {
            ch.draw_series(std::iter::once(PathElement::new(
                vec![
                    (r.2, SegmentValue::CenterOf(i)),
                    (r.3, SegmentValue::CenterOf(i)),
                ],
                BLACK.stroke_width(2),
            )))?;
        }
        let end = [0.0, r.1, r.3]
            .into_iter()
            .filter(|v| v.is_finite())
            .fold(0.0_f64, f64::max);
        let (px, py) = ch.backend_coord(&(end, SegmentValue::CenterOf(i)));
        root.draw(&Text::new(
            tick(r.1),
            (px + 6, py),
            font(12).pos(plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Left,
                plotters::style::text_anchor::VPos::Center,
            )),
        ))?;
    }
    ch.draw_series(std::iter::once(PathElement::new(
        vec![(0.0, SegmentValue::Exact(0)), (0.0, SegmentValue::Exact(n))],
        BLACK.stroke_width(1),
    )))?;
    Ok(())
}
