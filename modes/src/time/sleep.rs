//! `Sleep`: a future that completes at a deadline on the runtime's clock.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::driver::{Handle, TimerKey};

/// Waits until `duration` has passed on the runtime's clock (asyncio's `sleep`).
///
/// The deadline is taken from the current runtime's clock when `sleep` is called; outside a
/// runtime (for example as the argument of `block_on`) it is taken at the first poll. The
/// first poll registers the timer without reading the clock again: a deadline that passed
/// in between fires at the loop's next timer check, one turn later (as tokio's and
/// asyncio's do). `sleep(Duration::ZERO)` and a past [`sleep_until`] complete at once.
///
/// # Panics
/// Polling a `Sleep` on a thread that is not running a runtime panics: there is no timer
/// to register with.
///
/// ```
/// use std::time::Duration;
/// let (sched, _) = modes::Scheduler::single(&modes::Config::virtual_clock());
/// let t0 = sched.now();
/// sched.block_on(modes::sleep(Duration::from_secs(3600)));
/// assert_eq!(sched.now() - t0, Duration::from_secs(3600)); // virtual: took no real time
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    match super::current_driver() {
        Some(driver) => {
            let deadline = driver.clock.now() + duration;
            Sleep::new(Some(deadline), duration, Some(driver))
        }
        None => Sleep::new(None, duration, None),
    }
}

/// Waits until the runtime's clock reaches `deadline` (see `Runtime::time`).
///
/// ```
/// use std::time::Duration;
/// let (sched, _) = modes::Scheduler::single(&modes::Config::virtual_clock());
/// let t = sched.now() + Duration::from_millis(1500);
/// sched.block_on(modes::sleep_until(t));
/// assert_eq!(sched.now(), t);
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(Some(deadline), Duration::ZERO, super::current_driver())
}

/// The future returned by [`sleep`] and [`sleep_until`]. Dropping it removes its timer.
///
/// ```
/// use std::time::Duration;
/// let (sched, _) = modes::Scheduler::single(&modes::Config::virtual_clock());
/// let t0 = sched.now();
/// let long = sched.spawn(modes::sleep(Duration::from_secs(60)));
/// sched.block_on(modes::sleep(Duration::from_secs(1))); // `long` has set its timer
/// long.cancel(); // drops its `Sleep`, and with it the 60 s timer
/// assert!(long.join().unwrap_err().is_cancelled());
/// assert_eq!(sched.now() - t0, Duration::from_secs(1)); // the clock never went to 60 s
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    deadline: Option<Instant>,
    duration: Duration,
    driver: Option<Handle>,
    key: Option<TimerKey>,
}

impl Sleep {
    fn new(deadline: Option<Instant>, duration: Duration, driver: Option<Handle>) -> Self {
        Sleep {
            deadline,
            duration,
            driver,
            key: None,
        }
    }

    /// The deadline, once known (see [`sleep`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::virtual_clock());
    /// assert_eq!(modes::sleep(Duration::from_secs(1)).deadline(), None); // no runtime here
    /// let s = sched.clone();
    /// sched.block_on(async move {
    ///     let nap = modes::sleep(Duration::from_secs(1));
    ///     assert_eq!(nap.deadline(), Some(s.now() + Duration::from_secs(1)));
    /// });
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }
}

impl Sleep {
    /// Removes this sleep's timer unless a firing certainly took it already.
    fn forget_timer(&mut self) {
        if let (Some(key), Some(driver)) = (self.key.take(), self.driver.as_ref()) {
            if !driver.timers.fired_past(key) {
                driver.timers.remove(key);
            }
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.driver.is_none() {
            this.driver = super::current_driver();
        }
        let Some(driver) = this.driver.as_ref() else {
            panic!("runtime::sleep polled outside a runtime: call it inside block_on or a task");
        };
        // The wake of a fired timer: its firing went past the deadline, so it is due
        // without reading the clock (one clock read per woken sleeper fewer).
        if let Some(key) = this.key {
            if driver.timers.fired_past(key) {
                this.key = None;
                return Poll::Ready(());
            }
        }
        // The clock is read only where the deadline may already have passed: a deadline
        // given (`sleep_until`, `sleep(ZERO)`), unknown until now (a `Sleep` made outside
        // a runtime), or a repoll of a pending timer. A first poll of `sleep(d)` with a
        // deadline read from the clock at its creation registers at once, as tokio's does;
        // if the deadline passed meanwhile, the loop's next timer check fires it.
        let deadline = match (this.key, this.deadline) {
            (None, Some(deadline)) if !this.duration.is_zero() => deadline,
            _ => {
                let now = driver.clock.now();
                let deadline = *this.deadline.get_or_insert(now + this.duration);
                if now >= deadline {
                    this.forget_timer();
                    return Poll::Ready(());
                }
                deadline
            }
        };
        match this.key {
            None => match driver.insert_wake(deadline, cx.waker()) {
                Some(key) => this.key = Some(key),
                // Another thread's firing already went past the deadline.
                None => return Poll::Ready(()),
            },
            Some(key) => driver.timers.update_waker(key, cx.waker()),
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.forget_timer();
    }
}

impl std::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .finish()
    }
}
