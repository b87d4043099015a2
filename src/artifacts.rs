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

use crate::cache::store::{Record, Store as RecordStore};
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
        let spec = StoreSpec {
            uri: stack.artifacts_uri.clone(),
            endpoint: stack.artifacts_endpoint.clone(),
            region: stack.artifacts_region.clone(),
            mount: None,
        };
        Artifacts::open_spec(&stack.artifacts_kind, &spec)
    }

    /// [`Artifacts::open`] of a store given by its kind and address.
    pub(crate) fn open_spec(
        kind: &StoreKind,
        spec: &StoreSpec,
    ) -> Result<Option<Artifacts>, StoreError> {
        if !matches!(kind, StoreKind::Object { .. }) {
            return Ok(None);
        }
        let store = Store::open(spec)?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| {
                StoreError::new(
                    crate::store::Op::Open,
                    spec.uri.clone(),
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
            let text =
                crate::launch::manifest(outputs.into_iter().map(|(k, u)| (k, u, None)), None);
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

/// Cache records in the artifact store (`[cache] store = "artifacts"`): each is inside the
/// manifest of the step's outputs (`{uri}/{pipeline}/{step}/{key}/.manifest.json`), where the
/// launcher writes it when the step's outputs are complete. A record is thus in the store
/// exactly when its outputs are, and a run in the cluster that no `mlk` process watches
/// (an engine's) leaves records every `mlk` can read.
pub(crate) struct ArtifactRecords(pub Arc<Artifacts>);

/// The name of a step's manifest, which holds its record.
const MANIFEST_NAME: &str = crate::resolve::data::MANIFEST;

impl ArtifactRecords {
    fn manifest(&self, pipeline: &str, step: &str, key: &str) -> String {
        format!("{}/{pipeline}/{step}/{key}/{MANIFEST_NAME}", self.root())
    }

    fn root(&self) -> &str {
        self.0.store.name().trim_end_matches('/')
    }

    /// A store error as a cache store error: the error names the object, the path the store.
    fn err(&self, e: &StoreError) -> crate::cache::store::StoreError {
        crate::cache::store::StoreError {
            path: self.root().to_owned(),
            message: e.to_string(),
        }
    }

    /// The record in the manifest at `uri`, if there is one of this mlk's format.
    async fn read(&self, uri: &str) -> Result<Option<Record>, crate::cache::store::StoreError> {
        let bytes = self
            .0
            .store
            .get_bytes(uri)
            .await
            .map_err(|e| self.err(&e))?;
        Ok(bytes.and_then(|b| Record::in_manifest(&b)))
    }

    /// The manifests under `prefix` (a pipeline, a step or the whole store) and when each
    /// was written, newest first.
    fn manifests(&self, prefix: &str) -> Result<Vec<String>, crate::cache::store::StoreError> {
        let uri = format!("{}/{prefix}", self.root());
        let mut all = self
            .0
            .block(self.0.store.list(uri.trim_end_matches('/')))
            .map_err(|e| self.err(&e))?;
        all.retain(|(u, _)| u.ends_with(&format!("/{MANIFEST_NAME}")));
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(all.into_iter().map(|(u, _)| u).collect())
    }

    /// The records of every manifest under `prefix` (a pipeline, a step or the whole store),
    /// sorted by (pipeline, step, newest first).
    fn under(&self, prefix: &str) -> Result<Vec<Record>, crate::cache::store::StoreError> {
        let manifests = self.manifests(prefix)?;
        self.0.block(async {
            let mut out = Vec::new();
            for chunk in manifests.chunks(PARALLEL) {
                let reads = chunk.iter().map(|u| self.read(u));
                out.extend(
                    futures::future::try_join_all(reads)
                        .await?
                        .into_iter()
                        .flatten(),
                );
            }
            out.sort_by(|a, b| {
                (
                    &a.pipeline,
                    &a.step,
                    std::cmp::Reverse(a.created_unix),
                    &a.key,
                )
                    .cmp(&(
                        &b.pipeline,
                        &b.step,
                        std::cmp::Reverse(b.created_unix),
                        &b.key,
                    ))
            });
            Ok(out)
        })
    }
}

impl RecordStore for ArtifactRecords {
    fn get(
        &self,
        pipeline: &str,
        step: &str,
        key: &str,
    ) -> Result<Option<Record>, crate::cache::store::StoreError> {
        let uri = self.manifest(pipeline, step, key);
        let found = self.0.block(self.read(&uri))?;
        Ok(found.filter(|r| r.key == key && r.pipeline == pipeline && r.step == step))
    }

    fn history(
        &self,
        pipeline: &str,
        step: &str,
    ) -> Result<Vec<Record>, crate::cache::store::StoreError> {
        let mut records = self.under(&format!("{pipeline}/{step}/"))?;
        records.retain(|r| r.pipeline == pipeline && r.step == step);
        Ok(records)
    }

    /// Writes the record into the step's manifest, keeping what the manifest says of the
    /// outputs (the launcher or [`Artifacts::finish`] wrote it). Only a step without outputs
    /// gets a manifest made here: one with outputs whose manifest is missing did not publish
    /// them, and a record alone would be a hit without them.
    fn put(&self, record: &Record) -> Result<(), crate::cache::store::StoreError> {
        let uri = self.manifest(&record.pipeline, &record.step, &record.key);
        self.0.block(async {
            let old = self
                .0
                .store
                .get_bytes(&uri)
                .await
                .map_err(|e| self.err(&e))?;
            let doc = old
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .filter(serde_json::Value::is_object);
            let mut doc = match doc {
                Some(doc) => doc,
                None if record.outputs.is_empty() => serde_json::json!({ "format": 1, "outputs": {} }),
                None => {
                    return Err(crate::cache::store::StoreError {
                        path: uri.clone(),
                        message: "the step's outputs have no manifest in the store (they were not all published): no record written".into(),
                    });
                }
            };
            doc["record"] = serde_json::to_value(record).unwrap_or_default();
            let bytes = serde_json::to_vec_pretty(&doc).unwrap_or_default();
            self.0
                .store
                .put_bytes(&uri, bytes)
                .await
                .map_err(|e| self.err(&e))
        })
    }

    /// The newest manifest's record, read alone (a step of a nightly pipeline gains one
    /// manifest a day).
    fn latest(
        &self,
        pipeline: &str,
        step: &str,
    ) -> Result<Option<Record>, crate::cache::store::StoreError> {
        for uri in self.manifests(&format!("{pipeline}/{step}/"))? {
            if let Some(r) = self.0.block(self.read(&uri))?
                && r.pipeline == pipeline
                && r.step == step
            {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }

    fn list(&self) -> Result<Vec<Record>, crate::cache::store::StoreError> {
        self.under("")
    }

    /// Deletes the manifests (so the records, and the steps' outputs are no longer a hit);
    /// the outputs themselves stay in the store.
    fn clear(
        &self,
        pipeline: Option<&str>,
        step: Option<&str>,
    ) -> Result<usize, crate::cache::store::StoreError> {
        let prefix = match (pipeline, step) {
            (Some(p), Some(s)) => format!("{p}/{s}/"),
            (Some(p), None) => format!("{p}/"),
            _ => String::new(),
        };
        let records = self.under(&prefix)?;
        let records: Vec<&Record> = records
            .iter()
            .filter(|r| pipeline.is_none_or(|p| r.pipeline == p))
            .filter(|r| step.is_none_or(|s| r.step == s))
            .collect();
        self.0.block(async {
            for r in &records {
                let uri = self.manifest(&r.pipeline, &r.step, &r.key);
                self.0.store.delete(&uri).await.map_err(|e| self.err(&e))?;
            }
            Ok(records.len())
        })
    }
}
