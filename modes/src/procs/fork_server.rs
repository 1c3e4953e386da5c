//! The forker thread and the fork server (steps 1-3 and 11 of the protocol in
//! `procs/mod.rs`).
//!
//! The fork server is single-threaded and only forks workers on request, reaps them and
//! reports their exit statuses. It never prints, reads the environment or takes a std
//! lock: whatever lock another parent thread held when it was forked stays held in its
//! memory forever.

use std::io;
use std::os::fd::{IntoRawFd, RawFd};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::mpsc;

use super::ipc::{self, FrameReader};
use super::{kind, worker, WorkerSettings};

/// The descriptor the control socket (fork server) or the worker socket (worker) is
/// moved to.
pub(crate) const CHANNEL_FD: RawFd = 3;

struct Request {
    ctl: RawFd,
    settings: WorkerSettings,
    reply: mpsc::SyncSender<io::Result<libc::pid_t>>,
}

/// The forker thread of one process: its request queue, and the process it belongs to.
struct Forker {
    pid: u32,
    tx: mpsc::Sender<Request>,
}

/// This process's forker. The thread lives as long as the process: `PR_SET_PDEATHSIG`
/// in the fork server fires when the thread that forked it exits. A pointer rather than
/// a `OnceLock`, tagged with the pid: a forked child (a worker that builds a `Processes`
/// runtime of its own) inherits a copy that points at a thread it does not have, and
/// must start its own. Forkers are never freed (one per process, or a loser of the race
/// below, whose thread ends with its channel).
static FORKER: AtomicPtr<Forker> = AtomicPtr::new(std::ptr::null_mut());

fn forker_handle() -> io::Result<&'static Forker> {
    let me = std::process::id();
    loop {
        let cur = FORKER.load(Ordering::Acquire);
        // SAFETY: a non-null FORKER came from `Box::into_raw` below and is never freed;
        // a copy inherited through fork points at this process's copy of that memory.
        if let Some(f) = unsafe { cur.as_ref() } {
            if f.pid == me {
                return Ok(f);
            }
        }
        let (tx, rx) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("runtime-forker".into())
            .spawn(move || forker(rx))
            .map_err(|e| {
                io::Error::other(format!("could not start the runtime-forker thread: {e}"))
            })?;
        let new = Box::into_raw(Box::new(Forker { pid: me, tx }));
        if FORKER
            .compare_exchange(cur, new, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // Another thread installed one first: use it; ours ends with its channel.
            // SAFETY: `new` came from Box::into_raw just above and was never shared.
            drop(unsafe { Box::from_raw(new) });
        }
    }
}

/// Forks a fork server that serves on `ctl` (the child's end of the control socket,
/// still open in this process; the caller closes it afterwards). Returns its pid.
pub(crate) fn start(ctl: RawFd, settings: WorkerSettings) -> io::Result<libc::pid_t> {
    worker::install_panic_hook();
    let forker = forker_handle()?;
    let (reply, answer) = mpsc::sync_channel(1);
    forker
        .tx
        .send(Request {
            ctl,
            settings,
            reply,
        })
        .map_err(|_| io::Error::other("the runtime-forker thread is gone"))?;
    answer
        .recv()
        .map_err(|_| io::Error::other("the runtime-forker thread is gone"))?
}

fn forker(rx: mpsc::Receiver<Request>) {
    for req in rx {
        // SAFETY: getpid has no preconditions.
        let parent = unsafe { libc::getpid() };
        // SAFETY: fork has no memory-safety preconditions. In the child only this thread
        // exists; it runs `serve`, which never returns and touches no lock another thread
        // of the parent might hold (module docs).
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            serve(req.ctl, parent, req.settings);
        }
        let res = if pid < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(pid)
        };
        let _ = req.reply.send(res);
    }
}

/// Dies with the process `parent`: `PR_SET_PDEATHSIG`, then a check that `parent` did not
/// already die before the `prctl` (the child would then have been reparented).
pub(crate) fn die_with_parent(parent: libc::pid_t) -> bool {
    // SAFETY: prctl(PR_SET_PDEATHSIG) takes a signal number; getppid has no preconditions.
    unsafe {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        );
        libc::getppid() == parent
    }
}

/// Moves `fd` to [`CHANNEL_FD`] and closes every other descriptor above 2.
pub(crate) fn keep_only(fd: RawFd) {
    if fd != CHANNEL_FD {
        // SAFETY: dup2 onto CHANNEL_FD closes whatever was there (an inherited descriptor
        // this process must not keep) and makes it a copy of `fd`; then `fd` is closed.
        unsafe {
            libc::dup2(fd, CHANNEL_FD);
            libc::close(fd);
        }
    }
    close_from(CHANNEL_FD + 1);
}

/// Closes every descriptor numbered `low` or more.
fn close_from(low: RawFd) {
    // SAFETY: close_range only closes descriptors; none above `low` is in use by this
    // (single-threaded, freshly forked) process's own code.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            low as libc::c_uint,
            libc::c_uint::MAX,
            0,
        )
    };
    if r == 0 {
        return;
    }
    // Kernels before 5.9: close them one by one, up to the descriptor limit.
    // SAFETY: sysconf has no preconditions.
    let max = unsafe { libc::sysconf(libc::_SC_OPEN_MAX) };
    let max = if max <= 0 { 65_536 } else { max.min(1 << 20) } as RawFd;
    for fd in low..max {
        // SAFETY: as above; closing a descriptor that is not open is harmless (EBADF).
        unsafe { libc::close(fd) };
    }
}

/// The fork server's life: never returns.
fn serve(ctl: RawFd, parent: libc::pid_t, settings: WorkerSettings) -> ! {
    let code = std::panic::catch_unwind(|| run(ctl, parent, settings)).unwrap_or(101);
    // SAFETY: _exit ends the process without running the parent's atexit handlers or
    // flushing its stdio buffers (which this copy must not do).
    unsafe { libc::_exit(code) }
}

fn run(ctl: RawFd, parent: libc::pid_t, settings: WorkerSettings) -> i32 {
    if !die_with_parent(parent) {
        return 1;
    }
    keep_only(ctl);
    // SAFETY: plain signal-mask and disposition calls on valid, initialised sigsets.
    let sigfd = unsafe {
        // Ctrl-C goes to the whole process group: the parent decides what it means, and
        // the pool dies with the parent anyway. Workers inherit this.
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        // SIG_IGN (if the parent set it) would make children reap themselves.
        libc::signal(libc::SIGCHLD, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGCHLD);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK)
    };
    if sigfd < 0 {
        return 2;
    }
    let mut children: Vec<libc::pid_t> = Vec::new();
    let mut reader = FrameReader::new(CHANNEL_FD);
    loop {
        let mut fds = [
            libc::pollfd {
                fd: CHANNEL_FD,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: sigfd,
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: `fds` is a live array of two pollfds.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if n < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return finish(&mut children, 3);
        }
        if fds[1].revents != 0 {
            drain(sigfd);
            if reap(&mut children).is_err() {
                return finish(&mut children, 0);
            }
        }
        if fds[0].revents != 0 {
            // One readiness may carry several frames: the reader buffers them.
            loop {
                match reader.read() {
                    Ok(Some(frame)) if frame.kind == kind::SPAWN => {
                        let fd = reader.take_fd();
                        if spawn(frame.id, fd, settings, &mut children).is_err() {
                            return finish(&mut children, 0);
                        }
                    }
                    Ok(Some(_)) => {}
                    // EOF: the parent dropped the runtime, or died.
                    Ok(None) | Err(_) => return finish(&mut children, 0),
                }
                if !reader.has_buffered() {
                    break;
                }
            }
        }
    }
}

fn drain(sigfd: RawFd) {
    let mut buf = [0u8; 128 * 8];
    // SAFETY: reads into a live local buffer of the given length; the signalfd is
    // non-blocking, so this stops at EAGAIN.
    while unsafe { libc::read(sigfd, buf.as_mut_ptr().cast(), buf.len()) } > 0 {}
}

/// Reaps every child that exited and reports it. `Err` if the parent is gone.
fn reap(children: &mut Vec<libc::pid_t>) -> io::Result<()> {
    loop {
        let mut status = 0;
        // SAFETY: `status` is a live int for waitpid to fill.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            return Ok(());
        }
        children.retain(|&c| c != pid);
        ipc::send_frame(CHANNEL_FD, pid as u64, kind::EXITED, &status.to_le_bytes())?;
    }
}

fn spawn(
    id: u64,
    fd: Option<std::os::fd::OwnedFd>,
    settings: WorkerSettings,
    children: &mut Vec<libc::pid_t>,
) -> io::Result<()> {
    let Some(fd) = fd else {
        return ipc::send_frame(
            CHANNEL_FD,
            id,
            kind::SPAWN_FAILED,
            &libc::EBADF.to_le_bytes(),
        );
    };
    // SAFETY: getpid has no preconditions.
    let me = unsafe { libc::getpid() };
    // SAFETY: this process is single-threaded, so the child is a consistent copy; it runs
    // `worker::run`, which never returns.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        worker::run(fd.into_raw_fd(), me, settings);
    }
    let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
    drop(fd);
    if pid < 0 {
        return ipc::send_frame(CHANNEL_FD, id, kind::SPAWN_FAILED, &errno.to_le_bytes());
    }
    children.push(pid);
    ipc::send_frame(CHANNEL_FD, id, kind::SPAWNED, &pid.to_le_bytes())
}

/// The parent is gone or dropped the runtime: kill every worker, reap them, and exit.
fn finish(children: &mut Vec<libc::pid_t>, code: i32) -> i32 {
    for &pid in children.iter() {
        // SAFETY: `pid` is a child of this process not yet reaped, so it is still ours.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    for &pid in children.iter() {
        let mut status = 0;
        // SAFETY: `status` is a live int; `pid` is our child. SIGKILL cannot be caught, so
        // each wait ends.
        while unsafe { libc::waitpid(pid, &mut status, 0) } < 0
            && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
        {}
    }
    children.clear();
    code
}
