//! The report's timeline: what each step did when. While a run goes on, [`Recorder`] sits
//! between the executor and the terminal's progress and appends one line to
//! `timeline.jsonl` in the run's directory for each attempt started, each change of why a
//! step is pending, each retry and each end (never for log lines, so it costs nothing per
//! line). [`bars`] turns those lines into bars: waiting (from the run's start to the first
//! attempt), each attempt on its own (so retries are separate bars), and the times an
//! attempt was pending, with the reason. A run without the file (an older mlk) gets one
//! waiting and one running bar per step from its record.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::exec::record::now_ms;
use crate::exec::{Event, Events, RunRecord, StepState};

/// The timeline of a run, in its directory.
const TIMELINE_FILE: &str = "timeline.jsonl";

/// One line of `timeline.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Mark {
    /// When, in milliseconds since the Unix epoch.
    t: u64,
    /// The step.
    step: String,
    /// What happened.
    #[serde(flatten)]
    what: What,
}

/// What happened to a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
enum What {
    /// An attempt started.
    Started { attempt: u32 },
    /// The step is pending for `reason`, or (`None`) no longer.
    Pending { reason: Option<String> },
    /// An attempt failed; attempt `attempt` follows.
    Retrying { attempt: u32, reason: String },
    /// The step ended in `state`.
    Finished { state: StepState },
}

/// Passes every event on to `inner`, and appends the timeline's to `timeline.jsonl`.
pub(crate) struct Recorder {
    inner: Arc<dyn Events>,
    file: Mutex<std::fs::File>,
}

impl Recorder {
    /// `inner`, recording into the run directory `dir`; `inner` alone when the file cannot
    /// be created (the report then draws the record's bars).
    pub(crate) fn wrap(dir: &Path, inner: Arc<dyn Events>) -> Arc<dyn Events> {
        match std::fs::File::create(dir.join(TIMELINE_FILE)) {
            Ok(file) => Arc::new(Recorder {
                inner,
                file: Mutex::new(file),
            }),
            Err(_) => inner,
        }
    }
}

impl Events for Recorder {
    fn event(&self, event: &Event<'_>) {
        self.inner.event(event);
        let (step, what) = match event {
            Event::Started { step, attempt, .. } => (*step, What::Started { attempt: *attempt }),
            Event::Pending { step, reason } => (
                *step,
                What::Pending {
                    reason: reason.map(str::to_owned),
                },
            ),
            Event::Retrying {
                step,
                attempt,
                reason,
                ..
            } => (
                *step,
                What::Retrying {
                    attempt: *attempt,
                    reason: (*reason).to_owned(),
                },
            ),
            Event::Finished { step } => (&*step.name, What::Finished { state: step.state }),
            _ => return,
        };
        let mark = Mark {
            t: now_ms(),
            step: step.to_owned(),
            what,
        };
        if let Ok(mut line) = serde_json::to_vec(&mark) {
            line.push(b'\n');
            // One write per line, so a killed run leaves whole lines; a failed write only
            // costs the report its detail.
            if let Ok(mut f) = self.file.lock() {
                let _ = f.write_all(&line);
            }
        }
    }
}

/// What a bar of the timeline stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Waiting for upstream steps or a free slot.
    Wait,
    /// An attempt, start to end.
    Attempt,
    /// Part of an attempt (or of the wait for a claim) spent pending.
    Pending,
}

/// One bar of a step's row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bar {
    /// What it stands for.
    pub kind: Kind,
    /// Start, in milliseconds since the Unix epoch.
    pub from: u64,
    /// End.
    pub to: u64,
    /// What it says (its tooltip, and its text for screen readers).
    pub label: String,
    /// An attempt that failed.
    pub failed: bool,
}

/// Each step's bars (in the order of `record.steps`), from the run directory `dir`'s
/// timeline, or from the record alone when the run has none.
pub(super) fn bars(dir: &Path, record: &RunRecord) -> Vec<Vec<Bar>> {
    let marks: Option<Vec<Mark>> = std::fs::read(dir.join(TIMELINE_FILE)).ok().map(|b| {
        b.split(|&c| c == b'\n')
            .filter_map(|l| serde_json::from_slice(l).ok())
            .collect()
    });
    let end = record.ended_unix_ms.unwrap_or_else(|| {
        let last = marks.iter().flatten().map(|m| m.t).max();
        last.unwrap_or(record.started_unix_ms)
    });
    let mut by_step: std::collections::BTreeMap<&str, Vec<&Mark>> = Default::default();
    for m in marks.iter().flatten() {
        by_step.entry(m.step.as_str()).or_default().push(m);
    }
    record
        .steps
        .iter()
        .map(|s| match (&marks, by_step.get(s.name.as_str())) {
            (Some(_), Some(mine)) => step_bars(mine, record.started_unix_ms, end),
            (Some(_), None) => Vec::new(),
            (None, _) => record_bars(s, record.started_unix_ms),
        })
        .collect()
}

/// The bars of one step from its marks, in order; an attempt still open ends at `end`.
fn step_bars(marks: &[&Mark], start: u64, end: u64) -> Vec<Bar> {
    let mut out = Vec::new();
    let mut attempt: Option<(u32, u64)> = None;
    let mut pending: Option<(u64, String)> = None;
    let close_pending = |out: &mut Vec<Bar>, p: &mut Option<(u64, String)>, t: u64| {
        if let Some((from, why)) = p.take() {
            out.push(Bar {
                kind: Kind::Pending,
                from,
                to: t,
                label: format!("pending: {why}"),
                failed: false,
            });
        }
    };
    let close_attempt = |out: &mut Vec<Bar>, a: &mut Option<(u32, u64)>, t: u64, how: &str| {
        if let Some((n, from)) = a.take() {
            out.push(Bar {
                kind: Kind::Attempt,
                from,
                to: t,
                label: format!("attempt {n}: {how}"),
                failed: how != "done" && how != "running",
            });
        }
    };
    for m in marks {
        match &m.what {
            What::Started { attempt: n } => {
                if out.iter().all(|b: &Bar| b.kind != Kind::Attempt) && attempt.is_none() {
                    out.insert(0, wait_bar(start, m.t));
                }
                close_attempt(&mut out, &mut attempt, m.t, "ended");
                attempt = Some((*n, m.t));
            }
            What::Pending { reason } => {
                close_pending(&mut out, &mut pending, m.t);
                pending = reason.clone().map(|r| (m.t, r));
            }
            What::Retrying { reason, .. } => {
                close_pending(&mut out, &mut pending, m.t);
                close_attempt(&mut out, &mut attempt, m.t, &format!("failed ({reason})"));
            }
            What::Finished { state } => {
                close_pending(&mut out, &mut pending, m.t);
                close_attempt(&mut out, &mut attempt, m.t, state.as_str());
            }
        }
    }
    close_pending(&mut out, &mut pending, end);
    close_attempt(&mut out, &mut attempt, end, "running");
    out
}

/// The waiting bar from the run's start to a step's first attempt.
fn wait_bar(from: u64, to: u64) -> Bar {
    Bar {
        kind: Kind::Wait,
        from,
        to,
        label: "waiting for upstream steps or a free slot".into(),
        failed: false,
    }
}

/// A waiting and one running bar, from a run record alone.
fn record_bars(s: &crate::exec::StepRun, start: u64) -> Vec<Bar> {
    let Some(b) = s.started_unix_ms else {
        return Vec::new();
    };
    let e = b + (s.duration_seconds.unwrap_or(0.0) * 1000.0) as u64;
    vec![
        wait_bar(start, b),
        Bar {
            kind: Kind::Attempt,
            from: b,
            to: e,
            label: format!("{} attempt(s): {}", s.attempts, s.state.as_str()),
            failed: s.state == StepState::Failed,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(t: u64, what: What) -> Mark {
        Mark {
            t,
            step: "a".into(),
            what,
        }
    }

    #[test]
    fn retries_are_separate_bars_and_pending_times_have_their_reason() {
        let marks = [
            mark(100, What::Started { attempt: 1 }),
            mark(
                110,
                What::Pending {
                    reason: Some("pod is not scheduled".into()),
                },
            ),
            mark(150, What::Pending { reason: None }),
            mark(
                200,
                What::Retrying {
                    attempt: 2,
                    reason: "exit code 1".into(),
                },
            ),
            mark(210, What::Started { attempt: 2 }),
            mark(
                300,
                What::Finished {
                    state: StepState::Done,
                },
            ),
        ];
        let refs: Vec<&Mark> = marks.iter().collect();
        let bars = step_bars(&refs, 0, 400);
        let kinds: Vec<(Kind, u64, u64)> = bars.iter().map(|b| (b.kind, b.from, b.to)).collect();
        assert_eq!(
            kinds,
            [
                (Kind::Wait, 0, 100),
                (Kind::Pending, 110, 150),
                (Kind::Attempt, 100, 200),
                (Kind::Attempt, 210, 300),
            ]
        );
        assert_eq!(bars[1].label, "pending: pod is not scheduled");
        assert_eq!(bars[2].label, "attempt 1: failed (exit code 1)");
        assert!(bars[2].failed && !bars[3].failed);
    }

    #[test]
    fn an_attempt_still_going_ends_at_the_end() {
        let marks = [mark(100, What::Started { attempt: 1 })];
        let refs: Vec<&Mark> = marks.iter().collect();
        let bars = step_bars(&refs, 0, 400);
        assert_eq!(bars[1].to, 400);
        assert_eq!(bars[1].label, "attempt 1: running");
    }
}
