//! Bad input and early errors (issue 12): files that are not regular files or not UTF-8,
//! oversized files, a bad `-n`, CRLF checkouts, what `check` writes, file modes of what mlk
//! writes, and what `mlk init` names and ignores. Each test runs the real binary; file
//! fixtures that can live in the repository are under `tests/fixtures/` (the command and
//! template cases are snapshotted by `diagnostics`).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Run, command, mlk, root, run, snapshots};

/// Runs a prepared command, killing it (and failing the test) if it takes over 20 seconds:
/// the bugs tested here used to hang or grow without bound.
pub(crate) fn run_bounded(c: &mut Command) -> Run {
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("mlk did not finish within 20 seconds");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn in_dir(dir: &Path, args: &[&str]) -> Run {
    run_bounded(command().current_dir(dir).args(args))
}

#[test]
fn a_fifo_pipeline_is_rejected_without_reading_it() {
    let tmp = tempfile::tempdir().unwrap();
    let status = Command::new("mkfifo")
        .arg(tmp.path().join("pipe.toml"))
        .status()
        .unwrap();
    assert!(status.success());
    let out = in_dir(tmp.path(), &["check", "pipe.toml"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("pipe.toml"), "{}", out.stderr);
    assert!(out.stderr.contains("FIFO"), "{}", out.stderr);
}

#[test]
fn a_device_is_rejected_as_pipeline_and_as_stack() {
    let out = run_bounded(command().args(["check", "/dev/zero"]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("character device"), "{}", out.stderr);
    let out = run_bounded(command().args([
        "check",
        "examples/pipelines/quickstart.toml",
        "--stack",
        "/dev/null",
    ]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("/dev/null"), "{}", out.stderr);
}

#[test]
fn a_directory_pipeline_is_invalid_input() {
    let out = mlk(&["check", "examples/pipelines"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    snapshots().bind(|| insta::assert_snapshot!("bad_input_directory", out.code_and_stderr()));
}

#[test]
fn an_oversized_pipeline_is_invalid_input() {
    let tmp = tempfile::tempdir().unwrap();
    let mut text = String::from("[pipeline]\nname = \"p\"\n");
    while text.len() <= 5 << 20 {
        text.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    std::fs::write(tmp.path().join("big.toml"), text).unwrap();
    let out = in_dir(tmp.path(), &["check", "big.toml"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("MiB"), "{}", out.stderr);
    snapshots().bind(|| insta::assert_snapshot!("bad_input_too_large", out.code_and_stderr()));
}

#[test]
fn a_latin1_pipeline_is_invalid_input_with_a_location() {
    let out = mlk(&["check", "tests/fixtures/encoding/latin1.toml"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("tests/fixtures/encoding/latin1.toml:3:12"),
        "{}",
        out.stderr
    );
    snapshots().bind(|| insta::assert_snapshot!("bad_input_not_utf8", out.code_and_stderr()));
}

#[test]
fn a_latin1_stack_has_one_exit_code_in_both_commands() {
    let tmp = tempfile::tempdir().unwrap();
    let stack = tmp.path().join("s.toml");
    std::fs::write(&stack, b"[stack]\nname = \"caf\xe9\"\n").unwrap();
    let stack = stack.to_str().unwrap();
    let alone = mlk(&["stack", "check", stack]);
    let with = mlk(&[
        "check",
        "examples/pipelines/quickstart.toml",
        "--stack",
        stack,
    ]);
    assert_eq!(alone.code, 2, "{}", alone.stderr);
    assert_eq!(with.code, 2, "{}", with.stderr);
    assert!(alone.stderr.contains("s.toml:2:12"), "{}", alone.stderr);
}

#[test]
fn a_bad_namespace_option_is_invalid_input() {
    let out = mlk(&[
        "render",
        "examples/pipelines/quickstart.toml",
        "-n",
        "Bad_NS",
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    snapshots().bind(|| insta::assert_snapshot!("bad_input_namespace", out.code_and_stderr()));
}

/// The quickstart with `\r\n` line ends, in a directory of its own with its data.
fn checkout(crlf: bool) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("examples/pipelines/quickstart.toml")).unwrap();
    let text = if crlf {
        text.replace('\n', "\r\n")
    } else {
        text
    };
    std::fs::write(tmp.path().join("quickstart.toml"), text).unwrap();
    std::fs::create_dir(tmp.path().join("data")).unwrap();
    std::fs::copy(
        root().join("examples/pipelines/data/iris-small.csv"),
        tmp.path().join("data/iris-small.csv"),
    )
    .unwrap();
    tmp
}

#[test]
fn a_crlf_checkout_renders_and_plans_like_the_lf_one() {
    let (lf, crlf) = (checkout(false), checkout(true));
    let stack = root().join("examples/stacks/dev.toml");
    let stack = stack.to_str().unwrap();
    for args in [
        &["render", "quickstart.toml", "--stack", stack][..],
        &["plan", "quickstart.toml", "--stack", stack, "-o", "json"][..],
    ] {
        let a = in_dir(lf.path(), args);
        let b = in_dir(crlf.path(), args);
        assert_eq!(a.code, 0, "{}", a.stderr);
        assert_eq!(b.code, 0, "{}", b.stderr);
        assert!(a.stdout == b.stdout, "{args:?} differs between LF and CRLF");
    }
}

#[test]
fn check_writes_no_stat_cache() {
    let tmp = checkout(false);
    // An old file: a stat cache would remember it (recent files are not remembered).
    let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(tmp.path().join("data/iris-small.csv"))
        .unwrap()
        .set_modified(hour_ago)
        .unwrap();
    let out = in_dir(tmp.path(), &["check", "quickstart.toml"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        !tmp.path().join(".mlk").exists(),
        "check wrote {:?}",
        std::fs::read_dir(tmp.path().join(".mlk")).map(|d| d.count())
    );
}

/// Runs `mlk ARGS…` in `dir` under `umask 022`.
fn with_umask_022(dir: &Path, args: &[&str]) -> Run {
    let mlk = command().get_program().to_owned();
    let mut sh = Command::new("sh");
    sh.current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("MLK_STACK")
        .args(["-c", "umask 022 && exec \"$0\" --color never \"$@\""])
        .arg(mlk)
        .args(args);
    run(&mut sh)
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[test]
fn written_files_respect_the_umask() {
    let tmp = tempfile::tempdir().unwrap();
    let out = with_umask_022(tmp.path(), &["init", "proj"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let pipeline = tmp.path().join("proj/pipeline.toml");
    assert_eq!(mode(&pipeline), 0o644);
    let out = with_umask_022(
        &tmp.path().join("proj"),
        &["render", "pipeline.toml", "-o", "out"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out_dir = tmp.path().join("proj/out");
    for entry in std::fs::read_dir(&out_dir).unwrap() {
        let p = entry.unwrap().path();
        assert_eq!(mode(&p), 0o644, "{}", p.display());
    }
}

#[test]
fn init_names_the_pipeline_after_its_directory_and_ignores_mlk_state() {
    let tmp = tempfile::tempdir().unwrap();
    let out = in_dir(tmp.path(), &["init", "iris-demo"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let proj = tmp.path().join("iris-demo");
    let text = std::fs::read_to_string(proj.join("pipeline.toml")).unwrap();
    assert!(text.contains("name = \"iris-demo\""), "{text}");
    let ignore = std::fs::read_to_string(proj.join(".gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l == ".mlk/"), "{ignore}");

    // A directory whose name is not a pipeline name keeps the template's name; an existing
    // .gitignore keeps its lines and gains one.
    let odd = tmp.path().join("Odd_Name");
    std::fs::create_dir(&odd).unwrap();
    std::fs::write(odd.join(".gitignore"), "target/").unwrap();
    let out = in_dir(tmp.path(), &["init", "Odd_Name"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = std::fs::read_to_string(odd.join("pipeline.toml")).unwrap();
    assert!(text.contains("name = \"quickstart\""), "{text}");
    let ignore = std::fs::read_to_string(odd.join(".gitignore")).unwrap();
    assert_eq!(ignore, "target/\n.mlk/\n");
    let out = in_dir(&odd, &["check", "pipeline.toml"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn a_fifo_template_override_is_rejected_without_reading_it() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("tpl")).unwrap();
    let status = Command::new("mkfifo")
        .arg(tmp.path().join("tpl/job.yaml"))
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::write(
        tmp.path().join("s.toml"),
        "[stack]\nname = \"s\"\nbackend = \"kubernetes\"\ntemplates_dir = \"tpl\"\n[artifacts]\nuri = \"s3://b/m\"\nlauncher_image = \"launcher:1\"\n",
    )
    .unwrap();
    let pipeline = root().join("tests/fixtures/good/one-step.toml");
    let out = in_dir(
        tmp.path(),
        &["render", pipeline.to_str().unwrap(), "--stack", "s.toml"],
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("FIFO"), "{}", out.stderr);
}
