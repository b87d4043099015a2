//! One step on its worker thread: its attempts, its timeout, and stopping it on request.

use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use super::backend::{Backend, Exited, LogSink, Stop};
use super::schedule::{Cancel, Event, Events};
use crate::resolve::Step;

/// How often a running attempt is polled for its exit, timeout and cancellation.
const POLL: Duration = Duration::from_millis(10);
/// How long to wait for the last log lines after an attempt ended.
const DRAIN: Duration = Duration::from_secs(2);

/// What a worker tells the scheduler.
pub(crate) enum Msg {
    /// Attempt `attempt` started.
    Started { step: usize, attempt: u32 },
    /// The step ended.
    Finished { step: usize, outcome: Outcome },
}

/// How a step ended, after all its attempts.
pub(crate) struct Outcome {
    /// Whether it succeeded.
    pub(crate) ok: bool,
    /// Exit of the last attempt, if it started.
    pub(crate) exited: Option<Exited>,
    /// Why it failed, for people.
    pub(crate) reason: Option<String>,
}

/// What a worker needs besides its step.
pub(crate) struct Worker<'a> {
    pub(crate) backend: &'a dyn Backend,
    pub(crate) logs: LogSink,
    pub(crate) cancel: &'a Cancel,
    pub(crate) grace: Duration,
    pub(crate) tx: Sender<Msg>,
    /// Start and retry events are sent from here, before the attempt's first log line.
    pub(crate) events: &'a dyn Events,
}

/// Runs every attempt of `step` (index `i`), reporting through `w.tx`.
pub(crate) fn run_step(i: usize, step: &Step, w: &Worker<'_>) -> Outcome {
    let Worker {
        backend,
        logs,
        cancel,
        grace,
        tx,
        events,
    } = w;
    let grace = *grace;
    // Like a Job's activeDeadlineSeconds, the timeout covers all attempts together.
    let deadline = step
        .timeout_seconds
        .map(|s| (Instant::now() + Duration::from_secs(s), s));
    let attempts = step.retries.saturating_add(1);
    let mut attempt = 1;
    loop {
        let _ = tx.send(Msg::Started { step: i, attempt });
        events.event(&Event::Started {
            step: &step.name,
            attempt,
            attempts,
        });
        let mut process = match backend.start(step, attempt, logs.clone()) {
            Ok(p) => {
                events.event(&Event::Submitted { step: &step.name });
                p
            }
            Err(message) => {
                return Outcome {
                    ok: false,
                    exited: None,
                    reason: Some(format!("could not start: {message}")),
                };
            }
        };
        let mut stopped: Option<(Instant, String)> = None;
        let mut killed = false;
        let mut pending: Option<String> = None;
        let exited = loop {
            match process.try_wait() {
                Ok(Some(e)) => break Some(e),
                Ok(None) => {
                    let now_pending = process.pending();
                    if now_pending != pending {
                        events.event(&Event::Pending {
                            step: &step.name,
                            reason: now_pending.as_deref(),
                        });
                        pending = now_pending;
                    }
                }
                Err(e) => {
                    stopped.get_or_insert((Instant::now(), format!("lost the process: {e}")));
                    let _ = process.stop(Stop::Kill);
                    break None;
                }
            }
            let now = Instant::now();
            match &stopped {
                None => {
                    let why = if cancel.level() >= 2 {
                        Some((Stop::Detach, cancel.why().to_owned()))
                    } else {
                        deadline
                            .filter(|(d, _)| now >= *d)
                            .map(|(_, s)| (Stop::Terminate, format!("timed out after {s}s")))
                    };
                    if let Some((how, why)) = why {
                        let _ = process.stop(how);
                        stopped = Some((now, why));
                    }
                }
                Some((at, _)) if !killed && now.duration_since(*at) >= grace => {
                    let _ = process.stop(Stop::Kill);
                    killed = true;
                }
                Some(_) => {}
            }
            std::thread::sleep(POLL);
        };
        process.drain(DRAIN);
        if let Some((_, why)) = stopped {
            return Outcome {
                ok: false,
                exited,
                reason: Some(why),
            };
        }
        let ok = exited.is_some_and(|e| e.success());
        let reason = exited.map_or_else(|| "unknown exit status".into(), |e| e.describe());
        if ok {
            return Outcome {
                ok,
                exited,
                reason: None,
            };
        }
        let out_of_time = deadline.is_some_and(|(d, _)| Instant::now() >= d);
        if attempt >= attempts || cancel.level() >= 1 || out_of_time {
            return Outcome {
                ok: false,
                exited,
                reason: Some(reason),
            };
        }
        attempt += 1;
        events.event(&Event::Retrying {
            step: &step.name,
            attempt,
            attempts,
            reason: &reason,
        });
    }
}
