//! Caching seen from the command line: `mlk plan`'s CACHE column and notes, `plan -o json`'s
//! `cache.status` / `cache.changed`, `mlk cache ls | explain | clear`, expiry, the stat cache
//! under `.mlk/`, and a broken cache store.
//!
//! Each test works in its own temporary directory (mlk's state lives in `.mlk/` of the current
//! directory). `mlk run` does not exist yet, so records are written through the library's
//! `LocalStore`, exactly as a successful step will write them.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use mlk::cache::digest::digest_path;
use mlk::cache::store::{LocalStore, RECORD_FORMAT, Record, Store};
use mlk::load::{InputDef, StackRef, load};
use mlk::resolve::{InputDigests, Options, resolve};

use crate::{Run, command, run, snapshots};

const PIPELINE: &str = r#"[pipeline]
name = "demo"

[defaults]
image = "python:3.12-slim"

[steps.prep]
command = ["python3", "prep.py", "{{ outputs.features }}"]
inputs = { raw = "data/" }
outputs = ["features"]

[steps.train]
command = ["python3", "train.py", "{{ steps.prep.outputs.features }}", "{{ outputs.model }}"]
outputs = ["model"]
cache_ttl = "1d"

[steps.report]
command = ["python3", "report.py", "{{ steps.train.outputs.model }}"]
cache = false
"#;

/// A project directory with the pipeline and its input tree.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pipeline.toml"), PIPELINE).unwrap();
    std::fs::create_dir_all(dir.path().join("data/sub")).unwrap();
    write_old(&dir.path().join("data/a.csv"), "x,y\n1,2\n");
    write_old(&dir.path().join("data/sub/b.csv"), "x,y\n3,4\n");
    dir
}

/// Writes a file dated an hour ago: the stat cache does not trust files changed within the
/// last seconds (they could change again within the same timestamp tick).
fn write_old(path: &Path, content: &str) {
    std::fs::write(path, content).unwrap();
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::now() - std::time::Duration::from_secs(3600))
        .unwrap();
}

/// `mlk ARGS…` in `dir`.
fn mlk_in(dir: &Path, args: &[&str]) -> Run {
    run(command().current_dir(dir).args(args))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Writes a record for every cached step of the project's pipeline, `age` seconds old, as a
/// successful run would.
fn record_run(dir: &Path, age: u64) {
    let loaded = load(&dir.join("pipeline.toml"), &StackRef::BuiltinLocal).unwrap();
    let mut digests = InputDigests::new();
    for step in &loaded.pipeline.steps {
        for input in step.inputs.values() {
            if let InputDef::Path(p) = input.get_ref() {
                let full = loaded.pipeline.dir.join(p);
                digests.insert(full.clone(), digest_path(&full).unwrap());
            }
        }
    }
    let plan = resolve(&loaded, &Options::default(), &digests)
        .unwrap_or_else(|_| panic!("resolve failed"))
        .plan;
    let store = LocalStore::new(dir.join(".mlk/cache"));
    for s in plan.steps.iter().filter(|s| s.cache.enabled) {
        store
            .put(&Record {
                format: RECORD_FORMAT,
                pipeline: plan.pipeline.clone(),
                step: s.name.clone(),
                key: s.cache.key.clone(),
                components: s.cache.components.clone(),
                outputs: s.outputs.clone(),
                created_unix: now() - age,
                run_id: "run-1".into(),
            })
            .unwrap();
    }
}

/// The key column of a plan table for `step`.
fn cache_cell(table: &str, step: &str) -> String {
    let line = table
        .lines()
        .find(|l| l.starts_with(&format!("{step} ")))
        .unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    // STEP KIND PODS CPU MEMORY GPU QUEUE PRIORITY CACHE… : the cell is "KEY STATUS" or "off".
    match words[8] {
        "off" => "off".into(),
        key => format!("{key} {}", words[9]),
    }
}

#[test]
fn plan_shows_miss_then_hit_then_what_changed() {
    let dir = project();
    let p = dir.path();

    let first = mlk_in(p, &["plan", "pipeline.toml"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(cache_cell(&first.stdout, "prep").ends_with(" miss"));
    assert!(cache_cell(&first.stdout, "train").ends_with(" miss"));
    assert_eq!(cache_cell(&first.stdout, "report"), "off");
    assert!(
        p.join(".mlk/stat-cache").is_file(),
        "the stat cache lives in .mlk/ of the current directory"
    );

    record_run(p, 3600);
    let hit = mlk_in(p, &["plan", "pipeline.toml"]);
    assert_eq!(hit.code, 0, "{}", hit.stderr);
    assert!(
        cache_cell(&hit.stdout, "prep").ends_with(" hit"),
        "{}",
        hit.stdout
    );
    assert!(cache_cell(&hit.stdout, "train").ends_with(" hit"));

    // Resources are not part of the key: a bigger node is still a hit. (No GPUs: a local
    // plan checks them against this machine, which has none; that GPUs are not in the key
    // either is `local_gpu::gpus_are_not_part_of_the_cache_key`.)
    let bigger = PIPELINE.replace(
        "[steps.train]\n",
        "[steps.train]\nresources = { cpu = \"64\", memory = \"512Gi\" }\nretries = 5\ntimeout = \"2d\"\n",
    );
    std::fs::write(p.join("pipeline.toml"), bigger).unwrap();
    let still = mlk_in(p, &["plan", "pipeline.toml"]);
    assert!(
        cache_cell(&still.stdout, "train").ends_with(" hit"),
        "{}",
        still.stdout
    );

    // New content under data/: prep misses because of its input, train because of prep.
    write_old(&p.join("data/sub/b.csv"), "x,y\n3,5\n");
    let changed = mlk_in(p, &["plan", "pipeline.toml"]);
    assert_eq!(changed.code, 0, "{}", changed.stderr);
    snapshots().bind(|| {
        insta::assert_snapshot!("cache_plan_changed", &changed.stdout);
    });

    let json = mlk_in(p, &["plan", "pipeline.toml", "-o", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let steps = doc["steps"].as_array().unwrap();
    let cache = |name: &str| steps.iter().find(|s| s["name"] == name).unwrap()["cache"].clone();
    assert_eq!(cache("prep")["status"], "miss");
    assert_eq!(
        cache("prep")["changed"],
        serde_json::json!(["input raw changed"])
    );
    assert_eq!(
        cache("train")["changed"],
        serde_json::json!(["upstream prep changed"])
    );
    assert_eq!(cache("report")["status"], "off");
    assert_eq!(cache("report")["changed"], serde_json::json!([]));
}

#[test]
fn records_older_than_cache_ttl_are_misses() {
    let dir = project();
    let p = dir.path();
    record_run(p, 2 * 86_400);
    let out = mlk_in(p, &["plan", "pipeline.toml"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        cache_cell(&out.stdout, "prep").ends_with(" hit"),
        "no ttl on prep"
    );
    assert!(cache_cell(&out.stdout, "train").ends_with(" miss"));
    assert!(
        out.stdout.contains("train: miss: expired\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn cache_ls_explain_and_clear() {
    let dir = project();
    let p = dir.path();
    let empty = mlk_in(p, &["cache", "ls"]);
    assert_eq!(empty.code, 0, "{}", empty.stderr);
    assert_eq!(empty.stdout, "");
    assert_eq!(empty.stderr, "no cache records in .mlk/cache\n");

    record_run(p, 3 * 3600);
    let ls = mlk_in(p, &["cache", "ls"]);
    assert_eq!(ls.code, 0, "{}", ls.stderr);
    let explain = mlk_in(p, &["cache", "explain", "pipeline.toml", "train"]);
    assert_eq!(explain.code, 0, "{}", explain.stderr);
    snapshots().bind(|| {
        insta::assert_snapshot!("cache_ls", &ls.stdout);
        insta::assert_snapshot!("cache_explain", &explain.stdout);
    });

    let unknown = mlk_in(p, &["cache", "explain", "pipeline.toml", "trian"]);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("no step `trian`"),
        "{}",
        unknown.stderr
    );

    let clear = mlk_in(p, &["cache", "clear", "train"]);
    assert_eq!(clear.code, 0, "{}", clear.stderr);
    assert_eq!(clear.stderr, "removed 1 cache record from .mlk/cache\n");
    let ls = mlk_in(p, &["cache", "ls"]);
    assert!(!ls.stdout.contains("train"), "{}", ls.stdout);
    assert!(ls.stdout.contains("prep"), "{}", ls.stdout);
    let clear = mlk_in(p, &["cache", "clear"]);
    assert_eq!(clear.stderr, "removed 1 cache record from .mlk/cache\n");
}

#[test]
fn a_cluster_store_shows_unknown_status_with_a_note() {
    let dir = project();
    let p = dir.path();
    std::fs::write(
        p.join("cluster.toml"),
        "[stack]\nname = \"c\"\nnamespace = \"ml\"\n\n[artifacts]\nuri = \"s3://b/mlk\"\nlauncher_image = \"launcher:1\"\n\n[cache]\nstore = \"configmap\"\n",
    )
    .unwrap();
    let out = mlk_in(p, &["plan", "pipeline.toml", "--stack", "cluster.toml"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        cache_cell(&out.stdout, "prep").ends_with(" ?"),
        "{}",
        out.stdout
    );
    assert_eq!(cache_cell(&out.stdout, "report"), "off");
    assert_eq!(
        out.stdout.matches("note: cache status `?`").count(),
        1,
        "{}",
        out.stdout
    );
    let json = mlk_in(
        p,
        &[
            "plan",
            "pipeline.toml",
            "--stack",
            "cluster.toml",
            "-o",
            "json",
        ],
    );
    assert!(
        json.stdout.contains("\"status\": \"unknown\""),
        "{}",
        json.stdout
    );

    std::fs::write(
        p.join("none.toml"),
        "[stack]\nname = \"n\"\nnamespace = \"ml\"\n\n[artifacts]\nuri = \"s3://b/mlk\"\nlauncher_image = \"launcher:1\"\n\n[cache]\nstore = \"none\"\n",
    )
    .unwrap();
    let out = mlk_in(p, &["plan", "pipeline.toml", "--stack", "none.toml"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(cache_cell(&out.stdout, "prep"), "off");
}

#[test]
fn a_broken_cache_store_is_an_io_error() {
    let dir = project();
    let p = dir.path();
    std::fs::create_dir_all(p.join(".mlk")).unwrap();
    std::fs::write(p.join(".mlk/cache"), "not a directory").unwrap();
    let out = mlk_in(p, &["cache", "ls"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    snapshots().bind(|| {
        insta::assert_snapshot!("cache_store_broken", out.code_and_stderr());
    });
    // `plan` still plans, with the status unknown and a warning.
    let plan = mlk_in(p, &["plan", "pipeline.toml"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stderr.contains("cache status unknown"),
        "{}",
        plan.stderr
    );
    assert!(cache_cell(&plan.stdout, "prep").ends_with(" ?"));
}

#[test]
fn a_missing_input_is_a_clear_error() {
    let dir = project();
    let p = dir.path();
    std::fs::remove_dir_all(p.join("data")).unwrap();
    let out = mlk_in(p, &["plan", "pipeline.toml"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("data/ does not exist"),
        "{}",
        out.stderr
    );
}

#[test]
fn cache_help_exits_0_and_usage_errors_exit_2() {
    for args in [
        &["cache", "--help"][..],
        &["cache", "ls", "--help"],
        &["cache", "explain", "--help"],
        &["cache", "clear", "--help"],
    ] {
        let out = crate::mlk(args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert!(out.stdout.contains("Usage: mlk cache"), "{args:?}");
    }
    for args in [
        &["cache"][..],
        &["cache", "explain", "pipeline.toml"],
        &["cache", "frob"],
    ] {
        assert_eq!(crate::mlk(args).code, 2, "{args:?}");
    }
}

/// `plan` and `run` share one hit rule: a record whose output was deleted is a miss for both,
/// and `plan` says why.
#[test]
fn plan_and_run_agree_when_an_output_is_gone() {
    let p = crate::run::Project::new(crate::run::CHAIN);
    let first = p.run(&[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let a_dir = p.path().join(".mlk/artifacts/t/a");
    let key_dir = std::fs::read_dir(&a_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::remove_file(key_dir.join("x")).unwrap();

    let plan = p.mlk(&["plan", "pipeline.toml"]);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout.contains("a: miss: outputs missing"),
        "{}",
        plan.stdout
    );
    let json = p.mlk(&["plan", "pipeline.toml", "-o", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let statuses: Vec<&str> = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["cache"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["miss", "hit", "hit"]);

    let again = p.run(&[]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(p.read("starts"), "a\nb\nc\na\n", "only `a` runs again");
    assert!(key_dir.join("x").exists());
}
