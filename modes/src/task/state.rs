//! The flags of a task's [`Meta`](super::Meta), one rule per bit, and the protocol that
//! uses them ([`TaskFlags`]).
//!
//! They live in one `AtomicU32` next to the task's id and name. async-task owns the
//! scheduling state (scheduled, running, completed, closed, reference count); these bits
//! carry only what the runtime adds on top of it. The initial value is `0`: not cancelled,
//! not done, no callbacks, idle, no cancel requests counted.

/// A cancellation is pending. Set by every `cancel()` of a task not yet done; cleared only
/// by the `uncancel()` that brings the request count (below) back to zero before the task
/// observed it. The harness checks it at the start of every poll: a set bit drops the
/// inner future and completes the task as cancelled.
pub(crate) const CANCEL: u32 = 1 << 0;

/// The outcome is known and the done-callbacks registered so far were (or are being) taken.
/// Set once by the harness, before it returns `Ready`; never cleared.
pub(crate) const DONE: u32 = 1 << 1;

/// At least one done-callback was pushed. Set under the callback lock, so that the harness
/// only takes that lock when someone registered a callback.
pub(crate) const CALLBACKS: u32 = 1 << 2;

/// The task is being polled right now (introspection only). Not stored in the flag
/// word but in `TaskFlags::polling`, so that setting it is a plain store, not a locked
/// read-modify-write on every poll.
pub(crate) const POLLING: u32 = 1 << 3;

/// The cancel requests counted so far (asyncio 3.11's `cancelling()`), in the bits from
/// here up: each `cancel()` of a live task adds one, each `uncancel()` takes one off. In
/// the same word as CANCEL so that the two always change together.
pub(crate) const COUNT_SHIFT: u32 = 8;
const COUNT_ONE: u32 = 1 << COUNT_SHIFT;

/// What a cancel request did ([`TaskFlags::request_cancel`]).
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CancelRequest {
    /// The first pending request: the task must be woken to observe it.
    First,
    /// Counted; a request was already pending, so the task is already woken.
    Again,
    /// The task had finished: nothing to cancel.
    Done,
}

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
    pub(crate) fn from_flags(flags: u32) -> TaskState {
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

use crate::loom::{AtomicBool, AtomicU32, Mutex};

/// A done-callback (`JoinHandle::add_done_callback`, an awaited `TaskRef`) with its output
/// type erased; the harness passes `&Result<T, JoinError>`.
pub(crate) type DoneCallback = Box<dyn FnOnce(&(dyn Any + Send)) + Send>;

/// The runtime's per-task flags and done-callbacks.
///
/// Protocol:
/// 1. `request_cancel` counts a request and sets CANCEL (anyone, any time, until DONE);
///    `uncancel` takes one off and clears CANCEL when none is left; both in one atomic
///    update of the word. The harness reads CANCEL before polls.
/// 2. `mark_done` (the harness, once) sets DONE and, only if CALLBACKS was set, takes the
///    callback list under its lock.
/// 3. `push_callback` pushes under the lock, then sets CALLBACKS; if DONE was already set
///    it pops its own callback back and runs it itself. Whichever of 2 and 3 sets its bit
///    second sees the other's: every callback runs exactly once, either by the harness or
///    by the adder.
pub(crate) struct TaskFlags {
    bits: AtomicU32,
    polling: AtomicBool,
    callbacks: Mutex<Vec<DoneCallback>>,
}

impl TaskFlags {
    pub(crate) fn new() -> TaskFlags {
        TaskFlags {
            bits: AtomicU32::new(0),
            polling: AtomicBool::new(false),
            callbacks: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn load(&self) -> u32 {
        self.bits.load(Ordering::Acquire)
    }

    #[inline]
    pub(crate) fn set_polling(&self, on: bool) {
        self.polling.store(on, Ordering::Relaxed);
    }

    /// Rule 1: counts a cancel request of a task not yet done.
    pub(crate) fn request_cancel(&self) -> CancelRequest {
        let prev = self
            .bits
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
                if v & DONE != 0 {
                    None
                } else {
                    Some(v.saturating_add(COUNT_ONE) | CANCEL)
                }
            });
        match prev {
            Err(_) => CancelRequest::Done,
            Ok(v) if v & CANCEL != 0 => CancelRequest::Again,
            Ok(_) => CancelRequest::First,
        }
    }

    /// Rule 1: takes one request off the count (none below zero); the last one clears
    /// CANCEL if the task is not done, so a request not yet observed is withdrawn.
    /// Returns the requests left.
    pub(crate) fn uncancel(&self) -> u32 {
        let prev = self
            .bits
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
                let count = v >> COUNT_SHIFT;
                if count == 0 {
                    return None;
                }
                let mut next = v - COUNT_ONE;
                if count == 1 && v & DONE == 0 {
                    next &= !CANCEL;
                }
                Some(next)
            });
        match prev {
            Ok(v) => (v >> COUNT_SHIFT) - 1,
            Err(_) => 0,
        }
    }

    /// The cancel requests counted (asyncio's `cancelling()`).
    pub(crate) fn cancelling(&self) -> u32 {
        self.load() >> COUNT_SHIFT
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
    pub(crate) fn push_callback(&self, cb: DoneCallback) -> Option<DoneCallback> {
        let mut list = self.callbacks.lock();
        list.push(cb);
        let prev = self.bits.fetch_or(CALLBACKS, Ordering::AcqRel);
        if prev & DONE != 0 {
            list.pop()
        } else {
            None
        }
    }

    /// Rule 2. Marks the task done and takes the callbacks registered so far.
    pub(crate) fn mark_done(&self) -> Vec<DoneCallback> {
        let prev = self.bits.fetch_or(DONE, Ordering::AcqRel);
        if prev & CALLBACKS == 0 {
            return Vec::new();
        }
        let mut list = self.callbacks.lock();
        std::mem::take(&mut *list)
    }
}
