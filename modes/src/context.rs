//! What this thread runs, in one thread-local ([`Context`]): the current runtime, the
//! `Single` loop core or `Threads` worker it is running, and that loop's driver, if any. The "current task" is kept
//! by the task core (`task/current.rs`, read here), because only its harness knows when a
//! poll begins and ends.
//!
//! `enter` is called by every thread that runs a loop (the `block_on` caller, workers,
//! blocking-pool threads); it makes `spawn`, `sleep` and `now` find their runtime. The
//! cores enter themselves (`enter_single`, `enter_worker`) for the length of a run. Each
//! call returns an [`EnterGuard`] that restores the field it set, so nesting is harmless.
//!
//! The pointer fields follow one rule: a field is non-null only between the `enter_*` call
//! that set it and the drop of the guard it returned, on this thread; both callers
//! (`single::Core::enter`, `threads::worker::run`) keep the core alive and in place until
//! then, and every access is through `&Core` (interior mutability), so a pointer here never
//! aliases a unique borrow. Guards are dropped in reverse order of their making (they are
//! scoped locals), so each restores what was there before it.
//!
//! The driver field follows the same rule: the core that owns the driver enters it
//! (`enter_driver`) for the length of its run; `io` and `time` reach it through
//! `with_driver`.
//!
//! During thread-local teardown (a runtime kept in a `thread_local!` is dropped when its
//! thread exits, maybe after `CONTEXT` itself was destroyed) nothing here panics: `enter`
//! then sets nothing, and `current`/`with` see no runtime and no core. Shutdown still works
//! there; a destructor that spawns during it finds no runtime, as after shutdown anyway.

use std::cell::{Cell, RefCell};
use std::ptr;

use crate::driver::Driver;
use crate::sched::Scheduler;
use crate::single::Core as SingleCore;
use crate::task::{TaskId, TaskRef};
use crate::threads::WorkerCore;

/// Everything this thread runs. One per thread, in `CONTEXT`.
struct Context {
    /// The runtime `enter` made current.
    scheduler: RefCell<Option<Scheduler>>,
    /// The `Single` loop core this thread runs now, or null.
    single: Cell<*const SingleCore>,
    /// The `Threads` worker this thread is, or null.
    worker: Cell<*const WorkerCore>,
    /// The driver (ring, park, timers) of the loop this thread runs, or null.
    driver: Cell<*const Driver>,
}

thread_local! {
    static CONTEXT: Context = const {
        Context {
            scheduler: RefCell::new(None),
            single: Cell::new(ptr::null()),
            worker: Cell::new(ptr::null()),
            driver: Cell::new(ptr::null()),
        }
    };
}

/// What a guard restores when it drops.
enum Prev {
    /// The thread-local was already destroyed, so nothing was set.
    Nothing,
    Scheduler(Option<Scheduler>),
    Single(*const SingleCore),
    Worker(*const WorkerCore),
    Driver(*const Driver),
}

/// Restores what was current before it was made (the runtime, or a running core) when
/// dropped. Not `Send`: it restores this thread's context.
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
    prev: Prev,
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
    let prev = CONTEXT
        .try_with(|c| Prev::Scheduler(c.scheduler.replace(Some(sched))))
        .unwrap_or(Prev::Nothing);
    EnterGuard { prev }
}

/// Makes `core` the `Single` core this thread runs until the guard drops. The caller
/// keeps `core` alive and in place until then (the module's rule).
pub(crate) fn enter_single(core: &SingleCore) -> EnterGuard {
    let prev = CONTEXT
        .try_with(|c| Prev::Single(c.single.replace(core)))
        .unwrap_or(Prev::Nothing);
    EnterGuard { prev }
}

/// Makes `core` the `Threads` worker this thread is until the guard drops. The caller
/// keeps `core` alive and in place until then (the module's rule).
pub(crate) fn enter_worker(core: &WorkerCore) -> EnterGuard {
    let prev = CONTEXT
        .try_with(|c| Prev::Worker(c.worker.replace(core)))
        .unwrap_or(Prev::Nothing);
    EnterGuard { prev }
}

/// Makes `driver` the driver of the loop this thread runs until the guard drops; `None`
/// hides the thread's driver (a thread that waits on another runtime, whose `io` and
/// `time` must not use the loop it is nested in). The caller keeps `driver` alive and in
/// place until then (the module's rule).
pub(crate) fn enter_driver(driver: Option<&Driver>) -> EnterGuard {
    let p = driver.map_or(ptr::null(), |d| d as *const Driver);
    let prev = CONTEXT
        .try_with(|c| Prev::Driver(c.driver.replace(p)))
        .unwrap_or(Prev::Nothing);
    EnterGuard { prev }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.prev, Prev::Nothing) {
            Prev::Nothing => {}
            Prev::Scheduler(prev) => {
                // The previous value is dropped outside the borrow: a runtime's last handle
                // may go here, and its drop may enter again.
                let old = CONTEXT.try_with(|c| c.scheduler.replace(prev)).ok();
                drop(old);
            }
            Prev::Single(prev) => {
                let _ = CONTEXT.try_with(|c| c.single.set(prev));
            }
            Prev::Worker(prev) => {
                let _ = CONTEXT.try_with(|c| c.worker.set(prev));
            }
            Prev::Driver(prev) => {
                let _ = CONTEXT.try_with(|c| c.driver.set(prev));
            }
        }
    }
}

/// Reads one pointer field as a reference, for the length of `f`.
#[inline]
fn with_core<T, R>(field: impl FnOnce(&Context) -> *const T, f: impl FnOnce(Option<&T>) -> R) -> R {
    let p = CONTEXT.try_with(field).unwrap_or(ptr::null());
    // SAFETY: the module's rule: a non-null field points at a core that its `enter_*`
    // caller keeps alive and in place until the guard drops, which cannot happen during
    // `f` (the guard belongs to a caller further up this thread's stack); access is
    // shared (`&T`), as every access to a core is.
    f(unsafe { p.as_ref() })
}

/// Runs `f` with the `Single` core this thread runs, if any.
#[inline]
pub(crate) fn with_single<R>(f: impl FnOnce(Option<&SingleCore>) -> R) -> R {
    with_core(|c| c.single.get(), f)
}

/// Runs `f` with the `Threads` worker this thread is, if any.
#[inline]
pub(crate) fn with_worker<R>(f: impl FnOnce(Option<&WorkerCore>) -> R) -> R {
    with_core(|c| c.worker.get(), f)
}

/// Runs `f` with the driver of the loop this thread runs, if any.
#[inline]
pub(crate) fn with_driver<R>(f: impl FnOnce(Option<&Driver>) -> R) -> R {
    with_core(|c| c.driver.get(), f)
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
    CONTEXT
        .try_with(|c| c.scheduler.borrow().clone())
        .ok()
        .flatten()
}

/// Calls `f` with the current runtime, without cloning it (the hot path of
/// `runtime::spawn`).
///
/// ```
/// assert!(modes::context::with(|s| s.is_none()));
/// ```
pub fn with<R>(f: impl FnOnce(Option<&Scheduler>) -> R) -> R {
    let mut f = Some(f);
    match CONTEXT.try_with(|c| (f.take().expect("called once"))(c.scheduler.borrow().as_ref())) {
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
