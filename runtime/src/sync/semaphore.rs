//! `Semaphore`, and the permit counter that `Lock` and `BoundedSemaphore` share.
//!
//! Protocol of [`Permits`]: one atomic word holds the free permits (shifted left by one)
//! and a QUEUED bit. QUEUED is set, under the waiter lock, exactly while the waiter list
//! is not empty, and while it is set no permit is free: a release hands its permit to
//! the first waiter instead (asyncio's FIFO: a newcomer never overtakes a queued task).
//! Without waiters, acquire and release are one compare-and-swap each, no lock.

use modes::lock::{Mutex, MutexGuard};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use super::waiters::WaitList;

const QUEUED: usize = 1;
const ONE: usize = 2;

/// Free permits plus a FIFO of waiters (see the module docs).
pub(crate) struct Permits {
    state: AtomicUsize,
    waiters: Mutex<WaitList>,
}

impl Permits {
    pub(crate) fn new(n: usize) -> Permits {
        Permits {
            state: AtomicUsize::new(n.min(usize::MAX >> 1) << 1),
            waiters: Mutex::new(WaitList::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, WaitList> {
        self.waiters.lock()
    }

    /// Free permits now.
    pub(crate) fn available(&self) -> usize {
        self.state.load(Ordering::Acquire) >> 1
    }

    /// `true` if an acquire would wait (no permit, or tasks queued before it).
    pub(crate) fn would_wait(&self) -> bool {
        let s = self.state.load(Ordering::Acquire);
        s & QUEUED != 0 || s < ONE
    }

    /// Takes a permit if one is free and nobody is queued.
    pub(crate) fn try_acquire(&self) -> bool {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & QUEUED != 0 || s < ONE {
                return false;
            }
            match self
                .state
                .compare_exchange_weak(s, s - ONE, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(now) => s = now,
            }
        }
    }

    /// Gives a permit back: to the first waiter if there is one, else to the count.
    /// With `bound`, refuses (returns `false`) a release that would leave more than
    /// `bound` permits free.
    pub(crate) fn release(&self, bound: Option<usize>) -> bool {
        let mut s = self.state.load(Ordering::Relaxed);
        while s & QUEUED == 0 {
            if bound.is_some_and(|b| s >> 1 >= b) {
                return false;
            }
            match self
                .state
                .compare_exchange_weak(s, s + ONE, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(now) => s = now,
            }
        }
        let mut list = self.lock();
        match self.release_locked(&mut list, bound) {
            Released::Handed(w) => {
                drop(list);
                w.wake();
                true
            }
            Released::Counted => true,
            Released::OverBound => false,
        }
    }

    /// A release under the waiter lock; the caller wakes the waiter after unlocking.
    fn release_locked(&self, list: &mut WaitList, bound: Option<usize>) -> Released {
        if let Some(w) = list.notify_one(0) {
            if list.queued() == 0 {
                self.state.fetch_and(!QUEUED, Ordering::AcqRel);
            }
            return Released::Handed(w);
        }
        // Nobody queued (QUEUED was cleared meanwhile): back to the count.
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            if bound.is_some_and(|b| s >> 1 >= b) {
                return Released::OverBound;
            }
            match self
                .state
                .compare_exchange_weak(s, s + ONE, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Released::Counted,
                Err(now) => s = now,
            }
        }
    }

    /// The future of one permit.
    pub(crate) fn acquire(&self) -> Acquire<'_> {
        Acquire {
            permits: self,
            key: None,
            done: false,
        }
    }
}

#[must_use]
enum Released {
    /// Handed to a waiter: wake it.
    Handed(std::task::Waker),
    Counted,
    OverBound,
}

/// Waits for one permit of a [`Permits`]; dropping it after it was handed the permit but
/// before it returned passes the permit on.
pub(crate) struct Acquire<'a> {
    permits: &'a Permits,
    key: Option<usize>,
    done: bool,
}

impl Future for Acquire<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        assert!(!this.done, "Acquire polled after completion");
        let p = this.permits;
        match this.key {
            None => {
                if p.try_acquire() {
                    this.done = true;
                    return Poll::Ready(());
                }
                let mut list = p.lock();
                let mut s = p.state.load(Ordering::Acquire);
                loop {
                    if s & QUEUED == 0 && s >= ONE {
                        match p.state.compare_exchange(
                            s,
                            s - ONE,
                            Ordering::Acquire,
                            Ordering::Acquire,
                        ) {
                            Ok(_) => {
                                this.done = true;
                                return Poll::Ready(());
                            }
                            Err(now) => s = now,
                        }
                    } else if s & QUEUED == 0 {
                        match p.state.compare_exchange(
                            s,
                            s | QUEUED,
                            Ordering::AcqRel,
                            Ordering::Acquire,
                        ) {
                            Ok(_) => break,
                            Err(now) => s = now,
                        }
                    } else {
                        break;
                    }
                }
                this.key = Some(list.push(cx.waker()));
                Poll::Pending
            }
            Some(key) => {
                let mut list = p.lock();
                if list.notified(key).is_some() {
                    list.remove(key);
                    this.key = None;
                    this.done = true;
                    return Poll::Ready(());
                }
                list.update(key, cx.waker());
                Poll::Pending
            }
        }
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let p = self.permits;
        let mut list = p.lock();
        if list.remove(key).is_some() {
            // Handed a permit we will never use: pass it on (rule 4).
            if let Released::Handed(w) = p.release_locked(&mut list, None) {
                drop(list);
                w.wake();
            }
        } else if list.queued() == 0 {
            p.state.fetch_and(!QUEUED, Ordering::AcqRel);
        }
    }
}

/// A counter of permits that tasks wait for (asyncio's `Semaphore`): `acquire` waits
/// while none is free, in FIFO order, and the permit goes back when the returned guard is
/// dropped (asyncio's `release`, or `async with sem:`). Cancelling a waiter loses nothing:
/// one that was handed a permit and dropped before it returned passes it on.
///
/// asyncio's `Semaphore.release()` without an `acquire` adds a permit; so does
/// [`release`](Semaphore::release). [`BoundedSemaphore`](super::BoundedSemaphore) refuses
/// to go past its initial value.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// let rt = runtime::Runtime::builder().build().unwrap();
/// let sem = Arc::new(runtime::sync::Semaphore::new(2));
/// let (inside, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
/// rt.block_on(async {
///     let tasks: Vec<_> = (0..6).map(|_| {
///         let (sem, inside, most) = (sem.clone(), inside.clone(), most.clone());
///         runtime::spawn(async move {
///             let _permit = sem.acquire().await;
///             most.fetch_max(inside.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
///             runtime::yield_now().await;
///             inside.fetch_sub(1, Ordering::SeqCst);
///         })
///     }).collect();
///     for t in tasks { t.await.unwrap(); }
/// });
/// assert_eq!(most.load(Ordering::SeqCst), 2); // never more than two inside
/// ```
#[doc(alias = "asyncio.Semaphore")]
pub struct Semaphore {
    permits: Permits,
}

impl Semaphore {
    /// A semaphore with `value` free permits.
    ///
    /// ```
    /// let sem = runtime::sync::Semaphore::new(3);
    /// assert_eq!(sem.value(), 3);
    /// ```
    pub fn new(value: usize) -> Semaphore {
        Semaphore {
            permits: Permits::new(value),
        }
    }

    /// Waits for a permit (asyncio's `await sem.acquire()`); FIFO among waiters.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let sem = runtime::sync::Semaphore::new(1);
    /// rt.block_on(async {
    ///     let p = sem.acquire().await;
    ///     assert!(sem.locked());
    ///     drop(p);
    ///     assert!(!sem.locked());
    /// });
    /// ```
    pub async fn acquire(&self) -> SemaphorePermit<'_> {
        self.permits.acquire().await;
        SemaphorePermit { sem: self }
    }

    /// A permit if one is free now and no task is queued for one.
    ///
    /// ```
    /// let sem = runtime::sync::Semaphore::new(1);
    /// let p = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().is_none());
    /// drop(p);
    /// assert!(sem.try_acquire().is_some());
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        self.permits
            .try_acquire()
            .then(|| SemaphorePermit { sem: self })
    }

    /// Adds a permit, waking the first waiter (asyncio's `release()` without a guard).
    ///
    /// ```
    /// let sem = runtime::sync::Semaphore::new(0);
    /// sem.release();
    /// assert_eq!(sem.value(), 1);
    /// ```
    pub fn release(&self) {
        self.permits.release(None);
    }

    /// `true` if `acquire` would wait (asyncio's `locked()`).
    ///
    /// ```
    /// let sem = runtime::sync::Semaphore::new(0);
    /// assert!(sem.locked());
    /// ```
    pub fn locked(&self) -> bool {
        self.permits.would_wait()
    }

    /// Free permits now (asyncio's `_value`).
    ///
    /// ```
    /// let sem = runtime::sync::Semaphore::new(2);
    /// let _p = sem.try_acquire();
    /// assert_eq!(sem.value(), 1);
    /// ```
    pub fn value(&self) -> usize {
        self.permits.available()
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("value", &self.value())
            .field("locked", &self.locked())
            .finish()
    }
}

/// A permit of a [`Semaphore`]; dropping it releases the permit.
///
/// ```
/// let sem = runtime::sync::Semaphore::new(1);
/// let p: runtime::sync::SemaphorePermit<'_> = sem.try_acquire().unwrap();
/// p.forget(); // keep it taken for good
/// assert_eq!(sem.value(), 0);
/// ```
#[must_use = "the permit is released when dropped"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
}

impl SemaphorePermit<'_> {
    /// Consumes the permit without releasing it.
    ///
    /// ```
    /// let sem = runtime::sync::Semaphore::new(2);
    /// sem.try_acquire().unwrap().forget();
    /// assert_eq!(sem.value(), 1);
    /// ```
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.sem.permits.release(None);
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit").finish_non_exhaustive()
    }
}
