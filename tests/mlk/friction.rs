//! Newcomer friction from issue 12: the hint of `render --check` names the real command, and
//! `-n` is checked the same way by every command.

use crate::mlk;

#[test]
fn render_check_hint_is_the_command_that_repairs_the_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out dir");
    let dir_arg = dir.to_str().unwrap();
    let render = |extra: &[&str]| {
        let mut args = vec![
            "render",
            "examples/pipelines/quickstart.toml",
            "--stack",
            "examples/stacks/dev.toml",
            "-p",
            "holdout_every=4",
            "-n",
            "team-a",
            "-o",
            dir_arg,
        ];
        args.extend(extra);
        mlk(&args)
    };
    let first = render(&[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let victim = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap() != "kustomization.yaml")
        .unwrap();
    std::fs::remove_file(victim).unwrap();

    let drift = render(&["--check"]);
    assert_eq!(drift.code, 1, "{}", drift.stderr);
    let want = format!(
        "run `mlk render examples/pipelines/quickstart.toml --stack examples/stacks/dev.toml \
         -p holdout_every=4 -n team-a -o '{dir_arg}'`"
    );
    assert!(drift.stderr.contains(&want), "{}", drift.stderr);
    assert!(!drift.stderr.contains('…'), "{}", drift.stderr);
}

#[test]
fn every_command_refuses_a_bad_namespace_before_running() {
    let commands: [&[&str]; 7] = [
        &["render", "examples/pipelines/quickstart.toml"],
        &["plan", "examples/pipelines/quickstart.toml"],
        &["run", "examples/pipelines/quickstart.toml"],
        &["status"],
        &["status", "some-run"],
        &["logs", "some-run"],
        &["delete", "some-run"],
    ];
    for args in commands {
        let mut with_ns = args.to_vec();
        with_ns.extend(["-n", "Bad_NS"]);
        let out = mlk(&with_ns);
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr
                .contains("invalid value 'Bad_NS' for '--namespace <NAME>'")
                && out.stderr.contains("uppercase letters are not allowed")
                && out.stderr.contains("DNS-1123")
                && out.stderr.contains("--help"),
            "{args:?}: {}",
            out.stderr
        );
    }
}
