//! Ctrl-C as a future: `runtime::signal::ctrl_c().await` (the seeds' KeyboardInterrupt).
//!
//! The first call installs a SIGINT handler for the whole process (from then on Ctrl-C
//! no longer kills it: the program decides, as with asyncio's `loop.add_signal_handler`).
//! The handler only writes a byte to a pipe (async-signal-safe); a watcher thread reads it
//! and wakes every waiting future.
//!
//! The pipe and its reads and writes are rustix's (a raw `write` syscall in the handler:
//! no allocation, no lock). `signalfd` is not used: it sees a signal only if every thread
//! of the process blocks it, which a library cannot arrange for threads it did not make;
//! installing the handler (`sigaction`) is the one unsafe call left.

use modes::lock::Mutex;
use std::future::Future;
use std::io;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

/// The pipe's write end, set once before the handler is installed and never closed.
static WRITE_FD: OnceLock<OwnedFd> = OnceLock::new();
static GENERATION: AtomicU64 = AtomicU64::new(0);
static WAITERS: Mutex<Vec<Waker>> = Mutex::new(Vec::new());
static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();

extern "C" fn on_sigint(_: libc::c_int) {
    // `OnceLock::get` is one atomic load, and rustix's `write` one syscall that touches
    // no errno: both async-signal-safe.
    if let Some(fd) = WRITE_FD.get() {
        let _ = rustix::io::write(fd, &[1]);
    }
}

fn install() -> Result<(), String> {
    let (read_fd, write_fd) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| format!("pipe2 failed: {e}"))?;
    // `install` runs once (under `INSTALLED`'s `get_or_init`), so this is the first set.
    let _ = WRITE_FD.set(write_fd);
    std::thread::Builder::new()
        .name("runtime-signal".into())
        .spawn(move || {
            let mut buf = [0u8; 64];
            loop {
                let n = match rustix::io::read(&read_fd, &mut buf) {
                    Ok(0) => return,
                    Ok(n) => n,
                    Err(rustix::io::Errno::INTR) => 0,
                    Err(_) => return,
                };
                if n > 0 {
                    GENERATION.fetch_add(1, Ordering::AcqRel);
                    let waiters = std::mem::take(&mut *WAITERS.lock());
                    for w in waiters {
                        w.wake();
                    }
                }
            }
        })
        .map_err(|e| format!("could not start the signal thread: {e}"))?;
    // SAFETY: a zeroed sigaction is a valid starting value; we set the handler and mask
    // before passing it to sigaction, and `on_sigint` is async-signal-safe.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigint as *const () as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        if libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut()) != 0 {
            return Err(format!("sigaction failed: {}", io::Error::last_os_error()));
        }
    }
    Ok(())
}

/// Completes at the next SIGINT (Ctrl-C) received after it was created.
///
/// Returns an error only if the handler could not be installed.
///
/// ```no_run
/// let rt = runtime::Runtime::builder().build().unwrap();
/// rt.block_on(async {
///     runtime::signal::ctrl_c().await.expect("handler installed");
///     println!("interrupted: cancelling every task");
///     for t in runtime::Handle::current().unwrap().all_tasks() {
///         t.cancel();
///     }
/// });
/// ```
pub fn ctrl_c() -> CtrlC {
    let installed = INSTALLED.get_or_init(install).clone();
    CtrlC {
        seen: GENERATION.load(Ordering::Acquire),
        installed,
    }
}

/// The future returned by [`ctrl_c`].
///
/// ```
/// let rt = runtime::Runtime::builder().build().unwrap();
/// let interrupted: runtime::signal::CtrlC = runtime::signal::ctrl_c(); // handler installed
/// // SIGINT to this process, as pressing Ctrl-C would.
/// rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::INT).unwrap();
/// rt.block_on(interrupted).expect("the handler was installed"); // caught, not killed
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct CtrlC {
    seen: u64,
    installed: Result<(), String>,
}

impl Future for CtrlC {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Err(e) = &self.installed {
            return Poll::Ready(Err(io::Error::other(e.clone())));
        }
        let mut waiters = WAITERS.lock();
        if GENERATION.load(Ordering::Acquire) != self.seen {
            return Poll::Ready(Ok(()));
        }
        waiters.push(cx.waker().clone());
        Poll::Pending
    }
}
