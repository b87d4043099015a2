//! `mlk plan`: what would run, as a table or as JSON for CI.

use clap::{Args, ValueEnum};
use serde::Serialize;

use super::compile::compile;
use super::{Exit, Global, Inputs, Reporter, write_stdout};
use crate::resolve::{Options, Plan};

/// `mlk plan` arguments.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Pipeline, stack and parameters.
    #[command(flatten)]
    pub inputs: Inputs,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `mlk plan -o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// An aligned table.
    Table,
    /// The whole plan as JSON (stable field names; see the README).
    Json,
}

/// The JSON document of `mlk plan -o json`.
#[derive(Serialize)]
struct PlanJson<'a> {
    /// Format version of this document.
    version: u32,
    #[serde(flatten)]
    plan: &'a Plan,
}

/// Runs `mlk plan`.
pub fn run(args: &PlanArgs, global: &Global, reporter: &Reporter) -> Exit {
    let opts = Options {
        params: args.inputs.params.clone(),
        ..Options::default()
    };
    let c = match compile(&args.inputs, global, &opts, reporter) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let plan = &c.resolved.plan;
    match args.format {
        Format::Json => {
            let mut text =
                serde_json::to_string_pretty(&PlanJson { version: 1, plan }).unwrap_or_default();
            text.push('\n');
            write_stdout(text.as_bytes())
        }
        Format::Table => write_stdout(table(plan).as_bytes()),
    }
}

/// The plan as an aligned text table.
pub fn table(plan: &Plan) -> String {
    let header = [
        "STEP", "KIND", "PODS", "CPU", "MEMORY", "GPU", "QUEUE", "PRIORITY", "CACHE", "OBJECT",
        "AFTER",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
    for s in &plan.steps {
        let dash = || "-".to_owned();
        rows.push(vec![
            s.name.clone(),
            format!("{:?}", s.kind).to_lowercase(),
            match &s.serve {
                Some(sv) => format!("{}-{}", sv.min_replicas, sv.max_replicas),
                None => s.replicas.to_string(),
            },
            s.resources
                .requests
                .get("cpu")
                .cloned()
                .unwrap_or_else(dash),
            s.resources
                .requests
                .get("memory")
                .cloned()
                .unwrap_or_else(dash),
            s.gpu.display(),
            s.queue.clone().unwrap_or_else(dash),
            s.priority
                .as_ref()
                .map(|p| p.name.clone())
                .unwrap_or_else(dash),
            if s.cache.enabled {
                s.cache.key[..12].to_owned()
            } else {
                "off".into()
            },
            s.object_name.clone(),
            if s.depends_on.is_empty() {
                dash()
            } else {
                s.depends_on.join(",")
            },
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = format!(
        "pipeline {} on stack {} (namespace {})\n",
        plan.pipeline, plan.stack.name, plan.stack.namespace
    );
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}
