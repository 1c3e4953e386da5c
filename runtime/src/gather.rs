//! `gather` and `try_gather`: run several futures concurrently, results in input order.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::ready_set::ReadySet;

/// Runs every future concurrently inside the awaiting task and returns their outputs in
/// input order (asyncio's `gather(*aws)`).
///
/// The gather owns its futures: cancelling the task that awaits it (or dropping the
/// gather) drops every child that has not finished: the seed's "cancel the entire first
/// group". To collect spawned tasks instead, pass their `JoinHandle`s: each output is then
/// a `Result<T, JoinError>`, which is `return_exceptions=True`. Cancelling or dropping a
/// gather of handles cancels those tasks (asyncio's cancellation broadcast), and so does
/// dropping a child future that owns a handle; a task made with [`shield`](crate::shield)
/// is left running.
///
/// ```
/// let rt = runtime::Runtime::builder().build().unwrap();
/// rt.block_on(async {
///     let child = runtime::spawn(std::future::pending::<()>());
///     let child_ref = child.task_ref().unwrap();
///     let parent = runtime::spawn(runtime::gather([child]));
///     runtime::yield_now().await;
///     parent.cancel();
///     let _ = parent.await;
///     child_ref.clone().await; // the child was cancelled with its parent
///     assert_eq!(child_ref.state(), runtime::TaskState::Done);
/// });
/// ```
///
/// ```
/// use std::time::Duration;
/// let rt = runtime::Runtime::builder().clock(runtime::Clock::Virtual).build().unwrap();
/// let out = rt.block_on(runtime::gather((1..=3).map(|i| async move {
///     runtime::sleep(Duration::from_secs(4 - i)).await; // the last finishes first
///     i * 10
/// })));
/// assert_eq!(out, vec![10, 20, 30]);
/// ```
pub fn gather<I>(futures: I) -> Gather<I::Item>
where
    I: IntoIterator,
    I::Item: IntoFuture,
{
    let futs: Vec<_> = futures
        .into_iter()
        .map(|f| Box::pin(f.into_future()))
        .collect();
    let n = futs.len();
    Gather {
        set: ReadySet::new(futs),
        out: (0..n).map(|_| None).collect(),
    }
}

/// The future returned by [`gather`].
///
/// ```
/// let rt = runtime::Runtime::builder().build().unwrap();
/// let tasks = vec![rt.spawn(async { 1 }), rt.spawn(async { None::<i32>.expect("no data") })];
/// let all: runtime::Gather<runtime::JoinHandle<i32>> = runtime::gather(tasks);
/// let out = rt.block_on(all); // one `Result` per task: `return_exceptions=True`
/// assert_eq!(*out[0].as_ref().unwrap(), 1);
/// assert_eq!(out[1].as_ref().unwrap_err().panic_message(), Some("no data"));
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Gather<F: IntoFuture> {
    set: ReadySet<Pin<Box<F::IntoFuture>>>,
    out: Vec<Option<F::Output>>,
}

impl<F: IntoFuture> Unpin for Gather<F> {}

impl<F: IntoFuture> Drop for Gather<F> {
    fn drop(&mut self) {
        // Children still running are cancelled, tasks they own included.
        modes::drop_cancelling(self.set.take_futs());
    }
}

impl<F: IntoFuture> Future for Gather<F> {
    type Output = Vec<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        while let Poll::Ready(next) = this.set.poll_next(cx) {
            match next {
                Some((idx, v)) => this.out[idx] = Some(v),
                None => {
                    let out = std::mem::take(&mut this.out);
                    return Poll::Ready(
                        out.into_iter()
                            .map(|v| v.expect("every child finished"))
                            .collect(),
                    );
                }
            }
        }
        Poll::Pending
    }
}

/// Like [`gather`] for futures that return `Result`, but fail-fast (asyncio's
/// `return_exceptions=False`): the first `Err` is returned at once and every child still
/// running is dropped. Spawned tasks among them are detached, not cancelled: asyncio lets
/// the other awaitables run on after the first exception. Cancelling or dropping a
/// `TryGather` before it finishes cancels them, as for [`gather`].
///
/// ```
/// async fn check(n: u32) -> Result<u32, String> {
///     if n == 2 { Err(format!("{n} failed")) } else { Ok(n) }
/// }
/// let rt = runtime::Runtime::builder().build().unwrap();
/// assert_eq!(rt.block_on(runtime::try_gather([check(1), check(3)])), Ok(vec![1, 3]));
/// assert_eq!(rt.block_on(runtime::try_gather((1..5).map(check))), Err("2 failed".into()));
/// ```
pub fn try_gather<I, T, E>(futures: I) -> TryGather<I::Item, T>
where
    I: IntoIterator,
    I::Item: IntoFuture<Output = Result<T, E>>,
{
    let futs: Vec<_> = futures
        .into_iter()
        .map(|f| Box::pin(f.into_future()))
        .collect();
    let n = futs.len();
    TryGather {
        set: ReadySet::new(futs),
        out: (0..n).map(|_| None).collect(),
    }
}

/// The future returned by [`try_gather`].
///
/// ```
/// use std::time::Duration;
/// async fn probe(secs: u64, ok: bool) -> Result<u64, String> {
///     runtime::sleep(Duration::from_secs(secs)).await;
///     if ok { Ok(secs) } else { Err(format!("probe {secs} failed")) }
/// }
/// let rt = runtime::Runtime::builder().clock(runtime::Clock::Virtual).build().unwrap();
/// let t0 = rt.time();
/// let all: runtime::TryGather<_, u64> = runtime::try_gather([probe(60, true), probe(1, false)]);
/// assert_eq!(rt.block_on(all), Err("probe 1 failed".to_string()));
/// assert_eq!(rt.time() - t0, Duration::from_secs(1)); // fail-fast: the 60 s probe was dropped
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct TryGather<F: IntoFuture, T> {
    set: ReadySet<Pin<Box<F::IntoFuture>>>,
    out: Vec<Option<T>>,
}

impl<F: IntoFuture, T> Unpin for TryGather<F, T> {}

impl<F: IntoFuture, T> Drop for TryGather<F, T> {
    fn drop(&mut self) {
        modes::drop_cancelling(self.set.take_futs());
    }
}

impl<F, T, E> Future for TryGather<F, T>
where
    F: IntoFuture<Output = Result<T, E>>,
{
    type Output = Result<Vec<T>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        while let Poll::Ready(next) = this.set.poll_next(cx) {
            match next {
                Some((idx, Ok(v))) => this.out[idx] = Some(v),
                Some((_, Err(e))) => {
                    // Drop the children still running now, detaching their tasks.
                    drop(this.set.take_futs());
                    return Poll::Ready(Err(e));
                }
                None => {
                    let out = std::mem::take(&mut this.out);
                    return Poll::Ready(Ok(out
                        .into_iter()
                        .map(|v| v.expect("every child finished"))
                        .collect()));
                }
            }
        }
        Poll::Pending
    }
}
