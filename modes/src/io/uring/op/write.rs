//! Writes: a stream write (`Send` with `MSG_NOSIGNAL` on a socket, `Write` at the file
//! position otherwise) and a positional write, each of an owned buffer's bytes.

use std::sync::Arc;

use io_uring::opcode;

use super::{raw, result, Completion, Submitted};
use crate::io::buf::IoBuf;
use crate::io::fd::FdInner;

/// An io_uring write of `buf`'s bytes.
pub(crate) struct Write<B> {
    buf: B,
    _fd: Arc<FdInner>,
}

impl<B: IoBuf> Completion for Write<B> {
    type Output = (std::io::Result<usize>, B);

    fn failed(self, e: std::io::Error) -> Self::Output {
        (Err(e), self.buf)
    }

    fn complete(self, res: i32, _flags: u32) -> Self::Output {
        (result(res), self.buf)
    }
}

/// Submits a stream write of `buf`'s initialised bytes.
pub(crate) fn stream_write<B: IoBuf>(fd: Arc<FdInner>, buf: B) -> Submitted<Write<B>> {
    let len = buf.bytes_init().min(u32::MAX as usize) as u32;
    let entry = if fd.socket {
        // MSG_NOSIGNAL: a closed peer is an EPIPE error, not a SIGPIPE.
        opcode::Send::new(raw(&fd), buf.stable_ptr(), len)
            .flags(libc::MSG_NOSIGNAL)
            .build()
    } else {
        opcode::Write::new(raw(&fd), buf.stable_ptr(), len)
            .offset(u64::MAX)
            .build()
    };
    let data = Write { buf, _fd: fd };
    // SAFETY: the entry points to `bytes_init` initialised bytes of `buf`'s stable memory
    // (the `IoBuf` contract), owned by `data` until the CQE; `data._fd` keeps the
    // descriptor open.
    unsafe { super::super::submit(entry, data) }
}

/// Submits a write of `buf`'s initialised bytes at byte offset `pos` (`u64::MAX`: the
/// file position).
pub(crate) fn write_at<B: IoBuf>(fd: Arc<FdInner>, buf: B, pos: u64) -> Submitted<Write<B>> {
    let len = buf.bytes_init().min(u32::MAX as usize) as u32;
    let entry = opcode::Write::new(raw(&fd), buf.stable_ptr(), len)
        .offset(pos)
        .build();
    let data = Write { buf, _fd: fd };
    // SAFETY: as in `stream_write`.
    unsafe { super::super::submit(entry, data) }
}
