//! `Runtime::builder()`: choose a mode, a worker count and a clock, then `build()`.

use std::fmt;
use std::time::Duration;

use crate::Runtime;

/// Which engine runs the work. The same program runs under each; what changes is where.
///
/// | mode | what runs where | like |
/// |---|---|---|
/// | `Single` | one thread, one event loop | asyncio |
/// | `Threads` | a work-stealing pool of worker threads | a thread pool without a GIL |
/// | `Gil` | `Threads`, but one global lock around everything that runs | CPython threads |
/// | `Processes` | the parent's loop, and `submit`ted work in forked worker processes | `ProcessPoolExecutor` |
///
/// ```
/// use runtime::Mode;
/// assert_eq!("threads".parse::<Mode>().unwrap(), Mode::Threads);
/// assert_eq!(Mode::Single.to_string(), "single");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Mode {
    /// One thread runs one event loop: concurrency without parallelism.
    #[default]
    Single,
    /// Worker threads with local queues and stealing: concurrency and parallelism.
    Threads,
    /// Forked worker processes for `submit`ted work; the parent runs a `Single` loop.
    Processes,
    /// `Threads` behind one global lock, like CPython's GIL.
    Gil,
}

impl Mode {
    /// Every mode, in the order the benchmark reports them.
    ///
    /// ```
    /// use runtime::Mode;
    /// let names: Vec<String> = Mode::ALL.iter().map(|m| m.to_string()).collect();
    /// assert_eq!(names, ["single", "threads", "processes", "gil"]);
    /// assert!(Mode::ALL.iter().all(|m| m.name().parse::<Mode>() == Ok(*m))); // round-trips
    /// ```
    pub const ALL: [Mode; 4] = [Mode::Single, Mode::Threads, Mode::Processes, Mode::Gil];

    /// The lowercase name used on the command line.
    ///
    /// ```
    /// assert_eq!(runtime::Mode::Gil.name(), "gil");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Mode::Single => "single",
            Mode::Threads => "threads",
            Mode::Processes => "processes",
            Mode::Gil => "gil",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Mode, String> {
        Mode::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown mode {s:?}: expected single, threads, processes or gil")
            })
    }
}

/// Which clock the runtime reads.
///
/// ```
/// use runtime::{Clock, Mode, Runtime};
/// let rt = Runtime::builder().mode(Mode::Single).clock(Clock::Virtual).build().unwrap();
/// let t0 = rt.time();
/// rt.block_on(runtime::sleep(std::time::Duration::from_secs(1500)));
/// assert_eq!(rt.time() - t0, std::time::Duration::from_secs(1500)); // instantly
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Clock {
    /// The monotonic system clock.
    #[default]
    Real,
    /// Time stands still while anything can run, and jumps to the next timer when every
    /// task is idle: sleeps cost no real time and runs are deterministic. `Single`, and
    /// the parent's loop in `Processes` (time does not move while a job is in a worker).
    Virtual,
}

/// Why `build()` refused.
///
/// ```
/// let err = runtime::Runtime::builder().workers(0).build().unwrap_err();
/// assert!(err.to_string().contains("worker count"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// `workers(n)` with `n` 0 or above [`MAX_WORKERS`](crate::MAX_WORKERS): a pool needs
    /// at least one worker, and each worker is an OS thread or process.
    InvalidWorkers(usize),
    /// The operating system refused a resource the runtime needs (a thread, a socket, a
    /// process); the message says which.
    Os(String),
    /// The chosen clock does not exist in this mode.
    ClockNotSupported {
        /// The mode asked for.
        mode: Mode,
        /// The clock asked for.
        clock: Clock,
    },
    /// Another setting is out of range; the message says which.
    Invalid(String),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::InvalidWorkers(n) => {
                write!(
                    f,
                    "invalid worker count {n}: a runtime needs 1 to {} workers",
                    modes::MAX_WORKERS
                )
            }
            BuildError::ClockNotSupported { mode, clock } => {
                write!(f, "the {clock:?} clock is not supported in mode {mode}")
            }
            BuildError::Invalid(msg) | BuildError::Os(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for BuildError {}

/// Configures and builds a [`Runtime`].
///
/// ```
/// use runtime::{Clock, Mode, Runtime};
/// let rt = Runtime::builder()
///     .mode(Mode::Single)
///     .clock(Clock::Real)
///     .build()
///     .expect("a valid configuration");
/// assert_eq!(rt.mode(), Mode::Single);
/// ```
#[derive(Clone, Debug)]
pub struct Builder {
    mode: Mode,
    workers: Option<usize>,
    clock: Clock,
    io_uring: Option<bool>,
    blocking_threads: usize,
    blocking_keep_alive: Duration,
    pin_workers: bool,
    long_poll: Option<Duration>,
    switch_interval: Duration,
    max_jobs_per_worker: Option<u64>,
    worker_initializer: Option<fn()>,
    max_async_jobs_per_worker: usize,
}

/// Environment variable that, set to `0`, makes every runtime use the plain park instead
/// of io_uring (the same as `Builder::io_uring(false)`).
///
/// ```
/// assert_eq!(runtime::IO_URING_ENV, "RUNTIME_IO_URING");
/// std::env::set_var(runtime::IO_URING_ENV, "0"); // as `RUNTIME_IO_URING=0 ./program`
/// let rt = runtime::Runtime::builder().build().unwrap();
/// assert!(rt.park_backend().to_string().starts_with("plain park"));
/// ```
pub const IO_URING_ENV: &str = "RUNTIME_IO_URING";

impl Builder {
    pub(crate) fn new() -> Builder {
        Builder {
            mode: Mode::Single,
            workers: None,
            clock: Clock::Real,
            io_uring: None,
            blocking_threads: 512,
            blocking_keep_alive: Duration::from_secs(10),
            pin_workers: false,
            long_poll: Some(Duration::from_millis(100)),
            switch_interval: Duration::from_millis(5),
            max_jobs_per_worker: None,
            worker_initializer: None,
            max_async_jobs_per_worker: 64,
        }
    }

    /// The engine (default `Single`).
    ///
    /// ```
    /// let b = runtime::Runtime::builder().mode(runtime::Mode::Single);
    /// assert!(b.build().is_ok());
    /// ```
    pub fn mode(mut self, mode: Mode) -> Builder {
        self.mode = mode;
        self
    }

    /// Worker threads or processes for the pool modes (default: the number of CPUs).
    /// `Single` ignores it beyond validation. Zero, or more than
    /// [`MAX_WORKERS`](crate::MAX_WORKERS), is a [`BuildError::InvalidWorkers`], refused
    /// before anything (a thread, a process) is started.
    ///
    /// ```
    /// use runtime::{BuildError, Mode, Runtime, MAX_WORKERS};
    /// assert!(Runtime::builder().workers(2).build().is_ok());
    /// assert!(Runtime::builder().workers(0).build().is_err());
    /// let too_many = Runtime::builder().mode(Mode::Processes).workers(MAX_WORKERS + 1).build();
    /// assert_eq!(too_many.unwrap_err(), BuildError::InvalidWorkers(MAX_WORKERS + 1));
    /// ```
    pub fn workers(mut self, n: usize) -> Builder {
        self.workers = Some(n);
        self
    }

    /// The clock (default `Real`).
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().clock(runtime::Clock::Virtual).build().unwrap();
    /// assert_eq!(rt.clock(), runtime::Clock::Virtual);
    /// ```
    pub fn clock(mut self, clock: Clock) -> Builder {
        self.clock = clock;
        self
    }

    /// Park and do I/O on io_uring when the kernel allows it (default: yes, unless the
    /// environment variable `RUNTIME_IO_URING=0`). Without it (refused by the kernel, or
    /// `false` here) the runtime parks on a condvar and does I/O on the readiness
    /// fallback (epoll for sockets, the blocking pool for files), with the same API;
    /// [`Runtime::park_backend`] and [`Runtime::io_backend`] say which and why.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().io_uring(false).build().unwrap();
    /// assert!(rt.park_backend().to_string().starts_with("plain park"));
    /// assert!(rt.io_backend().to_string().starts_with("readiness"));
    /// ```
    pub fn io_uring(mut self, enabled: bool) -> Builder {
        self.io_uring = Some(enabled);
        self
    }

    /// Upper bound on `spawn_blocking` threads (default 512).
    ///
    /// ```
    /// assert!(runtime::Runtime::builder().max_blocking_threads(0).build().is_err());
    /// ```
    pub fn max_blocking_threads(mut self, n: usize) -> Builder {
        self.blocking_threads = n;
        self
    }

    /// How long an idle blocking thread waits for work before it exits (default 10 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// assert!(runtime::Runtime::builder().blocking_keep_alive(Duration::from_secs(1)).build().is_ok());
    /// ```
    pub fn blocking_keep_alive(mut self, d: Duration) -> Builder {
        self.blocking_keep_alive = d;
        self
    }

    /// Pins worker i to core i (pool modes), for steadier switch-cost measurements.
    /// Default off. Has no effect in `Single`.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().mode(runtime::Mode::Threads).workers(2)
    ///     .pin_workers(true).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn pin_workers(mut self, pin: bool) -> Builder {
        self.pin_workers = pin;
        self
    }

    /// Reports any poll that runs longer than `threshold` without yielding, with the
    /// task's name and where it was spawned (default 100 ms, asyncio's
    /// `slow_callback_duration`), loop callbacks included; `None` turns the detector off.
    /// Every mode (in `Processes`, the parent's loop).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = runtime::Runtime::builder().mode(runtime::Mode::Threads).workers(1)
    ///     .long_poll_threshold(Some(Duration::from_millis(20))).build().unwrap();
    /// rt.block_on(rt.spawn_named("hog", async { std::thread::sleep(Duration::from_millis(100)) })).unwrap();
    /// assert!(rt.metrics().workers[0].long_polls >= 1);
    /// ```
    pub fn long_poll_threshold(mut self, threshold: Option<Duration>) -> Builder {
        self.long_poll = threshold;
        self
    }

    /// `Gil` mode: how long a thread waiting for the GIL lets the holder run before it
    /// asks it to drop the lock at its next `gil::checkpoint()` (CPython's
    /// `sys.setswitchinterval`; default 5 ms). Zero is a [`BuildError::Invalid`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = runtime::Runtime::builder().mode(runtime::Mode::Gil).workers(2)
    ///     .switch_interval(Duration::from_micros(100)).build().unwrap();
    /// assert_eq!(rt.metrics().gil.unwrap().switch_interval, Duration::from_micros(100));
    /// ```
    pub fn switch_interval(mut self, d: Duration) -> Builder {
        self.switch_interval = d;
        self
    }

    /// `Processes` mode: a worker process exits after `n` jobs and a fresh one replaces it
    /// (concurrent.futures' `max_tasks_per_child`; default: workers live as long as the
    /// runtime). Zero is a [`BuildError::Invalid`]. Ignored by the other modes.
    ///
    /// ```
    /// fn pid(_: ()) -> u32 { std::process::id() }
    /// let rt = runtime::Runtime::builder().mode(runtime::Mode::Processes).workers(1)
    ///     .max_jobs_per_worker(1).build().unwrap();
    /// let a = rt.submit(pid, ()).join().unwrap();
    /// let b = rt.submit(pid, ()).join().unwrap();
    /// assert_ne!(a, b); // one job per process
    /// ```
    pub fn max_jobs_per_worker(mut self, n: u64) -> Builder {
        self.max_jobs_per_worker = Some(n);
        self
    }

    /// `Processes` mode: runs `init` once in each worker process when it starts, before
    /// its first job (concurrent.futures' `initializer`). Statics set before `build()`
    /// are visible to it (workers are forks of this process as it was then). If it
    /// panics, the pool is broken: every job fails with the panic message. Ignored by the
    /// other modes.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// static READY: AtomicU32 = AtomicU32::new(0);
    /// fn init() { READY.store(1, Ordering::SeqCst) } // in the worker's memory
    /// fn ready(_: ()) -> u32 { READY.load(Ordering::SeqCst) }
    /// let rt = runtime::Runtime::builder().mode(runtime::Mode::Processes).workers(1)
    ///     .worker_initializer(init).build().unwrap();
    /// assert_eq!(rt.submit(ready, ()).join().unwrap(), 1); // the worker ran init
    /// assert_eq!(READY.load(Ordering::SeqCst), 0); // this process did not
    /// ```
    pub fn worker_initializer(mut self, init: fn()) -> Builder {
        self.worker_initializer = Some(init);
        self
    }

    /// `Processes` mode: how many `submit_async` jobs one worker runs at once on its loop
    /// (default 64; sync jobs always run one at a time). Zero is a
    /// [`BuildError::Invalid`]. Ignored by the other modes.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().mode(runtime::Mode::Processes).workers(1)
    ///     .max_async_jobs_per_worker(8).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn max_async_jobs_per_worker(mut self, n: usize) -> Builder {
        self.max_async_jobs_per_worker = n;
        self
    }

    /// Validates the settings and starts the runtime.
    ///
    /// ```
    /// let err = runtime::Runtime::builder().mode(runtime::Mode::Single).workers(0).build();
    /// assert!(matches!(err, Err(runtime::BuildError::InvalidWorkers(0))));
    /// ```
    pub fn build(self) -> Result<Runtime, BuildError> {
        if let Some(n) = self.workers.filter(|&n| n == 0 || n > modes::MAX_WORKERS) {
            return Err(BuildError::InvalidWorkers(n));
        }
        if self.blocking_threads == 0 {
            return Err(BuildError::Invalid(
                "invalid max_blocking_threads 0: the blocking pool needs at least 1 thread".into(),
            ));
        }
        if self.switch_interval.is_zero() {
            return Err(BuildError::Invalid(
                "invalid switch_interval 0: the GIL needs a positive switch interval".into(),
            ));
        }
        if self.max_jobs_per_worker == Some(0) {
            return Err(BuildError::Invalid(
                "invalid max_jobs_per_worker 0: a worker process must run at least 1 job".into(),
            ));
        }
        if self.max_async_jobs_per_worker == 0 {
            return Err(BuildError::Invalid(
                "invalid max_async_jobs_per_worker 0: a worker process must run at least 1 async job".into(),
            ));
        }
        if !matches!(self.mode, Mode::Single | Mode::Processes) && self.clock == Clock::Virtual {
            return Err(BuildError::ClockNotSupported {
                mode: self.mode,
                clock: self.clock,
            });
        }
        if self.long_poll.is_some_and(|d| d.is_zero()) {
            return Err(BuildError::Invalid(
                "invalid long_poll_threshold 0: use None to turn the detector off".into(),
            ));
        }
        let io_uring = self.io_uring.unwrap_or_else(|| {
            std::env::var(IO_URING_ENV)
                .map(|v| v != "0")
                .unwrap_or(true)
        });
        let cfg = modes::Config {
            workers: self
                .workers
                .unwrap_or_else(|| modes::Config::default().workers),
            clock: match self.clock {
                Clock::Real => modes::ClockKind::Real,
                Clock::Virtual => modes::ClockKind::Virtual,
            },
            io_uring,
            blocking_threads: self.blocking_threads,
            blocking_keep_alive: self.blocking_keep_alive,
            pin_workers: self.pin_workers,
            gil: (self.mode == Mode::Gil).then_some(self.switch_interval),
            long_poll_threshold: self.long_poll,
            label: self.mode.name(),
            processes: modes::ProcessConfig {
                max_jobs_per_worker: self.max_jobs_per_worker,
                initializer: self.worker_initializer,
                max_async_jobs_per_worker: self.max_async_jobs_per_worker,
            },
        };
        let sched = match self.mode {
            Mode::Single => modes::Scheduler::single(&cfg).0,
            Mode::Processes => modes::Scheduler::processes(&cfg).map_err(BuildError::Os)?.0,
            Mode::Threads | Mode::Gil => modes::Scheduler::threads(&cfg).map_err(BuildError::Os)?.0,
        };
        Ok(Runtime::from_parts(
            self.mode,
            self.clock,
            cfg.workers,
            sched,
        ))
    }
}
