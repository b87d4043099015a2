//! No torn state (issue 12): concurrent runs of one step never show a downstream step a
//! half-written output, and `render -o DIR` leaves a directory it shares with other pipelines
//! (or with a killed render) consistent.

use std::process::Stdio;
use std::time::Duration;

use crate::run::Project;

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
