//! `mlk plan -o dot`: the DAG in Graphviz DOT (`mlk plan … -o dot | dot -Tsvg`). Each node
//! says the step's kind, GPUs, cache status and cost in words, and its style says the cache
//! status too (hit: rounded, off: dashed, unknown: dotted, miss: plain box).

use super::Graph;
use super::mermaid::lines;

/// The digraph of `g`, byte-stable.
pub(crate) fn dot(g: &Graph) -> String {
    let mut out = format!("digraph {} {{\n", quote(&g.pipeline));
    out.push_str("  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\", fontsize=10];\n");
    for s in &g.steps {
        let label = lines(s)
            .iter()
            .map(|l| escape(l))
            .collect::<Vec<_>>()
            .join("\\n");
        let style = match s.cache.status.as_str() {
            "hit" => "style=\"rounded,filled\", fillcolor=\"#e6f4ea\"",
            "off" => "style=\"dashed\"",
            "unknown" => "style=\"dotted\"",
            _ => "style=\"filled\", fillcolor=\"#fff4e0\"",
        };
        out.push_str(&format!(
            "  {} [label=\"{label}\", {style}];\n",
            quote(&s.name)
        ));
    }
    for (a, b) in g.edges() {
        out.push_str(&format!(
            "  {} -> {};\n",
            quote(&g.steps[a].name),
            quote(&g.steps[b].name)
        ));
    }
    out.push_str("}\n");
    out
}

/// A DOT quoted ID.
fn quote(id: &str) -> String {
    format!("\"{}\"", escape(id))
}

/// Backslashes and double quotes escaped for a DOT string.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}
