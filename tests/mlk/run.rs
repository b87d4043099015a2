//! `mlk run`, `mlk status` and `mlk logs` on the local backend, with real processes.
//!
//! Every test works in its own temporary directory (the pipeline file lives there too, so
//! steps run there and `.mlk/` lands there). Concurrency is proven with a barrier-file
//! handshake rather than with timings alone.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Run, command, root, run};

/// A temporary project directory with `pipeline.toml`.
pub(crate) struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    /// A project whose pipeline has `steps` (TOML) after a fixed header.
    pub(crate) fn new(steps: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let text =
            format!("[pipeline]\nname = \"t\"\n\n[defaults]\nimage = \"alpine:3\"\n\n{steps}");
        std::fs::write(dir.path().join("pipeline.toml"), text).unwrap();
        Project { dir }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `mlk` in this directory.
    pub(crate) fn command(&self) -> Command {
        let mut c = command();
        c.current_dir(self.path())
            .env_remove("MLK_SECRET_WANDB_API_KEY");
        c
    }

    /// `mlk run pipeline.toml ARGS…` to completion.
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        run(self.command().args(["run", "pipeline.toml"]).args(args))
    }

    /// `mlk ARGS…` to completion in this directory.
    pub(crate) fn mlk(&self, args: &[&str]) -> Run {
        run(self.command().args(args))
    }

    pub(crate) fn exists(&self, name: &str) -> bool {
        self.path().join(name).exists()
    }

    pub(crate) fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path().join(name)).unwrap_or_default()
    }

    /// The latest run record.
    pub(crate) fn status_json(&self) -> serde_json::Value {
        let out = self.mlk(&["status", "-o", "json"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        serde_json::from_str(&out.stdout).unwrap()
    }

    /// Every file under `.mlk/`, with its contents.
    pub(crate) fn mlk_files(&self) -> Vec<(PathBuf, String)> {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
                    out.push((p, text));
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.path().join(".mlk"), &mut out);
        out
    }
}

/// The state of `step` in a `status -o json` document.
pub(crate) fn state<'a>(status: &'a serde_json::Value, step: &str) -> &'a serde_json::Value {
    status["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == step)
        .unwrap()
}

/// Waits until `path` exists (panics after 10 s).
pub(crate) fn wait_for(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub(crate) fn interrupt(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

pub(crate) fn finish(child: Child) -> Run {
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

#[test]
fn independent_steps_overlap_and_downstream_waits_for_both() {
    // `a` and `b` each wait for the other's marker: both finish only if they run together.
    let p = Project::new(
        r#"
[steps.a]
timeout = "10s"
command = ["sh", "-c", "touch a.started; while [ ! -e b.started ]; do sleep 0.01; done; touch a.done"]

[steps.b]
timeout = "10s"
command = ["sh", "-c", "touch b.started; while [ ! -e a.started ]; do sleep 0.01; done; touch b.done"]

[steps.c]
after = ["a", "b"]
command = ["sh", "-c", "test -e a.done && test -e b.done && echo both-done"]
"#,
    );
    let out = p.run(&["--jobs", "2"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("[c] both-done"), "{}", out.stdout);
    let pos = |s: &str| {
        out.stderr
            .find(s)
            .unwrap_or_else(|| panic!("no `{s}` in\n{}", out.stderr))
    };
    assert!(pos("c: running") > pos("a: done"));
    assert!(pos("c: running") > pos("b: done"));
}

#[test]
fn a_failure_stops_the_dag_and_prints_how_to_resume() {
    let p = Project::new(
        r#"
[steps.a]
command = ["sh", "-c", "echo preparing; echo boom >&2; exit 3"]

[steps.b]
after = ["a"]
command = ["sh", "-c", "touch b.ran"]
"#,
    );
    let out = p.run(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(!p.exists("b.ran"), "the downstream step ran");
    assert!(
        out.stderr.contains("error: step `a` failed: exit code 3"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("  boom"),
        "no last log lines:\n{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("to resume: mlk run pipeline.toml --from a"),
        "{}",
        out.stderr
    );
    let status = p.status_json();
    assert_eq!(status["state"], "failed");
    assert_eq!(state(&status, "a")["exit_code"], 3);
    assert_eq!(state(&status, "b")["state"], "not-run");
}

#[test]
fn a_step_is_retried_until_it_succeeds() {
    let p = Project::new(
        r#"
[steps.flaky]
retries = 2
command = ["sh", "-c", "if [ -e marker ]; then echo second; else touch marker; echo first; exit 1; fi"]
"#,
    );
    let out = p.run(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("flaky: failed with exit code 1, retrying (attempt 2 of 3)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains("[flaky] first\n[flaky] second\n"),
        "{}",
        out.stdout
    );
    assert_eq!(state(&p.status_json(), "flaky")["attempts"], 2);
}

#[test]
fn a_retried_attempt_finds_the_previous_attempts_checkpoint() {
    // The first attempt saves a checkpoint and dies; the retry resumes from it.
    let p = Project::new(
        r#"
[steps.train]
retries = 1
checkpoint = "/checkpoints/train"
command = ["sh", "-c", "if [ -e \"$MLK_CHECKPOINT_DIR/epoch\" ]; then echo resumed at $(cat \"$MLK_CHECKPOINT_DIR/epoch\"); else echo 3 > \"$MLK_CHECKPOINT_DIR/epoch\"; echo preempted; exit 1; fi"]
"#,
    );
    let out = p.run(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("[train] preempted\n[train] resumed at 3\n"),
        "{}",
        out.stdout
    );
    // Under the state directory, named by the step's cache key.
    let dirs: Vec<_> = std::fs::read_dir(p.path().join(".mlk/checkpoints/t/train"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    assert!(dirs[0].join("epoch").is_file());
}

#[test]
fn a_timeout_kills_the_step_quickly() {
    let p = Project::new(
        r#"
[steps.slow]
timeout = "1s"
command = ["sh", "-c", "sleep 30"]
"#,
    );
    let start = Instant::now();
    let out = p.run(&[]);
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("timed out after 1s"), "{}", out.stderr);
}

pub(crate) const CHAIN: &str = r#"
[steps.a]
outputs = ["x"]
command = ["sh", "-c", "echo a >> starts; echo from-a > \"$1\"", "a", "{{ outputs.x }}"]

[steps.b]
outputs = ["y"]
command = ["sh", "-c", "echo b >> starts; cat \"$1\" > \"$2\"", "b", "{{ steps.a.outputs.x }}", "{{ outputs.y }}"]

[steps.c]
command = ["sh", "-c", "echo c >> starts; cat \"$1\"", "c", "{{ steps.b.outputs.y }}"]
"#;

#[test]
fn a_second_run_is_all_cached_and_from_reruns_downstream() {
    let p = Project::new(CHAIN);
    let first = p.run(&[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(p.read("starts"), "a\nb\nc\n");
    assert!(first.stdout.contains("[c] from-a"), "{}", first.stdout);

    let second = p.run(&[]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(p.read("starts"), "a\nb\nc\n", "a process started");
    for step in ["a", "b", "c"] {
        assert!(
            second.stderr.contains(&format!("{step}: cached")),
            "{}",
            second.stderr
        );
    }
    assert!(
        second.stderr.contains("0 of 3 steps to run"),
        "{}",
        second.stderr
    );

    let dry = p.run(&["--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(
        dry.stdout.lines().skip(1).all(|l| l.contains(" cached ")),
        "{}",
        dry.stdout
    );

    let from = p.run(&["--from", "b"]);
    assert_eq!(from.code, 0, "{}", from.stderr);
    assert_eq!(p.read("starts"), "a\nb\nc\nb\nc\n");

    let only = p.run(&["--only", "a"]);
    assert_eq!(only.code, 0, "{}", only.stderr);
    assert_eq!(p.read("starts"), "a\nb\nc\nb\nc\na\n");

    let no_cache = p.run(&["--no-cache"]);
    assert_eq!(no_cache.code, 0, "{}", no_cache.stderr);
    assert_eq!(p.read("starts"), "a\nb\nc\nb\nc\na\na\nb\nc\n");
}

#[test]
fn from_needs_cached_upstream_steps() {
    let p = Project::new(CHAIN);
    let out = p.run(&["--from", "c"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("upstream step `b` has no cached result"),
        "{}",
        out.stderr
    );
    assert!(!p.exists("starts"));
    let out = p.run(&["--from", "nope"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
}

#[test]
fn secret_values_reach_the_step_and_nothing_else() {
    let p = Project::new(
        r#"
[steps.a]
env = { TOKEN = { secret = "wandb", key = "api-key" } }
command = ["sh", "-c", "test \"$TOKEN\" = s\"\"3cr3t-v4lue && echo token-ok; echo \"$MLK_STEP $MLK_PIPELINE\""]
"#,
    );
    let missing = p.run(&[]);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(
        missing
            .stderr
            .contains("MLK_SECRET_WANDB_API_KEY is not set"),
        "{}",
        missing.stderr
    );

    let out = run(p
        .command()
        .args(["-v", "run", "pipeline.toml"])
        .env("MLK_SECRET_WANDB_API_KEY", "s3cr3t-v4lue"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("[a] token-ok\n[a] a t\n"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("s3cr3t"));
    assert!(!out.stderr.contains("s3cr3t"));
    let files = p.mlk_files();
    assert!(!files.is_empty());
    for (path, text) in files {
        assert!(
            !text.contains("s3cr3t"),
            "{} holds the secret",
            path.display()
        );
    }
}

#[test]
fn log_lines_of_parallel_steps_are_never_torn() {
    let lines = 3000;
    let step = |n: u32| {
        format!(
            "[steps.s{n}]\ncommand = [\"sh\", \"-c\", 'i=0; while [ $i -lt {lines} ]; do echo \"line $i of s{n} with some padding to make it longer\"; echo \"err $i\" >&2; i=$((i+1)); done']\n"
        )
    };
    let p = Project::new(&(0..4).map(step).collect::<Vec<_>>().join("\n"));
    let out = p.run(&["--jobs", "4"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let re = regex::Regex::new(
        r"^\[(s[0-3])\] (line (\d+) of (s[0-3]) with some padding to make it longer|err (\d+))$",
    )
    .unwrap();
    let mut count = 0;
    for line in out.stdout.lines() {
        let c = re
            .captures(line)
            .unwrap_or_else(|| panic!("torn line: {line:?}"));
        if let Some(owner) = c.get(4) {
            assert_eq!(owner.as_str(), &c[1], "{line}");
        }
        count += 1;
    }
    assert_eq!(count, 4 * 2 * lines);
    let run_id = p.status_json()["run_id"].as_str().unwrap().to_owned();
    let log = p.read(&format!(".mlk/runs/{run_id}/s2.log"));
    assert_eq!(log.lines().count(), 2 * lines);
}

#[test]
fn status_and_logs_show_a_run() {
    let p = Project::new(CHAIN);
    assert_eq!(p.run(&[]).code, 0);
    let status = p.mlk(&["status"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(status.stdout.contains("succeeded"), "{}", status.stdout);
    assert!(
        status
            .stdout
            .lines()
            .any(|l| l.starts_with("b ") && l.contains("done")),
        "{}",
        status.stdout
    );
    let logs = p.mlk(&["logs", "latest"]);
    assert_eq!(logs.code, 0, "{}", logs.stderr);
    assert_eq!(logs.stdout, "[c] from-a\n");
    let one = p.mlk(&["logs", "latest", "c"]);
    assert_eq!(one.stdout, "from-a\n");
    assert_eq!(p.mlk(&["logs", "no-such-run"]).code, 2);
    assert_eq!(p.mlk(&["status", "no-such-run"]).code, 2);
}

#[test]
fn the_quickstart_runs_and_is_cached_the_second_time() {
    let dir = tempfile::tempdir().unwrap();
    let quickstart = root().join("examples/pipelines/quickstart.toml");
    let go = || {
        let mut c = command();
        c.current_dir(dir.path()).arg("run").arg(&quickstart);
        run(&mut c)
    };
    let first = go();
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first.stdout.contains("[evaluate] evaluate: accuracy"),
        "{}",
        first.stdout
    );
    let second = go();
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(
        second.stderr.contains("0 of 4 steps to run"),
        "{}",
        second.stderr
    );
    assert_eq!(second.stdout, "");
}

#[test]
fn first_ctrl_c_waits_for_running_steps() {
    let p = Project::new(
        r#"
[steps.a]
command = ["sh", "-c", "touch started; sleep 1; touch finished"]

[steps.b]
after = ["a"]
command = ["sh", "-c", "touch b.ran"]
"#,
    );
    let child = p
        .command()
        .args(["run", "pipeline.toml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&p.path().join("started"));
    interrupt(&child);
    let out = finish(child);
    assert_eq!(out.code, 130, "{}", out.stderr);
    assert!(p.exists("finished"), "the running step was not waited for");
    assert!(!p.exists("b.ran"), "a new step started after Ctrl-C");
    assert!(out.stderr.contains("interrupted"), "{}", out.stderr);
    assert_eq!(p.status_json()["state"], "interrupted");
}

#[test]
fn second_ctrl_c_terminates_running_steps() {
    let p = Project::new(
        r#"
[steps.a]
command = ["sh", "-c", "touch started; sleep 30; touch finished"]
"#,
    );
    let start = Instant::now();
    let child = p
        .command()
        .args(["run", "pipeline.toml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&p.path().join("started"));
    interrupt(&child);
    std::thread::sleep(Duration::from_millis(200));
    interrupt(&child);
    let out = finish(child);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(out.code, 130, "{}", out.stderr);
    assert!(
        out.stderr.contains("terminating running steps"),
        "{}",
        out.stderr
    );
    assert!(!p.exists("finished"));
    assert_eq!(state(&p.status_json(), "a")["state"], "failed");
}

#[test]
fn run_errors() {
    let p = Project::new(
        r#"
[steps.a]
outputs = ["x"]
env = { TOKEN = { secret = "wandb", key = "api-key" } }
command = ["sh", "-c", "echo a > \"$1\"", "a", "{{ outputs.x }}"]

[steps.b]
command = ["sh", "-c", "cat \"$1\"", "b", "{{ steps.a.outputs.x }}"]
"#,
    );
    let cases: [(&str, Vec<&str>); 3] = [
        ("run-from-unknown-step", vec!["--from", "bb"]),
        ("run-from-uncached-upstream", vec!["--from", "b"]),
        ("run-missing-secret", vec![]),
    ];
    for (name, args) in cases {
        let out = p.run(&args);
        let text = out
            .code_and_stderr()
            .replace(root().to_str().unwrap(), "[repo]");
        crate::snapshots().bind(|| insta::assert_snapshot!(name, text));
    }
    // `.mlk` is a file: the run directory cannot be created.
    std::fs::write(p.path().join(".mlk"), "").unwrap();
    let out = run(p
        .command()
        .args(["run", "pipeline.toml", "--no-cache"])
        .env("MLK_SECRET_WANDB_API_KEY", "x"));
    let text = out
        .code_and_stderr()
        .replace(p.path().to_str().unwrap(), "[dir]");
    crate::snapshots().bind(|| insta::assert_snapshot!("run-io-error", text));
}
