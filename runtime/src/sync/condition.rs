//! `Condition`: asyncio's `Condition`, a [`Lock`] plus a FIFO of waiters to notify.

use modes::lock::{Mutex, MutexGuard};
use std::fmt;
use std::future::poll_fn;
use std::ops::{Deref, DerefMut};
use std::task::Poll;

use super::lock::{Lock, LockGuard};
use super::waiters::{wake_all, WaitList};

/// A condition variable for tasks (asyncio's `Condition`): lock it, then
/// [`wait`](ConditionGuard::wait) releases the lock until notified and takes it back;
/// [`notify`](ConditionGuard::notify) wakes the first `n` waiters, FIFO. Waiting and
/// notifying are methods of the guard, so (unlike asyncio, which raises `RuntimeError`)
/// they cannot be called without holding the lock.
///
/// Cancellation-safe, as asyncio 3.13: a waiter notified and then cancelled (before or
/// while taking the lock back) passes its notification on to the next waiter.
///
/// ```
/// use std::sync::Arc;
/// let rt = runtime::Runtime::builder().build().unwrap();
/// let cond = Arc::new(runtime::sync::Condition::new(Vec::<u32>::new()));
/// let got = rt.block_on(async {
///     let c = cond.clone();
///     let consumer = runtime::spawn(async move {
///         let g = c.lock().await;
///         let mut g = g.wait_for(|items| !items.is_empty()).await;
///         g.pop().unwrap()
///     });
///     runtime::yield_now().await;
///     let mut g = cond.lock().await;
///     g.push(7);
///     g.notify(1);
///     drop(g);
///     consumer.await.unwrap()
/// });
/// assert_eq!(got, 7);
/// ```
#[doc(alias = "asyncio.Condition")]
pub struct Condition<T = ()> {
    lock: Lock<T>,
    waiters: Mutex<WaitList>,
}

impl<T> Condition<T> {
    /// A condition over a new lock holding `value`.
    ///
    /// ```
    /// let cond = runtime::sync::Condition::new(0u8);
    /// assert!(!cond.locked());
    /// ```
    pub fn new(value: T) -> Condition<T> {
        Condition {
            lock: Lock::new(value),
            waiters: Mutex::new(WaitList::default()),
        }
    }
}

impl<T: Default> Default for Condition<T> {
    fn default() -> Self {
        Condition::new(T::default())
    }
}

impl<T> Condition<T> {
    fn list(&self) -> MutexGuard<'_, WaitList> {
        self.waiters.lock()
    }

    /// Takes the underlying lock (asyncio's `async with cond:`).
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let cond = runtime::sync::Condition::new(1);
    /// assert_eq!(*rt.block_on(cond.lock()), 1);
    /// ```
    #[doc(alias = "acquire")]
    pub async fn lock(&self) -> ConditionGuard<'_, T> {
        ConditionGuard {
            cond: self,
            guard: self.lock.lock().await,
        }
    }

    /// `true` if the lock is held.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let cond = runtime::sync::Condition::new(());
    /// rt.block_on(async {
    ///     let _g = cond.lock().await;
    ///     assert!(cond.locked());
    /// });
    /// ```
    pub fn locked(&self) -> bool {
        self.lock.locked()
    }

    fn notify_n(&self, n: usize) {
        let wakers: Vec<_> = {
            let mut list = self.list();
            (0..n).map_while(|_| list.notify_one(0)).collect()
        };
        wake_all(wakers);
    }
}

impl<T> fmt::Debug for Condition<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("locked", &self.locked())
            .field("waiters", &self.list().queued())
            .finish()
    }
}

/// The held lock of a [`Condition`]: the data, and `wait`/`notify`.
///
/// ```
/// let rt = runtime::Runtime::builder().build().unwrap();
/// let cond = runtime::sync::Condition::new(3);
/// rt.block_on(async {
///     let mut g: runtime::sync::ConditionGuard<'_, i32> = cond.lock().await;
///     *g += 1;
///     g.notify_all(); // nobody waits: nothing happens
///     assert_eq!(*g, 4);
/// });
/// ```
#[must_use = "the lock is released when the guard is dropped"]
pub struct ConditionGuard<'a, T> {
    cond: &'a Condition<T>,
    guard: LockGuard<'a, T>,
}

/// Passes a consumed notification on if the waiter is dropped before it has the lock.
struct PassOn<'a, T> {
    cond: Option<&'a Condition<T>>,
}

impl<T> Drop for PassOn<'_, T> {
    fn drop(&mut self) {
        if let Some(c) = self.cond {
            c.notify_n(1);
        }
    }
}

/// Our place in the condition's waiter list; leaving it notified passes the
/// notification on.
struct Queued<'a, T> {
    cond: &'a Condition<T>,
    key: Option<usize>,
}

impl<T> Drop for Queued<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let notified = self.cond.list().remove(key).is_some();
            if notified {
                self.cond.notify_n(1);
            }
        }
    }
}

impl<'a, T> ConditionGuard<'a, T> {
    /// Releases the lock, waits to be notified, and takes the lock back (asyncio's
    /// `await cond.wait()`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let cond = Arc::new(runtime::sync::Condition::new(false));
    /// rt.block_on(async {
    ///     let c = cond.clone();
    ///     let waiter = runtime::spawn(async move {
    ///         let mut g = c.lock().await;
    ///         while !*g { g = g.wait().await; }
    ///     });
    ///     runtime::yield_now().await;
    ///     let mut g = cond.lock().await;
    ///     *g = true;
    ///     g.notify_all();
    ///     drop(g);
    ///     waiter.await.unwrap();
    /// });
    /// ```
    pub async fn wait(self) -> ConditionGuard<'a, T> {
        let cond = self.cond;
        // Queue first, then release: a notify between the two cannot be missed.
        let mut queued = Queued { cond, key: None };
        poll_fn(|cx| {
            queued.key = Some(cond.list().push(cx.waker()));
            Poll::Ready(())
        })
        .await;
        drop(self.guard);
        poll_fn(|cx| {
            let key = queued.key.expect("queued above");
            let mut list = cond.list();
            if list.notified(key).is_some() {
                list.remove(key);
                queued.key = None;
                Poll::Ready(())
            } else {
                list.update(key, cx.waker());
                Poll::Pending
            }
        })
        .await;
        let mut pass_on = PassOn { cond: Some(cond) };
        let guard = cond.lock.lock().await;
        pass_on.cond = None;
        ConditionGuard { cond, guard }
    }

    /// Waits until `pred` holds of the data (asyncio's `wait_for(predicate)`); checks it
    /// first, then after each notification.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let cond = runtime::sync::Condition::new(5);
    /// rt.block_on(async {
    ///     let g = cond.lock().await.wait_for(|v| *v == 5).await; // already true
    ///     assert_eq!(*g, 5);
    /// });
    /// ```
    pub async fn wait_for(mut self, mut pred: impl FnMut(&mut T) -> bool) -> ConditionGuard<'a, T> {
        while !pred(&mut self.guard) {
            self = self.wait().await;
        }
        self
    }

    /// Wakes the first `n` waiters (asyncio's `notify(n)`); they run once this guard is
    /// dropped and they get the lock.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let cond = runtime::sync::Condition::new(());
    /// rt.block_on(async { cond.lock().await.notify(2) });
    /// ```
    pub fn notify(&self, n: usize) {
        self.cond.notify_n(n);
    }

    /// Wakes every waiter (asyncio's `notify_all()`).
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let cond = runtime::sync::Condition::new(());
    /// rt.block_on(async { cond.lock().await.notify_all() });
    /// ```
    pub fn notify_all(&self) {
        let wakers = self.cond.list().notify_all(0);
        wake_all(wakers);
    }
}

impl<T> Deref for ConditionGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> DerefMut for ConditionGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}
