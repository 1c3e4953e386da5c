//! A future whose value is set from outside: asyncio's `Future`, C++'s
//! `std::promise`/`std::future`.

use modes::lock::{Mutex, MutexGuard};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// Creates a connected pair: a [`Setter`] that sets the value once, from any thread, and
/// a [`Settable`] future that any task awaits.
///
/// ```
/// let rt = runtime::Runtime::builder().build().unwrap();
/// let (setter, fut) = runtime::settable::<u32>();
/// std::thread::spawn(move || setter.set(7)); // another thread keeps the promise
/// assert_eq!(rt.block_on(fut), Ok(7));
/// ```
pub fn settable<T>() -> (Setter<T>, Settable<T>) {
    let inner = Arc::new(Inner {
        state: Mutex::new(State {
            value: None,
            waker: None,
            setter_gone: false,
            cancelled: false,
        }),
    });
    (
        Setter {
            inner: Some(inner.clone()),
        },
        Settable { inner },
    )
}

struct Inner<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    value: Option<T>,
    waker: Option<Waker>,
    setter_gone: bool,
    cancelled: bool,
}

impl<T> Inner<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock()
    }
}

/// Why a [`Settable`] produced no value.
///
/// ```
/// let (setter, fut) = runtime::settable::<u8>();
/// drop(setter);
/// let rt = runtime::Runtime::builder().build().unwrap();
/// assert_eq!(rt.block_on(fut), Err(runtime::SettableError::Dropped));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SettableError {
    /// The setter was dropped without setting a value (a broken promise).
    Dropped,
    /// The future was cancelled with [`Settable::cancel`].
    Cancelled,
}

impl fmt::Display for SettableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettableError::Dropped => f.write_str("the setter was dropped without setting a value"),
            SettableError::Cancelled => f.write_str("the future was cancelled"),
        }
    }
}

impl std::error::Error for SettableError {}

/// Sets the value of its [`Settable`] (asyncio's `set_result`). `Send`; consumed by `set`.
///
/// ```
/// let rt = runtime::Runtime::builder().build().unwrap();
/// let (setter, fut): (runtime::Setter<String>, _) = runtime::settable();
/// let producer = rt.spawn(async move { setter.set("from a task".to_string()) });
/// assert_eq!(rt.block_on(fut).unwrap(), "from a task");
/// assert!(producer.join().unwrap().is_ok());
/// ```
pub struct Setter<T> {
    /// `None` once `set` ran, so that `Drop` has nothing left to do.
    inner: Option<Arc<Inner<T>>>,
}

impl<T> Setter<T> {
    /// Sets the value and wakes the awaiting task. Gives the value back if the future was
    /// cancelled (asyncio raises `InvalidStateError` there).
    ///
    /// ```
    /// let (setter, fut) = runtime::settable::<&str>();
    /// fut.cancel();
    /// assert_eq!(setter.set("late"), Err("late"));
    /// ```
    pub fn set(mut self, value: T) -> Result<(), T> {
        let inner = self
            .inner
            .take()
            .expect("a Setter holds its state until set");
        let waker = {
            let mut st = inner.lock();
            if st.cancelled {
                return Err(value);
            }
            st.value = Some(value);
            st.setter_gone = true;
            st.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// `true` if the future was cancelled (nobody wants the value any more).
    ///
    /// ```
    /// let (setter, fut) = runtime::settable::<()>();
    /// assert!(!setter.is_cancelled());
    /// fut.cancel();
    /// assert!(setter.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.inner.as_ref().is_some_and(|i| i.lock().cancelled)
    }
}

impl<T> Drop for Setter<T> {
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else {
            return;
        };
        let waker = {
            let mut st = inner.lock();
            st.setter_gone = true;
            st.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// The awaiting side of [`settable`]: resolves to the value, or a [`SettableError`].
///
/// ```
/// let rt = runtime::Runtime::builder().build().unwrap();
/// let (setter, fut): (_, runtime::Settable<u32>) = runtime::settable();
/// let waiter = rt.spawn(async move { fut.await.map(|v| v * 2) }); // a task awaits it
/// setter.set(21).unwrap();
/// assert_eq!(waiter.join().unwrap(), Ok(42));
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct Settable<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Settable<T> {
    /// `true` once a value was set, the setter was dropped, or the future cancelled
    /// (asyncio's `done()`).
    ///
    /// ```
    /// let (setter, fut) = runtime::settable::<u8>();
    /// assert!(!fut.is_done());
    /// setter.set(1).unwrap();
    /// assert!(fut.is_done());
    /// ```
    pub fn is_done(&self) -> bool {
        let st = self.inner.lock();
        st.value.is_some() || st.setter_gone || st.cancelled
    }

    /// Cancels the future (asyncio's `Future.cancel()`): awaiting it gives
    /// `Err(Cancelled)` unless a value was already set, and a later `set` is refused.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let (_setter, fut) = runtime::settable::<u8>();
    /// fut.cancel();
    /// assert_eq!(rt.block_on(fut), Err(runtime::SettableError::Cancelled));
    /// ```
    pub fn cancel(&self) {
        let mut st = self.inner.lock();
        if st.value.is_none() {
            st.cancelled = true;
        }
    }
}

impl<T: Clone> Settable<T> {
    /// Makes this future awaitable by many tasks (asyncio's futures can be awaited by
    /// any number of coroutines): each clone of the [`Shared`](crate::Shared) gets a clone
    /// of the value, and all are woken when it is set.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let (setter, fut) = runtime::settable::<u32>();
    /// let fut = fut.shared();
    /// let waiters: Vec<_> = (0..3).map(|_| rt.spawn(fut.clone())).collect();
    /// setter.set(9).unwrap();
    /// for w in waiters {
    ///     assert_eq!(w.join().unwrap(), Ok(9));
    /// }
    /// ```
    pub fn shared(self) -> crate::Shared<Settable<T>> {
        crate::shared(self)
    }
}

impl<T> Future for Settable<T> {
    type Output = Result<T, SettableError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut st = self.inner.lock();
        if let Some(v) = st.value.take() {
            return Poll::Ready(Ok(v));
        }
        if st.cancelled {
            return Poll::Ready(Err(SettableError::Cancelled));
        }
        if st.setter_gone {
            return Poll::Ready(Err(SettableError::Dropped));
        }
        if !st.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            st.waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}
