//! `mlk wait KIND NAME`, the engine's wait task, against the fake API server: mlk's success
//! and failure rules, and why a workload's pods are not running.

use serde_json::json;

use crate::fake_api::FakeApi;
use crate::{Run, command, run};

/// A fake server holding `objects` (URL path → object), and `mlk wait ARGS` run against it.
fn wait(objects: &[(&str, serde_json::Value)], args: &[&str]) -> Run {
    let api = FakeApi::start();
    for (path, obj) in objects {
        api.create(path, obj.clone());
    }
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = api.kubeconfig(dir.path());
    run(command()
        .current_dir(dir.path())
        .env("KUBECONFIG", kubeconfig)
        .args(["wait", "-n", "ml"])
        .args(args))
}

fn job(conditions: serde_json::Value) -> (&'static str, serde_json::Value) {
    (
        "/apis/batch/v1/namespaces/ml/jobs/t-train-1",
        json!({"apiVersion": "batch/v1", "kind": "Job",
               "metadata": {"name": "t-train-1", "namespace": "ml",
                            "labels": {"mlk.dev/pipeline": "t", "mlk.dev/step": "train"}},
               "status": {"conditions": conditions}}),
    )
}

#[test]
fn a_complete_job_succeeds() {
    let out = wait(
        &[job(json!([{"type": "Complete", "status": "True"}]))],
        &["Job", "t-train-1"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("Job t-train-1 succeeded"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_failed_job_fails_with_its_reason() {
    let out = wait(
        &[job(json!([
            {"type": "Complete", "status": "False"},
            {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}
        ]))],
        &["Job", "t-train-1"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("Job t-train-1 failed: BackoffLimitExceeded: Job has reached the specified backoff limit"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_invalid_image_is_said_and_fails() {
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "t-train-1-abc", "namespace": "ml",
                     "labels": {"mlk.dev/pipeline": "t", "mlk.dev/step": "train", "mlk.dev/run": "wf-1"}},
        "status": {"phase": "Pending", "containerStatuses": [{"name": "main", "ready": false, "restartCount": 0, "image": "bad::image", "imageID": "",
            "state": {"waiting": {"reason": "InvalidImageName", "message": "couldn't parse image name \"bad::image\""}}}]}});
    let out = wait(
        &[
            job(json!([])),
            ("/api/v1/namespaces/ml/pods/t-train-1-abc", pod),
        ],
        &["Job", "t-train-1", "--run", "wf-1"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("pod t-train-1-abc: InvalidImageName"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_ready_inference_service_succeeds_and_a_missing_one_fails() {
    let isvc = json!({"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
        "metadata": {"name": "t-serve", "namespace": "ml"},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
    let path = "/apis/serving.kserve.io/v1beta1/namespaces/ml/inferenceservices/t-serve";
    let out = wait(&[(path, isvc)], &["InferenceService", "t-serve"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = wait(&[], &["PyTorchJob", "t-train-1"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("PyTorchJob t-train-1 is not in namespace ml"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_pending_reason_is_said_once_until_the_job_completes() {
    let api = std::sync::Arc::new(FakeApi::start());
    let (path, pending) = job(json!([]));
    api.create(path, pending);
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "t-train-1-abc", "namespace": "ml",
                     "labels": {"mlk.dev/pipeline": "t", "mlk.dev/step": "train"}},
        "status": {"phase": "Pending", "containerStatuses": [{"name": "main", "ready": false, "restartCount": 0, "image": "img", "imageID": "",
            "state": {"waiting": {"reason": "ErrImagePull", "message": "registry unavailable"}}}]}});
    api.create("/api/v1/namespaces/ml/pods/t-train-1-abc", pod);
    let later = std::sync::Arc::clone(&api);
    let finish = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(3000));
        let (path, done) = job(json!([{"type": "Complete", "status": "True"}]));
        later.create(path, done);
    });
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = api.kubeconfig(dir.path());
    let out = run(command()
        .current_dir(dir.path())
        .env("KUBECONFIG", kubeconfig)
        .args(["wait", "-n", "ml", "Job", "t-train-1"]));
    finish.join().unwrap();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stderr
            .matches("mlk: pod t-train-1-abc: ErrImagePull registry unavailable")
            .count(),
        1,
        "{}",
        out.stderr
    );
}
