//! `Connect`: connects a socket to an address.

use std::net::SocketAddr;
use std::sync::Arc;

use io_uring::opcode;

use super::{raw, result, Completion, Submitted};
use crate::io::fd::FdInner;
use crate::io::sockaddr::RawAddr;

/// An io_uring connect; owns the address the kernel reads.
pub(crate) struct Connect {
    _addr: Box<RawAddr>,
    _fd: Arc<FdInner>,
}

impl Completion for Connect {
    type Output = std::io::Result<()>;

    fn failed(self, e: std::io::Error) -> Self::Output {
        Err(e)
    }

    fn complete(self, res: i32, _flags: u32) -> Self::Output {
        result(res).map(drop)
    }
}

/// Submits a connect of `fd` to `addr`.
pub(crate) fn connect(fd: Arc<FdInner>, addr: SocketAddr) -> Submitted<Connect> {
    let addr = Box::new(RawAddr::from_addr(&addr));
    let entry = opcode::Connect::new(raw(&fd), addr.as_ptr(), addr.len()).build();
    let data = Connect {
        _addr: addr,
        _fd: fd,
    };
    // SAFETY: the entry points into the boxed address (stable when the box moves), owned
    // by `data` until the CQE; `data._fd` keeps the descriptor open.
    unsafe { super::super::submit(entry, data) }
}
