//! A set of futures polled only when woken, each with its own waker (the engine behind
//! `gather`, `try_gather`, `wait` and `as_completed`). Polling a set of n futures costs
//! O(woken), not O(n), per wake.

use modes::lock::Mutex;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

struct Shared {
    woken: Mutex<Vec<usize>>,
    parent: Mutex<Option<Waker>>,
}

struct ChildWaker {
    idx: usize,
    shared: Arc<Shared>,
}

impl Wake for ChildWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.shared.woken.lock().push(self.idx);
        let parent = self.shared.parent.lock().clone();
        if let Some(w) = parent {
            w.wake();
        }
    }
}

pub(crate) struct ReadySet<F> {
    futs: Vec<F>,
    done: Vec<bool>,
    wakers: Vec<Waker>,
    queue: VecDeque<usize>,
    shared: Arc<Shared>,
    pending: usize,
}

impl<F: Future + Unpin> ReadySet<F> {
    pub(crate) fn new(futs: Vec<F>) -> ReadySet<F> {
        let n = futs.len();
        let shared = Arc::new(Shared {
            woken: Mutex::new(Vec::new()),
            parent: Mutex::new(None),
        });
        let wakers = (0..n)
            .map(|idx| {
                Waker::from(Arc::new(ChildWaker {
                    idx,
                    shared: shared.clone(),
                }))
            })
            .collect();
        ReadySet {
            futs,
            done: vec![false; n],
            wakers,
            queue: (0..n).collect(),
            shared,
            pending: n,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.futs.len()
    }

    pub(crate) fn pending(&self) -> usize {
        self.pending
    }

    /// The next future to finish: its index and output. `None` when all have finished.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<(usize, F::Output)>> {
        if self.pending == 0 {
            return Poll::Ready(None);
        }
        {
            let mut parent = self.shared.parent.lock();
            if !parent.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *parent = Some(cx.waker().clone());
            }
        }
        // Take the children woken so far once per call: a child that wakes itself while
        // polled (a budgeted JoinHandle, yield_now) is polled again at the next call, after
        // the task has yielded, never in a loop inside this one.
        {
            let mut woken = self.shared.woken.lock();
            self.queue.extend(woken.drain(..));
        }
        while let Some(idx) = self.queue.pop_front() {
            if self.done[idx] {
                continue;
            }
            let mut child_cx = Context::from_waker(&self.wakers[idx]);
            if let Poll::Ready(out) = Pin::new(&mut self.futs[idx]).poll(&mut child_cx) {
                self.done[idx] = true;
                self.pending -= 1;
                return Poll::Ready(Some((idx, out)));
            }
        }
        Poll::Pending
    }

    /// The futures, finished or not, in input order.
    pub(crate) fn into_inner(self) -> Vec<F> {
        self.futs
    }

    /// Takes every future out, leaving the set empty (nothing pending).
    pub(crate) fn take_futs(&mut self) -> Vec<F> {
        self.pending = 0;
        self.done.clear();
        self.queue.clear();
        std::mem::take(&mut self.futs)
    }

    pub(crate) fn is_done(&self, idx: usize) -> bool {
        self.done[idx]
    }
}
