//! A long job that checkpoints: `work` of computation, a checkpoint after every `interval` of
//! it (and at the end) costing `cost`, on a node that crashes at exponential times of mean
//! `mtbf`. A crash loses the work since the last checkpoint; the node then takes `restart` to
//! come back, and may crash again meanwhile (the restart begins anew), as in Daly's model.
//!
//! The expected completion time has a closed form (Daly, "A higher order estimate of the
//! optimum checkpoint interval for restart dumps", FGCS 2006, eq. 13, exact for this model):
//! a segment that needs `s` of uninterrupted time (its work plus its checkpoint) takes
//! `E = M·e^{R/M}·(e^{s/M} − 1)` on average, so a job of `n = W/τ` whole segments takes
//! `M·e^{R/M}·(e^{(τ+C)/M} − 1)·W/τ`; a last, shorter segment adds its own term
//! ([`expected_completion`]). The interval that minimises it is close to Young's
//! `√(2·C·M)` when `C ≪ M` ([`young_daly`]).

use sim_core::time::to_time;
use sim_core::{RandomStream, Sampler, Time};

#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointConfig {
    /// Computation the job needs, without checkpoints or crashes.
    pub work: Time,
    /// Computation between checkpoints (`work`: one checkpoint, at the end).
    pub interval: Time,
    /// Time to write one checkpoint.
    pub cost: Time,
    /// Mean time between node crashes (`None`: the node never crashes).
    pub mtbf: Option<Time>,
    /// Time to bring the node back and reload the last checkpoint.
    pub restart: Time,
}

impl CheckpointConfig {
    /// The uninterrupted time segment `k` (0-based) needs: its work and its checkpoint; the
    /// last may be shorter. `None` past the last segment.
    pub fn segment(&self, k: u64) -> Option<Time> {
        let done = k.checked_mul(self.interval)?;
        (done < self.work).then(|| (self.work - done).min(self.interval) + self.cost)
    }

    fn crash_sampler(&self) -> Option<Sampler> {
        self.mtbf.and_then(|m| Sampler::exponential(m as f64).ok())
    }

    /// One try at a segment that needs `need`: `Ok(need)` when no crash comes first, or
    /// `Err(after)`, the crash `after` the try began.
    pub fn try_segment(&self, need: Time, rng: &mut RandomStream) -> Result<Time, Time> {
        match self.crash_sampler() {
            None => Ok(need),
            Some(s) => {
                let gap = to_time(s.sample(rng));
                if gap >= need { Ok(need) } else { Err(gap) }
            }
        }
    }

    /// The time from a crash until the node computes again: `restart` of uninterrupted
    /// recovery, begun again after each crash that interrupts it; and how many crashes
    /// interrupted it.
    pub fn recover(&self, rng: &mut RandomStream) -> (Time, u64) {
        let Some(s) = self.crash_sampler() else {
            return (self.restart, 0);
        };
        let (mut down, mut crashes): (Time, u64) = (0, 0);
        loop {
            let gap = to_time(s.sample(rng));
            if gap >= self.restart {
                return (down.saturating_add(self.restart), crashes);
            }
            down = down.saturating_add(gap);
            crashes += 1;
        }
    }
}

/// Daly's exact expected completion time of the job, in seconds: the sum over its segments
/// of `M·e^{R/M}·(e^{s/M} − 1)`; without crashes, the work plus the checkpoints.
pub fn expected_completion(c: &CheckpointConfig) -> f64 {
    let secs = |t: Time| t as f64 / 1e9;
    let mut total = 0.0;
    let mut k = 0;
    while let Some(need) = c.segment(k) {
        total += match c.mtbf {
            None => secs(need),
            Some(m) => {
                let m = secs(m);
                m * libm::exp(secs(c.restart) / m) * libm::expm1(secs(need) / m)
            }
        };
        k += 1;
    }
    total
}

/// Young's first-order optimum checkpoint interval, `√(2·C·M)`, in seconds.
pub fn young_daly(cost: Time, mtbf: Time) -> f64 {
    libm::sqrt(2.0 * (cost as f64 / 1e9) * (mtbf as f64 / 1e9))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Time = 60_000_000_000;

    fn job(interval: Time) -> CheckpointConfig {
        CheckpointConfig {
            work: 24 * 60 * MIN,
            interval,
            cost: 5 * MIN,
            mtbf: Some(8 * 60 * MIN),
            restart: 10 * MIN,
        }
    }

    #[test]
    fn segments_cover_the_work_and_each_pays_its_checkpoint() {
        let c = CheckpointConfig {
            work: 250,
            interval: 100,
            cost: 7,
            mtbf: None,
            restart: 0,
        };
        let segs: Vec<Time> = (0..).map_while(|k| c.segment(k)).collect();
        assert_eq!(segs, vec![107, 107, 57]);
        assert!((expected_completion(&c) - 271e-9).abs() < 1e-15);
    }

    #[test]
    fn the_closed_form_is_dalys_for_whole_segments() {
        let c = job(60 * MIN);
        let (m, r, s): (f64, f64, f64) = (480.0 * 60.0, 600.0, 3900.0);
        let daly = m * (r / m).exp() * ((s / m).exp() - 1.0) * 24.0;
        assert!((expected_completion(&c) - daly).abs() < 1e-6 * daly);
    }

    #[test]
    fn the_exact_optimum_is_near_young_daly() {
        let young = young_daly(5 * MIN, 8 * 60 * MIN);
        assert!((young - 4156.9).abs() < 0.1, "{young}");
        // The exact curve, on a one-minute grid, bottoms out within 10% of √(2CM).
        let best = (10..=300)
            .min_by(|&a, &b| {
                expected_completion(&job(a * MIN)).total_cmp(&expected_completion(&job(b * MIN)))
            })
            .unwrap();
        let best_s = (best * 60) as f64;
        assert!((best_s - young).abs() < 0.1 * young, "{best_s} vs {young}");
    }

    #[test]
    fn recovery_without_crashes_is_the_restart_and_crashes_only_lengthen_it() {
        let mut rng = RandomStream::from_seed(7);
        let mut c = job(60 * MIN);
        c.mtbf = None;
        assert_eq!(c.recover(&mut rng), (10 * MIN, 0));
        assert_eq!(c.try_segment(5, &mut rng), Ok(5));
        c.mtbf = Some(MIN);
        let mut longer = 0;
        for _ in 0..200 {
            let (d, crashes) = c.recover(&mut rng);
            assert!(d >= 10 * MIN);
            assert_eq!(d > 10 * MIN, crashes > 0);
            longer += u32::from(d > 10 * MIN);
        }
        // P(no crash in 10 min at MTBF 1 min) = e^-10: practically every recovery is longer.
        assert!(longer > 190);
    }
}
