//! No torn state (issue 12): concurrent runs of one step never show a downstream step a
//! half-written output, and `render -o DIR` leaves a directory it shares with other pipelines
//! (or with a killed render) consistent.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::run::Project;
use crate::{Run, mlk};

/// A step that writes its output in three pieces with pauses, and one that checks it whole.
const SLOW_WRITER: &str = r#"
[steps.write]
outputs = ["data"]
command = ["sh", "-c", "echo part1 > \"$1\"; sleep 0.4; echo part2 >> \"$1\"; sleep 0.4; echo end >> \"$1\"", "w", "{{ outputs.data }}"]

[steps.check]
command = ["sh", "-c", "test \"$(cat \"$1\")\" = \"$(printf 'part1\\npart2\\nend')\" || { echo torn:; cat \"$1\"; exit 1; }", "c", "{{ steps.write.outputs.data }}"]
"#;

#[test]
fn concurrent_runs_of_one_step_never_read_a_half_written_output() {
    let p = Project::new(SLOW_WRITER);
    let spawn = || {
        p.command()
            .args(["run", "pipeline.toml"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // The second run starts writing while the first one's downstream step reads.
    let first = spawn();
    std::thread::sleep(Duration::from_millis(500));
    let second = spawn();
    for (which, child) in [("first", first), ("second", second)] {
        let out = crate::run::finish(child);
        assert_eq!(out.code, 0, "{which} run:\n{}\n{}", out.stdout, out.stderr);
    }
    // Nothing run-private is left behind.
    let artifacts = p.path().join(".mlk/artifacts/t/write");
    assert!(!artifacts.join(".staging").exists(), "staging left behind");
}

/// Two runs that reach the same work (same step, same key) at once take turns: the second
/// waits for the first to publish, and says why it waits.
#[test]
fn concurrent_runs_of_the_same_work_wait_for_each_other() {
    let p = Project::new(
        r#"
[steps.write]
outputs = ["data"]
command = ["sh", "-c", "echo start >> marks; sleep 0.6; echo end >> marks; echo x > \"$1\"", "w", "{{ outputs.data }}"]
"#,
    );
    let spawn = || {
        p.command()
            .args(["run", "pipeline.toml", "--no-cache"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let first = spawn();
    crate::run::wait_for(&p.path().join("marks"));
    let second = spawn();
    let mut waited = false;
    for (which, child) in [("first", first), ("second", second)] {
        let out = crate::run::finish(child);
        assert_eq!(out.code, 0, "{which} run:\n{}\n{}", out.stdout, out.stderr);
        waited |= out.stderr.contains("waiting for another run of this step");
    }
    assert_eq!(
        p.read("marks"),
        "start\nend\nstart\nend\n",
        "the two runs overlapped"
    );
    assert!(waited, "neither run said it waited");
}

#[test]
fn a_directory_output_is_published_whole() {
    let p = Project::new(
        r#"
[steps.write]
outputs = ["model"]
command = ["sh", "-c", "mkdir -p \"$1\" && echo a > \"$1/a\" && echo b > \"$1/b\"", "w", "{{ outputs.model }}"]

[steps.check]
command = ["sh", "-c", "cat \"$1/a\" \"$1/b\"", "c", "{{ steps.write.outputs.model }}"]
"#,
    );
    for args in [&[][..], &["--from", "write"][..]] {
        let out = p.run(args);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(out.stdout.contains("[check] b"), "{}", out.stdout);
    }
}

/// `mlk render PIPELINE --stack dev -o DIR`.
fn render(pipeline: &Path, dir: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "render".to_owned(),
        pipeline.display().to_string(),
        "--stack".into(),
        "examples/stacks/dev.toml".into(),
        "-o".into(),
        dir.display().to_string(),
    ];
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    mlk(&args)
}

fn names(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

/// A copy of a `pipeline` step-less of `step` (for a stale file), in `dir`.
fn without_step(dir: &Path, text: &str, step: &str) -> std::path::PathBuf {
    let header = format!("[steps.{step}]");
    let start = text.find(&header).unwrap();
    let end = text[start + header.len()..]
        .find("\n[steps.")
        .map_or(text.len(), |e| start + header.len() + e + 1);
    let path = dir.join("pipeline.toml");
    std::fs::write(&path, format!("{}{}", &text[..start], &text[end..])).unwrap();
    path
}

#[test]
fn pipelines_sharing_an_output_directory_keep_each_others_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("deploy");
    let a = crate::root().join("examples/pipelines/quickstart.toml");
    let b = crate::root().join("examples/pipelines/fraud-detection.toml");
    let out = render(&a, &dir, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let only_a = names(&dir);
    let out = render(&b, &dir, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let both = names(&dir);
    for f in &only_a {
        assert!(
            both.contains(f),
            "{f} of the first pipeline was deleted: {both:?}"
        );
    }
    assert!(both.len() > only_a.len(), "{both:?}");
    // Re-rendering the first pipeline changes nothing of the second's.
    let out = render(&a, &dir, &["--check"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);

    // Pipeline B loses a step: only B's file of that step goes.
    let text = std::fs::read_to_string(&b).unwrap();
    let step = text
        .lines()
        .filter_map(|l| l.strip_prefix("[steps.")?.strip_suffix(']'))
        .next_back()
        .unwrap()
        .to_owned();
    let smaller = without_step(tmp.path(), &text, &step);
    let out = render(&smaller, &dir, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let after = names(&dir);
    let gone: Vec<&String> = both.iter().filter(|f| !after.contains(f)).collect();
    assert!(!gone.is_empty(), "no stale file deleted: {}", out.stderr);
    for f in &gone {
        assert!(!only_a.contains(f), "{f} of the other pipeline was deleted");
        assert!(f.contains(&step), "{f} is not a file of step {step}");
    }
}

#[test]
fn a_render_left_behind_by_a_kill_is_reported_and_repaired() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("deploy");
    let a = crate::root().join("examples/pipelines/quickstart.toml");
    assert_eq!(render(&a, &dir, &[]).code, 0);
    // What a render killed between writing a temporary file and renaming it leaves.
    std::fs::write(dir.join(".mlk-Ab12Cd.tmp"), "half").unwrap();
    let out = render(&a, &dir, &["--check"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains(".mlk-Ab12Cd.tmp"), "{}", out.stderr);
    let out = render(&a, &dir, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("removed"), "{}", out.stderr);
    assert!(!dir.join(".mlk-Ab12Cd.tmp").exists());
    assert_eq!(render(&a, &dir, &["--check"]).code, 0);
}

#[test]
fn a_file_whose_older_header_names_no_owner_is_kept_and_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("deploy");
    std::fs::create_dir(&dir).unwrap();
    let old = "job-someone-else-0123abcd.yaml";
    std::fs::write(
        dir.join(old),
        "# Generated by mlk from other.toml; do not edit (run `mlk render` again).\nkind: Job\n",
    )
    .unwrap();
    let a = crate::root().join("examples/pipelines/quickstart.toml");
    let out = render(&a, &dir, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        dir.join(old).exists(),
        "a file of unknown owner was deleted"
    );
    assert!(
        out.stderr
            .contains(&format!("kept {}", dir.join(old).display())),
        "{}",
        out.stderr
    );
}
