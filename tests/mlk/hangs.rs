//! Inputs, outputs and peers that must not hang mlk, grow its memory or make it signal the
//! wrong process: special files in inputs, endless output lines, an API server that never
//! answers, a run record whose pid now names another process.

use std::process::{Child, Command};
use std::time::Duration;

use crate::bad_input::run_bounded;
use crate::run::Project;

/// A diagnostic's text with its lines joined (a long message wraps anywhere).
fn unwrapped(stderr: &str) -> String {
    stderr
        .split_whitespace()
        .filter(|w| *w != "│")
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn a_fifo_in_an_input_is_an_error_not_a_hang() {
    let p = Project::new(
        r#"
[steps.a]
inputs = { raw = "data/" }
command = ["true"]
"#,
    );
    std::fs::create_dir(p.path().join("data")).unwrap();
    std::fs::write(p.path().join("data/a.txt"), "a").unwrap();
    let made = Command::new("mkfifo")
        .arg(p.path().join("data/pipe"))
        .status()
        .unwrap();
    assert!(made.success());
    for command in ["check", "plan", "render", "run"] {
        let out = run_bounded(p.command().args([command, "pipeline.toml"]));
        assert_eq!(out.code, 2, "{command}: {}", out.stderr);
        assert!(
            unwrapped(&out.stderr)
                .contains("data/pipe is a FIFO (named pipe): an input holds only regular files and directories"),
            "{command}: {}",
            out.stderr
        );
    }
}

#[test]
fn a_character_device_as_an_input_is_an_error() {
    let p = Project::new(
        r#"
[steps.a]
inputs = { raw = "/dev/zero" }
command = ["true"]
"#,
    );
    let out = run_bounded(p.command().args(["check", "pipeline.toml"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        unwrapped(&out.stderr).contains("/dev/zero is a character device"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_endless_output_line_is_stored_cut_and_said_once() {
    let p = Project::new(
        r#"
[steps.loud]
command = ["sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' x; echo; head -c 200000 /dev/zero | tr '\\0' y; echo; echo after"]
"#,
    );
    let out = p.run(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let run_id = p.status_json()["run_id"].as_str().unwrap().to_owned();
    let log = p.read(&format!(".mlk/runs/{run_id}/loud.log"));
    let lines: Vec<&str> = log.lines().collect();
    assert!(
        lines.iter().all(|l| l.len() <= 64 << 10),
        "{:?}",
        lines.iter().map(|l| l.len()).collect::<Vec<_>>()
    );
    assert_eq!(
        lines.len(),
        4,
        "{:?}",
        lines.iter().map(|l| l.len()).collect::<Vec<_>>()
    );
    assert_eq!(lines[0], "x".repeat(64 << 10));
    assert_eq!(lines[1], "mlk: line longer than 64 KiB truncated");
    assert_eq!(lines[2], "y".repeat(64 << 10));
    assert_eq!(lines[3], "after");
}

/// A `sleep` standing for an unrelated process that got a dead run's pid.
struct Bystander(Child);

impl Bystander {
    /// Panics if it was signalled.
    fn still_runs(&mut self) {
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            self.0.try_wait().unwrap().is_none(),
            "the bystander was signalled"
        );
    }
}

impl Drop for Bystander {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A finished run of `p` rewritten to say it is running in process `pid`, started at `start`.
fn running_record(p: &Project, pid: u32, start: Option<u64>) -> String {
    let out = p.run(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let id = p.status_json()["run_id"].as_str().unwrap().to_owned();
    let path = p.path().join(".mlk/runs").join(&id).join("run.json");
    let mut record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    record["state"] = "running".into();
    record["ended_unix_ms"] = serde_json::Value::Null;
    record["pid"] = pid.into();
    match start {
        Some(s) => record["pid_start"] = s.into(),
        None => {
            record.as_object_mut().unwrap().remove("pid_start");
        }
    }
    std::fs::write(&path, record.to_string()).unwrap();
    id
}

#[test]
fn a_reused_pid_is_not_signalled_and_the_run_shows_as_abandoned() {
    let p = Project::new("[steps.a]\ncommand = [\"true\"]\n");
    let mut sleep = Bystander(Command::new("sleep").arg("60").spawn().unwrap());
    // Its true start time is some tick count since boot; 1 is not it.
    let id = running_record(&p, sleep.0.id(), Some(1));
    let status = p.mlk(&["status", &id]);
    assert!(
        status.stdout.contains(&format!(
            ": abandoned (its mlk process {} ended",
            sleep.0.id()
        )),
        "{}",
        status.stdout
    );
    let deleted = p.mlk(&["delete", &id]);
    assert_eq!(deleted.code, 0, "{}", deleted.stderr);
    assert!(
        deleted.stderr.contains("nothing to delete"),
        "{}",
        deleted.stderr
    );
    sleep.still_runs();
}

#[test]
fn an_old_record_without_a_start_time_is_not_signalled() {
    let p = Project::new("[steps.a]\ncommand = [\"true\"]\n");
    let mut sleep = Bystander(Command::new("sleep").arg("60").spawn().unwrap());
    let id = running_record(&p, sleep.0.id(), None);
    let status = p.mlk(&["status", &id]);
    assert!(status.stdout.contains("abandoned?"), "{}", status.stdout);
    let deleted = p.mlk(&["delete", &id]);
    assert_eq!(deleted.code, 3, "{}", deleted.stderr);
    assert!(
        deleted.stderr.contains("not signalling it"),
        "{}",
        deleted.stderr
    );
    sleep.still_runs();
}

#[test]
fn an_api_server_that_never_answers_is_given_up_on_with_a_message() {
    let api = crate::fake_api::FakeApi::start();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = api.kubeconfig(dir.path());
    std::fs::write(
        dir.path().join("pipeline.toml"),
        "[pipeline]\nname = \"t\"\n\n[defaults]\nimage = \"alpine:3\"\n\n[steps.a]\ncommand = [\"true\"]\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("stack.toml"),
        "[stack]\nname = \"fake\"\nbackend = \"kubernetes\"\nnamespace = \"ml\"\n\n[cache]\nstore = \"none\"\n",
    )
    .unwrap();
    api.stop_answering();
    let run_id = "20261206-000000-abcd";
    let commands = [
        &["run", "pipeline.toml", "--stack", "./stack.toml"][..],
        &["logs", run_id, "--cluster", "-n", "ml"],
        &["status", run_id, "--cluster", "-n", "ml"],
    ];
    // At once: each waits out the whole bound; run_bounded fails the test after 20 s.
    std::thread::scope(|scope| {
        for args in commands {
            let (dir, kubeconfig) = (dir.path(), &kubeconfig);
            scope.spawn(move || {
                let mut c = crate::command();
                c.current_dir(dir).env("KUBECONFIG", kubeconfig).args(args);
                let out = run_bounded(&mut c);
                assert_eq!(out.code, 3, "{args:?}: {}", out.stderr);
                let text = unwrapped(&out.stderr);
                assert!(
                    text.contains("waiting for the API server at http://127.0.0.1:"),
                    "{args:?}: {}",
                    out.stderr
                );
                assert!(
                    text.contains("no answer from the API server within 15s"),
                    "{args:?}: {}",
                    out.stderr
                );
            });
        }
    });
}
