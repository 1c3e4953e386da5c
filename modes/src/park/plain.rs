//! The plain park: a mutex and a condvar (used where io_uring is refused or disabled).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Inner, Signal, NOTIFIED};
use crate::loom::{Condvar, Mutex};

pub(crate) struct PlainParker {
    inner: Arc<Inner>,
}

impl PlainParker {
    pub(crate) fn new() -> (PlainParker, Arc<Inner>) {
        let inner = Inner::new(Signal::Condvar {
            lock: Mutex::new(()),
            cv: Condvar::new(),
        });
        (
            PlainParker {
                inner: inner.clone(),
            },
            inner,
        )
    }

    pub(crate) fn park(&self, timeout: Option<Duration>) {
        let Signal::Condvar { lock, cv } = &self.inner.signal else {
            unreachable!("a plain parker always has a condvar");
        };
        let mut guard = lock.lock();
        if !self.inner.begin_park() {
            return;
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            if self.inner.state.load(std::sync::atomic::Ordering::SeqCst) == NOTIFIED {
                break;
            }
            match deadline {
                None => guard = cv.wait(guard),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        break;
                    }
                    guard = cv.wait_timeout(guard, d - now).0;
                }
            }
        }
        self.inner.end_park();
    }
}
