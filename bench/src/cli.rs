//! The command line: which modes, which workloads, how big, and where the raw output goes.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use runtime::Mode;

use crate::workloads::Workload;

/// `bench serve-http`'s exit code when its runner cannot run on this machine.
pub const UNAVAILABLE: u8 = 3;

/// Runs the same workloads in every mode of the runtime and prints one fixed-width row per
/// workload and mode.
///
/// Examples:
///   bench --mode threads
///   bench --mode all --quick --json out.json
///   bench --mode single --workload io,cpu --peer tokio-ct
///   bench --mode threads --workload net,file --peer tokio-mt --io readiness
///   bench report --out RESULTS.md out.json peers.json
#[derive(Debug, Parser)]
#[command(
    name = "bench",
    version,
    args_conflicts_with_subcommands = true,
    verbatim_doc_comment
)]
pub struct Cli {
    /// `report`: turn JSON runs into RESULTS.md. Without a subcommand, run the benchmark.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The benchmark's options.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Subcommands besides the default (running the benchmark).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Merges JSON files written by `--json` and by the Python peers into a Markdown report.
    Report(ReportArgs),
    /// Internal: the other side of the process switch measurement (echoes stdin to stdout).
    #[command(hide = true)]
    EchoChild {
        /// Pin to this core first.
        #[arg(long)]
        core: Option<usize>,
    },
    /// Internal: one point of the `resources` workload, measured in this fresh process
    /// and printed as JSON.
    #[command(hide = true)]
    ResourcesChild {
        /// What waits: tasks, threads or processes.
        #[arg(long, value_enum)]
        what: crate::workloads::resources::What,
        /// How many.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
        n: u64,
        /// Tasks: the mode or peer that runs them.
        #[arg(long, default_value = "single")]
        runner: String,
        /// Tasks: the pool's workers.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        workers: u32,
    },
    /// Serves the `http` workload's hyper server (`200 Hello, World!` to every request,
    /// keep-alive) on one runner until standard input closes, for a load client outside
    /// this process such as `wrk` (see `scripts/wrk_check.py`). Prints `listening on
    /// ADDR` once bound; once stdin closes it stops accepting, waits for the open
    /// connections to close (a keep-alive client that stays keeps it waiting) and
    /// prints `served N requests`. Exits with `UNAVAILABLE` (3) where the runner
    /// cannot run on this machine (monoio where io_uring is refused).
    ServeHttp {
        /// The mode or peer that serves (single, threads, tokio-ct, tokio-mt, monoio,
        /// monoio-mt, ...).
        #[arg(long, default_value = "threads")]
        runner: String,
        /// The pool's workers (default: one per CPU), as `--workers` of a run.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=runtime::MAX_WORKERS as i64))]
        workers: Option<u32>,
    },
    /// Internal: a `resources` process waiter: writes one byte to stdout, then sleeps.
    #[command(hide = true)]
    ResourcesSleeper {
        /// How long to sleep, in milliseconds.
        #[arg(long)]
        ms: u64,
    },
}

/// Options of `bench report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The JSON files to merge: the first one that has machine information supplies it.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Where to write the Markdown (`-` for stdout).
    #[arg(long, default_value = "-")]
    pub out: PathBuf,
    /// The command that reproduces the run, quoted in the report.
    #[arg(long, default_value = "scripts/results.sh")]
    pub reproduce: String,
    /// Where to write the SVG charts the report links to, relative to the directory of
    /// `--out` (no charts with `--out -`). Charts this run cannot draw are removed from it.
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub charts: PathBuf,
    /// Write no charts.
    #[arg(long)]
    pub no_charts: bool,
}

/// Options of a benchmark run.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The runtime mode to measure, or `all` (a mode that fails to build is skipped with a note).
    #[arg(long, value_enum, default_value_t = ModeArg::Threads)]
    pub mode: ModeArg,
    /// Worker threads or processes for the pool modes [default: the number of CPUs]; 1 to
    /// the runtime's `MAX_WORKERS` (1024), checked before anything runs.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=runtime::MAX_WORKERS as i64))]
    pub workers: Option<u32>,
    /// Pin threads to cores: pool workers one per core, a single loop (`single`,
    /// `tokio-ct`) to core 0.
    #[arg(long)]
    pub pin: bool,
    /// `gil` mode's switch interval in microseconds (CPython's `sys.setswitchinterval`).
    #[arg(long, value_name = "US", default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..))]
    pub switch_interval_us: u64,
    /// Workloads to run, comma-separated [default: all].
    #[arg(long, value_enum, value_delimiter = ',', value_name = "NAME[,NAME]")]
    pub workload: Vec<Workload>,
    /// Smaller sizes and fewer repetitions: every workload in a few seconds.
    #[arg(long)]
    pub quick: bool,
    /// Also write every measurement, with machine information, as JSON to PATH.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Also run the same workloads on peer runtimes, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "PEER[,PEER]")]
    pub peer: Vec<PeerArg>,
    /// The I/O backend of our runtime (every mode): `uring` is the default (io_uring where
    /// the kernel allows it, unless `RUNTIME_IO_URING=0`), `readiness` forces the epoll
    /// fallback. The `net` and `file` rows record which backend served them.
    #[arg(long, value_enum, default_value_t = IoArg::Uring)]
    pub io: IoArg,
}

/// `--io`: which I/O backend our runtime is built with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum IoArg {
    /// io_uring on each loop's ring (the runtime's default; falls back by itself where the
    /// kernel refuses io_uring).
    Uring,
    /// The readiness fallback: sockets on an epoll reactor, files on the blocking pool
    /// (`Builder::io_uring(false)`).
    Readiness,
}

/// `--mode`: one mode or all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// One thread, one event loop (like asyncio).
    Single,
    /// A work-stealing pool of worker threads.
    Threads,
    /// Submitted work in forked worker processes.
    Processes,
    /// Threads behind one global lock (like CPython).
    Gil,
    /// Every mode that builds, in the order single, threads, processes, gil.
    All,
}

impl ModeArg {
    /// The modes this argument asks for.
    pub fn modes(self) -> Vec<Mode> {
        match self {
            ModeArg::Single => vec![Mode::Single],
            ModeArg::Threads => vec![Mode::Threads],
            ModeArg::Processes => vec![Mode::Processes],
            ModeArg::Gil => vec![Mode::Gil],
            ModeArg::All => Mode::ALL.to_vec(),
        }
    }
}

/// `--peer`: another runtime to run the same workloads on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, ValueEnum)]
pub enum PeerArg {
    /// tokio's `current_thread` runtime.
    TokioCt,
    /// tokio's `multi_thread` runtime with `--workers` workers.
    TokioMt,
    /// async-executor driven by `--workers` threads, with async-io timers (smol's parts).
    AsyncExecutor,
    /// `net` only: a bare io_uring echo loop on one thread, no runtime (the ceiling).
    BareUring,
    /// `net`, `http`, `bulk` only: monoio 0.2 (io_uring) on one thread, against `single`.
    Monoio,
    /// `net`, `http`, `bulk` only: monoio on one thread per `--workers`, each accepting
    /// on the same listener, against `threads`.
    MonoioMt,
    /// Every peer above.
    All,
}

impl PeerArg {
    /// The peers this argument stands for.
    pub fn expand(self) -> Vec<PeerArg> {
        match self {
            PeerArg::All => vec![
                PeerArg::TokioCt,
                PeerArg::TokioMt,
                PeerArg::AsyncExecutor,
                PeerArg::BareUring,
                PeerArg::Monoio,
                PeerArg::MonoioMt,
            ],
            p => vec![p],
        }
    }

    /// The name used in tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            PeerArg::TokioCt => "tokio-ct",
            PeerArg::TokioMt => "tokio-mt",
            PeerArg::AsyncExecutor => "async-executor",
            PeerArg::BareUring => "bare-uring",
            PeerArg::Monoio => "monoio",
            PeerArg::MonoioMt => "monoio-mt",
            PeerArg::All => "all",
        }
    }
}
