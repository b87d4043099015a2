//! `mlk init`: a fresh directory gets files that pass `mlk check`; existing files are kept
//! unless `--force`.

use crate::{command, run, snapshots};

fn in_dir(dir: &std::path::Path, args: &[&str]) -> crate::Run {
    run(command().current_dir(dir).args(args))
}

#[test]
fn quickstart_scaffold_passes_check() {
    let tmp = tempfile::tempdir().unwrap();
    let out = in_dir(tmp.path(), &["init", "proj"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr
            .contains("next: cd proj && mlk run pipeline.toml"),
        "{}",
        out.stderr
    );
    let proj = tmp.path().join("proj");
    assert!(proj.join("pipeline.toml").is_file());
    assert!(proj.join("stacks/local.toml").is_file());
    for stack in ["local", "stacks/local.toml"] {
        let out = in_dir(&proj, &["check", "pipeline.toml", "--stack", stack]);
        assert_eq!(out.code, 0, "check --stack {stack}: {}", out.stderr);
    }
}

#[test]
fn train_serve_scaffold_passes_check_on_both_stacks() {
    let tmp = tempfile::tempdir().unwrap();
    let out = in_dir(tmp.path(), &["init", "--template", "train-serve"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("next: mlk render pipeline.toml --stack dev"),
        "{}",
        out.stderr
    );
    for stack in ["local", "dev"] {
        let out = in_dir(tmp.path(), &["check", "pipeline.toml", "--stack", stack]);
        assert_eq!(out.code, 0, "check --stack {stack}: {}", out.stderr);
    }
    let out = in_dir(tmp.path(), &["render", "pipeline.toml", "--stack", "dev"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("kind: InferenceService"));
    assert!(
        out.stdout
            .contains("serving.kserve.io/deploymentMode: Knative")
    );
}

#[test]
fn existing_files_are_kept_without_force() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("stacks")).unwrap();
    std::fs::write(tmp.path().join("stacks/local.toml"), "# mine\n").unwrap();
    let out = in_dir(tmp.path(), &["init"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    snapshots().bind(|| insta::assert_snapshot!("init_exists", out.code_and_stderr()));
    assert!(out.stderr.contains("stacks/local.toml"), "{}", out.stderr);
    assert!(out.stderr.contains("--force"), "{}", out.stderr);
    // Nothing was written: not even the file that did not exist.
    assert!(!tmp.path().join("pipeline.toml").exists());
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("stacks/local.toml")).unwrap(),
        "# mine\n"
    );
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path().join("stacks"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
}

#[test]
fn force_overwrites() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("pipeline.toml"), "# mine\n").unwrap();
    let out = in_dir(tmp.path(), &["init", ".", "--force"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = std::fs::read_to_string(tmp.path().join("pipeline.toml")).unwrap();
    assert!(text.contains("[pipeline]"), "{text}");
    let out = in_dir(tmp.path(), &["check", "pipeline.toml"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn an_unknown_template_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = in_dir(tmp.path(), &["init", "--template", "nope"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn an_unwritable_directory_is_an_io_error() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("file"), "").unwrap();
    let out = in_dir(tmp.path(), &["init", "file/proj"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    snapshots().bind(|| insta::assert_snapshot!("init_io", out.code_and_stderr()));
}
