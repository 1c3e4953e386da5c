//! The flags of a task's [`Meta`](super::Meta), one rule per bit, and the protocol that
//! uses them ([`TaskFlags`]).
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

/// The task is being polled right now (introspection only). Not stored in the flag
/// word but in `TaskFlags::polling`, so that setting it is a plain store, not a locked
/// read-modify-write on every poll.
pub(crate) const POLLING: u8 = 1 << 3;

/// What a live task is doing, as seen from outside (see `all_tasks`).
///
/// ```
/// use modes::TaskState;
/// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
/// let s = sched.clone();
/// let mut h = sched.spawn(async move { s.all_tasks()[0].state() }); // itself, mid-poll
/// assert_eq!(h.state(), TaskState::Pending); // scheduled, not polled yet
/// sched.block_on(std::future::poll_fn(|cx| h.poll_finished(cx)));
/// assert_eq!(h.state(), TaskState::Done);
/// assert_eq!(sched.block_on(h).unwrap(), TaskState::Running);
/// ```
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

use std::any::Any;
use std::sync::atomic::Ordering;

use crate::loom::{AtomicBool, AtomicU8, Mutex};

type Callback = Box<dyn FnOnce(&(dyn Any + Send)) + Send>;

/// The runtime's per-task flags and done-callbacks.
///
/// Protocol:
/// 1. `request_cancel` sets CANCEL (anyone, any time); the harness reads it before polls.
/// 2. `mark_done` (the harness, once) sets DONE and, only if CALLBACKS was set, takes the
///    callback list under its lock.
/// 3. `push_callback` pushes under the lock, then sets CALLBACKS; if DONE was already set
///    it pops its own callback back and runs it itself. Whichever of 2 and 3 sets its bit
///    second sees the other's: every callback runs exactly once, either by the harness or
///    by the adder.
pub(crate) struct TaskFlags {
    bits: AtomicU8,
    polling: AtomicBool,
    callbacks: Mutex<Vec<Callback>>,
}

impl TaskFlags {
    pub(crate) fn new() -> TaskFlags {
        TaskFlags {
            bits: AtomicU8::new(0),
            polling: AtomicBool::new(false),
            callbacks: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn load(&self) -> u8 {
        self.bits.load(Ordering::Acquire)
    }

    #[inline]
    pub(crate) fn set_polling(&self, on: bool) {
        self.polling.store(on, Ordering::Relaxed);
    }

    pub(crate) fn request_cancel(&self) -> bool {
        let prev = self.bits.fetch_or(CANCEL, Ordering::AcqRel);
        prev & (DONE | CANCEL) == 0
    }

    pub(crate) fn is_done(&self) -> bool {
        self.load() & DONE != 0
    }

    pub(crate) fn state(&self) -> TaskState {
        let polling = if self.polling.load(Ordering::Relaxed) {
            POLLING
        } else {
            0
        };
        TaskState::from_flags(self.load() | polling)
    }

    /// Rule 3. Returns `cb` back if the task is already done (the caller runs it).
    pub(crate) fn push_callback(&self, cb: Callback) -> Option<Callback> {
        let mut list = self.callbacks.lock().unwrap_or_else(|e| e.into_inner());
        list.push(cb);
        let prev = self.bits.fetch_or(CALLBACKS, Ordering::AcqRel);
        if prev & DONE != 0 {
            list.pop()
        } else {
            None
        }
    }

    /// Rule 2. Marks the task done and takes the callbacks registered so far.
    pub(crate) fn mark_done(&self) -> Vec<Callback> {
        let prev = self.bits.fetch_or(DONE, Ordering::AcqRel);
        if prev & CALLBACKS == 0 {
            return Vec::new();
        }
        let mut list = self.callbacks.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut *list)
    }
}
