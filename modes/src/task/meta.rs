//! What the runtime stores beside each task's future, inside async-task's single allocation.

use std::any::Any;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Mutex;

use super::state::{TaskState, CALLBACKS, CANCEL, DONE};
use crate::sched::Scheduler;

/// A task's id: unique for the life of the process, never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(pub(crate) u64);

impl TaskId {
    pub(crate) fn next() -> TaskId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        TaskId(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A done-callback with its output type erased; the harness passes `&Result<T, JoinError>`.
pub(crate) type Callback = Box<dyn FnOnce(&(dyn Any + Send)) + Send>;

/// Per-task metadata (async-task's `M`).
pub struct Meta {
    pub(crate) id: TaskId,
    pub(crate) name: Option<Box<str>>,
    pub(crate) spawned_at: &'static Location<'static>,
    pub(crate) flags: AtomicU8,
    /// Index in the scheduler's registry; written once before the task first runs.
    pub(crate) slot: AtomicUsize,
    pub(crate) callbacks: Mutex<Vec<Callback>>,
    pub(crate) scheduler: Scheduler,
}

impl Meta {
    pub(crate) fn new(
        scheduler: Scheduler,
        name: Option<Box<str>>,
        spawned_at: &'static Location<'static>,
    ) -> Meta {
        Meta {
            id: TaskId::next(),
            name,
            spawned_at,
            flags: AtomicU8::new(0),
            slot: AtomicUsize::new(usize::MAX),
            callbacks: Mutex::new(Vec::new()),
            scheduler,
        }
    }

    /// Sets the cancel bit. Returns `true` if the task was not yet done, so a wake is needed.
    pub(crate) fn request_cancel(&self) -> bool {
        let prev = self.flags.fetch_or(CANCEL, Ordering::AcqRel);
        prev & (DONE | CANCEL) == 0
    }

    pub(crate) fn is_done(&self) -> bool {
        self.flags.load(Ordering::Acquire) & DONE != 0
    }

    pub(crate) fn state(&self) -> TaskState {
        TaskState::from_flags(self.flags.load(Ordering::Acquire))
    }

    /// Registers `cb`. Returns it back if the task is already done (the caller runs it).
    pub(crate) fn push_callback(&self, cb: Callback) -> Option<Callback> {
        let mut list = self.callbacks.lock().unwrap_or_else(|e| e.into_inner());
        list.push(cb);
        let prev = self.flags.fetch_or(CALLBACKS, Ordering::AcqRel);
        if prev & DONE != 0 {
            // The harness may have already taken the list; either way this one is ours.
            list.pop()
        } else {
            None
        }
    }

    /// Marks the task done and takes the callbacks registered so far.
    pub(crate) fn mark_done(&self) -> Vec<Callback> {
        let prev = self.flags.fetch_or(DONE, Ordering::AcqRel);
        if prev & CALLBACKS == 0 {
            return Vec::new();
        }
        let mut list = self.callbacks.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::take(&mut *list)
    }
}
