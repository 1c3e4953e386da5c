//! `Shared`: one future that many tasks await, each getting a clone of its output
//! (asyncio's futures and tasks, which any number of coroutines can await).
//!
//! Protocol: the inner future and the output live under one mutex. Whoever polls first
//! polls the inner future with a waker that wakes every registered awaiter; each clone
//! keeps one slot in the waker list (its key), freed when it finishes or is dropped.

use modes::lock::{Mutex, MutexGuard};
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use slab::Slab;

/// Makes `fut` awaitable by any number of tasks: clone the returned [`Shared`] and await
/// each clone; every one gets a clone of the output, and all are woken when it is ready.
/// Works for a task's outcome (`shared(handle)`, `T: Clone`), a [`Settable`](crate::Settable)
/// (see [`Settable::shared`](crate::Settable::shared)), or any future with a `Clone` output.
///
/// Dropping every clone drops the inner future (a handle inside is detached, as when
/// dropped on its own).
///
/// ```
/// let rt = runtime::Runtime::builder().build().unwrap();
/// let total = rt.block_on(async {
///     let task = runtime::shared(runtime::spawn(async { 21 }));
///     let waiters: Vec<_> = (0..3).map(|_| {
///         let t = task.clone();
///         runtime::spawn(async move { t.await.unwrap() })
///     }).collect();
///     let mut sum = task.await.unwrap();
///     for w in waiters { sum += w.await.unwrap(); }
///     sum
/// });
/// assert_eq!(total, 84); // four awaiters, one outcome
/// ```
pub fn shared<F>(fut: F) -> Shared<F::IntoFuture>
where
    F: IntoFuture,
    F::Output: Clone,
{
    Shared {
        inner: Arc::new(Inner {
            state: Mutex::new(State {
                fut: Some(Box::pin(fut.into_future())),
                out: None,
            }),
            wakers: Arc::new(Wakers(Mutex::new(Slab::new()))),
        }),
        key: None,
    }
}

/// A future that many tasks can await (see [`shared`]). Clone it for each awaiter.
///
/// ```
/// let rt = runtime::Runtime::builder().build().unwrap();
/// let (setter, fut) = runtime::settable::<String>();
/// let s: runtime::Shared<runtime::Settable<String>> = fut.shared();
/// let a = rt.spawn(s.clone());
/// let b = rt.spawn(s);
/// setter.set("hello".into()).unwrap();
/// assert_eq!(a.join().unwrap().unwrap(), "hello");
/// assert_eq!(b.join().unwrap().unwrap(), "hello");
/// ```
#[doc(alias = "asyncio.Future")]
#[must_use = "futures do nothing unless awaited"]
pub struct Shared<F: Future> {
    inner: Arc<Inner<F>>,
    /// This clone's slot in the waker list, once it has waited.
    key: Option<usize>,
}

struct Inner<F: Future> {
    state: Mutex<State<F>>,
    wakers: Arc<Wakers>,
}

struct State<F: Future> {
    fut: Option<Pin<Box<F>>>,
    out: Option<F::Output>,
}

/// The awaiters' wakers; as a waker itself, it wakes them all.
struct Wakers(Mutex<Slab<Option<Waker>>>);

impl Wakers {
    fn lock(&self) -> MutexGuard<'_, Slab<Option<Waker>>> {
        self.0.lock()
    }
}

impl Wake for Wakers {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let woken: Vec<Waker> = self
            .lock()
            .iter_mut()
            .filter_map(|(_, w)| w.take())
            .collect();
        for w in woken {
            w.wake();
        }
    }
}

impl<F: Future> Inner<F> {
    fn lock(&self) -> MutexGuard<'_, State<F>> {
        self.state.lock()
    }
}

impl<F: Future> Shared<F> {
    /// `true` once the output is ready (asyncio's `done()`).
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let s = runtime::shared(async { 1 });
    /// assert!(!s.is_done());
    /// assert_eq!(rt.block_on(s.clone()), 1);
    /// assert!(s.is_done());
    /// ```
    pub fn is_done(&self) -> bool {
        self.inner.lock().out.is_some()
    }
}

impl<F: Future> Clone for Shared<F> {
    fn clone(&self) -> Self {
        Shared {
            inner: self.inner.clone(),
            key: None,
        }
    }
}

impl<F: Future> Unpin for Shared<F> {}

impl<F> Future for Shared<F>
where
    F: Future,
    F::Output: Clone,
{
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        let mut st = this.inner.lock();
        if let Some(out) = &st.out {
            let out = out.clone();
            drop(st);
            this.release_key();
            return Poll::Ready(out);
        }
        // Register before polling, so that a wake during the poll reaches us.
        {
            let mut wakers = this.inner.wakers.lock();
            match this.key {
                Some(k) => match wakers.get_mut(k) {
                    Some(slot) if slot.as_ref().is_some_and(|w| w.will_wake(cx.waker())) => {}
                    Some(slot) => *slot = Some(cx.waker().clone()),
                    None => this.key = Some(wakers.insert(Some(cx.waker().clone()))),
                },
                None => this.key = Some(wakers.insert(Some(cx.waker().clone()))),
            }
        }
        let all = Waker::from(this.inner.wakers.clone());
        let mut all_cx = Context::from_waker(&all);
        let fut = st
            .fut
            .as_mut()
            .expect("the future is kept until its output is");
        match fut.as_mut().poll(&mut all_cx) {
            Poll::Ready(out) => {
                st.fut = None;
                st.out = Some(out.clone());
                drop(st);
                this.release_key();
                // Every other awaiter: the output is there.
                Wake::wake_by_ref(&this.inner.wakers);
                Poll::Ready(out)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F: Future> Shared<F> {
    fn release_key(&mut self) {
        if let Some(k) = self.key.take() {
            let mut wakers = self.inner.wakers.lock();
            if wakers.contains(k) {
                wakers.remove(k);
            }
        }
    }
}

impl<F: Future> Drop for Shared<F> {
    fn drop(&mut self) {
        self.release_key();
    }
}

impl<F: Future> fmt::Debug for Shared<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("done", &self.is_done())
            .finish()
    }
}
