//! The cache key: what a step's result depends on, and nothing else.

use std::collections::BTreeMap;
use std::io::Write;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Bump when the meaning or encoding of [`KeyComponents`] changes: every key changes with it.
pub const KEY_FORMAT: u32 = 1;

/// Everything a step's cache key covers (SPEC §3). Resources, GPUs, queue, priority,
/// placement, retries and timeouts are deliberately absent: running the same work on a bigger
/// node is still a hit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KeyComponents {
    /// [`KEY_FORMAT`].
    pub format: u32,
    /// The pipeline's `cache_salt`.
    pub salt: Option<String>,
    /// The image reference (a digest when pinned).
    pub image: String,
    /// Command and arguments after template expansion, with outputs and `run.id` left
    /// symbolic (their identity is covered by `upstream` and would otherwise be circular).
    pub command: Vec<String>,
    /// Literal environment values, and secret / config map references (never their values).
    pub env: BTreeMap<String, String>,
    /// The parameters the step's templates use.
    pub params: BTreeMap<String, serde_json::Value>,
    /// Input name → identity (a content digest, or a URI plus version).
    pub inputs: BTreeMap<String, String>,
    /// `steps.X.outputs.Y` → the upstream step's key and output name (a dated upstream's
    /// key with its date left symbolic: `<hex>-<run.date>`).
    pub upstream: BTreeMap<String, UpstreamOutput>,
    /// The run's date, for a step whose strings read `{{ run.date }}` or whose upstream
    /// outputs do: `YYYY-MM-DD`, or `$(MLK_RUN_DATE)` where only the run knows it. It is not
    /// hashed: it is the key's suffix ([`KeyComponents::key`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_date: Option<String>,
}

/// An upstream output a step reads.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct UpstreamOutput {
    /// Upstream step.
    pub step: String,
    /// Its output name.
    pub output: String,
    /// Its cache key.
    pub key: String,
}

impl KeyComponents {
    /// The full hex SHA-256 key; a dated step's is the hash of everything but the date,
    /// then `-` and the date (`<hex>-2026-12-06`), so that the run that knows the date (the
    /// launcher in a pod) makes the key by putting the date in, and no two dates share one.
    pub fn key(&self) -> String {
        match &self.run_date {
            None => digest_of(self),
            Some(date) => {
                let undated = KeyComponents {
                    run_date: None,
                    ..self.clone()
                };
                format!("{}-{date}", digest_of(&undated))
            }
        }
    }
}

/// The key a dated step's downstream steps hash: its date left symbolic, so their keys stay
/// one hash plus the run's date too.
pub fn undated_key(key: &str, dated: bool) -> String {
    match (dated, split_dated(key)) {
        (true, (hex, Some(_))) => format!("{hex}-{SYMBOLIC_DATE}"),
        _ => key.to_owned(),
    }
}

/// A key's hash and, for a dated key (`<hex>-<date>`, see [`KeyComponents::key`]), its date.
pub fn split_dated(key: &str) -> (&str, Option<&str>) {
    match (key.get(..HEX_LEN), key.get(HEX_LEN..)) {
        (Some(hex), Some(rest)) => (hex, rest.strip_prefix('-').filter(|d| !d.is_empty())),
        _ => (key, None),
    }
}

/// Whether `key` is a dated key whose date only the run knows (`<hex>-$(MLK_RUN_DATE)`): the
/// launcher in the pod makes the key, so nothing may look it up before.
pub fn date_left_to_run(key: &str) -> bool {
    split_dated(key).1 == Some(RUN_DATE_PLACEHOLDER)
}

/// The length of a key's hash in hex (SHA-256).
const HEX_LEN: usize = 64;

/// `{{ run.date }}` in a step's strings as its cache key sees them.
pub const SYMBOLIC_DATE: &str = "<run.date>";

/// What `{{ run.date }}` expands to where only the run knows it: the launcher puts the run's
/// date in its place (Kubernetes leaves `$(VAR)` of an unset variable as written).
pub const RUN_DATE_PLACEHOLDER: &str = "$(MLK_RUN_DATE)";

/// An `io::Write` that feeds SHA-256, so encodings stream into the hash without a buffer.
pub struct HashWriter(pub Sha256);

impl Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

/// SHA-256 of any serializable value's JSON encoding, as hex.
pub fn digest_of(value: &impl Serialize) -> String {
    let mut w = HashWriter(Sha256::new());
    let _ = serde_json::to_writer(&mut w, value);
    hex(&w.0.finalize())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn base() -> KeyComponents {
        KeyComponents {
            format: KEY_FORMAT,
            salt: None,
            image: "python:3.12-slim".into(),
            command: vec!["python".into(), "-c".into(), "print(1)".into()],
            env: BTreeMap::new(),
            params: BTreeMap::new(),
            inputs: BTreeMap::new(),
            upstream: BTreeMap::new(),
            run_date: None,
        }
    }

    #[test]
    fn a_dated_key_is_the_undated_hash_and_the_date() {
        let mut c = base();
        c.command.push(SYMBOLIC_DATE.into());
        let undated = c.key();
        c.run_date = Some("2026-12-06".into());
        assert_eq!(c.key(), format!("{undated}-2026-12-06"));
        c.run_date = Some("2026-12-07".into());
        assert_eq!(c.key(), format!("{undated}-2026-12-07"));
        c.run_date = Some("$(MLK_RUN_DATE)".into());
        assert_eq!(c.key(), format!("{undated}-$(MLK_RUN_DATE)"));
        assert_eq!(undated_key(&c.key(), true), format!("{undated}-<run.date>"));
        assert_eq!(undated_key(&undated, false), undated);
        assert!(date_left_to_run(&c.key()));
        c.run_date = Some("2026-12-07".into());
        assert_eq!(
            split_dated(&c.key()),
            (undated.as_str(), Some("2026-12-07"))
        );
        assert!(!date_left_to_run(&c.key()));
        assert_eq!(split_dated(&undated), (undated.as_str(), None));
        assert_eq!(split_dated("short"), ("short", None));
    }

    #[test]
    fn golden_key_is_stable() {
        // Changing this value means every user's cache is invalidated: bump KEY_FORMAT.
        assert_eq!(
            base().key(),
            "6fd763e10669af1aee652d7926793409e567efd333244c2c021ab86ac65a84af"
        );
    }

    #[test]
    fn every_component_changes_the_key() {
        let k = base().key();
        let mut c = base();
        c.salt = Some("v2".into());
        assert_ne!(c.key(), k);
        let mut c = base();
        c.image = "python:3.13-slim".into();
        assert_ne!(c.key(), k);
        let mut c = base();
        c.command.push("x".into());
        assert_ne!(c.key(), k);
        let mut c = base();
        c.env.insert("A".into(), "1".into());
        assert_ne!(c.key(), k);
        let mut c = base();
        c.params.insert("epochs".into(), 3.into());
        assert_ne!(c.key(), k);
        let mut c = base();
        c.inputs.insert("raw".into(), "sha256:00".into());
        assert_ne!(c.key(), k);
        let mut c = base();
        c.upstream.insert(
            "steps.a.outputs.b".into(),
            UpstreamOutput {
                step: "a".into(),
                output: "b".into(),
                key: "00".into(),
            },
        );
        assert_ne!(c.key(), k);
    }
}
