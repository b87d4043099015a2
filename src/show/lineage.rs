//! What a report knows about a run, gathered in one place: the graph saved when it started,
//! its record (with the events of a run that goes on), its timeline, the tail of each step's
//! log (masked when it was stored), and the lineage of every output: the step and cache key that made it,
//! the content digests of the step's local inputs, the upstream outputs it read and the runs
//! that produced each of them. [`lineage`] is the one function that gathers lineage, so new
//! facts about outputs (a store address, a size in an object store) have one place to go.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::Graph;
use crate::cache::store::Store;
use crate::exec::{RunRecord, StepState, record};

/// Lines of each step's log the report shows.
const TAIL_LINES: usize = 20;

/// Everything the report of one run shows.
#[derive(Debug)]
pub(crate) struct RunFacts {
    /// The graph saved when the run started.
    pub graph: Graph,
    /// The run record.
    pub record: RunRecord,
    /// Per step (plan order): the last lines of its log (a cached step's: of the run its
    /// outputs came from).
    pub tails: Vec<Vec<String>>,
    /// Per step: its bars on the timeline.
    pub bars: Vec<Vec<super::timeline::Bar>>,
    /// Per step: the run whose work its outputs are (this one, or the run a hit came from).
    pub produced_by: Vec<Option<String>>,
    /// Every output of every step, in plan order then by name.
    pub lineage: Vec<Lineage>,
}

/// Where one output came from (`mlk lineage -o json`; field names are a contract).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Lineage {
    /// The step that writes it.
    pub step: String,
    /// Its name.
    pub output: String,
    /// Its URI.
    pub uri: String,
    /// A local output's file or directory, once written.
    pub path: Option<String>,
    /// A local output's size in bytes (a directory: the sum of its files).
    pub size_bytes: Option<u64>,
    /// The run that produced it (`None`: not produced, or its cache record is not here).
    pub run: Option<String>,
    /// The cache key of the step that produced it.
    pub cache_key: String,
    /// The step's local inputs: name → content digest.
    pub local_inputs: BTreeMap<String, String>,
    /// The upstream outputs the step read.
    pub upstream: Vec<Upstream>,
}

/// An upstream output a step read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Upstream {
    /// How the step names it: `steps.X.outputs.Y`.
    pub reference: String,
    /// Upstream step.
    pub step: String,
    /// Its output.
    pub output: String,
    /// Its URI, when the upstream step is in the graph.
    pub uri: Option<String>,
    /// Its cache key.
    pub cache_key: String,
    /// The run that produced it.
    pub run: Option<String>,
}

impl RunFacts {
    /// Reads run `id` under `runs`; cached steps' runs come from `store`'s records.
    pub(crate) fn gather(
        runs: &Path,
        id: &str,
        store: Option<&dyn Store>,
    ) -> std::io::Result<Self> {
        let dir = runs.join(id);
        let graph = Graph::load(&dir)?;
        let record = record::load(runs, id)?;
        let produced_by = record
            .steps
            .iter()
            .map(|s| match s.state {
                StepState::Done => Some(record.run_id.clone()),
                StepState::Cached => store
                    .and_then(|st| st.get(&record.pipeline, &s.name, &s.key).ok().flatten())
                    .map(|r| r.run_id),
                _ => None,
            })
            .collect::<Vec<_>>();
        // A cached step did not run: its log is the one of the run its outputs came from.
        let tails = record
            .steps
            .iter()
            .zip(&produced_by)
            .map(|(s, by)| match (s.state, by) {
                (StepState::Cached, Some(by)) => tail(&record::log_path(&runs.join(by), &s.name)),
                _ => tail(&record::log_path(&dir, &s.name)),
            })
            .collect();
        let lineage = lineage(&graph, &record, &produced_by);
        Ok(RunFacts {
            bars: super::timeline::bars(&dir, &record),
            graph,
            record,
            tails,
            produced_by,
            lineage,
        })
    }

    /// The lineage of `step.output`.
    pub(crate) fn output(&self, step: &str, output: &str) -> Option<&Lineage> {
        self.lineage
            .iter()
            .find(|l| l.step == step && l.output == output)
    }
}

/// The lineage of every output in `graph`, given the run each step's outputs came from.
pub(crate) fn lineage(
    graph: &Graph,
    record: &RunRecord,
    produced_by: &[Option<String>],
) -> Vec<Lineage> {
    let index: BTreeMap<&str, usize> = graph
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    let produced = |i: usize| produced_by.get(i).cloned().flatten();
    let mut out = Vec::new();
    for (i, s) in graph.steps.iter().enumerate() {
        let written = record
            .steps
            .get(i)
            .is_some_and(|r| matches!(r.state, StepState::Done | StepState::Cached));
        let upstream: Vec<Upstream> = s
            .upstream
            .iter()
            .map(|(reference, u)| {
                let at = index.get(u.step.as_str()).copied();
                Upstream {
                    reference: reference.clone(),
                    step: u.step.clone(),
                    output: u.output.clone(),
                    uri: at.and_then(|a| graph.steps[a].outputs.get(&u.output).cloned()),
                    cache_key: u.key.clone(),
                    run: at.and_then(produced),
                }
            })
            .collect();
        for (name, uri) in &s.outputs {
            let path = local_path(uri).filter(|p| written && p.exists());
            out.push(Lineage {
                step: s.name.clone(),
                output: name.clone(),
                uri: uri.clone(),
                size_bytes: path.as_deref().map(size),
                path: path.map(|p| p.display().to_string()),
                run: produced(i),
                cache_key: s.key.clone(),
                local_inputs: s.local_inputs.clone(),
                upstream: upstream.clone(),
            });
        }
    }
    out
}

/// The file an output URI names, when it names a local one.
fn local_path(uri: &str) -> Option<std::path::PathBuf> {
    if uri.contains("://") {
        return uri.strip_prefix("file://").map(std::path::PathBuf::from);
    }
    Some(std::path::PathBuf::from(uri))
}

/// Bytes of a file, or of every file under a directory.
fn size(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(path).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .map(|e| size(&e.path()))
            .sum()
    })
}

/// The last [`TAIL_LINES`] lines of a log (none when it does not exist).
fn tail(path: &Path) -> Vec<String> {
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(TAIL_LINES);
    lines[from..].iter().map(|l| (*l).to_owned()).collect()
}
