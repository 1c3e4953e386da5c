//! Which workers are parked, and which to wake (after tokio's `idle.rs` and Go's
//! spinning-M rule).
//!
//! State: one word packs the number of *searching* workers (low half: awake, with no
//! task, stealing) and of *unparked* workers (high half); `sleepers` lists the parked ones.
//!
//! Rules:
//! 1. New work wakes a worker only if nobody is searching (a searcher will find it) and
//!    somebody is parked. The woken worker starts out searching. So a burst of spawns
//!    wakes one worker, not all of them: each wake costs a cross-core IPI (40-55 us on
//!    this VM) that is only worth paying when nobody is already looking.
//! 2. At most half the workers search at once; the others park.
//! 3. A searcher that finds work stops searching; if it was the last searcher it wakes
//!    another worker (rule 1), so work that remains queued is always looked at.
//! 4. A worker registers as parked (under the `sleepers` lock) *before* its last check of
//!    the queues, and a pusher pushes *before* it reads the state, both with a SeqCst
//!    fence between: one of them always sees the other, so no wake-up is lost.

use std::sync::atomic::Ordering;

use crate::loom::{AtomicUsize, Mutex};

const UNPARK_SHIFT: usize = 16;
const SEARCH_MASK: usize = (1 << UNPARK_SHIFT) - 1;

pub(crate) struct Idle {
    state: AtomicUsize,
    sleepers: Mutex<Vec<usize>>,
    num_workers: usize,
}

fn searching(s: usize) -> usize {
    s & SEARCH_MASK
}

fn unparked(s: usize) -> usize {
    s >> UNPARK_SHIFT
}

impl Idle {
    pub(crate) fn new(num_workers: usize) -> Idle {
        Idle {
            // Every worker starts unparked, none searching.
            state: AtomicUsize::new(num_workers << UNPARK_SHIFT),
            sleepers: Mutex::new(Vec::with_capacity(num_workers)),
            num_workers,
        }
    }

    fn should_wake(&self) -> bool {
        let s = self.state.load(Ordering::SeqCst);
        searching(s) == 0 && unparked(s) < self.num_workers
    }

    /// Rule 1: the worker to unpark for new work, if any. It is counted as unparked and
    /// searching before this returns.
    pub(crate) fn worker_to_notify(&self) -> Option<usize> {
        if !self.should_wake() {
            return None;
        }
        let mut sleepers = self.sleepers.lock();
        if !self.should_wake() {
            return None;
        }
        let w = sleepers.pop()?;
        self.state
            .fetch_add((1 << UNPARK_SHIFT) | 1, Ordering::SeqCst);
        Some(w)
    }

    /// Rule 2: try to become a searcher. `false` if half the workers already search.
    pub(crate) fn transition_to_searching(&self) -> bool {
        let s = self.state.load(Ordering::SeqCst);
        if 2 * searching(s) >= self.num_workers.max(2) {
            return false;
        }
        self.state.fetch_add(1, Ordering::SeqCst);
        true
    }

    /// Rule 3: stop searching. `true` if this was the last searcher.
    pub(crate) fn transition_from_searching(&self) -> bool {
        let prev = self.state.fetch_sub(1, Ordering::SeqCst);
        searching(prev) == 1
    }

    /// Rule 4, first half: register as parked. `true` if this was the last searcher.
    pub(crate) fn transition_to_parked(&self, worker: usize, was_searching: bool) -> bool {
        let mut sleepers = self.sleepers.lock();
        let dec = (1 << UNPARK_SHIFT) | usize::from(was_searching);
        let prev = self.state.fetch_sub(dec, Ordering::SeqCst);
        sleepers.push(worker);
        was_searching && searching(prev) == 1
    }

    /// After waking: `true` if a notifier woke us (we are already counted as unparked and
    /// searching); `false` if we woke by ourselves (timer, spurious) and had to take
    /// ourselves off the sleepers list and count ourselves unparked.
    pub(crate) fn transition_from_parked(&self, worker: usize) -> bool {
        let mut sleepers = self.sleepers.lock();
        match sleepers.iter().position(|&w| w == worker) {
            Some(i) => {
                sleepers.swap_remove(i);
                self.state.fetch_add(1 << UNPARK_SHIFT, Ordering::SeqCst);
                false
            }
            None => true,
        }
    }

    #[cfg(test)]
    pub(crate) fn is_parked(&self, worker: usize) -> bool {
        self.sleepers.lock().contains(&worker)
    }

    #[cfg(test)]
    pub(crate) fn counts(&self) -> (usize, usize) {
        let s = self.state.load(Ordering::SeqCst);
        (searching(s), unparked(s))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Idle;

    #[test]
    fn one_wake_per_burst() {
        let idle = Idle::new(4);
        // Workers 1..3 park.
        for w in 1..4 {
            assert!(!idle.transition_to_parked(w, false));
        }
        assert_eq!(idle.counts(), (0, 1));
        let first = idle.worker_to_notify();
        assert!(first.is_some());
        // A searcher exists now: further work does not wake anyone.
        assert_eq!(idle.worker_to_notify(), None);
        assert_eq!(idle.counts(), (1, 2));
        // The searcher finds work; it was the last, so the next push wakes another.
        assert!(idle.transition_from_searching());
        assert!(idle.worker_to_notify().is_some());
    }

    #[test]
    fn at_most_half_search() {
        let idle = Idle::new(4);
        assert!(idle.transition_to_searching());
        assert!(idle.transition_to_searching());
        assert!(!idle.transition_to_searching());
    }

    #[test]
    fn self_woken_worker_recounts_itself() {
        let idle = Idle::new(2);
        idle.transition_to_parked(1, false);
        assert!(!idle.transition_from_parked(1));
        assert_eq!(idle.counts(), (0, 2));
        assert!(!idle.is_parked(1));
    }
}
