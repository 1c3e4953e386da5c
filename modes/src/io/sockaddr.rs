//! Socket addresses in C form, on socket2's `SockAddr` and `SockAddrStorage`: the
//! conversions to and from `std::net::SocketAddr` are socket2's.

use std::net::SocketAddr;
use std::os::fd::AsFd;

use socket2::{SockAddr, SockAddrStorage, SockRef};

/// A socket address in C form, for the kernel to read (connect, sendmsg) or write
/// (accept, recvmsg) asynchronously: box it (`Box<RawAddr>`) so its address is stable.
pub(crate) struct RawAddr {
    storage: SockAddrStorage,
    len: libc::socklen_t,
}

impl RawAddr {
    /// Room for any address (for accept and recvmsg to fill in).
    pub(crate) fn empty() -> RawAddr {
        let storage = SockAddrStorage::zeroed();
        RawAddr {
            len: storage.size_of(),
            storage,
        }
    }

    pub(crate) fn from_addr(addr: &SocketAddr) -> RawAddr {
        let a = SockAddr::from(*addr);
        RawAddr {
            len: a.len(),
            storage: a.as_storage(),
        }
    }

    pub(crate) fn as_ptr(&self) -> *const libc::sockaddr {
        (&self.storage as *const SockAddrStorage).cast()
    }

    pub(crate) fn as_mut_ptr(&mut self) -> *mut libc::sockaddr {
        (&mut self.storage as *mut SockAddrStorage).cast()
    }

    /// The address's length in bytes.
    pub(crate) fn len(&self) -> libc::socklen_t {
        self.len
    }

    /// Where the kernel writes the length of the address it fills in (accept).
    pub(crate) fn len_mut(&mut self) -> &mut libc::socklen_t {
        &mut self.len
    }

    /// Sets the length the kernel reported (recvmsg's `msg_namelen`), at most the
    /// storage's size.
    pub(crate) fn set_len(&mut self, len: libc::socklen_t) {
        self.len = len.min(self.storage.size_of());
    }

    /// The address the kernel wrote (accept, recvmsg), or the one it was made from.
    pub(crate) fn into_addr(self) -> std::io::Result<SocketAddr> {
        let len = self.len.min(self.storage.size_of());
        // SAFETY: the storage is a whole `sockaddr_storage`, zeroed or filled in by the
        // kernel (which writes a family and the address that family names), and `len` is
        // at most its size; socket2 reads the address only as the family says.
        let a = unsafe { SockAddr::new(self.storage, len) };
        a.as_socket().ok_or_else(|| unsupported(&a))
    }
}

fn unsupported(a: &SockAddr) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("unsupported address family {}", a.family()),
    )
}

/// An address socket2 returned, as a `SocketAddr` (IPv4 or IPv6 only).
pub(crate) fn to_socket(a: SockAddr) -> std::io::Result<SocketAddr> {
    a.as_socket().ok_or_else(|| unsupported(&a))
}

/// `getsockname` / `getpeername` of `fd`.
pub(crate) fn name(fd: &impl AsFd, peer: bool) -> std::io::Result<SocketAddr> {
    let s = SockRef::from(fd);
    to_socket(if peer {
        s.peer_addr()?
    } else {
        s.local_addr()?
    })
}
