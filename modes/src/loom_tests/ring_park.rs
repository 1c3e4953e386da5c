//! The ring's remote-submission park protocol (`driver/remote.rs`): a request another
//! thread queues is never left in the queue while the loop sleeps in its ring wait.
//!
//! The ring itself cannot run under loom; everything around its wait is the real code
//! (`Remote`, `ParkState`, `Unparker`), and the wait is the eventfd read modelled over the
//! shim (`Unparker::model_read`: blocks until a write). A lost wake shows as a deadlock:
//! the loop blocks in the read and nobody is left to write.

use std::sync::atomic::Ordering;

use loom::sync::atomic::AtomicUsize;
use loom::sync::Arc;
use loom::thread;

use crate::driver::park::Unparker;
use crate::driver::remote::{Parked, Remote};

/// One loop turn as `Ring::poll` and `Ring::park` do it: a park (taking the queue after
/// `begin_park`, reading the eventfd unless it took something), or, if a wake was
/// pending, a poll (taking the queue). Returns how many requests it took.
fn loop_turn(remote: &Remote<u32>, unparker: &Unparker) -> usize {
    let mut took = 0;
    let parked = remote.park(
        |reqs| took += reqs.len(),
        |zero_timeout| {
            if !zero_timeout {
                unparker.model_read();
            }
        },
    );
    if parked == Parked::Notified {
        took += remote.take().len();
    }
    took
}

#[test]
fn remote_request_vs_park_is_taken() {
    loom::model(|| {
        let unparker = Unparker::model_eventfd();
        let remote = Arc::new(Remote::new(unparker.clone()));
        let r = remote.clone();
        let t = thread::spawn(move || r.push(7).is_ok());
        // The loop parks until it has the request: a wake that could be lost would leave
        // it blocked in the read forever.
        let mut got = 0;
        while got == 0 {
            got += loop_turn(&remote, &unparker);
        }
        assert!(t.join().unwrap());
        assert_eq!(got, 1);
    });
}

#[test]
fn two_remote_threads_both_taken() {
    loom::model(|| {
        let unparker = Unparker::model_eventfd();
        let remote = Arc::new(Remote::new(unparker.clone()));
        let threads: Vec<_> = (0..2)
            .map(|i| {
                let r = remote.clone();
                thread::spawn(move || r.push(i).is_ok())
            })
            .collect();
        let mut got = 0;
        while got < 2 {
            got += loop_turn(&remote, &unparker);
        }
        for t in threads {
            assert!(t.join().unwrap());
        }
        assert_eq!(got, 2);
    });
}

#[test]
fn push_vs_close_is_taken_or_refused() {
    loom::model(|| {
        let unparker = Unparker::model_eventfd();
        let remote = Arc::new(Remote::new(unparker.clone()));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (r, a) = (remote.clone(), accepted.clone());
        let t = thread::spawn(move || {
            if r.push(1).is_ok() {
                a.fetch_add(1, Ordering::SeqCst);
            }
        });
        // The ring's drop: what was queued before `close` is handed back to it (and
        // failed), what comes after is refused to its sender.
        let left = remote.close().len();
        t.join().unwrap();
        assert_eq!(accepted.load(Ordering::SeqCst), left);
    });
}
