//! `mlk status [RUN]` and `mlk logs RUN [STEP]`: local runs, read from `.mlk/runs/`; `mlk logs`
//! of a run that is not there (or with `--cluster`) reads its pods' logs from the cluster.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::run_progress::seconds;
use super::{Exit, Global, Reporter, write_stdout};
use crate::exec::{RunRecord, record};

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

/// `mlk logs` arguments.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Run id, or `latest`.
    #[arg(value_name = "RUN")]
    pub run: String,
    /// Only this step's log (unprefixed for a local run).
    #[arg(value_name = "STEP")]
    pub step: Option<String>,
    /// For a cluster run: follow the logs until every workload of the run has finished.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Read the logs from the cluster (pods labelled `mlk.dev/run=RUN`) even when the run is
    /// in the local `.mlk/runs`; the default for runs that are not.
    #[arg(long)]
    pub cluster: bool,
}

fn runs_dir() -> PathBuf {
    PathBuf::from(".mlk").join("runs")
}

/// Finds and reads a run: `None` or `latest` is the newest.
fn find(reporter: &Reporter, run: Option<&str>) -> Result<RunRecord, Exit> {
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
pub fn status(args: &StatusArgs, reporter: &Reporter) -> Exit {
    let r = match find(reporter, args.run.as_deref()) {
        Ok(r) => r,
        Err(code) => return code,
    };
    match args.format {
        Format::Json => {
            let mut text = serde_json::to_string_pretty(&r).unwrap_or_default();
            text.push('\n');
            write_stdout(text.as_bytes())
        }
        Format::Table => write_stdout(table(&r).as_bytes()),
    }
}

/// A run as an aligned table.
pub fn table(r: &RunRecord) -> String {
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

/// Runs `mlk logs`: from the local record, else (or with `--cluster`) from the cluster.
pub fn logs(args: &LogsArgs, global: &Global, reporter: &Reporter) -> Exit {
    let local =
        args.run == "latest" || record::list(&runs_dir()).is_ok_and(|ids| ids.contains(&args.run));
    if args.cluster || !local {
        return cluster_logs(args, global, reporter);
    }
    if args.follow {
        reporter.status(
            "note: -f follows cluster runs only (pass --cluster); printing the stored logs",
        );
    }
    let r = match find(reporter, Some(&args.run)) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let dir = runs_dir().join(&r.run_id);
    let steps: Vec<&str> = match &args.step {
        Some(s) if r.steps.iter().any(|x| &x.name == s) => vec![s.as_str()],
        Some(s) => {
            let names: Vec<&str> = r.steps.iter().map(|x| x.name.as_str()).collect();
            reporter.status(&format!(
                "error: run {} has no step `{s}` (steps: {})",
                r.run_id,
                names.join(", ")
            ));
            return Exit::Invalid;
        }
        None => r.steps.iter().map(|s| s.name.as_str()).collect(),
    };
    let mut out = String::new();
    for step in &steps {
        let text = match std::fs::read_to_string(record::log_path(&dir, step)) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                reporter.status(&format!("error: cannot read the log of `{step}`: {e}"));
                return Exit::Io;
            }
        };
        if args.step.is_some() {
            out.push_str(&text);
        } else {
            for line in text.lines() {
                out.push_str(&format!("[{step}] {line}\n"));
            }
        }
    }
    write_stdout(out.as_bytes())
}

/// `mlk logs` for a run in the cluster, found by its `mlk.dev/run` label.
fn cluster_logs(args: &LogsArgs, global: &Global, reporter: &Reporter) -> Exit {
    let target = crate::cluster::Target {
        kubeconfig: global.kubeconfig.clone(),
        context: global.context.clone(),
        namespace: global.namespace.clone(),
    };
    let cluster = match crate::cluster::Cluster::connect(&target) {
        Ok(c) => c,
        // No usable kubeconfig and no `--cluster`: most likely a mistyped local run id.
        Err(e) if !args.cluster => {
            let code = find(reporter, Some(&args.run))
                .err()
                .unwrap_or(Exit::Invalid);
            reporter.status(&format!("note: the cluster was not searched: {e}"));
            return code;
        }
        Err(e) => {
            reporter.diagnostic(&e);
            return Exit::Io;
        }
    };
    let out: std::sync::Arc<crate::cluster::RunLine> =
        std::sync::Arc::new(|step: &str, source: Option<&str>, line: &str| {
            let text = match source {
                Some(s) => format!("[{step}/{s}] {line}\n"),
                None => format!("[{step}] {line}\n"),
            };
            // One write under stdout's lock: lines of two pods never interleave. A closed
            // pipe (`mlk logs … | head`) is not an error.
            let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
        });
    // `latest` is the newest local run; its pods are looked for by its id.
    let run = &match args.run.as_str() {
        "latest" => match find(reporter, None) {
            Ok(r) => r.run_id,
            Err(code) => return code,
        },
        id => id.to_owned(),
    };
    match crate::cluster::run_logs(&cluster, run, args.step.as_deref(), args.follow, out) {
        Ok(true) => Exit::Ok,
        Ok(false) => {
            let what = match &args.step {
                Some(s) => format!("mlk.dev/run={run},mlk.dev/step={s}"),
                None => format!("mlk.dev/run={run}"),
            };
            reporter.status(&format!(
                "error: no run `{run}` in .mlk/runs, and no objects or pods labelled {what} in namespace `{}` (pass -n NAMESPACE for another)",
                cluster.namespace
            ));
            Exit::Invalid
        }
        Err(e) => {
            reporter.diagnostic(&e);
            Exit::Io
        }
    }
}
