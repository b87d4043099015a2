//! `mlk plan -o mermaid`: the DAG as a Mermaid flowchart, which GitHub and GitLab render in
//! Markdown. Each step's box says its kind, GPUs, cache status and cost in words; the shape
//! says the cache status too (hit: rounded, off: double-edged, miss and unknown: square,
//! unknown dashed), so colour is never the only sign.

use super::{Graph, Node};

/// The flowchart of `g`, byte-stable.
pub(crate) fn mermaid(g: &Graph) -> String {
    let mut out = String::from("flowchart LR\n");
    for (i, s) in g.steps.iter().enumerate() {
        let label = label(s).replace('"', "#quot;");
        let (open, close) = match s.cache.status.as_str() {
            "hit" => ("([\"", "\"])"),
            "off" => ("[[\"", "\"]]"),
            _ => ("[\"", "\"]"),
        };
        out.push_str(&format!("  s{i}{open}{label}{close}\n"));
    }
    for (a, b) in g.edges() {
        out.push_str(&format!("  s{a} --> s{b}\n"));
    }
    out.push_str("  classDef hit fill:#e6f4ea,stroke:#1e6b34\n");
    out.push_str("  classDef miss fill:#fff4e0,stroke:#8a5300\n");
    out.push_str("  classDef off fill:#eeeeee,stroke:#555555\n");
    out.push_str("  classDef unknown fill:#ffffff,stroke:#555555,stroke-dasharray:4 3\n");
    for status in ["hit", "miss", "off", "unknown"] {
        let ids: Vec<String> = g
            .steps
            .iter()
            .enumerate()
            .filter(|(_, s)| s.cache.status == status)
            .map(|(i, _)| format!("s{i}"))
            .collect();
        if !ids.is_empty() {
            out.push_str(&format!("  class {} {status}\n", ids.join(",")));
        }
    }
    out
}

/// The lines of a step's box, joined by `<br/>`.
fn label(s: &Node) -> String {
    lines(s).join("<br/>")
}

/// What a step's box says, one item a line: name, kind and GPUs, cache, cost.
pub(super) fn lines(s: &Node) -> Vec<String> {
    let mut kind = s.kind.clone();
    if s.gpu != "-" {
        kind.push_str(&format!(" · gpu {}", s.gpu));
    }
    let mut out = vec![s.name.clone(), kind, format!("cache {}", s.cache.line())];
    if let Some(c) = &s.cost {
        out.push(format!("cost {c}"));
    }
    out
}
