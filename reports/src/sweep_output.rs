//! A sweep's outputs, written once its points are done: `sweep.json`, `sweep.csv` and the plots.
//! Apart from `sweep` (the plan and the point reports) and `sweep_plots` (the drawing), which
//! each stand alone.

use crate::sweep::SweepPlan;
use crate::sweep::SweepPoint;
use std::path::Path;

/// Writes `sweep.json`, `sweep.csv` and the plots into `dir` from the plan and the point reports
/// there.
pub fn finalize(dir: &Path, plan: &SweepPlan) -> Result<Vec<SweepPoint>, String> {
    let points = crate::sweep::read_points(dir, plan)?;
    crate::sweep_plots::write_sweep_plots(dir, plan, &points).map_err(|e| e.to_string())?;
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
