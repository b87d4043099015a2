//! `[stack] engine = "argo"`: the WorkflowTemplate and CronWorkflow `mlk render` emits, the
//! objects inside them (`mlk run` on such a stack: `cluster::engine_run`).

use crate::{mlk, root, snapshots};

/// fraud-detection (preprocess → train → evaluate → serve) with a nightly schedule, written
/// next to the example so that it reads the same files.
fn nightly(dir: &std::path::Path, schedule: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(root().join("examples/pipelines/fraud-detection.toml"))
        .unwrap()
        .replacen(
            "name = \"fraud-detection\"\n",
            &format!("name = \"fraud-detection\"\n{schedule}"),
            1,
        );
    let path = dir.join("nightly.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn render(pipeline: &std::path::Path) -> String {
    let out = mlk(&[
        "render",
        pipeline.to_str().unwrap(),
        "--stack",
        "examples/stacks/argo.toml",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout
}

/// The documents of a stream whose kind is `kind`.
fn documents<'a>(stream: &'a str, kind: &str) -> Vec<&'a str> {
    stream
        .split("---\n")
        .filter(|d| d.lines().any(|l| l == format!("kind: {kind}")))
        .collect()
}

#[test]
fn a_schedule_adds_a_cron_workflow_that_starts_the_template() {
    let tmp = tempfile::tempdir().unwrap();
    let plain = render(&root().join("examples/pipelines/fraud-detection.toml"));
    let scheduled = render(&nightly(
        tmp.path(),
        "schedule = \"0 2 * * *\"\ntimezone = \"Europe/Paris\"\n",
    ));
    // The schedule changes nothing but the CronWorkflow.
    assert_eq!(
        documents(&plain, "WorkflowTemplate"),
        documents(&scheduled, "WorkflowTemplate")
    );
    assert!(documents(&plain, "CronWorkflow").is_empty());
    let cron = documents(&scheduled, "CronWorkflow");
    assert_eq!(cron.len(), 1, "{scheduled}");
    snapshots().bind(|| insta::assert_snapshot!("engine_cron_workflow", cron[0]));
    assert_eq!(
        render(&nightly(
            tmp.path(),
            "schedule = \"0 2 * * *\"\ntimezone = \"Europe/Paris\"\n"
        )),
        scheduled
    );
}

#[test]
fn concurrency_is_argos_policy() {
    let tmp = tempfile::tempdir().unwrap();
    for (written, argo) in [
        ("allow", "Allow"),
        ("replace", "Replace"),
        ("forbid", "Forbid"),
    ] {
        let out = render(&nightly(
            tmp.path(),
            &format!("schedule = \"@daily\"\nconcurrency = \"{written}\"\n"),
        ));
        let cron = documents(&out, "CronWorkflow");
        assert!(
            cron[0].contains(&format!("concurrencyPolicy: {argo}\n")),
            "{written}: {}",
            cron[0]
        );
        assert!(!cron[0].contains("timezone:"), "{}", cron[0]);
    }
}

/// The DAG: each step's object is created once its upstream steps' waits are done, and waited
/// for by `mlk wait` with its kind and name.
#[test]
fn every_step_is_created_then_waited_for_in_dag_order() {
    let out = render(&root().join("examples/pipelines/fraud-detection.toml"));
    let template = documents(&out, "WorkflowTemplate")[0];
    let value: serde_yaml::Value = serde_yaml::from_str(template).unwrap();
    let templates = value["spec"]["templates"].as_sequence().unwrap();
    let tasks = templates[0]["dag"]["tasks"].as_sequence().unwrap();
    let deps = |name: &str| -> Vec<String> {
        let task = tasks.iter().find(|t| t["name"] == name).unwrap();
        task["dependencies"]
            .as_sequence()
            .map(|d| d.iter().map(|x| x.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default()
    };
    assert_eq!(deps("create-preprocess"), Vec::<String>::new());
    assert_eq!(deps("wait-preprocess"), ["create-preprocess"]);
    assert_eq!(deps("create-train"), ["wait-preprocess"]);
    assert_eq!(deps("create-serve"), ["wait-evaluate", "wait-train"]);
    assert_eq!(tasks.len(), 8);
    // A cached step can be left out of a run by its parameter (`mlk run` sets it).
    let when = "{{workflow.parameters.skip-preprocess}} != true";
    assert_eq!(tasks[0]["when"], when);
    assert_eq!(tasks[1]["when"], when);
    let parameters = value["spec"]["arguments"]["parameters"]
        .as_sequence()
        .unwrap();
    assert!(
        parameters
            .iter()
            .any(|p| p["name"] == "skip-preprocess" && p["value"] == "false")
    );
    for t in &templates[1..] {
        assert!(t.get("retryStrategy").is_none(), "no double retries: {t:?}");
        let name = t["name"].as_str().unwrap();
        if let Some(r) = t.get("resource") {
            let inner: serde_yaml::Value =
                serde_yaml::from_str(r["manifest"].as_str().unwrap()).unwrap();
            let kind = inner["kind"].as_str().unwrap();
            let serve = kind == "InferenceService";
            assert_eq!(
                r["action"],
                if serve { "apply" } else { "create" },
                "{name}"
            );
            let wait = templates
                .iter()
                .find(|w| w["name"] == name.replace("create-", "wait-"));
            let command = &wait.unwrap()["container"]["command"];
            assert_eq!(command[1], "wait");
            assert_eq!(command[2].as_str(), Some(kind));
            assert_eq!(command[3], inner["metadata"]["name"]);
            // Argo shows a step's logs by the pods' workflow label.
            let text = r["manifest"].as_str().unwrap();
            assert!(
                text.contains("workflows.argoproj.io/workflow: \"{{workflow.name}}\""),
                "{name}: {text}"
            );
            if !serve {
                assert!(text.contains("\"--skip-if-cached\""), "{name}: {text}");
            }
        }
    }
}
