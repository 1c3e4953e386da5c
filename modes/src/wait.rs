//! Waiting on a plain thread (not a loop): the waker that unparks it, and the park loop
//! that `JoinHandle::join` and `block_on` use where no loop needs running.

use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::thread::Thread;

/// A waker that unparks one thread: the thread blocked in `join` or a `Threads`
/// `block_on`, or waiting for a `Single` loop that another thread runs.
pub(crate) struct ThreadWake(pub(crate) Thread);

impl ThreadWake {
    /// A waker for the calling thread.
    pub(crate) fn current() -> Waker {
        Waker::from(Arc::new(ThreadWake(std::thread::current())))
    }
}

impl Wake for ThreadWake {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Parks this thread until `done` returns `true`, polling it at each wake. Inside a `Gil`
/// `block_on` this thread holds the GIL: it waits without it, or no worker (the awaited
/// task's among them) could run.
pub(crate) fn park_until(done: &mut dyn FnMut(&mut Context<'_>) -> bool) {
    let waker = ThreadWake::current();
    let mut cx = Context::from_waker(&waker);
    while !done(&mut cx) {
        crate::gil::allow_threads(std::thread::park);
    }
}
