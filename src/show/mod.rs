//! Pictures and reports of a pipeline and its runs, as files (no server): the DAG in
//! Mermaid and Graphviz DOT (`mlk plan -o mermaid|dot`), the self-contained HTML run report
//! (`mlk report`, and `report.html` at the end of every `mlk run`), and the lineage of each
//! output (`mlk lineage`).
//!
//! Everything here is drawn from a [`Graph`]: the facts about a plan that pictures need
//! (steps, kinds, GPUs, dependencies, cache status, cost, outputs, the key's components).
//! `mlk run` saves it as `graph.json` in the run's directory when the run starts, and records
//! the run's timeline (`timeline.jsonl`, see [`Recorder`]) as it goes, so a report of any run
//! (finished, going on, or killed) needs no pipeline file, no cluster and no server: the
//! graph, the run record, the timeline, the step logs and the cache records are enough.
//! This module prints nothing and writes only `graph.json`, `timeline.jsonl` and
//! `report.html`.

mod dot;
mod html;
mod layout;
pub(crate) mod lineage;
mod mermaid;
mod svg;
mod timeline;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::cache::key::UpstreamOutput;
use crate::cache::status::{Lookup, Status};
use crate::resolve::{Input, Plan};

pub(crate) use dot::dot;
pub(crate) use mermaid::mermaid;
pub(crate) use timeline::Recorder;

/// The graph of a run, in its directory.
pub(crate) const GRAPH_FILE: &str = "graph.json";
/// The report of a run, in its directory.
pub(crate) const REPORT_FILE: &str = "report.html";
/// Bump when the layout of `graph.json` changes incompatibly.
const GRAPH_FORMAT: u32 = 1;

/// What pictures and reports know about a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Graph {
    /// [`GRAPH_FORMAT`].
    pub format: u32,
    /// Pipeline name.
    pub pipeline: String,
    /// The stack it runs on.
    pub stack: StackCard,
    /// Steps in plan order.
    pub steps: Vec<Node>,
    /// The estimated cost of a run, when the stack has prices.
    pub cost: Option<String>,
}

/// The stack a run ran on, as the report shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StackCard {
    /// Name.
    pub name: String,
    /// `local` or `kubernetes`.
    pub backend: String,
    /// Namespace.
    pub namespace: String,
    /// kubeconfig context.
    pub context: Option<String>,
    /// Scheduler.
    pub scheduler: String,
    /// Base URI of outputs.
    pub artifacts_uri: String,
}

/// One step of a [`Graph`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Node {
    /// Step name.
    pub name: String,
    /// Workload kind (`job`, `pytorch`, `serve`).
    pub kind: String,
    /// GPUs per pod, in the plan table's short form (`-` for none).
    pub gpu: String,
    /// Steps it depends on.
    pub depends_on: Vec<String>,
    /// Cache status before the run.
    pub cache: Cache,
    /// Estimated cost (`~12.30`, `4.10/h`), when the stack has prices.
    pub cost: Option<String>,
    /// Full cache key.
    pub key: String,
    /// Output name → URI.
    pub outputs: BTreeMap<String, String>,
    /// Local input name → content digest.
    pub local_inputs: BTreeMap<String, String>,
    /// `steps.X.outputs.Y` → the upstream output it reads.
    pub upstream: BTreeMap<String, UpstreamOutput>,
}

/// A step's cache status as pictures tell it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Cache {
    /// `hit`, `miss`, `off` or `unknown`.
    pub status: String,
    /// Why a miss missed.
    pub why: Vec<String>,
}

impl Cache {
    /// The cell of a looked-up step.
    pub(crate) fn of(l: &Lookup) -> Self {
        let status = match l.status {
            Status::Hit => "hit",
            Status::Miss => "miss",
            Status::Off => "off",
            Status::Unknown => "unknown",
        };
        Cache {
            status: status.into(),
            why: l.changed.clone(),
        }
    }

    /// One line: `hit`, `miss (input raw changed)`, `off`.
    pub(crate) fn line(&self) -> String {
        if self.why.is_empty() {
            self.status.clone()
        } else {
            format!("{} ({})", self.status, self.why.join(", "))
        }
    }
}

/// What the plan table's COST column shows for `step`: the step's estimate (`~12.30`), a
/// `?/h` rate for a step without a duration, or none without prices.
pub(crate) fn cost_cell(plan: &Plan, step: &str) -> Option<String> {
    let c = plan.cost.as_ref()?.steps.get(step)?;
    Some(match c.total {
        Some(t) => format!("~{t:.2}"),
        None => format!("{:.2}/h", c.hourly),
    })
}

impl Graph {
    /// The graph of `plan`, with one cache cell per step (in plan order).
    pub(crate) fn new(plan: &Plan, cache: Vec<Cache>) -> Self {
        let steps = plan
            .steps
            .iter()
            .zip(cache)
            .map(|(s, cache)| Node {
                name: s.name.clone(),
                kind: format!("{:?}", s.kind).to_lowercase(),
                gpu: s.gpu.display(),
                depends_on: s.depends_on.clone(),
                cache,
                cost: cost_cell(plan, &s.name),
                key: s.cache.key.clone(),
                outputs: s.outputs.clone(),
                local_inputs: s
                    .inputs
                    .iter()
                    .filter_map(|(name, i)| match i {
                        Input::Path { digest, .. } => Some((name.clone(), digest.clone())),
                        Input::Uri { .. } => None,
                    })
                    .collect(),
                upstream: s.cache.components.upstream.clone(),
            })
            .collect();
        let st = &plan.stack;
        Graph {
            format: GRAPH_FORMAT,
            pipeline: plan.pipeline.clone(),
            stack: StackCard {
                name: st.name.clone(),
                backend: st.backend.as_str().to_owned(),
                namespace: st.namespace.clone(),
                context: st.context.clone(),
                scheduler: format!("{:?}", st.scheduler).to_lowercase(),
                artifacts_uri: st.artifacts_uri.clone(),
            },
            steps,
            cost: plan.cost.as_ref().map(|c| format!("~{:.2}", c.total)),
        }
    }

    /// Every dependency as (upstream index, downstream index), in plan order.
    pub(crate) fn edges(&self) -> Vec<(usize, usize)> {
        let index: BTreeMap<&str, usize> = self
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect();
        let mut edges = Vec::new();
        for (to, s) in self.steps.iter().enumerate() {
            for d in &s.depends_on {
                if let Some(&from) = index.get(d.as_str()) {
                    edges.push((from, to));
                }
            }
        }
        edges
    }

    /// Writes `graph.json` into the run directory `dir`, atomically.
    pub(crate) fn save(&self, dir: &Path) -> std::io::Result<()> {
        let mut text = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        text.push(b'\n');
        write_atomic(&dir.join(GRAPH_FILE), &text)
    }

    /// Reads `graph.json` of the run directory `dir`.
    pub(crate) fn load(dir: &Path) -> std::io::Result<Self> {
        let text = std::fs::read(dir.join(GRAPH_FILE))?;
        serde_json::from_slice(&text)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }
}

/// Saves the graph of a run that starts in `dir`: `plan`, with each step's cache status as
/// the run decided it (`initial`, in plan order).
pub(crate) fn begin(
    dir: &Path,
    plan: &Plan,
    initial: &[crate::exec::Initial],
) -> std::io::Result<()> {
    let cache = plan
        .steps
        .iter()
        .zip(initial)
        .map(|(s, i)| Cache {
            status: match i.state {
                crate::exec::StepState::Cached => "hit",
                _ if !s.cache.enabled => "off",
                _ => "miss",
            }
            .into(),
            why: Vec::new(),
        })
        .collect();
    Graph::new(plan, cache).save(dir)
}

/// Writes `bytes` to `path` through a temporary file in the same directory.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new().prefix(".show-").tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The HTML report of run `id` under `runs`, from its directory and the cache records of
/// `store` (for the runs cached steps and upstream outputs came from).
pub(crate) fn report(
    runs: &Path,
    id: &str,
    store: Option<&dyn crate::cache::store::Store>,
) -> std::io::Result<String> {
    let run = lineage::RunFacts::gather(runs, id, store)?;
    Ok(html::report(&run))
}

/// Writes `report.html` into the run directory `dir` (`<runs>/<id>`; see [`report`]).
pub(crate) fn write_report(
    dir: &Path,
    store: Option<&dyn crate::cache::store::Store>,
) -> std::io::Result<()> {
    let (Some(runs), Some(id)) = (dir.parent(), dir.file_name().and_then(|n| n.to_str())) else {
        return Err(std::io::Error::other("not a run directory"));
    };
    let text = report(runs, id, store)?;
    write_atomic(&dir.join(REPORT_FILE), text.as_bytes())
}

/// `text` with `&`, `<`, `>`, `"` and `'` escaped for HTML and SVG (text and attributes).
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
