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
    /// The last attempt's stream broke after its first token (`stream_interrupted`) and the
    /// retry policy gave up: the client got a partial answer. Apart from `failed` so an SLO
    /// can count broken streams (`total = ["broken_stream", ...]`); every SLI that treats
    /// `failed` as bad treats it as bad too.
    BrokenStream,
}

impl Outcome {
    pub const ALL: [Outcome; 9] = [
        Outcome::Correct,
        Outcome::WrongAccepted,
        Outcome::DetectedHandled,
        Outcome::Degraded,
        Outcome::Throttled,
        Outcome::Shed,
        Outcome::OverBudget,
        Outcome::Failed,
        Outcome::BrokenStream,
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
            Outcome::BrokenStream => "broken_stream",
        }
    }

    pub fn parse(name: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == name)
    }

    /// Whether the job got an answer back (right, wrong, caught or degraded).
    pub fn answered(self) -> bool {
        OutcomeSet::ANSWERED.contains(self)
    }

    fn bit(self) -> u16 {
        1 << (self as u8)
    }
}

/// A set of outcomes, as a bitset (fixed order, no hashing). Sixteen bits: room for seven
/// more outcomes; a set lives in an SLO's configuration, never in a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutcomeSet(u16);

impl OutcomeSet {
    pub const NONE: OutcomeSet = OutcomeSet(0);
    pub const ALL: OutcomeSet = OutcomeSet((1 << Outcome::ALL.len()) - 1);
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
        assert_eq!(Outcome::parse("broken_stream"), Some(Outcome::BrokenStream));
        // The ninth outcome has a bit of its own past the first byte, and ALL holds it.
        assert_eq!(Outcome::BrokenStream.bit(), 0x100);
        assert_eq!(OutcomeSet::ALL, OutcomeSet(0x1ff));
        assert!(!OutcomeSet::ANSWERED.contains(Outcome::BrokenStream));
        assert!(
            OutcomeSet::of(&[Outcome::BrokenStream])
                .without(&[Outcome::Failed])
                .contains(Outcome::BrokenStream)
        );
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
