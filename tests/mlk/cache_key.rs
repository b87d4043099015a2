//! What is and is not in a step's cache key (SPEC §3), through the real loader and resolver:
//! each component changes the key; resources, GPUs, queue, priority, node placement, retries
//! and timeouts do not. Also: a downstream command reads the upstream output at a URI that
//! contains the upstream key.
//!
//! These call the library directly (no process per variant), so they stay fast.

use std::path::Path;

use mlk::cache::digest::digest_path;
use mlk::load::{InputDef, StackRef, load};
use mlk::resolve::{InputDigests, Options, Plan, resolve};

const STACK: &str = r#"[stack]
name = "keys"
backend = "kubernetes"
namespace = "ml"

[artifacts]
uri = "s3://bucket/mlk"
launcher_image = "launcher:1"

[scheduler]
kind = "kueue"
queue = "q1"
priority = "low"

[priorities]
low = { value = 10 }
high = { value = 1000 }

[queues.q1]
quota = { cpu = "1000", memory = "10Ti", gpu = 64 }

[queues.q2]
quota = { cpu = "1000", memory = "10Ti", gpu = 64 }

[gpu]
sharing = "none"
default_type = "h100"

[gpu.types.h100]
memory = "80Gi"
"#;

const PIPELINE: &str = r#"[pipeline]
name = "keys"
cache_salt = "v1"

[params]
used = 1
unused = "a"

[steps.up]
image = "registry.example/up:1.0"
command = ["python", "up.py", "--n", "{{ params.used }}", "--out", "{{ outputs.out }}"]
env = { MODE = "fast", TOKEN_FILE = "/t", API = { secret = "api", key = "token" } }
inputs = { raw = "data/" }
outputs = ["out"]
resources = { cpu = "1", memory = "1Gi" }

[steps.down]
image = "registry.example/down:1.0"
command = ["python", "down.py", "--in", "{{ steps.up.outputs.out }}"]
"#;

/// Resolves `pipeline` (with `data/` holding `data`) against [`STACK`] with `-p` `params`.
fn plan_of(pipeline: &str, data: &str, params: &[&str]) -> Plan {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("pipeline.toml"), pipeline).unwrap();
    std::fs::write(p.join("stack.toml"), STACK).unwrap();
    std::fs::create_dir_all(p.join("data")).unwrap();
    std::fs::write(p.join("data/a.csv"), data).unwrap();
    resolved(
        &p.join("pipeline.toml"),
        &StackRef::Path(p.join("stack.toml")),
        params,
    )
}

fn resolved(pipeline: &Path, stack: &StackRef, params: &[&str]) -> Plan {
    let loaded = match load(pipeline, stack) {
        Ok(l) => l,
        Err(p) => panic!("load failed: {:?}", p.items()),
    };
    let mut digests = InputDigests::new();
    for step in &loaded.pipeline.steps {
        for input in step.inputs.values() {
            if let InputDef::Path(rel) = input.get_ref() {
                let full = loaded.pipeline.dir.join(rel);
                digests.insert(full.clone(), digest_path(&full).unwrap());
            }
        }
    }
    let opts = Options {
        params: params.iter().map(|s| (*s).to_owned()).collect(),
        ..Options::default()
    };
    match resolve(&loaded, &opts, &digests) {
        Ok(r) => r.plan,
        Err(p) => panic!("resolve failed: {:?}", p.items()),
    }
}

fn keys(plan: &Plan) -> (String, String) {
    (
        plan.step("up").unwrap().cache.key.clone(),
        plan.step("down").unwrap().cache.key.clone(),
    )
}

/// The pipeline with `from` replaced by `to` (which must occur exactly once).
fn edit(from: &str, to: &str) -> String {
    assert_eq!(PIPELINE.matches(from).count(), 1, "{from:?}");
    PIPELINE.replace(from, to)
}

#[test]
fn every_component_changes_the_key_and_the_downstream_key() {
    let (up, down) = keys(&plan_of(PIPELINE, "1,2\n", &[]));
    assert_eq!(
        keys(&plan_of(PIPELINE, "1,2\n", &[])),
        (up.clone(), down.clone()),
        "same inputs, same keys"
    );
    let variants: Vec<(&str, Plan)> = vec![
        (
            "salt",
            plan_of(
                &edit("cache_salt = \"v1\"", "cache_salt = \"v2\""),
                "1,2\n",
                &[],
            ),
        ),
        ("image", plan_of(&edit("up:1.0", "up:1.1"), "1,2\n", &[])),
        (
            "command",
            plan_of(&edit("\"up.py\"", "\"up2.py\""), "1,2\n", &[]),
        ),
        (
            "env literal",
            plan_of(&edit("MODE = \"fast\"", "MODE = \"slow\""), "1,2\n", &[]),
        ),
        (
            "secret ref",
            plan_of(&edit("key = \"token\"", "key = \"token2\""), "1,2\n", &[]),
        ),
        ("used param", plan_of(PIPELINE, "1,2\n", &["used=2"])),
        ("input content", plan_of(PIPELINE, "1,3\n", &[])),
    ];
    for (what, plan) in &variants {
        let (u, d) = keys(plan);
        assert_ne!(u, up, "{what} must change the key of `up`");
        assert_ne!(
            d, down,
            "{what} must change `down` through the upstream key"
        );
    }

    // The upstream key alone: only `down`'s own settings equal, `up` changed.
    let changed_up = plan_of(PIPELINE, "9,9\n", &[]);
    let (_, d) = keys(&changed_up);
    let components = &changed_up.step("down").unwrap().cache.components;
    assert_ne!(d, down);
    assert_eq!(components.upstream.len(), 1);
    assert_eq!(components.command[3], "<steps.up.outputs.out>");
}

#[test]
fn placement_and_scheduling_do_not_change_the_key() {
    let (up, down) = keys(&plan_of(PIPELINE, "1,2\n", &[]));
    let same = [
        (
            "resources",
            edit(
                "resources = { cpu = \"1\", memory = \"1Gi\" }",
                "resources = { cpu = \"32\", memory = \"256Gi\", ephemeral_storage = \"100Gi\", shm = \"8Gi\" }",
            ),
        ),
        (
            "gpus",
            edit(
                "resources = { cpu = \"1\", memory = \"1Gi\" }",
                "resources = { cpu = \"1\", memory = \"1Gi\", gpu = 4, gpu_type = \"h100\" }",
            ),
        ),
        (
            "queue",
            edit("outputs = [\"out\"]", "outputs = [\"out\"]\nqueue = \"q2\""),
        ),
        (
            "priority",
            edit(
                "outputs = [\"out\"]",
                "outputs = [\"out\"]\npriority = \"high\"",
            ),
        ),
        (
            "node placement",
            edit(
                "outputs = [\"out\"]",
                "outputs = [\"out\"]\nnode_selector = { pool = \"big\" }\ntolerations = [{ key = \"big\", operator = \"Exists\", effect = \"NoSchedule\" }]",
            ),
        ),
        (
            "retries",
            edit("outputs = [\"out\"]", "outputs = [\"out\"]\nretries = 3"),
        ),
        (
            "timeout",
            edit(
                "outputs = [\"out\"]",
                "outputs = [\"out\"]\ntimeout = \"2h\"",
            ),
        ),
        (
            "labels, annotations, expected duration",
            edit(
                "outputs = [\"out\"]",
                "outputs = [\"out\"]\nlabels = { team = \"x\" }\nannotations = { note = \"y\" }\nexpected_duration = \"1h\"",
            ),
        ),
    ];
    for (what, pipeline) in &same {
        let plan = plan_of(pipeline, "1,2\n", &[]);
        assert_eq!(
            keys(&plan),
            (up.clone(), down.clone()),
            "{what} changed a key"
        );
    }
    // A parameter no template of the step uses is not part of its key.
    assert_eq!(keys(&plan_of(PIPELINE, "1,2\n", &["unused=b"])), (up, down));
}

#[test]
fn downstream_steps_fetch_the_upstream_address_that_contains_the_upstream_key() {
    let plan = plan_of(PIPELINE, "1,2\n", &[]);
    let up = plan.step("up").unwrap();
    let down = plan.step("down").unwrap();
    let uri = format!("s3://bucket/mlk/keys/up/{}/out", up.cache.key);
    assert_eq!(up.outputs["out"], uri);
    // The commands see local paths in the pod; the launcher moves the bytes to and from the
    // address.
    assert_eq!(
        down.command,
        ["python", "down.py", "--in", "/mlk/in/up/out"]
    );
    assert!(down.data.launcher);
    assert_eq!(down.data.fetch.len(), 1);
    assert_eq!(down.data.fetch[0].uri, uri);
    assert_eq!(down.data.fetch[0].path, "/mlk/in/up/out");
    assert!(
        up.command.iter().any(|a| a == "/mlk/out/out"),
        "{:?}",
        up.command
    );
    assert_eq!(up.data.publish.len(), 1);
    assert_eq!(up.data.publish[0].uri, uri);
    assert_eq!(up.data.publish[0].path.as_deref(), Some("/mlk/out/out"));
    assert_eq!(
        up.data.manifest.as_deref(),
        Some(format!("s3://bucket/mlk/keys/up/{}/.manifest.json", up.cache.key).as_str())
    );
}

#[test]
fn a_mutable_image_warns_that_the_cache_may_be_stale() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(
        p.join("pipeline.toml"),
        "[pipeline]\nname = \"m\"\n\n[steps.a]\nimage = \"python:latest\"\ncommand = [\"true\"]\n\n[steps.b]\nimage = \"python:3.12\"\ncommand = [\"true\"]\n",
    )
    .unwrap();
    let loaded = load(&p.join("pipeline.toml"), &StackRef::BuiltinLocal).unwrap();
    let resolved = resolve(&loaded, &Options::default(), &InputDigests::new())
        .unwrap_or_else(|_| panic!("resolve failed"));
    let warnings: Vec<String> = resolved.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("`python:latest`") && warnings[0].contains("step `a` may be stale"),
        "{warnings:?}"
    );
}
