//! The process-pool API: what `submit`, [`submit_async`] and [`map`] do in `Processes`
//! mode (concurrent.futures' `ProcessPoolExecutor`), and the trampolines that run in the
//! worker processes.
//!
//! `modes` moves bytes; this module owns serialisation (bincode 1). A job is
//! `(trampoline, function address, payload)`: the trampoline is a monomorphised
//! `unsafe fn` of this crate that knows the argument and result types; the worker calls
//! it with the function's address and the payload. Both addresses are valid in the
//! worker because it is a fork of this process (same image, same addresses).
//!
//! In the other modes nothing is serialised: `submit` calls `f(arg)` directly (inline in
//! `Single`, as a task on a worker in `Threads`/`Gil`), `submit_async` spawns `f(arg)`,
//! and `map` runs each chunk as one task.

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};

use modes::procs::{Job, JobFuture, JobOutput, Trampoline};
use serde::{de::DeserializeOwned, Serialize};

use crate::{Handle, JoinError, JoinHandle, Mode, Runtime};

fn panic_message(p: &(dyn Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&'static str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_string()
    }
}

fn encode<R: Serialize>(r: &R) -> JobOutput {
    match bincode::serialize(r) {
        Ok(b) => JobOutput::Ok(b),
        Err(e) => JobOutput::Failed(format!(
            "could not serialise the result in worker process {}: {e}",
            std::process::id()
        )),
    }
}

fn decode<R: DeserializeOwned>(bytes: Vec<u8>) -> Result<R, String> {
    bincode::deserialize(&bytes).map_err(|e| format!("could not deserialise the result: {e}"))
}

fn bad_argument(e: bincode::Error) -> JobOutput {
    JobOutput::Failed(format!(
        "could not deserialise the argument in worker process {}: {e}",
        std::process::id()
    ))
}

/// Runs `f(arg)` in a worker: `func` is `f`, `payload` the serialised `arg`.
///
/// # Safety
/// `func` must be the address of a `fn(A) -> R`.
unsafe fn call<A: DeserializeOwned, R: Serialize>(func: usize, payload: &[u8]) -> JobOutput {
    // SAFETY: the caller passes the address of a `fn(A) -> R` (`submit_on` builds the job
    // with `call::<A, R>` and `f as usize` from the same `f: fn(A) -> R`); a fn pointer
    // and a usize have the same size.
    let f = unsafe { std::mem::transmute::<usize, fn(A) -> R>(func) };
    let arg = match bincode::deserialize::<A>(payload) {
        Ok(a) => a,
        Err(e) => return bad_argument(e),
    };
    match catch_unwind(AssertUnwindSafe(|| f(arg))) {
        Ok(r) => encode(&r),
        Err(p) => JobOutput::Panicked(panic_message(p.as_ref())),
    }
}

/// Runs `f` over a chunk of arguments in a worker: `payload` is a serialised `Vec<A>`.
///
/// # Safety
/// `func` must be the address of a `fn(A) -> R`.
unsafe fn call_chunk<A: DeserializeOwned, R: Serialize>(func: usize, payload: &[u8]) -> JobOutput {
    // SAFETY: as in `call`: `map_on` pairs `call_chunk::<A, R>` with an `f: fn(A) -> R`.
    let f = unsafe { std::mem::transmute::<usize, fn(A) -> R>(func) };
    let args = match bincode::deserialize::<Vec<A>>(payload) {
        Ok(a) => a,
        Err(e) => return bad_argument(e),
    };
    match catch_unwind(AssertUnwindSafe(|| {
        args.into_iter().map(f).collect::<Vec<R>>()
    })) {
        Ok(r) => encode(&r),
        Err(p) => JobOutput::Panicked(panic_message(p.as_ref())),
    }
}

/// Starts `f(arg)` in a worker; the future runs on the worker's own loop.
///
/// # Safety
/// `func` must be the address of a `fn(A) -> Fut`.
unsafe fn call_async<A, R, Fut>(func: usize, payload: &[u8]) -> JobFuture
where
    A: DeserializeOwned,
    R: Serialize,
    Fut: Future<Output = R> + Send + 'static,
{
    // SAFETY: as in `call`: `submit_async_on` pairs `call_async::<A, R, Fut>` with an
    // `f: fn(A) -> Fut`.
    let f = unsafe { std::mem::transmute::<usize, fn(A) -> Fut>(func) };
    match bincode::deserialize::<A>(payload) {
        Ok(arg) => {
            let fut = f(arg);
            Box::pin(async move { encode(&fut.await) })
        }
        Err(e) => Box::pin(std::future::ready(bad_argument(e))),
    }
}

/// Ends the current task with a failure (`JoinError::failed`) carrying `reason`.
fn fail(reason: String) -> ! {
    let id = modes::context::current_task().expect("fail() runs inside a task");
    JoinError::failed(id, reason).resume()
}

/// A handle whose task fails at once with `reason` (a payload that would not serialise).
#[track_caller]
fn failed<R: Send + 'static>(handle: &Handle, name: &str, reason: String) -> JoinHandle<R> {
    async fn failing<R>(reason: String) -> R {
        fail(reason)
    }
    handle.spawn_named(name, failing(reason))
}

/// Sends `job` to the pool of a `Processes` runtime.
#[track_caller]
fn send<R: DeserializeOwned + Send + 'static>(handle: &Handle, job: Job) -> JoinHandle<R> {
    handle
        .sched
        .submit_job(job, decode::<R>)
        .expect("a Processes runtime has a process pool")
}

#[track_caller]
pub(crate) fn submit_on<A, R>(handle: &Handle, f: fn(A) -> R, arg: A) -> JoinHandle<R>
where
    A: Serialize + DeserializeOwned + Send + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    if handle.mode != Mode::Processes {
        return handle.spawn_named("submit", async move { f(arg) });
    }
    let payload = match bincode::serialize(&arg) {
        Ok(p) => p,
        Err(e) => {
            return failed(
                handle,
                "submit",
                format!("could not serialise the argument of submit: {e}"),
            )
        }
    };
    let job = Job {
        trampoline: Trampoline::Sync(call::<A, R>),
        func: f as usize,
        payload,
    };
    send(handle, job)
}

#[track_caller]
pub(crate) fn submit_async_on<A, R, Fut>(handle: &Handle, f: fn(A) -> Fut, arg: A) -> JoinHandle<R>
where
    A: Serialize + DeserializeOwned + Send + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
    Fut: Future<Output = R> + Send + 'static,
{
    if handle.mode != Mode::Processes {
        return handle.spawn_named("submit", f(arg));
    }
    let payload = match bincode::serialize(&arg) {
        Ok(p) => p,
        Err(e) => {
            return failed(
                handle,
                "submit",
                format!("could not serialise the argument of submit_async: {e}"),
            )
        }
    };
    let job = Job {
        trampoline: Trampoline::Async(call_async::<A, R, Fut>),
        func: f as usize,
        payload,
    };
    send(handle, job)
}

/// Cancels every handle it holds when dropped: the chunks of a `map` that failed or was
/// cancelled do not run on for nobody (queued ones are skipped).
struct CancelOnDrop<R>(Vec<JoinHandle<R>>);

impl<R> Drop for CancelOnDrop<R> {
    fn drop(&mut self) {
        for h in &self.0 {
            h.cancel();
        }
    }
}

#[track_caller]
pub(crate) fn map_on<A, R, I>(
    handle: &Handle,
    f: fn(A) -> R,
    args: I,
    chunksize: usize,
) -> JoinHandle<Vec<R>>
where
    I: IntoIterator<Item = A>,
    A: Serialize + DeserializeOwned + Send + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    assert!(chunksize >= 1, "map: chunksize must be at least 1");
    let mut args = args.into_iter();
    let mut parts: Vec<JoinHandle<Vec<R>>> = Vec::new();
    loop {
        let chunk: Vec<A> = args.by_ref().take(chunksize).collect();
        if chunk.is_empty() {
            break;
        }
        let part = if handle.mode == Mode::Processes {
            match bincode::serialize(&chunk) {
                Ok(payload) => send(
                    handle,
                    Job {
                        trampoline: Trampoline::Sync(call_chunk::<A, R>),
                        func: f as usize,
                        payload,
                    },
                ),
                Err(e) => failed(
                    handle,
                    "map",
                    format!("could not serialise an argument of map: {e}"),
                ),
            }
        } else {
            handle.spawn_named("map", async move { chunk.into_iter().map(f).collect() })
        };
        parts.push(part);
    }
    handle.spawn_named("map", async move {
        let mut parts = CancelOnDrop(parts);
        let mut out = Vec::new();
        for part in parts.0.iter_mut() {
            match part.await {
                Ok(v) => out.extend(v),
                Err(e) => e.resume(),
            }
        }
        out
    })
}

/// Runs the future `f(arg)` where the current runtime's mode runs submitted work, and
/// returns a handle to its result. In `Processes` mode the future runs on the worker
/// process's own event loop, so I/O-bound jobs overlap inside one worker (up to
/// `Builder::max_async_jobs_per_worker` at once, default 64) while sync jobs stay one
/// at a time; elsewhere it is an ordinary task (`spawn(f(arg))`).
///
/// Inside the worker, `runtime::sleep`, `spawn` and the other loop functions work on
/// the worker's loop; what the future captures must come from `arg`.
///
/// # Panics
/// Outside a runtime; use [`Runtime::submit_async`] there.
///
/// ```
/// use std::time::Duration;
/// async fn fetch(id: u32) -> String {
///     runtime::sleep(Duration::from_millis(20)).await; // overlaps with the other jobs
///     format!("page {id} from process {}", std::process::id())
/// }
/// let rt = runtime::Runtime::builder().mode(runtime::Mode::Processes).workers(1).build()?;
/// let pages = rt.block_on(async {
///     let jobs: Vec<_> = (0..10).map(|i| runtime::submit_async(fetch, i)).collect();
///     runtime::gather(jobs).await
/// });
/// let page = pages[3].as_ref().unwrap();
/// assert!(page.starts_with("page 3 from process "));
/// assert!(!page.ends_with(&format!(" {}", std::process::id()))); // not this process
/// # Ok::<(), runtime::BuildError>(())
/// ```
#[track_caller]
pub fn submit_async<A, R, Fut>(f: fn(A) -> Fut, arg: A) -> JoinHandle<R>
where
    A: Serialize + DeserializeOwned + Send + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
    Fut: Future<Output = R> + Send + 'static,
{
    let handle = Handle::current()
        .expect("runtime::submit_async called outside a runtime: use Runtime::submit_async there");
    submit_async_on(&handle, f, arg)
}

/// Runs `f` over every argument, `chunksize` arguments per job, and returns a handle to
/// the results in argument order (concurrent.futures' `executor.map(fn, args,
/// chunksize=...)`). In `Processes` mode a chunk travels to a worker as one frame (a
/// serialised `Vec<A>`), so a larger chunk pays the IPC cost once for many items;
/// elsewhere each chunk is one task.
///
/// If a chunk fails (a panic in `f`, a worker that died, a payload that would not
/// serialise), the handle fails with the first failure in argument order and the chunks
/// still queued are cancelled, as iterating Python's `map` raises the first exception.
///
/// # Panics
/// Outside a runtime (use [`Runtime::map`]), or if `chunksize` is 0.
///
/// ```
/// fn square(x: u64) -> u64 { x * x }
/// let rt = runtime::Runtime::builder().mode(runtime::Mode::Processes).workers(2).build()?;
/// let squares = rt.block_on(async { runtime::map(square, 0..1000, 100).await })?;
/// assert_eq!(squares.len(), 1000);
/// assert_eq!(squares[999], 999 * 999); // in argument order
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[track_caller]
pub fn map<A, R, I>(f: fn(A) -> R, args: I, chunksize: usize) -> JoinHandle<Vec<R>>
where
    I: IntoIterator<Item = A>,
    A: Serialize + DeserializeOwned + Send + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    let handle =
        Handle::current().expect("runtime::map called outside a runtime: use Runtime::map there");
    map_on(&handle, f, args, chunksize)
}

impl Runtime {
    /// Runs the future `f(arg)` where this mode runs submitted work; see
    /// [`crate::submit_async`].
    ///
    /// ```
    /// async fn double(x: u32) -> u32 { runtime::yield_now().await; x * 2 }
    /// let rt = runtime::Runtime::builder().mode(runtime::Mode::Processes).workers(1).build()?;
    /// assert_eq!(rt.submit_async(double, 21).join().unwrap(), 42);
    /// # Ok::<(), runtime::BuildError>(())
    /// ```
    #[track_caller]
    pub fn submit_async<A, R, Fut>(&self, f: fn(A) -> Fut, arg: A) -> JoinHandle<R>
    where
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        Fut: Future<Output = R> + Send + 'static,
    {
        submit_async_on(&self.handle(), f, arg)
    }

    /// Runs `f` over `args` in chunks, results in argument order; see [`crate::map`].
    ///
    /// ```
    /// fn len(s: String) -> usize { s.len() }
    /// let rt = runtime::Runtime::builder().mode(runtime::Mode::Processes).workers(2).build()?;
    /// let words = ["a", "bb", "ccc"].map(String::from);
    /// assert_eq!(rt.map(len, words, 2).join()?, vec![1, 2, 3]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[track_caller]
    pub fn map<A, R, I>(&self, f: fn(A) -> R, args: I, chunksize: usize) -> JoinHandle<Vec<R>>
    where
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        map_on(&self.handle(), f, args, chunksize)
    }
}

impl Handle {
    /// Runs the future `f(arg)` where the mode runs submitted work; see
    /// [`crate::submit_async`].
    ///
    /// ```
    /// async fn pid(_: ()) -> u32 { std::process::id() }
    /// let rt = runtime::Runtime::builder().mode(runtime::Mode::Processes).workers(1).build()?;
    /// let worker = rt.handle().submit_async(pid, ()).join().unwrap();
    /// assert_ne!(worker, std::process::id());
    /// # Ok::<(), runtime::BuildError>(())
    /// ```
    #[track_caller]
    pub fn submit_async<A, R, Fut>(&self, f: fn(A) -> Fut, arg: A) -> JoinHandle<R>
    where
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
        Fut: Future<Output = R> + Send + 'static,
    {
        submit_async_on(self, f, arg)
    }

    /// Runs `f` over `args` in chunks, results in argument order; see [`crate::map`].
    ///
    /// ```
    /// fn inc(x: i32) -> i32 { x + 1 }
    /// let rt = runtime::Runtime::builder().mode(runtime::Mode::Threads).workers(2).build()?;
    /// assert_eq!(rt.handle().map(inc, vec![1, 2, 3], 1).join()?, vec![2, 3, 4]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[track_caller]
    pub fn map<A, R, I>(&self, f: fn(A) -> R, args: I, chunksize: usize) -> JoinHandle<Vec<R>>
    where
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        map_on(self, f, args, chunksize)
    }
}
