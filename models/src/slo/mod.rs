//! Service level objectives, error budgets and burn-rate alerts, measured in virtual time.
//!
//! An SLO here is plain configuration ([`SloConfig`]), shaped after the OpenSLO spec (v1 `SLO`:
//! an indicator, an objective, a time window, a budgeting method). The world feeds one
//! [`SloTracker`] per replication with the facts of every finished call
//! ([`SloTracker::record`]); the tracker classifies each call as good, bad or not counted per
//! SLO, adds it to integer counts, evaluates burn-rate alert rules at a fixed virtual-time
//! interval, and at the end ([`SloTracker::finish`]) yields per-SLO results, the alert log and
//! the grading of the alerts against the ground-truth fault windows.
//!
//! Memory does not grow with the number of calls, nor (beyond the ≤ 500 report buckets) with the
//! horizon: counts live in a ring of one evaluation interval per slot that spans the longest
//! window any SLO needs (capped at the measured span), threshold SLIs keep one histogram for the
//! slice in progress, and logs are capped.
//!
//! ## Definitions (all exact, in integers)
//!
//! - **Objective** in parts per million ([`Objective`]), parsed from decimal text, never through
//!   `1 − 0.999` in floating point. The error budget is `10⁶ − objective` ppm.
//! - **Units.** With *Occurrences* budgeting a unit is a counted call; with *Timeslices* it is a
//!   slice of time, good when the slice's ratio of good calls reaches the slice target (ratio
//!   SLIs) or when the slice's quantile is within the threshold (threshold SLIs). An empty slice
//!   is judged by [`EmptySlice`] (default: good, since nobody was served badly). The slice in
//!   progress when the run ends is judged on what it holds, and dropped if it holds nothing.
//! - **Compliance windows.** Rolling (the trailing window at each evaluation) or calendar.
//!   Virtual time has no calendar, so calendar windows are consecutive windows of the given
//!   length starting at the end of the warm-up.
//! - **Budget of a window** = budget fraction × the units the window holds. Before a window is
//!   complete its unit count is extrapolated at the rate seen so far (`units × window / elapsed`;
//!   Timeslices know it exactly: `window / slice`). So a 30-day window at 99.9% with steady
//!   traffic allows exactly 43.2 minutes of total outage wherever in the window it happens, and a
//!   run shorter than the window reports the share of a full window's budget it burned.
//! - **Budget consumed** = bad units / budget; remaining = 1 − consumed (negative once overspent).
//!   **Exhausted** at the first evaluation where consumed > 1; **time to exhaustion** is from the
//!   start of that window.
//! - **Breached window**: a complete window whose SLI is below the objective (equivalently,
//!   consumed > 1 at its end). Rolling windows count breach *episodes* over the evaluations with a
//!   complete trailing window. A run shorter than its window is judged on its extrapolated
//!   budget at the end. `met` means no window was breached.
//! - **Incidents**: maximal runs of evaluations at which the SLI over the trailing
//!   `incident_window` is below the objective. MTTR = mean incident duration; MTBF = time not in
//!   an incident / incidents (the operational definition). An incident open at the end is closed
//!   there.
//! - **Burn-rate alerts**: see [`policies::burn_rate`]; they run on the same units.
//!
//! Sources: OpenSLO specification v1 (SLO kind: `budgetingMethod` Occurrences/Timeslices,
//! `timeSliceTarget`, `timeSliceWindow`, rolling/calendar `timeWindow`); Google SRE workbook
//! ch. 2 "Implementing SLOs" and ch. 5 "Alerting on SLOs".

mod config;
mod objective;
mod report;
mod sli;
mod tracker;

pub use config::{AlertingConfig, DEFAULT_INCIDENT_WINDOW, SloConfig, SloWindow};
pub use objective::{Objective, decimal_scaled};
pub use report::{Incident, MAX_STORED, SloReport, SloResult, WindowResult};
pub use sli::{
    Budgeting, CallFacts, EmptySlice, Indicator, RatioSli, ThresholdMetric, ThresholdSli,
};
pub use tracker::SloTracker;

pub use crate::outcome::{Outcome, OutcomeSet};
