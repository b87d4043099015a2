//! Streaming transfers between local paths and objects.
//!
//! Memory stays bounded whatever the sizes: a file of at most [`PART`] bytes moves in one
//! request (up to [`FILES_IN_FLIGHT`] such files at once); a larger one moves alone, in parts of
//! [`PART`] bytes with [`PARTS_IN_FLIGHT`] parts in flight (multipart upload; ranged GETs written
//! in place on download). So one transfer holds at most about 64 MiB of file data.
//!
//! Object stores have no directories: an uploaded directory keeps its files and loses its empty
//! subdirectories (as `aws s3 sync` does). A directory with no file at all uploads one empty
//! marker object, [`EMPTY_DIR_MARKER`], so that it round-trips as an empty directory.

use std::future::Future;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectMeta, ObjectStoreExt, PutPayload, WriteMultipart};

use super::walk::{self, Source, Tree};
use super::{Op, Reason, Store, StoreError, Transfer};

/// The part size of multipart uploads and ranged downloads, and the largest file moved in one
/// request.
pub(super) const PART: usize = 8 << 20;
/// Parts of one large file in flight at once.
const PARTS_IN_FLIGHT: usize = 4;
/// Small files in flight at once.
const FILES_IN_FLIGHT: usize = 8;
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

/// Runs `f` on every job: small ones [`FILES_IN_FLIGHT`] at a time, then large ones one after
/// the other (each of those already has [`PARTS_IN_FLIGHT`] parts in flight). Stops at the
/// first error.
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
    let mut running = futures::stream::iter(small.into_iter().map(|(_, j)| f(j)))
        .buffer_unordered(FILES_IN_FLIGHT);
    while let Some(done) = running.next().await {
        count(done?);
    }
    drop(running);
    for (_, job) in large {
        count(f(job).await?);
    }
    Ok(total)
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
    let mut offset = 0u64;
    loop {
        let f = Arc::clone(&file);
        let chunk = blocking(Op::Upload, uri, move || read_at_most(&f, offset, PART))
            .await?
            .map_err(|e| StoreError::local(Op::Upload, uri, path, e))?;
        if chunk.is_empty() {
            return Ok(offset);
        }
        writer
            .wait_for_capacity(PARTS_IN_FLIGHT)
            .await
            .map_err(|e| store.fail(Op::Upload, uri, &e))?;
        offset += chunk.len() as u64;
        writer.put(Bytes::from(chunk));
    }
}

/// Up to `max` bytes of `file` from `offset` (fewer only at the end of the file).
fn read_at_most(file: &std::fs::File, offset: u64, max: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; max];
    let mut filled = 0;
    while filled < max {
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

/// Writes the object of `meta` into `file`: in one GET when small, else in ranged GETs of
/// [`PART`] bytes, [`PARTS_IN_FLIGHT`] at a time, each written at its offset.
async fn fill(
    store: &Store,
    meta: &ObjectMeta,
    uri: &str,
    file: &Arc<std::fs::File>,
    tmp: &Path,
) -> Result<u64, StoreError> {
    let size = meta.size;
    let ranges: Vec<std::ops::Range<u64>> = (0..size)
        .step_by(PART)
        .map(|start| start..size.min(start + PART as u64))
        .collect();
    let fetch = |range: std::ops::Range<u64>| async move {
        let options = GetOptions {
            range: (size > PART as u64).then(|| GetRange::Bounded(range.clone())),
            if_match: meta.e_tag.clone(),
            ..GetOptions::default()
        };
        let fail = |e: object_store::Error| store.fail(Op::Download, uri, &e);
        let got = store
            .inner
            .get_opts(&meta.location, options)
            .await
            .map_err(fail)?;
        let bytes = got.bytes().await.map_err(fail)?;
        if bytes.len() as u64 != range.end - range.start {
            let what = "the object changed while it was downloaded; try again";
            return Err(StoreError::new(
                Op::Download,
                uri,
                Reason::Answer(what.into()),
            ));
        }
        let f = Arc::clone(file);
        let path = tmp.to_path_buf();
        blocking(Op::Download, uri, move || {
            f.write_all_at(&bytes, range.start).map_err(|e| (path, e))
        })
        .await?
        .map_err(|(p, e)| StoreError::local(Op::Download, uri, &p, e))
    };
    futures::stream::iter(ranges.into_iter().map(fetch))
        .buffer_unordered(PARTS_IN_FLIGHT)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(size)
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
