//! The long-poll detector, for every engine: a poll that runs longer than a threshold (default 100 ms,
//! asyncio's `slow_callback_duration`) is reported with the task's name and where it was
//! spawned.
//!
//! Cost on the hot path: two relaxed stores per poll (`Probe::enter`/`leave`). A watchdog
//! thread samples every worker's probe each `threshold / 4`: a worker seen in the same
//! poll (same sequence number) across samples `threshold` apart (by the clock, however
//! late the samples came) has a long poll. It is reported once per
//! poll, on stderr and in the worker's `long_polls` metric.

use crate::loom::{Condvar, Mutex};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use crate::task::{Registry, TaskId};

/// The probe's task id while a loop callback (not a task) runs.
pub(crate) const CALLBACK: u64 = u64::MAX;

/// What a worker is polling: the task id (0: none) and a sequence number of polls.
#[derive(Default)]
pub(crate) struct Probe {
    task: AtomicU64,
    seq: AtomicU64,
}

impl Probe {
    #[inline]
    pub(crate) fn enter(&self, id: TaskId) {
        self.seq.store(
            self.seq.load(Ordering::Relaxed).wrapping_add(1),
            Ordering::Relaxed,
        );
        self.task.store(id.as_u64(), Ordering::Relaxed);
    }

    /// A loop callback (not a task) starts running.
    #[inline]
    pub(crate) fn enter_callback(&self) {
        self.seq.store(
            self.seq.load(Ordering::Relaxed).wrapping_add(1),
            Ordering::Relaxed,
        );
        self.task.store(CALLBACK, Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn leave(&self) {
        self.task.store(0, Ordering::Relaxed);
    }
}

/// What the watchdog needs from an engine.
pub(crate) trait Watched: Send + Sync + 'static {
    /// One probe per worker (one for a `Single` loop).
    fn probes(&self) -> &[CachePadded<Probe>];
    /// `true` once the engine shuts down: the watchdog thread exits.
    fn is_shutdown(&self) -> bool;
    /// The live tasks, to name the one caught in a long poll.
    fn registry(&self) -> &Registry;
    /// Counts a long poll in the worker's metrics.
    fn count_long_poll(&self, worker: usize);
}

/// The watchdog thread of one engine: stopped and joined by the engine's shutdown.
pub(crate) struct Watchdog {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Watchdog {
    /// Tells the thread to stop, wakes it, and joins it (unless called from it).
    pub(crate) fn stop_and_join(&self) {
        *self.stop.0.lock() = true;
        self.stop.1.notify_all();
        let h = self.thread.lock().take();
        if let Some(h) = h {
            if h.thread().id() != std::thread::current().id() {
                let _ = h.join();
            }
        }
    }
}

/// Starts the watchdog thread for `engine`; it holds only a weak reference. `None` if no
/// thread could be started (the detector is then off; nothing else depends on it).
pub(crate) fn start<W: Watched>(engine: &Arc<W>, threshold: Duration) -> Option<Watchdog> {
    let weak = Arc::downgrade(engine);
    let n = engine.probes().len();
    let stop = Arc::new((Mutex::new(false), Condvar::new()));
    let s = stop.clone();
    let thread = std::thread::Builder::new()
        .name("runtime-watchdog".into())
        .spawn(move || watch(weak, n, threshold, &s))
        .ok()?;
    Some(Watchdog {
        stop,
        thread: Mutex::new(Some(thread)),
    })
}

fn watch<W: Watched>(weak: Weak<W>, n: usize, threshold: Duration, stop: &(Mutex<bool>, Condvar)) {
    let period = (threshold / 4).max(Duration::from_millis(1));
    let mut last = vec![(0u64, 0u64); n];
    // When this thread first saw the poll in `last` (it started no later than that). The
    // time seen, not the number of samples: on a loaded machine this thread may wake
    // far less often than every `period`, and a long poll must still be caught.
    let mut since = vec![Instant::now(); n];
    let mut reported = vec![u64::MAX; n];
    loop {
        {
            let stopped = stop.0.lock();
            let stopped = stop.1.wait_timeout_while(stopped, period, |s| !*s);
            if *stopped {
                return;
            }
        }
        let Some(engine) = weak.upgrade() else { return };
        if engine.is_shutdown() {
            return;
        }
        let at = Instant::now();
        for w in 0..n {
            let p = &engine.probes()[w];
            let now = (
                p.task.load(Ordering::Relaxed),
                p.seq.load(Ordering::Relaxed),
            );
            if now.0 != 0 && now == last[w] {
                let ran = at.saturating_duration_since(since[w]);
                if ran >= threshold && reported[w] != now.1 {
                    reported[w] = now.1;
                    report(&*engine, w, now.0, ran);
                }
            } else {
                since[w] = at;
            }
            last[w] = now;
        }
    }
}

fn report<W: Watched>(engine: &W, worker: usize, task: u64, for_at_least: Duration) {
    engine.count_long_poll(worker);
    if task == CALLBACK {
        eprintln!(
            "runtime: long poll: a loop callback has run for at least {for_at_least:?} on worker {worker} without returning"
        );
        return;
    }
    let t = engine
        .registry()
        .snapshot()
        .into_iter()
        .find(|t| t.id().as_u64() == task);
    let (name, at) = match &t {
        Some(t) => (
            t.name().unwrap_or("<unnamed>").to_string(),
            t.spawned_at().to_string(),
        ),
        None => ("<finished>".into(), "?".into()),
    };
    eprintln!(
        "runtime: long poll: task {task} '{name}' (spawned at {at}) has run for at least {for_at_least:?} on worker {worker} without yielding"
    );
}
