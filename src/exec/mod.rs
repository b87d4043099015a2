//! Execution: a resolved [`Plan`](crate::resolve::Plan) → a run on a [`Backend`].
//!
//! This stage owns everything about a run that does not depend on where steps execute:
//! which steps run (cache hits, `--from`, `--only`), scheduling the DAG with independent
//! steps in parallel, retries, timeouts, cancellation, cache records on success, and
//! multiplexing log lines into per-step log files and the run record under
//! `.mlk/runs/<run-id>/`, the masking of secret values in log lines, and making two runs of
//! the same work take turns. A [`Backend`] claims a step's work, reserves what the step needs
//! of devices its steps share (a step waits, saying why, until it can), starts one attempt
//! of it and streams its log lines: local processes ([`crate::local`]) or Kubernetes objects
//! ([`crate::cluster`]). The executor never prints: everything a user sees goes through
//! [`Events`], which only `cli` implements.
//!
//! Threads, not async: one scoped worker thread per running step polls its process, and the
//! calling thread schedules ([`schedule`]) and keeps the books ([`running`]). Polling (soon
//! after a start, then every 10 ms) costs nothing next to a process start and keeps
//! timeouts and cancellation in one plain loop.

mod backend;
pub(crate) mod liveness;
mod mask;
pub(crate) mod record;
mod running;
mod schedule;
mod select;
mod worker;

pub(crate) use backend::{Backend, Claim, Exited, Lease, LogLine, LogSink, Process, Stop, Stream};
pub(crate) use record::{RunDir, RunRecord, RunState, StepRun};
pub(crate) use schedule::{Cancel, Event, Events, Options, Summary, execute};
pub(crate) use select::{ExecError, Initial, Selection, StepState, cache_status, prepare};

#[cfg(test)]
mod tests;
