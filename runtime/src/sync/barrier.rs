//! `Barrier`: asyncio's `Barrier` (3.11), on the FIFO [`WaitList`].

use modes::lock::{Mutex, MutexGuard};
use std::fmt;
use std::future::poll_fn;
use std::task::Poll;

use super::waiters::{wake_all, WaitList};

const PASSED: u8 = 0;
const BROKEN: u8 = 1;

/// Lets `parties` tasks wait for each other (asyncio's `Barrier`): each
/// [`wait`](Barrier::wait) returns once `parties` tasks are waiting, with its arrival
/// index (0 for the first, `parties - 1` for the last), and the barrier is ready for the
/// next round. [`abort`](Barrier::abort) breaks it, [`reset`](Barrier::reset) returns it
/// to empty; waiters then get [`BrokenBarrier`].
///
/// A waiter cancelled before the barrier passes leaves it: the count goes down, as in
/// asyncio. Unlike asyncio, tasks arriving while the previous round's waiters are still
/// leaving start the next round at once (asyncio makes them wait for the "draining").
///
/// ```
/// use std::sync::Arc;
/// let rt = runtime::Runtime::builder().build().unwrap();
/// let barrier = Arc::new(runtime::sync::Barrier::new(3).unwrap());
/// let mut indices = rt.block_on(async {
///     let tasks: Vec<_> = (0..3).map(|_| {
///         let b = barrier.clone();
///         runtime::spawn(async move { b.wait().await.unwrap() })
///     }).collect();
///     let mut out = vec![];
///     for t in tasks { out.push(t.await.unwrap()); }
///     out
/// });
/// indices.sort();
/// assert_eq!(indices, vec![0, 1, 2]);
/// ```
#[doc(alias = "asyncio.Barrier")]
pub struct Barrier {
    parties: usize,
    state: Mutex<State>,
}

struct State {
    count: usize,
    broken: bool,
    waiters: WaitList,
}

/// The barrier was aborted or reset while a task waited, or is broken (asyncio's
/// `BrokenBarrierError`).
///
/// ```
/// let rt = runtime::Runtime::builder().build().unwrap();
/// let b = runtime::sync::Barrier::new(2).unwrap();
/// b.abort();
/// assert_eq!(rt.block_on(b.wait()), Err(runtime::sync::BrokenBarrier));
/// ```
#[doc(alias = "BrokenBarrierError")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BrokenBarrier;

impl fmt::Display for BrokenBarrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the barrier is broken")
    }
}

impl std::error::Error for BrokenBarrier {}

/// A barrier needs at least one party (asyncio raises `ValueError`).
///
/// ```
/// assert_eq!(runtime::sync::Barrier::new(0).unwrap_err(), runtime::sync::ZeroParties);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZeroParties;

impl fmt::Display for ZeroParties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a barrier needs at least one party")
    }
}

impl std::error::Error for ZeroParties {}

/// Our place in the barrier's queue; leaving it before the barrier passed takes our
/// arrival back.
struct Arrival<'a> {
    barrier: &'a Barrier,
    key: Option<usize>,
}

impl Drop for Arrival<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut st = self.barrier.lock();
            if st.waiters.remove(key).is_none() {
                st.count -= 1;
            }
        }
    }
}

impl Barrier {
    /// A barrier for `parties` tasks.
    ///
    /// ```
    /// let b = runtime::sync::Barrier::new(4).unwrap();
    /// assert_eq!(b.parties(), 4);
    /// ```
    pub fn new(parties: usize) -> Result<Barrier, ZeroParties> {
        if parties == 0 {
            return Err(ZeroParties);
        }
        Ok(Barrier {
            parties,
            state: Mutex::new(State {
                count: 0,
                broken: false,
                waiters: WaitList::default(),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    /// Waits until `parties` tasks wait; returns this task's arrival index (asyncio's
    /// `await barrier.wait()`).
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let b = runtime::sync::Barrier::new(1).unwrap();
    /// assert_eq!(rt.block_on(b.wait()), Ok(0)); // one party: passes at once
    /// ```
    pub async fn wait(&self) -> Result<usize, BrokenBarrier> {
        let mut arrival = Arrival {
            barrier: self,
            key: None,
        };
        let mut index = None;
        poll_fn(|cx| {
            let mut st = self.lock();
            match (index, arrival.key) {
                (None, _) => {
                    if st.broken {
                        return Poll::Ready(Err(BrokenBarrier));
                    }
                    let i = st.count;
                    st.count += 1;
                    index = Some(i);
                    if st.count == self.parties {
                        st.count = 0;
                        let wakers = st.waiters.notify_all(PASSED);
                        drop(st);
                        wake_all(wakers);
                        return Poll::Ready(Ok(i));
                    }
                    arrival.key = Some(st.waiters.push(cx.waker()));
                    Poll::Pending
                }
                (Some(i), Some(key)) => match st.waiters.notified(key) {
                    Some(tag) => {
                        st.waiters.remove(key);
                        arrival.key = None;
                        Poll::Ready(if tag == PASSED {
                            Ok(i)
                        } else {
                            Err(BrokenBarrier)
                        })
                    }
                    None => {
                        st.waiters.update(key, cx.waker());
                        Poll::Pending
                    }
                },
                (Some(_), None) => unreachable!("a finished wait is not polled again"),
            }
        })
        .await
    }

    /// Breaks the barrier: waiters and later `wait`s get [`BrokenBarrier`] (asyncio's
    /// `abort()`).
    ///
    /// ```
    /// let b = runtime::sync::Barrier::new(2).unwrap();
    /// b.abort();
    /// assert!(b.broken());
    /// ```
    pub fn abort(&self) {
        let wakers = {
            let mut st = self.lock();
            st.broken = true;
            st.count = 0;
            st.waiters.notify_all(BROKEN)
        };
        wake_all(wakers);
    }

    /// Empties the barrier and mends it; tasks waiting get [`BrokenBarrier`] (asyncio's
    /// `reset()`).
    ///
    /// ```
    /// let b = runtime::sync::Barrier::new(2).unwrap();
    /// b.abort();
    /// b.reset();
    /// assert!(!b.broken());
    /// ```
    pub fn reset(&self) {
        let wakers = {
            let mut st = self.lock();
            st.broken = false;
            st.count = 0;
            st.waiters.notify_all(BROKEN)
        };
        wake_all(wakers);
    }

    /// How many tasks a round needs (asyncio's `parties`).
    ///
    /// ```
    /// assert_eq!(runtime::sync::Barrier::new(2).unwrap().parties(), 2);
    /// ```
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// How many tasks wait now (asyncio's `n_waiting`).
    ///
    /// ```
    /// assert_eq!(runtime::sync::Barrier::new(2).unwrap().n_waiting(), 0);
    /// ```
    pub fn n_waiting(&self) -> usize {
        self.lock().count
    }

    /// `true` if the barrier is broken (asyncio's `broken`).
    ///
    /// ```
    /// assert!(!runtime::sync::Barrier::new(2).unwrap().broken());
    /// ```
    pub fn broken(&self) -> bool {
        self.lock().broken
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("parties", &self.parties)
            .field("n_waiting", &self.n_waiting())
            .field("broken", &self.broken())
            .finish()
    }
}
