//! `mlk cache`: list, explain and clear cache records; and the cache status of a plan's steps,
//! which `mlk plan` shows.
//!
//! `ls` and `clear` work on the local store, `.mlk/cache` in the current directory, or with
//! `--stack` on the store that stack names (ConfigMaps, the artifact store's manifests).
//! `explain` compiles a pipeline like `mlk plan` and looks its step up in the stack's store.

use std::path::Path;
use std::sync::Arc;

use clap::{Args, Subcommand};

use super::compile::compile;
use super::{Exit, Global, Inputs, Reporter, write_stdout};
use crate::cache::key::{KeyComponents, digest_of};
use crate::cache::status::{Lookup, Status, now_unix};
use crate::cache::store::{LocalStore, Store, StoreError};
use crate::cache::{StoreSite, store_site};
use crate::cluster::{Cluster, ConfigMapStore};
use crate::exec;
use crate::load::Loaded;
use crate::resolve::Plan;

/// `mlk cache` arguments.
#[derive(Debug, Args)]
pub struct CacheArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: CacheCommand,
}

/// `mlk cache` subcommands.
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// List the records of the local cache store (.mlk/cache): pipeline, step, key, age, run,
    /// outputs.
    #[command(after_help = "Examples:\n  mlk cache ls\n  mlk cache ls --pipeline quickstart")]
    Ls {
        /// Only this pipeline's records (its `[pipeline] name`).
        #[arg(long, value_name = "NAME")]
        pipeline: Option<String>,
        /// The records of this stack's store (default: .mlk/cache).
        #[arg(long, short = 's', value_name = "STACK")]
        stack: Option<String>,
    },
    /// Print every component of a step's cache key with its digest, and the step's status.
    #[command(
        after_help = "Examples:\n  mlk cache explain pipeline.toml train\n  mlk cache explain pipeline.toml train --stack prod -p epochs=20"
    )]
    Explain {
        /// Pipeline, stack and parameters.
        #[command(flatten)]
        inputs: Inputs,
        /// The step.
        #[arg(value_name = "STEP")]
        step: String,
    },
    /// Remove records of the local cache store: all of them, or one step's.
    #[command(
        after_help = "Examples:\n  mlk cache clear                      # everything\n  mlk cache clear train                # step `train` of every pipeline\n  mlk cache clear train --pipeline fraud-detection"
    )]
    Clear {
        /// Only this step's records.
        #[arg(value_name = "STEP")]
        step: Option<String>,
        /// Only this pipeline's records (its `[pipeline] name`).
        #[arg(long, value_name = "NAME")]
        pipeline: Option<String>,
        /// The records of this stack's store (default: .mlk/cache).
        #[arg(long, short = 's', value_name = "STACK")]
        stack: Option<String>,
    },
}

/// The cache store a stack names, as far as this process can reach it.
pub(crate) enum StoreChoice {
    /// Records in a directory.
    Local(LocalStore),
    /// `store = "none"`: caching is off.
    Off,
    /// `store = "configmap"`: in the cluster; `None` when it cannot be reached.
    Cluster(Option<ConfigMapStore>),
    /// `store = "artifacts"`: in the output manifests; `None` when the store cannot be opened.
    Artifacts(Option<crate::artifacts::ArtifactRecords>),
}

impl StoreChoice {
    /// The store of a compiled pipeline's stack ([`crate::cache::store_site`]); a ConfigMap
    /// store only when its cluster answers within [`PROBE`].
    pub(crate) fn of(l: &Loaded, plan: &Plan, global: &Global, reporter: &Reporter) -> StoreChoice {
        match store_site(plan.stack.backend, l.stack.cache.store, Path::new("")) {
            StoreSite::Local(dir) => StoreChoice::Local(LocalStore::new(dir)),
            StoreSite::Off => StoreChoice::Off,
            StoreSite::Artifacts => match crate::artifacts::Artifacts::open(&plan.stack) {
                Ok(Some(a)) => {
                    StoreChoice::Artifacts(Some(crate::artifacts::ArtifactRecords(Arc::new(a))))
                }
                Ok(None) => StoreChoice::Artifacts(None),
                Err(e) => {
                    reporter.verbose(&format!("cache records not read: {e}"));
                    StoreChoice::Artifacts(None)
                }
            },
            StoreSite::Cluster => {
                match Cluster::connect(&global.stack_target(&plan.stack))
                    .and_then(|c| c.probe(PROBE).map(|()| c))
                {
                    Ok(c) => StoreChoice::Cluster(Some(ConfigMapStore::new(Arc::new(c)))),
                    Err(e) => {
                        reporter.verbose(&format!("cache records not read: {e}"));
                        StoreChoice::Cluster(None)
                    }
                }
            }
        }
    }

    fn store(&self) -> Option<&dyn Store> {
        match self {
            StoreChoice::Local(s) => Some(s),
            StoreChoice::Cluster(Some(s)) => Some(s),
            StoreChoice::Artifacts(Some(s)) => Some(s),
            StoreChoice::Off | StoreChoice::Cluster(None) | StoreChoice::Artifacts(None) => None,
        }
    }
}

/// The note printed under a plan whose store cannot be read.
const CLUSTER_NOTE: &str = "note: cache status `?`: this stack keeps cache records as ConfigMaps in the cluster, which mlk could not reach (-v says why)";

/// The note printed under a plan whose artifact store cannot be opened.
const ARTIFACTS_NOTE: &str = "note: cache status `?`: this stack keeps cache records in its artifact store, which mlk could not open (-v says why)";

/// How long `plan` waits for the cluster before showing `?`.
const PROBE: std::time::Duration = std::time::Duration::from_secs(3);

/// The cache status of a plan's steps.
pub(crate) struct PlanStatus {
    /// One lookup per step, in plan order.
    pub lookups: Vec<Lookup>,
    /// A line to print under the plan when some status is unknown.
    pub note: Option<&'static str>,
}

/// The cache status of every step of `plan`. A store that cannot be read makes every status
/// unknown, with a warning.
pub(crate) fn plan_status(
    plan: &Plan,
    l: &Loaded,
    global: &Global,
    reporter: &Reporter,
) -> PlanStatus {
    let choice = StoreChoice::of(l, plan, global, reporter);
    let note = match choice {
        StoreChoice::Cluster(None) => Some(CLUSTER_NOTE),
        StoreChoice::Artifacts(None) => Some(ARTIFACTS_NOTE),
        _ => None,
    };
    // Outputs in an object store are there when their step's manifest is; a store that
    // cannot be opened here leaves them unchecked (taken as present).
    let artifacts = crate::artifacts::Artifacts::open(&plan.stack)
        .ok()
        .flatten();
    let exists = artifacts.as_ref().map(|a| move |m: &str| a.exists(m));
    let presence = exists
        .as_ref()
        .map(|f| crate::cache::status::Presence(f as &(dyn Fn(&str) -> bool + Sync)));
    let lookups = match exec::cache_status(plan, choice.store(), presence, now_unix()) {
        Ok(l) => l,
        Err(e) => {
            let clear = match choice {
                StoreChoice::Local(_) => " (`mlk cache clear` removes all records)",
                _ => "",
            };
            reporter.status(&format!("warning: {e}; cache status unknown{clear}"));
            let unknown = |s: &crate::resolve::Step| Lookup {
                status: if s.cache.enabled {
                    Status::Unknown
                } else {
                    Status::Off
                },
                changed: Vec::new(),
                record: None,
            };
            plan.steps.iter().map(unknown).collect()
        }
    };
    PlanStatus { lookups, note }
}

/// Runs `mlk cache`.
pub(super) fn run(args: &CacheArgs, global: &Global, reporter: &Reporter) -> Exit {
    match &args.command {
        CacheCommand::Ls { pipeline, stack } => match records(stack.as_deref(), global, reporter) {
            Ok(r) => ls(&r, pipeline.as_deref(), reporter),
            Err(code) => code,
        },
        CacheCommand::Explain { inputs, step } => explain(inputs, step, global, reporter),
        CacheCommand::Clear {
            step,
            pipeline,
            stack,
        } => match records(stack.as_deref(), global, reporter) {
            Ok(r) => clear(&r, pipeline.as_deref(), step.as_deref(), reporter),
            Err(code) => code,
        },
    }
}

/// A record store and what it is called in messages.
struct Records {
    store: Box<dyn Store>,
    place: String,
}

/// The records `ls` and `clear` work on: `.mlk/cache`, or the store of the stack `--stack`
/// names (as `mlk run` on it keeps them).
fn records(stack: Option<&str>, global: &Global, reporter: &Reporter) -> Result<Records, Exit> {
    let local = |dir: std::path::PathBuf| Records {
        place: dir.display().to_string(),
        store: Box::new(LocalStore::new(dir)),
    };
    let Some(arg) = stack else {
        return Ok(local(crate::cache::local_store_path()));
    };
    let stack_ref = crate::compile::find_stack(Some(arg)).map_err(|d| {
        reporter.diagnostic(&d);
        Exit::Invalid
    })?;
    let loaded = crate::load::load_stack(&stack_ref)
        .map_err(|problems| super::compile::fail(reporter, problems.items()))?;
    let s = &loaded.stack;
    match store_site(s.backend, s.cache.store, Path::new("")) {
        StoreSite::Local(dir) => Ok(local(dir)),
        StoreSite::Off => {
            reporter.status(&format!(
                "stack `{}` keeps no cache records ([cache] store = \"none\")",
                s.name.get_ref()
            ));
            Err(Exit::Ok)
        }
        StoreSite::Artifacts => {
            let spec = crate::store::StoreSpec {
                uri: s.artifacts.uri.get_ref().trim_end_matches('/').to_owned(),
                endpoint: s.artifacts.endpoint.clone(),
                region: s.artifacts.region.clone(),
                mount: None,
            };
            match crate::artifacts::Artifacts::open_spec(&s.artifacts.kind, &spec) {
                Ok(Some(a)) => Ok(Records {
                    place: format!("{} (the step manifests)", spec.uri),
                    store: Box::new(crate::artifacts::ArtifactRecords(Arc::new(a))),
                }),
                Ok(None) => {
                    reporter.status(&format!(
                        "error: `{}` is not an object store that can hold records",
                        spec.uri
                    ));
                    Err(Exit::Invalid)
                }
                Err(e) => {
                    reporter.status(&format!("error: {e}"));
                    Err(Exit::from(&e))
                }
            }
        }
        StoreSite::Cluster => {
            // `-n` replaces the stack's namespace, as when a pipeline is compiled.
            let namespace = global.namespace.as_deref().unwrap_or(s.namespace.get_ref());
            let target = global.target_in(s.context.as_deref(), namespace);
            let cluster = Cluster::connect(&target).map_err(|e| {
                reporter.diagnostic(&e);
                Exit::Io
            })?;
            Ok(Records {
                place: format!("ConfigMaps in namespace {}", cluster.namespace),
                store: Box::new(ConfigMapStore::new(Arc::new(cluster))),
            })
        }
    }
}

fn store_failed(reporter: &Reporter, e: StoreError) -> Exit {
    reporter.diagnostic(&e);
    Exit::Io
}

fn ls(r: &Records, pipeline: Option<&str>, reporter: &Reporter) -> Exit {
    let records = match r.store.list() {
        Ok(r) => r,
        Err(e) => return store_failed(reporter, e),
    };
    let now = now_unix();
    let mut rows = vec![
        ["PIPELINE", "STEP", "KEY", "AGE", "RUN", "OUTPUTS"]
            .map(str::to_owned)
            .to_vec(),
    ];
    for r in records
        .iter()
        .filter(|r| pipeline.is_none_or(|p| r.pipeline == p))
    {
        rows.push(vec![
            r.pipeline.clone(),
            r.step.clone(),
            short(&r.key),
            age(now.saturating_sub(r.created_unix)),
            r.run_id.clone(),
            if r.outputs.is_empty() {
                "-".into()
            } else {
                r.outputs.keys().cloned().collect::<Vec<_>>().join(",")
            },
        ]);
    }
    if rows.len() == 1 {
        reporter.status(&format!("no cache records in {}", r.place));
        return Exit::Ok;
    }
    write_stdout(super::table::aligned(&rows).as_bytes())
}

fn clear(r: &Records, pipeline: Option<&str>, step: Option<&str>, reporter: &Reporter) -> Exit {
    match r.store.clear(pipeline, step) {
        Ok(n) => {
            reporter.status(&format!(
                "removed {n} cache record{} from {}",
                if n == 1 { "" } else { "s" },
                r.place
            ));
            Exit::Ok
        }
        Err(e) => store_failed(reporter, e),
    }
}

fn explain(inputs: &Inputs, step: &str, global: &Global, reporter: &Reporter) -> Exit {
    let opts = inputs.options();
    let c = match compile(inputs, global, &opts, reporter) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let plan = &c.resolved.plan;
    let Some(index) = plan.steps.iter().position(|s| s.name == step) else {
        let names: Vec<&str> = plan.steps.iter().map(|s| s.name.as_str()).collect();
        // An error, so printed even with -q.
        eprintln!(
            "error: pipeline `{}` has no step `{step}` (steps: {})",
            plan.pipeline,
            names.join(", ")
        );
        return Exit::Invalid;
    };
    let s = &plan.steps[index];
    let all = plan_status(plan, &c.loaded, global, reporter);
    let status = &all.lookups[index];
    let mut out = format!(
        "step {} of pipeline {} on stack {}\nkey     {}\nstatus  {}",
        s.name,
        plan.pipeline,
        plan.stack.name,
        s.cache.key,
        status.status.word()
    );
    if !status.changed.is_empty() {
        out.push_str(&format!(" ({})", status.changed.join(", ")));
    }
    if let Some(r) = &status.record {
        out.push_str(&format!(
            "\nrecord  run {}, {} ago",
            r.run_id,
            age(now_unix().saturating_sub(r.created_unix))
        ));
    }
    if let Some(ttl) = s.cache.ttl_seconds {
        out.push_str(&format!("\nttl     {}", age(ttl)));
    }
    out.push_str("\n\n");
    out.push_str(&super::table::aligned(&component_rows(&s.cache.components)));
    if let (Status::Unknown, Some(note)) = (status.status, all.note) {
        out.push_str(note);
        out.push('\n');
    }
    write_stdout(out.as_bytes())
}

/// One row per component of the key: name, short digest of its encoding, value.
fn component_rows(c: &KeyComponents) -> Vec<Vec<String>> {
    let mut rows = vec![vec!["COMPONENT".into(), "DIGEST".into(), "VALUE".into()]];
    let mut row = |name: String, value: &serde_json::Value| {
        rows.push(vec![
            name,
            short(&digest_of(value)),
            shown(&value.to_string()),
        ]);
    };
    row("format".into(), &c.format.into());
    row(
        "cache_salt".into(),
        &c.salt.clone().map_or(serde_json::Value::Null, Into::into),
    );
    row("image".into(), &c.image.clone().into());
    row("command".into(), &c.command.clone().into());
    for (k, v) in &c.env {
        row(format!("env {k}"), &v.clone().into());
    }
    for (k, v) in &c.params {
        row(format!("param {k}"), v);
    }
    for (k, v) in &c.inputs {
        row(format!("input {k}"), &v.clone().into());
    }
    for u in c.upstream.values() {
        // The digest covers step, output and key; the value shown is the upstream key.
        let value = serde_json::to_value(u).unwrap_or_default();
        rows.push(vec![
            format!("upstream {}.{}", u.step, u.output),
            short(&digest_of(&value)),
            format!("key {}", u.key),
        ]);
    }
    rows.push(vec![
        "(key)".into(),
        short(&c.key()),
        "sha256 of the canonical encoding of all the above".into(),
    ]);
    rows
}

/// A value as the explain table shows it: JSON, cut at [`SHOWN_CHARS`] characters (the
/// digest still identifies all of it).
fn shown(json: &str) -> String {
    if json.chars().count() <= SHOWN_CHARS {
        return json.to_owned();
    }
    let mut s: String = json.chars().take(SHOWN_CHARS - 1).collect();
    s.push('…');
    s
}

/// Longest value the explain table shows in full.
const SHOWN_CHARS: usize = 72;

/// The 12-hex-digit form of a key, as `mlk plan` shows it.
pub(crate) fn short(key: &str) -> String {
    key.chars().take(12).collect()
}

/// A duration in seconds as `45s`, `12m`, `3h`, `4d`.
fn age(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_short() {
        assert_eq!(age(5), "5s");
        assert_eq!(age(120), "2m");
        assert_eq!(age(7200), "2h");
        assert_eq!(age(3 * 86_400 + 5), "3d");
    }
}
