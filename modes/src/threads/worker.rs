//! One worker of the `Threads` pool: its run loop, local queue, LIFO slot and parking.
//!
//! Only the worker's own thread touches its `Core` (through `&Core` and the thread's
//! context, `context::with_worker`); other threads reach it through `Shared` (stealers, injector,
//! and its driver's handle: unparker, timers, ring queue).

use std::cell::Cell;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use async_task::Runnable;
use crossbeam_deque::{Steal, Worker};

use super::{Shared, GLOBAL_INTERVAL, HELP_AFTER, MAINTENANCE_INTERVAL, MAX_LIFO_POLLS};
use crate::driver::{self, Driver};
use crate::sched::{Engine, Scheduler};
use crate::task::Meta;

/// One worker's own state, reached through the thread's context (`context.rs`) by the
/// worker's thread only.
pub(crate) struct Core {
    index: usize,
    shared: Arc<Shared>,
    local: Worker<Runnable<Meta>>,
    lifo: Cell<Option<Runnable<Meta>>>,
    lifo_polls: Cell<u32>,
    /// This worker's ring (or plain park) and timers.
    driver: Driver,
    tick: Cell<u32>,
    searching: Cell<bool>,
    /// Set while this worker reaps its own ring (between tasks, in `poll_io`, in
    /// `park`): the tasks its completions wake land here without a wake-up each; a
    /// backlog they leave wakes a sibling only if it lasts (`help_if_lasting`).
    reaping: Cell<bool>,
    /// When the backlog left by this worker's own reaps began, while it waits for the
    /// help rule (`help_if_lasting`); `None`: no such backlog.
    backlog_since: Cell<Option<Instant>>,
    rng: Cell<u32>,
    // Plain counters, published to `shared.stats[index]` by `publish`.
    polls: Cell<u64>,
    steals: Cell<u64>,
    remote_wakes: Cell<u64>,
    busy_ns: Cell<u64>,
    busy_since: Cell<Instant>,
}

fn with_core<R>(f: impl FnOnce(Option<&Core>) -> R) -> R {
    crate::context::with_worker(f)
}

/// `true` if this thread is a worker of `shared`.
pub(crate) fn is_worker_of(shared: &Arc<Shared>) -> bool {
    with_core(|c| c.is_some_and(|c| Arc::ptr_eq(&c.shared, shared)))
}

/// The timers a `Sleep` on this thread should use: this worker's, or worker 0's when
/// called from another thread.
pub(crate) fn current_driver(shared: &Arc<Shared>) -> &driver::Handle {
    let idx = with_core(|c| match c {
        Some(c) if Arc::ptr_eq(&c.shared, shared) => c.index,
        _ => 0,
    });
    &shared.drivers[idx]
}

/// Pushes `r` on this thread's worker if it belongs to the pool at address `shared_id`
/// (`Arc::as_ptr`); else gives it back.
pub(crate) fn push_local(
    shared_id: usize,
    r: Runnable<Meta>,
    yielded: bool,
) -> Result<(), Runnable<Meta>> {
    with_core(|c| match c {
        Some(c) if Arc::as_ptr(&c.shared) as usize == shared_id => {
            c.push(r, yielded);
            Ok(())
        }
        _ => Err(r),
    })
}

pub(super) fn run(
    index: usize,
    shared: Arc<Shared>,
    local: Worker<Runnable<Meta>>,
    driver: Driver,
) {
    let core = Core {
        index,
        shared: shared.clone(),
        local,
        lifo: Cell::new(None),
        lifo_polls: Cell::new(0),
        driver,
        tick: Cell::new(0),
        searching: Cell::new(false),
        reaping: Cell::new(false),
        backlog_since: Cell::new(None),
        rng: Cell::new(0x9E37_79B9 ^ (index as u32 + 1).wrapping_mul(0x85EB_CA6B)),
        polls: Cell::new(0),
        steals: Cell::new(0),
        remote_wakes: Cell::new(0),
        busy_ns: Cell::new(0),
        busy_since: Cell::new(Instant::now()),
    };
    let _ctx = crate::context::enter(Scheduler(Engine::Threads(shared.clone())));
    // `core` stays on this stack, unmoved, until after the guard drops (context's rule).
    let _guard = crate::context::enter_worker(&core);
    let entered = crate::context::enter_driver(Some(&core.driver));
    // Finished tasks leave the registry in batches from this thread (registry
    // invariant 5), flushed before each park and when the worker stops.
    let batch = shared.registry.batch_removals();
    core.run();
    core.drain();
    drop(batch);
    core.publish();
    drop(entered);
    drop(_guard);
    // The ring goes (its in-flight I/O cancelled and waited for, its descriptors closed)
    // before the worker counts as exited: a dropped runtime has released all of it.
    drop(core);
    shared.worker_exited();
}

impl Core {
    fn push(&self, r: Runnable<Meta>, yielded: bool) {
        if yielded {
            self.local.push(r);
        } else if let Some(prev) = self.lifo.replace(Some(r)) {
            self.local.push(prev);
        } else {
            return;
        }
        // More than one runnable here: let a parked sibling help (unless we are searching,
        // in which case we will notify when we stop, or reaping, in which case the help
        // rule decides once the batch is in).
        if !self.reaping.get() {
            self.notify_if_backlog();
        }
    }

    /// Wakes a parked sibling (idle rule 1) if more than one task is runnable here (the
    /// LIFO slot and at least one queued) and we are not searching.
    fn notify_if_backlog(&self) {
        if !self.searching.get() && !self.local.is_empty() {
            crate::loom::fence(Ordering::SeqCst);
            self.shared.notify_parked();
        }
    }

    /// Runs `f`, a reap of this worker's own ring, as one batch (see `reaping`): the
    /// tasks it wakes go to the LIFO slot and the queue, and a backlog they leave goes
    /// to the help rule (`backlog_left`). Returns what `f` returned (`true`: something
    /// completed).
    fn reap(&self, f: impl FnOnce(&Driver) -> bool) -> bool {
        self.reaping.set(true);
        let any = f(&self.driver);
        self.reaping.set(false);
        if any {
            self.backlog_left();
        }
        any
    }

    /// Our own completions (or timers, during a park) woke more tasks than the LIFO slot
    /// holds: start the help rule's clock (`help_if_lasting`) rather than wake a sibling.
    fn backlog_left(&self) {
        if self.backlog_since.get().is_none() && !self.local.is_empty() {
            self.backlog_since.set(Some(Instant::now()));
        }
    }

    /// The help rule (home rule 4, `threads/mod.rs`): a backlog of tasks woken by this
    /// worker's own reaps wakes a parked sibling only once it has lasted `HELP_AFTER`,
    /// checked between polls; while it lasts, every `HELP_AFTER` again.
    fn help_if_lasting(&self) {
        let Some(since) = self.backlog_since.get() else {
            return;
        };
        if self.local.is_empty() {
            self.backlog_since.set(None);
            return;
        }
        let now = Instant::now();
        if now.duration_since(since) >= HELP_AFTER {
            self.backlog_since.set(Some(now));
            self.notify_if_backlog();
        }
    }

    fn run(&self) {
        while !self.shared.is_shutdown() {
            let tick = self.tick.get().wrapping_add(1);
            self.tick.set(tick);
            // The home rule (`threads/mod.rs`): completions the kernel has posted to our
            // ring are taken before every poll, with no syscall; the tasks they wake
            // run here, next (the LIFO slot).
            self.reap(Driver::reap_posted);
            self.help_if_lasting();
            if tick % MAINTENANCE_INTERVAL == 0 {
                self.reap(Driver::poll_io);
                // Every worker's due timers, not only ours: a sibling that is parked
                // (its wake-up late when the machine is loaded) or busy in a long poll
                // would otherwise leave its due timers to itself.
                self.driver.fire_timers(&self.shared.drivers, |cb| cb.run());
                self.publish();
            }
            if let Some(r) = self.next_task(tick) {
                self.run_task(r);
                continue;
            }
            // Out of work: submit queued I/O and collect what completed.
            if self.reap(Driver::poll_io) {
                continue;
            }
            // Fire every worker's due timers, not only ours, so that a sleep
            // registered on a worker now busy in a long poll still wakes on time.
            if self.driver.fire_timers(&self.shared.drivers, |cb| cb.run()) {
                continue;
            }
            if let Some(r) = self.search() {
                self.run_task(r);
                continue;
            }
            self.park();
        }
    }

    fn run_task(&self, r: Runnable<Meta>) {
        if self.searching.replace(false) && self.shared.idle.transition_from_searching() {
            // We were the last searcher: if work is still queued, someone must look for
            // it. (A push racing this check sees no searcher and wakes a worker itself.)
            crate::loom::fence(Ordering::SeqCst);
            if self.shared.has_work() {
                self.shared.notify_parked();
            }
        }
        let probe = &self.shared.probes[self.index];
        probe.enter(r.metadata().id);
        self.polls.set(self.polls.get() + 1);
        {
            let _held = self.shared.gil.as_ref().map(crate::gil::Gil::hold);
            r.run();
        }
        probe.leave();
    }

    fn next_task(&self, tick: u32) -> Option<Runnable<Meta>> {
        if tick % GLOBAL_INTERVAL == 0 {
            if let Some(r) = self.steal_injector() {
                return Some(r);
            }
        }
        if let Some(r) = self.lifo.take() {
            if self.lifo_polls.get() < MAX_LIFO_POLLS {
                self.lifo_polls.set(self.lifo_polls.get() + 1);
                return Some(r);
            }
            // The slot had its turns: to the back of the queue, so others get theirs.
            self.local.push(r);
        }
        self.lifo_polls.set(0);
        self.local.pop().or_else(|| self.steal_injector())
    }

    fn steal_injector(&self) -> Option<Runnable<Meta>> {
        loop {
            match self.shared.injector.steal_batch_and_pop(&self.local) {
                Steal::Success(r) => return Some(r),
                Steal::Empty => return None,
                Steal::Retry => continue,
            }
        }
    }

    fn next_rand(&self) -> u32 {
        // xorshift32
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng.set(x);
        x
    }

    /// Steal a batch from another worker or the injector, as a searcher.
    fn search(&self) -> Option<Runnable<Meta>> {
        if !self.searching.get() {
            if !self.shared.idle.transition_to_searching() {
                return None;
            }
            self.searching.set(true);
        }
        let n = self.shared.stealers.len();
        let start = self.next_rand() as usize % n;
        for i in 0..n {
            let j = (start + i) % n;
            if j == self.index {
                continue;
            }
            loop {
                match self.shared.stealers[j].steal_batch_and_pop(&self.local) {
                    Steal::Success(r) => {
                        self.steals.set(self.steals.get() + 1);
                        return Some(r);
                    }
                    Steal::Empty => break,
                    Steal::Retry => continue,
                }
            }
        }
        self.steal_injector()
    }

    /// Parks until work, an I/O completion or the earliest timer of any worker (see
    /// `run`: a parked worker also serves its busy siblings' timers); the driver fires
    /// the due ones when it wakes.
    fn park(&self) {
        // Parked, this worker finishes no task: its batched removals go now.
        self.shared.registry.flush_batch();
        let idle = &self.shared.idle;
        let registered = Cell::new(false);
        let before_block = || {
            registered.set(true);
            if idle.transition_to_parked(self.index, self.searching.replace(false))
                && self.shared.has_work()
            {
                self.shared.notify_parked();
            }
            // Idle rule 4: registered as parked, now the last look at the queues.
            crate::loom::fence(Ordering::SeqCst);
            if self.shared.has_work() || self.shared.is_shutdown() {
                return false;
            }
            let now = Instant::now();
            self.busy_ns.set(
                self.busy_ns.get() + now.duration_since(self.busy_since.get()).as_nanos() as u64,
            );
            self.publish();
            // Counted before the block (the driver counts it as it blocks).
            self.publish_parks(self.driver.parks() + 1);
            // Tasks woken by our own completions and timers during the park land here;
            // we are about to run them (see `reaping`).
            self.reaping.set(true);
            true
        };
        let blocked = self
            .driver
            .park(&self.shared.drivers, false, before_block, |cb| cb.run());
        self.reaping.set(false);
        if blocked {
            self.busy_since.set(Instant::now());
        }
        if !registered.get() {
            return;
        }
        if idle.transition_from_parked(self.index) {
            self.searching.set(true);
            self.remote_wakes.set(self.remote_wakes.get() + 1);
        } else {
            // Our own completions and timers may have queued a backlog while we were off
            // the books: the help rule decides whether a sibling is woken for it (the
            // per-push wake was held back, see `reaping`).
            self.backlog_left();
        }
    }

    fn publish_parks(&self, parks: u64) {
        self.shared.stats[self.index]
            .parks
            .store(parks, Ordering::Relaxed);
    }

    /// Shutdown step 3: stop at once, leaving every queued task where the dropping thread
    /// can steal it (the LIFO slot is not stealable, so it goes to the queue).
    fn drain(&self) {
        if self.searching.replace(false) {
            self.shared.idle.transition_from_searching();
        }
        if let Some(r) = self.lifo.take() {
            self.local.push(r);
        }
    }

    fn publish(&self) {
        let s = &self.shared.stats[self.index];
        s.polls.store(self.polls.get(), Ordering::Relaxed);
        s.steals.store(self.steals.get(), Ordering::Relaxed);
        s.parks.store(self.driver.parks(), Ordering::Relaxed);
        s.remote_wakes
            .store(self.remote_wakes.get(), Ordering::Relaxed);
        s.busy_ns.store(self.busy_ns.get(), Ordering::Relaxed);
        s.local_depth
            .store(self.local.len() as u64, Ordering::Relaxed);
    }
}
