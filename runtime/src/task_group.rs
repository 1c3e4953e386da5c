//! `TaskGroup`: structured concurrency, as Python 3.11's `asyncio.TaskGroup`.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::{JoinError, JoinHandle, TaskRef};

/// A group of tasks that succeed or fail together.
///
/// - The first task to fail (return `Err` or panic) cancels all its siblings, and every
///   task spawned into the group afterwards.
/// - [`join`](TaskGroup::join) waits for every task and reports either all the values, in
///   spawn order, or every error (asyncio's `ExceptionGroup`); siblings cancelled because
///   of a failure are not errors.
/// - Nothing outlives the group: dropping it without `join` (for example because the task
///   that owns it was cancelled) cancels every task still running.
///
/// ```
/// use std::time::Duration;
/// use runtime::TaskGroup;
/// let rt = runtime::Runtime::builder().clock(runtime::Clock::Virtual).build().unwrap();
/// let err = rt.block_on(async {
///     let tg = TaskGroup::new();
///     tg.spawn(async { runtime::sleep(Duration::from_secs(1)).await; Err::<u32, _>("db down") });
///     tg.spawn(async { runtime::sleep(Duration::from_secs(60)).await; Ok(1) }); // cancelled
///     tg.join().await.unwrap_err()
/// });
/// assert_eq!(err.errors().len(), 1);
/// assert_eq!(err.cancelled(), 1);
/// ```
pub struct TaskGroup<T, E> {
    handles: Mutex<Vec<JoinHandle<Result<T, E>>>>,
    shared: Arc<Shared>,
}

struct Shared {
    failed: AtomicBool,
    refs: Mutex<Vec<TaskRef>>,
}

impl Shared {
    fn fail(&self) {
        if !self.failed.swap(true, Ordering::AcqRel) {
            let refs = std::mem::take(&mut *self.refs.lock().unwrap_or_else(|e| e.into_inner()));
            for r in refs {
                r.cancel();
            }
        }
    }
}

/// One failure inside a [`TaskGroup`].
///
/// ```
/// use runtime::TaskFailure;
/// let rt = runtime::Runtime::builder().build().unwrap();
/// let err = rt.block_on(async {
///     let tg = runtime::TaskGroup::<u8, String>::new();
///     tg.spawn(async { panic!("oops") });
///     tg.join().await.unwrap_err()
/// });
/// let why = match &err.errors()[0] {
///     TaskFailure::Error(e) => format!("returned Err({e})"),
///     TaskFailure::Panic(j) => format!("panicked: {}", j.panic_message().unwrap()),
/// };
/// assert_eq!(why, "panicked: oops");
/// ```
#[derive(Debug)]
pub enum TaskFailure<E> {
    /// The task returned `Err(e)`.
    Error(E),
    /// The task panicked (or failed otherwise, see [`JoinError`]).
    Panic(JoinError),
}

impl<E: fmt::Display> fmt::Display for TaskFailure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskFailure::Error(e) => write!(f, "{e}"),
            TaskFailure::Panic(e) => write!(f, "{e}"),
        }
    }
}

/// Every failure of a [`TaskGroup`] (asyncio's `ExceptionGroup`).
///
/// ```
/// use std::time::Duration;
/// let rt = runtime::Runtime::builder().clock(runtime::Clock::Virtual).build().unwrap();
/// let err: runtime::GroupError<String> = rt.block_on(async {
///     let tg = runtime::TaskGroup::<(), String>::new();
///     tg.spawn(async { runtime::sleep(Duration::from_secs(1)).await; Err("db down".into()) });
///     tg.spawn(async { runtime::sleep(Duration::from_secs(9)).await; Ok(()) });
///     tg.join().await.unwrap_err()
/// });
/// assert_eq!(err.to_string(), "1 task(s) of the group failed; db down");
/// assert_eq!(err.cancelled(), 1); // the sibling, cancelled by the failure
/// ```
#[derive(Debug)]
pub struct GroupError<E> {
    errors: Vec<TaskFailure<E>>,
    cancelled: usize,
}

impl<E> GroupError<E> {
    /// The failures, in spawn order.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let e = rt.block_on(async {
    ///     let tg = runtime::TaskGroup::<(), &str>::new();
    ///     tg.spawn(async { Err("x") });
    ///     tg.join().await.unwrap_err()
    /// });
    /// assert!(matches!(e.errors()[0], runtime::TaskFailure::Error("x")));
    /// ```
    pub fn errors(&self) -> &[TaskFailure<E>] {
        &self.errors
    }

    /// Takes the failures.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let e = rt.block_on(async {
    ///     let tg = runtime::TaskGroup::<(), &str>::new();
    ///     tg.spawn(async { Err("x") });
    ///     tg.join().await.unwrap_err()
    /// });
    /// assert_eq!(e.into_errors().len(), 1);
    /// ```
    pub fn into_errors(self) -> Vec<TaskFailure<E>> {
        self.errors
    }

    /// How many siblings were cancelled because of the failures.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let e = rt.block_on(async {
    ///     let tg = runtime::TaskGroup::<(), &str>::new();
    ///     tg.spawn(async { Err("x") });
    ///     tg.join().await.unwrap_err()
    /// });
    /// assert_eq!(e.cancelled(), 0);
    /// ```
    pub fn cancelled(&self) -> usize {
        self.cancelled
    }
}

impl<E: fmt::Display> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} task(s) of the group failed", self.errors.len())?;
        for e in &self.errors {
            write!(f, "; {e}")?;
        }
        Ok(())
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for GroupError<E> {}

impl<T, E> Default for TaskGroup<T, E>
where
    T: Send + 'static,
    E: Send + 'static,
{
    fn default() -> Self {
        TaskGroup::new()
    }
}

impl<T, E> TaskGroup<T, E>
where
    T: Send + 'static,
    E: Send + 'static,
{
    /// An empty group.
    ///
    /// ```
    /// let tg = runtime::TaskGroup::<(), ()>::new();
    /// # drop(tg);
    /// ```
    pub fn new() -> TaskGroup<T, E> {
        TaskGroup {
            handles: Mutex::new(Vec::new()),
            shared: Arc::new(Shared {
                failed: AtomicBool::new(false),
                refs: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Spawns `fut` into the group, on the current runtime (asyncio's
    /// `tg.create_task`). If the group has already failed, the task is cancelled at once.
    ///
    /// # Panics
    /// Outside a runtime, like [`crate::spawn`].
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let v = rt.block_on(async {
    ///     let tg = runtime::TaskGroup::<u8, ()>::new();
    ///     tg.spawn(async { Ok(1) });
    ///     tg.spawn(async { Ok(2) });
    ///     tg.join().await
    /// });
    /// assert_eq!(v.unwrap(), vec![1, 2]);
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, fut: F)
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        let handle = crate::spawn(fut);
        let shared = self.shared.clone();
        handle.add_done_callback(move |out| {
            if !matches!(out, Ok(Ok(_))) && !matches!(out, Err(e) if e.is_cancelled()) {
                shared.fail();
            }
        });
        if let Some(r) = handle.task_ref() {
            if self.shared.failed.load(Ordering::Acquire) {
                r.cancel();
            } else {
                self.shared
                    .refs
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(r);
                // A failure may have happened between the check and the push.
                if self.shared.failed.load(Ordering::Acquire) {
                    handle.cancel();
                }
            }
        }
        self.handles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(handle);
    }

    /// Waits for every task; returns all values in spawn order, or every failure.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let tg = runtime::TaskGroup::<(), ()>::new();
    /// assert_eq!(rt.block_on(tg.join()).unwrap(), vec![]);
    /// ```
    pub async fn join(self) -> Result<Vec<T>, GroupError<E>> {
        let handles = std::mem::take(&mut *self.handles.lock().unwrap_or_else(|e| e.into_inner()));
        // If this future is dropped half-way, the tasks not yet joined are cancelled.
        let mut pending = CancelOnDrop(handles.into());
        let mut values = Vec::new();
        let mut errors = Vec::new();
        let mut cancelled = 0;
        while let Some(h) = pending.0.front_mut() {
            let out = h.await;
            pending.0.pop_front();
            match out {
                Ok(Ok(v)) => values.push(v),
                Ok(Err(e)) => errors.push(TaskFailure::Error(e)),
                Err(e) if e.is_cancelled() => cancelled += 1,
                Err(e) => errors.push(TaskFailure::Panic(e)),
            }
        }
        if errors.is_empty() {
            Ok(values)
        } else {
            Err(GroupError { errors, cancelled })
        }
    }
}

struct CancelOnDrop<T>(std::collections::VecDeque<JoinHandle<T>>);

impl<T> Drop for CancelOnDrop<T> {
    fn drop(&mut self) {
        for h in &self.0 {
            h.cancel();
        }
    }
}

impl<T, E> Drop for TaskGroup<T, E> {
    fn drop(&mut self) {
        let hs = self.handles.get_mut().unwrap_or_else(|e| e.into_inner());
        for h in hs.iter() {
            h.cancel();
        }
    }
}
