//! The compile path every command shares, one public entry per stage: find the stack
//! ([`find_stack`]), load ([`crate::load::load`]), hash local inputs ([`digest_inputs`]),
//! resolve ([`crate::resolve::resolve`]) and render ([`Compiled::manifests`]); [`compile`] runs
//! the first four. Nothing here prints: problems are returned for the CLI to show.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::cache::digest::{DigestError, Digester, Progress};
use crate::cache::stat_cache::StatCache;
use crate::diag::{Located, Problems};
use crate::domain::Engine;
use crate::load::{InputDef, Loaded, StackRef, load};
use crate::render::{Manifest, RenderError, Templates, render};
use crate::resolve::{InputDigests, Options, ResolveError, Resolved, resolve};

/// A pipeline resolved against its stack.
pub(crate) struct Compiled {
    /// The files as written.
    pub loaded: Loaded,
    /// The plan and its warnings.
    pub resolved: Resolved,
}

impl Compiled {
    /// The plan rendered with the built-in templates and the stack's `templates_dir`
    /// overrides; `run_id` adds the `mlk.dev/run` label.
    pub(crate) fn manifests(&self, run_id: Option<&str>) -> Result<Vec<Manifest>, RenderError> {
        let dir = self
            .loaded
            .stack
            .templates_dir
            .as_ref()
            .map(|d| d.get_ref().as_path());
        let plan = &self.resolved.plan;
        Templates::new(dir).and_then(|t| match plan.stack.engine {
            Engine::Mlk => render(plan, &t, run_id),
            Engine::Argo => crate::render::engine::workflows(plan, &t),
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

/// Finds the stack file for `--stack` / `MLK_STACK` (SPEC §1.2): a path, else
/// `stacks/NAME.toml`, else `.mlk/stacks/NAME.toml`, else the built-in `local`.
pub(crate) fn find_stack(stack: Option<&str>) -> Result<StackRef, Located> {
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

/// Whether a command may update the stat cache of `.mlk/` while hashing inputs: `check`
/// promises to write nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatCacheUse {
    /// Read it and write back what was learnt.
    Update,
    /// Read it only.
    ReadOnly,
}

/// Loads `pipeline` with `stack`, hashes its local inputs (reporting to `progress`) and
/// resolves it. `namespace` (`-n`, already checked by the command line) replaces the stack's
/// namespace.
pub(crate) fn compile(
    pipeline: &Path,
    stack: &StackRef,
    namespace: Option<&str>,
    opts: &Options,
    progress: &dyn Progress,
    stat_cache: StatCacheUse,
) -> Result<Compiled, Problems> {
    let mut loaded = load(pipeline, stack)?;
    if let Some(ns) = namespace {
        loaded.stack.namespace = toml::Spanned::new(0..0, ns.to_owned());
    }
    let digests = digest_inputs(&loaded, progress, stat_cache)?;
    let resolved = resolve(&loaded, opts, &digests)?;
    Ok(Compiled { loaded, resolved })
}

/// Hashes every local input of the pipeline once, with the stat cache of `.mlk/` in the
/// current directory (with [`StatCacheUse::Update`], written back when it learnt something;
/// failing to write it is harmless).
pub(crate) fn digest_inputs(
    l: &Loaded,
    progress: &dyn Progress,
    stat_cache_use: StatCacheUse,
) -> Result<InputDigests, Problems> {
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
    let digester = Digester::new(&stat_cache, progress);
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
                        DigestError::NotRegular { .. } => "inputs are regular files, directories and links inside them: move it out of the input".into(),
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
    if stat_cache_use == StatCacheUse::Update {
        let _ = stat_cache.save();
    }
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
