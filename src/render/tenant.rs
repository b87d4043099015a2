//! A stack's tenant (`[tenant]`, `mlk stack render`): the Namespace with Pod Security
//! Admission labels, its ResourceQuota and LimitRange, the runner's ServiceAccount with a Role
//! (and a ClusterRole for what it reads cluster-wide) holding exactly the verbs of
//! [`crate::access::NEEDS`] that apply, a read-only Role, and NetworkPolicies (ingress only
//! from the namespace's own pods and listed namespaces; egress to DNS, the namespace and the
//! artifact store when the stack names it).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::admin::meta;
use crate::access::{APPLY_VERBS, NEEDS, Of, Uses};
use crate::resolve::{AdminPlan, Tenant};

/// The runner's and readers' Roles (and RoleBindings).
const RUNNER_ROLE: &str = "mlk-runner";
const READER_ROLE: &str = "mlk-reader";

/// Every tenant object of `plan`, unsorted.
pub(super) fn tenant(plan: &AdminPlan, t: &Tenant, docs: &mut Vec<Value>) {
    let ns = plan.namespace.as_str();
    let profile = match t.security {
        crate::domain::Security::Restricted => "restricted",
        crate::domain::Security::Baseline => "baseline",
    };
    let mut namespace = meta(plan, ns, None);
    for mode in ["enforce", "audit", "warn"] {
        namespace["labels"][format!("pod-security.kubernetes.io/{mode}")] = profile.into();
        namespace["labels"][format!("pod-security.kubernetes.io/{mode}-version")] = "latest".into();
    }
    docs.push(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": namespace}));
    if let Some(q) = &t.quota {
        let mut spec = json!({ "hard": q.hard });
        if !q.priorities.is_empty() {
            spec["scopeSelector"] = json!({"matchExpressions": [
                {"scopeName": "PriorityClass", "operator": "In", "values": q.priorities}
            ]});
        }
        docs.push(json!({
            "apiVersion": "v1", "kind": "ResourceQuota",
            "metadata": meta(plan, "mlk-quota", Some(ns)), "spec": spec,
        }));
    }
    if !t.requests.is_empty() {
        let text = |m: &BTreeMap<String, crate::quantity::Quantity>| -> BTreeMap<String, String> {
            m.iter().map(|(k, v)| (k.clone(), v.to_string())).collect()
        };
        let limit = json!({ "type": "Container", "defaultRequest": text(&t.requests) });
        docs.push(json!({
            "apiVersion": "v1", "kind": "LimitRange",
            "metadata": meta(plan, "mlk-defaults", Some(ns)), "spec": { "limits": [limit] },
        }));
    }
    accounts(plan, t, docs);
    network(plan, t, docs);
}

/// The runner's ServiceAccount, Roles and bindings; the pods' own ServiceAccount.
fn accounts(plan: &AdminPlan, t: &Tenant, docs: &mut Vec<Value>) {
    let ns = plan.namespace.as_str();
    docs.push(json!({
        "apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(plan, &t.runner, Some(ns)),
    }));
    if let Some(pods) = &t.pods_account {
        // Steps do not talk to the API server (the launcher reads no ConfigMaps).
        docs.push(json!({
            "apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(plan, pods, Some(ns)),
            "automountServiceAccountToken": false,
        }));
    }
    let (runner, cluster) = runner_rules(&plan.uses);
    let account = json!([{"kind": "ServiceAccount", "name": t.runner, "namespace": ns}]);
    role(
        plan,
        "Role",
        RUNNER_ROLE,
        Some(ns),
        runner,
        account.clone(),
        docs,
    );
    if !cluster.is_empty() {
        // Cluster-scoped names are shared by every stack: this one's carries the stack's name.
        let name = format!("mlk-{}-runner", plan.stack);
        role(plan, "ClusterRole", &name, None, cluster, account, docs);
    }
    let readers: Vec<Value> = t
        .readers
        .iter()
        .map(|g| json!({"kind": "Group", "name": g, "apiGroup": "rbac.authorization.k8s.io"}))
        .collect();
    let reads = rules(&plan.uses, |n| n.reader, false);
    role(
        plan,
        "Role",
        READER_ROLE,
        Some(ns),
        reads,
        json!(readers),
        docs,
    );
}

/// `(group, resource)` → verbs.
type Grants = BTreeMap<(String, String), BTreeSet<&'static str>>;

/// The runner's namespaced and cluster-scoped grants: applying every kind its runs apply,
/// and every need that applies.
fn runner_rules(uses: &Uses) -> (Grants, Grants) {
    let mut namespaced = rules(uses, |_| true, false);
    for a in uses.applied() {
        let e = namespaced
            .entry((a.group.to_owned(), a.plural.to_owned()))
            .or_default();
        e.extend(APPLY_VERBS.iter().copied());
    }
    (namespaced, rules(uses, |_| true, true))
}

/// The grants of the [`NEEDS`] that apply and that `pick` picks, cluster-scoped or not.
fn rules(uses: &Uses, pick: impl Fn(&crate::access::Need) -> bool, cluster: bool) -> Grants {
    let mut out = Grants::new();
    for n in NEEDS
        .iter()
        .filter(|n| uses.applies(n.when) && pick(n))
        .filter(|n| matches!(n.of, Of::Cluster(..) | Of::Owner(..)) == cluster)
    {
        for (group, resource) in uses.targets(n.of) {
            out.entry((group.to_owned(), resource.to_owned()))
                .or_default()
                .insert(n.verb);
        }
    }
    out
}

/// A Role or ClusterRole with `grants` (resources of one group with the same verbs share a
/// rule) and its binding to `subjects` (none: no binding).
fn role(
    plan: &AdminPlan,
    kind: &str,
    name: &str,
    ns: Option<&str>,
    grants: Grants,
    subjects: Value,
    docs: &mut Vec<Value>,
) {
    let mut merged: BTreeMap<(String, Vec<&str>), Vec<String>> = BTreeMap::new();
    for ((group, resource), verbs) in grants {
        merged
            .entry((group, verbs.into_iter().collect()))
            .or_default()
            .push(resource);
    }
    let rules: Vec<Value> = merged
        .into_iter()
        .map(|((group, verbs), resources)| {
            json!({"apiGroups": [group], "resources": resources, "verbs": verbs})
        })
        .collect();
    docs.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind,
        "metadata": meta(plan, name, ns), "rules": rules,
    }));
    if subjects.as_array().is_some_and(|s| !s.is_empty()) {
        docs.push(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": format!("{kind}Binding"),
            "metadata": meta(plan, name, ns),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name},
            "subjects": subjects,
        }));
    }
}

/// Ingress only from the namespace's own pods and the listed namespaces; egress (when the
/// stack names the artifact store's address) only to DNS, the namespace and the store.
fn network(plan: &AdminPlan, t: &Tenant, docs: &mut Vec<Value>) {
    let ns = plan.namespace.as_str();
    let namespace = |name: &str| json!({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}});
    let mut from = vec![json!({"podSelector": {}})];
    from.extend(t.ingress_from.iter().map(|n| namespace(n)));
    docs.push(json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": meta(plan, "mlk-ingress", Some(ns)),
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": from}]},
    }));
    let mut store: Vec<Value> = t
        .artifact_cidrs
        .iter()
        .map(|c| json!({"ipBlock": {"cidr": c}}))
        .collect();
    store.extend(t.artifact_namespace.iter().map(|n| namespace(n)));
    if store.is_empty() {
        return;
    }
    let mut dns = namespace("kube-system");
    dns["podSelector"] = json!({"matchLabels": {"k8s-app": "kube-dns"}});
    let egress = json!([
        {"to": [dns], "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
        {"to": [{"podSelector": {}}]},
        {"to": store},
    ]);
    docs.push(json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": meta(plan, "mlk-egress", Some(ns)),
        "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": egress},
    }));
}
