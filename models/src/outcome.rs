//! How a job ended: the one vocabulary the metrics, the SLO tracker and the scenario format
//! share. A scenario names outcomes in SLO filters (`good = ["correct", "degraded"]`), the
//! tracker classifies each finished job by its outcome, and the metrics count them.

use serde::{Deserialize, Serialize};

/// How a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every answer of the job was good (or nothing could tell otherwise: no soft failures).
    Correct,
    /// The job finished, but a silently bad answer (or an undetected injection) got through.
    WrongAccepted,
    /// A bad answer or an injection was caught, and the job ended with an error instead.
    DetectedHandled,
    /// Answered, but by a fallback backend, a stale cache entry or a default response.
    Degraded,
    /// The last attempt was turned away with a 429 and the retry policy gave up.
    Throttled,
    /// Dropped by the gateway: a retry (or a job) found the queue full, or admission control
    /// shed it.
    Shed,
    /// The tenant's budget was spent: the job was turned away at the gateway.
    OverBudget,
    /// Every attempt allowed by the retry policy failed or timed out.
    Failed,
}

impl Outcome {
    pub const ALL: [Outcome; 8] = [
        Outcome::Correct,
        Outcome::WrongAccepted,
        Outcome::DetectedHandled,
        Outcome::Degraded,
        Outcome::Throttled,
        Outcome::Shed,
        Outcome::OverBudget,
        Outcome::Failed,
    ];

    /// The name used in scenario files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Correct => "correct",
            Outcome::WrongAccepted => "wrong_accepted",
            Outcome::DetectedHandled => "detected_handled",
            Outcome::Degraded => "degraded",
            Outcome::Throttled => "throttled",
            Outcome::Shed => "shed",
            Outcome::OverBudget => "over_budget",
            Outcome::Failed => "failed",
        }
    }

    pub fn parse(name: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == name)
    }

    /// Whether the job got an answer back (right, wrong, caught or degraded).
    pub fn answered(self) -> bool {
        OutcomeSet::ANSWERED.contains(self)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of outcomes, as a bitset (fixed order, no hashing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutcomeSet(u8);

impl OutcomeSet {
    pub const NONE: OutcomeSet = OutcomeSet(0);
    pub const ALL: OutcomeSet = OutcomeSet(0xff);
    /// Jobs that got an answer: correct, wrong-but-accepted, detected-and-handled, degraded.
    pub const ANSWERED: OutcomeSet = OutcomeSet(0x0f);

    pub fn of(outcomes: &[Outcome]) -> OutcomeSet {
        OutcomeSet(outcomes.iter().fold(0, |m, o| m | o.bit()))
    }

    pub fn contains(self, o: Outcome) -> bool {
        self.0 & o.bit() != 0
    }

    pub fn without(self, outcomes: &[Outcome]) -> OutcomeSet {
        OutcomeSet(self.0 & !OutcomeSet::of(outcomes).0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_has_its_own_bit_and_name() {
        let all = OutcomeSet::of(&Outcome::ALL);
        assert_eq!(all, OutcomeSet::ALL);
        for (i, o) in Outcome::ALL.into_iter().enumerate() {
            assert_eq!(o as usize, i, "ALL is in declaration order");
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
            assert!(OutcomeSet::ALL.without(&[o]) != OutcomeSet::ALL);
            assert!(!OutcomeSet::ALL.without(&[o]).contains(o));
        }
        assert_eq!(Outcome::parse("blocked"), None);
    }

    #[test]
    fn answered_are_the_first_four() {
        let answered: Vec<Outcome> = Outcome::ALL.into_iter().filter(|o| o.answered()).collect();
        assert_eq!(
            answered,
            [
                Outcome::Correct,
                Outcome::WrongAccepted,
                Outcome::DetectedHandled,
                Outcome::Degraded
            ]
        );
    }
}
