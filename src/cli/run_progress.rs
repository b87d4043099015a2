//! What `mlk run` shows while it runs: step log lines on stdout, prefixed with the step's
//! name (coloured per step when colour is on), and the steps' states on stderr, as an
//! indicatif multi-progress view on a terminal or one plain line per event otherwise.
//!
//! Lines arrive from many threads. Each is written whole, under one lock, with one write
//! call, so two steps' output never interleaves within a line.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Reporter;
use crate::exec::{Event, Events, RunRecord, StepRun, StepState};
use crate::resolve::Plan;

/// ANSI colours given to steps in plan order.
const PALETTE: &[&str] = &["36", "33", "35", "32", "34", "96", "93", "95", "92", "94"];

/// The terminal side of a run.
pub(super) struct Progress {
    color: bool,
    quiet: bool,
    /// Step log lines go to stdout (not in a detached run's background process: they are in
    /// the log files already, and its stdout is not a terminal).
    echo: bool,
    colors: BTreeMap<String, &'static str>,
    out: Mutex<()>,
    bars: Option<Bars>,
}

struct Bars {
    multi: MultiProgress,
    by_step: BTreeMap<String, ProgressBar>,
    width: usize,
}

impl Progress {
    /// Progress for `plan`, with the reporter's colour and quiet settings; `echo`: step log
    /// lines are shown too.
    pub(super) fn new(reporter: &Reporter, plan: &Plan, echo: bool) -> Self {
        let colors = plan
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), PALETTE[i % PALETTE.len()]))
            .collect();
        let bars = (!reporter.is_quiet() && std::io::stderr().is_terminal()).then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let width = plan.steps.iter().map(|s| s.name.len()).max().unwrap_or(0);
            let by_step = plan
                .steps
                .iter()
                .map(|s| {
                    let bar = multi.add(ProgressBar::new_spinner());
                    bar.set_prefix(s.name.clone());
                    (s.name.clone(), bar)
                })
                .collect();
            Bars {
                multi,
                by_step,
                width,
            }
        });
        Progress {
            color: reporter.is_color(),
            quiet: reporter.is_quiet(),
            echo,
            colors,
            out: Mutex::new(()),
            bars,
        }
    }

    /// Leaves the final state of every step on the screen.
    pub(super) fn finish(&self, record: &RunRecord) {
        if self.bars.is_none() {
            return;
        }
        for s in &record.steps {
            if s.state == StepState::NotRun {
                self.bar(&s.name, s.state, "not run".into());
            }
        }
        if let Some(b) = &self.bars {
            for bar in b.by_step.values() {
                if !bar.is_finished() {
                    bar.finish();
                }
            }
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// Writes one whole line to stdout (`to_stdout`) or stderr.
    fn line(&self, to_stdout: bool, text: String) {
        let _guard = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        let mut bytes = text.into_bytes();
        bytes.push(b'\n');
        let write = || {
            // A closed stdout (`mlk run … | head`) must not stop the run.
            let _ = if to_stdout {
                std::io::stdout().lock().write_all(&bytes)
            } else {
                std::io::stderr().lock().write_all(&bytes)
            };
        };
        match &self.bars {
            Some(b) => b.multi.suspend(write),
            None => write(),
        }
    }

    fn status(&self, text: String) {
        if !self.quiet {
            self.line(false, text);
        }
    }

    fn bar(&self, step: &str, state: StepState, msg: String) {
        let Some(b) = &self.bars else { return };
        let Some(bar) = b.by_step.get(step) else {
            return;
        };
        let w = b.width;
        let (symbol, code) = match state {
            StepState::Running => ("{spinner}", "36"),
            StepState::Done => ("✓", "32"),
            StepState::Failed => ("✗", "31"),
            StepState::Cached => ("●", "2"),
            StepState::Skipped | StepState::NotRun => ("-", "2"),
            StepState::Waiting => ("·", "2"),
        };
        let symbol = if symbol.starts_with('{') {
            symbol.to_owned()
        } else {
            self.paint(code, symbol)
        };
        let elapsed = if state == StepState::Running {
            " {elapsed}"
        } else {
            ""
        };
        let template = format!("{symbol} {{prefix:<{w}}}  {{msg}}{elapsed}");
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style);
        }
        bar.set_message(msg);
        match state {
            StepState::Running => {
                bar.reset_elapsed();
                bar.enable_steady_tick(Duration::from_millis(120));
            }
            StepState::Waiting => bar.tick(),
            _ => bar.finish(),
        }
    }

    fn finished(&self, s: &StepRun) {
        let took = s
            .duration_seconds
            .map(|d| format!(" in {}", seconds(d)))
            .unwrap_or_default();
        let attempts = if s.attempts > 1 {
            format!(" after {} attempts", s.attempts)
        } else {
            String::new()
        };
        let text = match s.state {
            StepState::Done => format!("done{took}{attempts}"),
            _ => format!(
                "failed{took}{attempts}: {}",
                s.note.as_deref().unwrap_or("failed")
            ),
        };
        if self.bars.is_some() {
            self.bar(&s.name, s.state, text);
        } else {
            let code = if s.state == StepState::Done {
                "32"
            } else {
                "31"
            };
            self.status(format!("{}: {}", s.name, self.paint(code, &text)));
        }
    }
}

/// `0.31s`, `12.4s`, `3m05s`.
pub(super) fn seconds(d: f64) -> String {
    if d < 10.0 {
        format!("{d:.2}s")
    } else if d < 60.0 {
        format!("{d:.1}s")
    } else {
        let s = d.round() as u64;
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

impl Events for Progress {
    fn event(&self, event: &Event<'_>) {
        match event {
            Event::Log { .. } if !self.echo => {}
            Event::Submitted => {}
            Event::Log { line, .. } => {
                let prefix = line.prefix();
                let prefix = match self.colors.get(line.step) {
                    Some(code) => self.paint(code, &prefix),
                    None => prefix,
                };
                self.line(true, format!("{prefix} {}", line.text));
            }
            Event::Begin { run_id, steps } => {
                let to_run = steps
                    .iter()
                    .filter(|s| s.state == StepState::Waiting)
                    .count();
                self.status(format!(
                    "run {run_id}: {to_run} of {} step{} to run",
                    steps.len(),
                    if steps.len() == 1 { "" } else { "s" }
                ));
                for s in *steps {
                    let text = match (&s.note, s.state) {
                        (Some(n), _) => format!("{} ({n})", s.state.as_str()),
                        (None, st) => st.as_str().to_owned(),
                    };
                    if self.bars.is_some() {
                        self.bar(&s.name, s.state, text);
                    } else if s.state != StepState::Waiting {
                        self.status(format!("{}: {}", s.name, self.paint("2", &text)));
                    }
                }
            }
            Event::Started {
                step,
                attempt,
                attempts,
            } => {
                let text = if *attempt > 1 {
                    format!("running (attempt {attempt} of {attempts})")
                } else {
                    "running".to_owned()
                };
                if self.bars.is_some() {
                    self.bar(step, StepState::Running, text);
                } else if *attempt == 1 {
                    self.status(format!("{step}: {text}"));
                }
            }
            Event::Pending { step, reason } => {
                let text = match reason {
                    Some(r) => format!("pending: {r}"),
                    None => "running".to_owned(),
                };
                if self.bars.is_some() {
                    self.bar(step, StepState::Running, text);
                } else {
                    self.status(format!("{step}: {text}"));
                }
            }
            Event::Retrying {
                step,
                attempt,
                attempts,
                reason,
            } => self.status(format!(
                "{step}: {}, retrying (attempt {attempt} of {attempts})",
                self.paint("33", &format!("failed with {reason}"))
            )),
            Event::Finished { step } => self.finished(step),
            Event::Stopping { failed: Some(step) } => {
                self.status(format!("step `{step}` failed: no new steps will start"));
            }
            Event::Stopping { failed: None } => self.status(
                "interrupted: waiting for running steps to finish (Ctrl-C again to terminate them)"
                    .into(),
            ),
            Event::Terminating => self.status("terminating running steps".into()),
            Event::Warning { message } => self.line(false, format!("warning: {message}")),
        }
    }
}
