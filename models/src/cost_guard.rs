//! A cost guard: spend per period (default one hour of virtual time) against a budget, and an
//! anomaly alert when a period's spend runs above its baseline.
//!
//! Periods are consecutive from time 0 (`[k·period, (k+1)·period)`); spend is what providers
//! bill, at the instant they bill it (when an attempt's service ends). Both alerts fire *as the
//! spend crosses*, not at the end of the period, so their times are detection times:
//!
//! - **Budget**: fires at the first billing in a period that takes the period's spend above
//!   `budget_usd`. At most one firing per period.
//! - **Anomaly**: the baseline is the mean spend of the previous `baseline_periods` complete
//!   periods (fewer early in the run; none at all in the first period, which never alerts).
//!   Fires at the first billing that takes the period's spend above `baseline × (1 +
//!   threshold)`, once per period. A zero baseline never alerts (any spend would be infinitely
//!   anomalous, which is no information).
//!
//! Memory is one value per baseline period; nothing grows with the run.

use sim_core::Time;
use sim_core::summary::MetricSet;
use sim_core::time::as_secs_f64;

#[derive(Debug, Clone, PartialEq)]
pub struct CostGuardConfig {
    pub period: Time,
    pub budget_usd: Option<f64>,
    pub anomaly: Option<AnomalyConfig>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnomalyConfig {
    /// Relative excess over the baseline that alerts: 1.0 alerts above twice the baseline.
    pub threshold: f64,
    pub baseline_periods: u32,
}

/// The largest number of firing times kept per kind (counts are always exact).
pub const MAX_FIRINGS: usize = 1_000;

#[derive(Debug, Clone)]
pub struct CostGuard {
    config: CostGuardConfig,
    /// Index of the period in progress and its spend.
    period: u64,
    spend: f64,
    /// Spend of the last complete periods, oldest first (a ring of `baseline_periods`).
    history: Vec<f64>,
    next: usize,
    filled: usize,
    /// The mean of `history`, computed when a period closes rather than at every bill.
    base: Option<f64>,
    budget_fired: bool,
    anomaly_fired: bool,
    max_spend: f64,
    pub budget_firings: Vec<Time>,
    pub anomaly_firings: Vec<Time>,
    budget_count: u64,
    anomaly_count: u64,
}

impl CostGuard {
    pub fn new(config: &CostGuardConfig) -> CostGuard {
        let n = config
            .anomaly
            .map_or(0, |a| a.baseline_periods.max(1) as usize);
        CostGuard {
            config: config.clone(),
            period: 0,
            spend: 0.0,
            history: vec![0.0; n],
            next: 0,
            filled: 0,
            base: None,
            budget_fired: false,
            anomaly_fired: false,
            max_spend: 0.0,
            budget_firings: Vec::new(),
            anomaly_firings: Vec::new(),
            budget_count: 0,
            anomaly_count: 0,
        }
    }

    /// Closes periods up to the one holding `now`.
    fn roll(&mut self, now: Time) {
        let p = now / self.config.period.max(1);
        while self.period < p {
            if !self.history.is_empty() {
                self.history[self.next] = self.spend;
                self.next = (self.next + 1) % self.history.len();
                self.filled = (self.filled + 1).min(self.history.len());
            }
            self.max_spend = self.max_spend.max(self.spend);
            self.spend = 0.0;
            self.budget_fired = false;
            self.anomaly_fired = false;
            self.period += 1;
            // Long idle stretches: the rest are empty periods.
            if self.period < p && self.history.iter().all(|&s| s == 0.0) {
                self.period = p;
            }
            self.base = self.mean_of_history();
        }
    }

    /// The baseline of the period in progress, when there is one.
    pub fn baseline(&self) -> Option<f64> {
        self.base
    }

    /// The mean spend of the complete periods in the ring, newest first (the summation order
    /// the anomaly check has always used).
    fn mean_of_history(&self) -> Option<f64> {
        (self.filled > 0).then(|| {
            let n = self.history.len();
            let sum: f64 = (0..self.filled)
                .map(|k| self.history[(self.next + n - 1 - k) % n])
                .sum();
            sum / self.filled as f64
        })
    }

    /// `cost` USD billed at `now`.
    #[inline]
    pub fn billed(&mut self, now: Time, cost: f64) {
        if cost <= 0.0 {
            return;
        }
        self.roll(now);
        self.spend += cost;
        if let Some(b) = self.config.budget_usd
            && !self.budget_fired
            && self.spend > b
        {
            self.budget_fired = true;
            self.budget_count += 1;
            if self.budget_firings.len() < MAX_FIRINGS {
                self.budget_firings.push(now);
            }
        }
        if let Some(a) = self.config.anomaly
            && !self.anomaly_fired
            && let Some(base) = self.baseline()
            && base > 0.0
            && self.spend > base * (1.0 + a.threshold)
        {
            self.anomaly_fired = true;
            self.anomaly_count += 1;
            if self.anomaly_firings.len() < MAX_FIRINGS {
                self.anomaly_firings.push(now);
            }
        }
    }

    /// Metrics, in a fixed order: `cost_guard.budget_alerts`, `.first_budget_alert_s` (NaN:
    /// none), `.anomaly_alerts`, `.first_anomaly_alert_s`, `.max_period_usd` (the largest spend
    /// of any period, the one in progress at `end` included).
    pub fn push_metrics(&mut self, m: &mut MetricSet, end: Time) {
        self.roll(end);
        let first = |v: &[Time]| v.first().map_or(f64::NAN, |&t| as_secs_f64(t));
        m.push("cost_guard.budget_alerts", self.budget_count as f64);
        m.push(
            "cost_guard.first_budget_alert_s",
            first(&self.budget_firings),
        );
        m.push("cost_guard.anomaly_alerts", self.anomaly_count as f64);
        m.push(
            "cost_guard.first_anomaly_alert_s",
            first(&self.anomaly_firings),
        );
        m.push("cost_guard.max_period_usd", self.max_spend.max(self.spend));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const H: Time = 3_600 * sim_core::NANOS_PER_SEC;

    fn guard(budget: Option<f64>, threshold: f64) -> CostGuard {
        CostGuard::new(&CostGuardConfig {
            period: H,
            budget_usd: budget,
            anomaly: Some(AnomalyConfig {
                threshold,
                baseline_periods: 3,
            }),
        })
    }

    #[test]
    fn the_budget_fires_once_per_period_when_crossed() {
        let mut g = guard(Some(10.0), 1.0);
        for k in 0..30 {
            g.billed(k * 60 * sim_core::NANOS_PER_SEC, 0.5);
        }
        // 0.5 per minute: the 21st billing (at 20 min) takes the hour above $10.
        assert_eq!(g.budget_firings, vec![20 * 60 * sim_core::NANOS_PER_SEC]);
        g.billed(H + 1, 11.0);
        assert_eq!(g.budget_firings.len(), 2);
    }

    #[test]
    fn the_anomaly_needs_a_baseline_and_an_excess() {
        let mut g = guard(None, 1.0);
        // Hours 0..3 spend $4 each; hour 3 spends $9 in steps of $1: above 2 × 4 at the 9th.
        for h in 0..3 {
            for k in 0..4 {
                g.billed(h * H + k, 1.0);
            }
        }
        assert!(g.anomaly_firings.is_empty(), "steady spend never alerts");
        for k in 0..9 {
            g.billed(3 * H + k, 1.0);
        }
        assert_eq!(g.anomaly_firings, vec![3 * H + 8]);
        assert_eq!(g.baseline(), Some(4.0));
    }
}
