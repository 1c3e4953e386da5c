//! Runtime metrics, always on: each worker keeps plain counters and publishes them to
//! these atomics at park time and every maintenance tick, so reading them costs the
//! workers nothing on the hot path.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A worker's published counters (relaxed atomics, written by the worker only).
#[derive(Default)]
pub(crate) struct WorkerStats {
    pub(crate) polls: AtomicU64,
    pub(crate) steals: AtomicU64,
    pub(crate) parks: AtomicU64,
    pub(crate) remote_wakes: AtomicU64,
    pub(crate) busy_ns: AtomicU64,
    pub(crate) local_depth: AtomicU64,
    pub(crate) long_polls: AtomicU64,
}

impl WorkerStats {
    pub(crate) fn snapshot(&self, index: usize) -> WorkerMetrics {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        WorkerMetrics {
            index,
            polls: l(&self.polls),
            steals: l(&self.steals),
            parks: l(&self.parks),
            remote_wakes: l(&self.remote_wakes),
            busy: Duration::from_nanos(l(&self.busy_ns)),
            local_queue_depth: l(&self.local_depth) as usize,
            long_polls: l(&self.long_polls),
            io_homes: 0,
        }
    }
}

/// One worker's counters since the runtime started.
///
/// ```
/// use std::time::Duration;
/// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
/// let _task = sched.spawn(async {});
/// // The task runs, then the loop parks until the timer: counters are published at park.
/// sched.block_on(modes::sleep(Duration::from_millis(50)));
/// let w: modes::WorkerMetrics = sched.metrics().workers[0].clone();
/// assert_eq!(w.index, 0);
/// assert!(w.polls >= 1 && w.parks >= 1);
/// assert_eq!(w.steals, 0); // a single loop has nobody to steal from
/// assert_eq!(w.io_homes, 0); // no stream is waiting on its ring
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkerMetrics {
    /// The worker's index (0 in `Single`).
    pub index: usize,
    /// Task polls.
    pub polls: u64,
    /// Successful steals from other workers' queues (each moves a batch).
    pub steals: u64,
    /// Times the worker parked because it found no work.
    pub parks: u64,
    /// Times another thread woke it from park (a cross-core wake).
    pub remote_wakes: u64,
    /// Time spent not parked.
    pub busy: Duration,
    /// Tasks in its local queue at the last publication.
    pub local_queue_depth: usize,
    /// Polls reported by the long-poll detector.
    pub long_polls: u64,
    /// Streams whose multishot receive is armed on this worker's io_uring ring, now:
    /// their completions, and so their tasks, come to this worker (`Threads`' home
    /// rule, ARCHITECTURE.md). A server whose accept loop runs on one worker has most
    /// of its connections' homes there. 0 without io_uring.
    pub io_homes: usize,
}

/// A snapshot of a runtime's metrics (`Runtime::metrics`).
///
/// ```
/// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
/// sched.block_on(async {});
/// let m = sched.metrics();
/// assert_eq!(m.workers.len(), 1);
/// assert_eq!(m.live_tasks, 0);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuntimeMetrics {
    /// Per-worker counters (one entry in `Single`).
    pub workers: Vec<WorkerMetrics>,
    /// Tasks waiting in the shared injector queue.
    pub injector_depth: usize,
    /// Live tasks (spawned, not finished), blocking jobs included.
    pub live_tasks: usize,
    /// Blocking jobs queued or running.
    pub blocking_in_flight: usize,
    /// The GIL's counters, in `Gil` mode.
    pub gil: Option<crate::GilMetrics>,
    /// The worker-process pool's counters, in `Processes` mode.
    pub processes: Option<crate::procs::ProcessMetrics>,
}
