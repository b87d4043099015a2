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
    let (_d, path) = temp_stack(
        "[stack]\nname = \"kai-bare\"\nbackend = \"kubernetes\"\nnamespace = \"ml\"\n\n[scheduler]\nkind = \"kai\"\nqueue = \"research\"\n",
    );
    let out = mlk(&["stack", "render", &path]);
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
    assert!(topology.contains(levels.trim_end()), "{topology}");
    // A Topology is cluster-scoped.
    assert!(!topology.contains("namespace:"), "{topology}");
}

/// A stack file in a temporary directory.
fn temp_stack(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stack.toml");
    std::fs::write(&path, text).unwrap();
    let path = path.to_string_lossy().into_owned();
    (dir, path)
}

const TENANT: &str =
    "[stack]\nname = \"team\"\nbackend = \"kubernetes\"\nnamespace = \"team\"\n\n[tenant]\n";

#[test]
fn tenant_roles_hold_exactly_the_verbs_the_stack_uses() {
    // No cache ConfigMaps, PyTorchJobs, no isolation: no configmaps, trainjobs or
    // networkpolicies in the runner's Role; no quota on a default stack without [tenant.quota].
    let (_d, bare) = temp_stack(&format!("{TENANT}\n[cache]\nstore = \"none\"\n"));
    let out = mlk(&["stack", "render", &bare]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for absent in [
        "configmaps",
        "trainjobs",
        "networkpolicies",
        "ResourceQuota",
        "\"*\"",
    ] {
        assert!(!out.stdout.contains(absent), "{absent}:\n{}", out.stdout);
    }
    assert!(out.stdout.contains("pods/log") && out.stdout.contains("kind: Namespace"));
    assert!(out.stderr.contains("add [tenant.quota]"), "{}", out.stderr);
    // TrainJobs, ConfigMap cache, isolation: each brings its kinds, and the cluster-wide read
    // of the training runtime goes into a ClusterRole named after the stack.
    let (_d, full) = temp_stack(&format!(
        "{TENANT}\n[cache]\nstore = \"configmap\"\n\n[training]\napi = \"trainjob\"\n\n[policy]\nnetwork_isolation = true\n"
    ));
    let out = mlk(&["stack", "render", &full]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for present in [
        "configmaps",
        "trainjobs",
        "networkpolicies",
        "clustertrainingruntimes",
        "name: mlk-team-runner",
    ] {
        assert!(out.stdout.contains(present), "{present}:\n{}", out.stdout);
    }
    assert!(!out.stdout.contains("pytorchjobs"), "{}", out.stdout);
}

#[test]
fn tenant_mistakes_are_diagnostics() {
    let (_d, kueue) = temp_stack(&format!(
        "{TENANT}artifact_cidrs = [\"10.0.0.0/40\"]\n\n[tenant.quota]\ngpu = 2\npriorities = [\"bach\"]\n\n[scheduler]\nkind = \"kueue\"\n\n[priorities]\nbatch = {{ value = 1 }}\n"
    ));
    let out = mlk(&["stack", "check", &kueue]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("not a CIDR"), "{}", out.stderr);
    let (_d, kueue) = temp_stack(&format!(
        "{TENANT}\n[tenant.quota]\ngpu = 2\npriorities = [\"bach\"]\n\n[scheduler]\nkind = \"kueue\"\n\n[priorities]\nbatch = {{ value = 1 }}\n"
    ));
    let out = mlk(&["stack", "check", &kueue]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    for code in ["mlk::resolve::tenant_quota", "mlk::resolve::priority"] {
        assert!(out.stderr.contains(code), "{code}: {}", out.stderr);
    }
}

#[test]
fn tenant_quota_counts_what_the_stacks_gpus_advertise() {
    // A MIG stack's quota of 2 GPUs allows each profile's instances of 2 devices.
    let (_d, mig) = temp_stack(&format!(
        "{TENANT}\n[tenant.quota]\ngpu = 2\ncpu = \"16\"\n\n[gpu]\nsharing = \"mig\"\ndefault_type = \"a100\"\n\n[gpu.types.a100]\nmemory = \"80Gi\"\n"
    ));
    let out = mlk(&["stack", "render", &mig]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for line in [
        "requests.cpu: \"16\"",
        "requests.nvidia.com/gpu: \"2\"",
        "requests.nvidia.com/mig-1g.10gb: \"14\"",
        "requests.nvidia.com/mig-7g.80gb: \"2\"",
    ] {
        assert!(out.stdout.contains(line), "{line}\n{}", out.stdout);
    }
    assert!(!out.stdout.contains("scopeSelector"), "{}", out.stdout);
    // The Namespace comes first, for GitOps tools that apply in order.
    assert!(
        out.stdout.starts_with("apiVersion: v1\nkind: Namespace\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn an_argo_tenants_runner_may_apply_the_template_and_create_and_delete_workflows() {
    let (_d, argo) = temp_stack(&TENANT.replace(
        "namespace = \"team\"\n",
        "namespace = \"team\"\nengine = \"argo\"\n\n[artifacts]\nuri = \"s3://b/p\"\nlauncher_image = \"example.com/mlk-launcher:1\"\n",
    ));
    let out = mlk(&["stack", "render", &argo]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let runner = out
        .stdout
        .split("\n---\n")
        .find(|d| d.contains("kind: Role\n") && d.contains("name: mlk-runner\n"))
        .unwrap_or_else(|| panic!("no runner Role in\n{}", out.stdout));
    for resource in ["workflowtemplates", "workflows"] {
        assert!(runner.contains(resource), "{resource}:\n{runner}");
    }
    // The stack without the engine grants neither.
    let (_d, plain) = temp_stack(TENANT);
    let out = mlk(&["stack", "render", &plain]);
    assert!(!out.stdout.contains("argoproj.io"), "{}", out.stdout);
}
