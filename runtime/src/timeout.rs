//! `timeout`: asyncio's `wait_for`.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::Sleep;

/// The error of [`timeout`]: the deadline passed first (asyncio's `TimeoutError`).
///
/// ```
/// assert_eq!(runtime::Elapsed(()).to_string(), "deadline has elapsed");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed(pub ());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

/// Awaits `fut` for at most `duration` (asyncio's `wait_for`). On expiry the inner future
/// is dropped (cancelled) and the result is `Err(Elapsed)`.
///
/// ```
/// use std::time::Duration;
/// let rt = runtime::Runtime::builder().clock(runtime::Clock::Virtual).build().unwrap();
/// let r = rt.block_on(runtime::timeout(Duration::from_secs(1), runtime::sleep(Duration::from_secs(5))));
/// assert_eq!(r, Err(runtime::Elapsed(())));
/// let r = rt.block_on(runtime::timeout(Duration::from_secs(1), async { 5 }));
/// assert_eq!(r, Ok(5));
/// ```
pub fn timeout<F: IntoFuture>(duration: Duration, fut: F) -> Timeout<F::IntoFuture> {
    Timeout {
        fut: Some(Box::pin(fut.into_future())),
        sleep: crate::sleep(duration),
    }
}

/// Like [`timeout`], with a deadline on the runtime's clock.
///
/// ```
/// use std::time::Duration;
/// let rt = runtime::Runtime::builder().clock(runtime::Clock::Virtual).build().unwrap();
/// let at = rt.time() + Duration::from_secs(2);
/// assert!(rt.block_on(runtime::timeout_at(at, std::future::pending::<()>())).is_err());
/// assert_eq!(rt.time(), at);
/// ```
pub fn timeout_at<F: IntoFuture>(deadline: Instant, fut: F) -> Timeout<F::IntoFuture> {
    Timeout {
        fut: Some(Box::pin(fut.into_future())),
        sleep: crate::sleep_until(deadline),
    }
}

/// The future returned by [`timeout`] and [`timeout_at`].
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
#[must_use = "futures do nothing unless awaited"]
pub struct Timeout<F> {
    fut: Option<Pin<Box<F>>>,
    sleep: Sleep,
}

impl<F> Unpin for Timeout<F> {}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let fut = this.fut.as_mut().expect("Timeout polled after completion");
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            this.fut = None;
            return Poll::Ready(Ok(v));
        }
        if Pin::new(&mut this.sleep).poll(cx).is_ready() {
            // Drop the inner future now: that is the cancellation.
            this.fut = None;
            return Poll::Ready(Err(Elapsed(())));
        }
        Poll::Pending
    }
}
