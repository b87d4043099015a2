//! Submitting a run: server-side apply in order, retried applies, server dry runs, preflight
//! checks and every cluster diagnostic.

use super::{Cluster, KUEUE, PIPELINE, STACK, lines, script};

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
fn a_server_dry_run_after_a_run_previews_the_replacement() {
    let c = Cluster::new(PIPELINE, STACK);
    let out = c.run(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // The Jobs of the run stay; the same run again would replace them (their pod template
    // carries the run id, and a Job's pod template is immutable: a dry-run apply is refused).
    let out = c.run(&["--dry-run=server", "--no-cache"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(lines(&out.stdout, "would replace"), 3, "{}", out.stdout);
    assert!(!out.stdout.contains("immutable"), "{}", out.stdout);
    assert_eq!(
        c.api.objects("jobs").len(),
        3,
        "the replacement is previewed with a dry-run delete: nothing was deleted"
    );
    // The real run still replaces them.
    let again = c.run(&["--no-cache"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
}

#[test]
fn preflight_says_what_a_missing_permission_disables_before_anything_is_created() {
    let c = Cluster::new(PIPELINE, STACK);
    c.api.deny("list pods");
    c.api.deny("pods/log");
    let out = c.run(&[]);
    assert_eq!(out.code, 0, "jobs may still be created: {}", out.stderr);
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning: you may not"))
        .collect();
    assert_eq!(
        warnings,
        [
            "warning: you may not list pods in namespace `ml`, which disables step logs, why a step is pending, failed steps' exit codes",
            "warning: you may not get pods/log in namespace `ml`, which disables step logs (mlk run, mlk logs)",
        ],
        "{}",
        out.stderr
    );
    let requests = c.api.requests();
    let last_review = requests
        .iter()
        .rposition(|r| r.contains("selfsubjectaccessreviews"))
        .unwrap();
    let first_apply = requests
        .iter()
        .position(|r| r.starts_with("PATCH "))
        .unwrap();
    assert!(
        last_review < first_apply,
        "checked before anything is created"
    );
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
    let c = Cluster::new(&pipeline, STACK);
    c.api.hide("PyTorchJob");
    c.snapshot("cluster-crd-missing", &c.run(&[]));
    let c = Cluster::new(PIPELINE, &format!("{STACK}{KUEUE}"));
    c.snapshot("cluster-queue-missing", &c.run(&[]));
    c.api.hide("LocalQueue");
    c.snapshot("cluster-kueue-missing", &c.run(&[]));
    let c = Cluster::new(PIPELINE, STACK);
    c.snapshot("cluster-no-namespace", &c.run(&["-n", "elsewhere"]));
    c.snapshot("cluster-no-context", &c.run(&["--context", "nope"]));
    c.snapshot(
        "cluster-bad-kubeconfig",
        &c.run(&["--kubeconfig", "no-such-kubeconfig"]),
    );
    c.api.deny("jobs");
    c.snapshot("cluster-denied", &c.run(&[]));
    for (code, name) in [
        (401, "cluster-unauthorized"),
        (403, "cluster-forbidden"),
        (400, "cluster-api"),
    ] {
        let c = Cluster::new(PIPELINE, STACK);
        c.api.fail_all(code);
        c.snapshot(name, &c.run(&[]));
    }
    let c = Cluster::new(PIPELINE, STACK);
    let config = std::fs::read_to_string(c.path().join("kubeconfig")).unwrap();
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let port = regex::Regex::new(r"127\.0\.0\.1:\d+").unwrap();
    let config = port
        .replace(&config, free.to_string().as_str())
        .into_owned();
    std::fs::write(c.path().join("kubeconfig"), config).unwrap();
    c.snapshot("cluster-unreachable", &c.run(&[]));
}

#[test]
fn a_missing_kai_queue_is_not_said_to_need_a_namespace() {
    let stack = format!("{STACK}\n[scheduler]\nkind = \"kai\"\nqueue = \"research\"\n");
    let c = Cluster::new(PIPELINE, &stack);
    let out = c.run(&[]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains("Queue `research` does not exist"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("cluster-scoped"), "{}", out.stderr);
    assert!(!out.stderr.contains("LocalQueue"), "{}", out.stderr);
    assert!(c.applied().is_empty());
}

#[test]
fn preflight_checks_that_the_trainjobs_runtime_exists() {
    let pipeline = "[pipeline]\nname = \"t\"\n\n[defaults]\nimage = \"alpine:3\"\n\n[steps.big]\nkind = \"pytorch\"\nreplicas = 2\ncommand = [\"python\", \"train.py\"]\n";
    let stack =
        format!("{STACK}\n[training]\napi = \"trainjob\"\nruntime = \"torch-distributed\"\n");
    let c = Cluster::new(pipeline, &stack);
    let out = c.run(&[]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    c.snapshot("cluster-runtime-missing", &out);
    assert!(c.applied().is_empty());
    c.api.create(
        "/apis/trainer.kubeflow.org/v1alpha1/clustertrainingruntimes/torch-distributed",
        serde_json::json!({"apiVersion": "trainer.kubeflow.org/v1alpha1", "kind": "ClusterTrainingRuntime", "metadata": {"name": "torch-distributed"}}),
    );
    let out = c.run(&["--dry-run=server"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("TrainJob/t-big-"), "{}", out.stdout);
}

#[test]
fn a_queue_that_belongs_to_another_stack_is_said() {
    let stack = format!("{STACK}\n[scheduler]\nkind = \"kai\"\nqueue = \"research\"\n");
    let c = Cluster::new(PIPELINE, &stack);
    // A cluster-scoped KAI Queue that `mlk stack render` of another stack made.
    c.api.create(
        "/apis/scheduling.run.ai/v2/queues/research",
        serde_json::json!({"apiVersion": "scheduling.run.ai/v2", "kind": "Queue", "metadata": {"name": "research", "labels": {"mlk.dev/stack": "vision"}}}),
    );
    let out = c.run(&["--dry-run=server"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "warning: Queue `research` belongs to stack `vision` (its mlk.dev/stack label), not `fake`"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn flavors_and_priority_classes_of_another_stack_are_said() {
    let pipeline = "[pipeline]\nname = \"t\"\n\n[defaults]\nimage = \"alpine:3\"\n\n[steps.train]\ncommand = [\"python\", \"train.py\"]\nresources = { gpu = 1 }\n";
    let label = |kind: &str, name: &str, api: &str| serde_json::json!({"apiVersion": api, "kind": kind, "metadata": {"name": name, "labels": {"mlk.dev/stack": "vision"}}});
    // Kueue: the GPU type's ResourceFlavor and the WorkloadPriorityClass.
    let stack = format!(
        "{STACK}{KUEUE}priority = \"batch\"\n\n[priorities]\nbatch = {{ value = 100 }}\n\n[gpu]\ndefault_type = \"h100\"\n\n[gpu.types.h100]\nmemory = \"80Gi\"\n"
    );
    let c = Cluster::new(pipeline, &stack).with_queue();
    let kueue = "kueue.x-k8s.io/v1beta1";
    c.api.create(
        "/apis/kueue.x-k8s.io/v1beta1/resourceflavors/h100",
        label("ResourceFlavor", "h100", kueue),
    );
    c.api.create(
        "/apis/kueue.x-k8s.io/v1beta1/workloadpriorityclasses/batch",
        label("WorkloadPriorityClass", "batch", kueue),
    );
    let out = c.run(&["--dry-run=server"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for said in [
        "warning: ResourceFlavor `h100` belongs to stack `vision` (its mlk.dev/stack label), not `fake`: whichever stack is applied last sets it for both; give this stack's GPU types names of their own",
        "warning: WorkloadPriorityClass `batch` belongs to stack `vision`",
    ] {
        assert!(out.stderr.contains(said), "{said}\n{}", out.stderr);
    }
    // The default scheduler: PriorityClasses; one of this stack's own says nothing.
    let stack = format!(
        "{STACK}\n[scheduler]\npriority = \"batch\"\n\n[priorities]\nbatch = {{ value = 100 }}\n"
    );
    let c = Cluster::new(pipeline, &stack);
    let pc = "/apis/scheduling.k8s.io/v1/priorityclasses/batch";
    c.api
        .create(pc, label("PriorityClass", "batch", "scheduling.k8s.io/v1"));
    let out = c.run(&["--dry-run=server"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("warning: PriorityClass `batch` belongs to stack `vision`"),
        "{}",
        out.stderr
    );
    let c = Cluster::new(pipeline, &stack);
    let mut own = label("PriorityClass", "batch", "scheduling.k8s.io/v1");
    own["metadata"]["labels"]["mlk.dev/stack"] = "fake".into();
    c.api.create(pc, own);
    let out = c.run(&["--dry-run=server"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("belongs to stack"), "{}", out.stderr);
}

#[test]
fn a_cluster_scoped_verb_the_user_lacks_is_said_as_cluster_wide() {
    let stack = format!("{STACK}\n[scheduler]\nkind = \"kai\"\nqueue = \"research\"\n");
    let c = Cluster::new(PIPELINE, &stack);
    c.api.create(
        "/apis/scheduling.run.ai/v2/queues/research",
        serde_json::json!({"apiVersion": "scheduling.run.ai/v2", "kind": "Queue", "metadata": {"name": "research"}}),
    );
    c.api.deny("queues");
    // Reading PriorityClasses only serves the another-stack warning: never asked.
    c.api.deny("priorityclasses");
    let out = c.run(&["--dry-run=server"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "warning: you may not get queues.scheduling.run.ai cluster-wide, which disables the preflight's check that the step's KAI Queue exists"
        ),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("priorityclasses"), "{}", out.stderr);
}
