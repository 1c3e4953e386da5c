//! `Fsync`: flushes a file's data and metadata.

use std::sync::Arc;

use io_uring::opcode;

use super::{raw, result, Completion, Submitted};
use crate::io::fd::FdInner;

/// An io_uring fsync.
pub(crate) struct Fsync {
    _fd: Arc<FdInner>,
}

impl Completion for Fsync {
    type Output = std::io::Result<()>;

    fn failed(self, e: std::io::Error) -> Self::Output {
        Err(e)
    }

    fn complete(self, res: i32, _flags: u32) -> Self::Output {
        result(res).map(drop)
    }
}

/// Submits an fsync of `fd`.
pub(crate) fn fsync(fd: Arc<FdInner>) -> Submitted<Fsync> {
    let entry = opcode::Fsync::new(raw(&fd)).build();
    let data = Fsync { _fd: fd };
    // SAFETY: an fsync points to no memory; `data._fd` keeps the descriptor open until
    // the CQE.
    unsafe { super::super::submit(entry, data) }
}
