//! `mlk stack render|check`: every example stack's admin objects snapshotted, `-o DIR` with
//! `--check`, and a stack error; and the plan tables of the GPU-sharing example stacks (GPU
//! column, COST column, the KAI warning and the TrainJob advice).

use crate::{files, mlk, snapshots};

#[test]
fn every_example_stack_renders_its_admin_objects() {
    for f in files("examples/stacks", ".toml") {
        let stem = f.file_stem().unwrap().to_string_lossy().into_owned();
        let path = format!("examples/stacks/{stem}.toml");
        let out = mlk(&["stack", "render", &path]);
        assert_eq!(out.code, 0, "{path}: {}", out.stderr);
        let again = mlk(&["stack", "render", &path]);
        assert_eq!(out.stdout, again.stdout, "{path}: two renders differ");
        snapshots().bind(|| insta::assert_snapshot!(format!("stack_render__{stem}"), out.stdout));
        let check = mlk(&["stack", "check", &path]);
        assert_eq!(check.code, 0, "{path}: {}", check.stderr);
        assert_eq!(check.stdout, "");
    }
}

#[test]
fn stack_render_writes_a_directory_that_check_then_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("queues");
    let out_dir = out_dir.to_string_lossy().into_owned();
    let path = "examples/stacks/mig.toml";
    let out = mlk(&["stack", "render", path, "-o", &out_dir]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for f in [
        "clusterqueue-eval.yaml",
        "localqueue-eval.yaml",
        "resourceflavor-default.yaml",
        "resourceflavor-h100.yaml",
        "workloadpriorityclass-batch.yaml",
        "kustomization.yaml",
    ] {
        assert!(dir.path().join("queues").join(f).is_file(), "{f} missing");
    }
    let check = mlk(&["stack", "render", path, "-o", &out_dir, "--check"]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    std::fs::remove_file(dir.path().join("queues/localqueue-eval.yaml")).unwrap();
    let drift = mlk(&["stack", "render", path, "-o", &out_dir, "--check"]);
    assert_eq!(drift.code, 1, "{}", drift.stderr);
}

#[test]
fn stack_check_reports_stack_errors() {
    let out = mlk(&[
        "stack",
        "check",
        "tests/fixtures/stacks/kai-without-kai-scheduler.toml",
    ]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("mlk::resolve::scheduler"),
        "{}",
        out.stderr
    );
    let missing = mlk(&["stack", "render", "no-such-stack"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("no stack named"),
        "{}",
        missing.stderr
    );
}

#[test]
fn gpu_sharing_plan_tables() {
    for stack in ["research-kai", "mig", "timeslice"] {
        let out = mlk(&[
            "plan",
            "examples/pipelines/eval-sweep.toml",
            "--stack",
            &format!("examples/stacks/{stack}.toml"),
        ]);
        assert_eq!(out.code, 0, "{stack}: {}", out.stderr);
        snapshots().bind(|| {
            insta::assert_snapshot!(
                format!("plan_table__eval-sweep__{stack}"),
                format!("{}--- stderr\n{}", out.stdout, out.stderr)
            );
        });
    }
}

#[test]
fn stack_render_of_a_stack_without_admin_objects_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kai.toml");
    std::fs::write(
        &path,
        "[stack]\nname = \"kai-bare\"\nbackend = \"kubernetes\"\nnamespace = \"ml\"\n\n[scheduler]\nkind = \"kai\"\nqueue = \"research\"\n",
    )
    .unwrap();
    let out = mlk(&["stack", "render", path.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr
            .contains("stack kai-bare has no admin objects to render")
            && out.stderr.contains("[queues.NAME]"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_kai_stack_with_topology_renders_a_kai_topology_with_level_aliases() {
    let out = mlk(&["stack", "render", "tests/fixtures/stacks/kai-topology.toml"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let topology = out
        .stdout
        .split("\n---\n")
        .find(|d| d.contains("kind: Topology"))
        .unwrap_or_else(|| panic!("no Topology in\n{}", out.stdout));
    assert!(
        topology.contains("apiVersion: kai.scheduler/v1alpha1"),
        "{topology}"
    );
    assert!(topology.contains("name: gpu-fabric"), "{topology}");
    // Widest first, hostname last, each level's name as its alias.
    let levels = "  levels:\n  - alias: rack\n    nodeLabel: example.com/rack\n  - alias: nvlink\n    nodeLabel: nvidia.com/gpu.clique\n  - alias: host\n    nodeLabel: kubernetes.io/hostname\n";
    assert!(topology.contains(levels), "{topology}");
    // A Topology is cluster-scoped.
    assert!(!topology.contains("namespace:"), "{topology}");
}
