//! An async runtime with one scheduler API and interchangeable modes, for people who know
//! Python's asyncio and concurrent.futures.
//!
//! # From asyncio to this crate
//!
//! | asyncio / concurrent.futures | here |
//! |---|---|
//! | `loop = asyncio.new_event_loop()` | `let rt = Runtime::builder().build()?` |
//! | `loop.run_until_complete(coro)`, `asyncio.run(coro)` | `rt.block_on(fut)` |
//! | `asyncio.create_task(coro, name=...)` | [`spawn`], [`spawn_named`], `rt.spawn(fut)` |
//! | `task.result()` / `await task` | [`JoinHandle::join`] / `handle.await` |
//! | `task.cancel()`, `CancelledError` | [`JoinHandle::cancel`], [`JoinError::is_cancelled`] |
//! | `task.cancelling()`, `task.uncancel()` | [`JoinHandle::cancelling`], [`JoinHandle::uncancel`] |
//! | `asyncio.current_task()` | [`current_task`] |
//! | `task.add_done_callback(fn)` | [`JoinHandle::add_done_callback`] |
//! | `await asyncio.sleep(s)` | [`sleep`]`(d).await` |
//! | `asyncio.wait_for(aw, timeout)` | [`timeout`]`(d, fut).await` |
//! | `asyncio.timeout(d)`, `cm.when/reschedule/expired` | [`Timeout::when`], [`Timeout::reschedule`], [`Timeout::expired`], [`Timeout::handle`] |
//! | `asyncio.gather(*aws)` / `return_exceptions=False` | [`gather`] / [`try_gather`] |
//! | `asyncio.wait(tasks, return_when=...)` | [`wait`]`(handles, ReturnWhen::...)` |
//! | `asyncio.as_completed(tasks)` | [`as_completed`] |
//! | `asyncio.as_completed(tasks, timeout=t)` | [`as_completed_timeout`] |
//! | `asyncio.shield(aw)` | [`shield`] |
//! | `asyncio.TaskGroup()`, `tg.create_task(c, name=..)` | [`TaskGroup`], [`TaskGroup::spawn`], [`TaskGroup::spawn_named`], [`TaskGroup::handle`] |
//! | `loop.create_future()`, `set_result` | [`settable`] → ([`Setter`], [`Settable`]) |
//! | a future awaited by many tasks | [`Settable::shared`], [`shared`] |
//! | `asyncio.Queue`, `LifoQueue`, `PriorityQueue` | [`sync::Queue`], [`sync::LifoQueue`], [`sync::PriorityQueue`] |
//! | `asyncio.Lock`, `Event`, `Condition` | [`sync::Lock`], [`sync::Event`], [`sync::Condition`] |
//! | `asyncio.Semaphore`, `BoundedSemaphore`, `Barrier` | [`sync::Semaphore`], [`sync::BoundedSemaphore`], [`sync::Barrier`] |
//! | (tokio) `Runtime::enter`, `Handle::block_on` | [`Runtime::enter`], [`Handle::enter`], [`Handle::block_on`] |
//! | `loop.call_soon/call_later/call_at` | `rt.call_soon/call_later/call_at` |
//! | `loop.run_forever()`, `loop.stop()` | `rt.run_forever()`, [`Handle::stop`] |
//! | `loop.time()` | `rt.time()`, [`now`] |
//! | `asyncio.all_tasks()` | `rt.all_tasks()` |
//! | `asyncio.start_server`, `open_connection` | [`net::TcpListener::bind`], [`net::TcpStream::connect`] |
//! | `reader.read(n)`, `writer.write(b)` | `stream.read(buf).await`, `stream.write_all(buf).await` (owned buffers) |
//! | `loop.create_datagram_endpoint` | [`net::UdpSocket`] |
//! | file I/O (`aiofiles`) | [`fs::File`], [`fs::read`], [`fs::write`] |
//! | `KeyboardInterrupt` | [`signal::ctrl_c`]`().await` |
//! | `await asyncio.sleep(0)` | [`yield_now`]`().await` |
//! | `loop.run_in_executor(None, fn)` | [`spawn_blocking`] |
//! | `executor.submit(fn, arg)` | [`submit`]`(f, arg)`, `rt.submit(f, arg)` |
//! | `executor.map(fn, args, chunksize=n)` | [`map`]`(f, args, n)`, `rt.map(f, args, n)` |
//! | `ProcessPoolExecutor(max_workers=n)` | `Runtime::builder().mode(Mode::Processes).workers(n)` |
//! | `initializer=`, `max_tasks_per_child=` | [`Builder::worker_initializer`], [`Builder::max_jobs_per_worker`] |
//! | `loop.run_in_executor(pool, ...)` of a coroutine's work | [`submit_async`]`(f, arg)` (the future runs on the worker's loop) |
//!
//! # A first program
//!
//! The seeds' concurrent fetch: eight fetches that each wait 1.5 s finish together in
//! 1.5 s. With the virtual clock, that takes no real time at all.
//!
//! ```
//! use std::time::Duration;
//! use runtime::{Clock, Mode, Runtime};
//!
//! async fn fetch_page(url: String) -> String {
//!     runtime::sleep(Duration::from_millis(1500)).await;
//!     format!("<html>{url}</html>")
//! }
//!
//! let rt = Runtime::builder().mode(Mode::Single).clock(Clock::Virtual).build()?;
//! let start = rt.time();
//! let pages = rt.block_on(runtime::gather((0..8).map(|i| fetch_page(format!("url_{i}")))));
//! assert_eq!(pages.len(), 8);
//! assert_eq!(rt.time() - start, Duration::from_millis(1500));
//! # Ok::<(), runtime::BuildError>(())
//! ```
//!
//! # Tasks, cancellation, panics
//!
//! A spawned task starts at the loop's next iteration. Cancelling drops its future at the
//! point where it is suspended, whichever await that is; awaiting its handle then gives a
//! cancelled [`JoinError`]. Cancellation propagates as in asyncio: a [`gather`] or
//! [`timeout`] that is cancelled or expires cancels the tasks whose handles it owns
//! (except [`shield`]ed ones); a `JoinHandle` dropped on its own detaches its task. A
//! panic in a task is caught: the task fails with a [`JoinError`] carrying the message,
//! and the loop goes on.
//!
//! ```
//! let rt = runtime::Runtime::builder().build().unwrap();
//! rt.block_on(async {
//!     let t = runtime::spawn(std::future::pending::<()>());
//!     t.cancel();
//!     assert!(t.await.unwrap_err().is_cancelled());
//!     let p = runtime::spawn(async { panic!("boom") });
//!     assert_eq!(p.await.unwrap_err().panic_message(), Some("boom"));
//! });
//! ```
//!
//! # Modes
//!
//! [`Mode`] picks the engine; the program does not change. See the README and
//! ARCHITECTURE.md for what runs where in each mode, and the `bench` crate for what each
//! does with the same work.
//!
//! | mode | tasks (`spawn`) | `submit(f, arg)` |
//! |---|---|---|
//! | `Single` | one loop on the thread that calls `block_on` | inline on the loop |
//! | `Threads` | a work-stealing pool of threads | a task on a worker thread |
//! | `Gil` | `Threads` behind one global lock | a task, holding the lock |
//! | `Processes` | the parent's `Single` loop | a forked worker process, over a socket (`arg` and the result serialised with bincode) |
//!
//! In `Processes` mode a worker that crashes (a signal, `abort`, `exit`) fails only the
//! job it was running, with the signal or exit code in the [`JoinError`]'s message, and is
//! replaced; the pool stays usable. Workers die with the parent process.
//!
//! ```
//! fn crash(_: ()) -> u32 { std::process::exit(3) }
//! fn square(x: u32) -> u32 { x * x }
//! let rt = runtime::Runtime::builder().mode(runtime::Mode::Processes).workers(2).build()?;
//! let err = rt.submit(crash, ()).join().unwrap_err();
//! assert!(err.to_string().contains("exit code 3"), "{err}");
//! assert_eq!(rt.submit(square, 12).join().unwrap(), 144); // the pool goes on
//! # Ok::<(), runtime::BuildError>(())
//! ```

#![warn(missing_docs)]

mod builder;
pub mod fs;
mod gather;
mod handle;
pub mod net;
mod procs;
mod ready_set;
mod rt;
mod settable;
mod shared;
pub mod signal;
mod submit;
pub mod sync;
mod task_group;
mod timeout;
mod wait;
mod write_all;

pub use builder::{BuildError, Builder, Clock, Mode, IO_URING_ENV};
pub use gather::{gather, try_gather, Gather, TryGather};
pub use handle::{EnterGuard, Handle};
pub use procs::{map, submit_async};
pub use rt::Runtime;
pub use settable::{settable, Settable, SettableError, Setter};
pub use shared::{shared, Shared};
pub use submit::submit;
pub use task_group::{
    GroupClosed, GroupError, GroupHandle, GroupTask, Slot, TaskFailure, TaskGroup,
};
pub use timeout::{timeout, timeout_at, Elapsed, Timeout, TimeoutHandle};
pub use wait::{
    as_completed, as_completed_timeout, wait, wait_timeout, AsCompleted, AsCompletedTimeout,
    ReturnWhen, Wait,
};

pub use modes::io::{IoBackend, IoBuf, IoBufMut};
pub use modes::procs::{ProcessMetrics, ProcessWorkerMetrics};
pub use modes::{
    sleep, sleep_until, CallbackHandle, JoinError, JoinHandle, ParkBackend, RuntimeMetrics, Sleep,
    TaskId, TaskRef, TaskState, WorkerMetrics, MAX_WORKERS,
};

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

/// The GIL-like lock of `Gil` mode: [`gil::checkpoint`] and [`gil::allow_threads`]. No-ops
/// in the other modes, so workloads are written once.
pub mod gil {
    pub use modes::gil::{allow_threads, checkpoint, is_held};
}

/// The README's example, compiled and run as a doctest so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

fn no_runtime(what: &str) -> ! {
    panic!("runtime::{what} called outside a runtime: call it inside block_on or a task, or use the Runtime/Handle method")
}

fn current_or_panic(what: &str) -> Handle {
    Handle::current().unwrap_or_else(|| no_runtime(what))
}

/// Spawns a task on the current runtime (asyncio's `create_task`).
///
/// # Panics
/// Outside a runtime; use [`Runtime::spawn`] or [`Handle::spawn`] there.
///
/// ```
/// let rt = runtime::Runtime::builder().build().unwrap();
/// let v = rt.block_on(async { runtime::spawn(async { 1 }).await.unwrap() });
/// assert_eq!(v, 1);
/// ```
#[track_caller]
pub fn spawn<F>(fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let at = std::panic::Location::caller();
    modes::context::with(|s| match s {
        Some(s) => s.spawn_at(fut, None, at),
        None => no_runtime("spawn"),
    })
}

/// Spawns a named task on the current runtime; the name shows in `all_tasks()`.
///
/// # Panics
/// Outside a runtime.
///
/// ```
/// let rt = runtime::Runtime::builder().build().unwrap();
/// rt.block_on(async {
///     let t = runtime::spawn_named("fetch", async {});
///     assert_eq!(t.name(), Some("fetch"));
/// });
/// ```
#[track_caller]
pub fn spawn_named<F>(name: &str, fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let at = std::panic::Location::caller();
    modes::context::with(|s| match s {
        Some(s) => s.spawn_at(fut, Some(name), at),
        None => no_runtime("spawn_named"),
    })
}

/// Runs blocking `f` on the runtime's blocking pool (asyncio's
/// `loop.run_in_executor(None, f)`), so the loop keeps running meanwhile.
///
/// # Panics
/// Outside a runtime.
///
/// ```
/// let rt = runtime::Runtime::builder().build().unwrap();
/// let v = rt.block_on(async {
///     runtime::spawn_blocking(|| { std::thread::sleep(std::time::Duration::from_millis(5)); 3 }).await
/// });
/// assert_eq!(v.unwrap(), 3);
/// ```
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    current_or_panic("spawn_blocking").spawn_blocking(f)
}

/// Protects `fut` from the cancellation of whoever awaits it (asyncio's `shield`): `fut`
/// runs as its own task; dropping or cancelling the awaiting side detaches it, and it
/// runs to completion, even when the handle is owned by a `gather` or `timeout` that is
/// cancelled or expires (the handle is [`shielded`](JoinHandle::shielded)).
///
/// # Panics
/// Outside a runtime.
///
/// ```
/// use std::time::Duration;
/// let rt = runtime::Runtime::builder().clock(runtime::Clock::Virtual).build().unwrap();
/// let (setter, done) = runtime::settable();
/// rt.block_on(async move {
///     let outer = runtime::spawn(async move {
///         runtime::shield(async move {
///             runtime::sleep(Duration::from_secs(1)).await;
///             setter.set("saved").unwrap();
///         }).await
///     });
///     runtime::yield_now().await;
///     outer.cancel();
///     assert_eq!(done.await, Ok("saved")); // the shielded work finished anyway
/// });
/// ```
#[track_caller]
pub fn shield<F>(fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn(fut).shielded()
}

/// The task being polled on this thread (asyncio's `current_task()`), as a [`TaskRef`]
/// to read its id, name and state or to cancel it. `None` outside a task (in
/// `block_on`'s own future, say, which is not a task).
///
/// ```
/// let rt = runtime::Runtime::builder().build().unwrap();
/// assert!(runtime::current_task().is_none());
/// let h = rt.spawn_named("worker-1", async {
///     let me = runtime::current_task().expect("inside a task");
///     (me.id(), me.name().map(str::to_string))
/// });
/// let id = h.id();
/// assert_eq!(h.join().unwrap(), (id, Some("worker-1".to_string())));
/// ```
#[doc(alias = "asyncio.current_task")]
pub fn current_task() -> Option<TaskRef> {
    modes::context::current_task_ref()
}

/// The current runtime's clock now (asyncio's `loop.time()`); virtual when the clock is.
/// Outside a runtime, the system's monotonic clock.
///
/// ```
/// let rt = runtime::Runtime::builder().build().unwrap();
/// let t = rt.block_on(async { runtime::now() });
/// assert!(t <= std::time::Instant::now());
/// ```
pub fn now() -> Instant {
    match Handle::current() {
        Some(h) => h.time(),
        None => Instant::now(),
    }
}

/// Lets every other ready task and callback run once before this task continues
/// (asyncio's `await asyncio.sleep(0)`).
///
/// ```
/// let rt = runtime::Runtime::builder().build().unwrap();
/// rt.block_on(async { runtime::yield_now().await });
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// let rt = runtime::Runtime::builder().build().unwrap();
/// let ran = Arc::new(AtomicBool::new(false));
/// let r = ran.clone();
/// rt.block_on(async move {
///     runtime::spawn(async move { r.store(true, Ordering::SeqCst) });
///     let y: runtime::YieldNow = runtime::yield_now();
///     y.await; // the spawned task gets its turn here
///     assert!(ran.load(Ordering::SeqCst));
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
