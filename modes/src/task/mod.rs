//! The task core: one async-task allocation per task, holding the future (wrapped in the
//! [`harness`]) and the runtime's [`Meta`] (id, name, flags, done-callbacks, scheduler).
//!
//! The path of a task: `spawn` allocates it (async-task), inserts it in the scheduler's
//! [`registry`] (so it can be listed, cancelled and dropped at shutdown), then schedules
//! its `Runnable`. Each wake reschedules it through [`schedule::schedule`], on the
//! [`Schedule`] implementation in its `Meta` (the core knows no engine). The harness
//! polls the future under `catch_unwind`, drops it on a cancel request, and at the end sets
//! DONE, runs the done-callbacks and leaves the registry. The [`JoinHandle`] reads the
//! outcome that async-task keeps until it is taken.

mod current;
mod error;
mod harness;
mod join;
mod meta;
#[cfg(all(test, not(loom)))]
mod mock;
mod registry;
mod schedule;
pub(crate) mod state;
#[cfg(all(test, not(loom)))]
mod tests;

pub use error::JoinError;
pub use join::{drop_cancelling, JoinHandle};
pub use meta::{Meta, TaskId};
pub use registry::{TaskDone, TaskRef};
pub use state::TaskState;

pub(crate) use current::{current_id, current_ref};
pub(crate) use harness::panic_message;
pub(crate) use registry::Registry;
pub(crate) use schedule::Schedule;

use std::future::Future;
use std::panic::Location;
use std::sync::Arc;

use async_task::{Runnable, ScheduleInfo, WithInfo};

/// Allocates a task for `fut` on `scheduler` and schedules it.
pub(crate) fn spawn<F>(
    scheduler: Arc<dyn Schedule>,
    fut: F,
    name: Option<Box<str>>,
    spawned_at: &'static Location<'static>,
) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let meta = Meta::new(scheduler, name, spawned_at);
    // Zero-sized (it captures nothing): async-task then takes no extra task reference
    // around each call; the scheduler is found in the task's own `Meta`.
    let schedule = WithInfo(|r: Runnable<Meta>, info: ScheduleInfo| {
        schedule::schedule(r, info.woken_while_running)
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
    schedule::schedule(runnable, false);
    handle
}
