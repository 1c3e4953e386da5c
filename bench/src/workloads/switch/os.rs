//! OS thread and OS process switches: two threads, or this process and a child, pass one
//! byte back and forth through a Unix socket pair. Each one-way hop wakes the other side, so
//! one switch is half a round trip. The child process is this very binary, re-run as
//! `bench echo-child` (so no `fork` from a threaded parent, and no unsafe code).

use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use core_affinity::CoreId;

use crate::record::{median, Metric};

/// Where the two sides of a ping-pong run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// Both pinned to the same core: every hop is a real context switch.
    OneCore,
    /// Pinned to two different cores: every hop is a cross-core wake-up.
    TwoCores,
    /// Wherever the scheduler puts them.
    Unpinned,
}

impl Placement {
    /// Every placement, in report order.
    pub const ALL: [Placement; 3] = [Placement::OneCore, Placement::TwoCores, Placement::Unpinned];

    fn cores(self, ids: &[CoreId]) -> Option<(Option<CoreId>, Option<CoreId>)> {
        match self {
            Placement::OneCore => ids.first().map(|&c| (Some(c), Some(c))),
            Placement::TwoCores => (ids.len() >= 2).then(|| (Some(ids[0]), Some(ids[1]))),
            Placement::Unpinned => Some((None, None)),
        }
    }

    /// The metric name for `what` (threads or processes) in this placement.
    fn metric(self, process: bool) -> &'static str {
        match (process, self) {
            (false, Placement::OneCore) => "thread_1core",
            (false, Placement::TwoCores) => "thread_2cores",
            (false, Placement::Unpinned) => "thread_unpinned",
            (true, Placement::OneCore) => "process_1core",
            (true, Placement::TwoCores) => "process_2cores",
            (true, Placement::Unpinned) => "process_unpinned",
        }
    }
}

/// The OS switch figures: one metric per (threads|processes, placement).
#[derive(Debug)]
pub struct OsSwitch {
    /// `thread_1core`, `process_unpinned`, ... in ns per switch.
    pub metrics: Vec<Metric>,
    /// The size, e.g. `200 ms of round trips`.
    pub params: String,
    /// Placements that could not be measured, and why.
    pub notes: Vec<String>,
}

/// Measures thread and process switches in every placement, `reps` runs of `budget` each.
pub fn measure_os(budget: Duration, reps: usize, mut tick: impl FnMut(&str)) -> OsSwitch {
    let ids = core_affinity::get_core_ids().unwrap_or_default();
    let mut metrics = Vec::new();
    let mut notes = Vec::new();
    for is_process in [false, true] {
        for placement in Placement::ALL {
            let name = placement.metric(is_process);
            tick(name);
            let Some((a, b)) = placement.cores(&ids) else {
                notes.push(format!("{name}: needs two usable cores"));
                continue;
            };
            let runs: Result<Vec<f64>, String> = (0..reps)
                .map(|_| {
                    if is_process {
                        process_ping_pong(budget, a, b)
                    } else {
                        thread_ping_pong(budget, a, b)
                    }
                })
                .collect();
            match runs {
                Ok(runs) if median(&runs).is_finite() => {
                    metrics.push(Metric::new(name, "ns", runs))
                }
                Ok(_) => notes.push(format!("{name}: no figure")),
                Err(e) => notes.push(format!("{name}: {e}")),
            }
        }
    }
    OsSwitch {
        metrics,
        params: format!("{} ms of round trips", budget.as_millis()),
        notes,
    }
}

fn pin(core: Option<CoreId>) {
    if let Some(c) = core {
        core_affinity::set_for_current(c);
    }
}

/// Round trips over `to`/`from` for about `budget`; returns ns per switch.
fn time_trips(budget: Duration, to: &mut impl Write, from: &mut impl Read) -> std::io::Result<f64> {
    let mut b = [0u8; 1];
    // One warm-up trip: the other side is running.
    to.write_all(&b)?;
    from.read_exact(&mut b)?;
    let start = Instant::now();
    let mut trips = 0;
    while start.elapsed() < budget {
        for _ in 0..50 {
            to.write_all(&b)?;
            from.read_exact(&mut b)?;
        }
        trips += 50;
    }
    Ok(start.elapsed().as_nanos() as f64 / (2 * trips) as f64)
}

/// Echoes single bytes from `from` to `to` until end of file.
fn echo_loop(from: &mut impl Read, to: &mut impl Write) -> std::io::Result<()> {
    let mut b = [0u8; 1];
    loop {
        match from.read(&mut b)? {
            0 => return Ok(()),
            _ => to.write_all(&b)?,
        }
    }
}

fn thread_ping_pong(budget: Duration, a: Option<CoreId>, b: Option<CoreId>) -> Result<f64, String> {
    let io = |e: std::io::Error| e.to_string();
    let (mut near, mut far) = UnixStream::pair().map_err(io)?;
    std::thread::scope(|s| {
        let echo = s.spawn(move || {
            pin(b);
            let mut back = far.try_clone()?;
            echo_loop(&mut far, &mut back)
        });
        let measured = s
            .spawn(move || {
                pin(a);
                let mut back = near.try_clone()?;
                let r = time_trips(budget, &mut near, &mut back);
                near.shutdown(Shutdown::Both)?; // the echo thread sees end of file
                r
            })
            .join()
            .map_err(|_| "the timing thread panicked".to_string())?;
        echo.join()
            .map_err(|_| "the echo thread panicked".to_string())?
            .map_err(io)?;
        measured.map_err(io)
    })
}

fn process_ping_pong(
    budget: Duration,
    a: Option<CoreId>,
    b: Option<CoreId>,
) -> Result<f64, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let io = |e: std::io::Error| format!("echo process: {e}");
    let (mut near, far) = UnixStream::pair().map_err(io)?;
    std::thread::scope(|s| {
        s.spawn(move || {
            pin(a);
            let mut cmd = Command::new(exe);
            cmd.arg("echo-child")
                .stdin(Stdio::from(OwnedFd::from(far.try_clone().map_err(io)?)))
                .stdout(Stdio::from(OwnedFd::from(far)));
            if let Some(c) = b {
                cmd.arg("--core").arg(c.id.to_string());
            }
            let mut child = cmd
                .spawn()
                .map_err(|e| format!("cannot start the echo process: {e}"))?;
            drop(cmd); // close our copies of the child's end
            let mut back = near.try_clone().map_err(io)?;
            let r = time_trips(budget, &mut near, &mut back);
            let _ = near.shutdown(Shutdown::Both); // the child sees end of file and exits
            let _ = child.wait();
            r.map_err(io)
        })
        .join()
        .map_err(|_| "the timing thread panicked".to_string())?
    })
}

/// `bench echo-child`: echoes bytes from stdin to stdout until end of file, pinned to
/// `core` if given. Reads and writes go straight to the file descriptors, unbuffered.
pub fn echo_child(core: Option<usize>) -> std::io::Result<()> {
    use std::os::fd::AsFd;
    if let Some(id) = core {
        core_affinity::set_for_current(CoreId { id });
    }
    let mut input = std::fs::File::from(std::io::stdin().as_fd().try_clone_to_owned()?);
    let mut output = std::fs::File::from(std::io::stdout().as_fd().try_clone_to_owned()?);
    echo_loop(&mut input, &mut output)
}
