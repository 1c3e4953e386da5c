//! `Scheduler`: the handle to one engine, through which `runtime` does everything.

use std::future::Future;
use std::panic::Location;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::callback::{Callback, CallbackHandle};
use crate::driver::{self, ParkBackend, TimerEntry};
use crate::metrics::{RuntimeMetrics, WorkerMetrics};
use crate::single::{self, LoopItem};
use crate::task::{self, JoinError, JoinHandle, Schedule, TaskRef};
use crate::threads;
use crate::time::ClockKind;
use crate::Config;

/// A cloneable, `Send + Sync` handle to one running engine.
///
/// ```
/// let (sched, backend) = modes::Scheduler::single(&modes::Config::default());
/// println!("parking on {backend}");
/// let h = sched.spawn(async { "hello" });
/// assert_eq!(sched.block_on(h).unwrap(), "hello");
/// ```
#[derive(Clone)]
pub struct Scheduler(pub(crate) Engine);

#[derive(Clone)]
pub(crate) enum Engine {
    Single(Arc<single::Shared>),
    Threads(Arc<threads::Shared>),
}

impl Scheduler {
    /// Builds a `Single` loop. Returns it with the park backend that was chosen.
    ///
    /// ```
    /// let (sched, backend) = modes::Scheduler::single(&modes::Config::default());
    /// assert_eq!(backend, sched.park_backend());
    /// let h = sched.spawn(async { std::thread::current().id() });
    /// // No threads of its own: the loop runs on the thread that calls `block_on`.
    /// assert_eq!(sched.block_on(h).unwrap(), std::thread::current().id());
    /// ```
    pub fn single(cfg: &Config) -> (Scheduler, ParkBackend) {
        let shared = single::Shared::new(cfg);
        let backend = shared.backend.clone();
        (Scheduler(Engine::Single(shared)), backend)
    }

    /// Builds a `Threads` pool and starts its workers.
    ///
    /// ```
    /// let cfg = modes::Config { workers: 2, ..Default::default() };
    /// let (sched, _) = modes::Scheduler::threads(&cfg).unwrap();
    /// let h = sched.spawn(async { std::thread::current().name().map(String::from) });
    /// assert!(sched.block_on(h).unwrap().unwrap().starts_with("runtime-worker-"));
    /// sched.shutdown();
    /// ```
    pub fn threads(cfg: &Config) -> Result<(Scheduler, ParkBackend), String> {
        check_workers(cfg)?;
        let shared = threads::Shared::start(cfg)?;
        let backend = shared.backend.clone();
        Ok((Scheduler(Engine::Threads(shared)), backend))
    }

    /// Builds a `Processes` runtime: forks the fork server first (before anything else of
    /// the pool, or of the loop, exists), starts `cfg.workers` worker processes, then
    /// builds the parent's `Single` loop. Everything but [`submit_job`](Self::submit_job)
    /// behaves as in `Single`. See [`procs`](crate::procs) for the protocol.
    ///
    /// ```
    /// let cfg = modes::Config { workers: 2, label: "processes", ..Default::default() };
    /// let (sched, _backend) = modes::Scheduler::processes(&cfg).unwrap();
    /// let h = sched.spawn(async { std::process::id() }); // tasks run in this process
    /// assert_eq!(sched.block_on(h).unwrap(), std::process::id());
    /// sched.shutdown(); // kills and reaps the workers and the fork server
    /// ```
    pub fn processes(cfg: &Config) -> Result<(Scheduler, ParkBackend), String> {
        check_workers(cfg)?;
        let pool = crate::procs::Pool::start(cfg)?;
        let shared = single::Shared::with_pool(cfg, Some(pool));
        let backend = shared.backend.clone();
        Ok((Scheduler(Engine::Single(shared)), backend))
    }

    /// Sends `job` to a worker process and returns the handle of an ordinary loop task
    /// that awaits it: its outcome is `decode(result bytes)`, or a panic with the job's
    /// panic message, or a failure (`JoinError::failed`: a worker that died, a payload
    /// that did not cross, `decode` returning `Err`). Cancelling the handle while the job
    /// is queued skips it. `None` if this scheduler has no process pool (not
    /// `Processes` mode).
    ///
    /// ```
    /// use modes::procs::{Job, JobOutput, Trampoline};
    /// /// Safety: `func` is ignored.
    /// unsafe fn pid(_func: usize, _payload: &[u8]) -> JobOutput {
    ///     JobOutput::Ok(std::process::id().to_le_bytes().to_vec())
    /// }
    /// let cfg = modes::Config { workers: 1, label: "processes", ..Default::default() };
    /// let (sched, _) = modes::Scheduler::processes(&cfg).unwrap();
    /// let job = Job { trampoline: Trampoline::Sync(pid), func: 0, payload: Vec::new() };
    /// let h = sched
    ///     .submit_job(job, |b| Ok(u32::from_le_bytes(b[..4].try_into().unwrap())))
    ///     .unwrap();
    /// assert_ne!(h.join().unwrap(), std::process::id()); // it ran in a worker process
    /// sched.shutdown();
    /// ```
    #[track_caller]
    pub fn submit_job<T, D>(&self, job: crate::procs::Job, decode: D) -> Option<JoinHandle<T>>
    where
        T: Send + 'static,
        D: FnOnce(Vec<u8>) -> Result<T, String> + Send + 'static,
    {
        let Engine::Single(s) = &self.0 else {
            return None;
        };
        let pool = s.procs.as_ref()?;
        let (done, result) = pool.reply_channel();
        let fut = async move {
            match result.await {
                crate::procs::JobOutput::Ok(bytes) => match decode(bytes) {
                    Ok(v) => v,
                    Err(reason) => JoinError::failed(task::TaskId(0), reason).resume(),
                },
                crate::procs::JobOutput::Panicked(msg) => std::panic::resume_unwind(Box::new(msg)),
                crate::procs::JobOutput::Failed(reason) => {
                    JoinError::failed(task::TaskId(0), reason).resume()
                }
            }
        };
        let handle = task::spawn(
            self.task_scheduler(),
            fut,
            Some("submit".into()),
            Location::caller(),
        );
        pool.submit(job, done, handle.task_ref());
        Some(handle)
    }

    /// The engine as the task core sees it: what every task spawned here keeps in its
    /// `Meta`.
    fn task_scheduler(&self) -> Arc<dyn Schedule> {
        match &self.0 {
            Engine::Single(s) => s.clone(),
            Engine::Threads(s) => s.clone(),
        }
    }

    /// The driver whose clock and timers this thread's calls use: the loop's, or in a
    /// pool this worker's (worker 0's from another thread).
    pub(crate) fn driver(&self) -> &driver::Handle {
        match &self.0 {
            Engine::Single(s) => &s.driver,
            Engine::Threads(s) => threads::current_driver(s),
        }
    }

    /// Spawns a task (asyncio's `create_task`).
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let h = sched.spawn(async { 2 + 2 });
    /// assert_eq!(h.join().unwrap(), 4);
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        task::spawn(self.task_scheduler(), fut, None, Location::caller())
    }

    /// Spawns a task recording `spawned_at` as its spawn site (for callers that forward
    /// their own `#[track_caller]` location through a closure).
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let h = sched.spawn_at(async { 1 }, Some("one"), std::panic::Location::caller());
    /// assert_eq!(sched.block_on(h).unwrap(), 1);
    /// ```
    pub fn spawn_at<F>(
        &self,
        fut: F,
        name: Option<&str>,
        spawned_at: &'static Location<'static>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        task::spawn(self.task_scheduler(), fut, name.map(Into::into), spawned_at)
    }

    /// Spawns a named task (asyncio's `create_task(coro, name=...)`).
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let h = sched.spawn_named("fetch", async {});
    /// assert_eq!(h.name(), Some("fetch"));
    /// # sched.shutdown();
    /// ```
    #[track_caller]
    pub fn spawn_named<F>(&self, name: &str, fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        task::spawn(
            self.task_scheduler(),
            fut,
            Some(name.into()),
            Location::caller(),
        )
    }

    /// Runs blocking `f` on the blocking pool (asyncio's `run_in_executor(None, f)`).
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let h = sched.spawn_blocking(|| std::thread::current().name().map(String::from));
    /// assert_eq!(h.join().unwrap().as_deref(), Some("runtime-blocking"));
    /// ```
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        match &self.0 {
            Engine::Single(s) => s.blocking.spawn(self.clone(), f, Location::caller()),
            Engine::Threads(s) => s.blocking.spawn(self.clone(), f, Location::caller()),
        }
    }

    /// Runs the loop on this thread until `fut` completes (`run_until_complete`).
    ///
    /// # Panics
    /// If called from inside this runtime's own loop (it would wait for itself).
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// assert_eq!(sched.block_on(async { 66 }), 66);
    /// ```
    pub fn block_on<F: std::future::IntoFuture>(&self, fut: F) -> F::Output {
        let fut = fut.into_future();
        match &self.0 {
            Engine::Single(s) => s.block_on(self.clone(), fut),
            Engine::Threads(s) => s.block_on(self.clone(), fut),
        }
    }

    /// Runs the loop until [`stop`](Scheduler::stop) is called (asyncio's
    /// `run_forever`). Returns `false` at once if called from inside the loop.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let s = sched.clone();
    /// sched.call_soon(Box::new(move || s.stop()));
    /// assert!(sched.run_forever());
    /// ```
    pub fn run_forever(&self) -> bool {
        match &self.0 {
            Engine::Single(s) => s.run_forever(self.clone()),
            Engine::Threads(s) => s.run_forever(),
        }
    }

    /// Makes `run_forever` return after the current iteration (asyncio's `loop.stop()`).
    /// Callable from any thread, a callback or a task.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// sched.stop(); // before run_forever: it runs one iteration, then returns
    /// assert!(sched.run_forever());
    /// ```
    pub fn stop(&self) {
        match &self.0 {
            Engine::Single(s) => s.stop(),
            Engine::Threads(s) => s.stop(),
        }
    }

    /// Queues `f` to run on the loop in the next iteration, FIFO with other callbacks and
    /// ready tasks (asyncio's `call_soon`; from another thread, `call_soon_threadsafe`).
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let s = sched.clone();
    /// sched.call_soon(Box::new(move || s.stop()));
    /// sched.run_forever();
    /// ```
    pub fn call_soon(&self, f: Box<dyn FnOnce() + Send>) -> CallbackHandle {
        let cb = Callback::new(f);
        match &self.0 {
            Engine::Single(s) => s.push(LoopItem::Call(cb.clone())),
            Engine::Threads(_) => {
                let c = cb.clone();
                self.spawn_named("call_soon", async move { c.run() });
            }
        }
        CallbackHandle::new(cb, None)
    }

    /// Runs `f` on the loop once `delay` has passed on its clock (asyncio's `call_later`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::virtual_clock());
    /// let s = sched.clone();
    /// sched.call_later(Duration::from_secs(2), Box::new(move || s.stop()));
    /// let t0 = sched.now();
    /// sched.run_forever();
    /// assert_eq!(sched.now() - t0, Duration::from_secs(2));
    /// ```
    pub fn call_later(&self, delay: Duration, f: Box<dyn FnOnce() + Send>) -> CallbackHandle {
        self.call_at(self.now() + delay, f)
    }

    /// Runs `f` on the loop when its clock reaches `when` (asyncio's `call_at`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::virtual_clock());
    /// let s = sched.clone();
    /// let when = sched.now() + Duration::from_secs(3);
    /// let h = sched.call_at(when, Box::new(move || s.stop()));
    /// assert_eq!(h.when(), Some(when));
    /// sched.run_forever();
    /// assert_eq!(sched.now(), when);
    /// ```
    pub fn call_at(&self, when: Instant, f: Box<dyn FnOnce() + Send>) -> CallbackHandle {
        let cb = Callback::new(f);
        let driver = self.driver().clone();
        let key = driver.insert(when, TimerEntry::Call(cb.clone()));
        CallbackHandle::new(cb, Some((driver, key)))
    }

    /// The loop's clock now (asyncio's `loop.time()`, as an `Instant`).
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// assert!(sched.now() <= std::time::Instant::now());
    /// ```
    pub fn now(&self) -> Instant {
        self.driver().clock.now()
    }

    /// Which clock the loop reads.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::virtual_clock());
    /// assert_eq!(sched.clock(), modes::ClockKind::Virtual);
    /// ```
    pub fn clock(&self) -> ClockKind {
        self.driver().clock.kind()
    }

    /// Every live task, loop tasks first, then blocking-pool jobs, each by id.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let _h = sched.spawn_named("waiter", std::future::pending::<()>());
    /// let names: Vec<_> = sched.all_tasks().iter().map(|t| t.name().map(String::from)).collect();
    /// assert_eq!(names, vec![Some("waiter".to_string())]);
    /// sched.shutdown();
    /// ```
    pub fn all_tasks(&self) -> Vec<TaskRef> {
        match &self.0 {
            Engine::Single(s) => {
                let mut v = s.registry.snapshot();
                v.extend(s.blocking.registry.snapshot());
                v
            }
            Engine::Threads(s) => {
                let mut v = s.registry.snapshot();
                v.extend(s.blocking.registry.snapshot());
                v
            }
        }
    }

    /// How the loop parks: io_uring, or the plain park and why.
    ///
    /// ```
    /// let cfg = modes::Config { io_uring: false, ..Default::default() };
    /// let (sched, _) = modes::Scheduler::single(&cfg);
    /// assert!(matches!(sched.park_backend(), modes::ParkBackend::Plain { .. }));
    /// ```
    pub fn park_backend(&self) -> ParkBackend {
        match &self.0 {
            Engine::Single(s) => s.backend.clone(),
            Engine::Threads(s) => s.backend.clone(),
        }
    }

    /// Which I/O backend this runtime's I/O objects use: io_uring (on the same rings the
    /// loops park on), or the readiness fallback and why.
    ///
    /// ```
    /// let (sched, park) = modes::Scheduler::single(&modes::Config::default());
    /// match sched.io_backend() {
    ///     modes::io::IoBackend::IoUring => assert_eq!(park, modes::ParkBackend::IoUring),
    ///     modes::io::IoBackend::Readiness { reason } => println!("readiness I/O: {reason}"),
    /// }
    /// ```
    pub fn io_backend(&self) -> crate::io::IoBackend {
        crate::io::IoBackend::from_park(&self.park_backend())
    }

    /// The drivers of this runtime's loops (one per `Threads` worker), for threads that
    /// run none of them (`io` submits to their rings, `time` uses the first).
    pub(crate) fn drivers(&self) -> &[driver::Handle] {
        match &self.0 {
            Engine::Single(s) => std::slice::from_ref(&s.driver),
            Engine::Threads(s) => &s.drivers,
        }
    }

    /// The mode name given in [`Config::label`].
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// assert_eq!(sched.label(), "single");
    /// ```
    pub fn label(&self) -> &'static str {
        match &self.0 {
            Engine::Single(s) => s.label,
            Engine::Threads(s) => s.label,
        }
    }

    /// `true` if this thread is running this scheduler's loop right now.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// assert!(!sched.in_loop_thread());
    /// let s = sched.clone();
    /// assert!(sched.block_on(async move { s.in_loop_thread() }));
    /// ```
    pub fn in_loop_thread(&self) -> bool {
        match &self.0 {
            Engine::Single(s) => s.is_loop_thread(),
            Engine::Threads(s) => threads::is_worker_of(s),
        }
    }

    /// Cancels every task and drops each pending future exactly once, on this thread;
    /// queued blocking jobs are cancelled, running ones are not waited for. Further
    /// spawns are cancelled at once. Idempotent.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let h = sched.spawn(std::future::pending::<()>());
    /// sched.shutdown();
    /// assert!(h.join().unwrap_err().is_cancelled());
    /// ```
    pub fn shutdown(&self) {
        self.shutdown_inner(Duration::from_secs(10), Duration::ZERO);
    }

    /// Like [`shutdown`](Scheduler::shutdown), but waits at most `timeout` for workers
    /// busy in a long poll and for blocking jobs already running; returns how many tasks
    /// (blocking jobs included) were left behind, and lists them on stderr.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (sched, _) = modes::Scheduler::threads(&modes::Config { workers: 2, ..Default::default() }).unwrap();
    /// let _h = sched.spawn(std::future::pending::<()>());
    /// let _b = sched.spawn_blocking(|| std::thread::sleep(Duration::from_secs(5)));
    /// std::thread::sleep(Duration::from_millis(50)); // let the blocking job start
    /// assert_eq!(sched.shutdown_timeout(Duration::from_millis(100)), 1); // the sleeper
    /// ```
    pub fn shutdown_timeout(&self, timeout: Duration) -> usize {
        self.shutdown_inner(timeout, timeout)
    }

    fn shutdown_inner(&self, workers: Duration, blocking: Duration) -> usize {
        let deadline = std::time::Instant::now() + blocking;
        let (left, pool) = match &self.0 {
            Engine::Single(s) => {
                s.shutdown(self.clone());
                (0, &s.blocking)
            }
            Engine::Threads(s) => (s.shutdown(workers), &s.blocking),
        };
        // Blocking jobs already running cannot be cancelled: wait for them until the
        // deadline (none on drop), then say what is left behind.
        while pool.in_flight.load(std::sync::atomic::Ordering::Acquire) > 0
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        let running = pool.registry.snapshot();
        if !running.is_empty() && !blocking.is_zero() {
            eprintln!(
                "runtime: shutdown left {} blocking job(s) running: {}",
                running.len(),
                running
                    .iter()
                    .map(|t| format!("{} (spawned at {})", t.id(), t.spawned_at()))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        left + running.len()
    }

    /// A snapshot of the runtime's metrics: per-worker polls, steals, parks, wakes from
    /// other threads, queue depths and busy time.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::threads(&modes::Config { workers: 2, ..Default::default() }).unwrap();
    /// sched.block_on(sched.spawn(async {})).unwrap();
    /// assert_eq!(sched.metrics().workers.len(), 2);
    /// sched.shutdown();
    /// ```
    pub fn metrics(&self) -> RuntimeMetrics {
        match &self.0 {
            Engine::Single(s) => RuntimeMetrics {
                workers: vec![WorkerMetrics {
                    io_homes: s.driver.ring().map_or(0, |r| r.homes()),
                    ..s.stats.snapshot(0)
                }],
                injector_depth: s.injector_len(),
                live_tasks: s.registry.len() + s.blocking.registry.len(),
                blocking_in_flight: s
                    .blocking
                    .in_flight
                    .load(std::sync::atomic::Ordering::Relaxed),
                gil: None,
                processes: s.procs.as_ref().map(|p| p.metrics()),
            },
            Engine::Threads(s) => RuntimeMetrics {
                workers: s
                    .stats
                    .iter()
                    .enumerate()
                    .map(|(i, w)| WorkerMetrics {
                        io_homes: s
                            .drivers
                            .get(i)
                            .and_then(|d| d.ring())
                            .map_or(0, |r| r.homes()),
                        ..w.snapshot(i)
                    })
                    .collect(),
                injector_depth: s.injector.len(),
                live_tasks: s.registry.len() + s.blocking.registry.len(),
                blocking_in_flight: s
                    .blocking
                    .in_flight
                    .load(std::sync::atomic::Ordering::Relaxed),
                gil: s.gil.as_ref().map(|g| g.metrics()),
                processes: None,
            },
        }
    }
}

/// Refuses a worker count no machine can run, before anything is started.
fn check_workers(cfg: &Config) -> Result<(), String> {
    if cfg.workers > crate::MAX_WORKERS {
        return Err(format!(
            "invalid worker count {}: at most {} workers",
            cfg.workers,
            crate::MAX_WORKERS
        ));
    }
    Ok(())
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Engine::Single(s) => match &s.procs {
                Some(p) => write!(f, "Scheduler(Processes x{})", p.metrics().workers.len()),
                None => f.write_str("Scheduler(Single)"),
            },
            Engine::Threads(s) => write!(f, "Scheduler(Threads x{})", s.num_workers()),
        }
    }
}
