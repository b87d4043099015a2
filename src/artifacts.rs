//! What mlk itself does with a stack's artifact store, around a run (the launcher does the
//! rest inside each step): store local inputs by content before steps read them ([`push`]),
//! ask whether a step's manifest is there (the cache hit rule's outputs check), and, for a step
//! that wrote its outputs by address without a launcher, check them and write its manifest
//! after it succeeded ([`Artifacts::finish`]).
//!
//! A local input is stored once under its content address (`{uri}/.mlk/inputs/sha256/<hex>`,
//! an object for a file, a tree of objects for a directory), and a marker object
//! (`<address>.stored`) is written after it: a later run asks for the marker only, so an
//! unchanged input costs one request and uploads nothing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::domain::StoreKind;
use crate::exec::{Backend, Claim, Exited, Lease, LogSink, Process, Stop};
use crate::resolve::{StackInfo, Step};
use crate::store::{Store, StoreError, StoreSpec, Transfer};

/// An open artifact store and a runtime to drive it from synchronous code.
pub(crate) struct Artifacts {
    store: Store,
    rt: tokio::runtime::Runtime,
}

/// What [`Artifacts::push`] found or did for one local input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pushed {
    /// The path as written, relative to the pipeline file.
    pub path: String,
    /// Its content address in the store.
    pub uri: String,
    /// What happened.
    pub outcome: Outcome,
}

/// Whether a local input had to be uploaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Uploaded now: these files and bytes.
    Stored(Transfer),
    /// Already in the store.
    Present,
    /// Not in the store, and not uploaded (a check only).
    Missing,
}

/// Sums a push: inputs uploaded, inputs already there, inputs missing, and the bytes moved.
pub(crate) fn summary(pushed: &[Pushed]) -> (u64, u64, u64, Transfer) {
    let mut sum = (0, 0, 0, Transfer::default());
    for p in pushed {
        match p.outcome {
            Outcome::Stored(t) => {
                sum.0 += 1;
                sum.3.files += t.files;
                sum.3.bytes += t.bytes;
            }
            Outcome::Present => sum.1 += 1,
            Outcome::Missing => sum.2 += 1,
        }
    }
    sum
}

/// How many inputs are checked or uploaded at once.
const PARALLEL: usize = 16;

impl Artifacts {
    /// The stack's object store, or `None` when its artifacts are on this machine's disk or in
    /// a claim this machine cannot reach (a `pvc://` store).
    pub(crate) fn open(stack: &StackInfo) -> Result<Option<Artifacts>, StoreError> {
        if !matches!(stack.artifacts_kind, StoreKind::Object { .. }) {
            return Ok(None);
        }
        let store = Store::open(&StoreSpec {
            uri: stack.artifacts_uri.clone(),
            endpoint: stack.artifacts_endpoint.clone(),
            region: stack.artifacts_region.clone(),
            mount: None,
        })?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| {
                StoreError::new(
                    crate::store::Op::Open,
                    stack.artifacts_uri.clone(),
                    crate::store::Reason::Answer(format!("cannot start the I/O runtime: {e}")),
                )
            })?;
        Ok(Some(Artifacts { store, rt }))
    }

    /// Runs `fut` to completion on this store's runtime, from any thread (also one that is
    /// inside another runtime).
    fn block<T: Send>(&self, fut: impl Future<Output = T> + Send) -> T {
        std::thread::scope(|s| {
            s.spawn(|| self.rt.block_on(fut))
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    }

    /// Whether the object at `uri` exists; a store that cannot answer says no (the step runs
    /// again rather than read what may not be there).
    pub(crate) fn exists(&self, uri: &str) -> bool {
        self.block(self.store.exists(uri)).unwrap_or(false)
    }

    /// Stores the local inputs the plan's `steps` read (paths relative to `dir`) by content,
    /// skipping those already stored; with `upload` false, only says which are missing.
    /// One entry per distinct input, in address order.
    pub(crate) fn push<'a>(
        &self,
        dir: &Path,
        steps: impl IntoIterator<Item = &'a Step>,
        upload: bool,
    ) -> Result<Vec<Pushed>, StoreError> {
        let mut wanted: BTreeMap<&str, &str> = BTreeMap::new();
        for p in steps.into_iter().flat_map(|s| &s.data.push) {
            wanted.insert(&p.uri, &p.path);
        }
        let wanted: Vec<(&str, &str)> = wanted.into_iter().collect();
        self.block(async {
            let mut pushed = Vec::with_capacity(wanted.len());
            for chunk in wanted.chunks(PARALLEL) {
                let jobs = chunk
                    .iter()
                    .map(|(uri, path)| self.push_one(uri, dir.join(path), upload));
                let outcomes = futures::future::try_join_all(jobs).await?;
                for ((uri, path), outcome) in chunk.iter().zip(outcomes) {
                    pushed.push(Pushed {
                        path: (*path).to_string(),
                        uri: (*uri).to_string(),
                        outcome,
                    });
                }
            }
            Ok(pushed)
        })
    }

    /// Stores one input unless its marker says it is there.
    async fn push_one(
        &self,
        uri: &str,
        path: PathBuf,
        upload: bool,
    ) -> Result<Outcome, StoreError> {
        let marker = format!("{uri}.stored");
        if self.store.exists(&marker).await? {
            return Ok(Outcome::Present);
        }
        if !upload {
            return Ok(Outcome::Missing);
        }
        let t = self.store.upload(&path, uri).await?;
        let text = format!("{{\"files\":{},\"bytes\":{}}}\n", t.files, t.bytes);
        self.store.put_bytes(&marker, text.into_bytes()).await?;
        Ok(Outcome::Stored(t))
    }

    /// After a step without a launcher succeeded: every output it wrote by address must be in
    /// the store; then its manifest is written. An error says which output is missing.
    pub(crate) fn finish(&self, step: &Step) -> Result<(), String> {
        let Some(manifest) = &step.data.manifest else {
            return Ok(());
        };
        if step.data.launcher {
            return Ok(());
        }
        self.block(async {
            let mut outputs = BTreeMap::new();
            for p in &step.data.publish {
                match self.store.present(&p.uri).await {
                    Ok(true) => {}
                    Ok(false) => {
                        return Err(format!(
                            "the step succeeded but output `{}` is not in the store at {}",
                            p.output, p.uri
                        ));
                    }
                    Err(e) => return Err(e.to_string()),
                }
                outputs.insert(p.output.clone(), p.uri.clone());
            }
            let text = crate::launch::manifest(outputs.into_iter().map(|(k, u)| (k, u, None)));
            self.store
                .put_bytes(manifest, text)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// A backend whose steps' outputs, written by address without a launcher, are checked and
/// given a manifest by mlk after the step succeeded ([`Artifacts::finish`]).
pub(crate) struct Finishing {
    /// The backend that runs the steps.
    pub inner: Box<dyn Backend>,
    /// The store the outputs are in.
    pub artifacts: Arc<Artifacts>,
}

impl Backend for Finishing {
    fn skip_reason(&self, step: &Step) -> Option<String> {
        self.inner.skip_reason(step)
    }
    fn secrets(&self, step: &Step) -> Vec<String> {
        self.inner.secrets(step)
    }
    fn claim(&self, step: &Step) -> std::io::Result<Option<Claim>> {
        self.inner.claim(step)
    }
    fn reserve(&self, step: &Step) -> Result<Lease, String> {
        self.inner.reserve(step)
    }
    fn start(&self, step: &Step, attempt: u32, logs: LogSink) -> Result<Box<dyn Process>, String> {
        let inner = self.inner.start(step, attempt, logs)?;
        if step.data.launcher || step.data.manifest.is_none() {
            return Ok(inner);
        }
        Ok(Box::new(FinishingProcess {
            inner,
            artifacts: Arc::clone(&self.artifacts),
            step: step.clone(),
        }))
    }
}

/// One attempt of a step whose outputs mlk checks after it succeeded.
struct FinishingProcess {
    inner: Box<dyn Process>,
    artifacts: Arc<Artifacts>,
    step: Step,
}

impl Process for FinishingProcess {
    fn try_wait(&mut self) -> std::io::Result<Option<Exited>> {
        self.inner.try_wait()
    }
    fn stop(&mut self, how: Stop) -> std::io::Result<()> {
        self.inner.stop(how)
    }
    fn drain(&mut self, limit: Duration) {
        self.inner.drain(limit);
    }
    fn pending(&self) -> Option<String> {
        self.inner.pending()
    }
    fn publish(&mut self) -> Result<(), String> {
        self.inner.publish()?;
        self.artifacts.finish(&self.step)
    }
}
