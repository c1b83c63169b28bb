//! Everything a run leaves next to `report.json`: `plots/` (PNG and SVG of each figure),
//! `series.csv` (when the run has time series) and `report.html`. Both `faultline run` and `faultline plot` come through here, so a page
//! regenerated from a report is the page the run wrote.

use crate::html::render_html;
use crate::plot::run::ALL_STEMS;
use crate::plot::{PlotError, run_figures, write_figure};
use crate::report::{Report, write_atomic};
use crate::series_csv::render_series_csv;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error(transparent)]
    Plot(#[from] PlotError),
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// What was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub html: PathBuf,
    pub plots: Vec<PathBuf>,
    /// `series.csv`, when the report has time series.
    pub series_csv: Option<PathBuf>,
}

/// Writes `DIR/plots/*.{png,svg}`, `DIR/series.csv` and `DIR/report.html` for `report`; `rerun_command` is shown
/// on the page as the way to reproduce it.
pub fn write_run_outputs(
    report: &Report,
    dir: &Path,
    rerun_command: &str,
) -> Result<Written, OutputError> {
    let plots_dir = dir.join("plots");
    std::fs::create_dir_all(&plots_dir).map_err(|source| OutputError::Io {
        path: plots_dir.display().to_string(),
        source,
    })?;
    let figures = run_figures(report);
    let mut rendered = Vec::with_capacity(figures.len());
    let mut plots = Vec::new();
    for f in figures {
        let stem = plots_dir.join(f.stem);
        let svg = write_figure(&f.figure, &stem)?;
        plots.push(plots_dir.join(format!("{}.png", f.stem)));
        plots.push(plots_dir.join(format!("{}.svg", f.stem)));
        rendered.push((f, svg));
    }
    for stem in ALL_STEMS {
        if !rendered.iter().any(|(f, _)| f.stem == *stem) {
            for ext in ["png", "svg"] {
                let _ = std::fs::remove_file(plots_dir.join(format!("{stem}.{ext}")));
            }
        }
    }
    let series_csv = write_series_csv(report, dir)?;
    let html = render_html(report, &rendered, rerun_command);
    let html_path = dir.join("report.html");
    write_atomic(&html_path, html.as_bytes()).map_err(|source| OutputError::Io {
        path: html_path.display().to_string(),
        source,
    })?;
    Ok(Written {
        html: html_path,
        plots,
        series_csv,
    })
}

/// Writes `DIR/series.csv` when the report has series; otherwise removes a stale one, so a
/// directory never holds series of another run.
fn write_series_csv(report: &Report, dir: &Path) -> Result<Option<PathBuf>, OutputError> {
    let path = dir.join("series.csv");
    let Some(series) = &report.series else {
        let _ = std::fs::remove_file(&path);
        return Ok(None);
    };
    write_atomic(&path, render_series_csv(series).as_bytes()).map_err(|source| {
        OutputError::Io {
            path: path.display().to_string(),
            source,
        }
    })?;
    Ok(Some(path))
}
