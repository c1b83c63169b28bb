//! Property tests that show they reached what they are about (`policies`' own helper, whose
//! file this includes: one source for both).
//!
//! A property that holds only because its cases never reach the branch it is about proves
//! nothing: the burn-rate rule's first property drew thresholds that no traffic could cross in
//! 99.6% of its cases. Each property test here runs through [`check`]: for each case the test
//! answers which of its named branches the case reached, and the run fails unless each branch
//! was reached in at least its stated share of the cases. The shares asked for are at most half
//! of those the strategies give (each test says both), at least 7 binomial standard deviations
//! below the expected count, so a chance shortfall practically never happens, while a strategy
//! that stops reaching a branch fails at once.

#[allow(dead_code)]
#[path = "../../../policies/src/reach.rs"]
mod shared;

pub use shared::check_cases as check;
