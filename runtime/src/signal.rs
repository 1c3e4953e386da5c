//! Ctrl-C as a future: `runtime::signal::ctrl_c().await` (the seeds' KeyboardInterrupt).
//!
//! The first call installs a SIGINT handler for the whole process (from then on Ctrl-C
//! no longer kills it: the program decides, as with asyncio's `loop.add_signal_handler`).
//! The handler only writes a byte to a pipe (async-signal-safe); a watcher thread reads it
//! and wakes every waiting future.

use modes::lock::Mutex;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

static WRITE_FD: AtomicI32 = AtomicI32::new(-1);
static GENERATION: AtomicU64 = AtomicU64::new(0);
static WAITERS: Mutex<Vec<Waker>> = Mutex::new(Vec::new());
static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();

extern "C" fn on_sigint(_: libc::c_int) {
    let fd = WRITE_FD.load(Ordering::Relaxed);
    if fd >= 0 {
        let b = 1u8;
        // SAFETY: write(2) is async-signal-safe; `b` is a live local byte.
        unsafe { libc::write(fd, (&b as *const u8).cast(), 1) };
    }
}

fn install() -> Result<(), String> {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid array of two ints for pipe2 to fill.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(format!("pipe2 failed: {}", io::Error::last_os_error()));
    }
    let (read_fd, write_fd) = (fds[0], fds[1]);
    WRITE_FD.store(write_fd, Ordering::Relaxed);
    std::thread::Builder::new()
        .name("runtime-signal".into())
        .spawn(move || {
            let mut buf = [0u8; 64];
            loop {
                // SAFETY: reads into a live local buffer of the given length.
                let n = unsafe { libc::read(read_fd, buf.as_mut_ptr().cast(), buf.len()) };
                if n <= 0 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                    return;
                }
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
/// // SAFETY: raise(3) only sends SIGINT to this process, as pressing Ctrl-C would.
/// unsafe { libc::raise(libc::SIGINT) };
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
