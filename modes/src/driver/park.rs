//! The park state machine of one loop, and the signal that wakes it: a condvar (the plain
//! park) or an eventfd the loop's ring is reading (`ring.rs` reads it; this file only
//! writes it). Nothing here knows the ring.
//!
//! Protocol (the state word of [`ParkState`], shared by the parker and every unparker):
//! - `EMPTY`: nobody parked, no pending notification.
//! - `PARKED`: the loop thread is (about to be) blocked; an unparker must signal it.
//! - `NOTIFIED`: a wake arrived; the next `park` returns at once and resets to `EMPTY`.
//!
//! 1. `unpark` swaps in `NOTIFIED`; only if it replaced `PARKED` does it signal (a condvar
//!    notify, or a write to the eventfd). A wake therefore costs one atomic swap unless
//!    the loop really sleeps.
//! 2. `begin_park` first consumes a `NOTIFIED`; otherwise it CASes `EMPTY -> PARKED`, and
//!    the caller blocks. A wake that lands between the CAS and the block is not lost: the
//!    condvar is checked under its mutex, and the eventfd stays readable, so the ring's
//!    wait returns at once.
//! 3. `end_park` resets to `EMPTY`. The caller re-checks its queues after every park:
//!    a park may return spuriously, never late.

use std::os::fd::{BorrowedFd, RawFd};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::fd_slot::FdSlot;
use crate::loom::{AtomicUsize, Condvar, Mutex};

const EMPTY: usize = 0;
const PARKED: usize = 1;
const NOTIFIED: usize = 2;

/// The state word of the protocol above.
pub(crate) struct ParkState(AtomicUsize);

/// What `begin_park` found.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BeginPark {
    /// Registered as parked: block, then call `end_park`.
    Block,
    /// A wake was pending (now consumed): do not block.
    Notified,
}

impl ParkState {
    pub(crate) fn new() -> ParkState {
        ParkState(AtomicUsize::new(EMPTY))
    }

    /// Step 1: records a wake. `true` if the parker sleeps and must be signalled.
    #[must_use]
    pub(crate) fn unpark(&self) -> bool {
        self.0.swap(NOTIFIED, Ordering::SeqCst) == PARKED
    }

    /// Step 2.
    pub(crate) fn begin_park(&self) -> BeginPark {
        if self
            .0
            .compare_exchange(NOTIFIED, EMPTY, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return BeginPark::Notified;
        }
        match self
            .0
            .compare_exchange(EMPTY, PARKED, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => BeginPark::Block,
            Err(_) => {
                self.0.swap(EMPTY, Ordering::SeqCst);
                BeginPark::Notified
            }
        }
    }

    /// `true` if a wake arrived since `begin_park`.
    pub(crate) fn is_notified(&self) -> bool {
        self.0.load(Ordering::SeqCst) == NOTIFIED
    }

    /// Step 3.
    pub(crate) fn end_park(&self) {
        self.0.swap(EMPTY, Ordering::SeqCst);
    }
}

/// How an unparker reaches a sleeping parker.
pub(crate) enum Signal {
    Condvar {
        lock: Mutex<()>,
        cv: Condvar,
    },
    /// Read by the loop's ring; closed by [`Unparker::release`] once that ring is gone.
    EventFd(FdSlot),
    /// Under loom, the eventfd as the models see it: its counter under a lock. A write
    /// adds one; the ring's read waits until it is non-zero and clears it.
    #[cfg(loom)]
    Model {
        count: Mutex<u64>,
        cv: Condvar,
    },
}

pub(crate) struct Inner {
    pub(crate) state: ParkState,
    pub(crate) signal: Signal,
}

/// Wakes a parked loop; cheap to clone, usable from any thread.
#[derive(Clone)]
pub(crate) struct Unparker(pub(crate) Arc<Inner>);

impl Unparker {
    /// An unparker for the plain park.
    pub(crate) fn condvar() -> Unparker {
        Unparker(Arc::new(Inner {
            state: ParkState::new(),
            signal: Signal::Condvar {
                lock: Mutex::new(()),
                cv: Condvar::new(),
            },
        }))
    }

    /// An unparker that writes a fresh eventfd (for a ring to read). `Err` says why not.
    pub(crate) fn eventfd() -> Result<Unparker, String> {
        use rustix::event::{eventfd, EventfdFlags};
        let fd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)
            .map_err(|e| format!("eventfd failed: {}", std::io::Error::from(e)))?;
        Ok(Unparker(Arc::new(Inner {
            state: ParkState::new(),
            signal: Signal::EventFd(FdSlot::new(fd)),
        })))
    }

    pub(crate) fn unpark(&self) {
        if !self.0.state.unpark() {
            return;
        }
        match &self.0.signal {
            Signal::Condvar { lock, cv } => {
                // Taking the lock orders this notify after the parker's wait began.
                drop(lock.lock());
                cv.notify_one();
            }
            Signal::EventFd(fd) => {
                fd.with(write_eventfd);
            }
            #[cfg(loom)]
            Signal::Model { count, cv } => {
                *count.lock() += 1;
                cv.notify_all();
            }
        }
    }

    /// The eventfd a ring reads for wakes (`None` for the plain park). The engine closes
    /// it only after that ring is dropped.
    pub(crate) fn event_fd(&self) -> Option<RawFd> {
        match &self.0.signal {
            Signal::EventFd(fd) => Some(fd.raw()),
            _ => None,
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

    pub(crate) fn state(&self) -> &ParkState {
        &self.0.state
    }
}

#[cfg(loom)]
impl Unparker {
    /// An unparker whose signal is the loom model of an eventfd.
    pub(crate) fn model_eventfd() -> Unparker {
        Unparker(Arc::new(Inner {
            state: ParkState::new(),
            signal: Signal::Model {
                count: Mutex::new(0),
                cv: Condvar::new(),
            },
        }))
    }

    /// The ring's eventfd read, modelled: blocks until the counter is non-zero, then
    /// clears it.
    pub(crate) fn model_read(&self) {
        let Signal::Model { count, cv } = &self.0.signal else {
            unreachable!("model_read on a model unparker only");
        };
        let mut n = count.lock();
        while *n == 0 {
            n = cv.wait(n);
        }
        *n = 0;
    }
}

/// One 8-byte write to the eventfd `fd` (held open by the caller). A failure (counter
/// overflow, impossible here) would only lose a wake already pending.
fn write_eventfd(fd: BorrowedFd<'_>) {
    let _ = rustix::io::write(fd, &1u64.to_ne_bytes());
}

/// The plain park: blocks on the condvar of a [`Unparker::condvar`] until unparked or
/// `timeout` passes (`None`: no timeout). May return early.
pub(crate) fn park_plain(unparker: &Unparker, timeout: Option<Duration>) {
    let inner = &unparker.0;
    let Signal::Condvar { lock, cv } = &inner.signal else {
        unreachable!("the plain park is only built with a condvar unparker");
    };
    let mut guard = lock.lock();
    if inner.state.begin_park() == BeginPark::Notified {
        return;
    }
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        if inner.state.is_notified() {
            break;
        }
        match deadline {
            None => guard = cv.wait(guard),
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    break;
                }
                guard = cv.wait_timeout(guard, d - now).0;
            }
        }
    }
    inner.state.end_park();
}
