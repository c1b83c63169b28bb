//! Plots as PNG and SVG, from descriptions rather than drawing code.
//!
//! A [`Figure`] says *what* to show (lines with confidence bands, shaded intervals, markers, a
//! heatmap, a Pareto front, paired differences); [`write_figure`] renders it to both formats with
//! the embedded DejaVu Sans font, so rendering needs no system fonts and gives the same bytes on
//! every machine. Later outputs slot in as data: a breaker-state or burn-rate chart is a [`Chart`]
//! whose `shaded` holds the fault windows and whose `markers` hold the alert firings.
//!
//! The chart functions the sweep and compare commands use ([`line_with_band`], [`heatmap`],
//! [`pareto_scatter`], [`paired_bars`]) each write `STEM.png` and `STEM.svg`.

mod draw;
pub mod palette;
pub mod run;

use crate::report::write_atomic;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use run::run_figures;

/// Pixel size of every figure (PNG and SVG alike).
pub const SIZE: (u32, u32) = (900, 500);

static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// The font family every text element asks for; the embedded font is registered under it.
const FAMILY: &str = "sans-serif";

/// Registers the embedded font once per process. plotters keeps fonts in a global table, and
/// with its `ttf` feature off that table is the only place text comes from.
fn ensure_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FAMILY, plotters::style::FontStyle::Normal, FONT).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(PlotError::new("the embedded font could not be loaded"))
    }
}

/// Why a figure could not be drawn or written.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct PlotError(String);

impl PlotError {
    fn new(message: impl Into<String>) -> PlotError {
        PlotError(message.into())
    }
}

/// How the x axis maps values to positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    Linear,
    /// Base-10 logarithmic: for latency distributions whose tails span decades. Non-positive
    /// values are left out.
    Log,
}

/// One line of a [`Chart`].
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Legend entry (may come from a scenario file; renderers escape it).
    pub label: String,
    /// `(x, y)` points; non-finite values break the line instead of bending it to zero.
    pub points: Vec<(f64, f64)>,
    /// Optional `(low, high)` band per point (same length as `points`), drawn translucent under
    /// the line: confidence intervals across replications.
    pub band: Option<Vec<(f64, f64)>>,
    /// Data or a reference level; decides its colour (see [`palette`]).
    pub kind: LineKind,
}

/// What a [`Line`] is: data take the series colours in turn; a reference level (a budget
/// exhausted, a sustainable burn rate) is dashed dark grey in every chart and takes no series
/// colour from the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Data,
    Reference,
    /// The highest replication of the data line before it: thin, in that line's colour.
    Peak,
}

/// An x interval drawn as a translucent background: an outage, a chaos experiment, a fault.
#[derive(Debug, Clone, PartialEq)]
pub struct Shade {
    pub from: f64,
    pub to: f64,
    pub label: String,
}

/// A vertical line at an x value with a short label: an alert firing, a breaker opening, the
/// point a sweep chose. The label is written above the plot area, where no line runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub at: f64,
    pub label: String,
    pub kind: MarkerKind,
}

/// What a [`Marker`] marks, which decides its colour (see [`palette`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkerKind {
    Alert,
    Chosen,
}

/// A line chart: time series, CDFs, one-parameter sweeps.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_scale: Scale,
    /// The y axis: log for a latency tail (the share of requests slower than x).
    pub y_scale: Scale,
    /// The x axis exactly, when the data should not decide it: a time axis ends at the horizon,
    /// not where the last bucket's midpoint or a padding margin falls.
    pub x_range: Option<(f64, f64)>,
    /// Start the y axis at zero (rates, depths, utilisation) rather than at the data's minimum.
    pub y_from_zero: bool,
    /// The x ticks exactly (data values), when the data's own points are the honest ticks: a
    /// sweep's swept values, so an integer parameter shows no 1.5 and a log sweep shows the
    /// decades it ran. `None`: ticks at round numbers.
    pub x_ticks: Option<Vec<f64>>,

    pub lines: Vec<Line>,
    pub shaded: Vec<Shade>,
    pub markers: Vec<Marker>,
}

impl Chart {
    pub fn new(title: &str, x_label: &str, y_label: &str) -> Chart {
        Chart {
            title: title.to_string(),
            x_label: x_label.to_string(),
            y_label: y_label.to_string(),
            x_scale: Scale::Linear,
            y_scale: Scale::Linear,
            x_range: None,
            y_from_zero: true,
            x_ticks: None,

            lines: Vec::new(),
            shaded: Vec::new(),
            markers: Vec::new(),
        }
    }
}

/// A corner (or the middle of a side) of the plot area, where a legend can go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corner {
    UpperRight,
    UpperLeft,
    LowerRight,
    LowerLeft,
    MiddleRight,
    MiddleLeft,
}

impl Chart {
    /// The place whose legend-sized box (the outer 30% of the width, a quarter of the height at
    /// the top, bottom or middle) the lines cross least, sampled along every segment; ties go to
    /// the upper right, then upper left, lower right, lower left, middle right, middle left. A
    /// legend there covers no curve when any such place is free (budgets along the top and a
    /// level line along the bottom leave the middle).
    pub fn legend_corner(&self) -> Corner {
        self.crossings(0.3, 0.25)
            .into_iter()
            .min_by_key(|&(_, n)| n)
            .map_or(Corner::UpperRight, |(c, _)| c)
    }

    /// Where the legend goes: a corner no line crosses, for a box the size this legend needs
    /// (a row per line, as wide as its longest label), or `None`: outside the plot area, to
    /// its right, because every such place would cover part of a line.
    pub fn legend_inside(&self) -> Option<Corner> {
        let longest = self
            .lines
            .iter()
            .map(|l| l.label.chars().count())
            .max()
            .unwrap_or(0);
        // Against a plot area of about 800 × 380 pixels: 20 pixels a row, 7 a character and
        // the sample stroke.
        let width = ((longest as f64 * 7.0 + 44.0) / 800.0).clamp(0.1, 1.0);
        let height = ((self.lines.len() as f64 * 20.0 + 12.0) / 380.0).clamp(0.1, 1.0);
        self.crossings(width, height)
            .into_iter()
            .find(|&(_, n)| n == 0)
            .map(|(c, _)| c)
    }

    /// For each place, in order of preference, how many samples along the lines fall in a box
    /// `width` × `height` (shares of the plot area) there.
    fn crossings(&self, width: f64, height: f64) -> [(Corner, usize); 6] {
        let tf = |scale: Scale, v: f64| match scale {
            Scale::Linear => v,
            Scale::Log if v > 0.0 => v.log10(),
            Scale::Log => f64::NAN,
        };
        let pts: Vec<(f64, f64)> = self
            .lines
            .iter()
            .flat_map(|l| {
                let p: Vec<(f64, f64)> = l
                    .points
                    .iter()
                    .map(|&(x, y)| (tf(self.x_scale, x), tf(self.y_scale, y)))
                    .collect();
                let mut out = Vec::new();
                for w in p.windows(2) {
                    let ((x0, y0), (x1, y1)) = (w[0], w[1]);
                    for k in 0..10 {
                        let t = f64::from(k) / 10.0;
                        out.push((x0 + (x1 - x0) * t, y0 + (y1 - y0) * t));
                    }
                }
                out.extend(p.last().copied());
                out
            })
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        let bounds = |vals: &mut dyn Iterator<Item = f64>| {
            vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                (l.min(v), h.max(v))
            })
        };
        let (mut x0, mut x1) = bounds(&mut pts.iter().map(|p| p.0));
        if let Some((a, b)) = self.x_range {
            (x0, x1) = (tf(self.x_scale, a), tf(self.x_scale, b));
        }
        let (mut y0, y1) = bounds(&mut pts.iter().map(|p| p.1));
        if self.y_from_zero && self.y_scale == Scale::Linear {
            y0 = y0.min(0.0);
        }
        let (w, h) = ((x1 - x0).max(1e-300), (y1 - y0).max(1e-300));
        // `row`: 2 top, 1 middle, 0 bottom.
        let count = |right: bool, row: u8| {
            pts.iter()
                .filter(|(x, y)| {
                    let fx = (x - x0) / w;
                    let fy = (y - y0) / h;
                    let in_row = match row {
                        2 => fy >= 1.0 - height,
                        1 => (fy - 0.5).abs() <= height / 2.0,
                        _ => fy <= height,
                    };
                    (if right {
                        fx >= 1.0 - width
                    } else {
                        fx <= width
                    }) && in_row
                })
                .count()
        };
        [
            (Corner::UpperRight, count(true, 2)),
            (Corner::UpperLeft, count(false, 2)),
            (Corner::LowerRight, count(true, 0)),
            (Corner::LowerLeft, count(false, 0)),
            (Corner::MiddleRight, count(true, 1)),
            (Corner::MiddleLeft, count(false, 1)),
        ]
    }
}

/// A grid of values over two categorical axes; `values[row][column]`, rows along y.
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_ticks: Vec<String>,
    pub y_ticks: Vec<String>,
    pub values: Vec<Vec<Option<f64>>>,
    /// `(row, column)` cells to outline: the points a sweep's objective chose.
    pub marked: Vec<(usize, usize)>,
}

impl Heatmap {
    /// The values the colour scale spans, `(lowest, highest)` finite value: the ends of the
    /// colour bar drawn beside the grid. `None` when no cell has a value.
    pub fn colour_range(&self) -> Option<(f64, f64)> {
        let (lo, hi) = self
            .values
            .iter()
            .flatten()
            .flatten()
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, u), &v| {
                (l.min(v), u.max(v))
            });
        (lo <= hi).then_some((lo, hi))
    }
}

/// Points of a two-objective trade-off; those on the Pareto front are highlighted and labelled.
#[derive(Debug, Clone, PartialEq)]
pub struct Scatter {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub points: Vec<(f64, f64, bool, String)>,
}

/// One horizontal bar per `(label, value, ci_low, ci_high)` row, the first row on top, with the
/// interval as a whisker when it exists.
#[derive(Debug, Clone, PartialEq)]
pub struct Bars {
    pub title: String,
    pub x_label: String,
    pub rows: Vec<(String, f64, f64, f64)>,
    /// What each bar's colour says, by row; rows without one are amounts (costs, shares,
    /// counts), drawn blue.
    pub tones: Vec<BarTone>,
}

/// The meaning of a bar's colour, the same in every chart: green better, red worse, grey a
/// change the replications cannot tell from none, blue an amount with no better direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarTone {
    Amount,
    Better,
    Worse,
    Unclear,
}

/// Anything [`write_figure`] can render.
#[derive(Debug, Clone, PartialEq)]
pub enum Figure {
    Chart(Chart),
    Heatmap(Heatmap),
    Scatter(Scatter),
    Bars(Bars),
}

/// The figure as an SVG document (what `report.html` inlines).
pub fn render_svg(figure: &Figure) -> Result<String, PlotError> {
    ensure_font()?;
    let mut svg = String::new();
    {
        use plotters::prelude::*;
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        draw::figure(&root, figure).map_err(|e| PlotError::new(format!("drawing SVG: {e}")))?;
        root.present()
            .map_err(|e| PlotError::new(format!("drawing SVG: {e}")))?;
    }
    Ok(svg)
}

/// Renders `figure` to `STEM.png` and `STEM.svg` (each written to a temporary name and renamed)
/// and returns the SVG text.
pub fn write_figure(figure: &Figure, stem: &Path) -> Result<String, PlotError> {
    use plotters::prelude::*;
    let svg = render_svg(figure)?;
    let svg_path = with_extension(stem, "svg");
    write_atomic(&svg_path, svg.as_bytes())
        .map_err(|e| PlotError::new(format!("cannot write {}: {e}", svg_path.display())))?;
    let png_path = with_extension(stem, "png");
    // The image encoder picks the format from the extension, so the temporary name keeps it.
    let name = stem.file_name().and_then(|n| n.to_str()).unwrap_or("plot");
    let tmp = stem.with_file_name(format!(".{name}.tmp-{}.png", std::process::id()));
    let result = (|| {
        let root = BitMapBackend::new(&tmp, SIZE).into_drawing_area();
        draw::figure(&root, figure).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
        drop(root);
        std::fs::rename(&tmp, &png_path).map_err(|e| e.to_string())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(PlotError::new(format!(
            "cannot write {}: {e}",
            png_path.display()
        )));
    }
    Ok(svg)
}

fn with_extension(stem: &Path, ext: &str) -> PathBuf {
    let mut name = stem.file_name().unwrap_or_default().to_os_string();
    name.push(".");
    name.push(ext);
    stem.with_file_name(name)
}

/// One-parameter sweep: the mean of a metric at each parameter value `x` with its confidence
/// band. `points` are `(x, mean, low, high)`, in any order (they are drawn sorted by x); rows
/// with a non-finite mean are skipped. Writes `STEM.png` and `STEM.svg`.
pub fn line_with_band(
    stem: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    points: &[(f64, f64, f64, f64)],
) -> Result<(), PlotError> {
    let mut sorted: Vec<_> = points.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut chart = Chart::new(title, x_label, y_label);
    chart.y_from_zero = false;
    chart.lines.push(Line {
        label: y_label.to_string(),
        points: sorted.iter().map(|p| (p.0, p.1)).collect(),
        band: Some(sorted.iter().map(|p| (p.2, p.3)).collect()),
        kind: LineKind::Data,
    });
    write_figure(&Figure::Chart(chart), stem).map(|_| ())
}

/// Two-parameter sweep: one coloured cell per grid point with its value written in it (when the
/// grid is small enough to read). `values[row][column]`: rows follow `y_ticks` (bottom to top),
/// columns follow `x_ticks`; `None` marks a point without a value (drawn grey, "n/a"). Writes
/// `STEM.png` and `STEM.svg`.
pub fn heatmap(
    stem: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    x_ticks: &[String],
    y_ticks: &[String],
    values: &[Vec<Option<f64>>],
) -> Result<(), PlotError> {
    let figure = Figure::Heatmap(Heatmap {
        title: title.to_string(),
        x_label: x_label.to_string(),
        y_label: y_label.to_string(),
        x_ticks: x_ticks.to_vec(),
        y_ticks: y_ticks.to_vec(),
        values: values.to_vec(),
        marked: Vec::new(),
    });
    write_figure(&figure, stem).map(|_| ())
}

/// Trade-off between two objectives: `points` are `(x, y, on_front, label)`; points on the
/// Pareto front are coloured, joined in x order and labelled, the others drawn grey. Which
/// points are on the front is the caller's decision (it knows which direction is better).
/// Writes `STEM.png` and `STEM.svg`.
pub fn pareto_scatter(
    stem: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    points: &[(f64, f64, bool, String)],
) -> Result<(), PlotError> {
    let figure = Figure::Scatter(Scatter {
        title: title.to_string(),
        x_label: x_label.to_string(),
        y_label: y_label.to_string(),
        points: points.to_vec(),
    });
    write_figure(&figure, stem).map(|_| ())
}

/// Paired comparison: one horizontal bar per `(metric, difference, ci_low, ci_high)` row, with
/// the confidence interval as a whisker and a line at zero, so "does the interval cross zero"
/// is visible at a glance, coloured by `tones` (better, worse or unclear for each metric's
/// direction, not the sign). Rows share one x axis: pass relative differences (e.g. percent) when
/// the metrics' units differ. Writes `STEM.png` and `STEM.svg`.
pub fn paired_bars(
    stem: &Path,
    title: &str,
    x_label: &str,
    rows: &[(String, f64, f64, f64)],
    tones: &[BarTone],
) -> Result<(), PlotError> {
    let figure = Figure::Bars(Bars {
        title: title.to_string(),
        x_label: x_label.to_string(),
        rows: rows.to_vec(),
        tones: tones.to_vec(),
    });
    write_figure(&figure, stem).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_bar_is_drawn_inside_the_plot() {
        let one = Figure::Bars(Bars {
            title: "Attempt errors by class".into(),
            x_label: "attempts".into(),
            rows: vec![("rate limited".into(), 4735.0, 4707.0, 4763.0)],
            tones: Vec::new(),
        });
        let svg = render_svg(&one).unwrap();
        // The bar is a rectangle of positive height below the title (y > 40); with one slot on
        // the axis it had a negative height, over the title.
        let bar = svg
            .split("<rect")
            .find(|r| r.contains("opacity=\"0.7\""))
            .expect("a bar");
        let attr = |name: &str| -> i64 {
            let at = bar.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
            bar[at..].split('"').next().unwrap().parse().unwrap()
        };
        assert!(attr("height") > 0 && attr("y") > 40, "{bar}");
    }

    #[test]
    fn axis_ticks_are_short() {
        let t = draw::tick;
        // Everyday magnitudes as the table writes them; plotters' float noise rounded away.
        assert_eq!(t(0.5), "0.5");
        assert_eq!(t(0.001), "0.001");
        assert_eq!(t(2.5e-13), "0");
        // Below a thousandth: a short exponent, not the table's `8.0000e-4`.
        assert_eq!(t(8.000_000_000_000_001e-4), "8e-4");
        assert_eq!(t(-2.5e-4), "-2.5e-4");
        assert_eq!(t(1.2345e-5), "1.23e-5");
        assert_eq!(t(3e12), "3e12");
    }

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("faultline-plot-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn sample_chart() -> Chart {
        let mut c = Chart::new("Throughput <&> goodput", "time (s)", "per s");
        c.lines.push(Line {
            label: "<script>alert(1)</script>".into(),
            points: (0..50)
                .map(|i| (i as f64, (i as f64 / 5.0).sin() + 2.0))
                .collect(),
            band: Some(
                (0..50)
                    .map(|i| {
                        let y = (i as f64 / 5.0).sin() + 2.0;
                        (y - 0.2, y + 0.2)
                    })
                    .collect(),
            ),
            kind: LineKind::Data,
        });
        c.lines.push(Line {
            label: "with a gap".into(),
            points: vec![(0.0, 1.0), (10.0, f64::NAN), (20.0, 1.5), (30.0, 1.2)],
            band: None,
            kind: LineKind::Reference,
        });
        c.shaded.push(Shade {
            from: 10.0,
            to: 20.0,
            label: "outage".into(),
        });
        c.markers.push(Marker {
            at: 25.0,
            label: "alert".into(),
            kind: MarkerKind::Alert,
        });
        c
    }

    /// Decodes a PNG into (width, height, RGB(A) bytes, channels).
    fn decode(path: &Path) -> (u32, u32, Vec<u8>, usize) {
        let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        (info.width, info.height, buf, info.color_type.samples())
    }

    #[test]
    fn the_legend_goes_where_no_line_runs() {
        let mut c = Chart::new("t", "x", "y");
        let flat = |y: f64| Line {
            label: "l".into(),
            points: (0..=100).map(|i| (f64::from(i), y)).collect(),
            band: None,
            kind: LineKind::Data,
        };
        // Budgets near 1 along the top and a level line at 0: every corner is crossed, the
        // middle of the right side is free.
        c.lines = vec![flat(1.0), flat(0.0)];
        c.y_from_zero = false;
        assert_eq!(c.legend_corner(), Corner::MiddleRight);
        // A line along the bottom only: the upper right is free, and preferred.
        c.lines = vec![
            flat(0.0),
            Line {
                points: vec![(0.0, 0.0), (0.0, 5.0)],
                ..flat(0.0)
            },
        ];
        assert_eq!(c.legend_corner(), Corner::UpperRight);
        // A falling tail on a log axis leaves the upper right free too, and not the upper left.
        c.y_scale = Scale::Log;
        c.lines = vec![Line {
            points: vec![
                (1.0, 1.0),
                (2.0, 0.9),
                (5.0, 0.1),
                (10.0, 0.01),
                (20.0, 0.001),
            ],
            ..flat(0.0)
        }];
        assert_eq!(c.legend_corner(), Corner::UpperRight);
    }

    /// The colours say what a line is: the data line takes the first series colour, the
    /// reference level its own (and does not use up the second series colour), the alert its.
    #[test]
    fn colours_follow_meaning_not_order() {
        let svg = render_svg(&Figure::Chart(sample_chart())).unwrap();
        let hex = |c: plotters::style::RGBColor| format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2);
        for c in [palette::series(0), palette::REFERENCE, palette::ALERT] {
            assert!(svg.contains(&hex(c)), "{} missing", hex(c));
        }
        assert!(!svg.contains(&hex(palette::series(1))));
    }

    #[test]
    fn svg_is_deterministic_and_escapes_labels() {
        let fig = Figure::Chart(sample_chart());
        let a = render_svg(&fig).unwrap();
        let b = render_svg(&fig).unwrap();
        assert_eq!(a, b);
        assert!(a.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!a.contains("<script"));
        assert!(a.contains("Throughput &lt;&amp;&gt; goodput"));
    }

    /// The title is drawn with the embedded font: with plotters' system-font lookup compiled
    /// out, dark pixels in the title band can only come from it.
    /// A chart whose x axis ends on a tick: the x range 0..10 ends at the tick `10`.
    fn ending_on_a_tick() -> Chart {
        let mut c = Chart::new("t", "x", "y");
        c.x_range = Some((0.0, 10.0));
        c.lines.push(Line {
            label: "l".into(),
            points: vec![(0.0, 1.0), (10.0, 2.0)],
            band: None,
            kind: LineKind::Data,
        });
        c
    }

    /// The last tick's label is drawn whole: plotters clips labels to the strip under the plot,
    /// which ends at the last tick, so half of `10` used to be cut off in the PNG (the SVG is
    /// not clipped); now it shows dark pixels right of the axis end, as it does left of it.
    #[test]
    fn the_last_tick_label_is_not_cut_off() {
        let dir = scratch("edge");
        let stem = dir.join("edge");
        let svg = write_figure(&Figure::Chart(ending_on_a_tick()), &stem).unwrap();
        // The tick marks under the axis: `points="X,Y0 X,Y1 "`, 5 pixels long.
        let ticks: Vec<(i32, i32)> = svg
            .lines()
            .filter(|l| l.contains("<polyline") && l.contains("stroke=\"#000000\""))
            .filter_map(|l| {
                let p = l.split("points=\"").nth(1)?.split('"').next()?;
                let pts: Vec<(i32, i32)> = p
                    .split_whitespace()
                    .filter_map(|xy| {
                        let (x, y) = xy.split_once(',')?;
                        Some((x.parse().ok()?, y.parse().ok()?))
                    })
                    .collect();
                (pts.len() == 2 && pts[0].0 == pts[1].0 && pts[1].1 - pts[0].1 == 5)
                    .then_some((pts[0].0, pts[0].1))
            })
            .collect();
        let &(end, axis_y) = ticks.iter().max().expect("x ticks");
        // Every x label, the last one included, is drawn once, on one row.
        let label = |text: &str| {
            svg.lines()
                .position(|l| l.trim() == text)
                .map(|i| svg.lines().nth(i - 1).unwrap().to_string())
        };
        let last = label("10").expect("the label of the last tick");
        let first = label("5").expect("the label of the middle tick");
        let attr = |l: &str, a: &str| -> i32 {
            l.split(&format!(" {a}=\""))
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        assert_eq!(attr(&last, "x"), end, "{last}");
        assert_eq!(attr(&last, "y"), attr(&first, "y"), "{last}\n{first}");
        let (w, _, px, ch) = decode(&dir.join("edge.png"));
        let dark = |cols: std::ops::Range<i32>| {
            (axis_y + 5..axis_y + 30)
                .flat_map(|y| cols.clone().map(move |x| (y, x)))
                .filter(|&(y, x)| {
                    let i = (y as usize * w as usize + x as usize) * ch;
                    px[i] < 100 && px[i + 1] < 100 && px[i + 2] < 100
                })
                .count()
        };
        let right = dark(end + 2..end + 12);
        let left = dark(end - 11..end - 1);
        assert!(
            right > 5,
            "{right} dark pixels right of the last tick ({left} left of it)"
        );
        assert!(draw::label_overhangs(end, "10", end + 8));
        assert!(!draw::label_overhangs(end, "10", end + 9));
        assert!(!draw::label_overhangs(end, "", end));
    }

    /// A fault's label moves right past an alert's that would cover it, while it stays over its
    /// shaded window; an alert an hour into a 36-hour fault left the fault unnamed.
    #[test]
    fn a_fault_label_makes_way_for_an_alert() {
        let mut c = Chart::new("t", "time (h)", "y");
        c.x_range = Some((0.0, 36.0));
        c.lines.push(Line {
            label: "l".into(),
            points: vec![(0.0, 1.0), (36.0, 2.0)],
            band: None,
            kind: LineKind::Data,
        });
        c.shaded.push(Shade {
            from: 12.0,
            to: 36.0,
            label: "fault".into(),
        });
        c.markers.push(Marker {
            at: 13.1,
            label: "alert".into(),
            kind: MarkerKind::Alert,
        });
        let svg = render_svg(&Figure::Chart(c.clone())).unwrap();
        let x_of = |text: &str| -> i32 {
            let i = svg.lines().position(|l| l.trim() == text).expect(text);
            let l = svg.lines().nth(i - 1).unwrap();
            l.split(" x=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        let (alert, fault) = (x_of("alert"), x_of("fault"));
        // The alert's label is centred (5 × 7 pixels), the fault's starts past it.
        assert!(fault >= alert + 17, "alert at {alert}, fault at {fault}");
        // A window too narrow to hold the label past the alert's stays unnamed, not covered.
        c.shaded[0].to = 13.3;
        let svg = render_svg(&Figure::Chart(c)).unwrap();
        assert!(svg.lines().any(|l| l.trim() == "alert"));
        assert!(!svg.lines().any(|l| l.trim() == "fault"), "{svg}");
    }

    #[test]
    fn png_has_title_text_without_system_fonts() {
        let dir = scratch("png");
        let stem = dir.join("chart");
        let svg = write_figure(&Figure::Chart(sample_chart()), &stem).unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("chart.svg")).unwrap(), svg);
        let (w, h, px, ch) = decode(&dir.join("chart.png"));
        assert_eq!((w, h), SIZE);
        let dark_in_title = (0..30usize)
            .flat_map(|y| (0..w as usize).map(move |x| (y, x)))
            .filter(|&(y, x)| {
                let i = (y * w as usize + x) * ch;
                px[i] < 100 && px[i + 1] < 100 && px[i + 2] < 100
            })
            .count();
        assert!(
            dark_in_title > 200,
            "only {dark_in_title} dark pixels in the title band"
        );
        // Same input, same PNG bytes.
        let first = std::fs::read(dir.join("chart.png")).unwrap();
        write_figure(&Figure::Chart(sample_chart()), &stem).unwrap();
        assert_eq!(first, std::fs::read(dir.join("chart.png")).unwrap());
        // No temporary files left behind.
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn sweep_and_compare_charts_render() {
        let dir = scratch("generic");
        line_with_band(
            &dir.join("band"),
            "p99 vs concurrency",
            "concurrency",
            "p99 (s)",
            &[
                (8.0, 3.0, 2.5, 3.5),
                (4.0, 9.0, 8.0, 10.0),
                (16.0, 1.0, 0.9, 1.1),
            ],
        )
        .unwrap();
        let ticks = |n: usize| (0..n).map(|i| format!("v{i}")).collect::<Vec<_>>();
        heatmap(
            &dir.join("heat"),
            "success",
            "timeout",
            "attempts",
            &ticks(3),
            &ticks(2),
            &[
                vec![Some(0.9), None, Some(0.99)],
                vec![Some(0.5), Some(0.7), Some(1.0)],
            ],
        )
        .unwrap();
        pareto_scatter(
            &dir.join("pareto"),
            "cost vs p99",
            "cost (USD)",
            "p99 (s)",
            &[
                (1.0, 5.0, true, "a".into()),
                (2.0, 2.0, true, "b".into()),
                (3.0, 4.0, false, "c".into()),
            ],
        )
        .unwrap();
        paired_bars(
            &dir.join("bars"),
            "B vs A",
            "change",
            &[
                ("success_ratio".into(), 0.01, 0.005, 0.015),
                ("latency_p99_s".into(), -0.4, -0.9, 0.1),
            ],
            &[BarTone::Better, BarTone::Unclear],
        )
        .unwrap();
        for stem in ["band", "heat", "pareto", "bars"] {
            for ext in ["png", "svg"] {
                let p = dir.join(format!("{stem}.{ext}"));
                assert!(
                    std::fs::metadata(&p).unwrap().len() > 1000,
                    "{}",
                    p.display()
                );
            }
        }
        let svg = std::fs::read_to_string(dir.join("heat.svg")).unwrap();
        assert!(
            svg.contains("n/a") && svg.contains("0.99"),
            "heatmap cells are labelled"
        );
        // Degenerate input draws an empty frame instead of failing.
        heatmap(&dir.join("empty"), "t", "x", "y", &[], &[], &[]).unwrap();
        paired_bars(&dir.join("none"), "t", "x", &[], &[]).unwrap();
        line_with_band(
            &dir.join("nan"),
            "t",
            "x",
            "y",
            &[(1.0, f64::NAN, 0.0, 0.0)],
        )
        .unwrap();
    }
}
