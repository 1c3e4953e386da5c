//! `Accept`: one connection from a listener, and the `DONTWAIT` probe a cancelled accept
//! submits (the protocol is in `io/accept.rs`).

use std::net::SocketAddr;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::Arc;

use io_uring::{opcode, squeue};

use super::{raw, result, Completion, Op, Submitted};
use crate::io::fd::FdInner;
use crate::io::sockaddr::RawAddr;

/// An io_uring accept; owns the address the kernel writes.
pub(crate) struct Accept {
    addr: Box<RawAddr>,
    fd: Arc<FdInner>,
    /// A `DONTWAIT` probe (step 6 of `io/accept.rs`), not an accept anyone awaited.
    probe: bool,
}

impl Completion for Accept {
    type Output = std::io::Result<(OwnedFd, SocketAddr)>;

    fn failed(self, e: std::io::Error) -> Self::Output {
        Err(e)
    }

    fn complete(self, res: i32, _flags: u32) -> Self::Output {
        let fd = result(res)? as i32;
        // SAFETY: the kernel gave us a fresh descriptor, owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok((fd, self.addr.into_addr()?))
    }

    /// A connection accepted after the accept was cancelled goes to the backlog for the
    /// next accept (step 1); a cancel that won may have swallowed a wake-up, so the
    /// listener's queue is probed (step 6).
    fn abandoned(self, res: i32, _flags: u32) {
        if res < 0 {
            if !self.probe && (res == -libc::ECANCELED || res == -libc::EINTR) {
                probe(self.fd);
            }
            return;
        }
        // SAFETY: the kernel gave us this descriptor and nobody else has it.
        let conn = unsafe { OwnedFd::from_raw_fd(res) };
        crate::io::accept::push_abandoned(&self.fd, conn, *self.addr);
    }
}

/// `IORING_ACCEPT_DONTWAIT` (Linux 6.10): the accept completes at once, `-EAGAIN` if no
/// connection is queued, instead of waiting on the listener.
const ACCEPT_DONTWAIT: u16 = 1 << 1;

/// `entry` with `flags` in its `ioprio` field, where the kernel reads an accept's
/// `IORING_ACCEPT_*` flags (the io-uring crate's `Accept` builder does not expose it).
fn with_ioprio(entry: squeue::Entry, flags: u16) -> squeue::Entry {
    const _: () = assert!(std::mem::size_of::<squeue::Entry>() == 64);
    // SAFETY: `squeue::Entry` is `#[repr(C)]` around the kernel's 64-byte
    // `io_uring_sqe` (size checked above), whose `ioprio` is the `u16` at byte offset 2
    // (include/uapi/linux/io_uring.h); every byte pattern is a valid array and SQE.
    let mut raw: [u8; 64] = unsafe { std::mem::transmute(entry) };
    raw[2..4].copy_from_slice(&flags.to_ne_bytes());
    // SAFETY: as above, back to the same type it came from.
    unsafe { std::mem::transmute::<[u8; 64], squeue::Entry>(raw) }
}

/// Submits an accept on the listener `fd` (`SOCK_CLOEXEC`); `probe`: with `DONTWAIT`.
fn submit(fd: Arc<FdInner>, probe: bool) -> Submitted<Accept> {
    let mut addr = Box::new(RawAddr::empty());
    let addr_ptr = addr.as_mut_ptr();
    let entry = opcode::Accept::new(raw(&fd), addr_ptr, addr.len_mut())
        .flags(libc::SOCK_CLOEXEC)
        .build();
    let entry = if probe {
        with_ioprio(entry, ACCEPT_DONTWAIT)
    } else {
        entry
    };
    let data = Accept { addr, fd, probe };
    // SAFETY: the entry points into the boxed address and its length (stable when the
    // box moves), which the kernel writes; the box is owned by `data` until the CQE, and
    // `data.fd` keeps the listener open.
    unsafe { super::super::submit(entry, data) }
}

/// Submits an accept on the listener `fd`.
pub(crate) fn accept(fd: Arc<FdInner>) -> Submitted<Accept> {
    submit(fd, false)
}

/// Step 6: one `DONTWAIT` accept on the listener `fd`, left to complete on its own: a
/// connection it takes goes to the backlog (step 1). If it cannot be submitted (the
/// runtime is shutting down, the queue stays full), or the kernel predates `DONTWAIT`
/// (`-EINVAL`), a stranded connection waits for the next connection's wake-up, as it
/// did before this step existed.
pub(crate) fn probe(fd: Arc<FdInner>) {
    if let Ok(op) = submit(fd, true) {
        Op::detach(op);
    }
}
