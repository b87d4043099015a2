//! Run-private outputs of a local step and their publication: the step's command writes
//! into `<step dir>/.staging/<run>/<key>/`, and only a step that succeeded has its outputs
//! renamed into `<step dir>/<key>/`, one atomic rename per output (an exchange for a
//! directory that is already there), so no step ever reads a half-written output.

use std::fs;
use std::path::{Path, PathBuf};

use crate::resolve::Step;

/// The outputs of one attempt of a step: where they are written, and where they go.
pub(crate) struct Staging {
    /// Published path → run-private path, for each local output.
    outputs: Vec<(PathBuf, PathBuf)>,
    /// The published key directory (with a trailing `/`) → the run-private one, as the
    /// command's strings spell them.
    prefix: Option<(String, String)>,
    /// The run-private key directory, removed when the attempt is over.
    private: Option<PathBuf>,
}

impl Staging {
    /// Prepares fresh run-private places for the local (absolute) outputs of `step` in run
    /// `run_id`, and the directories their published paths go into.
    pub(crate) fn new(step: &Step, run_id: &str) -> Result<Self, String> {
        let mut staging = Staging {
            outputs: Vec::new(),
            prefix: None,
            private: None,
        };
        for uri in step.outputs.values().filter(|u| u.starts_with('/')) {
            let published = PathBuf::from(uri);
            let (Some(key_dir), Some(name)) = (published.parent(), published.file_name()) else {
                continue;
            };
            let (Some(step_dir), Some(key)) = (key_dir.parent(), key_dir.file_name()) else {
                continue;
            };
            let private = step_dir.join(".staging").join(run_id).join(key);
            if staging.private.is_none() {
                // Whatever an earlier attempt of this run left is not this attempt's output.
                remove_all(&private).map_err(|e| cannot("clear", &private, &e))?;
                for dir in [&private, &key_dir.to_path_buf()] {
                    fs::create_dir_all(dir).map_err(|e| cannot("create", dir, &e))?;
                }
                staging.prefix = Some((
                    format!("{}/", key_dir.display()),
                    format!("{}/", private.display()),
                ));
                staging.private = Some(private.clone());
            }
            staging
                .outputs
                .push((published.clone(), private.join(name)));
        }
        Ok(staging)
    }

    /// `text` with every published output path replaced by its run-private path.
    pub(crate) fn rewrite(&self, text: &str) -> String {
        match &self.prefix {
            Some((published, private)) => {
                if text == published.trim_end_matches('/') {
                    private.trim_end_matches('/').to_owned()
                } else {
                    text.replace(published.as_str(), private)
                }
            }
            None => text.to_owned(),
        }
    }

    /// [`Staging::rewrite`] of each string.
    pub(crate) fn rewrite_all(&self, texts: &[String]) -> Vec<String> {
        texts.iter().map(|t| self.rewrite(t)).collect()
    }

    /// Renames every output the step wrote into its published path. An output the step
    /// did not write stays absent, as it would have without staging.
    pub(crate) fn publish(&self) -> Result<(), String> {
        for (published, private) in &self.outputs {
            let Ok(meta) = fs::symlink_metadata(private) else {
                continue;
            };
            let replaces_dir = fs::symlink_metadata(published).is_ok_and(|m| m.is_dir());
            if meta.is_dir() && published.exists() || replaces_dir {
                exchange(private, published).map_err(|e| cannot("publish", published, &e))?;
                // `private` now holds what was published before; no reader can reach it.
                remove_all(private).map_err(|e| cannot("remove", private, &e))?;
            } else {
                fs::rename(private, published).map_err(|e| cannot("publish", published, &e))?;
            }
        }
        Ok(())
    }
}

impl Drop for Staging {
    /// Whatever was not published (a failed or stopped attempt) goes.
    fn drop(&mut self) {
        let Some(private) = &self.private else {
            return;
        };
        let _ = remove_all(private);
        // The run's and the step's staging directories, once nothing else is in them.
        let run_dir = private.parent();
        for dir in [run_dir, run_dir.and_then(Path::parent)]
            .into_iter()
            .flatten()
        {
            let _ = fs::remove_dir(dir);
        }
    }
}

/// Swaps two paths in one step, so the second is never missing.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
    renameat2(AT_FDCWD, a, AT_FDCWD, b, RenameFlags::RENAME_EXCHANGE).map_err(Into::into)
}

/// Swaps two paths; without an atomic exchange, `b` is missing between the two renames.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    let old = a.with_extension("old");
    fs::rename(b, &old)?;
    fs::rename(a, b)?;
    fs::rename(&old, a)
}

/// Removes a file or a directory tree; one that is not there is fine.
fn remove_all(path: &Path) -> std::io::Result<()> {
    let result = match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) => Err(e),
    };
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn cannot(what: &str, path: &Path, e: &std::io::Error) -> String {
    format!("cannot {what} {}: {e}", path.display())
}
