//! Content digests of local inputs (files and directory trees).
//!
//! A file's digest covers its bytes; a tree's covers, for every file in path order, its path
//! relative to the root, its executable bit and its content digest. Symbolic links are
//! followed only when they point inside the tree. Anything that is not a regular file, a
//! directory or such a link (a FIFO, a device, a socket) is an error, found from its file type
//! before anything opens it: reading a FIFO or a terminal would wait forever.
//!
//! Files are read in fixed-size chunks (memory stays bounded whatever their size) and hashed
//! on every CPU at once. A [`StatCache`] remembers file digests by path and stat data, so an
//! unchanged tree costs one `stat` per file. Progress is reported through [`Progress`]; the
//! library never draws anything itself.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest, Sha256};

use super::key::hex;
use super::stat_cache::{FileStamp, StatCache};

/// Bytes read at a time by each hashing thread.
const CHUNK: usize = 1 << 20;

/// Files at least this large are read ahead on a spare CPU.
const READ_AHEAD_MIN: u64 = 8 << 20;

/// What one hashing thread did: (index into the files, digest).
type Done = Vec<(usize, [u8; 32])>;

/// Why an input could not be hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestError {
    /// The path does not exist.
    NotFound(PathBuf),
    /// A symbolic link points outside the input's tree.
    EscapingLink {
        /// The link.
        link: PathBuf,
        /// Where it points.
        target: PathBuf,
    },
    /// The path is neither a regular file nor a directory (a FIFO, a device, a socket).
    NotRegular {
        /// The path (a symbolic link's own path when it points to such a file).
        path: PathBuf,
        /// What it is, for the message (`a FIFO`).
        kind: &'static str,
    },
    /// Reading failed.
    Io(PathBuf, String),
}

impl std::fmt::Display for DigestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DigestError::NotFound(p) => write!(f, "{} does not exist", p.display()),
            DigestError::EscapingLink { link, target } => {
                write!(
                    f,
                    "symbolic link {} points outside the input ({})",
                    link.display(),
                    target.display()
                )
            }
            DigestError::NotRegular { path, kind } => write!(
                f,
                "{} is {kind}: an input holds only regular files and directories",
                path.display()
            ),
            DigestError::Io(p, e) => write!(f, "cannot read {}: {e}", p.display()),
        }
    }
}

/// Receives hashing progress; called from several threads at once.
pub trait Progress: Sync {
    /// Hashing of `files` files totalling `bytes` bytes begins (files known from the stat
    /// cache are not counted).
    fn start(&self, _files: usize, _bytes: u64) {}
    /// `bytes` more bytes were hashed.
    fn advance(&self, _bytes: u64) {}
    /// Hashing ended.
    fn finish(&self) {}
}

/// Ignores progress.
pub struct NoProgress;

impl Progress for NoProgress {}

/// The digest of a file or directory tree, as `sha256:<hex>`, without a persistent stat cache.
pub fn digest_path(path: &Path) -> Result<String, DigestError> {
    Digester::new(&StatCache::in_memory(), &NoProgress).digest(path)
}

/// Hashes inputs with a stat cache and a progress sink.
pub struct Digester<'a> {
    cache: &'a StatCache,
    progress: &'a dyn Progress,
    threads: usize,
}

/// One regular file of an input.
struct FileEntry {
    /// Path relative to the tree root, `/`-separated (empty for a single-file input).
    rel: String,
    /// The file read (a symbolic link's target).
    abs: PathBuf,
    stamp: FileStamp,
    executable: bool,
}

impl<'a> Digester<'a> {
    /// A digester using every CPU.
    pub fn new(cache: &'a StatCache, progress: &'a dyn Progress) -> Self {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Digester {
            cache,
            progress,
            threads,
        }
    }

    /// The same, with an explicit number of hashing threads (at least 1).
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// The digest of a file or directory tree, as `sha256:<hex>`.
    pub fn digest(&self, path: &Path) -> Result<String, DigestError> {
        let meta = fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => DigestError::NotFound(path.to_path_buf()),
            _ => DigestError::Io(path.to_path_buf(), e.to_string()),
        })?;
        irregular(path, &meta.file_type())?;
        let root = fs::canonicalize(path)
            .map_err(|e| DigestError::Io(path.to_path_buf(), e.to_string()))?;
        if meta.is_file() {
            let file = FileEntry {
                rel: String::new(),
                abs: root,
                stamp: FileStamp::of(&meta),
                executable: is_executable(&meta),
            };
            let digests = self.hash_all(std::slice::from_ref(&file))?;
            return Ok(format!("sha256:{}", hex(&digests[0])));
        }
        let mut files = walk(&root)?;
        files.sort_by(|a, b| a.rel.cmp(&b.rel));
        let digests = self.hash_all(&files)?;
        let mut tree = Sha256::new();
        for (f, d) in files.iter().zip(&digests) {
            tree.update(f.rel.as_bytes());
            tree.update([0, u8::from(f.executable), 0]);
            tree.update(hex(d).as_bytes());
            tree.update(b"\n");
        }
        Ok(format!("sha256:{}", hex(&tree.finalize())))
    }

    /// Content digests of `files`, in order: from the stat cache where the stamp matches,
    /// else read on up to `threads` threads, largest files first.
    fn hash_all(&self, files: &[FileEntry]) -> Result<Vec<[u8; 32]>, DigestError> {
        let mut out: Vec<Option<[u8; 32]>> = files
            .iter()
            .map(|f| self.cache.get(&f.abs, &f.stamp))
            .collect();
        let mut todo: Vec<usize> = (0..files.len()).filter(|&i| out[i].is_none()).collect();
        if todo.is_empty() {
            return Ok(out.into_iter().flatten().collect());
        }
        todo.sort_by_key(|&i| std::cmp::Reverse(files[i].stamp.size));
        let bytes = todo.iter().map(|&i| files[i].stamp.size).sum();
        self.progress.start(todo.len(), bytes);
        let next = AtomicUsize::new(0);
        let threads = self.threads.min(todo.len());
        // With fewer files than CPUs (one big file, typically), a spare CPU reads ahead while
        // this one hashes.
        let read_ahead = todo.len() < self.threads;
        let worker = || -> Result<Done, DigestError> {
            let mut buf = vec![0u8; CHUNK];
            let mut done = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let Some(&i) = todo.get(n) else {
                    return Ok(done);
                };
                let f = &files[i];
                let d = if read_ahead && f.stamp.size >= READ_AHEAD_MIN {
                    hash_file_read_ahead(&f.abs, self.progress)?
                } else {
                    hash_file(&f.abs, &mut buf, self.progress)?
                };
                self.cache.insert(&f.abs, f.stamp, d);
                done.push((i, d));
            }
        };
        let results: Vec<Result<Done, DigestError>> = if threads < 2 {
            vec![worker()]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = (1..threads).map(|_| scope.spawn(worker)).collect();
                let mut results = vec![worker()];
                for h in handles {
                    results.push(
                        h.join()
                            .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                    );
                }
                results
            })
        };
        self.progress.finish();
        let mut first_error: Option<(usize, DigestError)> = None;
        for r in results {
            match r {
                Ok(done) => {
                    for (i, d) in done {
                        out[i] = Some(d);
                    }
                }
                Err(e) => {
                    // Report the same error whatever the thread timing: the first in path order.
                    let pos = files.iter().position(|f| match &e {
                        DigestError::Io(p, _) | DigestError::NotFound(p) => &f.abs == p,
                        DigestError::EscapingLink { .. } | DigestError::NotRegular { .. } => false,
                    });
                    let pos = pos.unwrap_or(usize::MAX);
                    if first_error.as_ref().is_none_or(|(p, _)| pos < *p) {
                        first_error = Some((pos, e));
                    }
                }
            }
        }
        if let Some((_, e)) = first_error {
            return Err(e);
        }
        Ok(out.into_iter().flatten().collect())
    }
}

/// Every file of the tree under `root`, with its stat data. Directories are listed on this
/// thread; the files found are then stat'ed on every CPU (one `stat` per file is all an
/// unchanged tree costs, so it is worth spreading).
fn walk(root: &Path) -> Result<Vec<FileEntry>, DigestError> {
    let mut files = Vec::new();
    let mut pending = Vec::new();
    list(root, root, &mut files, &mut pending)?;
    // `DirEntry::metadata` stats relative to the open directory (`fstatat`), which saves the
    // kernel a walk of the whole path per file. For these (non-link) entries it equals `stat`.
    let stat = |chunk: &[(String, fs::DirEntry)]| -> Result<Vec<FileEntry>, DigestError> {
        chunk
            .iter()
            .map(|(rel, entry)| {
                let path = entry.path();
                let meta = entry
                    .metadata()
                    .map_err(|e| DigestError::Io(path.clone(), e.to_string()))?;
                Ok(FileEntry {
                    rel: rel.clone(),
                    abs: path,
                    stamp: FileStamp::of(&meta),
                    executable: is_executable(&meta),
                })
            })
            .collect()
    };
    for chunk in crate::threads::map_chunks(&pending, 512, stat) {
        files.extend(chunk?);
    }
    Ok(files)
}

/// Lists `dir` recursively: symbolic links are resolved (and checked) here, other files go to
/// `pending` to be stat'ed later.
fn list(
    root: &Path,
    dir: &Path,
    files: &mut Vec<FileEntry>,
    pending: &mut Vec<(String, fs::DirEntry)>,
) -> Result<(), DigestError> {
    let entries =
        fs::read_dir(dir).map_err(|e| DigestError::Io(dir.to_path_buf(), e.to_string()))?;
    for entry in entries {
        let entry = entry.map_err(|e| DigestError::Io(dir.to_path_buf(), e.to_string()))?;
        let path = entry.path();
        let io = |e: std::io::Error| DigestError::Io(path.clone(), e.to_string());
        let kind = entry.file_type().map_err(io)?;
        if kind.is_dir() {
            list(root, &path, files, pending)?;
            continue;
        }
        let rel = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        if !kind.is_symlink() {
            irregular(&path, &kind)?;
            pending.push((rel, entry));
            continue;
        }
        let target = fs::canonicalize(&path).map_err(io)?;
        if !target.starts_with(root) {
            return Err(DigestError::EscapingLink { link: path, target });
        }
        let meta = fs::metadata(&target).map_err(io)?;
        irregular(&path, &meta.file_type())?;
        // A link to a directory inside the tree: its files are hashed under their own path.
        if !meta.is_dir() {
            files.push(FileEntry {
                rel,
                abs: target,
                stamp: FileStamp::of(&meta),
                executable: is_executable(&meta),
            });
        }
    }
    Ok(())
}

/// An error unless `kind` (the file type of `path`) is a regular file or a directory.
fn irregular(path: &Path, kind: &fs::FileType) -> Result<(), DigestError> {
    if kind.is_file() || kind.is_dir() {
        return Ok(());
    }
    Err(DigestError::NotRegular {
        path: path.to_path_buf(),
        kind: crate::load::kind_of(kind),
    })
}

/// Opens `path` to hash it. The file was a regular file when listed; should it have been
/// replaced by a FIFO since, the open must not wait for a writer (O_NONBLOCK, which changes
/// nothing for a regular file), and the check is made again on what was opened.
fn open_regular(path: &Path) -> Result<fs::File, DigestError> {
    let io = |e: std::io::Error| DigestError::Io(path.to_path_buf(), e.to_string());
    let mut options = fs::File::options();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(nix::libc::O_NONBLOCK);
    }
    let f = options.open(path).map_err(io)?;
    let kind = f.metadata().map_err(io)?.file_type();
    if !kind.is_file() {
        irregular(path, &kind)?;
    }
    Ok(f)
}

/// SHA-256 of a file's bytes, read in `buf`-sized chunks.
fn hash_file(
    path: &Path,
    buf: &mut [u8],
    progress: &dyn Progress,
) -> Result<[u8; 32], DigestError> {
    let io = |e: std::io::Error| DigestError::Io(path.to_path_buf(), e.to_string());
    let mut f = open_regular(path)?;
    let mut h = Sha256::new();
    loop {
        let n = match f.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io(e)),
        };
        h.update(&buf[..n]);
        progress.advance(n as u64);
    }
    Ok(h.finalize().into())
}

/// SHA-256 of a file's bytes, read by a second thread into a few `CHUNK`-sized buffers while
/// this one hashes (memory stays at 3 chunks).
fn hash_file_read_ahead(path: &Path, progress: &dyn Progress) -> Result<[u8; 32], DigestError> {
    let io = |e: std::io::Error| DigestError::Io(path.to_path_buf(), e.to_string());
    let mut f = open_regular(path)?;
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<(Vec<u8>, usize)>(2);
    let (empty_tx, empty_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(3);
    for _ in 0..3 {
        let _ = empty_tx.send(vec![0u8; CHUNK]);
    }
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || -> std::io::Result<()> {
            while let Ok(mut buf) = empty_rx.recv() {
                let n = fill(&mut f, &mut buf)?;
                if n == 0 || full_tx.send((buf, n)).is_err() {
                    break;
                }
            }
            Ok(())
        });
        let mut h = Sha256::new();
        // Ends when the reader stops (end of file or an error) and drops its sender.
        for (buf, n) in full_rx {
            h.update(&buf[..n]);
            progress.advance(n as u64);
            let _ = empty_tx.send(buf);
        }
        reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            .map_err(io)?;
        Ok(h.finalize().into())
    })
}

/// Reads until `buf` is full or the file ends; returns the bytes read.
fn fill(f: &mut fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(unix)]
fn is_executable(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &fs::Metadata) -> bool {
    false
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::atomic::AtomicU64;
    use std::time::{Duration, SystemTime};

    use super::*;

    /// Counts what was read.
    #[derive(Default)]
    struct Count {
        files: AtomicUsize,
        bytes: AtomicU64,
    }

    impl Progress for Count {
        fn start(&self, files: usize, _: u64) {
            self.files.fetch_add(files, Ordering::Relaxed);
        }
        fn advance(&self, bytes: u64) {
            self.bytes.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    /// Writes a file dated an hour ago, so the stat cache trusts it.
    fn write_old(path: &Path, content: &[u8]) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
        let f = fs::File::options().write(true).open(path).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(3600))
            .unwrap();
    }

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        write_old(&dir.path().join("a.txt"), b"alpha");
        write_old(&dir.path().join("sub/b.bin"), &vec![7u8; 3 * CHUNK + 5]);
        dir
    }

    #[test]
    fn tree_digest_format_is_stable() {
        // sha256 over "a.txt\0\0\0<sha256(alpha)>\n"; changing it invalidates every key.
        let dir = tempfile::tempdir().unwrap();
        write_old(&dir.path().join("a.txt"), b"alpha");
        assert_eq!(
            digest_path(dir.path()).unwrap(),
            "sha256:0e884ccdd555226997548f1a45d758f5c73c0523310ea826a1d47da88ef2259f"
        );
        assert_eq!(
            digest_path(&dir.path().join("a.txt")).unwrap(),
            "sha256:8ed3f6ad685b959ead7022518e1af76cd816f8e8ec7ccdda1ed4018e8f2223f8"
        );
    }

    #[test]
    fn content_paths_and_executable_bit_change_the_digest() {
        let dir = tree();
        let base = digest_path(dir.path()).unwrap();
        assert_eq!(digest_path(dir.path()).unwrap(), base, "deterministic");
        let threads1 = Digester::new(&StatCache::in_memory(), &NoProgress)
            .with_threads(1)
            .digest(dir.path())
            .unwrap();
        assert_eq!(threads1, base, "same digest on one thread");

        write_old(&dir.path().join("a.txt"), b"alphb");
        let changed = digest_path(dir.path()).unwrap();
        assert_ne!(changed, base);

        fs::rename(dir.path().join("a.txt"), dir.path().join("c.txt")).unwrap();
        assert_ne!(digest_path(dir.path()).unwrap(), changed);

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let before = digest_path(dir.path()).unwrap();
            let p = dir.path().join("c.txt");
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
            assert_ne!(digest_path(dir.path()).unwrap(), before);
        }
    }

    #[test]
    fn unchanged_files_come_from_the_stat_cache() {
        let dir = tree();
        let state = tempfile::tempdir().unwrap();
        let cache_file = state.path().join(".mlk/stat-cache");
        let input = dir.path();
        let count = Count::default();
        let cache = StatCache::load(&cache_file);
        let first = Digester::new(&cache, &count).digest(input).unwrap();
        assert_eq!(count.files.load(Ordering::Relaxed), 2);
        assert_eq!(
            count.bytes.load(Ordering::Relaxed),
            5 + 3 * CHUNK as u64 + 5
        );
        cache.save().unwrap();

        // A new command: everything is known, nothing is read.
        let count = Count::default();
        let cache = StatCache::load(&cache_file);
        let second = Digester::new(&cache, &count).digest(input).unwrap();
        assert_eq!(second, first);
        assert_eq!(count.files.load(Ordering::Relaxed), 0);
        assert_eq!(count.bytes.load(Ordering::Relaxed), 0);

        // One file edited: only it is read again.
        write_old(&input.join("a.txt"), b"ALPHA");
        let count = Count::default();
        let third = Digester::new(&cache, &count).digest(input).unwrap();
        assert_ne!(third, first);
        assert_eq!(count.files.load(Ordering::Relaxed), 1);
        assert_eq!(third, digest_path(input).unwrap());
    }

    #[cfg(unix)]
    #[test]
    fn links_inside_are_followed_and_escaping_links_are_errors() {
        let dir = tree();
        let before = digest_path(dir.path()).unwrap();
        std::os::unix::fs::symlink(dir.path().join("a.txt"), dir.path().join("link.txt")).unwrap();
        let with_link = digest_path(dir.path()).unwrap();
        assert_ne!(with_link, before, "the link is a file of the tree");

        let outside = tempfile::tempdir().unwrap();
        write_old(&outside.path().join("secret"), b"x");
        std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("out")).unwrap();
        let err = digest_path(dir.path()).unwrap_err();
        assert!(matches!(err, DigestError::EscapingLink { .. }), "{err:?}");
        assert!(err.to_string().contains("points outside the input"));
    }

    #[test]
    fn read_ahead_gives_the_same_digest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.bin");
        let content: Vec<u8> = (0..READ_AHEAD_MIN as usize + 12_345)
            .map(|i| (i % 251) as u8)
            .collect();
        write_old(&path, &content);
        let count = Count::default();
        let ahead = hash_file_read_ahead(&path, &count).unwrap();
        let mut buf = vec![0u8; CHUNK];
        assert_eq!(ahead, hash_file(&path, &mut buf, &NoProgress).unwrap());
        assert_eq!(count.bytes.load(Ordering::Relaxed), content.len() as u64);
        let expected: [u8; 32] = Sha256::digest(&content).into();
        assert_eq!(ahead, expected);
    }

    #[test]
    fn a_missing_path_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        assert_eq!(
            digest_path(&missing).unwrap_err(),
            DigestError::NotFound(missing)
        );
    }
}
