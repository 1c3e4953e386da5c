//! asyncio's synchronisation primitives, for tasks in every mode: [`Lock`], [`Event`],
//! [`Condition`], [`Semaphore`], [`BoundedSemaphore`], [`Barrier`], and the queues
//! [`Queue`], [`LifoQueue`], [`PriorityQueue`].
//!
//! They are plain thread-safe values: share them between tasks with an `Arc` (or a
//! borrow inside one task); in `Threads` and `Gil` their users may run on different
//! workers, in `Processes` they work among the tasks of the parent's loop (as asyncio's,
//! they do not cross processes).
//!
//! What asyncio guarantees, they keep:
//! - FIFO: waiters are served in arrival order, and a newcomer does not overtake a
//!   waiting task ([`Lock`], the semaphores, the queues' `put`/`get`, [`Condition`]'s
//!   `notify`).
//! - Cancellation-safe: a waiter dropped (its task cancelled, a `timeout` expired) after
//!   it was handed a permit, the lock or a notification passes it on; nothing is lost.
//!
//! Built on: event-listener for [`Event`] (a broadcast); a FIFO waiter list kept under
//! each primitive's own lock for the rest (see `waiters.rs` for why), with an atomic fast
//! path for the uncontended lock and semaphore.
//!
//! ```
//! use std::sync::Arc;
//! use runtime::sync::{Lock, Queue};
//! let rt = runtime::Runtime::builder().build().unwrap();
//! let (jobs, log) = (Arc::new(Queue::new(0)), Arc::new(Lock::new(Vec::new())));
//! rt.block_on(async {
//!     let workers: Vec<_> = (0..2).map(|_| {
//!         let (jobs, log) = (jobs.clone(), log.clone());
//!         runtime::spawn(async move {
//!             while let Ok(n) = jobs.get().await {
//!                 log.lock().await.push(n * n);
//!                 jobs.task_done().unwrap();
//!             }
//!         })
//!     }).collect();
//!     for n in 1..=4 { jobs.put(n).await.unwrap(); }
//!     jobs.join().await;
//!     jobs.shutdown(false);
//!     for w in workers { w.await.unwrap(); }
//! });
//! let mut squares = rt.block_on(log.lock()).clone();
//! squares.sort();
//! assert_eq!(squares, vec![1, 4, 9, 16]);
//! ```

mod barrier;
mod bounded_semaphore;
mod condition;
mod event;
mod lifo_queue;
mod lock;
mod priority_queue;
mod queue;
mod semaphore;
mod waiters;

pub use barrier::{Barrier, BrokenBarrier, ZeroParties};
pub use bounded_semaphore::{BoundedPermit, BoundedSemaphore, ReleasedTooOften};
pub use condition::{Condition, ConditionGuard};
pub use event::Event;
pub use lifo_queue::{Lifo, LifoQueue};
pub use lock::{Lock, LockGuard};
pub use priority_queue::{Priority, PriorityQueue};
pub use queue::{Fifo, Queue, QueueShutDown, Store, TaskDoneTooOften, TryGetError, TryPutError};
pub use semaphore::{Semaphore, SemaphorePermit};
