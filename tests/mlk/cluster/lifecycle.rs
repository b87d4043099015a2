//! A run's life after it was submitted: cache records in ConfigMaps, `mlk status` and
//! `mlk delete` by label, and Ctrl-C with and without a terminal.

use std::path::Path;

use super::{Cluster, KUEUE, PIPELINE, STACK, lines};
use crate::command;
use crate::fake_api::Script;

#[test]
fn cache_records_are_configmaps_and_a_second_run_is_cached() {
    let stack = STACK.replace("store = \"none\"", "store = \"configmap\"");
    let c = Cluster::new(PIPELINE, &stack);
    let out = c.run(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let records = c.api.objects("configmaps");
    assert_eq!(records.len(), 3, "{records:?}");
    let prep = records
        .values()
        .find(|r| r["metadata"]["labels"]["mlk.dev/step"] == "prep")
        .unwrap();
    assert_eq!(prep["metadata"]["labels"]["mlk.dev/cache"], "record");
    assert!(
        prep["data"]["record.json"]
            .as_str()
            .unwrap()
            .contains("\"step\": \"prep\"")
    );
    assert!(
        !c.dir.path().join(".mlk/cache").exists(),
        "nothing cached locally"
    );

    let plan = c.mlk(&["plan", "pipeline.toml", "--stack", "./stack.toml"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert_eq!(lines(&plan.stdout, " hit "), 3, "{}", plan.stdout);
    assert!(!plan.stdout.contains("could not reach"), "{}", plan.stdout);
    let applied = c.applied().len();
    assert_eq!(applied, 6, "3 jobs and 3 records");
    let again = c.run(&[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        c.applied().len(),
        applied,
        "nothing applied: every step is cached"
    );
}

#[test]
fn status_and_delete_find_a_run_by_its_label() {
    let c = Cluster::new(PIPELINE, STACK);
    let out = c.run(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let run_id = run_id_of(&out.stderr);
    let status = c.mlk(&["status", &run_id, "--cluster", "-n", "ml"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert_eq!(lines(&status.stdout, "Complete"), 3, "{}", status.stdout);
    assert!(status.stdout.contains(" Job/t-prep-"), "{}", status.stdout);
    let steps = steps_listed(&status.stdout);
    assert_eq!(
        steps,
        ["prep", "train", "eval"],
        "pipeline order, not by kind and name:\n{}",
        status.stdout
    );

    let deleted = c.mlk(&["delete", &run_id, "-n", "ml"]);
    assert_eq!(deleted.code, 0, "{}", deleted.stderr);
    assert_eq!(
        lines(&deleted.stdout, "deleted Job/t-"),
        3,
        "{}",
        deleted.stdout
    );
    assert!(c.api.objects("jobs").is_empty());
    let again = c.mlk(&["delete", &run_id, "-n", "ml"]);
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(
        again.stderr.contains("no objects labelled"),
        "{}",
        again.stderr
    );
}

/// The STEP column of `mlk status --cluster`'s table.
fn steps_listed(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .skip(2)
        .filter_map(|l| l.split_whitespace().next())
        .collect()
}

/// The run id in a run's closing line.
fn run_id_of(stderr: &str) -> String {
    regex::Regex::new(r"run (\d{8}-\d{6}-[0-9a-f]+) succeeded")
        .unwrap()
        .captures(stderr)
        .unwrap_or_else(|| panic!("no run id in:\n{stderr}"))[1]
        .to_owned()
}

#[test]
fn an_earlier_runs_status_shows_its_objects_that_a_later_run_applied_again() {
    // A later run that applies the same step with the same key again (a served model's
    // InferenceService on every run; here `--no-cache` replacing the Jobs) labels the object
    // with its own run: the earlier run's status still lists it, saying which run has it now.
    let c = Cluster::new(PIPELINE, STACK);
    let first = c.run(&[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let first = run_id_of(&first.stderr);
    let second = c.run(&["--no-cache"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let second = run_id_of(&second.stderr);
    assert_ne!(first, second);

    let status = c.mlk(&["status", &first, "--cluster", "-n", "ml"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    let again = format!("Complete (applied again by run {second})");
    assert_eq!(lines(&status.stdout, &again), 3, "{}", status.stdout);
    let steps = steps_listed(&status.stdout);
    assert_eq!(steps, ["prep", "train", "eval"], "{}", status.stdout);
    let latest = c.mlk(&["status", &second, "--cluster", "-n", "ml"]);
    assert_eq!(lines(&latest.stdout, "Complete"), 3, "{}", latest.stdout);
    assert!(
        !latest.stdout.contains("applied again"),
        "{}",
        latest.stdout
    );

    // `mlk delete` of the earlier run leaves what the later run owns.
    let deleted = c.mlk(&["delete", &first, "-n", "ml"]);
    assert_eq!(deleted.code, 2, "{}", deleted.stderr);
    assert_eq!(c.api.objects("jobs").len(), 3);
}

#[test]
fn a_second_ctrl_c_without_a_terminal_leaves_the_objects_running() {
    let c = Cluster::new(PIPELINE, &format!("{STACK}{KUEUE}")).with_queue();
    c.api.script(
        "prep",
        Script {
            admit_after: Some(std::time::Duration::from_secs(30)),
            ..Script::default()
        },
    );
    let mut cmd = command();
    cmd.current_dir(c.path())
        .env("KUBECONFIG", c.path().join("kubeconfig"))
        .args(["run", "pipeline.toml", "--stack", "./stack.toml"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let start = std::time::Instant::now();
    while c.api.objects("jobs").is_empty() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "never applied"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    for _ in 0..2 {
        let kill = std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("are left running in namespace `ml`"),
        "{stderr}"
    );
    assert!(stderr.contains("mlk delete "), "{stderr}");
    assert_eq!(c.api.objects("jobs").len(), 1, "the job is still there");
}

/// What a program in a terminal printed so far, and a way to type into that terminal.
///
/// The terminal is util-linux `script`'s pseudo-terminal: bytes written to its stdin reach
/// the terminal as typed (`\x03` is Ctrl-C, turned into SIGINT by the terminal), and
/// everything the program writes to the terminal comes out on its stdout.
struct Terminal {
    child: std::process::Child,
    seen: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Terminal {
    fn start(dir: &Path, args: &[&str]) -> Self {
        let line: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_mlk"))
            .chain(["--color", "never"])
            .chain(args.iter().copied())
            .map(|w| format!("'{w}'"))
            .collect();
        let mut child = std::process::Command::new("script")
            .args([
                "-q",
                "-f",
                "-e",
                "-c",
                &format!("exec {}", line.join(" ")),
                "/dev/null",
            ])
            .current_dir(dir)
            .env("KUBECONFIG", dir.join("kubeconfig"))
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut out = child.stdout.take().unwrap();
        let sink = std::sync::Arc::clone(&seen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = std::io::Read::read(&mut out, &mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Terminal { child, seen }
    }

    fn type_keys(&mut self, keys: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        std::io::Write::write_all(stdin, keys.as_bytes()).unwrap();
        std::io::Write::flush(stdin).unwrap();
    }

    /// Waits until the terminal shows `text` (panics after 15 s).
    fn wait_for(&self, text: &str) {
        let start = std::time::Instant::now();
        while !self.seen.lock().unwrap().contains(text) {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(15),
                "no {text:?} on the terminal:\n{}",
                self.seen.lock().unwrap()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Waits for the program to end; its exit code and everything it showed.
    fn finish(mut self) -> (i32, String) {
        drop(self.child.stdin.take());
        let status = self.child.wait().unwrap();
        // The reader thread gets the rest once `script` has closed its stdout.
        std::thread::sleep(std::time::Duration::from_millis(100));
        let seen = self.seen.lock().unwrap().clone();
        (status.code().unwrap_or(-1), seen)
    }
}

#[test]
fn a_second_ctrl_c_on_a_terminal_asks_and_deletes_the_objects() {
    let c = Cluster::new(PIPELINE, STACK);
    c.api.script(
        "prep",
        Script {
            admit_after: Some(std::time::Duration::from_secs(60)),
            ..Script::default()
        },
    );
    let mut term = Terminal::start(
        c.path(),
        &["run", "pipeline.toml", "--stack", "./stack.toml"],
    );
    let start = std::time::Instant::now();
    while c.api.objects("jobs").is_empty() {
        assert!(start.elapsed() < std::time::Duration::from_secs(10));
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    term.type_keys("\x03");
    term.wait_for("Ctrl-C again to terminate them");
    term.type_keys("\x03");
    term.wait_for("from the cluster? [y/N]");
    assert_eq!(
        c.api.objects("jobs").len(),
        1,
        "nothing deleted before the answer"
    );
    term.type_keys("y\n");
    let (code, seen) = term.finish();
    assert_eq!(code, 130, "{seen}");
    assert!(seen.contains("deleted 1 objects"), "{seen}");
    assert!(c.api.objects("jobs").is_empty(), "{seen}");
}
