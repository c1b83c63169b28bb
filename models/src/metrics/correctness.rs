//! Correctness counters: how jobs ended when answers can be silently wrong (correct, wrong but
//! accepted, caught), soft failures by category and what the validator made of them, the input
//! guardrail's verdicts, and which hop of a chain let the first bad answer in.

use super::families::{Families, hops};
use super::ratio;
use crate::config::{SOFT_CATEGORIES, WorldConfig};
use sim_core::summary::MetricSet;

#[derive(Debug, Clone)]
pub(crate) struct Correctness {
    /// Jobs that ended correct, wrong but accepted, and with a caught bad answer.
    pub(super) correct: u64,
    pub(super) wrong_accepted: u64,
    pub(super) detected_handled: u64,
    /// Per soft-failure category: bad answers, those a validator caught, those that got through.
    soft_occurred: [u64; 5],
    soft_detected: [u64; 5],
    soft_missed: [u64; 5],
    false_positives: u64,
    injections_blocked: u64,
    injections_missed: u64,
    clean_blocked: u64,
    /// Per hop: jobs whose first bad answer came from it, and validator rejections at it.
    wrong_from_hop: Vec<u64>,
    detected_at_hop: Vec<u64>,
    wrong_from_input: u64,
}

impl Correctness {
    pub(super) fn new(config: &WorldConfig) -> Correctness {
        Correctness {
            correct: 0,
            wrong_accepted: 0,
            detected_handled: 0,
            soft_occurred: [0; 5],
            soft_detected: [0; 5],
            soft_missed: [0; 5],
            false_positives: 0,
            injections_blocked: 0,
            injections_missed: 0,
            clean_blocked: 0,
            wrong_from_hop: vec![0; hops(config)],
            detected_at_hop: vec![0; hops(config)],
            wrong_from_input: 0,
        }
    }

    /// An input guardrail's verdict on a job (or an injection that met no guardrail).
    pub(crate) fn guardrail(&mut self, injection: bool, caught: bool) {
        match (injection, caught) {
            (true, true) => self.injections_blocked += 1,
            (true, false) => self.injections_missed += 1,
            (false, true) => self.clean_blocked += 1,
            (false, false) => {}
        }
    }

    /// An answer went bad with soft failure `category`.
    pub(super) fn soft_failure(&mut self, category: u8) {
        self.soft_occurred[category as usize] += 1;
    }

    /// A validator rejected an answer: a bad one (`category`) or a good one (`None`).
    pub(crate) fn rejected_by_validator(&mut self, category: Option<u8>, hop: u16) {
        match category {
            Some(c) => self.soft_detected[c as usize] += 1,
            None => self.false_positives += 1,
        }
        if let Some(h) = self.detected_at_hop.get_mut(hop as usize) {
            *h += 1;
        }
    }

    pub(crate) fn soft_missed(&mut self, category: u8) {
        self.soft_missed[category as usize] += 1;
    }

    /// A job finished wrong; `hop` let the first bad answer in (or the input did).
    pub(crate) fn wrong_let_in(&mut self, hop: u16) {
        if hop == u16::MAX - 1 {
            self.wrong_from_input += 1;
        } else if let Some(h) = self.wrong_from_hop.get_mut(hop as usize) {
            *h += 1;
        }
    }

    /// The correctness metrics, when answers can be judged; `successes` are the jobs answered.
    pub(super) fn finish(
        &self,
        m: &mut MetricSet,
        config: &WorldConfig,
        families: &Families,
        successes: u64,
    ) {
        if families.judged() {
            m.push("correct", self.correct as f64);
            m.push("wrong_accepted", self.wrong_accepted as f64);
            m.push("detected_handled", self.detected_handled as f64);
            m.push("correctness", ratio(self.correct, successes));
        }
        if families.soft {
            let mut any = [false; 5];
            for r in &config.routes {
                for (c, a) in any.iter_mut().enumerate() {
                    *a |= r.soft[c] > 0.0;
                }
            }
            for (c, name) in SOFT_CATEGORIES.iter().enumerate() {
                if any[c] {
                    m.push(format!("soft.{name}"), self.soft_occurred[c] as f64);
                    m.push(
                        format!("soft.{name}.detected"),
                        self.soft_detected[c] as f64,
                    );
                    m.push(format!("soft.{name}.missed"), self.soft_missed[c] as f64);
                }
            }
            if config.routes.iter().any(|r| r.validator.is_some()) {
                m.push("validator.false_positives", self.false_positives as f64);
            }
        }
        if families.guardrail {
            m.push(
                "guardrail.injections_blocked",
                self.injections_blocked as f64,
            );
            m.push("guardrail.injections_missed", self.injections_missed as f64);
            m.push("guardrail.clean_blocked", self.clean_blocked as f64);
        }
        if families.max_steps > 1 && families.judged() {
            for hop in 0..families.max_steps {
                m.push(
                    format!("chain.hop{hop}.wrong_let_in"),
                    self.wrong_from_hop[hop] as f64,
                );
                m.push(
                    format!("chain.hop{hop}.detected"),
                    self.detected_at_hop[hop] as f64,
                );
            }
            if families.guardrail {
                m.push("chain.input.wrong_let_in", self.wrong_from_input as f64);
            }
        }
    }
}
