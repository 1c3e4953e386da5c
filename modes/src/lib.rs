//! The engines behind the `runtime` crate.
//!
//! `runtime` is the crate users depend on; this one holds what runs underneath:
//! - [`task`](JoinHandle): the task core (async-task cell + runtime metadata), join handles,
//!   the live-task registry;
//! - the `Single` event loop (ready queue, timers, parking) — see `single/mod.rs`;
//! - one driver per loop: its io_uring ring or plain park ([`ParkBackend`]) and its timers;
//! - [`io`]: I/O on each loop's io_uring ring, or the readiness fallback;
//! - time: the real or virtual clock, timers and [`sleep`];
//! - the blocking pool behind `spawn_blocking`;
//! - [`gil`]: the GIL-like lock's entry points;
//! - [`procs`]: the worker-process pool of `Processes` mode (fork server, workers, IPC).
//!
//! ```
//! let (sched, _backend) = modes::Scheduler::single(&modes::Config::default());
//! let out = sched.block_on(async {
//!     let a = modes::context::current().unwrap().spawn(async { 40 });
//!     a.await.unwrap() + 2
//! });
//! assert_eq!(out, 42);
//! ```

#![warn(missing_docs)]

mod blocking;
mod callback;
mod config;
pub mod context;
mod driver;
mod fd_slot;
pub mod gil;
pub mod io;
mod loom;

/// Locks that ignore poisoning, as every lock of this crate and of `runtime` is taken: a
/// panic caught around a task's poll or a callback must not make every later `lock` panic.
/// Under `--cfg loom` they are loom's, so the models check the protocols built on them.
pub mod lock {
    pub use crate::loom::{Condvar, Mutex, MutexGuard};
}
#[cfg(all(test, loom))]
mod loom_tests;
mod metrics;
pub mod procs;
mod sched;
mod single;
mod task;
mod thread_set;
mod threads;
mod time;
mod wait;
mod watchdog;

pub use callback::CallbackHandle;
pub use config::{Config, ProcessConfig, MAX_WORKERS};
pub use driver::ParkBackend;
pub use gil::GilMetrics;
pub use metrics::{RuntimeMetrics, WorkerMetrics};
pub use sched::Scheduler;
pub use task::{drop_cancelling, JoinError, JoinHandle, TaskDone, TaskId, TaskRef, TaskState};
pub use time::{sleep, sleep_until, ClockKind, Sleep};
