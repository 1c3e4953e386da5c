//! I/O on the loop's own io_uring ring, or on a readiness fallback, behind one API.
//!
//! - `uring`: one ring per loop (per worker in `Threads`), the same ring the loop parks
//!   on. Operations own their buffers ([`IoBuf`], [`IoBufMut`]) until the kernel has
//!   completed them, cancelled or not.
//! - `ready`: where io_uring is refused (EPERM/ENOSYS: `kernel.io_uring_disabled`,
//!   seccomp) or disabled (`RUNTIME_IO_URING=0`, `Builder::io_uring(false)`): sockets are
//!   non-blocking and wait for readiness on an epoll reactor thread; files run on the
//!   blocking pool.
//!
//! [`IoFd`] is a descriptor bound to one backend when it is made (from the runtime
//! current on the calling thread); its operations are the syscall layer under
//! `runtime::net` and `runtime::fs`.

mod accept;
mod buf;
mod fd;
mod file;
mod net;
pub(crate) mod ready;
mod sockaddr;
mod stream;
pub(crate) mod uring;

pub use buf::{IoBuf, IoBufMut};
pub use fd::{IoFd, PollState};
pub use file::open;

/// Which I/O backend a runtime uses, as reported by `Scheduler::io_backend`.
///
/// ```
/// use modes::io::IoBackend;
/// let (sched, _) = modes::Scheduler::single(&modes::Config { io_uring: false, ..Default::default() });
/// assert!(matches!(sched.io_backend(), IoBackend::Readiness { .. }));
/// assert!(sched.io_backend().to_string().starts_with("readiness (epoll"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IoBackend {
    /// Completion-based: operations are submitted to the loop's io_uring ring.
    IoUring,
    /// Readiness-based: non-blocking sockets on an epoll reactor, files on the blocking
    /// pool. The reason says why io_uring is not used.
    Readiness {
        /// Why io_uring is not used (refused by the kernel, or disabled).
        reason: String,
    },
}

impl std::fmt::Display for IoBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IoBackend::IoUring => f.write_str("io_uring"),
            IoBackend::Readiness { reason } => write!(f, "readiness (epoll; {reason})"),
        }
    }
}

impl IoBackend {
    pub(crate) fn from_park(park: &crate::ParkBackend) -> IoBackend {
        match park {
            crate::ParkBackend::IoUring => IoBackend::IoUring,
            crate::ParkBackend::Plain { reason } => IoBackend::Readiness {
                reason: reason.clone(),
            },
        }
    }
}

/// The error of I/O polled where no runtime runs: on a thread that is in no runtime, as
/// after the runtime it was made in was dropped. Both backends return it, from every
/// operation, before doing anything.
pub(crate) fn no_runtime() -> std::io::Error {
    std::io::Error::other(
        "I/O outside a runtime (none runs on this thread, or it was dropped): \
         call it from a task or inside block_on",
    )
}

/// `Err(no_runtime())` unless a runtime is current on this thread. io_uring has no ring
/// to submit to there, while the readiness reactor is process-wide and would go on
/// waiting (forever, if nothing comes): every operation checks this first, so both
/// backends fail alike, even where the syscall would not have blocked.
pub(crate) fn check_runtime() -> std::io::Result<()> {
    match current_backend() {
        Some(_) => Ok(()),
        None => Err(no_runtime()),
    }
}

/// The backend of the runtime current on this thread (`None` outside a runtime).
pub(crate) fn current_backend() -> Option<bool> {
    if uring::on_ring_thread() {
        return Some(true);
    }
    crate::context::with(|s| s.map(|s| s.drivers().iter().any(|d| d.ring().is_some())))
}
