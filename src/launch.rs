//! The launcher: the mlk binary around a step's command, inside its pods (and on this machine
//! for a local stack whose artifacts are in an object store). It moves the bytes the plan's
//! [`Data`](crate::resolve::Data) names, so the user's image needs nothing:
//!
//! 1. fetch each `--get URI PATH` (an object, or every object under a prefix);
//! 2. run the command with the launcher's own stdin, stdout, stderr, environment and working
//!    directory (log following sees the command's lines unchanged), forwarding SIGTERM, SIGINT
//!    and SIGHUP to it;
//! 3. only when it exits 0, and only on rank 0 of a distributed step: upload each
//!    `--put PATH URI`, check that each `--check URI` (an output the command wrote by address)
//!    is there, then write the `--manifest` (its presence means every output is complete);
//! 4. exit with the command's status (128 + the signal that ended it), or 3 when the store
//!    failed, 1 when the command exited 0 without writing an output.
//!
//! This module owns the launcher's command line both ways: [`store_args`] and [`step_args`]
//! build it (for pods and for the local backend), `cli/launch.rs` parses it into a [`Spec`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

use crate::cache::status::now_unix;
use crate::cache::store::{RECORD_FORMAT, Record};
use crate::domain::StoreKind;
use crate::resolve::{StackInfo, Step};
use crate::store::{Store, StoreError, StoreSpec, Transfer};

/// What the launcher does: the parsed command line.
#[derive(Debug, Clone)]
pub(crate) struct Spec {
    /// The store every address is in (and how to reach it).
    pub store: StoreSpec,
    /// Fetched before the command: address → local path.
    pub get: Vec<(String, PathBuf)>,
    /// Published after it: local path → address.
    pub put: Vec<(PathBuf, String)>,
    /// Outputs the command writes by address: checked for presence.
    pub check: Vec<String>,
    /// Written after every output.
    pub manifest: Option<String>,
    /// Skip the command (exit 0) when the manifest is already in the store (with a fresh
    /// record, when the launcher writes records).
    pub skip_if_cached: bool,
    /// When the run started (RFC 3339, Argo's `{{workflow.creationTimestamp}}`): the
    /// launcher puts the run's date in place of `$(MLK_RUN_DATE)` everywhere.
    pub run_time: Option<String>,
    /// The time zone of the run's date (an IANA name; UTC when absent).
    pub timezone: Option<String>,
    /// The step's cache record as JSON, without its time and run id: written into the
    /// manifest, so the record and the outputs arrive in the store together.
    pub record: Option<String>,
    /// A record older than this many seconds is not a hit.
    pub ttl: Option<u64>,
    /// The command and its arguments.
    pub command: Vec<String>,
}

/// The arguments that name the stack's store; `mount` is where a `pvc://` store's claim is.
pub(crate) fn store_args(stack: &StackInfo, mount: Option<&str>) -> Vec<String> {
    let mut a = vec!["--store".to_owned(), stack.artifacts_uri.clone()];
    for (flag, v) in [
        ("--endpoint", stack.artifacts_endpoint.as_deref()),
        ("--region", stack.artifacts_region.as_deref()),
        (
            "--mount",
            mount.filter(|_| matches!(stack.artifacts_kind, StoreKind::Pvc { .. })),
        ),
    ] {
        if let Some(v) = v {
            a.extend([flag.to_owned(), v.to_owned()]);
        }
    }
    a
}

/// The arguments of a step in an engine's run, which no `mlk` process watches: the run's
/// start (`run_time`, filled in by the engine) when only the run knows the step's date, and
/// the record the launcher writes when the stack keeps its records in the artifact store.
pub(crate) fn run_args(
    pipeline: &str,
    step: &Step,
    (run_time, timezone): (&str, Option<&str>),
    records: bool,
) -> Vec<String> {
    let mut a = Vec::new();
    if crate::cache::key::date_left_to_run(&step.cache.key) {
        a.extend(["--run-time".into(), run_time.to_owned()]);
        if let Some(tz) = timezone {
            a.extend(["--timezone".into(), tz.to_owned()]);
        }
    }
    if records && step.cache.enabled && step.data.manifest.is_some() {
        let record = serde_json::json!({
            "pipeline": pipeline,
            "step": step.name,
            "key": step.cache.key,
            "components": step.cache.components,
            "outputs": step.outputs,
        });
        a.extend(["--record".into(), record.to_string()]);
        if let Some(ttl) = step.cache.ttl_seconds {
            a.extend(["--ttl".into(), ttl.to_string()]);
        }
    }
    a
}

/// The arguments that say what moves for `step`.
pub(crate) fn step_args(step: &Step) -> Vec<String> {
    let mut a = Vec::new();
    for f in &step.data.fetch {
        a.extend(["--get".into(), f.uri.clone(), f.path.clone()]);
    }
    for p in &step.data.publish {
        match &p.path {
            Some(path) => a.extend(["--put".into(), path.clone(), p.uri.clone()]),
            None => a.extend(["--check".into(), p.uri.clone()]),
        }
    }
    if let Some(m) = &step.data.manifest {
        a.extend(["--manifest".into(), m.clone()]);
    }
    a
}

/// Copies this binary to `dest` (the init container's job), atomically.
pub(crate) fn install(dest: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let exe = std::env::current_exe()?;
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = dest.with_extension("mlk-tmp");
    std::fs::copy(&exe, &tmp)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
    std::fs::rename(&tmp, dest)
}

/// Why the launcher stopped before or after the command.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LaunchError {
    /// The store answered an error, or cannot be opened.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The command exited 0 but did not write an output.
    #[error(
        "the command exited 0 but wrote nothing at {0} (an output the step declares): nothing was published"
    )]
    Missing(String),
    /// The command cannot be started.
    #[error("cannot start `{program}`: {error}")]
    Start {
        /// The program.
        program: String,
        /// Why.
        error: std::io::Error,
    },
    /// A local file system problem.
    #[error("{0}")]
    Io(String),
}

impl LaunchError {
    /// The launcher's exit code for this error.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            LaunchError::Store(e) => e.exit_code(),
            LaunchError::Missing(_) => 1,
            LaunchError::Start { .. } => 127,
            LaunchError::Io(_) => 3,
        }
    }
}

/// One output in the manifest.
#[derive(Debug, Serialize)]
struct Published {
    uri: String,
    /// Files and bytes uploaded; `None` for an output the command wrote by address.
    #[serde(skip_serializing_if = "Option::is_none")]
    files: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes: Option<u64>,
}

/// The manifest: written last, so its presence means every output is in the store. On a
/// stack whose records are in the artifact store it holds the step's cache record too.
#[derive(Debug, Serialize)]
struct Manifest {
    format: u32,
    outputs: BTreeMap<String, Published>,
    #[serde(skip_serializing_if = "Option::is_none")]
    record: Option<Record>,
}

/// The run's date in place of `$(MLK_RUN_DATE)` in every address, the record and the
/// command; the child's environment (which Kubernetes left as written: the variable is not
/// set in the pod) gets the same, and `MLK_RUN_DATE` itself.
fn dated(spec: &Spec) -> Result<(Spec, Vec<(String, String)>), LaunchError> {
    let Some(time) = &spec.run_time else {
        return Ok((spec.clone(), Vec::new()));
    };
    let at: jiff::Timestamp = time.trim().parse().map_err(|e| {
        LaunchError::Io(format!(
            "--run-time `{time}` is not an RFC 3339 time ({e}); the engine fills it in from the Workflow's creation time"
        ))
    })?;
    let date = crate::resolve::run_date::date_of(at, spec.timezone.as_deref());
    let put = |s: &str| s.replace(crate::resolve::RUN_DATE_PLACEHOLDER, &date);
    let mut env: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(_, v)| v.contains(crate::resolve::RUN_DATE_PLACEHOLDER))
        .map(|(k, v)| (k, put(&v)))
        .collect();
    env.push((crate::resolve::run_date::DATE_VARIABLE.into(), date.clone()));
    let spec = Spec {
        get: spec.get.iter().map(|(u, p)| (put(u), p.clone())).collect(),
        put: spec.put.iter().map(|(p, u)| (p.clone(), put(u))).collect(),
        check: spec.check.iter().map(|u| put(u)).collect(),
        manifest: spec.manifest.as_deref().map(put),
        record: spec.record.as_deref().map(put),
        command: spec.command.iter().map(|a| put(a)).collect(),
        ..spec.clone()
    };
    Ok((spec, env))
}

/// The record the launcher writes: the step's, with this run's id and the time now.
fn record_of(template: &str) -> Result<Record, LaunchError> {
    let mut v: serde_json::Value = serde_json::from_str(template)
        .map_err(|e| LaunchError::Io(format!("--record is not a cache record: {e}")))?;
    if let Some(m) = v.as_object_mut() {
        m.insert("format".into(), RECORD_FORMAT.into());
        m.insert("created_unix".into(), now_unix().into());
        let run = std::env::var("MLK_RUN_ID").unwrap_or_default();
        m.insert("run_id".into(), run.into());
    }
    serde_json::from_value(v)
        .map_err(|e| LaunchError::Io(format!("--record is not a cache record: {e}")))
}

/// Whether the step's work is in the store: its manifest, with a record younger than the
/// TTL when the launcher writes records.
async fn cached(stores: &Stores, manifest: &str, spec: &Spec) -> Result<bool, LaunchError> {
    let store = stores.of(manifest)?;
    if spec.record.is_none() {
        return Ok(store.exists(manifest).await?);
    }
    let Some(bytes) = store.get_bytes(manifest).await? else {
        return Ok(false);
    };
    Ok(Record::in_manifest(&bytes)
        .is_some_and(|r| !crate::cache::status::is_expired(&r, spec.ttl, now_unix())))
}

/// Whether this process publishes: rank 0 of a distributed step (PyTorchJob's `RANK`,
/// Trainer's `PET_NODE_RANK`), or any single process.
fn publishes(env: &dyn Fn(&str) -> Option<String>) -> bool {
    ["RANK", "PET_NODE_RANK"]
        .iter()
        .all(|v| env(v).is_none_or(|r| r.trim() == "0"))
}

/// Runs the launcher; its exit code.
pub(crate) fn launch(spec: &Spec, say: &dyn Fn(&str)) -> Result<u8, LaunchError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .map_err(|e| LaunchError::Io(format!("cannot start the I/O runtime: {e}")))?;
    let (spec, env) = dated(spec)?;
    let spec = &spec;
    if let Some((_, date)) = env.last() {
        say(&format!("mlk launch: the run's date is {date}"));
    }
    let record = spec.record.as_deref().map(record_of).transpose()?;
    let stores = Stores::new(&spec.store)?;
    let rank0 = publishes(&|v| std::env::var(v).ok());
    if spec.skip_if_cached
        && let Some(m) = &spec.manifest
        && rt.block_on(cached(&stores, m, spec))?
    {
        say(&format!(
            "mlk launch: the outputs are already in the store ({m}): the command is skipped"
        ));
        return Ok(0);
    }
    if rank0 {
        for (path, _) in &spec.put {
            clear(path)?;
        }
    }
    rt.block_on(fetch(&stores, &spec.get))?;
    let status = run(&spec.command, &env)?;
    if status != 0 || !rank0 {
        return Ok(status);
    }
    rt.block_on(publish(&stores, spec, record))?;
    Ok(0)
}

/// The store of each address: the stack's, or one opened for another bucket of the same kind
/// (an input given by URI), with the same endpoint and credentials.
struct Stores {
    main: Store,
    spec: StoreSpec,
    others: std::sync::Mutex<BTreeMap<String, Store>>,
}

impl Stores {
    fn new(spec: &StoreSpec) -> Result<Stores, StoreError> {
        Ok(Stores {
            main: Store::open(spec)?,
            spec: spec.clone(),
            others: std::sync::Mutex::new(BTreeMap::new()),
        })
    }

    fn of(&self, uri: &str) -> Result<Store, StoreError> {
        let root = self.main.name();
        if uri == root || uri.starts_with(&format!("{root}/")) {
            return Ok(self.main.clone());
        }
        let bucket = match uri.split_once("://") {
            Some((scheme, rest)) => {
                format!("{scheme}://{}", rest.split('/').next().unwrap_or_default())
            }
            None => uri.to_owned(),
        };
        let mut others = self
            .others
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(s) = others.get(&bucket) {
            return Ok(s.clone());
        }
        let store = Store::open(&StoreSpec {
            uri: bucket.clone(),
            ..self.spec.clone()
        })?;
        others.insert(bucket, store.clone());
        Ok(store)
    }
}

/// Removes what an earlier attempt left at an output path, and makes its directory.
fn clear(path: &Path) -> Result<(), LaunchError> {
    let io = |what: &str, e: std::io::Error| {
        LaunchError::Io(format!("cannot {what} {}: {e}", path.display()))
    };
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path).map_err(|e| io("clear", e))?,
        Ok(_) => std::fs::remove_file(path).map_err(|e| io("clear", e))?,
        Err(_) => {}
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io("create", e))?;
    }
    Ok(())
}

/// Fetches every `(address, path)`, all at once.
async fn fetch(stores: &Stores, get: &[(String, PathBuf)]) -> Result<(), LaunchError> {
    let mut jobs = Vec::new();
    for (uri, path) in get {
        let store = stores.of(uri)?;
        jobs.push(async move { store.download(uri, path).await });
    }
    futures::future::try_join_all(jobs).await?;
    Ok(())
}

/// Uploads the outputs, checks those written by address, then writes the manifest.
async fn publish(stores: &Stores, spec: &Spec, record: Option<Record>) -> Result<(), LaunchError> {
    let name = |uri: &str| uri.rsplit('/').next().unwrap_or(uri).to_owned();
    let mut jobs = Vec::new();
    for (path, uri) in &spec.put {
        if std::fs::symlink_metadata(path).is_err() {
            return Err(LaunchError::Missing(path.display().to_string()));
        }
        let store = stores.of(uri)?;
        jobs.push(async move {
            let t: Transfer = store.upload(path, uri).await?;
            Ok::<_, StoreError>((uri, t))
        });
    }
    let mut outputs = Vec::new();
    for (uri, t) in futures::future::try_join_all(jobs).await? {
        outputs.push((name(uri), uri.clone(), Some(t)));
    }
    for uri in &spec.check {
        if !stores.of(uri)?.present(uri).await? {
            return Err(LaunchError::Missing(uri.clone()));
        }
        outputs.push((name(uri), uri.clone(), None));
    }
    if let Some(m) = &spec.manifest {
        let record = record.map(|r| Record {
            created_unix: now_unix(),
            ..r
        });
        stores
            .of(m)?
            .put_bytes(m, manifest(outputs, record))
            .await?;
    }
    Ok(())
}

/// The manifest of outputs `(name, address, what was uploaded)`, as the launcher writes it.
pub(crate) fn manifest(
    outputs: impl IntoIterator<Item = (String, String, Option<Transfer>)>,
    record: Option<Record>,
) -> Vec<u8> {
    let outputs = outputs
        .into_iter()
        .map(|(name, uri, t)| {
            let published = Published {
                uri,
                files: t.map(|t| t.files),
                bytes: t.map(|t| t.bytes),
            };
            (name, published)
        })
        .collect();
    serde_json::to_vec_pretty(&Manifest {
        format: 1,
        outputs,
        record,
    })
    .unwrap_or_default()
}

/// Runs the command with the launcher's stdio, environment and directory, forwarding
/// SIGTERM, SIGINT and SIGHUP; its exit status (128 + the signal that ended it).
fn run(command: &[String], env: &[(String, String)]) -> Result<u8, LaunchError> {
    use std::os::unix::process::ExitStatusExt;
    let Some((program, args)) = command.split_first() else {
        return Err(LaunchError::Io("no command after `--`".into()));
    };
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGHUP,
    ])
    .map_err(|e| LaunchError::Io(format!("cannot handle signals: {e}")))?;
    let mut child = Command::new(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .spawn()
        .map_err(|error| LaunchError::Start {
            program: program.clone(),
            error,
        })?;
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
    let handle = signals.handle();
    let forward = std::thread::spawn(move || {
        for sig in signals.forever() {
            if let Ok(s) = nix::sys::signal::Signal::try_from(sig) {
                let _ = nix::sys::signal::kill(pid, s);
            }
        }
    });
    let status = child.wait();
    handle.close();
    let _ = forward.join();
    let status =
        status.map_err(|e| LaunchError::Io(format!("cannot wait for `{program}`: {e}")))?;
    Ok(match (status.code(), status.signal()) {
        (Some(c), _) => u8::try_from(c).unwrap_or(1),
        (None, Some(s)) => u8::try_from(128 + s).unwrap_or(255),
        (None, None) => 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_zero_or_a_single_process_publishes() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert!(publishes(&env(&[])));
        assert!(publishes(&env(&[("RANK", "0")])));
        assert!(!publishes(&env(&[("RANK", "3")])));
        assert!(publishes(&env(&[("PET_NODE_RANK", "0")])));
        assert!(!publishes(&env(&[("PET_NODE_RANK", "1")])));
    }
}
