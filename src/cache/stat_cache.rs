//! The stat cache: file digests remembered by (absolute path, size, mtime, ctime, inode), so an
//! unchanged input tree is re-keyed from `stat` calls alone, without reading file contents.
//!
//! It lives in one compact binary file, `.mlk/stat-cache` in the current directory, loaded
//! once per command and written back atomically (a temporary file renamed over the old one)
//! only when it changed. A missing, truncated or foreign file is treated as empty: the cache
//! only ever saves work, it never decides a digest.
//!
//! Racy entries: a file modified twice within one timestamp tick would look unchanged. As git
//! does for its index, entries whose mtime is less than [`RACY_SECONDS`] old when
//! hashed are not remembered; such files are simply read again next time.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Files changed this recently (in seconds) are hashed but not remembered.
pub const RACY_SECONDS: i64 = 2;

/// Most entries kept; beyond this the entries not used by the current command are dropped.
const MAX_ENTRIES: usize = 1 << 20;

const MAGIC: &[u8; 8] = b"MLKSTAT1";

/// What identifies one version of a file without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
    /// Status change time, nanoseconds since the Unix epoch (0 where unknown).
    pub ctime_ns: i64,
    /// Inode number (0 where unknown).
    pub inode: u64,
}

impl FileStamp {
    /// The stamp of a file's metadata.
    pub fn of(meta: &fs::Metadata) -> FileStamp {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            FileStamp {
                size: meta.len(),
                mtime_ns: meta.mtime().saturating_mul(1_000_000_000) + meta.mtime_nsec(),
                ctime_ns: meta.ctime().saturating_mul(1_000_000_000) + meta.ctime_nsec(),
                inode: meta.ino(),
            }
        }
        #[cfg(not(unix))]
        {
            let mtime_ns = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
            FileStamp {
                size: meta.len(),
                mtime_ns,
                ctime_ns: 0,
                inode: 0,
            }
        }
    }

    /// Whether the file changed too recently for its stamp to be trusted later.
    fn is_racy(&self, now_ns: i64) -> bool {
        // mtime alone: a write sets mtime and ctime together, and ctime cannot be set back.
        self.mtime_ns >= now_ns - RACY_SECONDS * 1_000_000_000
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    stamp: FileStamp,
    digest: [u8; 32],
    used: bool,
}

/// File digests by path and stamp; shared by the hashing threads.
#[derive(Debug)]
pub struct StatCache {
    file: Option<PathBuf>,
    // Keyed by the path's bytes: hashing a `Path` walks its components, which showed in
    // profiles of re-keying 10,000 unchanged files.
    entries: Mutex<HashMap<OsString, Entry>>,
    dirty: Mutex<bool>,
    now_ns: i64,
}

impl StatCache {
    /// A cache that remembers nothing between commands.
    pub fn in_memory() -> StatCache {
        StatCache {
            file: None,
            entries: Mutex::new(HashMap::new()),
            dirty: Mutex::new(false),
            now_ns: now_ns(),
        }
    }

    /// The cache kept in `file` (normally `.mlk/stat-cache`); an unreadable file is empty.
    pub fn load(file: impl Into<PathBuf>) -> StatCache {
        let file = file.into();
        let entries = fs::read(&file)
            .ok()
            .and_then(|bytes| decode(&bytes))
            .unwrap_or_default();
        StatCache {
            file: Some(file),
            entries: Mutex::new(entries),
            dirty: Mutex::new(false),
            now_ns: now_ns(),
        }
    }

    /// The remembered digest of `path` if its stamp is unchanged.
    pub fn get(&self, path: &Path, stamp: &FileStamp) -> Option<[u8; 32]> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let e = entries.get_mut(path.as_os_str())?;
        if e.stamp != *stamp {
            return None;
        }
        e.used = true;
        Some(e.digest)
    }

    /// Remembers a digest (unless the file changed too recently to be trusted).
    pub fn insert(&self, path: &Path, stamp: FileStamp, digest: [u8; 32]) {
        if stamp.is_racy(self.now_ns) {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.insert(
            path.as_os_str().to_owned(),
            Entry {
                stamp,
                digest,
                used: true,
            },
        );
        *self.dirty.lock().unwrap_or_else(|p| p.into_inner()) = true;
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.lock().map_or(0, |e| e.len())
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes the cache back atomically if anything was added. Failing to write only costs
    /// time on the next command, so the caller may ignore the error.
    pub fn save(&self) -> std::io::Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        if !*self.dirty.lock().unwrap_or_else(|p| p.into_inner()) {
            return Ok(());
        }
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let keep_unused = entries.len() <= MAX_ENTRIES;
        let dir = match file.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&dir)?;
        let mut out = Vec::with_capacity(entries.len() * 100 + MAGIC.len());
        out.extend_from_slice(MAGIC);
        for (path, e) in entries.iter().filter(|(_, e)| e.used || keep_unused) {
            let p = path.to_string_lossy();
            let Ok(len) = u32::try_from(p.len()) else {
                continue;
            };
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(p.as_bytes());
            out.extend_from_slice(&e.stamp.size.to_le_bytes());
            out.extend_from_slice(&e.stamp.mtime_ns.to_le_bytes());
            out.extend_from_slice(&e.stamp.ctime_ns.to_le_bytes());
            out.extend_from_slice(&e.stamp.inode.to_le_bytes());
            out.extend_from_slice(&e.digest);
        }
        let mut tmp = tempfile::Builder::new()
            .prefix(".stat-cache-")
            .tempfile_in(&dir)?;
        tmp.write_all(&out)?;
        tmp.persist(file).map_err(|e| e.error)?;
        Ok(())
    }
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Parses the file; `None` when it is not a complete stat cache of this format.
fn decode(bytes: &[u8]) -> Option<HashMap<OsString, Entry>> {
    let mut rest = bytes.strip_prefix(MAGIC.as_slice())?;
    // About 100 bytes per entry: allocate once instead of rehashing as the map grows.
    let mut map = HashMap::with_capacity(rest.len() / 100);
    fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        if rest.len() < n {
            return None;
        }
        let (head, tail) = rest.split_at(n);
        *rest = tail;
        Some(head)
    }
    fn u64_of(rest: &mut &[u8]) -> Option<u64> {
        Some(u64::from_le_bytes(take(rest, 8)?.try_into().ok()?))
    }
    while !rest.is_empty() {
        let len = u32::from_le_bytes(take(&mut rest, 4)?.try_into().ok()?);
        let path = std::str::from_utf8(take(&mut rest, usize::try_from(len).ok()?)?).ok()?;
        let size = u64_of(&mut rest)?;
        let mtime_ns = u64_of(&mut rest)? as i64;
        let ctime_ns = u64_of(&mut rest)? as i64;
        let inode = u64_of(&mut rest)?;
        let digest: [u8; 32] = take(&mut rest, 32)?.try_into().ok()?;
        map.insert(
            OsString::from(path),
            Entry {
                stamp: FileStamp {
                    size,
                    mtime_ns,
                    ctime_ns,
                    inode,
                },
                digest,
                used: false,
            },
        );
    }
    Some(map)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn stamp(size: u64) -> FileStamp {
        FileStamp {
            size,
            mtime_ns: 1_000_000_000,
            ctime_ns: 1_000_000_000,
            inode: 7,
        }
    }

    #[test]
    fn round_trips_through_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".mlk/stat-cache");
        let c = StatCache::load(&file);
        assert!(c.is_empty());
        c.insert(Path::new("/a/b"), stamp(3), [1; 32]);
        c.save().unwrap();
        let c = StatCache::load(&file);
        assert_eq!(c.get(Path::new("/a/b"), &stamp(3)), Some([1; 32]));
        assert_eq!(c.get(Path::new("/a/b"), &stamp(4)), None, "size changed");
        assert_eq!(c.get(Path::new("/a/c"), &stamp(3)), None);
    }

    #[test]
    fn racy_entries_are_not_remembered() {
        let c = StatCache::in_memory();
        let fresh = FileStamp {
            mtime_ns: c.now_ns,
            ..stamp(1)
        };
        c.insert(Path::new("/x"), fresh, [2; 32]);
        assert_eq!(c.get(Path::new("/x"), &fresh), None);
    }

    #[test]
    fn a_corrupt_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("stat-cache");
        fs::write(&file, b"MLKSTAT1\x05\x00\x00\x00ab").unwrap();
        assert!(StatCache::load(&file).is_empty());
        fs::write(&file, b"garbage").unwrap();
        assert!(StatCache::load(&file).is_empty());
    }
}
