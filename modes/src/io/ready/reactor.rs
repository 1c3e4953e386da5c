//! The process-wide epoll reactor and its thread (protocol in the parent module), on the
//! `polling` crate's `Poller` (epoll on Linux), registered edge-triggered.

use crate::loom::Mutex;
use std::collections::HashMap;
use std::io;
use std::num::NonZeroUsize;
#[cfg(test)]
use std::os::fd::RawFd;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Waker;

use polling::{Event, Events, PollMode, Poller};

use super::source::Shared;

/// How many events one wait returns at most.
const EVENTS: NonZeroUsize = NonZeroUsize::new(256).unwrap();

/// The process's reactor: a pointer rather than a `OnceLock`, tagged with the pid (as the
/// forker in `procs/fork_server.rs`): a forked child inherits a copy whose thread it does
/// not have and whose epoll instance it shares with the parent, and must make its own.
/// Reactors are never freed (one per process, plus the parent's copy in a child).
static REACTOR: AtomicPtr<Reactor> = AtomicPtr::new(std::ptr::null_mut());

/// The epoll instance, its thread, and the map from epoll keys to sources.
pub(crate) struct Reactor {
    /// The process that created this reactor.
    pid: u32,
    /// The epoll instance (`EPOLL_CLOEXEC`), with polling's notifier registered in it.
    poller: Poller,
    /// The registered sources' shared states, by key.
    sources: Mutex<HashMap<u64, Arc<Shared>>>,
    /// The next source key (never reused, so a late event never reaches a newer source).
    next_key: AtomicU64,
    /// Whether the reactor thread runs (fast path of [`Reactor::ensure_thread`]).
    started: AtomicBool,
    /// Serialises starting the thread; retried on the next registration if it failed.
    start_lock: Mutex<()>,
}

impl Reactor {
    /// This process's reactor with its thread running, created on first use.
    ///
    /// Fails (without panicking) if the epoll instance or the thread cannot be created;
    /// a later call tries again.
    pub(crate) fn get() -> io::Result<&'static Reactor> {
        let me = std::process::id();
        let reactor = loop {
            let cur = REACTOR.load(Ordering::Acquire);
            // SAFETY: a non-null REACTOR came from `Box::into_raw` below and is never
            // freed; a copy inherited through fork points at this process's copy of it.
            if let Some(r) = unsafe { cur.as_ref() } {
                if r.pid == me {
                    break r;
                }
            }
            let new = Box::into_raw(Box::new(Reactor::new(me)?));
            match REACTOR.compare_exchange(cur, new, Ordering::AcqRel, Ordering::Acquire) {
                // SAFETY: `new` came from Box::into_raw just above and, now published,
                // is never freed.
                Ok(_) => break unsafe { &*new },
                // Another thread installed one first: use that one.
                // SAFETY: `new` came from Box::into_raw just above and was never shared.
                Err(_) => drop(unsafe { Box::from_raw(new) }),
            }
        };
        reactor.ensure_thread()?;
        Ok(reactor)
    }

    /// Creates the epoll instance.
    fn new(pid: u32) -> io::Result<Reactor> {
        Ok(Reactor {
            pid,
            poller: Poller::new()?,
            sources: Mutex::new(HashMap::new()),
            next_key: AtomicU64::new(1),
            started: AtomicBool::new(false),
            start_lock: Mutex::new(()),
        })
    }

    /// Starts the reactor thread unless it runs already.
    fn ensure_thread(&'static self) -> io::Result<()> {
        if self.started.load(Ordering::Acquire) {
            return Ok(());
        }
        let _guard = self.start_lock.lock();
        if self.started.load(Ordering::Acquire) {
            return Ok(());
        }
        std::thread::Builder::new()
            .name("runtime-reactor".into())
            .spawn(move || self.run())
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("could not start the runtime-reactor thread: {e}"),
                )
            })?;
        self.started.store(true, Ordering::Release);
        Ok(())
    }

    /// Registers `fd` with `shared` as its state; returns the key to deregister with.
    pub(super) fn add(&self, fd: BorrowedFd<'_>, shared: Arc<Shared>) -> io::Result<u64> {
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        // In the map first, so that the event epoll may queue at once finds it.
        self.sources.lock().insert(key, shared);
        // SAFETY: polling's contract for `add`: the fd is deleted from the poller before
        // it is closed. The `Source` holding `key` deletes it (`remove`) when dropped, and
        // its owner drops it before closing the fd (step 7; `Source::register`'s
        // contract); a forked child never closes the parent's registrations here.
        let added = unsafe {
            self.poller
                .add_with_mode(fd.as_raw_fd(), Event::all(key as usize), PollMode::Edge)
        };
        if let Err(e) = added {
            let removed = self.sources.lock().remove(&key);
            drop(removed); // outside the lock: it may hold wakers
            return Err(e);
        }
        Ok(key)
    }

    /// Deregisters `fd` (errors ignored: the fd may be closed already) and forgets `key`.
    /// Does nothing in a forked child of the process that registered it.
    pub(super) fn remove(&self, fd: BorrowedFd<'_>, key: u64) {
        if self.pid != std::process::id() {
            return;
        }
        let _ = self.poller.delete(fd);
        let removed = self.sources.lock().remove(&key);
        drop(removed); // outside the lock: it may hold wakers
    }

    /// Whether `key` is registered (for tests).
    #[cfg(test)]
    pub(super) fn contains(&self, key: u64) -> bool {
        self.sources.lock().contains_key(&key)
    }

    /// The epoll fd (for tests).
    #[cfg(test)]
    pub(super) fn epoll_fd(&self) -> RawFd {
        self.poller.as_raw_fd()
    }

    /// The reactor thread: waits for events forever and wakes the sources' waiters.
    fn run(&self) {
        let mut events = Events::with_capacity(EVENTS);
        let mut wakers: Vec<Waker> = Vec::new();
        let mut reported = false;
        loop {
            events.clear();
            // `wait` retries EINTR itself.
            if let Err(e) = self.poller.wait(&mut events, None) {
                // Cannot happen with a valid epoll fd; do not spin.
                if !reported {
                    eprintln!("runtime-reactor: epoll_wait failed: {e}");
                    reported = true;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
                continue;
            }
            {
                let sources = self.sources.lock();
                for ev in events.iter() {
                    // `readable`: EPOLLIN, EPOLLHUP, EPOLLERR (a peer's FIN makes the
                    // socket readable); `writable`: EPOLLOUT, EPOLLHUP, EPOLLERR.
                    if let Some(shared) = sources.get(&(ev.key as u64)) {
                        shared.fire(ev.readable, ev.writable, &mut wakers);
                    }
                }
            }
            for w in wakers.drain(..) {
                w.wake();
            }
        }
    }
}
