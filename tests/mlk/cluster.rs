//! `mlk run` on the kubernetes backend, against the fake API server in [`crate::fake_api`].
//!
//! Every test starts its own server on 127.0.0.1 and points `KUBECONFIG` at it; the scripted
//! controllers finish each workload in well under a second.

use std::path::Path;

use crate::detach::{StopRuns, ended, run_id};
use crate::fake_api::{FakeApi, QUOTA_MESSAGE, Script};
use crate::{Run, command, run};

const PIPELINE: &str = r#"[pipeline]
name = "t"

[defaults]
image = "alpine:3"

[steps.prep]
command = ["sh", "-c", "echo prep"]

[steps.train]
after = ["prep"]
command = ["sh", "-c", "echo train"]

[steps.eval]
after = ["train"]
command = ["sh", "-c", "echo eval"]
"#;

const STACK: &str = "[stack]\nname = \"fake\"\nbackend = \"kubernetes\"\nnamespace = \"ml\"\n\n[cache]\nstore = \"none\"\n";

const KUEUE: &str = "\n[scheduler]\nkind = \"kueue\"\nqueue = \"team\"\n";

/// A project directory with a pipeline, a stack and a kubeconfig for `api`.
struct Cluster {
    dir: tempfile::TempDir,
    api: FakeApi,
}

impl Cluster {
    fn new(pipeline: &str, stack: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pipeline.toml"), pipeline).unwrap();
        std::fs::write(dir.path().join("stack.toml"), stack).unwrap();
        let api = FakeApi::start();
        api.kubeconfig(dir.path());
        Cluster { dir, api }
    }

    /// Creates Kueue's LocalQueue `team` in namespace `ml`.
    fn with_queue(self) -> Self {
        self.api.create(
            "/apis/kueue.x-k8s.io/v1beta1/namespaces/ml/localqueues/team",
            serde_json::json!({"apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "LocalQueue", "metadata": {"name": "team", "namespace": "ml"}}),
        );
        self
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn mlk(&self, args: &[&str]) -> Run {
        let mut c = command();
        c.current_dir(self.path())
            .env("KUBECONFIG", self.path().join("kubeconfig"));
        run(c.args(args))
    }

    fn run(&self, args: &[&str]) -> Run {
        let mut all = vec!["run", "pipeline.toml", "--stack", "./stack.toml"];
        all.extend_from_slice(args);
        self.mlk(&all)
    }

    /// The steps whose Job was applied (not dry run), in order.
    fn applied(&self) -> Vec<String> {
        self.api
            .requests()
            .iter()
            .filter(|r| r.starts_with("PATCH ") && !r.contains("dryRun"))
            .map(|r| {
                r.split('?')
                    .next()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }
}

fn lines(text: &str, needle: &str) -> usize {
    text.lines().filter(|l| l.contains(needle)).count()
}

fn script(lines: &[&str]) -> Script {
    Script {
        lines: lines.iter().map(|l| (*l).to_owned()).collect(),
        ..Script::default()
    }
}

#[test]
fn three_steps_run_in_order_with_server_side_apply() {
    let c = Cluster::new(PIPELINE, STACK);
    c.api.script("prep", script(&["prep says hi"]));
    c.api.script("train", script(&["epoch 1", "epoch 2"]));
    let out = c.run(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    for l in ["prep says hi", "epoch 1", "epoch 2", "hello from eval"] {
        assert_eq!(lines(&all, l), 1, "{l} in:\n{all}");
    }
    let applied = c.applied();
    assert_eq!(applied.len(), 3, "{applied:?}");
    assert!(applied[0].starts_with("t-prep-") && applied[1].starts_with("t-train-"));
    assert!(applied[2].starts_with("t-eval-"));
    let patch = c
        .api
        .requests()
        .into_iter()
        .find(|r| r.starts_with("PATCH"))
        .unwrap();
    assert!(patch.contains("fieldManager=mlk"), "{patch}");
    assert!(patch.contains("fieldValidation=Strict"), "{patch}");
    let jobs = c.api.objects("jobs");
    let run_ids: std::collections::BTreeSet<_> = jobs
        .values()
        .map(|j| {
            j["metadata"]["labels"]["mlk.dev/run"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(run_ids.len(), 1, "one run label on every job: {run_ids:?}");
}

#[test]
fn a_failing_step_stops_the_run() {
    let c = Cluster::new(PIPELINE, STACK);
    c.api.script(
        "train",
        Script {
            lines: vec!["loss is nan".into()],
            fail: true,
            ..Script::default()
        },
    );
    let out = c.run(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("step `train` failed"), "{}", out.stderr);
    assert!(out.stderr.contains("loss is nan"), "{}", out.stderr);
    assert!(
        out.stderr.contains("BackoffLimitExceeded"),
        "{}",
        out.stderr
    );
    assert_eq!(c.applied().len(), 2, "eval is never applied");
}

#[test]
fn a_suspended_job_waits_for_kueue_admission() {
    let c = Cluster::new(PIPELINE, &format!("{STACK}{KUEUE}")).with_queue();
    c.api.script(
        "prep",
        Script {
            lines: vec!["admitted".into()],
            admit_after: Some(std::time::Duration::from_millis(700)),
            ..Script::default()
        },
    );
    let out = c.run(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    // Why, from the conditions of Kueue's Workload for the Job (found by its uid label).
    let why = format!("suspended: waiting for Kueue admission: {QUOTA_MESSAGE}");
    assert_eq!(lines(&all, &format!("[prep] mlk: {why}")), 1, "{all}");
    assert_eq!(lines(&all, "admitted"), 1, "{all}");
    assert!(
        out.stderr
            .contains(&format!("prep: pending: {why}\nprep: running\n")),
        "the progress line says why, then that it runs:\n{}",
        out.stderr
    );
    assert!(
        c.api
            .requests()
            .iter()
            .any(|r| r.contains("/workloads?") && r.contains("kueue.x-k8s.io%2Fjob-uid%3Duid-")),
        "the Workload is found by the job-uid label"
    );
}

#[test]
fn logs_survive_a_container_restart_and_a_dropped_stream() {
    let c = Cluster::new(PIPELINE, STACK);
    let numbered: Vec<String> = (1..=6).map(|i| format!("line {i} of train")).collect();
    c.api.script(
        "train",
        Script {
            lines: numbered.clone(),
            restart_after: Some(3),
            ..Script::default()
        },
    );
    c.api.drop_next_log_after("-train-", 1);
    let out = c.run(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    for l in &numbered {
        assert_eq!(lines(&all, l), 1, "{l} exactly once in:\n{all}");
    }
    let reopened = c
        .api
        .requests()
        .iter()
        .filter(|r| r.contains("-train-") && r.contains("/log?") && r.contains("sinceTime="))
        .count();
    assert!(
        reopened >= 2,
        "the stream was reopened after the drop and the restart"
    );
}

#[test]
fn server_errors_and_conflicts_during_apply_are_retried() {
    let c = Cluster::new(PIPELINE, STACK);
    c.api.fail_next_apply(500);
    c.api.fail_next_apply(409);
    c.api.fail_next_apply(429);
    let out = c.run(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(c.api.objects("jobs").len(), 3);
}

#[test]
fn an_apply_whose_answer_is_lost_is_applied_again_once() {
    let c = Cluster::new(PIPELINE, STACK);
    c.api.script("prep", script(&["prep ran"]));
    // The server applies prep's Job and then closes the connection: the client cannot tell,
    // retries, and server-side apply makes the second apply the same object.
    c.api.drop_next_apply_answer();
    let out = c.run(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let prep = c.applied();
    assert!(
        prep[0].starts_with("t-prep-") && prep[1] == prep[0],
        "{prep:?}"
    );
    assert_eq!(prep.len(), 4, "prep twice, train, eval: {prep:?}");
    assert_eq!(c.api.objects("jobs").len(), 3);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert_eq!(lines(&all, "prep ran"), 1, "{all}");
}

#[test]
fn dry_run_server_applies_nothing_and_reports_per_object() {
    let c = Cluster::new(PIPELINE, STACK);
    let out = c.run(&["--dry-run=server"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(lines(&out.stdout, "accepted"), 3, "{}", out.stdout);
    assert!(c.api.objects("jobs").is_empty());
    assert!(c.api.requests().iter().any(|r| r.contains("dryRun=All")));
}

#[test]
fn a_missing_crd_names_the_operator_before_anything_is_created() {
    let pipeline = format!(
        "{PIPELINE}\n[steps.big]\nkind = \"pytorch\"\nafter = [\"eval\"]\nreplicas = 2\ncommand = [\"python\", \"train.py\"]\n"
    );
    let c = Cluster::new(&pipeline, STACK);
    c.api.hide("PyTorchJob");
    let out = c.run(&[]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains("mlk::cluster::crd_missing"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("Kubeflow training operator"),
        "{}",
        out.stderr
    );
    assert!(c.applied().is_empty());
}

#[test]
fn preflight_checks_namespace_permissions_and_context() {
    let c = Cluster::new(PIPELINE, STACK);
    let out = c.run(&["-n", "elsewhere"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains("namespace `elsewhere` does not exist"),
        "{}",
        out.stderr
    );

    let out = c.run(&["--context", "nope"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains("mlk::cluster::context"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("fake"), "{}", out.stderr);

    c.api.deny("jobs");
    let out = c.run(&[]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains("mlk::cluster::denied"),
        "{}",
        out.stderr
    );
    assert!(c.applied().is_empty());
}

/// Every cluster diagnostic, as a user sees it (server port and paths masked).
#[test]
fn cluster_errors() {
    let pipeline = format!(
        "{PIPELINE}\n[steps.big]\nkind = \"pytorch\"\nafter = [\"eval\"]\nreplicas = 2\ncommand = [\"python\", \"train.py\"]\n"
    );
    let port = regex::Regex::new(r"127\.0\.0\.1:\d+").unwrap();
    let snapshot = |name: &str, c: &Cluster, out: Run| {
        let text = out
            .code_and_stderr()
            .replace(c.path().to_str().unwrap(), "[dir]");
        let text = port.replace_all(&text, "127.0.0.1:[port]").into_owned();
        crate::snapshots().bind(|| insta::assert_snapshot!(name, text));
    };
    let c = Cluster::new(&pipeline, STACK);
    c.api.hide("PyTorchJob");
    snapshot("cluster-crd-missing", &c, c.run(&[]));
    let c = Cluster::new(PIPELINE, &format!("{STACK}{KUEUE}"));
    snapshot("cluster-queue-missing", &c, c.run(&[]));
    c.api.hide("LocalQueue");
    snapshot("cluster-kueue-missing", &c, c.run(&[]));
    let c = Cluster::new(PIPELINE, STACK);
    snapshot("cluster-no-namespace", &c, c.run(&["-n", "elsewhere"]));
    snapshot("cluster-no-context", &c, c.run(&["--context", "nope"]));
    snapshot(
        "cluster-bad-kubeconfig",
        &c,
        c.run(&["--kubeconfig", "no-such-kubeconfig"]),
    );
    c.api.deny("jobs");
    snapshot("cluster-denied", &c, c.run(&[]));
    for (code, name) in [
        (401, "cluster-unauthorized"),
        (403, "cluster-forbidden"),
        (400, "cluster-api"),
    ] {
        let c = Cluster::new(PIPELINE, STACK);
        c.api.fail_all(code);
        snapshot(name, &c, c.run(&[]));
    }
    let c = Cluster::new(PIPELINE, STACK);
    let config = std::fs::read_to_string(c.path().join("kubeconfig")).unwrap();
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = port
        .replace(&config, free.to_string().as_str())
        .into_owned();
    std::fs::write(c.path().join("kubeconfig"), config).unwrap();
    snapshot("cluster-unreachable", &c, c.run(&[]));
}

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
    let run_id = regex::Regex::new(r"run (\d{8}-\d{6}-[0-9a-f]+) succeeded")
        .unwrap()
        .captures(&out.stderr)
        .unwrap()[1]
        .to_owned();
    let status = c.mlk(&["status", &run_id, "--cluster", "-n", "ml"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert_eq!(lines(&status.stdout, "Complete"), 3, "{}", status.stdout);
    assert!(status.stdout.contains(" Job/t-prep-"), "{}", status.stdout);

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

#[test]
fn an_expired_watch_is_resumed_with_a_fresh_get() {
    let c = Cluster::new(PIPELINE, STACK);
    c.api.expire_watches(4);
    let out = c.run(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let watches = c
        .api
        .requests()
        .iter()
        .filter(|r| r.contains("watch=true"))
        .count();
    assert!(
        watches > 4,
        "the 4 expired watches, then served ones: {watches}"
    );
    assert!(!out.stderr.contains("failed"), "{}", out.stderr);
}

#[test]
fn an_invalid_image_fails_the_step_at_once() {
    let c = Cluster::new(PIPELINE, STACK);
    c.api.script(
        "prep",
        Script {
            stuck: Some("InvalidImageName".into()),
            ..Script::default()
        },
    );
    let start = std::time::Instant::now();
    let out = c.run(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(start.elapsed() < std::time::Duration::from_secs(10));
    assert!(out.stderr.contains("step `prep` failed"), "{}", out.stderr);
    assert!(
        out.stderr.contains("InvalidImageName as scripted"),
        "{}",
        out.stderr
    );
    assert_eq!(c.applied().len(), 1, "train and eval never start");
}

#[test]
fn a_timed_out_step_has_its_workload_deleted() {
    let pipeline = PIPELINE.replace("[steps.prep]\n", "[steps.prep]\ntimeout = \"1s\"\n");
    let c = Cluster::new(&pipeline, &format!("{STACK}{KUEUE}")).with_queue();
    c.api.script(
        "prep",
        Script {
            admit_after: Some(std::time::Duration::from_secs(30)),
            ..Script::default()
        },
    );
    let out = c.run(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("timed out after 1s"), "{}", out.stderr);
    assert!(c.api.objects("jobs").is_empty(), "the job was deleted");
}

#[test]
fn detach_leaves_the_whole_dag_to_a_background_mlk() {
    let c = Cluster::new(PIPELINE, STACK);
    let _stop = StopRuns(c.path());
    c.api.script(
        "prep",
        Script {
            lines: vec!["prep says hi".into()],
            admit_after: Some(std::time::Duration::from_millis(1500)),
            ..Script::default()
        },
    );
    let out = c.run(&["--detach"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let id = run_id(&out.stdout);
    let applied = c.applied();
    assert_eq!(applied.len(), 1, "only prep when mlk returns: {applied:?}");

    let record = ended(c.path(), &id);
    assert_eq!(record["state"], "succeeded", "{record:#}");
    assert_eq!(record["backend"], "kubernetes");
    let applied = c.applied();
    assert_eq!(applied.len(), 3, "{applied:?}");
    assert!(applied[1].starts_with("t-train-") && applied[2].starts_with("t-eval-"));
    for job in c.api.objects("jobs").values() {
        assert_eq!(job["metadata"]["labels"]["mlk.dev/run"], id.as_str());
    }
    // The background mlk followed the pods' logs into the run's files.
    let logs = c.mlk(&["logs", &id]);
    assert!(
        logs.stdout.contains("[prep] prep says hi"),
        "{}",
        logs.stdout
    );
    assert!(
        logs.stdout.contains("[eval] hello from eval"),
        "{}",
        logs.stdout
    );
}

#[test]
fn delete_stops_a_detached_run_and_deletes_its_objects() {
    let c = Cluster::new(PIPELINE, STACK);
    let _stop = StopRuns(c.path());
    c.api.script(
        "prep",
        Script {
            admit_after: Some(std::time::Duration::from_secs(60)),
            ..Script::default()
        },
    );
    let out = c.run(&["--detach"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let id = run_id(&out.stdout);
    let deleted = c.mlk(&["delete", &id]);
    assert_eq!(deleted.code, 0, "{}", deleted.stderr);
    assert!(
        deleted.stderr.contains(&format!("stopped run {id}")),
        "{}",
        deleted.stderr
    );
    assert!(
        deleted.stdout.starts_with("deleted Job/t-prep-"),
        "{}",
        deleted.stdout
    );
    let record = ended(c.path(), &id);
    assert_eq!(record["state"], "interrupted", "{record:#}");
    assert!(c.api.objects("jobs").is_empty());
    assert_eq!(c.applied().len(), 1, "nothing after prep was submitted");
}

#[test]
fn ctrl_c_before_a_detached_run_has_started_stops_it_too() {
    let c = Cluster::new(PIPELINE, STACK);
    let _stop = StopRuns(c.path());
    // Five refused applies: the background mlk retries for about 3 s before prep is submitted.
    for _ in 0..5 {
        c.api.fail_next_apply(500);
    }
    let mut cmd = command();
    cmd.current_dir(c.path())
        .env("KUBECONFIG", c.path().join("kubeconfig"))
        .args([
            "run",
            "pipeline.toml",
            "--stack",
            "./stack.toml",
            "--detach",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let start = std::time::Instant::now();
    while !c.api.requests().iter().any(|r| r.starts_with("PATCH ")) {
        assert!(start.elapsed() < std::time::Duration::from_secs(10));
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    crate::run::interrupt(&child);
    let out = crate::run::finish(child);
    assert_eq!(out.code, 130, "{}", out.stderr);
    assert_eq!(out.stdout, "", "no run id for a run that was stopped");
    let runs: Vec<_> = std::fs::read_dir(c.path().join(".mlk/runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    // The background mlk has ended too, and said what it left.
    assert_eq!(ended(c.path(), &runs[0])["state"], "interrupted");
    assert!(out.stderr.contains("interrupted"), "{}", out.stderr);
}

#[test]
fn a_detached_run_whose_preflight_fails_says_why_here() {
    let c = Cluster::new(PIPELINE, STACK);
    let _stop = StopRuns(c.path());
    let out = c.run(&["--detach", "-n", "elsewhere"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert_eq!(out.stdout, "", "no run id for a run that did not start");
    assert!(
        out.stderr.contains("namespace `elsewhere` does not exist"),
        "{}",
        out.stderr
    );
    assert!(c.applied().is_empty());
}

#[test]
fn logs_follow_a_replacement_pod() {
    let c = Cluster::new(PIPELINE, STACK);
    let numbered: Vec<String> = (1..=5).map(|i| format!("shard {i} done")).collect();
    c.api.script(
        "train",
        Script {
            lines: numbered.clone(),
            replace_after: Some(2),
            ..Script::default()
        },
    );
    let out = c.run(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    for l in &numbered {
        assert_eq!(lines(&all, l), 1, "{l} exactly once in:\n{all}");
    }
    assert_eq!(
        c.api.objects("pods").len(),
        4,
        "prep, eval, and two train pods"
    );
}

#[test]
fn a_pytorch_step_waits_for_succeeded_and_prefixes_its_replica() {
    let pipeline = "[pipeline]\nname = \"t\"\n\n[defaults]\nimage = \"alpine:3\"\n\n[steps.big]\nkind = \"pytorch\"\nreplicas = 2\ncommand = [\"python\", \"train.py\"]\n";
    let c = Cluster::new(pipeline, STACK);
    c.api.script("big", script(&["rank 0 ready"]));
    let out = c.run(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("[big/master-0] rank 0 ready"),
        "{}",
        out.stdout
    );
    assert_eq!(c.api.objects("pytorchjobs").len(), 1);
    // The stored log reads the same as the live one.
    let stored = c.mlk(&["logs", "latest"]);
    assert_eq!(stored.code, 0, "{}", stored.stderr);
    assert_eq!(stored.stdout, "[big/master-0] rank 0 ready\n");
}

impl Cluster {
    /// `mlk ARGS` in another directory (no `.mlk/runs` of this project), same cluster.
    fn elsewhere(&self, args: &[&str]) -> Run {
        let other = tempfile::tempdir().unwrap();
        let mut c = command();
        c.current_dir(other.path())
            .env("KUBECONFIG", self.path().join("kubeconfig"));
        run(c.args(args))
    }
}

#[test]
fn logs_follow_a_detached_run_from_another_process() {
    let c = Cluster::new(PIPELINE, STACK);
    let _stop = StopRuns(c.path());
    let numbered: Vec<String> = (1..=6).map(|i| format!("line {i} of prep")).collect();
    c.api.script(
        "prep",
        Script {
            lines: numbered.clone(),
            // Still not started when `mlk logs -f` begins: it must wait and follow.
            admit_after: Some(std::time::Duration::from_millis(800)),
            restart_after: Some(4),
            ..Script::default()
        },
    );
    c.api.drop_next_log_after("-prep-", 2);
    let out = c.run(&["--detach", "--only", "prep"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let run_id = out.stdout.trim().to_owned();

    let followed = c.elsewhere(&["logs", &run_id, "-f", "-n", "ml"]);
    assert_eq!(followed.code, 0, "{}", followed.stderr);
    for l in &numbered {
        assert_eq!(
            lines(&followed.stdout, &format!("[prep] {l}")),
            1,
            "{l} exactly once in:\n{}",
            followed.stdout
        );
    }
    assert_eq!(
        followed.stdout.lines().count(),
        numbered.len(),
        "{}",
        followed.stdout
    );
    let reopened = c
        .api
        .requests()
        .iter()
        .filter(|r| r.contains("-prep-") && r.contains("/log?") && r.contains("sinceTime="))
        .count();
    assert!(reopened >= 1, "the stream was reopened after the drop");
    let job = c.api.objects("jobs");
    let job = job.values().next().unwrap();
    assert_eq!(
        job["status"]["conditions"][0]["type"], "Complete",
        "exited when the job completed"
    );

    // Without -f: what is there, then exit; one step only; --cluster from the same directory.
    let once = c.elsewhere(&["logs", &run_id, "prep", "-n", "ml"]);
    assert_eq!(once.code, 0, "{}", once.stderr);
    assert_eq!(
        once.stdout.lines().count(),
        numbered.len(),
        "{}",
        once.stdout
    );
    assert!(
        once.stdout.starts_with("[prep] line 1 of prep\n"),
        "{}",
        once.stdout
    );
    let here = c.mlk(&["logs", &run_id, "--cluster", "-n", "ml"]);
    assert_eq!(here.code, 0, "{}", here.stderr);
    assert_eq!(here.stdout, once.stdout);
}

#[test]
fn logs_of_a_cluster_run_prefix_the_replica() {
    let pipeline = "[pipeline]\nname = \"t\"\n\n[defaults]\nimage = \"alpine:3\"\n\n[steps.big]\nkind = \"pytorch\"\nreplicas = 2\ncommand = [\"python\", \"train.py\"]\n";
    let c = Cluster::new(pipeline, STACK);
    let _stop = StopRuns(c.path());
    c.api.script("big", script(&["rank 0 ready"]));
    let out = c.run(&["--detach", "--only", "big"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let run_id = out.stdout.trim().to_owned();
    let followed = c.elsewhere(&["logs", &run_id, "-f", "-n", "ml"]);
    assert_eq!(followed.code, 0, "{}", followed.stderr);
    assert_eq!(followed.stdout, "[big/master-0] rank 0 ready\n");
}

#[test]
fn logs_of_an_unknown_run() {
    let c = Cluster::new(PIPELINE, STACK);
    let out = c.elsewhere(&["logs", "20260101-000000-dead", "-f", "-n", "ml"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("no run `20260101-000000-dead` in .mlk/runs, and no objects or pods labelled mlk.dev/run=20260101-000000-dead in namespace `ml`"),
        "{}",
        out.stderr
    );

    let port = regex::Regex::new(r"127\.0\.0\.1:\d+").unwrap();
    let config = std::fs::read_to_string(c.path().join("kubeconfig")).unwrap();
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = port
        .replace(&config, free.to_string().as_str())
        .into_owned();
    std::fs::write(c.path().join("kubeconfig"), config).unwrap();
    let out = c.elsewhere(&["logs", "20260101-000000-dead", "-n", "ml"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains("mlk::cluster::unreachable"),
        "{}",
        out.stderr
    );
}

/// (LISTs, WATCHes) of the pods of namespace `ml` whose label selector starts with
/// `selector` (URL-encoded) that `api` served so far.
fn pod_lists_and_watches(api: &FakeApi, selector: &str) -> (usize, usize) {
    let requests = api.requests();
    let of_pods: Vec<&String> = requests
        .iter()
        .filter(|r| {
            r.starts_with("GET /api/v1/namespaces/ml/pods?")
                && r.contains(&format!("labelSelector={selector}"))
        })
        .collect();
    let watches = of_pods.iter().filter(|r| r.contains("watch=true")).count();
    (of_pods.len() - watches, watches)
}

#[test]
fn pods_of_a_running_step_are_found_by_a_watch_not_by_polling() {
    let pipeline = "[pipeline]\nname = \"t\"\n\n[defaults]\nimage = \"alpine:3\"\n\n[steps.train]\ncommand = [\"python\", \"train.py\"]\n";
    let c = Cluster::new(pipeline, &format!("{STACK}{KUEUE}")).with_queue();
    let numbered: Vec<String> = (1..=6).map(|i| format!("part {i} written")).collect();
    c.api.script(
        "train",
        Script {
            lines: numbered.clone(),
            // Suspended for a while (no pod yet), then a pod that is replaced mid-step.
            admit_after: Some(std::time::Duration::from_secs(4)),
            replace_after: Some(3),
            ..Script::default()
        },
    );
    // Some watch (of the pods or of the Job) ends with 410 Gone and is started over.
    c.api.expire_watches(2);
    let out = c.run(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    for l in &numbered {
        assert_eq!(lines(&all, l), 1, "{l} exactly once in:\n{all}");
    }
    assert_eq!(
        c.api.objects("pods").len(),
        2,
        "the pod and its replacement"
    );
    let step = "mlk.dev%2Fpipeline%3Dt%2Cmlk.dev%2Fstep%3Dtrain%2C";
    let (lists, watches) = pod_lists_and_watches(&c.api, step);
    // Polling every 250 ms would list more than 15 times in the 4 s of suspension alone.
    // Here: the first list, one per expired watch and the last one; the progress line's
    // pending reasons come from the same watch.
    assert!(lists <= 4, "{lists} pod lists");
    assert!(watches >= 1, "{watches} pod watches");
}

#[test]
fn logs_follow_finds_the_pods_of_a_detached_run_by_a_watch() {
    let pipeline = "[pipeline]\nname = \"t\"\n\n[defaults]\nimage = \"alpine:3\"\n\n[steps.train]\ncommand = [\"python\", \"train.py\"]\n";
    let c = Cluster::new(pipeline, STACK);
    let _stop = StopRuns(c.path());
    let numbered: Vec<String> = (1..=6).map(|i| format!("part {i} written")).collect();
    c.api.script(
        "train",
        Script {
            lines: numbered.clone(),
            // No pod for a while after `mlk logs -f` begins, then one that is replaced.
            admit_after: Some(std::time::Duration::from_secs(3)),
            replace_after: Some(3),
            ..Script::default()
        },
    );
    let out = c.run(&["--detach"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let run_id = out.stdout.trim().to_owned();
    // A run's selector: a detached run's own process follows with the step's.
    let run = "mlk.dev%2Frun%3D";
    let before = pod_lists_and_watches(&c.api, run);
    let discovery = |api: &FakeApi| {
        let r = api.requests();
        r.iter().filter(|r| *r == "GET /apis/batch/v1").count()
    };
    let job_lists = |api: &FakeApi| {
        let r = api.requests();
        r.iter()
            .filter(|r| r.starts_with("GET /apis/batch/v1/namespaces/ml/jobs?"))
            .count()
    };
    let (discovered, listed) = (discovery(&c.api), job_lists(&c.api));

    let followed = c.elsewhere(&["logs", &run_id, "-f", "-n", "ml"]);
    assert_eq!(followed.code, 0, "{}", followed.stderr);
    for l in &numbered {
        assert_eq!(
            lines(&followed.stdout, &format!("] {l}")),
            1,
            "{l} exactly once in:\n{}",
            followed.stdout
        );
    }
    let after = pod_lists_and_watches(&c.api, run);
    let (lists, watches) = (after.0 - before.0, after.1 - before.1);
    // Polling every 250 ms would list more than 10 times in the 3 s before the pod exists.
    assert!(lists <= 4, "{lists} pod lists");
    assert!(watches >= 1, "{watches} pod watches");
    // The run's kinds are discovered once; its Jobs are looked at every 2 s, not every 250 ms
    // (about 4 s of following: at most a few lists, where 250 ms would make 16).
    assert_eq!(discovery(&c.api) - discovered, 1, "discovery of batch/v1");
    let job_lists = job_lists(&c.api) - listed;
    assert!(job_lists <= 5, "{job_lists} Job lists");
}
