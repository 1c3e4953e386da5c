//! `Threads`: N workers, each with a crossbeam-deque local queue and its own parker and
//! timers; one shared injector; every worker steals from the others.
//!
//! Where a scheduled task goes:
//! - woken or spawned on a worker of this pool: that worker's LIFO slot (the previous
//!   occupant moves to the back of its local queue); a task that yielded goes to the back
//!   of the local queue;
//! - from any other thread: the injector, then one parked worker is woken (see `idle`).
//!
//! A connection's home (the rule that keeps a connection's I/O and its task together;
//! ARCHITECTURE.md, "Threads: a connection's home", has its figures). io_uring runs a
//! completion's work on the thread that submitted the operation, so the ring an
//! operation goes to decides which thread must run for it to complete:
//! 1. an operation goes to the ring of the worker polling its task (`io/uring/mod.rs`);
//!    a stream's multishot receive stays on the ring that armed it until it ends;
//! 2. that worker reaps the completion and wakes the task into its own LIFO slot, so the
//!    task runs where its I/O completes, next;
//! 3. a worker takes what the kernel has posted to its ring before every poll, with no
//!    syscall (`Driver::reap_posted`: its own syscalls, a send say, post completions on
//!    their way out), and enters the kernel for the rest every `MAINTENANCE_INTERVAL`
//!    polls and whenever it runs out of tasks;
//! 4. idle workers help by stealing runnable tasks (never a task's in-flight operation):
//!    a stolen task's next operations go to the thief's ring (a multishot receive
//!    armed at home wakes it back there); a backlog of tasks woken by a worker's own
//!    reaps wakes a parked sibling only once it has lasted `HELP_AFTER` (300 us, checked
//!    between polls), so a burst of small tasks runs where its I/O completes and only a
//!    backlog that lasts is shared. A spawned task, or one woken by another task, wakes
//!    a sibling at once if it makes a backlog, as before.
//!
//! Fairness rule: a worker takes from the injector before its own queue every
//! `GLOBAL_INTERVAL` (61) ticks, fires every worker's due timers every
//! `MAINTENANCE_INTERVAL` ticks, and runs the LIFO slot at most `MAX_LIFO_POLLS` (3) times
//! in a row before going back to the queue. So the injector, the timers and every local queue are served within a bounded
//! number of polls, and a task that yields forever starves nobody.
//!
//! Shutdown, in order:
//! 1. `shutdown` is set and every worker unparked; each finishes the poll it is in, moves
//!    its LIFO slot to its queue and exits, running nothing more;
//! 2. the dropping thread waits for the workers up to a deadline (a worker stuck in a
//!    long poll is reported and left behind, never waited on forever), then *joins* each
//!    worker that exited (`thread_set`): a worker drops its ring (its I/O cancelled and
//!    reaped, its descriptors closed) and its references to `Shared` before it ends, so
//!    once joined it holds nothing; the watchdog thread is stopped and joined too;
//! 3. the registry is closed (from now on every poll is a cancellation that only drops
//!    the future) and every live task is woken; with no worker alive, a wake runs the
//!    task right on the waking thread; queued blocking jobs are cancelled and the idle
//!    blocking threads joined;
//! 4. the dropping thread steals every queued task and runs it.
//!
//! So every pending future is dropped exactly once, on the dropping thread, and when
//! `shutdown` returns no thread of the pool is left (but a worker stuck past the deadline,
//! or a blocking job still running, each reported), and neither is any descriptor that
//! such a thread held.

pub(crate) mod idle;
mod worker;

use crate::loom::{Condvar, Mutex};
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_task::Runnable;
use crossbeam_deque::{Injector, Stealer, Worker};
use crossbeam_utils::CachePadded;

use crate::blocking::BlockingPool;
use crate::driver::{self, Driver, ParkBackend};
use crate::metrics::WorkerStats;
use crate::task::{Meta, Registry, Schedule};
use crate::wait::ThreadWake;
use crate::Config;

pub(crate) use worker::Core as WorkerCore;
pub(crate) use worker::{current_driver, is_worker_of, push_local};

/// Take from the injector first every this many ticks.
const GLOBAL_INTERVAL: u32 = 61;
/// Fire timers and publish metrics every this many ticks.
const MAINTENANCE_INTERVAL: u32 = 61;
/// How long a backlog of tasks woken by a worker's own reaps waits before a parked
/// sibling is woken to help (home rule 4). A wake here costs 20-50 us of latency and a
/// park/unpark cycle on each side; on `net`, helping at once cost 8.33 us of server CPU
/// per round trip against 6.56 with this bound (ARCHITECTURE.md, "the help rule").
const HELP_AFTER: Duration = Duration::from_micros(300);
/// Polls of the LIFO slot in a row before the local queue gets a turn.
const MAX_LIFO_POLLS: u32 = 3;

pub(crate) struct Shared {
    pub(crate) injector: Injector<Runnable<Meta>>,
    stealers: Box<[Stealer<Runnable<Meta>>]>,
    /// Each worker's driver handle: its unparker, timers, clock and ring queue.
    pub(crate) drivers: Box<[driver::Handle]>,
    idle: idle::Idle,
    pub(crate) registry: Registry,
    pub(crate) blocking: Arc<BlockingPool>,
    shutdown: AtomicBool,
    pub(crate) stats: Box<[CachePadded<WorkerStats>]>,
    pub(crate) probes: Box<[CachePadded<crate::watchdog::Probe>]>,
    pub(crate) backend: ParkBackend,
    pub(crate) label: &'static str,
    live: Mutex<usize>,
    live_cv: Condvar,
    stopped: Mutex<bool>,
    stop_cv: Condvar,
    /// `Gil` mode: the lock held around every poll.
    pub(crate) gil: Option<crate::gil::Gil>,
    /// The worker threads, waited for by `shutdown`.
    threads: crate::thread_set::ThreadSet,
    /// `shutdown` left busy workers behind: the last to exit finishes it.
    abandoned: AtomicBool,
    watchdog: std::sync::OnceLock<crate::watchdog::Watchdog>,
}

impl crate::watchdog::Watched for Shared {
    fn probes(&self) -> &[CachePadded<crate::watchdog::Probe>] {
        &self.probes
    }

    fn is_shutdown(&self) -> bool {
        Shared::is_shutdown(self)
    }

    fn registry(&self) -> &Registry {
        &self.registry
    }

    fn count_long_poll(&self, worker: usize) {
        self.stats[worker]
            .long_polls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Shared {
    /// Starts the workers. Fails only if no worker thread could be spawned.
    pub(crate) fn start(cfg: &Config) -> Result<Arc<Shared>, String> {
        let n = cfg.workers.max(1);
        let mut locals = Vec::with_capacity(n);
        let mut own = Vec::with_capacity(n);
        let mut backend = None;
        for _ in 0..n {
            let (d, b) = Driver::new(cfg.io_uring, cfg.clock);
            backend.get_or_insert(b);
            own.push(d);
            locals.push(Worker::new_fifo());
        }
        let shared = Arc::new(Shared {
            injector: Injector::new(),
            stealers: locals.iter().map(Worker::stealer).collect(),
            drivers: own.iter().map(|d| d.handle().clone()).collect(),
            idle: idle::Idle::new(n),
            registry: Registry::new(4 * n),
            blocking: BlockingPool::new(cfg.blocking_threads, cfg.blocking_keep_alive, None),
            shutdown: AtomicBool::new(false),
            stats: (0..n)
                .map(|_| CachePadded::new(WorkerStats::default()))
                .collect(),
            probes: (0..n)
                .map(|_| CachePadded::new(crate::watchdog::Probe::default()))
                .collect(),
            backend: backend.expect("at least one worker"),
            label: cfg.label,
            live: Mutex::new(0),
            live_cv: Condvar::new(),
            stopped: Mutex::new(false),
            stop_cv: Condvar::new(),
            gil: cfg.gil.map(crate::gil::Gil::new),
            threads: Default::default(),
            abandoned: AtomicBool::new(false),
            watchdog: Default::default(),
        });
        for d in shared.drivers.iter() {
            let weak = Arc::downgrade(&shared);
            d.set_on_earliest(Box::new(move || {
                if let Some(s) = weak.upgrade() {
                    s.notify_parked();
                }
            }));
        }
        let cores = if cfg.pin_workers {
            core_affinity::get_core_ids().filter(|c| !c.is_empty())
        } else {
            None
        };
        for (index, (local, driver)) in locals.into_iter().zip(own).enumerate() {
            let s = shared.clone();
            let core = cores.as_ref().map(|c| c[index % c.len()]);
            *shared.live.lock() += 1;
            let spawned = shared
                .threads
                .spawn(format!("runtime-worker-{index}"), move || {
                    if let Some(core) = core {
                        core_affinity::set_for_current(core);
                    }
                    worker::run(index, s, local, driver)
                });
            if let Err(e) = spawned {
                *shared.live.lock() -= 1;
                shared.shutdown(Duration::from_secs(1));
                return Err(format!("could not start worker thread {index}: {e}"));
            }
        }
        if let Some(threshold) = cfg.long_poll_threshold {
            if let Some(w) = crate::watchdog::start(&shared, threshold) {
                let _ = shared.watchdog.set(w);
            }
        }
        Ok(shared)
    }

    pub(crate) fn num_workers(&self) -> usize {
        self.stealers.len()
    }

    /// Schedules from a thread that is not one of our workers.
    pub(crate) fn push_remote(&self, r: Runnable<Meta>) {
        if self.shutdown.load(Ordering::Acquire) && !self.workers_alive() {
            r.metadata().request_cancel();
            r.run();
            return;
        }
        self.injector.push(r);
        crate::loom::fence(Ordering::SeqCst);
        self.notify_parked();
    }

    /// Wakes one parked worker if nobody is searching (idle rule 1).
    pub(crate) fn notify_parked(&self) {
        if let Some(w) = self.idle.worker_to_notify() {
            self.drivers[w].unpark();
        }
    }

    fn has_work(&self) -> bool {
        !self.injector.is_empty() || self.stealers.iter().any(|s| !s.is_empty())
    }

    fn workers_alive(&self) -> bool {
        *self.live.lock() > 0
    }

    /// Counts a worker out. If it was the last one and shutdown gave up waiting for it,
    /// it finishes the shutdown (steps 3-4) before it goes.
    fn worker_exited(self: &Arc<Self>) {
        let finish = {
            let mut live = self.live.lock();
            *live -= 1;
            self.live_cv.notify_all();
            *live == 0 && self.abandoned.load(Ordering::Acquire)
        };
        if finish {
            self.registry.close_and_cancel_all();
            self.drop_queued_and_release();
        }
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    /// Polls `fut` on this (non-worker) thread until it completes; the workers run the
    /// tasks meanwhile.
    pub(crate) fn block_on<F: Future>(
        self: &Arc<Self>,
        sched: crate::Scheduler,
        fut: F,
    ) -> F::Output {
        if is_worker_of(self) {
            panic!("block_on called from a worker of this runtime: await the future instead");
        }
        if self.gil.as_ref().is_some_and(crate::gil::Gil::held_here) {
            // The GIL is not re-entrant: the outer block_on holds it around this very poll.
            panic!(
                "block_on called from inside a block_on of this Gil runtime (this thread holds its GIL): await the future instead"
            );
        }
        let _ctx = crate::context::enter(sched);
        // This thread may run another runtime's loop (nested): its `io` and `time` must
        // reach this pool's drivers, not that loop's.
        let _driver = crate::context::enter_driver(None);
        let waker = ThreadWake::current();
        let mut cx = Context::from_waker(&waker);
        let mut fut = pin!(fut);
        loop {
            // In `Gil` mode the caller's future runs under the lock too, as Python's main
            // thread does.
            let res = {
                let _held = self.gil.as_ref().map(crate::gil::Gil::hold);
                fut.as_mut().poll(&mut cx)
            };
            if let Poll::Ready(v) = res {
                return v;
            }
            std::thread::park();
        }
    }

    /// Blocks until `stop()` (asyncio's `run_forever`; in a pool, the workers run
    /// everything meanwhile). `false` if called from a worker.
    pub(crate) fn run_forever(self: &Arc<Self>) -> bool {
        if is_worker_of(self) {
            return false;
        }
        // Called inside a `Gil` block_on, this thread holds the GIL: wait without it, or
        // no worker could run the callback that stops us.
        crate::gil::allow_threads(|| {
            let mut stopped = self.stopped.lock();
            while !*stopped {
                stopped = self.stop_cv.wait(stopped);
            }
            *stopped = false;
        });
        true
    }

    pub(crate) fn stop(&self) {
        *self.stopped.lock() = true;
        self.stop_cv.notify_all();
    }

    /// Shutdown steps 1-4 (module docs). Returns the number of tasks left behind.
    pub(crate) fn shutdown(self: &Arc<Self>, timeout: Duration) -> usize {
        self.shutdown.store(true, Ordering::Release);
        for d in self.drivers.iter() {
            d.unpark();
        }
        if is_worker_of(self) {
            // Dropped from inside a task: the workers wind down by themselves, and the last
            // of them to exit does steps 3-4 (`worker_exited`).
            {
                let _live = self.live.lock();
                self.abandoned.store(true, Ordering::Release);
            }
            self.blocking.shutdown();
            self.registry.close_and_cancel_all();
            return self.registry.len();
        }
        let deadline = Instant::now() + timeout;
        let mut live = self.live.lock();
        while *live > 0 {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            live = self.live_cv.wait_timeout(live, deadline - now).0;
        }
        let stuck = *live;
        if stuck > 0 {
            // Set under the lock the workers count out under: the last of them sees it and
            // does steps 3-4 itself when it finally leaves its long poll.
            self.abandoned.store(true, Ordering::Release);
        }
        drop(live);
        if let Some(w) = self.watchdog.get() {
            w.stop_and_join();
        }
        // Workers that counted themselves out are only dropping their last captures; one
        // still busy past the deadline is not waited for again.
        let grace = if stuck > 0 {
            Duration::ZERO
        } else {
            Duration::from_secs(1)
        };
        let unfinished = self.threads.join_until(Instant::now() + grace, |_| false);
        let _ctx = crate::context::enter(crate::Scheduler(crate::sched::Engine::Threads(
            self.clone(),
        )));
        // The blocking pool first: the destructors that run below (a wake runs the woken
        // task right here) may spawn blocking jobs, which must be cancelled, never run.
        self.blocking.shutdown();
        // The workers are gone: from now on every poll is a cancellation, and a wake runs
        // the woken task (dropping its future) right here, on the waking thread.
        self.registry.close_and_cancel_all();
        if stuck > 0 {
            let left = self.registry.snapshot();
            eprintln!(
                "runtime: shutdown deadline ({timeout:?}) passed with {stuck} worker(s) still busy; left behind {} task(s), dropped when the last busy worker returns: {}",
                left.len(),
                left.iter()
                    .map(|t| format!("{} {:?} (spawned at {})", t.id(), t.name().unwrap_or(""), t.spawned_at()))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            return left.len();
        }
        if unfinished > 0 {
            eprintln!(
                "runtime: {unfinished} worker thread(s) counted out but had not finished after 1 s"
            );
        }
        self.drop_queued_and_release();
        0
    }

    /// Shutdown step 4 and the release of the eventfds: run by the dropping thread, or, if
    /// it had to leave busy workers behind, by the last of them to exit. Only once every
    /// worker counted out (none touches a queue or its ring any more).
    fn drop_queued_and_release(self: &Arc<Self>) {
        let _ctx = crate::context::enter(crate::Scheduler(crate::sched::Engine::Threads(
            self.clone(),
        )));
        // Drop every queued future here, inside the runtime's context so that destructors
        // may still use it (a spawn from a destructor is cancelled at once).
        loop {
            let mut ran = false;
            for s in self.stealers.iter() {
                while let Some(r) = s.steal().success() {
                    r.run();
                    ran = true;
                }
            }
            while let Some(r) = self.injector.steal().success() {
                r.run();
                ran = true;
            }
            if !ran {
                break;
            }
        }
        for d in self.drivers.iter() {
            drop(d.timers.drain());
        }
        // Every worker dropped its ring before it counted out: close the eventfds now, not
        // when the last handle of the runtime goes.
        for d in self.drivers.iter() {
            d.release();
        }
    }
}

// SAFETY: `schedule_local` takes a task only on a worker of this pool (`push_local` checks
// it), whose `Core` holds an `Arc` of the pool for as long as it runs: `self` stays valid
// even if another worker steals the task and frees it before `push` returns.
unsafe impl Schedule for Shared {
    #[inline]
    fn schedule_local(&self, task: Runnable<Meta>, yielded: bool) -> Result<(), Runnable<Meta>> {
        push_local(self as *const Shared as usize, task, yielded)
    }

    fn schedule_remote(self: Arc<Self>, task: Runnable<Meta>) {
        self.push_remote(task);
    }

    fn registry(&self) -> &Registry {
        &self.registry
    }

    fn block_until(
        self: Arc<Self>,
        done: &mut dyn FnMut(&mut Context<'_>) -> bool,
    ) -> Option<&'static str> {
        if is_worker_of(&self) {
            return Some(
                "join() called on a worker thread would block it; await the handle instead",
            );
        }
        crate::wait::park_until(done);
        None
    }
}
