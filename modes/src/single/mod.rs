//! `Single`: one thread runs one event loop, like asyncio.
//!
//! The loop runs on whichever thread calls `block_on`, `run_forever` or `JoinHandle::join`
//! (only one at a time: that thread holds the [`Core`]). Between those calls nothing runs,
//! as in asyncio where tasks only advance inside `run_until_complete`/`run_forever`.
//!
//! One iteration (asyncio's `_run_once`), in order:
//! 1. move items other threads queued (the injector) to the ready queue;
//! 2. fire due timers: wake sleeping tasks, queue due `call_later`/`call_at` callbacks;
//! 3. run exactly the items that are in the ready queue now, FIFO; whatever they wake or
//!    queue runs in the next iteration.
//!
//! Fairness rule: an iteration is bounded by the items ready at its start, and timers and
//! other threads' wakes are served at every iteration. A task that yields goes to the back
//! of the queue, so a task that yields forever delays each other ready item by at most one
//! iteration and starves nobody.
//!
//! `stop()` (asyncio's `loop.stop()`) makes `run_forever` return after the current
//! iteration: callbacks queued for it still run; timers not yet due do not fire.
//!
//! `Processes` mode is this loop plus a worker-process pool (`procs`): `Shared::procs`.
//! Everything here behaves the same; only `submit` sends work to the pool, and a virtual
//! clock waits for jobs in flight there as it waits for blocking jobs.
//!
//! Ownership: the ready queue and the parker belong to the `Core`; only the thread holding
//! it touches them, through the thread's context (`context::with_single`). Other threads reach the loop only
//! through `Shared` (injector, timers, flags) and then unpark it.

mod core;

pub(crate) use self::core::Core;

use crate::loom::Mutex;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::Duration;

use async_task::Runnable;

use crate::blocking::BlockingPool;
use crate::callback::Callback;
use crate::driver::{self, Driver, ParkBackend, Unparker};
use crate::task::{Meta, Registry, Schedule};
use crate::Config;

/// An item of the ready queue: a task to poll, or a loop callback to call.
pub(crate) enum LoopItem {
    Task(Runnable<Meta>),
    Call(Arc<Callback>),
}

impl LoopItem {
    fn run(self) {
        match self {
            LoopItem::Task(r) => {
                r.run();
            }
            LoopItem::Call(cb) => cb.run(),
        }
    }

    /// Runs a task only to drop it (its cancel bit set); drops a callback unrun.
    fn discard(self) {
        if let LoopItem::Task(r) = self {
            r.metadata().request_cancel();
            r.run();
        }
    }
}

impl From<Runnable<Meta>> for LoopItem {
    fn from(r: Runnable<Meta>) -> LoopItem {
        LoopItem::Task(r)
    }
}

/// How long the `Processes` parent loop spins for a worker's result before it parks.
const PROCS_SPIN: Duration = Duration::from_micros(100);

pub(crate) struct Shared {
    injector: Mutex<VecDeque<LoopItem>>,
    injected: AtomicBool,
    pub(crate) unparker: Unparker,
    core: Mutex<CoreSlot>,
    /// The handle of the loop's driver (its clock, timers, ring queue).
    pub(crate) driver: driver::Handle,
    pub(crate) registry: Registry,
    pub(crate) blocking: Arc<BlockingPool>,
    stopping: AtomicBool,
    closed: AtomicBool,
    /// `shutdown` ran but could not take the core: whoever gives it back finishes.
    closing: AtomicBool,
    pub(crate) backend: ParkBackend,
    pub(crate) label: &'static str,
    pub(crate) stats: crate::metrics::WorkerStats,
    /// The worker-process pool (`Processes` mode).
    pub(crate) procs: Option<crate::procs::Pool>,
    /// What the loop runs now, for the long-poll detector.
    probe: crossbeam_utils::CachePadded<crate::watchdog::Probe>,
    watchdog: std::sync::OnceLock<crate::watchdog::Watchdog>,
}

struct CoreSlot {
    core: Option<Box<Core>>,
    waiters: Vec<Thread>,
    /// Set by `shutdown` when it drops the core: the loop is gone for good.
    gone: bool,
}

/// Why the core could not be had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NoCore {
    /// This thread runs the loop already (the caller would wait for itself).
    InLoop,
    /// The loop was shut down.
    ShutDown,
    /// Another thread still runs the loop at the deadline.
    Busy,
}

/// How long `shutdown` waits for a loop that another thread runs (as `Threads` waits for
/// a worker busy in a long poll).
const SHUTDOWN_WAIT: Duration = Duration::from_secs(10);

impl crate::watchdog::Watched for Shared {
    fn probes(&self) -> &[crossbeam_utils::CachePadded<crate::watchdog::Probe>] {
        std::slice::from_ref(&self.probe)
    }

    fn is_shutdown(&self) -> bool {
        self.registry.is_closed()
    }

    fn registry(&self) -> &Registry {
        &self.registry
    }

    fn count_long_poll(&self, _worker: usize) {
        self.stats
            .long_polls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Shared {
    pub(crate) fn new(cfg: &Config) -> Arc<Shared> {
        Shared::with_pool(cfg, None)
    }

    /// A loop that owns `procs` (`Processes` mode): the pool wakes it when a job ends.
    pub(crate) fn with_pool(cfg: &Config, procs: Option<crate::procs::Pool>) -> Arc<Shared> {
        let (drv, backend) = Driver::new(cfg.io_uring, cfg.clock);
        let driver = drv.handle().clone();
        let unparker = driver.unparker().clone();
        if let Some(p) = &procs {
            p.set_owner(unparker.clone());
        }
        let blocking = BlockingPool::new(
            cfg.blocking_threads,
            cfg.blocking_keep_alive,
            Some(unparker.clone()),
        );
        let shared = Arc::new_cyclic(|weak| Shared {
            injector: Mutex::new(VecDeque::new()),
            injected: AtomicBool::new(false),
            unparker,
            core: Mutex::new(CoreSlot {
                core: Some(Box::new(Core::new(weak.as_ptr() as usize, drv))),
                waiters: Vec::new(),
                gone: false,
            }),
            driver,
            registry: Registry::new(1),
            blocking,
            stopping: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            backend,
            label: cfg.label,
            stats: Default::default(),
            procs,
            probe: Default::default(),
            watchdog: Default::default(),
        });
        if let Some(threshold) = cfg.long_poll_threshold {
            if let Some(w) = crate::watchdog::start(&shared, threshold) {
                let _ = shared.watchdog.set(w);
            }
        }
        shared
    }

    fn id(self: &Arc<Self>) -> usize {
        Arc::as_ptr(self) as usize
    }

    /// Queues `item` from a thread that does not hold the core, and wakes the loop.
    pub(crate) fn push_remote(&self, item: LoopItem) {
        let mut q = self.injector.lock();
        if self.closed.load(Ordering::Acquire) {
            drop(q);
            item.discard();
            return;
        }
        q.push_back(item);
        self.injected.store(true, Ordering::Release);
        drop(q);
        self.unparker.unpark();
    }

    pub(crate) fn injector_len(&self) -> usize {
        self.injector.lock().len()
    }

    /// Queues `item` on this thread's core if it is this loop's, else remotely.
    pub(crate) fn push(self: &Arc<Self>, item: LoopItem) {
        if let Err(item) = core::push_local(self.id(), item) {
            self.push_remote(item);
        }
    }

    pub(crate) fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
        self.unparker.unpark();
    }

    pub(crate) fn is_loop_thread(self: &Arc<Self>) -> bool {
        core::is_local(self.id())
    }

    /// Takes the core, waiting while another thread runs the loop.
    fn take_core(self: &Arc<Self>) -> Result<Box<Core>, NoCore> {
        self.take_core_until(None)
    }

    /// Takes the core, waiting while another thread runs the loop, until `deadline` at
    /// most (`NoCore::Busy`; `None`: as long as it takes).
    fn take_core_until(
        self: &Arc<Self>,
        deadline: Option<std::time::Instant>,
    ) -> Result<Box<Core>, NoCore> {
        if self.is_loop_thread() {
            return Err(NoCore::InLoop);
        }
        loop {
            let mut slot = self.core.lock();
            if let Some(core) = slot.core.take() {
                return Ok(core);
            }
            if slot.gone {
                return Err(NoCore::ShutDown);
            }
            let left = match deadline {
                None => None,
                Some(d) => match d.checked_duration_since(std::time::Instant::now()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => return Err(NoCore::Busy),
                },
            };
            slot.waiters.push(std::thread::current());
            drop(slot);
            match left {
                None => std::thread::park(),
                Some(left) => std::thread::park_timeout(left),
            }
        }
    }

    fn try_take_core(&self) -> Option<Box<Core>> {
        self.core.lock().core.take()
    }

    fn put_core(self: &Arc<Self>, core: Box<Core>, sched: &crate::Scheduler) {
        if self.closing.load(Ordering::Acquire) && !std::thread::panicking() {
            // A shutdown came while this thread ran the loop: finish it here.
            self.finish_shutdown(core, sched.clone());
            return;
        }
        let waiters = {
            let mut slot = self.core.lock();
            slot.core = Some(core);
            std::mem::take(&mut slot.waiters)
        };
        for t in waiters {
            t.unpark();
        }
    }

    /// Runs the loop on this thread until `fut` completes (asyncio's
    /// `run_until_complete`).
    pub(crate) fn block_on<F: Future>(
        self: &Arc<Self>,
        sched: crate::Scheduler,
        fut: F,
    ) -> F::Output {
        match self.take_core() {
            Ok(core) => self.run_with_core(core, sched, fut),
            Err(NoCore::InLoop) => panic!(
                "block_on called from inside the runtime's own loop: await the future instead"
            ),
            Err(NoCore::ShutDown | NoCore::Busy) => {
                panic!("block_on called on a runtime that has shut down")
            }
        }
    }

    fn run_with_core<F: Future>(
        self: &Arc<Self>,
        core: Box<Core>,
        sched: crate::Scheduler,
        fut: F,
    ) -> F::Output {
        let core = CoreGuard::new(self, core, &sched);
        let _ctx = crate::context::enter(sched);
        let _local = core.enter();
        let out = self.run(&core, Some(pin!(fut)));
        out.expect("the loop only returns early without a main future")
    }

    /// Runs the loop until `stop()` (asyncio's `run_forever`). Returns `false` without
    /// running if called from inside the loop.
    pub(crate) fn run_forever(self: &Arc<Self>, sched: crate::Scheduler) -> bool {
        let Ok(core) = self.take_core() else {
            return false;
        };
        let core = CoreGuard::new(self, core, &sched);
        let _ctx = crate::context::enter(sched);
        let _local = core.enter();
        self.run::<std::future::Pending<()>>(&core, None);
        true
    }

    fn run<F: Future>(
        self: &Arc<Self>,
        core: &Core,
        mut main: Option<std::pin::Pin<&mut F>>,
    ) -> Option<F::Output> {
        let main_wake = Arc::new(MainWake {
            woken: AtomicBool::new(main.is_some()),
            unparker: self.unparker.clone(),
        });
        let waker = Waker::from(main_wake.clone());
        let mut cx = Context::from_waker(&waker);
        loop {
            if let Some(f) = main.as_mut() {
                if main_wake.woken.swap(false, Ordering::AcqRel) {
                    if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                        return Some(v);
                    }
                }
            }
            self.iteration(core);
            if main.is_none() && self.stopping.swap(false, Ordering::AcqRel) {
                return None;
            }
            let stop_pending = main.is_none() && self.stopping.load(Ordering::Acquire);
            let woken = main_wake.woken.load(Ordering::Acquire);
            let procs_woken = self.procs.as_ref().is_some_and(|p| p.sockets_woken());
            if core.is_idle()
                && !self.injected.load(Ordering::Acquire)
                && !woken
                && !stop_pending
                && !procs_woken
            {
                self.park(core);
            }
        }
    }

    /// One loop iteration (see the module docs). Returns how many items it ran.
    fn iteration(&self, core: &Core) -> usize {
        // Like asyncio's select(timeout=0) at each `_run_once`: submit queued I/O, and
        // queue the tasks whose I/O completed.
        core.driver.poll_io();
        // Processes: the worker sockets are I/O of this loop; their results wake tasks
        // here, on this thread (`procs/sockets.rs`).
        if let Some(p) = &self.procs {
            p.drive_sockets();
        }
        if self.injected.load(Ordering::Acquire) {
            let mut inj = self.injector.lock();
            self.injected.store(false, Ordering::Relaxed);
            core.extend(inj.drain(..));
        }
        core.driver
            .fire_timers(&[], |cb| core.push(LoopItem::Call(cb)));
        let n = core.len();
        for _ in 0..n {
            let Some(item) = core.pop() else { break };
            match &item {
                LoopItem::Task(r) => self.probe.enter(r.metadata().id),
                LoopItem::Call(_) => self.probe.enter_callback(),
            }
            item.run();
            self.probe.leave();
        }
        core.polls.set(core.polls.get() + n as u64);
        // Published at every iteration (a relaxed store), so `metrics()` is current while
        // the loop runs, not only once it parks.
        self.stats.polls.store(core.polls.get(), Ordering::Relaxed);
        n
    }

    /// Nothing is ready: wait for a wake or the next timer, or (virtual clock) jump to it
    /// (the driver's park; timers it fires queue their callbacks here).
    fn park(&self, core: &Core) {
        // A blocking job (or a worker process's job) publishes its result (and queues the
        // woken task on the injector) before it leaves `in_flight`: seen at zero, its wake
        // is visible in `injected`, and must run before a virtual clock moves.
        let may_jump = self.blocking.in_flight.load(Ordering::Acquire) == 0
            && self.procs.as_ref().is_none_or(|p| p.in_flight() == 0)
            && !self.injected.load(Ordering::Acquire);
        let spin = || {
            // A job in a worker process answers within microseconds: poll for its result
            // before sleeping, yielding the core between polls, so that neither this
            // thread nor the worker it just wrote to has to be woken (`procs/spin.rs`).
            // Adaptive: CPU-bound jobs that keep the polls missing stop them.
            let readiness = matches!(self.backend, ParkBackend::Plain { .. });
            let answered = self
                .procs
                .as_ref()
                .filter(|p| p.in_flight() > 0)
                .is_some_and(|p| {
                    core.procs_spin.wait(PROCS_SPIN, || {
                        // A result arrives as a completion on this loop's ring (reaped
                        // here, it wakes the pool's sockets); on the readiness backend
                        // the sockets are read here, not after the reactor thread's wake.
                        core.driver.poll_io();
                        if readiness {
                            p.poll_sockets();
                        }
                        self.injected.load(Ordering::Acquire)
                            || !core.is_idle()
                            || p.sockets_woken()
                    })
                });
            if answered {
                return false;
            }
            self.stats
                .parks
                .store(core.driver.parks() + 1, Ordering::Relaxed);
            true
        };
        core.driver
            .park(&[], may_jump, spin, |cb| core.push(LoopItem::Call(cb)));
    }

    /// Drops every task's future exactly once, on this thread, then closes the loop.
    /// Idempotent: a second call (`shutdown_timeout`, then the runtime's drop) returns at
    /// once.
    ///
    /// What is released before it returns, in order:
    /// 1. every task's future (dropped here, in the runtime's context) and every timer;
    /// 2. queued blocking jobs (dropped unrun) and the idle blocking threads (joined);
    /// 3. the core: its ring (in-flight I/O cancelled and reaped, descriptors closed);
    /// 4. the watchdog thread (joined); in `Processes`, the worker processes and the fork
    ///    server (killed and reaped), the pool's threads (joined) and its control socket;
    /// 5. the loop's eventfd, even if handles of the runtime outlive it.
    ///
    /// Left behind, and said so: a blocking job still running (its thread finishes it).
    pub(crate) fn shutdown(self: &Arc<Self>, sched: crate::Scheduler) {
        // Cancel every task first, so that a thread running the loop right now (a
        // `JoinHandle::join` or `Handle::block_on` elsewhere) sees its task end and gives
        // the core back; `closing` makes whoever gives it back finish the shutdown.
        self.registry.close_and_cancel_all();
        self.closing.store(true, Ordering::Release);
        self.unparker.unpark();
        match self.take_core_until(Some(std::time::Instant::now() + SHUTDOWN_WAIT)) {
            Ok(core) => self.finish_shutdown(core, sched),
            Err(NoCore::ShutDown) => {}
            Err(why) => {
                // The loop runs on this thread (dropped from inside it) or another thread
                // still holds it after the deadline: release what needs no core now; the
                // thread that gives the core back finishes (`put_core`).
                self.blocking.shutdown();
                if why == NoCore::Busy {
                    eprintln!(
                        "runtime: shutdown deadline ({SHUTDOWN_WAIT:?}) passed while another thread runs the loop; it finishes the shutdown when it leaves"
                    );
                }
            }
        }
    }

    /// The rest of `shutdown`, with the core in hand (see `shutdown` for the order).
    fn finish_shutdown(self: &Arc<Self>, core: Box<Core>, sched: crate::Scheduler) {
        {
            let _ctx = crate::context::enter(sched);
            let _local = core.enter();
            self.registry.close_and_cancel_all();
            self.blocking.shutdown();
            let mut idle_rounds = 0;
            loop {
                let ran = self.iteration(&core);
                let pending = !core.is_idle() || self.injected.load(Ordering::Acquire);
                if !pending && self.registry.len() == 0 {
                    break;
                }
                if ran == 0 && !pending {
                    idle_rounds += 1;
                    if idle_rounds > 3 {
                        eprintln!(
                            "runtime: shutdown left {} task(s) that could not be woken",
                            self.registry.len()
                        );
                        break;
                    }
                    self.registry.cancel_all();
                } else {
                    idle_rounds = 0;
                }
            }
            drop(self.driver.timers.drain());
            // The worker sockets' I/O goes while the ring is still there.
            if let Some(p) = &self.procs {
                p.close_sockets();
            }
            let leftover: Vec<LoopItem> = {
                let mut q = self.injector.lock();
                self.closed.store(true, Ordering::Release);
                q.drain(..).collect()
            };
            for item in leftover {
                item.discard();
            }
        }
        drop(core);
        if let Some(w) = self.watchdog.get() {
            w.stop_and_join();
        }
        // Every task awaiting a job was dropped above: now kill and reap the workers.
        if let Some(p) = &self.procs {
            p.shutdown();
        }
        // The ring went with the core: its eventfd may close now, whoever still holds the
        // engine (a `Handle`, a `JoinHandle` kept past the drop).
        self.unparker.release();
        // Last: a shutdown waiting on another thread returns only once all of it is done.
        let waiters = {
            let mut slot = self.core.lock();
            slot.gone = true;
            std::mem::take(&mut slot.waiters)
        };
        for t in waiters {
            t.unpark();
        }
    }

    /// `Schedule::block_until`: waits for `done`, running the loop on this thread
    /// whenever no other thread runs it.
    fn wait_for(
        self: &Arc<Self>,
        done: &mut dyn FnMut(&mut Context<'_>) -> bool,
    ) -> Option<&'static str> {
        if self.is_loop_thread() {
            return Some(
                "join() called on the loop's own thread would block it forever; await the handle instead",
            );
        }
        let waker = crate::wait::ThreadWake::current();
        let mut cx = Context::from_waker(&waker);
        loop {
            if done(&mut cx) {
                return None;
            }
            // Run the loop ourselves if nobody does; else wait for the task or the core.
            if let Some(core) = self.try_take_core() {
                let sched = crate::Scheduler(crate::sched::Engine::Single(self.clone()));
                let main = std::future::poll_fn(|cx| {
                    if done(cx) {
                        Poll::Ready(())
                    } else {
                        Poll::Pending
                    }
                });
                self.run_with_core(core, sched, main);
                return None;
            }
            {
                let mut slot = self.core.lock();
                if slot.gone {
                    // Shut down: every task was cancelled and dropped, so the handle is
                    // ready now (it may not have been at the poll above); never wait for a
                    // loop that will not run again.
                    drop(slot);
                    if done(&mut cx) {
                        return None;
                    }
                    return Some("join() on a runtime that has shut down");
                }
                if slot.core.is_none() {
                    slot.waiters.push(std::thread::current());
                } else {
                    continue;
                }
            }
            std::thread::park();
        }
    }
}

// SAFETY: `schedule_local` takes a task only while this thread runs this loop's core
// (`push_local` checks it), and the thread running the loop holds an `Arc` of `Shared` for
// the whole run (`block_on`, `run_forever`, `join` take `&Arc<Shared>`): `self` stays
// valid. (The task itself cannot even run before the call returns.)
unsafe impl Schedule for Shared {
    #[inline]
    fn schedule_local(&self, task: Runnable<Meta>, _yielded: bool) -> Result<(), Runnable<Meta>> {
        // A task that yielded needs nothing special: the ready queue is FIFO, and what
        // is queued during an iteration runs in the next one.
        core::push_local(self as *const Shared as usize, task)
    }

    fn schedule_remote(self: Arc<Self>, task: Runnable<Meta>) {
        self.push_remote(LoopItem::Task(task));
    }

    fn registry(&self) -> &Registry {
        &self.registry
    }

    fn block_until(
        self: Arc<Self>,
        done: &mut dyn FnMut(&mut Context<'_>) -> bool,
    ) -> Option<&'static str> {
        self.wait_for(done)
    }
}

/// Gives the core back when the run ends, also when it ends by a panic (of the
/// `block_on` future), so the runtime stays usable and droppable.
struct CoreGuard<'a> {
    shared: &'a Arc<Shared>,
    core: Option<Box<Core>>,
    sched: crate::Scheduler,
}

impl<'a> CoreGuard<'a> {
    fn new(shared: &'a Arc<Shared>, core: Box<Core>, sched: &crate::Scheduler) -> Self {
        CoreGuard {
            shared,
            core: Some(core),
            sched: sched.clone(),
        }
    }
}

impl std::ops::Deref for CoreGuard<'_> {
    type Target = Core;

    fn deref(&self) -> &Core {
        self.core.as_ref().expect("present until drop")
    }
}

impl Drop for CoreGuard<'_> {
    fn drop(&mut self) {
        if let Some(core) = self.core.take() {
            self.shared.put_core(core, &self.sched);
        }
    }
}

struct MainWake {
    woken: AtomicBool,
    unparker: Unparker,
}

impl Wake for MainWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.woken.swap(true, Ordering::AcqRel) {
            self.unparker.unpark();
        }
    }
}
