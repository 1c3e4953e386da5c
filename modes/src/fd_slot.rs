//! A descriptor that an engine's shutdown closes even while other owners of its engine
//! (a `Handle`, a `JoinHandle` kept past the runtime's drop) still exist.
//!
//! Protocol: users take the read lock for the whole time they use the descriptor number
//! (`with`), so `close` (the write lock) can never let the number be reused by another
//! file while someone still writes to it. After `close`, `with` returns `None`: a wake
//! sent to a runtime that has shut down is dropped, as it would find nothing to wake.
//! `raw` is for the one owner that knows the descriptor outlives its use (a ring reading
//! its own eventfd: the ring is dropped before its engine closes the slot).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::RwLock;

pub(crate) struct FdSlot {
    fd: RwLock<Option<OwnedFd>>,
    raw: RawFd,
}

impl FdSlot {
    pub(crate) fn new(fd: OwnedFd) -> FdSlot {
        FdSlot {
            raw: fd.as_raw_fd(),
            fd: RwLock::new(Some(fd)),
        }
    }

    /// Calls `f` with the descriptor, held open meanwhile (the borrow cannot outlive
    /// the call); `None` once closed.
    pub(crate) fn with<R>(&self, f: impl FnOnce(BorrowedFd<'_>) -> R) -> Option<R> {
        let g = self.fd.read().unwrap_or_else(|e| e.into_inner());
        g.as_ref().map(|fd| f(fd.as_fd()))
    }

    /// The descriptor's number, for an owner that closes it only after its last use.
    pub(crate) fn raw(&self) -> RawFd {
        self.raw
    }

    /// Closes the descriptor (waiting for current users). Idempotent.
    pub(crate) fn close(&self) {
        let fd = self.fd.write().unwrap_or_else(|e| e.into_inner()).take();
        drop(fd);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn closed_once_and_then_never_used() {
        let fd = rustix::event::eventfd(0, rustix::event::EventfdFlags::CLOEXEC).unwrap();
        let raw = fd.as_raw_fd();
        let slot = FdSlot::new(fd);
        assert_eq!(slot.with(|fd| fd.as_raw_fd()), Some(raw));
        assert_eq!(slot.raw(), raw);
        slot.close();
        slot.close();
        assert_eq!(slot.with(|fd| fd.as_raw_fd()), None);
    }
}
