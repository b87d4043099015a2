//! `mlk plan`: what would run, as a table, as JSON for CI, or as a picture of the DAG
//! (Mermaid or Graphviz DOT, drawn by `crate::show`); on a local stack, also the machine's
//! GPUs and the steps that may wait for them (the table only), after the plan-time GPU check
//! ([`local_gpus`], which `mlk run` shares).

use clap::{Args, ValueEnum};

use super::compile::Compiled;
use super::compile::compile;
use super::{Exit, Global, Inputs, Reporter, write_stdout};
use crate::cache::status::{Lookup, Status};
use crate::domain::{Backend, StepKind};
use crate::local::gpu::{self, Machine};
use crate::resolve::{Plan, Step};

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
    /// The DAG as a Mermaid flowchart (GitHub and GitLab render it in Markdown).
    Mermaid,
    /// The DAG in Graphviz DOT (`| dot -Tsvg`).
    Dot,
}

/// The format version of the `mlk plan -o json` document.
const JSON_VERSION: u32 = 1;

/// Runs `mlk plan`.
pub(super) fn run(args: &PlanArgs, global: &Global, reporter: &Reporter) -> Exit {
    let opts = args.inputs.options();
    let c = match compile(&args.inputs, global, &opts, reporter) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let plan = &c.resolved.plan;
    let machine = if plan.stack.backend == Backend::Local {
        let steps = plan.steps.iter().filter(|s| s.kind != StepKind::Serve);
        match local_gpus(&c, steps, reporter) {
            Ok(m) => Some(m),
            Err(code) => return code,
        }
    } else {
        None
    };
    let status = super::cache::plan_status(plan, &c.loaded, global, reporter);
    let lookups = &status.lookups;
    match args.format {
        Format::Json => write_stdout(json(plan, lookups).as_bytes()),
        Format::Table => {
            let mut text = table(plan, lookups, status.note);
            if let Some(m) = &machine {
                text.push_str(&gpu_notes(plan, m));
            }
            write_stdout(text.as_bytes())
        }
        Format::Mermaid => write_stdout(crate::show::mermaid(&graph(plan, lookups)).as_bytes()),
        Format::Dot => write_stdout(crate::show::dot(&graph(plan, lookups)).as_bytes()),
    }
}

/// The picture's view of the plan, with each step's cache status.
fn graph(plan: &Plan, lookups: &[Lookup]) -> crate::show::Graph {
    crate::show::Graph::new(plan, lookups.iter().map(crate::show::Cache::of).collect())
}

/// The GPUs of this machine that a local stack's steps may use, after the plan-time check
/// of `steps` against them: a step that could never get its GPUs here is an error (exit 2),
/// and discovery problems are warnings.
pub(super) fn local_gpus<'a>(
    c: &Compiled,
    steps: impl IntoIterator<Item = &'a Step>,
    reporter: &Reporter,
) -> Result<Machine, Exit> {
    let cap = c.loaded.stack.gpu.devices.as_deref();
    let machine = Machine::discover(cap, &|name| std::env::var(name).ok());
    for note in &machine.notes {
        reporter.status(&format!("warning: {note}"));
    }
    let problems = gpu::check(&c.loaded, steps, &machine);
    if problems.is_empty() {
        Ok(machine)
    } else {
        Err(super::compile::fail(reporter, &problems))
    }
}

/// Under a local plan's table: the machine's GPUs and the steps that may wait for GPUs
/// other steps hold; nothing on a machine without GPUs whose steps ask for none.
fn gpu_notes(plan: &Plan, m: &Machine) -> String {
    let waits = gpu::waits(plan, m);
    if m.found == 0 && !plan.steps.iter().any(|s| s.gpu.per_pod() > 0.0) {
        return String::new();
    }
    let mut out = format!("GPUs mlk may use here: {}\n", m.summary());
    for line in m.lines() {
        out.push_str(&format!("  {line}\n"));
    }
    for w in waits {
        out.push_str(&w);
        out.push('\n');
    }
    out
}

/// A JSON value whose objects keep their keys in the order they were written.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum Ordered {
    Object(indexmap::IndexMap<String, Ordered>),
    Array(Vec<Ordered>),
    Scalar(serde_json::Value),
}

/// The JSON document: `version`, the plan's fields, and in each step's `cache` object its
/// `status` (`hit`, `miss`, `off`, `unknown`) and `changed` (why a miss missed), which are
/// not part of the plan. The plan is read back into an order-keeping tree so its fields keep
/// their declared order and the two lookup fields follow `ttl_seconds`.
fn json(plan: &Plan, lookups: &[Lookup]) -> String {
    let value = |v: serde_json::Value| Ordered::Scalar(v);
    let mut doc = indexmap::IndexMap::new();
    doc.insert("version".to_owned(), value(JSON_VERSION.into()));
    let fields = serde_json::to_string(plan)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok());
    if let Some(Ordered::Object(fields)) = fields {
        doc.extend(fields);
    }
    if let Some(Ordered::Array(steps)) = doc.get_mut("steps") {
        for (step, l) in steps.iter_mut().zip(lookups) {
            if let Ordered::Object(step) = step
                && let Some(Ordered::Object(cache)) = step.get_mut("cache")
            {
                let status = serde_json::to_value(l.status).unwrap_or_default();
                cache.insert("status".into(), value(status));
                cache.insert("changed".into(), value(l.changed.clone().into()));
            }
        }
    }
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

/// What the CACHE column shows: the short key and `hit` / `miss` / `?`, or `off`.
fn cache_cell(key: &str, l: &Lookup) -> String {
    match l.status {
        Status::Off => "off".into(),
        s => format!("{} {}", super::cache::short(key), s.word()),
    }
}

/// Lines under the table: why each miss missed, and why a status is unknown.
fn cache_notes(plan: &Plan, lookups: &[Lookup], note: Option<&str>) -> String {
    let mut out = String::new();
    for (s, l) in plan.steps.iter().zip(lookups) {
        if l.status == Status::Miss && !l.changed.is_empty() {
            out.push_str(&format!("{}: miss: {}\n", s.name, l.changed.join(", ")));
        }
    }
    if let Some(note) = note.filter(|_| lookups.iter().any(|l| l.status == Status::Unknown)) {
        out.push_str(note);
        out.push('\n');
    }
    out
}

/// The plan as an aligned text table.
pub(super) fn table(plan: &Plan, lookups: &[Lookup], note: Option<&str>) -> String {
    let header = [
        "STEP", "KIND", "PODS", "CPU", "MEMORY", "GPU", "QUEUE", "PRIORITY", "CACHE", "COST",
        "OBJECT", "AFTER",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
    for (s, l) in plan.steps.iter().zip(lookups) {
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
            cache_cell(&s.cache.key, l),
            cost_cell(plan, &s.name),
            s.object_name.clone(),
            if s.depends_on.is_empty() {
                dash()
            } else {
                s.depends_on.join(",")
            },
        ]);
    }
    let mut out = format!(
        "pipeline {} on stack {} (namespace {})\n",
        plan.pipeline, plan.stack.name, plan.stack.namespace
    );
    out.push_str(&super::table::aligned(&rows));
    out.push_str(&cache_notes(plan, lookups, note));
    out.push_str(&cost_note(plan));
    out
}

/// What the COST column shows: the step's estimate (`~12.30`), `?/h` rates for steps
/// without a duration, or `-` without prices.
fn cost_cell(plan: &Plan, step: &str) -> String {
    crate::show::cost_cell(plan, step).unwrap_or_else(|| "-".into())
}

/// The run's estimated cost under the table, when the stack has prices.
fn cost_note(plan: &Plan) -> String {
    let Some(c) = &plan.cost else {
        return String::new();
    };
    let mut out = format!(
        "estimated cost: ~{:.2} per run (expected_duration, else timeout, × the stack's prices)\n",
        c.total
    );
    if !c.unestimated.is_empty() {
        out.push_str(&format!(
            "  not counted (no expected_duration or timeout): {}\n",
            c.unestimated.join(", ")
        ));
    }
    out
}
