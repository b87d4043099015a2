//! Waiting for a step: Kueue admission, failed steps, invalid images, timeouts and expired
//! watches.

use super::{Cluster, KUEUE, PIPELINE, STACK, lines};
use crate::fake_api::{QUOTA_MESSAGE, Script};

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
fn a_failed_steps_workload_is_deleted_unless_kept() {
    // Two failure kinds: the job failed, and the container could not be created.
    let failures = [
        Script {
            lines: vec!["loss is nan".into()],
            fail: true,
            ..Script::default()
        },
        Script {
            stuck: Some("CreateContainerConfigError".into()),
            ..Script::default()
        },
    ];
    for failure in failures {
        let c = Cluster::new(PIPELINE, STACK);
        c.api.script("train", failure.clone());
        let out = c.run(&[]);
        assert_eq!(out.code, 1, "{}", out.stderr);
        let jobs = c.api.objects("jobs");
        assert_eq!(jobs.len(), 1, "only prep's job is left: {jobs:?}");
        assert!(jobs.keys().all(|j| j.starts_with("t-prep-")), "{jobs:?}");
        assert!(
            out.stderr.contains("deleted (--keep-failed keeps"),
            "{}",
            out.stderr
        );

        let c = Cluster::new(PIPELINE, STACK);
        c.api.script("train", failure);
        let out = c.run(&["--keep-failed"]);
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert_eq!(c.api.objects("jobs").len(), 2, "the failed job is kept");
        assert!(
            out.stderr.contains("is kept (--keep-failed)"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn a_step_not_running_after_its_pending_timeout_fails_saying_what_is_missing() {
    // Kueue's CRDs are served but its controller does not run: the Job stays suspended and
    // no Workload is ever made for it. The stack's default applies.
    let stack = STACK.replace("[cache]", "[defaults]\npending_timeout = \"1s\"\n\n[cache]");
    let c = Cluster::new(PIPELINE, &format!("{stack}{KUEUE}")).with_queue();
    c.api.without("kueue");
    let out = c.run(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "not running after 1s (pending_timeout): no Workload was created for Job t-prep-"
        ) && out
            .stderr
            .contains("is Kueue running, with the batch/job integration on?"),
        "{}",
        out.stderr
    );
    assert!(
        c.api.objects("jobs").is_empty(),
        "the failed Job was deleted"
    );

    // A PyTorchJob CRD but no training operator: no pod ever appears. The step's own
    // pending_timeout.
    let pipeline = "[pipeline]\nname = \"t\"\n\n[defaults]\nimage = \"alpine:3\"\n\n[steps.big]\nkind = \"pytorch\"\nreplicas = 2\npending_timeout = \"1s\"\ncommand = [\"python\", \"train.py\"]\n";
    let c = Cluster::new(pipeline, STACK);
    c.api.without("training-operator");
    let out = c.run(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("no pod was created for PyTorchJob t-big-")
            && out
                .stderr
                .contains("is the Kubeflow training operator running?"),
        "{}",
        out.stderr
    );

    // A KAI stack without the KAI scheduler: the pod stays Pending with no conditions.
    let stack = format!(
        "{}\n[scheduler]\nkind = \"kai\"\nqueue = \"research\"\n",
        STACK.replace("[cache]", "[defaults]\npending_timeout = \"1s\"\n\n[cache]")
    );
    let c = Cluster::new(PIPELINE, &stack);
    c.api.create(
        "/apis/scheduling.run.ai/v2/queues/research",
        serde_json::json!({"apiVersion": "scheduling.run.ai/v2", "kind": "Queue", "metadata": {"name": "research"}}),
    );
    c.api.without("kai-scheduler");
    let out = c.run(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("was never looked at by a scheduler: is `kai-scheduler` running?"),
        "{}",
        out.stderr
    );
}
