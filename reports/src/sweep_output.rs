//! A sweep's outputs, written once its points are done: `sweep.json` and `sweep.csv`. (The plots
//! are written by the caller once the objective has chosen its points, which they mark.)
//! Apart from `sweep` (the plan and the point reports) and `sweep_plots` (the drawing), which
//! each stand alone.

use crate::sweep::SweepPlan;
use crate::sweep::SweepPoint;
use std::path::Path;

/// Writes `sweep.json` and `sweep.csv` into `dir` from the plan and the point reports there.
pub fn finalize(dir: &Path, plan: &SweepPlan) -> Result<Vec<SweepPoint>, String> {
    let points = crate::sweep::read_points(dir, plan)?;
    for (file, text) in [
        ("sweep.json", crate::sweep::sweep_json(plan, &points)),
        ("sweep.csv", crate::sweep::sweep_csv(plan, &points)),
    ] {
        let path = dir.join(file);
        crate::report::write_atomic(&path, text.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(points)
}
