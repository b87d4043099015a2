//! The compile path every command shares: find the stack, load, hash inputs, resolve.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::hash_progress::HashProgress;
use super::{Exit, Global, Inputs, Reporter};
use crate::cache::digest::{DigestError, Digester};
use crate::cache::stat_cache::StatCache;
use crate::diag::{Located, Problems};
use crate::load::{InputDef, Loaded, StackRef, load};
use crate::render::{Manifest, Templates, render};
use crate::resolve::{InputDigests, Options, ResolveError, Resolved, resolve};

/// A pipeline resolved against its stack.
pub struct Compiled {
    /// The files as written.
    pub loaded: Loaded,
    /// The plan and its warnings.
    pub resolved: Resolved,
}

impl Compiled {
    /// The plan rendered with the built-in templates and the stack's `templates_dir`
    /// overrides; `run_id` adds the `mlk.dev/run` label. A problem is printed (exit 2).
    pub fn manifests(
        &self,
        reporter: &Reporter,
        run_id: Option<&str>,
    ) -> Result<Vec<Manifest>, Exit> {
        let dir = self
            .loaded
            .stack
            .templates_dir
            .as_ref()
            .map(|d| d.get_ref().as_path());
        Templates::new(dir)
            .and_then(|t| render(&self.resolved.plan, &t, run_id))
            .map_err(|e| {
                reporter.diagnostic(&e);
                Exit::Invalid
            })
    }
}

/// Couldn't find a named stack.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("no stack named `{name}`")]
#[diagnostic(
    code(mlk::cli::stack_not_found),
    help("looked for {searched}; pass --stack PATH to use a file elsewhere")
)]
struct StackNotFound {
    name: String,
    searched: String,
}

/// Finds the stack file for `--stack` / `MLK_STACK` (SPEC §1.2).
pub fn find_stack(stack: Option<&str>) -> Result<StackRef, Located> {
    let Some(s) = stack.filter(|s| !s.is_empty()) else {
        return Ok(StackRef::BuiltinLocal);
    };
    let as_path = Path::new(s);
    if s.contains('/') || s.contains('\\') || s.ends_with(".toml") {
        return Ok(StackRef::Path(as_path.to_path_buf()));
    }
    let candidates = [
        PathBuf::from("stacks").join(format!("{s}.toml")),
        PathBuf::from(".mlk/stacks").join(format!("{s}.toml")),
    ];
    if let Some(found) = candidates.iter().find(|c| c.is_file()) {
        return Ok(StackRef::Path(found.clone()));
    }
    if s == "local" {
        return Ok(StackRef::BuiltinLocal);
    }
    let searched = candidates
        .iter()
        .map(|c| c.display().to_string())
        .collect::<Vec<_>>()
        .join(" and ");
    Err(Located::detached(StackNotFound {
        name: s.into(),
        searched,
    }))
}

/// Loads and resolves; prints every diagnostic; returns the exit code on failure.
pub fn compile(
    inputs: &Inputs,
    global: &Global,
    opts: &Options,
    reporter: &Reporter,
) -> Result<Compiled, Exit> {
    let stack = find_stack(inputs.stack.as_deref()).map_err(|d| {
        reporter.diagnostic(&d);
        Exit::Invalid
    })?;
    reporter.verbose(&format!(
        "stack: {}",
        match &stack {
            StackRef::BuiltinLocal => "built-in local".to_owned(),
            StackRef::Path(p) => p.display().to_string(),
        }
    ));
    let mut loaded =
        load(&inputs.pipeline, &stack).map_err(|problems| fail(reporter, &problems))?;
    if let Some(ns) = &global.namespace {
        loaded.stack.namespace = toml::Spanned::new(0..0, ns.clone());
    }
    let digests =
        digest_inputs(&loaded, global.quiet).map_err(|problems| fail(reporter, &problems))?;
    let resolved =
        resolve(&loaded, opts, &digests).map_err(|problems| fail(reporter, &problems))?;
    reporter.diagnostics(&resolved.warnings);
    Ok(Compiled { loaded, resolved })
}

fn fail(reporter: &Reporter, problems: &Problems) -> Exit {
    reporter.diagnostics(problems.items());
    let n = problems.error_count();
    reporter.status(&format!(
        "error: {n} problem{} found",
        if n == 1 { "" } else { "s" }
    ));
    if problems.items().iter().any(|d| d.code() == "mlk::load::io")
        && !problems.items().iter().any(is_not_found)
    {
        Exit::Io
    } else {
        Exit::Invalid
    }
}

fn is_not_found(d: &Located) -> bool {
    d.code() == "mlk::load::io" && d.to_string().contains("No such file")
}

/// Hashes every local input of the pipeline once, with the stat cache of `.mlk/` in the
/// current directory (written back when it learnt something; failing to write it is harmless).
fn digest_inputs(l: &Loaded, quiet: bool) -> Result<InputDigests, Problems> {
    let has_paths = l
        .pipeline
        .steps
        .iter()
        .flat_map(|s| s.inputs.values())
        .any(|i| matches!(i.get_ref(), InputDef::Path(_)));
    if !has_paths {
        return Ok(InputDigests::new());
    }
    let stat_cache = StatCache::load(crate::cache::stat_cache_path());
    let progress = HashProgress::new(quiet);
    let digester = Digester::new(&stat_cache, &progress);
    let mut problems = Problems::default();
    let mut digests = InputDigests::new();
    let mut seen = BTreeSet::new();
    for step in &l.pipeline.steps {
        for (name, input) in &step.inputs {
            let InputDef::Path(p) = input.get_ref() else {
                continue;
            };
            let full = l.pipeline.dir.join(p);
            if !seen.insert(full.clone()) {
                continue;
            }
            match digester.digest(&full) {
                Ok(d) => {
                    digests.insert(full, d);
                }
                Err(e) => {
                    let help = match &e {
                        DigestError::NotFound(_) => format!("paths are relative to the pipeline file's directory ({})", dir_shown(&l.pipeline.dir)),
                        DigestError::EscapingLink { .. } => "inputs must be self-contained: copy the target into the tree, or name it as its own input".into(),
                        DigestError::Io(..) => "check the permissions".into(),
                    };
                    let err = ResolveError::Input {
                        name: name.get_ref().clone(),
                        message: e.to_string(),
                        help,
                        at: input.span().into(),
                    };
                    problems.push(&l.sources, l.pipeline_file, err);
                }
            }
        }
    }
    let _ = stat_cache.save();
    if problems.has_errors() {
        Err(problems)
    } else {
        Ok(digests)
    }
}

fn dir_shown(p: &Path) -> String {
    if p.as_os_str().is_empty() {
        ".".into()
    } else {
        p.display().to_string()
    }
}
