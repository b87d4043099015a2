//! `mlk init [DIR]`: scaffold a pipeline and its stacks from templates embedded in the binary.
//!
//! Nothing is overwritten unless `--force` is given: when any file of the template exists,
//! mlk names them all and writes nothing. Each file is written atomically. The pipeline is
//! named after DIR when that is a valid pipeline name, and `.mlk/` (mlk's local state) is
//! added to DIR's `.gitignore`, keeping what the file already says.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use miette::Diagnostic;
use thiserror::Error;

use super::output::write_atomic;
use super::{Exit, Reporter};

/// `mlk init` arguments.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The directory to create the files in (created if missing).
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// What to start from.
    #[arg(long, value_enum, default_value_t = Template::Quickstart)]
    pub template: Template,
    /// Overwrite files that already exist.
    #[arg(long)]
    pub force: bool,
}

/// `mlk init --template`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Template {
    /// A two-step pipeline and the local stack.
    Quickstart,
    /// A training step and a KServe serve step, with a local and a Knative dev stack.
    TrainServe,
}

impl Template {
    /// Relative path → content of every file the template writes.
    pub fn files(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Template::Quickstart => &[
                (
                    "pipeline.toml",
                    include_str!("init/quickstart/pipeline.toml"),
                ),
                (
                    "stacks/local.toml",
                    include_str!("init/quickstart/stacks/local.toml"),
                ),
            ],
            Template::TrainServe => &[
                (
                    "pipeline.toml",
                    include_str!("init/train-serve/pipeline.toml"),
                ),
                (
                    "stacks/local.toml",
                    include_str!("init/train-serve/stacks/local.toml"),
                ),
                (
                    "stacks/dev.toml",
                    include_str!("init/train-serve/stacks/dev.toml"),
                ),
            ],
        }
    }

    /// The pipeline name the template's `pipeline.toml` is written with.
    fn pipeline_name(self) -> &'static str {
        match self {
            Template::Quickstart => "quickstart",
            Template::TrainServe => "train-serve",
        }
    }

    /// The command to try first in the new directory.
    fn next_command(self) -> &'static str {
        match self {
            Template::Quickstart => "mlk run pipeline.toml",
            Template::TrainServe => "mlk render pipeline.toml --stack dev",
        }
    }
}

/// Why `mlk init` wrote nothing, or stopped.
#[derive(Debug, Error, Diagnostic)]
pub(super) enum InitError {
    /// Files of the template exist already.
    #[error("{} already exist{}: {}", count(.files.len()), if .files.len() == 1 { "s" } else { "" }, .files.join(", "))]
    #[diagnostic(
        code(mlk::init::exists),
        help("nothing was written; pass --force to overwrite them, or choose another DIR")
    )]
    Exists {
        /// The existing files, as paths under DIR.
        files: Vec<String>,
    },
    /// A file or directory could not be created.
    #[error("cannot write {path}: {message}")]
    #[diagnostic(code(mlk::init::io), help("check that the directory is writable"))]
    Io {
        /// The path.
        path: String,
        /// What the operating system said.
        message: String,
    },
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 file".into()
    } else {
        format!("{n} files")
    }
}

/// Runs `mlk init`.
pub(super) fn run(args: &InitArgs, reporter: &Reporter) -> Exit {
    match scaffold(&args.dir, args.template, args.force) {
        Ok(written) => {
            for p in &written {
                reporter.status(&format!("created {}", display(p)));
            }
            let cd = if args.dir == Path::new(".") {
                String::new()
            } else {
                format!("cd {} && ", display(&args.dir))
            };
            reporter.status(&format!("next: {cd}{}", args.template.next_command()));
            Exit::Ok
        }
        Err(e) => {
            reporter.diagnostic(&e);
            match e {
                InitError::Exists { .. } => Exit::Invalid,
                InitError::Io { .. } => Exit::Io,
            }
        }
    }
}

/// Writes the template's files into `dir`; returns the paths written.
pub(super) fn scaffold(
    dir: &Path,
    template: Template,
    force: bool,
) -> Result<Vec<PathBuf>, InitError> {
    let files = template.files();
    if !force {
        let existing: Vec<String> = files
            .iter()
            .map(|(rel, _)| dir.join(rel))
            .filter(|p| p.symlink_metadata().is_ok())
            .map(|p| display(&p))
            .collect();
        if !existing.is_empty() {
            return Err(InitError::Exists { files: existing });
        }
    }
    let name = dir_pipeline_name(dir);
    let mut written = Vec::new();
    for (rel, content) in files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| InitError::Io {
                path: display(parent),
                message: e.to_string(),
            })?;
        }
        let content = match &name {
            Some(name) if *rel == "pipeline.toml" => content.replacen(
                &format!("name = \"{}\"", template.pipeline_name()),
                &format!("name = \"{name}\""),
                1,
            ),
            _ => (*content).to_owned(),
        };
        write(&path, &content)?;
        written.push(path);
    }
    if let Some(path) = ignore_state(dir)? {
        written.push(path);
    }
    Ok(written)
}

/// DIR's own name, when it is a valid pipeline name (`.` is the current directory's name).
fn dir_pipeline_name(dir: &Path) -> Option<String> {
    let absolute = std::path::absolute(dir).ok()?;
    let name = absolute.file_name()?.to_str()?;
    crate::names::is_dns1123_label(name).then(|| name.to_owned())
}

/// Adds `.mlk/` to `dir/.gitignore` unless a line already ignores it; returns the path when
/// the file was written.
fn ignore_state(dir: &Path) -> Result<Option<PathBuf>, InitError> {
    let path = dir.join(".gitignore");
    let old = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(InitError::Io {
                path: display(&path),
                message: e.to_string(),
            });
        }
    };
    let ignored = old
        .lines()
        .any(|l| matches!(l.trim(), ".mlk" | ".mlk/" | "/.mlk" | "/.mlk/"));
    if ignored {
        return Ok(None);
    }
    let mut new = old;
    if !new.is_empty() && !new.ends_with('\n') {
        new.push('\n');
    }
    new.push_str(".mlk/\n");
    write(&path, &new)?;
    Ok(Some(path))
}

fn write(path: &Path, content: &str) -> Result<(), InitError> {
    write_atomic(path, content).map_err(|e| InitError::Io {
        path: e.path,
        message: e.message,
    })
}

fn display(p: &Path) -> String {
    let s = p.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").map(str::to_owned).unwrap_or(s)
}
