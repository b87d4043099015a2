//! Local runs that honour GPU requests (issue 19), against a fake `nvidia-smi`
//! (`tests/fixtures/fake-gpu/nvidia-smi`: 8 H100s, GPU 7 in MIG mode) put first on the PATH
//! of the mlk process. On a machine with real GPUs the same pipelines run against the real
//! `nvidia-smi` (leave out [`Gpu::command`]'s PATH): the fake answers exactly the two
//! commands mlk runs, in nvidia-smi's format.
//!
//! Exclusivity is proven with lock files: each GPU step creates `held-<uuid>` with `set -C`
//! (fails when it exists) for every device it got, and removes them at its end, so two steps
//! holding one device at the same time make a step fail.

use std::process::Command;

use crate::run::Project;
use crate::{Run, root, run};

/// The stack of these tests: local, whole GPUs and time-sliced shares of `h100` devices.
const STACK: &str = r#"
[stack]
name = "box"
backend = "local"
namespace = "default"

[artifacts]
uri = ".mlk/artifacts"

[gpu]
sharing = "SHARING"
default_type = "h100"
EXTRA

[gpu.types.h100]
memory = "80Gi"

[gpu.types.a100]
memory = "40Gi"
"#;

/// A step command that holds its devices (see the module documentation) for a moment and
/// records them in `seen-<step>`.
const HOLD: &str = r#"["sh", "-c", "for u in $(echo $CUDA_VISIBLE_DEVICES | tr , ' '); do (set -C; : > held-$u) || exit 9; done; echo $CUDA_VISIBLE_DEVICES > seen-$MLK_STEP; sleep 0.3; for u in $(echo $CUDA_VISIBLE_DEVICES | tr , ' '); do rm held-$u; done"]"#;

/// A project with a GPU stack.
struct Gpu {
    p: Project,
}

impl Gpu {
    fn new(steps: &str) -> Self {
        Gpu::with_stack(steps, "time-slicing", "")
    }

    fn with_stack(steps: &str, sharing: &str, extra: &str) -> Self {
        let p = Project::new(&steps.replace("HOLD", HOLD));
        let stack = STACK.replace("SHARING", sharing).replace("EXTRA", extra);
        std::fs::write(p.path().join("box.toml"), stack).unwrap();
        Gpu { p }
    }

    /// `mlk` with the fake `nvidia-smi` first on its PATH, no caller `CUDA_VISIBLE_DEVICES`
    /// and no MPS daemon.
    fn command(&self) -> Command {
        let mut c = self.p.command();
        c.env("PATH", fake_gpu_path())
            .env_remove("CUDA_VISIBLE_DEVICES")
            .env("CUDA_MPS_PIPE_DIRECTORY", self.p.path().join("no-mps"));
        c
    }

    fn run(&self, args: &[&str]) -> Run {
        run(self
            .command()
            .args(["run", "pipeline.toml", "--stack", "box.toml"])
            .args(args))
    }

    fn plan(&self) -> Run {
        run(self
            .command()
            .args(["plan", "pipeline.toml", "--stack", "box.toml"]))
    }

    /// The devices step `step` saw.
    fn seen(&self, step: &str) -> Vec<String> {
        self.p
            .read(&format!("seen-{step}"))
            .trim()
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// The PATH with the fake `nvidia-smi` first.
pub(crate) fn fake_gpu_path() -> String {
    format!(
        "{}:{}",
        root().join("tests/fixtures/fake-gpu").display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn gpu(i: u32) -> String {
    format!("GPU-0000000{i}-aaaa-bbbb-cccc-dddddddddddd")
}

#[test]
fn whole_gpus_are_exclusive_and_steps_that_do_not_fit_wait() {
    // 7 whole devices (GPU 7 is in MIG mode): two 4-GPU steps never run together.
    let g = Gpu::new(
        r#"
[steps.a]
command = HOLD
resources = { gpu = 4 }

[steps.b]
command = HOLD
resources = { gpu = 4 }

[steps.c]
command = HOLD
resources = { gpu = 3 }
"#,
    );
    let out = g.run(&["-j", "4"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("b: pending: waiting for 4 h100 GPUs (0 free)"),
        "{}",
        out.stderr
    );
    let (a, b, c) = (g.seen("a"), g.seen("b"), g.seen("c"));
    assert_eq!((a.len(), b.len(), c.len()), (4, 4, 3));
    assert_eq!(
        a,
        (0..4).map(gpu).collect::<Vec<_>>(),
        "UUIDs, in index order"
    );
    for s in a.iter().chain(&b).chain(&c) {
        assert_ne!(s, &gpu(7), "a MIG-mode device handed out whole");
    }
    // a and c ran side by side: together they hold all seven devices.
    let mut ac: Vec<&String> = a.iter().chain(&c).collect();
    ac.sort();
    ac.dedup();
    assert_eq!(ac.len(), 7);
}

#[test]
fn independent_gpu_steps_that_fit_run_side_by_side_and_j_still_limits() {
    // Each waits for the other's marker: both finish only if they run together.
    let steps = r#"
[steps.a]
timeout = "10s"
resources = { gpu = 2 }
command = ["sh", "-c", "touch a.started; while [ ! -e b.started ]; do sleep 0.01; done"]

[steps.b]
timeout = "10s"
resources = { gpu = 2 }
command = ["sh", "-c", "touch b.started; while [ ! -e a.started ]; do sleep 0.01; done"]
"#;
    let g = Gpu::new(steps);
    let out = g.run(&["-j", "2"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    // With -j 1 they cannot meet: the first times out.
    let g = Gpu::new(&steps.replace("10s", "1s"));
    let out = g.run(&["-j", "1"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
}

#[test]
fn fractions_pack_onto_one_shared_device_with_mps_limits_when_mps_runs() {
    let g = Gpu::new(
        r#"
[steps.q1]
resources = { gpu = 0.25 }
command = ["sh", "-c", "echo $CUDA_VISIBLE_DEVICES > seen-q1; env | grep ^CUDA_MPS | grep -v PIPE | sort > mps-q1"]

[steps.q2]
resources = { gpu_memory = "20Gi" }
command = ["sh", "-c", "echo $CUDA_VISIBLE_DEVICES > seen-q2"]

[steps.whole]
after = ["q1", "q2"]
resources = { gpu = 7 }
command = HOLD

[steps.cpu]
command = ["sh", "-c", "echo \"[$CUDA_VISIBLE_DEVICES] [$NVIDIA_VISIBLE_DEVICES]\" > seen-cpu"]
"#,
    );
    let mps = g.p.path().join("no-mps");
    std::fs::create_dir_all(&mps).unwrap();
    std::fs::write(mps.join("control"), "").unwrap();
    let out = g.run(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(g.seen("q1"), [gpu(0)]);
    assert_eq!(g.seen("q2"), [gpu(0)], "packed onto the same device");
    // A quarter of 81559 MiB, rounded up.
    assert_eq!(
        g.p.read("mps-q1"),
        "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE=25\nCUDA_MPS_PINNED_DEVICE_MEM_LIMIT=0=20390M\n"
    );
    assert_eq!(g.seen("whole").len(), 7, "shares are given back");
    assert_eq!(g.p.read("seen-cpu"), "[] [none]\n", "no GPU for a CPU step");
}

#[test]
fn mig_profiles_get_free_instances_by_uuid() {
    let g = Gpu::with_stack(
        r#"
[steps.m1]
resources = { gpu = 0.125 }
command = HOLD

[steps.m2]
resources = { gpu = 0.125 }
command = HOLD

[steps.m3]
resources = { gpu = 0.125 }
command = HOLD
"#,
        "mig",
        "",
    );
    let out = g.run(&["-j", "3"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut seen: Vec<String> = ["m1", "m2", "m3"].iter().flat_map(|s| g.seen(s)).collect();
    assert!(
        seen.iter()
            .all(|s| s.starts_with("MIG-7b") || s.starts_with("MIG-7c")),
        "{seen:?}"
    );
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 2, "two 1g.10gb instances for three steps");
    assert!(
        out.stderr
            .contains("pending: waiting for a MIG 1g.10gb instance (0 free)"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_pytorch_step_runs_one_process_per_replica_with_torchruns_environment() {
    let g = Gpu::new(
        r#"
[steps.train]
kind = "pytorch"
replicas = 2
resources = { gpu = 2 }
outputs = ["model"]
command = ["sh", "-c", "echo $RANK/$LOCAL_RANK/$WORLD_SIZE $MASTER_ADDR $MASTER_PORT $CUDA_VISIBLE_DEVICES; echo rank $RANK > {{ outputs.model }}"]
"#,
    );
    let out = g.run(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let line = |rank: u32| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(&format!("[train/rank-{rank}] {rank}/{rank}/2 127.0.0.1 ")))
            .unwrap_or_else(|| panic!("no rank {rank} line:\n{}", out.stdout))
            .to_owned()
    };
    let (r0, r1) = (line(0), line(1));
    assert!(r0.ends_with(&format!("{},{}", gpu(0), gpu(1))), "{r0}");
    assert!(r1.ends_with(&format!("{},{}", gpu(2), gpu(3))), "{r1}");
    let port = |l: &str| l.split(' ').nth(3).unwrap().to_owned();
    assert_eq!(port(&r0), port(&r1));
    assert!(port(&r0).parse::<u16>().unwrap() > 0);
    // Only rank 0's output is published.
    let published: Vec<String> = walk(&g.p.path().join(".mlk/artifacts"));
    assert_eq!(published, ["rank 0\n"], "{published:?}");
}

/// The contents of every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(std::fs::read_to_string(&p).unwrap());
        }
    }
    out
}

#[test]
fn a_failing_rank_stops_the_others() {
    // Rank 0 ignores SIGTERM: it is killed after the grace period (5 s).
    let g = Gpu::new(
        r#"
[steps.train]
kind = "pytorch"
replicas = 2
timeout = "20s"
command = ["sh", "-c", "if [ $RANK = 1 ]; then sleep 0.2; exit 4; fi; trap '' TERM; sleep 15"]
"#,
    );
    let begun = std::time::Instant::now();
    let out = g.run(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(begun.elapsed() < std::time::Duration::from_secs(10));
    assert!(out.stderr.contains("exit code 4"), "{}", out.stderr);
}

#[test]
fn steps_that_cannot_fit_the_machine_fail_at_plan_time_with_the_inventory() {
    let g = Gpu::new(
        r#"
[steps.big]
resources = { gpu = 8 }
command = ["touch", "big.ran"]

[steps.other]
resources = { gpu = 1, gpu_type = "a100" }
command = ["touch", "other.ran"]
"#,
    );
    let out = g.run(&[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(!g.p.exists("big.ran") && !g.p.exists("other.ran"));
    let plan = g.plan();
    assert_eq!(plan.code, 2);
    assert_eq!(plan.stderr, out.stderr);
    crate::snapshots()
        .bind(|| insta::assert_snapshot!("local-gpu-unavailable", out.code_and_stderr()));
}

#[test]
fn no_nvidia_smi_means_no_gpus() {
    let g = Gpu::new("[steps.a]\nresources = { gpu = 1 }\ncommand = [\"true\"]\n");
    let out = run(g.command().env("PATH", "/usr/bin:/bin").args([
        "run",
        "pipeline.toml",
        "--stack",
        "box.toml",
    ]));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("this machine has no GPU mlk may use (`nvidia-smi` lists none)"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_stack_cap_and_the_callers_visible_devices_narrow_the_machine() {
    let steps = "[steps.a]\nresources = { gpu = 2 }\ncommand = HOLD\n";
    let capped = Gpu::with_stack(steps, "time-slicing", "devices = [5, \"GPU-00000006\"]");
    let out = capped.run(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(capped.seen("a"), [gpu(5), gpu(6)]);
    let out = run(capped.command().env("CUDA_VISIBLE_DEVICES", "6,3").args([
        "run",
        "pipeline.toml",
        "--stack",
        "box.toml",
        "--no-cache",
    ]));
    assert_eq!(out.code, 2, "only GPU 6 is left: {}", out.stderr);
    assert!(
        out.stderr.contains("this machine has 1 usable"),
        "{}",
        out.stderr
    );
}

#[test]
fn plan_shows_the_gpus_and_the_steps_that_may_wait() {
    let g = Gpu::new(
        r#"
[steps.a]
resources = { gpu = 4 }
command = ["true"]

[steps.b]
resources = { gpu = 4 }
command = ["true"]

[steps.c]
after = ["a"]
resources = { gpu = 3 }
command = ["true"]
"#,
    );
    let out = g.plan();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let notes = &out.stdout[out.stdout.find("GPUs mlk may use here").unwrap()..];
    crate::snapshots().bind(|| insta::assert_snapshot!("local-gpu-plan", notes));
}

#[test]
fn gpus_are_not_part_of_the_cache_key() {
    let steps = "[steps.a]\noutputs = [\"o\"]\nresources = { gpu = 1 }\ncommand = [\"sh\", \"-c\", \"echo $CUDA_VISIBLE_DEVICES > {{ outputs.o }}\"]\n";
    let g = Gpu::new(steps);
    assert_eq!(g.run(&[]).code, 0);
    std::fs::write(
        g.p.path().join("pipeline.toml"),
        std::fs::read_to_string(g.p.path().join("pipeline.toml"))
            .unwrap()
            .replace("gpu = 1", "gpu = 4"),
    )
    .unwrap();
    let out = g.run(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("0 of 1 step to run"), "{}", out.stderr);
}
