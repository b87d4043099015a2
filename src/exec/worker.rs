//! One step on its worker thread: its attempts, its timeout, and stopping it on request.

use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use super::backend::{Backend, Claim, Exited, LogSink, Process, Stop};
use super::schedule::{Cancel, Event, Events};
use crate::resolve::Step;

/// How often a running attempt is polled for its exit, timeout and cancellation, once it
/// has run for a while. Before that the wait between polls is a quarter of the time the
/// attempt has run (at least [`FIRST_POLL`]), so that a step that ends at once does not wait
/// a whole period: its end is noticed at most a quarter of its run time late (a chain of
/// short steps pays that per step), and a long step still costs one poll every 10 ms.
const POLL: Duration = Duration::from_millis(10);
/// The shortest wait between polls of an attempt.
const FIRST_POLL: Duration = Duration::from_micros(100);
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

/// How often a step whose work another run holds asks again.
const CLAIM_POLL: Duration = Duration::from_millis(50);

/// Waits until this run holds `step`'s work ([`Backend::claim`]), saying once why it waits;
/// a Ctrl-C while waiting ends the step unrun.
fn claim(step: &Step, w: &Worker<'_>) -> Result<Claim, Outcome> {
    let mut waited = false;
    loop {
        match w.backend.claim(step) {
            Ok(Some(claim)) => {
                if waited {
                    w.events.event(&Event::Pending {
                        step: &step.name,
                        reason: None,
                    });
                }
                return Ok(claim);
            }
            Ok(None) if w.cancel.level() == 0 => {
                if !waited {
                    waited = true;
                    w.events.event(&Event::Pending {
                        step: &step.name,
                        reason: Some("waiting for another run of this step (same cache key)"),
                    });
                }
                std::thread::sleep(CLAIM_POLL);
            }
            Ok(None) => {
                return Err(Outcome {
                    ok: false,
                    exited: None,
                    reason: Some(format!("{} while waiting for another run", w.cancel.why())),
                });
            }
            Err(e) => {
                return Err(Outcome {
                    ok: false,
                    exited: None,
                    reason: Some(format!("could not claim the step's work: {e}")),
                });
            }
        }
    }
}

/// Runs every attempt of `step` (index `i`), reporting through `w.tx`, while holding its
/// claim (so its outputs are published before another run may start the same work).
pub(crate) fn run_step(i: usize, step: &Step, w: &Worker<'_>) -> Outcome {
    let _claim = match claim(step, w) {
        Ok(c) => c,
        Err(outcome) => return outcome,
    };
    // Like a Job's activeDeadlineSeconds, the timeout covers all attempts together.
    let deadline = step
        .timeout_seconds
        .map(|s| (Instant::now() + Duration::from_secs(s), s));
    let attempts = step.retries.saturating_add(1);
    let mut attempt = 1;
    loop {
        let _ = w.tx.send(Msg::Started { step: i, attempt });
        w.events.event(&Event::Started {
            step: &step.name,
            attempt,
            attempts,
        });
        let mut process = match w.backend.start(step, attempt, w.logs.clone()) {
            Ok(p) => {
                w.events.event(&Event::Submitted);
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
        let (exited, stopped) = watch(&mut *process, step, w, deadline);
        process.drain(DRAIN);
        if let Some(why) = stopped {
            return Outcome {
                ok: false,
                exited,
                reason: Some(why),
            };
        }
        if exited.is_some_and(|e| e.success()) {
            let published = process.publish();
            return Outcome {
                ok: published.is_ok(),
                exited,
                reason: published
                    .err()
                    .map(|e| format!("its outputs could not be published: {e}")),
            };
        }
        let reason = exited.map_or_else(|| "unknown exit status".into(), |e| e.describe());
        let out_of_time = deadline.is_some_and(|(d, _)| Instant::now() >= d);
        if attempt >= attempts || w.cancel.level() >= 1 || out_of_time {
            return Outcome {
                ok: false,
                exited,
                reason: Some(reason),
            };
        }
        attempt += 1;
        w.events.event(&Event::Retrying {
            step: &step.name,
            attempt,
            attempts,
            reason: &reason,
        });
    }
}

/// Polls one attempt until it ends: how it exited (`None` if that is unknown) and, if mlk
/// stopped it, why (the timeout `deadline`, a second Ctrl-C, or a lost process). A stopped
/// attempt gets SIGTERM, then SIGKILL after the grace period.
fn watch(
    process: &mut dyn Process,
    step: &Step,
    w: &Worker<'_>,
    deadline: Option<(Instant, u64)>,
) -> (Option<Exited>, Option<String>) {
    let mut stopped: Option<(Instant, String)> = None;
    let mut killed = false;
    let mut pending: Option<String> = None;
    let begun = Instant::now();
    let exited = loop {
        match process.try_wait() {
            Ok(Some(e)) => break Some(e),
            Ok(None) => {
                let now_pending = process.pending();
                if now_pending != pending {
                    w.events.event(&Event::Pending {
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
                // A second Ctrl-C is `Detach`: a backend whose work lives elsewhere (a cluster)
                // may leave it running; a timeout always terminates.
                let why = if w.cancel.level() >= 2 {
                    Some((Stop::Detach, w.cancel.why().to_owned()))
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
            Some((at, _)) if !killed && now.duration_since(*at) >= w.grace => {
                let _ = process.stop(Stop::Kill);
                killed = true;
            }
            Some(_) => {}
        }
        std::thread::sleep((now.duration_since(begun) / 4).clamp(FIRST_POLL, POLL));
    };
    (exited, stopped.map(|(_, why)| why))
}
