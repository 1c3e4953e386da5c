//! `PriorityQueue`: asyncio's `PriorityQueue`, the [`Queue`](super::Queue) with a
//! min-heap for a store.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::queue::{Queue, Store};

/// Smallest first (asyncio's `PriorityQueue` is a `heapq`): [`PriorityQueue`]'s order.
/// Put `(priority, item)` tuples to order by priority.
///
/// ```
/// use runtime::sync::Store;
/// let mut s = runtime::sync::Priority::default();
/// s.push(5);
/// s.push(1);
/// assert_eq!(s.pop(), Some(1));
/// ```
#[derive(Debug)]
pub struct Priority<T: Ord>(BinaryHeap<Reverse<T>>);

impl<T: Ord> Default for Priority<T> {
    fn default() -> Self {
        Priority(BinaryHeap::new())
    }
}

impl<T: Ord> Store<T> for Priority<T> {
    fn push(&mut self, item: T) {
        self.0.push(Reverse(item))
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop().map(|Reverse(v)| v)
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

/// A queue that hands out the smallest item first (asyncio's `PriorityQueue`); every
/// method is [`Queue`]'s (through `Deref`).
///
/// ```
/// let q = runtime::sync::PriorityQueue::new(0);
/// q.put_nowait((2, "later")).unwrap();
/// q.put_nowait((1, "first")).unwrap();
/// assert_eq!(q.get_nowait(), Ok((1, "first")));
/// ```
#[doc(alias = "asyncio.PriorityQueue")]
pub struct PriorityQueue<T: Ord>(Queue<T, Priority<T>>);

impl<T: Ord> PriorityQueue<T> {
    /// An empty queue holding at most `maxsize` items; 0 means no bound.
    ///
    /// ```
    /// let q = runtime::sync::PriorityQueue::<u8>::new(2);
    /// assert_eq!(q.maxsize(), 2);
    /// ```
    pub fn new(maxsize: usize) -> PriorityQueue<T> {
        PriorityQueue(Queue::with_store(maxsize))
    }
}

impl<T: Ord> std::ops::Deref for PriorityQueue<T> {
    type Target = Queue<T, Priority<T>>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<T: Ord> std::fmt::Debug for PriorityQueue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
