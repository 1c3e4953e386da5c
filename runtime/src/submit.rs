//! `submit(f, arg)`: concurrent.futures' `executor.submit`, the one call that runs the
//! same work in every mode.

use serde::{de::DeserializeOwned, Serialize};

use crate::{Handle, JoinHandle, Mode};

/// Runs `f(arg)` where the current runtime's mode runs submitted work, and returns a
/// handle to its result:
///
/// | mode | where `f` runs |
/// |---|---|
/// | `Single` | inline on the loop thread, on purpose: no parallelism |
/// | `Threads` | as a task on a worker, in parallel with the others |
/// | `Gil` | as a task on a worker, holding the GIL (release it with `gil::checkpoint`) |
/// | `Processes` | (not built yet) |
///
/// `f` is a plain function and `arg`/`R` are serialisable, so that the modes that run
/// work in another process can send them there.
///
/// # Panics
/// Outside a runtime; use [`Runtime::submit`](crate::Runtime::submit) there.
///
/// ```
/// fn fib(n: u32) -> u64 { if n < 2 { n as u64 } else { fib(n - 1) + fib(n - 2) } }
/// let rt = runtime::Runtime::builder().build().unwrap();
/// let out = rt.block_on(async {
///     let jobs: Vec<_> = (20..23).map(|n| runtime::submit(fib, n)).collect();
///     runtime::gather(jobs).await
/// });
/// let out: Vec<u64> = out.into_iter().map(Result::unwrap).collect();
/// assert_eq!(out, vec![6765, 10946, 17711]);
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
    match handle.mode {
        Mode::Single | Mode::Threads | Mode::Gil | Mode::Processes => {
            handle.spawn_named("submit", async move { f(arg) })
        }
    }
}
