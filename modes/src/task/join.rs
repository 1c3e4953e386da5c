//! `JoinHandle`: the caller's side of a task (asyncio's `Task` object).

use crate::loom::{Mutex, MutexGuard};
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

use async_task::FallibleTask;

use super::error::JoinError;
use super::harness::run_callback;
use super::meta::{Meta, TaskId};
use super::registry::TaskRef;
use super::state::TaskState;

type Output<T> = Result<T, JoinError>;

/// The handle of a spawned task; awaiting it gives the task's outcome.
///
/// This is asyncio's `Task` and concurrent.futures' `Future` in one: await it (or call
/// [`join`](JoinHandle::join) from outside the runtime) for `Ok(value)`, or a
/// [`JoinError`] if the task was cancelled or panicked. Dropping the handle detaches the
/// task: it keeps running, as an asyncio task does (tokio's convention too). The one
/// exception: a handle dropped inside [`drop_cancelling`], which is how the runtime's
/// combinators (`gather`, `timeout`) cancel the tasks they own when they are cancelled or
/// expire, unless the handle was made with [`shielded`](JoinHandle::shielded).
///
/// ```
/// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
/// let task = sched.spawn(async { 6 * 7 });
/// assert_eq!(sched.block_on(task).unwrap(), 42);
/// ```
pub struct JoinHandle<T> {
    meta: NonNull<Meta>,
    slot: Mutex<Slot<T>>,
    /// Detach on drop even inside [`drop_cancelling`] (`shield`).
    shielded: bool,
}

thread_local! {
    /// How many [`drop_cancelling`] calls are running on this thread.
    static CANCEL_ON_DROP: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Drops `value`, cancelling the task of every [`JoinHandle`] dropped meanwhile on this
/// thread (however deep inside `value` it is) whose task has not finished, instead of
/// detaching it. Shielded handles ([`JoinHandle::shielded`]) still detach.
///
/// This is asyncio's cancellation broadcast for owners of task handles: `gather` and
/// `timeout` drop what they own through it when they are cancelled or expire, so the
/// tasks they were awaiting are cancelled too.
///
/// ```
/// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
/// let a = sched.spawn(std::future::pending::<()>());
/// let r = a.task_ref().unwrap();
/// modes::drop_cancelling(vec![a]);
/// assert_eq!(r.state(), modes::TaskState::Cancelling);
/// # sched.shutdown();
/// ```
pub fn drop_cancelling<V>(value: V) {
    struct Depth;
    impl Drop for Depth {
        fn drop(&mut self) {
            let _ = CANCEL_ON_DROP.try_with(|d| d.set(d.get() - 1));
        }
    }
    CANCEL_ON_DROP.with(|d| d.set(d.get() + 1));
    let _depth = Depth;
    drop(value);
}

struct Slot<T> {
    task: Option<FallibleTask<Output<T>, Meta>>,
    out: Option<Output<T>>,
    taken: bool,
}

// SAFETY: `meta` points into the task allocation, which `slot.task` keeps alive until the
// handle is dropped; `Meta` is Sync. The output crosses threads only if `T: Send`.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: shared access goes through `meta` (Sync) or the `slot` mutex.
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    pub(crate) fn new(task: async_task::Task<Output<T>, Meta>) -> JoinHandle<T> {
        let meta = NonNull::from(task.metadata());
        JoinHandle {
            meta,
            slot: Mutex::new(Slot {
                task: Some(task.fallible()),
                out: None,
                taken: false,
            }),
            shielded: false,
        }
    }

    pub(crate) fn meta(&self) -> &Meta {
        // SAFETY: the handle owns the `Task`, which keeps the allocation holding `Meta`.
        unsafe { self.meta.as_ref() }
    }

    /// The task's id.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let a = sched.spawn(std::future::pending::<()>());
    /// let b = sched.spawn(std::future::pending::<()>());
    /// assert!(a.id() < b.id()); // unique and increasing, never reused
    /// let live: Vec<_> = sched.all_tasks().iter().map(|t| t.id()).collect();
    /// assert_eq!(live, vec![a.id(), b.id()]);
    /// sched.shutdown();
    /// ```
    pub fn id(&self) -> TaskId {
        self.meta().id
    }

    /// The name given at spawn, if any.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let named = sched.spawn_named("fetch", async {});
    /// let anonymous = sched.spawn(async {});
    /// assert_eq!(named.name(), Some("fetch"));
    /// assert_eq!(anonymous.name(), None);
    /// # sched.shutdown();
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
    /// assert_eq!(h.state(), TaskState::Pending);
    /// h.cancel();
    /// assert_eq!(h.state(), TaskState::Cancelling); // the task has not run since
    /// assert!(h.join().unwrap_err().is_cancelled());
    /// ```
    pub fn state(&self) -> TaskState {
        self.meta().state()
    }

    /// `true` once the task has an outcome (value, panic or cancellation): asyncio's
    /// `Task.done()`.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let quick = sched.spawn(async { 1 });
    /// assert!(!quick.is_finished()); // the loop has not run yet
    /// sched.block_on(sched.spawn(async {})).unwrap(); // runs the loop; `quick` went first
    /// assert!(quick.is_finished());
    /// assert_eq!(quick.join().unwrap(), 1);
    /// ```
    pub fn is_finished(&self) -> bool {
        self.meta().is_done()
    }

    /// Requests cancellation (asyncio's `Task.cancel()`): the task's future is dropped at
    /// its next scheduling, wherever it is suspended, and awaiting this handle then gives a
    /// cancelled [`JoinError`]. Returns `true` while the task has not finished, and counts
    /// each request ([`cancelling`](JoinHandle::cancelling)), as asyncio 3.11 does; `false`
    /// once it has finished. A task cannot refuse (but see
    /// [`uncancel`](JoinHandle::uncancel)); wrap work in `shield` to protect it from an
    /// outer cancellation.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::virtual_clock());
    /// let quick = sched.spawn(async {});
    /// let slow = sched.spawn(modes::sleep(Duration::from_secs(60)));
    /// sched.block_on(modes::sleep(Duration::from_secs(1))); // both ran; `slow` now waits
    /// assert!(!quick.cancel()); // already finished
    /// assert!(slow.cancel()); // its sleep is dropped where it was suspended
    /// assert!(sched.block_on(slow).unwrap_err().is_cancelled());
    /// ```
    pub fn cancel(&self) -> bool {
        let meta = self.meta();
        match meta.cancel_request() {
            super::state::CancelRequest::First => {
                if let Some(w) = meta.scheduler.registry().waker_of(meta) {
                    w.wake();
                }
                true
            }
            super::state::CancelRequest::Again => true,
            super::state::CancelRequest::Done => false,
        }
    }

    /// How many cancel requests were made (asyncio's `Task.cancelling()`).
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let h = sched.spawn(std::future::pending::<()>());
    /// assert!(h.cancel() && h.cancel()); // both count: the task is not done
    /// assert_eq!(h.cancelling(), 2);
    /// assert!(h.join().unwrap_err().is_cancelled());
    /// ```
    pub fn cancelling(&self) -> u32 {
        self.meta().cancelling()
    }

    /// Withdraws one cancel request; returns how many are left (asyncio's
    /// `Task.uncancel()`). When the last is withdrawn before the task observed it, the
    /// task runs on as if never cancelled.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let h = sched.spawn(async { "ran" });
    /// h.cancel();
    /// h.cancel();
    /// assert_eq!(h.uncancel(), 1);
    /// assert_eq!(h.uncancel(), 0); // nothing pending any more
    /// assert_eq!(h.join().unwrap(), "ran");
    /// ```
    pub fn uncancel(&self) -> u32 {
        self.meta().uncancel()
    }

    /// This handle, made to detach on drop even inside [`drop_cancelling`]: what `shield`
    /// returns, so that a combinator that is cancelled or expires leaves the task running.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let h = sched.spawn(async { 1 }).shielded();
    /// let r = h.task_ref().unwrap();
    /// modes::drop_cancelling(h);
    /// assert_eq!(r.cancelling(), 0); // detached, not cancelled
    /// # sched.shutdown();
    /// ```
    pub fn shielded(mut self) -> JoinHandle<T> {
        self.shielded = true;
        self
    }

    /// A cloneable, `Send + Sync` reference to the task, to cancel or inspect it from
    /// elsewhere. `None` if the task has already finished.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let h = sched.spawn_named("worker", std::future::pending::<()>());
    /// let r = h.task_ref().expect("not finished yet");
    /// assert_eq!((r.id(), r.name()), (h.id(), Some("worker")));
    /// std::thread::spawn(move || r.cancel()).join().unwrap(); // from another thread
    /// assert!(h.join().unwrap_err().is_cancelled());
    /// ```
    pub fn task_ref(&self) -> Option<TaskRef> {
        let meta = self.meta();
        meta.scheduler
            .registry()
            .waker_of(meta)
            .map(|waker| TaskRef::new(waker, self.meta))
    }
}

impl<T: Send + 'static> JoinHandle<T> {
    /// Runs `f` once with the task's outcome when it finishes (asyncio's
    /// `add_done_callback`). If the task has already finished, `f` runs now, on this thread;
    /// otherwise it runs on the thread that completes the task, right after completion. A
    /// panic in `f` is reported on stderr and goes no further.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let seen = Arc::new(Mutex::new(None));
    /// let s = seen.clone();
    /// let task = sched.spawn(async { "result-server1" });
    /// task.add_done_callback(move |out| *s.lock().unwrap() = Some(*out.as_ref().unwrap()));
    /// sched.block_on(task).unwrap();
    /// assert_eq!(*seen.lock().unwrap(), Some("result-server1"));
    /// ```
    pub fn add_done_callback<F>(&self, f: F)
    where
        F: FnOnce(&Result<T, JoinError>) + Send + 'static,
    {
        let cb: super::state::DoneCallback = Box::new(move |any| {
            if let Some(out) = any.downcast_ref::<Output<T>>() {
                f(out)
            }
        });
        let Some(cb) = self.meta().push_callback(cb) else {
            return;
        };
        // Already done: fetch the outcome (the harness sets DONE just before handing the
        // output to async-task, so it may take a moment to appear).
        let mut slot = self.lock_slot();
        if !slot.taken && slot.out.is_none() {
            let out = wait_ready(&mut slot, self.id());
            slot.out = Some(out);
        }
        match &slot.out {
            Some(out) => run_callback(cb, out),
            None => {
                let out: Output<T> = Err(JoinError::failed(
                    self.id(),
                    "the outcome was already taken by an await of this handle",
                ));
                run_callback(cb, &out)
            }
        }
    }

    /// Waits for the task to finish without taking its outcome: the next await (or
    /// [`outcome`](JoinHandle::outcome)) finds it at once. For combinators such as `wait`
    /// that report finished handles and leave their outcomes to the caller.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let mut h = sched.spawn(async { 7 });
    /// sched.block_on(poll_fn(|cx| h.poll_finished(cx)));
    /// assert!(matches!(h.outcome(), Some(Ok(7))));
    /// assert_eq!(sched.block_on(h).unwrap(), 7);
    /// ```
    pub fn poll_finished(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let id = self.id();
        let slot = self.slot.get_mut();
        if slot.out.is_some() || slot.taken {
            return Poll::Ready(());
        }
        let Some(task) = slot.task.as_mut() else {
            slot.out = Some(Err(JoinError::cancelled(id)));
            return Poll::Ready(());
        };
        match Pin::new(task).poll(cx) {
            Poll::Ready(out) => {
                slot.out = Some(out.unwrap_or_else(|| Err(JoinError::cancelled(id))));
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// The outcome, if [`poll_finished`](JoinHandle::poll_finished) has seen the task finish
    /// and nobody has taken it yet.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let mut h = sched.spawn(async { 1 });
    /// assert!(h.outcome().is_none()); // not polled yet
    /// # sched.shutdown();
    /// ```
    pub fn outcome(&mut self) -> Option<&Result<T, JoinError>> {
        self.slot.get_mut().out.as_ref()
    }

    fn lock_slot(&self) -> MutexGuard<'_, Slot<T>> {
        self.slot.lock()
    }

    /// Blocks the calling thread until the task finishes and returns its outcome:
    /// concurrent.futures' `Future.result()`, for code outside the runtime.
    ///
    /// In `Single` mode the loop only runs inside `block_on`/`run_forever`; if no thread is
    /// running it, `join` runs it on this thread until the task finishes. Called from
    /// the loop's own thread (inside a task), `join` could never return, so it returns an
    /// error at once: await the handle there instead.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let task = sched.spawn(async { "done" });
    /// assert_eq!(task.join().unwrap(), "done");
    /// ```
    pub fn join(mut self) -> Result<T, JoinError> {
        let id = self.id();
        let scheduler = self.meta().scheduler.clone();
        let mut out = None;
        let refused = scheduler.block_until(&mut |cx| match Pin::new(&mut self).poll(cx) {
            Poll::Ready(o) => {
                out = Some(o);
                true
            }
            Poll::Pending => false,
        });
        match (out, refused) {
            (Some(out), _) => out,
            (None, Some(reason)) => Err(JoinError::failed(id, reason)),
            (None, None) => Err(JoinError::failed(
                id,
                "the scheduler stopped waiting before the task finished",
            )),
        }
    }
}

fn wait_ready<T: Send + 'static>(slot: &mut Slot<T>, id: TaskId) -> Output<T> {
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        match slot.task.as_mut() {
            Some(task) => match Pin::new(task).poll(&mut cx) {
                Poll::Ready(Some(out)) => return out,
                Poll::Ready(None) => return Err(JoinError::cancelled(id)),
                Poll::Pending => std::thread::yield_now(),
            },
            None => return Err(JoinError::cancelled(id)),
        }
    }
}

impl<T: Send + 'static> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let id = self.id();
        let this = self.get_mut();
        let slot = this.slot.get_mut();
        if let Some(out) = slot.out.take() {
            slot.taken = true;
            return Poll::Ready(out);
        }
        assert!(
            !slot.taken,
            "JoinHandle polled after it returned its outcome"
        );
        let Some(task) = slot.task.as_mut() else {
            return Poll::Ready(Err(JoinError::cancelled(id)));
        };
        match Pin::new(task).poll(cx) {
            Poll::Ready(out) => {
                slot.taken = true;
                Poll::Ready(out.unwrap_or_else(|| Err(JoinError::cancelled(id))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

// The output is never pinned: it is moved out when ready.
impl<T> Unpin for JoinHandle<T> {}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if !self.shielded
            && !self.meta().is_done()
            && CANCEL_ON_DROP.try_with(|d| d.get() > 0).unwrap_or(false)
        {
            self.cancel();
        }
        let slot = self.slot.get_mut();
        if let Some(task) = slot.task.take() {
            task.detach();
        }
    }
}

impl<T> std::fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // SAFETY: as in `meta()`; the handle keeps the allocation alive.
        let meta = unsafe { self.meta.as_ref() };
        f.debug_struct("JoinHandle")
            .field("id", &meta.id)
            .field("name", &meta.name)
            .field("state", &meta.state())
            .finish()
    }
}
