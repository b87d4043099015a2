//! `mlk doctor` against the fake API server: a cluster with everything the stack needs, one
//! without the training operator, one with an old Kueue, one where the user may not read
//! logs, and one that cannot be reached.

use serde_json::{Value, json};

use super::{Cluster, PIPELINE};
use crate::fake_api::FakeApi;

/// A default-scheduler stack with a GPU type and a priority.
const STACK: &str = "[stack]\nname = \"fake\"\nbackend = \"kubernetes\"\nnamespace = \"ml\"\nservice_account = \"runner\"\nimage_pull_secrets = [\"pull\"]\n\n[cache]\nstore = \"configmap\"\n\n[scheduler]\npriority = \"batch\"\n\n[priorities]\nbatch = { value = 100 }\n\n[gpu]\ndefault_type = \"h100\"\n\n[gpu.types.h100]\nmemory = \"80Gi\"\nnode_selector = { \"nvidia.com/gpu.product\" = \"H100\" }\n";

const KUEUE_STACK: &str = "[stack]\nname = \"fake\"\nbackend = \"kubernetes\"\nnamespace = \"ml\"\n\n[cache]\nstore = \"none\"\n\n[scheduler]\nkind = \"kueue\"\nqueue = \"team\"\n\n[queues.team]\nquota = { cpu = \"8\", memory = \"32Gi\" }\n";

/// A cluster with everything [`STACK`] needs: an H100 node and the PriorityClass.
fn complete() -> Cluster {
    complete_for(STACK)
}

/// [`complete`] for `stack`, a variant of [`STACK`].
fn complete_for(stack: &str) -> Cluster {
    let c = Cluster::new(PIPELINE, stack);
    c.api.create(
        "/api/v1/nodes/gpu-1",
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "gpu-1", "labels": {"nvidia.com/gpu.product": "H100"}}, "status": {"allocatable": {"cpu": "64", "nvidia.com/gpu": "8"}, "conditions": [{"type": "Ready", "status": "True"}]}}),
    );
    c.api.create(
        "/apis/scheduling.k8s.io/v1/priorityclasses/batch",
        json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "batch", "labels": {"mlk.dev/stack": "fake"}}, "value": 100}),
    );
    c.api.create(
        "/api/v1/namespaces/ml/serviceaccounts/runner",
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "runner", "namespace": "ml"}}),
    );
    c.api.create(
        "/api/v1/namespaces/ml/secrets/pull",
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "pull", "namespace": "ml"}, "type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": "e30="}}),
    );
    c.api.create(
        "/api/v1/namespaces/kserve/configmaps/inferenceservice-config",
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "inferenceservice-config", "namespace": "kserve"}, "data": {"deploy": "{\"defaultDeploymentMode\": \"Serverless\"}"}}),
    );
    c
}

fn doctor(c: &Cluster, json: bool) -> crate::Run {
    let mut args = vec!["doctor", "--stack", "./stack.toml"];
    if json {
        args.extend(["-o", "json"]);
    }
    c.mlk(&args)
}

fn checks(out: &crate::Run) -> Vec<Value> {
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    doc["checks"].as_array().unwrap().clone()
}

fn status_of<'a>(checks: &'a [Value], what: &str) -> &'a str {
    checks
        .iter()
        .find(|c| c["what"] == what)
        .unwrap_or_else(|| panic!("no check {what}: {checks:?}"))["status"]
        .as_str()
        .unwrap()
}

#[test]
fn a_cluster_with_everything_can_run_the_stack() {
    let c = complete();
    let out = doctor(&c, false);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("stack fake can run on"),
        "{}",
        out.stderr
    );
    let port = regex::Regex::new(r"127\.0\.0\.1:\d+").unwrap();
    let text = port
        .replace_all(&out.stdout, "127.0.0.1:[port]")
        .into_owned();
    crate::snapshots().bind(|| insta::assert_snapshot!("doctor-complete", text));
    let out = doctor(&c, true);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let checks = checks(&out);
    assert_eq!(status_of(&checks, "h100: nvidia.com/gpu"), "ok");
    assert_eq!(status_of(&checks, "PriorityClass batch"), "ok");
    assert_eq!(status_of(&checks, "PyTorchJob"), "ok");
    assert!(
        checks
            .iter()
            .all(|c| c["status"] == "ok" || c["required"] == false),
        "{checks:?}"
    );
}

#[test]
fn a_missing_service_account_or_secret_is_said() {
    // The pods' ServiceAccount and the Secrets the stack names: without them no pod starts.
    let c = complete();
    c.api.remove("/api/v1/namespaces/ml/serviceaccounts/runner");
    c.api.remove("/api/v1/namespaces/ml/secrets/pull");
    let out = doctor(&c, true);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let checks = checks(&out);
    assert_eq!(status_of(&checks, "ServiceAccount runner"), "missing");
    assert_eq!(status_of(&checks, "Secret pull"), "missing");
    assert!(
        !out.stdout.contains("e30="),
        "a Secret's data is never read"
    );
}

#[test]
fn a_missing_operator_gpu_and_priority_class_are_said() {
    let c = Cluster::new(
        PIPELINE,
        &format!("{STACK}\n[serving]\nmode = \"knative\"\n"),
    );
    c.api.hide("PyTorchJob");
    let out = doctor(&c, false);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    for line in [
        "missing   api           PyTorchJob: kubeflow.org/v1 is not served",
        "→ install the Kubeflow training operator",
        "missing   gpu           h100: nvidia.com/gpu: no node labelled nvidia.com/gpu.product=H100 advertises it",
        "missing   priority      PriorityClass batch: not found",
        "missing   account       ServiceAccount runner: not found",
        "missing   account       Secret pull: not found",
        // Only serve steps need Knative: said, but not counted.
        "missing   api           Service: serving.knative.dev/v1 is not served (serve steps in KServe's Knative mode only) (optional)",
        "→ install Knative Serving",
    ] {
        assert!(out.stdout.contains(line), "{line}\n{}", out.stdout);
    }
    assert!(
        out.stderr.contains("cannot run on") && out.stderr.contains("5 requirements are missing"),
        "{}",
        out.stderr
    );
}

#[test]
fn an_old_kueue_is_outdated() {
    let c = Cluster::new(PIPELINE, KUEUE_STACK).with_queue();
    let out = doctor(&c, true);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let found = checks(&out);
    assert_eq!(status_of(&found, "LocalQueue"), "outdated");
    let local = found.iter().find(|c| c["what"] == "LocalQueue").unwrap();
    assert_eq!(local["detail"], "kueue.x-k8s.io/v1beta1 is served");
    assert!(
        local["fix"]
            .as_str()
            .unwrap()
            .contains("kueue.x-k8s.io/v1beta2"),
        "{local}"
    );
    // The queue itself is found at the version served.
    assert_eq!(status_of(&found, "LocalQueue team"), "ok");
    // A Kueue that serves v1beta2 is up to date.
    c.api.serve_kueue_v1beta2();
    c.api.create(
        "/apis/kueue.x-k8s.io/v1beta2/namespaces/ml/localqueues/team",
        json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue", "metadata": {"name": "team", "namespace": "ml"}}),
    );
    let out = doctor(&c, true);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(status_of(&checks(&out), "LocalQueue"), "ok");
}

#[test]
fn a_gpu_flavor_of_another_stack_is_outdated_with_a_rename_to_do() {
    // Re-applying this stack would only take the shared name back from the other stack.
    let stack = format!(
        "{KUEUE_STACK}\n[gpu]\ndefault_type = \"h100\"\n\n[gpu.types.h100]\nmemory = \"80Gi\"\n"
    );
    let c = Cluster::new(PIPELINE, &stack).with_queue();
    c.api.serve_kueue_v1beta2();
    c.api.create(
        "/apis/kueue.x-k8s.io/v1beta2/namespaces/ml/localqueues/team",
        json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue", "metadata": {"name": "team", "namespace": "ml", "labels": {"mlk.dev/stack": "fake"}}}),
    );
    c.api.create(
        "/apis/kueue.x-k8s.io/v1beta2/resourceflavors/h100",
        json!({"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ResourceFlavor", "metadata": {"name": "h100", "labels": {"mlk.dev/stack": "vision"}}}),
    );
    let out = doctor(&c, true);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    let found = checks(&out);
    assert_eq!(status_of(&found, "LocalQueue team"), "ok");
    let flavor = found
        .iter()
        .find(|c| c["what"] == "ResourceFlavor h100")
        .unwrap_or_else(|| panic!("{found:?}"));
    assert_eq!(flavor["status"], "outdated");
    assert!(
        flavor["detail"]
            .as_str()
            .unwrap()
            .contains("belongs to stack `vision`"),
        "{flavor}"
    );
    assert!(
        flavor["fix"]
            .as_str()
            .unwrap()
            .starts_with("rename this stack's ResourceFlavor"),
        "{flavor}"
    );
}

#[test]
fn an_argo_stack_needs_argo_workflows() {
    let stack = format!(
        "{}\n[artifacts]\nuri = \"s3://b/p\"\nlauncher_image = \"example.com/mlk-launcher:1\"\n",
        STACK
            .replace(
                "namespace = \"ml\"\n",
                "namespace = \"ml\"\nengine = \"argo\"\n"
            )
            .replace("store = \"configmap\"", "store = \"artifacts\"")
    );
    let c = complete_for(&stack);
    let out = doctor(&c, true);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let found = checks(&out);
    for kind in ["WorkflowTemplate", "Workflow", "CronWorkflow"] {
        assert_eq!(status_of(&found, kind), "ok", "{found:?}");
    }
    // The runner must follow and delete Workflows.
    c.api.deny("delete workflows");
    let out = doctor(&c, true);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        status_of(&checks(&out), "delete workflows.argoproj.io"),
        "missing"
    );
    c.api.hide("Workflow");
    let out = doctor(&c, false);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("missing   api           Workflow: argoproj.io/v1alpha1 is not served")
            && out.stdout.contains("→ install Argo Workflows v4"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_gpu_node_that_is_not_ready_or_cordoned_does_not_count() {
    let c = complete();
    c.api.create(
        "/api/v1/nodes/gpu-1",
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "gpu-1", "labels": {"nvidia.com/gpu.product": "H100"}}, "status": {"allocatable": {"nvidia.com/gpu": "8"}, "conditions": [{"type": "Ready", "status": "Unknown"}]}}),
    );
    c.api.create(
        "/api/v1/nodes/gpu-2",
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "gpu-2", "labels": {"nvidia.com/gpu.product": "H100"}}, "spec": {"unschedulable": true}, "status": {"allocatable": {"nvidia.com/gpu": "8"}, "conditions": [{"type": "Ready", "status": "True"}]}}),
    );
    let out = doctor(&c, false);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(
            "missing   gpu           h100: nvidia.com/gpu: 2 node(s) advertise it, but none is ready and schedulable"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn a_user_who_may_not_read_logs_is_told_what_that_disables() {
    let c = complete();
    c.api.deny("pods/log");
    // Reading PriorityClasses only serves the another-stack warning: not a requirement.
    c.api.deny("priorityclasses");
    let out = doctor(&c, false);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(
            "missing   permission    get pods/log: without it: step logs (mlk run, mlk logs)"
        ),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("every verb mlk run uses"),
        "{}",
        out.stdout
    );
}

#[test]
fn an_unreachable_cluster_is_exit_3() {
    let api = FakeApi::start();
    let c = Cluster::with_api(api, PIPELINE, STACK);
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    std::fs::write(
        c.path().join("kubeconfig"),
        format!("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://{free}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user: {{}}\n"),
    )
    .unwrap();
    let out = doctor(&c, false);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("mlk::cluster::unreachable"),
        "{}",
        out.stderr
    );
    assert_eq!(out.stdout, "");
}

#[test]
fn a_local_stack_has_no_cluster_to_check() {
    let c = complete();
    let out = c.mlk(&["doctor"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("there is no cluster to check"),
        "{}",
        out.stderr
    );
    assert!(c.api.requests().is_empty());
}

#[test]
fn a_trainjob_stack_needs_its_training_runtime() {
    let c = complete_for(&format!("{STACK}\n[training]\napi = \"trainjob\"\n"));
    let out = doctor(&c, false);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(
            "missing   runtime       ClusterTrainingRuntime torch-distributed: not found"
        ),
        "{}",
        out.stdout
    );
    c.api.create(
        "/apis/trainer.kubeflow.org/v1alpha1/clustertrainingruntimes/torch-distributed",
        json!({"apiVersion": "trainer.kubeflow.org/v1alpha1", "kind": "ClusterTrainingRuntime", "metadata": {"name": "torch-distributed"}}),
    );
    let out = doctor(&c, false);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}
