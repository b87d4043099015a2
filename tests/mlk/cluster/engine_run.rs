//! `mlk run` on a stack whose engine is Argo Workflows, against the fake API server: the
//! WorkflowTemplate applied and a Workflow named after the run id created from it; without
//! `--detach`, the Workflow's node phases followed as Argo's controller writes them. The
//! pipeline is the cluster tests' prep → train → eval.

use serde_json::{Value, json};

use super::{Cluster, PIPELINE};
use crate::fake_api::FakeApi;

const STACK: &str = "[stack]\nname = \"fake\"\nbackend = \"kubernetes\"\nengine = \"argo\"\nnamespace = \"ml\"\n\n[artifacts]\nlauncher_image = \"registry.acme.io/mlk-launcher:0.1.0\"\n\n[cache]\nstore = \"none\"\n";

const WORKFLOWS: &str = "/apis/argoproj.io/v1alpha1/namespaces/ml/workflows";

#[test]
fn detach_applies_the_template_and_creates_the_workflow() {
    let c = Cluster::new(PIPELINE, STACK);
    let out = c.run(&["--detach"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let run_id = out.stdout.trim();
    assert!(!run_id.is_empty());
    let templates = c.api.objects("workflowtemplates");
    assert!(templates.contains_key("t"), "{templates:?}");
    let workflows = c.api.objects("workflows");
    let wf = &workflows[run_id];
    assert_eq!(wf["spec"]["workflowTemplateRef"]["name"], "t");
    assert_eq!(wf["metadata"]["labels"]["mlk.dev/run"], run_id);
    // Argo creates the steps' objects, not mlk.
    assert!(c.api.objects("jobs").is_empty());
}

/// Sets the Workflow's status as Argo's controller would, once mlk has created it.
fn controller(api: &FakeApi, phases: &'static [(&'static str, &'static str)], end: &'static str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let (name, mut wf) = loop {
        if let Some((n, w)) = api.objects("workflows").into_iter().next() {
            break (n, w);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no workflow was created"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut nodes = serde_json::Map::new();
    for (template, phase) in phases {
        let mut node = json!({"templateName": template, "phase": phase});
        if *phase == "Failed" {
            node["message"] = Value::from("Job t-train failed: BackoffLimitExceeded");
        }
        nodes.insert(format!("{name}-{template}"), node);
    }
    wf["status"] = json!({"phase": "Running", "nodes": nodes.clone()});
    api.create(&format!("{WORKFLOWS}/{name}"), wf.clone());
    std::thread::sleep(std::time::Duration::from_millis(1500));
    wf["status"] = json!({"phase": end, "nodes": nodes});
    api.create(&format!("{WORKFLOWS}/{name}"), wf);
}

/// `mlk run` (followed) while the controller writes `train`'s wait node as `train` and the
/// Workflow's phase as `end`.
fn followed(train: &'static str, end: &'static str) -> crate::Run {
    let c = Cluster::new(PIPELINE, STACK);
    let api = c.api.clone();
    let phases: &'static [(&str, &str)] = match train {
        "Failed" => &[
            ("create-prep", "Succeeded"),
            ("wait-prep", "Succeeded"),
            ("create-train", "Succeeded"),
            ("wait-train", "Failed"),
        ],
        _ => &[
            ("create-prep", "Succeeded"),
            ("wait-prep", "Succeeded"),
            ("create-train", "Succeeded"),
            ("wait-train", "Succeeded"),
            ("create-eval", "Running"),
        ],
    };
    let t = std::thread::spawn(move || controller(&api, phases, end));
    let out = c.run(&[]);
    t.join().unwrap();
    out
}

#[test]
fn a_followed_run_says_each_step_and_ends_with_the_workflow() {
    let out = followed("Succeeded", "Succeeded");
    assert_eq!(out.code, 0, "{}", out.stderr);
    for line in ["prep: succeeded", "train: succeeded", "eval: running"] {
        assert!(out.stderr.contains(line), "{line}: {}", out.stderr);
    }
    let end = format!("run {} succeeded", out.stdout.trim());
    assert!(out.stderr.contains(&end), "{}", out.stderr);
}

#[test]
fn a_failing_step_fails_the_run_with_argos_message() {
    let out = followed("Failed", "Failed");
    assert_eq!(out.code, 1, "{}", out.stderr);
    let why = "train: failed: Job t-train failed: BackoffLimitExceeded";
    assert!(out.stderr.contains(why), "{}", out.stderr);
    assert!(!out.stderr.contains("eval:"), "{}", out.stderr);
}

#[test]
fn a_cluster_without_argo_is_told_so() {
    let c = Cluster::new(PIPELINE, STACK);
    c.api.hide("Workflow");
    let out = c.run(&["--detach"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stdout.is_empty(), "no run id: {}", out.stdout);
    c.snapshot("cluster-argo-missing", &out);
}

#[test]
fn a_refused_template_is_named() {
    let c = Cluster::new(PIPELINE, STACK);
    c.api.fail_next_apply(422);
    let out = c.run(&["--detach"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(c.api.objects("workflows").is_empty());
    c.snapshot("cluster-argo-refused", &out);
}

#[test]
fn status_reads_the_workflows_nodes_and_delete_deletes_it() {
    let c = Cluster::new(PIPELINE, STACK);
    let out = c.run(&["--detach"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let run_id = out.stdout.trim().to_owned();
    let path = format!("{WORKFLOWS}/{run_id}");
    let mut wf = c.api.objects("workflows")[&run_id].clone();
    wf["status"] = json!({"phase": "Running", "nodes": {
        "n1": {"templateName": "create-prep", "phase": "Succeeded"},
        "n2": {"templateName": "wait-prep", "phase": "Failed", "message": "Job t-prep failed: DeadlineExceeded"},
    }});
    c.api.create(&path, wf);
    let status = c.mlk(&["status", &run_id, "--cluster", "-n", "ml"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(
        status.stdout.contains(&format!(
            "run {run_id} (Workflow {run_id}, Running) in namespace ml"
        )),
        "{}",
        status.stdout
    );
    let prep = status
        .stdout
        .lines()
        .find(|l| l.starts_with("prep "))
        .unwrap();
    assert!(
        prep.contains("Failed") && prep.contains("DeadlineExceeded"),
        "{prep}"
    );
    let deleted = c.mlk(&["delete", &run_id, "-n", "ml"]);
    assert_eq!(deleted.code, 0, "{}", deleted.stderr);
    assert_eq!(deleted.stdout, format!("deleted Workflow/{run_id}\n"));
    assert!(c.api.objects("workflows").is_empty());
}

/// What Argo's create task does: the manifest of `create-STEP` in the applied template, with
/// the Workflow's name filled in, created as the step's workload.
fn create_task(api: &FakeApi, run_id: &str, step: &str) {
    let template = &api.objects("workflowtemplates")["t"];
    let task = template["spec"]["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == format!("create-{step}"))
        .unwrap();
    let manifest = task["resource"]["manifest"]
        .as_str()
        .unwrap()
        .replace("{{workflow.name}}", run_id);
    let mut obj: Value = serde_yaml::from_str(&manifest).unwrap();
    // The API server makes the name of an object created with `generateName`.
    let prefix = obj["metadata"]["generateName"].as_str().unwrap();
    let name = format!("{prefix}x7k2q");
    obj["metadata"]["name"] = Value::from(name.clone());
    api.create_workload(&format!("/apis/batch/v1/namespaces/ml/jobs/{name}"), obj);
}

#[test]
fn logs_follow_an_argo_runs_pods_across_a_dropped_stream_until_the_workflow_ends() {
    let c = Cluster::new(PIPELINE, STACK);
    c.api.script(
        "prep",
        crate::fake_api::Script {
            lines: (1..=5).map(|i| format!("prep line {i}")).collect(),
            ..Default::default()
        },
    );
    let out = c.run(&["--detach"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let run_id = out.stdout.trim().to_owned();
    c.api.drop_next_log_after("t-prep", 2);
    let api = c.api.clone();
    let id = run_id.clone();
    // Argo starts the step after `mlk logs -f` has begun: it follows the Workflow, not
    // only the pods there are.
    let argo = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(1000));
        create_task(&api, &id, "prep");
        let path = format!("{WORKFLOWS}/{id}");
        let done = |jobs: &std::collections::BTreeMap<String, Value>| {
            jobs.values().any(|j| {
                j.pointer("/status/conditions")
                    .and_then(Value::as_array)
                    .is_some_and(|c| c.iter().any(|c| c["type"] == "Complete"))
            })
        };
        while !done(&api.objects("jobs")) {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        let mut wf = api.objects("workflows")[&id].clone();
        wf["status"] = json!({"phase": "Succeeded", "nodes": {}});
        api.create(&path, wf);
    });
    let logs = c.mlk(&["logs", &run_id, "-f", "-n", "ml"]);
    argo.join().unwrap();
    assert_eq!(logs.code, 0, "{}", logs.stderr);
    for i in 1..=5 {
        let line = format!("prep line {i}");
        assert_eq!(
            logs.stdout.matches(&line).count(),
            1,
            "{line}:\n{}",
            logs.stdout
        );
    }
}

#[test]
fn steps_with_a_cache_hit_are_left_out_of_the_workflow() {
    let Some(s3) = crate::s3::S3Server::start() else {
        return;
    };
    s3.bucket("art");
    // Records live in the artifact store, inside each step's manifest.
    let argo = STACK
        .replace(
            "[artifacts]\n",
            &format!(
                "[artifacts]\nuri = \"s3://art/mlk\"\nendpoint = \"{}\"\nregion = \"{}\"\n",
                s3.endpoint(),
                crate::s3::REGION
            ),
        )
        .replace("store = \"none\"", "store = \"artifacts\"");
    // A run of the mlk engine on the same cluster and store writes them first.
    let c = Cluster::new(PIPELINE, &argo.replace("engine = \"argo\"\n", ""));
    let run = |args: &[&str]| {
        let mut cmd = crate::command();
        cmd.current_dir(c.path())
            .env("KUBECONFIG", c.path().join("kubeconfig"))
            .envs(crate::s3::credentials())
            .args(["run", "pipeline.toml", "--stack", "./stack.toml"])
            .args(args);
        crate::run(&mut cmd)
    };
    let first = run(&[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let manifests = s3.store_cp("s3://art/mlk/t", c.path().join("store").to_str().unwrap());
    assert_eq!(manifests.code, 0, "{}", manifests.stderr);
    std::fs::write(c.path().join("stack.toml"), &argo).unwrap();
    let out = run(&["--detach"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for step in ["prep", "train", "eval"] {
        let line = format!("{step}: cached (left out of the run)");
        assert!(out.stderr.contains(&line), "{line}: {}", out.stderr);
    }
    let wf = &c.api.objects("workflows")[out.stdout.trim()];
    let skip = wf["spec"]["arguments"]["parameters"].as_array().unwrap();
    let names: Vec<&str> = skip.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["skip-prep", "skip-train", "skip-eval"], "{wf}");
    assert!(skip.iter().all(|p| p["value"] == "true"));
    // --no-cache leaves nothing out.
    let again = run(&["--detach", "--no-cache"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let wf = &c.api.objects("workflows")[again.stdout.trim()];
    assert!(wf["spec"].get("arguments").is_none(), "{wf}");
    // A store without the records leaves nothing out.
    assert_eq!(s3.request("POST", "/moto-api/reset"), Some(200));
    s3.bucket("art");
    let fresh = run(&["--detach"]);
    assert_eq!(fresh.code, 0, "{}", fresh.stderr);
    assert!(!fresh.stderr.contains("cached"), "{}", fresh.stderr);
}
