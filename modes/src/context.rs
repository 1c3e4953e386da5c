//! The thread-local "current runtime", and the "current task" (kept by the task core,
//! `task/current.rs`, read here).
//!
//! `enter` is called by every thread that runs a loop (the `block_on` caller, workers,
//! blocking-pool threads); it makes `spawn`, `sleep` and `now` find their runtime. The
//! guard restores the previous value, so nesting is harmless.
//!
//! During thread-local teardown (a runtime kept in a `thread_local!` is dropped when its
//! thread exits, maybe after `CURRENT` itself was destroyed) nothing here panics: `enter`
//! then sets nothing, and `current`/`with` see no runtime. Shutdown still works there; a
//! destructor that spawns during it finds no runtime, as after shutdown anyway.

use std::cell::RefCell;

use crate::sched::Scheduler;
use crate::task::{TaskId, TaskRef};

thread_local! {
    static CURRENT: RefCell<Option<Scheduler>> = const { RefCell::new(None) };
}

/// Restores the previous current runtime when dropped.
///
/// Every thread that runs work for a scheduler holds one meanwhile: the `block_on`
/// caller, workers, and blocking-pool threads (which enter their owner's runtime).
///
/// ```
/// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
/// let h = sched.spawn_blocking(|| modes::context::current().map(|s| s.label()));
/// assert_eq!(h.join().unwrap(), Some("single")); // the pool thread entered `sched`
/// sched.block_on(async { assert!(modes::context::current().is_some()) });
/// assert!(modes::context::current().is_none()); // block_on's guard restored `None`
/// ```
pub struct EnterGuard {
    /// `None`: the thread-local was already destroyed, so nothing was set.
    prev: Option<Option<Scheduler>>,
}

/// Makes `sched` the current runtime of this thread until the guard is dropped (tokio's
/// `Runtime::enter`): `spawn`, `sleep` and `now` then find it from plain code. A no-op
/// during thread-local teardown (see the module docs).
///
/// ```
/// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
/// let guard = modes::context::enter(sched.clone());
/// let h = modes::context::current().unwrap().spawn(async { 2 });
/// drop(guard);
/// assert!(modes::context::current().is_none());
/// assert_eq!(h.join().unwrap(), 2);
/// ```
pub fn enter(sched: Scheduler) -> EnterGuard {
    let prev = CURRENT.try_with(|c| c.replace(Some(sched))).ok();
    EnterGuard { prev }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        if let Some(prev) = self.prev.take() {
            // The previous value is dropped outside the borrow: a runtime's last handle
            // may go here, and its drop may enter again.
            let old = CURRENT.try_with(|c| c.replace(prev)).ok();
            drop(old);
        }
    }
}

/// The runtime this thread is running, if any.
///
/// ```
/// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
/// assert!(modes::context::current().is_none()); // no runtime on this thread yet
/// let v = sched.block_on(async {
///     let here = modes::context::current().expect("inside block_on");
///     assert!(here.in_loop_thread());
///     here.spawn(async { 5 }).await.unwrap()
/// });
/// assert_eq!(v, 5);
/// ```
pub fn current() -> Option<Scheduler> {
    CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
}

/// Calls `f` with the current runtime, without cloning it (the hot path of
/// `runtime::spawn`).
///
/// ```
/// assert!(modes::context::with(|s| s.is_none()));
/// ```
pub fn with<R>(f: impl FnOnce(Option<&Scheduler>) -> R) -> R {
    let mut f = Some(f);
    match CURRENT.try_with(|c| (f.take().expect("called once"))(c.borrow().as_ref())) {
        Ok(r) => r,
        Err(_) => (f.take().expect("not called yet"))(None),
    }
}

/// The id of the task being polled on this thread, if any.
///
/// ```
/// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
/// assert_eq!(modes::context::current_task(), None); // not inside a task
/// let h = sched.spawn(async { modes::context::current_task() });
/// let id = h.id();
/// assert_eq!(sched.block_on(h).unwrap(), Some(id)); // the task saw its own id
/// ```
pub fn current_task() -> Option<TaskId> {
    crate::task::current_id()
}

/// The task being polled on this thread, as a [`TaskRef`] (asyncio's `current_task()`).
/// `None` outside a task.
///
/// ```
/// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
/// assert!(modes::context::current_task_ref().is_none());
/// let h = sched.spawn_named("me", async {
///     let me = modes::context::current_task_ref().unwrap();
///     me.name().map(str::to_string)
/// });
/// assert_eq!(h.join().unwrap().as_deref(), Some("me"));
/// ```
pub fn current_task_ref() -> Option<TaskRef> {
    crate::task::current_ref()
}
