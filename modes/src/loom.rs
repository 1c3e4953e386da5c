//! The `loom` shim: std's sync types normally, loom's under `--cfg loom`, so the
//! concurrent protocols (task flags, parking, the idle-worker set, the GIL) can be
//! model-checked by the models in `loom_tests/`.
//!
//! Every lock in this crate goes through [`Mutex`] and [`Condvar`] here (as tokio's
//! `loom/std/mutex.rs`): they ignore poisoning. A panic while a lock is held is a user
//! panic caught around a poll or a callback; the runtime's own state under the lock is
//! kept consistent at every unwind point, so the next locker carries on instead of
//! turning one panic into a panic on every later lock.

#[cfg(loom)]
use loom::sync as imp;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicUsize};

#[cfg(not(loom))]
use std::sync as imp;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicUsize};

/// `thread_local!`, loom's under `--cfg loom` (loom runs a model's threads on one OS
/// thread, so a std thread-local would be shared between them).
#[cfg(not(loom))]
macro_rules! thread_local_shim {
    ($(#[$m:meta])* static $name:ident: $t:ty = $init:expr;) => {
        std::thread_local! { $(#[$m])* static $name: $t = const { $init }; }
    };
}
#[cfg(loom)]
macro_rules! thread_local_shim {
    ($(#[$m:meta])* static $name:ident: $t:ty = $init:expr;) => {
        loom::thread_local! { $(#[$m])* static $name: $t = $init; }
    };
}
pub(crate) use thread_local_shim as thread_local;

use std::sync::PoisonError;
use std::time::Duration;

/// The guard of a [`Mutex`]: std's (or loom's) own, so a [`Condvar`] can wait on it.
///
/// ```
/// let m = modes::lock::Mutex::new(1);
/// let g: modes::lock::MutexGuard<'_, i32> = m.lock();
/// assert_eq!(*g, 1);
/// ```
pub type MutexGuard<'a, T> = imp::MutexGuard<'a, T>;

/// A mutex whose `lock` ignores poisoning: a panic while it was held does not make every
/// later `lock` panic too.
///
/// ```
/// use std::sync::Arc;
/// let m = Arc::new(modes::lock::Mutex::new(0));
/// let m2 = m.clone();
/// let _ = std::thread::spawn(move || {
///     let _g = m2.lock();
///     panic!("boom"); // poisons a std Mutex
/// })
/// .join();
/// *m.lock() += 1; // still usable
/// assert_eq!(*m.lock(), 1);
/// ```
#[derive(Default)]
pub struct Mutex<T: ?Sized>(imp::Mutex<T>);

impl<T> Mutex<T> {
    /// A new unlocked mutex holding `value`.
    ///
    /// ```
    /// static M: modes::lock::Mutex<u32> = modes::lock::Mutex::new(0);
    /// assert_eq!(*M.lock(), 0);
    /// ```
    #[cfg(not(loom))]
    pub const fn new(value: T) -> Mutex<T> {
        Mutex(imp::Mutex::new(value))
    }

    /// A new unlocked mutex holding `value`.
    #[cfg(loom)]
    pub fn new(value: T) -> Mutex<T> {
        Mutex(imp::Mutex::new(value))
    }

    /// The value, consuming the mutex.
    ///
    /// ```
    /// assert_eq!(modes::lock::Mutex::new(7).into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> T {
        self.0.into_inner().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Blocks until the lock is free and takes it.
    ///
    /// ```
    /// let m = modes::lock::Mutex::new(vec![1]);
    /// m.lock().push(2);
    /// assert_eq!(*m.lock(), [1, 2]);
    /// ```
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The guard if the lock is free now; `None` if it is held.
    ///
    /// ```
    /// let m = modes::lock::Mutex::new(());
    /// let g = m.lock();
    /// assert!(m.try_lock().is_none());
    /// drop(g);
    /// assert!(m.try_lock().is_some());
    /// ```
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        match self.0.try_lock() {
            Ok(g) => Some(g),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    /// The value through a unique borrow (no locking needed).
    ///
    /// ```
    /// let mut m = modes::lock::Mutex::new(1);
    /// *m.get_mut() = 2;
    /// assert_eq!(*m.lock(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.0.get_mut().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T: ?Sized + std::fmt::Debug> std::fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A condition variable over [`Mutex`] guards, ignoring poisoning as they do.
///
/// ```
/// use std::sync::Arc;
/// use modes::lock::{Condvar, Mutex};
/// let pair = Arc::new((Mutex::new(false), Condvar::new()));
/// let p = pair.clone();
/// std::thread::spawn(move || {
///     *p.0.lock() = true;
///     p.1.notify_one();
/// });
/// let mut ready = pair.0.lock();
/// while !*ready {
///     ready = pair.1.wait(ready);
/// }
/// ```
#[derive(Default)]
pub struct Condvar(imp::Condvar);

impl Condvar {
    /// A new condition variable.
    ///
    /// ```
    /// static CV: modes::lock::Condvar = modes::lock::Condvar::new();
    /// CV.notify_all(); // nobody waits: nothing happens
    /// ```
    #[cfg(not(loom))]
    pub const fn new() -> Condvar {
        Condvar(imp::Condvar::new())
    }

    /// A new condition variable.
    #[cfg(loom)]
    pub fn new() -> Condvar {
        Condvar(imp::Condvar::new())
    }

    /// Releases the lock, waits for a notification (or a spurious wake-up), retakes it.
    ///
    /// ```
    /// # use modes::lock::{Condvar, Mutex};
    /// # use std::sync::Arc;
    /// let pair = Arc::new((Mutex::new(0), Condvar::new()));
    /// let p = pair.clone();
    /// std::thread::spawn(move || { *p.0.lock() = 1; p.1.notify_all(); });
    /// let mut g = pair.0.lock();
    /// while *g == 0 { g = pair.1.wait(g); }
    /// assert_eq!(*g, 1);
    /// ```
    pub fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.0.wait(guard).unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until notified or `timeout` passes; `true` in the second case.
    ///
    /// ```
    /// let (m, cv) = (modes::lock::Mutex::new(()), modes::lock::Condvar::new());
    /// let (_g, timed_out) = cv.wait_timeout(m.lock(), std::time::Duration::from_millis(1));
    /// assert!(timed_out); // nobody notifies
    /// ```
    pub fn wait_timeout<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> (MutexGuard<'a, T>, bool) {
        let (g, res) = self
            .0
            .wait_timeout(guard, timeout)
            .unwrap_or_else(PoisonError::into_inner);
        (g, res.timed_out())
    }

    /// Waits while `condition` holds, at most `timeout` in all.
    ///
    /// ```
    /// let (m, cv) = (modes::lock::Mutex::new(5), modes::lock::Condvar::new());
    /// let g = cv.wait_timeout_while(m.lock(), std::time::Duration::from_millis(1), |v| *v > 0);
    /// assert_eq!(*g, 5); // gave up after the timeout
    /// ```
    pub fn wait_timeout_while<'a, T>(
        &self,
        mut guard: MutexGuard<'a, T>,
        timeout: Duration,
        mut condition: impl FnMut(&mut T) -> bool,
    ) -> MutexGuard<'a, T> {
        let deadline = std::time::Instant::now() + timeout;
        while condition(&mut *guard) {
            let now = std::time::Instant::now();
            if now >= deadline {
                break;
            }
            guard = self.wait_timeout(guard, deadline - now).0;
        }
        guard
    }

    /// Wakes one waiter, if any.
    ///
    /// ```
    /// modes::lock::Condvar::new().notify_one();
    /// ```
    pub fn notify_one(&self) {
        self.0.notify_one();
    }

    /// Wakes every waiter.
    ///
    /// ```
    /// modes::lock::Condvar::new().notify_all();
    /// ```
    pub fn notify_all(&self) {
        self.0.notify_all();
    }
}
