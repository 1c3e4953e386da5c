//! Reads: a stream read (`Recv` on a socket, `Read` at the file position otherwise) and a
//! positional read (`Read` at an offset), each into an owned buffer.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use io_uring::opcode;

use super::{raw, result, Completion, Submitted};
use crate::io::buf::IoBufMut;
use crate::io::fd::FdInner;

/// `IORING_RECVSEND_POLL_FIRST`.
const POLL_FIRST: u16 = 1;

/// An io_uring stream read into `buf`, counted in the descriptor's stash from submission
/// until its result is collected or stashed (see `io/stream.rs`).
pub(crate) struct StreamRead<B> {
    pub(crate) buf: B,
    pub(crate) fd: Arc<FdInner>,
    /// The `poll_read` path: its caller ends the read's count itself, in the same stash
    /// lock as it puts back what did not fit, so no other read slips in between.
    pub(crate) poll: bool,
    /// The bytes the read asked for (at most the buffer's capacity).
    pub(crate) asked: usize,
}

impl<B> StreamRead<B> {
    /// Ends the read's count in the stash and wakes the reads waiting for it.
    pub(crate) fn finished(&self) {
        let waiters = {
            let mut st = self.fd.stash();
            st.in_flight -= 1;
            st.waiters.take()
        };
        waiters.wake();
    }
}

impl<B: IoBufMut> Completion for StreamRead<B> {
    type Output = (std::io::Result<usize>, B);

    fn failed(self, e: std::io::Error) -> Self::Output {
        self.finished();
        (Err(e), self.buf)
    }

    fn complete(mut self, res: i32, _flags: u32) -> Self::Output {
        if !self.poll {
            self.finished();
        }
        if res >= 0 {
            let n = (res as usize).min(self.asked);
            self.fd.drained.store(n < self.asked, Ordering::Relaxed);
            self.fd.note_read(n);
            // SAFETY: the kernel wrote `n` bytes at the start of the buffer, `n` at most
            // what was asked for, itself at most `bytes_total`.
            unsafe { self.buf.set_init(n) };
        }
        (result(res), self.buf)
    }

    /// The bytes a read received after its future was dropped go to the stash, for the
    /// next read: none is lost.
    fn abandoned(self, res: i32, _flags: u32) {
        if res > 0 {
            let n = (res as usize).min(self.asked);
            // SAFETY: the kernel wrote `n` bytes at the start of the buffer (exactly
            // these, whatever the buffer counts as initialised: a boxed slice counts all).
            let got = unsafe { std::slice::from_raw_parts(self.buf.stable_ptr(), n) };
            self.fd.stash().data.extend_from_slice(got);
        }
        self.finished();
    }
}

/// Submits a stream read of up to `len` bytes (at most the buffer's capacity) into
/// `buf`. The caller has counted it in the stash's `in_flight` (`failed` and the
/// completion end that count). `poll`: see [`StreamRead::poll`].
pub(crate) fn stream_read<B: IoBufMut>(
    fd: Arc<FdInner>,
    mut buf: B,
    len: usize,
    poll: bool,
) -> Submitted<StreamRead<B>> {
    let len = len.min(buf.bytes_total()).min(u32::MAX as usize) as u32;
    let ptr = buf.stable_mut_ptr();
    let entry = if fd.socket {
        // A socket the last read drained (fewer bytes than asked) most likely has nothing
        // now: wait for data first instead of a receive attempt that would fail.
        let drained = fd.drained.load(Ordering::Relaxed);
        let ioprio = if drained { POLL_FIRST } else { 0 };
        opcode::Recv::new(raw(&fd), ptr, len).ioprio(ioprio).build()
    } else {
        opcode::Read::new(raw(&fd), ptr, len)
            .offset(u64::MAX)
            .build()
    };
    let data = StreamRead {
        buf,
        fd,
        poll,
        asked: len as usize,
    };
    // SAFETY: the entry points to `len <= bytes_total` writable bytes of `buf`'s stable
    // memory (the `IoBufMut` contract), and `buf` is owned by `data`, which the `Op`
    // keeps (or hands to the cell) until the CQE; `data.fd` keeps the descriptor open.
    unsafe { super::super::submit(entry, data) }
}

/// A positional read into `buf`.
pub(crate) struct ReadAt<B> {
    buf: B,
    _fd: Arc<FdInner>,
}

impl<B: IoBufMut> Completion for ReadAt<B> {
    type Output = (std::io::Result<usize>, B);

    fn failed(self, e: std::io::Error) -> Self::Output {
        (Err(e), self.buf)
    }

    fn complete(mut self, res: i32, _flags: u32) -> Self::Output {
        if res >= 0 {
            let n = (res as usize).min(self.buf.bytes_total());
            // SAFETY: the kernel wrote `n` bytes at the start of the buffer.
            unsafe { self.buf.set_init(n) };
        }
        (result(res), self.buf)
    }
}

/// Submits a read into `buf` (up to its capacity) at byte offset `pos` (`u64::MAX`: the
/// file position).
pub(crate) fn read_at<B: IoBufMut>(fd: Arc<FdInner>, mut buf: B, pos: u64) -> Submitted<ReadAt<B>> {
    let len = buf.bytes_total().min(u32::MAX as usize) as u32;
    let entry = opcode::Read::new(raw(&fd), buf.stable_mut_ptr(), len)
        .offset(pos)
        .build();
    let data = ReadAt { buf, _fd: fd };
    // SAFETY: the entry points to `bytes_total` writable bytes of `buf`'s stable memory,
    // owned by `data` until the CQE; `data._fd` keeps the descriptor open.
    unsafe { super::super::submit(entry, data) }
}
