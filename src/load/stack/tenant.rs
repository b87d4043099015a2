//! `[tenant]`: the namespace a stack's team gets, and what `mlk stack render` puts in it
//! (quota, runner and reader access, network rules).

use toml::Spanned;
use toml::de::DeValue;

use crate::load::LoadError;
use crate::load::pipeline::count;
use crate::load::toml::{Cx, Sp, Table};
use crate::load::values::check_name;
use crate::quantity::Quantity;

/// The runner's ServiceAccount when `[tenant] runner` is not set.
const DEFAULT_RUNNER: &str = "mlk-runner";

/// `[tenant]`.
#[derive(Debug, Clone)]
pub struct TenantDef {
    /// The table's span.
    pub span: std::ops::Range<usize>,
    /// The ServiceAccount `mlk run` acts as (CI, a launcher pod).
    pub runner: String,
    /// Groups bound to the read-only Role.
    pub readers: Vec<String>,
    /// Namespaces whose pods may connect to this namespace's pods.
    pub ingress_from: Vec<String>,
    /// Egress to the artifact store: CIDRs.
    pub artifact_cidrs: Vec<Sp<String>>,
    /// Egress to the artifact store: the namespace it runs in.
    pub artifact_namespace: Option<String>,
    /// `[tenant.quota]`.
    pub quota: Option<Sp<TenantQuotaDef>>,
}

/// `[tenant.quota]`: the namespace's ResourceQuota.
#[derive(Debug, Clone, Default)]
pub struct TenantQuotaDef {
    /// CPU requests.
    pub cpu: Option<Quantity>,
    /// Memory requests.
    pub memory: Option<Quantity>,
    /// GPUs (devices).
    pub gpu: Option<u32>,
    /// PersistentVolumeClaims.
    pub pvcs: Option<u32>,
    /// Only pods of these PriorityClasses count against the quota.
    pub priorities: Vec<Sp<String>>,
}

/// Reads `[tenant]`.
pub(super) fn tenant(root: &mut Table<'_, '_>, cx: &mut Cx) -> Option<TenantDef> {
    let mut t = root.table("tenant", cx)?;
    let runner: Option<Sp<String>> = t.opt("runner", cx);
    if let Some(r) = &runner {
        check_name(r, "service account name", cx);
    }
    let ingress_from: Vec<Sp<String>> = t.opt("ingress_from", cx).unwrap_or_default();
    for n in &ingress_from {
        check_name(n, "namespace", cx);
    }
    let readers: Vec<String> = t.opt("readers", cx).unwrap_or_default();
    let artifact_cidrs: Vec<Sp<String>> = t.opt("artifact_cidrs", cx).unwrap_or_default();
    for c in &artifact_cidrs {
        if !is_cidr(c.get_ref()) {
            cx.error(LoadError::value(
                c.span(),
                "not a CIDR",
                format!("`{}` is not a CIDR", c.get_ref()),
                "write an address and a prefix length, such as \"10.40.0.0/16\" or \"fd00::/64\"",
            ));
        }
    }
    let artifact_namespace: Option<Sp<String>> = t.opt("artifact_namespace", cx);
    if let Some(n) = &artifact_namespace {
        check_name(n, "namespace", cx);
    }
    let quota = t.raw("quota").and_then(|v| quota(v, cx));
    let out = TenantDef {
        span: t.span(),
        runner: runner.map_or_else(|| DEFAULT_RUNNER.to_owned(), Spanned::into_inner),
        readers,
        ingress_from: ingress_from.into_iter().map(Spanned::into_inner).collect(),
        artifact_cidrs,
        artifact_namespace: artifact_namespace.map(Spanned::into_inner),
        quota,
    };
    t.finish(cx);
    Some(out)
}

fn quota(v: &Sp<DeValue<'_>>, cx: &mut Cx) -> Option<Sp<TenantQuotaDef>> {
    let mut t = Table::open(v, "[tenant.quota]", cx)?;
    let q = TenantQuotaDef {
        cpu: t.opt("cpu", cx),
        memory: t.opt("memory", cx),
        gpu: t
            .raw("gpu")
            .and_then(|g| count(g, 0, 1_000_000, cx))
            .map(Spanned::into_inner),
        pvcs: t
            .raw("pvcs")
            .and_then(|g| count(g, 0, 1_000_000, cx))
            .map(Spanned::into_inner),
        priorities: t.opt("priorities", cx).unwrap_or_default(),
    };
    t.finish(cx);
    Some(Spanned::new(v.span(), q))
}

/// Whether `s` is an IPv4 or IPv6 CIDR (`address/prefix`).
fn is_cidr(s: &str) -> bool {
    let Some((addr, prefix)) = s.split_once('/') else {
        return false;
    };
    let Ok(prefix) = prefix.parse::<u8>() else {
        return false;
    };
    match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => prefix <= 32,
        Ok(std::net::IpAddr::V6(_)) => prefix <= 128,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::is_cidr;

    #[test]
    fn cidrs() {
        assert!(is_cidr("10.40.0.0/16"));
        assert!(is_cidr("fd00::/64"));
        assert!(!is_cidr("10.40.0.0"));
        assert!(!is_cidr("10.40.0.0/33"));
        assert!(!is_cidr("minio/8"));
    }
}
