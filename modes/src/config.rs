//! What a scheduler is built from.

use std::time::Duration;

use crate::time::ClockKind;

/// The most workers (threads, or processes in `Processes`) a runtime may have.
///
/// A bound on what a count can mean, not a promise that every machine starts that many:
/// 1,024 threads reserve about 2 GiB of stack (2 MiB each, committed only as used), and a
/// `Processes` pool keeps a few descriptors per worker, so near the bound the open-file
/// limit (`ulimit -n`, often 1,024) or `RLIMIT_NPROC` may refuse first; that is then a
/// clear [`BuildError`](../runtime/enum.BuildError.html)-style error with nothing left
/// behind, not a crash. Beyond the bound a count is almost certainly a mistake (a stray
/// `usize::MAX` used to abort the process on allocation), and oversubscription
/// experiments reach their plateau long before. The default count (the number of CPUs)
/// is clamped to it.
///
/// ```
/// assert_eq!(modes::MAX_WORKERS, 1024);
/// let cfg = modes::Config { workers: modes::MAX_WORKERS + 1, ..Default::default() };
/// assert!(modes::Scheduler::threads(&cfg).is_err());
/// ```
pub const MAX_WORKERS: usize = 1024;

/// Settings shared by every mode. The `runtime` crate's `Builder` validates them and
/// fills this in; `modes` trusts it.
///
/// ```
/// let cfg = modes::Config { io_uring: false, ..modes::Config::default() };
/// let (sched, backend) = modes::Scheduler::single(&cfg);
/// assert_eq!(backend.to_string(), "plain park (io_uring disabled by configuration)");
/// assert_eq!(sched.block_on(async { 1 + 1 }), 2);
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    /// Worker threads (pool modes) or processes (`Processes`).
    pub workers: usize,
    /// Real or virtual clock.
    pub clock: ClockKind,
    /// Park on io_uring when the kernel allows it (else, or if `false`, a plain park).
    pub io_uring: bool,
    /// Upper bound on blocking-pool threads.
    pub blocking_threads: usize,
    /// How long an idle blocking-pool thread waits for work before it exits.
    pub blocking_keep_alive: Duration,
    /// Pin worker i to core i (pool modes).
    pub pin_workers: bool,
    /// Report polls longer than this (pool modes); `None` turns the detector off.
    pub long_poll_threshold: Option<Duration>,
    /// `Some(switch interval)`: run the pool under one global lock (`Gil` mode).
    pub gil: Option<Duration>,
    /// The mode's name, as the `runtime` crate calls it (reported by
    /// `Scheduler::label`).
    pub label: &'static str,
    /// `Processes`: the worker-process pool's settings (ignored by the other modes).
    pub processes: ProcessConfig,
}

/// Settings of the worker-process pool of `Processes` mode (`Scheduler::processes`).
///
/// ```
/// fn setup() {} // runs once in each worker process, before its first job
/// let cfg = modes::Config {
///     workers: 1,
///     label: "processes",
///     processes: modes::ProcessConfig {
///         max_jobs_per_worker: Some(100),
///         initializer: Some(setup),
///         ..Default::default()
///     },
///     ..Default::default()
/// };
/// let (sched, _) = modes::Scheduler::processes(&cfg).unwrap();
/// sched.shutdown();
/// ```
#[derive(Clone, Debug)]
pub struct ProcessConfig {
    /// A worker exits after this many jobs and is replaced by a fresh process (`None`:
    /// workers live as long as the pool). concurrent.futures' `max_tasks_per_child`.
    pub max_jobs_per_worker: Option<u64>,
    /// Runs once in each worker process when it starts, before its first job.
    /// concurrent.futures' `initializer`. If it panics, the pool is broken: every job
    /// fails with the panic message.
    pub initializer: Option<fn()>,
    /// Async jobs one worker runs at once on its loop (sync jobs: always one).
    pub max_async_jobs_per_worker: usize,
}

impl Default for ProcessConfig {
    fn default() -> ProcessConfig {
        ProcessConfig {
            max_jobs_per_worker: None,
            initializer: None,
            max_async_jobs_per_worker: 64,
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            workers: num_cpus::get().clamp(1, MAX_WORKERS),
            clock: ClockKind::Real,
            io_uring: true,
            blocking_threads: 512,
            blocking_keep_alive: Duration::from_secs(10),
            pin_workers: false,
            long_poll_threshold: Some(Duration::from_millis(100)),
            gil: None,
            label: "single",
            processes: ProcessConfig::default(),
        }
    }
}

impl Config {
    /// The default configuration with a virtual clock.
    ///
    /// ```
    /// assert_eq!(modes::Config::virtual_clock().clock, modes::ClockKind::Virtual);
    /// ```
    pub fn virtual_clock() -> Config {
        Config {
            clock: ClockKind::Virtual,
            ..Config::default()
        }
    }
}
