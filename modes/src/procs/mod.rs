//! `Processes`: the parent runs a `Single` loop; submitted work runs in forked worker
//! processes, over `AF_UNIX` sockets.
//!
//! `modes` moves bytes only: a [`Job`] is a trampoline, a function address and a payload,
//! all built by the `runtime` crate (which owns serialisation). The worker calls the
//! trampoline with the function address and the payload; the trampoline deserialises the
//! argument, calls the function, and serialises the result (or reports the panic).
//!
//! # Processes and descriptors
//!
//! ```text
//!  parent (any number of threads)          fork server (1 thread)       workers
//!  ┌──────────────────────────────┐  ctl   ┌──────────────────┐ fork ┌──────────┐
//!  │ Single loop: tasks, timers,  │◄──────►│ poll(ctl, pidfds)├─────►│ worker 0 │
//!  │   the worker sockets' I/O    │        │ waitpid, reports │      └──────────┘
//!  │ "runtime-proc-control" reader│◄──── one socket per worker ─────►│ worker 1 │
//!  └──────────────────────────────┘                                   └──────────┘
//! ```
//!
//! # Files
//!
//! | file | holds |
//! |---|---|
//! | `pool.rs` | the pool's state, `start`, `submit`, spawning a worker, breaking, `shutdown` |
//! | `dispatch.rs` | the queues and the dispatch rule (which job goes to which worker) |
//! | `conn.rs` | the parent's end of a worker socket and its outbox (direct, non-blocking writes) |
//! | `sockets.rs` | the worker sockets as I/O of the parent's loop: reads, outbox writes |
//! | `inbound.rs` | what a worker says: `READY`, `INIT_FAILED`, results |
//! | `death.rs` | the end of a worker's connection: exit status, failed jobs, replacement |
//! | `control.rs` | the control socket's reader thread (spawn replies, exit reports) |
//! | `exit_status.rs` | a wait status in words |
//! | `reply.rs` | the one-shot from the pool to the task awaiting a job, and `in_flight` |
//! | `spin.rs` | polling for the other side before sleeping (both sides of a round trip) |
//! | `ipc.rs` | framing, `SCM_RIGHTS`, the socket pair |
//! | `fork_server.rs`, `worker.rs` | the two kinds of child process |
//!
//! # The protocol, step by step
//!
//! Framing (both directions, every socket): `[u32 len][u64 id][u8 kind][body]`, see
//! `procs/ipc.rs`.
//!
//! 1. **Build.** `Pool::start` creates the control `socketpair(AF_UNIX,
//!    SOCK_STREAM|SOCK_CLOEXEC)` and asks the *forker thread* to fork the fork server.
//!    This happens before anything else of the pool (or the parent's loop) exists.
//! 2. **Fork server start.** It sets `PR_SET_PDEATHSIG = SIGKILL`, then checks
//!    `getppid()` (the parent may have died before the `prctl`); moves the control socket
//!    to fd 3 and closes every other descriptor above 2 (inherited sockets of other
//!    runtimes would otherwise never see EOF); ignores `SIGINT` (Ctrl-C is the parent's
//!    to handle; the parent's death kills the pool anyway); resets `SIGCHLD` to its default (so
//!    children are not reaped behind its back) and watches each worker through a pidfd
//!    (`pidfd_open`, Linux 5.3; without it, it polls with a 20 ms timeout and reaps). (The panic hook that keeps a job's panic silent in the worker was
//!    installed in the parent, before the first fork: see below.)
//! 3. **Spawn a worker.** For slot `s`, incarnation `g`, the parent creates a worker
//!    `socketpair`, keeps one end, and sends `SPAWN(id = g << 32 | s)` with the other end
//!    attached (`SCM_RIGHTS`) on the control socket, then closes its copy of that end. The
//!    fork server forks; the child becomes the worker; the fork server closes the
//!    descriptor and replies `SPAWNED(id, pid)` (or `SPAWN_FAILED(id, errno)`).
//! 4. **Worker start.** `PR_SET_PDEATHSIG = SIGKILL` + `getppid()` check (its parent is the
//!    fork server, which itself dies with the parent: so workers die with the parent);
//!    its socket moves to fd 3, every other descriptor above 2 is closed (its signal
//!    mask is that of the parent's forker thread). It runs the initializer, if any
//!    (`INIT_FAILED(msg)` and exit if it panics), then sends `READY(pid)`.
//! 5. **Submit.** The parent spawns an ordinary loop task that awaits a one-shot, and
//!    queues the job (FIFO; sync and async jobs in separate queues). Dispatch rule: a
//!    worker runs one sync job at a time on its main thread, and is sent no async job
//!    meanwhile; async jobs go to workers without a sync job, up to
//!    `max_async_jobs_per_worker` each; the least loaded worker wins (an idle one first).
//!    When a result comes back and jobs are queued, a worker running a sync job may also
//!    be sent the next sync job *ahead*: it waits in the worker's socket and starts the
//!    moment the current one ends, instead of after a round trip to the parent. A queued
//!    job whose task was cancelled is skipped at dispatch; a job sent ahead is no longer
//!    queued (as Python's call queue: cancelling its task then drops its result, the
//!    worker still runs it). A job just submitted is never sent ahead, only queued.
//! 6. **Send.** `JOB_SYNC` / `JOB_ASYNC(id, [u64 trampoline][u64 function][payload])`. The
//!    dispatching thread (whichever submitted, or the loop) writes without blocking
//!    (`conn.rs`); whatever does not fit in the socket buffer waits in the connection's
//!    outbox, in order, and the parent's loop writes it as an ordinary I/O operation
//!    (`sockets.rs`). No parent thread ever blocks on a write to a worker, so a worker
//!    blocked writing a large result can always be drained.
//! 7. **Run.** The worker's main thread reads frames. A sync job runs right there; an async
//!    job's future is spawned on the worker's own `Single` loop (created at the first
//!    async job, on its own thread), so several overlap. After a sync job's result the
//!    worker polls its socket for the next job for up to 50 us (yielding its core between
//!    polls) before it sleeps in `recvmsg`; the parent's loop likewise polls for a result
//!    for up to 100 us before it parks (`spin.rs`: why, and when either stops polling).
//! 8. **Result.** `RESULT_OK(id, bytes)`, `RESULT_PANIC(id, message)` or
//!    `RESULT_FAILED(id, reason)`. Each worker socket has one read in flight on the
//!    parent's loop (its io_uring ring, or the readiness reactor where io_uring is
//!    refused); the loop cuts the bytes into frames at its next iteration and, on its own
//!    thread, completes the reply (waking the task that awaits it: a local wake) and
//!    dispatches the next queued job (`sockets.rs`, `inbound.rs`). While no thread runs
//!    the loop, results wait in the socket, as the loop's tasks wait: `join` on a job's
//!    handle runs the loop, from any thread.
//! 9. **Retire.** With `max_jobs_per_worker(n)`, a worker is sent n jobs; once they are all
//!    back, the parent shuts down its write side; the worker reads EOF and exits 0, and a
//!    replacement is spawned (3-4).
//! 10. **Death.** A worker that dies (signal, `abort`, `exit`) closes its socket. The fork
//!     server reaps it (`waitpid` when its pidfd is readable) and reports `EXITED(pid, status)`. The
//!     end is handled once per connection (`death.rs`), by whichever sees it first: the
//!     loop, reading EOF (at once if the report is in, else a short-lived
//!     `runtime-proc-reap` thread waits for it, bounded, so the loop never blocks), or the
//!     control reader, on the report, when the socket can hold nothing the pool needs (no
//!     job running, no initializer outcome pending; so a retired or idle worker is
//!     replaced even while no thread runs the loop). Only the jobs that worker was running
//!     fail, with the signal or exit code in the message, after everything it sent before
//!     dying was read (a job sent ahead that it had not started goes back to the front of
//!     the queue: of its sync jobs only the oldest can have started); a replacement is
//!     spawned (3-4). Queued jobs and other workers go
//!     on. A worker that dies before `READY` while an initializer is set breaks the pool
//!     (every later job fails at once with the reason) instead of forking forever.
//! 11. **Shutdown** (dropping the runtime). The loop's tasks are cancelled first, and the
//!     sockets' pending operations are dropped while the loop's ring still exists; then
//!     the pool drops queued jobs, shuts down every worker socket and the control socket.
//!     On EOF the fork server sends `SIGKILL` to every worker, reaps them and exits; the
//!     parent's control reader reaps the fork server. Every wait is bounded (the fork
//!     server is killed if it does not exit in time): shutdown never hangs and leaves no
//!     zombie, no thread and no descriptor.
//!
//! # System calls and `unsafe`
//!
//! Every system call goes through rustix (socketpair, send/recv, `SCM_RIGHTS` with
//! `sendmsg`/`recvmsg`, shutdown, poll, kill, waitpid, pidfd_open, getpid/getppid,
//! `PR_SET_PDEATHSIG`), except where rustix has no safe call, for a reason: `fork`
//! (what the child may do is the hazard; rustix offers it only in its unstable `runtime`
//! module), `_exit` (same), the two signal dispositions of the fork server (no safe
//! `sigaction`), and closing the inherited descriptors of a freshly forked child (closing
//! descriptors no `OwnedFd` holds is what I/O safety forbids). The other `unsafe` blocks
//! are not system calls: the forker's pid-tagged pointer, borrowing the control socket
//! from its `FdSlot`, and the trampolines' function addresses (`worker.rs`).
//!
//! # Fork safety: what holds when the runtime is built after other threads exist
//!
//! `fork` copies only the calling thread. Everything else in the parent (other threads,
//! and any lock they held at that instant) is frozen in the child's copy of memory.
//! - The fork server is forked by a dedicated, idle **forker thread** that lives as long
//!   as the process. `PR_SET_PDEATHSIG` fires when the *thread* that forked dies, not the
//!   process: forking from the thread that called `build()` would kill the pool as soon
//!   as that thread exited (a runtime built on one thread and used from another).
//! - The fork server is single-threaded from its first instruction and only forks, reaps
//!   and writes frames: no `println!`, no environment access, no std lock. It allocates,
//!   which glibc makes fork-safe (its `fork` resets the allocator's locks in the child).
//! - Workers are forked from that single-threaded server, so their memory is consistent,
//!   except for locks some parent thread held at the moment the fork server was forked:
//!   std's stdout/stderr locks, the panic-hook lock, the environment lock, locks in user
//!   statics. A job that takes such a lock would block forever. Build the runtime early
//!   (before other threads print or panic) to rule this out. The pool's own code in the
//!   fork server and the workers takes none of them: in particular it never calls
//!   `std::panic::set_hook` there (a parent thread panicking at the instant of the fork
//!   leaves the hook lock held in the copy: a fork server stuck in `set_hook` was
//!   observed while another test panicked). Instead, the first `Processes` build installs
//!   in the parent a wrapper around the current hook that is silent for panics inside a
//!   worker's job (their message travels in the `JoinError`) and otherwise calls the
//!   previous hook: nothing changes in the parent. A job's panic still takes the hook
//!   lock for reading, which is safe unless some parent thread was *setting* a hook at the
//!   instant of the fork.
//! - Workers see the parent's memory as it was when `build()` ran: statics set before
//!   `build()` are visible to jobs and to the initializer; later changes are not.
//! - Function addresses are valid in workers because fork keeps the same image at the
//!   same addresses. Code from a library loaded (`dlopen`) after `build()` does not exist
//!   in workers; calling it crashes that worker, which fails that job only.

mod conn;
mod control;
mod death;
mod dispatch;
mod exit_status;
mod fork_server;
mod inbound;
mod ipc;
mod pool;
mod reply;
mod sockets;
mod spin;
mod worker;

pub(crate) use pool::Pool;
pub(crate) use spin::SpinPolicy;

use std::future::Future;
use std::pin::Pin;

/// Runs a sync job in a worker: called with the function address and the payload, it
/// returns the serialised result (or why there is none).
///
/// # Safety
/// `func` must be the address of the function this trampoline was instantiated for.
///
/// ```
/// use modes::procs::{JobOutput, SyncTrampoline};
/// fn double(x: u8) -> u8 { x * 2 }
/// /// Safety: `func` must be the address of a `fn(u8) -> u8`.
/// unsafe fn tramp(func: usize, payload: &[u8]) -> JobOutput {
///     // SAFETY: the caller passes the address of a `fn(u8) -> u8`.
///     let f = unsafe { std::mem::transmute::<usize, fn(u8) -> u8>(func) };
///     JobOutput::Ok(vec![f(payload[0])])
/// }
/// let t: SyncTrampoline = tramp;
/// // SAFETY: `double` is a `fn(u8) -> u8`.
/// let out = unsafe { t(double as usize, &[21]) };
/// assert!(matches!(out, JobOutput::Ok(v) if v == [42]));
/// ```
pub type SyncTrampoline = unsafe fn(func: usize, payload: &[u8]) -> JobOutput;

/// The future an async job runs on the worker's loop.
pub type JobFuture = Pin<Box<dyn Future<Output = JobOutput> + Send>>;

/// Starts an async job in a worker: called with the function address and the payload, it
/// returns the future to run on the worker's loop, which ends with the serialised result.
///
/// # Safety
/// `func` must be the address of the function this trampoline was instantiated for.
///
/// ```
/// use modes::procs::{AsyncTrampoline, JobFuture, JobOutput};
/// /// Safety: none needed, `func` is ignored.
/// unsafe fn tramp(_func: usize, payload: &[u8]) -> JobFuture {
///     let echo = payload.to_vec();
///     Box::pin(async move { JobOutput::Ok(echo) })
/// }
/// let t: AsyncTrampoline = tramp;
/// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
/// // SAFETY: `tramp` ignores the address.
/// let out = sched.block_on(unsafe { t(0, b"hi") });
/// assert!(matches!(out, JobOutput::Ok(v) if v == b"hi"));
/// ```
pub type AsyncTrampoline = unsafe fn(func: usize, payload: &[u8]) -> JobFuture;

/// How a worker runs a [`Job`].
///
/// ```
/// use modes::procs::{JobOutput, Trampoline};
/// unsafe fn tramp(_: usize, _: &[u8]) -> JobOutput { JobOutput::Ok(Vec::new()) }
/// let t = Trampoline::Sync(tramp);
/// assert!(matches!(t, Trampoline::Sync(_)));
/// ```
#[derive(Clone, Copy, Debug)]
pub enum Trampoline {
    /// A blocking call on the worker's main thread; one at a time per worker.
    Sync(SyncTrampoline),
    /// A future on the worker's own loop; several overlap in one worker.
    Async(AsyncTrampoline),
}

/// A unit of work for a worker process: what the `runtime` crate's `submit` builds.
///
/// ```
/// use modes::procs::{Job, JobOutput, Trampoline};
/// fn id(x: Vec<u8>) -> Vec<u8> { x }
/// /// Safety: `func` must be the address of a `fn(Vec<u8>) -> Vec<u8>`.
/// unsafe fn tramp(func: usize, payload: &[u8]) -> JobOutput {
///     // SAFETY: the caller passes the address of a `fn(Vec<u8>) -> Vec<u8>`.
///     let f = unsafe { std::mem::transmute::<usize, fn(Vec<u8>) -> Vec<u8>>(func) };
///     JobOutput::Ok(f(payload.to_vec()))
/// }
/// let cfg = modes::Config { workers: 1, label: "processes", ..Default::default() };
/// let (sched, _) = modes::Scheduler::processes(&cfg).unwrap();
/// let job = Job { trampoline: Trampoline::Sync(tramp), func: id as usize, payload: b"abc".to_vec() };
/// let h = sched.submit_job(job, |bytes| Ok(bytes)).expect("a process pool");
/// assert_eq!(sched.block_on(h).unwrap(), b"abc");
/// sched.shutdown();
/// ```
#[derive(Debug)]
pub struct Job {
    /// What the worker calls.
    pub trampoline: Trampoline,
    /// The address of the user's function, passed to the trampoline.
    pub func: usize,
    /// The serialised argument.
    pub payload: Vec<u8>,
}

/// What a job produced, as it crosses back from the worker.
///
/// ```
/// let out = modes::procs::JobOutput::Panicked("boom".into());
/// assert!(matches!(out, modes::procs::JobOutput::Panicked(m) if m == "boom"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutput {
    /// The serialised result.
    Ok(Vec<u8>),
    /// The function panicked, with this message.
    Panicked(String),
    /// No result, for this reason (a payload that would not deserialise, a result that
    /// would not serialise, a worker that died).
    Failed(String),
}

/// One worker slot's counters (`RuntimeMetrics::processes`).
///
/// ```
/// let w = modes::procs::ProcessWorkerMetrics::default();
/// assert_eq!((w.jobs_done, w.deaths), (0, 0));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcessWorkerMetrics {
    /// The slot's index.
    pub index: usize,
    /// The pid of the process in the slot now, once the fork server reported it.
    pub pid: Option<u32>,
    /// Jobs it is running now.
    pub running: usize,
    /// Jobs finished in this slot (every incarnation).
    pub jobs_done: u64,
    /// Worker processes of this slot that died (signal, abort, non-zero exit...).
    pub deaths: u64,
    /// Worker processes of this slot that exited after `max_jobs_per_worker` jobs.
    pub retirements: u64,
    /// Processes forked for this slot after the first (one per death or retirement).
    pub replacements: u64,
}

/// The process pool's counters, in `Processes` mode.
///
/// ```
/// let cfg = modes::Config { workers: 2, label: "processes", ..Default::default() };
/// let (sched, _) = modes::Scheduler::processes(&cfg).unwrap();
/// let m = sched.metrics().processes.expect("Processes mode has a pool");
/// assert_eq!(m.workers.len(), 2);
/// assert!(m.fork_server_pid > 0);
/// sched.shutdown();
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcessMetrics {
    /// The fork server's pid.
    pub fork_server_pid: u32,
    /// Jobs waiting for a worker.
    pub queued: usize,
    /// Per worker slot.
    pub workers: Vec<ProcessWorkerMetrics>,
    /// Why the pool refuses work, if it does (an initializer failed, the fork server died).
    pub broken: Option<String>,
}

/// Frame kinds (see the module docs). Control socket:
pub(crate) mod kind {
    /// parent -> fork server: fork a worker on the attached socket. id = gen << 32 | slot.
    pub(crate) const SPAWN: u8 = 1;
    /// fork server -> parent: body = pid (i32). id as in SPAWN.
    pub(crate) const SPAWNED: u8 = 2;
    /// fork server -> parent: body = errno (i32). id as in SPAWN.
    pub(crate) const SPAWN_FAILED: u8 = 3;
    /// fork server -> parent: id = pid, body = wait status (i32).
    pub(crate) const EXITED: u8 = 4;
    /// parent -> worker: body = [u64 trampoline][u64 function][payload].
    pub(crate) const JOB_SYNC: u8 = 10;
    /// parent -> worker: as JOB_SYNC, run on the worker's loop.
    pub(crate) const JOB_ASYNC: u8 = 11;
    /// worker -> parent: the initializer ran; body = pid (u32).
    pub(crate) const READY: u8 = 20;
    /// worker -> parent: the initializer panicked; body = message.
    pub(crate) const INIT_FAILED: u8 = 21;
    /// worker -> parent: body = serialised result.
    pub(crate) const RESULT_OK: u8 = 22;
    /// worker -> parent: body = panic message.
    pub(crate) const RESULT_PANIC: u8 = 23;
    /// worker -> parent: body = reason.
    pub(crate) const RESULT_FAILED: u8 = 24;
}

/// What the fork server keeps for the workers it forks.
#[derive(Clone, Copy)]
pub(crate) struct WorkerSettings {
    pub(crate) initializer: Option<fn()>,
}
