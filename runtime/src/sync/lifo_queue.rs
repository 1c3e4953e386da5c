//! `LifoQueue`: asyncio's `LifoQueue`, the [`Queue`](super::Queue) with a stack for a
//! store.

use super::queue::{Queue, Store};

/// Last in, first out: [`LifoQueue`]'s order.
///
/// ```
/// use runtime::sync::Store;
/// let mut s = runtime::sync::Lifo::default();
/// s.push(1);
/// s.push(2);
/// assert_eq!(s.pop(), Some(2));
/// ```
#[derive(Debug)]
pub struct Lifo<T>(Vec<T>);

impl<T> Default for Lifo<T> {
    fn default() -> Self {
        Lifo(Vec::new())
    }
}

impl<T> Store<T> for Lifo<T> {
    fn push(&mut self, item: T) {
        self.0.push(item)
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

/// A queue that hands out the newest item first (asyncio's `LifoQueue`); every method
/// is [`Queue`]'s (through `Deref`).
///
/// ```
/// let q = runtime::sync::LifoQueue::new(0);
/// for i in 1..=3 { q.put_nowait(i).unwrap(); }
/// assert_eq!(q.get_nowait(), Ok(3));
/// assert_eq!(q.get_nowait(), Ok(2));
/// ```
#[doc(alias = "asyncio.LifoQueue")]
pub struct LifoQueue<T>(Queue<T, Lifo<T>>);

impl<T> LifoQueue<T> {
    /// An empty queue holding at most `maxsize` items; 0 means no bound.
    ///
    /// ```
    /// let q = runtime::sync::LifoQueue::<u8>::new(2);
    /// assert_eq!(q.maxsize(), 2);
    /// ```
    pub fn new(maxsize: usize) -> LifoQueue<T> {
        LifoQueue(Queue::with_store(maxsize))
    }
}

impl<T> std::ops::Deref for LifoQueue<T> {
    type Target = Queue<T, Lifo<T>>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl<T> std::fmt::Debug for LifoQueue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
