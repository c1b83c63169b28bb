//! Service level indicators: what makes a finished job good, bad or not counted.

use super::objective::Objective;
use crate::outcome::{Outcome, OutcomeSet};
use sim_core::time::Time;

/// What the world tells the tracker about one finished call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CallFacts {
    pub outcome: Outcome,
    /// From arrival to the end of the call, whatever the outcome.
    pub latency: Time,
    /// Time to first token, when the call streamed one (`None`: no token model, or no answer).
    pub ttft: Option<Time>,
    /// Every attempt billed for this call, in USD.
    pub cost_usd: f64,
}

/// A ratio SLI: good / total over counted calls (OpenSLO `ratioMetric`). A call is counted if
/// its outcome is in `total`; it is good if its outcome is also in `good` and it meets every
/// limit given.
#[derive(Debug, Clone, PartialEq)]
pub struct RatioSli {
    pub total: OutcomeSet,
    pub good: OutcomeSet,
    pub latency_max: Option<Time>,
    /// A call without a first-token time is judged on its latency (its first token cannot have
    /// come later than its end).
    pub ttft_max: Option<Time>,
    pub cost_max_usd: Option<f64>,
}

impl RatioSli {
    /// Availability: every call counts; good unless it failed (a broken stream too), was
    /// throttled or shed.
    pub fn availability() -> RatioSli {
        RatioSli {
            total: OutcomeSet::ALL,
            good: OutcomeSet::ALL.without(&[
                Outcome::Failed,
                Outcome::BrokenStream,
                Outcome::Throttled,
                Outcome::Shed,
                Outcome::OverBudget,
            ]),
            latency_max: None,
            ttft_max: None,
            cost_max_usd: None,
        }
    }

    /// Goodput: every call counts; good only if correct.
    pub fn goodput() -> RatioSli {
        RatioSli {
            good: OutcomeSet::of(&[Outcome::Correct]),
            ..RatioSli::availability()
        }
    }

    /// Correctness of answers: answered calls count; good if correct or degraded (a fallback
    /// answer is a right answer, only a cheaper one); soft failures are bad.
    pub fn correctness() -> RatioSli {
        RatioSli {
            total: OutcomeSet::ANSWERED,
            good: OutcomeSet::of(&[Outcome::Correct, Outcome::Degraded]),
            ..RatioSli::availability()
        }
    }

    /// Latency: answered calls count; good if they finished within `max`.
    pub fn latency_under(max: Time) -> RatioSli {
        RatioSli {
            total: OutcomeSet::ANSWERED,
            good: OutcomeSet::ANSWERED,
            latency_max: Some(max),
            ..RatioSli::availability()
        }
    }

    /// Time to first token: answered calls count; good if the first token came within `max`.
    pub fn ttft_under(max: Time) -> RatioSli {
        RatioSli {
            latency_max: None,
            ttft_max: Some(max),
            ..RatioSli::latency_under(0)
        }
    }

    /// Cost per useful response: every call counts; good if it was useful (correct or
    /// degraded) and cost at most `max_usd` — so money spent on failures counts against it.
    pub fn cost_under(max_usd: f64) -> RatioSli {
        RatioSli {
            good: OutcomeSet::of(&[Outcome::Correct, Outcome::Degraded]),
            cost_max_usd: Some(max_usd),
            ..RatioSli::availability()
        }
    }

    /// `None`: not counted; `Some(good)` otherwise.
    pub fn classify(&self, f: &CallFacts) -> Option<bool> {
        if !self.total.contains(f.outcome) {
            return None;
        }
        let ttft = f.ttft.unwrap_or(f.latency);
        Some(
            self.good.contains(f.outcome)
                && self.latency_max.is_none_or(|m| f.latency <= m)
                && self.ttft_max.is_none_or(|m| ttft <= m)
                && self.cost_max_usd.is_none_or(|m| f.cost_usd <= m),
        )
    }
}

/// Which value a threshold SLI takes a quantile of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThresholdMetric {
    Latency,
    /// Calls without a first-token time contribute their latency.
    Ttft,
}

/// A threshold SLI (OpenSLO `thresholdMetric`): per time slice, the `quantile` of `metric`
/// over calls with an outcome in `outcomes` must be at most `max`. Needs Timeslices
/// budgeting. Quantiles come from a histogram with three significant digits.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdSli {
    pub metric: ThresholdMetric,
    /// In per mille: 950 is p95.
    pub quantile_per_mille: u32,
    pub max: Time,
    pub outcomes: OutcomeSet,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Indicator {
    Ratio(RatioSli),
    Threshold(ThresholdSli),
}

impl Indicator {
    /// Whether it judges a first-token time (which a workflow execution does not have).
    pub fn uses_ttft(&self) -> bool {
        match self {
            Indicator::Ratio(r) => r.ttft_max.is_some(),
            Indicator::Threshold(t) => t.metric == ThresholdMetric::Ttft,
        }
    }
}

/// How an empty time slice (no counted calls) is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmptySlice {
    /// No one was served badly (the default).
    #[default]
    Good,
    /// No one was served at all, which for a service that should have traffic is an outage.
    Bad,
    /// Not a unit: the slice is left out of the SLI and the budget.
    Skip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budgeting {
    /// Units are calls.
    Occurrences,
    /// Units are slices of `slice`; a slice is good when its good/total ratio is at least
    /// `target` (ratio SLIs; ignored by threshold SLIs, whose slices are good when the quantile
    /// is within the threshold).
    Timeslices {
        slice: Time,
        target: Objective,
        empty: EmptySlice,
    },
}
