//! tokio's `current_thread` and `multi_thread` runtimes as [`Runner`]s. `submit` spawns the
//! job as a task, like this runtime's `Threads` mode: inline on the one thread in
//! `current_thread`, on a worker in `multi_thread`.

use std::future::Future;
use std::time::Duration;

use serde::{de::DeserializeOwned, Serialize};
use tokio::runtime::{Builder, Handle, Runtime};
use tokio::task::JoinHandle;

use crate::exec::{Exec, Runner, Unwrap};

/// A tokio runtime.
#[derive(Debug)]
pub struct Tokio {
    rt: Runtime,
}

impl Tokio {
    /// `current_thread`: one thread runs every task.
    pub fn current_thread() -> std::io::Result<Tokio> {
        let rt = Builder::new_current_thread().enable_time().build()?;
        Ok(Tokio { rt })
    }

    /// `multi_thread` with `workers` worker threads, each pinned to its own core if `pin`.
    pub fn multi_thread(workers: usize, pin: bool) -> std::io::Result<Tokio> {
        let mut b = Builder::new_multi_thread();
        b.worker_threads(workers).enable_time();
        if pin {
            b.on_thread_start(crate::pin::round_robin(0));
        }
        Ok(Tokio { rt: b.build()? })
    }
}

/// [`Exec`] for [`Tokio`].
#[derive(Clone, Debug)]
pub struct TokioExec(Handle);

impl Exec for TokioExec {
    type Join<T: Send + 'static> = Unwrap<JoinHandle<T>>;

    fn spawn<F>(&self, fut: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Unwrap(self.0.spawn(fut))
    }

    fn submit<A, R>(&self, f: fn(A) -> R, arg: A) -> Self::Join<R>
    where
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        Unwrap(self.0.spawn(async move { f(arg) }))
    }

    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + Send + 'static {
        let _context = self.0.enter();
        tokio::time::sleep(d)
    }

    fn yield_now(&self) -> impl Future<Output = ()> + Send + 'static {
        tokio::task::yield_now()
    }
}

impl Runner for Tokio {
    type Exec = TokioExec;

    fn exec(&self) -> TokioExec {
        TokioExec(self.rt.handle().clone())
    }

    fn block_on<F>(&self, fut: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.rt.block_on(fut)
    }
}
