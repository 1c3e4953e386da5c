//! `resources`: what one concurrent waiter costs. N tasks, N OS threads or N OS processes
//! are started and each waits on a timer; the figures are the memory per waiter and the
//! time to start one, the seeds' "coroutines need the fewest resources" as numbers.
//!
//! Each point runs in a fresh process (`bench resources-child`), so that memory freed by
//! an earlier point or workload cannot be reused and hide the cost:
//! - tasks: the process's resident set (`VmRSS`) after every task has registered its
//!   timer, minus before (the runtime already built), over N;
//! - threads: the same for N threads each in a timed condition-variable wait;
//! - processes: N copies of this program each sleeping (`bench resources-sleeper`),
//!   measured as the sum of their proportional set sizes (PSS, from
//!   `/proc/PID/smaps_rollup`: pages shared between them counted once) over N; their RSS
//!   is recorded beside it. Every child is killed and reaped before the point returns.
//!
//! Creation time is from the first spawn until every waiter is waiting, over N. Before
//! each point the parent checks that twice its expected size (from the smaller point, or
//! a generous guess) fits in half of `MemAvailable`, and skips the point with a note if
//! not.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::exec::{Exec, Runner};
use crate::record::Metric;

use super::sync::latch;
use super::{Outcome, Params};

/// A point's size and its two metric names (bytes, creation time).
type Point = (usize, &'static str, &'static str);

/// Sleeping tasks, per runner.
pub const TASKS: [Point; 3] = [
    (10_000, "bytes@10000", "create@10000"),
    (100_000, "bytes@100000", "create@100000"),
    (1_000_000, "bytes@1000000", "create@1000000"),
];
/// OS threads.
pub const THREADS: [Point; 2] = [
    (1_000, "bytes@1000", "create@1000"),
    (10_000, "bytes@10000", "create@10000"),
];
/// OS processes.
pub const PROCESSES: [Point; 2] = [
    (100, "bytes@100", "create@100"),
    (1_000, "bytes@1000", "create@1000"),
];
/// The processes' RSS beside their PSS.
const PROCESS_RSS: [&str; 2] = ["rss@100", "rss@1000"];

/// How long every waiter's timer runs: far longer than a point takes, so that all are
/// waiting when measured; a point ends them sooner (tasks dropped with the runtime,
/// threads notified, processes killed), and the timer bounds a point that goes wrong.
const WAIT: Duration = Duration::from_secs(30);

/// The points a run measures: every size, or the smaller ones when quick.
fn sizes(points: &[Point], p: &Params) -> Vec<Point> {
    let keep = if p.quick {
        points.len() - 1
    } else {
        points.len()
    };
    points[..keep.max(1)].to_vec()
}

/// What one child measured.
#[derive(Debug, Serialize, Deserialize)]
pub struct Figures {
    /// Bytes per waiter (RSS growth for tasks and threads, PSS for processes).
    pub bytes: f64,
    /// Nanoseconds to start one waiter.
    pub create_ns: f64,
    /// Processes: their RSS per process, shared pages counted in each.
    #[serde(default)]
    pub rss: Option<f64>,
}

/// What a child is asked to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum What {
    /// Sleeping tasks on `--runner`.
    Tasks,
    /// OS threads in a timed wait.
    Threads,
    /// OS processes sleeping.
    Processes,
}

/// This process's resident set in bytes (`VmRSS`).
fn rss() -> std::io::Result<u64> {
    kib_field(&std::fs::read_to_string("/proc/self/status")?, "VmRSS:")
}

/// A `Name:   123 kB` field of a /proc file, in bytes.
fn kib_field(text: &str, name: &str) -> std::io::Result<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .ok_or_else(|| std::io::Error::other(format!("no {name} field")))
}

/// In a `resources-child` process, run by the driver on a fresh runner: `p.waiters`
/// tasks sleeping on `r`'s timers.
pub fn tasks_in_process<R: Runner>(r: &R, p: &Params) -> Outcome {
    let n = p.waiters.max(1);
    // The runtime's own first allocations (thread-locals, the first timer) come first.
    r.block_on(sleepers(r.exec(), 1));
    let before = rss().unwrap_or(0);
    let create = r.block_on(sleepers(r.exec(), n));
    let after = rss().unwrap_or(0);
    let bytes = after.saturating_sub(before) as f64 / n as f64;
    Outcome {
        params: format!("{n} tasks"),
        detail: format!("{bytes:.0} B and {create:.0} ns per sleeping task"),
        metrics: vec![
            Metric::single("bytes", "B", bytes),
            Metric::single("create", "ns", create),
        ],
    }
}

/// Spawns `n` tasks that each sleep [`WAIT`]; returns ns per task once all have
/// registered their timers (they go on sleeping).
async fn sleepers<E: Exec>(ex: E, n: usize) -> f64 {
    let (count, all) = latch(n);
    let start = Instant::now();
    for _ in 0..n {
        let e = ex.clone();
        let count = count.clone();
        ex.spawn_detached(async move {
            let mut nap = std::pin::pin!(e.sleep(WAIT));
            // The first poll registers the timer; then the task counts as waiting.
            let done = futures_lite::future::poll_once(nap.as_mut())
                .await
                .is_some();
            count.count_down();
            if !done {
                nap.await;
            }
        });
    }
    let _ = all.await;
    start.elapsed().as_nanos() as f64 / n as f64
}

/// In a `resources-child` process: `n` OS threads, each in a condition-variable wait
/// with a [`WAIT`] timeout, on the default stack size.
pub fn threads_in_process(n: usize) -> Result<Figures, String> {
    let before = rss().map_err(|e| e.to_string())?;
    // Two pairs, so that a thread announcing itself wakes only the counting thread, and
    // the stop wakes only the waiters.
    let started = Arc::new((Mutex::new(0usize), Condvar::new()));
    let stop = Arc::new((Mutex::new(false), Condvar::new()));
    let start = Instant::now();
    let mut handles = Vec::with_capacity(n);
    let mut failed = None;
    for i in 0..n {
        let (started, stop) = (started.clone(), stop.clone());
        let spawned = std::thread::Builder::new()
            .name("waiter".into())
            .spawn(move || {
                let (m, cv) = &*stop;
                let mut stopped = m.lock().unwrap_or_else(|e| e.into_inner());
                {
                    let (count, counted) = &*started;
                    *count.lock().unwrap_or_else(|e| e.into_inner()) += 1;
                    counted.notify_one();
                }
                let deadline = Instant::now() + WAIT;
                while !*stopped {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    stopped = cv
                        .wait_timeout(stopped, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            });
        match spawned {
            Ok(h) => handles.push(h),
            Err(e) => {
                failed = Some(format!("thread {i} of {n} could not start: {e}"));
                break;
            }
        }
    }
    {
        let (count, counted) = &*started;
        let mut c = count.lock().unwrap_or_else(|e| e.into_inner());
        while *c < handles.len() {
            c = counted.wait(c).unwrap_or_else(|e| e.into_inner());
        }
    }
    let create = start.elapsed().as_nanos() as f64 / n as f64;
    let after = rss().map_err(|e| e.to_string());
    // Every thread ends and is joined, whatever happened.
    *stop.0.lock().unwrap_or_else(|e| e.into_inner()) = true;
    stop.1.notify_all();
    for h in handles {
        let _ = h.join();
    }
    if let Some(e) = failed {
        return Err(e);
    }
    Ok(Figures {
        bytes: after?.saturating_sub(before) as f64 / n as f64,
        create_ns: create,
        rss: None,
    })
}

/// Children that are killed and reaped when this is dropped, however the point ends.
struct Reaper(Vec<Child>);

impl Drop for Reaper {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
        }
        for c in &mut self.0 {
            let _ = c.wait();
        }
    }
}

/// `PSS` and `RSS` of process `pid` in bytes.
fn pss_rss(pid: u32) -> std::io::Result<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))?;
    Ok((kib_field(&text, "Pss:")?, kib_field(&text, "Rss:")?))
}

/// In a `resources-child` process: `n` copies of this program, each sleeping
/// ([`sleeper`]); each writes one byte to a shared socket once asleep.
pub fn processes_in_process(n: usize) -> Result<Figures, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let (mut ready, ready_w) =
        UnixStream::pair().map_err(|e| format!("cannot create a socket pair: {e}"))?;
    let mut reaper = Reaper(Vec::with_capacity(n));
    let start = Instant::now();
    for i in 0..n {
        let w = ready_w
            .try_clone()
            .map_err(|e| format!("cannot duplicate the socket: {e}"))?;
        let child = Command::new(&exe)
            .arg("resources-sleeper")
            .arg("--ms")
            .arg(WAIT.as_millis().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::from(OwnedFd::from(w)))
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("process {i} of {n} could not start: {e}"))?;
        reaper.0.push(child);
    }
    drop(ready_w); // only the children hold the writing end now
    let mut got = vec![0u8; n];
    ready
        .read_exact(&mut got)
        .map_err(|e| format!("not every process reported asleep: {e}"))?;
    let create = start.elapsed().as_nanos() as f64 / n as f64;
    let (mut pss, mut rss) = (0u64, 0u64);
    for c in &reaper.0 {
        let (p, r) = pss_rss(c.id()).map_err(|e| format!("smaps_rollup of {}: {e}", c.id()))?;
        pss += p;
        rss += r;
    }
    drop(reaper);
    Ok(Figures {
        bytes: pss as f64 / n as f64,
        create_ns: create,
        rss: Some(rss as f64 / n as f64),
    })
}

/// `bench resources-sleeper`: says it is asleep (one byte on stdout), then sleeps `ms`.
pub fn sleeper(ms: u64) -> std::io::Result<()> {
    use std::io::Write;
    std::io::stdout().write_all(b"z")?;
    std::io::stdout().flush()?;
    std::thread::sleep(Duration::from_millis(ms));
    Ok(())
}

/// `MemAvailable` in bytes.
fn available() -> Option<u64> {
    kib_field(
        &std::fs::read_to_string("/proc/meminfo").ok()?,
        "MemAvailable:",
    )
    .ok()
}

/// The parent's side: runs `args` as a `resources-child`, unless twice `expected` bytes
/// do not fit in half the available memory.
fn child(args: &[String], expected: f64) -> Result<Figures, String> {
    if let Some(avail) = available() {
        if 2.0 * expected > avail as f64 / 2.0 {
            return Err(format!(
                "skipped: it may need {:.1} GiB and {:.1} GiB is available",
                expected / (1u64 << 30) as f64,
                avail as f64 / (1u64 << 30) as f64
            ));
        }
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let out = Command::new(exe)
        .arg("resources-child")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start a resources-child: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "the child failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("the child's answer: {e}"))
}

/// Measures each of `points` in its own child; `extra` are the child's arguments besides
/// `--n`; `guess` is the bytes per waiter assumed before the first point. Returns the
/// metrics and a note per point that could not be measured.
fn measure(
    points: &[Point],
    extra: &[String],
    guess: f64,
    rss_names: Option<&[&'static str]>,
) -> (Vec<Metric>, Vec<String>) {
    let mut metrics = Vec::new();
    let mut notes = Vec::new();
    let mut per = guess;
    for (i, &(n, bytes, create)) in points.iter().enumerate() {
        let mut args = extra.to_vec();
        args.extend(["--n".into(), n.to_string()]);
        match child(&args, per * n as f64) {
            Ok(f) => {
                per = per.max(f.bytes).max(f.rss.unwrap_or(0.0) / 4.0);
                metrics.push(Metric::single(bytes, "B", f.bytes));
                metrics.push(Metric::single(create, "ns", f.create_ns));
                if let (Some(names), Some(rss)) = (rss_names, f.rss) {
                    metrics.push(Metric::single(names[i], "B", rss));
                }
            }
            Err(e) => notes.push(format!("{n}: {e}")),
        }
    }
    (metrics, notes)
}

/// `resources` on runner `name` (a mode or a Rust peer): tasks at every size, each in
/// its own child process. Fails if no size could be measured.
pub fn tasks(name: &str, p: &Params) -> Result<(Outcome, Vec<String>), String> {
    let points = sizes(&TASKS, p);
    let extra = vec![
        "--what".into(),
        "tasks".into(),
        "--runner".into(),
        name.into(),
        "--workers".into(),
        p.workers.to_string(),
    ];
    let (metrics, notes) = measure(&points, &extra, 2048.0, None);
    if metrics.is_empty() {
        return Err(notes.join("; "));
    }
    Ok((outcome("tasks", &points, metrics), notes))
}

/// `resources` for OS threads and processes: two outcomes (`os-threads`,
/// `os-processes`) and notes on what could not be measured.
pub fn os(p: &Params) -> (Vec<(&'static str, Outcome)>, Vec<String>) {
    let mut out = Vec::new();
    let mut all_notes = Vec::new();
    for (name, what, points, guess, rss) in [
        (
            "os-threads",
            "threads",
            sizes(&THREADS, p),
            64.0 * 1024.0,
            None,
        ),
        (
            "os-processes",
            "processes",
            sizes(&PROCESSES, p),
            4.0 * 1024.0 * 1024.0,
            Some(&PROCESS_RSS[..]),
        ),
    ] {
        let extra = vec!["--what".into(), what.into()];
        let (metrics, notes) = measure(&points, &extra, guess, rss);
        all_notes.extend(notes.into_iter().map(|n| format!("{name} {n}")));
        if !metrics.is_empty() {
            out.push((name, outcome(what, &points, metrics)));
        }
    }
    (out, all_notes)
}

fn outcome(what: &str, points: &[Point], metrics: Vec<Metric>) -> Outcome {
    let sizes: Vec<String> = points.iter().map(|(n, _, _)| n.to_string()).collect();
    let largest = metrics
        .iter()
        .rev()
        .find(|m| m.name.starts_with("bytes@"))
        .map_or(String::new(), |m| {
            format!(
                "{:.0} B per waiter at {}",
                m.value(),
                m.name.trim_start_matches("bytes@")
            )
        });
    Outcome {
        params: format!("{} {what}, each waiting on a timer", sizes.join(" / ")),
        detail: largest,
        metrics,
    }
}
