//! The io_uring park: `io_uring_enter` waits for one completion, with the next timer as
//! its timeout (IORING_ENTER_EXT_ARG, no timeout SQE needed). Cross-thread wakes arrive
//! as the completion of a read on an eventfd, re-armed after each wake.
//!
//! Buffer ownership: the eventfd read targets `buf`, owned here. While the read is in
//! flight (`armed`), `buf` must not be freed: `Drop` cancels the read and waits for its
//! completion before the buffer goes.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use io_uring::{opcode, types, IoUring};

use super::{Inner, Signal};

const WAKE: u64 = u64::MAX;
const CANCEL: u64 = u64::MAX - 1;

pub(crate) struct UringParker {
    ring: IoUring,
    inner: Arc<Inner>,
    buf: Box<[u8; 8]>,
    armed: bool,
}

/// Signals a parked ring: one 8-byte write to its eventfd.
pub(crate) fn signal(fd: &OwnedFd) {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a live local to an eventfd we own; a failure (counter
    // overflow, impossible here) would only lose a wake that is already pending.
    let _ = unsafe { libc::write(fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
}

impl UringParker {
    pub(crate) fn new() -> Result<(UringParker, Arc<Inner>), String> {
        let ring = IoUring::new(64).map_err(|e| format!("io_uring refused: {e}"))?;
        if !ring.params().is_feature_ext_arg() {
            return Err("io_uring lacks IORING_FEAT_EXT_ARG (kernel < 5.11)".into());
        }
        // SAFETY: eventfd has no memory-safety preconditions; we check its result.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(format!(
                "eventfd failed: {}",
                std::io::Error::last_os_error()
            ));
        }
        // SAFETY: `fd` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let inner = Inner::new(Signal::EventFd(fd));
        Ok((
            UringParker {
                ring,
                inner: inner.clone(),
                buf: Box::new([0; 8]),
                armed: false,
            },
            inner,
        ))
    }

    fn event_fd(&self) -> i32 {
        match &self.inner.signal {
            Signal::EventFd(fd) => fd.as_raw_fd(),
            Signal::Condvar { .. } => unreachable!("a ring parker always has an eventfd"),
        }
    }

    fn arm(&mut self) {
        if self.armed {
            return;
        }
        let read = opcode::Read::new(types::Fd(self.event_fd()), self.buf.as_mut_ptr(), 8)
            .build()
            .user_data(WAKE);
        // SAFETY: the read targets `self.buf`, which stays allocated until the read
        // completes (`armed` tracks it; `Drop` waits for it).
        let pushed = unsafe { self.ring.submission().push(&read) };
        if pushed.is_ok() {
            self.armed = true;
        }
    }

    fn reap(&mut self) {
        for cqe in self.ring.completion() {
            if cqe.user_data() == WAKE {
                self.armed = false;
            }
        }
    }

    pub(crate) fn park(&mut self, timeout: Option<Duration>) {
        if !self.inner.begin_park() {
            return;
        }
        self.arm();
        let res = match timeout {
            Some(t) => {
                let ts = types::Timespec::from(t);
                let args = types::SubmitArgs::new().timespec(&ts);
                self.ring.submitter().submit_with_args(1, &args)
            }
            None => self.ring.submit_and_wait(1),
        };
        // ETIME (timeout) and EINTR are ordinary returns; anything else leaves us awake,
        // which the protocol allows (the caller re-checks and parks again).
        let _ = res;
        self.reap();
        self.inner.end_park();
    }
}

impl Drop for UringParker {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let cancel = opcode::AsyncCancel::new(WAKE).build().user_data(CANCEL);
        // SAFETY: AsyncCancel carries no buffer.
        let _ = unsafe { self.ring.submission().push(&cancel) };
        // Wait until the read has completed (cancelled or not): only then may `buf` go.
        for _ in 0..1000 {
            if self.ring.submit_and_wait(1).is_err() {
                break;
            }
            self.reap();
            if !self.armed {
                return;
            }
        }
        // The kernel never answered: leak the buffer rather than free it under a read.
        std::mem::forget(std::mem::replace(&mut self.buf, Box::new([0; 8])));
    }
}
