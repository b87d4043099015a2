//! The scheduler against a fake backend: concurrency limits, failure handling and cache
//! records, without real processes.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::cache::store::{LocalStore, Store};
use crate::load::{StackRef, load};
use crate::resolve::{Options as ResolveOptions, Plan, Step, resolve};

/// Attempts that end after a few polls, with exit code 1 for steps named in `fail`.
#[derive(Default)]
struct Fake {
    fail: BTreeSet<String>,
    running: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
    started: Mutex<Vec<String>>,
}

struct FakeProcess {
    polls: u32,
    code: i32,
    running: Arc<AtomicUsize>,
}

impl Backend for Fake {
    fn start(&self, step: &Step, _: u32, logs: LogSink) -> Result<Box<dyn Process>, String> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        self.started.lock().unwrap().push(step.name.clone());
        logs.line(Stream::Stdout, &format!("hello from {}", step.name));
        Ok(Box::new(FakeProcess {
            polls: 3,
            code: i32::from(self.fail.contains(&step.name)),
            running: Arc::clone(&self.running),
        }))
    }
}

impl Process for FakeProcess {
    fn try_wait(&mut self) -> std::io::Result<Option<Exited>> {
        if self.polls == 0 {
            return Ok(Some(Exited {
                code: Some(self.code),
                signal: None,
            }));
        }
        self.polls -= 1;
        if self.polls == 0 {
            self.running.fetch_sub(1, Ordering::SeqCst);
        }
        Ok(None)
    }
    fn stop(&mut self, _: Stop) -> std::io::Result<()> {
        Ok(())
    }
    fn drain(&mut self, _: Duration) {}
}

#[derive(Default)]
struct Lines(Mutex<Vec<String>>);

impl Events for Lines {
    fn event(&self, e: &Event<'_>) {
        if let Event::Log { line, .. } = e {
            self.0.lock().unwrap().push(line.to_string());
        }
    }
}

fn plan(dir: &std::path::Path, steps: &str) -> Plan {
    let path = dir.join("p.toml");
    std::fs::write(
        &path,
        format!("[pipeline]\nname = \"p\"\n\n[defaults]\nimage = \"alpine:3\"\n\n{steps}"),
    )
    .unwrap();
    let loaded = load(&path, &StackRef::BuiltinLocal)
        .map_err(|_| "load")
        .unwrap();
    let opts = ResolveOptions {
        run_id: Some("r".into()),
        artifacts_root: Some(dir.to_path_buf()),
        ..ResolveOptions::default()
    };
    resolve(&loaded, &opts, &BTreeMap::new())
        .map_err(|_| "resolve")
        .unwrap()
        .plan
}

fn go(
    plan: &Plan,
    backend: &Fake,
    store: &dyn Store,
    dir: &std::path::Path,
    jobs: usize,
) -> Summary {
    let initial = prepare(plan, backend, Some(store), None, &Selection::All, false, 0).unwrap();
    let runs = RunDir::create(&dir.join("runs"), &format!("run-{}", record::entropy())).unwrap();
    let opts = Options {
        jobs,
        grace: Duration::from_millis(10),
        run_id: "r".into(),
        pipeline_file: "p.toml".into(),
        backend: "local".into(),
        namespace: None,
        context: None,
    };
    execute(
        plan,
        &initial,
        backend,
        Some(store),
        &runs,
        &opts,
        &Cancel::new(),
        Arc::new(Lines::default()),
    )
    .unwrap()
}

const THREE: &str = r#"
[steps.a]
command = ["true"]
[steps.b]
command = ["true"]
[steps.c]
command = ["true"]
[steps.d]
after = ["a", "b", "c"]
command = ["true"]
"#;

#[test]
fn jobs_limits_concurrency_and_a_second_run_is_cached() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(dir.path(), THREE);
    let store = LocalStore::new(dir.path().join("cache"));
    let fake = Fake::default();
    let s = go(&plan, &fake, &store, dir.path(), 1);
    assert_eq!(s.record.state, RunState::Succeeded);
    assert_eq!(fake.most.load(Ordering::SeqCst), 1);
    assert_eq!(*fake.started.lock().unwrap(), ["a", "b", "c", "d"]);

    let again = Fake::default();
    let s = go(&plan, &again, &store, dir.path(), 4);
    assert!(again.started.lock().unwrap().is_empty());
    assert!(s.record.steps.iter().all(|s| s.state == StepState::Cached));
}

#[test]
fn a_failure_writes_no_record_and_blocks_downstream() {
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(dir.path(), THREE);
    let store = LocalStore::new(dir.path().join("cache"));
    let fake = Fake {
        fail: BTreeSet::from(["b".to_owned()]),
        ..Fake::default()
    };
    let s = go(&plan, &fake, &store, dir.path(), 4);
    assert_eq!(s.record.state, RunState::Failed);
    let states: Vec<(&str, StepState)> = s
        .record
        .steps
        .iter()
        .map(|s| (s.name.as_str(), s.state))
        .collect();
    assert_eq!(
        states,
        [
            ("a", StepState::Done),
            ("b", StepState::Failed),
            ("c", StepState::Done),
            ("d", StepState::NotRun)
        ]
    );
    let recorded: Vec<String> = store.list().unwrap().into_iter().map(|r| r.step).collect();
    assert_eq!(recorded, ["a", "c"]);
    assert_eq!(s.tails["b"], ["hello from b"]);
}
