//! `submit(f, arg)`: concurrent.futures' `executor.submit`, the one call that runs the
//! same work in every mode.

use serde::{de::DeserializeOwned, Serialize};

use crate::{Handle, JoinHandle};

/// Runs `f(arg)` where the current runtime's mode runs submitted work, and returns a
/// handle to its result:
///
/// | mode | where `f` runs |
/// |---|---|
/// | `Single` | inline on the loop thread, on purpose: no parallelism |
/// | `Threads` | as a task on a worker, in parallel with the others |
/// | `Gil` | as a task on a worker, holding the GIL (release it with `gil::checkpoint`) |
/// | `Processes` | in a worker process: `arg` is serialised (bincode), sent over a socket, and the result comes back the same way |
///
/// `f` is a plain function and `arg`/`R` are serialisable, so that the modes that run
/// work in another process can send them there. Only `Processes` serialises.
///
/// In `Processes` mode the handle is an ordinary task of the parent's loop that awaits
/// the worker's answer; its outcome is the result, or:
/// - a panic (`is_panic()`), with `f`'s panic message, if `f` panicked;
/// - a failure (`JoinError::failed`: neither cancelled nor a panic) if the worker process
///   died while running it (the message names the signal or the exit code), or if `arg`
///   or the result would not serialise or deserialise. Only that job fails; a dead worker
///   is replaced and the pool stays usable.
///
/// Cancelling the handle while the job is still queued skips the job; a job already
/// running in a worker runs to the end and its result is dropped.
///
/// # Panics
/// Outside a runtime; use [`Runtime::submit`](crate::Runtime::submit) there.
///
/// ```
/// use runtime::Mode;
/// fn fib(n: u32) -> u64 { if n < 2 { n as u64 } else { fib(n - 1) + fib(n - 2) } }
/// for mode in [Mode::Single, Mode::Processes] {
///     let rt = runtime::Runtime::builder().mode(mode).workers(2).build().unwrap();
///     let out = rt.block_on(async {
///         let jobs: Vec<_> = (20..23).map(|n| runtime::submit(fib, n)).collect();
///         runtime::gather(jobs).await
///     });
///     let out: Vec<u64> = out.into_iter().map(Result::unwrap).collect();
///     assert_eq!(out, vec![6765, 10946, 17711]);
/// }
/// ```
#[track_caller]
pub fn submit<A, R>(f: fn(A) -> R, arg: A) -> JoinHandle<R>
where
    A: Serialize + DeserializeOwned + Send + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    let handle = Handle::current()
        .expect("runtime::submit called outside a runtime: use Runtime::submit there");
    submit_on(&handle, f, arg)
}

#[track_caller]
pub(crate) fn submit_on<A, R>(handle: &Handle, f: fn(A) -> R, arg: A) -> JoinHandle<R>
where
    A: Serialize + DeserializeOwned + Send + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    crate::procs::submit_on(handle, f, arg)
}
