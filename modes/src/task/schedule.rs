//! [`Schedule`]: what the task core needs from whoever runs its tasks (tokio's
//! `task::Schedule`). The core knows no engine: each one (`single::Shared`,
//! `threads::Shared`, the blocking pool) implements this trait, and every task's [`Meta`]
//! holds its scheduler as an `Arc<dyn Schedule>`.
//!
//! The path of a wake: async-task calls the task's schedule closure (a zero-sized one, so
//! that async-task takes no extra reference per wake), which calls [`schedule`] here:
//! 1. [`Schedule::schedule_local`]: the engine queues the task on the core this thread is
//!    running for it, if any. Nothing is cloned: the scheduler is borrowed through the
//!    `Arc` in the task's own `Meta`, and once the task is queued (and maybe stolen, run
//!    and freed by another worker) the engine stays alive because the core this thread
//!    runs holds it.
//! 2. Otherwise [`Schedule::schedule_remote`], on a clone of the scheduler's `Arc`: once
//!    the task is handed to another thread it may run, finish and be freed there, `Meta`
//!    (and the `Arc` in it) with it, while the engine still wakes its loop.

use std::sync::Arc;
use std::task::Context;

use async_task::Runnable;

use super::meta::Meta;
use super::registry::Registry;

/// An engine that runs tasks: it queues woken tasks, owns the registry they live in, and
/// knows how a plain thread waits for one of them.
///
/// # Safety
///
/// [`schedule_local`](Schedule::schedule_local) is called on a `&self` that only the
/// task's own [`Meta`] is known to keep alive. It may take the task (return `Ok`) only if
/// this thread is running a core of this engine and that core keeps the engine alive for
/// as long as it runs (a worker's own `Arc`, the `block_on` caller's): the task may then
/// be run and freed by another thread before the call returns, and `self` stays valid.
pub(crate) unsafe trait Schedule: Send + Sync + 'static {
    /// Queues `task` on the core this thread runs for this scheduler; gives it back if this
    /// thread runs none. `yielded`: the task woke itself while it ran (a yield), so it goes
    /// behind the other ready work.
    fn schedule_local(&self, task: Runnable<Meta>, yielded: bool) -> Result<(), Runnable<Meta>>;

    /// Queues `task` from a thread that runs no core of this scheduler, and wakes one that
    /// does.
    fn schedule_remote(self: Arc<Self>, task: Runnable<Meta>);

    /// The registry of this scheduler's live tasks.
    fn registry(&self) -> &Registry;

    /// Blocks this thread until `done` returns `true` (it polls a `JoinHandle` with the
    /// context it is given), running the loop here if the engine needs a thread to run it.
    /// Returns `Some(reason)` without waiting when waiting here could never end (a thread
    /// of the engine itself waiting for its own work), or when the engine is gone and
    /// `done` is still `false`; `None` once `done` returned `true`.
    fn block_until(
        self: Arc<Self>,
        done: &mut dyn FnMut(&mut Context<'_>) -> bool,
    ) -> Option<&'static str>;
}

/// Schedules a woken (or new) task on the scheduler in its own `Meta` (see the module
/// docs for the two paths).
#[inline]
pub(crate) fn schedule(task: Runnable<Meta>, yielded: bool) {
    let sched: *const dyn Schedule = Arc::as_ptr(&task.metadata().scheduler);
    // SAFETY: `sched` is the engine of the `Arc` in `task`'s `Meta`; `task` keeps its
    // allocation, and so that `Arc`, alive while we hold it, so `sched` is valid when the
    // call starts. `schedule_local` either gives the task back (we hold it again) or has
    // queued it on a core this thread runs, which keeps the engine alive (the trait's
    // safety contract), so `sched` stays valid for the whole call.
    let back = unsafe { (*sched).schedule_local(task, yielded) };
    if let Err(task) = back {
        let sched = task.metadata().scheduler.clone();
        sched.schedule_remote(task);
    }
}
