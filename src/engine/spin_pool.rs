//! Helper threads for the slices of a meta-batch that, between meta-batches, spin a while
//! before they sleep (native only; [`crate::engine::parallel`]).
//!
//! A pool thread that sleeps between meta-iterations is woken by a futex call and a context
//! switch at every one: about 9% of a two-thread MAML iteration in `perf` with rayon's pool
//! (BENCHMARKS.md, issue 16). Here the calling thread runs the first slice itself and each
//! helper one other slice; an idle helper polls for [`SPIN`] before it waits on its condvar.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long an idle helper (or the caller, waiting for the helpers) polls before it sleeps.
const SPIN: Duration = Duration::from_millis(2);

/// A closure lent to a helper: valid until the caller has seen the helper finish it, which
/// [`SpinPool::run`] waits for before it returns or unwinds.
#[derive(Clone, Copy)]
struct Job(*const (dyn Fn() + Sync + 'static));

// SAFETY: the closure is `Sync`, and it is only called while its owner waits in `run`.
unsafe impl Send for Job {}

/// One helper's mailbox.
struct Mailbox {
    /// Jobs posted so far (changed with `job` locked, so a sleeping helper cannot miss one).
    posted: AtomicUsize,
    /// Jobs this helper has finished.
    finished: AtomicUsize,
    job: Mutex<Option<Job>>,
    wake: Condvar,
    exit: AtomicBool,
    /// The last job's panic, for the poster to raise.
    panic: Mutex<Option<Box<dyn std::any::Any + Send>>>,
}

/// `n − 1` helper threads; the caller is the n-th.
pub struct SpinPool {
    mailboxes: Vec<Arc<Mailbox>>,
}

impl SpinPool {
    /// A pool that runs `n` jobs at once (`n − 1` helpers).
    pub fn new(n: usize) -> std::io::Result<Self> {
        let mut mailboxes = Vec::new();
        for i in 1..n.max(1) {
            let mailbox = Arc::new(Mailbox {
                posted: AtomicUsize::new(0),
                finished: AtomicUsize::new(0),
                job: Mutex::new(None),
                wake: Condvar::new(),
                exit: AtomicBool::new(false),
                panic: Mutex::new(None),
            });
            let theirs = mailbox.clone();
            std::thread::Builder::new()
                .name(format!("metaplay-tasks-{i}"))
                .spawn(move || serve(&theirs))?;
            mailboxes.push(mailbox);
        }
        Ok(Self { mailboxes })
    }

    /// Jobs run at once (helpers and the caller).
    pub fn size(&self) -> usize {
        self.mailboxes.len() + 1
    }

    /// Runs `jobs[0]` on this thread and the others on the helpers (at most [`Self::size`]
    /// jobs), and returns when all are done. A panic in a job is raised here, after all are
    /// done.
    pub fn run(&self, jobs: &[&(dyn Fn() + Sync)]) {
        assert!(jobs.len() <= self.size(), "more jobs than threads");
        let Some((first, rest)) = jobs.split_first() else {
            return;
        };
        let mut targets = Vec::with_capacity(rest.len());
        for (job, mailbox) in rest.iter().zip(&self.mailboxes) {
            let ptr: *const (dyn Fn() + Sync + '_) = *job;
            // SAFETY: only the lifetime changes; `run` waits below until the helper has
            // finished the job, so the closure outlives every use of the pointer.
            let job = Job(unsafe {
                std::mem::transmute::<*const (dyn Fn() + Sync + '_), *const (dyn Fn() + Sync)>(ptr)
            });
            let mut slot = mailbox.job.lock().unwrap_or_else(PoisonError::into_inner);
            *slot = Some(job);
            targets.push(mailbox.posted.fetch_add(1, Ordering::AcqRel) + 1);
            drop(slot);
            mailbox.wake.notify_one();
        }
        let mine = catch_unwind(AssertUnwindSafe(*first));
        // wait for every helper, even when our own job panicked: they use our closures
        for (mailbox, target) in self.mailboxes.iter().zip(targets) {
            let start = Instant::now();
            while mailbox.finished.load(Ordering::Acquire) < target {
                if start.elapsed() < SPIN {
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
        }
        // every helper's panic is taken, so that none is left for the next call
        let theirs: Vec<_> = self
            .mailboxes
            .iter()
            .filter_map(|m| {
                m.panic
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take()
            })
            .collect();
        if let Some(panic) = mine.err().into_iter().chain(theirs).next() {
            resume_unwind(panic);
        }
    }
}

impl Drop for SpinPool {
    fn drop(&mut self) {
        for mailbox in &self.mailboxes {
            let slot = mailbox.job.lock().unwrap_or_else(PoisonError::into_inner);
            mailbox.exit.store(true, Ordering::Release);
            drop(slot);
            mailbox.wake.notify_one();
        }
    }
}

/// A helper's loop: poll for a job for [`SPIN`], then sleep until one is posted; run it, and
/// keep its panic, if any, for the poster.
fn serve(mailbox: &Mailbox) {
    let mut done = 0;
    loop {
        let start = Instant::now();
        let mut polls = 0u32;
        while mailbox.posted.load(Ordering::Acquire) == done {
            if mailbox.exit.load(Ordering::Acquire) {
                return;
            }
            polls = polls.wrapping_add(1);
            if polls.is_multiple_of(64) && start.elapsed() > SPIN {
                let mut slot = mailbox.job.lock().unwrap_or_else(PoisonError::into_inner);
                while mailbox.posted.load(Ordering::Acquire) == done
                    && !mailbox.exit.load(Ordering::Acquire)
                {
                    slot = mailbox
                        .wake
                        .wait(slot)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                break;
            }
            std::hint::spin_loop();
        }
        if mailbox.exit.load(Ordering::Acquire) {
            return;
        }
        let job = mailbox
            .job
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(Job(f)) = job {
            // SAFETY: the poster waits in `run` until `finished` passes this job; a panic
            // stops here, so that `finished` still moves and the poster does not wait forever
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| unsafe { (*f)() })) {
                *mailbox.panic.lock().unwrap_or_else(PoisonError::into_inner) = Some(panic);
            }
        }
        done += 1;
        mailbox.finished.store(done, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    #[test]
    fn every_job_runs_once_per_call_and_the_pool_survives_a_panic() {
        let pool = SpinPool::new(3).unwrap();
        assert_eq!(pool.size(), 3);
        let counts: Vec<AtomicU64> = (0..3).map(|_| AtomicU64::new(0)).collect();
        let jobs: Vec<Box<dyn Fn() + Sync + '_>> = (0..3)
            .map(|i| {
                let c = &counts[i];
                Box::new(move || {
                    c.fetch_add(i as u64 + 1, Ordering::Relaxed);
                }) as Box<dyn Fn() + Sync + '_>
            })
            .collect();
        let refs: Vec<&(dyn Fn() + Sync)> = jobs.iter().map(|j| j.as_ref()).collect();
        for _ in 0..100 {
            pool.run(&refs);
        }
        // sleep past the spin so that the helpers park, then wake them again
        std::thread::sleep(SPIN * 3);
        pool.run(&refs);
        let got: Vec<u64> = counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        assert_eq!(got, vec![101, 202, 303]);

        // a helper's job panics: `run` raises it once every job is done
        let done = AtomicU64::new(0);
        let ok = || {
            done.fetch_add(1, Ordering::Relaxed);
        };
        let bad = || panic!("slice failed");
        let caught = catch_unwind(AssertUnwindSafe(|| pool.run(&[&ok, &bad, &ok])));
        assert!(caught.is_err());
        assert_eq!(done.load(Ordering::Relaxed), 2);
        // and the pool still works
        pool.run(&refs[..2]);
        assert_eq!(counts[1].load(Ordering::Relaxed), 204);
    }
}
