//! Per-tenant counters: each tenant's arrivals, answers, latency and spend, so a report can say
//! which tenant paid for a fault. Spend also drives budgets, which count from time 0.

use super::families::Families;
use super::ratio;
use crate::config::WorldConfig;
use sim_core::names::TENANT;
use sim_core::series::CdfSet;
use sim_core::stats::{LatencyHistogram, Tally};
use sim_core::summary::MetricSet;
use sim_core::time::Time;

/// What one tenant's jobs did.
#[derive(Debug, Clone)]
pub(super) struct TenantStats {
    pub(super) arrivals: u64,
    pub(super) completions: u64,
    pub(super) successes: u64,
    pub(super) correct: u64,
    pub(super) blocked: u64,
    pub(super) time_in_system: Tally,
    pub(super) latency: LatencyHistogram,
    pub(super) ttft: LatencyHistogram,
    pub(super) cost: f64,
}

impl TenantStats {
    fn new() -> TenantStats {
        TenantStats {
            arrivals: 0,
            completions: 0,
            successes: 0,
            correct: 0,
            blocked: 0,
            time_in_system: Tally::new(),
            latency: LatencyHistogram::new(),
            ttft: LatencyHistogram::new(),
            cost: 0.0,
        }
    }
}

/// Every tenant's counters, in configuration order.
#[derive(Debug, Clone)]
pub(crate) struct Tenants {
    pub(super) each: Vec<TenantStats>,
    /// Spend per tenant since time 0 (budgets count the warm-up too).
    spend: Vec<f64>,
    /// More than one tenant. With one, its distributions are the overall ones, which are
    /// recorded already: its own are left empty and the overall ones stand in for them.
    pub(super) several: bool,
}

impl Tenants {
    pub(super) fn new(config: &WorldConfig) -> Tenants {
        Tenants {
            each: config.tenants.iter().map(|_| TenantStats::new()).collect(),
            spend: vec![0.0; config.tenants.len()],
            several: config.tenants.len() > 1,
        }
    }

    /// Keeps `old`'s spend over the end of the warm-up: budgets count from time 0.
    pub(super) fn carry_spend(&mut self, old: &mut Tenants) {
        self.spend = std::mem::take(&mut old.spend);
    }

    /// What `tenant` has spent since time 0.
    pub(crate) fn spend(&self, tenant: usize) -> f64 {
        self.spend[tenant]
    }

    #[inline]
    pub(super) fn billed(&mut self, tenant: usize, cost: f64) {
        self.spend[tenant] += cost;
        self.each[tenant].cost += cost;
    }

    #[inline]
    pub(super) fn first_token(&mut self, tenant: usize, ttft: Time) {
        if self.several {
            self.each[tenant].ttft.record(ttft);
        }
    }

    /// Several tenants: a report compares them, and the overall distribution is worth its own.
    pub(super) fn several(&self) -> bool {
        self.several
    }

    /// The `tenant.NAME.*` metrics, when there are several tenants to tell apart.
    pub(super) fn finish(&self, m: &mut MetricSet, config: &WorldConfig, families: &Families) {
        if !self.several() {
            return;
        }
        for (t, cfg) in self.each.iter().zip(&config.tenants) {
            let name = &cfg.name;
            m.push(TENANT.metric(name, "arrivals"), t.arrivals as f64);
            m.push(TENANT.metric(name, "blocked"), t.blocked as f64);
            m.push(
                TENANT.metric(name, "success_ratio"),
                ratio(t.successes, t.completions),
            );
            m.push(
                TENANT.metric(name, "time_in_system_mean_s"),
                t.time_in_system.mean(),
            );
            m.push(
                TENANT.metric(name, "latency_p99_s"),
                t.latency.quantile_secs(0.99),
            );
            if families.llm {
                m.push(TENANT.metric(name, "cost_usd"), t.cost);
            }
            if families.ttft {
                m.push(
                    TENANT.metric(name, "ttft_p99_s"),
                    t.ttft.quantile_secs(0.99),
                );
            }
            if families.judged() {
                m.push(
                    TENANT.metric(name, "correctness"),
                    ratio(t.correct, t.successes),
                );
            }
        }
    }

    /// Each tenant's latency distribution, named `tenant.NAME`; a lone tenant's is `overall`.
    pub(super) fn push_cdfs(
        &self,
        cdf: &mut CdfSet,
        config: &WorldConfig,
        overall: &LatencyHistogram,
    ) {
        for (t, cfg) in self.each.iter().zip(&config.tenants) {
            let latency = if self.several { &t.latency } else { overall };
            cdf.push(TENANT.entity_name(&cfg.name), latency);
        }
    }
}
