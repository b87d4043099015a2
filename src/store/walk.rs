//! What an upload reads from the local side: a regular file, or every regular file of a
//! directory tree with its relative path. Symbolic links are followed (the object holds what the
//! link points to), a link cycle or a dangling link is an error, and anything that is neither a
//! regular file nor a directory (a FIFO, a socket, a device) is refused before it is opened, so
//! an upload never blocks on a pipe nobody writes.

use std::fs::Metadata;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

/// One regular file to upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Source {
    /// Its local path.
    pub path: PathBuf,
    /// Its path relative to the uploaded directory, `/`-separated (empty for a single file).
    pub rel: String,
    /// Its size when it was listed.
    pub size: u64,
}

/// What is at an upload's local path.
#[derive(Debug)]
pub(super) enum Tree {
    /// A regular file.
    File(Source),
    /// A directory: its regular files, in path order (empty: no file anywhere below it).
    Dir(Vec<Source>),
}

/// Why a local path cannot be uploaded.
#[derive(Debug)]
pub(super) struct WalkError {
    /// The path at fault.
    pub path: PathBuf,
    /// What is wrong with it.
    pub what: String,
}

/// Lists what uploading `local` reads.
pub(super) fn walk(local: &Path) -> Result<Tree, WalkError> {
    let meta = metadata(local)?;
    if meta.is_file() {
        return Ok(Tree::File(Source {
            path: local.to_path_buf(),
            rel: String::new(),
            size: meta.len(),
        }));
    }
    if !meta.is_dir() {
        return Err(special(local, &meta));
    }
    let mut out = Vec::new();
    let mut ancestors = Vec::new();
    walk_dir(local, "", &mut ancestors, &mut out)?;
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(Tree::Dir(out))
}

fn walk_dir(
    dir: &Path,
    rel: &str,
    ancestors: &mut Vec<PathBuf>,
    out: &mut Vec<Source>,
) -> Result<(), WalkError> {
    let canonical = std::fs::canonicalize(dir).map_err(|e| io(dir, &e))?;
    if ancestors.contains(&canonical) {
        return Err(WalkError {
            path: dir.to_path_buf(),
            what: "a symbolic link cycle (the link leads back to a directory above it)".into(),
        });
    }
    ancestors.push(canonical);
    let entries = std::fs::read_dir(dir).map_err(|e| io(dir, &e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io(dir, &e))?;
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            return Err(WalkError {
                path,
                what: "the file name is not valid UTF-8".into(),
            });
        };
        let child_rel = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let meta = metadata(&path)?;
        if meta.is_file() {
            out.push(Source {
                path,
                rel: child_rel,
                size: meta.len(),
            });
        } else if meta.is_dir() {
            walk_dir(&path, &child_rel, ancestors, out)?;
        } else {
            return Err(special(&path, &meta));
        }
    }
    ancestors.pop();
    Ok(())
}

/// The metadata of what `path` leads to (links followed); a dangling link says so.
fn metadata(path: &Path) -> Result<Metadata, WalkError> {
    std::fs::metadata(path).map_err(|e| {
        let dangling = e.kind() == std::io::ErrorKind::NotFound
            && std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
        if dangling {
            WalkError {
                path: path.to_path_buf(),
                what: "a symbolic link to nothing (dangling)".into(),
            }
        } else {
            io(path, &e)
        }
    })
}

fn special(path: &Path, meta: &Metadata) -> WalkError {
    let t = meta.file_type();
    let kind = if t.is_fifo() {
        "a named pipe (FIFO)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else {
        "not a regular file"
    };
    WalkError {
        path: path.to_path_buf(),
        what: format!("{kind}: only regular files and directories can be uploaded"),
    }
}

fn io(path: &Path, e: &std::io::Error) -> WalkError {
    WalkError {
        path: path.to_path_buf(),
        what: e.to_string(),
    }
}
