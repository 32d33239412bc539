//! The meta-batch's tasks spread over threads (native only; `metaplay train --threads N`).
//!
//! A gradient-based meta-learner's work is per task until the last sum over tasks, so the
//! tasks are cut into one contiguous slice per thread, each slice's per-task results are
//! computed on its own thread, and the slices are joined in task order before the sum: every
//! task's numbers are computed by the same operations whatever the slicing, and the sum sees
//! the same values in the same order, so the losses are the same for any number of threads.
//! In wasm (one thread) and by default there is one slice, computed where it is asked for.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::Result;

/// Threads the meta-batch is spread over (1: no threads).
static THREADS: AtomicUsize = AtomicUsize::new(1);

/// Most threads accepted.
pub const MAX_THREADS: usize = 64;

/// Spreads the meta-batch of the gradient-based meta-learners over `n` threads (clamped to
/// 1..=[`MAX_THREADS`]) from now on, in this process.
pub fn set_threads(n: usize) {
    THREADS.store(n.clamp(1, MAX_THREADS), Ordering::Relaxed);
}

/// Threads the meta-batch is spread over.
pub fn threads() -> usize {
    THREADS.load(Ordering::Relaxed)
}

/// `tasks` cut into at most [`threads`] contiguous `(start, len)` slices of near-equal size,
/// in task order.
pub fn slices(tasks: usize) -> Vec<(usize, usize)> {
    let n = threads().min(tasks).max(1);
    let (base, extra) = (tasks / n, tasks % n);
    let mut start = 0;
    (0..n)
        .map(|i| {
            let len = base + usize::from(i < extra);
            let slice = (start, len);
            start += len;
            slice
        })
        .collect()
}

/// A pool of `n` threads, the caller's included (native; started when first needed at that
/// size, and kept while the size asked for stays the same).
#[cfg(not(target_arch = "wasm32"))]
fn pool(n: usize) -> Result<std::sync::Arc<crate::engine::spin_pool::SpinPool>> {
    use crate::engine::spin_pool::SpinPool;
    use std::sync::{Arc, Mutex};
    static POOL: Mutex<Option<Arc<SpinPool>>> = Mutex::new(None);
    let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = pool.as_ref() {
        if p.size() == n {
            return Ok(p.clone());
        }
    }
    let p = Arc::new(
        SpinPool::new(n)
            .map_err(|e| crate::error::Error::Msg(format!("cannot start {n} threads: {e}")))?,
    );
    *pool = Some(p.clone());
    Ok(p)
}

/// `work` of every slice, in slice order: the first on this thread and the others on the
/// pool's helpers when there are several slices, inline when there is one. A panic in any
/// slice is raised here once all are done.
pub fn map_slices<T: Send>(
    slices: &[(usize, usize)],
    work: impl Fn(usize, usize) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    if let [(start, len)] = slices {
        return Ok(vec![work(*start, *len)?]);
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        use std::sync::Mutex;
        // a panic in a slice is raised by `run` once every slice is done
        let outcomes: Vec<Mutex<Option<Result<T>>>> =
            slices.iter().map(|_| Mutex::new(None)).collect();
        let work = &work;
        let jobs: Vec<_> = slices
            .iter()
            .zip(&outcomes)
            .map(|(&(start, len), slot)| {
                move || *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(work(start, len))
            })
            .collect();
        let refs: Vec<&(dyn Fn() + Sync)> = jobs.iter().map(|j| j as _).collect();
        // as many threads as slices, whatever `set_threads` says by now
        pool(slices.len())?.run(&refs);
        drop(refs);
        drop(jobs);
        outcomes
            .into_iter()
            .map(|slot| {
                slot.into_inner()
                    .unwrap_or_else(|e| e.into_inner())
                    .unwrap_or_else(|| Err(crate::error::Error::Msg("a slice did not run".into())))
            })
            .collect()
    }
    #[cfg(target_arch = "wasm32")]
    {
        slices
            .iter()
            .map(|&(start, len)| work(start, len))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_cover_the_tasks_in_order() {
        set_threads(3);
        assert_eq!(slices(25), vec![(0, 9), (9, 8), (17, 8)]);
        assert_eq!(slices(2), vec![(0, 1), (1, 1)]);
        set_threads(1);
        assert_eq!(slices(25), vec![(0, 25)]);
    }
}
