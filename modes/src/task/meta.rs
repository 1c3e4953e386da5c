//! What the runtime stores beside each task's future, inside async-task's single allocation.

use std::panic::Location;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use super::schedule::Schedule;
use super::state::{DoneCallback, TaskFlags, TaskState};

/// A task's id: unique for the life of the process, never reused.
///
/// ```
/// use std::collections::HashMap;
/// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
/// let handles: Vec<_> = (1..=3).map(|i| sched.spawn(async move { i * 10 })).collect();
/// let first = handles[0].id();
/// let results: HashMap<modes::TaskId, u32> =
///     handles.into_iter().map(|h| (h.id(), h.join().unwrap())).collect();
/// assert_eq!(results.len(), 3); // three distinct ids
/// assert_eq!(results[&first], 10);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(pub(crate) u64);

impl TaskId {
    pub(crate) fn next() -> TaskId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        TaskId(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// The id as a number.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let h = sched.spawn(async {});
    /// let n: u64 = h.id().as_u64();
    /// assert!(n >= 1); // ids start at 1
    /// assert_eq!(format!("task-{}", h.id()), format!("task-{n}")); // Display shows it too
    /// # sched.shutdown();
    /// ```
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Per-task metadata (async-task's `M`).
///
/// Not exported: users read it through a task's [`JoinHandle`](super::JoinHandle) or
/// [`TaskRef`](super::TaskRef).
///
/// ```
/// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
/// let h = sched.spawn_named("fetch", async { 1 });
/// let r = h.task_ref().unwrap(); // both point at the same `Meta`
/// assert_eq!((r.id(), r.name()), (h.id(), Some("fetch")));
/// assert_eq!(r.spawned_at().file(), file!());
/// assert_eq!(h.join().unwrap(), 1);
/// ```
pub struct Meta {
    pub(crate) id: TaskId,
    pub(crate) name: Option<Box<str>>,
    pub(crate) spawned_at: &'static Location<'static>,
    pub(crate) flags: TaskFlags,
    /// Index in the scheduler's registry; written once before the task first runs.
    pub(crate) slot: AtomicUsize,
    /// Which thread inserted the task's registry entry (`registry::thread_token`): its
    /// removal is batched only on another thread (registry invariant 5).
    pub(crate) inserted_by: AtomicUsize,
    /// The engine that runs the task (or the blocking pool, for `spawn_blocking` jobs).
    pub(crate) scheduler: Arc<dyn Schedule>,
}

impl Meta {
    pub(crate) fn new(
        scheduler: Arc<dyn Schedule>,
        name: Option<Box<str>>,
        spawned_at: &'static Location<'static>,
    ) -> Meta {
        Meta {
            id: TaskId::next(),
            name,
            spawned_at,
            flags: TaskFlags::new(),
            slot: AtomicUsize::new(usize::MAX),
            inserted_by: AtomicUsize::new(0),
            scheduler,
        }
    }

    /// Counts a cancel request. Returns `true` if it is the first pending one of a task
    /// not yet done, so a wake is needed.
    pub(crate) fn request_cancel(&self) -> bool {
        self.flags.request_cancel() == super::state::CancelRequest::First
    }

    /// Counts a cancel request and says what it did.
    pub(crate) fn cancel_request(&self) -> super::state::CancelRequest {
        self.flags.request_cancel()
    }

    pub(crate) fn uncancel(&self) -> u32 {
        self.flags.uncancel()
    }

    pub(crate) fn cancelling(&self) -> u32 {
        self.flags.cancelling()
    }

    pub(crate) fn is_done(&self) -> bool {
        self.flags.is_done()
    }

    pub(crate) fn state(&self) -> TaskState {
        self.flags.state()
    }

    pub(crate) fn push_callback(&self, cb: DoneCallback) -> Option<DoneCallback> {
        self.flags.push_callback(cb)
    }

    pub(crate) fn mark_done(&self) -> Vec<DoneCallback> {
        self.flags.mark_done()
    }
}
