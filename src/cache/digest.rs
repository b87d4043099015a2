//! Content digests of local inputs (files and directory trees).
//!
//! A file's digest covers its bytes; a tree's covers, for every file in path order, its path
//! relative to the root, its executable bit and its content digest. Symbolic links are
//! followed only when they point inside the tree.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::key::hex;

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
            DigestError::Io(p, e) => write!(f, "cannot read {}: {e}", p.display()),
        }
    }
}

/// The digest of a file or directory tree, as `sha256:<hex>`.
pub fn digest_path(path: &Path) -> Result<String, DigestError> {
    let meta = fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => DigestError::NotFound(path.to_path_buf()),
        _ => DigestError::Io(path.to_path_buf(), e.to_string()),
    })?;
    if meta.is_file() {
        return Ok(format!("sha256:{}", hex_file(path)?));
    }
    let root =
        fs::canonicalize(path).map_err(|e| DigestError::Io(path.to_path_buf(), e.to_string()))?;
    let mut files = Vec::new();
    walk(&root, &root, &mut files)?;
    files.sort();
    let mut tree = Sha256::new();
    for (rel, abs) in files {
        let exec = is_executable(&abs);
        tree.update(rel.as_bytes());
        tree.update([0, u8::from(exec), 0]);
        tree.update(hex_file(&abs)?.as_bytes());
        tree.update(b"\n");
    }
    Ok(format!("sha256:{}", hex(&tree.finalize())))
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<(), DigestError> {
    let entries =
        fs::read_dir(dir).map_err(|e| DigestError::Io(dir.to_path_buf(), e.to_string()))?;
    for entry in entries {
        let entry = entry.map_err(|e| DigestError::Io(dir.to_path_buf(), e.to_string()))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|e| DigestError::Io(path.clone(), e.to_string()))?;
        let target = if kind.is_symlink() {
            let t = fs::canonicalize(&path)
                .map_err(|e| DigestError::Io(path.clone(), e.to_string()))?;
            if !t.starts_with(root) {
                return Err(DigestError::EscapingLink {
                    link: path,
                    target: t,
                });
            }
            t
        } else {
            path.clone()
        };
        let rel = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        if target.is_dir() {
            if !kind.is_symlink() {
                walk(root, &path, out)?;
            }
        } else {
            out.push((rel, target));
        }
    }
    Ok(())
}

fn hex_file(path: &Path) -> Result<String, DigestError> {
    let io = |e: std::io::Error| DigestError::Io(path.to_path_buf(), e.to_string());
    let mut f = fs::File::open(path).map_err(io)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p)
        .map(|m| m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn is_executable(_: &Path) -> bool {
    false
}
