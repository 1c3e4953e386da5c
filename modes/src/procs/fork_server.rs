//! The forker thread and the fork server (steps 1-3 and 11 of the protocol in
//! `procs/mod.rs`).
//!
//! The fork server is single-threaded and only forks workers on request, reaps them and
//! reports their exit statuses. It never prints, reads the environment or takes a std
//! lock: whatever lock another parent thread held when it was forked stays held in its
//! memory forever.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::mpsc;

use rustix::event::{PollFd, PollFlags};
use rustix::process::{Pid, PidfdFlags, Signal, WaitOptions};

use super::ipc::{self, FrameReader};
use super::{kind, worker, WorkerSettings};

/// A process id as the pool keeps it (the wire carries it as an `i32`).
pub(crate) type RawPid = i32;

/// The descriptor the control socket (fork server) or the worker socket (worker) is
/// moved to.
pub(crate) const CHANNEL_FD: RawFd = 3;

struct Request {
    ctl: RawFd,
    settings: WorkerSettings,
    reply: mpsc::SyncSender<io::Result<RawPid>>,
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
pub(crate) fn start(ctl: RawFd, settings: WorkerSettings) -> io::Result<RawPid> {
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
        let parent = rustix::process::getpid();
        // SAFETY: fork itself has no memory-safety preconditions, but what the child may
        // do does (only this thread exists in it, other threads' locks stay held): rustix
        // offers no fork for std programs for that reason. The child runs `serve`, which
        // never returns and touches no lock another thread of the parent might hold
        // (module docs).
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
pub(crate) fn die_with_parent(parent: Pid) -> bool {
    rustix::process::set_parent_process_death_signal(Some(Signal::KILL)).is_ok()
        && rustix::process::getppid() == Some(parent)
}

/// Moves `fd` to [`CHANNEL_FD`], closes every other descriptor above 2, and returns the
/// channel.
pub(crate) fn keep_only(fd: RawFd) -> OwnedFd {
    // SAFETY: in a freshly forked, single-threaded child, which owns every descriptor it
    // inherited and uses none of them but `fd`: (1) dup2 onto CHANNEL_FD replaces
    // whatever was there (an inherited descriptor this process must not keep), then `fd`
    // is closed; (2) close_range closes every other descriptor above it (before Linux
    // 5.9, one by one up to the limit: closing one that is not open is harmless); (3)
    // CHANNEL_FD is then this process's, owned once. Closing descriptors no `OwnedFd`
    // holds is what I/O safety forbids, so rustix has no safe call for it.
    unsafe {
        if fd != CHANNEL_FD {
            libc::dup2(fd, CHANNEL_FD);
            libc::close(fd);
        }
        let low = (CHANNEL_FD + 1) as libc::c_uint;
        if libc::syscall(libc::SYS_close_range, low, libc::c_uint::MAX, 0) != 0 {
            let max = libc::sysconf(libc::_SC_OPEN_MAX);
            let max = if max <= 0 { 65_536 } else { max.min(1 << 20) } as RawFd;
            for fd in CHANNEL_FD + 1..max {
                libc::close(fd);
            }
        }
        std::os::fd::FromRawFd::from_raw_fd(CHANNEL_FD)
    }
}

/// Ends this forked process at once.
pub(crate) fn exit(code: i32) -> ! {
    // SAFETY: _exit ends the process without running the parent's atexit handlers or
    // flushing its stdio buffers (which a forked copy must not do: their locks may be
    // held by a thread that does not exist here). rustix has it only in its unstable
    // `runtime` module; std's `exit` runs the handlers.
    unsafe { libc::_exit(code) }
}

/// The fork server's life: never returns.
fn serve(ctl: RawFd, parent: Pid, settings: WorkerSettings) -> ! {
    let code = std::panic::catch_unwind(|| run(ctl, parent, settings)).unwrap_or(101);
    exit(code)
}

/// A worker the fork server forked and has not reaped: its pid, and a pidfd that polls
/// readable once it has exited (`None` before Linux 5.3: then the poll wakes every
/// `REAP_POLL_MS` to reap).
struct Child {
    pid: Pid,
    pidfd: Option<OwnedFd>,
}

/// How often the fork server looks for exited workers when a pidfd is missing.
const REAP_POLL_MS: i32 = 20;

fn run(ctl: RawFd, parent: Pid, settings: WorkerSettings) -> i32 {
    if !die_with_parent(parent) {
        return 1;
    }
    let ctl = keep_only(ctl);
    // SAFETY: two signal dispositions set to constants (no handler, so nothing can run
    // at a bad time); rustix has no safe sigaction. (1) Ctrl-C goes to the whole process
    // group: the parent decides what it means, and the pool dies with the parent anyway;
    // workers inherit this. (2) SIG_IGN for SIGCHLD (if the parent set it) would make
    // children reap themselves, and their exit statuses would be lost.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGCHLD, libc::SIG_DFL);
    }
    let mut children: Vec<Child> = Vec::new();
    let mut reader = FrameReader::new(ctl.as_fd());
    loop {
        let mut fds = vec![PollFd::new(&ctl, PollFlags::IN)];
        fds.extend(
            children
                .iter()
                .filter_map(|c| c.pidfd.as_ref())
                .map(|fd| PollFd::new(fd, PollFlags::IN)),
        );
        let blind = children.iter().any(|c| c.pidfd.is_none());
        let timeout = rustix::event::Timespec {
            tv_sec: 0,
            tv_nsec: i64::from(REAP_POLL_MS) * 1_000_000,
        };
        match rustix::event::poll(&mut fds, blind.then_some(&timeout)) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return finish(&mut children, 3),
        }
        let ctl_ready = !fds[0].revents().is_empty();
        let exited = blind || fds[1..].iter().any(|f| !f.revents().is_empty());
        drop(fds);
        if exited && reap(ctl.as_fd(), &mut children).is_err() {
            return finish(&mut children, 0);
        }
        if ctl_ready {
            // One readiness may carry several frames: the reader buffers them.
            loop {
                match reader.read() {
                    Ok(Some(frame)) if frame.kind == kind::SPAWN => {
                        let fd = reader.take_fd();
                        if spawn(ctl.as_fd(), frame.id, fd, settings, &mut children).is_err() {
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

/// Reaps every child that exited and reports it. `Err` if the parent is gone.
fn reap(ctl: BorrowedFd<'_>, children: &mut Vec<Child>) -> io::Result<()> {
    while let Ok(Some((pid, status))) = rustix::process::waitpid(None, WaitOptions::NOHANG) {
        children.retain(|c| c.pid != pid);
        let raw = status.as_raw();
        ipc::send_frame(
            ctl,
            pid.as_raw_nonzero().get() as u64,
            kind::EXITED,
            &raw.to_le_bytes(),
        )?;
    }
    Ok(())
}

fn spawn(
    ctl: BorrowedFd<'_>,
    id: u64,
    fd: Option<OwnedFd>,
    settings: WorkerSettings,
    children: &mut Vec<Child>,
) -> io::Result<()> {
    let Some(fd) = fd else {
        return ipc::send_frame(ctl, id, kind::SPAWN_FAILED, &libc::EBADF.to_le_bytes());
    };
    let me = rustix::process::getpid();
    // SAFETY: fork (see `forker`: rustix has none for std programs); this process is
    // single-threaded, so the child is a consistent copy; it runs `worker::run`, which
    // never returns.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        worker::run(std::os::fd::IntoRawFd::into_raw_fd(fd), me, settings);
    }
    let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
    drop(fd);
    let Some(child) = Pid::from_raw(pid) else {
        return ipc::send_frame(ctl, id, kind::SPAWN_FAILED, &errno.to_le_bytes());
    };
    let pidfd = rustix::process::pidfd_open(child, PidfdFlags::empty()).ok();
    children.push(Child { pid: child, pidfd });
    ipc::send_frame(ctl, id, kind::SPAWNED, &pid.to_le_bytes())
}

/// The parent is gone or dropped the runtime: kill every worker, reap them, and exit.
fn finish(children: &mut Vec<Child>, code: i32) -> i32 {
    for c in children.iter() {
        // A child not yet reaped is still ours (its pid cannot be reused).
        let _ = rustix::process::kill_process(c.pid, Signal::KILL);
    }
    for c in children.iter() {
        // SIGKILL cannot be caught, so each wait ends.
        while let Err(rustix::io::Errno::INTR) =
            rustix::process::waitpid(Some(c.pid), WaitOptions::empty())
        {}
    }
    children.clear();
    code
}
