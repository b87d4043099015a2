//! Finding the pods of a step or a run as kubectl and stern do: kube-runtime's watcher (one
//! list, then a watch from the list's resourceVersion, resumed when it ends and started over
//! with a list when it expires or fails), so following a running step costs one open request
//! instead of a list every [`POLL`].

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, ObjectList};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event, watcher};

use super::{POLL, Retry, lock, retry};

/// The pods that match a label selector, watched until the caller is done.
pub(super) struct PodWatch {
    pub(super) pods: Api<Pod>,
    pub(super) selector: String,
    /// Kept up to date with every pod the list and the watch report, by name (deleted pods
    /// removed), for whoever wants to look at them without a request of its own.
    pub(super) seen: Option<Seen>,
}

/// The pods of a step as last seen by a [`PodWatch`], by name.
pub(super) type Seen = Arc<Mutex<BTreeMap<String, Pod>>>;

fn name(pod: &Pod) -> String {
    pod.metadata.name.clone().unwrap_or_default()
}

impl PodWatch {
    /// The pods now.
    pub(super) async fn list(&self) -> Result<ObjectList<Pod>, kube::Error> {
        let lp = ListParams::default().labels(&self.selector);
        retry(|| self.pods.list(&lp)).await
    }

    /// Calls `found` with every pod listed or reported added or modified until `done`, then
    /// with every pod of one more list (a pod created just before the end is still found).
    /// A failed list or watch is tried again after a while ([`Retry`]).
    pub(super) async fn run(&self, done: &AtomicBool, mut found: impl FnMut(&Pod)) {
        let config = watcher::Config::default().labels(&self.selector);
        let events = watcher(self.pods.clone(), config).backoff(Retry::default());
        let mut events = std::pin::pin!(events);
        // The pods of a list under way: they replace `seen` when it is complete.
        let mut listed = BTreeMap::new();
        while let Some(Some(event)) = unless_done(done, events.next()).await {
            match event {
                Ok(Event::Init) => listed.clear(),
                Ok(Event::InitApply(pod)) => {
                    found(&pod);
                    listed.insert(name(&pod), pod);
                }
                Ok(Event::InitDone) => self.keep(|seen| *seen = std::mem::take(&mut listed)),
                Ok(Event::Apply(pod)) => {
                    found(&pod);
                    self.keep(|seen| {
                        seen.insert(name(&pod), pod);
                    });
                }
                Ok(Event::Delete(pod)) => self.keep(|seen| {
                    seen.remove(&name(&pod));
                }),
                // Expired (410 Gone), dropped, refused: the watcher starts over.
                Err(_) => {}
            }
        }
        if let Ok(list) = self.list().await {
            self.keep(|seen| *seen = list.items.iter().map(|p| (name(p), p.clone())).collect());
            list.items.iter().for_each(found);
        }
    }

    /// Changes the pods seen, when they are kept.
    fn keep(&self, change: impl FnOnce(&mut BTreeMap<String, Pod>)) {
        if let Some(seen) = &self.seen {
            change(&mut lock(seen));
        }
    }
}

/// Awaits `f`, unless `done` is set first (looked at every [`POLL`]): `None`.
pub(super) async fn unless_done<F: Future>(done: &AtomicBool, f: F) -> Option<F::Output> {
    let mut f = std::pin::pin!(f);
    while !done.load(Ordering::SeqCst) {
        if let Ok(out) = tokio::time::timeout(POLL, f.as_mut()).await {
            return Some(out);
        }
    }
    None
}
