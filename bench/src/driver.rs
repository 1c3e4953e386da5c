//! Running one workload on one runner: build the runner on a fresh thread (pinned with
//! `--pin` when the runner is one loop), run, and give up on it if it hangs.

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

use runtime::{Mode, Settable};

use crate::cli::PeerArg;
use crate::exec::ours::Ours;
use crate::exec::{IoKind, Runner};
use crate::record::Kind;
use crate::workloads::{self, Outcome, Params, Workload};
use crate::{peers, pin};

/// How long one workload may take on one runner before the run is declared hung.
const HANG: Duration = Duration::from_secs(180);

/// Who runs a workload: a mode of ours or a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunnerSpec {
    /// A mode of this runtime.
    Mode(Mode),
    /// A peer runtime.
    Peer(PeerArg),
}

impl RunnerSpec {
    /// The name in tables and JSON.
    pub fn name(self) -> &'static str {
        match self {
            RunnerSpec::Mode(m) => m.name(),
            RunnerSpec::Peer(p) => p.name(),
        }
    }

    /// Mode or peer.
    pub fn kind(self) -> Kind {
        match self {
            RunnerSpec::Mode(_) => Kind::Mode,
            RunnerSpec::Peer(_) => Kind::Peer,
        }
    }

    /// Whether this runner runs `w`: the bare io_uring loop serves only `net`, monoio only
    /// the socket workloads; the worker-count sweep needs a pool (`threads`, `processes`,
    /// `gil`, `tokio-mt`); the switch-interval sweep needs the GIL.
    pub fn runs(self, w: Workload) -> bool {
        match (self, w) {
            (RunnerSpec::Peer(PeerArg::BareUring), w) => w == Workload::Net,
            (RunnerSpec::Peer(PeerArg::Monoio | PeerArg::MonoioMt), w) => {
                matches!(w, Workload::Net | Workload::Http | Workload::Bulk)
            }
            (r, Workload::CpuSweep) => matches!(
                r,
                RunnerSpec::Mode(Mode::Threads | Mode::Processes | Mode::Gil)
                    | RunnerSpec::Peer(PeerArg::TokioMt)
            ),
            (r, Workload::GilSweep) => r == RunnerSpec::Mode(Mode::Gil),
            _ => true,
        }
    }

    /// The runner called `name` (a mode or a peer), as `resources-child --runner` takes it.
    pub fn from_name(name: &str) -> Result<RunnerSpec, String> {
        use PeerArg::{All, BareUring, Monoio, MonoioMt};
        Self::named(
            name,
            &[All, BareUring, Monoio, MonoioMt],
            "a mode or tokio-ct, tokio-mt, async-executor",
        )
    }

    /// The runner called `name` as `--mode` or `--peer` spells it: any mode or peer but
    /// `all` (`bench serve-http --runner`).
    pub fn from_cli_name(name: &str) -> Result<RunnerSpec, String> {
        Self::named(
            name,
            &[PeerArg::All],
            "a mode (single, threads, ...) or a peer (tokio-ct, tokio-mt, monoio, monoio-mt, ...)",
        )
    }

    /// A mode, or a peer not in `refused`, called `name`; the error says `expected`.
    fn named(name: &str, refused: &[PeerArg], expected: &str) -> Result<RunnerSpec, String> {
        if let Ok(m) = name.parse::<Mode>() {
            return Ok(RunnerSpec::Mode(m));
        }
        match <PeerArg as clap::ValueEnum>::from_str(name, true) {
            Ok(p) if !refused.contains(&p) => Ok(RunnerSpec::Peer(p)),
            _ => Err(format!("unknown runner {name:?}: expected {expected}")),
        }
    }

    /// What this peer runs, if not every workload (for a note).
    pub fn only(self) -> Option<&'static str> {
        match self {
            RunnerSpec::Peer(PeerArg::BareUring) => {
                Some("bare-uring (a bare io_uring loop, no runtime) runs only the net workload")
            }
            RunnerSpec::Peer(PeerArg::Monoio | PeerArg::MonoioMt) => {
                Some("monoio runs only the net, http and bulk workloads")
            }
            _ => None,
        }
    }

    /// Runners whose whole loop is the thread calling `block_on`: `--pin` pins that thread.
    fn one_loop(self) -> bool {
        matches!(
            self,
            RunnerSpec::Mode(Mode::Single) | RunnerSpec::Peer(PeerArg::TokioCt)
        )
    }
}

/// Why a run produced nothing.
#[derive(Debug)]
pub enum RunError {
    /// It failed: could not build, or panicked.
    Failed(String),
    /// It did not finish within the time limit; its thread is abandoned.
    Hung(Duration),
    /// The runner cannot run on this machine (monoio where io_uring is refused): a note,
    /// not a failure.
    Unavailable(String),
}

impl RunError {
    /// Whether the run was abandoned while still running.
    pub fn hung(&self) -> bool {
        matches!(self, RunError::Hung(_))
    }
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Failed(why) => f.write_str(why),
            RunError::Hung(d) => write!(f, "did not finish within {} s", d.as_secs()),
            RunError::Unavailable(why) => f.write_str(why),
        }
    }
}

/// What one run of a workload gave: its outcome, and for an I/O workload the backend
/// that served it.
pub type Ran = (Outcome, Option<String>);

/// Runs `w` on `r`: once, or at each of its sweep points (`workloads::sweep::points`) on
/// a fresh runner each, joined into one outcome.
pub fn run_points(w: Workload, r: RunnerSpec, p: Params, pin: bool) -> Result<Ran, RunError> {
    let points = workloads::sweep::points(w, &p);
    if points.len() == 1 {
        return run_one(w, r, p, pin);
    }
    let mut outcomes = Vec::new();
    let mut backend = None;
    for point in points {
        let (o, b) = run_one(w, r, point, pin)?;
        outcomes.push(o);
        backend = backend.or(b);
    }
    Ok((workloads::sweep::join(outcomes), backend))
}

/// Runs `w` on a fresh `r`, on a fresh thread, so that a panicking workload fails alone,
/// pinning never leaks into the next run, and a hang is reported instead of waited on.
pub fn run_one(w: Workload, r: RunnerSpec, p: Params, pin: bool) -> Result<Ran, RunError> {
    let (tx, rx) = mpsc::channel();
    let driver = std::thread::Builder::new()
        .name(format!("bench-{}", r.name()))
        .spawn(move || {
            let _ = tx.send(build_and_run(w, r, &p, pin));
        })
        .map_err(|e| RunError::Failed(format!("cannot start a driver thread: {e}")))?;
    match rx.recv_timeout(HANG) {
        Ok(result) => {
            let _ = driver.join();
            result
        }
        Err(mpsc::RecvTimeoutError::Timeout) => Err(RunError::Hung(HANG)),
        // The sender is gone without sending: the workload panicked.
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(RunError::Failed(match driver.join() {
            Err(panic) => format!(
                "panicked: {}",
                panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("(no message)")
            ),
            Ok(()) => "ended without a result".into(),
        })),
    }
}

fn build_and_run(w: Workload, r: RunnerSpec, p: &Params, pin: bool) -> Result<Ran, RunError> {
    // tokio's socket driver only where sockets are used (see `peers::tokio`).
    let tokio_io = w.io_kind().is_some_and(|k| k != IoKind::File);
    with_runner(r, p, pin, tokio_io, RunWorkload { w, p })
}

/// What is done with a built runner, whichever type it is: a workload
/// ([`build_and_run`]) or serving HTTP to an outside client ([`serve_http`]).
trait OnRunner {
    /// What it gives back.
    type Out;
    /// Does it on `r`.
    fn on<R: Runner>(self, r: R) -> Self::Out;
}

/// Runs a workload once: its outcome and the I/O backend that served it.
struct RunWorkload<'a> {
    w: Workload,
    p: &'a Params,
}

impl OnRunner for RunWorkload<'_> {
    type Out = Ran;
    fn on<R: Runner>(self, r: R) -> Ran {
        let outcome = workloads::run(self.w, &r, self.p);
        (outcome, self.w.io_kind().map(|k| r.io_backend(k)))
    }
}

/// Builds `r` (pinned with `pin`) and does `job` on it.
fn with_runner<J: OnRunner>(
    r: RunnerSpec,
    p: &Params,
    pin: bool,
    tokio_io: bool,
    job: J,
) -> Result<J::Out, RunError> {
    if pin && r.one_loop() {
        pin::pin_current(0);
    }
    let pin_pool = pin && !r.one_loop();
    match r {
        RunnerSpec::Mode(m) => drive(
            Ours::build_with(m, p.workers, pin_pool, p.switch_interval),
            job,
        ),
        RunnerSpec::Peer(PeerArg::TokioCt) => {
            drive(peers::tokio::Tokio::current_thread(tokio_io), job)
        }
        RunnerSpec::Peer(PeerArg::TokioMt) => drive(
            peers::tokio::Tokio::multi_thread(p.workers, pin_pool, tokio_io),
            job,
        ),
        RunnerSpec::Peer(PeerArg::AsyncExecutor) => {
            if pin_pool {
                pin::pin_current(0);
            }
            drive(peers::smol::Smol::new(p.workers, pin_pool), job)
        }
        RunnerSpec::Peer(PeerArg::BareUring) => drive(peers::bare::Bare::new(), job),
        RunnerSpec::Peer(PeerArg::Monoio | PeerArg::MonoioMt) => {
            let threads = if r == RunnerSpec::Peer(PeerArg::Monoio) {
                1
            } else {
                p.workers
            };
            let built = peers::monoio::Monoio::new(threads).map_err(RunError::Unavailable)?;
            drive(Ok::<_, String>(built), job)
        }
        RunnerSpec::Peer(PeerArg::All) => Err(RunError::Failed("`all` is not a runner".into())),
    }
}

fn drive<R: Runner, E: std::fmt::Display, J: OnRunner>(
    built: Result<R, E>,
    job: J,
) -> Result<J::Out, RunError> {
    let r = built.map_err(|e| RunError::Failed(format!("cannot build: {e}")))?;
    Ok(job.on(r))
}

/// `bench serve-http`: the `http` workload's hyper server on `r` (built as for a run
/// with `p`), for a load client outside this process such as `wrk`. `listening` gets
/// the bound address; the server stops accepting once `stop` resolves and returns the
/// requests it served once its connections have closed.
pub fn serve_http(
    r: RunnerSpec,
    p: &Params,
    stop: Settable<()>,
    listening: impl FnOnce(SocketAddr) + Send + 'static,
) -> Result<u64, RunError> {
    if !r.runs(Workload::Http) {
        return Err(RunError::Failed(format!("{} has no http server", r.name())));
    }
    let served = with_runner(r, p, false, true, ServeHttp { stop, listening })?;
    served.map_err(|e| RunError::Failed(e.to_string()))
}

/// [`serve_http`]'s job.
struct ServeHttp<L> {
    stop: Settable<()>,
    listening: L,
}

impl<L: FnOnce(SocketAddr) + Send + 'static> OnRunner for ServeHttp<L> {
    type Out = std::io::Result<u64>;
    fn on<R: Runner>(self, r: R) -> std::io::Result<u64> {
        workloads::http::serve(&r, self.stop, self.listening)
    }
}
