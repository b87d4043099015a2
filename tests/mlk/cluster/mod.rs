//! `mlk run` on the kubernetes backend, against the fake API server in [`crate::fake_api`].
//!
//! Every test starts its own server on 127.0.0.1 and points `KUBECONFIG` at it; the scripted
//! controllers finish each workload in well under a second. This module holds what the tests
//! share: the pipeline and stack they run, and [`Cluster`], a project pointed at a fake API.

mod detach;
mod doctor;
mod engine_run;
mod lifecycle;
mod logs;
mod submit;
mod tls;
mod wait_cmd;
mod waiting;

use std::path::Path;

use crate::fake_api::{FakeApi, Script};
use crate::{Run, command, run};

const PIPELINE: &str = r#"[pipeline]
name = "t"

[defaults]
image = "alpine:3"

[steps.prep]
command = ["sh", "-c", "echo prep"]

[steps.train]
after = ["prep"]
command = ["sh", "-c", "echo train"]

[steps.eval]
after = ["train"]
command = ["sh", "-c", "echo eval"]
"#;

const STACK: &str = "[stack]\nname = \"fake\"\nbackend = \"kubernetes\"\nnamespace = \"ml\"\n\n[cache]\nstore = \"none\"\n";

const KUEUE: &str = "\n[scheduler]\nkind = \"kueue\"\nqueue = \"team\"\n";

/// A project directory with a pipeline, a stack and a kubeconfig for `api`.
struct Cluster {
    dir: tempfile::TempDir,
    api: FakeApi,
}

impl Cluster {
    fn new(pipeline: &str, stack: &str) -> Self {
        let c = Cluster::with_api(FakeApi::start(), pipeline, stack);
        c.api.kubeconfig(c.path());
        c
    }

    /// A project for `api` without a kubeconfig yet (the caller writes the one it needs).
    fn with_api(api: FakeApi, pipeline: &str, stack: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pipeline.toml"), pipeline).unwrap();
        std::fs::write(dir.path().join("stack.toml"), stack).unwrap();
        Cluster { dir, api }
    }

    /// Snapshots the exit code and stderr of `out` as `name`, with this project's directory
    /// and the server's port masked.
    fn snapshot(&self, name: &str, out: &Run) {
        let text = out
            .code_and_stderr()
            .replace(self.path().to_str().unwrap(), "[dir]");
        let port = regex::Regex::new(r"127\.0\.0\.1:\d+").unwrap();
        let text = port.replace_all(&text, "127.0.0.1:[port]").into_owned();
        crate::snapshots().bind(|| insta::assert_snapshot!(name, text));
    }

    /// Creates Kueue's LocalQueue `team` in namespace `ml`.
    fn with_queue(self) -> Self {
        self.api.create(
            "/apis/kueue.x-k8s.io/v1beta1/namespaces/ml/localqueues/team",
            serde_json::json!({"apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "LocalQueue", "metadata": {"name": "team", "namespace": "ml"}}),
        );
        self
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn mlk(&self, args: &[&str]) -> Run {
        let mut c = command();
        c.current_dir(self.path())
            .env("KUBECONFIG", self.path().join("kubeconfig"));
        run(c.args(args))
    }

    fn run(&self, args: &[&str]) -> Run {
        let mut all = vec!["run", "pipeline.toml", "--stack", "./stack.toml"];
        all.extend_from_slice(args);
        self.mlk(&all)
    }

    /// `mlk ARGS` in another directory (no `.mlk/runs` of this project), same cluster.
    fn elsewhere(&self, args: &[&str]) -> Run {
        let other = tempfile::tempdir().unwrap();
        let mut c = command();
        c.current_dir(other.path())
            .env("KUBECONFIG", self.path().join("kubeconfig"));
        run(c.args(args))
    }

    /// The steps whose Job was applied (not dry run), in order.
    fn applied(&self) -> Vec<String> {
        self.api
            .requests()
            .iter()
            .filter(|r| r.starts_with("PATCH ") && !r.contains("dryRun"))
            .map(|r| {
                r.split('?')
                    .next()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }
}

fn lines(text: &str, needle: &str) -> usize {
    text.lines().filter(|l| l.contains(needle)).count()
}

fn script(lines: &[&str]) -> Script {
    Script {
        lines: lines.iter().map(|l| (*l).to_owned()).collect(),
        ..Script::default()
    }
}
