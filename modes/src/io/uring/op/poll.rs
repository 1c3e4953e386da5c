//! A poll request (`PollAdd`): completes when the descriptor is writable.

use std::sync::Arc;

use io_uring::opcode;

use super::{raw, result, Completion, Submitted};
use crate::io::fd::FdInner;

/// An io_uring poll request for writability.
pub(crate) struct PollWritable {
    _fd: Arc<FdInner>,
}

impl Completion for PollWritable {
    type Output = std::io::Result<()>;

    fn failed(self, e: std::io::Error) -> Self::Output {
        Err(e)
    }

    fn complete(self, res: i32, _flags: u32) -> Self::Output {
        result(res).map(drop)
    }
}

/// Submits a poll for `POLLOUT` on `fd`.
pub(crate) fn writable(fd: Arc<FdInner>) -> Submitted<PollWritable> {
    let entry = opcode::PollAdd::new(raw(&fd), libc::POLLOUT as u32).build();
    let data = PollWritable { _fd: fd };
    // SAFETY: a poll request points to no memory; `data._fd` keeps the descriptor open
    // until the CQE.
    unsafe { super::super::submit(entry, data) }
}
