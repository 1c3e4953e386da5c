//! The flags of a task's [`Meta`](super::Meta), one rule per bit.
//!
//! They live in one `AtomicU8` next to the task's id and name. async-task owns the
//! scheduling state (scheduled, running, completed, closed, reference count); these bits
//! carry only what the runtime adds on top of it. The initial value is `0`: not cancelled,
//! not done, no callbacks, idle.

/// `cancel()` was requested. Set once, never cleared. The harness checks it at the start of
/// every poll: a set bit drops the inner future and completes the task as cancelled.
pub(crate) const CANCEL: u8 = 1 << 0;

/// The outcome is known and the done-callbacks registered so far were (or are being) taken.
/// Set once by the harness, before it returns `Ready`; never cleared.
pub(crate) const DONE: u8 = 1 << 1;

/// At least one done-callback was pushed. Set under the callback lock, so that the harness
/// only takes that lock when someone registered a callback.
pub(crate) const CALLBACKS: u8 = 1 << 2;

/// The task is being polled right now (introspection only; relaxed).
pub(crate) const POLLING: u8 = 1 << 3;

/// What a live task is doing, as seen from outside (see `all_tasks`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskState {
    /// Waiting to be polled: scheduled, or waiting on a timer, I/O or another task.
    Pending,
    /// Being polled by a worker right now.
    Running,
    /// `cancel()` was called; the task has not yet observed it.
    Cancelling,
    /// Finished: completed, panicked or cancelled.
    Done,
}

impl TaskState {
    pub(crate) fn from_flags(flags: u8) -> TaskState {
        if flags & DONE != 0 {
            TaskState::Done
        } else if flags & CANCEL != 0 {
            TaskState::Cancelling
        } else if flags & POLLING != 0 {
            TaskState::Running
        } else {
            TaskState::Pending
        }
    }
}
