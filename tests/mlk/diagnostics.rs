//! Diagnostics: every bad input in `tests/fixtures/` rendered, exit code and stderr
//! snapshotted; bad command-line arguments; and a check that every error code mlk defines is
//! exercised by at least one snapshot.
//!
//! A fixture is a small TOML file whose first line is a comment saying what it tests. Pipeline
//! fixtures (`tests/fixtures/*.toml`) are rendered with the stack named on a `# stack: PATH`
//! comment line, by default `examples/stacks/dev.toml`. Stack fixtures
//! (`tests/fixtures/stacks/*.toml`) are used to render the pipeline named on a
//! `# pipeline: PATH` line, by default `tests/fixtures/good/one-step.toml`.

use std::path::Path;

use regex::Regex;

use crate::{Run, mlk, root, snapshots};

/// The value of a `# KEY: VALUE` comment line of a fixture.
fn directive<'t>(text: &'t str, key: &str) -> Option<&'t str> {
    text.lines()
        .filter_map(|l| l.strip_prefix('#'))
        .filter_map(|l| l.trim().strip_prefix(key)?.strip_prefix(':'))
        .map(str::trim)
        .next()
}

/// The fixture's first line without its `# `, checked to be there.
fn purpose(path: &Path, text: &str) -> String {
    let first = text.lines().next().unwrap_or_default();
    let Some(purpose) = first.strip_prefix("# ") else {
        panic!(
            "{}: the first line must be a comment saying what the fixture tests",
            path.display()
        );
    };
    purpose.to_owned()
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Snapshots a fixture's run under `name`, with the fixture's purpose as the description.
fn snapshot(name: &str, purpose: &str, out: &Run, with_stdout: bool) {
    let mut s = insta::Settings::clone_current();
    s.set_description(purpose);
    let mut text = out.code_and_stderr();
    if with_stdout {
        text.push_str("--- stdout\n");
        text.push_str(&out.stdout);
    }
    s.bind(|| insta::assert_snapshot!(name, text));
}

#[test]
fn bad_pipelines() {
    snapshots().bind(|| {
        insta::glob!("../fixtures", "*.toml", |path| {
            let text = std::fs::read_to_string(path).unwrap();
            let purpose = purpose(path, &text);
            let stack = directive(&text, "stack").unwrap_or("examples/stacks/dev.toml");
            let out = mlk(&["render", &relative(path), "--stack", stack]);
            assert_eq!(
                out.code,
                2,
                "{}: expected exit code 2 (invalid input)\n{}",
                path.display(),
                out.stderr
            );
            assert_eq!(
                out.stdout,
                "",
                "{}: a failed render wrote to stdout",
                path.display()
            );
            snapshot("diagnostics", &purpose, &out, false);
        });
    });
}

#[test]
fn bad_stacks() {
    snapshots().bind(|| {
        insta::glob!("../fixtures/stacks", "*.toml", |path| {
            let text = std::fs::read_to_string(path).unwrap();
            let purpose = purpose(path, &text);
            let pipeline =
                directive(&text, "pipeline").unwrap_or("tests/fixtures/good/one-step.toml");
            let out = mlk(&["render", pipeline, "--stack", &relative(path)]);
            // Most stack fixtures are errors; a working template override is shown with its output.
            if out.code != 0 {
                assert_eq!(
                    out.code,
                    2,
                    "{}: expected exit code 2\n{}",
                    path.display(),
                    out.stderr
                );
                assert_eq!(
                    out.stdout,
                    "",
                    "{}: a failed render wrote to stdout",
                    path.display()
                );
            }
            snapshot("diagnostics_stack", &purpose, &out, out.code == 0);
        });
    });
}

#[test]
fn there_are_enough_fixtures() {
    let pipelines = crate::files("tests/fixtures", ".toml").len();
    let stacks = crate::files("tests/fixtures/stacks", ".toml").len();
    assert!(
        pipelines + stacks >= 30,
        "expected at least 30 fixtures, found {pipelines} pipelines and {stacks} stacks"
    );
}

/// Command-line problems: `-p`, missing files, unknown stacks.
#[test]
fn bad_arguments() {
    let quickstart = "examples/pipelines/quickstart.toml";
    let dev = "examples/stacks/dev.toml";
    let cases: &[(&str, &[&str])] = &[
        (
            "param-unknown",
            &["render", quickstart, "--stack", dev, "-p", "holdout=3"],
        ),
        (
            "param-unknown-no-match",
            &[
                "render",
                quickstart,
                "--stack",
                dev,
                "-p",
                "learning_rate=3",
            ],
        ),
        (
            "param-wrong-type-integer",
            &[
                "render",
                quickstart,
                "--stack",
                dev,
                "-p",
                "holdout_every=five",
            ],
        ),
        (
            "param-wrong-type-number",
            &[
                "render",
                quickstart,
                "--stack",
                dev,
                "-p",
                "min_accuracy=high",
            ],
        ),
        (
            "param-not-name-value",
            &["render", quickstart, "--stack", dev, "-p", "holdout_every"],
        ),
        (
            "param-several-problems",
            &[
                "check",
                quickstart,
                "--stack",
                dev,
                "-p",
                "holdout=3",
                "-p",
                "min_accuracy=x",
            ],
        ),
        (
            "pipeline-file-missing",
            &["render", "examples/pipelines/nope.toml", "--stack", dev],
        ),
        (
            "stack-file-missing",
            &["render", quickstart, "--stack", "examples/stacks/nope.toml"],
        ),
        (
            "stack-name-unknown",
            &["render", quickstart, "--stack", "nope"],
        ),
    ];
    for (name, args) in cases {
        let out = mlk(args);
        assert_eq!(out.code, 2, "{name}: expected exit code 2\n{}", out.stderr);
        assert_eq!(out.stdout, "", "{name}: wrote to stdout");
        snapshots().bind(|| {
            let mut s = insta::Settings::clone_current();
            s.set_description(format!("mlk --color never {}", args.join(" ")));
            s.bind(|| insta::assert_snapshot!(format!("args__{name}"), out.code_and_stderr()));
        });
    }
}

#[test]
fn a_good_param_override_changes_the_output() {
    let out = mlk(&[
        "render",
        "examples/pipelines/quickstart.toml",
        "--stack",
        "examples/stacks/dev.toml",
        "-p",
        "holdout_every=3",
        "-p",
        "min_accuracy=0.95",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("- \"3\"\n"), "{}", out.stdout);
    assert!(out.stdout.contains("- \"0.95\"\n"), "{}", out.stdout);
    assert!(!out.stdout.contains("- \"0.8\"\n"));
}

/// SPEC §1.1: a literal credential is an error, and its value appears nowhere: not in the
/// message, not in the source snippet (the same line has a second error, so the snippet is
/// shown twice), not on stdout, with any command or verbosity.
#[test]
fn a_literal_secret_is_never_shown() {
    let secret = "sk-live-abc123";
    let fixture = "tests/fixtures/literal-secret.toml";
    let text = std::fs::read_to_string(root().join(fixture)).unwrap();
    assert!(text.contains(secret), "the fixture must contain the secret");
    let dev = "examples/stacks/dev.toml";
    let runs: &[&[&str]] = &[
        &["render", fixture, "--stack", dev],
        &["-v", "render", fixture, "--stack", dev],
        &["check", fixture, "--stack", dev],
        &["plan", fixture, "--stack", dev],
        &["plan", fixture, "--stack", dev, "-o", "json"],
    ];
    for args in runs {
        let out = mlk(args);
        assert_eq!(out.code, 2, "{args:?}\n{}", out.stderr);
        assert!(
            out.stderr.contains("mlk::load::literal_secret"),
            "{args:?}: no literal_secret diagnostic:\n{}",
            out.stderr
        );
        for (stream, s) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            for needle in [secret, "abc123", "sk-live"] {
                assert!(
                    !s.contains(needle),
                    "{args:?}: `{needle}` appears on {stream}:\n{s}"
                );
            }
        }
    }
}

/// Every `code(mlk::…)` that a loader, resolver, renderer or command error declares appears in
/// at least one snapshot, so a new error class cannot arrive without a test.
#[test]
fn every_error_code_is_exercised() {
    // Unreachable from the command line: object names embed the step name (and a hash of it
    // when shortened), so two steps of one pipeline cannot produce the same name.
    let exempt = ["mlk::resolve::name_collision"];
    let code = Regex::new(r"code\((mlk::[a-z_:]+)\)").unwrap();
    let mut codes = std::collections::BTreeSet::new();
    let mut dirs = vec![root().join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                codes.extend(code.captures_iter(&text).map(|c| c[1].to_owned()));
            }
        }
    }
    assert!(codes.len() > 20, "found only {codes:?}");
    let mut snapshots = String::new();
    for f in crate::files("tests/snapshots", ".snap") {
        snapshots.push_str(&std::fs::read_to_string(f).unwrap());
    }
    let missing: Vec<&String> = codes
        .iter()
        .filter(|c| !exempt.contains(&c.as_str()))
        .filter(|c| !snapshots.contains(&format!("{c}\n")))
        .collect();
    assert!(
        missing.is_empty(),
        "no snapshot shows these error codes; add a fixture under tests/fixtures/: {missing:?}"
    );
}

/// The snapshots show these too; here they are spelled out, so a changed snapshot cannot
/// quietly accept a regression.
#[test]
fn every_problem_is_counted_and_cycles_are_named_in_full() {
    let dev = "examples/stacks/dev.toml";
    let out = mlk(&["check", "tests/fixtures/many-errors.toml", "--stack", dev]);
    assert_eq!(out.code, 2);
    assert_eq!(
        out.stderr.matches("\n  × ").count() + usize::from(out.stderr.starts_with("  × ")),
        5
    );
    assert!(
        out.stderr.ends_with("error: 5 problems found\n"),
        "{}",
        out.stderr
    );

    let out = mlk(&["check", "tests/fixtures/cycle-three.toml", "--stack", dev]);
    assert!(
        out.stderr.contains("dependency cycle: a → c → b → a\n"),
        "{}",
        out.stderr
    );
    for label in ["`a` needs `c`", "`c` needs `b`", "`b` needs `a`"] {
        assert!(
            out.stderr.contains(label),
            "no label {label}:\n{}",
            out.stderr
        );
    }
    let out = mlk(&["check", "tests/fixtures/cycle-self.toml", "--stack", dev]);
    assert!(
        out.stderr.contains("dependency cycle: train → train\n"),
        "{}",
        out.stderr
    );
}
