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

/// `mlk render PIPELINE --stack STACK`.
fn render_on(pipeline: &std::path::Path, stack: &str) -> crate::Run {
    mlk(&["render", pipeline.to_str().unwrap(), "--stack", stack])
}

/// The stream of `pipeline` rendered with the Argo example stack.
fn render(pipeline: &std::path::Path) -> String {
    let out = render_on(pipeline, "examples/stacks/argo.toml");
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
            if serve {
                assert_eq!(command[3], inner["metadata"]["name"]);
            } else {
                // A run-once workload gets a name the server makes unique (every run of the
                // template creates it), which the create task hands to the wait task.
                assert!(inner["metadata"].get("name").is_none(), "{name}");
                let prefix = inner["metadata"]["generateName"].as_str().unwrap();
                assert!(prefix.ends_with('-'), "{prefix}");
                assert_eq!(command[3], "{{inputs.parameters.name}}");
                assert_eq!(
                    t["outputs"]["parameters"][0]["valueFrom"]["jsonPath"],
                    "{.metadata.name}"
                );
                let task = tasks
                    .iter()
                    .find(|t| t["name"] == name.replace("create-", "wait-"))
                    .unwrap();
                assert_eq!(
                    task["arguments"]["parameters"][0]["value"],
                    format!("{{{{tasks.{name}.outputs.parameters.name}}}}").as_str()
                );
            }
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

/// A nightly pipeline that reads the night's data (see the fixture's header).
fn dated() -> String {
    std::fs::read_to_string(root().join("tests/fixtures/good/nightly.toml")).unwrap()
}

/// The main container's command of each step in the WorkflowTemplate.
fn commands(stream: &str) -> std::collections::BTreeMap<String, Vec<String>> {
    let template = documents(stream, "WorkflowTemplate")[0];
    let value: serde_yaml::Value = serde_yaml::from_str(template).unwrap();
    let mut out = std::collections::BTreeMap::new();
    for t in value["spec"]["templates"].as_sequence().unwrap() {
        let Some(r) = t.get("resource") else { continue };
        let inner: serde_yaml::Value =
            serde_yaml::from_str(r["manifest"].as_str().unwrap()).unwrap();
        let command = &inner["spec"]["template"]["spec"]["containers"][0]["command"];
        let name = t["name"].as_str().unwrap().trim_start_matches("create-");
        out.insert(
            name.to_owned(),
            serde_yaml::from_value::<Vec<String>>(command.clone()).unwrap(),
        );
    }
    out
}

/// The value after `flag` in a launcher command.
fn after<'a>(command: &'a [String], flag: &str) -> Option<&'a str> {
    let at = command.iter().position(|a| a == flag)?;
    command.get(at + 1).map(String::as_str)
}

#[test]
fn the_runs_date_is_left_to_the_launcher_and_every_cached_step_writes_its_record() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("nightly.toml");
    std::fs::write(&path, dated()).unwrap();
    let out = render(&path);
    let commands = commands(&out);
    for step in ["ingest", "train"] {
        let c = &commands[step];
        // Argo fills in the Workflow's creation time; the launcher makes the date of it in
        // the schedule's time zone, and puts it in the key, the addresses and the command.
        assert_eq!(
            after(c, "--run-time"),
            Some("{{workflow.creationTimestamp}}"),
            "{step}: {c:?}"
        );
        assert_eq!(after(c, "--timezone"), Some("Asia/Tokyo"), "{step}");
        let manifest = after(c, "--manifest").unwrap();
        assert!(
            manifest.ends_with("-$(MLK_RUN_DATE)/.manifest.json"),
            "{step}: {manifest}"
        );
        let record: serde_json::Value =
            serde_json::from_str(after(c, "--record").unwrap()).unwrap();
        assert!(
            record["key"]
                .as_str()
                .unwrap()
                .ends_with("-$(MLK_RUN_DATE)"),
            "{record}"
        );
        assert_eq!(record["components"]["run_date"], "$(MLK_RUN_DATE)");
        assert!(c.contains(&"--skip-if-cached".to_owned()), "{step}");
    }
    assert_eq!(
        after(&commands["ingest"], "--get"),
        Some("s3://acme-ml-dev/events/$(MLK_RUN_DATE)/")
    );
    assert_eq!(commands["ingest"].last().unwrap(), "$(MLK_RUN_DATE)");
    // train's key covers ingest's with the date left symbolic: one hash plus the date.
    let record: serde_json::Value =
        serde_json::from_str(after(&commands["train"], "--record").unwrap()).unwrap();
    let upstream = record["components"]["upstream"]["steps.ingest.outputs.table"]["key"]
        .as_str()
        .unwrap();
    assert!(upstream.ends_with("-<run.date>"), "{upstream}");
    // lint reads no date: its key is known now. It has no outputs, and the launcher still
    // checks and writes its record.
    let lint = &commands["lint"];
    assert_eq!(after(lint, "--run-time"), None, "{lint:?}");
    let manifest = after(lint, "--manifest").unwrap();
    assert!(
        manifest.starts_with("s3://acme-ml-dev/mlk/nightly/lint/")
            && !manifest.contains("MLK_RUN_DATE"),
        "{manifest}"
    );
    assert!(lint.contains(&"--skip-if-cached".to_owned()));
    // The Workflow's creation time is Argo's only variable in the objects besides its name.
    let vars: std::collections::BTreeSet<&str> = out
        .match_indices("{{")
        .map(|(i, _)| &out[i..i + out[i..].find("}}").unwrap() + 2])
        .collect();
    for v in &vars {
        assert!(
            v.starts_with("{{workflow.") || v.starts_with("{{tasks.") || v.starts_with("{{inputs."),
            "{v}"
        );
    }
    assert!(vars.contains("{{workflow.creationTimestamp}}"), "{vars:?}");
}

#[test]
fn a_stack_whose_runs_mlk_starts_renders_the_runs_date_only_when_given() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("daily.toml");
    let unscheduled = dated()
        .replace("schedule = \"0 2 * * *\"\n", "")
        .replace("timezone = \"Asia/Tokyo\"\n", "");
    std::fs::write(&path, unscheduled).unwrap();
    let pipeline = path.to_str().unwrap();
    let out = mlk(&["render", pipeline, "--stack", "examples/stacks/dev.toml"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("mlk::resolve::run_date"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--run-date"), "{}", out.stderr);
    let given = |date: &str| {
        let out = mlk(&[
            "render",
            pipeline,
            "--stack",
            "examples/stacks/dev.toml",
            "--run-date",
            date,
        ]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.stdout
    };
    let first = given("2026-12-01");
    assert!(first.contains("events/2026-12-01/"), "{first}");
    assert!(!first.contains("MLK_RUN_DATE"), "{first}");
    // Another day is other work: the dated steps' keys change, lint's does not.
    let second = given("2026-12-02");
    let keys = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| l.trim_start().starts_with("mlk.dev/cache-key:"))
            .map(str::to_owned)
            .collect()
    };
    let (a, b) = (keys(&first), keys(&second));
    assert_eq!(a.len(), 3, "{first}");
    assert_eq!(a.iter().filter(|k| b.contains(k)).count(), 1, "{a:?} {b:?}");
    assert!(a.iter().any(|k| k.contains("-2026-12-01")), "{a:?}");
    let bad = mlk(&[
        "render",
        pipeline,
        "--stack",
        "examples/stacks/dev.toml",
        "--run-date",
        "2026-02-30",
    ]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("YYYY-MM-DD"), "{}", bad.stderr);
}

#[test]
fn an_argo_stack_keeps_its_records_with_the_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let stack = std::fs::read_to_string(root().join("examples/stacks/argo.toml"))
        .unwrap()
        .replace("store = \"artifacts\"", "store = \"configmap\"");
    let path = tmp.path().join("argo.toml");
    std::fs::write(&path, stack).unwrap();
    let out = render_on(
        std::path::Path::new("examples/pipelines/quickstart.toml"),
        path.to_str().unwrap(),
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("store = \"artifacts\""),
        "{}",
        out.stderr
    );
}

/// Kubernetes expands `$(MLK_RUN_DATE)` from a variable the step itself sets before the
/// launcher runs: a dated step may not set it.
#[test]
fn a_dated_step_that_sets_mlk_run_date_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("nightly.toml");
    let text = dated().replacen(
        "outputs = [\"table\"]\n",
        "outputs = [\"table\"]\nenv = { MLK_RUN_DATE = \"2026-01-01\" }\n",
        1,
    );
    std::fs::write(&path, text).unwrap();
    let out = render_on(&path, "examples/stacks/argo.toml");
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("mlk::resolve::run_date"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("env sets MLK_RUN_DATE"),
        "{}",
        out.stderr
    );
}

/// A WorkflowTemplate holds every step's object: past what one Kubernetes object may be,
/// `mlk render` says so (and still renders).
#[test]
fn a_template_too_large_for_one_object_is_warned_about() {
    let tmp = tempfile::tempdir().unwrap();
    let script = format!("echo {}", "x".repeat(8000));
    let mut text =
        String::from("[pipeline]\nname = \"wide\"\n\n[defaults]\nimage = \"alpine:3\"\n");
    for i in 0..200 {
        text.push_str(&format!(
            "\n[steps.s{i}]\noutputs = [\"o\"]\ncommand = [\"sh\", \"-c\", \"{script} > {{{{ outputs.o }}}}\"]\n"
        ));
    }
    let path = tmp.path().join("wide.toml");
    std::fs::write(&path, text).unwrap();
    let out = render_on(&path, "examples/stacks/argo.toml");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("warning: WorkflowTemplate wide is ")
            && out.stderr.contains("at most 1.5 MiB"),
        "{}",
        out.stderr
    );
    let small = render_on(
        std::path::Path::new("examples/pipelines/quickstart.toml"),
        "examples/stacks/argo.toml",
    );
    assert!(!small.stderr.contains("MiB"), "{}", small.stderr);
}
