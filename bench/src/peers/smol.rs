//! async-executor driven by `workers` threads, with async-io's timers: the parts smol is
//! made of. The thread calling `block_on` is one of the `workers`.

use std::future::Future;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use async_executor::{Executor, Task};
use runtime::Setter;
use serde::{de::DeserializeOwned, Serialize};

use crate::exec::{Exec, Runner};

/// An async-executor with its driving threads.
pub struct Smol {
    ex: Arc<Executor<'static>>,
    stops: Vec<Setter<()>>,
    threads: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Smol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smol")
            .field("threads", &(self.threads.len() + 1))
            .finish()
    }
}

impl Smol {
    /// An executor run by `workers` threads in all: `workers - 1` in the background and
    /// the caller of `block_on`. With `pin`, the background threads go to cores 1, 2, ...
    /// (the caller pins itself to core 0).
    pub fn new(workers: usize, pin: bool) -> std::io::Result<Smol> {
        let ex = Arc::new(Executor::new());
        let mut stops = Vec::new();
        let mut threads = Vec::new();
        for i in 1..workers.max(1) {
            let (stop, stopped) = runtime::settable::<()>();
            let ex = ex.clone();
            let t = std::thread::Builder::new()
                .name(format!("async-executor-{i}"))
                .spawn(move || {
                    if pin {
                        crate::pin::pin_current(i);
                    }
                    let _ = async_io::block_on(ex.run(stopped));
                })?;
            stops.push(stop);
            threads.push(t);
        }
        Ok(Smol { ex, stops, threads })
    }
}

impl Drop for Smol {
    fn drop(&mut self) {
        for stop in self.stops.drain(..) {
            let _ = stop.set(());
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// [`Exec`] for [`Smol`].
#[derive(Clone, Debug)]
pub struct SmolExec(Arc<Executor<'static>>);

impl Exec for SmolExec {
    type Join<T: Send + 'static> = Task<T>;

    fn spawn<F>(&self, fut: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.0.spawn(fut)
    }

    fn spawn_detached<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.0.spawn(fut).detach();
    }

    fn submit<A, R>(&self, f: fn(A) -> R, arg: A) -> Self::Join<R>
    where
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.0.spawn(async move { f(arg) })
    }

    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + Send + 'static {
        let timer = async_io::Timer::after(d);
        async move {
            timer.await;
        }
    }

    fn yield_now(&self) -> impl Future<Output = ()> + Send + 'static {
        futures_lite::future::yield_now()
    }
}

impl Runner for Smol {
    type Exec = SmolExec;

    fn exec(&self) -> SmolExec {
        SmolExec(self.ex.clone())
    }

    fn block_on<F>(&self, fut: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        async_io::block_on(self.ex.run(fut))
    }
}
