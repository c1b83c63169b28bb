//! The colours of every chart, by meaning: the same thing is drawn in the same colour in every
//! picture a run, a sweep or a comparison writes, so a reader learns the code once.
//!
//! - data series take the Tableau 10 cycle ([`series`]), colour-blind friendlier than plotters'
//!   primaries;
//! - reference levels (a budget exhausted, a sustainable burn rate, a capacity) are dark grey and
//!   dashed: they are not data;
//! - alerts are red, faults a grey shade, the point a sweep's objective chose is magenta;
//! - in bar charts green is better, red worse, grey a change the replications cannot tell from
//!   none, and blue an amount with no better direction.

use plotters::style::RGBColor;

/// Tableau 10.
const SERIES: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The colour of the `i`-th data series of a chart.
pub fn series(i: usize) -> RGBColor {
    SERIES[i % SERIES.len()]
}

/// Reference levels: budget exhausted, sustainable burn, a capacity line.
pub const REFERENCE: RGBColor = RGBColor(70, 70, 70);
/// Alert firings (marker lines and their labels).
pub const ALERT: RGBColor = RGBColor(200, 30, 30);
/// Fault windows, drawn translucent behind the data.
pub const FAULT: RGBColor = RGBColor(120, 120, 120);
/// The point a sweep's objective chose.
pub const CHOSEN: RGBColor = RGBColor(200, 0, 160);
/// Grid lines.
pub const GRID: RGBColor = RGBColor(230, 230, 230);
/// A cell or bar without a value.
pub const MISSING: RGBColor = RGBColor(210, 210, 210);
/// Bars: better by the metric's direction.
pub const BETTER: RGBColor = RGBColor(44, 160, 44);
/// Bars: worse by the metric's direction.
pub const WORSE: RGBColor = RGBColor(214, 39, 40);
/// Bars: a change the replications cannot tell from none.
pub const UNCLEAR: RGBColor = RGBColor(150, 150, 150);
/// Bars: an amount with no better direction.
pub const AMOUNT: RGBColor = RGBColor(31, 119, 180);
