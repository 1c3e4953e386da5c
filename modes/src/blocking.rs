//! The blocking pool (`spawn_blocking`, asyncio's `run_in_executor(None, f)`): threads
//! that run closures which block, so the loop never does.
//!
//! Threads are started on demand up to `max_threads`, and exit after `keep_alive` idle.
//! Each job is a task (so it has a `JoinHandle`, can be cancelled while queued, and is
//! listed by `all_tasks`) whose future runs the closure in a single poll.
//!
//! Shutdown: queued jobs are run with their cancel bit set (the harness drops them without
//! calling the closure); idle threads are woken, and joined before `shutdown` returns (so
//! they hold nothing of the runtime after it); running jobs are not waited for: their
//! threads finish them and exit. Nothing in shutdown blocks on a closure.

use crate::loom::{Condvar, Mutex, MutexGuard};
use std::collections::HashSet;
use std::collections::VecDeque;
use std::panic::Location;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Context;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use crate::thread_set::ThreadSet;

use async_task::Runnable;

use crate::driver::Unparker;
use crate::sched::Scheduler;
use crate::task::{self, JoinHandle, Meta, Registry, Schedule};

pub(crate) struct BlockingPool {
    state: Mutex<State>,
    cv: Condvar,
    max_threads: usize,
    keep_alive: Duration,
    pub(crate) registry: Registry,
    /// Jobs spawned and not yet finished (queued or running). Decremented only after a
    /// job has completed, so after its result was published and its awaiter woken.
    pub(crate) in_flight: AtomicUsize,
    /// Wakes the owner loop when a job ends: a `Single` loop on a virtual clock waits for
    /// blocking work before it moves time.
    owner: Option<Unparker>,
    handles: ThreadSet,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Runnable<Meta>>,
    threads: usize,
    idle: usize,
    shutdown: bool,
    /// Threads running a job now: the ones shutdown does not join.
    busy: HashSet<ThreadId>,
}

impl BlockingPool {
    pub(crate) fn new(
        max_threads: usize,
        keep_alive: Duration,
        owner: Option<Unparker>,
    ) -> Arc<BlockingPool> {
        Arc::new(BlockingPool {
            state: Mutex::new(State::default()),
            cv: Condvar::new(),
            max_threads: max_threads.max(1),
            keep_alive,
            registry: Registry::new(1),
            in_flight: AtomicUsize::new(0),
            owner,
            handles: ThreadSet::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    /// Spawns `f` on the pool; while it runs, `owner` is the thread's current runtime.
    pub(crate) fn spawn<F, R>(
        self: &Arc<BlockingPool>,
        owner: Scheduler,
        f: F,
        spawned_at: &'static Location<'static>,
    ) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        let fut = async move {
            let _ctx = crate::context::enter(owner);
            f()
        };
        task::spawn(self.clone(), fut, None, spawned_at)
    }

    fn schedule(self: &Arc<BlockingPool>, r: Runnable<Meta>) {
        let mut st = self.lock();
        if st.shutdown {
            drop(st);
            r.metadata().request_cancel();
            self.run_job(r);
            return;
        }
        st.queue.push_back(r);
        if st.idle > 0 {
            drop(st);
            self.cv.notify_one();
        } else if st.threads < self.max_threads {
            st.threads += 1;
            drop(st);
            let pool = self.clone();
            let spawned = self
                .handles
                .spawn("runtime-blocking".into(), move || pool.worker());
            if spawned.is_err() {
                // No thread could be started: an existing thread will get to the job; if
                // there is none, run it here rather than leave it queued forever.
                let mut st = self.lock();
                st.threads -= 1;
                if st.threads == 0 {
                    let jobs: Vec<_> = st.queue.drain(..).collect();
                    drop(st);
                    for r in jobs {
                        self.run_job(r);
                    }
                }
            }
        }
    }

    fn worker(self: Arc<BlockingPool>) {
        let mut st = self.lock();
        loop {
            if let Some(r) = st.queue.pop_front() {
                let me = std::thread::current().id();
                st.busy.insert(me);
                drop(st);
                self.run_job(r);
                st = self.lock();
                st.busy.remove(&me);
                continue;
            }
            if st.shutdown {
                break;
            }
            st.idle += 1;
            let (g, res) = self.cv.wait_timeout(st, self.keep_alive);
            st = g;
            st.idle -= 1;
            if res && st.queue.is_empty() {
                break;
            }
        }
        st.threads -= 1;
    }

    /// Cancels queued jobs, wakes the idle threads and joins them. Does not wait for
    /// running jobs.
    pub(crate) fn shutdown(&self) {
        let jobs: Vec<_> = {
            let mut st = self.lock();
            st.shutdown = true;
            st.queue.drain(..).collect()
        };
        self.cv.notify_all();
        for r in jobs {
            r.metadata().request_cancel();
            self.run_job(r);
        }
        let busy = self.lock().busy.clone();
        // An idle thread exits as soon as it sees `shutdown`; one that is busy is left to
        // finish its job (bounded: the deadline only covers threads already on their way out).
        self.handles
            .join_until(Instant::now() + Duration::from_secs(1), |id| {
                busy.contains(&id)
            });
    }

    /// Runs one job (its single poll runs the closure, or only drops it if cancelled),
    /// then counts it out and wakes the owner loop.
    fn run_job(&self, r: Runnable<Meta>) {
        r.run();
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
        if let Some(u) = &self.owner {
            u.unpark();
        }
    }
}

// SAFETY: `schedule_local` never takes a job: every one goes through the pool's queue
// (`schedule_remote`), on a clone of the pool's `Arc`.
unsafe impl Schedule for BlockingPool {
    fn schedule_local(&self, task: Runnable<Meta>, _yielded: bool) -> Result<(), Runnable<Meta>> {
        Err(task)
    }

    fn schedule_remote(self: Arc<Self>, task: Runnable<Meta>) {
        self.schedule(task);
    }

    fn registry(&self) -> &Registry {
        &self.registry
    }

    /// A job's handle joined from any thread (a worker too: a job never waits for the
    /// thread that joins it) waits for the job to end.
    fn block_until(
        self: Arc<Self>,
        done: &mut dyn FnMut(&mut Context<'_>) -> bool,
    ) -> Option<&'static str> {
        crate::wait::park_until(done);
        None
    }
}
