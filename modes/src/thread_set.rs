//! The threads an engine started, kept so that its shutdown can join them.
//!
//! Rule (every engine's shutdown follows it): a thread that is no longer needed is waited
//! for until it has *finished* before shutdown returns, not merely told to stop. A thread
//! that has been told to stop still owns whatever it holds (an `Arc` of the engine, and
//! through it eventfds, sockets, a ring) until its closure returns; `JoinHandle::
//! is_finished` turns true only after the closure returned and its captures were dropped,
//! so it proves that the thread let go. So when `Runtime`'s drop returns, every thread it
//! stopped has run its last line of ours, and all it held is released.
//!
//! The handle is then dropped (the thread detached), not joined: `join` also waits for the
//! thread's thread-local destructors, which are user code that may block on this very
//! runtime (a destructor that joins one of its tasks), and a thread must never join
//! itself. The kernel reaps the thread a moment later.
//!
//! Two exceptions, both bounded: the calling thread itself (a runtime dropped from one of
//! its own threads cannot wait for that thread), and a thread still busy past the
//! deadline (a worker in a long poll, reported by its engine; a running blocking job): it
//! is left running, never waited on forever.

use crate::loom::Mutex;
use std::thread::{JoinHandle, Thread, ThreadId};
use std::time::{Duration, Instant};

/// Handles of running (or recently ended) threads.
#[derive(Default)]
pub(crate) struct ThreadSet {
    handles: Mutex<Vec<JoinHandle<()>>>,
}

impl ThreadSet {
    /// Starts a thread named `name` running `f`, and keeps its handle. Handles of threads
    /// that already finished are dropped here, so the set never grows past the live ones.
    pub(crate) fn spawn(
        &self,
        name: String,
        f: impl FnOnce() + Send + 'static,
    ) -> std::io::Result<Thread> {
        let h = std::thread::Builder::new().name(name).spawn(f)?;
        let thread = h.thread().clone();
        let mut v = self.handles.lock();
        v.retain(|h| !h.is_finished());
        v.push(h);
        Ok(thread)
    }

    /// Waits until every thread of the set, except the calling one and those `keep` names,
    /// has finished (its closure returned), for each until `deadline` at the latest, and
    /// forgets it. Returns how many were left running (they stay in the set).
    pub(crate) fn join_until(&self, deadline: Instant, keep: impl Fn(ThreadId) -> bool) -> usize {
        let handles = std::mem::take(&mut *self.handles.lock());
        let me = std::thread::current().id();
        let mut left = Vec::new();
        for h in handles {
            let id = h.thread().id();
            if id == me || keep(id) {
                left.push(h);
                continue;
            }
            // The engine has already told the thread to stop and (for its workers) seen it
            // count itself out: only the drop of its last captures is left.
            let mut pause = Duration::from_micros(10);
            while !h.is_finished() && Instant::now() < deadline {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(1));
            }
            if !h.is_finished() {
                left.push(h);
            }
        }
        let n = left.iter().filter(|h| h.thread().id() != me).count();
        self.handles.lock().extend(left);
        n
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    #[test]
    fn joins_what_ended_and_leaves_what_is_kept_or_stuck() {
        let set = ThreadSet::default();
        let held = Arc::new(());
        let h = held.clone();
        set.spawn("quick".into(), move || drop(h)).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let stuck = set
            .spawn("stuck".into(), move || {
                while !s.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
            .unwrap();
        let left = set.join_until(Instant::now() + Duration::from_millis(50), |_| false);
        assert_eq!(
            left, 1,
            "the stuck thread is left behind, the quick one waited for"
        );
        assert_eq!(
            Arc::strong_count(&held),
            1,
            "finished: its captures are gone"
        );
        let kept = set.join_until(Instant::now() + Duration::from_secs(5), |id| {
            id == stuck.id()
        });
        assert_eq!(kept, 1, "kept threads are not waited for");
        stop.store(true, Ordering::Release);
        assert_eq!(
            set.join_until(Instant::now() + Duration::from_secs(30), |_| false),
            0
        );
        assert!(set.handles.lock().is_empty());
    }

    #[test]
    fn a_thread_local_destructor_that_blocks_does_not_block_the_wait() {
        // `join` would wait for this destructor, which waits for the set's owner: the set
        // must only wait for the closure.
        struct Blocks(std::sync::mpsc::Receiver<()>);
        impl Drop for Blocks {
            fn drop(&mut self) {
                let _ = self.0.recv();
            }
        }
        thread_local! {
            static SLOW: std::cell::RefCell<Option<Blocks>> = const { std::cell::RefCell::new(None) };
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let set = ThreadSet::default();
        set.spawn("slow-tls".into(), move || {
            SLOW.with(|s| *s.borrow_mut() = Some(Blocks(rx)));
        })
        .unwrap();
        assert_eq!(
            set.join_until(Instant::now() + Duration::from_secs(30), |_| false),
            0
        );
        drop(tx); // lets the destructor, and the thread, end
    }

    #[test]
    fn spawn_from_a_thread_of_the_set_never_waits_for_itself() {
        let set = Arc::new(ThreadSet::default());
        let s = set.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        set.spawn("parent".into(), move || {
            // The calling thread's own handle is in the set; spawning again must not join it.
            let t = s.spawn("child".into(), || {}).unwrap();
            tx.send(t.id()).unwrap();
        })
        .unwrap();
        rx.recv_timeout(Duration::from_secs(30)).unwrap();
        assert_eq!(
            set.join_until(Instant::now() + Duration::from_secs(30), |_| false),
            0
        );
    }

    #[test]
    fn spawn_reaps_threads_that_ended() {
        let set = ThreadSet::default();
        for _ in 0..50 {
            let t = set.spawn("brief".into(), || {}).unwrap();
            while !set
                .handles
                .lock()
                .iter()
                .any(|h| h.thread().id() == t.id() && h.is_finished())
            {
                std::thread::yield_now();
            }
        }
        assert!(set.handles.lock().len() <= 1);
    }
}
