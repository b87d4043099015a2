//! `mlk status [RUN]`: local runs, read from `.mlk/runs/`, with the outputs of their finished
//! steps from the local cache records (`.mlk/cache/`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::run_progress::seconds;
use super::{Exit, Reporter, write_stdout};
use crate::cache::store::{LocalStore, Store};
use crate::exec::liveness::Liveness;
use crate::exec::{RunRecord, RunState, StepState, record};

/// `mlk status` arguments.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Run id (default: the latest run); `latest` works too.
    #[arg(value_name = "RUN")]
    pub run: Option<String>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Read the run's objects from the cluster (by the `mlk.dev/run` label) instead of the
    /// local record.
    #[arg(long)]
    pub cluster: bool,
}

/// `mlk status -o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// An aligned table.
    Table,
    /// The run record (`run.json`).
    Json,
}

pub(super) fn runs_dir() -> PathBuf {
    PathBuf::from(".mlk").join("runs")
}

/// Finds and reads a run: `None` or `latest` is the newest.
pub(super) fn find(reporter: &Reporter, run: Option<&str>) -> Result<RunRecord, Exit> {
    let runs = runs_dir();
    let ids = record::list(&runs).map_err(|e| {
        reporter.status(&format!("error: cannot read {}: {e}", runs.display()));
        Exit::Io
    })?;
    let id = match run.filter(|r| *r != "latest") {
        Some(r) => r.to_owned(),
        None => match ids.last() {
            Some(id) => id.clone(),
            None => {
                reporter.status("error: no runs yet in .mlk/runs (runs are kept in the directory `mlk run` ran in)");
                return Err(Exit::Invalid);
            }
        },
    };
    if !ids.contains(&id) {
        let recent: Vec<&str> = ids.iter().rev().take(5).map(String::as_str).collect();
        reporter.status(&format!(
            "error: no run `{id}` in .mlk/runs{}",
            if recent.is_empty() {
                String::new()
            } else {
                format!(" (latest: {})", recent.join(", "))
            }
        ));
        return Err(Exit::Invalid);
    }
    record::load(&runs, &id).map_err(|e| {
        reporter.status(&format!("error: cannot read run {id}: {e}"));
        Exit::Io
    })
}

/// Runs `mlk status`.
pub(super) fn status(args: &StatusArgs, reporter: &Reporter) -> Exit {
    let r = match find(reporter, args.run.as_deref()) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let outputs = step_outputs(&r);
    match args.format {
        Format::Json => {
            let mut doc = serde_json::to_value(&r).unwrap_or_default();
            if let Some(steps) = doc.get_mut("steps").and_then(|s| s.as_array_mut()) {
                for (step, outs) in steps.iter_mut().zip(&outputs) {
                    if let Some(step) = step.as_object_mut() {
                        step.insert("outputs".into(), serde_json::json!(outs));
                    }
                }
            }
            let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
            text.push('\n');
            write_stdout(text.as_bytes())
        }
        Format::Table => {
            let mut text = table(&r);
            text.push_str(&outputs_list(&r, &outputs));
            write_stdout(text.as_bytes())
        }
    }
}

/// Each step's outputs (name → URI), in the order of `r.steps`: those of the local cache
/// record of its key for a `done` or `cached` step, else none. A step whose record is gone
/// (or kept in a cluster's store) has none.
fn step_outputs(r: &RunRecord) -> Vec<BTreeMap<String, String>> {
    let store = LocalStore::new(crate::cache::local_store_path());
    r.steps
        .iter()
        .map(|s| match s.state {
            StepState::Done | StepState::Cached => store
                .get(&r.pipeline, &s.name, &s.key)
                .ok()
                .flatten()
                .map(|rec| rec.outputs)
                .unwrap_or_default(),
            _ => BTreeMap::new(),
        })
        .collect()
}

/// The `outputs:` lines under the table: `  STEP.NAME  URI` for every known output.
fn outputs_list(r: &RunRecord, outputs: &[BTreeMap<String, String>]) -> String {
    let rows: Vec<[String; 2]> = r
        .steps
        .iter()
        .zip(outputs)
        .flat_map(|(s, outs)| {
            outs.iter()
                .map(|(name, uri)| [format!("  {}.{name}", s.name), uri.clone()])
        })
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    format!("outputs:\n{}", super::table::aligned(&rows))
}

/// A run as an aligned table.
pub(super) fn table(r: &RunRecord) -> String {
    let took = r
        .ended_unix_ms
        .map(|e| {
            format!(
                " in {}",
                seconds(e.saturating_sub(r.started_unix_ms) as f64 / 1000.0)
            )
        })
        .unwrap_or_default();
    let state = serde_json::to_value(r.state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let state = match (r.pid, r.liveness()) {
        (Some(pid), _) if r.abandoned() => format!(
            "abandoned (its mlk process {pid} ended without finishing it; run the pipeline again to finish: cached steps are skipped)"
        ),
        (Some(pid), Liveness::Unverifiable) if r.state == RunState::Running => format!(
            "running (abandoned? process {pid} may not be its mlk any more: its record, from an older mlk, has no process start time)"
        ),
        _ => state,
    };
    let mut out = format!(
        "run {} of pipeline {} on stack {}: {state}{took}\n",
        r.run_id, r.pipeline, r.stack
    );
    let mut rows =
        vec![["STEP", "STATE", "DURATION", "ATTEMPTS", "EXIT", "NOTE"].map(String::from)];
    for s in &r.steps {
        rows.push([
            s.name.clone(),
            s.state.as_str().to_owned(),
            s.duration_seconds.map_or_else(|| "-".into(), seconds),
            s.attempts.to_string(),
            s.exit_code.map_or_else(|| "-".into(), |c| c.to_string()),
            s.note.clone().unwrap_or_default(),
        ]);
    }
    out.push_str(&super::table::aligned(&rows));
    out
}
