//! `mlk run --detach` on the cluster: the background mlk runs the whole DAG, `mlk delete` and
//! Ctrl-C stop it, and a failed preflight is reported by the mlk that was started.

use super::{Cluster, PIPELINE, STACK};
use crate::command;
use crate::detach::{StopRuns, ended, run_id};
use crate::fake_api::Script;

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
