//! `Runtime`: owns one engine; dropping it drops every pending task.

use std::future::Future;
use std::time::{Duration, Instant};

use serde::{de::DeserializeOwned, Serialize};

use crate::{Builder, CallbackHandle, Clock, Handle, JoinHandle, Mode, ParkBackend, TaskRef};

/// An async runtime: one scheduler API, with the engine chosen by [`Mode`].
///
/// ```
/// use runtime::{Mode, Runtime};
/// let rt = Runtime::builder().mode(Mode::Single).build()?;
/// let answer = rt.block_on(async {
///     let t = runtime::spawn(async { 21 });
///     t.await.unwrap() * 2
/// });
/// assert_eq!(answer, 42);
/// # Ok::<(), runtime::BuildError>(())
/// ```
///
/// Dropping the runtime cancels every task and drops each pending future exactly once, on
/// the dropping thread; it does not wait for blocking jobs that are already running.
#[derive(Debug)]
pub struct Runtime {
    handle: Handle,
    clock: Clock,
    workers: usize,
    /// `shutdown_timeout` ran: the drop has nothing left to do.
    shut_down: bool,
}

impl Runtime {
    /// A [`Builder`] with the defaults: `Single` mode, real clock.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }

    pub(crate) fn from_parts(
        mode: Mode,
        clock: Clock,
        workers: usize,
        sched: modes::Scheduler,
    ) -> Runtime {
        Runtime {
            handle: Handle { sched, mode },
            clock,
            workers,
            shut_down: false,
        }
    }

    /// The mode this runtime runs.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// assert_eq!(rt.mode(), runtime::Mode::Single);
    /// ```
    pub fn mode(&self) -> Mode {
        self.handle.mode
    }

    /// The clock this runtime reads.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// assert_eq!(rt.clock(), runtime::Clock::Real);
    /// ```
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Workers configured (threads or processes in the pool modes; 1 loop in `Single`).
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().workers(3).build().unwrap();
    /// assert_eq!(rt.workers(), 3);
    /// ```
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// A cloneable, `Send` handle to this runtime.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let h = rt.handle();
    /// assert_eq!(h.mode(), rt.mode());
    /// ```
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Runs `fut` to completion on this thread, running the loop meanwhile (asyncio's
    /// `run_until_complete`; with a fresh runtime, `asyncio.run`).
    ///
    /// # Panics
    /// If called from inside this runtime (a task or callback): await instead.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// assert_eq!(rt.block_on(async { 66 }), 66);
    /// ```
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        self.handle.sched.block_on(fut)
    }

    /// Makes this runtime current on this thread until the guard is dropped (tokio's
    /// `Runtime::enter`), so that [`spawn`](crate::spawn) works from plain code; see
    /// [`Handle::enter`].
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let _guard = rt.enter();
    /// let t = runtime::spawn(async { 3 }); // no block_on needed to spawn
    /// assert_eq!(t.join().unwrap(), 3);
    /// ```
    pub fn enter(&self) -> crate::EnterGuard {
        self.handle.enter()
    }

    /// Spawns a task (asyncio's `loop.create_task`). In `Single` mode it starts running
    /// when the loop next runs (`block_on`, `run_forever`, `join`).
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let t = rt.spawn(async { "result-server2" });
    /// assert_eq!(rt.block_on(t).unwrap(), "result-server2");
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(fut)
    }

    /// Spawns a named task.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let t = rt.spawn_named("fetch", async {});
    /// assert_eq!(t.name(), Some("fetch"));
    /// ```
    #[track_caller]
    pub fn spawn_named<F>(&self, name: &str, fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn_named(name, fut)
    }

    /// Runs blocking `f` on the blocking pool (asyncio's `run_in_executor(None, f)`).
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let t = rt.spawn_blocking(|| std::thread::sleep(std::time::Duration::from_millis(1)));
    /// rt.block_on(t).unwrap();
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.handle.spawn_blocking(f)
    }

    /// Runs `f(arg)` where this mode runs submitted work (concurrent.futures'
    /// `executor.submit(f, arg)`); see [`crate::submit`].
    ///
    /// ```
    /// fn fib(n: u32) -> u64 { if n < 2 { n as u64 } else { fib(n - 1) + fib(n - 2) } }
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// assert_eq!(rt.submit(fib, 20).join().unwrap(), 6765);
    /// ```
    #[track_caller]
    pub fn submit<A, R>(&self, f: fn(A) -> R, arg: A) -> JoinHandle<R>
    where
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.handle.submit(f, arg)
    }

    /// Queues `f` for the next loop iteration (asyncio's `call_soon`).
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let h = rt.handle();
    /// rt.call_soon(move || h.stop());
    /// rt.run_forever();
    /// ```
    pub fn call_soon<F: FnOnce() + Send + 'static>(&self, f: F) -> CallbackHandle {
        self.handle.call_soon(f)
    }

    /// Calls `f` after `delay` on the loop's clock (asyncio's `call_later`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = runtime::Runtime::builder().clock(runtime::Clock::Virtual).build().unwrap();
    /// let h = rt.handle();
    /// let cb = rt.call_later(Duration::from_secs(1), move || h.stop());
    /// assert!(cb.when().is_some());
    /// rt.run_forever();
    /// ```
    pub fn call_later<F: FnOnce() + Send + 'static>(
        &self,
        delay: Duration,
        f: F,
    ) -> CallbackHandle {
        self.handle.call_later(delay, f)
    }

    /// Calls `f` when the loop's clock reaches `when` (asyncio's `call_at`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = runtime::Runtime::builder().clock(runtime::Clock::Virtual).build().unwrap();
    /// let h = rt.handle();
    /// rt.call_at(rt.time() + Duration::from_secs(3), move || h.stop());
    /// rt.run_forever();
    /// ```
    pub fn call_at<F: FnOnce() + Send + 'static>(&self, when: Instant, f: F) -> CallbackHandle {
        self.handle.call_at(when, f)
    }

    /// Runs the loop until [`Handle::stop`] is called (asyncio's `run_forever`). As in
    /// asyncio, the callbacks already queued for the current iteration run first; timers
    /// not yet due do not fire.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let h = rt.handle();
    /// rt.call_soon(move || h.stop());
    /// rt.run_forever();
    /// ```
    pub fn run_forever(&self) {
        if !self.handle.sched.run_forever() {
            eprintln!("runtime: run_forever called from inside the running loop; ignored");
        }
    }

    /// The runtime's clock now (asyncio's `loop.time()`), virtual if the clock is.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let t = rt.time();
    /// assert!(rt.time() >= t);
    /// ```
    pub fn time(&self) -> Instant {
        self.handle.time()
    }

    /// Every live task (asyncio's `all_tasks`).
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// assert!(rt.all_tasks().is_empty());
    /// ```
    pub fn all_tasks(&self) -> Vec<TaskRef> {
        self.handle.all_tasks()
    }

    /// How the loop parks when idle: io_uring, or the plain park and why.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// println!("{}", rt.park_backend());
    /// ```
    pub fn park_backend(&self) -> ParkBackend {
        self.handle.sched.park_backend()
    }

    /// Which I/O backend [`net`](crate::net) and [`fs`](crate::fs) use here: io_uring, or
    /// the readiness fallback and why (io_uring refused by the kernel, `RUNTIME_IO_URING=0`
    /// or [`Builder::io_uring`](crate::Builder::io_uring)`(false)`).
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().io_uring(false).build().unwrap();
    /// assert!(matches!(rt.io_backend(), runtime::IoBackend::Readiness { .. }));
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// println!("I/O backend: {}", rt.io_backend()); // "io_uring" where the kernel allows it
    /// ```
    pub fn io_backend(&self) -> crate::IoBackend {
        self.handle.sched.io_backend()
    }
}

impl Runtime {
    /// Per-worker counters, always on: polls, steals, parks, wakes from other threads,
    /// queue depths, busy time, long polls; plus live tasks and blocking jobs.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().mode(runtime::Mode::Threads).workers(2).build().unwrap();
    /// rt.block_on(async { for _ in 0..100 { runtime::spawn(async {}).await.unwrap(); } });
    /// let m = rt.metrics();
    /// assert_eq!(m.workers.len(), 2);
    /// println!("{m:#?}");
    /// ```
    pub fn metrics(&self) -> modes::RuntimeMetrics {
        self.handle.sched.metrics()
    }

    /// Shuts down, waiting at most `timeout` for workers stuck in a long poll and for
    /// blocking jobs already running; returns how many tasks were left behind (also listed
    /// on stderr). Dropping the runtime does the same with a 10 s deadline for workers and
    /// without waiting for blocking jobs: it never hangs on blocking work.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = runtime::Runtime::builder().mode(runtime::Mode::Threads).workers(2).build().unwrap();
    /// rt.spawn(std::future::pending::<()>());
    /// assert_eq!(rt.shutdown_timeout(Duration::from_secs(1)), 0);
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) -> usize {
        self.shut_down = true;
        self.handle.sched.shutdown_timeout(timeout)
    }
}

impl Drop for Runtime {
    /// Shuts down (see [`Runtime::shutdown_timeout`]): when it returns, every task's
    /// future has been dropped and every thread, process and descriptor of the runtime
    /// released, also if handles of it are kept. What may be left: a blocking job still
    /// running (not waited for; its thread ends when it returns; `shutdown_timeout` waits
    /// for it and lists it), and a worker stuck in one poll for over 10 s or another
    /// thread still running a `Single` loop (reported on stderr; the last of them to leave
    /// finishes the shutdown). Safe to run during thread-local teardown.
    fn drop(&mut self) {
        if !self.shut_down {
            self.handle.sched.shutdown();
        }
    }
}
