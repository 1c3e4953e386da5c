//! The threads an engine started, kept so that its shutdown can join them.
//!
//! Rule (every engine's shutdown follows it): a thread that is no longer needed is
//! *joined* before shutdown returns, not merely told to stop. A thread that has been told
//! to stop still owns whatever it holds (an `Arc` of the engine, and through it eventfds,
//! sockets, a ring) until its last instruction; only `join` proves that it let go. So when
//! `Runtime`'s drop returns, every thread it stopped is gone, and so is all it held.
//!
//! Two exceptions, both bounded and reported: the calling thread itself (a runtime
//! dropped from one of its own threads cannot join that thread), and a thread still busy
//! past the deadline (a long poll, a running blocking job: it is left running, never
//! waited on forever).

use std::sync::{Mutex, MutexGuard};
use std::thread::{JoinHandle, Thread, ThreadId};
use std::time::{Duration, Instant};

/// Handles of running (or recently ended) threads.
#[derive(Default)]
pub(crate) struct ThreadSet {
    handles: Mutex<Vec<JoinHandle<()>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ThreadSet {
    /// Starts a thread named `name` running `f`, and keeps its handle. Threads that
    /// already ended are joined here, so the set never grows past the live ones.
    pub(crate) fn spawn(
        &self,
        name: String,
        f: impl FnOnce() + Send + 'static,
    ) -> std::io::Result<Thread> {
        let h = std::thread::Builder::new().name(name).spawn(f)?;
        let thread = h.thread().clone();
        let mut v = lock(&self.handles);
        let mut i = 0;
        while i < v.len() {
            if v[i].is_finished() {
                let _ = v.swap_remove(i).join();
            } else {
                i += 1;
            }
        }
        v.push(h);
        Ok(thread)
    }

    /// Joins every thread of the set except the calling one and those `keep` names,
    /// waiting for each until `deadline` at the latest. Returns how many were left
    /// running (they stay in the set).
    pub(crate) fn join_until(&self, deadline: Instant, keep: impl Fn(ThreadId) -> bool) -> usize {
        let handles = std::mem::take(&mut *lock(&self.handles));
        let me = std::thread::current().id();
        let mut left = Vec::new();
        for h in handles {
            let id = h.thread().id();
            if id == me || keep(id) {
                left.push(h);
                continue;
            }
            // The engine has already told the thread to stop and (for its workers) seen it
            // count itself out: it is at most a few instructions from its end.
            let mut pause = Duration::from_micros(10);
            while !h.is_finished() && Instant::now() < deadline {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(1));
            }
            if h.is_finished() {
                let _ = h.join();
            } else {
                left.push(h);
            }
        }
        let n = left.iter().filter(|h| h.thread().id() != me).count();
        lock(&self.handles).extend(left);
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
            "the stuck thread is left behind, the quick one joined"
        );
        assert_eq!(Arc::strong_count(&held), 1, "joined: its captures are gone");
        let kept = set.join_until(Instant::now() + Duration::from_secs(5), |id| {
            id == stuck.id()
        });
        assert_eq!(kept, 1, "kept threads are not waited for");
        stop.store(true, Ordering::Release);
        assert_eq!(
            set.join_until(Instant::now() + Duration::from_secs(30), |_| false),
            0
        );
        assert!(lock(&set.handles).is_empty());
    }

    #[test]
    fn spawn_reaps_threads_that_ended() {
        let set = ThreadSet::default();
        for _ in 0..50 {
            let t = set.spawn("brief".into(), || {}).unwrap();
            while !lock(&set.handles)
                .iter()
                .any(|h| h.thread().id() == t.id() && h.is_finished())
            {
                std::thread::yield_now();
            }
        }
        assert!(lock(&set.handles).len() <= 1);
    }
}
