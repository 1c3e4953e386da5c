//! A worker process (steps 4, 7 and 8 of the protocol in `procs/mod.rs`).
//!
//! The main thread reads frames from fd 3. A sync job runs right there; an async job's
//! future is spawned on the worker's own `Single` loop, which runs on a second thread
//! started at the first async job. Results are written by whichever thread finishes the
//! job, one whole frame at a time under a lock created in this process.

use crate::loom::Mutex;
use std::cell::Cell;
use std::future::Future;
use std::io;
use std::os::fd::RawFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::fork_server::{die_with_parent, exit, keep_only};
use super::ipc::{self, FrameReader};
use super::spin;
use super::{kind, AsyncTrampoline, JobFuture, JobOutput, SyncTrampoline, WorkerSettings};
use crate::task::panic_message;
use crate::{Config, Scheduler};

/// How long a worker polls for its next job after a sync job, before it sleeps in
/// `recvmsg` (`spin.rs`): the parent answers a result with the next job (a `submit` in a
/// loop, a queued job) within a few microseconds of reading it.
const NEXT_JOB_SPIN: std::time::Duration = std::time::Duration::from_micros(50);

thread_local! {
    /// Set while user code (a job, the initializer) runs on this thread.
    static IN_JOB: Cell<bool> = const { Cell::new(false) };
}

fn in_job<T>(f: impl FnOnce() -> T) -> T {
    let prev = IN_JOB.with(|j| j.replace(true));
    let out = f();
    IN_JOB.with(|j| j.set(prev));
    out
}

/// Installs, once per process and in the parent (before the first fork), a panic hook
/// that stays silent for a panic inside a worker's job (its message travels to the
/// parent in the job's `JoinError`) and otherwise calls the hook that was there before:
/// in the parent, nothing changes.
///
/// Not in the fork server: `set_hook` takes std's hook lock for writing, and a parent
/// thread that was panicking at the instant of the fork left that lock read-locked in
/// the child's memory forever (observed: a fork server stuck there while another test
/// panicked).
pub(crate) fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_JOB.with(|j| j.get()) {
                prev(info)
            }
        }));
    });
}

/// The worker's life: never returns.
pub(crate) fn run(sock: RawFd, parent: rustix::process::Pid, settings: WorkerSettings) -> ! {
    let code = catch_unwind(AssertUnwindSafe(|| main(sock, parent, settings))).unwrap_or(101);
    exit(code)
}

/// Writes whole frames to the parent from either thread.
struct Out {
    lock: Mutex<()>,
    /// The channel to the parent, descriptor 3, held for the process's life.
    channel: std::os::fd::OwnedFd,
}

impl Out {
    fn send(&self, id: u64, kind: u8, body: &[u8]) -> io::Result<()> {
        let _g = self.lock.lock();
        ipc::send_frame(std::os::fd::AsFd::as_fd(&self.channel), id, kind, body)
    }

    fn result(&self, id: u64, out: JobOutput) -> io::Result<()> {
        match out {
            JobOutput::Ok(b) if b.len() > ipc::MAX_BODY => self.send(
                id,
                kind::RESULT_FAILED,
                format!(
                    "the serialised result ({} bytes) is larger than a frame can carry",
                    b.len()
                )
                .as_bytes(),
            ),
            JobOutput::Ok(b) => self.send(id, kind::RESULT_OK, &b),
            JobOutput::Panicked(m) => self.send(id, kind::RESULT_PANIC, m.as_bytes()),
            JobOutput::Failed(m) => self.send(id, kind::RESULT_FAILED, m.as_bytes()),
        }
    }
}

fn main(sock: RawFd, parent: rustix::process::Pid, settings: WorkerSettings) -> i32 {
    if !die_with_parent(parent) {
        return 1;
    }
    let out = Arc::new(Out {
        lock: Mutex::new(()),
        channel: keep_only(sock),
    });
    if let Some(init) = settings.initializer {
        if let Err(p) = in_job(|| catch_unwind(init)) {
            let _ = out.send(0, kind::INIT_FAILED, panic_message(p.as_ref()).as_bytes());
            return 70;
        }
    }
    if out
        .send(0, kind::READY, &std::process::id().to_le_bytes())
        .is_err()
    {
        return 0;
    }
    let mut reader = FrameReader::new(std::os::fd::AsFd::as_fd(&out.channel));
    let mut lp: Option<Scheduler> = None;
    let next_job = spin::SpinPolicy::default();
    loop {
        let frame = match reader.read() {
            Ok(Some(f)) => f,
            // EOF: the parent retired this worker, dropped the runtime, or died.
            Ok(None) | Err(_) => return 0,
        };
        if frame.body.len() < 16 {
            return 3;
        }
        let word = |i: usize| {
            u64::from_le_bytes(frame.body[i..i + 8].try_into().expect("8 bytes")) as usize
        };
        let (tramp, func) = (word(0), word(8));
        let payload = &frame.body[16..];
        match frame.kind {
            kind::JOB_SYNC => {
                // SAFETY: the parent sent the address of a `SyncTrampoline` of its own
                // image; this process is a fork of it (through the fork server), with the
                // same image at the same addresses, so the address is that function here.
                let t = unsafe { std::mem::transmute::<usize, SyncTrampoline>(tramp) };
                let output = in_job(|| {
                    // SAFETY: `func` is the function this trampoline was instantiated
                    // for: the parent built both addresses together (`Job`).
                    catch_unwind(AssertUnwindSafe(|| unsafe { t(func, payload) }))
                })
                .unwrap_or_else(|p| JobOutput::Panicked(panic_message(p.as_ref())));
                if out.result(frame.id, output).is_err() {
                    return 0;
                }
                // Wait for the next job awake: a parent polling for this result would
                // otherwise wake this process from its sleep for every job (`spin.rs`).
                if !reader.has_buffered() && next_job.should_poll() {
                    match reader.poll_for(NEXT_JOB_SPIN) {
                        Ok(hit) => next_job.record(hit),
                        Err(_) => return 0,
                    }
                }
            }
            kind::JOB_ASYNC => {
                // SAFETY: as for JOB_SYNC, with an `AsyncTrampoline`.
                let t = unsafe { std::mem::transmute::<usize, AsyncTrampoline>(tramp) };
                // SAFETY: as for JOB_SYNC: `func` matches the trampoline.
                let fut = in_job(|| catch_unwind(AssertUnwindSafe(|| unsafe { t(func, payload) })));
                let fut = match fut {
                    Ok(f) => f,
                    Err(p) => {
                        let m = JobOutput::Panicked(panic_message(p.as_ref()));
                        if out.result(frame.id, m).is_err() {
                            return 0;
                        }
                        continue;
                    }
                };
                if lp.is_none() {
                    lp = start_loop();
                }
                let Some(sched) = &lp else {
                    let m = JobOutput::Failed("the worker could not start its loop thread".into());
                    if out.result(frame.id, m).is_err() {
                        return 0;
                    }
                    continue;
                };
                let (out, id) = (out.clone(), frame.id);
                sched.spawn_named("job", async move {
                    let output = CatchUnwind(fut).await;
                    if out.result(id, output).is_err() {
                        // The parent is gone: end the process at once.
                        exit(0);
                    }
                });
            }
            _ => return 3,
        }
    }
}

/// The worker's own `Single` loop for async jobs, running on its own thread.
fn start_loop() -> Option<Scheduler> {
    // Spelled out rather than `..Config::default()`, which would count CPUs (reading
    // cgroup files through a `Once` a parent thread may have been running at the fork).
    let cfg = Config {
        workers: 1,
        clock: crate::ClockKind::Real,
        io_uring: false,
        blocking_threads: 64,
        blocking_keep_alive: std::time::Duration::from_secs(10),
        pin_workers: false,
        long_poll_threshold: None,
        gil: None,
        label: "single",
        processes: crate::ProcessConfig::default(),
    };
    let (sched, _) = Scheduler::single(&cfg);
    let s = sched.clone();
    std::thread::Builder::new()
        .name("runtime-worker-loop".into())
        .spawn(move || {
            s.run_forever();
        })
        .ok()?;
    Some(sched)
}

/// Turns a panic while polling the job's future into its output.
struct CatchUnwind(JobFuture);

impl Future for CatchUnwind {
    type Output = JobOutput;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<JobOutput> {
        let fut = &mut self.0;
        match in_job(|| catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx)))) {
            Ok(p) => p,
            Err(p) => Poll::Ready(JobOutput::Panicked(panic_message(p.as_ref()))),
        }
    }
}
