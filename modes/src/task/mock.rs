//! A mock scheduler for the task core's own tests: a FIFO queue that the test runs by hand,
//! and counters of what the core asked of it. No engine, no thread, no clock.

use std::collections::VecDeque;
use std::future::Future;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Context;

use async_task::Runnable;

use super::meta::Meta;
use super::registry::Registry;
use super::schedule::Schedule;
use super::JoinHandle;

/// Where `schedule` put a task, and with which flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scheduled {
    Local { yielded: bool },
    Remote,
}

pub(super) struct Mock {
    registry: Registry,
    queue: Mutex<VecDeque<Runnable<Meta>>>,
    /// Whether the test "runs the core" on this thread: `schedule_local` then takes tasks.
    local: AtomicBool,
    log: Mutex<Vec<Scheduled>>,
    /// Tasks run to the end of their `Runnable::run`.
    pub(super) runs: AtomicUsize,
}

impl Mock {
    /// A mock whose `schedule_local` takes tasks (`local`) or always gives them back.
    pub(super) fn new(local: bool) -> Arc<Mock> {
        Arc::new(Mock {
            registry: Registry::new(2),
            queue: Mutex::new(VecDeque::new()),
            local: AtomicBool::new(local),
            log: Mutex::new(Vec::new()),
            runs: AtomicUsize::new(0),
        })
    }

    #[track_caller]
    pub(super) fn spawn<F>(self: &Arc<Self>, fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        super::spawn(self.clone(), fut, Some("mock".into()), Location::caller())
    }

    /// Runs one queued task; `false` if none was queued.
    pub(super) fn run_one(&self) -> bool {
        let next = self.queue.lock().unwrap().pop_front();
        match next {
            Some(r) => {
                r.run();
                self.runs.fetch_add(1, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// Runs queued tasks until none is left; returns how many ran.
    pub(super) fn run_all(&self) -> usize {
        let mut n = 0;
        while self.run_one() {
            n += 1;
        }
        n
    }

    pub(super) fn queued(&self) -> usize {
        self.queue.lock().unwrap().len()
    }

    /// Drops every queued `Runnable` unrun (as a runtime torn down without running them).
    pub(super) fn drop_queued(&self) -> usize {
        let q: Vec<_> = self.queue.lock().unwrap().drain(..).collect();
        q.len()
    }

    /// What `schedule` did so far, in order; clears the log.
    pub(super) fn take_log(&self) -> Vec<Scheduled> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }

    pub(super) fn registry(&self) -> &Registry {
        &self.registry
    }
}

// SAFETY: `schedule_local` takes a task only when `local` is set, which the tests do only
// while they hold an `Arc<Mock>` (the "core" that keeps the engine alive), and it only
// queues it: nothing runs until the test calls `run_one`.
unsafe impl Schedule for Mock {
    fn schedule_local(&self, task: Runnable<Meta>, yielded: bool) -> Result<(), Runnable<Meta>> {
        if !self.local.load(Ordering::Relaxed) {
            return Err(task);
        }
        self.log.lock().unwrap().push(Scheduled::Local { yielded });
        self.queue.lock().unwrap().push_back(task);
        Ok(())
    }

    fn schedule_remote(self: Arc<Self>, task: Runnable<Meta>) {
        self.log.lock().unwrap().push(Scheduled::Remote);
        self.queue.lock().unwrap().push_back(task);
    }

    fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Runs the queue on this thread (as `Single` runs its loop in `join`) until `done`;
    /// refuses when nothing is left to run and the task is not done.
    fn block_until(
        self: Arc<Self>,
        done: &mut dyn FnMut(&mut Context<'_>) -> bool,
    ) -> Option<&'static str> {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        loop {
            if done(&mut cx) {
                return None;
            }
            if !self.run_one() {
                return Some("mock: nothing left to run");
            }
        }
    }
}
