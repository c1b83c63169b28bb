//! Run outputs: the report JSON that makes every result rerunnable, digests, the terminal
//! summary, CSV, plots and the HTML page. Reads results through `sim-core`'s metric and series
//! types and the report JSON only, never `models` internals.

pub mod html;
pub mod journal;
pub mod number;
pub mod objective;
pub mod output;
pub mod paired;
pub mod plot;
pub mod report;
pub mod series_csv;
pub mod sweep;
pub mod sweep_output;
pub mod sweep_plots;
pub mod table;
pub mod verdict;

pub use output::{OutputError, Written, write_run_outputs};
pub use report::{
    COMMIT, Report, StoredReport, Tool, VERSION_LINE, first_difference, first_field_difference,
    write_atomic,
};
pub use table::{render_csv, render_summary, render_table};
