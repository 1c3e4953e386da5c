//! The thread-local "current runtime" and "current task".
//!
//! `enter` is called by every thread that runs a loop (the `block_on` caller, workers,
//! blocking-pool threads); it makes `spawn`, `sleep` and `now` find their runtime. The
//! guard restores the previous value, so nesting is harmless.

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use crate::sched::Scheduler;
use crate::task::{Meta, TaskId};
use crate::time::TimeDriver;

thread_local! {
    static CURRENT: RefCell<Option<Scheduler>> = const { RefCell::new(None) };
    static TASK: Cell<Option<TaskId>> = const { Cell::new(None) };
}

/// Restores the previous current runtime when dropped.
pub struct EnterGuard {
    prev: Option<Scheduler>,
}

/// Makes `sched` the current runtime of this thread until the guard is dropped.
pub(crate) fn enter(sched: Scheduler) -> EnterGuard {
    let prev = CURRENT.with(|c| c.replace(Some(sched)));
    EnterGuard { prev }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let _ = CURRENT.try_with(|c| c.replace(prev));
    }
}

/// The runtime this thread is running, if any.
pub fn current() -> Option<Scheduler> {
    CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
}

/// Calls `f` with the current runtime, without cloning it (the hot path of
/// `runtime::spawn`).
///
/// ```
/// assert!(modes::context::with(|s| s.is_none()));
/// ```
pub fn with<R>(f: impl FnOnce(Option<&Scheduler>) -> R) -> R {
    CURRENT.with(|c| f(c.borrow().as_ref()))
}

pub(crate) fn time_driver() -> Option<Arc<TimeDriver>> {
    CURRENT
        .try_with(|c| c.borrow().as_ref().map(|s| s.time_driver().clone()))
        .ok()
        .flatten()
}

/// The id of the task being polled on this thread, if any.
pub fn current_task() -> Option<TaskId> {
    TASK.try_with(|t| t.get()).ok().flatten()
}

pub(crate) struct TaskGuard(Option<TaskId>);

pub(crate) fn enter_task(meta: &Meta) -> TaskGuard {
    TaskGuard(TASK.with(|t| t.replace(Some(meta.id))))
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        let _ = TASK.try_with(|t| t.set(self.0));
    }
}
