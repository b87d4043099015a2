//! The integration tests of mlk: one test binary, one module per feature.
//!
//! Every test runs the real `mlk` binary from the repository root with colour off, so paths in
//! diagnostics are relative and stable, and snapshots (in `tests/snapshots/`) show exactly what
//! a user sees. Accept new or changed snapshots with `INSTA_UPDATE=always cargo test` (or
//! `cargo insta review`), then read every changed `.snap` file before committing it.

#![allow(clippy::unwrap_used)]

mod artifacts;
mod bad_input;
mod cache;
mod cache_key;
mod cli;
mod cluster;
mod completions;
mod detach;
mod determinism;
mod diagnostics;
mod engine;
mod examples;
mod fake_api;
mod friction;
mod fuzz;
mod hangs;
mod init;
mod local_gpu;
mod man;
mod output_dir;
mod report;
mod roundtrip;
mod run;
mod s3;
mod schema;
mod secrets;
mod stack;
mod torn;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The repository root: the working directory of every `mlk` the tests run.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// What one run of `mlk` did.
#[derive(Debug)]
pub struct Run {
    /// The exit code.
    pub code: i32,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
}

impl Run {
    /// The exit code and stderr, the way diagnostic snapshots show them.
    pub fn code_and_stderr(&self) -> String {
        format!("exit code: {}\n--- stderr\n{}", self.code, self.stderr)
    }
}

/// `mlk` with colour off, no stack from the environment, in the repository root.
pub fn command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mlk"));
    c.current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("MLK_STACK")
        .env_remove("CLICOLOR_FORCE")
        // No test may reach a real cluster: a kubeconfig that does not exist.
        .env(
            "KUBECONFIG",
            root().join("tests/fixtures/no-such-kubeconfig"),
        )
        // Nor anything else off this machine: HTTP clients that read the proxy variables
        // (the object stores' and their credential lookups) send everything not for a
        // loopback address to a closed port, where it fails at once.
        .envs(
            [
                "HTTP_PROXY",
                "HTTPS_PROXY",
                "ALL_PROXY",
                "http_proxy",
                "https_proxy",
                "all_proxy",
            ]
            .map(|v| (v, "http://127.0.0.1:9")),
        )
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .args(["--color", "never"])
        .stdin(Stdio::null());
    c
}

/// Runs `mlk ARGS…` (see [`command`]) to completion.
pub fn mlk<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    run(command().args(args))
}

/// Runs a prepared command to completion.
pub fn run(c: &mut Command) -> Run {
    let out = c.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// insta settings shared by every snapshot: files in `tests/snapshots/`, named without the
/// module path.
pub fn snapshots() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(root().join("tests/snapshots"));
    s.set_prepend_module_to_snapshot(false);
    s.set_omit_expression(true);
    s
}

/// One (pipeline, stack) pair of `examples/matrix.txt`, by file stem.
#[derive(Debug, Clone)]
pub struct Pair {
    /// Pipeline under `examples/pipelines/`, without `.toml`.
    pub pipeline: String,
    /// Stack under `examples/stacks/`, without `.toml`.
    pub stack: String,
}

impl Pair {
    /// The pipeline's path, relative to the repository root.
    pub fn pipeline_path(&self) -> String {
        format!("examples/pipelines/{}.toml", self.pipeline)
    }
    /// The stack's path, relative to the repository root.
    pub fn stack_path(&self) -> String {
        format!("examples/stacks/{}.toml", self.stack)
    }
    /// `mlk render` of this pair; panics with stderr unless it exits 0.
    pub fn render(&self) -> String {
        let out = mlk(&[
            "render",
            &self.pipeline_path(),
            "--stack",
            &self.stack_path(),
        ]);
        assert_eq!(out.code, 0, "rendering {self:?} failed:\n{}", out.stderr);
        out.stdout
    }
    /// `mlk plan -o json` of this pair; panics with stderr unless it exits 0. It runs in an
    /// empty directory, so cache records a developer made with `mlk run` in the repository
    /// (`.mlk/cache/`) cannot turn a `miss` of the snapshot into a `hit`.
    pub fn plan_json(&self) -> String {
        self.plan("json")
    }
    /// `mlk plan -o FORMAT` of this pair, in an empty directory (see [`Pair::plan_json`]);
    /// panics with stderr unless it exits 0.
    pub fn plan(&self, format: &str) -> String {
        let empty = tempfile::tempdir().unwrap();
        let out = run(command().current_dir(empty.path()).args([
            "plan",
            root().join(self.pipeline_path()).to_str().unwrap(),
            "--stack",
            root().join(self.stack_path()).to_str().unwrap(),
            "-o",
            format,
        ]));
        assert_eq!(out.code, 0, "plan of {self:?} failed:\n{}", out.stderr);
        out.stdout
    }
}

/// Every pair of `examples/matrix.txt`, in file order.
pub fn matrix() -> Vec<Pair> {
    let text = std::fs::read_to_string(root().join("examples/matrix.txt")).unwrap();
    let mut pairs = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let mut words = line.split_whitespace();
        let Some(pipeline) = words.next() else {
            continue;
        };
        let stacks: Vec<&str> = words.collect();
        assert!(
            !stacks.is_empty(),
            "matrix.txt: `{pipeline}` lists no stack"
        );
        for stack in stacks {
            pairs.push(Pair {
                pipeline: pipeline.to_owned(),
                stack: stack.to_owned(),
            });
        }
    }
    assert!(!pairs.is_empty(), "examples/matrix.txt lists no pair");
    pairs
}

/// Every file directly in `dir` (relative to the repository root) whose name ends with `ext`,
/// sorted.
pub fn files(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.to_string_lossy().ends_with(ext))
        .collect();
    out.sort();
    out
}

/// Compares a committed generated file (relative to the repository root) with `generated`;
/// with `update`, rewrites it. Returns whether it was out of date and left so.
pub fn stale_generated_file(rel: &str, generated: &str, update: bool) -> bool {
    let path = root().join(rel);
    if std::fs::read_to_string(&path).ok().as_deref() == Some(generated) {
        return false;
    }
    if update {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, generated).unwrap();
        return false;
    }
    true
}
