//! `Queue`: asyncio's `Queue`, generic over the order items come out in (FIFO here;
//! [`LifoQueue`](super::LifoQueue) and [`PriorityQueue`](super::PriorityQueue) are the
//! same queue with another [`Store`]).
//!
//! Protocol: one mutex holds the items, the counters and three FIFO [`WaitList`]s
//! (getters, putters, joiners). A getter or putter that finds nothing to do queues
//! itself and, when notified, looks again (as asyncio's do). The item stays in the queue
//! until a getter takes it, so a getter cancelled after being notified loses nothing; it
//! passes the notification on to the next getter if items are left (putters likewise if
//! room is left).

use modes::lock::{Mutex, MutexGuard};
use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::task::{Context, Poll};

use super::waiters::{wake_all, WaitList};

/// How a queue keeps its items: which one comes out next.
///
/// ```
/// use runtime::sync::Store;
/// let mut s = runtime::sync::Fifo::default();
/// s.push(1);
/// s.push(2);
/// assert_eq!((s.pop(), s.len()), (Some(1), 1));
/// ```
pub trait Store<T>: Default {
    /// Adds an item.
    fn push(&mut self, item: T);
    /// Takes the next item out.
    fn pop(&mut self) -> Option<T>;
    /// How many items are kept.
    fn len(&self) -> usize;
    /// `true` if no item is kept.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// First in, first out: [`Queue`]'s order.
///
/// ```
/// use runtime::sync::Store;
/// let mut s = runtime::sync::Fifo::default();
/// s.push('a');
/// assert_eq!(s.pop(), Some('a'));
/// ```
#[derive(Debug)]
pub struct Fifo<T>(VecDeque<T>);

impl<T> Default for Fifo<T> {
    fn default() -> Self {
        Fifo(VecDeque::new())
    }
}

impl<T> Store<T> for Fifo<T> {
    fn push(&mut self, item: T) {
        self.0.push_back(item)
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop_front()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

/// A FIFO queue for tasks (asyncio's `Queue`), bounded by `maxsize` (0: unbounded).
///
/// - [`put`](Queue::put) waits while the queue is full, [`get`](Queue::get) while it is
///   empty; both FIFO among waiters. [`put_nowait`](Queue::put_nowait) and
///   [`get_nowait`](Queue::get_nowait) fail instead (`QueueFull`, `QueueEmpty`).
/// - [`task_done`](Queue::task_done) and [`join`](Queue::join) count unfinished items.
/// - [`shutdown`](Queue::shutdown) (asyncio 3.13): puts fail from then on; gets drain
///   what is left, then fail (at once with `immediate`).
///
/// ```
/// use std::sync::Arc;
/// let rt = runtime::Runtime::builder().build().unwrap();
/// let q = Arc::new(runtime::sync::Queue::new(2));
/// let total = rt.block_on(async {
///     let consumer = {
///         let q = q.clone();
///         runtime::spawn(async move {
///             let mut sum = 0;
///             while let Ok(v) = q.get().await {
///                 sum += v;
///                 q.task_done().unwrap();
///             }
///             sum
///         })
///     };
///     for i in 1..=10 {
///         q.put(i).await.unwrap(); // waits while two items are queued
///     }
///     q.join().await; // every item was processed
///     q.shutdown(false);
///     consumer.await.unwrap()
/// });
/// assert_eq!(total, 55);
/// ```
#[doc(alias = "asyncio.Queue")]
pub struct Queue<T, S: Store<T> = Fifo<T>> {
    maxsize: usize,
    state: Mutex<State<T, S>>,
}

struct State<T, S> {
    items: S,
    unfinished: usize,
    shutdown: bool,
    getters: WaitList,
    putters: WaitList,
    joiners: WaitList,
    _item: std::marker::PhantomData<fn(T) -> T>,
}

/// The queue was shut down (asyncio's `QueueShutDown`); a refused `put` gives the item
/// back.
///
/// ```
/// let q = runtime::sync::Queue::new(0);
/// q.shutdown(false);
/// let rt = runtime::Runtime::builder().build().unwrap();
/// assert_eq!(rt.block_on(q.put(5)), Err(runtime::sync::QueueShutDown(5)));
/// ```
#[doc(alias = "asyncio.QueueShutDown")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueShutDown<T = ()>(pub T);

impl<T> fmt::Display for QueueShutDown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the queue was shut down")
    }
}

impl<T: fmt::Debug> std::error::Error for QueueShutDown<T> {}

/// Why [`Queue::put_nowait`] refused an item (it gives the item back).
///
/// ```
/// let q = runtime::sync::Queue::new(1);
/// q.put_nowait(1).unwrap();
/// assert_eq!(q.put_nowait(2), Err(runtime::sync::TryPutError::QueueFull(2)));
/// ```
#[doc(alias = "QueueFull")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryPutError<T> {
    /// The queue holds `maxsize` items (asyncio's `QueueFull`).
    #[doc(alias = "asyncio.QueueFull")]
    QueueFull(T),
    /// The queue was shut down (asyncio's `QueueShutDown`).
    QueueShutDown(T),
}

impl<T> fmt::Display for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryPutError::QueueFull(_) => "the queue is full",
            TryPutError::QueueShutDown(_) => "the queue was shut down",
        })
    }
}

impl<T: fmt::Debug> std::error::Error for TryPutError<T> {}

/// Why [`Queue::get_nowait`] returned no item.
///
/// ```
/// let q = runtime::sync::Queue::<u8>::new(0);
/// assert_eq!(q.get_nowait(), Err(runtime::sync::TryGetError::QueueEmpty));
/// ```
#[doc(alias = "QueueEmpty")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryGetError {
    /// No item is queued (asyncio's `QueueEmpty`).
    #[doc(alias = "asyncio.QueueEmpty")]
    QueueEmpty,
    /// The queue was shut down and no item is left (asyncio's `QueueShutDown`).
    QueueShutDown,
}

impl fmt::Display for TryGetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryGetError::QueueEmpty => "the queue is empty",
            TryGetError::QueueShutDown => "the queue was shut down",
        })
    }
}

impl std::error::Error for TryGetError {}

/// [`Queue::task_done`] was called more times than items were put (asyncio's
/// `ValueError: task_done() called too many times`).
///
/// ```
/// let q = runtime::sync::Queue::<u8>::new(0);
/// assert_eq!(q.task_done(), Err(runtime::sync::TaskDoneTooOften));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskDoneTooOften;

impl fmt::Display for TaskDoneTooOften {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called too many times")
    }
}

impl std::error::Error for TaskDoneTooOften {}

/// Which list a waiter is in.
#[derive(Clone, Copy)]
enum Role {
    Getter,
    Putter,
    Joiner,
}

/// Our place in one of the queue's lists; leaving it notified passes the notification
/// on if there is still something for the next waiter.
struct Place<'a, T, S: Store<T>> {
    queue: &'a Queue<T, S>,
    role: Role,
    key: Option<usize>,
    /// Notified at least once: ahead of newcomers from then on.
    notified: bool,
}

impl<T, S: Store<T>> Place<'_, T, S> {
    /// Queues us (first call) or checks for our notification. `true` once notified.
    fn wait(&mut self, st: &mut State<T, S>, cx: &Context<'_>) -> bool {
        let list = st.list(self.role);
        match self.key {
            None => {
                self.key = Some(list.push(cx.waker()));
                false
            }
            Some(key) => {
                if list.notified(key).is_some() {
                    list.remove(key);
                    self.key = None;
                    self.notified = true;
                    true
                } else {
                    list.update(key, cx.waker());
                    false
                }
            }
        }
    }
}

impl<T, S: Store<T>> Drop for Place<'_, T, S> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let mut st = self.queue.lock();
        let notified = st.list(self.role).remove(key).is_some();
        if notified {
            let pass = match self.role {
                Role::Getter if !st.items.is_empty() || st.shutdown => st.getters.notify_one(0),
                Role::Putter if !self.queue.full_in(&st) || st.shutdown => st.putters.notify_one(0),
                _ => None,
            };
            drop(st);
            wake_all(pass);
        }
    }
}

impl<T, S> State<T, S> {
    fn list(&mut self, role: Role) -> &mut WaitList {
        match role {
            Role::Getter => &mut self.getters,
            Role::Putter => &mut self.putters,
            Role::Joiner => &mut self.joiners,
        }
    }
}

impl<T> Queue<T> {
    /// An empty FIFO queue holding at most `maxsize` items; 0 means no bound (asyncio's
    /// `Queue(maxsize=0)`).
    ///
    /// ```
    /// let q = runtime::sync::Queue::<u8>::new(3);
    /// assert_eq!(q.maxsize(), 3);
    /// ```
    pub fn new(maxsize: usize) -> Queue<T> {
        Queue::with_store(maxsize)
    }
}

impl<T, S: Store<T>> Queue<T, S> {
    /// An empty queue with store `S` (how [`LifoQueue`](super::LifoQueue) and
    /// [`PriorityQueue`](super::PriorityQueue) are made).
    ///
    /// ```
    /// use runtime::sync::{Fifo, Queue};
    /// let q: Queue<u8, Fifo<u8>> = Queue::with_store(0);
    /// assert!(q.empty());
    /// ```
    pub fn with_store(maxsize: usize) -> Queue<T, S> {
        Queue {
            maxsize,
            state: Mutex::new(State {
                items: S::default(),
                unfinished: 0,
                shutdown: false,
                getters: WaitList::default(),
                putters: WaitList::default(),
                joiners: WaitList::default(),
                _item: std::marker::PhantomData,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T, S>> {
        self.state.lock()
    }

    fn full_in(&self, st: &State<T, S>) -> bool {
        self.maxsize > 0 && st.items.len() >= self.maxsize
    }

    /// Adds under the lock; the getter to wake.
    fn push_locked(&self, st: &mut State<T, S>, item: T) -> Option<std::task::Waker> {
        st.items.push(item);
        st.unfinished += 1;
        st.getters.notify_one(0)
    }

    /// Takes under the lock; the putter to wake.
    fn pop_locked(&self, st: &mut State<T, S>) -> Option<(T, Option<std::task::Waker>)> {
        let item = st.items.pop()?;
        Some((item, st.putters.notify_one(0)))
    }

    /// Puts `item`, waiting while the queue is full (asyncio's `await q.put(item)`).
    /// After [`shutdown`](Queue::shutdown) the item is given back in the error.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let q = runtime::sync::Queue::new(1);
    /// rt.block_on(async {
    ///     q.put("a").await.unwrap();
    ///     assert!(q.full());
    /// });
    /// ```
    pub async fn put(&self, item: T) -> Result<(), QueueShutDown<T>> {
        let mut place = Place {
            queue: self,
            role: Role::Putter,
            key: None,
            notified: false,
        };
        let mut item = Some(item);
        poll_fn(|cx| {
            let mut st = self.lock();
            loop {
                if st.shutdown {
                    return Poll::Ready(Err(QueueShutDown(item.take().expect("kept until put"))));
                }
                // FIFO: a newcomer does not overtake putters already waiting.
                if !self.full_in(&st) && (place.notified || st.putters.queued() == 0) {
                    let w = self.push_locked(&mut st, item.take().expect("kept until put"));
                    drop(st);
                    wake_all(w);
                    return Poll::Ready(Ok(()));
                }
                if !place.wait(&mut st, cx) {
                    return Poll::Pending;
                }
            }
        })
        .await
    }

    /// Puts `item` if there is room now (asyncio's `put_nowait`).
    ///
    /// ```
    /// let q = runtime::sync::Queue::new(0);
    /// q.put_nowait(1).unwrap();
    /// assert_eq!(q.qsize(), 1);
    /// ```
    pub fn put_nowait(&self, item: T) -> Result<(), TryPutError<T>> {
        let mut st = self.lock();
        if st.shutdown {
            return Err(TryPutError::QueueShutDown(item));
        }
        if self.full_in(&st) {
            return Err(TryPutError::QueueFull(item));
        }
        let w = self.push_locked(&mut st, item);
        drop(st);
        wake_all(w);
        Ok(())
    }

    /// Takes the next item, waiting while the queue is empty (asyncio's `await q.get()`).
    /// After [`shutdown`](Queue::shutdown), once no item is left, an error.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let q = runtime::sync::Queue::new(0);
    /// q.put_nowait(4).unwrap();
    /// assert_eq!(rt.block_on(q.get()), Ok(4));
    /// ```
    pub async fn get(&self) -> Result<T, QueueShutDown> {
        let mut place = Place {
            queue: self,
            role: Role::Getter,
            key: None,
            notified: false,
        };
        poll_fn(|cx| {
            let mut st = self.lock();
            loop {
                // FIFO: a newcomer does not overtake getters already waiting.
                let first = place.notified || st.getters.queued() == 0;
                if let Some((item, w)) = first.then(|| self.pop_locked(&mut st)).flatten() {
                    drop(st);
                    wake_all(w);
                    return Poll::Ready(Ok(item));
                }
                if st.shutdown {
                    return Poll::Ready(Err(QueueShutDown(())));
                }
                if !place.wait(&mut st, cx) {
                    return Poll::Pending;
                }
            }
        })
        .await
    }

    /// Takes the next item if there is one now (asyncio's `get_nowait`).
    ///
    /// ```
    /// let q = runtime::sync::Queue::new(0);
    /// q.put_nowait('x').unwrap();
    /// assert_eq!(q.get_nowait(), Ok('x'));
    /// assert_eq!(q.get_nowait(), Err(runtime::sync::TryGetError::QueueEmpty));
    /// ```
    pub fn get_nowait(&self) -> Result<T, TryGetError> {
        let mut st = self.lock();
        match self.pop_locked(&mut st) {
            Some((item, w)) => {
                drop(st);
                wake_all(w);
                Ok(item)
            }
            None if st.shutdown => Err(TryGetError::QueueShutDown),
            None => Err(TryGetError::QueueEmpty),
        }
    }

    /// Marks one item taken with `get` as processed (asyncio's `task_done()`); when none
    /// is left unfinished, [`join`](Queue::join) returns.
    ///
    /// ```
    /// let q = runtime::sync::Queue::new(0);
    /// q.put_nowait(1).unwrap();
    /// q.get_nowait().unwrap();
    /// assert!(q.task_done().is_ok());
    /// assert!(q.task_done().is_err()); // one put, one task_done
    /// ```
    pub fn task_done(&self) -> Result<(), TaskDoneTooOften> {
        let mut st = self.lock();
        if st.unfinished == 0 {
            return Err(TaskDoneTooOften);
        }
        st.unfinished -= 1;
        let wakers = if st.unfinished == 0 {
            st.joiners.notify_all(0)
        } else {
            Vec::new()
        };
        drop(st);
        wake_all(wakers);
        Ok(())
    }

    /// Waits until every item put has been marked done (asyncio's `await q.join()`).
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let q = runtime::sync::Queue::<u8>::new(0);
    /// rt.block_on(q.join()); // nothing unfinished
    /// ```
    pub async fn join(&self) {
        let mut place = Place {
            queue: self,
            role: Role::Joiner,
            key: None,
            notified: false,
        };
        poll_fn(|cx| {
            let mut st = self.lock();
            loop {
                if st.unfinished == 0 {
                    if place.key.is_some() {
                        leave_list(&mut st, &mut place);
                    }
                    return Poll::Ready(());
                }
                if !place.wait(&mut st, cx) {
                    return Poll::Pending;
                }
            }
        })
        .await
    }

    /// Shuts the queue down (asyncio 3.13's `shutdown(immediate)`): `put` fails from now
    /// on, and so does `get` once the queue is empty. With `immediate`, the items left
    /// are dropped now (each counting as done) so gets fail at once. Every waiter wakes.
    ///
    /// ```
    /// let q = runtime::sync::Queue::new(0);
    /// q.put_nowait(1).unwrap();
    /// q.shutdown(false);
    /// assert_eq!(q.get_nowait(), Ok(1)); // what was queued still comes out
    /// assert_eq!(q.get_nowait(), Err(runtime::sync::TryGetError::QueueShutDown));
    /// ```
    pub fn shutdown(&self, immediate: bool) {
        let mut dropped = Vec::new();
        let wakers = {
            let mut st = self.lock();
            st.shutdown = true;
            if immediate {
                while let Some(item) = st.items.pop() {
                    dropped.push(item);
                    st.unfinished = st.unfinished.saturating_sub(1);
                }
            }
            let mut w = st.getters.notify_all(0);
            w.extend(st.putters.notify_all(0));
            if st.unfinished == 0 {
                w.extend(st.joiners.notify_all(0));
            }
            w
        };
        wake_all(wakers);
        drop(dropped); // outside the lock: an item's Drop may use the queue
    }

    /// Items queued now (asyncio's `qsize()`).
    ///
    /// ```
    /// let q = runtime::sync::Queue::new(0);
    /// q.put_nowait(()).unwrap();
    /// assert_eq!(q.qsize(), 1);
    /// ```
    pub fn qsize(&self) -> usize {
        self.lock().items.len()
    }

    /// `true` if no item is queued (asyncio's `empty()`).
    ///
    /// ```
    /// assert!(runtime::sync::Queue::<u8>::new(0).empty());
    /// ```
    pub fn empty(&self) -> bool {
        self.lock().items.is_empty()
    }

    /// `true` if the queue holds `maxsize` items (asyncio's `full()`); never for an
    /// unbounded queue.
    ///
    /// ```
    /// let q = runtime::sync::Queue::new(1);
    /// q.put_nowait(0).unwrap();
    /// assert!(q.full());
    /// ```
    pub fn full(&self) -> bool {
        self.full_in(&self.lock())
    }

    /// The bound given at creation; 0 for none (asyncio's `maxsize`).
    ///
    /// ```
    /// assert_eq!(runtime::sync::Queue::<u8>::new(0).maxsize(), 0);
    /// ```
    pub fn maxsize(&self) -> usize {
        self.maxsize
    }
}

/// A waiter that found its condition met on its own while still queued (it was not
/// notified): it leaves the list without passing anything on.
fn leave_list<T, S: Store<T>>(st: &mut State<T, S>, place: &mut Place<'_, T, S>) {
    if let Some(key) = place.key.take() {
        let _ = st.list(place.role).remove(key);
    }
}

impl<T, S: Store<T>> fmt::Debug for Queue<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("Queue")
            .field("maxsize", &self.maxsize)
            .field("qsize", &st.items.len())
            .field("unfinished", &st.unfinished)
            .field("shutdown", &st.shutdown)
            .finish()
    }
}
