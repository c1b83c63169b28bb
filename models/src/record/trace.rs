//! The timeline of one replication in the Chrome Trace Event format (the JSON that Perfetto
//! and chrome://tracing open): `{"displayTimeUnit":"ms","otherData":{..},"traceEvents":[..]}`,
//! timestamps in microseconds of virtual time.
//!
//! Processes and threads are the tracks: process 1 is the gateway (alerts, chaos faults), then
//! one process per backend and one per route. A backend's attempts are complete events (`X`)
//! on lanes: a lane is a thread that holds one span at a time, so spans on a thread never
//! overlap (a viewer stacks nested spans and garbles overlapping ones). Lanes are taken lowest
//! first, so a backend with 8 slots shows at most 8 `slot` lanes while the caller's view of its
//! attempts agrees with the slots. Queue waits and backoffs have lanes of their own; a GPU
//! pool's replicas each have their own slot lanes. Events are written as they finish, so the
//! file is not sorted by time: both viewers sort on load.

use sim_core::Time;
use std::io::{self, Write};

/// The part of virtual time a trace keeps (`--trace-window 2h..2h10m`): spans are clipped to
/// it, instants and counters outside it are left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceWindow {
    pub from: Time,
    pub to: Time,
}

impl TraceWindow {
    /// The whole run.
    pub const ALL: TraceWindow = TraceWindow {
        from: 0,
        to: Time::MAX,
    };

    fn clip(&self, start: Time, end: Time) -> Option<(Time, Time)> {
        (end >= self.from && start <= self.to).then(|| (start.max(self.from), end.min(self.to)))
    }

    fn holds(&self, at: Time) -> bool {
        (self.from..=self.to).contains(&at)
    }
}

/// Thread ids of the lane families within a backend's process; a GPU replica `r`'s slot lanes
/// start at `(r + 1) * REPLICA_TIDS`.
pub(super) const SLOT_TIDS: u64 = 1;
pub(super) const QUEUE_TIDS: u64 = 100_001;
pub(super) const BACKOFF_TIDS: u64 = 200_001;
pub(super) const REPLICA_TIDS: u64 = 1_000_000;

/// Lanes of one family: each holds one span at a time; a span takes the lowest free lane.
#[derive(Default)]
pub(super) struct Lanes {
    /// Per lane, until when it is taken (`Time::MAX`: until released).
    until: Vec<Time>,
}

impl Lanes {
    /// A lane free at `start`, taken until `end`; and whether it is new (its name is due).
    pub(super) fn take(&mut self, start: Time, end: Time) -> (u32, bool) {
        match self.until.iter().position(|&u| u <= start) {
            Some(i) => {
                self.until[i] = end;
                (i as u32, false)
            }
            None => {
                self.until.push(end);
                (self.until.len() as u32 - 1, true)
            }
        }
    }

    pub(super) fn release(&mut self, lane: u32, at: Time) {
        if let Some(u) = self.until.get_mut(lane as usize) {
            *u = at;
        }
    }
}

/// Streams trace events to a writer; remembers the first write error and then writes nothing.
pub(super) struct TraceSink {
    out: Box<dyn Write + Send>,
    window: TraceWindow,
    first: bool,
    error: Option<io::Error>,
    pub(super) events: u64,
}

/// Virtual nanoseconds as trace microseconds, exactly (three decimals).
struct Micros(Time);

impl std::fmt::Display for Micros {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:03}", self.0 / 1000, self.0 % 1000)
    }
}

/// A string as a JSON string literal.
pub(super) fn json_str(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

impl TraceSink {
    /// Starts the file: the header, and `otherData` naming what it shows.
    pub(super) fn new(
        out: Box<dyn Write + Send>,
        window: TraceWindow,
        replication: u32,
    ) -> TraceSink {
        let mut sink = TraceSink {
            out,
            window,
            first: true,
            error: None,
            events: 0,
        };
        let header = format!(
            "{{\"displayTimeUnit\":\"ms\",\"otherData\":{{\"generator\":\"faultline\",\
             \"replication\":{replication},\"time\":\"virtual\"}},\"traceEvents\":["
        );
        sink.raw(header.as_bytes());
        sink
    }

    fn raw(&mut self, bytes: &[u8]) {
        if self.error.is_none()
            && let Err(e) = self.out.write_all(bytes)
        {
            self.error = Some(e);
        }
    }

    /// One event: `body` is its JSON object without the braces.
    fn event(&mut self, body: std::fmt::Arguments<'_>) {
        if self.error.is_some() {
            return;
        }
        let sep: &[u8] = if self.first { b"\n{" } else { b",\n{" };
        self.first = false;
        self.raw(sep);
        if self.error.is_none()
            && let Err(e) = self.out.write_fmt(body)
        {
            self.error = Some(e);
        }
        self.raw(b"}");
        self.events += 1;
    }

    /// A metadata event naming a process (`process_name`) or thread (`thread_name`), and its
    /// place in the viewer's order.
    pub(super) fn name_process(&mut self, pid: u64, name: &str) {
        let name = json_str(name);
        self.event(format_args!(
            "\"name\":\"process_name\",\"ph\":\"M\",\"pid\":{pid},\"tid\":0,\"args\":{{\"name\":{name}}}"
        ));
        self.event(format_args!(
            "\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":{pid},\"tid\":0,\"args\":{{\"sort_index\":{pid}}}"
        ));
    }

    pub(super) fn name_thread(&mut self, pid: u64, tid: u64, name: &str) {
        let name = json_str(name);
        self.event(format_args!(
            "\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":{pid},\"tid\":{tid},\"args\":{{\"name\":{name}}}"
        ));
        self.event(format_args!(
            "\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":{pid},\"tid\":{tid},\"args\":{{\"sort_index\":{tid}}}"
        ));
    }

    /// A complete event (`X`) from `start` to `end`, clipped to the window; `args` is a JSON
    /// object's inside.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn span(
        &mut self,
        pid: u64,
        tid: u64,
        cat: &str,
        name: &str,
        start: Time,
        end: Time,
        args: std::fmt::Arguments<'_>,
    ) {
        let Some((s, e)) = self.window.clip(start, end.max(start)) else {
            return;
        };
        self.event(format_args!(
            "\"name\":\"{name}\",\"cat\":\"{cat}\",\"ph\":\"X\",\"ts\":{},\"dur\":{},\"pid\":{pid},\
             \"tid\":{tid},\"args\":{{{args}}}",
            Micros(s),
            Micros(e - s)
        ));
    }

    /// An instant event (`i`) on a process's track; `name` is a JSON string literal.
    pub(super) fn instant(
        &mut self,
        pid: u64,
        cat: &str,
        name: &str,
        at: Time,
        args: std::fmt::Arguments<'_>,
    ) {
        if !self.window.holds(at) {
            return;
        }
        self.event(format_args!(
            "\"name\":{name},\"cat\":\"{cat}\",\"ph\":\"i\",\"s\":\"p\",\"ts\":{},\"pid\":{pid},\
             \"tid\":0,\"args\":{{{args}}}",
            Micros(at)
        ));
    }

    /// A counter event (`C`): the series `key` of counter `name` is `value` from `at` on.
    pub(super) fn counter(&mut self, pid: u64, name: &str, key: &str, value: u64, at: Time) {
        if !self.window.holds(at) {
            return;
        }
        self.event(format_args!(
            "\"name\":\"{name}\",\"ph\":\"C\",\"ts\":{},\"pid\":{pid},\"tid\":0,\
             \"args\":{{\"{key}\":{value}}}",
            Micros(at)
        ));
    }

    /// Ends the JSON and flushes: the first write error, if any.
    pub(super) fn finish(mut self) -> io::Result<u64> {
        self.raw(b"\n]}\n");
        if self.error.is_none()
            && let Err(e) = self.out.flush()
        {
            self.error = Some(e);
        }
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.events),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_reuse_the_lowest_free_one() {
        let mut l = Lanes::default();
        assert_eq!(l.take(0, Time::MAX), (0, true));
        assert_eq!(l.take(1, 10), (1, true));
        assert_eq!(l.take(5, 20), (2, true));
        l.release(0, 7);
        // Lane 0 is free from 7, lane 1 from 10.
        assert_eq!(l.take(6, 8), (3, true));
        assert_eq!(l.take(7, 9), (0, false));
        // Lanes 0 and 1 are both free at 10: the lowest first.
        assert_eq!(l.take(10, 11), (0, false));
        assert_eq!(l.take(10, 12), (1, false));
    }

    #[test]
    fn micros_are_exact() {
        assert_eq!(Micros(1_234_567).to_string(), "1234.567");
        assert_eq!(Micros(5).to_string(), "0.005");
        assert_eq!(Micros(3_600_000_000_000).to_string(), "3600000000.000");
    }

    #[test]
    fn the_window_clips_spans_and_drops_what_lies_outside() {
        let w = TraceWindow { from: 10, to: 20 };
        assert_eq!(w.clip(0, 5), None);
        assert_eq!(w.clip(25, 30), None);
        assert_eq!(w.clip(5, 15), Some((10, 15)));
        assert_eq!(w.clip(12, 30), Some((12, 20)));
        assert_eq!(w.clip(10, 10), Some((10, 10)));
        assert_eq!(w.clip(20, 20), Some((20, 20)));
        assert!(w.holds(10) && w.holds(20) && !w.holds(9) && !w.holds(21));
    }
}
