//! A small parallel map over a slice, for work that is independent per item
//! (hashing files, parsing records): one scoped thread per core, items
//! handed out one at a time so a large item does not hold up the rest.
//! `map_ordered` streams: results come back in order as they are done,
//! with a bounded number in flight (verify over 100,000 runs).

use std::sync::atomic::{AtomicUsize, Ordering};

/// Maps `f` over `items` on all cores; results are in the order of `items`.
/// `init` makes per-thread scratch state (a read buffer, say).
pub fn map_with<T, S, R>(
    items: &[T],
    init: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, &T) -> R + Sync,
) -> Vec<R>
where
    T: Sync,
    R: Send,
{
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    map_workers(items, cores, init, f)
}

/// Like `map_with` with an explicit number of threads (for work that
/// waits on the network rather than the CPU).
pub fn map_workers<T, S, R>(
    items: &[T],
    workers: usize,
    init: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, &T) -> R + Sync,
) -> Vec<R>
where
    T: Sync,
    R: Send,
{
    let workers = workers.max(1).min(items.len());
    if workers <= 1 {
        let mut state = init();
        return items.iter().map(|item| f(&mut state, item)).collect();
    }
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut state = init();
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        done.push((i, f(&mut state, item)));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    results.sort_unstable_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// Maps `f` over `items` on all cores, handing each result to `sink` in
/// the order of `items` as soon as it and those before it are done. At
/// most `window` items are taken from `items` and not yet given to `sink`,
/// so memory stays bounded however many items there are.
pub fn map_ordered<T, R>(
    items: impl Iterator<Item = T>,
    window: usize,
    f: impl Fn(T) -> R + Sync,
    mut sink: impl FnMut(R),
) where
    T: Send,
    R: Send,
{
    use std::collections::BTreeMap;
    use std::sync::{Mutex, mpsc};
    let window = window.max(1);
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let (work_tx, work_rx) = mpsc::sync_channel::<(usize, T)>(window);
    let work_rx = Mutex::new(work_rx);
    let (done_tx, done_rx) = mpsc::channel::<(usize, std::thread::Result<R>)>();
    std::thread::scope(|scope| {
        for _ in 0..cores {
            let (work_rx, done_tx, f) = (&work_rx, done_tx.clone(), &f);
            scope.spawn(move || {
                loop {
                    let job = work_rx
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .recv();
                    let Ok((i, item)) = job else { break };
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(item)));
                    if done_tx.send((i, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        let mut items = items;
        let (mut sent, mut emitted) = (0, 0);
        let mut waiting: BTreeMap<usize, R> = BTreeMap::new();
        loop {
            while sent < emitted + window {
                let Some(item) = items.next() else { break };
                if work_tx.send((sent, item)).is_err() {
                    break;
                }
                sent += 1;
            }
            if emitted == sent {
                break;
            }
            let Ok((i, result)) = done_rx.recv() else {
                break;
            };
            match result {
                Ok(r) => {
                    waiting.insert(i, r);
                }
                Err(panic) => std::panic::resume_unwind(panic),
            }
            while let Some(r) = waiting.remove(&emitted) {
                sink(r);
                emitted += 1;
            }
        }
        drop(work_tx);
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_order() {
        let items: Vec<u32> = (0..1000).collect();
        let out = super::map_with(
            &items,
            || 0u32,
            |calls, x| {
                *calls += 1;
                x * 2
            },
        );
        assert_eq!(out, items.iter().map(|x| x * 2).collect::<Vec<_>>());
    }

    #[test]
    fn ordered_results_stream_in_order_within_the_window() {
        let in_flight = std::sync::atomic::AtomicUsize::new(0);
        let mut out = Vec::new();
        super::map_ordered(
            0..500u64,
            8,
            |x| {
                let now = in_flight.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                assert!(now < 8 + 1, "at most the window in flight");
                std::thread::sleep(std::time::Duration::from_micros((x * 7919) % 300));
                in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                x * 2
            },
            |r| out.push(r),
        );
        assert_eq!(out, (0..500).map(|x| x * 2).collect::<Vec<_>>());
    }
}
