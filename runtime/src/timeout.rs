//! `timeout`: asyncio's `wait_for`, and the movable deadline of `asyncio.Timeout`.
//!
//! The rules, in asyncio's terms:
//! 1. A deadline that has passed before the first poll never starts the body (asyncio's
//!    `wait_for` with a zero or negative timeout).
//! 2. After that, each poll polls the body first: a body that is ready wins.
//! 3. A body still pending at an expired deadline is dropped through
//!    [`modes::drop_cancelling`]: the tasks whose handles it owned are cancelled, as
//!    asyncio's `wait_for` cancels the task it waits for.
//! 4. Nested timeouts: while an enclosing timeout has expired, an inner one does not
//!    report; it stays pending and the outermost expired one reports, dropping the inner
//!    body (asyncio raises only the outer `TimeoutError`; the inner body sees a
//!    cancellation).

use modes::lock::{Mutex, MutexGuard};
use std::cell::Cell;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::Sleep;

thread_local! {
    /// `true` while a timeout whose deadline has passed polls its body (rule 4).
    static ENCLOSING_EXPIRED: Cell<bool> = const { Cell::new(false) };
}

/// The error of [`timeout`]: the deadline passed first (asyncio's `TimeoutError`).
///
/// ```
/// assert_eq!(runtime::Elapsed(()).to_string(), "deadline has elapsed");
/// ```
#[doc(alias = "TimeoutError")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed(pub ());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

/// Awaits `fut` for at most `duration` (asyncio's `wait_for`). On expiry the inner future
/// is dropped and the result is `Err(Elapsed)`; if it owned spawned tasks' handles (say
/// `timeout(d, handle)`), those tasks are cancelled, as `wait_for` cancels its task.
/// Dropping the `Timeout` before it finishes (the awaiting task was cancelled) does the
/// same.
///
/// With a zero `duration` the inner future is never polled, so a coroutine never starts
/// (asyncio's `wait_for(coro, 0)`). asyncio would still return the result of a future that
/// is already done; Rust cannot ask a future whether it is ready without polling it, which
/// would start a coroutine, so here a zero timeout gives `Err(Elapsed)` for every future:
/// check [`JoinHandle::is_finished`](crate::JoinHandle::is_finished) or
/// [`Settable::is_done`](crate::Settable::is_done) first where that matters.
///
/// ```
/// use std::time::Duration;
/// let rt = runtime::Runtime::builder().clock(runtime::Clock::Virtual).build().unwrap();
/// let r = rt.block_on(runtime::timeout(Duration::from_secs(1), runtime::sleep(Duration::from_secs(5))));
/// assert_eq!(r, Err(runtime::Elapsed(())));
/// let r = rt.block_on(runtime::timeout(Duration::from_secs(1), async { 5 }));
/// assert_eq!(r, Ok(5));
/// // A zero timeout does not start the body at all.
/// let started = std::sync::atomic::AtomicBool::new(false);
/// let r = rt.block_on(runtime::timeout(Duration::ZERO, async {
///     started.store(true, std::sync::atomic::Ordering::SeqCst);
/// }));
/// assert!(r.is_err() && !started.into_inner());
/// ```
#[doc(alias = "wait_for")]
pub fn timeout<F: IntoFuture>(duration: Duration, fut: F) -> Timeout<F::IntoFuture> {
    Timeout::new(Some(crate::sleep(duration)), fut.into_future())
}

/// Like [`timeout`], with a deadline on the runtime's clock (asyncio's `timeout_at`). A
/// deadline already past acts as a zero timeout: the body never starts.
///
/// ```
/// use std::time::Duration;
/// let rt = runtime::Runtime::builder().clock(runtime::Clock::Virtual).build().unwrap();
/// let at = rt.time() + Duration::from_secs(2);
/// assert!(rt.block_on(runtime::timeout_at(at, std::future::pending::<()>())).is_err());
/// assert_eq!(rt.time(), at);
/// ```
#[doc(alias = "asyncio.timeout_at")]
pub fn timeout_at<F: IntoFuture>(deadline: Instant, fut: F) -> Timeout<F::IntoFuture> {
    Timeout::new(Some(crate::sleep_until(deadline)), fut.into_future())
}

/// The future returned by [`timeout`] and [`timeout_at`], with the inspectable, movable
/// deadline of `asyncio.Timeout`: [`when`](Timeout::when),
/// [`reschedule`](Timeout::reschedule), [`expired`](Timeout::expired), and a
/// [`handle`](Timeout::handle) to do the same from inside the body.
///
/// ```
/// use std::time::Duration;
/// let rt = runtime::Runtime::builder().clock(runtime::Clock::Virtual).build().unwrap();
/// let t0 = rt.time();
/// let slow = async { runtime::sleep(Duration::from_secs(30)).await; "reply" };
/// let t: runtime::Timeout<_> = runtime::timeout(Duration::from_secs(2), slow);
/// assert_eq!(rt.block_on(t), Err(runtime::Elapsed(())));
/// assert_eq!(rt.time() - t0, Duration::from_secs(2)); // gave up at the deadline
/// ```
#[doc(alias = "asyncio.Timeout")]
#[must_use = "futures do nothing unless awaited"]
pub struct Timeout<F> {
    fut: Option<Pin<Box<F>>>,
    /// The deadline's timer; `None` when there is no deadline (`reschedule(None)`).
    sleep: Option<Sleep>,
    /// Shared with the [`TimeoutHandle`]s, once one was asked for.
    control: Option<Arc<Control>>,
    started: bool,
    expired: bool,
}

struct Control {
    state: Mutex<ControlState>,
}

struct ControlState {
    deadline: Option<Instant>,
    /// A handle moved the deadline since the `Timeout` last looked.
    moved: bool,
    expired: bool,
    waker: Option<Waker>,
}

impl Control {
    fn lock(&self) -> MutexGuard<'_, ControlState> {
        self.state.lock()
    }
}

impl<F> Unpin for Timeout<F> {}

impl<F> Timeout<F> {
    fn new(sleep: Option<Sleep>, fut: F) -> Timeout<F> {
        Timeout {
            fut: Some(Box::pin(fut)),
            sleep,
            control: None,
            started: false,
            expired: false,
        }
    }

    /// The deadline on the runtime's clock, `None` if there is none (asyncio's
    /// `Timeout.when()`). A `timeout(d, ..)` made outside a runtime has its deadline set
    /// at its first poll, and says `None` until then.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = runtime::Runtime::builder().clock(runtime::Clock::Virtual).build().unwrap();
    /// rt.block_on(async {
    ///     let t = runtime::timeout(Duration::from_secs(3), async {});
    ///     assert_eq!(t.when(), Some(runtime::now() + Duration::from_secs(3)));
    /// });
    /// ```
    pub fn when(&self) -> Option<Instant> {
        match &self.control {
            Some(c) => c.lock().deadline,
            None => self.sleep.as_ref().and_then(Sleep::deadline),
        }
    }

    /// Moves the deadline to `when`, or removes it with `None` (asyncio's
    /// `Timeout.reschedule()`). Moving it into the past expires the timeout at its next
    /// poll; after it has expired, rescheduling changes nothing.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = runtime::Runtime::builder().clock(runtime::Clock::Virtual).build().unwrap();
    /// let r = rt.block_on(async {
    ///     let mut t = runtime::timeout(Duration::from_secs(1), async {
    ///         runtime::sleep(Duration::from_secs(5)).await;
    ///         "slow but allowed"
    ///     });
    ///     t.reschedule(Some(runtime::now() + Duration::from_secs(10)));
    ///     t.await
    /// });
    /// assert_eq!(r, Ok("slow but allowed"));
    /// ```
    pub fn reschedule(&mut self, when: Option<Instant>) {
        if self.expired {
            return;
        }
        self.sleep = when.map(crate::sleep_until);
        if let Some(c) = &self.control {
            let mut st = c.lock();
            st.deadline = when;
            st.moved = false;
        }
    }

    /// `true` once this timeout has expired and reported `Elapsed` (asyncio's
    /// `Timeout.expired()`). An inner timeout whose enclosing one reported instead stays
    /// `false`, as in asyncio.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = runtime::Runtime::builder().clock(runtime::Clock::Virtual).build().unwrap();
    /// rt.block_on(async {
    ///     let mut t = runtime::timeout(Duration::from_secs(1), std::future::pending::<()>());
    ///     assert!(!t.expired());
    ///     assert!((&mut t).await.is_err());
    ///     assert!(t.expired());
    /// });
    /// ```
    pub fn expired(&self) -> bool {
        self.expired
    }

    /// A cloneable, `Send` handle to this timeout's deadline, for the body itself (asyncio's
    /// `async with timeout(..) as cm: ... cm.reschedule(..)`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = runtime::Runtime::builder().clock(runtime::Clock::Virtual).build().unwrap();
    /// let (setter, handle) = runtime::settable::<runtime::TimeoutHandle>();
    /// let r = rt.block_on(async move {
    ///     let mut t = runtime::timeout(Duration::from_secs(1), async move {
    ///         let cm = handle.await.unwrap();
    ///         cm.reschedule(Some(runtime::now() + Duration::from_secs(60))); // more time
    ///         runtime::sleep(Duration::from_secs(30)).await;
    ///         cm.expired()
    ///     });
    ///     setter.set(t.handle()).unwrap();
    ///     t.await
    /// });
    /// assert_eq!(r, Ok(false));
    /// ```
    pub fn handle(&mut self) -> TimeoutHandle {
        let when = self.when();
        let control = self.control.get_or_insert_with(|| {
            Arc::new(Control {
                state: Mutex::new(ControlState {
                    deadline: when,
                    moved: false,
                    expired: false,
                    waker: None,
                }),
            })
        });
        TimeoutHandle {
            control: control.clone(),
        }
    }

    /// Applies a deadline a handle moved, and leaves our waker for the next move.
    fn sync_control(&mut self, cx: &Context<'_>) {
        let Some(c) = &self.control else { return };
        let mut st = c.lock();
        if !st.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            st.waker = Some(cx.waker().clone());
        }
        if st.moved {
            st.moved = false;
            let when = st.deadline;
            drop(st);
            self.sleep = when.map(crate::sleep_until);
        } else if st.deadline.is_none() {
            // The deadline of a timeout made outside a runtime is known once polled.
            st.deadline = self.sleep.as_ref().and_then(Sleep::deadline);
        }
    }

    fn expire(&mut self) {
        self.expired = true;
        if let Some(c) = &self.control {
            c.lock().expired = true;
        }
        if let Some(fut) = self.fut.take() {
            modes::drop_cancelling(fut);
        }
    }
}

/// Polls `f` with [`ENCLOSING_EXPIRED`] set to `on`, restoring it after (even on unwind).
fn with_enclosing<R>(on: bool, f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = ENCLOSING_EXPIRED.try_with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(ENCLOSING_EXPIRED.with(|c| c.replace(on)));
    f()
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        assert!(this.fut.is_some(), "Timeout polled after completion");
        this.sync_control(cx);
        let enclosing = ENCLOSING_EXPIRED.with(Cell::get);
        let expired_here = match this.sleep.as_mut() {
            Some(s) => Pin::new(s).poll(cx).is_ready(),
            None => false,
        };
        if !this.started && (expired_here || enclosing) {
            // Rule 1: the body never starts.
            if expired_here && !enclosing {
                this.expire();
                return Poll::Ready(Err(Elapsed(())));
            }
            return Poll::Pending;
        }
        this.started = true;
        let fut = this.fut.as_mut().expect("checked above");
        if let Poll::Ready(v) = with_enclosing(expired_here || enclosing, || fut.as_mut().poll(cx))
        {
            this.fut = None;
            return Poll::Ready(Ok(v));
        }
        if enclosing {
            return Poll::Pending; // rule 4: the enclosing timeout reports
        }
        if expired_here {
            this.expire();
            return Poll::Ready(Err(Elapsed(())));
        }
        Poll::Pending
    }
}

impl<F> Drop for Timeout<F> {
    fn drop(&mut self) {
        if let Some(fut) = self.fut.take() {
            modes::drop_cancelling(fut);
        }
    }
}

/// A handle to a [`Timeout`]'s deadline (see [`Timeout::handle`]): the same
/// [`when`](TimeoutHandle::when), [`reschedule`](TimeoutHandle::reschedule) and
/// [`expired`](TimeoutHandle::expired), from anywhere.
///
/// ```
/// use std::time::Duration;
/// let rt = runtime::Runtime::builder().clock(runtime::Clock::Virtual).build().unwrap();
/// rt.block_on(async {
///     let mut t = runtime::timeout(Duration::from_secs(5), std::future::pending::<()>());
///     let cm: runtime::TimeoutHandle = t.handle();
///     cm.reschedule(Some(runtime::now())); // expire now
///     assert!(t.await.is_err());
///     assert!(cm.expired());
/// });
/// ```
#[derive(Clone)]
pub struct TimeoutHandle {
    control: Arc<Control>,
}

impl TimeoutHandle {
    /// The deadline, `None` if there is none.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = runtime::Runtime::builder().clock(runtime::Clock::Virtual).build().unwrap();
    /// rt.block_on(async {
    ///     let mut t = runtime::timeout(Duration::from_secs(2), async {});
    ///     assert_eq!(t.handle().when(), t.when());
    /// });
    /// ```
    pub fn when(&self) -> Option<Instant> {
        self.control.lock().deadline
    }

    /// Moves the deadline (`None`: no deadline); the timeout notices at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = runtime::Runtime::builder().clock(runtime::Clock::Virtual).build().unwrap();
    /// rt.block_on(async {
    ///     let mut t = runtime::timeout(Duration::from_secs(1), runtime::sleep(Duration::from_secs(3)));
    ///     t.handle().reschedule(None); // no deadline any more
    ///     assert!(t.await.is_ok());
    /// });
    /// ```
    pub fn reschedule(&self, when: Option<Instant>) {
        let waker = {
            let mut st = self.control.lock();
            if st.expired {
                return;
            }
            st.deadline = when;
            st.moved = true;
            st.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// `true` once the timeout expired and reported `Elapsed`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = runtime::Runtime::builder().clock(runtime::Clock::Virtual).build().unwrap();
    /// rt.block_on(async {
    ///     let mut t = runtime::timeout(Duration::from_secs(1), async {});
    ///     let cm = t.handle();
    ///     t.await.unwrap();
    ///     assert!(!cm.expired()); // finished in time
    /// });
    /// ```
    pub fn expired(&self) -> bool {
        self.control.lock().expired
    }
}

impl fmt::Debug for TimeoutHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.control.lock();
        f.debug_struct("TimeoutHandle")
            .field("when", &st.deadline)
            .field("expired", &st.expired)
            .finish()
    }
}
