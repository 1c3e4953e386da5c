//! `BoundedSemaphore`: a `Semaphore` that refuses a release past its initial value.

use std::fmt;

use super::semaphore::Permits;

/// A semaphore whose [`release`](BoundedSemaphore::release) past the initial value is an
/// error (asyncio's `BoundedSemaphore`, which raises `ValueError`). Acquiring, FIFO order
/// and cancellation work as in [`Semaphore`](super::Semaphore).
///
/// ```
/// let rt = runtime::Runtime::builder().build().unwrap();
/// let sem = runtime::sync::BoundedSemaphore::new(1);
/// rt.block_on(async {
///     let p = sem.acquire().await;
///     p.forget(); // taken, to be given back with `release`
///     assert!(sem.release().is_ok());
///     assert_eq!(sem.release(), Err(runtime::sync::ReleasedTooOften)); // past the bound
/// });
/// ```
#[doc(alias = "asyncio.BoundedSemaphore")]
pub struct BoundedSemaphore {
    permits: Permits,
    bound: usize,
}

/// The error of [`BoundedSemaphore::release`] past the initial value (asyncio's
/// `ValueError: BoundedSemaphore released too many times`).
///
/// ```
/// assert_eq!(runtime::sync::ReleasedTooOften.to_string(), "BoundedSemaphore released too many times");
/// ```
#[doc(alias = "ValueError")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReleasedTooOften;

impl fmt::Display for ReleasedTooOften {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BoundedSemaphore released too many times")
    }
}

impl std::error::Error for ReleasedTooOften {}

impl BoundedSemaphore {
    /// A semaphore with `value` permits, never more.
    ///
    /// ```
    /// let sem = runtime::sync::BoundedSemaphore::new(2);
    /// assert_eq!(sem.value(), 2);
    /// ```
    pub fn new(value: usize) -> BoundedSemaphore {
        BoundedSemaphore {
            permits: Permits::new(value),
            bound: value,
        }
    }

    /// Waits for a permit, FIFO; dropping the guard releases it.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let sem = runtime::sync::BoundedSemaphore::new(1);
    /// rt.block_on(async {
    ///     let _p = sem.acquire().await;
    ///     assert!(sem.locked());
    /// });
    /// ```
    pub async fn acquire(&self) -> BoundedPermit<'_> {
        self.permits.acquire().await;
        BoundedPermit { sem: self }
    }

    /// A permit if one is free now and nobody is queued.
    ///
    /// ```
    /// let sem = runtime::sync::BoundedSemaphore::new(1);
    /// let _p = sem.try_acquire().unwrap();
    /// assert!(sem.try_acquire().is_none());
    /// ```
    pub fn try_acquire(&self) -> Option<BoundedPermit<'_>> {
        self.permits
            .try_acquire()
            .then(|| BoundedPermit { sem: self })
    }

    /// Gives a permit back (for one taken with [`BoundedPermit::forget`]); an error if
    /// that would leave more than the initial value free.
    ///
    /// ```
    /// let sem = runtime::sync::BoundedSemaphore::new(1);
    /// assert!(sem.release().is_err()); // nothing was taken
    /// ```
    pub fn release(&self) -> Result<(), ReleasedTooOften> {
        if self.permits.release(Some(self.bound)) {
            Ok(())
        } else {
            Err(ReleasedTooOften)
        }
    }

    /// `true` if `acquire` would wait.
    ///
    /// ```
    /// let sem = runtime::sync::BoundedSemaphore::new(0);
    /// assert!(sem.locked());
    /// ```
    pub fn locked(&self) -> bool {
        self.permits.would_wait()
    }

    /// Free permits now.
    ///
    /// ```
    /// let sem = runtime::sync::BoundedSemaphore::new(4);
    /// assert_eq!(sem.value(), 4);
    /// ```
    pub fn value(&self) -> usize {
        self.permits.available()
    }
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedSemaphore")
            .field("value", &self.value())
            .field("bound", &self.bound)
            .finish()
    }
}

/// A permit of a [`BoundedSemaphore`]; dropping it releases the permit.
///
/// ```
/// let sem = runtime::sync::BoundedSemaphore::new(1);
/// let p: runtime::sync::BoundedPermit<'_> = sem.try_acquire().unwrap();
/// drop(p);
/// assert_eq!(sem.value(), 1);
/// ```
#[must_use = "the permit is released when dropped"]
pub struct BoundedPermit<'a> {
    sem: &'a BoundedSemaphore,
}

impl BoundedPermit<'_> {
    /// Consumes the permit without releasing it; give it back with
    /// [`BoundedSemaphore::release`].
    ///
    /// ```
    /// let sem = runtime::sync::BoundedSemaphore::new(1);
    /// sem.try_acquire().unwrap().forget();
    /// assert_eq!(sem.value(), 0);
    /// sem.release().unwrap();
    /// ```
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for BoundedPermit<'_> {
    fn drop(&mut self) {
        // A guard always holds a permit, so this release stays within the bound.
        self.sem.permits.release(None);
    }
}

impl fmt::Debug for BoundedPermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedPermit").finish_non_exhaustive()
    }
}
