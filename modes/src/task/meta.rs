//! What the runtime stores beside each task's future, inside async-task's single allocation.

use std::any::Any;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::state::{TaskFlags, TaskState};
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
    pub(crate) flags: TaskFlags,
    /// Index in the scheduler's registry; written once before the task first runs.
    pub(crate) slot: AtomicUsize,
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
            flags: TaskFlags::new(),
            slot: AtomicUsize::new(usize::MAX),
            scheduler,
        }
    }

    /// Sets the cancel bit. Returns `true` if the task was not yet done or cancelling, so
    /// a wake is needed.
    pub(crate) fn request_cancel(&self) -> bool {
        self.flags.request_cancel()
    }

    pub(crate) fn is_done(&self) -> bool {
        self.flags.is_done()
    }

    pub(crate) fn state(&self) -> TaskState {
        self.flags.state()
    }

    pub(crate) fn push_callback(&self, cb: Callback) -> Option<Callback> {
        self.flags.push_callback(cb)
    }

    pub(crate) fn mark_done(&self) -> Vec<Callback> {
        self.flags.mark_done()
    }
}
