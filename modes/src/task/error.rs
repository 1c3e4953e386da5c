//! Why a task produced no value.

use crate::loom::Mutex;
use std::any::Any;
use std::fmt;

use super::harness::panic_message;
use super::meta::TaskId;

/// Why awaiting a [`JoinHandle`](super::JoinHandle) produced no value: the task was
/// cancelled, it panicked, or (in `Processes` mode) the worker running it died or its
/// payload could not cross the process boundary.
///
/// ```
/// use modes::JoinError;
/// fn describe(e: &JoinError) -> &'static str {
///     if e.is_cancelled() { "cancelled" } else if e.is_panic() { "panicked" } else { "failed" }
/// }
/// # let _ = describe;
/// ```
pub struct JoinError {
    id: TaskId,
    kind: Kind,
}

enum Kind {
    Cancelled,
    Panic {
        message: String,
        payload: Mutex<Option<Box<dyn Any + Send>>>,
    },
    Failed(String),
}

impl JoinError {
    pub(crate) fn cancelled(id: TaskId) -> JoinError {
        JoinError {
            id,
            kind: Kind::Cancelled,
        }
    }

    pub(crate) fn panic(id: TaskId, payload: Box<dyn Any + Send>) -> JoinError {
        JoinError {
            id,
            kind: Kind::Panic {
                message: panic_message(payload.as_ref()),
                payload: Mutex::new(Some(payload)),
            },
        }
    }

    /// A failure that is neither a cancellation nor a panic (a dead worker process, a
    /// payload that would not serialise, ...), described by `reason`.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let h = sched.spawn(async {});
    /// let e = modes::JoinError::failed(h.id(), "worker process 3 died");
    /// assert!(!e.is_cancelled() && !e.is_panic());
    /// assert_eq!(e.to_string(), format!("task {} failed: worker process 3 died", h.id()));
    /// # sched.shutdown();
    /// ```
    pub fn failed(id: TaskId, reason: impl Into<String>) -> JoinError {
        JoinError {
            id,
            kind: Kind::Failed(reason.into()),
        }
    }

    /// The id of the task that failed.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let h = sched.spawn(async { panic!("boom") });
    /// let id = h.id();
    /// assert_eq!(h.join().unwrap_err().id(), id);
    /// ```
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// `true` if the task was cancelled (asyncio's `CancelledError`).
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let h = sched.spawn(std::future::pending::<()>());
    /// h.cancel();
    /// let e = h.join().unwrap_err();
    /// assert!(e.is_cancelled() && !e.is_panic());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self.kind, Kind::Cancelled)
    }

    /// `true` if the task panicked.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let h = sched.spawn(async { Vec::<u8>::new()[0] }); // index out of bounds
    /// let e = h.join().unwrap_err();
    /// assert!(e.is_panic() && !e.is_cancelled());
    /// assert_eq!(sched.block_on(sched.spawn(async { 1 })).unwrap(), 1); // the loop goes on
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.kind, Kind::Panic { .. })
    }

    /// The panic message, if the task panicked.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let h = sched.spawn(async { panic!("bad input: {}", 42) });
    /// assert_eq!(h.join().unwrap_err().panic_message(), Some("bad input: 42"));
    /// let c = sched.spawn(std::future::pending::<()>());
    /// c.cancel();
    /// assert_eq!(c.join().unwrap_err().panic_message(), None); // cancelled, not a panic
    /// ```
    pub fn panic_message(&self) -> Option<&str> {
        match &self.kind {
            Kind::Panic { message, .. } => Some(message),
            _ => None,
        }
    }

    /// Ends the task being polled with this same error, as Python's bare `raise` re-raises
    /// an exception: the task's own [`JoinHandle`](super::JoinHandle) then reports an error
    /// of the same kind (a cancellation, a panic with the same message and payload, or a
    /// failure with the same reason), under the task's own id. Unwinds without running the
    /// panic hook, so nothing is printed.
    ///
    /// Outside a task there is nothing to catch it: it unwinds like
    /// [`std::panic::resume_unwind`].
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let inner = sched.spawn(async { panic!("deep") });
    /// let outer = sched.spawn(async move {
    ///     match inner.await {
    ///         Ok(v) => v,
    ///         Err(e) => e.resume(), // propagate the inner task's failure as our own
    ///     }
    /// });
    /// let outer_id = outer.id();
    /// let e = outer.join().unwrap_err();
    /// assert!(e.is_panic());
    /// assert_eq!((e.panic_message(), e.id()), (Some("deep"), outer_id));
    /// ```
    pub fn resume(self) -> ! {
        std::panic::resume_unwind(Box::new(Raised(self)))
    }

    /// Turns what a task's poll unwound with into its error: a [`resume`](Self::resume)d
    /// error keeps its kind (under `id`), anything else is a panic.
    pub(crate) fn from_unwind(id: TaskId, payload: Box<dyn Any + Send>) -> JoinError {
        match payload.downcast::<Raised>() {
            Ok(raised) => JoinError {
                id,
                kind: raised.0.kind,
            },
            Err(payload) => JoinError::panic(id, payload),
        }
    }

    /// Takes the panic payload (to `std::panic::resume_unwind` it), if the task panicked
    /// and nobody took it yet.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let h = sched.spawn(async { std::panic::panic_any(7u32) });
    /// let e = h.join().unwrap_err();
    /// let payload = e.take_panic().expect("first take");
    /// assert!(e.take_panic().is_none()); // already taken
    /// let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
    ///     std::panic::resume_unwind(payload) // re-raise it on this thread
    /// }));
    /// assert_eq!(caught.unwrap_err().downcast_ref::<u32>(), Some(&7));
    /// ```
    pub fn take_panic(&self) -> Option<Box<dyn Any + Send>> {
        match &self.kind {
            Kind::Panic { payload, .. } => payload.lock().take(),
            _ => None,
        }
    }
}

/// The unwind payload of [`JoinError::resume`].
struct Raised(JoinError);

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Cancelled => write!(f, "task {} was cancelled", self.id),
            Kind::Panic { message, .. } => write!(f, "task {} panicked: {message}", self.id),
            Kind::Failed(reason) => write!(f, "task {} failed: {reason}", self.id),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JoinError({self})")
    }
}

impl std::error::Error for JoinError {}

/// A copy of the error of the same kind, id and message, for outcomes that several
/// awaiters share. A panic's payload is not copied: it stays with the original, so only
/// one [`take_panic`](JoinError::take_panic) can ever get it.
///
/// ```
/// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
/// let e = sched.spawn(async { panic!("once") }).join().unwrap_err();
/// let copy = e.clone();
/// assert_eq!((copy.panic_message(), copy.id()), (Some("once"), e.id()));
/// assert!(copy.take_panic().is_none() && e.take_panic().is_some());
/// ```
impl Clone for JoinError {
    fn clone(&self) -> JoinError {
        let kind = match &self.kind {
            Kind::Cancelled => Kind::Cancelled,
            Kind::Panic { message, .. } => Kind::Panic {
                message: message.clone(),
                payload: Mutex::new(None),
            },
            Kind::Failed(reason) => Kind::Failed(reason.clone()),
        };
        JoinError { id: self.id, kind }
    }
}
