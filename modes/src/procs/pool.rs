//! The parent's side of the process pool: queues, dispatch, one reader thread per worker
//! socket, the control reader, death handling and shutdown (steps 3, 5, 6, 8-11 of the
//! protocol in `procs/mod.rs`).
//!
//! All pool state sits behind one mutex (`State`). No thread ever blocks on a socket write
//! while holding it, and no parent thread blocks on a write to a worker at all (see
//! [`Conn::send`]), so a worker blocked writing a large result can always be drained.

use crate::loom::{Condvar, Mutex};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use super::ipc::{self, FrameReader};
use super::{
    fork_server, kind, Job, JobOutput, ProcessMetrics, ProcessWorkerMetrics, Trampoline,
    WorkerSettings,
};
use crate::driver::Unparker;
use crate::fd_slot::FdSlot;
use crate::task::{TaskRef, TaskState};
use crate::thread_set::ThreadSet;
use crate::Config;

/// How long a reader waits for the fork server's report of its worker's exit before it
/// kills the worker to be sure (then waits as long again).
const EXIT_REPORT_WAIT: Duration = Duration::from_secs(2);
/// How long shutdown waits for the fork server to exit before it kills it (then waits as
/// long again for it and for the reader threads).
const SHUTDOWN_WAIT: Duration = Duration::from_secs(3);

thread_local! {
    /// Set on the pool's own threads: a shutdown that runs on one of them (the last
    /// reference dropped there) does not wait for itself.
    static POOL_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The process pool of a `Processes` runtime. Dropping it shuts it down.
pub(crate) struct Pool {
    inner: Arc<Inner>,
}

struct Inner {
    max_jobs: Option<u64>,
    max_async: usize,
    has_initializer: bool,
    fork_server: libc::pid_t,
    /// The control socket to the fork server; closed by `shutdown` once its reader is
    /// joined (a `JoinHandle` kept past the runtime's drop keeps `Inner` alive).
    ctl: FdSlot,
    ctl_write: Mutex<()>,
    state: Mutex<State>,
    cv: Condvar,
    counter: Arc<Counter>,
    next_job: AtomicU64,
    /// Every thread of the pool (readers, flushers): joined by `shutdown`.
    threads: Arc<ThreadSet>,
}

/// Jobs submitted and not yet finished (queued or running), for the virtual clock: the
/// loop does not move time while a worker may still wake a task.
pub(crate) struct Counter {
    n: AtomicUsize,
    owner: OnceLock<Unparker>,
}

struct State {
    sync_q: VecDeque<Queued>,
    async_q: VecDeque<Queued>,
    slots: Vec<Slot>,
    /// Exit statuses reported by the fork server, by pid, until a reader takes them.
    exits: HashMap<libc::pid_t, i32>,
    broken: Option<String>,
    closed: bool,
    fork_server_gone: bool,
    fork_server_reaped: bool,
    /// Live reader threads (the control reader included).
    threads: usize,
}

#[derive(Default)]
struct Slot {
    conn: Option<Arc<Conn>>,
    gen: u32,
    pid: Option<libc::pid_t>,
    spawn_error: Option<i32>,
    ready: bool,
    init_error: Option<String>,
    sync_busy: bool,
    running: HashMap<u64, Running>,
    /// Jobs sent to the current incarnation.
    dispatched: u64,
    retiring: bool,
    jobs_done: u64,
    deaths: u64,
    retirements: u64,
    spawned: u64,
}

struct Queued {
    id: u64,
    frame: Vec<u8>,
    done: Completion,
    watch: Option<TaskRef>,
}

impl Queued {
    /// Nobody wants the result any more: the awaiting task was cancelled or dropped.
    fn abandoned(&self) -> bool {
        self.done.shot.receiver_gone()
            || self
                .watch
                .as_ref()
                .is_some_and(|t| matches!(t.state(), TaskState::Cancelling | TaskState::Done))
    }
}

struct Running {
    done: Completion,
    sync: bool,
}

/// Frames to write, and what to drop, collected under the lock and acted on after: a
/// completion wakes a task, and a task reference may be the last one to a task (whose
/// drop may reach this pool); neither happens under the pool's lock.
#[derive(Default)]
struct Work {
    writes: Vec<(Arc<Conn>, Vec<u8>)>,
    skipped: Vec<Completion>,
    released: Vec<TaskRef>,
}

/// The parent's end of one worker incarnation's socket.
struct Conn {
    fd: OwnedFd,
    slot: usize,
    gen: u32,
    outbox: Mutex<Outbox>,
    /// Where a flusher thread is started (the pool's set, joined at shutdown).
    threads: Arc<ThreadSet>,
}

#[derive(Default)]
struct Outbox {
    queue: VecDeque<(Vec<u8>, usize)>,
    flushing: bool,
    dead: bool,
}

impl Conn {
    /// Sends a frame without ever blocking the caller: written at once if the socket
    /// buffer has room; otherwise queued, in order, for a flusher thread that does the
    /// blocking writes. A write error means the worker is gone; its reader sees the EOF
    /// and fails its jobs, so the error itself is dropped here.
    fn send(self: &Arc<Conn>, frame: Vec<u8>) {
        let mut ob = self.outbox.lock();
        if ob.dead {
            return;
        }
        if ob.flushing || !ob.queue.is_empty() {
            ob.queue.push_back((frame, 0));
            return;
        }
        let mut at = 0;
        while at < frame.len() {
            // SAFETY: sends from a live slice of `frame.len() - at` bytes.
            let n = unsafe {
                libc::send(
                    self.fd.as_raw_fd(),
                    frame[at..].as_ptr().cast(),
                    frame.len() - at,
                    libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
                )
            };
            if n >= 0 {
                at += n as usize;
                continue;
            }
            match io::Error::last_os_error().kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => break,
                _ => {
                    ob.dead = true;
                    return;
                }
            }
        }
        if at == frame.len() {
            return;
        }
        ob.queue.push_back((frame, at));
        ob.flushing = true;
        drop(ob);
        let conn = self.clone();
        let spawned = self
            .threads
            .spawn("runtime-proc-flush".into(), move || conn.flush());
        if spawned.is_err() {
            // No thread: write here, blocking (the worker is reading, see the dispatch rule).
            self.flush();
        }
    }

    fn flush(&self) {
        loop {
            let (frame, at) = {
                let mut ob = self.outbox.lock();
                match ob.queue.pop_front() {
                    Some(f) if !ob.dead => f,
                    _ => {
                        ob.queue.clear();
                        ob.flushing = false;
                        return;
                    }
                }
            };
            if ipc::send_all(self.fd.as_raw_fd(), &frame[at..]).is_err() {
                let mut ob = self.outbox.lock();
                ob.dead = true;
                ob.queue.clear();
                ob.flushing = false;
                return;
            }
        }
    }

    /// Wakes this connection's reader (its `read` returns EOF) and stops writes.
    fn close(&self) {
        self.outbox.lock().dead = true;
        // SAFETY: shutdown on a descriptor we own; it stays open until `fd` drops.
        unsafe { libc::shutdown(self.fd.as_raw_fd(), libc::SHUT_RDWR) };
    }
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
        let fork_server = fork_server::start(ctl_child.as_raw_fd(), settings)
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
            counter: Arc::new(Counter {
                n: AtomicUsize::new(0),
                owner: OnceLock::new(),
            }),
            next_job: AtomicU64::new(1),
            threads: Arc::new(ThreadSet::default()),
        });
        let pool = Pool { inner };
        let i = pool.inner.clone();
        pool.inner
            .start_thread("runtime-fork-server", move || i.control_reader())
            .map_err(|e| {
                // No reader will reap the fork server: do it here, so that the pool's drop
                // finds it reaped and a failed build leaves no process behind.
                let mut status = 0;
                // SAFETY: kill and waitpid on our own child, which nothing else reaps (its
                // reader thread never started).
                unsafe {
                    libc::kill(pool.inner.fork_server, libc::SIGKILL);
                    while libc::waitpid(pool.inner.fork_server, &mut status, 0) < 0
                        && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
                    {
                    }
                }
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
        let _ = self.inner.counter.owner.set(owner);
    }

    /// Jobs submitted and not yet finished.
    pub(crate) fn in_flight(&self) -> usize {
        self.inner.counter.n.load(Ordering::Acquire)
    }

    /// A connected one-shot: the pool completes the first, a loop task awaits the second.
    pub(crate) fn completion(&self) -> (Completion, Receiver) {
        let shot = Arc::new(Shot {
            state: Mutex::new(ShotState::default()),
        });
        self.inner.counter.n.fetch_add(1, Ordering::AcqRel);
        (
            Completion {
                shot: shot.clone(),
                counter: self.inner.counter.clone(),
                sent: false,
            },
            Receiver { shot },
        )
    }

    /// Queues `job`; `done` is completed with its output. `watch` is the awaiting task: if
    /// it is cancelled while the job is queued, the job is skipped.
    pub(crate) fn submit(&self, job: Job, done: Completion, watch: Option<TaskRef>) {
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
            inner.assign(&mut st)
        };
        work.perform();
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
    fn start_thread(
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
    fn spawn_worker(self: &Arc<Self>, slot: usize) -> Result<(), String> {
        let (mine, theirs) = ipc::socketpair().map_err(|e| {
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
                fd: mine,
                slot,
                gen,
                outbox: Mutex::new(Outbox::default()),
                threads: self.threads.clone(),
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
            self.ctl
                .with(|ctl| {
                    ipc::send_frame_with_fd(
                        ctl,
                        (u64::from(conn.gen) << 32) | slot as u64,
                        kind::SPAWN,
                        theirs.as_raw_fd(),
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
        let me = self.clone();
        let c = conn.clone();
        if let Err(e) = self.start_thread("runtime-proc-reader", move || me.reader(c)) {
            let msg = format!("could not start a worker's reader thread: {e}");
            conn.close();
            self.break_pool(msg.clone());
            return Err(msg);
        }
        let work = {
            let mut st = self.state.lock();
            self.assign(&mut st)
        };
        work.perform();
        Ok(())
    }

    /// The pool can run nothing more: fail what is queued and refuse new jobs.
    fn break_pool(&self, reason: String) {
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

    /// Assigns queued jobs to workers that can take them (the dispatch rule in the module
    /// docs); the caller performs the writes after releasing the lock.
    fn assign(&self, st: &mut State) -> Work {
        let mut work = Work::default();
        if st.closed || st.broken.is_some() {
            return work;
        }
        let State {
            sync_q,
            async_q,
            slots,
            ..
        } = st;
        for (q, sync) in [(sync_q, true), (async_q, false)] {
            while let Some(front) = q.front() {
                if front.abandoned() {
                    let job = q.pop_front().expect("front exists");
                    work.skipped.push(job.done);
                    work.released.extend(job.watch);
                    continue;
                }
                let Some(i) = self.pick(slots, sync) else {
                    break;
                };
                let job = q.pop_front().expect("front exists");
                work.released.extend(job.watch);
                let s = &mut slots[i];
                s.dispatched += 1;
                s.sync_busy |= sync;
                s.running.insert(
                    job.id,
                    Running {
                        done: job.done,
                        sync,
                    },
                );
                let conn = s.conn.clone().expect("picked slots have a connection");
                work.writes.push((conn, job.frame));
            }
        }
        work
    }

    /// The least loaded worker that may take a job of this kind.
    fn pick(&self, slots: &[Slot], sync: bool) -> Option<usize> {
        slots
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                s.conn.is_some()
                    && !s.retiring
                    && !s.sync_busy
                    && self.max_jobs.is_none_or(|m| s.dispatched < m)
                    && (sync || s.running.len() < self.max_async)
            })
            .min_by_key(|(_, s)| (s.running.len(), !s.ready))
            .map(|(i, _)| i)
    }

    /// One worker incarnation's reader thread (steps 8-10).
    fn reader(self: Arc<Self>, conn: Arc<Conn>) {
        let mut r = FrameReader::new(conn.fd.as_raw_fd());
        while let Ok(Some(frame)) = r.read() {
            match frame.kind {
                kind::READY => {
                    let mut st = self.state.lock();
                    let s = &mut st.slots[conn.slot];
                    if s.gen == conn.gen {
                        s.ready = true;
                        if s.pid.is_none() && frame.body.len() >= 4 {
                            let pid = u32::from_le_bytes(frame.body[..4].try_into().unwrap());
                            s.pid = Some(pid as libc::pid_t);
                        }
                    }
                }
                kind::INIT_FAILED => {
                    let mut st = self.state.lock();
                    let s = &mut st.slots[conn.slot];
                    if s.gen == conn.gen {
                        s.init_error = Some(String::from_utf8_lossy(&frame.body).into_owned());
                    }
                }
                kind::RESULT_OK | kind::RESULT_PANIC | kind::RESULT_FAILED => {
                    self.on_result(&conn, frame)
                }
                _ => {
                    // Not our protocol (a job wrote to fd 3?): this worker cannot be
                    // trusted any more. Kill it; the EOF path below handles the rest.
                    if let Some(pid) = self.state.lock().slots[conn.slot].pid {
                        // SAFETY: kill sends a signal; `pid` is a live worker of ours (not
                        // yet reaped: its reader, this thread, has not seen it exit).
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                    }
                    break;
                }
            }
        }
        self.on_eof(&conn);
    }

    fn on_result(&self, conn: &Arc<Conn>, frame: ipc::Frame) {
        let out = match frame.kind {
            kind::RESULT_OK => JobOutput::Ok(frame.body),
            kind::RESULT_PANIC => {
                JobOutput::Panicked(String::from_utf8_lossy(&frame.body).into_owned())
            }
            _ => JobOutput::Failed(String::from_utf8_lossy(&frame.body).into_owned()),
        };
        let (done, retire, work) = {
            let mut st = self.state.lock();
            let s = &mut st.slots[conn.slot];
            if s.gen != conn.gen {
                return;
            }
            let Some(run) = s.running.remove(&frame.id) else {
                return;
            };
            if run.sync {
                s.sync_busy = false;
            }
            s.jobs_done += 1;
            let retire = !s.retiring
                && s.running.is_empty()
                && self.max_jobs.is_some_and(|m| s.dispatched >= m);
            s.retiring |= retire;
            let work = self.assign(&mut st);
            (run.done, retire, work)
        };
        done.send(out);
        if retire {
            // The worker reads EOF and exits 0; its EOF here spawns the replacement.
            // SAFETY: shutdown on a descriptor we own.
            unsafe { libc::shutdown(conn.fd.as_raw_fd(), libc::SHUT_WR) };
        }
        work.perform();
    }

    /// The worker's socket reached EOF: it exited (or the pool is closing).
    fn on_eof(self: &Arc<Self>, conn: &Arc<Conn>) {
        conn.close();
        let mut st = self.state.lock();
        if st.slots[conn.slot].gen != conn.gen {
            return;
        }
        st.slots[conn.slot].conn = None;
        if st.closed {
            return;
        }
        // How did it end? Wait (bounded) for the fork server's report.
        let mut deadline = Instant::now() + EXIT_REPORT_WAIT;
        let mut killed = false;
        let status = loop {
            let (pid, spawn_error) = {
                let s = &st.slots[conn.slot];
                (s.pid, s.spawn_error)
            };
            if let Some(status) = pid.and_then(|p| st.exits.remove(&p)) {
                break Some(status);
            }
            if st.closed || st.fork_server_gone || spawn_error.is_some() {
                break None;
            }
            let now = Instant::now();
            if now >= deadline {
                match pid {
                    Some(pid) if !killed => {
                        // EOF without an exit: it closed fd 3 itself. Make sure it is gone.
                        // SAFETY: kill sends a signal to our (unreaped) worker.
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                        killed = true;
                        deadline = now + EXIT_REPORT_WAIT;
                        continue;
                    }
                    _ => break None,
                }
            }
            st = self.cv.wait_timeout(st, deadline - now).0;
        };
        if st.closed {
            return;
        }
        let state: &mut State = &mut st;
        let fork_server_gone = state.fork_server_gone;
        let s = &mut state.slots[conn.slot];
        let pid = s.pid;
        let how = describe(status, s.spawn_error, fork_server_gone);
        let running: Vec<Running> = s.running.drain().map(|(_, r)| r).collect();
        s.sync_busy = false;
        let retired = s.retiring && running.is_empty() && status == Some(0);
        if retired {
            s.retirements += 1;
        } else {
            s.deaths += 1;
        }
        let who = match pid {
            Some(p) => format!("worker process {p}"),
            None => "a worker process".to_string(),
        };
        let broken = if let Some(e) = s.spawn_error {
            Some(format!(
                "could not fork a worker process: {}",
                io::Error::from_raw_os_error(e)
            ))
        } else if let Some(msg) = s.init_error.take() {
            Some(format!("the worker initializer panicked in {who}: {msg}"))
        } else if self.has_initializer && !s.ready {
            Some(format!(
                "{who} died before its initializer completed ({how})"
            ))
        } else if fork_server_gone {
            Some(format!(
                "the fork server (process {}) is gone: no worker can start",
                self.fork_server
            ))
        } else {
            None
        };
        drop(st);
        // A pool broken by this death (its initializer failed...) says why; otherwise
        // the job learns how its worker died.
        let msg = match &broken {
            Some(reason) => reason.clone(),
            None => format!("{who} died while running this job ({how})"),
        };
        // Broken first, so that whoever sees the job fail also sees the pool broken.
        let replace = match broken {
            Some(reason) => {
                self.break_pool(reason);
                false
            }
            None => true,
        };
        for r in running {
            r.done.send(JobOutput::Failed(msg.clone()));
        }
        if replace {
            let _ = self.spawn_worker(conn.slot);
        }
    }

    /// The control socket's reader: spawn replies and exit reports from the fork server.
    fn control_reader(self: Arc<Self>) {
        // `shutdown` closes the socket only after this thread is joined.
        let mut r = FrameReader::new(self.ctl.raw());
        while let Ok(Some(f)) = r.read() {
            let word = |b: &[u8]| i32::from_le_bytes(b[..4].try_into().unwrap_or([0; 4]));
            let mut st = self.state.lock();
            match f.kind {
                kind::SPAWNED | kind::SPAWN_FAILED if f.body.len() >= 4 => {
                    let (slot, gen) = ((f.id & 0xffff_ffff) as usize, (f.id >> 32) as u32);
                    if let Some(s) = st.slots.get_mut(slot).filter(|s| s.gen == gen) {
                        if f.kind == kind::SPAWNED {
                            s.pid = Some(word(&f.body));
                        } else {
                            s.spawn_error = Some(word(&f.body));
                        }
                    }
                }
                kind::EXITED if f.body.len() >= 4 => {
                    st.exits.insert(f.id as libc::pid_t, word(&f.body));
                }
                _ => {}
            }
            drop(st);
            self.cv.notify_all();
        }
        // EOF: the fork server exited (shutdown) or died. Reap it: it has closed its
        // socket, so it is exiting; this wait is short.
        {
            let mut st = self.state.lock();
            st.fork_server_gone = true;
            self.cv.notify_all();
        }
        let mut status = 0;
        // SAFETY: `status` is a live int; the fork server is our child, reaped only here.
        while unsafe { libc::waitpid(self.fork_server, &mut status, 0) } < 0
            && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
        {}
        let closed = {
            let mut st = self.state.lock();
            st.fork_server_reaped = true;
            self.cv.notify_all();
            st.closed
        };
        if !closed {
            self.break_pool(format!(
                "the fork server (process {}) exited unexpectedly ({}): no worker can start",
                self.fork_server,
                describe(Some(status), None, false)
            ));
        }
    }

    fn shutdown(&self) {
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
        // EOF on the control socket: the fork server kills and reaps the workers, exits.
        self.ctl.with(|ctl| {
            // SAFETY: shutdown on a descriptor we own, held open by `with`.
            unsafe { libc::shutdown(ctl, libc::SHUT_RDWR) }
        });
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
                    // SAFETY: kill sends a signal to our child, not yet reaped (the
                    // control reader sets `fork_server_reaped` under this lock).
                    unsafe { libc::kill(self.fork_server, libc::SIGKILL) };
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

impl Work {
    fn perform(self) {
        for (conn, frame) in self.writes {
            conn.send(frame);
        }
        drop(self.skipped);
        drop(self.released);
    }
}

/// How a process ended, for messages: "killed by signal 9 (SIGKILL)", "exit code 3".
fn describe(status: Option<i32>, spawn_error: Option<i32>, fork_server_gone: bool) -> String {
    if let Some(e) = spawn_error {
        return format!("fork failed: {}", io::Error::from_raw_os_error(e));
    }
    let Some(st) = status else {
        return if fork_server_gone {
            "its exit status is unknown: the fork server is gone".into()
        } else {
            "its exit status was not reported".into()
        };
    };
    if libc::WIFSIGNALED(st) {
        let sig = libc::WTERMSIG(st);
        let core = if libc::WCOREDUMP(st) {
            ", core dumped"
        } else {
            ""
        };
        format!("killed by signal {sig} ({}{core})", signal_name(sig))
    } else if libc::WIFEXITED(st) {
        format!("exit code {}", libc::WEXITSTATUS(st))
    } else {
        format!("wait status {st:#x}")
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGSTKFLT => "SIGSTKFLT",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGVTALRM => "SIGVTALRM",
        libc::SIGPROF => "SIGPROF",
        libc::SIGSYS => "SIGSYS",
        _ => "unnamed signal",
    }
}

/// The sending half of a job's one-shot. Dropped unsent (a job skipped, or dropped at
/// shutdown), it completes the job as failed. Either way it then counts the job out of
/// `in_flight` and wakes the owner loop: after the result is visible.
pub(crate) struct Completion {
    shot: Arc<Shot>,
    counter: Arc<Counter>,
    sent: bool,
}

impl Completion {
    pub(crate) fn send(mut self, out: JobOutput) {
        self.shot.set(out);
        self.sent = true;
    }
}

impl Drop for Completion {
    fn drop(&mut self) {
        if !self.sent {
            self.shot.set(JobOutput::Failed(
                "the process pool shut down before the job finished".into(),
            ));
        }
        self.counter.n.fetch_sub(1, Ordering::AcqRel);
        if let Some(u) = self.counter.owner.get() {
            u.unpark();
        }
    }
}

#[derive(Default)]
struct ShotState {
    value: Option<JobOutput>,
    waker: Option<Waker>,
    receiver_gone: bool,
}

struct Shot {
    state: Mutex<ShotState>,
}

impl Shot {
    fn set(&self, out: JobOutput) {
        let waker = {
            let mut st = self.state.lock();
            st.value = Some(out);
            st.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn receiver_gone(&self) -> bool {
        self.state.lock().receiver_gone
    }
}

/// The awaiting half of a job's one-shot.
pub(crate) struct Receiver {
    shot: Arc<Shot>,
}

impl Future for Receiver {
    type Output = JobOutput;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<JobOutput> {
        let mut st = self.shot.state.lock();
        if let Some(v) = st.value.take() {
            return Poll::Ready(v);
        }
        if !st.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            st.waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.shot.state.lock().receiver_gone = true;
    }
}
