//! `TaskGroup`: structured concurrency, as Python 3.11's `asyncio.TaskGroup`.
//!
//! Protocol: the group's children live in `State::children`, one entry per spawn in spawn
//! order. `spawn` reserves its entry under the lock (refusing if the group is shutting
//! down or finished), spawns outside the lock (a done-callback may run at once and take
//! the failure lock), then fills the entry. `join` walks the entries in order, waiting
//! for reserved ones to be filled, and marks the group finished under the same lock when
//! it has passed the last one, so no spawn can slip in after it.

use modes::lock::{Mutex, MutexGuard};
use std::fmt;
use std::future::{poll_fn, Future};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Poll, Waker};

use crate::{JoinError, JoinHandle, TaskId, TaskRef, TaskState};

/// A group of tasks that succeed or fail together.
///
/// - [`spawn`](TaskGroup::spawn) and [`spawn_named`](TaskGroup::spawn_named) return a
///   [`GroupTask`] to inspect or cancel the child; a child can spawn siblings through a
///   [`GroupHandle`] ([`handle`](TaskGroup::handle)), even while the group is joining.
/// - The first task to fail (return `Err` or panic) cancels all its siblings; spawning
///   into a group that is shutting down (it failed) or finished (joined) is an error,
///   [`GroupClosed`] (asyncio's `RuntimeError`).
/// - [`join`](TaskGroup::join) waits for every task and reports either one [`Slot`] per
///   child in spawn order (a value, or that the child was cancelled on its own), or
///   every error (asyncio's `ExceptionGroup`); siblings cancelled because of a failure
///   are not errors.
/// - Nothing outlives the group: dropping it without `join` (for example because the task
///   that owns it was cancelled) cancels every task still running.
///
/// ```
/// use std::time::Duration;
/// use runtime::TaskGroup;
/// let rt = runtime::Runtime::builder().clock(runtime::Clock::Virtual).build().unwrap();
/// let err = rt.block_on(async {
///     let tg = TaskGroup::new();
///     tg.spawn(async { runtime::sleep(Duration::from_secs(1)).await; Err::<u32, _>("db down") })?;
///     tg.spawn(async { runtime::sleep(Duration::from_secs(60)).await; Ok(1) })?; // cancelled
///     Ok::<_, runtime::GroupClosed>(tg.join().await.unwrap_err())
/// }).unwrap();
/// assert_eq!(err.errors().len(), 1);
/// assert_eq!(err.cancelled(), 1);
/// ```
#[doc(alias = "asyncio.TaskGroup")]
pub struct TaskGroup<T, E> {
    group: Arc<Group<T, E>>,
}

/// A cloneable, `Send` handle that spawns into its [`TaskGroup`], so that a child can
/// spawn siblings (asyncio passes `tg` itself around). Spawning through it fails once the
/// group is shutting down or finished.
///
/// ```
/// let rt = runtime::Runtime::builder().build().unwrap();
/// let slots = rt.block_on(async {
///     let tg = runtime::TaskGroup::<u32, ()>::new();
///     let h: runtime::GroupHandle<u32, ()> = tg.handle();
///     tg.spawn(async move {
///         h.spawn(async { Ok(2) }).unwrap(); // a sibling, spawned by a child
///         Ok(1)
///     }).unwrap();
///     tg.join().await.unwrap()
/// });
/// let values: Vec<u32> = slots.into_iter().filter_map(runtime::Slot::value).collect();
/// assert_eq!(values, vec![1, 2]);
/// ```
pub struct GroupHandle<T, E> {
    group: Arc<Group<T, E>>,
}

impl<T, E> Clone for GroupHandle<T, E> {
    fn clone(&self) -> Self {
        GroupHandle {
            group: self.group.clone(),
        }
    }
}

impl<T, E> fmt::Debug for GroupHandle<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupHandle").finish_non_exhaustive()
    }
}

struct Group<T, E> {
    state: Mutex<State<T, E>>,
    failed: AtomicBool,
    /// The children's refs, cancelled by the first failure.
    refs: Mutex<Vec<TaskRef>>,
}

struct State<T, E> {
    children: Vec<Entry<T, E>>,
    finished: bool,
    /// `join`'s waker, while it waits for a reserved entry to be filled.
    joiner: Option<Waker>,
}

enum Entry<T, E> {
    /// `spawn` is between its check and its push.
    Reserved,
    Spawned(JoinHandle<Result<T, E>>),
    /// `join` took it.
    Taken,
}

impl<T, E> Group<T, E> {
    fn lock(&self) -> MutexGuard<'_, State<T, E>> {
        self.state.lock()
    }

    fn fail(&self) {
        if !self.failed.swap(true, Ordering::AcqRel) {
            let refs = std::mem::take(&mut *self.refs.lock());
            for r in refs {
                r.cancel();
            }
        }
    }

    /// Cancels every child `join` has not taken, and refuses further spawns.
    fn close(&self) {
        let mut st = self.lock();
        st.finished = true;
        for e in &st.children {
            if let Entry::Spawned(h) = e {
                h.cancel();
            }
        }
    }
}

/// Why a spawn into a [`TaskGroup`] was refused (asyncio raises `RuntimeError`).
///
/// ```
/// let rt = runtime::Runtime::builder().build().unwrap();
/// rt.block_on(async {
///     let tg = runtime::TaskGroup::<(), ()>::new();
///     let h = tg.handle();
///     tg.join().await.unwrap();
///     let err = h.spawn(async { Ok(()) }).unwrap_err();
///     assert_eq!(err, runtime::GroupClosed::Finished);
///     assert_eq!(err.to_string(), "the task group has finished");
/// });
/// ```
#[doc(alias = "RuntimeError")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupClosed {
    /// A child failed: the group is cancelling the others.
    ShuttingDown,
    /// The group was joined or dropped.
    Finished,
}

impl fmt::Display for GroupClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GroupClosed::ShuttingDown => "the task group is shutting down",
            GroupClosed::Finished => "the task group has finished",
        })
    }
}

impl std::error::Error for GroupClosed {}

/// One child's slot in what [`TaskGroup::join`] returns.
///
/// ```
/// let rt = runtime::Runtime::builder().build().unwrap();
/// let slots = rt.block_on(async {
///     let tg = runtime::TaskGroup::<u8, ()>::new();
///     tg.spawn(async { Ok(1) }).unwrap();
///     let t = tg.spawn(std::future::pending()).unwrap();
///     t.cancel(); // cancelled on its own: not a failure
///     tg.join().await.unwrap()
/// });
/// assert_eq!(slots, vec![runtime::Slot::Value(1), runtime::Slot::Cancelled]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Slot<T> {
    /// The child returned `Ok(value)`.
    Value(T),
    /// The child was cancelled (not by a failure of the group).
    Cancelled,
}

impl<T> Slot<T> {
    /// The value, `None` for a cancelled child.
    ///
    /// ```
    /// assert_eq!(runtime::Slot::Value(3).value(), Some(3));
    /// assert_eq!(runtime::Slot::<u8>::Cancelled.value(), None);
    /// ```
    pub fn value(self) -> Option<T> {
        match self {
            Slot::Value(v) => Some(v),
            Slot::Cancelled => None,
        }
    }
}

/// A child of a [`TaskGroup`], as [`spawn`](TaskGroup::spawn) returns it (asyncio's
/// `create_task` result): its id, name and state, and `cancel`. Its outcome goes to
/// [`join`](TaskGroup::join).
///
/// ```
/// let rt = runtime::Runtime::builder().build().unwrap();
/// rt.block_on(async {
///     let tg = runtime::TaskGroup::<(), ()>::new();
///     let t: runtime::GroupTask = tg.spawn_named("poller", std::future::pending()).unwrap();
///     assert_eq!(t.name(), Some("poller"));
///     assert!(t.cancel());
///     tg.join().await.unwrap();
///     assert_eq!(t.state(), runtime::TaskState::Done);
/// });
/// ```
#[derive(Clone, Debug)]
pub struct GroupTask {
    id: TaskId,
    name: Option<String>,
    /// `None` if the task had already finished when spawn asked for it.
    task: Option<TaskRef>,
}

impl GroupTask {
    /// The task's id.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// rt.block_on(async {
    ///     let tg = runtime::TaskGroup::<(), ()>::new();
    ///     let a = tg.spawn(async { Ok(()) }).unwrap();
    ///     let b = tg.spawn(async { Ok(()) }).unwrap();
    ///     assert!(a.id() < b.id());
    ///     tg.join().await.unwrap();
    /// });
    /// ```
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The name given at spawn, if any.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// rt.block_on(async {
    ///     let tg = runtime::TaskGroup::<(), ()>::new();
    ///     assert_eq!(tg.spawn(async { Ok(()) }).unwrap().name(), None);
    ///     tg.join().await.unwrap();
    /// });
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// What the task is doing now.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// rt.block_on(async {
    ///     let tg = runtime::TaskGroup::<(), ()>::new();
    ///     let t = tg.spawn(async { Ok(()) }).unwrap();
    ///     tg.join().await.unwrap();
    ///     assert_eq!(t.state(), runtime::TaskState::Done);
    /// });
    /// ```
    pub fn state(&self) -> TaskState {
        self.task.as_ref().map_or(TaskState::Done, TaskRef::state)
    }

    /// Requests the child's cancellation; `true` while it has not finished (see
    /// [`JoinHandle::cancel`]). A child cancelled this way is not a failure of the group:
    /// its [`Slot`] says `Cancelled`.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// rt.block_on(async {
    ///     let tg = runtime::TaskGroup::<(), ()>::new();
    ///     let t = tg.spawn(std::future::pending()).unwrap();
    ///     assert!(t.cancel());
    ///     assert_eq!(tg.join().await.unwrap(), vec![runtime::Slot::Cancelled]);
    ///     assert!(!t.cancel()); // finished
    /// });
    /// ```
    pub fn cancel(&self) -> bool {
        self.task.as_ref().is_some_and(TaskRef::cancel)
    }
}

/// One failure inside a [`TaskGroup`].
///
/// ```
/// use runtime::TaskFailure;
/// let rt = runtime::Runtime::builder().build().unwrap();
/// let err = rt.block_on(async {
///     let tg = runtime::TaskGroup::<u8, String>::new();
///     tg.spawn(async { panic!("oops") }).unwrap();
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
///     tg.spawn(async { runtime::sleep(Duration::from_secs(1)).await; Err("db down".into()) }).unwrap();
///     tg.spawn(async { runtime::sleep(Duration::from_secs(9)).await; Ok(()) }).unwrap();
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
    ///     tg.spawn(async { Err("x") }).unwrap();
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
    ///     tg.spawn(async { Err("x") }).unwrap();
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
    ///     tg.spawn(async { Err("x") }).unwrap();
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
            group: Arc::new(Group {
                state: Mutex::new(State {
                    children: Vec::new(),
                    finished: false,
                    joiner: None,
                }),
                failed: AtomicBool::new(false),
                refs: Mutex::new(Vec::new()),
            }),
        }
    }

    /// A cloneable handle that spawns into this group (see [`GroupHandle`]).
    ///
    /// ```
    /// let tg = runtime::TaskGroup::<(), ()>::new();
    /// let h = tg.handle();
    /// let _another = h.clone();
    /// ```
    pub fn handle(&self) -> GroupHandle<T, E> {
        GroupHandle {
            group: self.group.clone(),
        }
    }

    /// Spawns `fut` into the group, on the current runtime (asyncio's
    /// `tg.create_task`). Refused with [`GroupClosed`] if the group is shutting down
    /// after a failure, or finished.
    ///
    /// # Panics
    /// Outside a runtime, like [`crate::spawn`].
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let v = rt.block_on(async {
    ///     let tg = runtime::TaskGroup::<u8, ()>::new();
    ///     tg.spawn(async { Ok(1) }).unwrap();
    ///     tg.spawn(async { Ok(2) }).unwrap();
    ///     tg.join().await
    /// });
    /// assert_eq!(v.unwrap(), vec![runtime::Slot::Value(1), runtime::Slot::Value(2)]);
    /// ```
    #[doc(alias = "create_task")]
    #[track_caller]
    pub fn spawn<F>(&self, fut: F) -> Result<GroupTask, GroupClosed>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        spawn_into(&self.group, None, fut)
    }

    /// Spawns a named task into the group (asyncio's `tg.create_task(coro, name=...)`).
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// rt.block_on(async {
    ///     let tg = runtime::TaskGroup::<(), ()>::new();
    ///     let t = tg.spawn_named("fetch-1", async { Ok(()) }).unwrap();
    ///     assert_eq!(t.name(), Some("fetch-1"));
    ///     tg.join().await.unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn spawn_named<F>(&self, name: &str, fut: F) -> Result<GroupTask, GroupClosed>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        spawn_into(&self.group, Some(name), fut)
    }

    /// Waits for every task, including those children spawn meanwhile; returns one
    /// [`Slot`] per child in spawn order, or every failure. Afterwards the group is
    /// finished: spawning into it is refused.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let tg = runtime::TaskGroup::<(), ()>::new();
    /// assert_eq!(rt.block_on(tg.join()).unwrap(), vec![]);
    /// ```
    pub async fn join(self) -> Result<Vec<Slot<T>>, GroupError<E>> {
        let group = self.group.clone();
        let mut slots = Vec::new();
        let mut errors = Vec::new();
        let mut cancelled = 0;
        let mut next = 0;
        loop {
            let h = poll_fn(|cx| {
                let mut st = group.lock();
                match st.children.get_mut(next) {
                    None => {
                        st.finished = true;
                        Poll::Ready(None)
                    }
                    Some(Entry::Reserved) => {
                        st.joiner = Some(cx.waker().clone());
                        Poll::Pending
                    }
                    Some(e) => match std::mem::replace(e, Entry::Taken) {
                        Entry::Spawned(h) => Poll::Ready(Some(h)),
                        _ => unreachable!("join takes each entry once"),
                    },
                }
            })
            .await;
            let Some(h) = h else { break };
            next += 1;
            // If this future is dropped while awaiting `h`, the task is cancelled (and
            // the group's Drop cancels the rest).
            let mut h = CancelOnDrop(Some(h));
            let out = h.0.as_mut().expect("set above").await;
            h.0 = None;
            match out {
                Ok(Ok(v)) => slots.push(Slot::Value(v)),
                Ok(Err(e)) => errors.push(TaskFailure::Error(e)),
                Err(e) if e.is_cancelled() => {
                    cancelled += 1;
                    slots.push(Slot::Cancelled);
                }
                Err(e) => errors.push(TaskFailure::Panic(e)),
            }
        }
        if errors.is_empty() {
            Ok(slots)
        } else {
            // Only siblings cancelled because of the failure count here, as in asyncio.
            Err(GroupError { errors, cancelled })
        }
    }
}

impl<T, E> GroupHandle<T, E>
where
    T: Send + 'static,
    E: Send + 'static,
{
    /// Spawns into the group; see [`TaskGroup::spawn`].
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// rt.block_on(async {
    ///     let tg = runtime::TaskGroup::<u8, ()>::new();
    ///     let h = tg.handle();
    ///     h.spawn(async { Ok(5) }).unwrap();
    ///     assert_eq!(tg.join().await.unwrap(), vec![runtime::Slot::Value(5)]);
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, fut: F) -> Result<GroupTask, GroupClosed>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        spawn_into(&self.group, None, fut)
    }

    /// Spawns a named task into the group; see [`TaskGroup::spawn_named`].
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// rt.block_on(async {
    ///     let tg = runtime::TaskGroup::<(), ()>::new();
    ///     let t = tg.handle().spawn_named("child", async { Ok(()) }).unwrap();
    ///     assert_eq!(t.name(), Some("child"));
    ///     tg.join().await.unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn spawn_named<F>(&self, name: &str, fut: F) -> Result<GroupTask, GroupClosed>
    where
        F: Future<Output = Result<T, E>> + Send + 'static,
    {
        spawn_into(&self.group, Some(name), fut)
    }
}

#[track_caller]
fn spawn_into<T, E, F>(
    group: &Arc<Group<T, E>>,
    name: Option<&str>,
    fut: F,
) -> Result<GroupTask, GroupClosed>
where
    T: Send + 'static,
    E: Send + 'static,
    F: Future<Output = Result<T, E>> + Send + 'static,
{
    let idx = {
        let mut st = group.lock();
        if st.finished {
            return Err(GroupClosed::Finished);
        }
        if group.failed.load(Ordering::Acquire) {
            return Err(GroupClosed::ShuttingDown);
        }
        st.children.push(Entry::Reserved);
        st.children.len() - 1
    };
    let handle = match name {
        Some(n) => crate::spawn_named(n, fut),
        None => crate::spawn(fut),
    };
    let g = group.clone();
    handle.add_done_callback(move |out| {
        if !matches!(out, Ok(Ok(_))) && !matches!(out, Err(e) if e.is_cancelled()) {
            g.fail();
        }
    });
    let task = handle.task_ref();
    if let Some(r) = &task {
        group.refs.lock().push(r.clone());
        // A failure may have happened since the check: this child is cancelled with the
        // others.
        if group.failed.load(Ordering::Acquire) {
            r.cancel();
        }
    }
    let out = GroupTask {
        id: handle.id(),
        name: name.map(str::to_string),
        task,
    };
    let joiner = {
        let mut st = group.lock();
        if st.finished {
            // Dropped meanwhile: nothing will join it.
            handle.cancel();
        }
        st.children[idx] = Entry::Spawned(handle);
        st.joiner.take()
    };
    if let Some(w) = joiner {
        w.wake();
    }
    Ok(out)
}

struct CancelOnDrop<T>(Option<JoinHandle<T>>);

impl<T> Drop for CancelOnDrop<T> {
    fn drop(&mut self) {
        if let Some(h) = &self.0 {
            h.cancel();
        }
    }
}

impl<T, E> Drop for TaskGroup<T, E> {
    fn drop(&mut self) {
        self.group.close();
    }
}

impl<T, E> fmt::Debug for TaskGroup<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.group.lock();
        f.debug_struct("TaskGroup")
            .field("children", &st.children.len())
            .field("failed", &self.group.failed.load(Ordering::Relaxed))
            .field("finished", &st.finished)
            .finish()
    }
}
