//! Per-route counters: the calls each declared route answered, their latency and cost, its
//! cache and its bad answers, so a chain's steps can be compared.

use super::families::Families;
use super::ratio;
use crate::config::WorldConfig;
use sim_core::names::ROUTE;
use sim_core::series::CdfSet;
use sim_core::stats::LatencyHistogram;
use sim_core::summary::MetricSet;
use sim_core::time::Time;

/// What one route's calls did.
#[derive(Debug, Clone, Default)]
pub(super) struct RouteStats {
    pub(super) answers: u64,
    pub(super) bad: u64,
    pub(super) cost: f64,
    /// From a call's issue to its answer (served, cached or stale), per call.
    latency: LatencyHistogram,
    cache_lookups: u64,
    cache_hits: u64,
    cache_wrong_hits: u64,
    stale_served: u64,
}

/// Every route's counters, in configuration order (implied routes too, never reported).
#[derive(Debug, Clone)]
pub(crate) struct Routes {
    pub(super) each: Vec<RouteStats>,
}

impl Routes {
    pub(super) fn new(config: &WorldConfig) -> Routes {
        Routes {
            each: vec![RouteStats::default(); config.routes.len()],
        }
    }

    pub(crate) fn cache_lookup(&mut self, route: usize, hit: bool, wrong: bool) {
        let r = &mut self.each[route];
        r.cache_lookups += 1;
        if hit {
            r.cache_hits += 1;
        }
        if wrong {
            r.cache_wrong_hits += 1;
        }
    }

    pub(crate) fn stale_served(&mut self, route: usize) {
        self.each[route].stale_served += 1;
    }

    /// A call of `route` was answered `latency` after it was issued.
    #[inline]
    pub(crate) fn call_answered(&mut self, route: usize, latency: Time) {
        self.each[route].latency.record(latency);
    }

    #[inline]
    pub(super) fn billed(&mut self, route: usize, cost: f64) {
        let r = &mut self.each[route];
        r.cost += cost;
        r.answers += 1;
    }

    /// The `route.NAME.*` metrics, for the routes a scenario declares (not those implied by a
    /// backend name), when there is something to compare or a cache or soft failures to show.
    pub(super) fn finish(&self, m: &mut MetricSet, config: &WorldConfig, families: &Families) {
        if !(config.routes.iter().filter(|r| r.explicit).count() > 1
            || config.routes.iter().any(|r| r.cache.is_some())
            || (families.soft && config.routes.iter().any(|r| r.explicit)))
        {
            return;
        }
        for (r, cfg) in self.each.iter().zip(&config.routes) {
            if !cfg.explicit {
                continue;
            }
            let name = &cfg.name;
            m.push(ROUTE.metric(name, "attempts_billed"), r.answers as f64);
            m.push(
                ROUTE.metric(name, "latency_p50_s"),
                r.latency.quantile_secs(0.50),
            );
            m.push(
                ROUTE.metric(name, "latency_p99_s"),
                r.latency.quantile_secs(0.99),
            );
            if cfg.cache.is_some() {
                m.push(ROUTE.metric(name, "cache_lookups"), r.cache_lookups as f64);
                m.push(
                    ROUTE.metric(name, "cache_hit_ratio"),
                    ratio(r.cache_hits, r.cache_lookups),
                );
                m.push(
                    ROUTE.metric(name, "cache_wrong_hits"),
                    r.cache_wrong_hits as f64,
                );
                m.push(
                    ROUTE.metric(name, "cache_stale_served"),
                    r.stale_served as f64,
                );
            }
            m.push(ROUTE.metric(name, "bad_answers"), r.bad as f64);
            if families.llm {
                m.push(ROUTE.metric(name, "cost_usd"), r.cost);
            }
        }
    }

    /// Call latency per declared route, named `route.NAME`, when a scenario has several (or
    /// chains of them).
    pub(super) fn push_cdfs(&self, cdf: &mut CdfSet, config: &WorldConfig) {
        if config.routes.iter().filter(|r| r.explicit).count() > 1 {
            for (r, cfg) in self.each.iter().zip(&config.routes) {
                if cfg.explicit {
                    cdf.push(ROUTE.entity_name(&cfg.name), &r.latency);
                }
            }
        }
    }
}
