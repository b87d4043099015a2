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
/// Applies `f` to every item on up to `width` scoped threads that take the next item as they
/// finish one, and returns the results in input order: for work that waits on the network
/// (a cache store's lookups), where threads wait more than they compute.
pub(crate) fn map_waiting<T, R, F>(items: &[T], width: usize, f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let width = width.min(items.len());
    if width < 2 {
        return items.iter().map(f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(item) = items.get(i) else {
                return done;
            };
            done.push((i, f(item)));
        }
    };
    let mut all: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (1..width).map(|_| scope.spawn(work)).collect();
        let mut all = work();
        for h in handles {
            all.extend(
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
        }
        all
    });
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, r)| r).collect()
}

fn cpus() -> usize {
    static CPUS: OnceLock<usize> = OnceLock::new();
    *CPUS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_work_keeps_input_order() {
        let items: Vec<u64> = (0..100).collect();
        let out = map_waiting(&items, 8, |i| {
            std::thread::sleep(std::time::Duration::from_micros((100 - i) * 10));
            i * 2
        });
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(map_waiting(&items[..1], 8, |i| i + 1), vec![1]);
        assert!(map_waiting(&items[..0], 8, |i| i + 1).is_empty());
    }

    #[test]
    fn results_keep_input_order() {
        let items: Vec<u32> = (0..1000).collect();
        let sums = map_chunks(&items, 10, |c| c.to_vec());
        assert_eq!(sums.concat(), items);
        assert_eq!(map_chunks(&items, 2000, <[u32]>::len), vec![1000]);
        assert_eq!(map_chunks(&[] as &[u32], 1, <[u32]>::len), vec![0]);
    }
}
