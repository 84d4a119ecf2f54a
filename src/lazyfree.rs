//! Freeing large values off the reactor thread (UNLINK, FLUSHDB/FLUSHALL ASYNC), as Redis's
//! lazyfree does: dropping a set of ten million members takes the time of ten million frees,
//! which would stall every client if the reactor did it. The reactor hands the value to one
//! background thread and goes on; the counters are INFO's `lazyfree_pending_objects` and
//! `lazyfreed_objects`. A leaf module: it knows nothing of what it frees.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;

/// Something to drop, and how many objects it counts as.
type Garbage = (Box<dyn Send>, u64);

#[derive(Debug, Default)]
struct Counts {
    pending: AtomicU64,
    freed: AtomicU64,
}

/// The handle the reactor thread uses; the thread ends when the handle is dropped.
pub struct LazyFree {
    to_thread: Sender<Garbage>,
    counts: Arc<Counts>,
}

impl LazyFree {
    /// Starts the freeing thread.
    pub fn spawn() -> std::io::Result<LazyFree> {
        let (to_thread, from_reactor) = channel::<Garbage>();
        let counts = Arc::new(Counts::default());
        let thread_counts = counts.clone();
        std::thread::Builder::new()
            .name("lazyfree".into())
            .spawn(move || {
                for (garbage, objects) in from_reactor {
                    drop(garbage);
                    thread_counts.pending.fetch_sub(objects, Ordering::Relaxed);
                    thread_counts.freed.fetch_add(objects, Ordering::Relaxed);
                }
            })?;
        Ok(LazyFree { to_thread, counts })
    }

    /// Frees `garbage` (counted as `objects`) on the freeing thread. O(1) here.
    pub fn free<T: Send + 'static>(&self, garbage: T, objects: u64) {
        self.counts.pending.fetch_add(objects, Ordering::Relaxed);
        if let Err(returned) = self.to_thread.send((Box::new(garbage), objects)) {
            // The thread is gone (it cannot panic on a drop of plain data, but be safe):
            // free here.
            self.counts.pending.fetch_sub(objects, Ordering::Relaxed);
            drop(returned);
        }
    }

    /// Objects handed over and not yet freed.
    pub fn pending(&self) -> u64 {
        self.counts.pending.load(Ordering::Relaxed)
    }

    /// Objects freed by the thread since start (or the last [`Self::reset_freed`]).
    pub fn freed(&self) -> u64 {
        self.counts.freed.load(Ordering::Relaxed)
    }

    /// Restarts the freed count (CONFIG RESETSTAT, as Redis's `lazyfreeResetStats`).
    pub fn reset_freed(&self) {
        self.counts.freed.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn frees_on_its_thread_and_counts() {
        let lazy = LazyFree::spawn().unwrap();
        lazy.free(vec![0u8; 1 << 20], 3);
        lazy.free(String::from("x"), 1);
        let deadline = Instant::now() + Duration::from_secs(10);
        while lazy.freed() < 4 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!((lazy.freed(), lazy.pending()), (4, 0));
    }
}
