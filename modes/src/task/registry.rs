//! The live tasks of one scheduler: for introspection (`all_tasks`), cancellation from
//! anywhere, and a shutdown that drops every pending future exactly once.
//!
//! Invariants:
//! 1. A task is inserted after async-task created it and before it first runs; its entry
//!    holds a `Waker`, so the task's allocation (and its `Meta`) outlives the entry.
//! 2. Only the task's harness removes the entry, when the task finishes (or its harness is
//!    dropped unfinished). So `Entry::meta` is valid while the entry is in the slab.
//! 3. After `close()`, inserts are refused: the caller cancels such a task at once.
//! 4. Entries are spread over shards by task id, so workers spawning at once rarely meet
//!    on one lock.
//! 5. A thread that runs a pool's worker may batch that registry's removals of tasks
//!    another thread inserted ([`Registry::batch_removals`]; `Meta::inserted_by` says
//!    which thread did): a finished task's entry then stays in the slab,
//!    unchanged, until the batch is flushed (full, the worker parks, or the guard drops).
//!    Such an entry's task is DONE once its harness's `finish` sets DONE, right after
//!    `remove` (until then it is listed like any running task, as a task about to
//!    finish always was), and `snapshot`, `len` and `waker_of` skip entries of DONE
//!    tasks: a finished task is never listed, counted or handed out, batched or not.
//!    Only this thread removes the batched slots (the harness removes a task once), so a
//!    slot in a batch still holds the same task when it is flushed.
//!
//! Why batch: a task finished on another core than the one that inserted it (a steal,
//! a timer fired by a sibling) finds its entry's cache line in that core's cache. One
//! removal at a time pays that transfer and a shard lock per task; a batch takes each
//! shard's lock once and its misses overlap. Measured in ARCHITECTURE.md (decisions:
//! the registry).

use crate::loom::Mutex;
use std::cell::RefCell;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Waker;

use crossbeam_utils::CachePadded;
use slab::Slab;

use super::meta::{Meta, TaskId};
use super::state::TaskState;

struct Entry {
    waker: Waker,
    meta: NonNull<Meta>,
}

impl Entry {
    /// The entry's task finished (its removal may be batched: invariant 5).
    fn done(&self) -> bool {
        // SAFETY: the entry's waker keeps the allocation holding `Meta` alive (invariant 1).
        unsafe { self.meta.as_ref() }.flags.is_done()
    }
}

// SAFETY: `meta` points into a task allocation kept alive by `waker` (invariant 1);
// `Meta` is Sync, so sharing or sending a pointer to it is sound.
unsafe impl Send for Entry {}

pub(crate) struct Registry {
    shards: Box<[CachePadded<Mutex<Slab<Entry>>>]>,
    closed: AtomicBool,
}

/// Removals batched before a flush (invariant 5).
const BATCH_MAX: usize = 32;

/// This thread's batch of removals: for which registry (compared, never dereferenced;
/// null: none), the (shard, slot) pairs to remove, and a buffer for the removed entries
/// (kept, so that a flush allocates nothing).
struct Batch {
    registry: *const Registry,
    slots: Vec<(usize, usize)>,
    dead: Vec<Entry>,
}

thread_local! {
    static BATCH: RefCell<Batch> = const {
        RefCell::new(Batch { registry: std::ptr::null(), slots: Vec::new(), dead: Vec::new() })
    };
}

/// A token of the calling thread: the address of its `BATCH` (unique among live
/// threads); 0 during thread-local teardown.
fn thread_token() -> usize {
    BATCH.try_with(token_of).unwrap_or(0)
}

/// The token of the thread whose `BATCH` this is.
fn token_of(batch: &RefCell<Batch>) -> usize {
    batch as *const RefCell<Batch> as usize
}

/// While alive, this thread batches the removals of one registry's finished tasks
/// (invariant 5). Dropping it flushes the batch; [`Registry::flush_batch`] flushes now.
pub(crate) struct RemovalBatch<'a> {
    registry: &'a Registry,
    /// The batch this guard displaced (guards nest): its registry and pending slots,
    /// put back untouched on drop.
    outer: (*const Registry, Vec<(usize, usize)>),
    /// The batch lives in this thread's thread-local: the guard stays on this thread.
    _not_send: PhantomData<*const ()>,
}

impl Drop for RemovalBatch<'_> {
    fn drop(&mut self) {
        self.registry.flush_batch();
        let (registry, slots) = std::mem::replace(&mut self.outer, (std::ptr::null(), Vec::new()));
        let _ = BATCH.try_with(|b| {
            let mut b = b.borrow_mut();
            b.registry = registry;
            b.slots = slots;
        });
    }
}

impl Registry {
    pub(crate) fn new(shards: usize) -> Registry {
        let n = shards.max(1).next_power_of_two();
        Registry {
            shards: (0..n)
                .map(|_| CachePadded::new(Mutex::new(Slab::new())))
                .collect(),
            closed: AtomicBool::new(false),
        }
    }

    fn shard_index(&self, id: TaskId) -> usize {
        (id.0 as usize) & (self.shards.len() - 1)
    }

    fn shard(&self, id: TaskId) -> &Mutex<Slab<Entry>> {
        &self.shards[self.shard_index(id)]
    }

    /// Batches this registry's removals on this thread until the guard drops
    /// (invariant 5). For a pool worker, which flushes before it parks.
    pub(crate) fn batch_removals(&self) -> RemovalBatch<'_> {
        let outer = BATCH
            .try_with(|b| {
                let mut b = b.borrow_mut();
                let registry = std::mem::replace(&mut b.registry, self);
                (registry, std::mem::take(&mut b.slots))
            })
            .unwrap_or((std::ptr::null(), Vec::new()));
        RemovalBatch {
            registry: self,
            outer,
            _not_send: PhantomData,
        }
    }

    /// Removes this thread's batched entries, one lock per shard; their wakers (maybe
    /// the tasks' last references) are dropped after the locks. A no-op unless this
    /// thread batches this registry's removals.
    pub(crate) fn flush_batch(&self) {
        // A drop in a flush may batch another removal: flush until none is left.
        while self.flush_once() {}
    }

    /// One flush; `false` if there was nothing to flush.
    fn flush_once(&self) -> bool {
        let taken = BATCH.try_with(|b| {
            let mut b = b.borrow_mut();
            if !std::ptr::eq(b.registry, self) || b.slots.is_empty() {
                return None;
            }
            Some((std::mem::take(&mut b.slots), std::mem::take(&mut b.dead)))
        });
        let Ok(Some((mut slots, mut dead))) = taken else {
            return false;
        };
        slots.sort_unstable();
        for group in slots.chunk_by(|a, b| a.0 == b.0) {
            let mut shard = self.shards[group[0].0].lock();
            dead.extend(group.iter().filter_map(|&(_, slot)| shard.try_remove(slot)));
        }
        slots.clear();
        // Outside the locks, and with the thread-local free: a drop may finish (and
        // batch the removal of) another task.
        dead.clear();
        // Give the buffers back (unless a drop above batched a removal meanwhile).
        let _ = BATCH.try_with(|b| {
            let mut b = b.borrow_mut();
            if b.slots.is_empty() {
                b.slots = slots;
            }
            if b.dead.is_empty() {
                b.dead = dead;
            }
        });
        true
    }

    /// Inserts a new task. `false` if the registry is closed (the runtime shuts down).
    pub(crate) fn insert(&self, meta: &Meta, waker: Waker) -> bool {
        let mut shard = self.shard(meta.id).lock();
        if self.closed.load(Ordering::Acquire) {
            return false;
        }
        let slot = shard.insert(Entry {
            waker,
            meta: NonNull::from(meta),
        });
        meta.slot.store(slot, Ordering::Relaxed);
        meta.inserted_by.store(thread_token(), Ordering::Relaxed);
        true
    }

    /// Removes a finished task (called by its harness only), or batches the removal if
    /// this thread batches this registry's (invariant 5).
    pub(crate) fn remove(&self, meta: &Meta) {
        let slot = meta.slot.load(Ordering::Relaxed);
        if slot == usize::MAX {
            return;
        }
        let batched = BATCH.try_with(|cell| {
            // Only another thread's insert is batched: an entry this thread wrote is
            // still in its cache, and removing it at once frees the task while the
            // allocator can hand that warm memory to the next spawn (a chain of tasks).
            if meta.inserted_by.load(Ordering::Relaxed) == token_of(cell) {
                return None;
            }
            let mut b = cell.borrow_mut();
            if !std::ptr::eq(b.registry, self) {
                return None;
            }
            b.slots.push((self.shard_index(meta.id), slot));
            Some(b.slots.len() >= BATCH_MAX)
        });
        if let Ok(Some(full)) = batched {
            if full {
                self.flush_batch();
            }
            return;
        }
        let entry = {
            let mut shard = self.shard(meta.id).lock();
            shard.try_remove(slot)
        };
        // The waker is dropped outside the lock: it may be the task's last reference.
        drop(entry);
    }

    /// The waker of a live task, to wake it after a cancel request.
    pub(crate) fn waker_of(&self, meta: &Meta) -> Option<Waker> {
        let slot = meta.slot.load(Ordering::Relaxed);
        let shard = self.shard(meta.id).lock();
        shard
            .get(slot)
            .filter(|e| e.meta == NonNull::from(meta) && !meta.flags.is_done())
            .map(|e| e.waker.clone())
    }

    /// `true` once shutdown began (`close_and_cancel_all`).
    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// Live tasks, summed over the shards. Only shutdown and metrics ask, so the hot path
    /// keeps no shared counter (one would bounce between cores on every spawn).
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().iter().filter(|(_, e)| !e.done()).count())
            .sum()
    }

    /// A snapshot of every live task.
    pub(crate) fn snapshot(&self) -> Vec<TaskRef> {
        // Room for every entry, finished ones included: no second walk to count.
        let entries = self.shards.iter().map(|s| s.lock().len()).sum();
        let mut out = Vec::with_capacity(entries);
        for shard in self.shards.iter() {
            let shard = shard.lock();
            for (_, e) in shard.iter().filter(|(_, e)| !e.done()) {
                out.push(TaskRef {
                    waker: e.waker.clone(),
                    meta: e.meta,
                });
            }
        }
        out.sort_by_key(|t| t.id());
        out
    }

    /// Refuses further inserts and requests cancellation of every live task.
    pub(crate) fn close_and_cancel_all(&self) {
        for shard in self.shards.iter() {
            let _g = shard.lock();
            self.closed.store(true, Ordering::Release);
        }
        self.cancel_all();
    }

    /// Requests cancellation of every live task (they notice at their next poll).
    pub(crate) fn cancel_all(&self) {
        for t in self.snapshot() {
            t.cancel();
        }
    }
}

/// A reference to a live task, as listed by `all_tasks()`: its id, name, state, where it
/// was spawned, and a `cancel()` that works from any thread.
///
/// Holding a `TaskRef` keeps the task's allocation alive, not the task running.
///
/// ```
/// fn cancel_all(tasks: Vec<modes::TaskRef>) {
///     for t in tasks {
///         println!("cancelling {} ({:?})", t.id(), t.name());
///         t.cancel();
///     }
/// }
/// # let _ = cancel_all;
/// ```
#[derive(Clone)]
pub struct TaskRef {
    waker: Waker,
    meta: NonNull<Meta>,
}

// SAFETY: the waker keeps the task allocation that holds `Meta` alive; `Meta` is Sync.
unsafe impl Send for TaskRef {}
// SAFETY: as above; every method only reads `Meta` through atomics or immutable fields.
unsafe impl Sync for TaskRef {}

impl TaskRef {
    pub(crate) fn new(waker: Waker, meta: NonNull<Meta>) -> TaskRef {
        TaskRef { waker, meta }
    }

    /// A reference to `meta`'s task if it is still in the registry.
    pub(crate) fn of_live(meta: &Meta) -> Option<TaskRef> {
        meta.scheduler
            .registry()
            .waker_of(meta)
            .map(|waker| TaskRef::new(waker, NonNull::from(meta)))
    }

    fn meta(&self) -> &Meta {
        // SAFETY: `self.waker` holds a reference on the task allocation containing `Meta`
        // (registry invariant 1), so the pointer is valid for as long as `self` lives.
        unsafe { self.meta.as_ref() }
    }

    /// The task's id.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let h = sched.spawn(std::future::pending::<()>());
    /// let tasks = sched.all_tasks();
    /// assert_eq!(tasks.len(), 1);
    /// assert_eq!(tasks[0].id(), h.id()); // the same task, seen from two sides
    /// sched.shutdown();
    /// ```
    pub fn id(&self) -> TaskId {
        self.meta().id
    }

    /// The name given at spawn, if any.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let _poller = sched.spawn_named("poller", std::future::pending::<()>());
    /// let _anon = sched.spawn(std::future::pending::<()>());
    /// let tasks = sched.all_tasks(); // by id, so in spawn order
    /// assert_eq!(tasks[0].name(), Some("poller"));
    /// assert_eq!(tasks[1].name(), None);
    /// sched.shutdown();
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.meta().name.as_deref()
    }

    /// What the task is doing now.
    ///
    /// ```
    /// use modes::TaskState;
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let h = sched.spawn(std::future::pending::<()>());
    /// let r = h.task_ref().unwrap();
    /// assert_eq!(r.state(), TaskState::Pending);
    /// r.cancel();
    /// assert_eq!(r.state(), TaskState::Cancelling);
    /// assert!(h.join().unwrap_err().is_cancelled());
    /// assert_eq!(r.state(), TaskState::Done); // the ref outlives the task
    /// ```
    pub fn state(&self) -> TaskState {
        self.meta().state()
    }

    /// Source location of the spawn call.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let _h = sched.spawn(std::future::pending::<()>()); let line = line!();
    /// let at = sched.all_tasks()[0].spawned_at();
    /// assert_eq!((at.file(), at.line()), (file!(), line)); // where `spawn` was called
    /// sched.shutdown();
    /// ```
    pub fn spawned_at(&self) -> &'static std::panic::Location<'static> {
        self.meta().spawned_at
    }

    /// Requests cancellation: the task's future is dropped at its next scheduling, and its
    /// join handle reports a cancelled [`JoinError`](super::JoinError). Returns `true`
    /// while the task has not finished, counting each request (asyncio 3.11's
    /// `Task.cancel()`); `false` once it has.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let h = sched.spawn(std::future::pending::<()>());
    /// for t in sched.all_tasks() {
    ///     assert!(t.cancel());
    ///     assert!(t.cancel()); // still not done: counted again
    ///     assert_eq!(t.cancelling(), 2);
    /// }
    /// assert!(h.join().unwrap_err().is_cancelled());
    /// ```
    pub fn cancel(&self) -> bool {
        match self.meta().cancel_request() {
            super::state::CancelRequest::First => {
                self.waker.wake_by_ref();
                true
            }
            super::state::CancelRequest::Again => true,
            super::state::CancelRequest::Done => false,
        }
    }

    /// How many cancel requests are pending or were made (asyncio's `Task.cancelling()`).
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let h = sched.spawn(std::future::pending::<()>());
    /// let r = h.task_ref().unwrap();
    /// assert_eq!(r.cancelling(), 0);
    /// r.cancel();
    /// assert_eq!(r.cancelling(), 1);
    /// # sched.shutdown();
    /// ```
    pub fn cancelling(&self) -> u32 {
        self.meta().cancelling()
    }

    /// Withdraws one cancel request and returns how many are left (asyncio's
    /// `Task.uncancel()`). When none is left and the task has not yet observed the
    /// cancellation, it runs on as if never cancelled. A cancellation the task already
    /// observed (its future was dropped) cannot be undone.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let h = sched.spawn(async { 5 });
    /// let r = h.task_ref().unwrap();
    /// r.cancel();
    /// assert_eq!(r.uncancel(), 0); // withdrawn before the task ran
    /// assert_eq!(h.join().unwrap(), 5);
    /// ```
    pub fn uncancel(&self) -> u32 {
        self.meta().uncancel()
    }
}

/// Awaiting a `TaskRef` waits until the task has finished, whatever its outcome (the
/// outcome itself belongs to its `JoinHandle`). So `gather(rt.all_tasks())` waits for
/// every live task, as asyncio's `gather(*all_tasks(), return_exceptions=True)` does.
///
/// ```
/// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
/// let h = sched.spawn_named("job", async { 5 });
/// let r = h.task_ref().unwrap();
/// sched.block_on(r); // returns once "job" has finished
/// assert!(h.is_finished());
/// ```
impl std::future::IntoFuture for TaskRef {
    type Output = ();
    type IntoFuture = TaskDone;

    fn into_future(self) -> TaskDone {
        let state = Arc::new(DoneState {
            done: AtomicBool::new(false),
            waker: Mutex::new(None),
        });
        let s = state.clone();
        let cb: super::state::DoneCallback = Box::new(move |_| s.finish());
        if let Some(cb) = self.meta().push_callback(cb) {
            cb(&());
        }
        TaskDone { state, _task: self }
    }
}

struct DoneState {
    done: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl DoneState {
    fn finish(&self) {
        self.done.store(true, Ordering::Release);
        if let Some(w) = self.waker.lock().take() {
            w.wake();
        }
    }
}

/// The future of an awaited [`TaskRef`]: completes when the task has finished.
///
/// ```
/// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
/// let r = sched.spawn(async {}).task_ref().unwrap();
/// let done: modes::TaskDone = std::future::IntoFuture::into_future(r);
/// sched.block_on(done);
/// ```
pub struct TaskDone {
    state: Arc<DoneState>,
    _task: TaskRef,
}

impl std::future::Future for TaskDone {
    type Output = ();

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.state.done.load(Ordering::Acquire) {
            return std::task::Poll::Ready(());
        }
        *self.state.waker.lock() = Some(cx.waker().clone());
        if self.state.done.load(Ordering::Acquire) {
            return std::task::Poll::Ready(());
        }
        std::task::Poll::Pending
    }
}

impl std::fmt::Debug for TaskRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskRef")
            .field("id", &self.id())
            .field("name", &self.name())
            .field("state", &self.state())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
