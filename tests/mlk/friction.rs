//! Newcomer friction from issue 12: the guides' commands work pasted from the repository root,
//! the hint of `render --check` names the real command, warnings and advice say their
//! severity in words, `-n` is checked the same way by every command, and `status` says where
//! a run's outputs are.

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

#[test]
fn warnings_and_advice_say_their_severity_in_words() {
    let out = mlk(&[
        "plan",
        "examples/pipelines/fraud-detection.toml",
        "--stack",
        "examples/stacks/prod.toml",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .lines()
            .any(|l| l == "warning: mlk::resolve::kueue_pytorchjob"),
        "{}",
        out.stderr
    );
    for marker in ["☞", "⚠"] {
        let markers = out.stderr.matches(marker).count();
        let words = out.stderr.matches("advice: mlk::").count()
            + out.stderr.matches("warning: mlk::").count();
        assert!(markers <= words, "{marker} without a word:\n{}", out.stderr);
    }
}

/// The `mlk` commands of the guides' code blocks (shell and CI YAML), in order: every line
/// that starts with `mlk ` once a `- `, `run: ` or indent is taken off.
fn guide_commands(text: &str) -> Vec<String> {
    let mut in_block = false;
    let mut commands = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        let line = line.trim_start();
        let line = line.strip_prefix("- ").unwrap_or(line);
        let line = line.strip_prefix("run: ").unwrap_or(line);
        if in_block && line.starts_with("mlk ") {
            commands.push(line.to_owned());
        }
    }
    commands
}

/// Copies the tree at `from` to `to` (regular files and directories).
fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dst = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &dst);
        } else {
            std::fs::copy(entry.path(), dst).unwrap();
        }
    }
}

/// Points every example stack whose artifact store is in S3 at `s3` (on 127.0.0.1) and
/// creates its bucket, so a guide's `mlk push` runs as written without leaving this machine.
fn stacks_to_loopback(stacks: &std::path::Path, s3: &crate::s3::S3Server) {
    let bucket = regex::Regex::new(r#"(?m)^uri = "s3://([^/"]+)[^"]*".*$"#).unwrap();
    for entry in std::fs::read_dir(stacks).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let Some(c) = bucket.captures(&text) else {
            continue;
        };
        assert!(!text.contains("\nendpoint"), "{}", path.display());
        s3.bucket(&c[1]);
        let line = c.get(0).unwrap();
        let text = format!(
            "{}\nendpoint = \"{}\"\nregion = \"{}\"{}",
            &text[..line.end()],
            s3.endpoint(),
            crate::s3::REGION,
            &text[line.end()..]
        );
        std::fs::write(&path, text).unwrap();
    }
}

#[test]
fn the_guides_commands_work_from_the_repository_root() {
    // A directory that looks like the repository root (a copy of its `examples/`), so the
    // files the commands write land in a temporary directory, not in the checkout. Commands
    // that reach the artifact store (`mlk push`) go to a loopback S3 server: the copy's S3
    // stacks are pointed at it.
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(
        &crate::root().join("examples"),
        &tmp.path().join("examples"),
    );
    let s3 = crate::s3::S3Server::start();
    if let Some(s3) = &s3 {
        stacks_to_loopback(&tmp.path().join("examples/stacks"), s3);
    }
    let mut ran = 0;
    for guide in ["gitops", "platform", "ci", "cache"] {
        let text = std::fs::read_to_string(crate::root().join(format!("docs/{guide}.md"))).unwrap();
        for line in guide_commands(&text) {
            let words: Vec<&str> = line.split_whitespace().skip(1).collect();
            assert!(!line.contains(['\'', '"', '$', '|']), "{guide}.md: {line}");
            let mut cmd = crate::command();
            if words.first() == Some(&"push") {
                if s3.is_none() {
                    eprintln!("notice: no S3 server: not running `{line}`");
                    continue;
                }
                cmd.envs(crate::s3::credentials());
            }
            let out = crate::run(cmd.current_dir(tmp.path()).args(&words));
            assert_eq!(out.code, 0, "docs/{guide}.md: `{line}`:\n{}", out.stderr);
            ran += 1;
        }
    }
    assert!(ran >= 10, "only {ran} commands found");
}

#[test]
fn status_lists_where_each_finished_steps_outputs_are() {
    let p = crate::run::Project::new(crate::run::CHAIN);
    let first = p.run(&[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let json = p.status_json();
    let outputs = |step: &str| {
        let steps = json["steps"].as_array().unwrap();
        steps.iter().find(|s| s["name"] == step).unwrap()["outputs"].clone()
    };
    let x = outputs("a")["x"].as_str().unwrap().to_owned();
    assert!(
        x.contains("/.mlk/artifacts/t/a/") && x.ends_with("/x"),
        "{x}"
    );
    assert!(outputs("b")["y"].is_string(), "{json}");
    assert_eq!(outputs("c"), serde_json::json!({}));

    // A second run finds every step cached, and still says where the outputs are.
    assert_eq!(p.run(&[]).code, 0);
    let table = p.mlk(&["status"]);
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(table.stdout.contains("\noutputs:\n"), "{}", table.stdout);
    let line = table
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("a.x "))
        .unwrap_or_else(|| panic!("{}", table.stdout));
    assert!(line.ends_with(&x), "{}", table.stdout);
}
