//! `[topology]`: the levels of the cluster's node topology, widest first, each a node label
//! (`levels = [{ name = "rack", node_label = "…" }, …]`), which steps name in
//! `placement = { level = "…" }`. `mlk stack render` emits them as a Kueue or KAI Topology.

use toml::Spanned;
use toml::de::DeValue;

use serde_json::{Value, json};

use crate::load::LoadError;
use crate::load::toml::{Cx, Decode, Sp, Table};
use crate::names;

/// The node label that names each node; Kueue and KAI allow it only as the last level.
const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";

/// `[topology]` as written.
#[derive(Debug, Clone)]
pub struct TopologyDef {
    /// Name of the Topology object (else the stack's name).
    pub name: Option<Sp<String>>,
    /// Levels, widest first.
    pub levels: Vec<Sp<TopologyLevelDef>>,
}

/// One level of `[topology] levels`.
#[derive(Debug, Clone)]
pub struct TopologyLevelDef {
    /// The name steps use (`placement = { level = "nvlink" }`).
    pub name: Sp<String>,
    /// The node label whose value is the same on every node of one domain of this level.
    pub node_label: Sp<String>,
}

impl Decode for TopologyLevelDef {
    fn expected() -> String {
        "a level such as { name = \"rack\", node_label = \"topology.kubernetes.io/rack\" }".into()
    }
    fn schema() -> Value {
        // The keys come from the table `decode` opens (see `load::schema`).
        json!({ "type": "object" })
    }
    fn decode(v: &Sp<DeValue<'_>>, cx: &mut Cx) -> Option<Self> {
        let mut t = Table::open(v, "a topology level", cx)?;
        let name = t.req::<Sp<String>>("name", cx);
        let node_label = t.req::<Sp<String>>("node_label", cx);
        t.finish(cx);
        Some(TopologyLevelDef {
            name: name?,
            node_label: node_label?,
        })
    }
}

/// Reads `[topology]`: level names are DNS labels and unique, node labels are label keys and
/// unique, and the hostname label comes last.
pub(super) fn topology(root: &mut Table<'_, '_>, cx: &mut Cx) -> Option<Sp<TopologyDef>> {
    let v = root.raw("topology")?;
    let mut t = Table::open(v, "[topology]", cx)?;
    let name = t.opt::<Sp<String>>("name", cx);
    let levels = t.req::<Vec<Sp<TopologyLevelDef>>>("levels", cx);
    let levels_span = t.key_span("levels");
    t.finish(cx);
    let levels = levels?;
    if let Some(n) = &name
        && !names::is_dns1123_subdomain(n.get_ref())
    {
        cx.error(LoadError::value(
            n.span(),
            "invalid name",
            format!("\"{}\" is not a valid Topology name", n.get_ref()),
            "a Topology name is lowercase letters, digits, '-' and '.'",
        ));
    }
    if levels.is_empty() || levels.len() > 16 {
        cx.error(LoadError::value(
            levels_span.unwrap_or(v.span()),
            "1 to 16 levels",
            format!("[topology] has {} levels", levels.len()),
            "list 1 to 16 levels, widest first (block, rack, …, kubernetes.io/hostname)",
        ));
    }
    let mut seen_names: Vec<&str> = Vec::new();
    let mut seen_labels: Vec<&str> = Vec::new();
    for (i, level) in levels.iter().enumerate() {
        let l = level.get_ref();
        let (n, label) = (l.name.get_ref().as_str(), l.node_label.get_ref().as_str());
        if !names::is_dns1123_label(n) {
            cx.error(LoadError::value(
                l.name.span(),
                "invalid level name",
                format!("\"{n}\" is not a valid level name"),
                names::explain_dns1123_label(n),
            ));
        } else if seen_names.contains(&n) {
            cx.error(LoadError::value(
                l.name.span(),
                "named twice",
                format!("level \"{n}\" is named twice"),
                "give each level its own name",
            ));
        }
        if !names::is_qualified_name(label) {
            cx.error(LoadError::value(
                l.node_label.span(),
                "invalid node label",
                format!("`{label}` is not a valid node label key"),
                "a node label key is an optional DNS subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.'",
            ));
        } else if seen_labels.contains(&label) {
            cx.error(LoadError::value(
                l.node_label.span(),
                "used twice",
                format!("node label `{label}` is used by two levels"),
                "each level needs its own node label",
            ));
        }
        if levels
            .iter()
            .any(|other| other.get_ref().node_label.get_ref() == n)
        {
            cx.error(LoadError::value(
                l.name.span(),
                "same as a node label",
                format!("level name \"{n}\" is also a level's node label"),
                "KAI uses level names as aliases, which may not equal a node label: choose another name",
            ));
        }
        if label == HOSTNAME_LABEL && i + 1 != levels.len() {
            cx.error(LoadError::value(
                l.node_label.span(),
                "not the last level",
                format!("`{HOSTNAME_LABEL}` is level {} of {}", i + 1, levels.len()),
                "the hostname label can only be the last (narrowest) level",
            ));
        }
        seen_names.push(n);
        seen_labels.push(label);
    }
    Some(Spanned::new(v.span(), TopologyDef { name, levels }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::load::stack::decode;

    fn problems(topology: &str) -> Vec<String> {
        let text = format!("[stack]\nname = \"s\"\n[topology]\n{topology}\n");
        let (stack, cx) = decode(&text, None);
        let mut out: Vec<String> = cx.errors.iter().map(ToString::to_string).collect();
        if out.is_empty() {
            let t = stack.unwrap().topology.unwrap();
            out.push(format!("ok {}", t.get_ref().levels.len()));
        }
        out
    }

    #[test]
    fn levels_are_checked_as_kueue_and_kai_check_them() {
        let ok = "levels = [{ name = \"rack\", node_label = \"example.com/rack\" }, { name = \"host\", node_label = \"kubernetes.io/hostname\" }]";
        assert_eq!(problems(ok), ["ok 2"]);
        for bad in [
            "levels = []",
            "levels = [{ name = \"host\", node_label = \"kubernetes.io/hostname\" }, { name = \"rack\", node_label = \"example.com/rack\" }]",
            "levels = [{ name = \"a\", node_label = \"x/a\" }, { name = \"a\", node_label = \"x/b\" }]",
            "levels = [{ name = \"a\", node_label = \"x/a\" }, { name = \"b\", node_label = \"x/a\" }]",
            "levels = [{ name = \"rack\", node_label = \"zone\" }, { name = \"zone\", node_label = \"rack\" }]",
            "levels = [{ name = \"Rack\", node_label = \"x/rack\" }]",
            "levels = [{ name = \"rack\", node_label = \"not a label\" }]",
        ] {
            assert!(!problems(bad)[0].starts_with("ok"), "{bad}");
        }
    }
}
