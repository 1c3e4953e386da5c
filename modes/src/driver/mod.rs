//! One driver per loop: the io_uring ring (or the plain park), the park state machine and
//! the timers of one `Single` loop (the `Processes` parent's among them) or one `Threads`
//! worker.
//!
//! Two halves:
//! - [`Driver`], owned by the loop (the `Single` core, a `Threads` worker) and touched
//!   only by the thread running it: the ring, the park, the scratch buffer timers fire
//!   into. [`Driver::enter`] makes it the thread's driver, which is how `io` finds the
//!   ring to submit to without asking the engine.
//! - [`Handle`], cloneable, for every other thread and for `io`/`time`: the unparker, the
//!   ring's remote-submission queue, the clock and the timers.
//!
//! The files, one role each, importing only downwards (`mod.rs` composes them):
//! `park.rs` (the state machine and its signal: condvar or eventfd) <- `remote.rs` (other
//! threads' requests, ordered against the park) <- `ring.rs` (the io_uring instance);
//! `clock.rs` and `timers.rs` stand alone.
//!
//! One park for every loop ([`Driver::park`]), in order:
//! 1. the timeout is the time to the earliest timer of this driver (and of the sibling
//!    handles passed in: a `Threads` worker also waits for its siblings' timers, see
//!    `threads/worker.rs`), plus `PARK_SLACK`; a due timer means no block at all; a
//!    virtual clock that may move jumps to that timer instead of waiting;
//! 2. the caller's `before_block` runs (its last look at its queues) and may call the
//!    park off;
//! 3. the backend blocks: `io_uring_enter` on the ring (submitting what is queued, woken
//!    by a completion, the eventfd or the timeout) or the condvar;
//! 4. every due timer fires: sleeping tasks are woken, due callbacks handed to the caller.

pub(crate) mod bufs;
pub(crate) mod clock;
pub(crate) mod park;
pub(crate) mod remote;
pub(crate) mod ring;
mod timers;

pub(crate) use clock::Clock;
pub use clock::ClockKind;
pub(crate) use park::Unparker;
pub(crate) use ring::{Ring, RingShared};
pub(crate) use timers::{TimerEntry, TimerKey, Timers};

use std::cell::Cell;
use std::sync::{Arc, OnceLock};
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::callback::Callback;

/// Added to every timed park. The wake is never early without it (both backends wait at
/// least the timeout from a start after the clock was read), but it batches: timers due
/// within it fire in one wake instead of one park-and-wake each. Measured on `timers`
/// (10,000 sleeps due about 1 us apart, Threads): without it the median p99 lateness of
/// six runs was 4.9 ms against 2.7 ms with it (a loaded machine; see the step-3 note).
const PARK_SLACK: Duration = Duration::from_micros(50);

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

/// What other threads (and `io`, `time`) hold of one loop's driver.
#[derive(Clone)]
pub(crate) struct Handle(Arc<Shared>);

/// The shared half of a driver (reached through [`Handle`]'s `Deref`).
pub(crate) struct Shared {
    unparker: Unparker,
    /// The ring's remote-submission queue (`None` on the plain park).
    ring: Option<Arc<RingShared>>,
    pub(crate) clock: Clock,
    pub(crate) timers: Timers,
    /// In a pool: also wakes a parked sibling when a timer becomes the earliest here, so
    /// that it re-parks until that deadline (the owner may be about to run a long poll).
    on_earliest: OnceLock<Box<dyn Fn() + Send + Sync>>,
}

impl std::ops::Deref for Handle {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl Handle {
    /// Wakes the loop if it is parked (else its next park returns at once).
    pub(crate) fn unpark(&self) {
        self.0.unparker.unpark();
    }

    pub(crate) fn unparker(&self) -> &Unparker {
        &self.0.unparker
    }

    /// Closes the loop's eventfd once its ring is gone (see [`Unparker::release`]).
    pub(crate) fn release(&self) {
        self.0.unparker.release();
    }

    /// The ring's remote-submission queue, if the loop parks on io_uring.
    pub(crate) fn ring(&self) -> Option<&Arc<RingShared>> {
        self.0.ring.as_ref()
    }

    pub(crate) fn ptr_eq(&self, other: &Handle) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Set once by a pool: called when a timer becomes the earliest of this driver.
    pub(crate) fn set_on_earliest(&self, f: Box<dyn Fn() + Send + Sync>) {
        let _ = self.0.on_earliest.set(f);
    }

    /// Inserts a timer; wakes the loop if it is now the earliest (the loop may be parked
    /// with a later timeout).
    pub(crate) fn insert(&self, deadline: Instant, entry: TimerEntry) -> TimerKey {
        let (key, earliest) = self.0.timers.insert(deadline, entry);
        self.inserted(earliest);
        key
    }

    /// Inserts a sleeper's timer (see [`Timers::insert_wake`]); `None` if it is already due.
    pub(crate) fn insert_wake(&self, deadline: Instant, waker: &Waker) -> Option<TimerKey> {
        let (key, earliest) = self.0.timers.insert_wake(deadline, waker)?;
        self.inserted(earliest);
        Some(key)
    }

    /// After an insert: a new earliest timer wakes the loop (and tells the pool).
    fn inserted(&self, earliest: bool) {
        if earliest {
            self.unpark();
            if let Some(f) = self.0.on_earliest.get() {
                f();
            }
        }
    }

    /// Fires the timers due now into `scratch`, then wakes or hands each to `on_call`.
    fn fire(&self, scratch: &mut Vec<TimerEntry>, on_call: &mut impl FnMut(Arc<Callback>)) -> bool {
        if self.0.timers.is_empty() {
            return false;
        }
        self.0.timers.fire_due(self.0.clock.now(), scratch);
        let any = !scratch.is_empty();
        for entry in scratch.drain(..) {
            match entry {
                TimerEntry::Wake(w) => w.wake(),
                TimerEntry::Call(cb) => on_call(cb),
            }
        }
        any
    }
}

enum Backend {
    Plain,
    Uring(Box<Ring>),
}

/// The loop's side of its driver (see the module docs).
pub(crate) struct Driver {
    backend: Backend,
    handle: Handle,
    /// Timers fire into this, reused from one firing to the next.
    fired: Cell<Vec<TimerEntry>>,
    /// Parks that blocked (or tried to): the loop publishes it as `parks`.
    parks: Cell<u64>,
}

impl Driver {
    /// A driver parking on io_uring if `use_uring` and the kernel allows it, else on a
    /// condvar; its clock is `clock`.
    pub(crate) fn new(use_uring: bool, clock: ClockKind) -> (Driver, ParkBackend) {
        let (backend, unparker, why) = if use_uring {
            let uring = Unparker::eventfd().and_then(|u| {
                let fd = u.event_fd().expect("an eventfd unparker");
                Ring::new(fd, remote::Remote::new(u.clone())).map(|r| (r, u))
            });
            match uring {
                Ok((ring, u)) => (Backend::Uring(Box::new(ring)), u, ParkBackend::IoUring),
                Err(reason) => (
                    Backend::Plain,
                    Unparker::condvar(),
                    ParkBackend::Plain { reason },
                ),
            }
        } else {
            let reason = "io_uring disabled by configuration".to_string();
            (
                Backend::Plain,
                Unparker::condvar(),
                ParkBackend::Plain { reason },
            )
        };
        let ring = match &backend {
            Backend::Uring(r) => Some(r.shared.clone()),
            Backend::Plain => None,
        };
        let handle = Handle(Arc::new(Shared {
            unparker,
            ring,
            clock: Clock::new(clock),
            timers: Timers::default(),
            on_earliest: OnceLock::new(),
        }));
        let driver = Driver {
            backend,
            handle,
            fired: Cell::new(Vec::new()),
            parks: Cell::new(0),
        };
        (driver, why)
    }

    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }

    /// The loop's ring, if it parks on io_uring.
    pub(crate) fn ring(&self) -> Option<&Ring> {
        match &self.backend {
            Backend::Plain => None,
            Backend::Uring(r) => Some(r),
        }
    }

    /// Parks that blocked (or tried to) so far.
    pub(crate) fn parks(&self) -> u64 {
        self.parks.get()
    }

    /// Non-blocking I/O turn (submit, reap): `true` if an operation completed.
    pub(crate) fn poll_io(&self) -> bool {
        match &self.backend {
            Backend::Uring(r) if r.needs_poll() => r.poll(),
            _ => false,
        }
    }

    /// Reaps completions already posted, with no syscall (see `Ring::reap_posted`):
    /// `true` if an operation completed.
    pub(crate) fn reap_posted(&self) -> bool {
        match &self.backend {
            Backend::Uring(r) => r.reap_posted(),
            Backend::Plain => false,
        }
    }

    /// Fires every due timer of this driver and of `siblings` (a pool's other workers;
    /// this driver's own handle among them is skipped): wakes sleeping tasks and hands
    /// due callbacks to `on_call`. `true` if anything fired.
    pub(crate) fn fire_timers(
        &self,
        siblings: &[Handle],
        mut on_call: impl FnMut(Arc<Callback>),
    ) -> bool {
        let mut fired = self.fired.take();
        let mut any = self.handle.fire(&mut fired, &mut on_call);
        for h in siblings.iter().filter(|h| !h.ptr_eq(&self.handle)) {
            any |= h.fire(&mut fired, &mut on_call);
        }
        self.fired.set(fired);
        any
    }

    fn next_deadline(&self, siblings: &[Handle]) -> Option<Instant> {
        let own = self.handle.timers.next_deadline();
        siblings
            .iter()
            .filter(|h| !h.ptr_eq(&self.handle))
            .filter_map(|h| h.timers.next_deadline())
            .chain(own)
            .min()
    }

    /// The one park of every loop (module docs, steps 1-4). `may_jump`: a virtual clock
    /// may move to the next timer now (nothing outside the loop can still wake a task).
    /// `before_block` returns `false` to call the block off. Returns `true` if it
    /// blocked.
    pub(crate) fn park(
        &self,
        siblings: &[Handle],
        may_jump: bool,
        before_block: impl FnOnce() -> bool,
        on_call: impl FnMut(Arc<Callback>),
    ) -> bool {
        let next = self.next_deadline(siblings);
        let clock = &self.handle.clock;
        let timeout = match (clock.kind(), next) {
            (ClockKind::Virtual, Some(t)) if may_jump => {
                clock.advance_to(t);
                self.fire_timers(siblings, on_call);
                return false;
            }
            // Work outside the loop may still wake a task: wait for it in real time.
            (ClockKind::Virtual, _) | (ClockKind::Real, None) => None,
            (ClockKind::Real, Some(t)) => {
                let left = t.saturating_duration_since(clock.now());
                if left.is_zero() {
                    self.fire_timers(siblings, on_call);
                    return false;
                }
                Some(left + PARK_SLACK)
            }
        };
        if !before_block() {
            return false;
        }
        self.parks.set(self.parks.get() + 1);
        match &self.backend {
            Backend::Plain => park::park_plain(&self.handle.unparker, timeout),
            Backend::Uring(r) => r.park(timeout),
        }
        self.fire_timers(siblings, on_call);
        true
    }
}
