//! The command line itself: exit codes, out.stdout versus stderr, broken pipes, `-q`, and the
//! `plan -o json` document.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::{command, mlk, snapshots};

const QUICKSTART: &str = "examples/pipelines/quickstart.toml";
const DEV: &str = "examples/stacks/dev.toml";

#[test]
fn help_and_version_exit_0() {
    for args in [
        &["--help"][..],
        &["-h"],
        &["render", "--help"],
        &["plan", "--help"],
        &["check", "--help"],
        &["completions", "--help"],
        &["--version"],
    ] {
        let out = mlk(args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert!(
            !out.stdout.is_empty(),
            "{args:?} printed nothing on out.stdout"
        );
    }
    assert!(mlk(&["--help"]).stdout.contains("Usage: mlk"));
    let version = mlk(&["--version"]).stdout;
    assert_eq!(version, format!("mlk {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["render", QUICKSTART, "--frobnicate"][..],
        &["--frobnicate"],
        &["frobnicate"],
        &[],
        &["render"],
        &["plan", QUICKSTART, "-o", "yaml"],
        &["--color", "sometimes", "check", QUICKSTART],
        &["-q", "-v", "check", QUICKSTART],
    ] {
        let out = mlk(args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert_eq!(out.stdout, "", "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}: no message");
    }
    let out = mlk(&["render", QUICKSTART, "--frobnicate"]);
    assert!(
        out.stderr.contains("unexpected argument '--frobnicate'"),
        "{}",
        out.stderr
    );
}

#[test]
fn check_prints_ok_on_stderr_and_nothing_on_stdout() {
    for pair in crate::matrix() {
        let out = mlk(&[
            "check",
            &pair.pipeline_path(),
            "--stack",
            &pair.stack_path(),
        ]);
        assert_eq!(out.code, 0, "{pair:?}: {}", out.stderr);
        assert_eq!(out.stdout, "", "{pair:?}");
        let ok = out.stderr.lines().find(|l| l.starts_with("ok:"));
        assert!(ok.is_some(), "{pair:?}: no ok: line in\n{}", out.stderr);
    }
    let out = mlk(&["check", QUICKSTART, "--stack", DEV]);
    assert_eq!(
        out.stderr,
        "ok: pipeline `quickstart` on stack `dev`: 4 steps, 4 objects\n"
    );
}

#[test]
fn check_fails_like_render() {
    let out = mlk(&["check", "tests/fixtures/cycle-three.toml", "--stack", DEV]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("mlk::resolve::cycle"), "{}", out.stderr);
    assert!(!out.stderr.contains("ok:"));
}

/// `mlk render … | head -1`: a reader that goes away early is not an error.
#[test]
fn a_closed_stdout_is_not_an_error() {
    // Closed before mlk writes anything.
    let child = command()
        .args([
            "render",
            "examples/pipelines/batch-inference.toml",
            "--stack",
            "examples/stacks/prod.toml",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = child;
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.to_lowercase().contains("broken pipe"), "{stderr}");

    // Closed after the first line, like `head -1`.
    let mut child = command()
        .args(["plan", QUICKSTART, "--stack", DEV, "-o", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(first, "{\n");
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn quiet_hides_warnings_but_not_errors() {
    let mutable = "tests/fixtures/good/mutable-image.toml";
    let loud = mlk(&["render", mutable, "--stack", DEV]);
    assert_eq!(loud.code, 0, "{}", loud.stderr);
    snapshots().bind(|| insta::assert_snapshot!("cli__mutable_image_warning", loud.stderr));

    let quiet = mlk(&["-q", "render", mutable, "--stack", DEV]);
    assert_eq!(quiet.code, 0);
    assert_eq!(quiet.stderr, "", "-q must hide warnings");
    assert_eq!(quiet.stdout, loud.stdout, "-q changes only stderr");

    // Advice (Kueue and PyTorchJobs) and the `ok:` line are hidden too.
    let fraud = "examples/pipelines/fraud-detection.toml";
    let prod = "examples/stacks/prod.toml";
    assert!(
        mlk(&["check", fraud, "--stack", prod])
            .stderr
            .contains("kueue")
    );
    let quiet = mlk(&["--quiet", "check", fraud, "--stack", prod]);
    assert_eq!((quiet.code, quiet.stderr.as_str()), (0, ""));

    // Errors are still shown, without the summary line.
    let bad = mlk(&[
        "-q",
        "check",
        "tests/fixtures/cycle-three.toml",
        "--stack",
        DEV,
    ]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("mlk::resolve::cycle"), "{}", bad.stderr);
}

#[test]
fn plan_json_has_the_documented_fields() {
    for pair in crate::matrix() {
        let stdout = pair.plan_json();
        let plan: serde_json::Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{pair:?}: plan -o json is not JSON: {e}"));
        assert_eq!(plan["version"], 1, "{pair:?}");
        assert_eq!(plan["pipeline"], pair.pipeline.as_str(), "{pair:?}");
        assert!(plan["stack"]["namespace"].is_string(), "{pair:?}");
        let steps = plan["steps"].as_array().unwrap();
        assert!(!steps.is_empty());
        for s in steps {
            let name = s["name"].as_str().unwrap();
            assert!(
                matches!(s["kind"].as_str(), Some("job" | "pytorch" | "serve")),
                "{name}: kind {}",
                s["kind"]
            );
            assert!(s["object_name"].is_string(), "{name}");
            assert!(s["replicas"].is_u64(), "{name}");
            assert!(s["resources"]["requests"].is_object(), "{name}");
            assert!(s["gpu"].is_object(), "{name}");
            assert!(s["queue"].is_string() || s["queue"].is_null(), "{name}");
            assert!(
                s["priority"].is_object() || s["priority"].is_null(),
                "{name}"
            );
            let deps = s["depends_on"].as_array().unwrap();
            for d in deps {
                assert!(
                    steps.iter().any(|o| o["name"] == *d),
                    "{name} depends on unknown {d}"
                );
            }
            let key = s["cache"]["key"].as_str().unwrap();
            assert_eq!(key.len(), 64, "{name}: cache key {key}");
            assert!(key.bytes().all(|b| b.is_ascii_hexdigit()));
        }
    }
}
