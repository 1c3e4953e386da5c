//! The io_uring operation cell (`io/uring/op.rs`): the reaper's `complete` racing the
//! future's poll and drop. Whatever the interleaving, the operation's data is finished
//! exactly once (as the future's output or as abandoned, with the kernel's result), and a
//! registered waker is woken when the result lands.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Wake, Waker};

use loom::thread;

use crate::io::uring::{Completion, OpCell};

#[derive(Default)]
struct Seen {
    completed: AtomicUsize,
    abandoned: AtomicUsize,
    woken: AtomicUsize,
}

struct Data(Arc<Seen>);

impl Completion for Data {
    type Output = i32;

    fn failed(self, _e: std::io::Error) -> i32 {
        -1
    }
    fn complete(self, res: i32, _flags: u32) -> i32 {
        self.0.completed.fetch_add(1, Ordering::SeqCst);
        res
    }
    fn abandoned(self, res: i32, _flags: u32) {
        assert_eq!(res, 7, "abandoned data sees the kernel's result");
        self.0.abandoned.fetch_add(1, Ordering::SeqCst);
    }
}

struct CountWake(Arc<Seen>);

impl Wake for CountWake {
    fn wake(self: Arc<Self>) {
        self.0.woken.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn complete_races_drop() {
    loom::model(|| {
        let seen = Arc::new(Seen::default());
        let cell = OpCell::new();
        let reaper = {
            let cell = cell.clone();
            thread::spawn(move || cell.complete(7, 0))
        };
        // The future drops without ever taking a result.
        let _cancel = cell.abandon(Data(seen.clone()));
        reaper.join().unwrap();
        assert_eq!(seen.abandoned.load(Ordering::SeqCst), 1);
        assert_eq!(seen.completed.load(Ordering::SeqCst), 0);
    });
}

#[test]
fn complete_races_poll_no_lost_wake() {
    loom::model(|| {
        let seen = Arc::new(Seen::default());
        let cell = OpCell::new();
        let reaper = {
            let cell = cell.clone();
            thread::spawn(move || cell.complete(7, 0))
        };
        let waker = Waker::from(Arc::new(CountWake(seen.clone())));
        let data = Data(seen.clone());
        let out = match cell.poll_result(&waker) {
            Some((res, flags)) => data.complete(res, flags),
            None => {
                // Pending: the reaper must wake us, and the next poll has the result.
                reaper.join().unwrap();
                assert_eq!(seen.woken.load(Ordering::SeqCst), 1, "lost wake");
                let (res, flags) = cell.poll_result(&waker).expect("completed");
                let out = data.complete(res, flags);
                assert_eq!(seen.completed.load(Ordering::SeqCst), 1);
                return assert_eq!(out, 7);
            }
        };
        reaper.join().unwrap();
        assert_eq!(out, 7);
        assert_eq!(seen.completed.load(Ordering::SeqCst), 1);
        assert_eq!(seen.abandoned.load(Ordering::SeqCst), 0);
    });
}
