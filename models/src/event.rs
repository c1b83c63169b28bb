//! The events of the world. Each is at most 8 bytes (a tag, a 16-bit generation and a 32-bit
//! index) so heap entries stay at 24 bytes.

use sim_core::Key;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The next arrival of a tenant's arrival process.
    Arrival { tenant: u16 },
    /// An attempt's service finished (its backend slot frees).
    ServiceDone { attempt: u32, generation: u16 },
    /// The server finished an attempt whose answer still travels back to the gateway (a
    /// backend with a network delay): its slot frees now, the answer arrives at `ServiceDone`.
    ServerDone { attempt: u32, generation: u16 },
    /// An attempt ran past its timeout; the caller stops waiting for it.
    AttemptTimeout { attempt: u32, generation: u16 },
    /// A request's backoff elapsed; it tries again.
    RetryDue { request: u32, generation: u16 },
    /// A call reached the gateway after its way out from the client (a tenant's client hop).
    ClientHop { request: u32, generation: u16 },
    /// A job's end reached its client after the way back (`job`: its key among the jobs
    /// returning).
    ClientReturn { job: u32, generation: u16 },
    /// The warm-up is over: statistics restart.
    WarmupEnd,
    /// An outage or slowdown of a backend begins or ends.
    Episode {
        backend: u16,
        index: u16,
        begin: bool,
    },
    /// A model's hidden quality state flips between normal and degraded.
    DegradationFlip { backend: u16 },
    /// A silent model update takes effect.
    ModelUpdate { backend: u16, index: u16 },
    /// A validator finished checking a request's answer.
    Validated { request: u32, generation: u16 },
    /// A call has waited its hedging delay.
    HedgeDue { request: u32, generation: u16 },
    /// A GPU replica's batch changes (a segment ends, or its cold start does); `generation` is
    /// the low 16 bits of the replica's, so events it no longer expects are dropped.
    GpuStep {
        backend: u16,
        replica: u16,
        generation: u16,
    },
    /// A GPU replica crashes; `epoch` tells an event meant for an earlier life of the replica.
    ReplicaFault {
        backend: u16,
        replica: u16,
        epoch: u16,
    },
    /// A crashed GPU replica is repaired and begins its cold start.
    ReplicaRepair {
        backend: u16,
        replica: u16,
        epoch: u16,
    },
    /// A GPU pool's autoscaler looks at the pool.
    Autoscale { backend: u16 },
    /// A timer of a workflow execution (`run`: its key in the world's workflow slab).
    Workflow {
        run: u32,
        generation: u16,
        what: WorkflowTimer,
    },
    /// Something of a work queue (`queue`: its index in the scenario's list).
    WorkQueue { queue: u16, what: QueueEvent },
    /// Something of a chaos experiment (`index`: an experiment or a flattened fault, by `what`).
    Chaos { index: u16, what: ChaosEvent },
}

/// What a [`Event::Chaos`] event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChaosEvent {
    /// An experiment's method is due: check the steady state, then inject.
    Start,
    /// An experiment's method is over.
    End,
    FaultBegin,
    FaultEnd,
    /// An experiment's safety gate evaluates.
    Gate,
    /// A fault's extra job arrives (traffic surge, long-context burst).
    Arrival,
}

/// What a [`Event::WorkQueue`] event is about (`workflow/queue.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueEvent {
    /// The steady producer's next item.
    Produce,
    /// The bulk upload's next item.
    Bulk,
    /// A worker finished an item.
    Done,
    /// The autoscaler looks at the backlog.
    Scale,
    /// Workers asked for earlier are up.
    Provisioned,
}

/// What a [`Event::Workflow`] event is about (`world/workflow.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkflowTimer {
    /// The next attempt of the current activity is due (after a backoff, or the next activity).
    Start,
    /// The attempt in flight reached its start-to-close timeout.
    StartToClose,
    /// The worker running the execution crashes.
    Crash,
    /// The execution reached its execution timeout.
    Execution,
    /// A compute activity's segment ends: its checkpoint is written, or its node crashed.
    Segment,
}

impl Event {
    pub fn service_done(key: Key) -> Event {
        Event::ServiceDone {
            attempt: key.index,
            generation: key.generation,
        }
    }

    pub fn server_done(key: Key) -> Event {
        Event::ServerDone {
            attempt: key.index,
            generation: key.generation,
        }
    }

    pub fn attempt_timeout(key: Key) -> Event {
        Event::AttemptTimeout {
            attempt: key.index,
            generation: key.generation,
        }
    }

    pub fn validated(key: Key) -> Event {
        Event::Validated {
            request: key.index,
            generation: key.generation,
        }
    }

    pub fn hedge_due(key: Key) -> Event {
        Event::HedgeDue {
            request: key.index,
            generation: key.generation,
        }
    }

    pub fn retry_due(key: Key) -> Event {
        Event::RetryDue {
            request: key.index,
            generation: key.generation,
        }
    }

    pub fn client_hop(key: Key) -> Event {
        Event::ClientHop {
            request: key.index,
            generation: key.generation,
        }
    }

    pub fn client_return(key: Key) -> Event {
        Event::ClientReturn {
            job: key.index,
            generation: key.generation,
        }
    }
}

pub(crate) fn key(index: u32, generation: u16) -> Key {
    Key { index, generation }
}

const _: () = assert!(
    std::mem::size_of::<Event>() <= 8,
    "events must stay at 8 bytes"
);
