//! [`ConfigMapStore`]: cache records as ConfigMaps in the stack's namespace.
//!
//! One ConfigMap per (pipeline, step, key), named `mlk-cache-<pipeline>-<step>-<key[..16]>`,
//! labelled `mlk.dev/cache=record`, `mlk.dev/pipeline`, `mlk.dev/step` and
//! `mlk.dev/cache-key` (the first 32 hex digits: label values stop at 63 characters), with
//! the record as JSON under `record.json`. Written with server-side apply like every other
//! object. Expiry is decided by the record's age, as for the local store.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use serde_json::json;

use super::backend::FIELD_MANAGER;
use super::{Cluster, error_chain, retry};
use crate::cache::store::{Record, Store, StoreError};
use crate::labels;

/// The data key holding the record.
const DATA_KEY: &str = "record.json";

/// Cache records in ConfigMaps.
pub(crate) struct ConfigMapStore {
    cluster: Arc<Cluster>,
}

impl ConfigMapStore {
    /// Records in `cluster`'s namespace.
    pub(crate) fn new(cluster: Arc<Cluster>) -> Self {
        ConfigMapStore { cluster }
    }

    fn api(&self) -> Api<ConfigMap> {
        Api::namespaced(self.cluster.client(), &self.cluster.namespace)
    }

    fn err(&self, name: &str, e: &kube::Error) -> StoreError {
        StoreError {
            path: format!("configmap {}/{name}", self.cluster.namespace),
            message: error_chain(e),
        }
    }

    fn select(&self, selector: &str) -> Result<Vec<Record>, StoreError> {
        let api = self.api();
        let lp = ListParams::default().labels(selector);
        let list = self
            .cluster
            .block_on(retry(|| api.list(&lp)))
            .map_err(|e| self.err(selector, &e))?;
        let mut out: Vec<Record> = list.items.iter().filter_map(record).collect();
        out.sort_by(|a, b| {
            (&a.pipeline, &a.step, std::cmp::Reverse(a.created_unix)).cmp(&(
                &b.pipeline,
                &b.step,
                std::cmp::Reverse(b.created_unix),
            ))
        });
        Ok(out)
    }
}

/// The ConfigMap name of a record; a dated key's date (`<hex>-YYYY-MM-DD`) is kept, so each
/// day's record has its own.
pub(super) fn object_name(pipeline: &str, step: &str, key: &str) -> String {
    format!("mlk-cache-{pipeline}-{step}-{}", short(key, 16))
}

/// The first `n` hex digits of `key`, and its date when it is dated.
fn short(key: &str, n: usize) -> String {
    let (hex, date) = crate::cache::key::split_dated(key);
    let hex = hex.get(..n).unwrap_or(hex);
    match date {
        Some(date) => format!("{hex}-{date}"),
        None => hex.to_owned(),
    }
}

/// The record in a ConfigMap; one of another format, or unreadable, is skipped (a miss).
fn record(cm: &ConfigMap) -> Option<Record> {
    Record::parse(cm.data.as_ref()?.get(DATA_KEY)?.as_bytes())
}

impl Store for ConfigMapStore {
    fn get(&self, pipeline: &str, step: &str, key: &str) -> Result<Option<Record>, StoreError> {
        let name = object_name(pipeline, step, key);
        let api = self.api();
        let cm = self
            .cluster
            .block_on(retry(|| api.get_opt(&name)))
            .map_err(|e| self.err(&name, &e))?;
        Ok(cm.as_ref().and_then(record).filter(|r| r.key == key))
    }

    fn history(&self, pipeline: &str, step: &str) -> Result<Vec<Record>, StoreError> {
        self.select(&labels::selector(&[
            (labels::CACHE, labels::CACHE_RECORD),
            (labels::PIPELINE, pipeline),
            (labels::STEP, step),
        ]))
    }

    fn put(&self, r: &Record) -> Result<(), StoreError> {
        let name = object_name(&r.pipeline, &r.step, &r.key);
        let text = serde_json::to_string_pretty(r).map_err(|e| StoreError {
            path: name.clone(),
            message: e.to_string(),
        })?;
        let key_label = short(&r.key, 32);
        let labels: BTreeMap<&str, &str> = BTreeMap::from([
            (labels::MANAGED_BY, labels::MANAGED_BY_MLK),
            (labels::CACHE, labels::CACHE_RECORD),
            (labels::PIPELINE, r.pipeline.as_str()),
            (labels::STEP, r.step.as_str()),
            (labels::CACHE_KEY, key_label.as_str()),
            (labels::RUN, r.run_id.as_str()),
        ]);
        let doc = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": self.cluster.namespace, "labels": labels},
            "data": {DATA_KEY: text},
        });
        let api = self.api();
        let params = PatchParams::apply(FIELD_MANAGER).validation_strict();
        let patch = Patch::Apply(&doc);
        self.cluster
            .block_on(retry(|| api.patch(&name, &params, &patch)))
            .map_err(|e| self.err(&name, &e))?;
        Ok(())
    }

    fn list(&self) -> Result<Vec<Record>, StoreError> {
        self.select(&labels::selector(&[(labels::CACHE, labels::CACHE_RECORD)]))
    }

    fn clear(&self, pipeline: Option<&str>, step: Option<&str>) -> Result<usize, StoreError> {
        let mut pairs = vec![(labels::CACHE, labels::CACHE_RECORD)];
        if let Some(p) = pipeline {
            pairs.push((labels::PIPELINE, p));
        }
        if let Some(s) = step {
            pairs.push((labels::STEP, s));
        }
        let records = self.select(&labels::selector(&pairs))?;
        let api = self.api();
        let dp = DeleteParams::default();
        for r in &records {
            let name = object_name(&r.pipeline, &r.step, &r.key);
            match self.cluster.block_on(retry(|| api.delete(&name, &dp))) {
                Ok(_) => {}
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => return Err(self.err(&name, &e)),
            }
        }
        Ok(records.len())
    }
}

#[cfg(test)]
mod tests {
    use super::{object_name, short};

    #[test]
    fn each_day_of_a_dated_key_has_its_own_record() {
        let hex = "0123456789abcdef".repeat(4);
        assert_eq!(
            object_name("p", "s", &hex),
            "mlk-cache-p-s-0123456789abcdef"
        );
        let day = |d: &str| object_name("p", "s", &format!("{hex}-{d}"));
        assert_eq!(
            day("2026-12-06"),
            "mlk-cache-p-s-0123456789abcdef-2026-12-06"
        );
        assert_ne!(day("2026-12-06"), day("2026-12-07"));
        let label = short(&format!("{hex}-2026-12-06"), 32);
        assert_eq!(label.len(), 43);
        assert!(crate::names::is_label_value(&label), "{label}");
    }
}
