//! Fitting the roofline's efficiencies to measured runs, and leave-one-experiment-out.
//!
//! The objective is the sum, over experiments and the six headline metrics (TTFT mean and p90,
//! ITL mean, E2E mean, p90 and p99 of the whole run), of the squared log ratio of simulated to
//! measured: a relative error, symmetric in over- and under-prediction. Each evaluation replays
//! every training experiment in full. Nelder–Mead searches a transformed space (logits of the
//! three efficiencies, logarithms of the three fixed costs) from fixed starting points for a fixed
//! number of evaluations, with nothing but arithmetic and `libm`, so the fit is a pure function
//! of the data and the seed.

use super::fidelity::{Experiment, METRICS, Metric, OutputLengths, Simulated, ape};
use super::hardware::Efficiency;

/// The metrics the fit minimises and the acceptance targets name.
pub const TARGETS: [Metric; 6] = [
    ("ttft_mean", |f| f.ttft_mean),
    ("ttft_p90", |f| f.ttft_p90),
    ("itl_mean", |f| f.itl_mean),
    ("e2e_mean", |f| f.e2e_mean),
    ("e2e_p90", |f| f.e2e_p90),
    ("e2e_p99", |f| f.e2e_p99),
];

/// Where every fit starts: round, physically plausible values (half of peak compute, 70% of
/// peak bandwidth for weights and half for paged KV reads, a 1 ms step floor, 5 µs per
/// all-reduce, 10 ms outside the engine), so a fit depends on the data alone.
pub const FIT_START: Efficiency = Efficiency {
    compute: 0.5,
    bandwidth: 0.7,
    kv_bandwidth: 0.5,
    step_floor_ms: 1.0,
    allreduce_us: 5.0,
    request_overhead_ms: 10.0,
};

/// Evaluations Nelder–Mead may spend.
pub const MAX_EVALUATIONS: usize = 300;

const DIM: usize = 6;

fn logit(p: f64) -> f64 {
    libm::log(p / (1.0 - p))
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + libm::exp(-x))
}

fn encode(e: &Efficiency) -> [f64; DIM] {
    [
        logit(e.compute),
        logit(e.bandwidth),
        logit(e.kv_bandwidth),
        libm::log(e.step_floor_ms),
        libm::log(e.allreduce_us),
        libm::log(e.request_overhead_ms),
    ]
}

fn decode(x: &[f64; DIM]) -> Efficiency {
    // Bounded away from the edges: an efficiency of 0 or 1, or a zero cost, is not physical.
    let clamp = |v: f64, lo: f64, hi: f64| v.max(lo).min(hi);
    Efficiency {
        compute: clamp(sigmoid(x[0]), 0.05, 0.95),
        bandwidth: clamp(sigmoid(x[1]), 0.05, 0.98),
        kv_bandwidth: clamp(sigmoid(x[2]), 0.05, 0.98),
        step_floor_ms: clamp(libm::exp(x[3]), 0.01, 100.0),
        allreduce_us: clamp(libm::exp(x[4]), 0.1, 1000.0),
        request_overhead_ms: clamp(libm::exp(x[5]), 0.01, 1000.0),
    }
}

/// The loss of `eff` on `train`; an experiment that fails to simulate costs infinity. A metric
/// the measurement does not hold (NaN: a `vllm bench serve` result without that percentile) is
/// left out rather than fitted.
pub fn loss(train: &[&Experiment], eff: &Efficiency, lengths: OutputLengths, seed: u64) -> f64 {
    let mut total = 0.0;
    for e in train {
        let Some(real) = e.measured_ms.get("whole_run") else {
            continue;
        };
        let Ok(sim) = e.simulate(eff, lengths, seed) else {
            return f64::INFINITY;
        };
        for (_, get) in TARGETS {
            if get(real).is_nan() {
                continue;
            }
            let r = libm::log(get(&sim.whole_run) / get(real));
            total += if r.is_finite() { r * r } else { 1e6 };
        }
    }
    total
}

/// Fits the efficiencies to `train`, starting from `start`.
pub fn fit(
    train: &[&Experiment],
    start: &Efficiency,
    lengths: OutputLengths,
    seed: u64,
) -> Efficiency {
    fit_within(train, start, lengths, seed, MAX_EVALUATIONS).0
}

/// [`fit`] with a budget of `max_evaluations` replays of the training set instead of
/// [`MAX_EVALUATIONS`] (never fewer than the starting simplex's seven), and the loss of the
/// efficiencies it returns: `faultline calibrate` lets a user trade accuracy for time.
pub fn fit_within(
    train: &[&Experiment],
    start: &Efficiency,
    lengths: OutputLengths,
    seed: u64,
    max_evaluations: usize,
) -> (Efficiency, f64) {
    let f = |x: &[f64; DIM]| loss(train, &decode(x), lengths, seed);
    let x0 = encode(start);
    let mut simplex: Vec<([f64; DIM], f64)> = Vec::with_capacity(DIM + 1);
    simplex.push((x0, f(&x0)));
    for i in 0..DIM {
        let mut x = x0;
        x[i] += 0.5;
        simplex.push((x, f(&x)));
    }
    let mut evals = DIM + 1;
    while evals < max_evaluations {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        let worst = simplex[DIM];
        let mut centroid = [0.0; DIM];
        for (x, _) in &simplex[..DIM] {
            for (c, v) in centroid.iter_mut().zip(x) {
                *c += v / DIM as f64;
            }
        }
        let along = |t: f64| {
            let mut x = [0.0; DIM];
            for i in 0..DIM {
                x[i] = centroid[i] + t * (worst.0[i] - centroid[i]);
            }
            x
        };
        let xr = along(-1.0);
        let fr = f(&xr);
        evals += 1;
        if fr < simplex[0].1 {
            let xe = along(-2.0);
            let fe = f(&xe);
            evals += 1;
            simplex[DIM] = if fe < fr { (xe, fe) } else { (xr, fr) };
        } else if fr < simplex[DIM - 1].1 {
            simplex[DIM] = (xr, fr);
        } else {
            let xc = if fr < worst.1 {
                along(-0.5)
            } else {
                along(0.5)
            };
            let fc = f(&xc);
            evals += 1;
            if fc < worst.1.min(fr) {
                simplex[DIM] = (xc, fc);
            } else {
                // Shrink towards the best point.
                let best = simplex[0].0;
                for (x, fx) in simplex.iter_mut().skip(1) {
                    for i in 0..DIM {
                        x[i] = best[i] + 0.5 * (x[i] - best[i]);
                    }
                    *fx = f(x);
                    evals += 1;
                }
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    (decode(&simplex[0].0), simplex[0].1)
}

/// One leave-one-out fold: the efficiencies fitted without experiment `held_out`.
#[derive(Debug, Clone)]
pub struct Fold {
    pub held_out: usize,
    pub fitted: Efficiency,
}

/// The fold that holds out experiment `held_out` and fits on all the others.
pub fn fit_fold(
    experiments: &[Experiment],
    held_out: usize,
    start: &Efficiency,
    lengths: OutputLengths,
    seed: u64,
) -> Fold {
    let train: Vec<&Experiment> = experiments
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != held_out)
        .map(|(_, e)| e)
        .collect();
    Fold {
        held_out,
        fitted: fit(&train, start, lengths, seed),
    }
}

/// Fits once per experiment on all the others.
pub fn leave_one_out(
    experiments: &[Experiment],
    start: &Efficiency,
    lengths: OutputLengths,
    seed: u64,
) -> Vec<Fold> {
    (0..experiments.len())
        .map(|held_out| fit_fold(experiments, held_out, start, lengths, seed))
        .collect()
}

/// Leave-one-out predictions: each experiment simulated with the efficiencies fitted on the
/// others, and the mean absolute percentage error per metric over them.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub folds: Vec<Fold>,
    /// Per experiment, its held-out prediction.
    pub predicted: Vec<Simulated>,
    /// Per metric of [`METRICS`], the mean over experiments of the whole run's absolute
    /// percentage error.
    pub mape: [f64; 7],
}

/// Predicts every held-out experiment of `folds` (one per experiment, from [`leave_one_out`] or
/// [`fit_fold`] run in parallel) and scores the predictions.
pub fn evaluate(
    experiments: &[Experiment],
    folds: Vec<Fold>,
    lengths: OutputLengths,
    seed: u64,
) -> Result<Evaluation, String> {
    let mut predicted = Vec::with_capacity(experiments.len());
    let mut mape = [0.0; 7];
    for fold in &folds {
        let e = &experiments[fold.held_out];
        let sim = e.simulate(&fold.fitted, lengths, seed)?;
        let real = e
            .measured_ms
            .get("whole_run")
            .ok_or_else(|| format!("experiment {}: no `whole_run` measurement", e.id))?;
        for (m, (_, get)) in mape.iter_mut().zip(METRICS) {
            *m += ape(get(&sim.whole_run), get(real)) / experiments.len() as f64;
        }
        predicted.push(sim);
    }
    Ok(Evaluation {
        folds,
        predicted,
        mape,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips() {
        let e = Efficiency {
            compute: 0.4,
            bandwidth: 0.8,
            kv_bandwidth: 0.6,
            step_floor_ms: 3.0,
            allreduce_us: 12.0,
            request_overhead_ms: 9.0,
        };
        let d = decode(&encode(&e));
        assert!((d.compute - 0.4).abs() < 1e-12);
        assert!((d.bandwidth - 0.8).abs() < 1e-12);
        assert!((d.kv_bandwidth - 0.6).abs() < 1e-12);
        assert!((d.step_floor_ms - 3.0).abs() < 1e-12);
        assert!((d.allreduce_us - 12.0).abs() < 1e-12);
        assert!((d.request_overhead_ms - 9.0).abs() < 1e-12);
    }
}
