//! The task core: one async-task allocation per task, holding the future (wrapped in the
//! [`harness`]) and the runtime's [`Meta`] (id, name, flags, done-callbacks, scheduler).
//!
//! The path of a task: `spawn` allocates it (async-task), inserts it in the scheduler's
//! [`registry`] (so it can be listed, cancelled and dropped at shutdown), then schedules
//! its `Runnable`. Each wake reschedules it through [`Scheduler::schedule`]. The harness
//! polls the future under `catch_unwind`, drops it on a cancel request, and at the end sets
//! DONE, runs the done-callbacks and leaves the registry. The [`JoinHandle`] reads the
//! outcome that async-task keeps until it is taken.

mod error;
mod harness;
mod join;
mod meta;
mod registry;
pub(crate) mod state;

pub use error::JoinError;
pub use join::{drop_cancelling, JoinHandle};
pub use meta::{Meta, TaskId};
pub use registry::{TaskDone, TaskRef};
pub use state::TaskState;

pub(crate) use harness::panic_message;
pub(crate) use registry::Registry;

use std::future::Future;
use std::panic::Location;

use async_task::{Runnable, ScheduleInfo, WithInfo};

use crate::sched::Scheduler;

/// Allocates a task for `fut` on `scheduler` and schedules it.
pub(crate) fn spawn<F>(
    scheduler: &Scheduler,
    fut: F,
    name: Option<Box<str>>,
    spawned_at: &'static Location<'static>,
) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let meta = Meta::new(scheduler.clone(), name, spawned_at);
    let schedule = WithInfo(|r: Runnable<Meta>, info: ScheduleInfo| {
        Scheduler::schedule(r, info.woken_while_running)
    });
    // SAFETY: `spawn_unchecked` is used only so that the harness may borrow the task's own
    // metadata (`&'a Meta`), which lives in the same allocation as the future and so
    // outlives it. Every other requirement of the checked `spawn` holds: `F` is Send and
    // 'static, its output is Send and 'static, and the schedule closure is Send + Sync +
    // 'static (it captures nothing).
    let (runnable, task) = unsafe {
        async_task::Builder::new()
            .metadata(meta)
            .spawn_unchecked(move |m: &Meta| harness::Harness::new(m, fut), schedule)
    };
    let meta = task.metadata();
    if !meta.scheduler.registry().insert(meta, runnable.waker()) {
        // The runtime is shutting down: the task runs once, only to be dropped.
        meta.request_cancel();
    }
    let handle = JoinHandle::new(task);
    Scheduler::schedule(runnable, false);
    handle
}
