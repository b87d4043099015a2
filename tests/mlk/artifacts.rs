//! Artifacts that travel: the launcher (`mlk launch`) as a local process given exactly what a
//! pod gives it (its arguments, the store's credentials in the environment, `RANK` for a
//! replica), a local run whose stack keeps artifacts in S3, and `mlk push` — all against a
//! `moto` S3 server on loopback (see [`crate::s3`]).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::run::Project;
use crate::s3::{REGION, S3Server, assert_no_secret};
use crate::{Run, run};

/// `mlk launch` with the store arguments a pod gets, in `dir`, then `extra` and `-- cmd`.
fn launch(s3: &S3Server, dir: &Path, extra: &[&str], cmd: &str) -> Command {
    let mut c = s3.mlk();
    c.current_dir(dir)
        .env_remove("RANK")
        .env_remove("PET_NODE_RANK")
        .args(["launch", "--store", "s3://art/mlk", "--endpoint"])
        .arg(s3.endpoint())
        .args(["--region", REGION])
        .args(extra)
        .args(["--", "sh", "-c", cmd]);
    c
}

/// The manifest and output addresses of one step's work.
const MODEL: &str = "s3://art/mlk/p/train/k1/model";
const METRICS: &str = "s3://art/mlk/p/train/k1/metrics";
const MANIFEST: &str = "s3://art/mlk/p/train/k1/.manifest.json";

/// The arguments of a step that reads `data` and writes `model` (a directory) and `metrics`.
fn step_args() -> Vec<&'static str> {
    vec![
        "--get",
        "s3://art/in/rows.csv",
        "w/inputs/rows",
        "--put",
        "w/outputs/model",
        MODEL,
        "--put",
        "w/outputs/metrics",
        METRICS,
        "--manifest",
        MANIFEST,
    ]
}

/// A server with bucket `art` and the input `s3://art/in/rows.csv`.
fn server_with_input(tmp: &Path) -> Option<S3Server> {
    let s3 = S3Server::start()?;
    s3.bucket("art");
    std::fs::write(tmp.join("rows.csv"), "a,b\n1,2\n").unwrap();
    let up = s3.store_cp(
        tmp.join("rows.csv").to_str().unwrap(),
        "s3://art/in/rows.csv",
    );
    assert_eq!(up.code, 0, "{}", up.stderr);
    Some(s3)
}

/// Downloads `uri` into `tmp/name`; the run (exit 3 when the object is not there).
fn get(s3: &S3Server, tmp: &Path, uri: &str, name: &str) -> Run {
    s3.store_cp(uri, tmp.join(name).to_str().unwrap())
}

#[test]
fn the_launcher_fetches_inputs_runs_the_command_and_publishes_outputs_then_the_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(s3) = server_with_input(tmp.path()) else {
        return;
    };
    let work = tmp.path().join("pod");
    std::fs::create_dir(&work).unwrap();
    let cmd = "mkdir -p w/outputs/model && cp w/inputs/rows w/outputs/model/weights && \
               echo acc=0.9 > w/outputs/metrics && echo to-stdout && echo to-stderr >&2";
    let r = run(launch(&s3, &work, &step_args(), cmd).stdin(Stdio::null()));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout, "to-stdout\n",
        "the command's stdout passes through unchanged"
    );
    assert!(r.stderr.contains("to-stderr"), "{}", r.stderr);
    assert_no_secret(&r);

    let back = get(&s3, tmp.path(), MODEL, "model");
    assert_eq!(back.code, 0, "{}", back.stderr);
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("model/weights")).unwrap(),
        "a,b\n1,2\n"
    );
    assert_eq!(get(&s3, tmp.path(), MANIFEST, "manifest.json").code, 0);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["format"], 1);
    assert_eq!(manifest["outputs"]["model"]["uri"], MODEL);
    assert_eq!(manifest["outputs"]["model"]["files"], 1);
    assert_eq!(manifest["outputs"]["metrics"]["bytes"], 8);
}

#[test]
fn a_failing_command_or_a_missing_output_publishes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(s3) = server_with_input(tmp.path()) else {
        return;
    };
    let work = tmp.path().join("pod");
    std::fs::create_dir(&work).unwrap();
    let failing = "mkdir -p w/outputs/model && echo half > w/outputs/model/w && \
                   echo 1 > w/outputs/metrics && exit 7";
    let r = run(launch(&s3, &work, &step_args(), failing).stdin(Stdio::null()));
    assert_eq!(
        r.code, 7,
        "the command's exit code passes through: {}",
        r.stderr
    );
    for uri in [MODEL, METRICS, MANIFEST] {
        assert_eq!(
            get(&s3, tmp.path(), uri, "x").code,
            3,
            "{uri} was published"
        );
    }

    let forgot = "echo 1 > w/outputs/metrics";
    let r = run(launch(&s3, &work, &step_args(), forgot).stdin(Stdio::null()));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("wrote nothing at w/outputs/model"),
        "{}",
        r.stderr
    );
    assert_eq!(get(&s3, tmp.path(), MANIFEST, "x").code, 3);
}

#[test]
fn only_rank_zero_publishes_and_every_rank_gets_its_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(s3) = server_with_input(tmp.path()) else {
        return;
    };
    let work = tmp.path().join("worker");
    std::fs::create_dir(&work).unwrap();
    let cmd = "test -s w/inputs/rows && mkdir -p w/outputs/model && echo 1 > w/outputs/metrics";
    let r = run(launch(&s3, &work, &step_args(), cmd)
        .env("RANK", "1")
        .stdin(Stdio::null()));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        get(&s3, tmp.path(), MANIFEST, "x").code,
        3,
        "a worker published"
    );
    let r = run(launch(&s3, &work, &step_args(), cmd)
        .env("PET_NODE_RANK", "0")
        .stdin(Stdio::null()));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        get(&s3, tmp.path(), MANIFEST, "x").code,
        0,
        "rank 0 did not publish"
    );
}

#[test]
fn sigterm_reaches_the_command_and_its_status_comes_back() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(s3) = server_with_input(tmp.path()) else {
        return;
    };
    let work = tmp.path().join("pod");
    std::fs::create_dir(&work).unwrap();
    for (cmd, code) in [
        // A command that handles SIGTERM and exits 42; one that is ended by it (128 + 15).
        (
            "trap 'exit 42' TERM; echo ready; while :; do sleep 0.05; done",
            42,
        ),
        ("echo ready; exec sleep 30", 143),
    ] {
        let mut child = launch(&s3, &work, &step_args(), cmd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "ready\n");
        let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(code), "{cmd}");
        assert_eq!(
            get(&s3, tmp.path(), MANIFEST, "x").code,
            3,
            "{cmd}: published"
        );
    }
}

#[test]
fn a_step_whose_manifest_is_stored_is_skipped_when_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(s3) = server_with_input(tmp.path()) else {
        return;
    };
    let work = tmp.path().join("pod");
    std::fs::create_dir(&work).unwrap();
    let cmd = "echo ran >> ../ran && mkdir -p w/outputs/model && echo 1 > w/outputs/metrics";
    let mut args = step_args();
    args.push("--skip-if-cached");
    for _ in 0..2 {
        let r = run(launch(&s3, &work, &args, cmd).stdin(Stdio::null()));
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("ran")).unwrap(),
        "ran\n",
        "the second launch ran the command again"
    );
}

/// A project whose pipeline reads a local input and writes outputs by path, on a local stack
/// whose artifacts are in `s3`, with the server's credentials in every command's environment.
fn s3_project(s3: &S3Server) -> Project {
    let p = Project::new(
        r#"[steps.prepare]
inputs = { rows = "data/rows.csv" }
outputs = ["table"]
command = ["sh", "-c", "cp {{ inputs.rows }} {{ outputs.table }}"]

[steps.train]
outputs = ["model"]
command = ["sh", "-c", "wc -l < {{ steps.prepare.outputs.table }} > {{ outputs.model }}"]
"#,
    );
    std::fs::create_dir_all(p.path().join("data")).unwrap();
    std::fs::write(p.path().join("data/rows.csv"), "a\nb\nc\n").unwrap();
    std::fs::create_dir_all(p.path().join("stacks")).unwrap();
    std::fs::write(
        p.path().join("stacks/s3.toml"),
        format!(
            "[stack]\nname = \"s3\"\nbackend = \"local\"\n\n[artifacts]\nuri = \"s3://art/mlk\"\n\
             endpoint = \"{}\"\nregion = \"{REGION}\"\n",
            s3.endpoint()
        ),
    )
    .unwrap();
    p
}

/// `mlk plan -o json` of the project on its S3 stack, with `extra` arguments.
fn plan_json(p: &Project, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "plan",
        "pipeline.toml",
        "--stack",
        "stacks/s3.toml",
        "-o",
        "json",
    ];
    args.extend_from_slice(extra);
    let plan = in_project(p, &args);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    serde_json::from_str(&plan.stdout).unwrap()
}

/// `mlk ARGS` in the project with the S3 server's credentials.
fn in_project(p: &Project, args: &[&str]) -> Run {
    let r = run(p.command().envs(crate::s3::credentials()).args(args));
    assert_no_secret(&r);
    r
}

#[test]
fn a_local_stack_with_an_s3_store_moves_data_through_it_and_caches_by_its_manifests() {
    let Some(s3) = S3Server::start() else { return };
    s3.bucket("art");
    let p = s3_project(&s3);
    let first = in_project(&p, &["run", "pipeline.toml", "--stack", "stacks/s3.toml"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first.stderr.contains("stored 1 local input"),
        "{}",
        first.stderr
    );

    let second = in_project(&p, &["run", "pipeline.toml", "--stack", "stacks/s3.toml"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(
        !second.stderr.contains("stored"),
        "uploaded again: {}",
        second.stderr
    );
    let status = p.status_json();
    for step in ["prepare", "train"] {
        assert_eq!(
            crate::run::state(&status, step)["state"],
            "cached",
            "{status}"
        );
    }

    // The model went through the store: read it back from there.
    let plan = plan_json(&p, &[]);
    let steps = plan["steps"].as_array().unwrap();
    let train = steps.iter().find(|s| s["name"] == "train").unwrap();
    assert_eq!(train["cache"]["status"], "hit", "{train}");
    let model = train["outputs"]["model"].as_str().unwrap().to_owned();
    assert!(model.starts_with("s3://art/mlk/t/train/"), "{model}");
    let back = get(&s3, p.path(), &model, "model.txt");
    assert_eq!(back.code, 0, "{}", back.stderr);
    assert_eq!(
        std::fs::read_to_string(p.path().join("model.txt"))
            .unwrap()
            .trim(),
        "3"
    );

    // A store that lost the steps' manifests (moto forgets everything on reset) does not
    // hold their outputs whole: the records alone are not a hit.
    assert_eq!(s3.request("POST", "/moto-api/reset"), Some(200));
    s3.bucket("art");
    let plan = in_project(&p, &["plan", "pipeline.toml", "--stack", "stacks/s3.toml"]);
    assert!(
        plan.stdout.contains("miss: outputs missing"),
        "{}",
        plan.stdout
    );
}

#[test]
fn push_stores_each_local_input_once_and_check_says_what_is_missing() {
    let Some(s3) = S3Server::start() else { return };
    s3.bucket("art");
    let p = s3_project(&s3);
    let args = ["push", "pipeline.toml", "--stack", "stacks/s3.toml"];
    let check = in_project(&p, &[&args[..], &["--check"]].concat());
    assert_eq!(check.code, 1, "{}", check.stderr);
    assert!(
        check
            .stderr
            .contains("0 present, 1 missing in s3://art/mlk"),
        "{}",
        check.stderr
    );
    assert!(
        check
            .stdout
            .starts_with("missing  data/rows.csv → s3://art/mlk/.mlk/inputs/sha256/")
    );
    let first = in_project(&p, &args);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first.stdout.starts_with("stored   data/rows.csv"),
        "{}",
        first.stdout
    );
    assert!(
        first.stdout.ends_with("(1 file, 6 bytes)\n"),
        "{}",
        first.stdout
    );
    let again = in_project(&p, &args);
    assert!(
        again.stdout.starts_with("present  data/rows.csv"),
        "{}",
        again.stdout
    );
    assert!(
        again
            .stderr
            .contains("0 stored (0 bytes), 1 already present"),
        "{}",
        again.stderr
    );
    let check = in_project(&p, &[&args[..], &["--check"]].concat());
    assert_eq!(check.code, 0, "{}", check.stderr);

    // The address push used is the one render writes.
    let address = first
        .stdout
        .split(" → ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    let plan = in_project(
        &p,
        &[
            "plan",
            "pipeline.toml",
            "--stack",
            "stacks/s3.toml",
            "-o",
            "json",
        ],
    );
    assert!(plan.stdout.contains(address), "{}", plan.stdout);
}

#[test]
fn a_1_gib_output_is_published_in_bounded_memory() {
    if !(crate::s3::required() || std::env::var("MLK_S3_LARGE").is_ok_and(|v| v == "1")) {
        eprintln!("notice: set MLK_S3_LARGE=1 (or MLK_REQUIRE_S3=1) to publish a 1 GiB output");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let Some(s3) = server_with_input(tmp.path()) else {
        return;
    };
    let work = tmp.path().join("pod");
    std::fs::create_dir(&work).unwrap();
    let args = [
        "--verbose",
        "--put",
        "w/outputs/model",
        MODEL,
        "--manifest",
        MANIFEST,
    ];
    let cmd = "mkdir -p w/outputs && head -c 1073741824 /dev/zero > w/outputs/model";
    let r = run(launch(&s3, &work, &args, cmd).stdin(Stdio::null()));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let kib: u64 = r
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("mlk launch: peak memory (VmHWM): "))
        .and_then(|l| l.strip_suffix(" KiB"))
        .unwrap_or_else(|| panic!("no peak memory line in:\n{}", r.stderr))
        .parse()
        .unwrap();
    eprintln!("launcher publishing 1 GiB: peak {kib} KiB");
    assert!(kib < 64 * 1024, "peak RSS {kib} KiB ≥ 64 MiB");
    assert_eq!(get(&s3, tmp.path(), MANIFEST, "manifest.json").code, 0);
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["outputs"]["model"]["bytes"], 1u64 << 30);
}

/// The dated step of an engine's run, as its pod runs it: addresses with the run's date
/// left to the launcher, the record to write, and the skip when it is already there.
fn dated_args(manifest: &str, output: &str, ttl: Option<&str>) -> Vec<String> {
    let record = serde_json::json!({
        "pipeline": "p",
        "step": "ingest",
        "key": "k1-$(MLK_RUN_DATE)",
        "components": {
            "format": 1, "salt": null, "image": "alpine:3", "command": ["sh"],
            "env": {}, "params": {}, "inputs": {"raw": "s3://art/in/<run.date>/rows.csv"},
            "upstream": {}, "run_date": "$(MLK_RUN_DATE)",
        },
        "outputs": { "table": output },
    });
    let mut a: Vec<String> = [
        "--get",
        "s3://art/in/$(MLK_RUN_DATE)/rows.csv",
        "w/inputs/raw",
        "--put",
        "w/outputs/table",
        output,
        "--manifest",
        manifest,
        "--timezone",
        "Asia/Tokyo",
        "--record",
        &record.to_string(),
        "--skip-if-cached",
    ]
    .map(str::to_owned)
    .to_vec();
    if let Some(ttl) = ttl {
        a.extend(["--ttl".to_owned(), ttl.to_owned()]);
    }
    a
}

#[test]
fn a_dated_step_reads_the_runs_day_and_its_record_arrives_with_its_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(s3) = S3Server::start() else { return };
    s3.bucket("art");
    for day in ["2026-12-07", "2026-12-08"] {
        std::fs::write(tmp.path().join("rows.csv"), format!("rows of {day}\n")).unwrap();
        let up = s3.store_cp(
            tmp.path().join("rows.csv").to_str().unwrap(),
            &format!("s3://art/in/{day}/rows.csv"),
        );
        assert_eq!(up.code, 0, "{}", up.stderr);
    }
    let work = tmp.path().join("pod");
    std::fs::create_dir(&work).unwrap();
    let manifest = "s3://art/mlk/p/ingest/k1-$(MLK_RUN_DATE)/.manifest.json";
    let output = "s3://art/mlk/p/ingest/k1-$(MLK_RUN_DATE)/table";
    // What the command sees: the day in its arguments and in its environment (Kubernetes left
    // `$(MLK_RUN_DATE)` as written: the variable is not set in the pod).
    let cmd = "echo ran >> ../ran && mkdir -p w/outputs && \
               { cat w/inputs/raw; echo \"arg=$0 env=$MLK_RUN_DATE day=$DAY\"; } > w/outputs/table";
    let pod = |time: &str, ttl: Option<&str>| {
        let mut c = s3.mlk();
        c.current_dir(&work)
            .env_remove("RANK")
            .env_remove("PET_NODE_RANK")
            .env("MLK_RUN_ID", "nightly-1796590000")
            .env("DAY", "day of $(MLK_RUN_DATE)")
            .args(["launch", "--store", "s3://art/mlk", "--endpoint"])
            .arg(s3.endpoint())
            .args(["--region", REGION, "--run-time", time])
            .args(dated_args(manifest, output, ttl))
            .args(["--", "sh", "-c", cmd, "$(MLK_RUN_DATE)"])
            .stdin(Stdio::null());
        let r = run(&mut c);
        assert_no_secret(&r);
        r
    };
    let ran = || {
        std::fs::read_to_string(tmp.path().join("ran"))
            .unwrap_or_default()
            .lines()
            .count()
    };
    // 23:30 UTC is the next morning in Tokyo.
    let first = pod("2026-12-06T23:30:00Z", None);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first.stderr.contains("the run's date is 2026-12-07"),
        "{}",
        first.stderr
    );
    let table = get(
        &s3,
        tmp.path(),
        "s3://art/mlk/p/ingest/k1-2026-12-07/table",
        "table",
    );
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("table")).unwrap(),
        "rows of 2026-12-07\narg=2026-12-07 env=2026-12-07 day=day of 2026-12-07\n"
    );
    let m = get(
        &s3,
        tmp.path(),
        "s3://art/mlk/p/ingest/k1-2026-12-07/.manifest.json",
        "manifest.json",
    );
    assert_eq!(m.code, 0, "{}", m.stderr);
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(m["outputs"]["table"]["files"], 1, "{m}");
    let record = &m["record"];
    assert_eq!(record["key"], "k1-2026-12-07", "{m}");
    assert_eq!(record["components"]["run_date"], "2026-12-07");
    assert_eq!(
        record["outputs"]["table"],
        "s3://art/mlk/p/ingest/k1-2026-12-07/table"
    );
    assert_eq!(record["run_id"], "nightly-1796590000");
    assert!(record["created_unix"].as_u64().unwrap() > 1_700_000_000);

    // The same night again (a retried Workflow): the record is there, the command is skipped.
    let again = pod("2026-12-07T01:00:00Z", None);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stderr.contains("is skipped"), "{}", again.stderr);
    assert_eq!(ran(), 1);
    // The next night is other work: never skipped.
    let next = pod("2026-12-07T23:30:00Z", None);
    assert_eq!(next.code, 0, "{}", next.stderr);
    assert_eq!(ran(), 2, "{}", next.stderr);
    // A record older than the TTL is not a hit.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let stale = pod("2026-12-07T23:30:00Z", Some("1"));
    assert_eq!(stale.code, 0, "{}", stale.stderr);
    assert_eq!(ran(), 3, "{}", stale.stderr);
    // A time that is not one is the engine's fault, said before anything runs.
    let bad = pod("{{workflow.creationTimestamp}}", None);
    assert_eq!(bad.code, 3, "{}", bad.stderr);
    assert!(bad.stderr.contains("--run-time"), "{}", bad.stderr);
    assert_eq!(ran(), 3);
}

#[test]
fn records_in_the_artifact_store_make_the_next_run_a_hit_and_another_day_a_miss() {
    let Some(s3) = S3Server::start() else { return };
    s3.bucket("art");
    let p = s3_project(&s3);
    let pipeline = std::fs::read_to_string(p.path().join("pipeline.toml"))
        .unwrap()
        .replace(
            "[steps.train]",
            "[steps.report]\noutputs = [\"day\"]\ncommand = [\"sh\", \"-c\", \"echo {{ run.date }} > {{ outputs.day }}\"]\n\n[steps.train]",
        );
    std::fs::write(p.path().join("pipeline.toml"), pipeline).unwrap();
    let stack = std::fs::read_to_string(p.path().join("stacks/s3.toml")).unwrap();
    std::fs::write(
        p.path().join("stacks/s3.toml"),
        format!("{stack}\n[cache]\nstore = \"artifacts\"\n"),
    )
    .unwrap();
    let run_on = |day: &str| {
        let r = in_project(
            &p,
            &[
                "run",
                "pipeline.toml",
                "--stack",
                "stacks/s3.toml",
                "--run-date",
                day,
            ],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        p.status_json()
    };
    let states = |status: &serde_json::Value| -> Vec<String> {
        ["prepare", "report", "train"]
            .iter()
            .map(|s| {
                crate::run::state(status, s)["state"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(states(&run_on("2026-12-01")), ["done"; 3]);
    // No record was written on this machine: they are in the store.
    assert!(!p.exists(".mlk/cache"), "{:?}", p.mlk_files());
    assert_eq!(states(&run_on("2026-12-01")), ["cached"; 3]);
    assert_eq!(states(&run_on("2026-12-02")), ["cached", "done", "cached"]);
    // `mlk plan` reads the same records.
    let plan = plan_json(&p, &["--run-date", "2026-12-02"]);
    for s in plan["steps"].as_array().unwrap() {
        assert_eq!(s["cache"]["status"], "hit", "{s}");
    }
    let report = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "report")
        .unwrap();
    assert!(
        report["cache"]["key"]
            .as_str()
            .unwrap()
            .ends_with("-2026-12-02"),
        "{report}"
    );
    // `mlk cache ls` and `clear` reach the same records with --stack: prepare's, train's and
    // report's of each day.
    let ls = in_project(&p, &["cache", "ls", "--stack", "stacks/s3.toml"]);
    assert_eq!(ls.code, 0, "{}", ls.stderr);
    assert_eq!(ls.stdout.lines().count(), 5, "{}", ls.stdout);
    assert_eq!(ls.stdout.matches(" report ").count(), 2, "{}", ls.stdout);
    let clear = in_project(
        &p,
        &[
            "cache",
            "clear",
            "report",
            "--pipeline",
            "t",
            "--stack",
            "stacks/s3.toml",
        ],
    );
    assert_eq!(clear.code, 0, "{}", clear.stderr);
    assert!(
        clear
            .stderr
            .contains("removed 2 cache records from s3://art/mlk"),
        "{}",
        clear.stderr
    );
    assert_eq!(states(&run_on("2026-12-02")), ["cached", "done", "cached"]);
}

/// The body of `GET path` on the S3 server (moto takes unsigned requests).
fn body(s3: &S3Server, path: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(s3.endpoint().trim_start_matches("http://"))
    else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return String::new();
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// `mlk push` killed (SIGKILL) in the middle of an upload leaves no marker: the input is
/// still missing for `--check`, and the next push stores it whole.
#[test]
fn a_push_killed_mid_upload_leaves_the_input_missing_and_the_next_push_stores_it() {
    let Some(s3) = S3Server::start() else { return };
    s3.bucket("art");
    let p = s3_project(&s3);
    // A 96 MiB input goes up in parts: the kill lands while they do.
    let big = std::fs::File::create(p.path().join("data/rows.csv")).unwrap();
    big.set_len(96 << 20).unwrap();
    drop(big);
    let args = ["push", "pipeline.toml", "--stack", "stacks/s3.toml"];
    let mut push = p
        .command()
        .envs(crate::s3::credentials())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let uploading = loop {
        if push.try_wait().unwrap().is_some() {
            break false;
        }
        if body(&s3, "/art?uploads").contains("<UploadId>") {
            break true;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no upload started in 120 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(uploading, "the push ended before it was killed");
    push.kill().unwrap();
    push.wait().unwrap();

    let check = in_project(&p, &[&args[..], &["--check"]].concat());
    assert_eq!(check.code, 1, "{}", check.stderr);
    assert!(
        check.stdout.starts_with("missing  data/rows.csv"),
        "{}",
        check.stdout
    );
    let again = in_project(&p, &args);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stdout.starts_with("stored   data/rows.csv"),
        "{}",
        again.stdout
    );
    assert!(again.stdout.contains("100663296 bytes"), "{}", again.stdout);
    let check = in_project(&p, &[&args[..], &["--check"]].concat());
    assert_eq!(check.code, 0, "{}", check.stderr);
}
