//! Job counters: agent-loop turns and the caps that stopped loops, tokens per job, and jobs a
//! tenant's budget turned away before they began.

use super::families::Families;
use sim_core::stats::Tally;
use sim_core::summary::MetricSet;

#[derive(Debug, Clone)]
pub(crate) struct Jobs {
    turn_cap_stops: u64,
    token_cap_stops: u64,
    prompt_limit_stops: u64,
    turns: Tally,
    tokens: Tally,
    budget_rejections: u64,
}

impl Jobs {
    pub(super) fn new() -> Jobs {
        Jobs {
            turn_cap_stops: 0,
            token_cap_stops: 0,
            prompt_limit_stops: 0,
            turns: Tally::new(),
            tokens: Tally::new(),
            budget_rejections: 0,
        }
    }

    pub(crate) fn turn_cap_stop(&mut self) {
        self.turn_cap_stops += 1;
    }

    pub(crate) fn token_cap_stop(&mut self) {
        self.token_cap_stops += 1;
    }

    /// An agent loop whose next prompt would pass `u32::MAX` tokens.
    pub(crate) fn prompt_limit_stop(&mut self) {
        self.prompt_limit_stops += 1;
    }

    pub(crate) fn finished(&mut self, turns: u32, tokens: u64) {
        self.turns.record(turns as f64);
        self.tokens.record(tokens as f64);
    }

    /// A tenant's budget was spent: the job was turned away before it began.
    pub(crate) fn budget_rejected(&mut self) {
        self.budget_rejections += 1;
    }

    /// The agent-loop and budget metrics, for worlds that have them.
    pub(super) fn finish(&self, m: &mut MetricSet, families: &Families) {
        if families.loops {
            m.push("turns_per_job_mean", self.turns.mean());
            m.push("tokens_per_job_mean", self.tokens.mean());
            m.push("turn_cap_stops", self.turn_cap_stops as f64);
            m.push("token_cap_stops", self.token_cap_stops as f64);
            m.push("prompt_limit_stops", self.prompt_limit_stops as f64);
        }
        if families.budgets {
            m.push("budget_rejections", self.budget_rejections as f64);
        }
    }
}
