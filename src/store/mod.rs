//! The artifact store: moving bytes between local paths and `[artifacts] uri` (S3 and
//! S3-compatible servers, Google Cloud Storage, Azure Blob Storage, a local directory or a
//! mounted PersistentVolumeClaim), through the object_store crate.
//!
//! This module owns addresses (a full URI under the store's root ↔ an object path), streaming
//! uploads and downloads of files and directory trees ([`transfer`]), what can be uploaded from a
//! local tree ([`walk`]), timeouts and retries ([`open`]) and the store's error messages and exit
//! codes ([`error`]). It knows nothing of pipelines, cache keys or manifests: callers decide what
//! goes where.

mod error;
mod open;
mod transfer;
mod walk;

#[cfg(test)]
mod tests;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

pub(crate) use error::{Op, Reason, StoreError};
pub(crate) use open::Timeouts;

/// Where bytes live: `[artifacts]` as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoreSpec {
    /// `s3://bucket/prefix`, `gs://bucket/prefix`, `az://container/prefix` (account from the
    /// environment), `file:///abs/path`, `pvc://CLAIM/prefix`, or a plain local path (relative
    /// paths are resolved by the caller before; a plain path is treated like file://).
    pub uri: String,
    /// S3-compatible endpoint (http://127.0.0.1:9000): path-style requests, http allowed for it.
    pub endpoint: Option<String>,
    /// The region (S3); default: the environment's `AWS_REGION`, then us-east-1.
    pub region: Option<String>,
    /// For `pvc://CLAIM/prefix`: where the claim is mounted (in a pod, e.g. /mlk/store). A pvc
    /// store is a local file system rooted there: `pvc://CLAIM/prefix/a/b` ↔
    /// `<mount>/prefix/a/b`. None for a pvc store = not reachable from here (exit 2).
    pub mount: Option<PathBuf>,
}

/// An open store: a client and its root. Cheap to clone; share one per store.
#[derive(Clone)]
pub(crate) struct Store {
    inner: Arc<dyn ObjectStore>,
    /// The object path of the root (the URI's prefix; for a local store, the directory).
    base: ObjectPath,
    /// The root URI as written, without trailing `/`: what users see, and what every address
    /// starts with.
    root: String,
    bucket: Option<String>,
    endpoint: String,
    timeouts: Timeouts,
}

/// Shows the root only: the client's configuration holds credentials.
impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("root", &self.root).finish()
    }
}

/// What a transfer moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Transfer {
    /// Objects (files) moved.
    pub files: u64,
    /// Bytes moved.
    pub bytes: u64,
}

// `mlk store-cp` uses only upload and download; the executor and the in-pod launcher (issue
// 13) use the rest.
#[allow(dead_code, reason = "the executor's (issue 13)")]
impl Store {
    /// Opens the store of `spec` with the default [`Timeouts`]. No network I/O. Credentials
    /// come from each cloud's standard environment (object_store's `from_env` builders).
    pub(crate) fn open(spec: &StoreSpec) -> Result<Store, StoreError> {
        Store::open_with(spec, Timeouts::default())
    }

    /// [`Store::open`] with other timeouts and retries.
    pub(crate) fn open_with(spec: &StoreSpec, timeouts: Timeouts) -> Result<Store, StoreError> {
        let opened = open::open(spec, &timeouts)?;
        let root = spec.uri.trim_end_matches('/');
        Ok(Store {
            inner: opened.inner,
            base: opened.base,
            root: if root.is_empty() { "/" } else { root }.to_owned(),
            bucket: opened.bucket,
            endpoint: opened.endpoint,
            timeouts,
        })
    }

    /// The store as shown to users: its root URI, never a credential.
    pub(crate) fn name(&self) -> &str {
        &self.root
    }

    /// Runs a store future to completion on a runtime of its own, for callers without one.
    /// Must not be called from inside a tokio runtime.
    pub(crate) fn block_on<T>(
        fut: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .map_err(|e| {
                StoreError::new(
                    Op::Open,
                    "a runtime",
                    Reason::Answer(format!("cannot start the I/O runtime: {e}")),
                )
            })?;
        rt.block_on(fut)
    }

    /// The object path of `uri`, a full address under the root (`{root}/a/b`).
    fn address(&self, op: Op, uri: &str) -> Result<ObjectPath, StoreError> {
        let not_under = || {
            StoreError::new(
                op,
                uri,
                Reason::NotUnder {
                    store: self.root.clone(),
                },
            )
        };
        let root = self.root.trim_end_matches('/');
        let rest = uri.strip_prefix(root).ok_or_else(not_under)?;
        if !(rest.is_empty() || rest.starts_with('/')) {
            return Err(not_under());
        }
        let rel =
            open::object_path(rest).map_err(|m| StoreError::new(op, uri, Reason::Malformed(m)))?;
        let path = rel.parts().fold(self.base.clone(), |p, part| p.join(part));
        if path.as_ref().is_empty() {
            return Err(StoreError::new(
                op,
                uri,
                Reason::Malformed(
                    "the address names no object (add a path after the bucket)".into(),
                ),
            ));
        }
        Ok(path)
    }

    /// The [`StoreError`] for one of object_store's errors during `op` on `uri`.
    fn fail(&self, op: Op, uri: &str, e: &object_store::Error) -> StoreError {
        let ctx = error::Context {
            bucket: self.bucket.as_deref(),
            endpoint: &self.endpoint,
            stall: self.timeouts.stall,
            retry_for: self.timeouts.retry_for,
        };
        error::classify(op, uri, &ctx, e)
    }

    /// A file → one object at `uri`; a directory → one object per regular file at
    /// `uri/<relative path>` (an empty directory → one empty marker object, see
    /// [`transfer::EMPTY_DIR_MARKER`]). Streamed; multipart for large files.
    pub(crate) async fn upload(&self, local: &Path, uri: &str) -> Result<Transfer, StoreError> {
        let to = self.address(Op::Upload, uri)?;
        transfer::upload(self, local, uri, &to).await
    }

    /// The object at `uri` → the file `local`; else every object under `uri/` → a directory
    /// tree at `local`; neither → [`Reason::NotFound`]. Streamed; each file is written to a
    /// temporary name next to it, then renamed.
    pub(crate) async fn download(&self, uri: &str, local: &Path) -> Result<Transfer, StoreError> {
        let from = self.address(Op::Download, uri)?;
        transfer::download(self, &from, uri, local).await
    }

    /// Whether one object exists exactly at `uri`.
    pub(crate) async fn exists(&self, uri: &str) -> Result<bool, StoreError> {
        let at = self.address(Op::Check, uri)?;
        match self.inner.head(&at).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.fail(Op::Check, uri, &e)),
        }
    }

    /// Whether `uri` holds anything: one object exactly there, or at least one under `uri/`
    /// (a directory tree).
    pub(crate) async fn present(&self, uri: &str) -> Result<bool, StoreError> {
        if self.exists(uri).await? {
            return Ok(true);
        }
        let at = self.address(Op::Check, uri)?;
        let mut listing = self.inner.list(Some(&at));
        match futures::StreamExt::next(&mut listing).await {
            Some(Ok(_)) => Ok(true),
            Some(Err(e)) => Err(self.fail(Op::Check, uri, &e)),
            None => Ok(false),
        }
    }

    /// Writes `bytes` as the object at `uri`, replacing any.
    pub(crate) async fn put_bytes(&self, uri: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        let at = self.address(Op::Write, uri)?;
        self.inner
            .put(&at, PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(|e| self.fail(Op::Write, uri, &e))
    }

    /// The address of every object under `uri/` and when it was last written (seconds since
    /// the Unix epoch), in address order.
    pub(crate) async fn list(&self, uri: &str) -> Result<Vec<(String, i64)>, StoreError> {
        let at = self.address(Op::List, uri)?;
        let mut listing = self.inner.list(Some(&at));
        let root = self.root.trim_end_matches('/');
        let base = self.base.as_ref();
        let mut out = Vec::new();
        while let Some(item) = futures::StreamExt::next(&mut listing).await {
            let meta = item.map_err(|e| self.fail(Op::List, uri, &e))?;
            let path = meta.location.as_ref();
            let rel = if base.is_empty() {
                path
            } else {
                path.strip_prefix(base)
                    .map_or(path, |r| r.trim_start_matches('/'))
            };
            out.push((format!("{root}/{rel}"), meta.last_modified.timestamp()));
        }
        out.sort();
        Ok(out)
    }

    /// Deletes the object at `uri`; one that is not there is no error.
    pub(crate) async fn delete(&self, uri: &str) -> Result<(), StoreError> {
        let at = self.address(Op::Delete, uri)?;
        match self.inner.delete(&at).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.fail(Op::Delete, uri, &e)),
        }
    }

    /// The bytes of the object at `uri`; None when there is no such object.
    pub(crate) async fn get_bytes(&self, uri: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let at = self.address(Op::Read, uri)?;
        let got = match self.inner.get(&at).await {
            Ok(got) => got,
            Err(e) => {
                let err = self.fail(Op::Read, uri, &e);
                // A missing object is None; a missing bucket (also a 404) is an error.
                return match err.reason() {
                    Reason::NotFound => Ok(None),
                    _ => Err(err),
                };
            }
        };
        match got.bytes().await {
            Ok(b) => Ok(Some(b.to_vec())),
            Err(e) => Err(self.fail(Op::Read, uri, &e)),
        }
    }
}
