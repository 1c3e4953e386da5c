//! What a workload needs from a runtime, so that each workload is written once and runs
//! unchanged in every mode of ours ([`ours`]) and on the peers (`crate::peers`).
//!
//! The operations are the asyncio ones the workloads use: `create_task` ([`Exec::spawn`]),
//! `executor.submit` ([`Exec::submit`]), `sleep`, `sleep(0)` ([`Exec::yield_now`]) and
//! `run_until_complete` ([`Runner::block_on`]). Joining, gathering and one-shot values use
//! `runtime::gather` and `runtime::settable` everywhere: they are plain futures that work
//! on any executor, so the comparison is between schedulers, not between channel types.

pub mod ours;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use serde::{de::DeserializeOwned, Serialize};

/// The handle a workload clones into its tasks.
pub trait Exec: Clone + Send + Sync + 'static {
    /// A spawned task's handle; resolves to its output (a failed task is a bench bug and
    /// panics).
    type Join<T: Send + 'static>: Future<Output = T> + Send + Unpin + 'static;

    /// Spawns `fut` as a task (asyncio's `create_task`).
    fn spawn<F>(&self, fut: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Spawns `fut` and lets it run on its own (dropping an asyncio task's handle).
    fn spawn_detached<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(self.spawn(fut));
    }

    /// Runs `f(arg)` where this runtime runs submitted CPU work (`executor.submit`).
    fn submit<A, R>(&self, f: fn(A) -> R, arg: A) -> Self::Join<R>
    where
        A: Serialize + DeserializeOwned + Send + 'static,
        R: Serialize + DeserializeOwned + Send + 'static;

    /// Waits `d` on the runtime's timers (`asyncio.sleep(d)`).
    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + Send + 'static;

    /// Lets the other ready tasks run once (`asyncio.sleep(0)`).
    fn yield_now(&self) -> impl Future<Output = ()> + Send + 'static;
}

/// A built runtime that runs workloads.
pub trait Runner {
    /// Its task handle type.
    type Exec: Exec;

    /// A handle to clone into tasks.
    fn exec(&self) -> Self::Exec;

    /// Runs `fut` to completion on the calling thread (`run_until_complete`).
    fn block_on<F>(&self, fut: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
}

/// Turns a `Result`-returning join handle into one that returns the value, panicking with
/// the task's error: a failed task means the workload itself is broken.
#[derive(Debug)]
pub struct Unwrap<J>(pub J);

impl<J, T, E> Future for Unwrap<J>
where
    J: Future<Output = Result<T, E>> + Unpin,
    E: std::fmt::Display,
{
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.unwrap_or_else(|e| panic!("a benchmark task failed: {e}")))
    }
}
