//! Which steps a run starts: cache hits, steps the backend cannot run, `--from` and `--only`.

use serde::{Deserialize, Serialize};

use super::Backend;
use crate::cache::status::{self, Lookup, Presence, Query, lookup};
use crate::cache::store::{Record, Store, StoreError};
use crate::resolve::{Plan, Step};

/// Which part of the DAG to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Selection {
    /// Every step (cache hits are skipped).
    All,
    /// `--from STEP`: the step and everything downstream of it, even when cached.
    From(String),
    /// `--only STEP`: just that step, even when cached.
    Only(String),
}

/// Where a step is in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum StepState {
    /// Not started yet.
    Waiting,
    /// A cache hit: not run, its outputs reused.
    Cached,
    /// Not run: not selected, or the backend cannot run it.
    Skipped,
    /// Running.
    Running,
    /// Finished successfully.
    Done,
    /// Failed (after its retries), timed out or was terminated.
    Failed,
    /// Never started because the run stopped first.
    NotRun,
}

impl StepState {
    /// The lower-case name shown to users.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            StepState::Waiting => "waiting",
            StepState::Cached => "cached",
            StepState::Skipped => "skipped",
            StepState::Running => "running",
            StepState::Done => "done",
            StepState::Failed => "failed",
            StepState::NotRun => "not-run",
        }
    }

    /// Whether downstream steps may start after this one.
    pub(crate) fn satisfies(self) -> bool {
        matches!(
            self,
            StepState::Cached | StepState::Skipped | StepState::Done
        )
    }
}

/// A step's state before anything runs.
#[derive(Debug, Clone)]
pub(crate) struct Initial {
    /// Step name.
    pub name: String,
    /// [`StepState::Waiting`] (will run), [`StepState::Cached`] or [`StepState::Skipped`].
    pub state: StepState,
    /// Why it is cached or skipped.
    pub note: Option<String>,
}

/// Why a run cannot start.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(crate) enum ExecError {
    /// `--from` / `--only` named a step the pipeline does not have.
    #[error("`{flag}` names `{name}`, which is not a step of this pipeline")]
    #[diagnostic(code(mlk::exec::unknown_step), help("{help}"))]
    UnknownStep {
        /// `--from` or `--only`.
        flag: &'static str,
        /// The name given.
        name: String,
        /// The steps there are.
        help: String,
    },
    /// An upstream step of `--from` / `--only` has no usable cache record.
    #[error("cannot run `{flag} {step}`: upstream step{s} {missing} ha{ve} no cached result", s = if missing.contains(',') { "s" } else { "" }, ve = if missing.contains(',') { "ve" } else { "s" })]
    #[diagnostic(
        code(mlk::exec::upstream_not_cached),
        help("run the whole pipeline once (without {flag}), or start earlier: {flag} {first}")
    )]
    UpstreamNotCached {
        /// `--from` or `--only`.
        flag: &'static str,
        /// The step given.
        step: String,
        /// The upstream steps without a record, quoted and comma-separated.
        missing: String,
        /// The first of them.
        first: String,
    },
    /// The cache store failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Store(#[from] StoreError),
    /// Writing the run record or a log file failed.
    #[error("cannot write {path}: {message}")]
    #[diagnostic(
        code(mlk::exec::io),
        help("mlk keeps runs under .mlk/ in the working directory; check its permissions")
    )]
    Io {
        /// The file or directory.
        path: String,
        /// What went wrong.
        message: String,
    },
}

impl ExecError {
    /// Whether the problem is the user's input (exit 2) rather than I/O (exit 3).
    pub(crate) fn is_invalid(&self) -> bool {
        matches!(
            self,
            ExecError::UnknownStep { .. } | ExecError::UpstreamNotCached { .. }
        )
    }
}

/// The cache question of one step of `plan`.
pub(crate) fn cache_query<'a>(
    plan: &'a Plan,
    step: &'a Step,
    presence: Option<Presence<'a>>,
) -> Query<'a> {
    Query {
        manifest: step.data.manifest.as_deref(),
        presence,
        pipeline: &plan.pipeline,
        step: &step.name,
        enabled: step.cache.enabled,
        key: &step.cache.key,
        components: &step.cache.components,
        ttl_seconds: step.cache.ttl_seconds,
    }
}

/// The cache status of every step of `plan` (in plan order) at `now_unix`, as `mlk plan` and
/// `mlk cache explain` show it; `store` is `None` when it cannot be read from here.
pub(crate) fn cache_status(
    plan: &Plan,
    store: Option<&dyn Store>,
    presence: Option<Presence<'_>>,
    now_unix: u64,
) -> Result<Vec<Lookup>, StoreError> {
    crate::threads::map_waiting(&plan.steps, LOOKUPS, |s| {
        lookup(store, &cache_query(plan, s, presence), now_unix)
    })
    .into_iter()
    .collect()
}

/// How many steps' cache lookups wait on the store at once.
const LOOKUPS: usize = 16;

/// The usable cache record of a step, by the one hit rule of [`crate::cache::status`].
fn hit(
    plan: &Plan,
    step: &Step,
    store: Option<&dyn Store>,
    presence: Option<Presence<'_>>,
    now_unix: u64,
) -> Result<Option<Record>, StoreError> {
    match store {
        Some(store) => status::hit(store, &cache_query(plan, step, presence), now_unix),
        None => Ok(None),
    }
}

/// Which steps `selection` asks to run (`selected`), and which steps outside it the selection
/// reads from, so they must be cache hits (`required`); both in plan order.
struct Chosen {
    selected: Vec<bool>,
    required: Vec<bool>,
}

/// Applies `--from` / `--only` to the plan's DAG.
fn choose(plan: &Plan, selection: &Selection) -> Result<Chosen, ExecError> {
    let index = plan.index();
    let n = plan.steps.len();
    let mut selected = vec![selection.start().is_none(); n];
    if let Some(name) = selection.start() {
        let Some(&i) = index.get(name) else {
            return Err(ExecError::UnknownStep {
                flag: selection.flag(),
                name: name.to_owned(),
                help: match crate::diag::did_you_mean(name, index.keys().copied()) {
                    Some(m) => format!("did you mean `{m}`?"),
                    None => format!(
                        "steps: {}",
                        index.keys().copied().collect::<Vec<_>>().join(", ")
                    ),
                },
            });
        };
        selected[i] = true;
        if matches!(selection, Selection::From(_)) {
            // Plan order is a topological order: upstream steps come first.
            for j in i + 1..n {
                if plan.steps[j]
                    .depends_on
                    .iter()
                    .any(|d| index.get(d.as_str()).is_some_and(|&k| selected[k]))
                {
                    selected[j] = true;
                }
            }
        }
    }
    // Direct upstream steps of the selection that are not part of it must be cache hits.
    let mut required = vec![false; n];
    for (_, s) in plan.steps.iter().enumerate().filter(|(i, _)| selected[*i]) {
        for d in &s.depends_on {
            if let Some(&k) = index.get(d.as_str())
                && !selected[k]
            {
                required[k] = true;
            }
        }
    }
    Ok(Chosen { selected, required })
}

impl Selection {
    /// The step named by `--from` / `--only`.
    fn start(&self) -> Option<&str> {
        match self {
            Selection::All => None,
            Selection::From(s) | Selection::Only(s) => Some(s),
        }
    }

    /// `--from`, `--only`, or nothing.
    fn flag(&self) -> &'static str {
        match self {
            Selection::All => "",
            Selection::From(_) => "--from",
            Selection::Only(_) => "--only",
        }
    }
}

/// Decides, for every step of the plan (in plan order), whether it runs, is a cache hit (at
/// `now_unix`) or is skipped. `no_cache` makes every selected step run.
pub(crate) fn prepare(
    plan: &Plan,
    backend: &dyn Backend,
    store: Option<&dyn Store>,
    presence: Option<Presence<'_>>,
    selection: &Selection,
    no_cache: bool,
    now_unix: u64,
) -> Result<Vec<Initial>, ExecError> {
    let Chosen { selected, required } = choose(plan, selection)?;
    let flag = selection.flag();
    let mut out = Vec::with_capacity(plan.steps.len());
    let mut missing = Vec::new();
    let skips: Vec<Option<String>> = plan.steps.iter().map(|s| backend.skip_reason(s)).collect();
    // The store is asked about every step that may be a hit at once: each lookup waits on
    // the store (an object store is a round trip or two per step).
    let asks: Vec<(usize, &Step)> = plan
        .steps
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            skips[*i].is_none() && (!selected[*i] || (selection.start().is_none() && !no_cache))
        })
        .collect();
    let found = crate::threads::map_waiting(&asks, LOOKUPS, |(_, s)| {
        hit(plan, s, store, presence, now_unix)
    });
    let mut hits: Vec<Option<Record>> = vec![None; plan.steps.len()];
    for ((i, _), h) in asks.iter().zip(found) {
        hits[*i] = h?;
    }
    for ((i, step), skip) in plan.steps.iter().enumerate().zip(skips) {
        let (state, note) = if let Some(reason) = skip {
            (StepState::Skipped, Some(reason))
        } else if !selected[i] {
            match hits[i].take() {
                Some(r) => (StepState::Cached, Some(cached_note(&r))),
                None if required[i] => {
                    missing.push(step.name.clone());
                    (StepState::Skipped, None)
                }
                None => (StepState::Skipped, Some(format!("not selected ({flag})"))),
            }
        } else if selection.start().is_none() && !no_cache {
            match hits[i].take() {
                Some(r) => (StepState::Cached, Some(cached_note(&r))),
                None => (StepState::Waiting, None),
            }
        } else {
            (StepState::Waiting, None)
        };
        out.push(Initial {
            name: step.name.clone(),
            state,
            note,
        });
    }
    if let (Some(step), Some(first)) = (selection.start(), missing.first()) {
        return Err(ExecError::UpstreamNotCached {
            flag,
            step: step.to_owned(),
            first: first.clone(),
            missing: missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok(out)
}

fn cached_note(r: &Record) -> String {
    format!("from run {}", r.run_id)
}
