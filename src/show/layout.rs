//! mlk's own layered layout of a DAG, for the report's SVG: longest-path layering (a step
//! sits one layer right of its deepest upstream step), then barycentric crossing reduction
//! (a few sweeps that order each layer by the mean position of each step's neighbours in
//! the layer before, then after). Deterministic: ties keep plan order.

/// Where each step goes: its layer (column) and its row within that layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Layout {
    /// The steps of each layer, top to bottom.
    pub layers: Vec<Vec<usize>>,
    /// Per step: (layer, row).
    pub place: Vec<(usize, usize)>,
}

/// Sweeps of crossing reduction (down then up counts as two).
const SWEEPS: usize = 8;

/// Lays out `n` steps joined by `edges` (upstream, downstream). Edges that would make a
/// cycle cannot come from a plan (resolve rejects cycles); their steps land in layer 0.
pub(super) fn layout(n: usize, edges: &[(usize, usize)]) -> Layout {
    let layer = layers_of(n, edges);
    let depth = layer.iter().max().map_or(0, |d| d + 1);
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); depth];
    for (v, &l) in layer.iter().enumerate() {
        layers[l].push(v);
    }
    let mut ups: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut downs: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in edges {
        ups[b].push(a);
        downs[a].push(b);
    }
    let mut row = rows_of(&layers, n);
    let mut best = (crossings(&layers, edges, &layer, &row), layers.clone());
    for sweep in 0..SWEEPS {
        let down = sweep % 2 == 0;
        let order: Vec<usize> = if down {
            (1..layers.len()).collect()
        } else {
            (0..layers.len().saturating_sub(1)).rev().collect()
        };
        for l in order {
            let near = if down { &ups } else { &downs };
            reorder(&mut layers[l], near, &row);
            for (r, &v) in layers[l].iter().enumerate() {
                row[v] = r;
            }
        }
        let c = crossings(&layers, edges, &layer, &row);
        if c < best.0 {
            best = (c, layers.clone());
        }
    }
    let layers = best.1;
    let row = rows_of(&layers, n);
    let place = (0..n).map(|v| (layer[v], row[v])).collect();
    Layout { layers, place }
}

/// Longest-path layering: each step one layer after its deepest upstream step.
fn layers_of(n: usize, edges: &[(usize, usize)]) -> Vec<usize> {
    let mut indegree = vec![0usize; n];
    let mut downs: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in edges {
        indegree[b] += 1;
        downs[a].push(b);
    }
    let mut layer = vec![0usize; n];
    let mut ready: std::collections::BTreeSet<usize> =
        (0..n).filter(|&v| indegree[v] == 0).collect();
    while let Some(v) = ready.pop_first() {
        for &w in &downs[v] {
            layer[w] = layer[w].max(layer[v] + 1);
            indegree[w] -= 1;
            if indegree[w] == 0 {
                ready.insert(w);
            }
        }
    }
    layer
}

/// Each step's row in its layer.
fn rows_of(layers: &[Vec<usize>], n: usize) -> Vec<usize> {
    let mut row = vec![0; n];
    for l in layers {
        for (r, &v) in l.iter().enumerate() {
            row[v] = r;
        }
    }
    row
}

/// Orders one layer by the mean row of each step's neighbours in `near`; a step without
/// neighbours keeps its row. The sort is stable, so ties keep their order.
fn reorder(layer: &mut [usize], near: &[Vec<usize>], row: &[usize]) {
    let key = |v: usize| -> f64 {
        let ns = &near[v];
        if ns.is_empty() {
            row[v] as f64
        } else {
            ns.iter().map(|&u| row[u] as f64).sum::<f64>() / ns.len() as f64
        }
    };
    let mut keyed: Vec<(f64, usize, usize)> = layer
        .iter()
        .enumerate()
        .map(|(r, &v)| (key(v), r, v))
        .collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    for (slot, (_, _, v)) in layer.iter_mut().zip(keyed) {
        *slot = v;
    }
}

/// Crossings between edges that join the same two adjacent layers (longer edges are drawn
/// as curves and not counted).
pub(super) fn crossings(
    layers: &[Vec<usize>],
    edges: &[(usize, usize)],
    layer: &[usize],
    row: &[usize],
) -> usize {
    let mut by_gap: Vec<Vec<(usize, usize)>> = vec![Vec::new(); layers.len()];
    for &(a, b) in edges {
        if layer[b] == layer[a] + 1 {
            by_gap[layer[a]].push((row[a], row[b]));
        }
    }
    let mut count = 0;
    for gap in &mut by_gap {
        gap.sort_unstable();
        for i in 0..gap.len() {
            for j in i + 1..gap.len() {
                if gap[i].0 < gap[j].0 && gap[i].1 > gap[j].1 {
                    count += 1;
                }
            }
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crossings_of(l: &Layout, edges: &[(usize, usize)]) -> usize {
        let layer: Vec<usize> = l.place.iter().map(|p| p.0).collect();
        let row: Vec<usize> = l.place.iter().map(|p| p.1).collect();
        crossings(&l.layers, edges, &layer, &row)
    }

    #[test]
    fn layers_are_longest_paths() {
        // 0 → 1 → 2, and 0 → 2 directly: 2 goes after 1.
        let l = layout(3, &[(0, 1), (1, 2), (0, 2)]);
        assert_eq!(l.place, vec![(0, 0), (1, 0), (2, 0)]);
    }

    #[test]
    fn crossing_reduction_untangles_two_chains() {
        // Two chains 0→3 and 1→2 crossed by plan order: reordering removes the crossing.
        let edges = [(0, 3), (1, 2)];
        let l = layout(4, &edges);
        assert_eq!(crossings_of(&l, &edges), 0, "{l:?}");
        // A fan-out and fan-in keeps every step in its layer.
        let mut edges = Vec::new();
        for i in 1..=4 {
            edges.push((0, i));
            edges.push((i, 5));
        }
        let l = layout(6, &edges);
        assert_eq!(l.layers.len(), 3);
        assert_eq!(l.layers[1].len(), 4);
    }

    #[test]
    fn never_worse_than_plan_order() {
        // A 200-step pseudo-random DAG: the result has no more crossings than plan order.
        let n = 200;
        let mut edges = Vec::new();
        let mut x: u64 = 7;
        for b in 1..n {
            for _ in 0..2 {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let a = (x >> 33) as usize % b;
                if !edges.contains(&(a, b)) {
                    edges.push((a, b));
                }
            }
        }
        let l = layout(n, &edges);
        let layer = layers_of(n, &edges);
        let depth = layer.iter().max().unwrap_or(&0) + 1;
        let mut plain: Vec<Vec<usize>> = vec![Vec::new(); depth];
        for (v, &d) in layer.iter().enumerate() {
            plain[d].push(v);
        }
        let before = crossings(&plain, &edges, &layer, &rows_of(&plain, n));
        let after = crossings_of(&l, &edges);
        assert!(after <= before, "{after} > {before}");
        assert_eq!(l.place.len(), n);
    }
}
