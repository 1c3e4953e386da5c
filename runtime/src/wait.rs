//! `wait` (done and pending sets) and `as_completed` (outcomes in completion order).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::ready_set::ReadySet;
use crate::{Elapsed, JoinError, JoinHandle, Sleep};

/// When [`wait`] returns (asyncio's `return_when`).
///
/// ```
/// assert_ne!(runtime::ReturnWhen::FirstCompleted, runtime::ReturnWhen::AllCompleted);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReturnWhen {
    /// As soon as any task finishes.
    FirstCompleted,
    /// As soon as any task finishes with a [`JoinError`] (it panicked, was cancelled, or
    /// its worker died); if none does, when all have finished.
    FirstException,
    /// When every task has finished.
    AllCompleted,
}

/// Waits for spawned tasks and returns `(done, pending)` (asyncio's `asyncio.wait`).
///
/// Cancels nothing: tasks in `pending` keep running. Handles in `done` have finished:
/// awaiting them, or calling `outcome()`, gives their result at once. Order within each
/// list is input order.
///
/// ```
/// use std::time::Duration;
/// use runtime::{sleep, ReturnWhen};
/// let rt = runtime::Runtime::builder().clock(runtime::Clock::Virtual).build().unwrap();
/// rt.block_on(async {
///     let fast = runtime::spawn(async { sleep(Duration::from_secs(1)).await; 1 });
///     let slow = runtime::spawn(async { sleep(Duration::from_secs(5)).await; 5 });
///     let (done, pending) = runtime::wait([fast, slow], ReturnWhen::FirstCompleted).await;
///     assert_eq!((done.len(), pending.len()), (1, 1));
///     for t in done {
///         assert_eq!(t.await.unwrap(), 1);
///     }
/// });
/// ```
pub fn wait<T, I>(handles: I, when: ReturnWhen) -> Wait<T>
where
    T: Send + 'static,
    I: IntoIterator<Item = JoinHandle<T>>,
{
    Wait {
        set: Some(ReadySet::new(handles.into_iter().map(Finished).collect())),
        when,
        deadline: None,
    }
}

/// [`wait`] with a timeout: returns when `when` is met or after `timeout`, whichever
/// comes first (asyncio's `wait(..., timeout=...)`). Cancels nothing.
///
/// ```
/// use std::time::Duration;
/// let rt = runtime::Runtime::builder().clock(runtime::Clock::Virtual).build().unwrap();
/// rt.block_on(async {
///     let t = runtime::spawn(runtime::sleep(Duration::from_secs(10)));
///     let (done, pending) = runtime::wait_timeout(
///         [t], runtime::ReturnWhen::AllCompleted, Duration::from_secs(1)).await;
///     assert_eq!((done.len(), pending.len()), (0, 1));
/// });
/// ```
pub fn wait_timeout<T, I>(handles: I, when: ReturnWhen, timeout: Duration) -> Wait<T>
where
    T: Send + 'static,
    I: IntoIterator<Item = JoinHandle<T>>,
{
    let mut w = wait(handles, when);
    w.deadline = Some(Box::pin(crate::sleep(timeout)));
    w
}

struct Finished<T>(JoinHandle<T>);

impl<T: Send + 'static> Future for Finished<T> {
    /// `true` if the task failed.
    type Output = bool;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        match self.0.poll_finished(cx) {
            Poll::Ready(()) => Poll::Ready(matches!(self.0.outcome(), Some(Err(_)))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The future returned by [`wait`] and [`wait_timeout`].
///
/// ```
/// use std::time::Duration;
/// let rt = runtime::Runtime::builder().clock(runtime::Clock::Virtual).build().unwrap();
/// rt.block_on(async {
///     let ok = runtime::spawn(runtime::sleep(Duration::from_secs(9)));
///     let bad = runtime::spawn(async { runtime::sleep(Duration::from_secs(1)).await; panic!("bad") });
///     let w: runtime::Wait<()> = runtime::wait([ok, bad], runtime::ReturnWhen::FirstException);
///     let (mut done, pending) = w.await;
///     assert_eq!(pending.len(), 1); // `ok` keeps running
///     assert!(done.pop().unwrap().await.unwrap_err().is_panic());
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Wait<T> {
    set: Option<ReadySet<Finished<T>>>,
    when: ReturnWhen,
    deadline: Option<Pin<Box<Sleep>>>,
}

impl<T> Unpin for Wait<T> {}

impl<T: Send + 'static> Wait<T> {
    fn split(&mut self) -> (Vec<JoinHandle<T>>, Vec<JoinHandle<T>>) {
        let set = self.set.take().expect("Wait polled after completion");
        let done: Vec<bool> = (0..set.len()).map(|i| set.is_done(i)).collect();
        let (mut d, mut p) = (Vec::new(), Vec::new());
        for (i, f) in set.into_inner().into_iter().enumerate() {
            if done[i] {
                d.push(f.0)
            } else {
                p.push(f.0)
            }
        }
        (d, p)
    }
}

impl<T: Send + 'static> Future for Wait<T> {
    type Output = (Vec<JoinHandle<T>>, Vec<JoinHandle<T>>);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let set = this.set.as_mut().expect("Wait polled after completion");
        loop {
            match set.poll_next(cx) {
                Poll::Ready(None) => return Poll::Ready(this.split()),
                Poll::Ready(Some((_, failed))) => {
                    let stop = match this.when {
                        ReturnWhen::FirstCompleted => true,
                        ReturnWhen::FirstException => failed,
                        ReturnWhen::AllCompleted => false,
                    };
                    if stop || set.pending() == 0 {
                        return Poll::Ready(this.split());
                    }
                }
                Poll::Pending => break,
            }
        }
        if let Some(d) = this.deadline.as_mut() {
            if d.as_mut().poll(cx).is_ready() {
                return Poll::Ready(this.split());
            }
        }
        Poll::Pending
    }
}

/// Yields each task's outcome as it finishes, fastest first (asyncio's `as_completed`).
///
/// ```
/// use std::time::Duration;
/// let rt = runtime::Runtime::builder().clock(runtime::Clock::Virtual).build().unwrap();
/// let order = rt.block_on(async {
///     let tasks = [3u64, 1, 2].map(|s| runtime::spawn(async move {
///         runtime::sleep(Duration::from_secs(s)).await;
///         s
///     }));
///     let mut done = runtime::as_completed(tasks);
///     let mut order = vec![];
///     while let Some(out) = done.next().await {
///         order.push(out.unwrap());
///     }
///     order
/// });
/// assert_eq!(order, vec![1, 2, 3]);
/// ```
pub fn as_completed<T, I>(handles: I) -> AsCompleted<T>
where
    T: Send + 'static,
    I: IntoIterator<Item = JoinHandle<T>>,
{
    AsCompleted {
        set: ReadySet::new(handles.into_iter().collect()),
    }
}

/// The stream returned by [`as_completed`]. Dropping it detaches the remaining tasks.
///
/// ```
/// use std::time::Duration;
/// let rt = runtime::Runtime::builder().clock(runtime::Clock::Virtual).build().unwrap();
/// let (setter, later) = runtime::settable();
/// rt.block_on(async move {
///     let slow = runtime::spawn(async move { runtime::sleep(Duration::from_secs(2)).await; setter.set(2).unwrap(); 2 });
///     let fast = runtime::spawn(async { runtime::sleep(Duration::from_secs(1)).await; 1 });
///     let mut stream: runtime::AsCompleted<u32> = runtime::as_completed([slow, fast]);
///     assert_eq!(stream.next().await.unwrap().unwrap(), 1); // fastest first
///     drop(stream); // `slow` is detached, not cancelled:
///     assert_eq!(later.await, Ok(2));
/// });
/// ```
pub struct AsCompleted<T> {
    set: ReadySet<JoinHandle<T>>,
}

impl<T: Send + 'static> AsCompleted<T> {
    /// The next outcome, or `None` when every task has been reported.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// rt.block_on(async {
    ///     let mut s = runtime::as_completed([runtime::spawn(async { 1 })]);
    ///     assert_eq!(s.next().await.unwrap().unwrap(), 1);
    ///     assert!(s.next().await.is_none());
    /// });
    /// ```
    pub async fn next(&mut self) -> Option<Result<T, JoinError>> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// Polls for the next outcome (the `Stream` protocol).
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let mut s = runtime::as_completed([rt.spawn(async { 2 })]);
    /// let out = rt.block_on(std::future::poll_fn(|cx| s.poll_next(cx)));
    /// assert_eq!(out.unwrap().unwrap(), 2);
    /// ```
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        self.set.poll_next(cx).map(|o| o.map(|(_, out)| out))
    }

    /// How many tasks have not been reported yet.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let s = runtime::as_completed([rt.spawn(async {})]);
    /// assert_eq!(s.remaining(), 1);
    /// ```
    pub fn remaining(&self) -> usize {
        self.set.pending()
    }
}

/// [`as_completed`] with a timeout (asyncio's `as_completed(tasks, timeout=...)`): yields
/// each outcome as it finishes, and once `timeout` has passed with tasks still running,
/// one `Err(Elapsed)` (asyncio's `TimeoutError`) and then the end. The tasks not yet
/// reported are detached, not cancelled, as in asyncio.
///
/// ```
/// use std::time::Duration;
/// let rt = runtime::Runtime::builder().clock(runtime::Clock::Virtual).build().unwrap();
/// let seen = rt.block_on(async {
///     let tasks = [1u64, 5].map(|s| runtime::spawn(async move {
///         runtime::sleep(Duration::from_secs(s)).await;
///         s
///     }));
///     let mut stream = runtime::as_completed_timeout(tasks, Duration::from_secs(2));
///     let mut seen = vec![];
///     while let Some(out) = stream.next().await {
///         seen.push(out.map(|r| r.unwrap()));
///     }
///     seen
/// });
/// assert_eq!(seen, vec![Ok(1), Err(runtime::Elapsed(()))]);
/// ```
#[doc(alias = "asyncio.as_completed")]
pub fn as_completed_timeout<T, I>(handles: I, timeout: Duration) -> AsCompletedTimeout<T>
where
    T: Send + 'static,
    I: IntoIterator<Item = JoinHandle<T>>,
{
    AsCompletedTimeout {
        set: ReadySet::new(handles.into_iter().collect()),
        deadline: Box::pin(crate::sleep(timeout)),
        expired: false,
    }
}

/// The stream returned by [`as_completed_timeout`].
///
/// ```
/// use std::time::Duration;
/// let rt = runtime::Runtime::builder().clock(runtime::Clock::Virtual).build().unwrap();
/// rt.block_on(async {
///     let t = runtime::spawn(std::future::pending::<()>());
///     let mut s: runtime::AsCompletedTimeout<()> =
///         runtime::as_completed_timeout([t], Duration::from_secs(1));
///     assert_eq!(s.remaining(), 1);
///     assert!(s.next().await.unwrap().is_err()); // timed out
///     assert!(s.next().await.is_none());
/// });
/// ```
pub struct AsCompletedTimeout<T> {
    set: ReadySet<JoinHandle<T>>,
    deadline: Pin<Box<Sleep>>,
    expired: bool,
}

impl<T: Send + 'static> AsCompletedTimeout<T> {
    /// The next outcome; `Err(Elapsed)` once when the timeout passes first; `None` at the
    /// end.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// rt.block_on(async {
    ///     let mut s = runtime::as_completed_timeout([runtime::spawn(async { 3 })], Duration::from_secs(60));
    ///     assert_eq!(s.next().await.unwrap().unwrap().unwrap(), 3);
    ///     assert!(s.next().await.is_none());
    /// });
    /// ```
    #[allow(clippy::type_complexity)]
    pub async fn next(&mut self) -> Option<Result<Result<T, JoinError>, Elapsed>> {
        std::future::poll_fn(|cx| self.poll_next(cx)).await
    }

    /// Polls for the next item (the `Stream` protocol).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let mut s = runtime::as_completed_timeout([rt.spawn(async { 2 })], Duration::from_secs(60));
    /// let out = rt.block_on(std::future::poll_fn(|cx| s.poll_next(cx)));
    /// assert_eq!(out.unwrap().unwrap().unwrap(), 2);
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Result<T, JoinError>, Elapsed>>> {
        if self.expired {
            return Poll::Ready(None);
        }
        if let Poll::Ready(o) = self.set.poll_next(cx) {
            return Poll::Ready(o.map(|(_, out)| Ok(out)));
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.expired = true;
            // Detach what is left now (asyncio does not cancel them).
            drop(self.set.take_futs());
            return Poll::Ready(Some(Err(Elapsed(()))));
        }
        Poll::Pending
    }

    /// How many tasks have not been reported yet (0 after the timeout).
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let s = runtime::as_completed_timeout([rt.spawn(async {})], Duration::from_secs(1));
    /// assert_eq!(s.remaining(), 1);
    /// ```
    pub fn remaining(&self) -> usize {
        self.set.pending()
    }
}
