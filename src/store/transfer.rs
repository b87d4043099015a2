//! Streaming transfers between local paths and objects.
//!
//! Memory stays bounded whatever the sizes. Uploads: a file of at most [`PART`] bytes goes in
//! one request, several such files at once, as many as fit in [`SMALL_BUDGET`] (at most
//! [`FILES_IN_FLIGHT`]); a larger one goes alone, as a multipart upload of [`PART`]-byte parts
//! with [`PARTS_IN_FLIGHT`] in flight. Downloads: every object is streamed by one GET into a
//! temporary file, [`WRITE_BATCH`] bytes at a time, with the same bounds on concurrent files.
//! One transfer holds at most about 32 MiB of file data.
//!
//! Object stores have no directories: an uploaded directory keeps its files and loses its empty
//! subdirectories (as `aws s3 sync` does). A directory with no file at all uploads one empty
//! marker object, [`EMPTY_DIR_MARKER`], so that it round-trips as an empty directory.

use std::future::Future;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, ObjectMeta, ObjectStoreExt, PutPayload, WriteMultipart};

use super::walk::{self, Source, Tree};
use super::{Op, Reason, Store, StoreError, Transfer};

/// The part size of multipart uploads, and the largest file uploaded in one request.
pub(super) const PART: usize = 8 << 20;
/// Parts of one large file in flight at once.
const PARTS_IN_FLIGHT: usize = 3;
/// How much of a download is gathered before it is written.
const WRITE_BATCH: usize = 1 << 20;
/// Small files in flight at once, at most.
const FILES_IN_FLIGHT: usize = 8;
/// The bytes of small files in flight at once: 8 files of 1 MiB, or 4 of 8 MiB.
const SMALL_BUDGET: u64 = 32 << 20;
/// The object an empty directory uploads, inside the directory's address.
pub(crate) const EMPTY_DIR_MARKER: &str = ".mlk-empty-dir";

/// Uploads `local` (a file or a directory tree) to the object path `to` (`uri` as shown).
pub(super) async fn upload(
    store: &Store,
    local: &Path,
    uri: &str,
    to: &ObjectPath,
) -> Result<Transfer, StoreError> {
    let owned = local.to_path_buf();
    let tree = blocking(Op::Upload, uri, move || walk::walk(&owned))
        .await?
        .map_err(|w: walk::WalkError| StoreError::local(Op::Upload, uri, &w.path, w.what))?;
    match tree {
        Tree::File(src) => {
            let bytes = upload_file(store, src, uri, to.clone()).await?;
            Ok(Transfer { files: 1, bytes })
        }
        Tree::Dir(files) if files.is_empty() => {
            let marker = to.clone().join(EMPTY_DIR_MARKER);
            store
                .inner
                .put(&marker, PutPayload::new())
                .await
                .map_err(|e| store.fail(Op::Upload, uri, &e))?;
            Ok(Transfer::default())
        }
        Tree::Dir(files) => {
            let jobs = files.into_iter().map(|src| {
                let to = child_path(to, &src.rel);
                (src.size, (src, to))
            });
            each_bounded(jobs, |(src, to)| upload_file(store, src, uri, to)).await
        }
    }
}

/// `base` + a `/`-separated relative path.
fn child_path(base: &ObjectPath, rel: &str) -> ObjectPath {
    rel.split('/').fold(base.clone(), |p, seg| p.join(seg))
}

/// Runs `f` on every job: small ones several at a time (as many of the largest as fit in
/// [`SMALL_BUDGET`], at most [`FILES_IN_FLIGHT`]), then large ones one after the other (each of
/// those already has [`PARTS_IN_FLIGHT`] parts in flight). Stops at the first error.
async fn each_bounded<J, F, Fut>(
    jobs: impl Iterator<Item = (u64, J)>,
    f: F,
) -> Result<Transfer, StoreError>
where
    F: Fn(J) -> Fut,
    Fut: Future<Output = Result<u64, StoreError>>,
{
    let (small, large): (Vec<_>, Vec<_>) = jobs.partition(|(size, _)| *size <= PART as u64);
    let mut total = Transfer::default();
    let mut count = |bytes: u64| {
        total.files += 1;
        total.bytes += bytes;
    };
    let at_once = small_at_once(small.iter().map(|(size, _)| *size).max().unwrap_or(0));
    let mut running =
        futures::stream::iter(small.into_iter().map(|(_, j)| f(j))).buffer_unordered(at_once);
    while let Some(done) = running.next().await {
        count(done?);
    }
    drop(running);
    for (_, job) in large {
        count(f(job).await?);
    }
    Ok(total)
}

/// How many small files go at once when the largest has `largest` bytes.
pub(super) fn small_at_once(largest: u64) -> usize {
    usize::try_from(SMALL_BUDGET / largest.max(1))
        .unwrap_or(FILES_IN_FLIGHT)
        .clamp(1, FILES_IN_FLIGHT)
}

/// Uploads one regular file; returns the bytes sent.
async fn upload_file(
    store: &Store,
    src: Source,
    uri: &str,
    to: ObjectPath,
) -> Result<u64, StoreError> {
    if src.size <= PART as u64 {
        let path = src.path.clone();
        let data = blocking(Op::Upload, uri, move || {
            std::fs::read(&path).map_err(|e| (path, e))
        })
        .await?
        .map_err(|(p, e)| StoreError::local(Op::Upload, uri, &p, e))?;
        let len = data.len() as u64;
        store
            .inner
            .put(&to, PutPayload::from(data))
            .await
            .map_err(|e| store.fail(Op::Upload, uri, &e))?;
        return Ok(len);
    }
    let file = std::fs::File::open(&src.path)
        .map_err(|e| StoreError::local(Op::Upload, uri, &src.path, e))?;
    let upload = store
        .inner
        .put_multipart(&to)
        .await
        .map_err(|e| store.fail(Op::Upload, uri, &e))?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
    match send_parts(store, &mut writer, file, &src.path, uri).await {
        Ok(sent) => {
            writer
                .finish()
                .await
                .map_err(|e| store.fail(Op::Upload, uri, &e))?;
            Ok(sent)
        }
        Err(e) => {
            // The error to report is the first one; a failed abort leaves an incomplete upload
            // that the bucket's lifecycle rules clean up.
            let _ = writer.abort().await;
            Err(e)
        }
    }
}

/// Reads `file` part by part into `writer`, waiting while [`PARTS_IN_FLIGHT`] parts are sent.
async fn send_parts(
    store: &Store,
    writer: &mut WriteMultipart,
    file: std::fs::File,
    path: &Path,
    uri: &str,
) -> Result<u64, StoreError> {
    let file = Arc::new(file);
    let buffers = Buffers::default();
    let mut offset = 0u64;
    loop {
        writer
            .wait_for_capacity(PARTS_IN_FLIGHT)
            .await
            .map_err(|e| store.fail(Op::Upload, uri, &e))?;
        let (f, buf) = (Arc::clone(&file), buffers.take());
        let chunk = blocking(Op::Upload, uri, move || read_part(&f, offset, buf))
            .await?
            .map_err(|e| StoreError::local(Op::Upload, uri, path, e))?;
        if chunk.is_empty() {
            return Ok(offset);
        }
        offset += chunk.len() as u64;
        writer.put(buffers.bytes(chunk));
    }
}

/// Up to [`PART`] bytes of `file` from `offset`, read into `buf` (fewer only at the end).
fn read_part(file: &std::fs::File, offset: u64, mut buf: Vec<u8>) -> std::io::Result<Vec<u8>> {
    buf.resize(PART, 0);
    let mut filled = 0;
    while filled < PART {
        match file.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(buf)
}

/// The part buffers of one upload, used again once their part is sent. Allocating and freeing
/// a fresh 8 MiB buffer per part, on several threads, left glibc's heap arenas holding about
/// 20 MiB more at the peak of a 1 GiB upload.
#[derive(Clone, Default)]
struct Buffers(Arc<Mutex<Vec<Vec<u8>>>>);

impl Buffers {
    /// A free buffer, or a new one.
    fn take(&self) -> Vec<u8> {
        let free = self.0.lock().ok().and_then(|mut v| v.pop());
        free.unwrap_or_else(|| Vec::with_capacity(PART))
    }

    /// `buf` as [`Bytes`] that give the buffer back when the last reference is dropped.
    fn bytes(&self, buf: Vec<u8>) -> Bytes {
        Bytes::from_owner(Pooled {
            buf,
            pool: self.clone(),
        })
    }
}

/// A buffer lent out as [`Bytes`]; back to its pool on drop.
struct Pooled {
    buf: Vec<u8>,
    pool: Buffers,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        if let Ok(mut free) = self.pool.0.lock() {
            free.push(buf);
        }
    }
}

/// Downloads the object at `from`, or every object under it, to `local`.
pub(super) async fn download(
    store: &Store,
    from: &ObjectPath,
    uri: &str,
    local: &Path,
) -> Result<Transfer, StoreError> {
    match store.inner.head(from).await {
        Ok(meta) => {
            let bytes = download_file(store, meta, uri, local.to_path_buf()).await?;
            Ok(Transfer { files: 1, bytes })
        }
        Err(object_store::Error::NotFound { .. }) => download_dir(store, from, uri, local).await,
        Err(e) => Err(store.fail(Op::Download, uri, &e)),
    }
}

async fn download_dir(
    store: &Store,
    from: &ObjectPath,
    uri: &str,
    local: &Path,
) -> Result<Transfer, StoreError> {
    let metas: Vec<ObjectMeta> = store
        .inner
        .list(Some(from))
        .try_collect()
        .await
        .map_err(|e| store.fail(Op::Download, uri, &e))?;
    if metas.is_empty() {
        return Err(StoreError::new(Op::Download, uri, Reason::NotFound));
    }
    std::fs::create_dir_all(local).map_err(|e| StoreError::local(Op::Download, uri, local, e))?;
    let mut jobs = Vec::with_capacity(metas.len());
    for meta in metas {
        let Some(rel) = meta.location.prefix_match(from) else {
            continue;
        };
        let rel: Vec<String> = rel.map(|p| p.as_ref().to_owned()).collect();
        if rel.iter().any(|p| p.is_empty() || p == "." || p == "..") {
            let what = format!("refusing the object name \"{}\"", meta.location);
            return Err(StoreError::local(Op::Download, uri, local, what));
        }
        if rel == [EMPTY_DIR_MARKER] {
            continue;
        }
        let dest = rel.iter().fold(local.to_path_buf(), |p, seg| p.join(seg));
        jobs.push((meta.size, (meta, dest)));
    }
    each_bounded(jobs.into_iter(), |(meta, dest)| {
        download_file(store, meta, uri, dest)
    })
    .await
}

/// Downloads one object to `dest` through a temporary file next to it; returns its size.
async fn download_file(
    store: &Store,
    meta: ObjectMeta,
    uri: &str,
    dest: PathBuf,
) -> Result<u64, StoreError> {
    let local_err = |p: &Path, e: std::io::Error| StoreError::local(Op::Download, uri, p, e);
    if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| local_err(parent, e))?;
    }
    let tmp = temp_name(&dest);
    let file = Arc::new(std::fs::File::create(&tmp).map_err(|e| local_err(&tmp, e))?);
    let written = fill(store, &meta, uri, &file, &tmp).await;
    drop(file);
    let renamed = written.and_then(|n| {
        std::fs::rename(&tmp, &dest)
            .map(|()| n)
            .map_err(|e| local_err(&dest, e))
    });
    if renamed.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    renamed
}

/// Streams the object of `meta` into `file` with one GET, writing it in batches of
/// [`WRITE_BATCH`] bytes as they arrive (so memory stays at one batch per file).
///
/// One GET per object rather than ranged GETs in parallel: S3-compatible servers such as moto
/// read the whole object for every range (a 1 GiB object in 8 MiB ranges took 75 s against 1.3 s
/// for one GET), and parallelism comes from moving several files at once.
async fn fill(
    store: &Store,
    meta: &ObjectMeta,
    uri: &str,
    file: &Arc<std::fs::File>,
    tmp: &Path,
) -> Result<u64, StoreError> {
    let fail = |e: object_store::Error| store.fail(Op::Download, uri, &e);
    let options = GetOptions {
        if_match: meta.e_tag.clone(),
        ..GetOptions::default()
    };
    let mut stream = store
        .inner
        .get_opts(&meta.location, options)
        .await
        .map_err(fail)?
        .into_stream();
    let mut written = 0u64;
    let mut batch = Vec::with_capacity(WRITE_BATCH);
    loop {
        let next = stream.try_next().await.map_err(fail)?;
        let done = next.is_none();
        if let Some(chunk) = next {
            batch.extend_from_slice(&chunk);
        }
        if batch.len() >= WRITE_BATCH || (done && !batch.is_empty()) {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(WRITE_BATCH));
            let len = full.len() as u64;
            let (f, path) = (Arc::clone(file), tmp.to_path_buf());
            blocking(Op::Download, uri, move || {
                f.write_all_at(&full, written).map_err(|e| (path, e))
            })
            .await?
            .map_err(|(p, e)| StoreError::local(Op::Download, uri, &p, e))?;
            written += len;
        }
        if done {
            break;
        }
    }
    if written != meta.size {
        let what = "the object changed while it was downloaded; try again";
        return Err(StoreError::new(
            Op::Download,
            uri,
            Reason::Answer(what.into()),
        ));
    }
    Ok(written)
}

/// A temporary name next to `dest`, unique in this process: `.NAME.mlk-PID-N`.
fn temp_name(dest: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dest.with_file_name(format!(".{name}.mlk-{}-{n}", std::process::id()))
}

/// Runs blocking file work off the async workers.
async fn blocking<T: Send + 'static>(
    op: Op,
    uri: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::new(op, uri, Reason::Answer(format!("a file task failed: {e}"))))
}
