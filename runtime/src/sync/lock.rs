//! `Lock`: asyncio's `Lock`, holding the data it protects.

use std::cell::UnsafeCell;
use std::fmt;
use std::ops::{Deref, DerefMut};

use super::semaphore::Permits;

/// A mutual-exclusion lock for tasks (asyncio's `Lock`): `lock().await` waits, FIFO,
/// while another task holds it, and the guard releases it when dropped (asyncio's
/// `release()`, or the end of `async with lock:`). It holds the data it protects, as
/// Rust locks do; `Lock<()>` (the default) is asyncio's plain lock.
///
/// Cancellation-safe: a waiter dropped after the lock was handed to it passes it to the
/// next. asyncio raises `RuntimeError` for a `release()` of an unlocked lock; with a guard
/// that cannot happen.
///
/// ```
/// use std::sync::Arc;
/// let rt = runtime::Runtime::builder().build().unwrap();
/// let total = Arc::new(runtime::sync::Lock::new(0u32));
/// rt.block_on(async {
///     let tasks: Vec<_> = (0..10).map(|_| {
///         let total = total.clone();
///         runtime::spawn(async move {
///             let mut g = total.lock().await;
///             let v = *g;
///             runtime::yield_now().await; // others wait: the lock is held
///             *g = v + 1;
///         })
///     }).collect();
///     for t in tasks { t.await.unwrap(); }
/// });
/// assert_eq!(*rt.block_on(total.lock()), 10);
/// ```
#[doc(alias = "asyncio.Lock")]
#[doc(alias = "Mutex")]
pub struct Lock<T: ?Sized = ()> {
    permits: Permits,
    data: UnsafeCell<T>,
}

// SAFETY: the lock hands `&mut T` to one guard at a time, which may live on another
// thread: `T: Send` is what a Mutex needs to be Send and Sync.
unsafe impl<T: ?Sized + Send> Send for Lock<T> {}
// SAFETY: as above; shared access to `data` only goes through a guard.
unsafe impl<T: ?Sized + Send> Sync for Lock<T> {}

impl<T> Lock<T> {
    /// An unlocked lock holding `value`.
    ///
    /// ```
    /// let lock = runtime::sync::Lock::new(());
    /// assert!(!lock.locked());
    /// ```
    pub fn new(value: T) -> Lock<T> {
        Lock {
            permits: Permits::new(1),
            data: UnsafeCell::new(value),
        }
    }

    /// The data, once nobody can lock it any more.
    ///
    /// ```
    /// let lock = runtime::sync::Lock::new(vec![1]);
    /// assert_eq!(lock.into_inner(), vec![1]);
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: Default> Default for Lock<T> {
    fn default() -> Self {
        Lock::new(T::default())
    }
}

impl<T: ?Sized> Lock<T> {
    /// Waits until the lock is free and takes it (asyncio's `await lock.acquire()`).
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let lock = runtime::sync::Lock::new(String::new());
    /// rt.block_on(async {
    ///     lock.lock().await.push_str("hi");
    ///     assert_eq!(*lock.lock().await, "hi");
    /// });
    /// ```
    #[doc(alias = "acquire")]
    pub async fn lock(&self) -> LockGuard<'_, T> {
        self.permits.acquire().await;
        LockGuard { lock: self }
    }

    /// Takes the lock if it is free and nobody is queued for it.
    ///
    /// ```
    /// let lock = runtime::sync::Lock::new(());
    /// let g = lock.try_lock().unwrap();
    /// assert!(lock.try_lock().is_none());
    /// drop(g);
    /// ```
    pub fn try_lock(&self) -> Option<LockGuard<'_, T>> {
        self.permits.try_acquire().then(|| LockGuard { lock: self })
    }

    /// `true` if some task holds the lock (asyncio's `locked()`).
    ///
    /// ```
    /// let lock = runtime::sync::Lock::new(());
    /// let _g = lock.try_lock();
    /// assert!(lock.locked());
    /// ```
    pub fn locked(&self) -> bool {
        self.permits.available() == 0
    }

    /// The data, through `&mut self`: no lock needed.
    ///
    /// ```
    /// let mut lock = runtime::sync::Lock::new(1);
    /// *lock.get_mut() += 1;
    /// assert_eq!(lock.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: ?Sized> fmt::Debug for Lock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("locked", &self.locked())
            .finish_non_exhaustive()
    }
}

/// Holds a [`Lock`]; gives access to its data and releases it when dropped.
///
/// ```
/// let lock = runtime::sync::Lock::new(5);
/// let g: runtime::sync::LockGuard<'_, i32> = lock.try_lock().unwrap();
/// assert_eq!(*g, 5);
/// ```
#[must_use = "the lock is released when the guard is dropped"]
pub struct LockGuard<'a, T: ?Sized> {
    lock: &'a Lock<T>,
}

// SAFETY: a guard gives `&T` to whoever shares it, so sharing it needs `T: Sync`.
unsafe impl<T: ?Sized + Sync> Sync for LockGuard<'_, T> {}

impl<T: ?Sized> Deref for LockGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock's only permit, so no other reference to the
        // data exists while it lives.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for LockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the only use of the guard.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for LockGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.permits.release(None);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for LockGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
