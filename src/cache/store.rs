//! Cache records: what a successful step produced, kept so that the same work is not run twice.
//!
//! A [`Store`] holds one [`Record`] per (pipeline, step, key). The `local` store keeps them as
//! JSON files under `.mlk/cache/<pipeline>/<step>/<key>.json`, each written atomically; the
//! Kubernetes ConfigMap store plugs in behind the same trait with the cluster backend. Only
//! this module writes the cache.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::key::KeyComponents;

/// Bump when the record layout changes; records of other versions are ignored (misses).
pub const RECORD_FORMAT: u32 = 1;

/// A successful step's result.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Record {
    /// [`RECORD_FORMAT`].
    pub format: u32,
    /// Pipeline name.
    pub pipeline: String,
    /// Step name.
    pub step: String,
    /// Full hex cache key.
    pub key: String,
    /// Every component of the key, so a later miss can say what changed.
    pub components: KeyComponents,
    /// Output name → URI.
    pub outputs: BTreeMap<String, String>,
    /// When the step finished, in seconds since the Unix epoch.
    pub created_unix: u64,
    /// The run that produced it.
    pub run_id: String,
}

impl Record {
    /// The record in `json`, when it is one of this mlk's format; another format, or
    /// something unreadable, is none (a miss). Every store reads its records through this.
    pub fn parse(json: &[u8]) -> Option<Record> {
        serde_json::from_slice::<Record>(json)
            .ok()
            .filter(|r| r.format == RECORD_FORMAT)
    }

    /// The record inside a step's output manifest (`store = "artifacts"`), if it has one.
    pub fn in_manifest(json: &[u8]) -> Option<Record> {
        #[derive(Deserialize)]
        struct Manifest {
            #[serde(default)]
            record: Option<serde_json::Value>,
        }
        let record = serde_json::from_slice::<Manifest>(json).ok()?.record?;
        serde_json::from_value::<Record>(record)
            .ok()
            .filter(|r| r.format == RECORD_FORMAT)
    }
}

/// A cache store failure (I/O or a corrupt record).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("cache store: {message} ({path})")]
#[diagnostic(
    code(mlk::cache::store),
    help(
        "check that the records can be read: the permissions of .mlk/cache (`mlk cache clear` removes its records), or the artifact store's address and credentials"
    )
)]
pub struct StoreError {
    /// The file or object involved.
    pub path: String,
    /// What went wrong.
    pub message: String,
}

/// Where cache records are kept.
pub trait Store: Send + Sync {
    /// The record of exactly this key, if any (regardless of age).
    fn get(&self, pipeline: &str, step: &str, key: &str) -> Result<Option<Record>, StoreError>;
    /// All records of a step, newest first.
    fn history(&self, pipeline: &str, step: &str) -> Result<Vec<Record>, StoreError>;
    /// The newest record of a step (what a miss is compared with).
    fn latest(&self, pipeline: &str, step: &str) -> Result<Option<Record>, StoreError> {
        Ok(self.history(pipeline, step)?.into_iter().next())
    }
    /// Stores a record (replacing one with the same key).
    fn put(&self, record: &Record) -> Result<(), StoreError>;
    /// Every record, sorted by (pipeline, step, newest first).
    fn list(&self) -> Result<Vec<Record>, StoreError>;
    /// Removes the records of a pipeline (or of one of its steps); returns how many.
    fn clear(&self, pipeline: Option<&str>, step: Option<&str>) -> Result<usize, StoreError>;
}

/// Records as JSON files under a directory (normally `.mlk/cache`).
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// A store rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalStore { root: root.into() }
    }

    fn path(&self, pipeline: &str, step: &str, key: &str) -> PathBuf {
        self.root
            .join(pipeline)
            .join(step)
            .join(format!("{key}.json"))
    }

    fn read_dir_records(&self, dir: &Path) -> Result<Vec<Record>, StoreError> {
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(err(dir, &e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| err(dir, &e))?;
            let path = entry.path();
            if path.extension().is_some_and(|x| x == "json")
                && let Some(r) = read_record(&path)?
            {
                out.push(r);
            }
        }
        out.sort_by(|a, b| {
            b.created_unix
                .cmp(&a.created_unix)
                .then_with(|| a.key.cmp(&b.key))
        });
        Ok(out)
    }

    fn subdirs(dir: &Path) -> Result<Vec<String>, StoreError> {
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(err(dir, &e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| err(dir, &e))?;
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        names.sort();
        Ok(names)
    }
}

fn err(path: &Path, e: &std::io::Error) -> StoreError {
    StoreError {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// Reads one record; a record of another format, or an unreadable one, is skipped (a miss).
fn read_record(path: &Path) -> Result<Option<Record>, StoreError> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(err(path, &e)),
    };
    Ok(Record::parse(text.as_bytes()))
}

impl Store for LocalStore {
    fn get(&self, pipeline: &str, step: &str, key: &str) -> Result<Option<Record>, StoreError> {
        read_record(&self.path(pipeline, step, key))
    }

    fn history(&self, pipeline: &str, step: &str) -> Result<Vec<Record>, StoreError> {
        self.read_dir_records(&self.root.join(pipeline).join(step))
    }

    fn put(&self, record: &Record) -> Result<(), StoreError> {
        let path = self.path(&record.pipeline, &record.step, &record.key);
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.root.clone());
        fs::create_dir_all(&dir).map_err(|e| err(&dir, &e))?;
        let mut text = serde_json::to_string_pretty(record).map_err(|e| StoreError {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        text.push('\n');
        let mut tmp = tempfile::Builder::new()
            .prefix(".rec-")
            .tempfile_in(&dir)
            .map_err(|e| err(&dir, &e))?;
        tmp.write_all(text.as_bytes()).map_err(|e| err(&path, &e))?;
        tmp.persist(&path).map_err(|e| err(&path, &e.error))?;
        Ok(())
    }

    fn list(&self) -> Result<Vec<Record>, StoreError> {
        let mut out = Vec::new();
        for pipeline in Self::subdirs(&self.root)? {
            for step in Self::subdirs(&self.root.join(&pipeline))? {
                out.extend(self.history(&pipeline, &step)?);
            }
        }
        Ok(out)
    }

    fn clear(&self, pipeline: Option<&str>, step: Option<&str>) -> Result<usize, StoreError> {
        let mut removed = 0;
        let pipelines = match pipeline {
            Some(p) => vec![p.to_owned()],
            None => Self::subdirs(&self.root)?,
        };
        for p in pipelines {
            let steps = match step {
                Some(s) => vec![s.to_owned()],
                None => Self::subdirs(&self.root.join(&p))?,
            };
            for s in steps {
                let dir = self.root.join(&p).join(&s);
                removed += self.read_dir_records(&dir)?.len();
                match fs::remove_dir_all(&dir) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(err(&dir, &e)),
                }
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::cache::key::KEY_FORMAT;

    fn record(step: &str, key: &str, at: u64) -> Record {
        Record {
            format: RECORD_FORMAT,
            pipeline: "p".into(),
            step: step.into(),
            key: key.into(),
            components: KeyComponents {
                format: KEY_FORMAT,
                salt: None,
                image: "img".into(),
                command: vec![],
                env: BTreeMap::new(),
                params: BTreeMap::new(),
                inputs: BTreeMap::new(),
                upstream: BTreeMap::new(),
                run_date: None,
            },
            outputs: BTreeMap::from([("out".into(), "/tmp/x".into())]),
            created_unix: at,
            run_id: "r1".into(),
        }
    }

    #[test]
    fn put_get_history_list_clear() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().join("cache"));
        assert_eq!(store.get("p", "a", "k1").unwrap(), None);
        store.put(&record("a", "k1", 10)).unwrap();
        store.put(&record("a", "k2", 20)).unwrap();
        store.put(&record("b", "k3", 5)).unwrap();
        assert_eq!(store.get("p", "a", "k1").unwrap().unwrap().created_unix, 10);
        let h: Vec<String> = store
            .history("p", "a")
            .unwrap()
            .into_iter()
            .map(|r| r.key)
            .collect();
        assert_eq!(h, ["k2", "k1"]);
        assert_eq!(store.list().unwrap().len(), 3);
        assert_eq!(store.clear(Some("p"), Some("a")).unwrap(), 2);
        assert_eq!(store.list().unwrap().len(), 1);
        assert_eq!(store.clear(None, None).unwrap(), 1);
        assert!(store.list().unwrap().is_empty());
    }
}
