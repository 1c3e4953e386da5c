//! Parking a loop thread until there is work or a timer is due, and waking it from any
//! thread.
//!
//! Protocol (the state word of `Inner`, shared by the parker and every unparker):
//! - `EMPTY`: nobody parked, no pending notification.
//! - `PARKED`: the loop thread is (about to be) blocked; an unparker must signal it.
//! - `NOTIFIED`: a wake arrived; the next `park` returns at once and resets to `EMPTY`.
//!
//! 1. `unpark` swaps in `NOTIFIED`; only if it replaced `PARKED` does it signal (a condvar
//!    notify, or a write to the eventfd the ring is reading). A wake therefore costs one
//!    atomic swap unless the loop really sleeps.
//! 2. `park` first consumes a `NOTIFIED`; otherwise it CASes `EMPTY -> PARKED` and blocks.
//!    A wake that lands between the CAS and the block is not lost: the condvar is checked
//!    under its mutex, and the eventfd stays readable, so the ring wait returns at once.
//! 3. The caller re-checks its queues after every `park` returns: `park` may return
//!    spuriously, never late.

pub(crate) mod plain;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::loom::{AtomicUsize, Condvar, Mutex};

pub(crate) const EMPTY: usize = 0;
pub(crate) const PARKED: usize = 1;
pub(crate) const NOTIFIED: usize = 2;

/// How a loop blocks when idle, as reported by `Scheduler::park_backend`.
///
/// ```
/// use modes::ParkBackend;
/// let (_, backend) = modes::Scheduler::single(&modes::Config::default());
/// match &backend {
///     ParkBackend::IoUring => assert_eq!(backend.to_string(), "io_uring"),
///     ParkBackend::Plain { reason } => println!("io_uring refused: {reason}"),
/// }
/// let (_, plain) = modes::Scheduler::single(&modes::Config { io_uring: false, ..Default::default() });
/// assert_eq!(plain, ParkBackend::Plain { reason: "io_uring disabled by configuration".into() });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParkBackend {
    /// `io_uring_enter` waiting for one completion with a timeout; wakes arrive as an
    /// eventfd read completion.
    IoUring,
    /// A mutex and condvar: used when io_uring was refused or disabled. The reason says
    /// which.
    Plain {
        /// Why io_uring is not used (refused by the kernel, or disabled by configuration).
        reason: String,
    },
}

impl std::fmt::Display for ParkBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParkBackend::IoUring => f.write_str("io_uring"),
            ParkBackend::Plain { reason } => write!(f, "plain park ({reason})"),
        }
    }
}

pub(crate) enum Signal {
    Condvar {
        lock: Mutex<()>,
        cv: Condvar,
    },
    /// Closed by [`Unparker::release`] once the ring that reads it is gone.
    EventFd(crate::fd_slot::FdSlot),
}

pub(crate) struct Inner {
    state: AtomicUsize,
    pub(crate) signal: Signal,
}

/// Wakes a parked loop; cheap to clone, usable from any thread.
#[derive(Clone)]
pub(crate) struct Unparker(pub(crate) Arc<Inner>);

impl Unparker {
    pub(crate) fn unpark(&self) {
        if self.0.state.swap(NOTIFIED, Ordering::SeqCst) != PARKED {
            return;
        }
        match &self.0.signal {
            Signal::Condvar { lock, cv } => {
                // Taking the lock orders this notify after the parker's wait began.
                drop(lock.lock());
                cv.notify_one();
            }
            Signal::EventFd(fd) => {
                fd.with(crate::io::uring::ring::signal);
            }
        }
    }

    /// Closes the eventfd (if any): called by the engine's shutdown once the loop's ring
    /// is dropped, so that a `Handle` or `JoinHandle` kept past the runtime's drop holds
    /// no descriptor. Later unparks do nothing.
    pub(crate) fn release(&self) {
        if let Signal::EventFd(fd) = &self.0.signal {
            fd.close();
        }
    }
}

/// The loop thread's side. With io_uring the parker is the loop's ring, which also
/// carries the loop's I/O (`io::uring`).
pub(crate) enum Parker {
    Plain(plain::PlainParker),
    Uring(Box<crate::io::uring::Ring>),
}

impl Parker {
    /// A parker on io_uring if `use_uring` and the kernel allows it, else a plain one.
    pub(crate) fn new(use_uring: bool) -> (Parker, Unparker, ParkBackend) {
        if use_uring {
            match crate::io::uring::Ring::new() {
                Ok((p, inner)) => {
                    return (
                        Parker::Uring(Box::new(p)),
                        Unparker(inner),
                        ParkBackend::IoUring,
                    )
                }
                Err(reason) => {
                    let (p, inner) = plain::PlainParker::new();
                    return (
                        Parker::Plain(p),
                        Unparker(inner),
                        ParkBackend::Plain { reason },
                    );
                }
            }
        }
        let (p, inner) = plain::PlainParker::new();
        let reason = "io_uring disabled by configuration".to_string();
        (
            Parker::Plain(p),
            Unparker(inner),
            ParkBackend::Plain { reason },
        )
    }

    /// Blocks until unparked or `timeout` passes (`None`: no timeout). May return early.
    pub(crate) fn park(&self, timeout: Option<Duration>) {
        match self {
            Parker::Plain(p) => p.park(timeout),
            Parker::Uring(p) => p.park(timeout),
        }
    }

    /// The loop's ring, if it parks on io_uring.
    pub(crate) fn ring(&self) -> Option<&crate::io::uring::Ring> {
        match self {
            Parker::Plain(_) => None,
            Parker::Uring(r) => Some(r),
        }
    }

    /// What other threads need to submit to this parker's ring.
    pub(crate) fn ring_shared(&self) -> Option<Arc<crate::io::uring::RingShared>> {
        self.ring().map(|r| r.shared.clone())
    }

    /// Non-blocking I/O turn (submit, reap): `true` if an operation completed.
    pub(crate) fn poll_io(&self) -> bool {
        match self {
            Parker::Uring(r) if r.needs_poll() => r.poll(),
            _ => false,
        }
    }
}

impl Inner {
    pub(crate) fn new(signal: Signal) -> Arc<Inner> {
        Arc::new(Inner {
            state: AtomicUsize::new(EMPTY),
            signal,
        })
    }

    /// Step 2 of the protocol: `true` if the caller must block, `false` if a notification
    /// was pending (and is now consumed).
    pub(crate) fn begin_park(&self) -> bool {
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return false;
        }
        match self
            .state
            .compare_exchange(EMPTY, PARKED, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => true,
            Err(_) => {
                self.state.swap(EMPTY, Ordering::SeqCst);
                false
            }
        }
    }

    pub(crate) fn end_park(&self) {
        self.state.swap(EMPTY, Ordering::SeqCst);
    }
}
