//! The HTML run report: one self-contained file (inline CSS and SVG; no script, font, image
//! or style from anywhere else), byte-stable for the same run record, readable in print.
//!
//! Sections: the DAG as SVG (drawn by [`super::svg`]), a timeline of every step, the
//! steps with their cache status and the run a hit came from, every output with its lineage,
//! the tail of each step's log and the stack. A step's state is always told in words and by
//! a glyph and border style, never by colour alone.

use std::fmt::Write as _;

use super::escape;
use super::lineage::{Lineage, RunFacts};
use super::timeline::Kind;
use crate::exec::{RunRecord, StepRun, StepState};

/// The stylesheet (`report.css`): screen, then print.
const CSS: &str = include_str!("report.css");

/// The report of a run.
pub(super) fn report(run: &RunFacts) -> String {
    let r = &run.record;
    let mut out = String::with_capacity(4096 + 1024 * r.steps.len());
    let title = format!("mlk run {} of {}", r.run_id, r.pipeline);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        escape(&title)
    );
    let _ = writeln!(
        out,
        "<header><h1>{}</h1><p>{}</p></header>",
        escape(&title),
        escape(&summary(r))
    );
    out.push_str(
        "<nav><a href=\"#dag\">DAG</a><a href=\"#timeline\">Timeline</a><a href=\"#steps\">Steps</a>\
         <a href=\"#outputs\">Outputs and lineage</a><a href=\"#logs\">Logs</a><a href=\"#stack\">Stack</a></nav>\n",
    );
    super::svg::dag(&mut out, run);
    timeline(&mut out, run);
    steps(&mut out, run);
    outputs(&mut out, &run.lineage);
    logs(&mut out, run);
    stack(&mut out, run);
    let _ = writeln!(
        out,
        "<footer class=\"muted\"><p>Written by mlk {} from .mlk/runs/{}/.</p></footer>\n</body>\n</html>",
        env!("CARGO_PKG_VERSION"),
        escape(&r.run_id)
    );
    out
}

/// `pipeline P on stack S (backend): state, in 12.3s, started …`.
fn summary(r: &RunRecord) -> String {
    let state = serde_json::to_value(r.state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let started = stamp(r.started_unix_ms);
    let took = r
        .ended_unix_ms
        .map(|e| format!(" in {}", seconds(ms_between(r.started_unix_ms, e))))
        .unwrap_or_default();
    format!(
        "Pipeline {} on stack {} ({}): {state}{took}; started {started}.",
        r.pipeline,
        r.stack,
        r.backend.as_deref().unwrap_or("local")
    )
}

/// A time as `2026-11-21 08:45:00 UTC`.
fn stamp(ms: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    humantime::format_rfc3339_seconds(t)
        .to_string()
        .replace('T', " ")
        .replace('Z', " UTC")
}

fn ms_between(a: u64, b: u64) -> f64 {
    b.saturating_sub(a) as f64 / 1000.0
}

/// `0.4s`, `12.3s`, `4m05s`.
fn seconds(s: f64) -> String {
    if s < 60.0 {
        format!("{s:.1}s")
    } else {
        let whole = s.round() as u64;
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

/// The glyph that tells a state without colour.
pub(super) fn glyph(state: StepState) -> &'static str {
    match state {
        StepState::Done => "✓",
        StepState::Cached => "↺",
        StepState::Failed => "✗",
        StepState::Running => "▶",
        StepState::Waiting => "…",
        StepState::Skipped => "–",
        StepState::NotRun => "○",
    }
}

/// One row per step: its bars (waiting, each attempt, pending times) on one time axis.
fn timeline(out: &mut String, run: &RunFacts) {
    let r = &run.record;
    let start = r.started_unix_ms;
    let end = run
        .bars
        .iter()
        .flatten()
        .map(|b| b.to)
        .chain(r.ended_unix_ms)
        .max()
        .unwrap_or(start)
        .max(start + 1);
    let span = (end - start) as f64;
    let pct = |ms: u64| ms.saturating_sub(start) as f64 * 100.0 / span;
    let _ = writeln!(
        out,
        "<section id=\"timeline\"><h2>Timeline</h2>\n<p class=\"muted\">From the run's start ({}) to its end ({}): \
         hatched, waiting for upstream steps or a free slot; solid, an attempt (each retry is a bar of its own; \
         red with a thick edge, failed); striped on top, pending (hover for why).</p>\n<div class=\"tl\">",
        stamp(start),
        seconds(span / 1000.0)
    );
    for (s, bars) in r.steps.iter().zip(&run.bars) {
        let _ = write!(
            out,
            "<div>{} {}</div><div class=\"track\">",
            glyph(s.state),
            escape(&s.name)
        );
        for b in bars {
            let class = match b.kind {
                Kind::Wait => "wait",
                Kind::Attempt if b.failed => "run failed",
                Kind::Attempt => "run",
                Kind::Pending => "pending",
            };
            let (from, to) = (pct(b.from), pct(b.to));
            let _ = write!(
                out,
                "<span class=\"bar {class}\" style=\"left:{from:.2}%;width:{:.2}%\" title=\"{}\"></span>",
                to - from,
                escape(&b.label)
            );
        }
        let _ = writeln!(out, "</div><div>{}</div>", escape(&row_words(s)));
    }
    out.push_str("</div></section>\n");
}

/// What a timeline row says after its bars: state, duration, attempts.
fn row_words(s: &StepRun) -> String {
    let mut said = s.state.as_str().to_owned();
    if let Some(d) = s.duration_seconds {
        said = format!("{said}, {}", seconds(d));
    }
    if s.attempts > 1 {
        said = format!("{said}, {} attempts", s.attempts);
    }
    said
}

/// The steps table.
fn steps(out: &mut String, run: &RunFacts) {
    out.push_str(
        "<section id=\"steps\"><h2>Steps</h2>\n<table><thead><tr><th>step</th><th>state</th><th>cache before the run</th>\
         <th>outputs from run</th><th>attempts</th><th>exit</th><th>duration</th><th>cost</th><th>note</th></tr></thead><tbody>\n",
    );
    for (i, s) in run.record.steps.iter().enumerate() {
        let node = run.graph.steps.get(i);
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&s.name),
            glyph(s.state),
            s.state.as_str(),
            escape(&node.map(|n| n.cache.line()).unwrap_or_default()),
            escape(
                run.produced_by
                    .get(i)
                    .cloned()
                    .flatten()
                    .as_deref()
                    .unwrap_or("-")
            ),
            s.attempts,
            s.exit_code.map_or_else(|| "-".into(), |c| c.to_string()),
            s.duration_seconds.map_or_else(|| "-".into(), seconds),
            escape(node.and_then(|n| n.cost.as_deref()).unwrap_or("-")),
            escape(s.note.as_deref().unwrap_or("")),
        );
    }
    out.push_str("</tbody></table></section>\n");
}

/// Every output with its lineage.
fn outputs(out: &mut String, lineage: &[Lineage]) {
    out.push_str(
        "<section id=\"outputs\"><h2>Outputs and lineage</h2>\n<table><thead><tr><th>output</th><th>address</th>\
         <th>size</th><th>run</th><th>cache key</th><th>local inputs</th><th>upstream outputs</th></tr></thead><tbody>\n",
    );
    for l in lineage {
        let inputs: Vec<String> = l
            .local_inputs
            .iter()
            .map(|(n, d)| format!("{} <code>{}</code>", escape(n), escape(short(d))))
            .collect();
        let ups: Vec<String> = l
            .upstream
            .iter()
            .map(|u| {
                format!(
                    "{}.{} (run {})",
                    escape(&u.step),
                    escape(&u.output),
                    escape(u.run.as_deref().unwrap_or("unknown"))
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "<tr id=\"out-{id}\"><td>{step}.{name}</td><td><code>{uri}</code></td><td>{size}</td><td>{run}</td>\
             <td><code>{key}</code></td><td>{inputs}</td><td>{ups}</td></tr>",
            id = escape(&format!("{}.{}", l.step, l.output)),
            step = escape(&l.step),
            name = escape(&l.output),
            uri = escape(&l.uri),
            size = l.size_bytes.map_or_else(|| "-".into(), bytes),
            run = escape(l.run.as_deref().unwrap_or("-")),
            key = escape(short(&l.cache_key)),
            inputs = if inputs.is_empty() {
                "-".into()
            } else {
                inputs.join("<br>")
            },
            ups = if ups.is_empty() {
                "-".into()
            } else {
                ups.join("<br>")
            },
        );
    }
    out.push_str("</tbody></table></section>\n");
}

/// The first 12 hex digits of a key or digest (after an `sha256:` prefix).
fn short(hex: &str) -> &str {
    let hex = hex.rsplit(':').next().unwrap_or(hex);
    hex.get(..12).unwrap_or(hex)
}

/// `812 B`, `4.2 KiB`, `1.5 MiB`.
fn bytes(n: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// The last lines of each step's log.
fn logs(out: &mut String, run: &RunFacts) {
    out.push_str("<section id=\"logs\"><h2>Logs</h2>\n<p class=\"muted\">The last lines of each step's log, as stored (secret values masked).</p>\n");
    let mut any = false;
    for ((s, tail), by) in run
        .record
        .steps
        .iter()
        .zip(&run.tails)
        .zip(&run.produced_by)
    {
        if tail.is_empty() {
            continue;
        }
        any = true;
        let whose = match (s.state, by) {
            (StepState::Cached, Some(by)) => format!("; its log in run {by}"),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "<h3>{} {} ({}{})</h3>\n<pre>{}</pre>",
            glyph(s.state),
            escape(&s.name),
            s.state.as_str(),
            escape(&whose),
            escape(&tail.join("\n"))
        );
    }
    if !any {
        out.push_str("<p>No step has a log.</p>\n");
    }
    out.push_str("</section>\n");
}

/// The stack the run ran on.
fn stack(out: &mut String, run: &RunFacts) {
    let st = &run.graph.stack;
    let mut rows = vec![
        ("name", st.name.clone()),
        ("backend", st.backend.clone()),
        ("namespace", st.namespace.clone()),
        ("scheduler", st.scheduler.clone()),
        ("artifacts", st.artifacts_uri.clone()),
    ];
    if let Some(c) = &st.context {
        rows.push(("context", c.clone()));
    }
    if let Some(c) = &run.graph.cost {
        rows.push(("estimated cost per run", c.clone()));
    }
    out.push_str("<section id=\"stack\"><h2>Stack</h2>\n<table><tbody>\n");
    for (k, v) in rows {
        let _ = writeln!(out, "<tr><th>{k}</th><td>{}</td></tr>", escape(&v));
    }
    out.push_str("</tbody></table></section>\n");
}
