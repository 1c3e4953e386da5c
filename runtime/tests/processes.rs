//! `Mode::Processes`: the worker-process pool. Round trips, `map`, the initializer,
//! `max_jobs_per_worker`, crashes (each fails only its own job, is reaped and replaced),
//! payloads that do not cross, cancellation of queued jobs, async jobs overlapping in
//! one worker, shutdown, and a parent that exits with busy workers.
//!
//! The behaviour tests shared by every mode also run under Processes, from the
//! `processes` flavour of `rt_test!` (see `support/mod.rs`).

#[macro_use]
mod support;

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use runtime::{Clock, Mode, Runtime};
use serde::{Deserialize, Serialize};

thread_local! {
    /// Whether `processes()` asks for io_uring: the tests of `mod readiness` turn it off,
    /// so that every scenario also runs with the parent's loop on the plain park and its
    /// worker sockets on the readiness reactor (io_uring refused).
    static URING: std::cell::Cell<bool> = const { std::cell::Cell::new(true) };
}

fn processes(workers: usize) -> runtime::Builder {
    Runtime::builder()
        .mode(Mode::Processes)
        .workers(workers)
        .io_uring(URING.with(|u| u.get()))
}

/// Runs the named tests again with io_uring refused (see `URING`).
macro_rules! readiness_too {
    ($($name:ident),* $(,)?) => {
        mod readiness {
            $(
                #[test]
                fn $name() {
                    super::URING.with(|u| u.set(false));
                    super::$name();
                }
            )*
        }
    };
}

readiness_too!(
    submit_round_trips_values_through_a_worker_process,
    jobs_right_after_a_result_or_after_a_pause_all_run_in_the_same_worker,
    the_loop_run_from_threads_that_exit_keeps_reading_its_workers,
    many_jobs_use_every_worker_and_come_back_in_submit_order,
    a_large_payload_and_result_cross_in_both_directions,
    large_jobs_submitted_from_plain_threads_cross_while_join_runs_the_loop,
    a_panic_in_a_job_is_a_panic_with_its_message,
    map_keeps_argument_order_whatever_the_chunksize,
    a_panicking_initializer_breaks_the_pool_with_its_message,
    max_jobs_per_worker_replaces_the_worker_process,
    a_worker_killed_by_sigkill_fails_only_its_job,
    a_worker_that_exits_fails_only_its_job,
    a_busy_worker_is_sent_its_next_job_ahead,
    a_job_sent_ahead_to_a_worker_that_dies_runs_in_its_replacement,
    crashes_in_a_row_never_break_the_pool,
    payloads_that_do_not_serialise_fail_only_their_job,
    cancelling_a_queued_job_skips_it,
    async_jobs_overlap_inside_one_worker,
    max_async_jobs_per_worker_bounds_the_overlap,
    the_virtual_clock_waits_for_jobs_in_workers,
    dropping_the_runtime_with_running_and_queued_jobs_kills_and_reaps_everything,
    dropping_an_idle_runtime_right_after_build_reaps_everything,
);

fn pool(rt: &Runtime) -> runtime::ProcessMetrics {
    rt.metrics().processes.expect("Processes mode has a pool")
}

// ---- functions the workers run -------------------------------------------------------

fn square(x: u64) -> u64 {
    x * x
}

fn pid(_: ()) -> u32 {
    std::process::id()
}

fn sleep_ms(ms: u64) -> u32 {
    std::thread::sleep(Duration::from_millis(ms));
    std::process::id()
}

fn shout(s: String) -> String {
    s.to_uppercase()
}

fn reverse(mut v: Vec<u8>) -> Vec<u8> {
    v.reverse();
    v
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Order {
    id: u32,
    items: Vec<(String, f64)>,
    note: Option<String>,
}

fn total(o: Order) -> (u32, f64) {
    (o.id, o.items.iter().map(|(_, p)| p).sum())
}

fn explode(x: u64) -> u64 {
    if x == 50 {
        panic!("item {x} exploded");
    }
    x
}

/// Sleeps longer for earlier items, so chunks finish out of order.
fn slow_early(x: u64) -> u64 {
    if x % 10 == 0 {
        std::thread::sleep(Duration::from_millis(30u64.saturating_sub(x / 10 * 3)));
    }
    x + 1
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy)]
enum Crash {
    Kill,
    Abort,
    Segfault,
    Exit3,
}

fn crash(how: Crash) -> u32 {
    match how {
        // SAFETY: kill and getpid have no memory-safety preconditions; the worker
        // deliberately kills itself.
        Crash::Kill => unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        },
        Crash::Abort => std::process::abort(),
        Crash::Segfault => {
            let p: *mut u8 = std::hint::black_box(std::ptr::null_mut());
            // SAFETY: deliberately crashes: a volatile write through a null pointer
            // faults (SIGSEGV) in the worker process, which is what this test wants.
            unsafe { p.write_volatile(1) };
        }
        Crash::Exit3 => std::process::exit(3),
    }
    // SIGKILL is delivered before kill() returns to user space; never get here.
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Serialises only even values: `Picky(3)` is an unserialisable payload.
#[derive(Debug, Deserialize)]
struct Picky(u32);

impl Serialize for Picky {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 % 2 == 1 {
            return Err(serde::ser::Error::custom(format!(
                "odd value {} refused",
                self.0
            )));
        }
        s.serialize_u32(self.0)
    }
}

fn plus_one(p: Picky) -> Picky {
    Picky(p.0 + 1)
}

/// Serialises fine, never deserialises.
#[derive(Debug, Serialize)]
struct OneWay(u32);

impl<'de> Deserialize<'de> for OneWay {
    fn deserialize<D: serde::Deserializer<'de>>(_: D) -> Result<OneWay, D::Error> {
        Err(serde::de::Error::custom("OneWay never deserialises"))
    }
}

fn takes_one_way(w: OneWay) -> u32 {
    w.0
}

fn gives_one_way(x: u32) -> OneWay {
    OneWay(x)
}

fn touch(path: String) -> bool {
    std::fs::write(path, b"ran").is_ok()
}

// ---- helpers -------------------------------------------------------------------------

fn temp_dir(name: &str) -> PathBuf {
    let backend = if URING.with(|u| u.get()) {
        "uring"
    } else {
        "ready"
    };
    let d = std::env::temp_dir().join(format!(
        "runtime-procs-{name}-{backend}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `(state, ppid)` of a process, from /proc/PID/stat; `None` if it does not exist.
fn proc_stat(pid: u32) -> Option<(char, u32)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ppid ...": comm may hold spaces and parentheses.
    let rest = &s[s.rfind(')')? + 2..];
    let mut f = rest.split_whitespace();
    let state = f.next()?.chars().next()?;
    let ppid = f.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Zombies whose parent is one of `parents`.
fn zombies_of(parents: &[u32]) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if let Some(('Z', ppid)) = proc_stat(pid) {
            if parents.contains(&ppid) {
                out.push(pid);
            }
        }
    }
    out
}

/// Waits (up to 5 s) for a moment with no zombie child of `parents`. Other tests of this
/// binary run meanwhile; their children may be zombies for an instant before being
/// reaped, so one clean sample is the criterion.
fn assert_no_zombies(parents: &[u32]) {
    let start = Instant::now();
    loop {
        let z = zombies_of(parents);
        if z.is_empty() {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "zombies left with parents {parents:?}: {z:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits (up to 5 s) until process `pid` no longer exists at all (exited and reaped).
fn assert_reaped(pid: u32) {
    let start = Instant::now();
    while let Some((state, ppid)) = proc_stat(pid) {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "process {pid} still there: state {state}, parent {ppid}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits (up to 5 s) until process `pid` is dead: gone, or a zombie of a parent that is
/// not ours (a dead orphan waits for its new parent, PID 1 or a subreaper, to reap it).
fn assert_dead(pid: u32) {
    let start = Instant::now();
    loop {
        match proc_stat(pid) {
            None | Some(('Z' | 'X', _)) => return,
            Some((state, ppid)) => assert!(
                start.elapsed() < Duration::from_secs(5),
                "process {pid} still alive: state {state}, parent {ppid}"
            ),
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

// ---- round trips ---------------------------------------------------------------------

#[test]
fn submit_round_trips_values_through_a_worker_process() {
    let rt = processes(2).build().unwrap();
    assert_eq!(rt.mode(), Mode::Processes);
    assert_eq!(rt.workers(), 2);
    let order = Order {
        id: 7,
        items: vec![("tea".into(), 2.5), ("cake".into(), 4.0)],
        note: Some("window seat".into()),
    };
    let (n, worker, up, id_total) = rt.block_on(async {
        let n = runtime::submit(square, 12).await.unwrap();
        let worker = runtime::submit(pid, ()).await.unwrap();
        let up = runtime::submit(shout, "hello".to_string()).await.unwrap();
        let t = runtime::submit(total, order).await.unwrap();
        (n, worker, up, t)
    });
    assert_eq!(n, 144);
    assert_ne!(worker, std::process::id(), "ran in another process");
    assert_eq!(up, "HELLO");
    assert_eq!(id_total, (7, 6.5));
    // Also from outside the loop: join runs the loop meanwhile.
    assert_eq!(rt.submit(square, 3).join().unwrap(), 9);
    assert_eq!(rt.handle().submit(square, 4).join().unwrap(), 16);
    let pids: HashSet<u32> = pool(&rt).workers.iter().filter_map(|w| w.pid).collect();
    assert!(pids.contains(&worker), "{pids:?} should hold {worker}");
}

/// A worker waits for its next job polling its socket for a moment after each sync job
/// before it sleeps, and the parent polls for the result before it parks (`procs/spin.rs`):
/// jobs that follow a result at once (found while polling), jobs that come after a pause
/// (the worker asleep again), and the end of the stream arriving while the worker polls
/// (a retirement right after its last result) all behave as before.
#[test]
fn jobs_right_after_a_result_or_after_a_pause_all_run_in_the_same_worker() {
    let rt = processes(1).build().unwrap();
    let (quick, paused, worker) = rt.block_on(async {
        let worker = runtime::submit(pid, ()).await.unwrap();
        let mut quick = Vec::new();
        for i in 0..200u64 {
            quick.push(runtime::submit(square, i).await.unwrap());
        }
        let mut paused = Vec::new();
        for i in 0..5u64 {
            // Far longer than either side polls: both go to sleep in between.
            runtime::sleep(Duration::from_millis(20)).await;
            paused.push(runtime::submit(square, i).await.unwrap());
            paused.push(runtime::submit(pid, ()).await.unwrap() as u64);
        }
        (quick, paused, worker)
    });
    assert_eq!(quick, (0..200u64).map(|i| i * i).collect::<Vec<_>>());
    let w = u64::from(worker);
    assert_eq!(
        paused,
        vec![0, w, 1, w, 4, w, 9, w, 16, w],
        "one worker throughout"
    );
    let m = &pool(&rt).workers[0];
    assert_eq!(
        (m.deaths, m.replacements, m.jobs_done),
        (0, 0, 211),
        "{m:?}"
    );

    // Retired right after each second result: the end of its stream reaches a worker
    // that is still polling for a next job; it exits 0 and is replaced.
    let rt = processes(1).max_jobs_per_worker(2).build().unwrap();
    let pids: Vec<u32> = rt.block_on(async {
        let mut v = Vec::new();
        for _ in 0..8 {
            v.push(runtime::submit(pid, ()).await.unwrap());
        }
        v
    });
    let distinct: HashSet<u32> = pids.iter().copied().collect();
    assert_eq!(distinct.len(), 4, "8 jobs at 2 per process: {pids:?}");
    wait_for("the fourth retirement", || {
        pool(&rt).workers[0].retirements == 4
    });
    for p in distinct {
        assert_reaped(p);
    }
    assert_eq!(pool(&rt).workers[0].deaths, 0);
}

#[test]
fn many_jobs_use_every_worker_and_come_back_in_submit_order() {
    let rt = processes(2).build().unwrap();
    let out = rt.block_on(async {
        let jobs: Vec<_> = (0..200).map(|i| runtime::submit(square, i)).collect();
        runtime::gather(jobs).await
    });
    let out: Vec<u64> = out.into_iter().map(Result::unwrap).collect();
    assert_eq!(out, (0..200).map(|i| i * i).collect::<Vec<_>>());
    let busy = rt.block_on(async {
        let jobs: Vec<_> = (0..4).map(|_| runtime::submit(sleep_ms, 50)).collect();
        runtime::gather(jobs).await
    });
    let busy: HashSet<u32> = busy.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        busy.len(),
        2,
        "4 sleeping jobs on 2 workers use both: {busy:?}"
    );
    let m = pool(&rt);
    assert_eq!(m.workers.iter().map(|w| w.jobs_done).sum::<u64>(), 204);
    assert_eq!(m.queued, 0);
}

#[test]
fn a_large_payload_and_result_cross_in_both_directions() {
    let rt = processes(2).build().unwrap();
    let big: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
    let expected: Vec<u8> = big.iter().rev().copied().collect();
    let out = rt.block_on(async {
        let jobs: Vec<_> = (0..3)
            .map(|_| runtime::submit(reverse, big.clone()))
            .collect();
        runtime::gather(jobs).await
    });
    for r in out {
        assert!(r.unwrap() == expected);
    }
}

/// The loop runs on whichever thread calls `block_on`. Each worker socket keeps a read in
/// flight on the loop's ring, submitted by the thread that ran the loop last, and that
/// thread may exit with it in flight (an operation the kernel cancels for that reason is
/// submitted again by the ring, `driver/ring.rs`: the worker sockets no longer treat
/// `ECANCELED` specially). Here every round trip runs the loop on a fresh thread that
/// parks with the next reads in flight and exits: no connection is lost.
#[test]
fn the_loop_run_from_threads_that_exit_keeps_reading_its_workers() {
    let rt = processes(2).build().unwrap();
    let h = rt.handle();
    for i in 0..20u64 {
        let h = h.clone();
        let got = std::thread::spawn(move || {
            h.block_on(async move {
                let r = runtime::submit(square, i).await;
                // The loop parks here: the sockets' next reads reach the kernel from
                // this thread, which then exits with them in flight.
                runtime::sleep(Duration::from_millis(2)).await;
                r
            })
        })
        .join()
        .expect("the thread ran the loop");
        assert_eq!(got.unwrap(), i * i);
    }
    let m = pool(&rt);
    let lost: u64 = m.workers.iter().map(|w| w.deaths + w.replacements).sum();
    assert_eq!(lost, 0, "no connection ended: {m:?}");
}

#[test]
fn large_jobs_submitted_from_plain_threads_cross_while_join_runs_the_loop() {
    // Nobody runs the loop when these are submitted: what does not fit in a worker's
    // socket buffer waits in its outbox, and the loop that `join` runs writes it (and
    // reads the results), from whichever thread joins.
    let rt = processes(2).build().unwrap();
    let big: Vec<u8> = (0..3 * 1024 * 1024).map(|i| (i % 253) as u8).collect();
    let expected: Vec<u8> = big.iter().rev().copied().collect();
    let handles: Vec<_> = (0..4).map(|_| rt.submit(reverse, big.clone())).collect();
    std::thread::scope(|s| {
        for h in handles {
            let expected = &expected;
            s.spawn(move || assert!(h.join().unwrap() == *expected));
        }
    });
}

#[test]
fn a_panic_in_a_job_is_a_panic_with_its_message() {
    let rt = processes(1).build().unwrap();
    let e = rt.submit(explode, 50).join().unwrap_err();
    assert!(e.is_panic() && !e.is_cancelled(), "{e}");
    assert_eq!(e.panic_message(), Some("item 50 exploded"));
    // The worker survived its job's panic.
    assert_eq!(pool(&rt).workers[0].deaths, 0);
    assert_eq!(rt.submit(square, 5).join().unwrap(), 25);
}

#[test]
fn a_runtime_built_on_a_thread_that_exits_keeps_its_workers() {
    // PR_SET_PDEATHSIG fires when the forking *thread* dies: the fork server is forked by
    // a long-lived forker thread, so this runtime's pool outlives its builder thread.
    let rt = std::thread::spawn(|| processes(1).build().unwrap())
        .join()
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(rt.submit(square, 7).join().unwrap(), 49);
    assert_eq!(pool(&rt).workers[0].deaths, 0);
}

/// Builds a Processes runtime of its own inside a worker process.
fn nested(x: u64) -> (u32, u32, u64) {
    let rt = processes(1).build().unwrap();
    let inner = rt.submit(pid, ()).join().unwrap();
    (
        std::process::id(),
        inner,
        rt.submit(square, x).join().unwrap(),
    )
}

#[test]
fn a_job_can_build_a_processes_runtime_of_its_own() {
    // The worker inherits this process's forker handle, for a thread it does not have:
    // it must start its own rather than wait forever on the copy.
    let rt = processes(1).build().unwrap();
    let (outer, inner, v) = rt.submit(nested, 6).join().unwrap();
    assert_eq!(v, 36);
    let me = std::process::id();
    assert!(
        outer != me && inner != me && inner != outer,
        "{me} {outer} {inner}"
    );
}

// ---- map -----------------------------------------------------------------------------

#[test]
fn map_keeps_argument_order_whatever_the_chunksize() {
    let rt = processes(2).build().unwrap();
    for chunksize in [1, 7, 100, 1000, 5000] {
        let out = rt.map(square, 0..1000u64, chunksize).join().unwrap();
        assert_eq!(
            out,
            (0..1000).map(|i| i * i).collect::<Vec<_>>(),
            "chunksize {chunksize}"
        );
    }
    // Chunks that finish out of order still come back in order.
    let out = rt
        .block_on(async { runtime::map(slow_early, 0..100u64, 10).await })
        .unwrap();
    assert_eq!(out, (1..=100).collect::<Vec<_>>());
    // One job per chunk.
    let before: u64 = pool(&rt).workers.iter().map(|w| w.jobs_done).sum();
    rt.map(square, 0..1000u64, 100).join().unwrap();
    let after: u64 = pool(&rt).workers.iter().map(|w| w.jobs_done).sum();
    assert_eq!(after - before, 10);
    assert!(rt.map(square, Vec::new(), 3).join().unwrap().is_empty());
}

#[test]
fn map_fails_with_the_first_failing_chunk() {
    let rt = processes(2).build().unwrap();
    let e = rt.map(explode, 0..100u64, 10).join().unwrap_err();
    assert!(e.is_panic(), "{e}");
    assert_eq!(e.panic_message(), Some("item 50 exploded"));
    let e = rt
        .map(plus_one, vec![Picky(2), Picky(3)], 1)
        .join()
        .unwrap_err();
    assert!(e.to_string().contains("odd value 3 refused"), "{e}");
    assert_eq!(rt.map(square, 0..4u64, 2).join().unwrap(), vec![0, 1, 4, 9]);
}

#[test]
fn map_behaves_the_same_in_every_mode() {
    for mode in Mode::ALL {
        let rt = Runtime::builder().mode(mode).workers(2).build().unwrap();
        let out = rt.map(square, 0..50u64, 8).join().unwrap();
        assert_eq!(out, (0..50).map(|i| i * i).collect::<Vec<_>>(), "{mode}");
        let e = rt.map(explode, 0..60u64, 8).join().unwrap_err();
        assert_eq!(e.panic_message(), Some("item 50 exploded"), "{mode}");
    }
}

// ---- initializer and max_jobs_per_worker ---------------------------------------------

static INIT_DIR: OnceLock<PathBuf> = OnceLock::new();

fn record_pid() {
    let dir = INIT_DIR.get().expect("set before build(): workers see it");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("init.log"))
        .unwrap();
    // One write per line: the two workers append concurrently.
    f.write_all(format!("{}\n", std::process::id()).as_bytes())
        .unwrap();
}

fn init_lines(dir: &Path) -> Vec<u32> {
    std::fs::read_to_string(dir.join("init.log"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect()
}

#[test]
fn the_initializer_runs_once_in_each_worker() {
    let dir = INIT_DIR.get_or_init(|| temp_dir("init")).clone();
    let rt = processes(2).worker_initializer(record_pid).build().unwrap();
    let ran_on: HashSet<u32> = rt
        .block_on(async {
            let jobs: Vec<_> = (0..20).map(|_| runtime::submit(sleep_ms, 5)).collect();
            runtime::gather(jobs).await
        })
        .into_iter()
        .map(Result::unwrap)
        .collect();
    wait_for("both workers to run the initializer", || {
        init_lines(&dir).len() >= 2
    });
    let lines = init_lines(&dir);
    assert_eq!(lines.len(), 2, "once per worker: {lines:?}");
    let inits: HashSet<u32> = lines.iter().copied().collect();
    assert_eq!(inits.len(), 2);
    assert!(
        ran_on.is_subset(&inits),
        "jobs ran on {ran_on:?}, inits in {inits:?}"
    );
    assert!(!inits.contains(&std::process::id()), "not in the parent");
    drop(rt);
    let _ = std::fs::remove_dir_all(dir);
}

fn failing_init() {
    panic!("no database");
}

#[test]
fn a_panicking_initializer_breaks_the_pool_with_its_message() {
    let rt = processes(2)
        .worker_initializer(failing_init)
        .build()
        .unwrap();
    let e = rt.submit(square, 3).join().unwrap_err();
    assert!(!e.is_panic() && !e.is_cancelled(), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("initializer") && msg.contains("no database"),
        "{msg}"
    );
    let m = pool(&rt);
    assert!(
        m.broken
            .as_deref()
            .is_some_and(|b| b.contains("no database")),
        "{m:?}"
    );
    // Broken, not forking forever: later jobs fail at once.
    let e = rt.submit(square, 4).join().unwrap_err();
    assert!(e.to_string().contains("no database"), "{e}");
    assert!(pool(&rt).workers.iter().all(|w| w.replacements == 0));
}

#[test]
fn max_jobs_per_worker_replaces_the_worker_process() {
    let rt = processes(1).max_jobs_per_worker(2).build().unwrap();
    let pids: Vec<u32> = (0..6).map(|_| rt.submit(pid, ()).join().unwrap()).collect();
    let mut runs: BTreeMap<u32, usize> = BTreeMap::new();
    for p in &pids {
        *runs.entry(*p).or_default() += 1;
    }
    assert_eq!(runs.len(), 3, "6 jobs, 2 per process: {pids:?}");
    assert!(runs.values().all(|&n| n == 2), "{runs:?}");
    assert_eq!(pids[0], pids[1]);
    assert_ne!(pids[1], pids[2]);
    // Each retired process exits 0, is reaped by the fork server, and is replaced.
    wait_for("the third retirement and replacement", || {
        let w = &pool(&rt).workers[0];
        w.retirements == 3 && w.replacements == 3
    });
    for p in runs.keys() {
        assert_reaped(*p);
    }
    let w = &pool(&rt).workers[0];
    assert_eq!((w.deaths, w.jobs_done), (0, 6), "{w:?}");
    // Concurrent jobs respect the limit too.
    let many = rt.block_on(async {
        let jobs: Vec<_> = (0..10).map(|_| runtime::submit(pid, ())).collect();
        runtime::gather(jobs).await
    });
    let distinct: HashSet<u32> = many.into_iter().map(Result::unwrap).collect();
    assert_eq!(distinct.len(), 5, "10 jobs at 2 per process");
}

// ---- crashes -------------------------------------------------------------------------

fn a_crash_fails_only_its_job(how: Crash, expect: &str) {
    let rt = processes(2).build().unwrap();
    let fork_server = pool(&rt).fork_server_pid;
    let me = std::process::id();
    let dead = rt.block_on(async {
        let slow = runtime::submit(sleep_ms, 200); // keeps the other worker busy
        let crashed = runtime::submit(crash, how);
        let after: Vec<_> = (0..100u64).map(|i| runtime::submit(square, i)).collect();
        let e = crashed.await.unwrap_err();
        assert!(!e.is_cancelled() && !e.is_panic(), "{how:?}: {e}");
        let msg = e.to_string();
        assert!(
            msg.contains("died while running this job") && msg.contains(expect),
            "{how:?}: {msg}"
        );
        let dead: u32 = msg
            .split("worker process ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the message names the process: {msg}"));
        assert_ne!(slow.await.unwrap(), dead, "the other worker went on");
        for (i, h) in after.into_iter().enumerate() {
            assert_eq!(
                h.await.unwrap(),
                (i * i) as u64,
                "{how:?}: job {i} after the crash"
            );
        }
        dead
    });
    let m = pool(&rt);
    assert_eq!(m.workers.iter().map(|w| w.deaths).sum::<u64>(), 1, "{m:?}");
    assert_eq!(
        m.workers.iter().map(|w| w.replacements).sum::<u64>(),
        1,
        "{m:?}"
    );
    assert!(m.broken.is_none());
    assert!(
        !m.workers.iter().any(|w| w.pid == Some(dead)),
        "replaced: {m:?}"
    );
    assert_reaped(dead);
    assert_no_zombies(&[fork_server, me]);
    // And the pool still takes work.
    assert_eq!(rt.map(square, 0..100u64, 10).join().unwrap().len(), 100);
}

#[test]
fn a_worker_killed_by_sigkill_fails_only_its_job() {
    a_crash_fails_only_its_job(Crash::Kill, "killed by signal 9 (SIGKILL)");
}

#[test]
fn a_worker_that_aborts_fails_only_its_job() {
    a_crash_fails_only_its_job(Crash::Abort, "killed by signal 6 (SIGABRT");
}

#[test]
fn a_worker_that_segfaults_fails_only_its_job() {
    a_crash_fails_only_its_job(Crash::Segfault, "killed by signal 11 (SIGSEGV");
}

#[test]
fn a_worker_that_exits_fails_only_its_job() {
    a_crash_fails_only_its_job(Crash::Exit3, "exit code 3");
}

#[test]
fn a_busy_worker_is_sent_its_next_job_ahead() {
    // Once a result comes back with jobs queued, the worker gets the next job and one
    // more to start as soon as it is done (no idle gap waiting for the parent).
    let rt = processes(1).build().unwrap();
    rt.block_on(async {
        let jobs: Vec<_> = (0..4).map(|_| runtime::submit(sleep_ms, 50)).collect();
        let mut jobs = jobs.into_iter();
        jobs.next().unwrap().await.unwrap();
        let w = &pool(&rt).workers[0];
        assert_eq!((w.running, pool(&rt).queued), (2, 1), "{w:?}");
        for h in jobs {
            h.await.unwrap();
        }
    });
}

#[test]
fn a_job_sent_ahead_to_a_worker_that_dies_runs_in_its_replacement() {
    let rt = processes(1).build().unwrap();
    rt.block_on(async {
        let first = runtime::submit(pid, ());
        let crashed = runtime::submit(crash, Crash::Kill);
        let after = runtime::submit(pid, ());
        let first = first.await.unwrap();
        // `crashed` went out with `first`'s result, `after` ahead of it.
        let e = crashed.await.unwrap_err();
        assert!(e.to_string().contains("died while running this job"), "{e}");
        let later = after.await.expect("never started, so sent again: it runs");
        assert_ne!(later, first, "in the replacement");
    });
    let w = &pool(&rt).workers[0];
    assert_eq!((w.deaths, w.replacements), (1, 1), "{w:?}");
}

#[test]
fn crashes_in_a_row_never_break_the_pool() {
    let rt = processes(2).build().unwrap();
    for round in 0..5 {
        let hows = [Crash::Kill, Crash::Abort, Crash::Segfault, Crash::Exit3];
        let out = rt.block_on(async {
            let crashes: Vec<_> = hows.iter().map(|h| runtime::submit(crash, *h)).collect();
            let fine: Vec<_> = (0..20u64).map(|i| runtime::submit(square, i)).collect();
            (runtime::gather(crashes).await, runtime::gather(fine).await)
        });
        assert!(out.0.iter().all(|r| r.is_err()), "round {round}");
        assert!(out.1.into_iter().all(|r| r.is_ok()), "round {round}");
    }
    let m = pool(&rt);
    assert_eq!(m.workers.iter().map(|w| w.deaths).sum::<u64>(), 20, "{m:?}");
    assert_no_zombies(&[m.fork_server_pid]);
}

// ---- payloads that do not cross ------------------------------------------------------

#[test]
fn payloads_that_do_not_serialise_fail_only_their_job() {
    let rt = processes(2).build().unwrap();
    rt.block_on(async {
        // The argument does not serialise (in this process).
        let a = runtime::submit(plus_one, Picky(3));
        // The result does not serialise (in the worker).
        let b = runtime::submit(plus_one, Picky(2));
        // The argument does not deserialise (in the worker).
        let c = runtime::submit(takes_one_way, OneWay(1));
        // The result does not deserialise (in this process).
        let d = runtime::submit(gives_one_way, 5);
        let ok = runtime::submit(square, 3);
        let expect = [
            (
                a.await.map(drop),
                "could not serialise the argument of submit: odd value 3 refused",
            ),
            (
                b.await.map(drop),
                "could not serialise the result in worker process",
            ),
            (
                c.await.map(drop),
                "could not deserialise the argument in worker process",
            ),
            (
                d.await.map(drop),
                "could not deserialise the result: OneWay never deserialises",
            ),
        ];
        for (out, want) in expect {
            let e = out.unwrap_err();
            assert!(!e.is_panic() && !e.is_cancelled(), "{e}");
            assert!(e.to_string().contains(want), "{e} should say {want:?}");
        }
        let e = runtime::submit(plus_one, Picky(6)).await.unwrap_err();
        assert!(e.to_string().contains("odd value 7 refused"), "{e}");
        assert_eq!(ok.await.unwrap(), 9, "the jobs around them are fine");
    });
    // Nothing died on the way.
    let m = pool(&rt);
    let lost: u64 = m.workers.iter().map(|w| w.deaths + w.replacements).sum();
    assert_eq!(lost, 0, "no connection ended: {m:?}");
    assert_eq!(rt.submit(square, 8).join().unwrap(), 64);
}

// ---- cancellation --------------------------------------------------------------------

#[test]
fn cancelling_a_queued_job_skips_it() {
    let dir = temp_dir("cancel");
    let skipped = dir.join("skipped").to_string_lossy().into_owned();
    let later = dir.join("later").to_string_lossy().into_owned();
    let rt = processes(1).build().unwrap();
    rt.block_on(async {
        let busy = runtime::submit(sleep_ms, 300);
        let s = runtime::submit(touch, skipped.clone());
        let l = runtime::submit(touch, later.clone());
        assert!(s.cancel());
        assert!(s.await.unwrap_err().is_cancelled());
        busy.await.unwrap();
        assert!(l.await.unwrap(), "FIFO: the job after the skipped one ran");
    });
    assert!(Path::new(&later).exists());
    assert!(
        !Path::new(&skipped).exists(),
        "a cancelled queued job never runs"
    );
    let _ = std::fs::remove_dir_all(dir);
}

// ---- async jobs ----------------------------------------------------------------------

static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static MOST: AtomicUsize = AtomicUsize::new(0);

/// Returns the most jobs this process had in flight at once when it finished.
async fn overlapping(ms: u64) -> usize {
    let now = IN_FLIGHT.fetch_add(1, Ordering::SeqCst) + 1;
    MOST.fetch_max(now, Ordering::SeqCst);
    runtime::sleep(Duration::from_millis(ms)).await;
    IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    MOST.load(Ordering::SeqCst)
}

async fn async_boom(_: ()) -> u32 {
    runtime::yield_now().await;
    panic!("async boom")
}

#[test]
fn async_jobs_overlap_inside_one_worker() {
    let rt = processes(1).build().unwrap();
    let most = rt.block_on(async {
        let jobs: Vec<_> = (0..20)
            .map(|_| runtime::submit_async(overlapping, 100))
            .collect();
        runtime::gather(jobs).await
    });
    let most = most.into_iter().map(Result::unwrap).max().unwrap();
    assert!(
        most > 1,
        "20 sleeping jobs on one worker overlapped ({most} at once)"
    );
    assert_eq!(
        MOST.load(Ordering::SeqCst),
        0,
        "they ran in the worker, not here"
    );
    // A sync job and async jobs share the worker.
    assert_eq!(rt.submit(square, 9).join().unwrap(), 81);
    let e = rt.submit_async(async_boom, ()).join().unwrap_err();
    assert_eq!(e.panic_message(), Some("async boom"));
    assert_eq!(pool(&rt).workers[0].deaths, 0);
}

#[test]
fn max_async_jobs_per_worker_bounds_the_overlap() {
    let rt = processes(1).max_async_jobs_per_worker(3).build().unwrap();
    let most = rt.block_on(async {
        let jobs: Vec<_> = (0..12)
            .map(|_| runtime::submit_async(overlapping, 30))
            .collect();
        runtime::gather(jobs).await
    });
    let most = most.into_iter().map(Result::unwrap).max().unwrap();
    assert!(
        (2..=3).contains(&most),
        "at most 3 at once, and some overlap: {most}"
    );
}

// ---- the virtual clock ---------------------------------------------------------------

#[test]
fn the_virtual_clock_waits_for_jobs_in_workers() {
    let rt = processes(1).clock(Clock::Virtual).build().unwrap();
    assert_eq!(rt.clock(), Clock::Virtual);
    let t0 = rt.time();
    // The job takes 200 ms of real time; virtual time must not run out meanwhile.
    let out = rt.block_on(async {
        runtime::timeout(Duration::from_secs(1), runtime::submit(sleep_ms, 200)).await
    });
    assert!(out.is_ok(), "the timeout fired while the worker was busy");
    assert_eq!(rt.time(), t0, "time did not move");
    rt.block_on(runtime::sleep(Duration::from_secs(3600)));
    assert_eq!(rt.time() - t0, Duration::from_secs(3600));
}

// ---- shutdown and the parent's death ---------------------------------------------------

#[test]
fn dropping_the_runtime_with_running_and_queued_jobs_kills_and_reaps_everything() {
    let rt = processes(2).build().unwrap();
    let fork_server = pool(&rt).fork_server_pid;
    let jobs: Vec<_> = (0..10).map(|_| rt.submit(sleep_ms, 20_000)).collect();
    wait_for("both workers busy", || {
        pool(&rt)
            .workers
            .iter()
            .all(|w| w.running == 1 && w.pid.is_some())
    });
    let workers: Vec<u32> = pool(&rt).workers.iter().filter_map(|w| w.pid).collect();
    assert_eq!(pool(&rt).queued, 8);
    let start = Instant::now();
    support::drop_runtime(rt);
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "shutdown waited {took:?} for 20 s jobs"
    );
    for h in jobs {
        assert!(h.join().unwrap_err().is_cancelled());
    }
    for p in workers.iter().chain([&fork_server]) {
        assert_reaped(*p);
    }
    assert_no_zombies(&[std::process::id(), fork_server]);
}

#[test]
fn dropping_an_idle_runtime_right_after_build_reaps_everything() {
    for _ in 0..5 {
        let rt = processes(2).build().unwrap();
        let fork_server = pool(&rt).fork_server_pid;
        support::drop_runtime(rt);
        assert_reaped(fork_server);
    }
}

const CHILD_ENV: &str = "RUNTIME_PROCESSES_TEST_CHILD";

#[test]
fn parent_exit_with_busy_workers_leaves_no_worker_behind() {
    if std::env::var_os(CHILD_ENV).is_some() {
        // The child: busy workers, then exit without dropping the runtime.
        let rt = processes(2).build().unwrap();
        let jobs: Vec<_> = (0..4).map(|_| rt.submit(sleep_ms, 60_000)).collect();
        wait_for("both workers busy", || {
            pool(&rt)
                .workers
                .iter()
                .all(|w| w.running == 1 && w.pid.is_some())
        });
        let m = pool(&rt);
        let pids: Vec<String> = std::iter::once(m.fork_server_pid)
            .chain(m.workers.iter().filter_map(|w| w.pid))
            .map(|p| p.to_string())
            .collect();
        println!("PIDS {}", pids.join(" "));
        std::io::stdout().flush().unwrap();
        std::mem::forget(jobs);
        std::process::exit(0);
    }
    let name = "parent_exit_with_busy_workers_leaves_no_worker_behind";
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap();
    // Read on a thread: if the workers outlived the child, they would keep the pipe open
    // and a read to EOF would hang.
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            // libtest's "test NAME ... " precedes it on the same line.
            if let Some(at) = line.find("PIDS ") {
                let _ = tx.send(line[at + 5..].trim().to_string());
                return;
            }
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the child printed its pids");
    let pids: Vec<u32> = line.split(' ').map(|p| p.parse().unwrap()).collect();
    assert_eq!(pids.len(), 3, "fork server and 2 workers: {line}");
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    for p in pids {
        assert_dead(p);
    }
}

// ---- the shared behaviour tests also run here -----------------------------------------

async fn add_later(x: u64) -> u64 {
    runtime::yield_now().await;
    runtime::sleep(Duration::from_millis(1)).await;
    x + 1
}

rt_test! {
    fn submit_map_and_submit_async_work_the_same_in_every_mode(rt: &Runtime) {
        assert_eq!(rt.submit(square, 11).join().unwrap(), 121);
        let e = rt.submit(explode, 50).join().unwrap_err();
        assert_eq!(e.panic_message(), Some("item 50 exploded"));
        assert_eq!(rt.block_on(async { runtime::submit_async(add_later, 1).await.unwrap() }), 2);
        assert_eq!(rt.map(square, 0..10u64, 3).join().unwrap()[9], 81);
    }
}
