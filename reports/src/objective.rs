//! Choosing sweep points: minimise or maximise one metric, or keep the Pareto front of several,
//! among the points that meet every constraint.
//!
//! Syntax, as given to `--objective` and `--constraint`:
//! - `min:METRIC`, `max:METRIC`
//! - `pareto:min:METRIC,max:METRIC[,...]`
//! - `METRIC>=VALUE` (also `<=`, `>`, `<`)
//!
//! `METRIC` is a metric name as it appears in the report, optionally followed by `@ci95_low` or
//! `@ci95_high` to use a confidence bound instead of the mean: `success_probability@ci95_low>=0.99`
//! keeps only the points that meet the target with 95% confidence, not merely on average.

use crate::sweep::SweepPoint;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Mean,
    Ci95Low,
    Ci95High,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricRef {
    pub name: String,
    pub field: Field,
}

impl MetricRef {
    fn parse(text: &str) -> Result<MetricRef, String> {
        let text = text.trim();
        let (name, field) = match text.rsplit_once('@') {
            Some((n, "mean")) => (n, Field::Mean),
            Some((n, "ci95_low")) => (n, Field::Ci95Low),
            Some((n, "ci95_high")) => (n, Field::Ci95High),
            Some((_, other)) => {
                return Err(format!(
                    "`@{other}` is not a metric field; expected @mean, @ci95_low or @ci95_high"
                ));
            }
            None => (text, Field::Mean),
        };
        if name.is_empty() {
            return Err("a metric name is missing".to_string());
        }
        Ok(MetricRef {
            name: name.to_string(),
            field,
        })
    }

    fn value(&self, p: &SweepPoint) -> Option<f64> {
        let m = p.metric(&self.name)?;
        match self.field {
            Field::Mean => m.mean,
            Field::Ci95Low => m.ci95_low,
            Field::Ci95High => m.ci95_high,
        }
        .filter(|v| v.is_finite())
    }

    fn label(&self) -> String {
        match self.field {
            Field::Mean => self.name.clone(),
            Field::Ci95Low => format!("{}@ci95_low", self.name),
            Field::Ci95High => format!("{}@ci95_high", self.name),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Min,
    Max,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Objective {
    Best(Direction, MetricRef),
    Pareto(Vec<(Direction, MetricRef)>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Ge,
    Le,
    Gt,
    Lt,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Constraint {
    metric: MetricRef,
    op: Op,
    bound: f64,
    text: String,
}

fn directed(text: &str) -> Result<(Direction, MetricRef), String> {
    let (dir, metric) = text
        .split_once(':')
        .ok_or_else(|| format!("`{text}` needs a direction: min:METRIC or max:METRIC"))?;
    let dir = match dir.trim() {
        "min" => Direction::Min,
        "max" => Direction::Max,
        other => {
            return Err(format!("`{other}` is not a direction; expected min or max"));
        }
    };
    Ok((dir, MetricRef::parse(metric)?))
}

impl Objective {
    pub fn parse(text: &str) -> Result<Objective, String> {
        let text = text.trim();
        let wrap = |e: String| {
            format!(
                "--objective `{text}`: {e} (forms: min:METRIC, max:METRIC, pareto:min:METRIC,max:METRIC)"
            )
        };
        if let Some(rest) = text.strip_prefix("pareto:") {
            let parts = rest
                .split(',')
                .map(directed)
                .collect::<Result<Vec<_>, _>>()
                .map_err(wrap)?;
            if parts.len() < 2 {
                return Err(wrap(
                    "a Pareto front needs at least two metrics".to_string(),
                ));
            }
            return Ok(Objective::Pareto(parts));
        }
        let (d, m) = directed(text).map_err(wrap)?;
        Ok(Objective::Best(d, m))
    }

    fn metrics(&self) -> Vec<&MetricRef> {
        match self {
            Objective::Best(_, m) => vec![m],
            Objective::Pareto(parts) => parts.iter().map(|(_, m)| m).collect(),
        }
    }
}

impl Constraint {
    pub fn parse(text: &str) -> Result<Constraint, String> {
        let t = text.trim();
        let found = [(">=", Op::Ge), ("<=", Op::Le), (">", Op::Gt), ("<", Op::Lt)]
            .into_iter()
            .find_map(|(s, op)| t.split_once(s).map(|(l, r)| (l, op, r)));
        let Some((left, op, right)) = found else {
            return Err(format!(
                "--constraint `{t}` is not a comparison; expected METRIC>=VALUE (or <=, >, <)"
            ));
        };
        let bound: f64 = right
            .trim()
            .parse()
            .map_err(|_| format!("--constraint `{t}`: `{}` is not a number", right.trim()))?;
        if !bound.is_finite() {
            return Err(format!("--constraint `{t}`: the bound must be finite"));
        }
        Ok(Constraint {
            metric: MetricRef::parse(left).map_err(|e| format!("--constraint `{t}`: {e}"))?,
            op,
            bound,
            text: t.to_string(),
        })
    }

    /// The constraint as written (`success_ratio>=0.99`).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether point `p` meets the constraint (a missing value does not).
    pub fn holds(&self, p: &SweepPoint) -> bool {
        let Some(v) = self.metric.value(p) else {
            return false;
        };
        match self.op {
            Op::Ge => v >= self.bound,
            Op::Le => v <= self.bound,
            Op::Gt => v > self.bound,
            Op::Lt => v < self.bound,
        }
    }
}

/// The outcome of an objective over a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// How many points met every constraint.
    pub feasible: usize,
    /// Indices into the points given, best first (Pareto: sorted by the first metric).
    pub chosen: Vec<usize>,
    /// The metrics the objective and constraints speak of, for display.
    pub columns: Vec<String>,
}

/// Applies `constraints`, then `objective`. A metric that no point has is an error (a typo must
/// not silently select nothing); a point lacking a value for an objective metric is skipped.
pub fn select(
    points: &[SweepPoint],
    objective: &Objective,
    constraints: &[Constraint],
) -> Result<Selection, String> {
    let wanted: Vec<&MetricRef> = objective
        .metrics()
        .into_iter()
        .chain(constraints.iter().map(|c| &c.metric))
        .collect();
    for m in &wanted {
        if !points.iter().any(|p| p.metric(&m.name).is_some()) {
            let known: Vec<&str> = points
                .first()
                .map(|p| p.metrics.iter().map(|(n, _)| n.as_str()).collect())
                .unwrap_or_default();
            return Err(format!(
                "no point has a metric `{}`; the metrics are: {}",
                m.name,
                known.join(", ")
            ));
        }
    }
    let feasible: Vec<usize> = (0..points.len())
        .filter(|&i| constraints.iter().all(|c| c.holds(&points[i])))
        .collect();
    let mut columns: Vec<String> = Vec::new();
    for m in &wanted {
        let l = m.label();
        if !columns.contains(&l) {
            columns.push(l);
        }
    }
    let score = |i: usize, (d, m): &(Direction, MetricRef)| {
        m.value(&points[i]).map(|v| match d {
            Direction::Min => v,
            Direction::Max => -v,
        })
    };
    let chosen = match objective {
        Objective::Best(d, m) => {
            let key = (*d, m.clone());
            let scored: Vec<(usize, f64)> = feasible
                .iter()
                .filter_map(|&i| score(i, &key).map(|s| (i, s)))
                .collect();
            let best = scored.iter().map(|&(_, s)| s).fold(f64::INFINITY, f64::min);
            // Every point that ties for best, in point order.
            scored
                .iter()
                .filter(|&&(_, s)| s == best)
                .map(|&(i, _)| i)
                .collect()
        }
        Objective::Pareto(parts) => {
            let scored: Vec<(usize, Vec<f64>)> = feasible
                .iter()
                .filter_map(|&i| {
                    parts
                        .iter()
                        .map(|p| score(i, p))
                        .collect::<Option<Vec<f64>>>()
                        .map(|s| (i, s))
                })
                .collect();
            let dominates = |a: &[f64], b: &[f64]| {
                a.iter().zip(b).all(|(x, y)| x <= y) && a.iter().zip(b).any(|(x, y)| x < y)
            };
            let mut front: Vec<&(usize, Vec<f64>)> = scored
                .iter()
                .filter(|(_, s)| !scored.iter().any(|(_, o)| dominates(o, s)))
                .collect();
            front.sort_by(|a, b| a.1[0].total_cmp(&b.1[0]).then(a.0.cmp(&b.0)));
            front.into_iter().map(|(i, _)| *i).collect()
        }
    };
    Ok(Selection {
        feasible: feasible.len(),
        chosen,
        columns,
    })
}

/// The value a column shows for a point.
pub fn column_value(p: &SweepPoint, column: &str) -> Option<f64> {
    MetricRef::parse(column).ok()?.value(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::MetricLine;

    fn point(id: usize, cost: f64, success: f64, low: f64) -> SweepPoint {
        let line = |mean: f64, low: f64| MetricLine {
            mean: Some(mean),
            ci95_low: Some(low),
            ci95_high: Some(mean + (mean - low)),
        };
        SweepPoint {
            id: format!("{id:04}"),
            settings: vec![("x".to_string(), id.to_string())],
            results_digest: String::new(),
            metrics: vec![
                ("cost".to_string(), line(cost, cost - 1.0)),
                ("success".to_string(), line(success, low)),
            ],
        }
    }

    fn sweep() -> Vec<SweepPoint> {
        vec![
            point(0, 10.0, 0.999, 0.998),
            point(1, 5.0, 0.990, 0.985),
            point(2, 7.0, 0.995, 0.989),
            point(3, 12.0, 0.995, 0.994),
            point(4, 5.0, 0.980, 0.970),
        ]
    }

    #[test]
    fn minimise_subject_to_a_constraint() {
        let pts = sweep();
        let o = Objective::parse("min:cost").unwrap();
        let c = Constraint::parse("success>=0.99").unwrap();
        let s = select(&pts, &o, &[c]).unwrap();
        assert_eq!(s.feasible, 4);
        assert_eq!(s.chosen, [1]);
        // With confidence, point 1 (low bound 0.985) no longer qualifies.
        let c = Constraint::parse("success@ci95_low>=0.99").unwrap();
        let s = select(&pts, &o, &[c]).unwrap();
        assert_eq!(s.chosen, [0]);
        assert_eq!(s.columns, ["cost", "success@ci95_low"]);
    }

    #[test]
    fn ties_are_all_reported() {
        let s = select(&sweep(), &Objective::parse("min:cost").unwrap(), &[]).unwrap();
        assert_eq!(s.chosen, [1, 4]);
    }

    #[test]
    fn pareto_front_drops_dominated_points() {
        let o = Objective::parse("pareto:min:cost,max:success").unwrap();
        let s = select(&sweep(), &o, &[]).unwrap();
        // 3 is dominated by 2 (costlier, no more successful); 4 by 1.
        assert_eq!(s.chosen, [1, 2, 0]);
    }

    #[test]
    fn unknown_metrics_and_bad_syntax_are_errors() {
        let e = select(&sweep(), &Objective::parse("min:cots").unwrap(), &[]).unwrap_err();
        assert!(e.contains("`cots`") && e.contains("cost, success"), "{e}");
        assert!(Objective::parse("cost").unwrap_err().contains("direction"));
        assert!(
            Objective::parse("pareto:min:cost")
                .unwrap_err()
                .contains("two")
        );
        assert!(
            Objective::parse("min:cost@p99")
                .unwrap_err()
                .contains("@ci95_low")
        );
        assert!(
            Constraint::parse("cost=3")
                .unwrap_err()
                .contains("comparison")
        );
        assert!(
            Constraint::parse("cost<=x")
                .unwrap_err()
                .contains("not a number")
        );
    }
}
