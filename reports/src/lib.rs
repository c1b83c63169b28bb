//! Run outputs: the report JSON that makes every result rerunnable, digests, and the terminal
//! summary. Reads results through `sim-core`'s metric types only, never `models` internals.

pub mod objective;
pub mod paired;
pub mod report;
pub mod sweep;
pub mod table;

pub use report::{Report, StoredReport, first_difference, results_digest, write_atomic};
pub use table::render_table;
