//! A FIFO list of waiting tasks, kept under the owning primitive's lock: the one
//! structure behind every primitive here that hands something to "the next waiter".
//!
//! Protocol (the primitive holds its lock around every call):
//! 1. A waiter `push`es itself and keeps its key; the list keeps waiters in arrival order.
//! 2. `notify_one` unlinks the first waiter, marks it notified with a tag (what it was
//!    handed: a permit, "an item is there", "the barrier broke"...), and returns its waker
//!    for the caller to wake after unlocking.
//! 3. The waiter, when polled, sees `notified(key)` and `remove`s itself, taking the tag.
//! 4. A waiter dropped before step 3 `remove`s itself too; if it had been notified, the
//!    primitive passes what it was handed on to the next waiter. Nothing is lost.
//!
//! Why not event-listener here: a primitive must know, under the same lock as its own
//! state, whether anyone is queued (a newcomer must not overtake them: asyncio's FIFO) and
//! which waiter was handed the permit or item; event-listener's notifications carry
//! neither. It is used for [`Event`](super::Event), which wakes everyone.

use std::task::Waker;

use slab::Slab;

struct Node {
    waker: Option<Waker>,
    /// `Some(tag)` once notified (then unlinked from the queue).
    tag: Option<u8>,
    prev: Option<usize>,
    next: Option<usize>,
}

/// See the module docs.
#[derive(Default)]
pub(crate) struct WaitList {
    nodes: Slab<Node>,
    head: Option<usize>,
    tail: Option<usize>,
    /// Waiters queued and not yet notified.
    queued: usize,
}

impl WaitList {
    /// Rule 1: queues a waiter at the back; returns its key.
    pub(crate) fn push(&mut self, waker: &Waker) -> usize {
        let key = self.nodes.insert(Node {
            waker: Some(waker.clone()),
            tag: None,
            prev: self.tail,
            next: None,
        });
        match self.tail {
            Some(t) => self.nodes[t].next = Some(key),
            None => self.head = Some(key),
        }
        self.tail = Some(key);
        self.queued += 1;
        key
    }

    /// Waiters queued and not yet notified.
    pub(crate) fn queued(&self) -> usize {
        self.queued
    }

    fn unlink(&mut self, key: usize) {
        let (prev, next) = {
            let n = &self.nodes[key];
            (n.prev, n.next)
        };
        match prev {
            Some(p) => self.nodes[p].next = next,
            None => self.head = next,
        }
        match next {
            Some(n) => self.nodes[n].prev = prev,
            None => self.tail = prev,
        }
        self.queued -= 1;
    }

    /// Rule 2: notifies the first queued waiter with `tag`; its waker, to wake after
    /// unlocking. `None` if nobody is queued.
    pub(crate) fn notify_one(&mut self, tag: u8) -> Option<Waker> {
        let key = self.head?;
        self.unlink(key);
        let n = &mut self.nodes[key];
        n.tag = Some(tag);
        n.waker.take()
    }

    /// Notifies every queued waiter with `tag`, in order.
    pub(crate) fn notify_all(&mut self, tag: u8) -> Vec<Waker> {
        let mut out = Vec::with_capacity(self.queued);
        while let Some(w) = self.notify_one(tag) {
            out.push(w);
        }
        out
    }

    /// Rule 3: the tag, if `key` was notified.
    pub(crate) fn notified(&self, key: usize) -> Option<u8> {
        self.nodes.get(key).and_then(|n| n.tag)
    }

    /// Keeps `key`'s waker current while it waits.
    pub(crate) fn update(&mut self, key: usize, waker: &Waker) {
        if let Some(n) = self.nodes.get_mut(key) {
            if !n.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
                n.waker = Some(waker.clone());
            }
        }
    }

    /// Rules 3 and 4: forgets `key`; returns its tag if it had been notified.
    pub(crate) fn remove(&mut self, key: usize) -> Option<u8> {
        let tag = self.nodes.get(key)?.tag;
        if tag.is_none() {
            self.unlink(key);
        }
        self.nodes.remove(key);
        tag
    }
}

/// Wakes what a `notify_*` returned, after the lock was released.
pub(crate) fn wake_all(wakers: impl IntoIterator<Item = Waker>) {
    for w in wakers {
        w.wake();
    }
}
