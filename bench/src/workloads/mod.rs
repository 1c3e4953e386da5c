//! The workloads. Each is written once against [`Exec`](crate::exec::Exec), runs unchanged
//! in every mode and on every peer, and reports one [`Outcome`]: its size, its metrics
//! (the first is the headline of its summary row) and a few words of detail.

mod bulk;
mod chained;
mod cpu;
mod file;
mod gil_convoy;
pub mod http;
mod io;
mod load;
mod map;
mod mixed;
mod net;
mod pingpong;
pub mod resources;
mod spawn;
mod submit;
pub mod sweep;
pub mod switch;
mod sync;
mod timers;
mod yield_many;

use clap::ValueEnum;

use crate::exec::{IoKind, Runner};
use crate::record::Metric;

/// A workload, as named on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, ValueEnum)]
pub enum Workload {
    /// N fetches that each sleep d, concurrently: concurrency.
    Io,
    /// N naive-Fibonacci jobs through `submit`: parallelism.
    Cpu,
    /// The seed's cooking-rice day: three machine waits and three attention computations.
    Mixed,
    /// 10,000 spawns of tiny tasks (tokio's spawn_many).
    Spawn,
    /// 200 tasks yielding 1,000 times each (tokio's yield_many).
    Yield,
    /// 1,000 ping-pongs between freshly spawned task pairs (tokio's ping_pong).
    Pingpong,
    /// A chain of 1,000 tasks, each spawning the next (tokio's chained_spawn).
    Chained,
    /// The cost of one switch: coroutines, OS threads, OS processes.
    Switch,
    /// 10,000 concurrent sleeps of 10 ms: total time and wake lateness.
    Timers,
    /// An echo task's round trip while CPU-bound jobs run (the GIL's convoy effect).
    #[value(name = "gil_convoy", alias = "gil-convoy")]
    GilConvoy,
    Submit,
    Map,
    /// TCP echo round trips of 64 bytes over loopback, 64 connections at once: the server
    /// on the runner under test, one shared client.
    Net,
    /// Random 4 KiB positional reads of a 64 MiB file by 64 tasks at once.
    File,
    /// Bytes and creation time per concurrent waiter: sleeping tasks (10k, 100k, 1M), OS
    /// threads (1k, 10k) and OS processes (100, 1k), each point in a fresh process.
    Resources,
    /// `cpu`'s speed-up over one core with 1, 2, 4 and 8 workers (the pools).
    #[value(name = "cpu_sweep", alias = "cpu-sweep")]
    CpuSweep,
    /// `gil_convoy` under `gil` at switch intervals 0.1, 0.5, 1, 5, 20 ms: echo p99 against
    /// the CPU jobs' share of a core.
    #[value(name = "gil_sweep", alias = "gil-sweep")]
    GilSweep,
    /// `io` with 10, 1,000 and 100,000 concurrent sleepers.
    #[value(name = "io_sweep", alias = "io-sweep")]
    IoSweep,
    /// HTTP/1.1 keep-alive requests to a hyper server, 64 then 256 connections: the
    /// server on the runner under test, one shared load client.
    Http,
    /// Four TCP connections each echoing 8 MiB, through owned buffers and through the
    /// stream traits.
    Bulk,
}

impl Workload {
    /// Every workload, in report order.
    pub fn all() -> Vec<Workload> {
        Workload::value_variants().to_vec()
    }

    /// The name used in tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Io => "io",
            Workload::Cpu => "cpu",
            Workload::Mixed => "mixed",
            Workload::Spawn => "spawn",
            Workload::Yield => "yield",
            Workload::Pingpong => "pingpong",
            Workload::Chained => "chained",
            Workload::Switch => "switch",
            Workload::Timers => "timers",
            Workload::GilConvoy => "gil_convoy",
            Workload::Submit => "submit",
            Workload::Map => "map",
            Workload::Net => "net",
            Workload::File => "file",
            Workload::Resources => "resources",
            Workload::CpuSweep => "cpu_sweep",
            Workload::GilSweep => "gil_sweep",
            Workload::IoSweep => "io_sweep",
            Workload::Http => "http",
            Workload::Bulk => "bulk",
        }
    }

    /// The kind of I/O this workload does, if any: its rows record the backend that served it.
    pub fn io_kind(self) -> Option<IoKind> {
        match self {
            Workload::Net => Some(IoKind::Net),
            Workload::File => Some(IoKind::File),
            Workload::Http => Some(IoKind::Http),
            Workload::Bulk => Some(IoKind::Bulk),
            _ => None,
        }
    }

    /// Whether this workload needs [`crate::work::units_per_ms`].
    pub fn needs_calibration(self) -> bool {
        matches!(
            self,
            Workload::Mixed | Workload::GilConvoy | Workload::GilSweep
        )
    }
}

/// Settings shared by every workload.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// Smaller sizes, fewer repetitions.
    pub quick: bool,
    /// Workers of the pool modes and peers.
    pub workers: usize,
    /// [`crate::work::burn`] units per millisecond of one core.
    pub burn_per_ms: u64,
    /// `gil` mode's switch interval.
    pub switch_interval: std::time::Duration,
    /// `resources`: how many sleeping tasks a `resources-child` starts.
    pub waiters: usize,
}

impl Params {
    /// The settings of a command that runs one workload on its own (`resources-child`,
    /// `serve-http`): full sizes, no calibrated burn, `gil`'s default 5 ms interval,
    /// `waiters` sleeping tasks for `resources`.
    pub fn single_run(workers: usize, waiters: usize) -> Params {
        Params {
            quick: false,
            workers,
            burn_per_ms: 1,
            switch_interval: std::time::Duration::from_millis(5),
            waiters,
        }
    }

    /// Repetitions of a workload whose figure is a median: 5, or 3 when quick.
    pub fn reps(&self) -> usize {
        if self.quick {
            3
        } else {
            5
        }
    }

    /// Picks the normal or the quick size.
    pub fn size<T>(&self, normal: T, quick: T) -> T {
        if self.quick {
            quick
        } else {
            normal
        }
    }
}

/// What one workload run by one runner measured.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The size, e.g. `8 x 100 ms`.
    pub params: String,
    /// The metrics; the first is the summary row's headline.
    pub metrics: Vec<Metric>,
    /// A few words for the summary row.
    pub detail: String,
}

/// Runs `w` on `r`.
pub fn run<R: Runner>(w: Workload, r: &R, p: &Params) -> Outcome {
    match w {
        Workload::Io => io::run(r, p),
        Workload::Cpu => cpu::run(r, p),
        Workload::Mixed => mixed::run(r, p),
        Workload::Spawn => spawn::run(r, p),
        Workload::Yield => yield_many::run(r, p),
        Workload::Pingpong => pingpong::run(r, p),
        Workload::Chained => chained::run(r, p),
        Workload::Switch => switch::coroutine(r, p),
        Workload::Timers => timers::run(r, p),
        Workload::GilConvoy => gil_convoy::run(r, p),
        Workload::Submit => submit::run(r, p),
        Workload::Map => map::run(r, p),
        Workload::Net => net::run(r, p),
        Workload::File => file::run(r, p),
        Workload::Resources => resources::tasks_in_process(r, p),
        Workload::CpuSweep => sweep::cpu_point(r, p),
        Workload::GilSweep => sweep::gil_point(r, p),
        Workload::IoSweep => sweep::io_points(r, p),
        Workload::Http => http::run(r, p),
        Workload::Bulk => bulk::run(r, p),
    }
}

/// Runs `once` `reps` times on fresh futures and returns every run's figure.
fn repeat<R: Runner, F, Fut>(r: &R, reps: usize, mut once: F) -> Vec<f64>
where
    F: FnMut(R::Exec) -> Fut,
    Fut: std::future::Future<Output = f64> + Send + 'static,
{
    (0..reps).map(|_| r.block_on(once(r.exec()))).collect()
}
