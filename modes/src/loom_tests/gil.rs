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

/// One GIL and what the model's threads record about it.
#[derive(Clone)]
struct Scene {
    gil: Arc<Gil>,
    /// Threads inside a critical section now: never more than one.
    inside: Arc<AtomicUsize>,
    /// Who held the lock, in order.
    order: Arc<Mutex<Vec<&'static str>>>,
}

impl Scene {
    fn new() -> Scene {
        Scene {
            gil: Arc::new(Gil::new(Duration::from_millis(5))),
            inside: Arc::new(AtomicUsize::new(0)),
            order: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// A critical section of `who`, checking that nobody else is inside meanwhile.
    fn exclusive(&self, who: &'static str) {
        assert_eq!(
            self.inside.fetch_add(1, Ordering::SeqCst),
            0,
            "two holders at once"
        );
        self.order.lock().push(who);
        assert_eq!(self.inside.fetch_sub(1, Ordering::SeqCst), 1);
    }

    /// A thread that takes the lock once, for one critical section.
    fn spawn_waiter(&self) -> thread::JoinHandle<()> {
        let s = self.clone();
        thread::spawn(move || {
            let _held = s.gil.hold();
            s.exclusive("waiter");
        })
    }

    /// A thread that holds the lock for two critical sections with `between` in the middle.
    fn spawn_holder(&self, between: fn(&Gil)) -> thread::JoinHandle<()> {
        let s = self.clone();
        thread::spawn(move || {
            let _held = s.gil.hold();
            s.exclusive("holder");
            between(&s.gil);
            assert!(s.gil.held_here());
            s.exclusive("holder");
        })
    }

    fn order(&self) -> Vec<&'static str> {
        self.order.lock().clone()
    }
}

#[test]
fn forced_switch_hands_the_lock_to_the_waiter() {
    loom::model(|| {
        let scene = Scene::new();
        // The checkpoint may drop the lock to the waiter (rule 3).
        let holder = scene.spawn_holder(|_| checkpoint());
        let waiter = scene.spawn_waiter();
        let gil = scene.gil.clone();
        let timer = thread::spawn(move || gil.request_drop_as_waiter());
        holder.join().unwrap();
        waiter.join().unwrap();
        timer.join().unwrap();

        let order = scene.order();
        assert_eq!(order.len(), 3);
        if scene.gil.metrics().forced_drops == 1 {
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
        let scene = Scene::new();
        let holder = scene.spawn_holder(|_| allow_threads(|| assert!(!crate::gil::is_held())));
        let waiter = scene.spawn_waiter();
        holder.join().unwrap();
        waiter.join().unwrap();
        assert_eq!(scene.order().len(), 3);
    });
}
