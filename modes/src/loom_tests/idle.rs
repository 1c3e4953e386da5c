//! The idle-worker wake rule: new work never sits unseen while a worker sleeps.

use std::sync::atomic::Ordering;

use loom::sync::atomic::{AtomicBool, AtomicUsize};
use loom::sync::Arc;
use loom::thread;

use crate::threads::idle::Idle;

#[test]
fn push_vs_park_no_lost_wakeup() {
    loom::model(|| {
        let idle = Arc::new(Idle::new(2));
        let queue = Arc::new(AtomicUsize::new(0));
        let notified = Arc::new(AtomicBool::new(false));

        // Worker 1: registers as parked, then takes a last look at the queue.
        let (i2, q2) = (idle.clone(), queue.clone());
        let worker = thread::spawn(move || {
            i2.transition_to_parked(1, false);
            crate::loom::fence(Ordering::SeqCst);
            q2.load(Ordering::SeqCst) == 0 // true: it really sleeps
        });

        // Worker 0 pushes work, then asks whom to wake.
        queue.fetch_add(1, Ordering::SeqCst);
        crate::loom::fence(Ordering::SeqCst);
        if idle.worker_to_notify() == Some(1) {
            notified.store(true, Ordering::SeqCst);
        }

        let slept = worker.join().unwrap();
        assert!(
            !slept || notified.load(Ordering::SeqCst),
            "work queued while worker 1 sleeps unnotified"
        );
    });
}

#[test]
fn last_searcher_hands_over() {
    loom::model(|| {
        let idle = Arc::new(Idle::new(2));
        // Worker 1 parks; worker 0 searches.
        idle.transition_to_parked(1, false);
        assert!(idle.transition_to_searching());
        let i2 = idle.clone();
        // Another thread pushes while worker 0 is searching: no wake (a searcher exists)...
        let pusher = thread::spawn(move || i2.worker_to_notify());
        let woke_now = pusher.join().unwrap();
        // ...and when the searcher finds work and stops, it was the last one.
        let last = idle.transition_from_searching();
        assert!(woke_now.is_none() || !last);
        if woke_now.is_none() {
            assert!(last);
            assert_eq!(idle.worker_to_notify(), Some(1));
        }
    });
}
