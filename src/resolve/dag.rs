//! The step graph: order, depth, and cycles named in full.

use std::collections::BTreeSet;

/// A dependency cycle, as step indices in order (the first is repeated at the end).
pub(super) type Circle = Vec<usize>;

/// The order and depth of each node, or a cycle.
///
/// `deps[i]` are the nodes `i` depends on. Returns `(order, depth)` where `order` lists the
/// nodes by (depth, index), so equal inputs always give the same order.
pub(super) fn order(deps: &[BTreeSet<usize>]) -> Result<(Vec<usize>, Vec<u32>), Circle> {
    let n = deps.len();
    let mut depth: Vec<Option<u32>> = vec![None; n];
    let mut remaining: BTreeSet<usize> = (0..n).collect();
    let mut level = 0u32;
    while !remaining.is_empty() {
        let ready: Vec<usize> = remaining
            .iter()
            .copied()
            .filter(|&i| {
                deps[i]
                    .iter()
                    .all(|&d| depth[d].is_some_and(|dd| dd < level))
            })
            .collect();
        if ready.is_empty() {
            return Err(find_circle(deps, &remaining));
        }
        for i in ready {
            depth[i] = Some(level);
            remaining.remove(&i);
        }
        level += 1;
    }
    let depth: Vec<u32> = depth.into_iter().map(|d| d.unwrap_or(0)).collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (depth[i], i));
    Ok((order, depth))
}

/// Walks dependencies inside the unresolved set until a node repeats.
fn find_circle(deps: &[BTreeSet<usize>], stuck: &BTreeSet<usize>) -> Circle {
    let Some(&start) = stuck.iter().next() else {
        return Vec::new();
    };
    let mut path = vec![start];
    let mut current = start;
    loop {
        let Some(&next) = deps[current].iter().find(|d| stuck.contains(d)) else {
            return path;
        };
        if let Some(pos) = path.iter().position(|&p| p == next) {
            let mut circle: Vec<usize> = path[pos..].to_vec();
            // Start the circle at its smallest node so the message is stable.
            let min_pos = circle
                .iter()
                .enumerate()
                .min_by_key(|(_, v)| **v)
                .map(|(i, _)| i)
                .unwrap_or(0);
            circle.rotate_left(min_pos);
            circle.push(circle[0]);
            return circle;
        }
        path.push(next);
        current = next;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn deps(edges: &[&[usize]]) -> Vec<BTreeSet<usize>> {
        edges.iter().map(|e| e.iter().copied().collect()).collect()
    }

    #[test]
    fn orders_by_depth_then_index() {
        let (order, depth) = order(&deps(&[&[2], &[], &[1], &[]])).unwrap();
        assert_eq!(depth, vec![2, 0, 1, 0]);
        assert_eq!(order, vec![1, 3, 2, 0]);
    }

    #[test]
    fn names_the_whole_circle() {
        // 0 -> 1 -> 2 -> 0, and 3 hangs off the circle.
        let circle = order(&deps(&[&[1], &[2], &[0], &[0]])).unwrap_err();
        assert_eq!(circle, vec![0, 1, 2, 0]);
        let self_loop = order(&deps(&[&[0]])).unwrap_err();
        assert_eq!(self_loop, vec![0, 0]);
    }
}
