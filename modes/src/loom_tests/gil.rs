//! The GIL hand-off (`gil.rs`, rules 1-4): one holder at a time, no lost wake-up, and a
//! holder that drops the lock at a checkpoint for a waiter does not take it straight back.
//!
//! loom's `Condvar::wait_timeout` never times out, so a waiter's rule-2 request (its
//! interval passed with no switch) is made by a third thread, at any point of the
//! interleaving, under the same conditions the waiter makes it in (lock held, a waiter
//! counted): `Gil::request_drop_as_waiter`.

use std::sync::Arc;
use std::time::Duration;

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;

use crate::gil::{allow_threads, checkpoint, Gil};
use crate::loom::Mutex;

/// Runs `f` as the lock's holder, checking that nobody else is inside meanwhile.
fn exclusive(inside: &AtomicUsize, order: &Mutex<Vec<&'static str>>, who: &'static str) {
    assert_eq!(
        inside.fetch_add(1, Ordering::SeqCst),
        0,
        "two holders at once"
    );
    order.lock().push(who);
    assert_eq!(inside.fetch_sub(1, Ordering::SeqCst), 1);
}

#[test]
fn forced_switch_hands_the_lock_to_the_waiter() {
    loom::model(|| {
        let gil = Arc::new(Gil::new(Duration::from_millis(5)));
        let inside = Arc::new(AtomicUsize::new(0));
        let order = Arc::new(Mutex::new(Vec::new()));

        let holder = {
            let (gil, inside, order) = (gil.clone(), inside.clone(), order.clone());
            thread::spawn(move || {
                let _held = gil.hold();
                exclusive(&inside, &order, "holder");
                checkpoint(); // may drop the lock to the waiter (rule 3)
                exclusive(&inside, &order, "holder");
            })
        };
        let waiter = {
            let (gil, inside, order) = (gil.clone(), inside.clone(), order.clone());
            thread::spawn(move || {
                let _held = gil.hold();
                exclusive(&inside, &order, "waiter");
            })
        };
        let timer = {
            let gil = gil.clone();
            thread::spawn(move || gil.request_drop_as_waiter())
        };
        holder.join().unwrap();
        waiter.join().unwrap();
        timer.join().unwrap();

        let order = order.lock().clone();
        assert_eq!(order.len(), 3);
        if gil.metrics().forced_drops == 1 {
            // The holder yielded at its checkpoint with the waiter queued: the waiter ran
            // in between, the holder did not take the lock straight back.
            assert_eq!(order, ["holder", "waiter", "holder"]);
        }
        assert!(!crate::gil::is_held());
    });
}

#[test]
fn allow_threads_lets_a_waiter_in_and_takes_the_lock_back() {
    loom::model(|| {
        let gil = Arc::new(Gil::new(Duration::from_millis(5)));
        let inside = Arc::new(AtomicUsize::new(0));
        let order = Arc::new(Mutex::new(Vec::new()));

        let holder = {
            let (gil, inside, order) = (gil.clone(), inside.clone(), order.clone());
            thread::spawn(move || {
                let _held = gil.hold();
                exclusive(&inside, &order, "holder");
                allow_threads(|| assert!(!crate::gil::is_held()));
                assert!(gil.held_here()); // taken back after the blocking call
                exclusive(&inside, &order, "holder");
            })
        };
        let waiter = {
            let (gil, inside, order) = (gil.clone(), inside.clone(), order.clone());
            thread::spawn(move || {
                let _held = gil.hold();
                exclusive(&inside, &order, "waiter");
            })
        };
        holder.join().unwrap();
        waiter.join().unwrap();
        assert_eq!(order.lock().len(), 3);
    });
}
