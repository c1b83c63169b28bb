//! Alert episodes and their grading against ground-truth fault windows: what a simulator,
//! unlike production, can say about an alert's precision, recall, detection and reset times.

use super::{AlertEvent, Transition};
use sim_core::Time;

/// One firing of an alert: from `fired` until `resolved` (`None`: still firing at the end).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Episode {
    /// When the alert fired.
    pub fired: Time,
    /// When it resolved; `None` if it was still firing at the end.
    pub resolved: Option<Time>,
}

impl Episode {
    fn end(&self) -> Time {
        self.resolved.unwrap_or(Time::MAX)
    }
}

/// Pairs firings and resolutions of the log entries selected by `keep`.
pub fn episodes_from_log(log: &[AlertEvent], keep: impl Fn(&AlertEvent) -> bool) -> Vec<Episode> {
    let mut out: Vec<Episode> = Vec::new();
    for e in log.iter().filter(|e| keep(e)) {
        match e.transition {
            Transition::Fired => out.push(Episode {
                fired: e.at,
                resolved: None,
            }),
            Transition::Resolved => {
                if let Some(last) = out.last_mut()
                    && last.resolved.is_none()
                {
                    last.resolved = Some(e.at);
                }
            }
        }
    }
    out
}

/// The union of several rules' episodes: the time during which at least one fired, as sorted,
/// disjoint episodes.
pub fn union_episodes(lists: &[Vec<Episode>]) -> Vec<Episode> {
    let mut all: Vec<Episode> = lists.iter().flatten().copied().collect();
    all.sort();
    let mut out: Vec<Episode> = Vec::new();
    for e in all {
        match out.last_mut() {
            Some(last) if e.fired <= last.end() => {
                if e.end() > last.end() {
                    last.resolved = e.resolved;
                }
            }
            _ => out.push(e),
        }
    }
    out
}

/// A ground-truth fault: something injected over `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct FaultWindow {
    /// When the fault began, inclusive.
    pub start: Time,
    /// When the fault ended, exclusive.
    pub end: Time,
}

/// How well alert episodes matched the ground-truth faults.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertGrade {
    /// Alert episodes graded.
    pub episodes: usize,
    /// Episodes that overlap some fault window (extended by the grace period).
    pub true_episodes: usize,
    /// Ground-truth faults graded.
    pub faults: usize,
    /// Faults that some episode overlapped (extended by the grace period).
    pub detected: usize,
    /// `true_episodes / episodes`; `None` without episodes.
    pub precision: Option<f64>,
    /// `detected / faults`; `None` without faults.
    pub recall: Option<f64>,
    /// Per fault: fault start → first firing that overlaps it (0 if an alert was already firing
    /// when it started); `None` if undetected.
    pub detection: Vec<Option<Time>>,
    /// Per detected fault: fault end → resolution of the last episode overlapping it (0 if that
    /// episode resolved before the fault ended); `None` if undetected or still firing at the
    /// end of the run.
    pub reset: Vec<Option<Time>>,
}

impl AlertGrade {
    /// Mean detection time over detected faults, in seconds (`NaN` if none).
    pub fn mean_detection_s(&self) -> f64 {
        mean_secs(&self.detection)
    }

    /// Mean reset time over faults whose alert reset, in seconds (`NaN` if none).
    pub fn mean_reset_s(&self) -> f64 {
        mean_secs(&self.reset)
    }
}

fn mean_secs(values: &[Option<Time>]) -> f64 {
    let v: Vec<Time> = values.iter().flatten().copied().collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.iter()
        .map(|&t| sim_core::time::as_secs_f64(t))
        .sum::<f64>()
        / v.len() as f64
}

/// The faults a rule armed at `armed_at` could have detected in a run ending at `end`: those
/// still on (or within `grace` after) at the arming instant or later. None if the rule was not
/// armed by the end: it is not graded at all, rather than graded as missing everything.
pub fn faults_while_armed(
    faults: &[FaultWindow],
    armed_at: Time,
    end: Time,
    grace: Time,
) -> Vec<FaultWindow> {
    if armed_at > end {
        return Vec::new();
    }
    faults
        .iter()
        .filter(|f| f.end.max(f.start).saturating_add(grace) > armed_at)
        .copied()
        .collect()
}

/// Grades `episodes` (sorted, as [`union_episodes`] or [`episodes_from_log`] return them)
/// against `faults`.
///
/// An episode overlaps a fault when it is active at some instant of `[start, end + grace)`. The
/// grace period credits alerts that fire just after a short fault ended, because the windows
/// still hold its errors; with `grace = 0` only alerts that fire while the fault is on count.
/// Episodes that overlap no fault are false positives (they lower precision); faults that no
/// episode overlaps are missed (they lower recall).
pub fn grade(episodes: &[Episode], faults: &[FaultWindow], grace: Time) -> AlertGrade {
    let overlaps = |e: &Episode, f: &FaultWindow| {
        let f_end = f.end.max(f.start).saturating_add(grace);
        e.fired < f_end && e.end() > f.start
    };
    let true_episodes = episodes
        .iter()
        .filter(|e| faults.iter().any(|f| overlaps(e, f)))
        .count();
    let mut detection = Vec::with_capacity(faults.len());
    let mut reset = Vec::with_capacity(faults.len());
    for f in faults {
        let hits: Vec<&Episode> = episodes.iter().filter(|e| overlaps(e, f)).collect();
        match (hits.first(), hits.last()) {
            (Some(first), Some(last)) => {
                detection.push(Some(first.fired.saturating_sub(f.start)));
                reset.push(last.resolved.map(|r| r.saturating_sub(f.end)));
            }
            _ => {
                detection.push(None);
                reset.push(None);
            }
        }
    }
    let detected = detection.iter().filter(|d| d.is_some()).count();
    AlertGrade {
        episodes: episodes.len(),
        true_episodes,
        faults: faults.len(),
        detected,
        precision: (!episodes.is_empty()).then(|| true_episodes as f64 / episodes.len() as f64),
        recall: (!faults.is_empty()).then(|| detected as f64 / faults.len() as f64),
        detection,
        reset,
    }
}
