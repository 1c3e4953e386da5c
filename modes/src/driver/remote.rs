//! Requests other threads queue for a loop's ring, and the part of the park that must
//! not lose them.
//!
//! Protocol (checked by `loom_tests/ring_park.rs`):
//! 1. A remote thread pushes its request under the queue's lock, sets `has_requests`,
//!    releases the lock, then unparks the loop (`park.rs`, step 1: a signal only if the
//!    loop is registered as parked).
//! 2. The loop parks in this order: `begin_park`, take the queue, wait, `end_park`
//!    ([`Remote::park`]). If it took anything it waits with a zero timeout (it has SQEs
//!    to submit and completions to expect).
//! 3. So a request is either queued before `begin_park` (its `has_requests` store is
//!    ordered before the unpark's swap, and that swap before the loop's CAS, or the CAS
//!    finds `NOTIFIED` and the loop does not sleep), and taken in step 2; or after it, when
//!    the unpark finds `PARKED` and signals, and the wait ends. No request is left in the
//!    queue while the loop sleeps.
//! 4. `close` (the ring's drop) takes what is queued and refuses every later push, so a
//!    request never waits for a ring that is gone.

use std::sync::atomic::Ordering;

use super::park::{BeginPark, Unparker};

/// How [`Remote::park`] returned.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parked {
    /// It waited (the wait may have ended at once).
    Waited,
    /// A wake was pending: it did not wait (nor take the queue).
    Notified,
}
use crate::loom::{AtomicBool, Mutex};

/// A queue of requests for one loop, and that loop's unparker.
pub(crate) struct Remote<T> {
    requests: Mutex<Vec<T>>,
    has_requests: AtomicBool,
    closed: AtomicBool,
    unparker: Unparker,
}

impl<T> Remote<T> {
    pub(crate) fn new(unparker: Unparker) -> Remote<T> {
        Remote {
            requests: Mutex::new(Vec::new()),
            has_requests: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            unparker,
        }
    }

    /// Step 1. Gives `req` back if the queue is closed.
    pub(crate) fn push(&self, req: T) -> Result<(), T> {
        let mut q = self.requests.lock();
        if self.closed.load(Ordering::Acquire) {
            return Err(req);
        }
        q.push(req);
        self.has_requests.store(true, Ordering::Release);
        drop(q);
        self.unparker.unpark();
        Ok(())
    }

    /// `true` if a request may be waiting (a hint: `take` is the check).
    pub(crate) fn may_have_requests(&self) -> bool {
        self.has_requests.load(Ordering::Relaxed)
    }

    /// Takes every queued request (none without taking the lock if the flag is clear).
    pub(crate) fn take(&self) -> Vec<T> {
        if !self.has_requests.load(Ordering::Acquire) {
            return Vec::new();
        }
        let mut q = self.requests.lock();
        self.has_requests.store(false, Ordering::Relaxed);
        std::mem::take(&mut *q)
    }

    /// Step 2: `begin_park`; hand what is queued to `on_requests`; `wait(zero_timeout)`
    /// unless a wake was pending; `end_park`. `Notified` if it returned without waiting.
    pub(crate) fn park(&self, on_requests: impl FnOnce(Vec<T>), wait: impl FnOnce(bool)) -> Parked {
        let state = self.unparker.state();
        if state.begin_park() == BeginPark::Notified {
            return Parked::Notified;
        }
        let reqs = self.take();
        let any = !reqs.is_empty();
        on_requests(reqs);
        wait(any);
        state.end_park();
        Parked::Waited
    }

    /// Step 4: closes the queue and takes what is left in it.
    pub(crate) fn close(&self) -> Vec<T> {
        let mut q = self.requests.lock();
        self.closed.store(true, Ordering::Release);
        self.has_requests.store(false, Ordering::Relaxed);
        std::mem::take(&mut *q)
    }
}
