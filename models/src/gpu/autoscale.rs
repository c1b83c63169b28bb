//! Autoscaling decisions for a GPU pool, as a small policy object: the world feeds it metrics at
//! its evaluation interval and applies the returned action (starting replicas that become ready
//! after the provisioning delay, or draining and stopping some). It schedules nothing itself.
//!
//! The rule is Kubernetes' horizontal autoscaler's: `desired = ceil(current × metric / target)`,
//! ignored while within a tolerance band of the target (so noise does not flap the pool), clamped
//! to `[min, max]`. Scaling up counts replicas already provisioning, so a burst does not order the
//! same capacity twice during the provisioning delay; scaling down waits a cooldown after any
//! change, because a replica removed too early costs a cold start to bring back.

use sim_core::Time;

/// What the pool scales on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleSignal {
    /// Mean busy fraction of ready replicas, target in parts per million.
    Utilisation { target_ppm: u32 },
    /// Waiting requests per ready replica.
    QueueDepth { target_per_replica: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoscaleConfig {
    pub signal: ScaleSignal,
    pub min_replicas: u32,
    pub max_replicas: u32,
    /// From ordering a replica to it accepting requests (allocation, model load, warm-up).
    pub provisioning_delay: Time,
    /// Minimum time after any scaling action before scaling down.
    pub scale_down_cooldown: Time,
    /// No action while `|metric / target − 1|` is within this, in ppm (Kubernetes uses 10%).
    pub tolerance_ppm: u32,
}

/// What the world observed over the last evaluation interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolMetrics {
    /// Replicas up and serving.
    pub ready: u32,
    /// Replicas ordered but not yet ready.
    pub provisioning: u32,
    /// Mean busy fraction of ready replicas, in ppm.
    pub utilisation_ppm: u32,
    /// Requests waiting across the pool.
    pub queue_depth: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleAction {
    Hold,
    /// Order `replicas` more; they become ready at `ready_at`.
    Up {
        replicas: u32,
        ready_at: Time,
    },
    /// Drain and stop `replicas` ready replicas.
    Down {
        replicas: u32,
    },
}

#[derive(Debug, Clone)]
pub struct Autoscaler {
    cfg: AutoscaleConfig,
    last_action: Option<Time>,
}

impl Autoscaler {
    pub fn new(cfg: AutoscaleConfig) -> Result<Autoscaler, String> {
        if cfg.min_replicas > cfg.max_replicas {
            return Err(format!(
                "min_replicas {} exceeds max_replicas {}",
                cfg.min_replicas, cfg.max_replicas
            ));
        }
        if cfg.max_replicas == 0 {
            return Err("max_replicas must be at least 1".into());
        }
        match cfg.signal {
            ScaleSignal::Utilisation { target_ppm }
                if target_ppm == 0 || target_ppm > 1_000_000 =>
            {
                return Err(format!(
                    "target utilisation {target_ppm} ppm is outside (0, 1e6]"
                ));
            }
            ScaleSignal::QueueDepth {
                target_per_replica: 0,
            } => return Err("target queue depth must be at least 1".into()),
            _ => {}
        }
        Ok(Autoscaler {
            cfg,
            last_action: None,
        })
    }

    pub fn config(&self) -> &AutoscaleConfig {
        &self.cfg
    }

    /// The replica count the metrics ask for, clamped to `[min, max]`.
    pub fn desired(&self, m: &PoolMetrics) -> u32 {
        let ready = m.ready as u128;
        let (metric, target) = match self.cfg.signal {
            ScaleSignal::Utilisation { target_ppm } => {
                (ready * m.utilisation_ppm as u128, target_ppm as u128)
            }
            ScaleSignal::QueueDepth { target_per_replica } => {
                (m.queue_depth as u128, target_per_replica as u128)
            }
        };
        // Within tolerance of the target: keep the current size.
        let current = ready.max(1) * target;
        let diff = metric.abs_diff(current);
        let desired = if m.ready > 0 && diff * 1_000_000 <= current * self.cfg.tolerance_ppm as u128
        {
            ready
        } else {
            metric.div_ceil(target)
        };
        (desired.min(u32::MAX as u128) as u32).clamp(self.cfg.min_replicas, self.cfg.max_replicas)
    }

    /// Decides at `now`. Up: order the shortfall beyond ready + provisioning. Down: only with
    /// nothing provisioning and at least the cooldown since the last action.
    pub fn decide(&mut self, now: Time, m: &PoolMetrics) -> ScaleAction {
        let desired = self.desired(m);
        let coming = m.ready.saturating_add(m.provisioning);
        if desired > coming {
            self.last_action = Some(now);
            return ScaleAction::Up {
                replicas: desired - coming,
                ready_at: now.saturating_add(self.cfg.provisioning_delay),
            };
        }
        let cooled = self
            .last_action
            .is_none_or(|t| now.saturating_sub(t) >= self.cfg.scale_down_cooldown);
        if desired < m.ready && m.provisioning == 0 && cooled {
            self.last_action = Some(now);
            return ScaleAction::Down {
                replicas: m.ready - desired,
            };
        }
        ScaleAction::Hold
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const S: Time = 1_000_000_000;

    fn util(target_ppm: u32) -> AutoscaleConfig {
        AutoscaleConfig {
            signal: ScaleSignal::Utilisation { target_ppm },
            min_replicas: 1,
            max_replicas: 10,
            provisioning_delay: 120 * S,
            scale_down_cooldown: 300 * S,
            tolerance_ppm: 100_000,
        }
    }

    #[test]
    fn scales_up_by_the_hpa_rule_and_counts_provisioning() {
        let mut a = Autoscaler::new(util(600_000)).unwrap();
        let m = PoolMetrics {
            ready: 2,
            utilisation_ppm: 950_000,
            ..Default::default()
        };
        // ceil(2 × 0.95 / 0.6) = ceil(3.17) = 4.
        assert_eq!(
            a.decide(0, &m),
            ScaleAction::Up {
                replicas: 2,
                ready_at: 120 * S
            }
        );
        let m2 = PoolMetrics {
            provisioning: 2,
            ..m
        };
        assert_eq!(a.decide(10 * S, &m2), ScaleAction::Hold);
    }

    #[test]
    fn scale_down_waits_for_the_cooldown() {
        let mut a = Autoscaler::new(util(600_000)).unwrap();
        let hot = PoolMetrics {
            ready: 2,
            utilisation_ppm: 950_000,
            ..Default::default()
        };
        assert!(matches!(a.decide(0, &hot), ScaleAction::Up { .. }));
        let cold = PoolMetrics {
            ready: 4,
            utilisation_ppm: 100_000,
            ..Default::default()
        };
        assert_eq!(a.decide(200 * S, &cold), ScaleAction::Hold);
        // ceil(4 × 0.1 / 0.6) = 1.
        assert_eq!(a.decide(300 * S, &cold), ScaleAction::Down { replicas: 3 });
    }

    #[test]
    fn invalid_configs_are_errors() {
        assert!(
            Autoscaler::new(AutoscaleConfig {
                min_replicas: 5,
                max_replicas: 2,
                ..util(1)
            })
            .is_err()
        );
        assert!(Autoscaler::new(util(0)).is_err());
        assert!(
            Autoscaler::new(AutoscaleConfig {
                signal: ScaleSignal::QueueDepth {
                    target_per_replica: 0
                },
                ..util(1)
            })
            .is_err()
        );
    }

    proptest! {
        /// Whatever the metrics, the pool is steered into [min, max], never shrinks while
        /// replicas are provisioning, and never shrinks within the cooldown of an action.
        #[test]
        fn actions_respect_bounds_and_cooldown(
            steps in proptest::collection::vec((0u32..12, 0u32..4, 0u32..1_000_000, 0u32..500, 1u64..400), 1..40),
            queue: bool,
        ) {
            let cfg = AutoscaleConfig {
                signal: if queue { ScaleSignal::QueueDepth { target_per_replica: 8 } } else { ScaleSignal::Utilisation { target_ppm: 700_000 } },
                min_replicas: 2,
                max_replicas: 9,
                ..util(700_000)
            };
            let mut a = Autoscaler::new(cfg).unwrap();
            let mut now = 0;
            let mut last: Option<Time> = None;
            for (ready, provisioning, u, q, dt) in steps {
                now += dt * S;
                let m = PoolMetrics { ready, provisioning, utilisation_ppm: u, queue_depth: q };
                match a.decide(now, &m) {
                    ScaleAction::Up { replicas, ready_at } => {
                        prop_assert!(replicas > 0);
                        prop_assert!(ready + provisioning + replicas <= cfg.max_replicas);
                        prop_assert_eq!(ready_at, now + cfg.provisioning_delay);
                        last = Some(now);
                    }
                    ScaleAction::Down { replicas } => {
                        prop_assert!(replicas > 0 && ready - replicas >= cfg.min_replicas);
                        prop_assert_eq!(provisioning, 0);
                        prop_assert!(last.is_none_or(|t| now - t >= cfg.scale_down_cooldown));
                        last = Some(now);
                    }
                    ScaleAction::Hold => {
                        prop_assert!(ready + provisioning >= cfg.min_replicas);
                    }
                }
            }
        }
    }
}
