//! Property tests that show they reached what they are about.
//!
//! A property that holds only because its cases never reach the branch it is about proves
//! nothing: the burn-rate rule's first property drew thresholds that no traffic could cross in
//! 99.6% of its cases. Every property test of this crate runs through [`check`]: for each case
//! the test answers which of its named branches the case reached, and the run fails unless each
//! branch was reached in at least its stated share of the cases. The shares asked for are about
//! half of those the strategies give (each test says both), at least 4.3 binomial standard
//! deviations below the expected count (the closest: the deadline property's 7% against 17% of
//! 256 cases), so a chance shortfall comes less than once in 100,000 runs per branch, while a
//! strategy that stops reaching a branch fails at once.

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::cell::Cell;

/// Cases per property.
pub(crate) const CASES: u32 = 256;

/// [`check_cases`] with this crate's [`CASES`].
#[cfg(test)]
pub(crate) fn check<S: Strategy, const N: usize>(
    strategy: S,
    branches: [(&str, f64); N],
    test: impl Fn(S::Value) -> Result<[bool; N], TestCaseError>,
) {
    check_cases(CASES, strategy, branches, test)
}

/// Runs `test` on `cases` cases drawn from `strategy`; `test` fails a case with
/// `prop_assert!` and otherwise answers, per entry of `branches`, whether the case reached that
/// branch. Panics with the (shrunk) failing case, or when a branch was reached in fewer than its
/// share of the cases.
pub fn check_cases<S: Strategy, const N: usize>(
    cases: u32,
    strategy: S,
    branches: [(&str, f64); N],
    test: impl Fn(S::Value) -> Result<[bool; N], TestCaseError>,
) {
    let hits = Cell::new([0u32; N]);
    let mut runner = TestRunner::new(Config::with_cases(cases));
    let result = runner.run(&strategy, |value| {
        let reached = test(value)?;
        let mut h = hits.get();
        for (count, r) in h.iter_mut().zip(reached) {
            *count += u32::from(r);
        }
        hits.set(h);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let report: Vec<String> = branches
        .iter()
        .zip(hits.get())
        .map(|((name, share), n)| format!("`{name}` in {n} of {cases} cases (at least {share})"))
        .collect();
    let short = branches
        .iter()
        .zip(hits.get())
        .any(|((_, share), n)| f64::from(n) < share * f64::from(cases));
    assert!(
        !short,
        "a branch was reached too rarely, the property barely exercised: {}",
        report.join(", ")
    );
}
