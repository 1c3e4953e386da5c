//! The GIL-like lock of `Gil` mode. In the other modes (and until `Gil` lands) its entry
//! points are no-ops, so workloads are written once for every mode.

/// A point where a CPU-bound holder of the GIL may let another thread run. A no-op outside
/// `Gil` mode.
///
/// ```
/// fn fib(n: u32) -> u64 {
///     modes::gil::checkpoint();
///     if n < 2 { n as u64 } else { fib(n - 1) + fib(n - 2) }
/// }
/// assert_eq!(fib(10), 55);
/// ```
#[inline]
pub fn checkpoint() {}

/// Runs blocking `f` without holding the GIL (CPython's `Py_BEGIN_ALLOW_THREADS`). Outside
/// `Gil` mode it just calls `f`.
///
/// ```
/// assert_eq!(modes::gil::allow_threads(|| 3), 3);
/// ```
#[inline]
pub fn allow_threads<R>(f: impl FnOnce() -> R) -> R {
    f()
}
