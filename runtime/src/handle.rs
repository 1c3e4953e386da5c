//! `Handle`: a cloneable, `Send` reference to a runtime, for callbacks, tasks and other
//! threads (asyncio's `loop` object as seen from anywhere).

use modes::lock::Mutex;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use serde::{de::DeserializeOwned, Serialize};

use crate::{CallbackHandle, JoinHandle, Mode, TaskRef};

/// A cloneable, `Send + Sync` reference to a runtime.
///
/// ```
/// let rt = runtime::Runtime::builder().build().unwrap();
/// let handle = rt.handle();
/// std::thread::spawn(move || handle.call_soon({
///     let h2 = handle.clone();
///     move || h2.stop()
/// })).join().unwrap();
/// rt.run_forever(); // returns: the other thread queued a stop
/// ```
#[derive(Clone, Debug)]
pub struct Handle {
    pub(crate) sched: modes::Scheduler,
    pub(crate) mode: Mode,
}

impl Handle {
    /// The handle of the runtime running on this thread, if any (asyncio's
    /// `get_running_loop`, without the exception).
    ///
    /// ```
    /// assert!(runtime::Handle::current().is_none());
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// assert!(rt.block_on(async { runtime::Handle::current().is_some() }));
    /// ```
    pub fn current() -> Option<Handle> {
        let sched = modes::context::current()?;
        let mode = Mode::ALL
            .into_iter()
            .find(|m| m.name() == sched.label())
            .unwrap_or_default();
        Some(Handle { sched, mode })
    }

    /// The runtime's mode.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// assert_eq!(rt.handle().mode(), runtime::Mode::Single);
    /// ```
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Spawns a task (asyncio's `create_task`); see [`crate::spawn`].
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let h = rt.handle().spawn(async { 1 });
    /// assert_eq!(rt.block_on(h).unwrap(), 1);
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.sched.spawn(fut)
    }

    /// Spawns a named task; the name shows in [`all_tasks`](Handle::all_tasks).
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let h = rt.handle().spawn_named("fetch-1", async { 1 });
    /// assert_eq!(h.name(), Some("fetch-1"));
    /// ```
    #[track_caller]
    pub fn spawn_named<F>(&self, name: &str, fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.sched.spawn_named(name, fut)
    }

    /// Runs blocking `f` on the blocking pool; see [`crate::spawn_blocking`].
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let h = rt.handle().spawn_blocking(|| 5);
    /// assert_eq!(h.join().unwrap(), 5);
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.sched.spawn_blocking(f)
    }

    /// Runs `f(arg)` where the mode runs submitted work; see [`crate::submit`].
    ///
    /// ```
    /// fn square(x: u64) -> u64 { x * x }
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// assert_eq!(rt.handle().submit(square, 9).join().unwrap(), 81);
    /// ```
    #[track_caller]
    pub fn submit<A, R>(&self, f: fn(A) -> R, arg: A) -> JoinHandle<R>
    where
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        crate::submit::submit_on(self, f, arg)
    }

    /// Queues `f` for the next loop iteration (asyncio's `call_soon`, and from another
    /// thread `call_soon_threadsafe`). Callbacks and ready tasks run FIFO.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let h = rt.handle();
    /// rt.call_soon(move || h.stop());
    /// rt.run_forever();
    /// ```
    pub fn call_soon<F: FnOnce() + Send + 'static>(&self, f: F) -> CallbackHandle {
        self.sched.call_soon(Box::new(f))
    }

    /// Calls `f` on the loop after `delay` (asyncio's `call_later`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = runtime::Runtime::builder().clock(runtime::Clock::Virtual).build().unwrap();
    /// let h = rt.handle();
    /// rt.call_later(Duration::from_secs(2), move || h.stop());
    /// rt.run_forever();
    /// ```
    pub fn call_later<F: FnOnce() + Send + 'static>(
        &self,
        delay: Duration,
        f: F,
    ) -> CallbackHandle {
        self.sched.call_later(delay, Box::new(f))
    }

    /// Calls `f` on the loop when its clock reaches `when` (asyncio's `call_at`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = runtime::Runtime::builder().clock(runtime::Clock::Virtual).build().unwrap();
    /// let h = rt.handle();
    /// let when = rt.time() + Duration::from_secs(3);
    /// rt.call_at(when, move || h.stop());
    /// rt.run_forever();
    /// assert_eq!(rt.time(), when);
    /// ```
    pub fn call_at<F: FnOnce() + Send + 'static>(&self, when: Instant, f: F) -> CallbackHandle {
        self.sched.call_at(when, Box::new(f))
    }

    /// Makes `run_forever` return after the current iteration (asyncio's `loop.stop()`).
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// rt.handle().stop();
    /// rt.run_forever(); // one iteration, then returns
    /// ```
    pub fn stop(&self) {
        self.sched.stop()
    }

    /// The runtime's clock now (asyncio's `loop.time()`).
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// assert!(rt.handle().time() <= std::time::Instant::now());
    /// ```
    pub fn time(&self) -> Instant {
        self.sched.now()
    }

    /// Makes this runtime the current one on this thread until the guard is dropped
    /// (tokio's `Handle::enter`): [`spawn`](crate::spawn), [`sleep`](crate::sleep) and
    /// [`now`](crate::now) then work from plain code. Guards nest; each restores what was
    /// current before it.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let h = rt.handle();
    /// let task = {
    ///     let _guard = h.enter();
    ///     runtime::spawn(async { "spawned from plain code" })
    /// };
    /// assert!(runtime::Handle::current().is_none()); // the guard is gone
    /// assert_eq!(task.join().unwrap(), "spawned from plain code");
    /// ```
    pub fn enter(&self) -> EnterGuard {
        EnterGuard {
            _inner: modes::context::enter(self.sched.clone()),
            _not_send: PhantomData,
        }
    }

    /// Runs `fut` to completion on this thread, for blocking code outside the runtime's
    /// threads (tokio's `Handle::block_on`), with the runtime entered meanwhile. Unlike
    /// [`Runtime::block_on`](crate::Runtime::block_on) it works from any thread while
    /// the runtime is in use elsewhere: in `Single` and `Processes` mode it runs the loop
    /// here while nobody else does, and otherwise waits for the thread that runs it.
    ///
    /// # Panics
    /// If called on a thread that is inside a runtime (a task, a callback, `block_on`),
    /// where waiting would block the loop: await the future there. If the runtime shuts
    /// down before `fut` finishes.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let h = rt.handle();
    /// let v = std::thread::spawn(move || {
    ///     h.block_on(async {
    ///         runtime::sleep(Duration::from_millis(5)).await;
    ///         runtime::spawn(async { 40 }).await.unwrap() + 2
    ///     })
    /// }).join().unwrap();
    /// assert_eq!(v, 42);
    /// ```
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        if modes::context::current().is_some() {
            panic!("Handle::block_on called on a thread inside a runtime (a task, callback or block_on): await the future instead");
        }
        let _guard = self.enter();
        let mut fut = pin!(fut);
        loop {
            let (setter, woken) = crate::settable::<()>();
            let signal = Arc::new(WakeSignal(Mutex::new(Some(setter))));
            let waker = Waker::from(signal);
            if let Poll::Ready(v) = fut.as_mut().poll(&mut Context::from_waker(&waker)) {
                return v;
            }
            // Wait for our waker on the runtime: `join` runs the loop here if nobody
            // else does (Single, Processes), or parks until the wait task finished.
            let waiter = self.sched.spawn(async move {
                let _ = woken.await;
            });
            if let Err(e) = waiter.join() {
                panic!("Handle::block_on: the runtime stopped while waiting ({e})");
            }
        }
    }

    /// Every live task with its id, name and state, each cancellable (asyncio's
    /// `all_tasks`).
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let _t = rt.spawn_named("forever", std::future::pending::<()>());
    /// assert_eq!(rt.handle().all_tasks()[0].name(), Some("forever"));
    /// ```
    pub fn all_tasks(&self) -> Vec<TaskRef> {
        self.sched.all_tasks()
    }
}

/// Sets its settable when woken: how [`Handle::block_on`] learns its future was woken.
struct WakeSignal(Mutex<Option<crate::Setter<()>>>);

impl Wake for WakeSignal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let setter = self.0.lock().take();
        if let Some(s) = setter {
            let _ = s.set(());
        }
    }
}

/// Keeps a runtime current on this thread (see [`Handle::enter`],
/// [`Runtime::enter`](crate::Runtime::enter)); dropping it restores the previous one.
/// Not `Send`: it must be dropped on the thread that made it.
///
/// ```
/// let rt = runtime::Runtime::builder().build().unwrap();
/// let guard: runtime::EnterGuard = rt.enter();
/// assert!(runtime::Handle::current().is_some());
/// drop(guard);
/// assert!(runtime::Handle::current().is_none());
/// ```
///
/// ```compile_fail
/// let rt = runtime::Runtime::builder().build().unwrap();
/// let guard = rt.enter();
/// std::thread::spawn(move || drop(guard)); // not Send
/// ```
#[must_use = "the runtime is current only while the guard lives"]
pub struct EnterGuard {
    _inner: modes::context::EnterGuard,
    _not_send: PhantomData<*const ()>,
}

impl std::fmt::Debug for EnterGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}
