//! The report's DAG as SVG: a box per step (`g.node`, with its state in words, a glyph and
//! a border style) and a curve per dependency (`path.edge`), placed by [`super::layout`] in
//! layers from left to right, each layer centred on the tallest.

use std::fmt::Write as _;

use super::escape;
use super::html::glyph;
use super::layout::layout;
use super::lineage::RunFacts;
use crate::exec::StepState;

/// Box size and gaps of the DAG drawing, in SVG units.
const NODE_W: usize = 200;
const NODE_H: usize = 52;
const GAP_X: usize = 70;
const GAP_Y: usize = 14;
const MARGIN: usize = 10;
/// Room above the top row for edges that arc over boxes.
const ARC: usize = NODE_H * 3 / 4;
/// Longest step name shown whole in a box (longer ones are cut, the full name is the title).
const NAME_CHARS: usize = 26;

/// The DAG as SVG: one `g.node` per step, one `path.edge` per dependency.
pub(super) fn dag(out: &mut String, run: &RunFacts) {
    let g = &run.graph;
    let edges = g.edges();
    let l = layout(g.steps.len(), &edges);
    let rows = l.layers.iter().map(Vec::len).max().unwrap_or(0);
    let width = MARGIN * 2 + l.layers.len() * (NODE_W + GAP_X) - GAP_X.min(l.layers.len() * GAP_X);
    let height = MARGIN * 2 + rows * (NODE_H + GAP_Y) + ARC;
    // Each layer is centred vertically on the tallest.
    let at = |v: usize| {
        let (layer, row) = l.place[v];
        let offset = (rows - l.layers[layer].len()) * (NODE_H + GAP_Y) / 2;
        let x = MARGIN + layer * (NODE_W + GAP_X);
        (x, MARGIN + offset + row * (NODE_H + GAP_Y))
    };
    let _ = write!(
        out,
        "<section id=\"dag\"><h2>DAG</h2>\n<p class=\"legend\"><span>✓ done (solid)</span><span>↺ cached (dashed)</span>\
         <span>✗ failed (thick)</span><span>▶ running</span><span>– skipped / … waiting / ○ not run (dotted)</span></p>\n\
         <div class=\"dag\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 -{ARC} {width} {height}\" role=\"img\" aria-label=\"{} steps, {} dependencies\">\n\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" \
         orient=\"auto-start-reverse\"><path d=\"M0,0L10,5L0,10z\" fill=\"#666\"/></marker></defs>\n",
        g.steps.len(),
        edges.len()
    );
    for &(a, b) in &edges {
        let d = edge_path(at(a), at(b), l.place[b].0 - l.place[a].0);
        let _ = writeln!(
            out,
            "<path class=\"edge\" data-from=\"{}\" data-to=\"{}\" d=\"{d}\" marker-end=\"url(#arrow)\"/>",
            escape(&g.steps[a].name),
            escape(&g.steps[b].name)
        );
    }
    for (v, s) in g.steps.iter().enumerate() {
        let state = run
            .record
            .steps
            .get(v)
            .map_or(StepState::Waiting, |r| r.state);
        let (x, y) = at(v);
        let name = if s.name.chars().count() > NAME_CHARS {
            let cut: String = s.name.chars().take(NAME_CHARS - 1).collect();
            format!("{cut}…")
        } else {
            s.name.clone()
        };
        let mut detail = s.kind.clone();
        if s.gpu != "-" {
            detail.push_str(&format!(" · gpu {}", s.gpu));
        }
        let _ = writeln!(
            out,
            "<g class=\"node st-{st}\" data-step=\"{n}\"><title>{n}: {st}, cache {c}</title>\
             <rect x=\"{x}\" y=\"{y}\" width=\"{NODE_W}\" height=\"{NODE_H}\" rx=\"6\"/>\
             <text class=\"name\" x=\"{tx}\" y=\"{t1}\">{g} {name}</text>\
             <text x=\"{tx}\" y=\"{t2}\">{st} · {detail}</text>\
             <text x=\"{tx}\" y=\"{t3}\">cache {cs}</text></g>",
            st = state.as_str(),
            n = escape(&s.name),
            c = escape(&s.cache.line()),
            cs = escape(&s.cache.status),
            tx = x + 8,
            t1 = y + 16,
            t2 = y + 31,
            t3 = y + 46,
            g = glyph(state),
            name = escape(&name),
            detail = escape(&detail),
        );
    }
    out.push_str("</svg></div></section>\n");
}

/// The curve from the box at `from` to the box at `to`, `span` layers apart. An edge to the
/// next layer is an S curve between the boxes; a longer one arcs above the boxes between.
fn edge_path(from: (usize, usize), to: (usize, usize), span: usize) -> String {
    let (x1, y1) = (from.0 + NODE_W, from.1 + NODE_H / 2);
    let (x2, y2) = (to.0, to.1 + NODE_H / 2);
    if span <= 1 {
        let mid = (x1 + x2) / 2;
        return format!("M{x1},{y1}C{mid},{y1} {mid},{y2} {x2},{y2}");
    }
    // Control points one box height above the higher end: the curve clears the boxes' tops.
    let top = from.1.min(to.1) as i64 - NODE_H as i64;
    let (c1, c2) = (x1 + GAP_X, x2 - GAP_X);
    format!("M{x1},{y1}C{c1},{top} {c2},{top} {x2},{y2}")
}
