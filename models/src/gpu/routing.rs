//! Choosing a replica for each call. Deterministic: ties go to the lowest replica index, and no
//! float ever decides (KV scores compare as exact integer ratios).

use super::kv::blocks_for;
use super::replica::Replica;

/// How a pool spreads calls over its replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoutingPolicy {
    /// The next up replica in index order, wrapping.
    RoundRobin,
    /// The up replica with the fewest requests waiting or running.
    LeastOutstanding,
    /// The up replica whose KV cache would be least full once everything already sent to it and
    /// this call are resident: `(used + waiting demand + this prompt) / capacity`. It keeps long
    /// prompts away from replicas about to preempt, which request counts alone cannot see.
    KvAware,
}

/// A router over one pool's replicas.
#[derive(Debug, Clone)]
pub struct Router {
    policy: RoutingPolicy,
    cursor: usize,
}

impl Router {
    pub fn new(policy: RoutingPolicy) -> Router {
        Router { policy, cursor: 0 }
    }

    pub fn policy(&self) -> RoutingPolicy {
        self.policy
    }

    /// The replica to send a call with `prompt_tokens` to, or `None` when no replica is up.
    pub fn pick(&mut self, replicas: &[Replica], prompt_tokens: u32) -> Option<usize> {
        self.pick_where(replicas, prompt_tokens, |_| true)
    }

    /// As [`Router::pick`], among the up replicas for which `eligible(index)` holds (a pool
    /// excludes replicas it is draining, and those over its KV admission cap).
    pub fn pick_where(
        &mut self,
        replicas: &[Replica],
        prompt_tokens: u32,
        eligible: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        let n = replicas.len();
        match self.policy {
            RoutingPolicy::RoundRobin => {
                for step in 0..n {
                    let i = (self.cursor + step) % n;
                    if replicas[i].is_up() && eligible(i) {
                        self.cursor = (i + 1) % n;
                        return Some(i);
                    }
                }
                None
            }
            RoutingPolicy::LeastOutstanding => replicas
                .iter()
                .enumerate()
                .filter(|(i, r)| r.is_up() && eligible(*i))
                .min_by_key(|(i, r)| (r.outstanding(), *i))
                .map(|(i, _)| i),
            RoutingPolicy::KvAware => {
                let new = blocks_for(prompt_tokens.max(1) as u64);
                let mut best: Option<(usize, u128, u128, u32)> = None;
                for (i, r) in replicas
                    .iter()
                    .enumerate()
                    .filter(|(i, r)| r.is_up() && eligible(*i))
                {
                    let load =
                        r.kv_used_blocks() as u128 + r.kv_demand_waiting() as u128 + new as u128;
                    let cap = r.kv_blocks() as u128;
                    let better = match best {
                        None => true,
                        // load/cap < best_load/best_cap, exactly; then fewer outstanding.
                        Some((_, bl, bc, bo)) => {
                            let (lhs, rhs) = (load * bc, bl * cap);
                            lhs < rhs || (lhs == rhs && r.outstanding() < bo)
                        }
                    };
                    if better {
                        best = Some((i, load, cap, r.outstanding()));
                    }
                }
                best.map(|(i, ..)| i)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpu::{ReplicaConfig, StepModel};

    fn replica(kv: u32) -> Replica {
        Replica::new(ReplicaConfig {
            prefix_caching: false,
            scheduling: Default::default(),
            kv_blocks: kv,
            max_batch: 8,
            max_batched_tokens: 4096,
            max_waiting: 100,
            chunked_prefill: false,
            step: StepModel::from_ms([10.0, 0.1, 0.0], [20.0, 0.001, 0.5], [20.0, 0.001, 0.5], 95)
                .unwrap(),
        })
        .unwrap()
    }

    #[test]
    fn round_robin_skips_down_replicas() {
        let mut rs = vec![replica(100), replica(100), replica(100)];
        rs[1].crash(0, |_| {});
        let mut r = Router::new(RoutingPolicy::RoundRobin);
        let picks: Vec<_> = (0..4).map(|_| r.pick(&rs, 10).unwrap()).collect();
        assert_eq!(picks, [0, 2, 0, 2]);
        for x in rs.iter_mut() {
            x.crash(0, |_| {});
        }
        assert_eq!(r.pick(&rs, 10), None);
    }

    #[test]
    fn least_outstanding_and_kv_aware_disagree_on_long_prompts() {
        let mut rs = vec![replica(100), replica(100)];
        // Replica 0: one long request (50 blocks); replica 1: two short ones (2 blocks).
        rs[0].admit(0, 1, 800, 10).unwrap();
        rs[1].admit(0, 2, 16, 10).unwrap();
        rs[1].admit(0, 3, 16, 10).unwrap();
        let mut lo = Router::new(RoutingPolicy::LeastOutstanding);
        let mut kv = Router::new(RoutingPolicy::KvAware);
        assert_eq!(lo.pick(&rs, 800), Some(0));
        assert_eq!(kv.pick(&rs, 800), Some(1));
    }
}
