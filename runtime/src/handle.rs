//! `Handle`: a cloneable, `Send` reference to a runtime, for callbacks, tasks and other
//! threads (asyncio's `loop` object as seen from anywhere).

use std::future::Future;
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
