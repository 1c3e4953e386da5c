//! `SendMsg` and `RecvMsg`: one datagram to or from an address.

use std::net::SocketAddr;
use std::sync::Arc;

use io_uring::opcode;

use super::{raw, result, Completion, Submitted};
use crate::io::buf::{IoBuf, IoBufMut};
use crate::io::fd::FdInner;
use crate::io::sockaddr::RawAddr;

/// A `msghdr` with its iovec and address, boxed together at a stable address.
struct Msg {
    hdr: libc::msghdr,
    iov: libc::iovec,
    addr: RawAddr,
}

// SAFETY: the raw pointers in `hdr` and `iov` point into this same box and into the
// buffer owned beside it in the operation's data; they are only dereferenced by the
// kernel, never by Rust code on another thread.
unsafe impl Send for Msg {}

/// A boxed `msghdr` naming `len` bytes at `ptr` and the address in `addr`.
fn msg(ptr: *mut u8, len: usize, addr: RawAddr) -> Box<Msg> {
    let mut m = Box::new(Msg {
        // SAFETY: an all-zero msghdr is valid (no name, no iovecs, no control).
        hdr: unsafe { std::mem::zeroed() },
        iov: libc::iovec {
            iov_base: ptr.cast(),
            iov_len: len,
        },
        addr,
    });
    m.hdr.msg_name = m.addr.as_mut_ptr().cast();
    m.hdr.msg_namelen = m.addr.len();
    m.hdr.msg_iov = &mut m.iov;
    m.hdr.msg_iovlen = 1;
    m
}

/// An io_uring `sendmsg` of `buf` to one address.
pub(crate) struct SendTo<B> {
    _msg: Box<Msg>,
    buf: B,
    _fd: Arc<FdInner>,
}

impl<B: IoBuf> Completion for SendTo<B> {
    type Output = (std::io::Result<usize>, B);

    fn failed(self, e: std::io::Error) -> Self::Output {
        (Err(e), self.buf)
    }

    fn complete(self, res: i32, _flags: u32) -> Self::Output {
        (result(res), self.buf)
    }
}

/// Submits a send of `buf`'s bytes to `addr` (`MSG_NOSIGNAL`).
pub(crate) fn send_to<B: IoBuf>(
    fd: Arc<FdInner>,
    buf: B,
    addr: SocketAddr,
) -> Submitted<SendTo<B>> {
    let m = msg(
        buf.stable_ptr() as *mut u8,
        buf.bytes_init(),
        RawAddr::from_addr(&addr),
    );
    let entry = opcode::SendMsg::new(raw(&fd), &m.hdr)
        .flags(libc::MSG_NOSIGNAL as u32)
        .build();
    let data = SendTo {
        _msg: m,
        buf,
        _fd: fd,
    };
    // SAFETY: the entry points into the boxed msghdr, its iovec and address (owned by
    // `data`, stable when it moves), and the iovec to `bytes_init` bytes of `buf`'s
    // stable memory (the `IoBuf` contract; the kernel only reads them), owned by `data`
    // until the CQE.
    unsafe { super::super::submit(entry, data) }
}

/// An io_uring `recvmsg` into `buf`, with the sender's address.
pub(crate) struct RecvFrom<B> {
    msg: Box<Msg>,
    buf: B,
    _fd: Arc<FdInner>,
}

impl<B: IoBufMut> Completion for RecvFrom<B> {
    type Output = (std::io::Result<(usize, SocketAddr)>, B);

    fn failed(self, e: std::io::Error) -> Self::Output {
        (Err(e), self.buf)
    }

    fn complete(self, res: i32, _flags: u32) -> Self::Output {
        let RecvFrom { msg, mut buf, .. } = self;
        let out = result(res).and_then(|n| {
            let n = n.min(buf.bytes_total());
            // SAFETY: the kernel wrote `n` bytes at the start of the buffer.
            unsafe { buf.set_init(n) };
            let Msg { hdr, mut addr, .. } = *msg;
            addr.set_len(hdr.msg_namelen);
            Ok((n, addr.into_addr()?))
        });
        (out, buf)
    }
}

/// Submits a receive of one datagram into `buf` (up to its capacity).
pub(crate) fn recv_from<B: IoBufMut>(fd: Arc<FdInner>, mut buf: B) -> Submitted<RecvFrom<B>> {
    let m = msg(buf.stable_mut_ptr(), buf.bytes_total(), RawAddr::empty());
    let entry = opcode::RecvMsg::new(raw(&fd), &m.hdr as *const _ as *mut _).build();
    let data = RecvFrom {
        msg: m,
        buf,
        _fd: fd,
    };
    // SAFETY: as in `send_to`; the kernel writes at most `bytes_total` bytes into `buf`'s
    // stable memory (the `IoBufMut` contract) and at most `msg_namelen` bytes into the
    // boxed address, both owned by `data` until the CQE.
    unsafe { super::super::submit(entry, data) }
}
