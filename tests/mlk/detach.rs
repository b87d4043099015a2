//! `mlk run --detach` on the local backend: the run goes on in a background mlk process that
//! `mlk status`, `mlk logs -f` and `mlk delete` reach through the run record.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::run::{Project, state, wait_for};

/// Stops every run under `dir` that is still going when a test ends (also when it failed), so
/// that no background mlk outlives its test.
pub(crate) struct StopRuns<'a>(pub(crate) &'a Path);

impl Drop for StopRuns<'_> {
    fn drop(&mut self) {
        let Ok(entries) = std::fs::read_dir(self.0.join(".mlk/runs")) else {
            return;
        };
        for e in entries.flatten() {
            let Ok(text) = std::fs::read_to_string(e.path().join("run.json")) else {
                continue;
            };
            let record: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            if record["state"] == "running"
                && let Some(pid) = record["pid"].as_i64()
            {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap()),
                    nix::sys::signal::Signal::SIGTERM,
                );
            }
        }
    }
}

/// The record of run `id`, once it has ended (panics after 30 s).
pub(crate) fn ended(dir: &Path, id: &str) -> serde_json::Value {
    let path = dir.join(".mlk/runs").join(id).join("run.json");
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&text)
            && v["state"] != "running"
        {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "run {id} has not ended:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A run id as `mlk run` prints it.
pub(crate) fn run_id(stdout: &str) -> String {
    let id = stdout.trim();
    assert!(
        regex::Regex::new(r"^\d{8}-\d{6}-[0-9a-f]{4}$")
            .unwrap()
            .is_match(id),
        "not a run id: {stdout:?}"
    );
    id.to_owned()
}

#[test]
fn detach_returns_at_once_and_the_background_runs_the_whole_dag() {
    let p = Project::new(
        r#"
[steps.a]
timeout = "20s"
command = ["sh", "-c", "echo a-begins; while [ ! -e go ]; do sleep 0.01; done; echo a-ends"]

[steps.b]
after = ["a"]
# The variable that marks the background mlk is not passed on.
command = ["sh", "-c", "echo b-ran ${MLK_DETACHED_RUN:-none}; touch b.ran"]
"#,
    );
    let _stop = StopRuns(p.path());
    // `a` waits for a file only the test writes: `mlk run` returned while `a` was running.
    let out = p.run(&["--detach"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let id = run_id(&out.stdout);
    assert!(
        out.stderr
            .contains(&format!("run {id} goes on in the background (mlk process "))
            && out.stderr.contains(&format!("mlk logs {id} -f")),
        "{}",
        out.stderr
    );
    let status = p.status_json();
    assert_eq!(status["state"], "running");
    assert_eq!(state(&status, "a")["state"], "running");
    assert_eq!(state(&status, "b")["state"], "waiting");

    // `mlk logs -f` follows until the run ends, also what is written after it started.
    let follow = p
        .command()
        .args(["logs", &id, "-f"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&p.path().join(".mlk/runs").join(&id).join("a.log"));
    std::fs::write(p.path().join("go"), "").unwrap();
    let record = ended(p.path(), &id);
    assert_eq!(record["state"], "succeeded", "{record:#}");
    assert!(
        p.exists("b.ran"),
        "the step after the detached one did not run"
    );
    let followed = crate::run::finish(follow);
    assert_eq!(followed.code, 0, "{}", followed.stderr);
    assert_eq!(
        followed.stdout, "[a] a-begins\n[a] a-ends\n[b] b-ran none\n",
        "{}",
        followed.stderr
    );
    assert!(
        followed.stderr.contains(&format!("run {id} succeeded")),
        "{}",
        followed.stderr
    );
    // The background process's messages are kept with the run.
    let messages = p.read(&format!(".mlk/runs/{id}/driver.log"));
    assert!(
        messages.contains(&format!("run {id} succeeded")),
        "{messages}"
    );
}

#[test]
fn delete_stops_a_detached_run_and_its_steps() {
    let p = Project::new(
        r#"
[steps.long]
command = ["sh", "-c", "echo $$ > long.pid; echo started; sleep 60"]

[steps.after]
after = ["long"]
command = ["sh", "-c", "touch after.ran"]
"#,
    );
    let _stop = StopRuns(p.path());
    let out = p.run(&["--detach"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let id = run_id(&out.stdout);
    wait_for(&p.path().join("long.pid"));
    let deleted = p.mlk(&["delete", &id]);
    assert_eq!(deleted.code, 0, "{}", deleted.stderr);
    assert!(
        deleted.stderr.contains(&format!("stopped run {id}")),
        "{}",
        deleted.stderr
    );
    let record = ended(p.path(), &id);
    assert_eq!(record["state"], "interrupted", "{record:#}");
    assert_eq!(
        state(&record, "long")["note"],
        "terminated by SIGTERM",
        "{record:#}"
    );
    assert_eq!(state(&record, "after")["state"], "not-run");
    assert!(!p.exists("after.ran"));
    // The step's process is gone, not left behind.
    let pid: i32 = p.read("long.pid").trim().parse().unwrap();
    let gone = Instant::now() + Duration::from_secs(10);
    while nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok() {
        assert!(Instant::now() < gone, "step process {pid} still runs");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Deleting it again: nothing left to do, and said so.
    let again = p.mlk(&["delete", &id]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stderr.contains("has ended: nothing to delete"),
        "{}",
        again.stderr
    );
}

#[test]
fn a_run_whose_mlk_was_killed_shows_as_abandoned() {
    let p = Project::new(
        r#"
[steps.long]
timeout = "20s"
command = ["sh", "-c", "while [ ! -e stop ]; do sleep 0.01; done"]
"#,
    );
    let _stop = StopRuns(p.path());
    let out = p.run(&["--detach"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let id = run_id(&out.stdout);
    let pid = p.status_json()["pid"].as_i64().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap()),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    // Its step notices nothing; let it end.
    std::fs::write(p.path().join("stop"), "").unwrap();
    let start = Instant::now();
    let status = loop {
        let out = p.mlk(&["status", &id]);
        if out.stdout.contains("abandoned") {
            break out;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{}", out.stdout);
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        status.stdout.contains(&format!(
            ": abandoned (its mlk process {pid} ended without finishing it"
        )),
        "{}",
        status.stdout
    );
    let logs = p.mlk(&["logs", &id, "-f"]);
    assert_eq!(logs.code, 0, "{}", logs.stderr);
    assert!(logs.stderr.contains("was abandoned"), "{}", logs.stderr);
}

#[test]
fn a_detached_run_that_cannot_start_says_why_here() {
    let p = Project::new(
        r#"
[steps.a]
env = { TOKEN = { secret = "wandb", key = "api-key" } }
command = ["sh", "-c", "echo never"]
"#,
    );
    let out = p.run(&["--detach"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stdout, "", "no run id for a run that did not start");
    assert!(
        out.stderr.contains("MLK_SECRET_WANDB_API_KEY is not set"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_detached_run_with_everything_cached_prints_its_id() {
    let p = Project::new(
        r#"
[steps.a]
command = ["sh", "-c", "echo once >> count"]
"#,
    );
    assert_eq!(p.run(&[]).code, 0);
    let out = p.run(&["--detach"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let id = run_id(&out.stdout);
    assert!(out.stderr.contains("a: cached"), "{}", out.stderr);
    assert_eq!(ended(p.path(), &id)["state"], "succeeded");
    assert_eq!(p.read("count"), "once\n");
}
