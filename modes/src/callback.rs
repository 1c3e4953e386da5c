//! Loop callbacks: `call_soon`, `call_later` and `call_at` (asyncio's `Handle` and
//! `TimerHandle`).

use crate::loom::Mutex;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::driver::{Handle, TimerKey};

type Func = Box<dyn FnOnce() + Send>;

/// A callback queued on a loop. Runs at most once; `cancel` makes it never run.
pub(crate) struct Callback {
    cancelled: AtomicBool,
    f: Mutex<Option<Func>>,
}

impl Callback {
    pub(crate) fn new(f: Func) -> Arc<Callback> {
        Arc::new(Callback {
            cancelled: AtomicBool::new(false),
            f: Mutex::new(Some(f)),
        })
    }

    fn take(&self) -> Option<Func> {
        self.f.lock().take()
    }

    /// Runs the callback unless it was cancelled. A panic is reported and contained, like
    /// asyncio's "Exception in callback".
    pub(crate) fn run(&self) {
        if self.cancelled.load(Ordering::Acquire) {
            return;
        }
        if let Some(f) = self.take() {
            if let Err(p) = catch_unwind(AssertUnwindSafe(f)) {
                eprintln!(
                    "runtime: a loop callback panicked: {}",
                    crate::task::panic_message(p.as_ref())
                );
            }
        }
    }

    /// Prevents the callback from running and drops it. `false` if it already ran or was
    /// cancelled.
    pub(crate) fn cancel(&self) -> bool {
        let first = !self.cancelled.swap(true, Ordering::AcqRel);
        first && self.take().is_some()
    }
}

/// The handle returned by `call_soon`, `call_later` and `call_at`.
///
/// ```
/// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
/// let h = sched.call_soon(Box::new(|| unreachable!("cancelled before the loop ran")));
/// assert!(h.cancel());
/// assert!(!h.cancel());
/// sched.call_soon(Box::new({ let s = sched.clone(); move || s.stop() }));
/// sched.run_forever();
/// ```
pub struct CallbackHandle {
    cb: Arc<Callback>,
    timer: Option<(Handle, TimerKey)>,
}

impl CallbackHandle {
    pub(crate) fn new(cb: Arc<Callback>, timer: Option<(Handle, TimerKey)>) -> Self {
        CallbackHandle { cb, timer }
    }

    /// Cancels the callback: it will not run. Returns `false` if it already ran or was
    /// already cancelled.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::virtual_clock());
    /// let alarm = sched.call_later(Duration::from_secs(1), Box::new(|| unreachable!()));
    /// assert!(alarm.cancel()); // its timer is removed: it never runs
    /// let stop = { let s = sched.clone(); sched.call_soon(Box::new(move || s.stop())) };
    /// sched.run_forever();
    /// assert!(!stop.cancel()); // too late: it already ran
    /// ```
    pub fn cancel(&self) -> bool {
        if let Some((driver, key)) = &self.timer {
            driver.timers.remove(*key);
        }
        self.cb.cancel()
    }

    /// `true` if `cancel` was called.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let h = sched.call_soon(Box::new(|| println!("tick")));
    /// assert!(!h.is_cancelled());
    /// h.cancel();
    /// assert!(h.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.cb.cancelled.load(Ordering::Acquire)
    }

    /// For `call_later`/`call_at`: when the callback is due, on the loop's clock.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::virtual_clock());
    /// let later = sched.call_later(Duration::from_secs(5), Box::new(|| {}));
    /// assert_eq!(later.when(), Some(sched.now() + Duration::from_secs(5)));
    /// let soon = sched.call_soon(Box::new(|| {}));
    /// assert_eq!(soon.when(), None); // not a timer: runs at the next iteration
    /// ```
    pub fn when(&self) -> Option<std::time::Instant> {
        self.timer.as_ref().map(|(_, k)| k.deadline())
    }
}

impl std::fmt::Debug for CallbackHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackHandle")
            .field("cancelled", &self.is_cancelled())
            .field("when", &self.when())
            .finish()
    }
}
