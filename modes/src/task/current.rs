//! The task being polled on this thread: set by the harness around each poll of the
//! user's future, read by `context::current_task` (asyncio's `current_task()`).
//!
//! It lives here, not with the runtime's other thread-locals in `context`, because only the
//! harness knows exactly when a poll begins and ends: async-task may free the allocation
//! (and the `Meta` this points at) inside `Runnable::run` after the poll, and even call an
//! awaiter's waker after that, so a pointer set around `run` by the engine could dangle
//! while foreign code runs.

use std::cell::Cell;
use std::ptr::NonNull;

use super::meta::{Meta, TaskId};
use super::registry::TaskRef;

thread_local! {
    static TASK: Cell<Option<NonNull<Meta>>> = const { Cell::new(None) };
}

/// Restores the previously polled task when the poll ends, by return or by unwind (polls
/// nest: a blocking job may run another runtime's `block_on`, which polls its tasks here).
pub(super) struct CurrentGuard(Option<NonNull<Meta>>);

/// Makes `meta`'s task the one being polled on this thread until the guard drops.
pub(super) fn enter(meta: &Meta) -> CurrentGuard {
    CurrentGuard(
        TASK.try_with(|t| t.replace(Some(NonNull::from(meta))))
            .ok()
            .flatten(),
    )
}

impl Drop for CurrentGuard {
    fn drop(&mut self) {
        let _ = TASK.try_with(|t| t.set(self.0));
    }
}

fn with_current<R>(f: impl FnOnce(&Meta) -> R) -> Option<R> {
    let ptr = TASK.try_with(|t| t.get()).ok().flatten()?;
    // SAFETY: TASK holds a pointer only while that task's future is being polled on this
    // thread (the harness's `enter` guard restores the previous value when the poll
    // returns or unwinds), and during a poll async-task holds a reference on the task's
    // allocation, which holds its `Meta`.
    Some(f(unsafe { ptr.as_ref() }))
}

/// The id of the task being polled on this thread, if any.
pub(crate) fn current_id() -> Option<TaskId> {
    with_current(|m| m.id)
}

/// The task being polled on this thread, if any, as a [`TaskRef`].
pub(crate) fn current_ref() -> Option<TaskRef> {
    with_current(TaskRef::of_live).flatten()
}
