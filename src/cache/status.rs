//! A step's cache status: is there a usable record of its key, and if not, what changed
//! since the last record of the same step.
//!
//! This is the one hit rule: [`lookup`] is what `mlk plan`, `mlk cache explain` and `mlk run`
//! ask, with the same clock ([`now_unix`]) and the same outputs check ([`outputs_present`]),
//! so `plan` can never say `hit` for a step that `run` would run again.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::key::KeyComponents;
use super::store::{Record, Store, StoreError};

/// Whether a step would be skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// A record of this key exists and is fresh: the step is skipped.
    Hit,
    /// No usable record: the step runs.
    Miss,
    /// Caching is off for the step (`cache = false`, a serve step, or `store = "none"`).
    Off,
    /// The store cannot be read from here (the `configmap` store without a cluster).
    Unknown,
}

impl Status {
    /// The plan table's word: `hit`, `miss`, `off`, `?`.
    pub fn word(self) -> &'static str {
        match self {
            Status::Hit => "hit",
            Status::Miss => "miss",
            Status::Off => "off",
            Status::Unknown => "?",
        }
    }
}

/// The outcome of looking a step up.
#[derive(Debug, Clone, PartialEq)]
pub struct Lookup {
    /// Hit, miss, off or unknown.
    pub status: Status,
    /// For a miss: why (`expired`, or each changed component, e.g. `input raw changed`);
    /// empty when no earlier record of the step exists.
    pub changed: Vec<String>,
    /// The record of a hit.
    pub record: Option<Record>,
}

/// Asks the artifact store whether an object exists (a step's manifest); `None` when the
/// store cannot be asked (then outputs in it are taken as present).
#[derive(Clone, Copy)]
pub struct Presence<'a>(pub &'a (dyn Fn(&str) -> bool + Sync));

impl std::fmt::Debug for Presence<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Presence")
    }
}

/// What a step's lookup needs to know.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    /// The step's manifest in the artifact store (its outputs are complete when it is there).
    pub manifest: Option<&'a str>,
    /// How to ask the artifact store about it.
    pub presence: Option<Presence<'a>>,
    /// Pipeline name.
    pub pipeline: &'a str,
    /// Step name.
    pub step: &'a str,
    /// Whether caching is on for the step.
    pub enabled: bool,
    /// Full hex key.
    pub key: &'a str,
    /// The key's components.
    pub components: &'a KeyComponents,
    /// Records older than this many seconds are misses.
    pub ttl_seconds: Option<u64>,
}

/// Seconds since the Unix epoch: the clock every cache decision reads.
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Whether the outputs a record names are still there: a local path (absolute, as a run
/// writes them) must exist. Outputs in an artifact store are checked by their step's manifest
/// ([`Query::manifest`]).
pub fn outputs_present(outputs: &BTreeMap<String, String>) -> bool {
    outputs
        .values()
        .filter(|uri| uri.starts_with('/'))
        .all(|p| Path::new(p).exists())
}

/// Why a record of the same key is not a hit: it is older than the TTL.
pub const EXPIRED: &str = "expired";

/// Why a record of the same key is not a hit: an output it names is gone.
pub const OUTPUTS_MISSING: &str = "outputs missing";

/// Why a dated step whose date only the run knows is not looked up: its key is made in the
/// pod (the launcher checks the cache there).
pub const RUN_DATE: &str = "the run's date decides";

/// What the store holds for a key, judged by the hit rule.
enum Found {
    /// A record younger than the TTL whose outputs are present.
    Usable(Box<Record>),
    /// A record of the key that cannot be used, and why ([`EXPIRED`], [`OUTPUTS_MISSING`]).
    Stale(&'static str),
    /// No record of the key.
    Nothing,
}

/// The hit rule, in one place.
fn find(store: &dyn Store, q: &Query<'_>, now_unix: u64) -> Result<Found, StoreError> {
    // A dated step whose date only the run knows has no key yet: never a hit on a guess.
    if super::key::date_left_to_run(q.key) {
        return Ok(Found::Stale(RUN_DATE));
    }
    let Some(r) = store.get(q.pipeline, q.step, q.key)? else {
        return Ok(Found::Nothing);
    };
    Ok(if is_expired(&r, q.ttl_seconds, now_unix) {
        Found::Stale(EXPIRED)
    } else if !outputs_present(&r.outputs)
        || q.manifest.zip(q.presence).is_some_and(|(m, p)| !(p.0)(m))
    {
        Found::Stale(OUTPUTS_MISSING)
    } else {
        Found::Usable(Box::new(r))
    })
}

/// The record that lets a run skip the step, if any: what [`lookup`] calls a hit, without
/// reading the step's history to explain a miss.
pub fn hit(store: &dyn Store, q: &Query<'_>, now_unix: u64) -> Result<Option<Record>, StoreError> {
    if !q.enabled {
        return Ok(None);
    }
    Ok(match find(store, q, now_unix)? {
        Found::Usable(r) => Some(*r),
        Found::Stale(_) | Found::Nothing => None,
    })
}

/// Looks a step up in `store` (`None`: the store cannot be read from here) at `now_unix`.
/// A hit needs a record of the key, younger than the TTL, whose outputs are present; a miss
/// says why when it can.
pub fn lookup(
    store: Option<&dyn Store>,
    q: &Query<'_>,
    now_unix: u64,
) -> Result<Lookup, StoreError> {
    let status_only = |status| Lookup {
        status,
        changed: Vec::new(),
        record: None,
    };
    if !q.enabled {
        return Ok(status_only(Status::Off));
    }
    let Some(store) = store else {
        return Ok(status_only(Status::Unknown));
    };
    let changed = match find(store, q, now_unix)? {
        Found::Usable(r) => {
            return Ok(Lookup {
                status: Status::Hit,
                changed: Vec::new(),
                record: Some(*r),
            });
        }
        Found::Stale(why) => vec![why.to_owned()],
        Found::Nothing => match store.latest(q.pipeline, q.step)? {
            Some(prev) => changes(&prev.components, q.components),
            None => Vec::new(),
        },
    };
    Ok(Lookup {
        status: Status::Miss,
        changed,
        record: None,
    })
}

/// Whether a record is older than `ttl_seconds` at `now_unix`.
pub fn is_expired(r: &Record, ttl_seconds: Option<u64>, now_unix: u64) -> bool {
    ttl_seconds.is_some_and(|ttl| now_unix.saturating_sub(r.created_unix) > ttl)
}

/// Which components differ between an old and a new key, in the order of
/// [`KeyComponents`]'s fields: `image changed`, `input raw changed`, `upstream train changed`…
pub fn changes(old: &KeyComponents, new: &KeyComponents) -> Vec<String> {
    let mut out = Vec::new();
    if old.format != new.format {
        out.push("key format changed".into());
    }
    if old.salt != new.salt {
        out.push("cache_salt changed".into());
    }
    if old.image != new.image {
        out.push("image changed".into());
    }
    if old.command != new.command {
        out.push("command changed".into());
    }
    if old.run_date != new.run_date {
        out.push(match &new.run_date {
            Some(d) => format!("run date {d}"),
            None => "run date dropped".into(),
        });
    }
    map_changes(&mut out, "env", &old.env, &new.env);
    map_changes(&mut out, "param", &old.params, &new.params);
    map_changes(&mut out, "input", &old.inputs, &new.inputs);
    let mut upstream: Vec<&str> = Vec::new();
    for (name, u) in &new.upstream {
        if old.upstream.get(name) != Some(u) && !upstream.contains(&u.step.as_str()) {
            upstream.push(&u.step);
        }
    }
    for (name, u) in &old.upstream {
        if !new.upstream.contains_key(name) && !upstream.contains(&u.step.as_str()) {
            upstream.push(&u.step);
        }
    }
    upstream.sort_unstable();
    out.extend(upstream.iter().map(|s| format!("upstream {s} changed")));
    out
}

fn map_changes<V: PartialEq>(
    out: &mut Vec<String>,
    what: &str,
    old: &BTreeMap<String, V>,
    new: &BTreeMap<String, V>,
) {
    let mut names: Vec<&String> = old.keys().chain(new.keys()).collect();
    names.sort();
    names.dedup();
    for n in names {
        match (old.get(n), new.get(n)) {
            (Some(a), Some(b)) if a != b => out.push(format!("{what} {n} changed")),
            (Some(_), None) => out.push(format!("{what} {n} removed")),
            (None, Some(_)) => out.push(format!("{what} {n} added")),
            _ => {}
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::cache::key::{KEY_FORMAT, UpstreamOutput};
    use crate::cache::store::{LocalStore, RECORD_FORMAT};

    fn components() -> KeyComponents {
        KeyComponents {
            format: KEY_FORMAT,
            salt: None,
            image: "img:1".into(),
            command: vec!["run".into()],
            env: BTreeMap::from([("A".into(), "1".into())]),
            params: BTreeMap::new(),
            inputs: BTreeMap::from([("raw".into(), "sha256:00".into())]),
            upstream: BTreeMap::from([(
                "steps.train.outputs.model".into(),
                UpstreamOutput {
                    step: "train".into(),
                    output: "model".into(),
                    key: "k0".into(),
                },
            )]),
            run_date: None,
        }
    }

    fn record(c: &KeyComponents, at: u64) -> Record {
        Record {
            format: RECORD_FORMAT,
            pipeline: "p".into(),
            step: "s".into(),
            key: c.key(),
            components: c.clone(),
            outputs: BTreeMap::new(),
            created_unix: at,
            run_id: "r".into(),
        }
    }

    fn query<'a>(c: &'a KeyComponents, key: &'a str, ttl: Option<u64>) -> Query<'a> {
        Query {
            manifest: None,
            presence: None,
            pipeline: "p",
            step: "s",
            enabled: true,
            key,
            components: c,
            ttl_seconds: ttl,
        }
    }

    #[test]
    fn hit_miss_off_unknown_and_expired() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let c = components();
        let key = c.key();
        let l = lookup(Some(&store), &query(&c, &key, None), 100).unwrap();
        assert_eq!((l.status, l.changed.len()), (Status::Miss, 0));

        store.put(&record(&c, 100)).unwrap();
        let l = lookup(Some(&store), &query(&c, &key, Some(60)), 150).unwrap();
        assert_eq!(l.status, Status::Hit);
        assert_eq!(l.record.unwrap().created_unix, 100);
        let l = lookup(Some(&store), &query(&c, &key, Some(60)), 161).unwrap();
        assert_eq!(
            (l.status, l.changed),
            (Status::Miss, vec!["expired".into()])
        );
        let l = lookup(Some(&store), &query(&c, &key, None), 1_000_000).unwrap();
        assert_eq!(l.status, Status::Hit, "no ttl: never expires");

        let mut off = query(&c, &key, None);
        off.enabled = false;
        assert_eq!(lookup(Some(&store), &off, 0).unwrap().status, Status::Off);
        assert_eq!(
            lookup(None, &query(&c, &key, None), 0).unwrap().status,
            Status::Unknown
        );
    }

    #[test]
    fn a_record_whose_manifest_is_not_in_the_artifact_store_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let c = components();
        let key = c.key();
        store.put(&record(&c, 100)).unwrap();
        let there = |uri: &str| uri == "s3://b/p/s/k/.manifest.json";
        let gone = |_: &str| false;
        let mut q = query(&c, &key, None);
        q.manifest = Some("s3://b/p/s/k/.manifest.json");
        q.presence = Some(Presence(&there));
        assert_eq!(lookup(Some(&store), &q, 100).unwrap().status, Status::Hit);
        q.presence = Some(Presence(&gone));
        let l = lookup(Some(&store), &q, 100).unwrap();
        assert_eq!(
            (l.status, l.changed),
            (Status::Miss, vec![OUTPUTS_MISSING.into()])
        );
        assert!(hit(&store, &q, 100).unwrap().is_none());
    }

    #[test]
    fn a_record_whose_outputs_are_gone_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().join("cache"));
        let c = components();
        let key = c.key();
        let out = dir.path().join("model");
        std::fs::write(&out, "weights").unwrap();
        let mut r = record(&c, 100);
        r.outputs = BTreeMap::from([
            ("model".into(), out.display().to_string()),
            ("remote".into(), "s3://bucket/p/s/k/remote".into()),
        ]);
        store.put(&r).unwrap();
        let l = lookup(Some(&store), &query(&c, &key, None), 200).unwrap();
        assert_eq!(l.status, Status::Hit);
        std::fs::remove_file(&out).unwrap();
        let l = lookup(Some(&store), &query(&c, &key, None), 200).unwrap();
        assert_eq!(
            (l.status, l.changed, l.record),
            (Status::Miss, vec![OUTPUTS_MISSING.to_owned()], None)
        );
    }

    #[test]
    fn a_miss_names_what_changed_since_the_last_record() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let old = components();
        store.put(&record(&old, 100)).unwrap();
        let mut new = components();
        new.image = "img:2".into();
        new.inputs.insert("raw".into(), "sha256:11".into());
        new.env.insert("B".into(), "2".into());
        new.upstream
            .get_mut("steps.train.outputs.model")
            .unwrap()
            .key = "k1".into();
        let key = new.key();
        let l = lookup(Some(&store), &query(&new, &key, None), 200).unwrap();
        assert_eq!(l.status, Status::Miss);
        assert_eq!(
            l.changed,
            [
                "image changed",
                "env B added",
                "input raw changed",
                "upstream train changed"
            ]
        );
    }

    #[test]
    fn every_component_is_named() {
        let old = components();
        let mut new = components();
        new.format += 1;
        new.salt = Some("v2".into());
        new.command.push("x".into());
        new.env.clear();
        new.params.insert("epochs".into(), 3.into());
        assert_eq!(
            changes(&old, &new),
            [
                "key format changed",
                "cache_salt changed",
                "command changed",
                "env A removed",
                "param epochs added"
            ]
        );
        assert!(changes(&old, &old).is_empty());
    }
}
