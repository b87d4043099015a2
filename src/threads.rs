//! Independent work split across the CPUs, with results in input order.
//!
//! `render` turns every step into manifests independently of the others; for large plans,
//! contiguous runs of steps are rendered on scoped threads. Joining the results in input
//! order keeps the output, and which error comes first, exactly as with one thread.
//! (Resolving by DAG level on threads was tried too: it did not pay for its thread starts.)

use std::sync::OnceLock;

/// Applies `f` to consecutive chunks of `items` and returns the results in order: one chunk
/// per CPU when each gets at least `min_per_thread` items, else one chunk for everything.
pub(crate) fn map_chunks<T, R, F>(items: &[T], min_per_thread: usize, f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&[T]) -> R + Sync,
{
    let threads = (items.len() / min_per_thread.max(1)).min(cpus());
    if threads < 2 {
        return vec![f(items)];
    }
    let chunk = items.len().div_ceil(threads);
    let (first, rest) = items.split_at(chunk);
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = rest
            .chunks(chunk)
            .map(|c| scope.spawn(move || f(c)))
            .collect();
        // The calling thread takes the first chunk instead of waiting idle.
        let mut out = Vec::with_capacity(threads);
        out.push(f(first));
        for h in handles {
            out.push(
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
        }
        out
    })
}

/// The CPUs this process may use, looked up once.
fn cpus() -> usize {
    static CPUS: OnceLock<usize> = OnceLock::new();
    *CPUS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_input_order() {
        let items: Vec<u32> = (0..1000).collect();
        let sums = map_chunks(&items, 10, |c| c.to_vec());
        assert_eq!(sums.concat(), items);
        assert_eq!(map_chunks(&items, 2000, <[u32]>::len), vec![1000]);
        assert_eq!(map_chunks(&[] as &[u32], 1, <[u32]>::len), vec![0]);
    }
}
