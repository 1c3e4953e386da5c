//! The parent's side of the process pool: the pool's state, building it, submitting,
//! spawning workers, breaking and shutting down (steps 1, 3, 5 and 11 of the protocol in
//! `procs/mod.rs`). Dispatch is in `dispatch.rs`, the socket to a worker in `conn.rs`, its
//! I/O on the loop in `sockets.rs`, what the worker says in `inbound.rs`, its death in
//! `death.rs`, the fork server's control socket in `control.rs`.
//!
//! All pool state sits behind one mutex (`State`). No thread ever blocks on a socket write
//! while holding it, and no parent thread blocks on a write to a worker at all (see
//! `Conn::send`), so a worker blocked writing a large result can always be drained.

use crate::loom::{Condvar, Mutex};
use std::collections::{HashMap, VecDeque};
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::conn::{Conn, Outbox};
use super::dispatch::{Queued, Running};
use super::fork_server::RawPid;
use super::ipc;
use super::reply::{reply_channel, InFlight, Reply, ReplySender};
use super::sockets::Sockets;
use super::{
    fork_server, kind, Job, JobOutput, ProcessMetrics, ProcessWorkerMetrics, Trampoline,
    WorkerSettings,
};
use crate::driver::Unparker;
use crate::fd_slot::FdSlot;
use crate::task::TaskRef;
use crate::thread_set::ThreadSet;
use crate::Config;

/// How long the end of a worker's connection waits for the fork server's report of its worker's exit before it
/// kills the worker to be sure (then waits as long again).
pub(super) const EXIT_REPORT_WAIT: Duration = Duration::from_secs(2);
/// How long shutdown waits for the fork server to exit before it kills it (then waits as
/// long again for it and for the pool's threads).
const SHUTDOWN_WAIT: Duration = Duration::from_secs(3);

thread_local! {
    /// Set on the pool's own threads: a shutdown that runs on one of them (the last
    /// reference dropped there) does not wait for itself.
    pub(super) static POOL_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The process pool of a `Processes` runtime. Dropping it shuts it down.
pub(crate) struct Pool {
    inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) max_jobs: Option<u64>,
    pub(super) max_async: usize,
    pub(super) has_initializer: bool,
    pub(super) fork_server: RawPid,
    /// The control socket to the fork server; closed by `shutdown` once its reader is
    /// joined (a `JoinHandle` kept past the runtime's drop keeps `Inner` alive).
    pub(super) ctl: FdSlot,
    pub(super) ctl_write: Mutex<()>,
    pub(super) state: Mutex<State>,
    pub(super) cv: Condvar,
    pub(super) in_flight: Arc<InFlight>,
    pub(super) next_job: AtomicU64,
    /// The worker sockets, read and written on the parent's loop.
    pub(super) sockets: Sockets,
    /// Every thread of the pool (the control reader, reapers): joined by `shutdown`.
    pub(super) threads: Arc<ThreadSet>,
}

pub(super) struct State {
    pub(super) sync_q: VecDeque<Queued>,
    pub(super) async_q: VecDeque<Queued>,
    pub(super) slots: Vec<Slot>,
    /// Exit statuses reported by the fork server, by pid, until the death handling takes them.
    pub(super) exits: HashMap<RawPid, i32>,
    pub(super) broken: Option<String>,
    pub(super) closed: bool,
    pub(super) fork_server_gone: bool,
    pub(super) fork_server_reaped: bool,
    /// Live threads of the pool (the control reader, reapers).
    pub(super) threads: usize,
}

#[derive(Default)]
pub(super) struct Slot {
    pub(super) conn: Option<Arc<Conn>>,
    pub(super) gen: u32,
    pub(super) pid: Option<RawPid>,
    pub(super) spawn_error: Option<i32>,
    pub(super) ready: bool,
    pub(super) init_error: Option<String>,
    pub(super) sync_busy: bool,
    pub(super) running: HashMap<u64, Running>,
    /// Jobs sent to the current incarnation.
    pub(super) dispatched: u64,
    pub(super) retiring: bool,
    pub(super) jobs_done: u64,
    pub(super) deaths: u64,
    pub(super) retirements: u64,
    pub(super) spawned: u64,
}

impl Pool {
    /// Forks the fork server (before anything else of the pool exists), then asks it for
    /// `cfg.workers` workers.
    pub(crate) fn start(cfg: &Config) -> Result<Pool, String> {
        let (ctl, ctl_child) =
            ipc::socketpair().map_err(|e| format!("could not create the control socket: {e}"))?;
        let settings = WorkerSettings {
            initializer: cfg.processes.initializer,
        };
        let fork_server = fork_server::start(std::os::fd::AsRawFd::as_raw_fd(&ctl_child), settings)
            .map_err(|e| format!("could not fork the fork server: {e}"))?;
        drop(ctl_child);
        let inner = Arc::new(Inner {
            max_jobs: cfg.processes.max_jobs_per_worker,
            max_async: cfg.processes.max_async_jobs_per_worker.max(1),
            has_initializer: cfg.processes.initializer.is_some(),
            fork_server,
            ctl: FdSlot::new(ctl),
            ctl_write: Mutex::new(()),
            state: Mutex::new(State {
                sync_q: VecDeque::new(),
                async_q: VecDeque::new(),
                slots: (0..cfg.workers.max(1)).map(|_| Slot::default()).collect(),
                exits: HashMap::new(),
                broken: None,
                closed: false,
                fork_server_gone: false,
                fork_server_reaped: false,
                threads: 0,
            }),
            cv: Condvar::new(),
            in_flight: Arc::new(InFlight::default()),
            next_job: AtomicU64::new(1),
            sockets: Sockets::new(),
            threads: Arc::new(ThreadSet::default()),
        });
        let pool = Pool { inner };
        let i = pool.inner.clone();
        pool.inner
            .start_thread("runtime-proc-control", move || i.control_reader())
            .map_err(|e| {
                // No reader will reap the fork server: do it here, so that the pool's drop
                // finds it reaped and a failed build leaves no process behind.
                // Our own child, which nothing else reaps (its reader never started).
                kill(pool.inner.fork_server);
                let _ = wait_for(pool.inner.fork_server);
                pool.inner.state.lock().fork_server_reaped = true;
                format!("could not start the fork server's reader thread: {e}")
            })?;
        for slot in 0..cfg.workers.max(1) {
            pool.inner.spawn_worker(slot)?;
        }
        Ok(pool)
    }

    /// The loop to wake when a job finishes (virtual clock).
    pub(crate) fn set_owner(&self, owner: Unparker) {
        self.inner.in_flight.set_owner(owner.clone());
        self.inner.sockets.set_owner(owner);
    }

    /// Jobs submitted and not yet finished.
    pub(crate) fn in_flight(&self) -> usize {
        self.inner.in_flight.get()
    }

    /// A connected one-shot: the pool completes the sender, a loop task awaits the reply.
    pub(crate) fn reply_channel(&self) -> (ReplySender, Reply) {
        reply_channel(&self.inner.in_flight)
    }

    /// Queues `job`; `done` is completed with its output. `watch` is the awaiting task: if
    /// it is cancelled while the job is queued, the job is skipped.
    pub(crate) fn submit(&self, job: Job, done: ReplySender, watch: Option<TaskRef>) {
        let inner = &self.inner;
        let body_len = 16 + job.payload.len();
        if body_len > ipc::MAX_BODY {
            done.send(JobOutput::Failed(format!(
                "the serialised argument ({} bytes) is larger than a frame can carry",
                job.payload.len()
            )));
            return;
        }
        let id = inner.next_job.fetch_add(1, Ordering::Relaxed);
        let (k, tramp, sync) = match job.trampoline {
            Trampoline::Sync(t) => (kind::JOB_SYNC, t as usize, true),
            Trampoline::Async(t) => (kind::JOB_ASYNC, t as usize, false),
        };
        let mut frame = Vec::with_capacity(ipc::HEADER + body_len);
        frame.extend_from_slice(&ipc::header(id, k, body_len));
        frame.extend_from_slice(&(tramp as u64).to_le_bytes());
        frame.extend_from_slice(&(job.func as u64).to_le_bytes());
        frame.extend_from_slice(&job.payload);
        drop(job);
        let work = {
            let mut st = inner.state.lock();
            if st.closed {
                drop(st);
                done.send(JobOutput::Failed("the runtime is shutting down".into()));
                return;
            }
            if let Some(reason) = &st.broken {
                let reason = reason.clone();
                drop(st);
                done.send(JobOutput::Failed(reason));
                return;
            }
            let q = Queued {
                id,
                frame,
                done,
                watch,
            };
            if sync {
                st.sync_q.push_back(q);
            } else {
                st.async_q.push_back(q);
            }
            inner.assign(&mut st, false)
        };
        work.perform();
    }

    /// Reads and writes the worker sockets, if an I/O completion asked for it: called by
    /// the parent's loop at each iteration, on its thread (`sockets.rs`).
    pub(crate) fn drive_sockets(&self) {
        self.inner.sockets.drive(&self.inner);
    }

    /// Reads the worker sockets now, whether or not a wake asked for it: the loop polls
    /// for a result this way on the readiness backend (`single/mod.rs`, `spin.rs`), where
    /// waiting for the reactor thread's wake would put a thread hop on every round trip.
    pub(crate) fn poll_sockets(&self) {
        self.inner.sockets.poll_now(&self.inner);
    }

    /// `true` if the loop must call [`drive_sockets`](Self::drive_sockets) before it parks.
    pub(crate) fn sockets_woken(&self) -> bool {
        self.inner.sockets.woken()
    }

    /// Drops the sockets' pending I/O: the loop's shutdown calls it while its ring is
    /// still there.
    pub(crate) fn close_sockets(&self) {
        self.inner.sockets.close();
    }

    /// A snapshot of the pool's counters.
    pub(crate) fn metrics(&self) -> ProcessMetrics {
        let st = self.inner.state.lock();
        ProcessMetrics {
            fork_server_pid: self.inner.fork_server as u32,
            queued: st.sync_q.len() + st.async_q.len(),
            workers: st
                .slots
                .iter()
                .enumerate()
                .map(|(index, s)| ProcessWorkerMetrics {
                    index,
                    pid: s.pid.filter(|_| s.conn.is_some()).map(|p| p as u32),
                    running: s.running.len(),
                    jobs_done: s.jobs_done,
                    deaths: s.deaths,
                    retirements: s.retirements,
                    replacements: s.spawned.saturating_sub(1),
                })
                .collect(),
            broken: st.broken.clone(),
        }
    }

    /// Cancels queued jobs, kills the workers and the fork server, reaps them; bounded.
    /// Idempotent.
    pub(crate) fn shutdown(&self) {
        self.inner.shutdown();
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.inner.shutdown();
    }
}

impl Inner {
    /// Calls `f` with the control socket, held open meanwhile; `None` once closed.
    pub(super) fn with_ctl<R>(&self, f: impl FnOnce(BorrowedFd<'_>) -> R) -> Option<R> {
        self.ctl.with(f)
    }

    pub(super) fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    pub(super) fn start_thread(
        self: &Arc<Self>,
        name: &str,
        f: impl FnOnce() + Send + 'static,
    ) -> io::Result<()> {
        self.state.lock().threads += 1;
        let me = self.clone();
        let res = self.threads.spawn(name.into(), move || {
            struct Exit(Arc<Inner>);
            impl Drop for Exit {
                fn drop(&mut self) {
                    self.0.state.lock().threads -= 1;
                    self.0.cv.notify_all();
                }
            }
            let _exit = Exit(me);
            POOL_THREAD.with(|p| p.set(true));
            f()
        });
        if let Err(e) = res {
            self.state.lock().threads -= 1;
            return Err(e);
        }
        Ok(())
    }

    /// Starts a worker process in `slot` (its first or a replacement), and sends it the
    /// queued jobs it can take.
    pub(super) fn spawn_worker(self: &Arc<Self>, slot: usize) -> Result<(), String> {
        let (mine, theirs, dup) = ipc::socketpair()
            .and_then(|(mine, theirs)| Ok((mine.try_clone()?, mine, theirs)))
            .map(|(dup, mine, theirs)| (mine, theirs, dup))
            .map_err(|e| {
                let msg = format!("could not create a worker socket: {e}");
                self.break_pool(msg.clone());
                msg
            })?;
        let conn = {
            let mut st = self.state.lock();
            if st.closed || st.broken.is_some() {
                return Ok(());
            }
            let s = &mut st.slots[slot];
            let gen = s.gen.wrapping_add(1);
            let conn = Arc::new(Conn {
                io_fd: Mutex::new(Some(dup)),
                fd: mine,
                slot,
                gen,
                outbox: Mutex::new(Outbox::default()),
                wake: self.sockets.wake.clone(),
            });
            *s = Slot {
                conn: Some(conn.clone()),
                gen,
                jobs_done: s.jobs_done,
                deaths: s.deaths,
                retirements: s.retirements,
                spawned: s.spawned + 1,
                ..Slot::default()
            };
            conn
        };
        // Registered before the request, so that the fork server's SPAWNED finds it.
        let sent = {
            let _g = self.ctl_write.lock();
            self.with_ctl(|ctl| {
                ipc::send_frame_with_fd(
                    ctl,
                    (u64::from(conn.gen) << 32) | slot as u64,
                    kind::SPAWN,
                    theirs.as_fd(),
                )
            })
            .unwrap_or_else(|| Err(io::Error::other("the process pool has shut down")))
        };
        // Our copy of the worker's end: if no worker got it, our end now reads EOF.
        drop(theirs);
        if let Err(e) = sent {
            self.state.lock().fork_server_gone = true;
            self.break_pool(format!(
                "the fork server is gone ({e}): no worker can start"
            ));
        }
        self.sockets.add(conn);
        let work = {
            let mut st = self.state.lock();
            self.assign(&mut st, false)
        };
        work.perform();
        Ok(())
    }

    /// The pool can run nothing more: fail what is queued and refuse new jobs.
    pub(super) fn break_pool(&self, reason: String) {
        let failed: Vec<Queued> = {
            let mut st = self.state.lock();
            if st.broken.is_some() || st.closed {
                return;
            }
            st.broken = Some(reason.clone());
            self.cv.notify_all();
            let mut v: Vec<Queued> = st.sync_q.drain(..).collect();
            v.extend(st.async_q.drain(..));
            v
        };
        for q in failed {
            q.done.send(JobOutput::Failed(reason.clone()));
        }
    }

    pub(super) fn shutdown(&self) {
        let (dropped, conns) = {
            let mut st = self.state.lock();
            if st.closed {
                return;
            }
            st.closed = true;
            let mut dropped: Vec<Queued> = st.sync_q.drain(..).collect();
            dropped.extend(st.async_q.drain(..));
            let mut conns = Vec::new();
            let mut running = Vec::new();
            for s in st.slots.iter_mut() {
                running.extend(s.running.drain().map(|(_, r)| r.done));
                conns.extend(s.conn.take());
            }
            self.cv.notify_all();
            ((dropped, running), conns)
        };
        for c in &conns {
            c.close();
        }
        self.sockets.close();
        // EOF on the control socket: the fork server kills and reaps the workers, exits.
        self.with_ctl(|ctl| rustix::net::shutdown(ctl, rustix::net::Shutdown::Both));
        let me = usize::from(POOL_THREAD.with(|p| p.get()));
        let mut st = self.state.lock();
        let mut deadline = Instant::now() + SHUTDOWN_WAIT;
        let mut killed = false;
        while !(st.fork_server_reaped && st.threads <= me) {
            let now = Instant::now();
            if now >= deadline {
                if killed {
                    break;
                }
                if !st.fork_server_reaped {
                    // Our child, not yet reaped (the control reader sets
                    // `fork_server_reaped` under this lock): its pid is not reused.
                    kill(self.fork_server);
                }
                killed = true;
                deadline = now + SHUTDOWN_WAIT;
                continue;
            }
            st = self.cv.wait_timeout(st, deadline - now).0;
        }
        let counted_out = st.threads <= me;
        drop(st);
        drop(conns);
        drop(dropped);
        // Threads that counted themselves out still hold an `Arc<Inner>` (and through it
        // the control socket) until their last instruction: join them, so that when the
        // runtime's drop returns, nothing of the pool is left. Flushers end at once: their
        // connection was shut down above.
        let grace = if counted_out {
            Duration::from_secs(1)
        } else {
            Duration::ZERO
        };
        if self.threads.join_until(Instant::now() + grace, |_| false) == 0 && counted_out {
            // No thread of ours is left to read the control socket: close it now, not
            // when the last owner of the engine goes.
            self.ctl.close();
        }
    }
}

/// Sends `SIGKILL` to `pid`, a child of ours not yet reaped (so the number is still its).
pub(super) fn kill(pid: RawPid) {
    if let Some(pid) = rustix::process::Pid::from_raw(pid) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    }
}

/// Waits for our child `pid` to exit and reaps it; its raw wait status.
pub(super) fn wait_for(pid: RawPid) -> Option<i32> {
    let pid = rustix::process::Pid::from_raw(pid)?;
    loop {
        match rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty()) {
            Ok(Some((_, status))) => return Some(status.as_raw()),
            Ok(None) => return None,
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return None,
        }
    }
}
