//! The GIL of `Gil` mode: one global lock that a thread must hold to run anything, with
//! CPython's switching rules.
//!
//! Protocol (as CPython's `ceval_gil.c`, "new GIL" of 3.2+):
//! 1. A worker takes the lock around every task poll and every submitted function; a task
//!    waiting on a timer or I/O holds nothing.
//! 2. A thread that wants the lock waits on a condvar for at most the switch interval
//!    (5 ms by default, `sys.setswitchinterval`). If the interval passes and the holder
//!    is still the same (no switch happened), it sets `drop_request`.
//! 3. The holder polls `drop_request` at [`checkpoint`]s (one relaxed load when nobody
//!    waits). Seeing it, the holder releases the lock and then *waits until another thread
//!    has taken it* (forced switching), so it cannot grab it straight back.
//! 4. [`allow_threads`] releases the lock around blocking work and takes it back after.
//!
//! Outside `Gil` mode, or on a thread that does not hold the lock, `checkpoint` does
//! nothing and `allow_threads` just calls its closure.

use crate::loom::{AtomicBool, Condvar, Mutex, MutexGuard};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

crate::loom::thread_local! {
    static HELD: Cell<*const Gil> = Cell::new(std::ptr::null());
}

struct State {
    locked: bool,
    /// Incremented at every acquisition: tells a waiter whether a switch happened.
    switches: u64,
    waiting: usize,
}

/// The lock, with its counters (see the module docs for the protocol).
pub(crate) struct Gil {
    state: Mutex<State>,
    cv: Condvar,
    switched: Condvar,
    drop_request: AtomicBool,
    interval: Duration,
    acquisitions: AtomicU64,
    wait_ns: AtomicU64,
    hold_ns: AtomicU64,
    forced_drops: AtomicU64,
    held_since: Mutex<Option<Instant>>,
}

/// The GIL's counters (`RuntimeMetrics::gil`).
///
/// ```
/// let m = modes::GilMetrics::default();
/// assert_eq!(m.forced_drops, 0);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GilMetrics {
    /// Times the lock was taken.
    pub acquisitions: u64,
    /// Total time threads spent waiting for it.
    pub wait: Duration,
    /// Total time it was held.
    pub hold: Duration,
    /// Times a holder dropped it at a checkpoint because another thread asked.
    pub forced_drops: u64,
    /// The switch interval.
    pub switch_interval: Duration,
}

impl Gil {
    pub(crate) fn new(interval: Duration) -> Gil {
        Gil {
            state: Mutex::new(State {
                locked: false,
                switches: 0,
                waiting: 0,
            }),
            cv: Condvar::new(),
            switched: Condvar::new(),
            drop_request: AtomicBool::new(false),
            interval,
            acquisitions: AtomicU64::new(0),
            wait_ns: AtomicU64::new(0),
            hold_ns: AtomicU64::new(0),
            forced_drops: AtomicU64::new(0),
            held_since: Mutex::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    /// Rule 2: takes the lock, asking the holder to drop it after each silent interval.
    pub(crate) fn acquire(&self) {
        let start = Instant::now();
        let mut st = self.lock();
        if st.locked {
            st.waiting += 1;
            while st.locked {
                let seen = st.switches;
                let (g, res) = self.cv.wait_timeout(st, self.interval);
                st = g;
                if st.locked && res && st.switches == seen {
                    self.request_drop();
                }
            }
            st.waiting -= 1;
        }
        st.locked = true;
        st.switches += 1;
        self.drop_request.store(false, Ordering::Relaxed);
        drop(st);
        self.switched.notify_all();
        let now = Instant::now();
        self.acquisitions.fetch_add(1, Ordering::Relaxed);
        self.wait_ns.fetch_add(
            now.duration_since(start).as_nanos() as u64,
            Ordering::Relaxed,
        );
        *self.held_since.lock() = Some(now);
        HELD.with(|h| h.set(self as *const Gil));
    }

    /// Rule 2's request, made by a waiter whose interval passed without a switch.
    pub(crate) fn request_drop(&self) {
        self.drop_request.store(true, Ordering::Relaxed);
    }

    /// What a waiter does when its interval passes with no switch (rule 2), for the loom
    /// model, whose condvar waits never time out.
    #[cfg(loom)]
    pub(crate) fn request_drop_as_waiter(&self) {
        let st = self.lock();
        if st.locked && st.waiting > 0 {
            self.request_drop();
        }
    }

    /// `true` if the calling thread holds this lock now (taking it again would deadlock).
    pub(crate) fn held_here(&self) -> bool {
        HELD.with(|h| std::ptr::eq(h.get(), self))
    }

    pub(crate) fn release(&self) {
        HELD.with(|h| h.set(std::ptr::null()));
        if let Some(t) = self.held_since.lock().take() {
            self.hold_ns
                .fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
        }
        let mut st = self.lock();
        st.locked = false;
        drop(st);
        self.cv.notify_one();
    }

    /// Takes the lock until the guard drops (also on unwind).
    pub(crate) fn hold(&self) -> Held<'_> {
        self.acquire();
        Held(self)
    }

    /// Rule 3: drop the lock, wait until someone else took it, take it back.
    fn yield_to_waiter(&self) {
        self.forced_drops.fetch_add(1, Ordering::Relaxed);
        let seen = self.lock().switches;
        self.release();
        let mut st = self.lock();
        while st.switches == seen && st.waiting > 0 {
            st = self.switched.wait(st);
        }
        drop(st);
        self.acquire();
    }

    pub(crate) fn metrics(&self) -> GilMetrics {
        GilMetrics {
            acquisitions: self.acquisitions.load(Ordering::Relaxed),
            wait: Duration::from_nanos(self.wait_ns.load(Ordering::Relaxed)),
            hold: Duration::from_nanos(self.hold_ns.load(Ordering::Relaxed)),
            forced_drops: self.forced_drops.load(Ordering::Relaxed),
            switch_interval: self.interval,
        }
    }
}

/// Releases the GIL when dropped.
pub(crate) struct Held<'a>(&'a Gil);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// A point where a CPU-bound holder of the GIL lets a waiting thread run, once that thread
/// has waited a switch interval. A no-op outside `Gil` mode.
///
/// ```
/// fn fib(n: u32) -> u64 {
///     modes::gil::checkpoint();
///     if n < 2 { n as u64 } else { fib(n - 1) + fib(n - 2) }
/// }
/// assert_eq!(fib(10), 55);
/// ```
#[inline]
pub fn checkpoint() {
    HELD.with(|h| {
        let g = h.get();
        if g.is_null() {
            return;
        }
        // SAFETY: `HELD` is non-null only between `acquire` and `release` on this thread,
        // while the `Gil` (owned by the runtime's shared state, which the holding worker
        // keeps alive) exists.
        let g = unsafe { &*g };
        if g.drop_request.load(Ordering::Relaxed) {
            g.yield_to_waiter();
        }
    })
}

/// Runs blocking `f` without holding the GIL (CPython's `Py_BEGIN_ALLOW_THREADS`), so other
/// threads run meanwhile. Outside `Gil` mode it just calls `f`.
///
/// ```
/// assert_eq!(modes::gil::allow_threads(|| 3), 3);
/// ```
pub fn allow_threads<R>(f: impl FnOnce() -> R) -> R {
    let held = HELD.with(|h| h.get());
    if held.is_null() {
        return f();
    }
    // SAFETY: as in `checkpoint`: this thread holds the lock, so the `Gil` is alive.
    let g = unsafe { &*held };
    g.release();
    struct Reacquire<'a>(&'a Gil);
    impl Drop for Reacquire<'_> {
        fn drop(&mut self) {
            self.0.acquire();
        }
    }
    let _back = Reacquire(g);
    f()
}

/// `true` if this thread holds a GIL now.
///
/// ```
/// assert!(!modes::gil::is_held());
/// ```
pub fn is_held() -> bool {
    HELD.with(|h| !h.get().is_null())
}
